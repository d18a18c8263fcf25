/*
 * Crash durability: nothing acknowledged is lost. A child process opens the store and submits
 * payments without end, writing each UETR to a pipe only from its done() with TRK_OK (that
 * is, once the batch is committed and fsync'd). The parent kills it with SIGKILL after a number
 * of acknowledgements (not a time), reopens the store and finds every acknowledged payment
 * whole: the record, its event and its message. Several rounds on the same store.
 */
#include <errno.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"

#define ROUNDS 3
#define ACKS_BASE 150  /* round r kills after ACKS_BASE * (r + 1) acknowledgements */
#define CHILD_SLOTS 64 /* ops in flight in the child */
#define LINE_LEN 37    /* a UETR and '\n': one write, atomic on a pipe (< PIPE_BUF) */
#define CHILD_FAILED 3

typedef struct child {
    int fd;
    sem_t free_slots;
} child;

/* Writer thread of the child: report only what is durable. */
static void
child_done(trk_op *op, void *arg)
{
    child *c = arg;
    char line[LINE_LEN];

    if (op->rc == TRK_OK) {
        memcpy(line, op->payment->uetr, LINE_LEN - 1);
        line[LINE_LEN - 1] = '\n';
        if (write(c->fd, line, sizeof line) != (ssize_t)sizeof line)
            _exit(CHILD_FAILED);
    }
    sem_post(&c->free_slots);
}

/* Never returns. Dones come back in submission order (one FIFO writer), so once a slot is
 * counted free, the op that used it last has been called back. */
static void
run_child(const char *dir, int fd, unsigned round)
{
    trk_config cfg = {.dir = dir};
    fx *slots = calloc(CHILD_SLOTS, sizeof *slots);
    trk_store *s;
    child c = {.fd = fd};
    char uetr[37];
    unsigned i;
    fx *f;

    if (!slots || sem_init(&c.free_slots, 0, CHILD_SLOTS) || trk_open(&s, &cfg) != TRK_OK)
        _exit(CHILD_FAILED);
    for (i = 0;; i++) {
        while (sem_wait(&c.free_slots) != 0 && errno == EINTR)
            ;
        f = &slots[i % CHILD_SLOTS];
        uetr_make(uetr, 0xc0de0000u + round, i);
        fx_init(f, uetr);
        f->op.done = child_done;
        f->op.arg = &c;
        if (trk_submit(s, &f->op) != TRK_OK)
            _exit(CHILD_FAILED);
    }
}

typedef struct acks {
    char (*uetr)[37];
    size_t n, cap;
    char part[LINE_LEN];
    size_t part_len;
} acks;

static void
acks_add(acks *a, const char *line)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 256;
        a->uetr = realloc(a->uetr, a->cap * sizeof *a->uetr);
        assert_non_null(a->uetr);
    }
    memcpy(a->uetr[a->n], line, 36);
    a->uetr[a->n][36] = '\0';
    a->n++;
}

/* Splits what was read into lines; a line cut by the read boundary waits in part. */
static void
acks_feed(acks *a, const char *buf, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        a->part[a->part_len++] = buf[i];
        if (a->part_len == LINE_LEN) {
            assert_int_equal(a->part[LINE_LEN - 1], '\n');
            acks_add(a, a->part);
            a->part_len = 0;
        }
    }
}

/* Reads acknowledgements until `kill_at` of them (then SIGKILL) and on to EOF. */
static void
collect(int fd, pid_t pid, size_t kill_at, acks *a)
{
    char buf[4096];
    ssize_t got;
    int killed = 0, status;

    for (;;) {
        got = read(fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR)
            continue;
        assert_true(got >= 0);
        if (got == 0)
            break;
        acks_feed(a, buf, (size_t)got);
        if (!killed && a->n >= kill_at) {
            assert_int_equal(kill(pid, SIGKILL), 0);
            killed = 1;
        }
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!killed)
        fail_msg("child ended by itself (status %d) after %zu acks", status, a->n);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    assert_int_equal(a->part_len, 0); /* a line is one atomic write: never half there */
}

static void
expect_whole(trk_store *s, const char *uetr)
{
    trk_payment p;
    trk_event *ev;
    char *msg;
    size_t n, len;
    fx f;

    fx_init(&f, uetr);
    if (trk_payment_get(s, uetr, &p) != TRK_OK)
        fail_msg("acknowledged payment %s lost", uetr);
    assert_string_equal(p.doc, f.doc);
    assert_int_equal(p.last_seq, 1);
    trk_payment_clear(&p);
    assert_int_equal(trk_events_get(s, uetr, &ev, &n), TRK_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].seq, 1);
    trk_events_free(ev, n);
    assert_int_equal(trk_message_get(s, uetr, "pacs.008", &msg, &len), TRK_OK);
    assert_string_equal(msg, f.msg);
    free(msg);
}

static size_t
crash_round(const char *dir, unsigned round)
{
    trk_config cfg = {.dir = dir};
    acks a = {0};
    trk_store *s;
    trk_stats st;
    int fds[2];
    pid_t pid;
    size_t i, n;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        run_child(dir, fds[1], round);
    }
    close(fds[1]);
    collect(fds[0], pid, (size_t)ACKS_BASE * (round + 1), &a);
    close(fds[0]);

    assert_int_equal(trk_open(&s, &cfg), TRK_OK); /* after a crash: stale reader, no txn */
    for (i = 0; i < a.n; i++)
        expect_whole(s, a.uetr[i]);
    assert_int_equal(trk_stats_get(s, &st), TRK_OK);
    assert_true(st.payments >= a.n);
    print_message("round %u: %zu acknowledged, %llu stored\n", round, a.n,
                  (unsigned long long)st.payments);
    trk_close(s);
    n = a.n;
    free(a.uetr);
    return n;
}

static void
test_acknowledged_survive_sigkill(void **state)
{
    char *dir = tmpdir_make();
    size_t total = 0;
    unsigned r;

    (void)state;
    assert_non_null(dir);
    for (r = 0; r < ROUNDS; r++)
        total += crash_round(dir, r);
    assert_true(total >= (size_t)ACKS_BASE * ROUNDS);
    tmpdir_remove(dir);
}

/* ---- the saga under SIGKILL ------------------------------------------------------------------
 *
 * A child runs the whole saga with delivery on: per payment a funded create, an ACSP (with a
 * dedup key), then an ACCC, a recall (camt.056) or nothing. Each acknowledged op is a line
 * "<kind><uetr>\n" written from done() with TRK_OK. The parent kills it after a number of
 * acknowledgements, reopens the store with its spool and checks: every acknowledged change is
 * there, trk_verify finds nothing, and after delivery every message of every stored payment
 * is in the spool exactly once (one file, the stored bytes, one delivery event).
 */

#define SAGA_ROUNDS 4
#define SAGA_ACKS 120 /* round r kills after SAGA_ACKS * (r + 1) acknowledgements */
#define SAGA_SLOTS 32 /* payments in flight in the child */
#define SAGA_LINE 38  /* kind, UETR, '\n' */
#define SAGA_ACCT "GB33BUKB20201555555555"
#define SAGA_BALANCE INT64_C(100000000000000)
#define SAGA_TICK_MS 5
#define SAGA_PAGE 200

typedef struct saga_slot {
    fx f;
    evx acsp, last;
    int has_last;
    char dedup[48];
} saga_slot;

typedef struct saga_child {
    int fd;
    sem_t free_slots;
} saga_child;

static void
saga_ack(saga_child *c, char kind, const char *uetr)
{
    char line[SAGA_LINE];

    line[0] = kind;
    memcpy(line + 1, uetr, 36);
    line[SAGA_LINE - 1] = '\n';
    if (write(c->fd, line, sizeof line) != (ssize_t)sizeof line)
        _exit(CHILD_FAILED);
}

static void
saga_done(trk_op *op, void *arg)
{
    const char *uetr = op->kind == TRK_OP_CREATE ? op->payment->uetr : op->uetr;
    char kind = 'C';

    if (op->kind == TRK_OP_EVENT)
        kind = op->input == TRK_IN_ACSP ? 'S' : op->input == TRK_IN_ACCC ? 'D' : 'X';
    if (op->rc != TRK_OK)
        _exit(CHILD_FAILED); /* nothing in this stream may be refused */
    saga_ack(arg, kind, uetr);
}

static void
saga_slot_done(trk_op *op, void *arg)
{
    saga_done(op, arg);
    sem_post(&((saga_child *)arg)->free_slots);
}

static void
saga_fill(saga_slot *slot, unsigned round, unsigned i, saga_child *c)
{
    char uetr[37];

    memset(slot, 0, sizeof *slot);
    uetr_make(uetr, 0x5a6a0000u + round, i);
    fx_init(&slot->f, uetr);
    fx_fund(&slot->f, SAGA_ACCT);
    slot->f.op.done = saga_done;
    slot->f.op.arg = c;
    evx_init(&slot->acsp, slot->f.payment.uetr, TRK_IN_ACSP, "CRSPUS30XXX", i);
    snprintf(slot->dedup, sizeof slot->dedup, "CRSPUS30:S%u", i);
    slot->acsp.op.dedup_key = slot->dedup;
    slot->acsp.op.done = saga_done;
    slot->acsp.op.arg = c;
    if (i % 3 == 2)
        return;
    evx_init(&slot->last, slot->f.payment.uetr, i % 3 ? TRK_IN_CANCEL : TRK_IN_ACCC, "BENFDE20XXX",
             round * 100000 + i); /* camt.056 MsgIds unique across rounds */
    slot->last.op.done = saga_done;
    slot->last.op.arg = c;
    slot->has_last = 1;
}

static void
run_saga_child(const char *dir, const char *spool, int fd, unsigned round)
{
    trk_config cfg = {.dir = dir, .spool_dir = spool, .tick_ms = SAGA_TICK_MS};
    saga_slot *slots = calloc(SAGA_SLOTS, sizeof *slots);
    saga_child c = {.fd = fd};
    trk_store *s;
    trk_op *tail;
    unsigned i;

    if (!slots || sem_init(&c.free_slots, 0, SAGA_SLOTS) || trk_open(&s, &cfg) != TRK_OK)
        _exit(CHILD_FAILED);
    if (round == 0 && account_put(s, SAGA_ACCT, SAGA_BALANCE, NULL) != TRK_OK)
        _exit(CHILD_FAILED);
    for (i = 0;; i++) {
        while (sem_wait(&c.free_slots) != 0 && errno == EINTR)
            ;
        saga_slot *slot = &slots[i % SAGA_SLOTS];
        saga_fill(slot, round, i, &c);
        tail = slot->has_last ? &slot->last.op : &slot->acsp.op;
        tail->done = saga_slot_done;
        if (trk_submit(s, &slot->f.op) || trk_submit(s, &slot->acsp.op) ||
            (slot->has_last && trk_submit(s, &slot->last.op)))
            _exit(CHILD_FAILED);
    }
}

/* What the parent learnt: per UETR the acknowledged kinds. */
typedef struct saga_acks {
    char (*uetr)[37];
    unsigned *kinds; /* bit per kind: C S D X */
    size_t n, cap;
    char part[SAGA_LINE];
    size_t part_len;
} saga_acks;

static unsigned
kind_bit(char k)
{
    return k == 'C' ? 1u : k == 'S' ? 2u : k == 'D' ? 4u : k == 'X' ? 8u : 0u;
}

static void
saga_note(saga_acks *a, const char *line)
{
    size_t i;

    assert_true(kind_bit(line[0]) != 0);
    for (i = a->n; i > 0; i--) /* the newest first: acks of one payment are close */
        if (memcmp(a->uetr[i - 1], line + 1, 36) == 0) {
            a->kinds[i - 1] |= kind_bit(line[0]);
            return;
        }
    assert_int_equal(line[0], 'C'); /* a create is acknowledged before its updates */
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 256;
        a->uetr = realloc(a->uetr, a->cap * sizeof *a->uetr);
        a->kinds = realloc(a->kinds, a->cap * sizeof *a->kinds);
        assert_true(a->uetr && a->kinds);
    }
    memcpy(a->uetr[a->n], line + 1, 36);
    a->uetr[a->n][36] = '\0';
    a->kinds[a->n++] = kind_bit('C');
}

static size_t
saga_collect(int fd, pid_t pid, size_t kill_at, saga_acks *a)
{
    char buf[4096];
    size_t lines = 0;
    ssize_t got, i;
    int killed = 0, status;

    for (;;) {
        got = read(fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR)
            continue;
        assert_true(got >= 0);
        if (got == 0)
            break;
        for (i = 0; i < got; i++) {
            a->part[a->part_len++] = buf[i];
            if (a->part_len == SAGA_LINE) {
                assert_int_equal(a->part[SAGA_LINE - 1], '\n');
                saga_note(a, a->part);
                a->part_len = 0;
                lines++;
            }
        }
        if (!killed && lines >= kill_at) {
            assert_int_equal(kill(pid, SIGKILL), 0);
            killed = 1;
        }
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!killed)
        fail_msg("saga child ended by itself (status %d) after %zu acks", status, lines);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(a->part_len, 0);
    return lines;
}

/* Every acknowledged change is there. */
static void
saga_expect_acked(trk_store *s, const saga_acks *a)
{
    trk_payment p;
    size_t i;

    for (i = 0; i < a->n; i++) {
        if (trk_payment_get(s, a->uetr[i], &p) != TRK_OK)
            fail_msg("acknowledged payment %s lost", a->uetr[i]);
        if (a->kinds[i] == (kind_bit('C') | kind_bit('S')) && p.state != TRK_IN_PROGRESS &&
            p.state != TRK_COMPLETED && p.state != TRK_CANCEL_PENDING)
            fail_msg("%s: acknowledged ACSP lost (%s)", a->uetr[i], trk_state_name(p.state));
        if ((a->kinds[i] & kind_bit('D')) && p.state != TRK_COMPLETED)
            fail_msg("%s: acknowledged ACCC lost (%s)", a->uetr[i], trk_state_name(p.state));
        if ((a->kinds[i] & kind_bit('X')) && p.state != TRK_CANCEL_PENDING)
            fail_msg("%s: acknowledged recall lost (%s)", a->uetr[i], trk_state_name(p.state));
        trk_payment_clear(&p);
    }
}

/* One stored message: its file holds its bytes, and it was delivered once. */
static void
saga_expect_file(trk_store *s, const char *spool, const trk_payment *p, const char *name,
                 const char *msg_id, const trk_event *ev, size_t n_ev)
{
    char path[600], *stored, *file;
    size_t len, i, delivered = 0;
    FILE *fp;

    assert_int_equal(trk_message_get(s, p->uetr, name, &stored, &len), TRK_OK);
    snprintf(path, sizeof path, "%s/%s.xml", spool, msg_id);
    fp = fopen(path, "rb");
    if (!fp)
        fail_msg("%s: %s %s missing from the spool", p->uetr, name, msg_id);
    file = calloc(1, len + 2);
    assert_non_null(file);
    assert_int_equal(fread(file, 1, len + 1, fp), len);
    fclose(fp);
    assert_memory_equal(file, stored, len);
    free(file);
    free(stored);
    for (i = 0; i < n_ev; i++)
        delivered += !strcmp(ev[i].type, TRK_EV_DELIVERED) && !strcmp(ev[i].message_name, name);
    if (delivered != 1)
        fail_msg("%s: %s delivered %zu times", p->uetr, name, delivered);
}

/* Every stored payment's messages, each exactly once in the spool; returns how many. */
static size_t
saga_expect_spool(trk_store *s, const char *spool, const trk_payment *p)
{
    char *msg;
    trk_event *ev;
    size_t n, len, files = 1, i;
    const char *camt = NULL;

    assert_int_equal(trk_events_get(s, p->uetr, &ev, &n), TRK_OK);
    saga_expect_file(s, spool, p, "pacs.008", p->msg_id, ev, n);
    if (trk_message_get(s, p->uetr, "camt.056", &msg, &len) == TRK_OK) {
        free(msg);
        for (i = 0; i < n; i++)
            if (!strcmp(ev[i].type, "CTCA"))
                camt = ev[i].network_ref;
        assert_non_null(camt);
        saga_expect_file(s, spool, p, "camt.056", camt, ev, n);
        files++;
    }
    trk_events_free(ev, n);
    return files;
}

static void
saga_check_spool(trk_store *s, const char *spool)
{
    char next[TRK_CURSOR_LEN], cursor[TRK_CURSOR_LEN] = "";
    trk_payment *p;
    trk_query q;
    size_t n, i, files = 0;

    memset(&q, 0, sizeof q);
    q.limit = SAGA_PAGE;
    do {
        q.cursor = cursor;
        assert_int_equal(trk_payments_list(s, &q, &p, &n, next), TRK_OK);
        for (i = 0; i < n; i++) {
            assert_true(p[i].state != TRK_FUNDS_RESERVED); /* all delivered */
            files += saga_expect_spool(s, spool, &p[i]);
        }
        trk_payments_free(p, n);
        memcpy(cursor, next, sizeof cursor);
    } while (cursor[0]);
    assert_int_equal(dir_count(spool, ".xml"), files); /* nothing twice, nothing stray */
    assert_int_equal(dir_count(spool, NULL), files);   /* no temporary left */
}

static void
saga_round(const char *dir, const char *spool, unsigned round, saga_acks *a)
{
    trk_config cfg = {.dir = dir, .spool_dir = spool, .tick_ms = SAGA_TICK_MS};
    trk_store *s;
    trk_stats st;
    size_t lines;
    int fds[2];
    pid_t pid;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        run_saga_child(dir, spool, fds[1], round);
    }
    close(fds[1]);
    lines = saga_collect(fds[0], pid, (size_t)SAGA_ACKS * (round + 1), a);
    close(fds[0]);

    assert_int_equal(trk_open(&s, &cfg), TRK_OK);
    saga_expect_acked(s, a);
    expect_verified(s); /* before delivery resumes: the crash left it consistent */
    assert_int_equal(trk_outbox_flush(s), TRK_OK);
    assert_int_equal(trk_stats_get(s, &st), TRK_OK);
    assert_int_equal(st.outbox, 0);
    expect_verified(s);
    saga_check_spool(s, spool);
    print_message("saga round %u: %zu acks, %llu payments stored\n", round, lines,
                  (unsigned long long)st.payments);
    trk_close(s);
}

static void
test_saga_survives_sigkill(void **state)
{
    char *dir = tmpdir_make(), spool[512];
    saga_acks a = {0};
    unsigned r;

    (void)state;
    assert_non_null(dir);
    snprintf(spool, sizeof spool, "%s/spool", dir);
    for (r = 0; r < SAGA_ROUNDS; r++)
        saga_round(dir, spool, r, &a);
    free(a.uetr);
    free(a.kinds);
    tmpdir_remove(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acknowledged_survive_sigkill),
        cmocka_unit_test(test_saga_survives_sigkill),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
