/*
 * pacs008.c — the pacs.008.001.08 for an instruction, in a SWIFT-style envelope with its
 * head.001.001.02 AppHdr, shaped like the CBPR+ samples. Built with the libxml2 tree API
 * (which escapes user text), validated on the tree against the profile schemas, then
 * serialized once.
 */
#include "iso_int.h"

#include <libxml/tree.h>
#include <stdio.h>
#include <string.h>

#define MSG_DEF_ID "pacs.008.001.08"
#define BIZ_SVC "swift.cbprplus.02"
#define SETTLEMENT_METHOD "INDA"
#define NB_OF_TXS "1"
#define INSTR_ID_MAX 16
#define TIME_TEXT_SIZE 32
#define AMOUNT_TEXT_SIZE 32

/* Elements are added in one namespace; after any failure `failed` is set and later calls on a
 * NULL parent do nothing, so the build reads straight and is checked once at the end. */
struct builder {
    xmlNsPtr ns;
    int failed;
};

static xmlNodePtr
el(struct builder *b, xmlNodePtr parent, const char *name, const char *text)
{
    xmlNodePtr n = NULL;

    if (parent != NULL)
        n = xmlNewTextChild(parent, b->ns, BAD_CAST name, text ? BAD_CAST text : NULL);
    if (n == NULL)
        b->failed = 1;
    return n;
}

/* An optional text element: nothing when text is empty (an absent field). */
static void
opt(struct builder *b, xmlNodePtr parent, const char *name, const char *text)
{
    if (text[0] != '\0')
        el(b, parent, name, text);
}

/* The root of a part: its own namespace, declared with the prefix the CBPR+ samples use. */
static xmlNodePtr
part(struct builder *b, xmlNodePtr env, const char *name, const char *href, const char *prefix)
{
    xmlNodePtr n = env ? xmlNewChild(env, NULL, BAD_CAST name, NULL) : NULL;

    b->ns = n ? xmlNewNs(n, BAD_CAST href, BAD_CAST prefix) : NULL;
    if (b->ns == NULL) {
        b->failed = 1;
        return NULL;
    }
    xmlSetNs(n, b->ns);
    return n;
}

static void
iso_datetime(time_t t, char buf[TIME_TEXT_SIZE])
{
    struct tm tm;

    buf[0] = '\0';
    if (gmtime_r(&t, &tm) != NULL)
        strftime(buf, TIME_TEXT_SIZE, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
}

/* BranchAndFinancialInstitutionIdentification6 with a BICFI only. */
static void
agent(struct builder *b, xmlNodePtr parent, const char *name, const char *bic)
{
    el(b, el(b, el(b, parent, name, NULL), "FinInstnId", NULL), "BICFI", bic);
}

/* ---- AppHdr -------------------------------------------------------------------------------- */

static void
header_party(struct builder *b, xmlNodePtr hdr, const char *name, const char *bic)
{
    xmlNodePtr fi = el(b, el(b, hdr, name, NULL), "FIId", NULL);

    el(b, el(b, fi, "FinInstnId", NULL), "BICFI", bic);
}

static void
build_header(struct builder *b, xmlNodePtr env, const iso_instruction *in,
             const iso_pacs008_params *pp, const char *created)
{
    xmlNodePtr hdr = part(b, env, "AppHdr", ISO_NS_HEAD001, "head");

    header_party(b, hdr, "Fr", in->debtor_agent.bic);
    header_party(b, hdr, "To", pp->instructed_bic);
    el(b, hdr, "BizMsgIdr", pp->msg_id);
    el(b, hdr, "MsgDefIdr", MSG_DEF_ID);
    el(b, hdr, "BizSvc", BIZ_SVC);
    el(b, hdr, "CreDt", created);
}

/* ---- Document ------------------------------------------------------------------------------ */

static void
group_header(struct builder *b, xmlNodePtr msg, const iso_pacs008_params *pp, const char *created)
{
    xmlNodePtr grp = el(b, msg, "GrpHdr", NULL);

    el(b, grp, "MsgId", pp->msg_id);
    el(b, grp, "CreDtTm", created);
    el(b, grp, "NbOfTxs", NB_OF_TXS);
    el(b, el(b, grp, "SttlmInf", NULL), "SttlmMtd", SETTLEMENT_METHOD);
}

static void
payment_id(struct builder *b, xmlNodePtr tx, const iso_instruction *in,
           const iso_pacs008_params *pp)
{
    xmlNodePtr id = el(b, tx, "PmtId", NULL);
    char instr[INSTR_ID_MAX + 1];

    /* InstrId is the instruction's, else the message id cut to CBPR+'s 16 characters. */
    snprintf(instr, sizeof(instr), "%.*s", INSTR_ID_MAX,
             in->instruction_id[0] ? in->instruction_id : pp->msg_id);
    el(b, id, "InstrId", instr);
    el(b, id, "EndToEndId", in->end_to_end_id);
    el(b, id, "UETR", in->uetr);
}

static void
amount(struct builder *b, xmlNodePtr tx, const char *name, const iso_instruction *in,
       const char *text)
{
    xmlNodePtr n = el(b, tx, name, text);

    if (n != NULL && xmlNewProp(n, BAD_CAST "Ccy", BAD_CAST in->currency) == NULL)
        b->failed = 1;
}

static void
party(struct builder *b, xmlNodePtr tx, const char *name, const iso_party *p)
{
    xmlNodePtr pty = el(b, tx, name, NULL), adr;

    el(b, pty, "Nm", p->name);
    if (p->address.country[0] == '\0')
        return;
    adr = el(b, pty, "PstlAdr", NULL);
    opt(b, adr, "StrtNm", p->address.street);
    opt(b, adr, "BldgNb", p->address.building);
    opt(b, adr, "PstCd", p->address.postcode);
    opt(b, adr, "TwnNm", p->address.town);
    el(b, adr, "Ctry", p->address.country);
}

static void
account(struct builder *b, xmlNodePtr tx, const char *name, const iso_account *a)
{
    xmlNodePtr id = el(b, el(b, tx, name, NULL), "Id", NULL);

    if (a->iban[0] != '\0')
        el(b, id, "IBAN", a->iban);
    else
        el(b, el(b, id, "Othr", NULL), "Id", a->other);
}

static void
transaction(struct builder *b, xmlNodePtr msg, const iso_instruction *in,
            const iso_pacs008_params *pp)
{
    static const char *const intermediary[ISO_MAX_INTERMEDIARIES] = {"IntrmyAgt1", "IntrmyAgt2",
                                                                     "IntrmyAgt3"};
    xmlNodePtr tx = el(b, msg, "CdtTrfTxInf", NULL);
    char amt[AMOUNT_TEXT_SIZE] = "";

    iso_amount_format(in->amount_minor, in->exponent, amt, sizeof(amt));
    payment_id(b, tx, in, pp);
    amount(b, tx, "IntrBkSttlmAmt", in, amt);
    el(b, tx, "IntrBkSttlmDt", in->requested_execution_date);
    amount(b, tx, "InstdAmt", in, amt);
    el(b, tx, "ChrgBr", in->charge_bearer);
    agent(b, tx, "InstgAgt", in->debtor_agent.bic);
    agent(b, tx, "InstdAgt", pp->instructed_bic);
    for (size_t i = 0; i < in->n_intermediaries && i < ISO_MAX_INTERMEDIARIES; i++)
        agent(b, tx, intermediary[i], in->intermediaries[i].bic);
    party(b, tx, "Dbtr", &in->debtor);
    account(b, tx, "DbtrAcct", &in->debtor.account);
    agent(b, tx, "DbtrAgt", in->debtor_agent.bic);
    agent(b, tx, "CdtrAgt", in->creditor_agent.bic);
    party(b, tx, "Cdtr", &in->creditor);
    account(b, tx, "CdtrAcct", &in->creditor.account);
    if (in->purpose[0] != '\0')
        el(b, el(b, tx, "Purp", NULL), "Cd", in->purpose);
    if (in->remittance_information[0] != '\0')
        el(b, el(b, tx, "RmtInf", NULL), "Ustrd", in->remittance_information);
}

static void
build_document(struct builder *b, xmlNodePtr env, const iso_instruction *in,
               const iso_pacs008_params *pp, const char *created)
{
    xmlNodePtr doc = part(b, env, "Document", ISO_NS_PACS008, "pacs");
    xmlNodePtr msg = el(b, doc, "FIToFICstmrCdtTrf", NULL);

    group_header(b, msg, pp, created);
    transaction(b, msg, in, pp);
}

/* ---- entry point --------------------------------------------------------------------------- */

static xmlDocPtr
build(const iso_instruction *in, const iso_pacs008_params *pp, xmlNodePtr *hdr,
      xmlNodePtr *document)
{
    struct builder b = {0};
    char created[TIME_TEXT_SIZE];
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr env = doc ? xmlNewDocNode(doc, NULL, BAD_CAST "Envelope", NULL) : NULL;
    xmlNsPtr ns = env ? xmlNewNs(env, BAD_CAST ISO_NS_ENVELOPE, NULL) : NULL;

    if (ns == NULL) {
        xmlFreeNode(env);
        xmlFreeDoc(doc);
        return NULL;
    }
    xmlSetNs(env, ns);
    xmlDocSetRootElement(doc, env);
    iso_datetime(pp->created, created);
    build_header(&b, env, in, pp, created);
    *hdr = env->children;
    build_document(&b, env, in, pp, created);
    *document = *hdr ? (*hdr)->next : NULL;
    if (b.failed) {
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

/* *xml comes from xmlDocDumpMemoryEnc: xmlMalloc, which is malloc unless the process installs
 * its own allocator with xmlMemSetup (Corridor does not), so the caller's free() matches. */
int
iso_pacs008_build(const iso_ctx *ctx, const iso_instruction *in, const iso_pacs008_params *params,
                  char **xml, size_t *xml_len, iso_problems *pr)
{
    xmlNodePtr hdr = NULL, document = NULL;
    xmlDocPtr doc = build(in, params, &hdr, &document);
    xmlChar *buf = NULL;
    int rc, size = 0;

    *xml = NULL;
    *xml_len = 0;
    if (doc == NULL)
        return ISO_ERR_NOMEM;
    rc = iso_validate_element(ctx, ISO_SCHEMA_HEAD001, hdr, pr);
    if (rc != ISO_ERR_NOMEM)
        rc = iso_rc_merge(rc, iso_validate_element(ctx, ISO_SCHEMA_PACS008, document, pr));
    if (rc == ISO_OK) {
        xmlDocDumpMemoryEnc(doc, &buf, &size, "UTF-8");
        rc = buf != NULL ? ISO_OK : ISO_ERR_NOMEM;
    }
    xmlFreeDoc(doc);
    if (rc == ISO_OK) {
        *xml = (char *)buf;
        *xml_len = (size_t)size;
    }
    return rc;
}
