/*
 * tracker/outbox.c: delivery to the spool (one file per MsgId, the stored bytes, no
 * temporary left), delivery → SENT, the camt.056 of a recall, entries queued without a spool
 * delivered after a restart with one, a file already there (a crash between rename and
 * removal) not written again, leftover temporary files cleaned, a cancel racing delivery
 * turned into a recall, and a failing spool retried.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"

#define ACCT "GB33BUKB20201555555555"
#define OPENING 10000000
#define WAIT_STEP_NS 2000000L
#define WAIT_STEPS 5000 /* 10 s */

typedef struct env {
    char *dir;
    char spool[512];
    trk_store *s;
} env;

static int
open_store(env *e, int with_spool, unsigned tick_ms)
{
    trk_config cfg = {0};

    cfg.dir = e->dir;
    cfg.spool_dir = with_spool ? e->spool : NULL;
    cfg.tick_ms = tick_ms;
    return trk_open(&e->s, &cfg);
}

static int
setup(void **state)
{
    env *e = calloc(1, sizeof *e);

    if (!e)
        return -1;
    e->dir = tmpdir_make();
    if (!e->dir)
        return -1;
    snprintf(e->spool, sizeof e->spool, "%s/spool", e->dir);
    if (open_store(e, 1, 3600 * 1000) != TRK_OK || account_put(e->s, ACCT, OPENING, NULL))
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
reopen(env *e, int with_spool, unsigned tick_ms)
{
    trk_close(e->s);
    e->s = NULL;
    assert_int_equal(open_store(e, with_spool, tick_ms), TRK_OK);
}

static void
funded(fx *f, unsigned a, unsigned b)
{
    char uetr[37];

    uetr_make(uetr, a, b);
    fx_init(f, uetr);
    fx_fund(f, ACCT);
}

static void
spool_file(const env *e, const char *msg_id, char *path, size_t size)
{
    snprintf(path, size, "%s/%s.xml", e->spool, msg_id);
}

/* The file's bytes; NULL when it is not there. */
static char *
slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    rewind(fp);
    buf = calloc(1, (size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    return buf;
}

static void
put_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static uint64_t
outbox(trk_store *s)
{
    trk_stats st;

    assert_int_equal(trk_stats_get(s, &st), TRK_OK);
    return st.outbox;
}

/* Polls (the delivery thread runs on its own) until the payment is in `want`. */
static void
wait_state(trk_store *s, const char *uetr, trk_state want)
{
    struct timespec step = {0, WAIT_STEP_NS};
    int i;

    for (i = 0; i < WAIT_STEPS && state_of(s, uetr) != want; i++)
        nanosleep(&step, NULL);
    assert_int_equal(state_of(s, uetr), want);
}

static void
test_delivery_makes_sent(void **state)
{
    env *e = *state;
    char path[600], *got;
    trk_event *ev;
    struct stat st;
    size_t n;
    fx f;

    funded(&f, 1, 1);
    assert_int_equal(submit_wait(e->s, &f.op), TRK_OK);
    assert_int_equal(trk_outbox_flush(e->s), TRK_OK);
    assert_int_equal(state_of(e->s, f.payment.uetr), TRK_SENT);
    assert_int_equal(outbox(e->s), 0);
    spool_file(e, f.event.network_ref, path, sizeof path);
    got = slurp(path);
    assert_non_null(got);
    assert_string_equal(got, f.msg); /* the stored bytes, as they are */
    free(got);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(dir_count(e->spool, NULL), 1); /* no temporary left */
    assert_int_equal(trk_events_get(e->s, f.payment.uetr, &ev, &n), TRK_OK);
    assert_int_equal(n, 2);
    assert_string_equal(ev[1].type, TRK_EV_DELIVERED);
    assert_string_equal(ev[1].message_name, "pacs.008");
    assert_string_equal(ev[1].network_ref, f.event.network_ref);
    assert_int_equal(ev[1].input, TRK_IN_DELIVERED);
    assert_int_equal(ev[1].state, TRK_SENT);
    assert_int_equal(ev[1].flags, TRK_EF_INTERNAL);
    trk_events_free(ev, n);
    /* Nothing left to do: a second flush writes nothing. */
    assert_int_equal(trk_outbox_flush(e->s), TRK_OK);
    assert_int_equal(dir_count(e->spool, NULL), 1);
}

static void
test_delivery_thread(void **state)
{
    env *e = *state;
    trk_stats st;
    fx f[4];
    unsigned i;

    reopen(e, 1, 20); /* the thread is woken by commits; the tick retries */
    for (i = 0; i < 4; i++) {
        funded(&f[i], 2, i);
        assert_int_equal(submit_wait(e->s, &f[i].op), TRK_OK);
    }
    for (i = 0; i < 4; i++)
        wait_state(e->s, f[i].payment.uetr, TRK_SENT);
    assert_int_equal(dir_count(e->spool, ".xml"), 4);
    assert_int_equal(trk_stats_get(e->s, &st), TRK_OK);
    assert_int_equal(st.outbox, 0);
    assert_int_equal(st.delivered, 4);
}

/* Queued while there was no spool; delivered by the thread after a restart with one. */
static void
test_resume_after_restart(void **state)
{
    env *e = *state;
    fx f[3];
    unsigned i;

    reopen(e, 0, 3600 * 1000);
    for (i = 0; i < 3; i++) {
        funded(&f[i], 3, i);
        assert_int_equal(submit_wait(e->s, &f[i].op), TRK_OK);
    }
    assert_int_equal(outbox(e->s), 3);
    assert_int_equal(trk_outbox_flush(e->s), TRK_ERR_INVALID); /* no spool */
    reopen(e, 1, 3600 * 1000);
    for (i = 0; i < 3; i++)
        wait_state(e->s, f[i].payment.uetr, TRK_SENT);
    assert_int_equal(dir_count(e->spool, ".xml"), 3);
}

/* The file is there already (written before a crash, entry not yet removed): not written
 * again; the entry goes and the payment is SENT. A temporary a crash left is removed. */
static void
test_existing_file_not_rewritten(void **state)
{
    env *e = *state;
    char path[600], tmp[600], *got;
    fx f;

    reopen(e, 0, 3600 * 1000);
    funded(&f, 4, 1);
    assert_int_equal(submit_wait(e->s, &f.op), TRK_OK);
    spool_file(e, f.event.network_ref, path, sizeof path);
    put_file(path, "delivered before the crash");
    snprintf(tmp, sizeof tmp, "%s/.Mhalfway.xml.tmp", e->spool);
    put_file(tmp, "half a message");
    reopen(e, 1, 3600 * 1000);
    assert_int_equal(trk_outbox_flush(e->s), TRK_OK);
    assert_int_equal(state_of(e->s, f.payment.uetr), TRK_SENT);
    got = slurp(path);
    assert_non_null(got);
    assert_string_equal(got, "delivered before the crash");
    free(got);
    assert_int_equal(dir_count(e->spool, NULL), 1);
}

static void
test_recall_delivered(void **state)
{
    env *e = *state;
    char path[600], *got;
    trk_event *ev;
    size_t n;
    evx x;
    fx f;

    funded(&f, 5, 1);
    assert_int_equal(submit_wait(e->s, &f.op), TRK_OK);
    assert_int_equal(trk_outbox_flush(e->s), TRK_OK);
    evx_init(&x, f.payment.uetr, TRK_IN_CANCEL, "CRDRGB20XXX", 77);
    assert_int_equal(evx_run(e->s, &x), TRK_OK);
    assert_int_equal(x.op.to_state, TRK_CANCEL_PENDING);
    assert_int_equal(trk_outbox_flush(e->s), TRK_OK);
    spool_file(e, "C77", path, sizeof path);
    got = slurp(path);
    assert_non_null(got);
    assert_string_equal(got, x.msg);
    free(got);
    assert_int_equal(state_of(e->s, f.payment.uetr), TRK_CANCEL_PENDING);
    assert_int_equal(trk_events_get(e->s, f.payment.uetr, &ev, &n), TRK_OK);
    assert_int_equal(n, 4); /* CTPT, DLVR pacs.008, CTCA, DLVR camt.056 */
    assert_string_equal(ev[3].type, TRK_EV_DELIVERED);
    assert_string_equal(ev[3].message_name, "camt.056");
    assert_int_equal(ev[3].state, TRK_CANCEL_PENDING);
    trk_events_free(ev, n);
    assert_int_equal(dir_count(e->spool, ".xml"), 2);
}

static void
count_done(trk_op *op, void *arg)
{
    (void)op;
    counter_add(arg);
}

/* A cancel applied while the pacs.008's file already exists: it has left, so the cancel is
 * a recall. The writer is held so the create and the cancel commit before the delivery
 * thread can act, with the file put in place meanwhile. */
static void
test_cancel_after_file_is_recall(void **state)
{
    env *e = *state;
    char path[600];
    trk_event *ev;
    size_t n;
    counter c;
    gate g;
    evx x;
    fx hold, f;

    funded(&hold, 6, 0);
    funded(&f, 6, 1);
    evx_init(&x, f.payment.uetr, TRK_IN_CANCEL, "CRDRGB20XXX", 88);
    gate_init(&g);
    counter_init(&c);
    hold.op.done = gate_done;
    hold.op.arg = &g;
    assert_int_equal(trk_submit(e->s, &hold.op), TRK_OK);
    gate_wait_entered(&g);
    f.op.done = x.op.done = count_done;
    f.op.arg = x.op.arg = &c;
    assert_int_equal(trk_submit(e->s, &f.op), TRK_OK);
    assert_int_equal(trk_submit(e->s, &x.op), TRK_OK);
    spool_file(e, f.event.network_ref, path, sizeof path);
    put_file(path, "already on its way");
    gate_open(&g);
    counter_wait(&c, 2);
    assert_int_equal(f.op.rc, TRK_OK);
    assert_int_equal(x.op.rc, TRK_OK);
    assert_int_equal(x.op.to_state, TRK_CANCEL_PENDING);
    assert_int_equal(account_reserved(e->s, ACCT), 2 * FX_AMOUNT); /* held until the answer */
    assert_int_equal(trk_outbox_flush(e->s), TRK_OK);
    assert_int_equal(state_of(e->s, f.payment.uetr), TRK_CANCEL_PENDING);
    spool_file(e, "C88", path, sizeof path);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(trk_events_get(e->s, f.payment.uetr, &ev, &n), TRK_OK);
    assert_int_equal(n, 4); /* CTPT, DLVR pacs.008 (found gone), CTCA, DLVR camt.056 */
    assert_string_equal(ev[1].type, TRK_EV_DELIVERED);
    assert_string_equal(ev[1].message_name, "pacs.008");
    assert_string_equal(ev[2].type, "CTCA");
    trk_events_free(ev, n);
    counter_destroy(&c);
    gate_destroy(&g);
}

/* The spool refuses (not a directory any more): the entry stays, then goes once it works. */
static void
test_failing_spool_retried(void **state)
{
    env *e = *state;
    char moved[600];
    trk_stats st;
    fx f;

    reopen(e, 1, 3600 * 1000);
    snprintf(moved, sizeof moved, "%s/spool-away", e->dir);
    assert_int_equal(rename(e->spool, moved), 0);
    put_file(e->spool, "a file where the spool was");
    funded(&f, 7, 1);
    assert_int_equal(submit_wait(e->s, &f.op), TRK_OK);
    assert_int_equal(trk_outbox_flush(e->s), TRK_ERR_STORE);
    assert_int_equal(trk_stats_get(e->s, &st), TRK_OK);
    assert_true(st.delivery_errors > 0);
    assert_int_equal(st.outbox, 1);
    assert_int_equal(state_of(e->s, f.payment.uetr), TRK_FUNDS_RESERVED);
    assert_int_equal(unlink(e->spool), 0);
    assert_int_equal(rename(moved, e->spool), 0);
    assert_int_equal(trk_outbox_flush(e->s), TRK_OK);
    assert_int_equal(state_of(e->s, f.payment.uetr), TRK_SENT);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_delivery_makes_sent),   T(test_delivery_thread),
        T(test_resume_after_restart),  T(test_existing_file_not_rewritten),
        T(test_recall_delivered),      T(test_cancel_after_file_is_recall),
        T(test_failing_spool_retried),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
