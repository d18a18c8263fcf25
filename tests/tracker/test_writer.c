/*
 * tracker/writer.c: many submitting threads, every done() exactly once with the right rc,
 * group commit (fewer batches than ops), batch_max, the drain in trk_close, SHUTDOWN, and an
 * op freed from inside its own done().
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

#define THREADS 8
#define PER_THREAD 400
#define PATTERN 10
#define DUP_SLOT 9    /* op i with i % PATTERN == DUP_SLOT reuses the UETR of op i - 1 */
#define REPLAY_SLOT 4 /* ... == REPLAY_SLOT reuses the idempotency key and digest of op i - 1 */
#define QUEUED 300
#define SMALL_BATCH 16
#define DRAIN_OPS 500

/* An op with its fixture and what the test expects of it; done() only counts (cmocka's
 * asserts belong on the main thread). */
typedef struct tracked {
    fx f;
    char key[24];
    int expect;
    int calls;
    int rc;
    counter *all;
} tracked;

static void
tracked_done(trk_op *op, void *arg)
{
    tracked *t = arg;

    t->calls++; /* one writer thread: no race; read after counter_wait (mutex = barrier) */
    t->rc = op->rc;
    free(op->replay_body);
    op->replay_body = NULL;
    counter_add(t->all);
}

static void
track(tracked *t, const char *uetr, counter *all)
{
    fx_init(&t->f, uetr);
    t->f.op.done = tracked_done;
    t->f.op.arg = t;
    t->all = all;
    t->expect = TRK_OK;
}

typedef struct env {
    char *dir;
    trk_store *s;
} env;

static int
setup_with(void **state, unsigned batch_max)
{
    env *e = calloc(1, sizeof *e);
    trk_config cfg = {.batch_max = batch_max};

    if (!e)
        return -1;
    e->dir = tmpdir_make();
    cfg.dir = e->dir;
    if (!e->dir || trk_open(&e->s, &cfg) != TRK_OK)
        return -1;
    *state = e;
    return 0;
}

static int
setup(void **state)
{
    return setup_with(state, 0);
}

static int
setup_small(void **state)
{
    return setup_with(state, SMALL_BATCH);
}

static int
teardown(void **state)
{
    env *e = *state;

    trk_close(e->s);
    tmpdir_remove(e->dir);
    free(e);
    return 0;
}

/* ---- concurrency ------------------------------------------------------------------------ */

typedef struct worker {
    trk_store *s;
    unsigned id;
    char scope[32]; /* one per thread: keys of different threads never meet */
    tracked *ops;   /* PER_THREAD */
    counter *all;
    int submit_errors;
} worker;

/* Patterns chosen not to interact: the op a duplicate or a replay refers to is a plain one. */
static void
prepare(worker *w, unsigned i)
{
    tracked *t = &w->ops[i];
    unsigned slot = i % PATTERN;
    char uetr[37];

    uetr_make(uetr, 100 + w->id, slot == DUP_SLOT ? i - 1 : i);
    track(t, uetr, w->all);
    if (slot == DUP_SLOT) {
        t->expect = TRK_ERR_EXISTS; /* no key, the UETR of the op before */
        return;
    }
    snprintf(t->key, sizeof t->key, "key-%u", slot == REPLAY_SLOT ? i - 1 : i);
    fx_set_idem(&t->f, w->scope, t->key, (unsigned char)(slot == REPLAY_SLOT ? i - 1 : i));
    if (slot == REPLAY_SLOT)
        t->expect = TRK_ERR_IDEM_REPLAY; /* same key and request as the op before */
}

static void *
worker_main(void *arg)
{
    worker *w = arg;
    unsigned i;

    /* Each thread queues all of its ops without waiting: its own order is kept (one queue),
     * so the original of a duplicate is always applied first. */
    for (i = 0; i < PER_THREAD; i++) {
        prepare(w, i);
        if (trk_submit(w->s, &w->ops[i].f.op) != TRK_OK)
            w->submit_errors++;
    }
    return NULL;
}

static void
test_many_submitters(void **state)
{
    env *e = *state;
    worker w[THREADS];
    pthread_t th[THREADS];
    tracked *ops = calloc((size_t)THREADS * PER_THREAD, sizeof *ops);
    counter all;
    trk_stats st;
    size_t i, ok = 0, total = (size_t)THREADS * PER_THREAD;

    assert_non_null(ops);
    counter_init(&all);
    for (i = 0; i < THREADS; i++) {
        w[i] = (worker){.s = e->s, .id = (unsigned)i, .ops = ops + i * PER_THREAD, .all = &all};
        snprintf(w[i].scope, sizeof w[i].scope, "channel:T%zu", i);
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].submit_errors, 0);
    }
    counter_wait(&all, total);
    for (i = 0; i < total; i++) {
        assert_int_equal(ops[i].calls, 1);
        if (ops[i].rc != ops[i].expect)
            fail_msg("op %zu: rc %d, expected %d", i, ops[i].rc, ops[i].expect);
        ok += ops[i].rc == TRK_OK;
    }
    assert_int_equal(trk_stats_get(e->s, &st), TRK_OK);
    assert_int_equal(st.ops, ok);
    assert_int_equal(st.payments, ok);
    assert_int_equal(st.queue_depth, 0);
    assert_true(st.batches >= 1);
    assert_true(st.batches < total); /* group commit under load */
    print_message("%zu ops in %llu batches\n", total, (unsigned long long)st.batches);
    counter_destroy(&all);
    free(ops);
}

/* With the writer held, QUEUED ops wait; released, they go in ceil(QUEUED / batch_max)
 * batches exactly. */
static void
expect_batches(trk_store *s, unsigned batch_max)
{
    tracked *ops = calloc(QUEUED, sizeof *ops);
    char uetr[37];
    fx blocker;
    gate g;
    counter all;
    trk_stats before, after;
    unsigned i;

    assert_non_null(ops);
    gate_init(&g);
    counter_init(&all);
    uetr_make(uetr, 200, batch_max);
    fx_init(&blocker, uetr);
    blocker.op.done = gate_done;
    blocker.op.arg = &g;
    assert_int_equal(trk_submit(s, &blocker.op), TRK_OK);
    gate_wait_entered(&g);
    for (i = 0; i < QUEUED; i++) {
        uetr_make(uetr, 201 + batch_max, i);
        track(&ops[i], uetr, &all);
        assert_int_equal(trk_submit(s, &ops[i].f.op), TRK_OK);
    }
    assert_int_equal(trk_stats_get(s, &before), TRK_OK);
    assert_int_equal(before.queue_depth, QUEUED);
    gate_open(&g);
    counter_wait(&all, QUEUED);
    assert_int_equal(trk_stats_get(s, &after), TRK_OK);
    assert_int_equal(after.batches - before.batches, (QUEUED + batch_max - 1) / batch_max);
    assert_int_equal(after.ops - before.ops, QUEUED);
    for (i = 0; i < QUEUED; i++) {
        assert_int_equal(ops[i].calls, 1);
        assert_int_equal(ops[i].rc, TRK_OK);
    }
    gate_destroy(&g);
    counter_destroy(&all);
    free(ops);
}

static void
test_group_commit_default(void **state)
{
    env *e = *state;

    expect_batches(e->s, TRK_BATCH_MAX);
}

static void
test_group_commit_small_batches(void **state)
{
    env *e = *state;

    expect_batches(e->s, SMALL_BATCH);
}

/* ---- close ------------------------------------------------------------------------------ */

static void
test_close_drains(void **state)
{
    env *e = *state;
    tracked *ops = calloc(DRAIN_OPS, sizeof *ops);
    trk_config cfg = {.dir = e->dir};
    trk_payment p;
    counter all;
    char uetr[37];
    unsigned i;

    assert_non_null(ops);
    counter_init(&all);
    for (i = 0; i < DRAIN_OPS; i++) {
        uetr_make(uetr, 300, i);
        track(&ops[i], uetr, &all);
        assert_int_equal(trk_submit(e->s, &ops[i].f.op), TRK_OK);
    }
    trk_close(e->s); /* returns once every queued op is applied and called back */
    e->s = NULL;
    assert_int_equal(all.n, DRAIN_OPS);
    for (i = 0; i < DRAIN_OPS; i++) {
        assert_int_equal(ops[i].calls, 1);
        assert_int_equal(ops[i].rc, TRK_OK);
    }
    assert_int_equal(trk_open(&e->s, &cfg), TRK_OK);
    for (i = 0; i < DRAIN_OPS; i++) {
        uetr_make(uetr, 300, i);
        assert_int_equal(trk_payment_get(e->s, uetr, &p), TRK_OK);
        trk_payment_clear(&p);
    }
    counter_destroy(&all);
    free(ops);
}

typedef struct closer {
    trk_store *s;
    fx late;
    int late_rc;
} closer;

static void *
close_main(void *arg)
{
    trk_close(arg);
    return NULL;
}

/* Runs during the drain: the store is stopping, so a new op is refused. */
static void
submit_late(trk_op *op, void *arg)
{
    closer *c = arg;

    (void)op;
    c->late.op.done = submit_late;
    c->late_rc = trk_submit(c->s, &c->late.op);
}

static void
noop_done(trk_op *op, void *arg)
{
    (void)op;
    (void)arg;
}

/* Probes until trk_submit refuses; accepted probes are queued (and drained), so each needs
 * its own fixture until the end. Returns the refusing rc. */
static int
probe_until_refused(trk_store *s, fx ***probes, size_t *n)
{
    char uetr[37];
    fx **grown;
    int rc;

    for (;;) {
        grown = realloc(*probes, (*n + 1) * sizeof *grown);
        assert_non_null(grown);
        *probes = grown;
        grown[*n] = malloc(sizeof **grown);
        assert_non_null(grown[*n]);
        uetr_make(uetr, 401, (unsigned)*n);
        fx_init(grown[*n], uetr);
        grown[*n]->op.done = noop_done;
        rc = trk_submit(s, &grown[*n]->op);
        (*n)++;
        if (rc != TRK_OK)
            return rc;
    }
}

static void
test_shutdown_refuses(void **state)
{
    env *e = *state;
    fx blocker, second, **probes = NULL;
    closer c = {.s = e->s, .late_rc = 1};
    char uetr[37];
    pthread_t th;
    size_t i, n = 0;
    gate g;

    gate_init(&g);
    uetr_make(uetr, 400, 0);
    fx_init(&blocker, uetr);
    blocker.op.done = gate_done;
    blocker.op.arg = &g;
    uetr_make(uetr, 400, 1);
    fx_init(&second, uetr);
    second.op.done = submit_late;
    second.op.arg = &c;
    uetr_make(uetr, 400, 2);
    fx_init(&c.late, uetr);
    assert_int_equal(trk_submit(e->s, &blocker.op), TRK_OK);
    gate_wait_entered(&g);
    assert_int_equal(trk_submit(e->s, &second.op), TRK_OK);
    /* trk_close cannot finish while the writer is held, so the store stays valid meanwhile. */
    assert_int_equal(pthread_create(&th, NULL, close_main, e->s), 0);
    assert_int_equal(probe_until_refused(e->s, &probes, &n), TRK_ERR_SHUTDOWN);
    gate_open(&g);
    pthread_join(th, NULL);
    e->s = NULL;
    assert_int_equal(c.late_rc, TRK_ERR_SHUTDOWN); /* submitted from done() in the drain */
    assert_int_equal(second.op.rc, TRK_OK);        /* queued before close: applied */
    for (i = 0; i + 1 < n; i++)
        assert_int_equal(probes[i]->op.rc, TRK_OK);
    for (i = 0; i < n; i++)
        free(probes[i]);
    free(probes);
    gate_destroy(&g);
}

/* ---- ownership -------------------------------------------------------------------------- */

static void
free_in_done(trk_op *op, void *arg)
{
    counter *c = arg;

    free(op); /* the op is its own allocation; its inputs belong to the test */
    counter_add(c);
}

static void
test_done_may_free_op(void **state)
{
    env *e = *state;
    counter c;
    fx f;
    char uetr[37];
    unsigned i;
    trk_op *op;

    counter_init(&c);
    uetr_make(uetr, 500, 0);
    fx_init(&f, uetr); /* inputs outlive the ops */
    for (i = 0; i < 20; i++) {
        op = malloc(sizeof *op);
        assert_non_null(op);
        *op = f.op;
        op->done = free_in_done;
        op->arg = &c;
        assert_int_equal(trk_submit(e->s, op), TRK_OK); /* 1 OK, 19 EXISTS */
    }
    counter_wait(&c, 20);
    counter_destroy(&c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_many_submitters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_small_batches, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_close_drains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_done_may_free_op, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
