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
#define MAX_OFFICIAL 4

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
with_today(const char *s, const char *date)
{
    static const char mark[] = "@TODAY@";
    size_t cap = strlen(s) + 1 + 8 * strlen(date), n = 0;
    char *out = malloc(cap);
    const char *p;

    assert_non_null(out);
    while ((p = strstr(s, mark)) != NULL) {
        memcpy(out + n, s, (size_t)(p - s));
        n += (size_t)(p - s);
        assert_true(n + strlen(date) < cap);
        memcpy(out + n, date, strlen(date));
        n += strlen(date);
        s = p + strlen(mark);
    }
    assert_true(n + strlen(s) < cap);
    memcpy(out + n, s, strlen(s) + 1);
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
    res = xmlXPathEvalExpression(BAD_CAST expr, xc);
    if (res != NULL && res->nodesetval != NULL && res->nodesetval->nodeNr > 0)
        text = (char *)xmlNodeGetContent(res->nodesetval->nodeTab[0]);
    xmlXPathFreeObject(res);
    xmlXPathFreeContext(xc);
    return text;
}
