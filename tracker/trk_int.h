/*
 * trk_int — the store handle and what store.c, writer.c and ops.c share (private to tracker/).
 */
#ifndef CORRIDOR_TRK_INT_H
#define CORRIDOR_TRK_INT_H

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "tracker.h"

/* Named databases; the key layouts are described in record.h. */
enum trk_db {
    TRK_DB_PAYMENTS,
    TRK_DB_EVENTS,
    TRK_DB_MESSAGES,
    TRK_DB_IDEM,
    TRK_DB_META,
    TRK_DB_BY_OWNER,
    TRK_DB_BY_STATUS_TIME,
    TRK_DB_COUNT
};

#define TRK_MAX_DBS 16 /* room for the outbox, accounts ... of later issues */

/* meta keys */
#define TRK_META_FORMAT "format"
#define TRK_META_PAYMENTS "payments"

/* Ops whose payloads add up past this close the batch early, so one write txn never holds
 * an unbounded amount of dirty memory. A single bigger op still gets a batch of its own. */
#define TRK_BATCH_MAX_BYTES (64u * 1024 * 1024)

struct trk_store {
    MDB_env *env;
    MDB_dbi dbi[TRK_DB_COUNT];

    /*
     * mdb_env_set_mapsize may only run while no transaction is active in the process. Readers
     * hold this shared for the life of their (short) read txn; the writer takes it exclusive,
     * with its own write txn aborted, to grow the map. Writer-preferring so a stream of readers
     * cannot starve a resize.
     */
    pthread_rwlock_t map_lock;

    /* The queue: an intrusive list through trk_op.next, guarded by mu. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    trk_op *head;
    trk_op *tail;
    size_t depth;
    int stopping;

    pthread_t thread;
    unsigned batch_max;
    trk_op **batch; /* batch_max slots, used by the writer thread only */

    _Atomic uint64_t batches;
    _Atomic uint64_t ops;
    _Atomic uint64_t map_size;
};

/* A function result that is a TRK_* code concerning one op, not an LMDB error. LMDB errors are
 * positive errno values or MDB_* codes (-30799..-30780), disjoint from -200..-299. */
static inline int
trk_is_op_rc(int rc)
{
    return rc <= TRK_ERR_NOMEM && rc > TRK_ERR_NOMEM - 100;
}

/* ops.c */
int trk_op_check(const trk_op *op);    /* TRK_OK or TRK_ERR_INVALID; on the submitting thread */
size_t trk_op_bytes(const trk_op *op); /* payload size, for the batch byte budget */
void trk_op_reset(trk_op *op);         /* clears the outputs (frees a replay body) */
int trk_op_apply(trk_store *s, MDB_txn *parent, trk_op *op);

/* writer.c */
int trk_writer_start(trk_store *s);
void trk_writer_stop(trk_store *s); /* drains the queue, joins the thread */
int trk_map_grow(trk_store *s);     /* 0 or an LMDB/errno code; no txn may be active */

#endif
