/*
 * test_xslt.c — iso20022/xslt.c: the security preferences every transformation runs under
 * (no file or network reads, no writes, no directories), per-call error collection, silence on
 * stderr, and the embedded stylesheets compiled once.
 */
#include "test_util.h"

#include "iso_int.h"

#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHEET_OPEN                                                                                 \
    "<xsl:stylesheet version=\"1.1\" xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\">"          \
    "<xsl:template match=\"/\">"
#define SHEET_CLOSE "</xsl:template></xsl:stylesheet>"

static iso_ctx *ctx;
static xmlDocPtr src;

static int
setup(void **state)
{
    (void)state;
    src = xmlReadMemory("<a>x</a>", 8, NULL, NULL, XML_PARSE_NONET);
    return iso_ctx_new(&ctx) == ISO_OK && src != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    iso_ctx_free(ctx);
    xmlFreeDoc(src);
    return 0;
}

/* Compile and run one stylesheet body under ctx's preferences; the result is freed. */
static int
run(const char *body, iso_problems *pr)
{
    char sheet[2048];
    const char *params[] = {"p", "it's \"quoted\"", NULL};
    xsltStylesheetPtr style;
    xmlDocPtr out;
    int rc;

    snprintf(sheet, sizeof(sheet), "%s%s%s", SHEET_OPEN, body, SHEET_CLOSE);
    assert_int_equal(iso_xslt_compile(sheet, strlen(sheet), &style), ISO_OK);
    iso_problems_init(pr);
    rc = iso_xslt_run(ctx, style, src, params, &out, pr);
    if (rc == ISO_OK)
        xmlFreeDoc(out);
    else
        assert_null(out);
    xsltFreeStylesheet(style);
    return rc;
}

static void
test_embedded_stylesheets_compiled(void **state)
{
    (void)state;
    for (int i = 0; i < ISO_XSLT_COUNT; i++)
        assert_non_null(ctx->xslt[i]);
    assert_non_null(ctx->xslt_security);
}

/* Parameters are strings taken literally, quotes and all. */
static void
test_parameters_are_literal(void **state)
{
    char sheet[512];
    const char *params[] = {"p", "it's \"quoted\" & <b>", NULL};
    xsltStylesheetPtr style;
    xmlDocPtr out;
    iso_problems pr;

    (void)state;
    snprintf(sheet, sizeof(sheet),
             "<xsl:stylesheet version=\"1.0\" xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\">"
             "<xsl:param name=\"p\"/><xsl:template match=\"/\"><r><xsl:value-of select=\"$p\"/>"
             "</r></xsl:template></xsl:stylesheet>");
    assert_int_equal(iso_xslt_compile(sheet, strlen(sheet), &style), ISO_OK);
    iso_problems_init(&pr);
    assert_int_equal(iso_xslt_run(ctx, style, src, params, &out, &pr), ISO_OK);
    xmlChar *text = xmlNodeGetContent(xmlDocGetRootElement(out));
    assert_string_equal((const char *)text, "it's \"quoted\" & <b>");
    xmlFree(text);
    xmlFreeDoc(out);
    xsltFreeStylesheet(style);
}

static void
test_file_read_refused(void **state)
{
    iso_problems pr;

    (void)state;
    assert_int_equal(run("<r><xsl:copy-of select=\"document('file:///etc/passwd')\"/></r>", &pr),
                     ISO_ERR_INTERNAL);
    assert_string_equal(pr.items[0].code, "TRANSLATION");
    assert_int_equal(run("<r><xsl:copy-of select=\"document('/etc/passwd')\"/></r>", &pr),
                     ISO_ERR_INTERNAL);
}

static void
test_network_read_refused(void **state)
{
    iso_problems pr;

    (void)state;
    assert_int_equal(
        run("<r><xsl:copy-of select=\"document('http://127.0.0.1:9/x.xml')\"/></r>", &pr),
        ISO_ERR_INTERNAL);
    assert_string_equal(pr.items[0].code, "TRANSLATION");
}

static void
test_file_write_refused(void **state)
{
    char path[128], body[512];
    struct stat st;
    iso_problems pr;

    (void)state;
    snprintf(path, sizeof(path), "/tmp/corridor-xslt-write-%d/out.xml", (int)getpid());
    snprintf(body, sizeof(body), "<xsl:document href=\"%s\"><x/></xsl:document><r/>", path);
    assert_int_equal(run(body, &pr), ISO_ERR_INTERNAL);
    assert_int_not_equal(stat(path, &st), 0);
    *strrchr(path, '/') = '\0';
    assert_int_not_equal(stat(path, &st), 0); /* nor its directory */
}

/* xsl:message terminate: the error is the call's, stderr stays empty. */
static void
test_errors_per_call_and_silent(void **state)
{
    FILE *tmp = tmpfile();
    iso_problems pr;
    int saved;
    long size;

    (void)state;
    assert_non_null(tmp);
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    assert_int_equal(run("<xsl:message terminate=\"yes\">stop here</xsl:message>", &pr),
                     ISO_ERR_INTERNAL);
    run("<r><xsl:copy-of select=\"document('file:///etc/passwd')\"/></r>", &pr);
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    fseek(tmp, 0, SEEK_END);
    size = ftell(tmp);
    fclose(tmp);
    assert_int_equal(size, 0);
}

int
test_xslt_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embedded_stylesheets_compiled),
        cmocka_unit_test(test_parameters_are_literal),
        cmocka_unit_test(test_file_read_refused),
        cmocka_unit_test(test_network_read_refused),
        cmocka_unit_test(test_file_write_refused),
        cmocka_unit_test(test_errors_per_call_and_silent),
    };
    return cmocka_run_group_tests_name("xslt", tests, setup, teardown);
}
