/*
 * xml.c — XML from outside: the one parser every reader uses (iso_validate, iso_pain001_read,
 * iso_status_read, iso_envelope), where a message's parts sit, and the XPaths problems name.
 *
 * Hostile input is refused before or while it is parsed, never after a tree was built:
 *   - over ISO_MAX_XML_BYTES: refused before anything is read;
 *   - a start tag over ISO_MAX_XML_TAG_BYTES: refused by a scan of the raw bytes before the
 *     parser runs, because libxml2 2.9 compares the attributes of one tag pairwise — 80,000
 *     attributes in 800 KB take it 20 s — before any callback could stop it;
 *   - a DOCTYPE: refused at the callback that announces it, before its internal subset (the
 *     entities of billion-laughs, XXE and quadratic-blowup documents) is read; entities are never
 *     substituted (no XML_PARSE_NOENT) and no DTD is loaded (no DTDLOAD, XML_PARSE_NONET);
 *   - depth, node count and attribute value length: counted in the element callbacks;
 *   - processing instructions and XInclude elements: refused (nothing here would act on them;
 *     refusing says so instead of ignoring what the sender meant).
 *
 * Problem codes (path "": the document as a whole):
 *   XML_SYNTAX    not well-formed, or not namespace-well-formed (text has line and column)
 *   XML_DTD       the document has a DOCTYPE
 *   XML_LIMIT     too deep, too many nodes, an attribute value or a start tag too long
 *   XML_PI        a processing instruction
 *   XML_XINCLUDE  an XInclude element
 *   TOO_LARGE     more than ISO_MAX_XML_BYTES
 * and, from iso_xml_parts (path: the offending element):
 *   UNSUPPORTED_MESSAGE  the root is not an ISO 20022 Document or an envelope holding one
 *   ENVELOPE             the envelope holds something besides one AppHdr and one Document
 */
#include "iso_int.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define XINCLUDE_NS "http://www.w3.org/2001/XInclude"
#define XINCLUDE_NS_OLD "http://www.w3.org/2003/XInclude"
#define MAX_PATH_DEPTH (ISO_MAX_XML_DEPTH + 2)
#define INDEX_TEXT_SIZE 16

/* ---- the raw-byte scan --------------------------------------------------------------------- */

/* Where s[i..] ends the construct opened at i (the index after `close`), or len if it never does.
 */
static size_t
skip_past(const char *s, size_t len, size_t i, const char *close)
{
    size_t n = strlen(close);

    for (; i + n <= len; i++)
        if (memcmp(s + i, close, n) == 0)
            return i + n;
    return len;
}

/* From '<' at i: the end of a start or end tag, honouring quoted attribute values. */
static size_t
tag_end(const char *s, size_t len, size_t i)
{
    char quote = 0;

    for (i++; i < len; i++) {
        if (quote != 0 && s[i] == quote)
            quote = 0;
        else if (quote == 0 && (s[i] == '"' || s[i] == '\''))
            quote = s[i];
        else if (quote == 0 && s[i] == '>')
            return i + 1;
    }
    return len;
}

/*
 * 1 when no start tag is longer than ISO_MAX_XML_TAG_BYTES. Comments, CDATA sections and
 * processing instructions are stepped over; a DOCTYPE ends the scan (the parser refuses it).
 * Malformed input is left to the parser: the scan only has to be right for well-formed XML.
 */
static int
tags_short(const char *s, size_t len)
{
    size_t i = 0, end;

    while (i < len) {
        const char *lt = memchr(s + i, '<', len - i);
        if (lt == NULL)
            return 1;
        i = (size_t)(lt - s);
        if (len - i >= 4 && memcmp(s + i, "<!--", 4) == 0)
            i = skip_past(s, len, i + 4, "-->");
        else if (len - i >= 9 && memcmp(s + i, "<![CDATA[", 9) == 0)
            i = skip_past(s, len, i + 9, "]]>");
        else if (len - i >= 2 && s[i + 1] == '?')
            i = skip_past(s, len, i + 2, "?>");
        else if (len - i >= 2 && s[i + 1] == '!')
            return 1;
        else {
            end = tag_end(s, len, i);
            if (end - i > ISO_MAX_XML_TAG_BYTES)
                return 0;
            i = end;
        }
    }
    return 1;
}

/* ---- the parser ---------------------------------------------------------------------------- */

/*
 * What the parser callbacks found. They reach it through the parser context's _private, as
 * libxml2 passes the context itself as userData.
 */
struct parse_state {
    iso_problems *pr;
    int refused; /* ISO_ERR_SYNTAX already reported: DTD, PI, XInclude or a limit */
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

    if (!st->refused)
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

    if (st->refused)
        return 0;
    if (++st->nodes <= ISO_MAX_XML_NODES)
        return 1;
    refuse(pc, "XML_LIMIT", "too many nodes");
    return 0;
}

/* SAX2 hands attributes as (localname, prefix, URI, value, end) and namespaces as pairs. */
static int
values_short(const xmlChar **ns, int n_ns, const xmlChar **attrs, int n_attrs)
{
    for (int i = 0; i < n_attrs; i++)
        if (attrs[i * 5 + 4] - attrs[i * 5 + 3] > ISO_MAX_XML_ATTR_LEN)
            return 0;
    for (int i = 0; i < n_ns; i++)
        if (ns[i * 2 + 1] != NULL && xmlStrlen(ns[i * 2 + 1]) > ISO_MAX_XML_ATTR_LEN)
            return 0;
    return 1;
}

static int
is_xinclude(const xmlChar *uri)
{
    return uri != NULL &&
           (xmlStrEqual(uri, BAD_CAST XINCLUDE_NS) || xmlStrEqual(uri, BAD_CAST XINCLUDE_NS_OLD));
}

static void
on_start(void *arg, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri, int n_ns,
         const xmlChar **ns, int n_attrs, int n_defaulted, const xmlChar **attrs)
{
    xmlParserCtxtPtr pc = arg;
    struct parse_state *st = pc->_private;

    if (!count_node(pc))
        return;
    if (++st->depth > ISO_MAX_XML_DEPTH)
        refuse(pc, "XML_LIMIT", "elements nested too deep");
    else if (!values_short(ns, n_ns, attrs, n_attrs))
        refuse(pc, "XML_LIMIT", "an attribute value is too long");
    else if (is_xinclude(uri))
        refuse(pc, "XML_XINCLUDE", "XInclude is refused");
    else
        xmlSAX2StartElementNs(arg, name, prefix, uri, n_ns, ns, n_attrs, n_defaulted, attrs);
}

static void
on_end(void *arg, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri)
{
    xmlParserCtxtPtr pc = arg;
    struct parse_state *st = pc->_private;

    if (st->refused)
        return;
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
    (void)target;
    (void)data;
    refuse(arg, "XML_PI", "processing instructions are refused");
}

static void
hook(xmlParserCtxtPtr pc, struct parse_state *st)
{
    pc->_private = st;
    pc->sax->serror = collect_parse_error;
    pc->sax->internalSubset = on_doctype;
    pc->sax->externalSubset = on_doctype;
    pc->sax->startElementNs = on_start;
    pc->sax->endElementNs = on_end;
    pc->sax->comment = on_comment;
    pc->sax->processingInstruction = on_pi;
}

/* Checks that need no parser: size, emptiness, start-tag length. */
static int
precheck(const char *xml, size_t len, iso_problems *pr)
{
    if (len > ISO_MAX_XML_BYTES) {
        iso_problems_add(pr, "", "TOO_LARGE", "the document is over %d bytes", ISO_MAX_XML_BYTES);
        return ISO_ERR_TOOLARGE;
    }
    if (len == 0) {
        iso_problems_add(pr, "", "XML_SYNTAX", "the document is empty");
        return ISO_ERR_SYNTAX;
    }
    if (!tags_short(xml, len)) {
        iso_problems_add(pr, "", "XML_LIMIT", "a start tag is over %d bytes",
                         ISO_MAX_XML_TAG_BYTES);
        return ISO_ERR_SYNTAX;
    }
    return ISO_OK;
}

int
iso_xml_parse(const char *xml, size_t len, xmlDocPtr *doc, iso_problems *pr)
{
    struct parse_state st = {.pr = pr};
    size_t before = pr->n + pr->dropped;
    xmlParserCtxtPtr pc;
    int rc, ok;

    *doc = NULL;
    if ((rc = precheck(xml, len, pr)) != ISO_OK)
        return rc;
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

/* ---- navigation ---------------------------------------------------------------------------- */

static int
same_ns(const xmlNode *a, const xmlNode *b)
{
    if (a->ns == NULL || b->ns == NULL)
        return a->ns == b->ns;
    return xmlStrEqual(a->ns->href, b->ns->href);
}

static int
same_name(const xmlNode *a, const xmlNode *b)
{
    return a->type == XML_ELEMENT_NODE && xmlStrEqual(a->name, b->name) && same_ns(a, b);
}

int
iso_xml_is(const xmlNode *n, const char *ns, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
           strcmp((const char *)n->ns->href, ns) == 0 && strcmp((const char *)n->name, name) == 0;
}

static int
named(const xmlNode *n, const xmlNode *parent, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0 &&
           same_ns(n, parent);
}

xmlNodePtr
iso_xml_child(const xmlNode *parent, const char *name)
{
    if (parent == NULL)
        return NULL;
    for (xmlNodePtr c = parent->children; c != NULL; c = c->next)
        if (named(c, parent, name))
            return c;
    return NULL;
}

xmlNodePtr
iso_xml_next_same(const xmlNode *n)
{
    for (xmlNodePtr c = n->next; c != NULL; c = c->next)
        if (same_name(c, n))
            return c;
    return NULL;
}

xmlNodePtr
iso_xml_at(const xmlNode *base, const char *path)
{
    char step[64];
    const xmlNode *n = base;

    while (n != NULL && *path != '\0') {
        size_t len = strcspn(path, "/");
        if (len >= sizeof(step))
            return NULL;
        memcpy(step, path, len);
        step[len] = '\0';
        n = iso_xml_child(n, step);
        path += len + (path[len] == '/');
    }
    return (xmlNodePtr)n;
}

size_t
iso_xml_count(const xmlNode *parent, const char *name)
{
    size_t n = 0;

    for (xmlNodePtr c = parent ? parent->children : NULL; c != NULL; c = c->next)
        n += named(c, parent, name);
    return n;
}

/* Plain copies, no formatting: the rules walk calls this for every leaf of every message. */
char *
iso_xml_text(const xmlNode *n, char *buf, size_t size)
{
    size_t len = 0, k;

    for (xmlNodePtr c = n ? n->children : NULL; c != NULL && len + 1 < size; c = c->next) {
        if ((c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) || c->content == NULL)
            continue;
        k = strnlen((const char *)c->content, size - 1 - len);
        memcpy(buf + len, c->content, k);
        len += k;
    }
    buf[len] = '\0';
    return buf;
}

void
iso_copy_text(char *dst, size_t size, const char *src)
{
    size_t len = strlen(src);

    if (len >= size) {
        len = size - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
            len--; /* src[len] would start the cut: drop the whole sequence */
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static int
is_xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

char *
iso_xml_token(const xmlNode *n, char *buf, size_t size)
{
    size_t start = 0, len;

    iso_xml_text(n, buf, size);
    len = strlen(buf);
    while (len > 0 && is_xml_space(buf[len - 1]))
        buf[--len] = '\0';
    while (is_xml_space(buf[start]))
        start++;
    memmove(buf, buf + start, len - start + 1);
    return buf;
}

/* ---- paths --------------------------------------------------------------------------------- */

/* "[k]" when n has same-named element siblings (k counts from 1), else "". */
static void
sibling_index(const xmlNode *n, char out[INDEX_TEXT_SIZE])
{
    size_t pos = 0, total = 0;

    out[0] = '\0';
    if (n->parent == NULL || n->parent->type != XML_ELEMENT_NODE)
        return;
    for (const xmlNode *c = n->parent->children; c != NULL; c = c->next) {
        if (!same_name(c, n))
            continue;
        total++;
        if (c == n)
            pos = total;
    }
    if (total > 1)
        snprintf(out, INDEX_TEXT_SIZE, "[%zu]", pos);
}

void
iso_xml_path(const xmlNode *node, char *out, size_t size)
{
    const xmlNode *chain[MAX_PATH_DEPTH];
    size_t depth = 0, len = 0;
    const xmlNode *n = node;
    char index[INDEX_TEXT_SIZE];

    out[0] = '\0';
    if (node != NULL && node->type != XML_ELEMENT_NODE)
        n = node->parent; /* an attribute or text: its element */
    for (; n != NULL && n->type == XML_ELEMENT_NODE && depth < MAX_PATH_DEPTH; n = n->parent)
        chain[depth++] = n;
    while (depth > 0 && len < size) {
        n = chain[--depth];
        sibling_index(n, index);
        len += (size_t)snprintf(out + len, size - len, "/%s%s", (const char *)n->name, index);
    }
    if (node != NULL && node->type == XML_ATTRIBUTE_NODE && len < size)
        snprintf(out + len, size - len, "/@%s", (const char *)node->name);
}

void
iso_problem_at(iso_problems *pr, const xmlNode *node, const char *code, const char *fmt, ...)
{
    char path[sizeof(((iso_problem *)0)->path) + 1], text[sizeof(((iso_problem *)0)->text)];
    va_list ap;

    iso_xml_path(node, path, sizeof(path));
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    iso_problems_add(pr, path, code, "%s", text);
}

/* ---- message parts ------------------------------------------------------------------------- */

/* The message name of an ISO 20022 Document ("pacs.002.001.10"), or NULL. */
static const char *
document_name(const xmlNode *n)
{
    size_t plen = strlen(ISO_NS_PREFIX);

    if (n == NULL || n->type != XML_ELEMENT_NODE || n->ns == NULL ||
        strcmp((const char *)n->name, "Document") != 0 ||
        strncmp((const char *)n->ns->href, ISO_NS_PREFIX, plen) != 0)
        return NULL;
    return (const char *)n->ns->href + plen;
}

static int
is_wrapper(const xmlNode *n)
{
    return iso_xml_is(n, ISO_NS_ENVELOPE, "Envelope") ||
           (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, "RequestPayload") == 0);
}

static int
is_header(const xmlNode *n)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, "AppHdr") == 0;
}

/* One child of a wrapper, in order: AppHdr (head.001.001.02 only), then Document. */
static int
wrapper_child(xmlNodePtr c, struct iso_parts *parts, iso_problems *pr)
{
    if (is_header(c) && parts->hdr == NULL && parts->doc == NULL) {
        if (!iso_xml_is(c, ISO_NS_HEAD001, "AppHdr")) {
            iso_problem_at(pr, c, "UNSUPPORTED_MESSAGE", "the AppHdr must be head.001.001.02");
            return 0;
        }
        parts->hdr = c;
        return 1;
    }
    if (document_name(c) != NULL && parts->doc == NULL) {
        parts->doc = c;
        parts->name = document_name(c);
        return 1;
    }
    iso_problem_at(pr, c, "ENVELOPE", "an envelope holds an AppHdr, then one Document");
    return 0;
}

static int
unwrap(xmlNodePtr env, struct iso_parts *parts, iso_problems *pr)
{
    int ok = 1;

    for (xmlNodePtr c = env->children; c != NULL; c = c->next) {
        if (c->type == XML_COMMENT_NODE || (c->type == XML_TEXT_NODE && xmlIsBlankNode(c)))
            continue;
        ok &= wrapper_child(c, parts, pr);
    }
    if (ok && parts->doc == NULL) {
        iso_problem_at(pr, env, "UNSUPPORTED_MESSAGE", "the envelope holds no ISO 20022 Document");
        ok = 0;
    }
    return ok ? ISO_OK : ISO_ERR_INVALID;
}

int
iso_xml_parts(xmlDocPtr doc, struct iso_parts *parts, iso_problems *pr)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);

    memset(parts, 0, sizeof(*parts));
    parts->root = root;
    if (root != NULL && is_wrapper(root))
        return unwrap(root, parts, pr);
    if (root != NULL && document_name(root) != NULL) {
        parts->doc = root;
        parts->name = document_name(root);
        return ISO_OK;
    }
    iso_problem_at(pr, root, "UNSUPPORTED_MESSAGE",
                   "not an ISO 20022 Document, nor an Envelope holding an AppHdr and a Document");
    return ISO_ERR_INVALID;
}
