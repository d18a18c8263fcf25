/*
 * envelope.c — a message in the form Corridor stores and serves (DESIGN.md "Messages are stored
 * and served as an envelope"): <Envelope xmlns="urn:swift:xsd:envelope"> holding the AppHdr, if
 * there is one, and the Document. A SWIFT Envelope comes back byte for byte; a bare Document or
 * another wrapper (RequestPayload) is re-wrapped, its parts copied with their namespaces.
 * The input goes through the same hostile-input parser as every reader (xml.c).
 */
#include "iso_int.h"

#include <stdlib.h>
#include <string.h>

/* Copy a part into the new envelope; namespaces declared above it in the source (on a wrapper)
 * are declared again on the copy. */
static int
copy_part(xmlDocPtr doc, xmlNodePtr env, xmlNodePtr part)
{
    xmlNodePtr copy;

    if (part == NULL)
        return ISO_OK;
    if ((copy = xmlDocCopyNode(part, doc, 1)) == NULL)
        return ISO_ERR_NOMEM;
    if (xmlAddChild(env, copy) == NULL) {
        xmlFreeNode(copy);
        return ISO_ERR_NOMEM;
    }
    return xmlReconciliateNs(doc, copy) < 0 ? ISO_ERR_NOMEM : ISO_OK;
}

static int
wrap(const struct iso_parts *parts, char **out, size_t *out_len)
{
    xmlNodePtr env;
    xmlDocPtr doc = iso_envelope_doc(&env);
    int rc;

    if (doc == NULL)
        return ISO_ERR_NOMEM;
    rc = copy_part(doc, env, parts->hdr);
    if (rc == ISO_OK)
        rc = copy_part(doc, env, parts->doc);
    if (rc == ISO_OK)
        rc = iso_dump(doc, out, out_len);
    xmlFreeDoc(doc);
    return rc;
}

static int
copy_bytes(const char *xml, size_t len, char **out, size_t *out_len)
{
    if ((*out = malloc(len + 1)) == NULL)
        return ISO_ERR_NOMEM;
    memcpy(*out, xml, len);
    (*out)[len] = '\0';
    *out_len = len;
    return ISO_OK;
}

/* Returns ISO_OK, ISO_ERR_SYNTAX, ISO_ERR_TOOLARGE, ISO_ERR_INVALID (no ISO 20022 Document, or
 * a wrapper holding something else) or ISO_ERR_NOMEM. *out is NUL-terminated. */
int
iso_envelope(const char *xml, size_t len, char **out, size_t *out_len)
{
    iso_problems pr; /* the signature has no room for them: the return code says enough */
    struct iso_parts parts;
    xmlDocPtr doc;
    int rc;

    *out = NULL;
    *out_len = 0;
    iso_problems_init(&pr);
    if ((rc = iso_xml_parse(xml, len, &doc, &pr)) != ISO_OK)
        return rc;
    rc = iso_xml_parts(doc, &parts, &pr);
    if (rc == ISO_OK && iso_xml_is(parts.root, ISO_NS_ENVELOPE, "Envelope"))
        rc = copy_bytes(xml, len, out, out_len);
    else if (rc == ISO_OK)
        rc = wrap(&parts, out, out_len);
    xmlFreeDoc(doc);
    return rc;
}
