/*
 * tracker/step.c and create.c through TRK_OP_EVENT: duplicates absorbed, out-of-order and
 * conflicting updates recorded as anomalies without rewinding, the chain growing, stop and
 * recall (CNCL, RJCR back to where it was, recall after completion and the pacs.004),
 * refused channel inputs leaving nothing behind, idempotency of updates, possible
 * duplicates on create, and the submit-time checks of the new op kinds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

#define ACCT "GB33BUKB20201555555555"
#define OWNER "ACME-001"
#define OPENING 10000000
#define SCOPE "correspondent:CRSPUS30"

typedef struct env {
    char *dir;
    trk_store *s;
} env;

static int
setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    trk_config cfg = {0};

    if (!e)
        return -1;
    e->dir = tmpdir_make();
    cfg.dir = e->dir;
    cfg.tick_ms = 3600 * 1000;
    if (!e->dir || trk_open(&e->s, &cfg) != TRK_OK ||
        account_put(e->s, ACCT, OPENING, OWNER) != TRK_OK)
        return -1;
    *state = e;
    return 0;
}

static int
teardown(void **state)
{
    env *e = *state;

    expect_verified(e->s); /* every test leaves a consistent store */
    trk_close(e->s);
    tmpdir_remove(e->dir);
    free(e);
    return 0;
}

static void
create(trk_store *s, fx *f, unsigned a, unsigned b)
{
    char uetr[37];

    uetr_make(uetr, a, b);
    fx_init(f, uetr);
    fx_fund(f, ACCT);
    assert_int_equal(submit_wait(s, &f->op), TRK_OK);
}

static void
get(trk_store *s, const char *uetr, trk_payment *p)
{
    assert_int_equal(trk_payment_get(s, uetr, p), TRK_OK);
}

static trk_event
last_event(trk_store *s, const char *uetr, size_t *count)
{
    trk_event *ev, last;
    size_t n;

    assert_int_equal(trk_events_get(s, uetr, &ev, &n), TRK_OK);
    assert_true(n > 0);
    last = ev[n - 1];
    last.detail = NULL; /* freed with the rest: the callers look at fixed fields only */
    trk_events_free(ev, n);
    if (count)
        *count = n;
    return last;
}

/* ---- duplicates, order, conflicts ------------------------------------------------------- */

static void
test_duplicate_absorbed(void **state)
{
    env *e = *state;
    size_t n1, n2;
    evx x;
    fx f, g;

    create(e->s, &f, 1, 1);
    evx_init(&x, f.payment.uetr, TRK_IN_ACSP, "CRSPUS30XXX", 1);
    x.op.dedup_key = "CRSPUS30:S1";
    assert_int_equal(evx_run(e->s, &x), TRK_OK);
    assert_int_equal(x.op.seq, 2);
    last_event(e->s, f.payment.uetr, &n1);
    evx_init(&x, f.payment.uetr, TRK_IN_ACSP, "CRSPUS30XXX", 1);
    x.op.dedup_key = "CRSPUS30:S1";
    assert_int_equal(evx_run(e->s, &x), TRK_ERR_DUPLICATE);
    assert_int_equal(x.op.seq, 2); /* the event the first one made */
    assert_int_equal(x.op.to_state, TRK_IN_PROGRESS);
    last_event(e->s, f.payment.uetr, &n2);
    assert_int_equal(n1, n2);
    /* The same id about another payment is another update. */
    create(e->s, &g, 1, 2);
    evx_init(&x, g.payment.uetr, TRK_IN_ACSP, "CRSPUS30XXX", 1);
    x.op.dedup_key = "CRSPUS30:S1";
    assert_int_equal(evx_run(e->s, &x), TRK_OK);
}

static void
test_out_of_order_recorded_not_rewound(void **state)
{
    env *e = *state;
    trk_payment p;
    trk_event ev;
    int64_t before;
    evx x;
    fx f;

    create(e->s, &f, 2, 1);
    assert_int_equal(input(e->s, f.payment.uetr, TRK_IN_ACCC, NULL), TRK_OK);
    get(e->s, f.payment.uetr, &p);
    before = p.updated_ms;
    assert_int_equal(p.flags & TRK_PF_ANOMALY, 0);
    trk_payment_clear(&p);
    evx_init(&x, f.payment.uetr, TRK_IN_ACSP, "CRSPUS30XXX", 7); /* late ACSP */
    x.op.add_chain = "NEWBGB22XXX";
    assert_int_equal(evx_run(e->s, &x), TRK_OK);
    assert_int_equal(x.op.anomaly, 1);
    assert_int_equal(x.op.from_state, TRK_COMPLETED);
    assert_int_equal(x.op.to_state, TRK_COMPLETED);
    get(e->s, f.payment.uetr, &p);
    assert_int_equal(p.state, TRK_COMPLETED);
    assert_string_equal(p.status, "ACCC");
    assert_true(p.flags & TRK_PF_ANOMALY);
    assert_true(p.updated_ms >= before);
    assert_int_equal(p.chain_len, 2); /* an anomaly grows nothing */
    trk_payment_clear(&p);
    ev = last_event(e->s, f.payment.uetr, NULL);
    assert_int_equal(ev.flags, TRK_EF_ANOMALY);
    assert_int_equal(ev.input, TRK_IN_ACSP);
    assert_int_equal(ev.state, TRK_COMPLETED);
    assert_string_equal(ev.status, "ACSP");
}

static void
test_accc_after_rjct_is_anomaly(void **state)
{
    env *e = *state;
    trk_payment p;
    evx x;
    fx f;

    create(e->s, &f, 3, 1);
    assert_int_equal(input(e->s, f.payment.uetr, TRK_IN_RJCT, NULL), TRK_OK);
    evx_init(&x, f.payment.uetr, TRK_IN_ACCC, "BENFDE20XXX", 8);
    assert_int_equal(evx_run(e->s, &x), TRK_OK);
    assert_int_equal(x.op.anomaly, 1);
    get(e->s, f.payment.uetr, &p);
    assert_int_equal(p.state, TRK_REJECTED);
    assert_string_equal(p.status, "RJCT");
    assert_string_equal(p.reason, "AC04");
    assert_true(p.flags & TRK_PF_ANOMALY);
    trk_payment_clear(&p);
    assert_int_equal(account_balance(e->s, ACCT), OPENING); /* never settled */
    assert_int_equal(account_reserved(e->s, ACCT), 0);
    /* A repeated RJCT is consistent: recorded, not an anomaly. */
    evx_init(&x, f.payment.uetr, TRK_IN_RJCT, "BENFDE20XXX", 9);
    assert_int_equal(evx_run(e->s, &x), TRK_OK);
    assert_int_equal(x.op.anomaly, 0);
}

static void
test_chain_grows(void **state)
{
    static const char *const hops[] = {"HOPAUS33", "HOPBUS33XXX", "HOPCUS33", "HOPDUS33",
                                       "HOPEUS33", "HOPFUS33",    "HOPGUS33"};
    env *e = *state;
    trk_payment p;
    unsigned i;
    evx x;
    fx f;

    create(e->s, &f, 4, 1);
    for (i = 0; i < sizeof hops / sizeof hops[0]; i++) {
        evx_init(&x, f.payment.uetr, TRK_IN_ACSP, "CRSPUS30XXX", 20 + i);
        x.op.add_chain = hops[i];
        assert_int_equal(evx_run(e->s, &x), TRK_OK);
    }
    get(e->s, f.payment.uetr, &p);
    assert_int_equal(p.chain_len, TRK_MAX_CHAIN); /* 2 + 6: the seventh did not fit */
    assert_string_equal(p.chain[2], "HOPAUS33");
    assert_string_equal(p.chain[3], "HOPBUS33XXX");
    assert_string_equal(p.reason, "G000");
    trk_payment_clear(&p);

    create(e->s, &f, 4, 2);
    evx_init(&x, f.payment.uetr, TRK_IN_ACSP, "CRSPUS30XXX", 30);
    x.op.add_chain = "CRSPUS30NYC"; /* the same party by BIC8: not added */
    assert_int_equal(evx_run(e->s, &x), TRK_OK);
    get(e->s, f.payment.uetr, &p);
    assert_int_equal(p.chain_len, 2);
    trk_payment_clear(&p);
}

/* ---- stop and recall -------------------------------------------------------------------- */

static void
in_progress(env *e, fx *f, unsigned a, unsigned b)
{
    create(e->s, f, a, b);
    assert_int_equal(input(e->s, f->payment.uetr, TRK_IN_ACSP, NULL), TRK_OK);
}

static void
recall(env *e, const char *uetr, trk_state prev)
{
    trk_payment p;
    trk_stats st;
    char *msg;
    size_t len;
    evx x;

    evx_init(&x, uetr, TRK_IN_CANCEL, "CRDRGB20XXX", 40);
    assert_int_equal(evx_run(e->s, &x), TRK_OK);
    assert_int_equal(x.op.to_state, TRK_CANCEL_PENDING);
    get(e->s, uetr, &p);
    assert_int_equal(p.prev_state, prev);
    assert_string_equal(p.cancellation_status, "PDCR");
    trk_payment_clear(&p);
    assert_int_equal(trk_message_get(e->s, uetr, "camt.056", &msg, &len), TRK_OK);
    assert_string_equal(msg, x.msg);
    free(msg);
    assert_int_equal(trk_stats_get(e->s, &st), TRK_OK);
    assert_true(st.outbox >= 1); /* the camt.056 waits (no spool here) */
    /* One recall at a time: a second is refused, nothing written. */
    evx_init(&x, uetr, TRK_IN_CANCEL, "CRDRGB20XXX", 41);
    assert_int_equal(evx_run(e->s, &x), TRK_ERR_STATE);
}

static void
test_recall_cancelled(void **state)
{
    env *e = *state;
    trk_payment p;
    fx f;

    in_progress(e, &f, 5, 1);
    recall(e, f.payment.uetr, TRK_IN_PROGRESS);
    assert_int_equal(account_reserved(e->s, ACCT), FX_AMOUNT); /* held until the answer */
    assert_int_equal(input(e->s, f.payment.uetr, TRK_IN_CANCEL_ACCEPTED, NULL), TRK_OK);
    get(e->s, f.payment.uetr, &p);
    assert_int_equal(p.state, TRK_CANCELLED);
    assert_string_equal(p.status, "RJCT");
    assert_string_equal(p.cancellation_status, "CNCL");
    trk_payment_clear(&p);
    assert_int_equal(account_reserved(e->s, ACCT), 0);
    assert_int_equal(account_balance(e->s, ACCT), OPENING);
}

static void
test_recall_refused_goes_back(void **state)
{
    env *e = *state;
    trk_payment p;
    fx f;

    in_progress(e, &f, 6, 1);
    recall(e, f.payment.uetr, TRK_IN_PROGRESS);
    assert_int_equal(input(e->s, f.payment.uetr, TRK_IN_CANCEL_REFUSED, NULL), TRK_OK);
    get(e->s, f.payment.uetr, &p);
    assert_int_equal(p.state, TRK_IN_PROGRESS);
    assert_int_equal(p.prev_state, 0);
    assert_string_equal(p.cancellation_status, "RJCR");
    trk_payment_clear(&p);
    assert_int_equal(account_reserved(e->s, ACCT), FX_AMOUNT);
    /* The payment goes on as before. */
    assert_int_equal(input(e->s, f.payment.uetr, TRK_IN_ACCC, NULL), TRK_OK);
    assert_int_equal(state_of(e->s, f.payment.uetr), TRK_COMPLETED);
}

/* Credited while the recall was on its way: settled, and the recall goes on as gSRP. */
static void
test_accc_during_recall(void **state)
{
    env *e = *state;
    trk_payment p;
    fx f;

    in_progress(e, &f, 7, 1);
    recall(e, f.payment.uetr, TRK_IN_PROGRESS);
    assert_int_equal(input(e->s, f.payment.uetr, TRK_IN_ACCC, NULL), TRK_OK);
    get(e->s, f.payment.uetr, &p);
    assert_int_equal(p.state, TRK_CANCEL_PENDING);
    assert_int_equal(p.prev_state, TRK_COMPLETED);
    assert_string_equal(p.status, "ACCC");
    trk_payment_clear(&p);
    assert_int_equal(account_balance(e->s, ACCT), OPENING - FX_AMOUNT);
    assert_int_equal(input(e->s, f.payment.uetr, TRK_IN_CANCEL_REFUSED, NULL), TRK_OK);
    assert_int_equal(state_of(e->s, f.payment.uetr), TRK_COMPLETED);
}

static void
test_rjct_during_recall(void **state)
{
    env *e = *state;
    trk_payment p;
    fx f;

    in_progress(e, &f, 8, 1);
    recall(e, f.payment.uetr, TRK_IN_PROGRESS);
    assert_int_equal(input(e->s, f.payment.uetr, TRK_IN_RJCT, NULL), TRK_OK);
    get(e->s, f.payment.uetr, &p);
    assert_int_equal(p.state, TRK_REJECTED);
    assert_string_equal(p.cancellation_status, "");
    trk_payment_clear(&p);
    assert_int_equal(account_reserved(e->s, ACCT), 0);
}

/* gSRP after completion: camt.056, CNCL keeps it pending, the pacs.004 credits back. */
static void
test_recall_after_completion(void **state)
{
    env *e = *state;
    trk_payment p;
    fx f;

    create(e->s, &f, 9, 1);
    assert_int_equal(input(e->s, f.payment.uetr, TRK_IN_ACCC, NULL), TRK_OK);
    recall(e, f.payment.uetr, TRK_COMPLETED);
    get(e->s, f.payment.uetr, &p);
    assert_string_equal(p.status, "ACCC");
    trk_payment_clear(&p);
    assert_int_equal(input(e->s, f.payment.uetr, TRK_IN_CANCEL_ACCEPTED, NULL), TRK_OK);
    get(e->s, f.payment.uetr, &p);
    assert_int_equal(p.state, TRK_CANCEL_PENDING);
    assert_string_equal(p.cancellation_status, "CNCL");
    trk_payment_clear(&p);
    assert_int_equal(account_balance(e->s, ACCT), OPENING - FX_AMOUNT);
    assert_int_equal(input(e->s, f.payment.uetr, TRK_IN_RETURN, NULL), TRK_OK);
    get(e->s, f.payment.uetr, &p);
    assert_int_equal(p.state, TRK_RETURNED);
    assert_int_equal(p.returned_minor, FX_AMOUNT);
    trk_payment_clear(&p);
    assert_int_equal(account_balance(e->s, ACCT), OPENING);
}

/* A channel's input that does not apply is refused with nothing written. */
static void
test_refused_cancel_writes_nothing(void **state)
{
    env *e = *state;
    trk_payment p, q;
    evx x;
    fx f;

    create(e->s, &f, 10, 1);
    assert_int_equal(input(e->s, f.payment.uetr, TRK_IN_RJCT, NULL), TRK_OK);
    get(e->s, f.payment.uetr, &p);
    evx_init(&x, f.payment.uetr, TRK_IN_CANCEL, "CRDRGB20XXX", 50);
    x.op.record_refused = 1; /* not for channels: still refused */
    assert_int_equal(evx_run(e->s, &x), TRK_ERR_STATE);
    get(e->s, f.payment.uetr, &q);
    assert_int_equal(q.last_seq, p.last_seq);
    assert_true(q.updated_ms == p.updated_ms);
    assert_int_equal(q.flags, p.flags);
    trk_payment_clear(&p);
    trk_payment_clear(&q);
    /* A recall needs its camt.056. */
    create(e->s, &f, 10, 2);
    assert_int_equal(input(e->s, f.payment.uetr, TRK_IN_ACSP, NULL), TRK_OK);
    evx_init(&x, f.payment.uetr, TRK_IN_CANCEL, "CRDRGB20XXX", 51);
    x.op.msg_name = NULL;
    assert_int_equal(evx_run(e->s, &x), TRK_ERR_INVALID);
    assert_int_equal(state_of(e->s, f.payment.uetr), TRK_IN_PROGRESS);
}

static void
test_inbound_message_and_idempotency(void **state)
{
    env *e = *state;
    char(*names)[64];
    const char *body = "{\"ok\":true}";
    size_t n;
    evx x;
    fx f;

    create(e->s, &f, 11, 1);
    evx_init(&x, f.payment.uetr, TRK_IN_ACSP, "CRSPUS30XXX", 60);
    x.op.msg_name = "pacs.002";
    x.op.msg = "<pacs.002/>";
    x.op.msg_len = strlen(x.op.msg);
    x.op.idem_scope = SCOPE;
    x.op.idem_key = "put-1";
    memset(x.op.idem_digest, 3, sizeof x.op.idem_digest);
    x.op.resp_status = 200;
    x.op.resp_body = body;
    x.op.resp_len = strlen(body);
    assert_int_equal(evx_run(e->s, &x), TRK_OK);
    assert_int_equal(trk_messages_list(e->s, f.payment.uetr, &names, &n), TRK_OK);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "pacs.002");
    assert_string_equal(names[1], "pacs.008");
    free(names);
    assert_int_equal(evx_run(e->s, &x), TRK_ERR_IDEM_REPLAY);
    assert_int_equal(x.op.replay_status, 200);
    assert_string_equal(x.op.replay_body, body);
    free(x.op.replay_body);
    x.op.replay_body = NULL;
    memset(x.op.idem_digest, 4, sizeof x.op.idem_digest);
    assert_int_equal(evx_run(e->s, &x), TRK_ERR_IDEM_CONFLICT);
    assert_int_equal(trk_messages_list(e->s, "00000000-0000-4000-8000-000000000000", &names, &n),
                     TRK_ERR_NOTFOUND);
}

/* ---- possible duplicates ---------------------------------------------------------------- */

static void
same_as(fx *f, const fx *first, unsigned a, unsigned b, int64_t created)
{
    char uetr[37];

    uetr_make(uetr, a, b);
    fx_init(f, uetr);
    fx_fund(f, ACCT);
    memcpy(f->payment.end_to_end_id, first->payment.end_to_end_id, sizeof f->payment.end_to_end_id);
    f->payment.created_ms = created;
}

static void
test_possible_duplicate(void **state)
{
    env *e = *state;
    trk_event *ev;
    size_t n;
    fx f, g;

    create(e->s, &f, 12, 1);
    assert_int_equal(f.op.flags & TRK_PF_POSSIBLE_DUPLICATE, 0);
    same_as(&g, &f, 12, 2, f.payment.created_ms + 3600 * 1000);
    assert_int_equal(submit_wait(e->s, &g.op), TRK_OK); /* accepted, never refused */
    assert_true(g.op.flags & TRK_PF_POSSIBLE_DUPLICATE);
    assert_true(flags_of(e->s, g.payment.uetr) & TRK_PF_POSSIBLE_DUPLICATE);
    assert_int_equal(trk_events_get(e->s, g.payment.uetr, &ev, &n), TRK_OK);
    assert_int_equal(n, 2);
    assert_string_equal(ev[1].type, TRK_EV_DUPLICATE);
    assert_int_equal(ev[1].flags, TRK_EF_INTERNAL);
    assert_non_null(strstr(ev[1].detail, f.payment.uetr));
    trk_events_free(ev, n);

    same_as(&g, &f, 12, 3, f.payment.created_ms + 3600 * 1000 + TRK_DUPLICATE_WINDOW_MS + 1);
    assert_int_equal(submit_wait(e->s, &g.op), TRK_OK); /* a day later: not a duplicate */
    assert_int_equal(g.op.flags, 0);
    same_as(&g, &f, 12, 4, f.payment.created_ms);
    g.payment.amount_minor++;
    assert_int_equal(submit_wait(e->s, &g.op), TRK_OK); /* another amount */
    assert_int_equal(g.op.flags, 0);
}

/* ---- submit-time checks ----------------------------------------------------------------- */

static void
noop_done(trk_op *op, void *arg)
{
    (void)op;
    (void)arg;
}

static void
expect_invalid(trk_store *s, trk_op *op)
{
    op->done = noop_done;
    assert_int_equal(trk_submit(s, op), TRK_ERR_INVALID);
}

static void
test_submit_checks(void **state)
{
    env *e = *state;
    trk_account a;
    trk_op op;
    evx x;
    fx f;

    create(e->s, &f, 13, 1);
    evx_init(&x, f.payment.uetr, TRK_IN_DUE, "CRSPUS30XXX", 1); /* the store's own */
    expect_invalid(e->s, &x.op);
    evx_init(&x, f.payment.uetr, TRK_IN_ACSP, "CRSPUS30XXX", 1);
    x.op.add_chain = "not a bic";
    expect_invalid(e->s, &x.op);
    evx_init(&x, f.payment.uetr, TRK_IN_ACSP, "CRSPUS30XXX", 1);
    x.op.uetr = "nope";
    expect_invalid(e->s, &x.op);
    evx_init(&x, f.payment.uetr, TRK_IN_ACSP, "CRSPUS30XXX", 1);
    x.op.event = NULL;
    expect_invalid(e->s, &x.op);
    evx_init(&x, "00000000-0000-4000-8000-000000000001", TRK_IN_ACSP, "CRSPUS30XXX", 1);
    assert_int_equal(evx_run(e->s, &x), TRK_ERR_NOTFOUND);

    fx_init(&f, "00000000-0000-4000-8000-000000000002");
    fx_fund(&f, ACCT);
    f.payment.state = TRK_FUNDS_RESERVED; /* a create starts from VALIDATED */
    expect_invalid(e->s, &f.op);
    fx_fund(&f, ACCT);
    f.payment.state = TRK_VALIDATED;
    f.payment.amount_minor = 0; /* a funded payment of nothing */
    expect_invalid(e->s, &f.op);
    fx_fund(&f, ACCT);
    snprintf(f.payment.execute_on, sizeof f.payment.execute_on, "2026/01/01");
    expect_invalid(e->s, &f.op);
    fx_fund(&f, ACCT);
    f.payment.execute_on[0] = '\0';
    f.event.network_ref[0] = '\0'; /* a pacs.008 needs a MsgId to leave under */
    expect_invalid(e->s, &f.op);

    memset(&a, 0, sizeof a);
    snprintf(a.id, sizeof a.id, "X");
    snprintf(a.currency, sizeof a.currency, "eur");
    memset(&op, 0, sizeof op);
    op.kind = TRK_OP_ACCOUNT_PUT;
    op.account = &a;
    expect_invalid(e->s, &op);
    op.account = NULL;
    expect_invalid(e->s, &op);
}

static void
flood_done(trk_op *op, void *arg)
{
    (void)op;
    counter_add(arg);
}

/* Regression: a chain member posting progress updates without end used to fill the log up to
 * the callers' limit, after which the creditor agent's ACCC was refused for good. */
static void
test_progress_flood_leaves_room_for_final(void **state)
{
    env *e = *state;
    size_t n = TRK_MAX_EVENTS, refused = 0;
    evx *xs = calloc(n, sizeof *xs);
    counter c;
    fx f;

    assert_non_null(xs);
    counter_init(&c);
    create(e->s, &f, 9, 1);
    for (size_t i = 0; i < n; i++) {
        evx_init(&xs[i], f.payment.uetr, TRK_IN_ACSP, "CRSPUS30XXX", (unsigned)i + 1);
        xs[i].op.done = flood_done;
        xs[i].op.arg = &c;
        assert_int_equal(trk_submit(e->s, &xs[i].op), TRK_OK);
    }
    counter_wait(&c, n);
    for (size_t i = 0; i < n; i++)
        refused += xs[i].op.rc == TRK_ERR_STATE;
    assert_true(refused > 0); /* the progress budget ran out ... */
    assert_int_equal(input(e->s, f.payment.uetr, TRK_IN_ACCC, NULL), TRK_OK); /* ... not ACCC's */
    assert_int_equal(state_of(e->s, f.payment.uetr), TRK_COMPLETED);
    counter_destroy(&c);
    free(xs);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_duplicate_absorbed),
        T(test_out_of_order_recorded_not_rewound),
        T(test_accc_after_rjct_is_anomaly),
        T(test_chain_grows),
        T(test_recall_cancelled),
        T(test_recall_refused_goes_back),
        T(test_accc_during_recall),
        T(test_rjct_during_recall),
        T(test_recall_after_completion),
        T(test_refused_cancel_writes_nothing),
        T(test_inbound_message_and_idempotency),
        T(test_possible_duplicate),
        T(test_submit_checks),
        T(test_progress_flood_leaves_room_for_final),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
