/*
 * pacs008.c — the pacs.008.001.08 for an instruction, in a SWIFT-style envelope with its
 * head.001.001.02 AppHdr, shaped like the CBPR+ samples. Built with the libxml2 tree API
 * (build.c), validated on the tree against the profile schemas and the cross-field rules
 * (xml_rules.c), then serialized once. The pain.001 path builds the same message by XSLT
 * (pain001.c); both end in the same checks.
 */
#include "iso_int.h"

#include <libxml/tree.h>
#include <stdio.h>
#include <string.h>

#define MSG_DEF_ID "pacs.008.001.08"
#define SETTLEMENT_METHOD "INDA"
#define NB_OF_TXS "1"
#define INSTR_ID_MAX 16

static void
group_header(struct iso_builder *b, xmlNodePtr msg, const iso_pacs008_params *pp,
             const char *created)
{
    xmlNodePtr grp = iso_el(b, msg, "GrpHdr", NULL);

    iso_el(b, grp, "MsgId", pp->msg_id);
    iso_el(b, grp, "CreDtTm", created);
    iso_el(b, grp, "NbOfTxs", NB_OF_TXS);
    iso_el(b, iso_el(b, grp, "SttlmInf", NULL), "SttlmMtd", SETTLEMENT_METHOD);
}

static void
payment_id(struct iso_builder *b, xmlNodePtr tx, const iso_instruction *in,
           const iso_pacs008_params *pp)
{
    xmlNodePtr id = iso_el(b, tx, "PmtId", NULL);
    char instr[INSTR_ID_MAX + 1];

    /* InstrId is the instruction's, else the message id cut to CBPR+'s 16 characters. */
    snprintf(instr, sizeof(instr), "%.*s", INSTR_ID_MAX,
             in->instruction_id[0] ? in->instruction_id : pp->msg_id);
    iso_el(b, id, "InstrId", instr);
    iso_el(b, id, "EndToEndId", in->end_to_end_id);
    iso_el(b, id, "UETR", in->uetr);
}

static void
party(struct iso_builder *b, xmlNodePtr tx, const char *name, const iso_party *p)
{
    xmlNodePtr pty = iso_el(b, tx, name, NULL), adr;

    iso_el(b, pty, "Nm", p->name);
    if (p->address.country[0] == '\0')
        return;
    adr = iso_el(b, pty, "PstlAdr", NULL);
    iso_opt(b, adr, "StrtNm", p->address.street);
    iso_opt(b, adr, "BldgNb", p->address.building);
    iso_opt(b, adr, "PstCd", p->address.postcode);
    iso_opt(b, adr, "TwnNm", p->address.town);
    iso_el(b, adr, "Ctry", p->address.country);
}

static void
account(struct iso_builder *b, xmlNodePtr tx, const char *name, const iso_account *a)
{
    xmlNodePtr id = iso_el(b, iso_el(b, tx, name, NULL), "Id", NULL);

    if (a->iban[0] != '\0')
        iso_el(b, id, "IBAN", a->iban);
    else
        iso_el(b, iso_el(b, id, "Othr", NULL), "Id", a->other);
}

/*
 * CBPR+: with ChrgBr CRED the instructing agent states its charges. Corridor deducts none, so
 * it states zero, taken by the debtor agent.
 */
static void
charges(struct iso_builder *b, xmlNodePtr tx, const iso_instruction *in)
{
    xmlNodePtr ci;

    if (strcmp(in->charge_bearer, "CRED") != 0)
        return;
    ci = iso_el(b, tx, "ChrgsInf", NULL);
    iso_amount_el(b, ci, "Amt", 0, in->exponent, in->currency);
    iso_agent_el(b, ci, "Agt", in->debtor_agent.bic);
}

static void
transaction(struct iso_builder *b, xmlNodePtr msg, const iso_instruction *in,
            const iso_pacs008_params *pp)
{
    static const char *const intermediary[ISO_MAX_INTERMEDIARIES] = {"IntrmyAgt1", "IntrmyAgt2",
                                                                     "IntrmyAgt3"};
    xmlNodePtr tx = iso_el(b, msg, "CdtTrfTxInf", NULL);

    payment_id(b, tx, in, pp);
    iso_amount_el(b, tx, "IntrBkSttlmAmt", in->amount_minor, in->exponent, in->currency);
    iso_el(b, tx, "IntrBkSttlmDt", in->requested_execution_date);
    iso_amount_el(b, tx, "InstdAmt", in->amount_minor, in->exponent, in->currency);
    iso_el(b, tx, "ChrgBr", in->charge_bearer);
    charges(b, tx, in);
    iso_agent_el(b, tx, "InstgAgt", in->debtor_agent.bic);
    iso_agent_el(b, tx, "InstdAgt", pp->instructed_bic);
    for (size_t i = 0; i < in->n_intermediaries && i < ISO_MAX_INTERMEDIARIES; i++)
        iso_agent_el(b, tx, intermediary[i], in->intermediaries[i].bic);
    party(b, tx, "Dbtr", &in->debtor);
    account(b, tx, "DbtrAcct", &in->debtor.account);
    iso_agent_el(b, tx, "DbtrAgt", in->debtor_agent.bic);
    iso_agent_el(b, tx, "CdtrAgt", in->creditor_agent.bic);
    party(b, tx, "Cdtr", &in->creditor);
    account(b, tx, "CdtrAcct", &in->creditor.account);
    if (in->purpose[0] != '\0')
        iso_el(b, iso_el(b, tx, "Purp", NULL), "Cd", in->purpose);
    if (in->remittance_information[0] != '\0')
        iso_el(b, iso_el(b, tx, "RmtInf", NULL), "Ustrd", in->remittance_information);
}

static xmlDocPtr
build(const iso_instruction *in, const iso_pacs008_params *pp)
{
    struct iso_builder b = {0};
    char created[ISO_TIME_TEXT_SIZE];
    xmlNodePtr env, document;
    xmlDocPtr doc = iso_envelope_doc(&env);

    if (doc == NULL)
        return NULL;
    iso_datetime(pp->created, created);
    iso_header(&b, doc, env, in->debtor_agent.bic, pp->instructed_bic, pp->msg_id, MSG_DEF_ID,
               pp->created);
    document = iso_part(&b, doc, env, "Document", ISO_NS_PACS008, "pacs");
    document = iso_el(&b, document, "FIToFICstmrCdtTrf", NULL);
    group_header(&b, document, pp, created);
    transaction(&b, document, in, pp);
    if (b.failed) {
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

/* The cross-field rules take the day of `created` as today: the settlement date must not lie
 * before the message's own creation. */
int
iso_pacs008_build(const iso_ctx *ctx, const iso_instruction *in, const iso_pacs008_params *params,
                  char **xml, size_t *xml_len, iso_problems *pr)
{
    xmlDocPtr doc = build(in, params);
    int rc;

    *xml = NULL;
    *xml_len = 0;
    if (doc == NULL)
        return ISO_ERR_NOMEM;
    rc = iso_finish(ctx, doc, ISO_SCHEMA_PACS008, ISO_RULES_PACS008, params->created, xml, xml_len,
                    pr);
    xmlFreeDoc(doc);
    return rc;
}
