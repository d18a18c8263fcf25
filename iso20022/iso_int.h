/*
 * iso_int.h — helpers shared inside iso20022/ (not part of the public contract).
 */
#ifndef CORRIDOR_ISO_INT_H
#define CORRIDOR_ISO_INT_H

#include "iso20022.h"

#include <libxml/tree.h>
#include <libxml/xmlschemas.h>
#include <libxslt/xsltInternals.h>
#include <libxslt/security.h>

/* Why an amount string was refused (iso_amount_check); 0 = accepted. */
enum iso_amount_verdict {
    ISO_AMOUNT_OK = 0,
    ISO_AMOUNT_MALFORMED, /* not digits[.digits], sign, exponent, spaces, leading zero */
    ISO_AMOUNT_ZERO,      /* not greater than zero */
    ISO_AMOUNT_PRECISION, /* more fraction digits than the currency's exponent */
    ISO_AMOUNT_TOO_LARGE, /* more than ISO_MAX_AMOUNT_DIGITS digits at the currency's exponent */
};

/*
 * The strict amount reader behind iso_amount_parse, telling why it refused. With exponent < 0
 * (currency unknown) only the syntax, zero and the digit count as written are checked and
 * *minor is left alone.
 */
enum iso_amount_verdict iso_amount_check(const char *s, int exponent, int64_t *minor);

/*
 * The CBPR+ restricted character set: ASCII letters and digits plus these. The profile schemas
 * (schemas/, "RestrictedText") spell the same set as an XSD pattern.
 */
#define ISO_CHARSET_EXTRA " .,-()/='+:?!\"%&*<>;@#_{}"
/*
 * The SWIFT FIN-X set, which CBPR+ demands for references (MsgId, InstrId, EndToEndId, TxId):
 * ASCII letters and digits plus these. The profiles spell it as "RestrictedFINX".
 */
#define ISO_CHARSET_FINX_EXTRA " /-?:().,'+"

enum iso_charset {
    ISO_CHARSET_CBPR, /* names, addresses, remittance text */
    ISO_CHARSET_FINX, /* references */
};

/* 1 when every character is in the CBPR+ restricted character set. */
int iso_text_charset_ok(const char *s);
/* 1 when every character is in the FIN-X set. */
int iso_text_finx_ok(const char *s);
/* Characters (code points) of a valid UTF-8 string. */
size_t iso_utf8_chars(const char *s);

/* "YYYY-MM-DD", a real Gregorian date → days since 1970-01-01. Returns 1, or 0 if invalid. */
int iso_date_parse(const char *s, int64_t *days);
/* The UTC day of a time_t, as days since 1970-01-01. */
int64_t iso_days_of(time_t t);
/* t as an ISO 8601 UTC date-time with an explicit offset ("2026-11-21T11:45:30+00:00"). */
#define ISO_TIME_TEXT_SIZE 32
void iso_datetime(time_t t, char buf[ISO_TIME_TEXT_SIZE]);

/* 1 when two BICs name the same party: equal once a BIC8 is read as its BIC11 "XXX". */
int iso_bic_same_party(const char *a, const char *b);

/* ---- leaf rules shared by the readers (check.c) -------------------------------------------
 * Each checks one value, adds its problems at `path` (a JSON pointer or an XPath) with the codes
 * listed in json_in.c, and returns 1 when the value is good. The JSON reader and the pain.001
 * reader both go through these, so a rule is written once.
 */
int iso_check_text(iso_problems *pr, const char *path, const char *s, size_t max,
                   enum iso_charset cs);
int iso_check_instruction_id(iso_problems *pr, const char *path, const char *s, size_t max);
int iso_check_uetr(iso_problems *pr, const char *path, const char *s);
int iso_check_iban(iso_problems *pr, const char *path, const char *s);
int iso_check_bic(iso_problems *pr, const char *path, const char *s);
int iso_check_country(iso_problems *pr, const char *path, const char *s);
int iso_check_charge_bearer(iso_problems *pr, const char *path, const char *s);
int iso_check_purpose(iso_problems *pr, const char *path, const char *s);
int iso_check_currency(iso_problems *pr, const char *path, const char *s);
/* exponent < 0: the currency is not usable; only what can be said without it is checked. */
int iso_check_amount(iso_problems *pr, const char *path, const char *s, int exponent,
                     int64_t *minor);
/* today .. today + ISO_MAX_EXECUTION_DAYS; before today is `past_code`, after is
 * DATE_OUT_OF_RANGE (the JSON reader passes DATE_OUT_OF_RANGE for both). */
int iso_check_date(iso_problems *pr, const char *path, const char *s, int64_t today,
                   const char *past_code);

/* ---- reading XML from outside (xml.c) ------------------------------------------------------ */

/*
 * Parse a document that came from outside: XML_PARSE_NONET only (never NOENT, DTDLOAD or HUGE),
 * with every limit checked before or while parsing — ISO_MAX_XML_BYTES, ISO_MAX_XML_TAG_BYTES,
 * ISO_MAX_XML_DEPTH, ISO_MAX_XML_NODES, ISO_MAX_XML_ATTR_LEN — and DTDs, processing
 * instructions and XInclude elements refused. Errors go to pr through the parser context's own
 * structured handler. Returns ISO_OK (*doc is the caller's), ISO_ERR_SYNTAX, ISO_ERR_TOOLARGE
 * or ISO_ERR_NOMEM.
 */
int iso_xml_parse(const char *xml, size_t len, xmlDocPtr *doc, iso_problems *pr);

/* The XPath of a node with local names ("/Document/CstmrCdtTrfInitn/PmtInf[2]/..."); an index
 * only where same-named siblings exist; attributes end in "/@name". "" for NULL. */
void iso_xml_path(const xmlNode *node, char *out, size_t size);
/* A problem at a node's XPath. */
void iso_problem_at(iso_problems *pr, const xmlNode *node, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The first child element of parent with this local name in parent's namespace, or NULL. */
xmlNodePtr iso_xml_child(const xmlNode *parent, const char *name);
/* The next sibling element after n with the same name and namespace, or NULL. */
xmlNodePtr iso_xml_next_same(const xmlNode *n);
/* Follow "A/B/C" (local names, each in the namespace of its parent) from base; NULL if absent. */
xmlNodePtr iso_xml_at(const xmlNode *base, const char *path);
/* Child elements of parent with this local name. */
size_t iso_xml_count(const xmlNode *parent, const char *name);
/* The text of an element (its text children), cut to size; "" for NULL. Returns buf. */
char *iso_xml_text(const xmlNode *n, char *buf, size_t size);
/* The same without leading and trailing XML white space (dates, amounts, codes). */
char *iso_xml_token(const xmlNode *n, char *buf, size_t size);
/* src cut to fit size (with its NUL) without splitting a UTF-8 sequence. */
void iso_copy_text(char *dst, size_t size, const char *src);
/* 1 when n is an element with this namespace and local name. */
int iso_xml_is(const xmlNode *n, const char *ns, const char *name);

/* Where a message's parts sit in a parsed document. */
struct iso_parts {
    xmlNodePtr root;  /* the document element */
    xmlNodePtr hdr;   /* the head.001.001.02 AppHdr, or NULL */
    xmlNodePtr doc;   /* the ISO 20022 Document */
    const char *name; /* the Document's message, e.g. "pacs.002.001.10" (points into its ns) */
};
/*
 * Find AppHdr and Document: a bare Document, or a wrapper (SWIFT Envelope, or RequestPayload)
 * holding an optional AppHdr then a Document. Problems: UNSUPPORTED_MESSAGE (no ISO 20022
 * Document, another header version) and ENVELOPE (the wrapper holds something else).
 * Returns ISO_OK or ISO_ERR_INVALID.
 */
int iso_xml_parts(xmlDocPtr doc, struct iso_parts *parts, iso_problems *pr);

#define ISO_NS_PREFIX "urn:iso:std:iso:20022:tech:xsd:"
#define ISO_NS_ENVELOPE "urn:swift:xsd:envelope"
#define ISO_NS_HEAD001 ISO_NS_PREFIX "head.001.001.02"
#define ISO_NS_PACS008 ISO_NS_PREFIX "pacs.008.001.08"
#define ISO_NS_PACS002 ISO_NS_PREFIX "pacs.002.001.10"
#define ISO_NS_PACS004 ISO_NS_PREFIX "pacs.004.001.09"
#define ISO_NS_CAMT029 ISO_NS_PREFIX "camt.029.001.09"
#define ISO_NS_CAMT056 ISO_NS_PREFIX "camt.056.001.08"
#define ISO_NS_PAIN001_09 ISO_NS_PREFIX "pain.001.001.09"
#define ISO_NS_PAIN001_03 ISO_NS_PREFIX "pain.001.001.03"
#define ISO_NS_PAIN002 ISO_NS_PREFIX "pain.002.001.10"

/* ---- schemas (schema.c) -------------------------------------------------------------------- */

/* The profile schemas (schemas/), embedded by CMake (embed.cmake) as byte arrays. */
enum iso_schema_id {
    ISO_SCHEMA_PACS008,
    ISO_SCHEMA_HEAD001,    /* the header of messages Corridor emits */
    ISO_SCHEMA_HEAD001_IN, /* the header of messages Corridor receives */
    ISO_SCHEMA_PAIN001_09,
    ISO_SCHEMA_PAIN001_03,
    ISO_SCHEMA_PAIN002,
    ISO_SCHEMA_CAMT056,
    ISO_SCHEMA_PACS002,
    ISO_SCHEMA_PACS004,
    ISO_SCHEMA_CAMT029,
    ISO_SCHEMA_COUNT,
};

#define ISO_EMBED(sym)                                                                             \
    extern const unsigned char sym[];                                                              \
    extern const size_t sym##_len
ISO_EMBED(iso_xsd_pacs008);
ISO_EMBED(iso_xsd_head001);
ISO_EMBED(iso_xsd_head001in);
ISO_EMBED(iso_xsd_pain00109);
ISO_EMBED(iso_xsd_pain00103);
ISO_EMBED(iso_xsd_pain002);
ISO_EMBED(iso_xsd_camt056);
ISO_EMBED(iso_xsd_pacs002);
ISO_EMBED(iso_xsd_pacs004);
ISO_EMBED(iso_xsd_camt029);
ISO_EMBED(iso_xsl_pain00109);
ISO_EMBED(iso_xsl_pain00103);

/* The stylesheets (xslt/), embedded the same way. */
enum iso_xslt_id {
    ISO_XSLT_PAIN001_09,
    ISO_XSLT_PAIN001_03,
    ISO_XSLT_COUNT,
};

/* Compiled once by iso_ctx_new, then read-only. */
struct iso_ctx {
    xmlSchemaPtr schemas[ISO_SCHEMA_COUNT];
    xsltStylesheetPtr xslt[ISO_XSLT_COUNT];
    xsltSecurityPrefsPtr xslt_security; /* no file, no network, no directories */
};

/* The profile for a Document in namespace ns (ISO_SCHEMA_COUNT if none), and whether Corridor
 * receives that message (its AppHdr is then checked against the inbound header profile). */
enum iso_schema_id iso_schema_for(const char *ns, int *inbound);

/* Two outcomes as one: out of memory wins, then the first failure. */
static inline int
iso_rc_merge(int a, int b)
{
    if (a == ISO_ERR_NOMEM || b == ISO_ERR_NOMEM)
        return ISO_ERR_NOMEM;
    return a != ISO_OK ? a : b;
}

/*
 * Validate one element (and its subtree) of a document in memory against a profile schema,
 * problems (code "SCHEMA", XPath of the node) added to pr. Thread-safe for a shared ctx.
 * Returns ISO_OK, ISO_ERR_INVALID or ISO_ERR_NOMEM.
 */
int iso_validate_element(const iso_ctx *ctx, enum iso_schema_id id, xmlNodePtr elem,
                         iso_problems *pr);
/* AppHdr (if any, against the header profile `hdr_id`) and Document (against `doc_id`). */
int iso_validate_parts(const iso_ctx *ctx, const struct iso_parts *parts, enum iso_schema_id hdr_id,
                       enum iso_schema_id doc_id, iso_problems *pr);

/* ---- XSLT (xslt.c) ------------------------------------------------------------------------- */

/* Compile the embedded stylesheets and the security preferences into ctx. */
int iso_xslt_init(struct iso_ctx *ctx);
void iso_xslt_cleanup(struct iso_ctx *ctx);
/* Compile a stylesheet held in memory (trusted: Corridor's own). ISO_OK, ISO_ERR_SCHEMA, NOMEM. */
int iso_xslt_compile(const char *bytes, size_t len, xsltStylesheetPtr *out);
/*
 * Run a compiled stylesheet over src with string parameters (name, value, ..., NULL: values
 * are taken literally, never as XPath) under ctx's security preferences; errors are collected
 * per call (code TRANSLATION). Returns ISO_OK (*out is the caller's) or ISO_ERR_INTERNAL.
 */
int iso_xslt_run(const iso_ctx *ctx, xsltStylesheetPtr style, xmlDocPtr src, const char **params,
                 xmlDocPtr *out, iso_problems *pr);

/* ---- cross-field rules (xml_rules.c) ------------------------------------------------------- */

enum iso_rule_flags {
    ISO_RULE_CHARSET = 1 << 0,    /* CHARSET: CBPR+ set; FIN-X for references */
    ISO_RULE_AMOUNTS = 1 << 1,    /* CURRENCY_*, AMOUNT_PRECISION, AMOUNT_TOO_LARGE */
    ISO_RULE_REMITTANCE = 1 << 2, /* REMITTANCE_BOTH */
    ISO_RULE_SLASH = 1 << 3,      /* SLASH on InstrId */
    ISO_RULE_CHARGES = 1 << 4,    /* CHARGES_REQUIRED, CHARGES_DEBT_ONE */
    ISO_RULE_DATE = 1 << 5,       /* DATE_PAST on IntrBkSttlmDt */
};
/* What Corridor checks on every pacs.008 it emits (JSON or pain.001), besides the profile. */
#define ISO_RULES_PACS008                                                                          \
    (ISO_RULE_CHARSET | ISO_RULE_AMOUNTS | ISO_RULE_REMITTANCE | ISO_RULE_SLASH |                  \
     ISO_RULE_CHARGES | ISO_RULE_DATE)
/* The rules of `flags` over a subtree, problems in document order. today: days since 1970. */
void iso_rules_walk(iso_problems *pr, const xmlNode *root, unsigned flags, int64_t today);
/* HEADER_FROM_MISMATCH / HEADER_TO_MISMATCH / HEADER_MSG_MISMATCH: the AppHdr against the
 * Document's own agents (InstgAgt / InstdAgt, or Assgnr / Assgne) and message name. */
void iso_rules_header(iso_problems *pr, const struct iso_parts *parts);
/* The BICFI of a message's sending and receiving agent in its Document (NULL if absent). */
xmlNodePtr iso_doc_from_agent(const struct iso_parts *parts);
xmlNodePtr iso_doc_to_agent(const struct iso_parts *parts);
/* The BICFI of AppHdr Fr / To (NULL if absent or not a financial institution). */
xmlNodePtr iso_hdr_bic(const xmlNode *hdr, const char *which);

/* ---- building messages (build.c) ----------------------------------------------------------- */

/* Elements are added in one namespace; after any failure `failed` is set and later calls on a
 * NULL parent do nothing, so a build reads straight and is checked once at the end. */
struct iso_builder {
    xmlNsPtr ns;
    int failed;
};
xmlNodePtr iso_el(struct iso_builder *b, xmlNodePtr parent, const char *name, const char *text);
/* An optional text element: nothing when text is empty (an absent field). */
void iso_opt(struct iso_builder *b, xmlNodePtr parent, const char *name, const char *text);
/* An amount element with its Ccy attribute. */
void iso_amount_el(struct iso_builder *b, xmlNodePtr parent, const char *name, int64_t minor,
                   int exponent, const char *ccy);
/* BranchAndFinancialInstitutionIdentification6 with a BICFI only. */
void iso_agent_el(struct iso_builder *b, xmlNodePtr parent, const char *name, const char *bic);
/* A new document whose root is <Envelope xmlns="urn:swift:xsd:envelope">, or NULL. */
xmlDocPtr iso_envelope_doc(xmlNodePtr *env);
/* A part of an envelope (or the root of doc when env is NULL): its own namespace and prefix. */
xmlNodePtr iso_part(struct iso_builder *b, xmlDocPtr doc, xmlNodePtr env, const char *name,
                    const char *href, const char *prefix);
/* The head.001.001.02 AppHdr Corridor puts on what it sends. */
xmlNodePtr iso_header(struct iso_builder *b, xmlDocPtr doc, xmlNodePtr env, const char *fr,
                      const char *to, const char *msg_id, const char *msg_def, time_t created);
/*
 * Check a built message — AppHdr (if any) against the outbound header profile, Document against
 * `doc_id`, then the cross-field rules of `flags` (today = the day of `created`) and the header
 * rules — and serialize it. *xml is malloc'd. Returns ISO_OK, ISO_ERR_INVALID, ISO_ERR_NOMEM.
 */
int iso_finish(const iso_ctx *ctx, xmlDocPtr doc, enum iso_schema_id doc_id, unsigned flags,
               time_t created, char **xml, size_t *xml_len, iso_problems *pr);
/* Serialize with the XML declaration, UTF-8; *out from xmlMalloc (= malloc: Corridor never
 * calls xmlMemSetup), so the caller's free() matches. */
int iso_dump(xmlDocPtr doc, char **out, size_t *out_len);

#endif
