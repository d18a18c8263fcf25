/*
 * pain002.c — the pain.002.001.10 status report a customer may ask for: a bare Document (it goes
 * bank to customer, so no AppHdr), built with the libxml2 tree API (build.c), checked against
 * the project profile and the cross-field rules, then serialized.
 *
 * The report names one original payment: OrgnlGrpInfAndSts carries the original message (the
 * pain.001 MsgId, or for JSON the channel's end-to-end id) and OrgnlPmtInfAndSts one transaction
 * with its UETR, status, optional reason and instructed amount. The parameters hold no PmtInf id,
 * so OrgnlPmtInfId (mandatory in the message) repeats the original message id.
 */
#include "iso_int.h"

#include <libxml/tree.h>
#include <string.h>

#define PAIN002_RULES (ISO_RULE_CHARSET | ISO_RULE_AMOUNTS)

static void
group_header(struct iso_builder *b, xmlNodePtr msg, const iso_pain002_params *p)
{
    char created[ISO_TIME_TEXT_SIZE];
    xmlNodePtr grp = iso_el(b, msg, "GrpHdr", NULL), othr;

    iso_datetime(p->created, created);
    iso_el(b, grp, "MsgId", p->msg_id);
    iso_el(b, grp, "CreDtTm", created);
    othr =
        iso_el(b, iso_el(b, iso_el(b, iso_el(b, grp, "InitgPty", NULL), "Id", NULL), "OrgId", NULL),
               "Othr", NULL);
    iso_el(b, othr, "Id", p->initiating_party);
    iso_agent_el(b, grp, "DbtrAgt", p->debtor_agent_bic);
}

static void
transaction(struct iso_builder *b, xmlNodePtr pmt, const iso_pain002_params *p)
{
    xmlNodePtr tx = iso_el(b, pmt, "TxInfAndSts", NULL);

    iso_opt(b, tx, "OrgnlInstrId", p->original_instr_id);
    iso_el(b, tx, "OrgnlEndToEndId", p->original_e2e_id);
    iso_el(b, tx, "OrgnlUETR", p->uetr);
    iso_el(b, tx, "TxSts", p->status);
    if (p->reason[0] != '\0')
        iso_el(b, iso_el(b, iso_el(b, tx, "StsRsnInf", NULL), "Rsn", NULL), "Cd", p->reason);
    if (p->currency[0] != '\0' && p->amount_minor > 0)
        iso_amount_el(b, iso_el(b, iso_el(b, tx, "OrgnlTxRef", NULL), "Amt", NULL), "InstdAmt",
                      p->amount_minor, p->exponent, p->currency);
}

static xmlDocPtr
build(const iso_pain002_params *p)
{
    struct iso_builder b = {0};
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr msg, orig, pmt;

    if (doc == NULL)
        return NULL;
    msg = iso_el(&b, iso_part(&b, doc, NULL, "Document", ISO_NS_PAIN002, "pain"), "CstmrPmtStsRpt",
                 NULL);
    group_header(&b, msg, p);
    orig = iso_el(&b, msg, "OrgnlGrpInfAndSts", NULL);
    iso_el(&b, orig, "OrgnlMsgId", p->original_msg_id);
    iso_el(&b, orig, "OrgnlMsgNmId", p->original_msg_name);
    pmt = iso_el(&b, msg, "OrgnlPmtInfAndSts", NULL);
    iso_el(&b, pmt, "OrgnlPmtInfId", p->original_msg_id);
    transaction(&b, pmt, p);
    if (b.failed) {
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

int
iso_pain002_build(const iso_ctx *ctx, const iso_pain002_params *p, char **xml, size_t *xml_len,
                  iso_problems *pr)
{
    xmlDocPtr doc = build(p);
    int rc;

    *xml = NULL;
    *xml_len = 0;
    if (doc == NULL)
        return ISO_ERR_NOMEM;
    rc = iso_finish(ctx, doc, ISO_SCHEMA_PAIN002, PAIN002_RULES, p->created, xml, xml_len, pr);
    xmlFreeDoc(doc);
    return rc;
}
