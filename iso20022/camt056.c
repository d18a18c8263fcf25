/*
 * camt056.c — the camt.056.001.08 recall (stop and recall, gSRP) of a pacs.008 that has left, in
 * a SWIFT-style Envelope with its head.001.001.02 AppHdr, CBPR+-like: the assignment goes from
 * the debtor agent (us) to the agent the pacs.008 went to; one underlying transaction with its
 * case, the original message, ids, UETR, settlement amount and date, and the reason as a code
 * with the assigner as originator. Built with the libxml2 tree API (build.c), checked against
 * the profiles, the cross-field rules and the header rules (AppHdr Fr/To = Assgnr/Assgne).
 */
#include "iso_int.h"

#include <libxml/tree.h>
#include <string.h>

#define MSG_DEF_ID "camt.056.001.08"
#define ORIGINAL_MSG_NAME "pacs.008.001.08"
#define CAMT056_RULES (ISO_RULE_CHARSET | ISO_RULE_AMOUNTS)

/* Party40Choice as an agent: Agt/FinInstnId/BICFI. */
static void
agent_party(struct iso_builder *b, xmlNodePtr parent, const char *name, const char *bic)
{
    iso_agent_el(b, iso_el(b, parent, name, NULL), "Agt", bic);
}

static void
assignment(struct iso_builder *b, xmlNodePtr msg, const iso_camt056_params *p)
{
    char created[ISO_TIME_TEXT_SIZE];
    xmlNodePtr a = iso_el(b, msg, "Assgnmt", NULL);

    iso_datetime(p->created, created);
    iso_el(b, a, "Id", p->msg_id);
    agent_party(b, a, "Assgnr", p->assigner_bic);
    agent_party(b, a, "Assgne", p->assignee_bic);
    iso_el(b, a, "CreDtTm", created);
}

static void
reason(struct iso_builder *b, xmlNodePtr tx, const iso_camt056_params *p)
{
    xmlNodePtr r = iso_el(b, tx, "CxlRsnInf", NULL);
    xmlNodePtr org = iso_el(b, iso_el(b, iso_el(b, r, "Orgtr", NULL), "Id", NULL), "OrgId", NULL);

    iso_el(b, org, "AnyBIC", p->assigner_bic);
    iso_el(b, iso_el(b, r, "Rsn", NULL), "Cd", p->reason);
}

static void
transaction(struct iso_builder *b, xmlNodePtr msg, const iso_camt056_params *p)
{
    xmlNodePtr tx = iso_el(b, iso_el(b, msg, "Undrlyg", NULL), "TxInf", NULL);
    xmlNodePtr c = iso_el(b, tx, "Case", NULL), grp;

    iso_el(b, c, "Id", p->case_id);
    agent_party(b, c, "Cretr", p->assigner_bic);
    grp = iso_el(b, tx, "OrgnlGrpInf", NULL);
    iso_el(b, grp, "OrgnlMsgId", p->original_msg_id);
    iso_el(b, grp, "OrgnlMsgNmId", ORIGINAL_MSG_NAME);
    iso_opt(b, tx, "OrgnlInstrId", p->original_instr_id);
    iso_el(b, tx, "OrgnlEndToEndId", p->original_e2e_id);
    iso_el(b, tx, "OrgnlUETR", p->uetr);
    iso_amount_el(b, tx, "OrgnlIntrBkSttlmAmt", p->amount_minor, p->exponent, p->currency);
    iso_el(b, tx, "OrgnlIntrBkSttlmDt", p->settlement_date);
    reason(b, tx, p);
}

static xmlDocPtr
build(const iso_camt056_params *p)
{
    struct iso_builder b = {0};
    xmlNodePtr env, msg;
    xmlDocPtr doc = iso_envelope_doc(&env);

    if (doc == NULL)
        return NULL;
    iso_header(&b, doc, env, p->assigner_bic, p->assignee_bic, p->msg_id, MSG_DEF_ID, p->created);
    msg = iso_el(&b, iso_part(&b, doc, env, "Document", ISO_NS_CAMT056, "camt"), "FIToFIPmtCxlReq",
                 NULL);
    assignment(&b, msg, p);
    transaction(&b, msg, p);
    if (b.failed) {
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

int
iso_camt056_build(const iso_ctx *ctx, const iso_camt056_params *p, char **xml, size_t *xml_len,
                  iso_problems *pr)
{
    xmlDocPtr doc = build(p);
    int rc;

    *xml = NULL;
    *xml_len = 0;
    if (doc == NULL)
        return ISO_ERR_NOMEM;
    rc = iso_finish(ctx, doc, ISO_SCHEMA_CAMT056, CAMT056_RULES, p->created, xml, xml_len, pr);
    xmlFreeDoc(doc);
    return rc;
}
