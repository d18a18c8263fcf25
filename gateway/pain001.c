/*
 * pain.001 in (POST /v1/payments, application/xml) and pain.002 out
 * (GET /v1/payments/{uetr}/messages/pain.002).
 *
 * A pain.001 is translated by iso20022 (XSLT, rules, profile) into one pacs.008 per
 * transaction; the gateway checks every debtor agent is the channel's own, then stores all the
 * payments in ONE tracker op — reservations included — so the file is accepted or refused
 * whole. The 201 lists every payment and leaves only after the commit.
 */
#include "routes.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MSG_PACS008 "pacs.008"
#define DBTR_AGT_PATH "/Document/CstmrCdtTrfInitn/PmtInf/DbtrAgt/FinInstnId/BICFI"
#define DBTR_ACCT_PATH "/Document/CstmrCdtTrfInitn/PmtInf/DbtrAcct"
#define LINK_MAX 160

typedef struct pain_job {
    gw_request *req;
    trk_op op;
    iso_pain001 file;        /* owns each transaction's pacs.008 */
    trk_payment *payments;   /* n = file.n_tx */
    trk_event *events;
    trk_create_item *items;
    char *resp;
} pain_job;

static void
job_free(pain_job *job)
{
    for (size_t i = 0; job->payments && i < job->file.n_tx; i++)
        trk_payment_clear(&job->payments[i]);
    for (size_t i = 0; job->events && i < job->file.n_tx; i++)
        trk_event_clear(&job->events[i]);
    free(job->payments);
    free(job->events);
    free(job->items);
    free(job->resp);
    free(job->op.replay_body);
    iso_pain001_free(&job->file);
    free(job);
}

static int
read_file(gw_request *req, pain_job *job)
{
    iso_problems pr;
    int rc;

    iso_problems_init(&pr);
    rc = iso_pain001_read(req->app->iso, (const char *)req->body, req->body_len, time(NULL),
                          &job->file, &pr);
    if (rc == ISO_ERR_SYNTAX)
        gw_respond_error(req, 400, "MALFORMED_XML", "the body is not an acceptable XML document",
                         &pr);
    else if (rc == ISO_ERR_TOOLARGE)
        gw_respond_error(req, 413, "PAYLOAD_TOO_LARGE", "the document is too large", &pr);
    else if (rc == ISO_ERR_INVALID)
        gw_respond_error(req, 422, "INVALID_INSTRUCTION", "the pain.001 breaks the rules", &pr);
    else if (rc != ISO_OK)
        gw_respond_error(req, 503, "UNAVAILABLE", iso_strerror(rc), NULL);
    return rc == ISO_OK ? 0 : -1;
}

/* Every transaction must be initiated for one of the channel's own BICs. */
static int
check_debtor_agents(gw_request *req, const iso_pain001 *f)
{
    iso_problems pr;

    iso_problems_init(&pr);
    for (size_t i = 0; i < f->n_tx; i++)
        if (!gw_principal_has_bic(&req->principal, f->tx[i].in.debtor_agent.bic))
            iso_problems_add(&pr, DBTR_AGT_PATH, "NOT_YOUR_BIC",
                             "transaction %s: a channel initiates only for its own BICs",
                             f->tx[i].in.end_to_end_id);
    if (pr.n == 0)
        return 0;
    gw_respond_error(req, 403, "FORBIDDEN", "a debtor agent is not yours", &pr);
    return -1;
}

static int
prepare_items(pain_job *job)
{
    size_t n = job->file.n_tx;
    json_t *origin = json_pack("{s:s,s:s}", "message", job->file.version, "message_id",
                               job->file.message_id);
    int rc = 0;

    job->payments = calloc(n, sizeof(*job->payments));
    job->events = calloc(n, sizeof(*job->events));
    job->items = calloc(n, sizeof(*job->items));
    if (origin == NULL || !job->payments || !job->events || !job->items)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const iso_pain001_tx *tx = &job->file.tx[i];
        iso_pacs008_params pp = {.created = time(NULL)};
        snprintf(pp.msg_id, sizeof(pp.msg_id), "%s", tx->msg_id);
        snprintf(pp.instructed_bic, sizeof(pp.instructed_bic), "%s", tx->instructed_bic);
        rc = gw_payment_prepare(&job->payments[i], &job->events[i], &tx->in, &pp, origin);
        job->items[i] = (trk_create_item){.payment = &job->payments[i],
                                          .event = &job->events[i],
                                          .msg_name = MSG_PACS008,
                                          .msg = tx->pacs008,
                                          .msg_len = tx->pacs008_len};
    }
    json_decref(origin);
    return rc;
}

/* {"message_id", "payments": [{uetr, end_to_end_id, state, status}]}; states as committed
 * when `committed`, else as predicted from the execution dates. */
static char *
created_body(const pain_job *job, int committed)
{
    json_t *list = json_array();

    for (size_t i = 0; i < job->file.n_tx; i++) {
        const iso_instruction *in = &job->file.tx[i].in;
        trk_state st = committed ? job->items[i].state : gw_accepted_state(in);
        json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s}", "uetr", in->uetr,
                                              "end_to_end_id", in->end_to_end_id, "state",
                                              trk_state_name(st), "status", "ACSP"));
    }
    json_t *b = json_pack("{s:s,s:s,s:o}", "message_id", job->file.message_id, "message",
                          job->file.version, "payments", list);
    char *s = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    return s;
}

static void
respond_created(pain_job *job)
{
    gw_request *req = job->req;
    char *body = created_body(job, 1), location[LINK_MAX];
    gw_header h = {"location", location};

    if (body == NULL) { /* committed: answer with the predicted body rather than nothing */
        body = job->resp;
        job->resp = NULL;
    }
    snprintf(location, sizeof(location), "/v1/payments/%s", job->file.tx[0].in.uetr);
    gw_respond(req, 201, "application/json", body, strlen(body), &h, job->file.n_tx == 1);
}

static void
finish(void *arg)
{
    pain_job *job = arg;
    gw_request *req = job->req;
    char path[160];

    switch (job->op.rc) {
    case TRK_OK:
        respond_created(job);
        break;
    case TRK_ERR_IDEM_REPLAY:
        gw_respond(req, job->op.replay_status, "application/json", job->op.replay_body,
                   job->op.replay_len, NULL, 0);
        job->op.replay_body = NULL;
        break;
    case TRK_ERR_FUNDS:
        snprintf(path, sizeof(path), DBTR_ACCT_PATH "[transaction %zu]",
                 job->op.failed_index + 1);
        gw_funds_refused(req, job->op.funds_reason, path);
        break;
    default:
        gw_respond_create_refused(req, &job->op, NULL);
    }
    job_free(job);
}

static void
committed(trk_op *op, void *arg)
{
    pain_job *job = arg;
    (void)op;
    gw_worker_post(job->req->worker, finish, job);
}

static void
submit(gw_request *req, pain_job *job)
{
    trk_op *op = &job->op;

    op->kind = TRK_OP_CREATE;
    op->items = job->items;
    op->n_items = job->file.n_tx;
    op->idem_scope = req->principal.name;
    op->idem_key = req->idem_key;
    gw_request_digest(req, op->idem_digest);
    op->resp_status = 201;
    op->resp_body = job->resp;
    op->resp_len = strlen(job->resp);
    op->done = committed;
    op->arg = job;
    int rc = trk_submit(req->app->store, op);
    if (rc != TRK_OK) {
        gw_respond_store_error(req, rc);
        job_free(job);
    }
}

void
gw_payment_create_pain001(gw_request *req)
{
    pain_job *job = calloc(1, sizeof(*job));

    if (job == NULL) {
        gw_respond_error(req, 503, "OUT_OF_MEMORY", "try again later", NULL);
        return;
    }
    job->req = req;
    if (read_file(req, job) != 0 || check_debtor_agents(req, &job->file) != 0) {
        job_free(job);
        return;
    }
    if (prepare_items(job) != 0 || (job->resp = created_body(job, 0)) == NULL) {
        gw_respond_error(req, 503, "OUT_OF_MEMORY", "try again later", NULL);
        job_free(job);
        return;
    }
    submit(req, job);
}

/* ---- pain.002 ------------------------------------------------------------------------------ */

/* The customer-facing status of a payment: ACSP under way, ACCC credited, RJCT refused. */
static void
report_status(const trk_payment *pay, iso_pain002_params *p)
{
    snprintf(p->status, sizeof(p->status), "%s", pay->status[0] ? pay->status : "ACSP");
    if (strcmp(p->status, "RJCT") == 0)
        snprintf(p->reason, sizeof(p->reason), "%s", pay->reason);
}

static int
pain002_params(const trk_payment *pay, iso_pain002_params *p)
{
    json_t *doc = json_loadb(pay->doc, pay->doc_len, 0, NULL);
    json_t *origin = json_object_get(doc, "origin");
    const char *msg = json_string_value(json_object_get(origin, "message"));
    const char *mid = json_string_value(json_object_get(origin, "message_id"));
    const char *instr = json_string_value(json_object_get(doc, "instruction_id"));
    int rc = msg && mid ? 0 : -1;

    memset(p, 0, sizeof(*p));
    gw_new_msg_id(p->msg_id);
    p->created = time(NULL);
    snprintf(p->initiating_party, sizeof(p->initiating_party), "%s", pay->customer_id);
    snprintf(p->debtor_agent_bic, sizeof(p->debtor_agent_bic), "%s", pay->debtor_agent);
    snprintf(p->original_msg_id, sizeof(p->original_msg_id), "%s", mid ? mid : "");
    snprintf(p->original_msg_name, sizeof(p->original_msg_name), "%s", msg ? msg : "");
    snprintf(p->original_e2e_id, sizeof(p->original_e2e_id), "%s", pay->end_to_end_id);
    snprintf(p->original_instr_id, sizeof(p->original_instr_id), "%s", instr ? instr : "");
    snprintf(p->uetr, sizeof(p->uetr), "%s", pay->uetr);
    p->amount_minor = pay->amount_minor;
    p->exponent = pay->exponent;
    snprintf(p->currency, sizeof(p->currency), "%s", pay->currency);
    report_status(pay, p);
    json_decref(doc);
    return rc;
}

void
gw_respond_pain002(gw_request *req, const trk_payment *pay)
{
    iso_pain002_params p;
    iso_problems pr;
    char *xml = NULL;
    size_t len = 0;

    if (pain002_params(pay, &p) != 0) {
        gw_respond_error(req, 404, "MESSAGE_NOT_FOUND",
                         "a pain.002 answers payments initiated by pain.001", NULL);
        return;
    }
    iso_problems_init(&pr);
    int rc = iso_pain002_build(req->app->iso, &p, &xml, &len, &pr);
    if (rc != ISO_OK) {
        gw_respond_error(req, 500, "INTERNAL", "the pain.002 could not be built", &pr);
        return;
    }
    gw_respond(req, 200, "application/xml", xml, len, NULL, 0);
}
