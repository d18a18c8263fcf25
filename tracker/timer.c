/*
 * timer — the store's clock-driven inputs: TRK_IN_DUE for scheduled payments whose date has
 * come, TRK_IN_OVERDUE for payments past their SLA deadline; and the expiry of idempotency
 * records past their retention (idem_by_time).
 *
 * Nothing about a timer lives in memory: the by_execute and by_deadline indexes are the
 * timers, so a restart resumes them as they were. A pass reads the indexes up to "now" and
 * hands one internal op per payment to the writer; each op re-checks the payment in its own
 * txn, so a pass racing a cancel or a second pass changes nothing twice.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "record.h"
#include "trk_int.h"

#define TIMER_CHUNK 256 /* payments handed to the writer per round */
#define DATE_LEN 10
#define TIME_KEY_LEN (REC_TIME_LEN + REC_UUID_LEN)
#define DATE_KEY_LEN (DATE_LEN + REC_UUID_LEN)

/* Whether an index key has come due: a date prefix <= today, or a time prefix <= now. */
typedef struct due_scan {
    int db;
    char today[11];
    int64_t now;
} due_scan;

static int
key_due(const due_scan *d, const MDB_val *k, const uint8_t **uuid)
{
    const uint8_t *key = k->mv_data;

    if (d->db == TRK_DB_BY_EXECUTE) {
        if (k->mv_size != DATE_KEY_LEN || memcmp(key, d->today, DATE_LEN) > 0)
            return 0;
        *uuid = key + DATE_LEN;
        return 1;
    }
    if (k->mv_size != TIME_KEY_LEN || rec_get_ob64(key) > d->now)
        return 0;
    *uuid = key + REC_TIME_LEN;
    return 1;
}

static int
collect(trk_store *s, const due_scan *d, trk_iop *ops, size_t max, size_t *n)
{
    MDB_val k, v;
    MDB_cursor *cur;
    MDB_txn *txn;
    const uint8_t *uuid;
    int rc;

    *n = 0;
    rc = trk_read_begin(s, &txn);
    if (rc)
        return rc;
    rc = mdb_cursor_open(txn, s->dbi[d->db], &cur);
    if (!rc) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        while (rc == 0 && *n < max && key_due(d, &k, &uuid)) {
            rec_uuid_format(uuid, ops[*n].uetr);
            (*n)++;
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        mdb_cursor_close(cur);
    }
    trk_read_end(s, txn);
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : trk_store_rc(rc);
}

/* One index until nothing more is due (or a round makes no progress). */
static int
run_index(trk_store *s, const due_scan *d, trk_input in, trk_iop *ops, unsigned *applied)
{
    size_t i, n, ok;
    int rc;

    for (;;) {
        rc = collect(s, d, ops, TIMER_CHUNK, &n);
        if (rc || n == 0)
            return rc;
        for (i = 0; i < n; i++) {
            memset(&ops[i].op, 0, sizeof ops[i].op);
            ops[i].op.kind = TRK_OP_I_TIMER;
            ops[i].op.uetr = ops[i].uetr;
            ops[i].op.input = in;
        }
        rc = trk_run_internal(s, ops, n);
        for (i = 0, ok = 0; i < n; i++)
            ok += ops[i].op.rc == TRK_OK;
        *applied += (unsigned)ok;
        if (rc || n < TIMER_CHUNK || ok == 0)
            return rc;
    }
}

/* Idempotency records past their retention, in ops of a bounded size; a write txn only when
 * something has expired. */
static int
expire_idem(trk_store *s)
{
    trk_iop iop;
    int rc = 0;

    memset(&iop, 0, sizeof iop);
    iop.cutoff_ms = trk_now(s) - s->idem_retention_ms;
    while (!rc && trk_idem_expiring(s, iop.cutoff_ms)) {
        memset(&iop.op, 0, sizeof iop.op);
        iop.op.kind = TRK_OP_I_EXPIRE_IDEM;
        rc = trk_run_internal(s, &iop, 1);
        if (!rc)
            rc = iop.op.rc;
        if (!rc && iop.expired == 0)
            break; /* nothing came off: leave it to the next tick */
    }
    return rc;
}

static int
timer_pass(trk_store *s, unsigned *applied)
{
    trk_iop *ops = calloc(TIMER_CHUNK, sizeof *ops);
    due_scan d;
    int rc;

    if (!ops)
        return TRK_ERR_NOMEM;
    d.now = trk_now(s);
    trk_today(s, d.today);
    d.db = TRK_DB_BY_EXECUTE;
    rc = run_index(s, &d, TRK_IN_DUE, ops, applied);
    d.db = TRK_DB_BY_DEADLINE;
    d.now = trk_now(s);
    if (!rc)
        rc = run_index(s, &d, TRK_IN_OVERDUE, ops, applied);
    free(ops);
    if (!rc)
        rc = expire_idem(s);
    return rc;
}

int
trk_tick(trk_store *s, unsigned *applied)
{
    unsigned n = 0;
    int rc;

    if (applied)
        *applied = 0;
    if (!s)
        return TRK_ERR_INVALID;
    pthread_mutex_lock(&s->timer_pass_mu);
    rc = timer_pass(s, &n);
    pthread_mutex_unlock(&s->timer_pass_mu);
    if (applied)
        *applied = n;
    return rc;
}

/* Sleeps one tick; commits kick bg_cv too, but only the clock or a stop matter here. */
static int
sleep_tick(trk_store *s)
{
    struct timespec until;
    int stop;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += s->tick_ms / 1000;
    until.tv_nsec += (long)(s->tick_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->bg_mu);
    while (!s->bg_stop && pthread_cond_timedwait(&s->bg_cv, &s->bg_mu, &until) == 0)
        ;
    stop = s->bg_stop;
    pthread_mutex_unlock(&s->bg_mu);
    return stop;
}

static void *
timer_main(void *arg)
{
    trk_store *s = arg;

    do {
        trk_tick(s, NULL); /* failures are retried on the next tick */
    } while (!sleep_tick(s));
    return NULL;
}

int
trk_timer_start(trk_store *s)
{
    if (pthread_create(&s->timer_thread, NULL, timer_main, s) != 0)
        return TRK_ERR_NOMEM;
    pthread_setname_np(s->timer_thread, "corridor-timer");
    s->timer_started = 1;
    return 0;
}

void
trk_bg_stop(trk_store *s)
{
    pthread_mutex_lock(&s->bg_mu);
    s->bg_stop = 1;
    pthread_cond_broadcast(&s->bg_cv);
    pthread_mutex_unlock(&s->bg_mu);
    if (s->deliver_started)
        pthread_join(s->deliver_thread, NULL);
    if (s->timer_started)
        pthread_join(s->timer_thread, NULL);
    s->deliver_started = s->timer_started = 0;
}
