/*
 * tracker/timer.c with the clock hook: a future-dated payment waits in SCHEDULED (funds held,
 * nothing queued) and leaves on its date, also across a restart; the SLA deadline flags a
 * payment overdue once (event, flag, listing filter, stats) and stops watching it at a final
 * status; a cancelled scheduled payment never becomes due; idempotency records go once their
 * retention (30 days by default) has passed, and only they.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "util.h"

#define ACCT "GB33BUKB20201555555555"
#define OPENING 10000000
#define T0 INT64_C(1763700000000) /* 2025-11-21T04:40:00Z, fx_init's created_ms */
#define TODAY "2025-11-21"
#define IN_TWO_DAYS "2025-11-23"
#define DAY_MS (24 * 3600 * 1000LL)
#define HOUR_MS (3600 * 1000LL)
#define SLA_MS (2 * HOUR_MS)
#define LONG_TICK (3600 * 1000)
#define WAIT_STEP_NS 2000000L
#define WAIT_STEPS 5000

typedef struct env {
    char *dir;
    test_clock clock;
    trk_store *s;
} env;

static int
open_store(env *e)
{
    trk_config cfg = {0};

    cfg.dir = e->dir;
    cfg.sla_ms = SLA_MS;
    cfg.tick_ms = LONG_TICK; /* the thread's first pass only; the tests tick themselves */
    cfg.now_ms = test_clock_now;
    cfg.now_arg = &e->clock;
    return trk_open(&e->s, &cfg);
}

static int
setup(void **state)
{
    env *e = calloc(1, sizeof *e);

    if (!e)
        return -1;
    atomic_store(&e->clock.ms, T0);
    e->dir = tmpdir_make();
    if (!e->dir || open_store(e) != TRK_OK || account_put(e->s, ACCT, OPENING, NULL))
        return -1;
    *state = e;
    return 0;
}

static int
teardown(void **state)
{
    env *e = *state;

    expect_verified(e->s);
    trk_close(e->s);
    tmpdir_remove(e->dir);
    free(e);
    return 0;
}

static void
scheduled(env *e, fx *f, unsigned b, const char *date)
{
    char uetr[37];

    uetr_make(uetr, 0x71, b);
    fx_init(f, uetr);
    fx_fund(f, ACCT);
    snprintf(f->payment.execute_on, sizeof f->payment.execute_on, "%s", date);
    assert_int_equal(submit_wait(e->s, &f->op), TRK_OK);
}

static unsigned
tick(trk_store *s)
{
    unsigned n;

    assert_int_equal(trk_tick(s, &n), TRK_OK);
    return n;
}

static trk_stats
stats(trk_store *s)
{
    trk_stats st;

    assert_int_equal(trk_stats_get(s, &st), TRK_OK);
    return st;
}

static void
test_scheduled_leaves_on_its_date(void **state)
{
    env *e = *state;
    trk_payment p;
    trk_event *ev;
    size_t n;
    fx f, today;

    scheduled(e, &f, 1, IN_TWO_DAYS);
    assert_int_equal(f.op.to_state, TRK_SCHEDULED);
    scheduled(e, &today, 2, TODAY); /* today is not the future */
    assert_int_equal(today.op.to_state, TRK_FUNDS_RESERVED);
    assert_int_equal(stats(e->s).scheduled, 1);
    assert_int_equal(stats(e->s).outbox, 1);                       /* only today's */
    assert_int_equal(account_reserved(e->s, ACCT), 2 * FX_AMOUNT); /* held before the 201 */
    assert_int_equal(trk_payment_get(e->s, f.payment.uetr, &p), TRK_OK);
    assert_int_equal(p.deadline_ms, 0); /* the SLA starts when it leaves */
    trk_payment_clear(&p);

    atomic_store(&e->clock.ms, T0 + DAY_MS);
    assert_int_equal(tick(e->s), 1); /* today's is overdue by now; f is not due */
    assert_int_equal(state_of(e->s, f.payment.uetr), TRK_SCHEDULED);
    atomic_store(&e->clock.ms, T0 + 2 * DAY_MS - 4 * HOUR_MS); /* 2025-11-23T00:40Z */
    assert_int_equal(tick(e->s), 1);
    assert_int_equal(state_of(e->s, f.payment.uetr), TRK_FUNDS_RESERVED);
    assert_int_equal(stats(e->s).scheduled, 0);
    assert_int_equal(stats(e->s).outbox, 2);
    assert_int_equal(trk_payment_get(e->s, f.payment.uetr, &p), TRK_OK);
    assert_true(p.deadline_ms == T0 + 2 * DAY_MS - 4 * HOUR_MS + SLA_MS);
    trk_payment_clear(&p);
    assert_int_equal(trk_events_get(e->s, f.payment.uetr, &ev, &n), TRK_OK);
    assert_int_equal(n, 2);
    assert_string_equal(ev[1].type, TRK_EV_DUE);
    assert_int_equal(ev[1].input, TRK_IN_DUE);
    assert_int_equal(ev[1].flags, TRK_EF_INTERNAL);
    trk_events_free(ev, n);
    assert_int_equal(tick(e->s), 0); /* once */
}

/* The timer is the index: after a restart past the date, the first pass sends it. */
static void
test_schedule_survives_restart(void **state)
{
    struct timespec step = {0, WAIT_STEP_NS};
    env *e = *state;
    int i;
    fx f;

    scheduled(e, &f, 3, IN_TWO_DAYS);
    trk_close(e->s);
    e->s = NULL;
    atomic_store(&e->clock.ms, T0 + 3 * DAY_MS);
    assert_int_equal(open_store(e), TRK_OK);
    for (i = 0; i < WAIT_STEPS && state_of(e->s, f.payment.uetr) != TRK_FUNDS_RESERVED; i++)
        nanosleep(&step, NULL);
    assert_int_equal(state_of(e->s, f.payment.uetr), TRK_FUNDS_RESERVED);
}

static void
test_cancelled_schedule_never_due(void **state)
{
    env *e = *state;
    fx f;

    scheduled(e, &f, 4, IN_TWO_DAYS);
    assert_int_equal(input(e->s, f.payment.uetr, TRK_IN_CANCEL, NULL), TRK_OK);
    assert_int_equal(state_of(e->s, f.payment.uetr), TRK_CANCELLED);
    assert_int_equal(account_reserved(e->s, ACCT), 0);
    atomic_store(&e->clock.ms, T0 + 5 * DAY_MS);
    assert_int_equal(tick(e->s), 0);
    assert_int_equal(state_of(e->s, f.payment.uetr), TRK_CANCELLED);
}

static size_t
overdue_listed(trk_store *s)
{
    char next[TRK_CURSOR_LEN];
    trk_payment *p;
    trk_query q;
    size_t n;

    memset(&q, 0, sizeof q);
    q.overdue_only = 1;
    q.limit = 10;
    assert_int_equal(trk_payments_list(s, &q, &p, &n, next), TRK_OK);
    trk_payments_free(p, n);
    return n;
}

static void
test_overdue_flagged_once(void **state)
{
    env *e = *state;
    trk_event *ev;
    size_t n;
    fx f, g;

    scheduled(e, &f, 5, "");
    scheduled(e, &g, 6, "");
    assert_int_equal(input(e->s, g.payment.uetr, TRK_IN_ACCC, NULL), TRK_OK); /* final */
    atomic_store(&e->clock.ms, T0 + SLA_MS - 1);
    assert_int_equal(tick(e->s), 0);
    atomic_store(&e->clock.ms, T0 + SLA_MS);
    assert_int_equal(tick(e->s), 1);
    assert_true(flags_of(e->s, f.payment.uetr) & TRK_PF_OVERDUE);
    assert_int_equal(flags_of(e->s, g.payment.uetr) & TRK_PF_OVERDUE, 0);
    assert_int_equal(state_of(e->s, f.payment.uetr), TRK_FUNDS_RESERVED); /* a flag only */
    assert_int_equal(trk_events_get(e->s, f.payment.uetr, &ev, &n), TRK_OK);
    assert_int_equal(n, 2);
    assert_string_equal(ev[1].type, TRK_EV_OVERDUE);
    assert_int_equal(ev[1].input, TRK_IN_OVERDUE);
    trk_events_free(ev, n);
    assert_int_equal(stats(e->s).overdue, 1);
    assert_int_equal(overdue_listed(e->s), 1);
    atomic_store(&e->clock.ms, T0 + 10 * SLA_MS);
    assert_int_equal(tick(e->s), 0); /* once */
    /* A final status ends the watch: the gauge drops, the flag stays as history. */
    assert_int_equal(input(e->s, f.payment.uetr, TRK_IN_ACCC, NULL), TRK_OK);
    assert_int_equal(stats(e->s).overdue, 0);
    assert_true(flags_of(e->s, f.payment.uetr) & TRK_PF_OVERDUE);
}

static void
test_payment_deadline_wins(void **state)
{
    env *e = *state;
    char uetr[37];
    fx f;

    uetr_make(uetr, 0x72, 1);
    fx_init(&f, uetr);
    fx_fund(&f, ACCT);
    f.payment.deadline_ms = T0 + 10 * HOUR_MS;
    assert_int_equal(submit_wait(e->s, &f.op), TRK_OK);
    atomic_store(&e->clock.ms, T0 + 5 * HOUR_MS); /* past the SLA, not the deadline */
    assert_int_equal(tick(e->s), 0);
    atomic_store(&e->clock.ms, T0 + 10 * HOUR_MS);
    assert_int_equal(tick(e->s), 1);
    assert_true(flags_of(e->s, uetr) & TRK_PF_OVERDUE);
}

/* TRK_ERR_IDEM_REPLAY while the record is kept, TRK_ERR_NOTFOUND once it expired. */
static int
idem_state(trk_store *s, const char *key, unsigned char seed)
{
    unsigned char digest[32];
    char *body = NULL;
    size_t len = 0;
    int status = 0, rc;

    memset(digest, seed, sizeof digest);
    rc = trk_idem_get(s, "channel:CRDRGB20", key, digest, &status, &body, &len);
    free(body);
    return rc;
}

static void
test_idempotency_expires_after_retention(void **state)
{
    env *e = *state;
    char u1[37], u2[37];
    trk_payment p;
    fx a, b;

    uetr_make(u1, 0x73, 1);
    uetr_make(u2, 0x73, 2);
    fx_init(&a, u1);
    fx_set_idem(&a, "channel:CRDRGB20", "k-old", 1);
    assert_int_equal(submit_wait(e->s, &a.op), TRK_OK);
    atomic_store(&e->clock.ms, T0 + 20 * DAY_MS);
    fx_init(&b, u2);
    fx_set_idem(&b, "channel:CRDRGB20", "k-new", 2);
    assert_int_equal(submit_wait(e->s, &b.op), TRK_OK);

    atomic_store(&e->clock.ms, T0 + 30 * DAY_MS - 1); /* a millisecond short of 30 days */
    assert_int_equal(tick(e->s), 2);                  /* both payments are past the SLA */
    assert_int_equal(idem_state(e->s, "k-old", 1), TRK_ERR_IDEM_REPLAY);
    atomic_store(&e->clock.ms, T0 + 30 * DAY_MS);
    assert_int_equal(tick(e->s), 0); /* expiry is not a payment input */
    assert_int_equal(idem_state(e->s, "k-old", 1), TRK_ERR_NOTFOUND);
    assert_int_equal(idem_state(e->s, "k-new", 2), TRK_ERR_IDEM_REPLAY);
    /* the payment stays; only the replay of its answer is gone */
    assert_int_equal(trk_payment_get(e->s, u1, &p), TRK_OK);
    trk_payment_clear(&p);
    atomic_store(&e->clock.ms, T0 + 50 * DAY_MS);
    tick(e->s);
    assert_int_equal(idem_state(e->s, "k-new", 2), TRK_ERR_NOTFOUND);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_scheduled_leaves_on_its_date), T(test_schedule_survives_restart),
        T(test_cancelled_schedule_never_due), T(test_overdue_flagged_once),
        T(test_payment_deadline_wins), T(test_idempotency_expires_after_retention),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
