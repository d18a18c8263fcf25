/*
 * xml_rules.c — CBPR+-style rules that an XSD cannot say, checked on a message tree that already
 * fits its profile: on pain.001 as it comes in, on every pacs.008 / camt.056 / pain.002 Corridor
 * builds, and (header and amounts) on inbound status messages. Each has its own code; the path
 * is the XPath (local names) of the node concerned:
 *
 *   HEADER_FROM_MISMATCH  AppHdr Fr is not the Document's InstgAgt (pacs) / Assgnr (camt)
 *   HEADER_TO_MISMATCH    AppHdr To is not the Document's InstdAgt / Assgne
 *   HEADER_MSG_MISMATCH   AppHdr MsgDefIdr is not the Document's message
 *   CHARGES_REQUIRED      ChrgBr CRED without ChrgsInf (the instructing agent states its charges)
 *   CHARGES_DEBT_ONE      ChrgBr DEBT with more than one ChrgsInf (the path is the second)
 *   REMITTANCE_BOTH       RmtInf holds both Ustrd and Strd
 *   CURRENCY_UNKNOWN      a Ccy that is not in ISO 4217
 *   CURRENCY_NOT_ALLOWED  a Ccy that is not money: XAU, XAG, XPD, XPT (metals), XDR, XXX ...
 *   AMOUNT_PRECISION      more decimals than the currency's ISO 4217 exponent
 *   AMOUNT_TOO_LARGE      more than ISO_MAX_AMOUNT_DIGITS digits at the currency's exponent
 *   SLASH                 InstrId starts or ends with '/' or holds "//"
 *   CHARSET               text outside the CBPR+ set; references (MsgId, InstrId, EndToEndId,
 *                         TxId) outside FIN-X
 *   DATE_PAST             IntrBkSttlmDt before today (UTC)
 *
 * Two BICs agree when they name the same party (a BIC8 is its BIC11 with "XXX").
 */
#include "iso_int.h"

#include <string.h>

#define TEXT_SIZE 1024 /* the longest profile text is Max140Text: 560 bytes of UTF-8 */
#define CODE_SIZE 8
#define BIC_SIZE 16

struct walk {
    iso_problems *pr;
    unsigned flags;
    int64_t today;
};

static int
is_named(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static int
has_element_children(const xmlNode *n)
{
    for (const xmlNode *c = n->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            return 1;
    return 0;
}

/* ---- leaves -------------------------------------------------------------------------------- */

static int
is_reference(const xmlNode *n)
{
    static const char *const refs[] = {"MsgId", "InstrId", "EndToEndId", "TxId"};

    for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++)
        if (is_named(n, refs[i]))
            return 1;
    return 0;
}

static void
charset(struct walk *w, const xmlNode *n, const char *text)
{
    if (is_reference(n) && !iso_text_finx_ok(text))
        iso_problem_at(w->pr, n, "CHARSET", "may hold only letters, digits and %s (FIN-X)",
                       ISO_CHARSET_FINX_EXTRA);
    else if (!is_reference(n) && !iso_text_charset_ok(text))
        iso_problem_at(w->pr, n, "CHARSET", "may hold only letters, digits and %s (CBPR+)",
                       ISO_CHARSET_EXTRA);
}

static void
slash(struct walk *w, const xmlNode *n, const char *text)
{
    size_t len = strlen(text);

    if (is_named(n, "InstrId") && len > 0 &&
        (text[0] == '/' || text[len - 1] == '/' || strstr(text, "//") != NULL))
        iso_problem_at(w->pr, n, "SLASH", "must not start or end with '/' nor hold '//'");
}

/* An element with a Ccy attribute: the currency, then the amount's digits against it. */
static void
amount(struct walk *w, const xmlNode *n)
{
    xmlAttrPtr ccy = xmlHasProp(n, BAD_CAST "Ccy");
    char code[CODE_SIZE], text[TEXT_SIZE];
    int64_t minor;
    enum iso_amount_verdict v;

    if (ccy == NULL)
        return;
    iso_xml_text((const xmlNode *)ccy, code, sizeof(code));
    if (!iso_currency_known(code)) {
        iso_problem_at(w->pr, (const xmlNode *)ccy, "CURRENCY_UNKNOWN", "is not ISO 4217");
        return;
    }
    if (iso_currency_exponent(code) < 0) {
        iso_problem_at(w->pr, (const xmlNode *)ccy, "CURRENCY_NOT_ALLOWED",
                       "%s is not money a payment can carry (metal, SDR, test code)", code);
        return;
    }
    /* Zero and the decimal's other spellings are the profile's business, not these rules'. */
    v = iso_amount_check(iso_xml_token(n, text, sizeof(text)), iso_currency_exponent(code), &minor);
    if (v == ISO_AMOUNT_PRECISION)
        iso_problem_at(w->pr, n, "AMOUNT_PRECISION", "has more than %d decimals for %s",
                       iso_currency_exponent(code), code);
    else if (v == ISO_AMOUNT_TOO_LARGE)
        iso_problem_at(w->pr, n, "AMOUNT_TOO_LARGE", "has more than %d digits",
                       ISO_MAX_AMOUNT_DIGITS);
}

static void
settlement_date(struct walk *w, const xmlNode *n, const char *text)
{
    int64_t days;

    if (is_named(n, "IntrBkSttlmDt") && iso_date_parse(text, &days) && days < w->today)
        iso_problem_at(w->pr, n, "DATE_PAST", "is before today (UTC)");
}

static void
leaf(struct walk *w, const xmlNode *n)
{
    char text[TEXT_SIZE];

    iso_xml_text(n, text, sizeof(text));
    if (w->flags & ISO_RULE_CHARSET)
        charset(w, n, text);
    if (w->flags & ISO_RULE_SLASH)
        slash(w, n, text);
    if (w->flags & ISO_RULE_DATE)
        settlement_date(w, n, iso_xml_token(n, text, sizeof(text)));
}

/* ---- structures ---------------------------------------------------------------------------- */

static void
remittance(struct walk *w, const xmlNode *n)
{
    if (is_named(n, "RmtInf") && iso_xml_child(n, "Ustrd") != NULL &&
        iso_xml_child(n, "Strd") != NULL)
        iso_problem_at(w->pr, n, "REMITTANCE_BOTH", "holds Ustrd and Strd: one or the other");
}

/* ChrgBr and its ChrgsInf are siblings in a transaction. */
static void
charges(struct walk *w, const xmlNode *n)
{
    char bearer[CODE_SIZE];
    xmlNodePtr first;

    if (!is_named(n, "ChrgBr") || n->parent == NULL)
        return;
    iso_xml_token(n, bearer, sizeof(bearer));
    first = iso_xml_child(n->parent, "ChrgsInf");
    if (strcmp(bearer, "CRED") == 0 && first == NULL)
        iso_problem_at(w->pr, n, "CHARGES_REQUIRED",
                       "CRED: the charges taken must be stated in ChrgsInf");
    else if (strcmp(bearer, "DEBT") == 0 && first != NULL && iso_xml_next_same(first) != NULL)
        iso_problem_at(w->pr, iso_xml_next_same(first), "CHARGES_DEBT_ONE",
                       "DEBT: at most one ChrgsInf");
}

static void
walk(struct walk *w, const xmlNode *n)
{
    if (n->type != XML_ELEMENT_NODE)
        return;
    if (w->flags & ISO_RULE_AMOUNTS)
        amount(w, n);
    if (w->flags & ISO_RULE_REMITTANCE)
        remittance(w, n);
    if (w->flags & ISO_RULE_CHARGES)
        charges(w, n);
    if (!has_element_children(n)) {
        leaf(w, n);
        return;
    }
    for (const xmlNode *c = n->children; c != NULL; c = c->next)
        walk(w, c);
}

void
iso_rules_walk(iso_problems *pr, const xmlNode *root, unsigned flags, int64_t today)
{
    struct walk w = {.pr = pr, .flags = flags, .today = today};

    if (root != NULL)
        walk(&w, root);
}

/* ---- the header against the Document ------------------------------------------------------- */

/* Where each message names its sending and receiving agent (transaction level first). */
static const struct {
    const char *ns;
    const char *from[2];
    const char *to[2];
} agents[] = {
    {ISO_NS_PACS008,
     {"FIToFICstmrCdtTrf/CdtTrfTxInf/InstgAgt/FinInstnId/BICFI",
      "FIToFICstmrCdtTrf/GrpHdr/InstgAgt/FinInstnId/BICFI"},
     {"FIToFICstmrCdtTrf/CdtTrfTxInf/InstdAgt/FinInstnId/BICFI",
      "FIToFICstmrCdtTrf/GrpHdr/InstdAgt/FinInstnId/BICFI"}},
    {ISO_NS_PACS002,
     {"FIToFIPmtStsRpt/TxInfAndSts/InstgAgt/FinInstnId/BICFI",
      "FIToFIPmtStsRpt/GrpHdr/InstgAgt/FinInstnId/BICFI"},
     {"FIToFIPmtStsRpt/TxInfAndSts/InstdAgt/FinInstnId/BICFI",
      "FIToFIPmtStsRpt/GrpHdr/InstdAgt/FinInstnId/BICFI"}},
    {ISO_NS_PACS004,
     {"PmtRtr/TxInf/InstgAgt/FinInstnId/BICFI", "PmtRtr/GrpHdr/InstgAgt/FinInstnId/BICFI"},
     {"PmtRtr/TxInf/InstdAgt/FinInstnId/BICFI", "PmtRtr/GrpHdr/InstdAgt/FinInstnId/BICFI"}},
    {ISO_NS_CAMT056,
     {"FIToFIPmtCxlReq/Assgnmt/Assgnr/Agt/FinInstnId/BICFI", NULL},
     {"FIToFIPmtCxlReq/Assgnmt/Assgne/Agt/FinInstnId/BICFI", NULL}},
    {ISO_NS_CAMT029,
     {"RsltnOfInvstgtn/Assgnmt/Assgnr/Agt/FinInstnId/BICFI", NULL},
     {"RsltnOfInvstgtn/Assgnmt/Assgne/Agt/FinInstnId/BICFI", NULL}},
};

static xmlNodePtr
first_at(const xmlNode *doc, const char *const paths[2])
{
    xmlNodePtr n = NULL;

    for (size_t i = 0; i < 2 && n == NULL && paths[i] != NULL; i++)
        n = iso_xml_at(doc, paths[i]);
    return n;
}

static xmlNodePtr
doc_agent(const struct iso_parts *parts, int to)
{
    const char *ns;

    if (parts->doc == NULL || parts->doc->ns == NULL)
        return NULL;
    ns = (const char *)parts->doc->ns->href;
    for (size_t i = 0; i < sizeof(agents) / sizeof(agents[0]); i++)
        if (strcmp(agents[i].ns, ns) == 0)
            return first_at(parts->doc, to ? agents[i].to : agents[i].from);
    return NULL;
}

xmlNodePtr
iso_doc_from_agent(const struct iso_parts *parts)
{
    return doc_agent(parts, 0);
}

xmlNodePtr
iso_doc_to_agent(const struct iso_parts *parts)
{
    return doc_agent(parts, 1);
}

xmlNodePtr
iso_hdr_bic(const xmlNode *hdr, const char *which)
{
    return iso_xml_at(iso_xml_child(hdr, which), "FIId/FinInstnId/BICFI");
}

static void
header_party(iso_problems *pr, const xmlNode *hdr, const char *which, xmlNodePtr agent,
             const char *code)
{
    xmlNodePtr bic = iso_hdr_bic(hdr, which);
    char a[BIC_SIZE], b[BIC_SIZE];

    if (agent == NULL)
        return; /* the Document names no agent: nothing to disagree with */
    if (bic == NULL) {
        iso_problem_at(pr, iso_xml_child(hdr, which), code,
                       "must name the financial institution the Document names (%s)",
                       iso_xml_token(agent, b, sizeof(b)));
        return;
    }
    iso_xml_token(bic, a, sizeof(a));
    iso_xml_token(agent, b, sizeof(b));
    if (!iso_bic_same_party(a, b))
        iso_problem_at(pr, bic, code, "%s is not the Document's agent %s", a, b);
}

void
iso_rules_header(iso_problems *pr, const struct iso_parts *parts)
{
    char def[64];

    if (parts->hdr == NULL)
        return;
    header_party(pr, parts->hdr, "Fr", iso_doc_from_agent(parts), "HEADER_FROM_MISMATCH");
    header_party(pr, parts->hdr, "To", iso_doc_to_agent(parts), "HEADER_TO_MISMATCH");
    iso_xml_token(iso_xml_child(parts->hdr, "MsgDefIdr"), def, sizeof(def));
    if (parts->name != NULL && strcmp(def, parts->name) != 0)
        iso_problem_at(pr, iso_xml_child(parts->hdr, "MsgDefIdr"), "HEADER_MSG_MISMATCH",
                       "names %s, the Document is %s", def, parts->name);
}
