/*
 * One saga step from a request to its commit. The status, message, cancellation and account
 * routes each fill a gw_step (the tracker op, its event, the answer to give) and submit it;
 * nothing is answered before the writer's callback, i.e. before the batch holding the step is
 * committed and fsync'd. The callback runs on the writer thread and only hands the step back
 * to the request's worker.
 */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gw_step *
gw_step_new(gw_request *req)
{
    gw_step *st = calloc(1, sizeof(*st));

    if (st == NULL) {
        gw_respond_error(req, 503, "OUT_OF_MEMORY", "try again later", NULL);
        return NULL;
    }
    st->req = req;
    return st;
}

void
gw_step_free(gw_step *st)
{
    if (st == NULL)
        return;
    trk_event_clear(&st->event);
    free(st->msg);
    free(st->resp);
    free(st->op.replay_body);
    free(st);
}

static void
answer_state(gw_step *st)
{
    char text[160];

    snprintf(text, sizeof(text), "the payment is %s: this does not apply to it",
             trk_state_name(st->op.from_state));
    gw_respond_error(st->req, 409, "STATE_CONFLICT", text, NULL);
}

void
gw_step_answer(gw_step *st)
{
    gw_request *req = st->req;
    trk_op *op = &st->op;

    switch (op->rc) {
    case TRK_OK:
    case TRK_ERR_DUPLICATE: /* absorbed: the same answer as the first time */
        gw_respond(req, st->status, "application/json", st->resp, strlen(st->resp), NULL, 0);
        st->resp = NULL;
        break;
    case TRK_ERR_IDEM_REPLAY:
        gw_respond(req, op->replay_status, "application/json", op->replay_body, op->replay_len,
                   NULL, 0);
        op->replay_body = NULL;
        break;
    case TRK_ERR_IDEM_CONFLICT:
        gw_respond_error(req, 409, "IDEMPOTENCY_KEY_REUSED",
                         "this Idempotency-Key was used with another request body", NULL);
        break;
    case TRK_ERR_STATE:
        answer_state(st);
        break;
    case TRK_ERR_INVALID:
        /* the route's pattern, never the path: the house rule for logs (log.c) */
        gw_log(GW_LOG_ERROR, "step_invalid", "route=%s uetr=%s",
               req->route ? req->route : "unmatched", st->uetr);
        gw_respond_error(req, 500, "INTERNAL", trk_strerror(op->rc), NULL);
        break;
    default:
        gw_respond_store_error(req, op->rc);
    }
    gw_step_free(st);
}

static void
finish(void *arg)
{
    gw_step *st = arg;

    if (st->finish != NULL)
        st->finish(st);
    else
        gw_step_answer(st);
}

/* Runs on the tracker's writer thread: hand the outcome back to the request's worker. */
static void
committed(trk_op *op, void *arg)
{
    gw_step *st = arg;
    (void)op;
    gw_worker_post(st->req->worker, finish, st);
}

void
gw_step_submit(gw_step *st)
{
    gw_request *req = st->req;
    trk_op *op = &st->op;

    op->idem_scope = req->principal.name;
    op->idem_key = req->idem_key;
    gw_request_digest(req, op->idem_digest);
    op->resp_status = st->status;
    op->resp_body = st->resp;
    op->resp_len = st->resp ? strlen(st->resp) : 0;
    op->done = committed;
    op->arg = st;
    int rc = trk_submit(req->app->store, op);
    if (rc != TRK_OK) {
        op->rc = rc; /* refused before queueing: done will not run */
        gw_step_answer(st);
    }
}
