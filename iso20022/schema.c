/*
 * schema.c — the profile schemas: compiled once into an iso_ctx, then used read-only by any
 * number of threads, each validation with its own xmlSchemaValidCtxt and its own error
 * callbacks (no global libxml2 error handler is ever set).
 *
 * Problem codes (path: the XPath of the node from xmlGetNodePath, or "" for the document):
 *   SCHEMA       the element breaks its profile schema (text: libxml2's message)
 *   UNSUPPORTED  a root element no profile covers
 *   XML_SYNTAX   not well-formed, or not namespace-well-formed (text has line and column)
 *   XML_DTD      the document has a DOCTYPE: refused before its internal subset is read
 *   XML_LIMIT    more than ISO_MAX_XML_NODES nodes or ISO_MAX_XML_DEPTH levels
 *   TOO_LARGE    more than ISO_MAX_XML_BYTES
 */
#include "iso_int.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/xmlschemas.h>
#include <stdlib.h>
#include <string.h>

struct iso_ctx {
    xmlSchemaPtr schemas[ISO_SCHEMA_COUNT];
};

static const struct {
    const unsigned char *bytes;
    const size_t *len;
} embedded[ISO_SCHEMA_COUNT] = {
    [ISO_SCHEMA_PACS008] = {iso_xsd_pacs008, &iso_xsd_pacs008_len},
    [ISO_SCHEMA_HEAD001] = {iso_xsd_head001, &iso_xsd_head001_len},
};

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
    free(ctx);
}

/* ---- validate one element ------------------------------------------------------------------ */

/* The XPath of node (or "" without one); the caller xmlFree()s a non-NULL result. */
static xmlChar *
node_path(const void *node)
{
    return node != NULL ? xmlGetNodePath((const xmlNode *)node) : NULL;
}

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
    xmlChar *path;

    if (err->level < XML_ERR_ERROR)
        return;
    path = node_path(err->node);
    add_libxml_problem(arg, path ? (const char *)path : "", "SCHEMA", err->message);
    xmlFree(path);
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
    if (pr->n + pr->dropped == before) {
        xmlChar *path = node_path(elem);
        iso_problems_add(pr, path ? (const char *)path : "", "SCHEMA", "not valid");
        xmlFree(path);
    }
    return ISO_ERR_INVALID;
}

/* ---- parse --------------------------------------------------------------------------------- */

/*
 * What the parser callbacks found. They reach it through the parser context's _private, as
 * libxml2 passes the context itself as userData.
 */
struct parse_state {
    iso_problems *pr;
    int refused; /* ISO_ERR_SYNTAX already reported: DTD or limit */
    size_t nodes, depth;
};

static void
collect_parse_error(void *arg, xmlErrorPtr err)
{
    xmlParserCtxtPtr pc = arg;
    struct parse_state *st = pc->_private;

    if (err->level < XML_ERR_ERROR || st->refused)
        return;
    iso_problems_add(st->pr, "", "XML_SYNTAX", "line %d, column %d: %.*s", err->line, err->int2,
                     (int)strcspn(err->message ? err->message : "", "\n"),
                     err->message ? err->message : "");
}

static void
refuse(xmlParserCtxtPtr pc, const char *code, const char *text)
{
    struct parse_state *st = pc->_private;

    iso_problems_add(st->pr, "", code, "%s", text);
    st->refused = 1;
    xmlStopParser(pc);
}

/* A DOCTYPE stops the parse before its internal subset (entities) is read. */
static void
on_doctype(void *arg, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id)
{
    (void)name;
    (void)external_id;
    (void)system_id;
    refuse(arg, "XML_DTD", "documents with a DTD are refused");
}

/* Counted while parsing, so an oversized tree is never built. */
static int
count_node(xmlParserCtxtPtr pc)
{
    struct parse_state *st = pc->_private;

    if (++st->nodes <= ISO_MAX_XML_NODES)
        return 1;
    refuse(pc, "XML_LIMIT", "too many nodes");
    return 0;
}

static void
on_start(void *arg, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri, int n_ns,
         const xmlChar **ns, int n_attrs, int n_defaulted, const xmlChar **attrs)
{
    xmlParserCtxtPtr pc = arg;
    struct parse_state *st = pc->_private;

    if (!count_node(pc))
        return;
    if (++st->depth > ISO_MAX_XML_DEPTH) {
        refuse(pc, "XML_LIMIT", "elements nested too deep");
        return;
    }
    xmlSAX2StartElementNs(arg, name, prefix, uri, n_ns, ns, n_attrs, n_defaulted, attrs);
}

static void
on_end(void *arg, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri)
{
    xmlParserCtxtPtr pc = arg;
    struct parse_state *st = pc->_private;

    st->depth--;
    xmlSAX2EndElementNs(arg, name, prefix, uri);
}

static void
on_comment(void *arg, const xmlChar *text)
{
    if (count_node(arg))
        xmlSAX2Comment(arg, text);
}

static void
on_pi(void *arg, const xmlChar *target, const xmlChar *data)
{
    if (count_node(arg))
        xmlSAX2ProcessingInstruction(arg, target, data);
}

static void
hook(xmlParserCtxtPtr pc, struct parse_state *st)
{
    pc->_private = st;
    pc->sax->serror = collect_parse_error;
    pc->sax->internalSubset = on_doctype;
    pc->sax->startElementNs = on_start;
    pc->sax->endElementNs = on_end;
    pc->sax->comment = on_comment;
    pc->sax->processingInstruction = on_pi;
}

/* XML_PARSE_NONET and nothing else: no entity substitution, no DTD loading, default limits. */
static int
parse(const char *xml, size_t len, xmlDocPtr *doc, iso_problems *pr)
{
    struct parse_state st = {.pr = pr};
    size_t before = pr->n + pr->dropped;
    xmlParserCtxtPtr pc;
    int ok;

    *doc = NULL;
    if (len == 0) {
        iso_problems_add(pr, "", "XML_SYNTAX", "the document is empty");
        return ISO_ERR_SYNTAX;
    }
    if ((pc = xmlCreateMemoryParserCtxt(xml, (int)len)) == NULL)
        return ISO_ERR_NOMEM;
    hook(pc, &st);
    xmlCtxtUseOptions(pc, XML_PARSE_NONET);
    xmlParseDocument(pc);
    ok = pc->wellFormed && pc->nsWellFormed && !st.refused && pc->myDoc != NULL;
    *doc = ok ? pc->myDoc : NULL;
    if (!ok)
        xmlFreeDoc(pc->myDoc);
    pc->myDoc = NULL;
    xmlFreeParserCtxt(pc);
    if (ok)
        return ISO_OK;
    if (pr->n + pr->dropped == before)
        iso_problems_add(pr, "", "XML_SYNTAX", "not well-formed");
    return ISO_ERR_SYNTAX;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

static int
is_element(xmlNodePtr n, const char *ns, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->ns != NULL &&
           strcmp((const char *)n->ns->href, ns) == 0 && strcmp((const char *)n->name, name) == 0;
}

/* The profile for a bare part, or ISO_SCHEMA_COUNT if there is none. */
static enum iso_schema_id
part_schema(xmlNodePtr n)
{
    if (is_element(n, ISO_NS_PACS008, "Document"))
        return ISO_SCHEMA_PACS008;
    if (is_element(n, ISO_NS_HEAD001, "AppHdr"))
        return ISO_SCHEMA_HEAD001;
    return ISO_SCHEMA_COUNT;
}

static void
add_node_problem(iso_problems *pr, xmlNodePtr n, const char *code, const char *text)
{
    xmlChar *path = node_path(n);

    iso_problems_add(pr, path ? (const char *)path : "", code, "%s", text);
    xmlFree(path);
}

/* An Envelope holds an optional AppHdr and then one Document; each is checked on its own. */
static int
validate_envelope(const iso_ctx *ctx, xmlNodePtr env, iso_problems *pr)
{
    int rc = ISO_OK, seen_hdr = 0, seen_doc = 0;

    for (xmlNodePtr c = env->children; c != NULL && rc != ISO_ERR_NOMEM; c = c->next) {
        enum iso_schema_id id = part_schema(c);
        if (c->type != XML_ELEMENT_NODE && (c->type != XML_TEXT_NODE || xmlIsBlankNode(c)))
            continue;
        if (id == ISO_SCHEMA_COUNT || seen_doc || (id == ISO_SCHEMA_HEAD001 && seen_hdr)) {
            add_node_problem(pr, c, "SCHEMA", "an Envelope holds an AppHdr, then a Document");
            rc = ISO_ERR_INVALID;
            continue;
        }
        seen_hdr |= id == ISO_SCHEMA_HEAD001;
        seen_doc |= id == ISO_SCHEMA_PACS008;
        rc = iso_rc_merge(rc, iso_validate_element(ctx, id, c, pr));
    }
    if (!seen_doc && rc != ISO_ERR_NOMEM) {
        add_node_problem(pr, env, "SCHEMA", "the Envelope has no pacs.008.001.08 Document");
        rc = ISO_ERR_INVALID;
    }
    return rc;
}

static int
validate_root(const iso_ctx *ctx, xmlNodePtr root, iso_problems *pr)
{
    enum iso_schema_id id;

    if (is_element(root, ISO_NS_ENVELOPE, "Envelope"))
        return validate_envelope(ctx, root, pr);
    if ((id = part_schema(root)) != ISO_SCHEMA_COUNT)
        return iso_validate_element(ctx, id, root, pr);
    add_node_problem(pr, root, "UNSUPPORTED",
                     "no profile for this element (Envelope, head.001.001.02 AppHdr or "
                     "pacs.008.001.08 Document)");
    return ISO_ERR_INVALID;
}

int
iso_validate(const iso_ctx *ctx, const char *xml, size_t len, iso_problems *pr)
{
    xmlDocPtr doc;
    xmlNodePtr root;
    int rc;

    if (len > ISO_MAX_XML_BYTES) {
        iso_problems_add(pr, "", "TOO_LARGE", "the document is over %d bytes", ISO_MAX_XML_BYTES);
        return ISO_ERR_TOOLARGE;
    }
    if ((rc = parse(xml, len, &doc, pr)) != ISO_OK)
        return rc;
    root = xmlDocGetRootElement(doc);
    rc = validate_root(ctx, root, pr);
    xmlFreeDoc(doc);
    return rc;
}
