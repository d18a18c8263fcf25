/*
 * schema.c — the profile schemas: compiled once into an iso_ctx (with the XSLT stylesheets,
 * xslt.c), then used read-only by any number of threads, each validation with its own
 * xmlSchemaValidCtxt and its own error callbacks (no global libxml2 error handler is ever set).
 *
 * Problem codes (path: the XPath of the node, local names, or "" for the document):
 *   SCHEMA       the element breaks its profile schema (text: libxml2's message); for
 *                iso_validate also an Envelope that holds something besides AppHdr, Document
 *   UNSUPPORTED  (iso_validate) a root element no profile covers
 * and those of the parser (xml.c): XML_SYNTAX, XML_DTD, XML_LIMIT, XML_PI, XML_XINCLUDE,
 * TOO_LARGE.
 */
#include "iso_int.h"

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <stdlib.h>
#include <string.h>

#define PATH_SIZE sizeof(((iso_problem *)0)->path)

static const struct {
    const unsigned char *bytes;
    const size_t *len;
} embedded[ISO_SCHEMA_COUNT] = {
    [ISO_SCHEMA_PACS008] = {iso_xsd_pacs008, &iso_xsd_pacs008_len},
    [ISO_SCHEMA_HEAD001] = {iso_xsd_head001, &iso_xsd_head001_len},
    [ISO_SCHEMA_HEAD001_IN] = {iso_xsd_head001in, &iso_xsd_head001in_len},
    [ISO_SCHEMA_PAIN001_09] = {iso_xsd_pain00109, &iso_xsd_pain00109_len},
    [ISO_SCHEMA_PAIN001_03] = {iso_xsd_pain00103, &iso_xsd_pain00103_len},
    [ISO_SCHEMA_PAIN002] = {iso_xsd_pain002, &iso_xsd_pain002_len},
    [ISO_SCHEMA_CAMT056] = {iso_xsd_camt056, &iso_xsd_camt056_len},
    [ISO_SCHEMA_PACS002] = {iso_xsd_pacs002, &iso_xsd_pacs002_len},
    [ISO_SCHEMA_PACS004] = {iso_xsd_pacs004, &iso_xsd_pacs004_len},
    [ISO_SCHEMA_CAMT029] = {iso_xsd_camt029, &iso_xsd_camt029_len},
};

/* Every message Corridor has a profile for; `inbound`: Corridor receives it. */
static const struct {
    const char *ns;
    enum iso_schema_id schema;
    int inbound;
} messages[] = {
    {ISO_NS_PACS008, ISO_SCHEMA_PACS008, 0},       {ISO_NS_PAIN002, ISO_SCHEMA_PAIN002, 0},
    {ISO_NS_CAMT056, ISO_SCHEMA_CAMT056, 0},       {ISO_NS_PAIN001_09, ISO_SCHEMA_PAIN001_09, 1},
    {ISO_NS_PAIN001_03, ISO_SCHEMA_PAIN001_03, 1}, {ISO_NS_PACS002, ISO_SCHEMA_PACS002, 1},
    {ISO_NS_PACS004, ISO_SCHEMA_PACS004, 1},       {ISO_NS_CAMT029, ISO_SCHEMA_CAMT029, 1},
};

enum iso_schema_id
iso_schema_for(const char *ns, int *inbound)
{
    for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
        if (strcmp(messages[i].ns, ns) == 0) {
            if (inbound != NULL)
                *inbound = messages[i].inbound;
            return messages[i].schema;
        }
    }
    return ISO_SCHEMA_COUNT;
}

/* ---- compile ------------------------------------------------------------------------------- */

/* Schema compile errors are summed up by ISO_ERR_SCHEMA; this only keeps them off stderr. */
static void
drop_error(void *arg, xmlErrorPtr err)
{
    (void)arg;
    (void)err;
}

static int
compile(enum iso_schema_id id, xmlSchemaPtr *out)
{
    xmlSchemaParserCtxtPtr pc;

    pc = xmlSchemaNewMemParserCtxt((const char *)embedded[id].bytes, (int)*embedded[id].len);
    if (pc == NULL)
        return ISO_ERR_NOMEM;
    xmlSchemaSetParserStructuredErrors(pc, drop_error, NULL);
    *out = xmlSchemaParse(pc);
    xmlSchemaFreeParserCtxt(pc);
    return *out != NULL ? ISO_OK : ISO_ERR_SCHEMA;
}

int
iso_ctx_new(iso_ctx **ctx)
{
    int rc = ISO_OK;

    /* Must run once before threads use libxml2; iso_ctx_new is the start-up call. */
    xmlInitParser();
    if ((*ctx = calloc(1, sizeof(**ctx))) == NULL)
        return ISO_ERR_NOMEM;
    for (int id = 0; id < ISO_SCHEMA_COUNT && rc == ISO_OK; id++)
        rc = compile((enum iso_schema_id)id, &(*ctx)->schemas[id]);
    if (rc == ISO_OK)
        rc = iso_xslt_init(*ctx);
    if (rc != ISO_OK) {
        iso_ctx_free(*ctx);
        *ctx = NULL;
    }
    return rc;
}

void
iso_ctx_free(iso_ctx *ctx)
{
    if (ctx == NULL)
        return;
    for (int id = 0; id < ISO_SCHEMA_COUNT; id++)
        xmlSchemaFree(ctx->schemas[id]);
    iso_xslt_cleanup(ctx);
    free(ctx);
}

/* ---- validate one element ------------------------------------------------------------------ */

/* libxml2 messages end with a newline; the problem text does not. */
static void
add_libxml_problem(iso_problems *pr, const char *path, const char *code, const char *msg)
{
    int len = msg != NULL ? (int)strcspn(msg, "\n") : 0;

    iso_problems_add(pr, path, code, "%.*s", len, msg != NULL ? msg : "");
}

static void
collect_schema_error(void *arg, xmlErrorPtr err)
{
    char path[PATH_SIZE];

    if (err->level < XML_ERR_ERROR)
        return;
    iso_xml_path(err->node, path, sizeof(path));
    add_libxml_problem(arg, path, "SCHEMA", err->message);
}

int
iso_validate_element(const iso_ctx *ctx, enum iso_schema_id id, xmlNodePtr elem, iso_problems *pr)
{
    size_t before = pr->n + pr->dropped;
    xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(ctx->schemas[id]);
    int r;

    if (vc == NULL)
        return ISO_ERR_NOMEM;
    xmlSchemaSetValidStructuredErrors(vc, collect_schema_error, pr);
    r = xmlSchemaValidateOneElement(vc, elem);
    xmlSchemaFreeValidCtxt(vc);
    if (r == 0)
        return ISO_OK;
    if (r < 0)
        return ISO_ERR_NOMEM; /* libxml2 reports an internal failure, in practice memory */
    if (pr->n + pr->dropped == before)
        iso_problem_at(pr, elem, "SCHEMA", "not valid");
    return ISO_ERR_INVALID;
}

int
iso_validate_parts(const iso_ctx *ctx, const struct iso_parts *parts, enum iso_schema_id hdr_id,
                   enum iso_schema_id doc_id, iso_problems *pr)
{
    int rc = ISO_OK;

    if (parts->hdr != NULL)
        rc = iso_validate_element(ctx, hdr_id, parts->hdr, pr);
    if (rc != ISO_ERR_NOMEM)
        rc = iso_rc_merge(rc, iso_validate_element(ctx, doc_id, parts->doc, pr));
    return rc;
}

/* ---- iso_validate: the root picks the profile ---------------------------------------------- */

/* The profile of a Document, or ISO_SCHEMA_COUNT. */
static enum iso_schema_id
document_schema(xmlNodePtr n, int *inbound)
{
    if (n->type != XML_ELEMENT_NODE || n->ns == NULL || strcmp((const char *)n->name, "Document"))
        return ISO_SCHEMA_COUNT;
    return iso_schema_for((const char *)n->ns->href, inbound);
}

static int
is_header(xmlNodePtr n)
{
    return iso_xml_is(n, ISO_NS_HEAD001, "AppHdr");
}

/* An Envelope holds an optional AppHdr and then one Document; each is checked on its own, the
 * AppHdr against the header profile of the Document's direction. */
static int
validate_envelope(const iso_ctx *ctx, xmlNodePtr env, iso_problems *pr)
{
    struct iso_parts parts = {.root = env};
    enum iso_schema_id doc_id = ISO_SCHEMA_COUNT;
    int rc = ISO_OK, inbound = 0;

    for (xmlNodePtr c = env->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE && (c->type != XML_TEXT_NODE || xmlIsBlankNode(c)))
            continue;
        if (is_header(c) && parts.hdr == NULL && parts.doc == NULL) {
            parts.hdr = c;
        } else if (parts.doc == NULL &&
                   (doc_id = document_schema(c, &inbound)) != ISO_SCHEMA_COUNT) {
            parts.doc = c;
        } else {
            iso_problem_at(pr, c, "SCHEMA", "an Envelope holds an AppHdr, then a Document");
            rc = ISO_ERR_INVALID;
        }
    }
    if (parts.doc == NULL) {
        iso_problem_at(pr, env, "SCHEMA",
                       "the Envelope has no Document Corridor has a profile for");
        return ISO_ERR_INVALID;
    }
    return iso_rc_merge(rc, iso_validate_parts(ctx, &parts,
                                               inbound ? ISO_SCHEMA_HEAD001_IN : ISO_SCHEMA_HEAD001,
                                               doc_id, pr));
}

static int
validate_root(const iso_ctx *ctx, xmlNodePtr root, iso_problems *pr)
{
    enum iso_schema_id id;

    if (iso_xml_is(root, ISO_NS_ENVELOPE, "Envelope"))
        return validate_envelope(ctx, root, pr);
    if (is_header(root))
        return iso_validate_element(ctx, ISO_SCHEMA_HEAD001, root, pr);
    if ((id = document_schema(root, NULL)) != ISO_SCHEMA_COUNT)
        return iso_validate_element(ctx, id, root, pr);
    iso_problem_at(pr, root, "UNSUPPORTED",
                   "no profile for this element (Envelope, head.001.001.02 AppHdr, or a Document "
                   "of pacs.008.001.08, pacs.002.001.10, pacs.004.001.09, camt.029.001.09, "
                   "camt.056.001.08, pain.001.001.09, pain.001.001.03, pain.002.001.10)");
    return ISO_ERR_INVALID;
}

int
iso_validate(const iso_ctx *ctx, const char *xml, size_t len, iso_problems *pr)
{
    xmlDocPtr doc;
    int rc;

    if ((rc = iso_xml_parse(xml, len, &doc, pr)) != ISO_OK)
        return rc;
    rc = validate_root(ctx, xmlDocGetRootElement(doc), pr);
    xmlFreeDoc(doc);
    return rc;
}
