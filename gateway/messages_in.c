/*
 * POST /v1/messages — ISO 20022 from correspondents: pacs.002 (status), pacs.004 (return),
 * camt.029 (answer to our recall); bare Document, AppHdr + Document, or an Envelope.
 * iso20022/ reads and checks the message; here: the sender (AppHdr Fr, else the instructing
 * agent / assigner) must be one of the caller's BICs (403), the payment must exist and the
 * caller be in its chain (else 404: no existence leak), then one TRK_OP_EVENT with the message
 * stored as an Envelope under its short name. A message seen before (sender BIC8 + MsgId) is
 * absorbed. 200 only after the commit.
 */
#include "routes.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINK_MAX 160
#define XPATH_FROM_HDR "/AppHdr/Fr/FIId/FinInstnId/BICFI"
#define XPATH_FROM_DOC "/Document//InstgAgt/FinInstnId/BICFI | /Document//Assgnr//BICFI"
#define XPATH_TXSTS "/Document/FIToFIPmtStsRpt/TxInfAndSts/TxSts"
#define XPATH_CXLSTS "/Document/RsltnOfInvstgtn/Sts/Conf"
#define XPATH_RTRD_AMT "/Document/PmtRtr/TxInf/RtrdIntrBkSttlmAmt"

/* How one message kind maps onto the saga. */
typedef struct kind_map {
    iso_msg_kind kind;
    const char *short_name; /* the stored message's name */
    const char *event_type; /* gpi tracker_event_type */
} kind_map;

static const kind_map kinds[] = {
    {ISO_MSG_PACS002, "pacs.002", "CTSU"},
    {ISO_MSG_PACS004, "pacs.004", "RCTP"},
    {ISO_MSG_CAMT029, "camt.029", "CTCR"},
};

static const kind_map *
kind_of(const iso_status_msg *m)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (kinds[i].kind == m->kind)
            return &kinds[i];
    return NULL;
}

static int
read_message(gw_request *req, iso_status_msg *m)
{
    iso_problems pr;
    int rc;

    iso_problems_init(&pr);
    if (!gw_content_type_is(req, "application/xml")) {
        gw_respond_error(req, 415, "UNSUPPORTED_MEDIA_TYPE", "POST /v1/messages takes application/xml",
                         NULL);
        return -1;
    }
    rc = iso_status_read(req->app->iso, (const char *)req->body, req->body_len, m, &pr);
    if (rc == ISO_ERR_SYNTAX)
        gw_respond_error(req, 400, "MALFORMED_XML", "the body is not an acceptable XML document",
                         &pr);
    else if (rc == ISO_ERR_TOOLARGE)
        gw_respond_error(req, 413, "PAYLOAD_TOO_LARGE", "the message is too large", NULL);
    else if (rc == ISO_ERR_INVALID)
        gw_respond_error(req, 422, "INVALID_MESSAGE", "the message breaks the rules", &pr);
    else if (rc != ISO_OK)
        gw_respond_error(req, rc == ISO_ERR_NOMEM ? 503 : 500, "INTERNAL", iso_strerror(rc),
                         NULL);
    return rc == ISO_OK ? 0 : -1;
}

static int
sender_ok(gw_request *req, const iso_status_msg *m)
{
    iso_problems pr;

    if (gw_principal_has_bic(&req->principal, m->from_bic))
        return 1;
    iso_problems_init(&pr);
    iso_problems_add(&pr, m->has_header ? XPATH_FROM_HDR : XPATH_FROM_DOC, "NOT_YOUR_BIC",
                     "%s is not one of your BICs", m->from_bic);
    gw_respond_error(req, 403, "FORBIDDEN", "you may send only as yourself", &pr);
    return 0;
}

static void
refuse(gw_request *req, const char *path, const char *code, const char *text)
{
    iso_problems pr;

    iso_problems_init(&pr);
    iso_problems_add(&pr, path, code, "%s", text);
    gw_respond_error(req, 422, "INVALID_MESSAGE", "the message does not apply", &pr);
}

/* The saga input a message carries, or 0 after answering 422. */
static trk_input
input_of(gw_request *req, const iso_status_msg *m, const trk_payment *pay)
{
    if (m->kind == ISO_MSG_PACS002) {
        if (strcmp(m->status, "ACSP") == 0)
            return TRK_IN_ACSP;
        if (strcmp(m->status, "ACCC") == 0)
            return TRK_IN_ACCC;
        if (strcmp(m->status, "RJCT") == 0)
            return TRK_IN_RJCT;
        refuse(req, XPATH_TXSTS, "UNSUPPORTED_STATUS", "Corridor tracks ACSP, ACCC and RJCT");
        return 0;
    }
    if (m->kind == ISO_MSG_CAMT029) {
        if (strcmp(m->status, "CNCL") == 0)
            return TRK_IN_CANCEL_ACCEPTED;
        if (strcmp(m->status, "RJCR") == 0)
            return TRK_IN_CANCEL_REFUSED;
        refuse(req, XPATH_CXLSTS, "UNSUPPORTED_STATUS",
               "a recall is answered with CNCL or RJCR");
        return 0;
    }
    if (m->amount.present &&
        (strcmp(m->amount.currency, pay->currency) != 0 || m->amount.minor > pay->amount_minor)) {
        refuse(req, XPATH_RTRD_AMT, "RETURN_AMOUNT_INVALID",
               "the return must be in the payment's currency and at most its amount");
        return 0;
    }
    return TRK_IN_RETURN;
}

static void
set_money(json_t *d, const char *key, int64_t minor, int exponent, const char *ccy)
{
    json_t *m = gw_money_json(minor, exponent, ccy);
    if (m != NULL)
        json_object_set_new(d, key, m);
}

static json_t *
charges_json(const iso_status_msg *m)
{
    json_t *arr = json_array();

    for (size_t i = 0; i < m->n_charges && i < ISO_MAX_CHARGES; i++) {
        const iso_charge *c = &m->charges[i];
        json_t *amt = gw_money_json(c->amount_minor, c->exponent, c->currency);
        if (amt != NULL)
            json_array_append_new(arr, json_pack("{s:o,s:{s:s}}", "amount", amt, "agent",
                                                 "bicfi", c->agent_bic));
    }
    return arr;
}

static void
set_text(json_t *d, const char *key, const char *v)
{
    if (v[0] != '\0')
        json_object_set_new(d, key, json_string(v));
}

/* The event's gpi fields beyond the fixed ones. */
static char *
event_detail(const iso_status_msg *m, trk_input in)
{
    json_t *d = json_object();
    const char *amount_key = in == TRK_IN_ACCC ? "confirmed_amount" : "interbank_settlement_amount";

    set_text(d, "instruction_identification", m->original_instr_id);
    set_text(d, "end_to_end_identification", m->original_e2e_id);
    set_text(d, "original_message_identification", m->original_msg_id);
    set_text(d, "interbank_settlement_date", m->settlement_date);
    json_object_set_new(d, "payment_scenario", json_string(in == TRK_IN_RETURN ? "RCCT" : "CCTR"));
    if (m->amount.present)
        set_money(d, amount_key, m->amount.minor, m->amount.exponent, m->amount.currency);
    if (m->n_charges > 0)
        json_object_set_new(d, "charges_information", charges_json(m));
    if ((in == TRK_IN_RJCT || in == TRK_IN_RETURN) && m->reason[0] != '\0')
        json_object_set_new(d, "event_reject_return_reason", json_string(m->reason));
    if (m->kind == ISO_MSG_CAMT029)
        json_object_set_new(d, "cancellation_response_details",
                            json_pack("{s:s,s:s}", "status", m->status, "reason", m->reason));
    char *s = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    return s;
}

static char *
receipt(const iso_status_msg *m, const kind_map *k)
{
    char track[LINK_MAX];

    snprintf(track, sizeof(track), "/tracker/v6/payments/%s/transactions", m->uetr);
    json_t *b = json_pack("{s:s,s:{s:s,s:s,s:s},s:{s:s}}", "uetr", m->uetr, "message", "name",
                          k->short_name, "message_identification", m->msg_id, "from",
                          m->from_bic, "links", "tracker", track);
    char *s = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    return s;
}

static void
fill_event(trk_event *e, const iso_status_msg *m, const kind_map *k, char *detail)
{
    e->at_ms = gw_wall_ms();
    snprintf(e->type, sizeof(e->type), "%s", k->event_type);
    snprintf(e->message_name, sizeof(e->message_name), "%s", m->msg_name);
    snprintf(e->network_ref, sizeof(e->network_ref), "%s", m->msg_id);
    snprintf(e->from, sizeof(e->from), "%s", m->from_bic);
    snprintf(e->to, sizeof(e->to), "%s", m->to_bic);
    snprintf(e->status, sizeof(e->status), "%s", m->status);
    snprintf(e->reason, sizeof(e->reason), "%s", m->reason);
    e->detail = detail;
    e->detail_len = detail ? strlen(detail) : 0;
}

static int
prepare(gw_step *st, const iso_status_msg *m, const kind_map *k, trk_input in)
{
    gw_request *req = st->req;

    if (iso_envelope((const char *)req->body, req->body_len, &st->msg, &st->msg_len) != ISO_OK)
        return -1;
    snprintf(st->uetr, sizeof(st->uetr), "%s", m->uetr);
    snprintf(st->msg_name, sizeof(st->msg_name), "%s", k->short_name);
    snprintf(st->dedup, sizeof(st->dedup), "iso|%.8s|%s", m->from_bic, m->msg_id);
    fill_event(&st->event, m, k, event_detail(m, in));
    st->status = 200;
    st->resp = receipt(m, k);
    if (st->event.detail == NULL || st->resp == NULL)
        return -1;
    st->op.kind = TRK_OP_EVENT;
    st->op.uetr = st->uetr;
    st->op.input = in;
    st->op.event = &st->event;
    st->op.dedup_key = st->dedup;
    st->op.msg_name = st->msg_name;
    st->op.msg = st->msg;
    st->op.msg_len = st->msg_len;
    st->op.record_refused = 1; /* a correspondent's message is kept, even when it cannot apply */
    if (in == TRK_IN_RETURN && m->amount.present)
        st->op.return_amount = m->amount.minor;
    return 0;
}

/* The payment, if it exists and the caller is in its chain (otherwise 404). */
static int
load_visible(gw_request *req, const char *uetr, trk_payment *pay)
{
    int rc = iso_uetr_valid(uetr) ? trk_payment_get(req->app->store, uetr, pay)
                                  : TRK_ERR_NOTFOUND;

    if (iso_uetr_valid(uetr))
        memcpy(req->uetr, uetr, sizeof(req->uetr));
    if (rc == TRK_OK && !gw_can_see_payment(&req->principal, pay)) {
        trk_payment_clear(pay);
        rc = TRK_ERR_NOTFOUND;
        gw_audit_refusal(req, 404, "not the principal's payment");
    }
    if (rc != TRK_OK)
        gw_respond_store_error(req, rc);
    return rc == TRK_OK ? 0 : -1;
}

void
gw_h_message_in(gw_request *req, gw_route_ctx *ctx)
{
    iso_status_msg m;
    trk_payment pay;
    gw_step *st = NULL;
    const kind_map *k;
    trk_input in;

    (void)ctx;
    memset(&pay, 0, sizeof(pay));
    memset(&m, 0, sizeof(m));
    if (read_message(req, &m) != 0 || !sender_ok(req, &m))
        return;
    if ((k = kind_of(&m)) == NULL) {
        gw_respond_error(req, 500, "INTERNAL", "unexpected message kind", NULL);
        return;
    }
    if (load_visible(req, m.uetr, &pay) != 0)
        return;
    in = input_of(req, &m, &pay);
    trk_payment_clear(&pay);
    if (in == 0 || (st = gw_step_new(req)) == NULL)
        return;
    if (prepare(st, &m, k, in) != 0) {
        gw_respond_error(req, 503, "OUT_OF_MEMORY", "try again later", NULL);
        gw_step_free(st);
        return;
    }
    gw_step_submit(st);
}
