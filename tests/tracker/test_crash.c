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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acknowledged_survive_sigkill),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
