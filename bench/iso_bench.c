/*
 * iso_bench.c — corridor-iso-bench: messages per second on one core for the ISO 20022 paths of
 * iso20022/, next to what libxml2 alone does with the same documents.
 *
 *   corridor-iso-bench [--seconds N] [--samples DIR] [--cpu K]
 *
 * Workloads (one thread, pinned to CPU K when --cpu is given, the iso_ctx compiled once):
 *   json-pacs008   samples/payment.json → iso_instruction_from_json → iso_pacs008_build (built,
 *                  profile-validated, cross-field rules, serialized)
 *   pain001-xslt   samples/pain001/pain001-09-single.xml → iso_pain001_read (hostile-input
 *                  parse, profile, rules, XSLT to pacs.008, its profile and rules, serialized)
 *   pacs002-read   samples/messages/pacs002-acsp.xml → iso_status_read (parse, profiles, rules,
 *                  fields)
 * Baselines, for the same documents: libxml2 alone parsing them (xmlReadMemory), and parsing
 * plus validating them against the same compiled profile schemas (xmlSchemaValidateOneElement
 * on AppHdr and Document). For json-pacs008 "the same document" is the pacs.008 it built; for
 * the others it is the message read.
 */
#include "iso_int.h"
#include "util.h"

#include <libxml/parser.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_SECONDS 3
#define MAX_SECONDS 600
#define BENCH_MAX_INPUT (1024 * 1024)
#define CHECK_EVERY 32 /* iterations between clock reads */
#define DATE_SIZE 11
#define MAX_CPU 4096
#define BENCH_UETR "eb6305c9-1f7f-49de-aed0-16487c27b42d"

struct bench {
    const iso_ctx *ctx;
    time_t now;
    const char *json;
    size_t json_len;
    const char *pain001;
    size_t pain001_len;
    const char *pacs002;
    size_t pacs002_len;
    char *pacs008; /* built once, for the json-pacs008 baselines */
    size_t pacs008_len;
};

typedef int (*work_fn)(struct bench *b, const char *xml, size_t len);

/* ---- the workloads ------------------------------------------------------------------------- */

static int
json_pacs008(struct bench *b, const char *xml, size_t len)
{
    iso_pacs008_params pp = {.msg_id = "CRDR-BENCH-000001", .instructed_bic = "CRSPUS30XXX"};
    iso_instruction in;
    iso_problems pr;
    char *out;
    size_t out_len;
    int rc;

    (void)xml;
    (void)len;
    pp.created = b->now;
    iso_problems_init(&pr);
    if ((rc = iso_instruction_from_json(b->json, b->json_len, b->now, &in, &pr)) != ISO_OK)
        return rc;
    snprintf(in.uetr, sizeof(in.uetr), BENCH_UETR);
    if ((rc = iso_pacs008_build(b->ctx, &in, &pp, &out, &out_len, &pr)) == ISO_OK)
        free(out);
    return rc;
}

static int
pain001_xslt(struct bench *b, const char *xml, size_t len)
{
    iso_pain001 p;
    iso_problems pr;
    int rc;

    iso_problems_init(&pr);
    rc = iso_pain001_read(b->ctx, xml, len, b->now, &p, &pr);
    iso_pain001_free(&p);
    return rc;
}

static int
pacs002_read(struct bench *b, const char *xml, size_t len)
{
    iso_status_msg m;
    iso_problems pr;

    iso_problems_init(&pr);
    return iso_status_read(b->ctx, xml, len, &m, &pr);
}

/* ---- libxml2 alone ------------------------------------------------------------------------- */

static int
parse_only(struct bench *b, const char *xml, size_t len)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);

    (void)b;
    if (doc == NULL)
        return ISO_ERR_SYNTAX;
    xmlFreeDoc(doc);
    return ISO_OK;
}

static void
quiet(void *arg, xmlErrorPtr err)
{
    (void)arg;
    (void)err;
}

static int
validate_with(xmlSchemaPtr schema, xmlNodePtr elem)
{
    xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
    int r;

    if (vc == NULL)
        return ISO_ERR_NOMEM;
    xmlSchemaSetValidStructuredErrors(vc, quiet, NULL);
    r = xmlSchemaValidateOneElement(vc, elem);
    xmlSchemaFreeValidCtxt(vc);
    return r == 0 ? ISO_OK : ISO_ERR_INVALID;
}

/* The AppHdr (if any) and the Document of a message against the matching profiles. */
static int
parse_validate(struct bench *b, const char *xml, size_t len)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL, hdr = NULL, body = root;
    enum iso_schema_id id;
    int rc = ISO_OK, inbound = 0;

    if (root == NULL) {
        xmlFreeDoc(doc);
        return ISO_ERR_SYNTAX;
    }
    if (strcmp((const char *)root->name, "Envelope") == 0) {
        for (xmlNodePtr c = root->children; c != NULL; c = c->next) {
            if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, "AppHdr") == 0)
                hdr = c;
            else if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, "Document") == 0)
                body = c;
        }
    }
    id = iso_schema_for((const char *)body->ns->href, &inbound);
    if (hdr != NULL)
        rc = validate_with(b->ctx->schemas[inbound ? ISO_SCHEMA_HEAD001_IN : ISO_SCHEMA_HEAD001],
                           hdr);
    if (rc == ISO_OK)
        rc = validate_with(b->ctx->schemas[id], body);
    xmlFreeDoc(doc);
    return rc;
}

/* ---- measuring ----------------------------------------------------------------------------- */

/* Messages per second of fn over `seconds`; -1 when it fails. */
static double
rate(struct bench *b, work_fn fn, const char *xml, size_t len, uint64_t seconds)
{
    uint64_t start = bu_now_ns(), deadline = start + seconds * BU_NS_PER_SEC, now = start;
    uint64_t n = 0;

    while (now < deadline) {
        for (int i = 0; i < CHECK_EVERY; i++, n++)
            if (fn(b, xml, len) != ISO_OK)
                return -1;
        now = bu_now_ns();
    }
    return (double)n * (double)BU_NS_PER_SEC / (double)(now - start);
}

static void
row(struct bench *b, const char *name, work_fn fn, const char *in, size_t in_len, const char *doc,
    size_t doc_len, uint64_t seconds)
{
    double mine = rate(b, fn, in, in_len, seconds);
    double parse = rate(b, parse_only, doc, doc_len, seconds);
    double valid = rate(b, parse_validate, doc, doc_len, seconds);

    printf("%-14s %14.0f %16.0f %18.0f %10.2f\n", name, mine, parse, valid,
           valid > 0 ? mine / valid : 0.0);
    fflush(stdout);
}

/* ---- set-up -------------------------------------------------------------------------------- */

/* A samples/ file with "@TODAY@" (the benchmark's today) and "@UETR@" filled in. */
static char *
sample(const char *dir, const char *rel, const char *today, size_t *len)
{
    const char *marks[][2] = {{"@TODAY@", today}, {"@UETR@", BENCH_UETR}};
    char path[1024], *text, *out, *w;
    uint8_t *data;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    if (bu_read_file(path, BENCH_MAX_INPUT, &data, &n) != BU_OK) {
        fprintf(stderr, "corridor-iso-bench: cannot read %s\n", path);
        exit(2);
    }
    text = (char *)data;
    if ((out = w = malloc(n * 7 + 1)) == NULL) /* "@UETR@" grows sixfold */
        exit(2);
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        for (; k < 2; k++) {
            size_t m = strlen(marks[k][0]), v = strlen(marks[k][1]);
            if (n - i >= m && memcmp(text + i, marks[k][0], m) == 0) {
                memcpy(w, marks[k][1], v);
                w += v;
                i += m;
                break;
            }
        }
        if (k == 2)
            *w++ = text[i++];
    }
    *w = '\0';
    *len = (size_t)(w - out);
    free(data);
    return out;
}

static void
usage(void)
{
    fprintf(stderr, "usage: corridor-iso-bench [--seconds N] [--samples DIR] [--cpu K]\n");
    exit(2);
}

static void
pin(uint64_t cpu)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET((int)cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0)
        perror("corridor-iso-bench: sched_setaffinity");
}

static void
options(int argc, char **argv, uint64_t *seconds, const char **dir)
{
    uint64_t cpu;

    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "--seconds") == 0) {
            if (bu_parse_u64(argv[++i], 1, MAX_SECONDS, seconds) != BU_OK)
                usage();
        } else if (strcmp(argv[i], "--samples") == 0) {
            *dir = argv[++i];
        } else if (strcmp(argv[i], "--cpu") == 0) {
            if (bu_parse_u64(argv[++i], 0, MAX_CPU - 1, &cpu) != BU_OK)
                usage();
            pin(cpu);
        } else {
            usage();
        }
    }
}

/* The pacs.008 json-pacs008 builds, kept for its baselines. */
static void
build_once(struct bench *b)
{
    iso_pacs008_params pp = {.msg_id = "CRDR-BENCH-000001", .instructed_bic = "CRSPUS30XXX"};
    iso_instruction in;
    iso_problems pr;

    pp.created = b->now;
    iso_problems_init(&pr);
    if (iso_instruction_from_json(b->json, b->json_len, b->now, &in, &pr) != ISO_OK)
        exit(3);
    snprintf(in.uetr, sizeof(in.uetr), BENCH_UETR);
    if (iso_pacs008_build(b->ctx, &in, &pp, &b->pacs008, &b->pacs008_len, &pr) != ISO_OK)
        exit(3);
}

int
main(int argc, char **argv)
{
    uint64_t seconds = DEFAULT_SECONDS;
    const char *dir = CORRIDOR_SAMPLES_DIR;
    struct bench b = {.now = time(NULL)};
    char today[DATE_SIZE];
    iso_ctx *ctx;

    options(argc, argv, &seconds, &dir);
    strftime(today, sizeof(today), "%Y-%m-%d", gmtime(&b.now));
    if (iso_ctx_new(&ctx) != ISO_OK)
        return 3;
    b.ctx = ctx;
    b.json = sample(dir, "payment.json", today, &b.json_len);
    b.pain001 = sample(dir, "pain001/pain001-09-single.xml", today, &b.pain001_len);
    b.pacs002 = sample(dir, "messages/pacs002-acsp.xml", today, &b.pacs002_len);
    build_once(&b);
    printf("corridor-iso-bench: messages/s on one core, %llu s per cell, libxml2 %s\n",
           (unsigned long long)seconds, LIBXML_DOTTED_VERSION);
    printf("%-14s %14s %16s %18s %10s\n", "workload", "corridor", "libxml2 parse",
           "libxml2 parse+xsd", "ratio");
    row(&b, "json-pacs008", json_pacs008, NULL, 0, b.pacs008, b.pacs008_len, seconds);
    row(&b, "pain001-xslt", pain001_xslt, b.pain001, b.pain001_len, b.pain001, b.pain001_len,
        seconds);
    row(&b, "pacs002-read", pacs002_read, b.pacs002, b.pacs002_len, b.pacs002, b.pacs002_len,
        seconds);
    printf("ratio = corridor / (libxml2 parse + profile validation) of the same document\n");
    iso_ctx_free(ctx);
    return 0;
}
