/*
 * build.c — what the builders of outgoing messages (pacs008.c, pain002.c, camt056.c) share:
 * elements through the libxml2 tree API (which escapes user text), the SWIFT-style envelope,
 * the head.001.001.02 AppHdr, and the last step — profile, cross-field rules, serialization.
 */
#include "iso_int.h"

#include <libxml/tree.h>
#include <stdio.h>
#include <string.h>

#define BIZ_SVC "swift.cbprplus.02"
#define AMOUNT_TEXT_SIZE 32

xmlNodePtr
iso_el(struct iso_builder *b, xmlNodePtr parent, const char *name, const char *text)
{
    xmlNodePtr n = NULL;

    if (parent != NULL)
        n = xmlNewTextChild(parent, b->ns, BAD_CAST name, text ? BAD_CAST text : NULL);
    if (n == NULL)
        b->failed = 1;
    return n;
}

void
iso_opt(struct iso_builder *b, xmlNodePtr parent, const char *name, const char *text)
{
    if (text[0] != '\0')
        iso_el(b, parent, name, text);
}

/* An exponent outside 0..5 leaves the text empty: the profile then names the element. */
void
iso_amount_el(struct iso_builder *b, xmlNodePtr parent, const char *name, int64_t minor,
              int exponent, const char *ccy)
{
    char text[AMOUNT_TEXT_SIZE] = "";
    xmlNodePtr n;

    iso_amount_format(minor, exponent, text, sizeof(text));
    n = iso_el(b, parent, name, text);
    if (n != NULL && xmlNewProp(n, BAD_CAST "Ccy", BAD_CAST ccy) == NULL)
        b->failed = 1;
}

void
iso_agent_el(struct iso_builder *b, xmlNodePtr parent, const char *name, const char *bic)
{
    iso_el(b, iso_el(b, iso_el(b, parent, name, NULL), "FinInstnId", NULL), "BICFI", bic);
}

xmlDocPtr
iso_envelope_doc(xmlNodePtr *env)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = doc ? xmlNewDocNode(doc, NULL, BAD_CAST "Envelope", NULL) : NULL;
    xmlNsPtr ns = root ? xmlNewNs(root, BAD_CAST ISO_NS_ENVELOPE, NULL) : NULL;

    if (ns == NULL) {
        xmlFreeNode(root);
        xmlFreeDoc(doc);
        return NULL;
    }
    xmlSetNs(root, ns);
    xmlDocSetRootElement(doc, root);
    *env = root;
    return doc;
}

/* The prefix is the one the CBPR+ samples use ("head", "pacs", ...). */
xmlNodePtr
iso_part(struct iso_builder *b, xmlDocPtr doc, xmlNodePtr env, const char *name, const char *href,
         const char *prefix)
{
    xmlNodePtr n = NULL;

    if (env != NULL)
        n = xmlNewChild(env, NULL, BAD_CAST name, NULL);
    else if (doc != NULL && (n = xmlNewDocNode(doc, NULL, BAD_CAST name, NULL)) != NULL)
        xmlDocSetRootElement(doc, n);
    b->ns = n ? xmlNewNs(n, BAD_CAST href, BAD_CAST prefix) : NULL;
    if (b->ns == NULL) {
        b->failed = 1;
        return NULL;
    }
    xmlSetNs(n, b->ns);
    return n;
}

static void
header_party(struct iso_builder *b, xmlNodePtr hdr, const char *name, const char *bic)
{
    xmlNodePtr fi = iso_el(b, iso_el(b, hdr, name, NULL), "FIId", NULL);

    iso_el(b, iso_el(b, fi, "FinInstnId", NULL), "BICFI", bic);
}

xmlNodePtr
iso_header(struct iso_builder *b, xmlDocPtr doc, xmlNodePtr env, const char *fr, const char *to,
           const char *msg_id, const char *msg_def, time_t created)
{
    char when[ISO_TIME_TEXT_SIZE];
    xmlNodePtr hdr = iso_part(b, doc, env, "AppHdr", ISO_NS_HEAD001, "head");

    iso_datetime(created, when);
    header_party(b, hdr, "Fr", fr);
    header_party(b, hdr, "To", to);
    iso_el(b, hdr, "BizMsgIdr", msg_id);
    iso_el(b, hdr, "MsgDefIdr", msg_def);
    iso_el(b, hdr, "BizSvc", BIZ_SVC);
    iso_el(b, hdr, "CreDt", when);
    return hdr;
}

int
iso_dump(xmlDocPtr doc, char **out, size_t *out_len)
{
    xmlChar *buf = NULL;
    int size = 0;

    xmlDocDumpMemoryEnc(doc, &buf, &size, "UTF-8");
    if (buf == NULL)
        return ISO_ERR_NOMEM;
    *out = (char *)buf;
    *out_len = (size_t)size;
    return ISO_OK;
}

/* Profiles first; the rules only run on a message that fits its profile, whose shape they
 * can then rely on. */
static int
check_built(const iso_ctx *ctx, xmlDocPtr doc, enum iso_schema_id doc_id, unsigned flags,
            time_t created, iso_problems *pr)
{
    size_t before = pr->n + pr->dropped;
    struct iso_parts parts;
    int rc = iso_xml_parts(doc, &parts, pr);

    if (rc == ISO_OK)
        rc = iso_validate_parts(ctx, &parts, ISO_SCHEMA_HEAD001, doc_id, pr);
    if (rc != ISO_OK)
        return rc;
    iso_rules_walk(pr, parts.doc, flags, iso_days_of(created));
    iso_rules_header(pr, &parts);
    return pr->n + pr->dropped == before ? ISO_OK : ISO_ERR_INVALID;
}

int
iso_finish(const iso_ctx *ctx, xmlDocPtr doc, enum iso_schema_id doc_id, unsigned flags,
           time_t created, char **xml, size_t *xml_len, iso_problems *pr)
{
    int rc = check_built(ctx, doc, doc_id, flags, created, pr);

    if (rc == ISO_OK)
        rc = iso_dump(doc, xml, xml_len);
    return rc;
}
