/*
 * writer — the queue and the single writer thread (group commit).
 *
 * trk_submit only appends to a mutex-guarded list and signals; it never waits for I/O. The
 * writer takes what has queued up (at most batch_max ops, TRK_BATCH_MAX_BYTES of payload),
 * applies each op in a child txn of one write txn, commits once (one fsync for the batch),
 * and only then calls every op's done(). While it waits for the disk, the next batch queues.
 *
 * Failures: MDB_MAP_FULL anywhere aborts the batch, doubles the map and applies the batch
 * again; MDB_TXN_FULL in an op commits the ops before it and carries the rest over; any other
 * LMDB failure gives every op of the batch TRK_ERR_STORE (nothing of it was committed).
 */
#include <stdlib.h>

#include "trk_int.h"

static int
enqueue(trk_store *s, trk_op *op)
{
    int rc = TRK_OK;

    op->next = NULL;
    op->replay_body = NULL; /* an output: whatever the caller left there is not ours to free */
    trk_op_reset(op);
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        rc = TRK_ERR_SHUTDOWN;
    } else {
        if (s->tail)
            s->tail->next = op;
        else
            s->head = op;
        s->tail = op;
        s->depth++;
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int
trk_submit(trk_store *s, trk_op *op)
{
    int rc;

    if (!s || !op || s->read_only)
        return TRK_ERR_INVALID;
    rc = trk_op_check(op);
    return rc ? rc : enqueue(s, op);
}

/* The store's own threads: their ops are built by the store, not checked. */
int
trk_submit_internal(trk_store *s, trk_op *op)
{
    return enqueue(s, op);
}

typedef struct waitgroup {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t pending;
} waitgroup;

static void
wg_done(trk_op *op, void *arg)
{
    waitgroup *wg = arg;

    (void)op;
    pthread_mutex_lock(&wg->mu);
    if (--wg->pending == 0)
        pthread_cond_broadcast(&wg->cv);
    pthread_mutex_unlock(&wg->mu);
}

int
trk_run_internal(trk_store *s, trk_iop *ops, size_t n)
{
    waitgroup wg = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    size_t i;
    int rc = TRK_OK;

    for (i = 0; i < n && rc == TRK_OK; i++) {
        ops[i].op.done = wg_done;
        ops[i].op.arg = &wg;
        pthread_mutex_lock(&wg.mu);
        wg.pending++;
        pthread_mutex_unlock(&wg.mu);
        rc = trk_submit_internal(s, &ops[i].op);
        if (rc) {
            pthread_mutex_lock(&wg.mu);
            wg.pending--;
            pthread_mutex_unlock(&wg.mu);
            for (; i < n; i++)
                ops[i].op.rc = rc;
        }
    }
    pthread_mutex_lock(&wg.mu);
    while (wg.pending > 0)
        pthread_cond_wait(&wg.cv, &wg.mu);
    pthread_mutex_unlock(&wg.mu);
    pthread_cond_destroy(&wg.cv);
    pthread_mutex_destroy(&wg.mu);
    return rc;
}

/* Blocks until there is work; 0 only once stopping with an empty queue. */
static size_t
take_batch(trk_store *s)
{
    size_t n = 0, bytes = 0;
    trk_op *op;

    pthread_mutex_lock(&s->mu);
    while (!s->head && !s->stopping)
        pthread_cond_wait(&s->cv, &s->mu);
    while ((op = s->head) && n < s->batch_max) {
        size_t b = trk_op_bytes(op);
        if (n > 0 && bytes + b > TRK_BATCH_MAX_BYTES) /* sums stay far below SIZE_MAX */
            break;
        bytes += b;
        s->head = op->next;
        op->next = NULL;
        s->batch[n++] = op;
    }
    if (!s->head)
        s->tail = NULL;
    s->depth -= n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* One write txn over ops[0..n). On success *k says how many ops it covered (fewer than n
 * only after MDB_TXN_FULL); on failure nothing was committed. */
static int
try_commit(trk_store *s, trk_op **ops, size_t n, size_t *k)
{
    MDB_txn *txn;
    size_t i;
    int rc;

    *k = n;
    rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc)
        return rc;
    for (i = 0; i < n; i++) {
        rc = trk_op_apply(s, txn, ops[i]);
        if (rc == MDB_TXN_FULL && i > 0) {
            *k = i; /* the op is retried in the next txn */
            break;
        }
        if (rc == MDB_TXN_FULL) {
            ops[i]->rc = TRK_ERR_STORE; /* too big for any txn: fails alone */
            continue;
        }
        if (rc) {
            mdb_txn_abort(txn);
            return rc;
        }
    }
    return mdb_txn_commit(txn);
}

static void
fail_ops(trk_op **ops, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        trk_op_reset(ops[i]);
        ops[i]->rc = TRK_ERR_STORE;
    }
}

/* Commits a prefix of ops[0..n) (at least one op), growing the map as often as needed.
 * Returns how many ops are settled, each with its rc. */
static size_t
commit_prefix(trk_store *s, trk_op **ops, size_t n)
{
    size_t i, k, ok = 0;
    int rc;

    for (;;) {
        rc = try_commit(s, ops, n, &k);
        trk_txn_ended(s); /* committed or aborted: the unsent list is void either way */
        if (rc != MDB_MAP_FULL || trk_map_grow(s) != 0)
            break;
    }
    if (rc) {
        fail_ops(ops, k);
        return k;
    }
    for (i = 0; i < k; i++)
        ok += ops[i]->rc == TRK_OK;
    atomic_fetch_add(&s->batches, 1);
    atomic_fetch_add(&s->ops, ok);
    return k;
}

/* done() may free or reuse the op at once: nothing touches an op after its callback. */
static void
run_batch(trk_store *s, trk_op **ops, size_t n)
{
    size_t i, k;

    while (n > 0) {
        k = commit_prefix(s, ops, n);
        for (i = 0; i < k; i++)
            ops[i]->done(ops[i], ops[i]->arg);
        ops += k;
        n -= k;
    }
}

static void *
writer_main(void *arg)
{
    trk_store *s = arg;
    size_t n;

    while ((n = take_batch(s)) > 0)
        run_batch(s, s->batch, n);
    return NULL;
}

int
trk_writer_start(trk_store *s)
{
    int rc = pthread_create(&s->thread, NULL, writer_main, s);

    if (rc == 0)
        pthread_setname_np(s->thread, "corridor-writer");
    return rc;
}

void
trk_writer_stop(trk_store *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
}

/* Doubles the map. Only the writer calls this, with its write txn ended; taking map_lock
 * exclusive waits out the readers, so no transaction of this process is active. */
int
trk_map_grow(trk_store *s)
{
    uint64_t cur = atomic_load(&s->map_size), next;
    MDB_envinfo info;
    int rc;

    if (cur >= TRK_MAX_MAP_SIZE)
        return MDB_MAP_FULL;
    next = cur * 2 > TRK_MAX_MAP_SIZE ? TRK_MAX_MAP_SIZE : cur * 2;
    pthread_rwlock_wrlock(&s->map_lock);
    rc = mdb_env_set_mapsize(s->env, (size_t)next);
    pthread_rwlock_unlock(&s->map_lock);
    if (rc)
        return rc;
    if (mdb_env_info(s->env, &info) == 0)
        next = info.me_mapsize;
    atomic_store(&s->map_size, next);
    return 0;
}
