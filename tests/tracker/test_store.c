/*
 * tracker/store.c and tracker/ops.c through the public API: open, create, the reads,
 * idempotency (replay, conflict, same batch), EXISTS, persistence across close and reopen,
 * map growth from a tiny map under concurrent readers, corrupt records, the index layouts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <lmdb.h>

#include "record.h"
#include "util.h"

#define SCOPE "channel:CRDRGB20"
#define TINY_MAP (64 * 1024)
#define GROWTH_PAYMENTS 3000
#define GROWTH_WINDOW 64
#define GROWTH_READERS 3
#define PERSIST_PAYMENTS 20

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
    if (!e->dir || trk_open(&e->s, &cfg) != TRK_OK)
        return -1;
    *state = e;
    return 0;
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

static void
reopen(env *e, uint64_t map_size)
{
    trk_config cfg = {.dir = e->dir, .map_size = map_size};

    trk_close(e->s);
    e->s = NULL;
    assert_int_equal(trk_open(&e->s, &cfg), TRK_OK);
}

static void
create_ok(trk_store *s, unsigned a, unsigned b)
{
    char uetr[37];
    fx f;

    uetr_make(uetr, a, b);
    fx_init(&f, uetr);
    assert_int_equal(submit_wait(s, &f.op), TRK_OK);
}

/* The stored payment, its single event and its message match what fx_init made. */
static void
expect_created(trk_store *s, const char *uetr)
{
    trk_payment p;
    trk_event *ev;
    char *msg;
    size_t n, len;
    fx f;

    fx_init(&f, uetr);
    assert_int_equal(trk_payment_get(s, uetr, &p), TRK_OK);
    assert_string_equal(p.uetr, uetr);
    assert_int_equal(p.state, TRK_FUNDS_RESERVED); /* VALIDATED + ACCEPT */
    assert_string_equal(p.status, "ACSP");
    assert_string_equal(p.debtor_agent, "CRDRGB20XXX");
    assert_int_equal(p.chain_len, 2);
    assert_string_equal(p.chain[1], "BENFDE20XXX");
    assert_int_equal(p.last_seq, 1);
    assert_true(p.created_ms == f.payment.created_ms);
    assert_int_equal(p.doc_len, f.payment.doc_len);
    assert_string_equal(p.doc, f.doc);
    trk_payment_clear(&p);

    assert_int_equal(trk_events_get(s, uetr, &ev, &n), TRK_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].seq, 1);
    assert_string_equal(ev[0].type, "CTPT");
    assert_string_equal(ev[0].message_name, "pacs.008.001.08");
    assert_string_equal(ev[0].detail, f.event.detail);
    trk_events_free(ev, n);

    assert_int_equal(trk_message_get(s, uetr, "pacs.008", &msg, &len), TRK_OK);
    assert_int_equal(len, strlen(f.msg));
    assert_string_equal(msg, f.msg);
    free(msg);
}

static uint64_t
stored_payments(trk_store *s)
{
    trk_stats st;

    assert_int_equal(trk_stats_get(s, &st), TRK_OK);
    return st.payments;
}

/* ---- open ------------------------------------------------------------------------------- */

static void
test_open_creates_private_dir(void **state)
{
    char *base = tmpdir_make(), path[512], file[600];
    trk_config cfg = {0};
    trk_store *s = NULL;
    struct stat st;

    (void)state;
    assert_non_null(base);
    snprintf(path, sizeof path, "%s/store", base);
    cfg.dir = path;
    assert_int_equal(trk_open(&s, &cfg), TRK_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(file, sizeof file, "%s/data.mdb", path);
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(file, sizeof file, "%s/lock.mdb", path);
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    trk_close(s);
    trk_close(NULL);
    tmpdir_remove(base);
}

static void
test_open_invalid(void **state)
{
    char *base = tmpdir_make(), file[512];
    trk_config cfg = {0};
    trk_store *s = (trk_store *)&cfg;
    FILE *fp;

    (void)state;
    assert_non_null(base);
    assert_int_equal(trk_open(&s, NULL), TRK_ERR_INVALID);
    assert_null(s);
    assert_int_equal(trk_open(NULL, &cfg), TRK_ERR_INVALID);
    assert_int_equal(trk_open(&s, &cfg), TRK_ERR_INVALID); /* no dir */
    cfg.dir = "";
    assert_int_equal(trk_open(&s, &cfg), TRK_ERR_INVALID);
    cfg.dir = base;
    cfg.batch_max = TRK_BATCH_MAX + 1;
    assert_int_equal(trk_open(&s, &cfg), TRK_ERR_INVALID);
    cfg.batch_max = 0;
    cfg.map_size = TRK_MAX_MAP_SIZE + 1;
    assert_int_equal(trk_open(&s, &cfg), TRK_ERR_INVALID);
    cfg.map_size = 0;
    snprintf(file, sizeof file, "%s/plain-file", base);
    fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    cfg.dir = file;
    cfg.batch_max = 0;
    assert_int_equal(trk_open(&s, &cfg), TRK_ERR_STORE);
    assert_null(s);
    tmpdir_remove(base);
}

/* ---- create and read -------------------------------------------------------------------- */

static void
test_create_and_get(void **state)
{
    env *e = *state;
    char uetr[37];
    trk_stats st;

    uetr_make(uetr, 1, 1);
    create_ok(e->s, 1, 1);
    expect_created(e->s, uetr);
    assert_int_equal(trk_stats_get(e->s, &st), TRK_OK);
    assert_int_equal(st.payments, 1);
    assert_int_equal(st.ops, 1);
    assert_int_equal(st.batches, 1);
    assert_int_equal(st.queue_depth, 0);
    assert_true(st.map_size >= TRK_DEFAULT_MAP_SIZE);
}

static void
test_create_without_message(void **state)
{
    env *e = *state;
    char uetr[37], *msg = (char *)"x";
    size_t len = 9;
    fx f;

    uetr_make(uetr, 2, 1);
    fx_init(&f, uetr);
    f.op.msg_name = NULL;
    assert_int_equal(submit_wait(e->s, &f.op), TRK_OK);
    assert_int_equal(trk_message_get(e->s, uetr, "pacs.008", &msg, &len), TRK_ERR_NOTFOUND);
    assert_null(msg);
    assert_int_equal(len, 0);
}

static void
test_reads_not_found(void **state)
{
    static const char *const bad[] = {"", "not-a-uetr", "3F2504E0-4F89-41D3-9A0C-0305E82C3301",
                                      "3f2504e0-4f89-41d3-9a0c-0305e82c33011"};
    env *e = *state;
    char uetr[37], unknown[37], *msg;
    trk_payment p;
    trk_event *ev;
    size_t i, n, len;

    create_ok(e->s, 3, 1);
    uetr_make(uetr, 3, 1);
    uetr_make(unknown, 3, 2);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(trk_payment_get(e->s, bad[i], &p), TRK_ERR_NOTFOUND);
        assert_int_equal(trk_events_get(e->s, bad[i], &ev, &n), TRK_ERR_NOTFOUND);
        assert_int_equal(trk_message_get(e->s, bad[i], "pacs.008", &msg, &len), TRK_ERR_NOTFOUND);
    }
    assert_int_equal(trk_payment_get(e->s, NULL, &p), TRK_ERR_NOTFOUND);
    assert_int_equal(trk_payment_get(e->s, unknown, &p), TRK_ERR_NOTFOUND);
    assert_null(p.doc);
    assert_int_equal(trk_events_get(e->s, unknown, &ev, &n), TRK_ERR_NOTFOUND);
    assert_null(ev);
    assert_int_equal(n, 0);
    assert_int_equal(trk_message_get(e->s, unknown, "pacs.008", &msg, &len), TRK_ERR_NOTFOUND);
    assert_int_equal(trk_message_get(e->s, uetr, "camt.056", &msg, &len), TRK_ERR_NOTFOUND);
    assert_int_equal(trk_message_get(e->s, uetr, "../pacs.008", &msg, &len), TRK_ERR_NOTFOUND);
    assert_int_equal(trk_message_get(e->s, uetr, NULL, &msg, &len), TRK_ERR_NOTFOUND);
    assert_int_equal(trk_payment_get(e->s, uetr, NULL), TRK_ERR_INVALID);
    assert_int_equal(trk_events_get(e->s, uetr, NULL, &n), TRK_ERR_INVALID);
    assert_int_equal(trk_message_get(e->s, uetr, "pacs.008", NULL, &len), TRK_ERR_INVALID);
    assert_int_equal(trk_stats_get(e->s, NULL), TRK_ERR_INVALID);
}

/* ---- submit contract -------------------------------------------------------------------- */

static int done_calls;

static void
count_done(trk_op *op, void *arg)
{
    (void)op;
    (void)arg;
    done_calls++;
}

static void
expect_invalid(trk_store *s, fx *f)
{
    assert_int_equal(trk_submit(s, &f->op), TRK_ERR_INVALID);
}

static void
fresh(fx *f)
{
    fx_init(f, "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
    f->op.done = count_done;
}

static void
test_submit_invalid(void **state)
{
    env *e = *state;
    char longkey[TRK_MAX_IDEM_KEY + 2];
    fx f;

    done_calls = 0;
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    assert_int_equal(trk_submit(e->s, NULL), TRK_ERR_INVALID);
    fresh(&f);
    assert_int_equal(trk_submit(NULL, &f.op), TRK_ERR_INVALID);
    f.op.kind = 99;
    expect_invalid(e->s, &f);
    fresh(&f);
    f.op.done = NULL;
    expect_invalid(e->s, &f);
    fresh(&f);
    f.op.payment = NULL;
    expect_invalid(e->s, &f);
    fresh(&f);
    f.op.event = NULL;
    expect_invalid(e->s, &f);
    fresh(&f);
    f.payment.uetr[0] = 'G';
    expect_invalid(e->s, &f);
    fresh(&f);
    f.payment.uetr[0] = '\0';
    expect_invalid(e->s, &f);
    fresh(&f);
    memcpy(f.payment.status, "ACSPX", sizeof f.payment.status);
    expect_invalid(e->s, &f);
    fresh(&f);
    f.payment.chain_len = TRK_MAX_CHAIN + 1;
    expect_invalid(e->s, &f);
    fresh(&f);
    f.payment.doc_len = (size_t)TRK_MAX_DOC + 1;
    expect_invalid(e->s, &f);
    fresh(&f);
    f.event.detail = NULL;
    expect_invalid(e->s, &f);
    fresh(&f);
    f.op.msg_name = "";
    expect_invalid(e->s, &f);
    fresh(&f);
    f.op.msg_name = "a/b";
    expect_invalid(e->s, &f);
    fresh(&f);
    f.op.msg_len = (size_t)TRK_MAX_MESSAGE + 1;
    expect_invalid(e->s, &f);
    fresh(&f);
    f.op.msg = NULL;
    expect_invalid(e->s, &f);
    fresh(&f);
    fx_set_idem(&f, SCOPE, longkey, 1);
    expect_invalid(e->s, &f);
    fresh(&f);
    fx_set_idem(&f, NULL, "k", 1); /* a key needs its scope: never shared across principals */
    expect_invalid(e->s, &f);
    fresh(&f);
    fx_set_idem(&f, "", "k", 1);
    expect_invalid(e->s, &f);
    fresh(&f);
    fx_set_idem(&f, longkey, "k", 1);
    expect_invalid(e->s, &f);
    fresh(&f);
    fx_set_idem(&f, SCOPE, "k", 1);
    f.op.resp_status = 99;
    expect_invalid(e->s, &f);
    fresh(&f);
    fx_set_idem(&f, SCOPE, "k", 1);
    f.op.resp_len = (size_t)TRK_MAX_RESPONSE + 1;
    expect_invalid(e->s, &f);
    fresh(&f);
    fx_set_idem(&f, SCOPE, "k", 1);
    f.op.resp_body = NULL;
    expect_invalid(e->s, &f);
    assert_int_equal(done_calls, 0);
    assert_int_equal(stored_payments(e->s), 0);
}

static void
test_exists(void **state)
{
    env *e = *state;
    char uetr[37];
    trk_payment p;
    fx f;

    create_ok(e->s, 4, 1);
    uetr_make(uetr, 4, 1);
    fx_init(&f, uetr);
    snprintf(f.doc, sizeof f.doc, "%s", "{\"second\":true}");
    f.payment.doc_len = strlen(f.doc);
    assert_int_equal(submit_wait(e->s, &f.op), TRK_ERR_EXISTS);
    assert_int_equal(trk_payment_get(e->s, uetr, &p), TRK_OK);
    assert_null(strstr(p.doc, "second")); /* the first one is untouched */
    trk_payment_clear(&p);
    assert_int_equal(stored_payments(e->s), 1);
}

/* ---- idempotency ------------------------------------------------------------------------ */

static void
test_idem_replay_and_conflict(void **state)
{
    env *e = *state;
    char u1[37], u2[37], u3[37];
    trk_payment p;
    fx a, b, c, d, x;

    uetr_make(u1, 5, 1);
    uetr_make(u2, 5, 2);
    uetr_make(u3, 5, 3);
    fx_init(&a, u1);
    fx_set_idem(&a, SCOPE, "key-1", 0x11);
    assert_int_equal(submit_wait(e->s, &a.op), TRK_OK);
    assert_null(a.op.replay_body);

    /* Same key, same request: the stored response comes back; nothing new is stored. */
    fx_init(&b, u2);
    fx_set_idem(&b, SCOPE, "key-1", 0x11);
    assert_int_equal(submit_wait(e->s, &b.op), TRK_ERR_IDEM_REPLAY);
    assert_int_equal(b.op.replay_status, 201);
    assert_int_equal(b.op.replay_len, a.op.resp_len);
    assert_string_equal(b.op.replay_body, a.resp);
    free(b.op.replay_body);
    assert_int_equal(trk_payment_get(e->s, u2, &p), TRK_ERR_NOTFOUND);

    /* Replay wins over EXISTS: a retry of the original request carries the same UETR. */
    fx_init(&x, u1);
    fx_set_idem(&x, SCOPE, "key-1", 0x11);
    assert_int_equal(submit_wait(e->s, &x.op), TRK_ERR_IDEM_REPLAY);
    free(x.op.replay_body);

    /* Same key, another request. */
    fx_init(&c, u2);
    fx_set_idem(&c, SCOPE, "key-1", 0x22);
    assert_int_equal(submit_wait(e->s, &c.op), TRK_ERR_IDEM_CONFLICT);
    assert_null(c.op.replay_body);

    /* The same key in another scope is another key. */
    fx_init(&d, u3);
    fx_set_idem(&d, "channel:OTHRGB22", "key-1", 0x22);
    assert_int_equal(submit_wait(e->s, &d.op), TRK_OK);
    assert_int_equal(stored_payments(e->s), 2);
}

static void
count_into(trk_op *op, void *arg)
{
    (void)op;
    counter_add(arg);
}

/* Ops queued behind a held writer land in one batch: each sees the ones before it. */
static void
test_idem_same_batch(void **state)
{
    env *e = *state;
    char u0[37], u1[37], u2[37], u3[37];
    fx blocker, a, b, c, d, x;
    counter cnt;
    gate g;
    trk_stats before, after;
    trk_payment p;
    fx *ops[] = {&a, &b, &c, &d, &x};
    size_t i;

    uetr_make(u0, 6, 0);
    uetr_make(u1, 6, 1);
    uetr_make(u2, 6, 2);
    uetr_make(u3, 6, 3);
    gate_init(&g);
    counter_init(&cnt);
    fx_init(&blocker, u0);
    blocker.op.done = gate_done;
    blocker.op.arg = &g;
    assert_int_equal(trk_submit(e->s, &blocker.op), TRK_OK);
    gate_wait_entered(&g); /* the writer is inside done(): everything below queues */

    fx_init(&a, u1);
    fx_set_idem(&a, SCOPE, "same", 0x33);
    fx_init(&b, u2);
    fx_set_idem(&b, SCOPE, "same", 0x33); /* replay of a, uncommitted until the batch is */
    fx_init(&c, u1);                      /* EXISTS: a's payment */
    fx_init(&d, u3);
    fx_set_idem(&d, SCOPE, "same", 0x44); /* conflict with a */
    fx_init(&x, u3);                      /* fine: d was rolled back alone */
    for (i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        ops[i]->op.done = count_into;
        ops[i]->op.arg = &cnt;
    }
    assert_int_equal(trk_stats_get(e->s, &before), TRK_OK);
    for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
        assert_int_equal(trk_submit(e->s, &ops[i]->op), TRK_OK);
    assert_int_equal(trk_stats_get(e->s, &before), TRK_OK);
    assert_int_equal(before.queue_depth, 5);
    gate_open(&g);
    counter_wait(&cnt, 5);

    assert_int_equal(a.op.rc, TRK_OK);
    assert_int_equal(b.op.rc, TRK_ERR_IDEM_REPLAY);
    assert_string_equal(b.op.replay_body, a.resp);
    free(b.op.replay_body);
    assert_int_equal(c.op.rc, TRK_ERR_EXISTS);
    assert_int_equal(d.op.rc, TRK_ERR_IDEM_CONFLICT);
    assert_int_equal(x.op.rc, TRK_OK);
    assert_int_equal(trk_stats_get(e->s, &after), TRK_OK);
    assert_int_equal(after.batches, before.batches + 1);
    assert_int_equal(after.payments, 3);
    assert_int_equal(trk_payment_get(e->s, u2, &p), TRK_ERR_NOTFOUND);
    expect_created(e->s, u3);
    gate_destroy(&g);
    counter_destroy(&cnt);
}

/* ---- persistence ------------------------------------------------------------------------ */

static void
test_close_reopen(void **state)
{
    env *e = *state;
    char uetr[37], key[16];
    unsigned i;
    fx f;

    for (i = 0; i < PERSIST_PAYMENTS; i++) {
        uetr_make(uetr, 7, i);
        fx_init(&f, uetr);
        snprintf(key, sizeof key, "k%u", i);
        fx_set_idem(&f, SCOPE, key, (unsigned char)i);
        assert_int_equal(submit_wait(e->s, &f.op), TRK_OK);
    }
    reopen(e, 0);
    assert_int_equal(stored_payments(e->s), PERSIST_PAYMENTS);
    for (i = 0; i < PERSIST_PAYMENTS; i++) {
        uetr_make(uetr, 7, i);
        expect_created(e->s, uetr);
    }
    /* The idempotency records survived too. */
    uetr_make(uetr, 7, 1000);
    fx_init(&f, uetr);
    fx_set_idem(&f, SCOPE, "k3", 3);
    assert_int_equal(submit_wait(e->s, &f.op), TRK_ERR_IDEM_REPLAY);
    assert_non_null(strstr(f.op.replay_body, "00000007-0000-4000-8003"));
    free(f.op.replay_body);
    create_ok(e->s, 7, 2000);
    assert_int_equal(stored_payments(e->s), PERSIST_PAYMENTS + 1);
}

/* ---- map growth ------------------------------------------------------------------------- */

typedef struct growth {
    trk_store *s;
    counter done;
    int stop; /* under done.mu */
    pthread_mutex_t mu;
    unsigned reads;
    unsigned errors; /* counted off the main thread, asserted on it (cmocka is not MT) */
} growth;

static void
growth_error(growth *g)
{
    pthread_mutex_lock(&g->mu);
    g->errors++;
    pthread_mutex_unlock(&g->mu);
}

/* Waits for more commits than `seen` (or the stop), so readers keep pace with the writer
 * instead of starving it of CPU; their reads still overlap its next batches and resizes. */
static size_t
growth_next(growth *g, size_t seen, int *stop)
{
    size_t n;

    pthread_mutex_lock(&g->done.mu);
    while (g->done.n == seen && !g->stop)
        pthread_cond_wait(&g->done.cv, &g->done.mu);
    n = g->done.n;
    *stop = g->stop;
    pthread_mutex_unlock(&g->done.mu);
    return n;
}

static void *
growth_reader(void *arg)
{
    growth *g = arg;
    char uetr[37];
    trk_payment p;
    trk_stats st;
    size_t committed = 0;
    int stop = 0;

    while (!stop) {
        committed = growth_next(g, committed, &stop);
        if (committed == 0)
            continue;
        uetr_make(uetr, 8, (unsigned)(committed - 1)); /* called back: committed */
        if (trk_payment_get(g->s, uetr, &p) == TRK_OK)
            trk_payment_clear(&p);
        else
            growth_error(g);
        if (trk_stats_get(g->s, &st) != TRK_OK)
            growth_error(g);
        pthread_mutex_lock(&g->mu);
        g->reads++;
        pthread_mutex_unlock(&g->mu);
    }
    return NULL;
}

static void
growth_done(trk_op *op, void *arg)
{
    growth *g = arg;

    if (op->rc != TRK_OK)
        growth_error(g);
    counter_add(&g->done);
}

static void
submit_growth(growth *g, fx *slots)
{
    char uetr[37];
    unsigned i;
    fx *f;

    for (i = 0; i < GROWTH_PAYMENTS; i++) {
        if (i >= GROWTH_WINDOW)
            counter_wait(&g->done, i - GROWTH_WINDOW + 1); /* the slot is free again */
        f = &slots[i % GROWTH_WINDOW];
        uetr_make(uetr, 8, i);
        fx_init(f, uetr);
        fx_pad_doc(f, 1000);
        fx_pad_msg(f, 2000);
        f->op.done = growth_done;
        f->op.arg = g;
        assert_int_equal(trk_submit(g->s, &f->op), TRK_OK);
    }
    counter_wait(&g->done, GROWTH_PAYMENTS);
}

static void
test_map_growth(void **state)
{
    env *e = *state;
    pthread_t readers[GROWTH_READERS];
    fx *slots = calloc(GROWTH_WINDOW, sizeof *slots);
    growth g = {.s = NULL};
    trk_stats st;
    char uetr[37];
    trk_payment p;
    unsigned i;

    assert_non_null(slots);
    reopen(e, TINY_MAP); /* an empty store: LMDB keeps the tiny size */
    assert_int_equal(trk_stats_get(e->s, &st), TRK_OK);
    assert_true(st.map_size < 2 * TINY_MAP);
    g.s = e->s;
    counter_init(&g.done);
    pthread_mutex_init(&g.mu, NULL);
    for (i = 0; i < GROWTH_READERS; i++)
        assert_int_equal(pthread_create(&readers[i], NULL, growth_reader, &g), 0);
    submit_growth(&g, slots);
    pthread_mutex_lock(&g.done.mu);
    g.stop = 1;
    pthread_cond_broadcast(&g.done.cv);
    pthread_mutex_unlock(&g.done.mu);
    for (i = 0; i < GROWTH_READERS; i++)
        pthread_join(readers[i], NULL);
    assert_int_equal(g.errors, 0);
    assert_true(g.reads > 0);
    assert_int_equal(trk_stats_get(e->s, &st), TRK_OK);
    assert_int_equal(st.payments, GROWTH_PAYMENTS);
    assert_true(st.map_size > (uint64_t)GROWTH_PAYMENTS * 3000);

    reopen(e, TINY_MAP); /* smaller than the data: LMDB raises it, growth goes on */
    for (i = 0; i < GROWTH_PAYMENTS; i++) {
        uetr_make(uetr, 8, i);
        assert_int_equal(trk_payment_get(e->s, uetr, &p), TRK_OK);
        assert_int_equal(p.doc_len, 1000);
        trk_payment_clear(&p);
    }
    for (i = 0; i < 50; i++)
        create_ok(e->s, 9, i);
    assert_int_equal(stored_payments(e->s), GROWTH_PAYMENTS + 50);
    pthread_mutex_destroy(&g.mu);
    counter_destroy(&g.done);
    free(slots);
}

/* Records at their limits, from a tiny map: each op alone needs several doublings, and the
 * batch byte budget splits the held-back queue (17 MiB ops: 3 fit in 64 MiB, then 2). */
#define BIG_OPS 5

static void
test_large_records(void **state)
{
    env *e = *state;
    char *doc = malloc(TRK_MAX_DOC), *msg = malloc(TRK_MAX_MESSAGE), *got, uetr[37];
    fx blocker, *big = calloc(BIG_OPS, sizeof *big);
    trk_stats before, after;
    trk_payment p;
    counter cnt;
    size_t len;
    gate g;
    unsigned i;

    assert_non_null(doc);
    assert_non_null(msg);
    assert_non_null(big);
    memset(doc, 'd', TRK_MAX_DOC);
    for (i = 0; i < TRK_MAX_MESSAGE; i++)
        msg[i] = (char)('A' + i % 23);
    reopen(e, TINY_MAP);
    gate_init(&g);
    counter_init(&cnt);
    uetr_make(uetr, 13, 100);
    fx_init(&blocker, uetr);
    blocker.op.done = gate_done;
    blocker.op.arg = &g;
    assert_int_equal(trk_submit(e->s, &blocker.op), TRK_OK);
    gate_wait_entered(&g);
    for (i = 0; i < BIG_OPS; i++) {
        uetr_make(uetr, 13, i);
        fx_init(&big[i], uetr);
        big[i].payment.doc = doc;
        big[i].payment.doc_len = TRK_MAX_DOC;
        big[i].op.msg = msg;
        big[i].op.msg_len = TRK_MAX_MESSAGE;
        big[i].op.done = count_into;
        big[i].op.arg = &cnt;
        assert_int_equal(trk_submit(e->s, &big[i].op), TRK_OK);
    }
    assert_int_equal(trk_stats_get(e->s, &before), TRK_OK);
    gate_open(&g);
    counter_wait(&cnt, BIG_OPS);
    assert_int_equal(trk_stats_get(e->s, &after), TRK_OK);
    assert_int_equal(after.batches - before.batches, 2);
    assert_true(after.map_size > (uint64_t)BIG_OPS * TRK_MAX_MESSAGE);
    for (i = 0; i < BIG_OPS; i++) {
        assert_int_equal(big[i].op.rc, TRK_OK);
        uetr_make(uetr, 13, i);
        assert_int_equal(trk_payment_get(e->s, uetr, &p), TRK_OK);
        assert_int_equal(p.doc_len, TRK_MAX_DOC);
        assert_memory_equal(p.doc, doc, TRK_MAX_DOC);
        trk_payment_clear(&p);
        assert_int_equal(trk_message_get(e->s, uetr, "pacs.008", &got, &len), TRK_OK);
        assert_int_equal(len, TRK_MAX_MESSAGE);
        assert_memory_equal(got, msg, TRK_MAX_MESSAGE);
        free(got);
    }
    gate_destroy(&g);
    counter_destroy(&cnt);
    free(big);
    free(msg);
    free(doc);
}

/* ---- corrupt and foreign stores (written with LMDB directly, the store closed) ----------- */

static void
raw_put(const char *dir, const char *db, const void *key, size_t klen, const void *val, size_t vlen)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {.mv_size = klen, .mv_data = (void *)key};
    MDB_val v = {.mv_size = vlen, .mv_data = (void *)val};

    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void
uuid_bytes(const char *uetr, uint8_t out[REC_UUID_LEN])
{
    assert_int_equal(rec_uuid_parse(uetr, out), 0);
}

/* A copy of a stored value (the caller frees it), read without the tracker. */
static uint8_t *
raw_get(const char *dir, const char *db, const void *key, size_t klen, size_t *vlen)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {.mv_size = klen, .mv_data = (void *)key}, v;
    uint8_t *copy;

    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
    assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
    copy = malloc(v.mv_size);
    assert_non_null(copy);
    memcpy(copy, v.mv_data, v.mv_size);
    *vlen = v.mv_size;
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return copy;
}

/* A stored payment's pkey, from payment_keys. */
static void
pkey_of(const char *dir, const char *uetr, uint8_t pkey[REC_PKEY_LEN])
{
    uint8_t uuid[REC_UUID_LEN], *v;
    uint64_t created;
    size_t len;

    uuid_bytes(uetr, uuid);
    v = raw_get(dir, "payment_keys", uuid, sizeof uuid, &len);
    assert_int_equal(rec_counter_decode(v, len, &created), TRK_OK);
    free(v);
    rec_pkey((int64_t)created, uuid, pkey);
}

static void
test_corrupt_records(void **state)
{
    env *e = *state;
    static const uint8_t future[] = {TRK_FORMAT_VERSION + 1, 0, 0, 0};
    uint8_t key[REC_PKEY_LEN + 8];
    char uetr[37], *msg;
    trk_payment p;
    trk_event *ev;
    size_t n, len;

    create_ok(e->s, 10, 1);
    uetr_make(uetr, 10, 1);
    trk_close(e->s);
    e->s = NULL;
    pkey_of(e->dir, uetr, key);
    raw_put(e->dir, "payments", key, REC_PKEY_LEN, future, sizeof future);
    memcpy(key + REC_PKEY_LEN, "\0\0\0\1", 4);
    raw_put(e->dir, "events", key, REC_PKEY_LEN + 4, future, 1);
    memcpy(key + REC_PKEY_LEN, "pacs.008", 8);
    raw_put(e->dir, "messages", key, REC_PKEY_LEN + 8, future, sizeof future);
    reopen(e, 0);
    assert_int_equal(trk_payment_get(e->s, uetr, &p), TRK_ERR_CORRUPT);
    assert_null(p.doc);
    assert_int_equal(trk_message_get(e->s, uetr, "pacs.008", &msg, &len), TRK_ERR_CORRUPT);
    assert_null(msg);
    /* events_get needs the payment key present (it is, if unreadable) and fails on the event */
    assert_int_equal(trk_events_get(e->s, uetr, &ev, &n), TRK_ERR_CORRUPT);
    assert_null(ev);
    assert_int_equal(n, 0);
}

static void
test_payment_under_wrong_key(void **state)
{
    env *e = *state;
    char u1[37], u2[37];
    uint8_t k1[REC_PKEY_LEN], k2[REC_PKEY_LEN], uuid2[REC_UUID_LEN], *copy, *created;
    size_t len, clen;
    trk_payment p;

    create_ok(e->s, 11, 1);
    uetr_make(u1, 11, 1);
    uetr_make(u2, 11, 2);
    trk_close(e->s);
    e->s = NULL;
    /* Copy u1's record under a key for u2: well-formed, but it names another payment. */
    pkey_of(e->dir, u1, k1);
    uuid_bytes(u2, uuid2);
    memcpy(k2, k1, REC_TIME_LEN);
    memcpy(REC_PKEY_UUID(k2), uuid2, REC_UUID_LEN);
    created = raw_get(e->dir, "payment_keys", REC_PKEY_UUID(k1), REC_UUID_LEN, &clen);
    raw_put(e->dir, "payment_keys", uuid2, sizeof uuid2, created, clen);
    free(created);
    copy = raw_get(e->dir, "payments", k1, sizeof k1, &len);
    raw_put(e->dir, "payments", k2, sizeof k2, copy, len);
    free(copy);
    reopen(e, 0);
    assert_int_equal(trk_payment_get(e->s, u2, &p), TRK_ERR_CORRUPT);
    expect_created(e->s, u1);
}

static void
test_unknown_store_format(void **state)
{
    env *e = *state;
    static const uint8_t later = TRK_FORMAT_VERSION + 1;
    trk_config cfg = {.dir = e->dir};

    trk_close(e->s);
    e->s = NULL;
    raw_put(e->dir, "meta", "format", 6, &later, 1);
    assert_int_equal(trk_open(&e->s, &cfg), TRK_ERR_CORRUPT);
    assert_null(e->s);
}

/* ---- indexes ---------------------------------------------------------------------------- */

static size_t
index_entries(MDB_txn *txn, const char *db, size_t klen, uint8_t keys[][32], size_t max)
{
    MDB_cursor *cur;
    MDB_dbi dbi;
    MDB_val k, v;
    size_t n = 0;
    int rc;

    assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
    assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        assert_true(n < max);
        assert_int_equal(k.mv_size, klen);
        assert_int_equal(v.mv_size, 1);
        assert_int_equal(((uint8_t *)v.mv_data)[0], TRK_FORMAT_VERSION);
        memcpy(keys[n++], k.mv_data, klen);
    }
    mdb_cursor_close(cur);
    return n;
}

static void
test_indexes(void **state)
{
    static const char *const bics[] = {"BBBBGB22XXX", "AAAAGB22", "BBBBGB22ABC"};
    static const int64_t created[] = {3000, 1000, 2000};
    env *e = *state;
    uint8_t keys[8][32], u[16];
    char uetr[37];
    MDB_env *env;
    MDB_txn *txn;
    size_t i, n;
    fx f;

    for (i = 0; i < 3; i++) {
        uetr_make(uetr, 12, (unsigned)i);
        fx_init(&f, uetr);
        snprintf(f.payment.debtor_agent, sizeof f.payment.debtor_agent, "%s", bics[i]);
        f.payment.created_ms = created[i];
        f.payment.updated_ms = created[i] + 5;
        assert_int_equal(submit_wait(e->s, &f.op), TRK_OK);
    }
    trk_close(e->s);
    e->s = NULL;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, e->dir, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);

    /* by_owner: BIC8 | created_ms | uuid — AAAA first, then BBBB's two by time. */
    n = index_entries(txn, "by_owner", REC_OWNER_KEY_LEN, keys, 8);
    assert_int_equal(n, 3);
    assert_memory_equal(keys[0], "AAAAGB22", 8);
    assert_memory_equal(keys[1], "BBBBGB22", 8);
    assert_memory_equal(keys[2], "BBBBGB22", 8);
    uetr_make(uetr, 12, 2); /* created 2000 sorts before 3000 */
    uuid_bytes(uetr, u);
    assert_memory_equal(keys[1] + 16, u, 16);
    assert_int_equal(keys[1][8], 0x80);
    assert_int_equal(keys[1][14], 2000 >> 8);
    assert_int_equal(keys[1][15], 2000 & 0xff);

    /* by_status_time: status | updated_ms | uuid — all ACSP, in updated order. */
    n = index_entries(txn, "by_status_time", REC_STATUS_KEY_LEN, keys, 8);
    assert_int_equal(n, 3);
    for (i = 0; i < n; i++)
        assert_memory_equal(keys[i], "ACSP", 4);
    uetr_make(uetr, 12, 1);
    uuid_bytes(uetr, u);
    assert_memory_equal(keys[0] + 12, u, 16);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    reopen(e, 0);
}

/* ---- names ------------------------------------------------------------------------------ */

static void
test_names(void **state)
{
    int err;

    (void)state;
    assert_string_equal(trk_strerror(TRK_OK), "success");
    for (err = TRK_ERR_NOMEM; err >= TRK_ERR_STATE; err--)
        assert_string_not_equal(trk_strerror(err), "unknown tracker error");
    assert_string_equal(trk_strerror(TRK_ERR_STATE - 1), "unknown tracker error");
    assert_string_equal(trk_strerror(1), "unknown tracker error");
    assert_string_equal(trk_strerror(-1), "unknown tracker error");
    assert_string_equal(trk_state_name(TRK_RECEIVED), "RECEIVED");
    assert_string_equal(trk_state_name(TRK_FUNDS_RESERVED), "FUNDS_RESERVED");
    assert_string_equal(trk_state_name(TRK_RETURNED), "RETURNED");
    assert_string_equal(trk_state_name((trk_state)0), "UNKNOWN");
    assert_string_equal(trk_state_name((trk_state)(TRK_RETURNED + 1)), "UNKNOWN");
    assert_int_equal(trk_state_from_name("CANCEL_PENDING"), TRK_CANCEL_PENDING);
    assert_int_equal(trk_state_from_name("cancel_pending"), 0);
    assert_int_equal(trk_state_from_name(NULL), 0);
}

static void
test_clear_is_safe(void **state)
{
    trk_payment p;
    trk_event ev;

    (void)state;
    memset(&p, 0, sizeof p);
    memset(&ev, 0, sizeof ev);
    trk_payment_clear(&p);
    trk_payment_clear(NULL);
    trk_event_clear(&ev);
    trk_event_clear(NULL);
    trk_events_free(NULL, 0);
}

#define STORE_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_creates_private_dir),
        cmocka_unit_test(test_open_invalid),
        STORE_TEST(test_create_and_get),
        STORE_TEST(test_create_without_message),
        STORE_TEST(test_reads_not_found),
        STORE_TEST(test_submit_invalid),
        STORE_TEST(test_exists),
        STORE_TEST(test_idem_replay_and_conflict),
        STORE_TEST(test_idem_same_batch),
        STORE_TEST(test_close_reopen),
        STORE_TEST(test_map_growth),
        STORE_TEST(test_large_records),
        STORE_TEST(test_corrupt_records),
        STORE_TEST(test_payment_under_wrong_key),
        STORE_TEST(test_unknown_store_format),
        STORE_TEST(test_indexes),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_clear_is_safe),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
