/*
 * test_util.c — see test_util.h.
 */
#include "test_util.h"

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define NS_ENV "urn:swift:xsd:envelope"
#define NS_HEAD "urn:iso:std:iso:20022:tech:xsd:head.001.001.02"
#define NS_PACS "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"
#define MAX_OFFICIAL 16
#define NS_PAIN002 "urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"
#define NS_CAMT056 "urn:iso:std:iso:20022:tech:xsd:camt.056.001.08"

char *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) != NULL) {
        if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
            if (len != NULL)
                *len = (size_t)n;
        }
    }
    fclose(f);
    return buf;
}

char *
replace_all(const char *s, const char *mark, const char *value)
{
    size_t count = 0, n = 0, cap;
    const char *p;
    char *out;

    for (p = strstr(s, mark); p != NULL; p = strstr(p + strlen(mark), mark))
        count++;
    cap = strlen(s) + 1 + count * strlen(value);
    out = malloc(cap);
    assert_non_null(out);
    while ((p = strstr(s, mark)) != NULL) {
        memcpy(out + n, s, (size_t)(p - s));
        n += (size_t)(p - s);
        memcpy(out + n, value, strlen(value));
        n += strlen(value);
        s = p + strlen(mark);
    }
    memcpy(out + n, s, strlen(s) + 1);
    return out;
}

char *
with_today(const char *s, const char *date)
{
    return replace_all(s, "@TODAY@", date);
}

char *
sample_file(const char *rel, size_t *len)
{
    char path[512], today[11], *raw, *dated, *out;

    snprintf(path, sizeof(path), "%s/%s", SAMPLES_DIR, rel);
    if ((raw = read_file(path, NULL)) == NULL)
        return NULL;
    date_text(time(NULL), 0, today);
    dated = with_today(raw, today);
    out = replace_all(dated, "@UETR@", TEST_UETR);
    free(raw);
    free(dated);
    if (len != NULL)
        *len = strlen(out);
    return out;
}

void
date_text(time_t t, int days, char out[11])
{
    struct tm tm;
    time_t when = t + (time_t)days * 86400;

    gmtime_r(&when, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

char *
payment_json(void)
{
    char today[11], *raw = read_file(SAMPLES_DIR "/payment.json", NULL), *json;

    assert_non_null(raw);
    date_text(time(NULL), 0, today);
    json = with_today(raw, today);
    free(raw);
    return json;
}

void
payment_instruction(iso_instruction *in)
{
    char *json = payment_json();
    iso_problems pr;

    iso_problems_init(&pr);
    assert_int_equal(iso_instruction_from_json(json, strlen(json), time(NULL), in, &pr), ISO_OK);
    free(json);
}

#define LINE_SIZE 256

int
status_of(int rc)
{
    switch (rc) {
    case ISO_OK:
        return 200;
    case ISO_ERR_SYNTAX:
        return 400;
    case ISO_ERR_TOOLARGE:
        return 413;
    case ISO_ERR_INVALID:
        return 422;
    default:
        return 500;
    }
}

/* The status on the first line of a .expect file. */
static int
leading_number(const char *s)
{
    int v = 0;

    for (; *s >= '0' && *s <= '9'; s++)
        v = v * 10 + (*s - '0');
    return v;
}

/* Compare the problems with the .expect lines after the status; 0 and a message on mismatch. */
static int
problems_match(const char *name, const char *expect, const iso_problems *pr)
{
    char *copy = strdup(expect), *save = NULL, *line, got[LINE_SIZE];
    size_t i = 0;
    int ok = 1;

    assert_non_null(copy);
    strtok_r(copy, "\n", &save);
    for (line = strtok_r(NULL, "\n", &save); ok && line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (i >= pr->n) {
            print_message("%s: missing \"%s\"\n", name, line);
            ok = 0;
            break;
        }
        snprintf(got, sizeof(got), "%s %s", pr->items[i].path, pr->items[i].code);
        if (strcmp(got, line) != 0) {
            print_message("%s: problem %zu is \"%s\", expected \"%s\"\n", name, i, got, line);
            ok = 0;
        }
        i++;
    }
    if (ok && (i != pr->n || pr->dropped != 0)) {
        print_message("%s: %zu problems, expected %zu\n", name, pr->n + pr->dropped, i);
        ok = 0;
    }
    free(copy);
    return ok;
}

int
expect_matches(const char *name, const char *expect, int rc, const iso_problems *pr)
{
    int status = status_of(rc), ok = status == leading_number(expect);

    if (!ok)
        print_message("%s: status %d, expected %s", name, status, expect);
    ok = ok && problems_match(name, expect, pr);
    for (size_t i = 0; !ok && i < pr->n; i++)
        print_message("  got: %s %s (%s)\n", pr->items[i].path, pr->items[i].code,
                      pr->items[i].text);
    return ok;
}

int
have_official(void)
{
    struct stat st;

    return stat(OFFICIAL_XSD_DIR, &st) == 0 && S_ISDIR(st.st_mode);
}

static void
drop_error(void *arg, xmlErrorPtr err)
{
    (void)arg;
    (void)err;
}

xmlSchemaPtr
official_schema(const char *file)
{
    static struct {
        char file[64];
        xmlSchemaPtr schema;
    } cache[MAX_OFFICIAL];
    char path[512];
    xmlSchemaParserCtxtPtr pc;
    size_t i;

    if (!have_official()) {
        print_message("../shared/iso20022/xsd missing: official-schema conformance not checked\n");
        skip();
    }
    for (i = 0; i < MAX_OFFICIAL && cache[i].schema != NULL; i++)
        if (strcmp(cache[i].file, file) == 0)
            return cache[i].schema;
    assert_true(i < MAX_OFFICIAL);
    snprintf(path, sizeof(path), "%s/%s", OFFICIAL_XSD_DIR, file);
    pc = xmlSchemaNewParserCtxt(path);
    assert_non_null(pc);
    xmlSchemaSetParserStructuredErrors(pc, drop_error, NULL);
    cache[i].schema = xmlSchemaParse(pc);
    xmlSchemaFreeParserCtxt(pc);
    assert_non_null(cache[i].schema);
    snprintf(cache[i].file, sizeof(cache[i].file), "%s", file);
    return cache[i].schema;
}

static void
keep_first(void *arg, xmlErrorPtr err)
{
    char *why = arg;

    if (why[0] == '\0' && err->message != NULL)
        snprintf(why, 512, "line %d: %s", err->line, err->message);
}

int
official_valid(xmlSchemaPtr schema, xmlNodePtr elem, const char **why)
{
    static char first[512];
    xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
    int r;

    assert_non_null(vc);
    first[0] = '\0';
    xmlSchemaSetValidStructuredErrors(vc, keep_first, first);
    r = xmlSchemaValidateOneElement(vc, elem);
    xmlSchemaFreeValidCtxt(vc);
    if (why != NULL)
        *why = first;
    return r == 0;
}

void
assert_official_message(const char *xml, size_t len, const char *doc_xsd)
{
    xmlDocPtr doc;
    xmlNodePtr root, hdr = NULL, body = NULL;
    const char *why;

    if (!have_official())
        return;
    doc = parse_doc(xml, len);
    root = xmlDocGetRootElement(doc);
    if (strcmp((const char *)root->name, "Document") == 0) {
        body = root;
    } else {
        for (xmlNodePtr c = root->children; c != NULL; c = c->next) {
            if (c->type != XML_ELEMENT_NODE)
                continue;
            if (strcmp((const char *)c->name, "AppHdr") == 0)
                hdr = c;
            else if (strcmp((const char *)c->name, "Document") == 0)
                body = c;
        }
    }
    assert_non_null(body);
    if (hdr != NULL && !official_valid(official_schema("head.001.001.02.xsd"), hdr, &why))
        fail_msg("AppHdr breaks the official head.001.001.02: %s", why);
    if (!official_valid(official_schema(doc_xsd), body, &why))
        fail_msg("Document breaks the official %s: %s", doc_xsd, why);
    xmlFreeDoc(doc);
}

xmlNodePtr
child_element(xmlNodePtr parent, const char *ns, const char *name)
{
    for (xmlNodePtr c = parent ? parent->children : NULL; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE && c->ns != NULL &&
            strcmp((const char *)c->ns->href, ns) == 0 && strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

xmlDocPtr
parse_doc(const char *xml, size_t len)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);

    assert_non_null(doc);
    return doc;
}

char *
xpath_text(xmlDocPtr doc, const char *expr)
{
    xmlXPathContextPtr xc = xmlXPathNewContext(doc);
    xmlXPathObjectPtr res;
    char *text = NULL;

    assert_non_null(xc);
    xmlXPathRegisterNs(xc, BAD_CAST "env", BAD_CAST NS_ENV);
    xmlXPathRegisterNs(xc, BAD_CAST "head", BAD_CAST NS_HEAD);
    xmlXPathRegisterNs(xc, BAD_CAST "pacs", BAD_CAST NS_PACS);
    xmlXPathRegisterNs(xc, BAD_CAST "p2", BAD_CAST NS_PAIN002);
    xmlXPathRegisterNs(xc, BAD_CAST "c56", BAD_CAST NS_CAMT056);
    res = xmlXPathEvalExpression(BAD_CAST expr, xc);
    if (res != NULL && res->nodesetval != NULL && res->nodesetval->nodeNr > 0)
        text = (char *)xmlNodeGetContent(res->nodesetval->nodeTab[0]);
    xmlXPathFreeObject(res);
    xmlXPathFreeContext(xc);
    return text;
}
