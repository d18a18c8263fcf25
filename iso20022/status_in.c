/*
 * status_in.c — what correspondents send back about a payment (POST /v1/messages): pacs.002
 * (status), pacs.004 (return) and camt.029 (answer to a recall), as a bare Document, or with a
 * head.001.001.02 AppHdr inside a SWIFT-style Envelope. Parsed (xml.c), checked against the
 * inbound profiles, the header against the Document's agents and name, the amounts against
 * their currencies (xml_rules.c), then read into a plain iso_status_msg for the tracker.
 *
 * Problem codes, besides those of the parser, the profiles (SCHEMA) and the rules
 * (HEADER_FROM_MISMATCH, HEADER_TO_MISMATCH, HEADER_MSG_MISMATCH, CURRENCY_UNKNOWN,
 * CURRENCY_NOT_ALLOWED, AMOUNT_PRECISION, AMOUNT_TOO_LARGE):
 *   UNSUPPORTED_MESSAGE  another message or version; the text names the supported ones
 *   AMOUNT_INVALID       an amount written in a way Corridor does not read ("+1", ".5", "01")
 */
#include "iso_int.h"

#include <string.h>

#define TOKEN_SIZE 64
#define TEXT_SIZE 1024
#define SUPPORTED "pacs.002.001.10, pacs.004.001.09 or camt.029.001.09"
#define ALTERNATIVES 2

/* Where each message keeps what the tracker needs; paths from the Document, first found wins. */
static const struct kind {
    const char *name;
    iso_msg_kind kind;
    enum iso_schema_id schema;
    const char *tx;
    const char *msg_id;
    const char *status[ALTERNATIVES];
    const char *amount;
    const char *date[ALTERNATIVES];
    const char *reason; /* from tx, a list: the first code */
} kinds[] = {
    {"pacs.002.001.10",
     ISO_MSG_PACS002,
     ISO_SCHEMA_PACS002,
     "FIToFIPmtStsRpt/TxInfAndSts",
     "FIToFIPmtStsRpt/GrpHdr/MsgId",
     {"FIToFIPmtStsRpt/TxInfAndSts/TxSts", NULL},
     "FIToFIPmtStsRpt/TxInfAndSts/OrgnlTxRef/IntrBkSttlmAmt",
     {"FIToFIPmtStsRpt/TxInfAndSts/FctvIntrBkSttlmDt/Dt",
      "FIToFIPmtStsRpt/TxInfAndSts/OrgnlTxRef/IntrBkSttlmDt"},
     "StsRsnInf"},
    {"pacs.004.001.09",
     ISO_MSG_PACS004,
     ISO_SCHEMA_PACS004,
     "PmtRtr/TxInf",
     "PmtRtr/GrpHdr/MsgId",
     {NULL, NULL},
     "PmtRtr/TxInf/RtrdIntrBkSttlmAmt",
     {"PmtRtr/TxInf/IntrBkSttlmDt", "PmtRtr/GrpHdr/IntrBkSttlmDt"},
     "RtrRsnInf"},
    {"camt.029.001.09",
     ISO_MSG_CAMT029,
     ISO_SCHEMA_CAMT029,
     "RsltnOfInvstgtn/CxlDtls/TxInfAndSts",
     "RsltnOfInvstgtn/Assgnmt/Id",
     {"RsltnOfInvstgtn/Sts/Conf", "RsltnOfInvstgtn/CxlDtls/TxInfAndSts/TxCxlSts"},
     "RsltnOfInvstgtn/CxlDtls/TxInfAndSts/OrgnlIntrBkSttlmAmt",
     {"RsltnOfInvstgtn/CxlDtls/TxInfAndSts/OrgnlIntrBkSttlmDt", NULL},
     "CxlStsRsnInf"},
};

static const struct kind *
kind_of(const char *name)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (name != NULL && strcmp(kinds[i].name, name) == 0)
            return &kinds[i];
    return NULL;
}

/* ---- values -------------------------------------------------------------------------------- */

static void
text_at(const xmlNode *base, const char *path, char *dst, size_t size)
{
    char text[TEXT_SIZE];

    iso_copy_text(dst, size, iso_xml_token(iso_xml_at(base, path), text, sizeof(text)));
}

static xmlNodePtr
first_of(const xmlNode *base, const char *const paths[ALTERNATIVES])
{
    xmlNodePtr n = NULL;

    for (size_t i = 0; i < ALTERNATIVES && n == NULL && paths[i] != NULL; i++)
        n = iso_xml_at(base, paths[i]);
    return n;
}

/* An amount with its currency; the rules have checked the currency and the decimals. */
static int
read_amount(const xmlNode *n, iso_amount *out, iso_problems *pr)
{
    char token[TOKEN_SIZE], ccy[TOKEN_SIZE];
    int64_t minor = 0;
    int exp;
    enum iso_amount_verdict v;

    if (n == NULL)
        return 1;
    iso_xml_token((const xmlNode *)xmlHasProp(n, BAD_CAST "Ccy"), ccy, sizeof(ccy));
    exp = iso_currency_exponent(ccy);
    v = iso_amount_check(iso_xml_token(n, token, sizeof(token)), exp, &minor);
    if (exp < 0 || (v != ISO_AMOUNT_OK && v != ISO_AMOUNT_ZERO)) {
        iso_problem_at(pr, n, "AMOUNT_INVALID", "\"%s\" is not an amount Corridor reads", token);
        return 0;
    }
    *out = (iso_amount){.present = 1, .minor = v == ISO_AMOUNT_ZERO ? 0 : minor, .exponent = exp};
    iso_copy_text(out->currency, sizeof(out->currency), ccy);
    return 1;
}

static void
read_charges(const xmlNode *tx, iso_status_msg *out, iso_problems *pr)
{
    iso_amount amt;

    for (xmlNodePtr c = iso_xml_child(tx, "ChrgsInf");
         c != NULL && out->n_charges < ISO_MAX_CHARGES; c = iso_xml_next_same(c)) {
        iso_charge *ch = &out->charges[out->n_charges];
        memset(&amt, 0, sizeof(amt));
        if (!read_amount(iso_xml_child(c, "Amt"), &amt, pr))
            continue;
        ch->amount_minor = amt.minor;
        ch->exponent = amt.exponent;
        iso_copy_text(ch->currency, sizeof(ch->currency), amt.currency);
        text_at(c, "Agt/FinInstnId/BICFI", ch->agent_bic, sizeof(ch->agent_bic));
        out->n_charges++;
    }
}

static void
read_date(const xmlNode *doc, const struct kind *k, iso_status_msg *out)
{
    char token[TOKEN_SIZE];
    int64_t days;

    iso_xml_token(first_of(doc, k->date), token, sizeof(token));
    if (iso_date_parse(token, &days))
        iso_copy_text(out->settlement_date, sizeof(out->settlement_date), token);
}

/* The AppHdr's BICs, else the Document's own agents. */
static void
read_parties(const struct iso_parts *parts, iso_status_msg *out)
{
    char bic[TOKEN_SIZE];
    xmlNodePtr fr = parts->hdr ? iso_hdr_bic(parts->hdr, "Fr") : iso_doc_from_agent(parts);
    xmlNodePtr to = parts->hdr ? iso_hdr_bic(parts->hdr, "To") : iso_doc_to_agent(parts);

    out->has_header = parts->hdr != NULL;
    iso_copy_text(out->from_bic, sizeof(out->from_bic), iso_xml_token(fr, bic, sizeof(bic)));
    iso_copy_text(out->to_bic, sizeof(out->to_bic), iso_xml_token(to, bic, sizeof(bic)));
}

static int
read_fields(const struct iso_parts *parts, const struct kind *k, iso_status_msg *out,
            iso_problems *pr)
{
    xmlNodePtr doc = parts->doc, tx = iso_xml_at(doc, k->tx);
    xmlNodePtr reason = iso_xml_at(iso_xml_child(tx, k->reason), "Rsn/Cd");
    char token[TOKEN_SIZE];
    int ok;

    out->kind = k->kind;
    iso_copy_text(out->msg_name, sizeof(out->msg_name), k->name);
    text_at(doc, k->msg_id, out->msg_id, sizeof(out->msg_id));
    read_parties(parts, out);
    text_at(tx, "OrgnlUETR", out->uetr, sizeof(out->uetr));
    text_at(tx, "OrgnlGrpInf/OrgnlMsgId", out->original_msg_id, sizeof(out->original_msg_id));
    text_at(tx, "OrgnlInstrId", out->original_instr_id, sizeof(out->original_instr_id));
    text_at(tx, "OrgnlEndToEndId", out->original_e2e_id, sizeof(out->original_e2e_id));
    iso_copy_text(out->status, sizeof(out->status),
                  iso_xml_token(first_of(doc, k->status), token, sizeof(token)));
    iso_copy_text(out->reason, sizeof(out->reason), iso_xml_token(reason, token, sizeof(token)));
    ok = read_amount(iso_xml_at(doc, k->amount), &out->amount, pr);
    read_date(doc, k, out);
    read_charges(tx, out, pr);
    return ok;
}

/* ---- entry point --------------------------------------------------------------------------- */

static int
read_doc(const iso_ctx *ctx, xmlDocPtr doc, iso_status_msg *out, iso_problems *pr)
{
    size_t before = pr->n + pr->dropped;
    struct iso_parts parts;
    const struct kind *k;
    int rc = iso_xml_parts(doc, &parts, pr);

    if (rc != ISO_OK)
        return rc;
    if ((k = kind_of(parts.name)) == NULL) {
        iso_problem_at(pr, parts.doc, "UNSUPPORTED_MESSAGE", "%s is not taken here: " SUPPORTED,
                       parts.name);
        return ISO_ERR_INVALID;
    }
    rc = iso_validate_parts(ctx, &parts, ISO_SCHEMA_HEAD001_IN, k->schema, pr);
    if (rc != ISO_OK)
        return rc;
    iso_rules_header(pr, &parts);
    iso_rules_walk(pr, parts.doc, ISO_RULE_AMOUNTS, 0);
    if (pr->n + pr->dropped != before)
        return ISO_ERR_INVALID;
    return read_fields(&parts, k, out, pr) ? ISO_OK : ISO_ERR_INVALID;
}

int
iso_status_read(const iso_ctx *ctx, const char *xml, size_t len, iso_status_msg *out,
                iso_problems *pr)
{
    xmlDocPtr doc;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = iso_xml_parse(xml, len, &doc, pr)) != ISO_OK)
        return rc;
    rc = read_doc(ctx, doc, out, pr);
    xmlFreeDoc(doc);
    if (rc != ISO_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}
