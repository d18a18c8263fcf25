/*
 * Payment routes. POST /v1/payments is the spine: parse and check the instruction, build and
 * schema-check the pacs.008, then hand one write (payment + first event + message +
 * reservation of the instructed amount + idempotency record) to the tracker's writer. The 201
 * leaves only from the writer's callback, i.e. after the batch holding it is committed and
 * fsync'd; a refused reservation is 422 AC01 / AM03 / AM04 and nothing is kept.
 */
#include "routes.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MSG_PACS008 "pacs.008"
#define MSG_PACS008_VERSION "pacs.008.001.08"
#define LINK_MAX 160

/* Everything an in-flight creation owns, from dispatch until the response is given. */
typedef struct create_job {
    gw_request *req;
    trk_op op;
    trk_payment payment;
    trk_event event;
    char *xml;
    size_t xml_len;
    char *resp;
    trk_state state; /* the state the 201 announces (stored for replays) */
} create_job;

static void
job_free(create_job *job)
{
    trk_payment_clear(&job->payment);
    trk_event_clear(&job->event);
    free(job->xml);
    free(job->resp);
    free(job->op.replay_body);
    free(job);
}

static void
money(json_t *obj, const char *key, const iso_instruction *in)
{
    char amount[32];

    iso_amount_format(in->amount_minor, in->exponent, amount, sizeof(amount));
    json_object_set_new(obj, key, json_pack("{s:s,s:s}", "currency", in->currency, "amount",
                                            amount));
}

/* The gpi fields of the initiation event that the event's fixed fields do not hold. */
static char *
event_detail(const iso_instruction *in, const char *instr_id)
{
    json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:s}", "service_level", "G001",
                          "end_to_end_identification", in->end_to_end_id,
                          "instruction_identification", instr_id, "charge_bearer",
                          in->charge_bearer, "payment_scenario", "CCTR");
    money(d, "instructed_amount", in);
    money(d, "interbank_settlement_amount", in);
    json_object_set_new(d, "interbank_settlement_date",
                        json_string(in->requested_execution_date));
    /* The agents a gpi view shows for this event: kept here, the view needs no instruction. */
    json_object_set_new(d, "debtor_agent", json_string(in->debtor_agent.bic));
    json_object_set_new(d, "creditor_agent", json_string(in->creditor_agent.bic));
    for (size_t i = 0; i < in->n_intermediaries && i < 3; i++) {
        char key[32];
        snprintf(key, sizeof(key), "intermediary_agent%zu", i + 1);
        json_object_set_new(d, key, json_string(in->intermediaries[i].bic));
    }
    char *s = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    return s;
}

static char *
created_body(const char *uetr, trk_state state)
{
    char self[LINK_MAX], track[LINK_MAX], pacs[LINK_MAX];

    snprintf(self, sizeof(self), "/v1/payments/%s", uetr);
    snprintf(track, sizeof(track), "/tracker/v6/payments/%s/transactions", uetr);
    snprintf(pacs, sizeof(pacs), "/v1/payments/%s/messages/" MSG_PACS008, uetr);
    json_t *b = json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s}}", "uetr", uetr, "state",
                          trk_state_name(state), "status", "ACSP", "links", "self", self,
                          "tracker", track, "pacs008", pacs);
    char *s = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    return s;
}

/* The state the store gives a new payment: SCHEDULED when it is for a later day (UTC). */
trk_state
gw_accepted_state(const iso_instruction *in)
{
    char today[11];
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(today, sizeof(today), "%Y-%m-%d", &tm);
    return strcmp(in->requested_execution_date, today) > 0 ? TRK_SCHEDULED : TRK_FUNDS_RESERVED;
}

static void
fill_funds(trk_payment *p, const iso_instruction *in, const iso_pacs008_params *pp)
{
    const iso_account *a = &in->debtor.account;

    snprintf(p->debit_account, sizeof(p->debit_account), "%s", a->iban[0] ? a->iban : a->other);
    snprintf(p->end_to_end_id, sizeof(p->end_to_end_id), "%s", in->end_to_end_id);
    p->amount_minor = in->amount_minor;
    p->exponent = in->exponent;
    snprintf(p->currency, sizeof(p->currency), "%s", in->currency);
    snprintf(p->execute_on, sizeof(p->execute_on), "%s", in->requested_execution_date);
    snprintf(p->msg_id, sizeof(p->msg_id), "%s", pp->msg_id);
}

static void
fill_payment(trk_payment *p, const iso_instruction *in, char *doc, size_t doc_len)
{
    snprintf(p->uetr, sizeof(p->uetr), "%s", in->uetr);
    p->state = TRK_VALIDATED;
    snprintf(p->status, sizeof(p->status), "ACSP");
    snprintf(p->debtor_agent, sizeof(p->debtor_agent), "%s", in->debtor_agent.bic);
    snprintf(p->customer_id, sizeof(p->customer_id), "%s", in->customer_id);
    for (size_t i = 0; i < in->n_intermediaries; i++)
        snprintf(p->chain[p->chain_len++], sizeof(p->chain[0]), "%s", in->intermediaries[i].bic);
    snprintf(p->chain[p->chain_len++], sizeof(p->chain[0]), "%s", in->creditor_agent.bic);
    p->created_ms = p->updated_ms = gw_wall_ms();
    p->doc = doc;
    p->doc_len = doc_len;
}

static void
fill_event(trk_event *e, const iso_instruction *in, const iso_pacs008_params *pp,
           int64_t at_ms)
{
    e->at_ms = at_ms;
    snprintf(e->type, sizeof(e->type), "CTPT");
    snprintf(e->message_name, sizeof(e->message_name), MSG_PACS008_VERSION);
    snprintf(e->network_ref, sizeof(e->network_ref), "%s", pp->msg_id);
    snprintf(e->from, sizeof(e->from), "%s", in->debtor_agent.bic);
    snprintf(e->to, sizeof(e->to), "%s", pp->instructed_bic);
    snprintf(e->status, sizeof(e->status), "ACSP");
}

/* The UETR a replayed 201 named, for its Location header. */
static void
replayed_location(const trk_op *op, char *buf, size_t size)
{
    json_t *b = json_loadb(op->replay_body, op->replay_len, 0, NULL);
    const char *uetr = json_string_value(json_object_get(b, "uetr"));

    snprintf(buf, size, "/v1/payments/%s", uetr ? uetr : "");
    json_decref(b);
}

static void
correct_state(create_job *job)
{
    char *body = created_body(job->payment.uetr, job->op.to_state);

    if (body != NULL) {
        free(job->resp);
        job->resp = body;
    }
}

/* The reservation was refused (DESIGN "Funds are checked before the 201"): nothing is kept. */
void
gw_funds_refused(gw_request *req, const char *reason, const char *path)
{
    static const struct {
        const char *code, *text;
    } reasons[] = {
        {"AC01", "the debtor account is not known here (or not the customer's)"},
        {"AM03", "the debtor account is held in another currency"},
        {"AM04", "the debtor account does not hold enough available funds"},
    };
    iso_problems pr;
    const char *text = "the funds could not be reserved";

    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (strcmp(reason, reasons[i].code) == 0)
            text = reasons[i].text;
    iso_problems_init(&pr);
    iso_problems_add(&pr, path, reason, "%s", text);
    gw_respond_error(req, 422, reason[0] ? reason : "FUNDS_REFUSED", text, &pr);
}

static void
finish_create(void *arg)
{
    create_job *job = arg;
    gw_request *req = job->req;
    char location[LINK_MAX];
    gw_header h = {"location", location};

    snprintf(location, sizeof(location), "/v1/payments/%s", job->payment.uetr);
    switch (job->op.rc) {
    case TRK_OK:
        if (job->op.to_state != job->state && job->op.to_state != 0)
            correct_state(job); /* the day turned between the request and the commit */
        gw_respond(req, 201, "application/json", job->resp, strlen(job->resp), &h, 1);
        job->resp = NULL;
        break;
    case TRK_ERR_IDEM_REPLAY:
        /* the stored response, byte for byte; it created this key's payment */
        replayed_location(&job->op, location, sizeof(location));
        gw_respond(req, job->op.replay_status, "application/json", job->op.replay_body,
                   job->op.replay_len, &h, job->op.replay_status == 201);
        job->op.replay_body = NULL;
        break;
    default:
        gw_respond_create_refused(req, &job->op, "/debtor/account");
    }
    job_free(job);
}

void
gw_respond_create_refused(gw_request *req, const trk_op *op, const char *funds_path)
{
    switch (op->rc) {
    case TRK_ERR_IDEM_CONFLICT:
        gw_respond_error(req, 409, "IDEMPOTENCY_KEY_REUSED",
                         "this Idempotency-Key was used with another request body", NULL);
        break;
    case TRK_ERR_EXISTS:
        gw_respond_error(req, 409, "UETR_EXISTS", "a payment with this UETR already exists",
                         NULL);
        break;
    case TRK_ERR_FUNDS:
        gw_funds_refused(req, op->funds_reason, funds_path);
        break;
    default:
        gw_respond_store_error(req, op->rc);
    }
}

/* Runs on the tracker's writer thread: hand the outcome back to the request's worker. */
static void
create_committed(trk_op *op, void *arg)
{
    create_job *job = arg;
    (void)op;
    gw_worker_post(job->req->worker, finish_create, job);
}

static int
parse_instruction(gw_request *req, iso_instruction *in, iso_problems *pr)
{
    int rc;

    if (!gw_content_type_is(req, "application/json")) {
        gw_respond_error(req, 415, "UNSUPPORTED_MEDIA_TYPE",
                         "POST /v1/payments takes application/json or application/xml "
                         "(pain.001.001.09, pain.001.001.03)",
                         NULL);
        return -1;
    }
    rc = iso_instruction_from_json((const char *)req->body, req->body_len, time(NULL), in, pr);
    if (rc == ISO_ERR_SYNTAX)
        gw_respond_error(req, 400, "MALFORMED_JSON", "the body is not a JSON object", pr);
    else if (rc == ISO_ERR_INVALID)
        gw_respond_error(req, 422, "INVALID_INSTRUCTION", "the instruction breaks the rules", pr);
    else if (rc == ISO_ERR_TOOLARGE)
        gw_respond_error(req, 413, "PAYLOAD_TOO_LARGE", "the instruction is too large", NULL);
    else if (rc != ISO_OK)
        gw_respond_error(req, 500, "INTERNAL", iso_strerror(rc), NULL);
    if (rc != ISO_OK)
        return -1;
    if (!gw_principal_has_bic(&req->principal, in->debtor_agent.bic)) {
        iso_problems_add(pr, "/debtor_agent/bic", "NOT_YOUR_BIC",
                         "a channel initiates only for its own BICs");
        gw_respond_error(req, 403, "FORBIDDEN", "the debtor agent is not yours", pr);
        return -1;
    }
    if (in->uetr[0] == '\0')
        iso_uetr_generate(in->uetr);
    return 0;
}

static int
build_message(gw_request *req, create_job *job, const iso_instruction *in,
              iso_pacs008_params *pp, iso_problems *pr)
{
    gw_new_msg_id(pp->msg_id);
    pp->created = time(NULL);
    const iso_agent *next = in->n_intermediaries ? &in->intermediaries[0] : &in->creditor_agent;
    snprintf(pp->instructed_bic, sizeof(pp->instructed_bic), "%s", next->bic);
    int rc = iso_pacs008_build(req->app->iso, in, pp, &job->xml, &job->xml_len, pr);
    if (rc == ISO_ERR_INVALID)
        gw_respond_error(req, 422, "INVALID_INSTRUCTION",
                         "the pacs.008 built from the instruction breaks the profile", pr);
    else if (rc != ISO_OK)
        gw_respond_error(req, 500, "INTERNAL", iso_strerror(rc), NULL);
    return rc == ISO_OK ? 0 : -1;
}

/* The stored doc: the instruction's canonical JSON, plus where it came from (pain.001). */
static int
instruction_doc(const iso_instruction *in, const json_t *origin, char **doc, size_t *len)
{
    if (iso_instruction_to_json(in, doc, len) != ISO_OK)
        return -1;
    if (origin == NULL)
        return 0;
    json_t *d = json_loadb(*doc, *len, 0, NULL);
    free(*doc);
    *doc = NULL;
    if (d == NULL)
        return -1;
    json_object_set(d, "origin", (json_t *)origin);
    *doc = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    *len = *doc ? strlen(*doc) : 0;
    return *doc ? 0 : -1;
}

int
gw_payment_prepare(trk_payment *p, trk_event *e, const iso_instruction *in,
                   const iso_pacs008_params *pp, const json_t *origin)
{
    char *doc = NULL, instr[17];
    size_t doc_len = 0;

    if (instruction_doc(in, origin, &doc, &doc_len) != 0)
        return -1;
    fill_payment(p, in, doc, doc_len);
    fill_funds(p, in, pp);
    fill_event(e, in, pp, p->created_ms);
    /* the builder's rule: InstrId is the instruction's, else the MsgId cut to Max16 */
    const char *src = in->instruction_id[0] ? in->instruction_id : pp->msg_id;
    size_t n = strnlen(src, sizeof(instr) - 1);
    memcpy(instr, src, n);
    instr[n] = '\0';
    e->detail = event_detail(in, instr);
    e->detail_len = e->detail ? strlen(e->detail) : 0;
    return e->detail ? 0 : -1;
}

static int
prepare(create_job *job, const iso_instruction *in, const iso_pacs008_params *pp)
{
    if (gw_payment_prepare(&job->payment, &job->event, in, pp, NULL) != 0)
        return -1;
    job->state = gw_accepted_state(in);
    job->resp = created_body(in->uetr, job->state);
    return job->resp ? 0 : -1;
}

static void
submit(gw_request *req, create_job *job)
{
    trk_op *op = &job->op;

    op->kind = TRK_OP_CREATE;
    op->payment = &job->payment;
    op->event = &job->event;
    op->msg_name = MSG_PACS008;
    op->msg = job->xml;
    op->msg_len = job->xml_len;
    op->idem_scope = req->principal.name;
    op->idem_key = req->idem_key;
    gw_request_digest(req, op->idem_digest);
    op->resp_status = 201;
    op->resp_body = job->resp;
    op->resp_len = strlen(job->resp);
    op->done = create_committed;
    op->arg = job;
    int rc = trk_submit(req->app->store, op);
    if (rc != TRK_OK) {
        gw_respond_store_error(req, rc);
        job_free(job);
    }
}

void
gw_h_payment_create(gw_request *req, gw_route_ctx *ctx)
{
    iso_instruction in;
    iso_pacs008_params pp;
    iso_problems pr;
    create_job *job = NULL;

    (void)ctx;
    if (gw_idem_answered(req))
        return;
    if (gw_content_type_is(req, "application/xml")) {
        gw_payment_create_pain001(req);
        return;
    }
    iso_problems_init(&pr);
    memset(&pp, 0, sizeof(pp));
    if (parse_instruction(req, &in, &pr) != 0)
        return;
    if ((job = calloc(1, sizeof(*job))) == NULL) {
        gw_respond_error(req, 503, "OUT_OF_MEMORY", "try again later", NULL);
        return;
    }
    job->req = req;
    if (build_message(req, job, &in, &pp, &pr) != 0) {
        job_free(job);
        return;
    }
    if (prepare(job, &in, &pp) != 0) {
        gw_respond_error(req, 503, "OUT_OF_MEMORY", "try again later", NULL);
        job_free(job);
        return;
    }
    submit(req, job);
}

void
gw_h_payment_get(gw_request *req, gw_route_ctx *ctx)
{
    trk_event *ev = NULL;
    char(*names)[64] = NULL;
    size_t n = 0, n_names = 0;
    int rc = trk_events_get(req->app->store, ctx->uetr, &ev, &n);

    if (rc == TRK_OK)
        rc = trk_messages_list(req->app->store, ctx->uetr, &names, &n_names);
    if (rc != TRK_OK)
        gw_respond_store_error(req, rc);
    else
        gw_respond_json(req, 200,
                        gw_view_payment(&ctx->payment, ev, n, (const char(*)[64])names, n_names),
                        NULL, 0);
    trk_events_free(ev, n);
    free(names);
}

void
gw_h_tracker_transactions(gw_request *req, gw_route_ctx *ctx)
{
    trk_event *ev = NULL;
    size_t n = 0;
    int rc = trk_events_get(req->app->store, ctx->uetr, &ev, &n);

    if (rc != TRK_OK) {
        gw_respond_store_error(req, rc);
        return;
    }
    gw_respond_json(req, 200, gw_view_transaction(&ctx->payment, ev, n), NULL, 0);
    trk_events_free(ev, n);
}

void
gw_h_payment_message(gw_request *req, gw_route_ctx *ctx)
{
    char *buf = NULL;
    size_t len = 0;
    if (strcmp(ctx->name, "pain.002") == 0) {
        gw_respond_pain002(req, &ctx->payment); /* built on request from the current state */
        return;
    }
    /* any message stored for the payment: pacs.008, camt.056, an inbound pacs.002 ... */
    int rc = trk_message_get(req->app->store, ctx->uetr, ctx->name, &buf, &len);

    if (rc == TRK_ERR_NOTFOUND) {
        gw_respond_error(req, 404, "MESSAGE_NOT_FOUND", "no such message for this payment",
                         NULL);
        return;
    }
    if (rc != TRK_OK) {
        gw_respond_store_error(req, rc);
        return;
    }
    gw_respond(req, 200, "application/xml", buf, len, NULL, 0);
}

void
gw_h_healthz(gw_request *req, gw_route_ctx *ctx)
{
    (void)ctx;
    gw_respond_json(req, 200, json_pack("{s:s}", "status", "ok"), NULL, 0);
}

void
gw_respond_store_error(gw_request *req, int rc)
{
    if (rc == TRK_ERR_NOTFOUND)
        gw_respond_error(req, 404, "PAYMENT_NOT_FOUND", "no such payment", NULL);
    else if (rc == TRK_ERR_NOMEM)
        gw_respond_error(req, 503, "OUT_OF_MEMORY", "try again later", NULL);
    else
        gw_respond_error(req, 503, "STORE_UNAVAILABLE", trk_strerror(rc), NULL);
}
