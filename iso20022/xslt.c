/*
 * xslt.c — the XSLT stylesheets (xslt/, embedded at build time like the schemas) compiled once
 * into the iso_ctx, and one transformation per call.
 *
 * Every transformation runs under a security preferences object that forbids reading and
 * writing files, creating directories and reading and writing over the network: document(),
 * xsl:document and the like fail instead of reaching outside, whatever a stylesheet says.
 * Errors go to a handler set on that call's transform context (xsltSetTransformErrorFunc) and
 * on its XPath context, never to libxslt's or libxml2's global handlers, so threads sharing the
 * compiled stylesheets do not race and nothing is printed.
 *
 * Problem code: TRANSLATION (path "") — the stylesheet failed; a bug, reported with
 * ISO_ERR_INTERNAL.
 */
#include "iso_int.h"

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxslt/transform.h>
#include <libxslt/variables.h>
#include <libxslt/xslt.h>
#include <libxslt/xsltutils.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ERROR_TEXT_SIZE 200

static const struct {
    const unsigned char *bytes;
    const size_t *len;
} embedded[ISO_XSLT_COUNT] = {
    [ISO_XSLT_PAIN001_09] = {iso_xsl_pain00109, &iso_xsl_pain00109_len},
    [ISO_XSLT_PAIN001_03] = {iso_xsl_pain00103, &iso_xsl_pain00103_len},
};

/* ---- compile ------------------------------------------------------------------------------- */

int
iso_xslt_compile(const char *bytes, size_t len, xsltStylesheetPtr *out)
{
    /* Corridor's own stylesheet, but parsed as carefully as anything else: no network, no
     * entities; NOBLANKS is what libxslt itself uses for stylesheets. */
    xmlDocPtr doc = xmlReadMemory(bytes, (int)len, NULL, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                      XML_PARSE_NOBLANKS);

    *out = NULL;
    if (doc == NULL)
        return ISO_ERR_SCHEMA;
    *out = xsltParseStylesheetDoc(doc); /* owns doc from here, but only on success */
    if (*out == NULL) {
        xmlFreeDoc(doc);
        return ISO_ERR_SCHEMA;
    }
    return ISO_OK;
}

static int
forbid_all(xsltSecurityPrefsPtr sec)
{
    static const xsltSecurityOption options[] = {
        XSLT_SECPREF_READ_FILE,    XSLT_SECPREF_WRITE_FILE,    XSLT_SECPREF_CREATE_DIRECTORY,
        XSLT_SECPREF_READ_NETWORK, XSLT_SECPREF_WRITE_NETWORK,
    };

    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
        if (xsltSetSecurityPrefs(sec, options[i], xsltSecurityForbid) != 0)
            return ISO_ERR_NOMEM;
    return ISO_OK;
}

int
iso_xslt_init(struct iso_ctx *ctx)
{
    int rc;

    xsltInit(); /* once, before threads transform */
    if ((ctx->xslt_security = xsltNewSecurityPrefs()) == NULL)
        return ISO_ERR_NOMEM;
    if ((rc = forbid_all(ctx->xslt_security)) != ISO_OK)
        return rc;
    for (int id = 0; id < ISO_XSLT_COUNT; id++) {
        rc = iso_xslt_compile((const char *)embedded[id].bytes, *embedded[id].len, &ctx->xslt[id]);
        if (rc != ISO_OK)
            return rc;
    }
    return ISO_OK;
}

void
iso_xslt_cleanup(struct iso_ctx *ctx)
{
    for (int id = 0; id < ISO_XSLT_COUNT; id++) {
        xsltFreeStylesheet(ctx->xslt[id]);
        ctx->xslt[id] = NULL;
    }
    xsltFreeSecurityPrefs(ctx->xslt_security);
    ctx->xslt_security = NULL;
}

/* ---- run ----------------------------------------------------------------------------------- */

/* libxslt hands a message over in pieces; they are joined and reported once. */
struct errors {
    char text[ERROR_TEXT_SIZE];
    size_t len;
    int seen;
};

static void
on_transform_error(void *arg, const char *fmt, ...)
{
    struct errors *e = arg;
    va_list ap;

    e->seen = 1;
    if (e->len + 1 >= sizeof(e->text))
        return;
    va_start(ap, fmt);
    int n = vsnprintf(e->text + e->len, sizeof(e->text) - e->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        e->len = strlen(e->text);
}

static void
on_xpath_error(void *arg, xmlErrorPtr err)
{
    on_transform_error(arg, "%s", err->message ? err->message : "XPath error");
}

static void
report(const struct errors *e, iso_problems *pr)
{
    int len = (int)strcspn(e->text, "\n");

    iso_problems_add(pr, "", "TRANSLATION", "the XSLT translation failed: %.*s", len,
                     len > 0 ? e->text : "no result");
}

int
iso_xslt_run(const iso_ctx *ctx, xsltStylesheetPtr style, xmlDocPtr src, const char **params,
             xmlDocPtr *out, iso_problems *pr)
{
    struct errors errors = {.len = 0};
    xsltTransformContextPtr tc = xsltNewTransformContext(style, src);

    *out = NULL;
    if (tc == NULL)
        return ISO_ERR_NOMEM;
    xsltSetTransformErrorFunc(tc, &errors, on_transform_error);
    if (tc->xpathCtxt != NULL) {
        tc->xpathCtxt->error = on_xpath_error;
        tc->xpathCtxt->userData = &errors;
    }
    if (xsltSetCtxtSecurityPrefs(ctx->xslt_security, tc) != 0 ||
        xsltQuoteUserParams(tc, params) != 0)
        errors.seen = 1;
    if (!errors.seen)
        *out = xsltApplyStylesheetUser(style, src, NULL, NULL, NULL, tc);
    if (tc->state != XSLT_STATE_OK)
        errors.seen = 1;
    xsltFreeTransformContext(tc);
    if (*out != NULL && !errors.seen)
        return ISO_OK;
    xmlFreeDoc(*out);
    *out = NULL;
    report(&errors, pr);
    return ISO_ERR_INTERNAL;
}
