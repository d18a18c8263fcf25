/*
 * POST /v1/payments/{uetr}/cancellation — stop and recall (gSRP), body {"reason": "DUPL"}.
 * The camt.056 is always built (from the payment and its pacs.008 event) and handed to the
 * store with TRK_IN_CANCEL: while the payment has not left, the cancel is local (funds
 * released, nothing of the camt.056 kept: 200, CANCELLED); once it has left, the camt.056 is
 * queued in the outbox (202, CANCEL_PENDING, cancellation status PDCR) and the answer comes
 * later as a camt.029. A final or already recalled payment: 409, nothing written.
 */
#include "routes.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CAMT056 "camt.056"
#define CAMT056_VERSION "camt.056.001.08"
#define LINK_MAX 160

static const gw_jfield body_fields[] = {{"reason", GW_J_STRING, 1}};
static const char *const reasons[] = {"DUPL", "CUST", "UPAY", "FRAD", "TECH",
                                      "AGNT", "CURR", "CUTA", "COVR", "AM09", NULL};

static int
read_reason(gw_request *req, char reason[5])
{
    iso_problems pr;
    json_t *body;

    iso_problems_init(&pr);
    if (!gw_content_type_is(req, "application/json")) {
        gw_respond_error(req, 415, "UNSUPPORTED_MEDIA_TYPE", "this route takes application/json",
                         NULL);
        return -1;
    }
    if ((body = gw_body_json(req, &pr)) == NULL) {
        gw_respond_error(req, 400, "MALFORMED_JSON", "the body is not a JSON object", &pr);
        return -1;
    }
    gw_json_shape(body, "", body_fields, 1, &pr);
    gw_json_code(body, "reason", "", reasons, reason, 5, &pr);
    json_decref(body);
    if (pr.n == 0)
        return 0;
    gw_respond_error(req, 422, "INVALID_CANCELLATION", "the cancellation breaks the rules", &pr);
    return -1;
}

static void
copy_detail(const trk_event *e, const char *key, char *out, size_t size)
{
    json_t *d = e->detail ? json_loadb(e->detail, e->detail_len, 0, NULL) : NULL;
    const char *v = json_string_value(json_object_get(d, key));

    snprintf(out, size, "%s", v ? v : "");
    json_decref(d);
}

/* The camt.056 parameters from the payment and its initiation (CTPT) event. */
static int
recall_params(gw_request *req, const trk_payment *pay, const char *reason,
              iso_camt056_params *p)
{
    trk_event *ev = NULL;
    size_t n = 0;
    int rc = trk_events_get(req->app->store, pay->uetr, &ev, &n);

    if (rc != TRK_OK)
        return rc;
    memset(p, 0, sizeof(*p));
    rc = TRK_ERR_CORRUPT;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ev[i].type, "CTPT") != 0)
            continue;
        snprintf(p->assignee_bic, sizeof(p->assignee_bic), "%s", ev[i].to);
        snprintf(p->original_msg_id, sizeof(p->original_msg_id), "%s", ev[i].network_ref);
        copy_detail(&ev[i], "instruction_identification", p->original_instr_id,
                    sizeof(p->original_instr_id));
        copy_detail(&ev[i], "interbank_settlement_date", p->settlement_date,
                    sizeof(p->settlement_date));
        rc = TRK_OK;
        break;
    }
    trk_events_free(ev, n);
    gw_new_msg_id(p->msg_id);
    gw_new_msg_id(p->case_id);
    p->created = time(NULL);
    snprintf(p->assigner_bic, sizeof(p->assigner_bic), "%s", pay->debtor_agent);
    snprintf(p->original_e2e_id, sizeof(p->original_e2e_id), "%s", pay->end_to_end_id);
    snprintf(p->uetr, sizeof(p->uetr), "%s", pay->uetr);
    p->amount_minor = pay->amount_minor;
    p->exponent = pay->exponent;
    snprintf(p->currency, sizeof(p->currency), "%s", pay->currency);
    snprintf(p->reason, sizeof(p->reason), "%s", reason);
    return rc;
}

/* The answer for the state the cancel leads to. */
static int
answer_for(const char *uetr, trk_state to, const char *reason, char **body)
{
    char self[LINK_MAX], camt[LINK_MAX];
    int local = to == TRK_CANCELLED;

    snprintf(self, sizeof(self), "/v1/payments/%s", uetr);
    snprintf(camt, sizeof(camt), "/v1/payments/%s/messages/" CAMT056, uetr);
    json_t *b = json_pack("{s:s,s:s,s:s,s:s,s:{s:s}}", "uetr", uetr, "state",
                          trk_state_name(to), "transaction_cancellation_status",
                          local ? "CNCL" : "PDCR", "reason", reason, "links", "self", self);
    if (b != NULL && !local)
        json_object_set_new(json_object_get(b, "links"), "camt056", json_string(camt));
    *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    return local ? 200 : 202;
}

/* A race the prediction cannot see (the pacs.008 left meanwhile): answer what happened. */
static void
finish(gw_step *st)
{
    trk_op *op = &st->op;
    char *body = NULL;

    if (op->rc == TRK_OK && op->to_state != TRK_CANCELLED && st->status == 200) {
        st->status = answer_for(st->uetr, op->to_state, st->event.reason, &body);
        if (body != NULL) {
            free(st->resp);
            st->resp = body;
        }
    }
    gw_step_answer(st);
}

static void
fill_event(trk_event *e, const iso_camt056_params *p, char *detail)
{
    e->at_ms = gw_wall_ms();
    snprintf(e->type, sizeof(e->type), "CTCA");
    snprintf(e->message_name, sizeof(e->message_name), CAMT056_VERSION);
    snprintf(e->network_ref, sizeof(e->network_ref), "%s", p->msg_id);
    snprintf(e->from, sizeof(e->from), "%s", p->assigner_bic);
    snprintf(e->to, sizeof(e->to), "%s", p->assignee_bic);
    snprintf(e->reason, sizeof(e->reason), "%s", p->reason);
    e->detail = detail;
    e->detail_len = detail ? strlen(detail) : 0;
}

static char *
event_detail(const iso_camt056_params *p)
{
    json_t *d = json_pack("{s:s,s:s,s:{s:s,s:s}}", "service_level", "G002",
                          "instruction_identification", p->original_instr_id,
                          "cancellation_request_details", "case_identification", p->case_id,
                          "reason", p->reason);
    char *s = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    return s;
}

static int
build(gw_step *st, const trk_payment *pay, const iso_camt056_params *p)
{
    iso_problems pr;
    trk_step next = trk_saga_step(pay->state, pay->prev_state, TRK_IN_CANCEL);

    iso_problems_init(&pr);
    int rc = iso_camt056_build(st->req->app->iso, p, &st->msg, &st->msg_len, &pr);
    if (rc != ISO_OK) {
        gw_log(GW_LOG_ERROR, "camt056_build", "uetr=%s rc=%s first=%s %s", pay->uetr,
               iso_strerror(rc), pr.n ? pr.items[0].path : "", pr.n ? pr.items[0].text : "");
        gw_respond_error(st->req, 500, "INTERNAL", "the recall message could not be built", &pr);
        return -1;
    }
    snprintf(st->uetr, sizeof(st->uetr), "%s", pay->uetr);
    snprintf(st->msg_name, sizeof(st->msg_name), CAMT056);
    fill_event(&st->event, p, event_detail(p));
    /* what the store will most likely do; finish() corrects a lost race */
    st->status = answer_for(pay->uetr, next.allowed ? next.next : pay->state, p->reason,
                            &st->resp);
    if (st->event.detail == NULL || st->resp == NULL) {
        gw_respond_error(st->req, 503, "OUT_OF_MEMORY", "try again later", NULL);
        return -1;
    }
    return 0;
}

void
gw_h_payment_cancel(gw_request *req, gw_route_ctx *ctx)
{
    iso_camt056_params p;
    char reason[5];
    gw_step *st;
    int rc;

    if (read_reason(req, reason) != 0)
        return;
    if ((rc = recall_params(req, &ctx->payment, reason, &p)) != TRK_OK) {
        gw_respond_store_error(req, rc);
        return;
    }
    if ((st = gw_step_new(req)) == NULL)
        return;
    if (build(st, &ctx->payment, &p) != 0) {
        gw_step_free(st);
        return;
    }
    st->op.kind = TRK_OP_EVENT;
    st->op.uetr = st->uetr;
    st->op.input = TRK_IN_CANCEL;
    st->op.event = &st->event;
    st->op.msg_name = st->msg_name;
    st->op.msg = st->msg;
    st->op.msg_len = st->msg_len;
    st->op.record_refused = 0; /* a final or recalled payment: 409, nothing written */
    st->finish = finish;
    gw_step_submit(st);
}
