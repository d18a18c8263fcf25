/*
 * trk_int — the store handle and what the tracker's sources share (private to tracker/).
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
    TRK_DB_ACCOUNTS,
    TRK_DB_JOURNAL,
    TRK_DB_AUDIT,
    TRK_DB_DEDUP,
    TRK_DB_OUTBOX,
    TRK_DB_OUTBOX_UETR,
    TRK_DB_BY_CREATED,
    TRK_DB_BY_UPDATED,
    TRK_DB_BY_EXECUTE,
    TRK_DB_BY_DEADLINE,
    TRK_DB_BY_OVERDUE,
    TRK_DB_BY_E2E,
    TRK_DB_PAYMENT_KEYS,
    TRK_DB_IDEM_BY_TIME,
    TRK_DB_COUNT
};

#define TRK_MAX_DBS 32 /* room for the databases of later issues */

/* meta keys */
#define TRK_META_FORMAT "format"
#define TRK_META_PAYMENTS "payments"
#define TRK_META_OUTBOX_SEQ "outbox_seq" /* last outbox seq given: never reused */
#define TRK_META_JOURNAL_SEQ "journal_seq"
#define TRK_META_AUDIT_SEQ "audit_seq"

/* Message names the saga knows. */
#define TRK_MSG_PACS008 "pacs.008"
#define TRK_MSG_CAMT056 "camt.056"

/* Events of one payment that a caller may add; the rest is kept for the store's own events
 * (delivery, timers), so a flood of updates can never block a payment's saga. */
#define TRK_EVENTS_RESERVED 64
/* Of the callers' share, this much more is kept for the inputs that end or recall a payment
 * (ACCC, RJCT, recall and its answers, return): progress updates and anomalies — which any
 * agent in the chain can post — cannot fill a payment's log and lock out its final status. */
#define TRK_EVENTS_FOR_FINAL 1000

/* Internal ops: submitted by the delivery and timer threads, never checked by trk_op_check. */
#define TRK_OP_I_DELIVERED 100 /* remove outbox entry `outbox_seq`, apply DELIVERED */
#define TRK_OP_I_TIMER 101     /* op.uetr, op.input DUE or OVERDUE */
#define TRK_OP_I_EXPIRE_IDEM 102 /* removes idem records made at or before cutoff_ms (a bounded
                                  * number per op; `expired` says how many) */

typedef struct trk_iop {
    trk_op op; /* first: an internal op is handed around as its trk_op */
    uint64_t outbox_seq;
    char uetr[37];
    int64_t cutoff_ms; /* TRK_OP_I_EXPIRE_IDEM */
    size_t expired;
} trk_iop;

/* Ops whose payloads add up past this close the batch early, so one write txn never holds
 * an unbounded amount of dirty memory. A single bigger op still gets a batch of its own. */
#define TRK_BATCH_MAX_BYTES (64u * 1024 * 1024)

struct trk_store {
    MDB_env *env;
    int read_only;      /* opened with trk_config.read_only: no threads, no writes */
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

    /* Configuration kept from trk_open. */
    char *spool_dir; /* NULL: no delivery */
    int64_t sla_ms;
    int64_t idem_retention_ms;
    uint64_t idem_seq; /* writer: idem_by_time's tie-breaker */
    unsigned tick_ms;
    int64_t (*now_fn)(void *arg);
    void *now_arg;

    /*
     * Delivery and local cancels exclude each other under deliver_mu: the delivery thread
     * holds it from checking an entry until the file is renamed and the directory synced; the
     * writer takes it to decide whether a FUNDS_RESERVED payment's pacs.008 has left. Outbox
     * entries a local cancel removed in the write txn not yet committed are listed in unsent
     * (the delivery thread skips them); the writer empties the list when that txn ends.
     */
    pthread_mutex_t deliver_mu;
    uint64_t *unsent;
    size_t n_unsent, cap_unsent;

    /* The background threads: they sleep on bg_cv until kicked, stopped or the tick. */
    pthread_mutex_t bg_mu;
    pthread_cond_t bg_cv;
    int bg_stop;
    uint64_t bg_kicks; /* bumped after each commit: delivery looks again */
    pthread_t deliver_thread, timer_thread;
    int deliver_started, timer_started;
    pthread_mutex_t deliver_pass_mu; /* one delivery pass at a time (thread, flush) */
    pthread_mutex_t timer_pass_mu;   /* one timer pass at a time (thread, trk_tick) */

    _Atomic uint64_t delivered;
    _Atomic uint64_t delivery_errors;
};

/* A function result that is a TRK_* code concerning one op, not an LMDB error. LMDB errors are
 * positive errno values or MDB_* codes (-30799..-30780), disjoint from -200..-299. */
static inline int
trk_is_op_rc(int rc)
{
    return rc <= TRK_ERR_NOMEM && rc > TRK_ERR_NOMEM - 100;
}

/* Internal results are one int: 0, a TRK_* code that concerns the op alone, or an LMDB error
 * that concerns the batch (trk_is_op_rc tells them apart). */

/* store.c */
int64_t trk_now(const trk_store *s);              /* the store clock, Unix ms */
void trk_today(const trk_store *s, char out[11]); /* YYYY-MM-DD (UTC) of trk_now */
int trk_store_rc(int mdb_rc);                     /* LMDB code → TRK_* for reads */
int trk_read_begin(trk_store *s, MDB_txn **txn);
void trk_read_end(trk_store *s, MDB_txn *txn);
int trk_get_payment(trk_store *s, MDB_txn *txn, const uint8_t uuid[16], trk_payment *out);
/* A stored payment's pkey (record.h, 24 bytes) without decoding it: TRK_OK, TRK_ERR_NOTFOUND,
 * TRK_ERR_CORRUPT, TRK_ERR_STORE. */
int trk_payment_pkey(trk_store *s, MDB_txn *txn, const uint8_t uuid[16], uint8_t pkey[24]);

/* ops.c */
int trk_bic_ok(const char *bic);       /* 8 or 11 of [A-Z0-9] */
int trk_op_check(const trk_op *op);    /* TRK_OK or TRK_ERR_INVALID; on the submitting thread */
size_t trk_op_bytes(const trk_op *op); /* payload size, for the batch byte budget */
void trk_op_reset(trk_op *op);         /* clears the outputs (frees a replay body) */
int trk_op_apply(trk_store *s, MDB_txn *parent, trk_op *op);
int trk_put_reserved(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, size_t len,
                     unsigned flags, uint8_t **dst);
int trk_put_mark(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen);
int trk_counter_next(trk_store *s, MDB_txn *txn, const char *name, uint64_t *out);
int trk_counter_add(trk_store *s, MDB_txn *txn, const char *name, int64_t add);

/* create.c: TRK_OP_CREATE */
int trk_create_apply(trk_store *s, MDB_txn *txn, trk_op *op);

/* step.c: TRK_OP_EVENT and the internal ops; the saga applied to a stored payment */
int trk_event_apply(trk_store *s, MDB_txn *txn, trk_op *op);
int trk_delivered_apply(trk_store *s, MDB_txn *txn, trk_iop *iop);
int trk_idem_expire_apply(trk_store *s, MDB_txn *txn, trk_iop *iop);
/* Whether an idem record made at or before cutoff_ms is still there (read txn of its own). */
int trk_idem_expiring(trk_store *s, int64_t cutoff_ms);
int trk_timer_apply(trk_store *s, MDB_txn *txn, trk_op *op);
/* pkey: the payment's key prefix (record.h, REC_PKEY_LEN = 24 bytes). */
/* Appends ev with seq = p->last_seq + 1 and advances p->last_seq; the caller writes p. */
int trk_put_event(trk_store *s, MDB_txn *txn, const uint8_t pkey[24], trk_payment *p,
                  trk_event *ev);
int trk_put_payment(trk_store *s, MDB_txn *txn, const uint8_t pkey[24], const trk_payment *p,
                    unsigned flags);
int trk_put_message(trk_store *s, MDB_txn *txn, const uint8_t pkey[24], const char *name,
                    const char *msg, size_t len);
void trk_derive_status(trk_payment *p); /* status (ACSP/ACCC/RJCT) from state, prev */

/* index.c: secondary indexes of a payment, kept in step with its record */
int trk_index_sync(trk_store *s, MDB_txn *txn, const uint8_t uuid[16], const trk_payment *old,
                   const trk_payment *p);
/* The key of payment p in index db (0: p is not in it). out has room for TRK_INDEX_KEY_MAX. */
#define TRK_INDEX_KEY_MAX 128
size_t trk_index_key(int db, const trk_payment *p, const uint8_t uuid[16], uint8_t *out);
extern const int trk_index_dbs[];
extern const size_t trk_n_index_dbs;
/* Possible duplicate of p (funded, with an E2E id): 1 and its UETR, 0, or an LMDB error. */
int trk_find_duplicate(trk_store *s, MDB_txn *txn, const trk_payment *p, const uint8_t uuid[16],
                       char dup[37]);

/* ledger.c */
/* RESERVE for p: 0, TRK_ERR_FUNDS with reason[5] set, or an error. */
int trk_ledger_reserve(trk_store *s, MDB_txn *txn, const trk_payment *p, char reason[5]);
/* RELEASE, SETTLE, CREDIT_BACK (amount for the latter) for p. */
int trk_ledger_apply(trk_store *s, MDB_txn *txn, const trk_payment *p, const uint8_t uuid[16],
                     unsigned actions, int64_t credit);
int trk_account_put_apply(trk_store *s, MDB_txn *txn, trk_op *op);
int trk_audit_put(trk_store *s, MDB_txn *txn, const char *scope, const trk_payment *p,
                  const char *code);

/* outbox.c */
int trk_outbox_put(trk_store *s, MDB_txn *txn, const uint8_t pkey[24], const char *name,
                   const char *msg_id);
/* Removes the payment's queued entries named `name` (local cancel); listed as unsent until
 * the write txn ends. The caller holds deliver_mu. */
int trk_outbox_unsend(trk_store *s, MDB_txn *txn, const uint8_t pkey[24], const char *name);
int trk_outbox_del(trk_store *s, MDB_txn *txn, uint64_t seq, const uint8_t pkey[24]);
/* Whether the spool file of msg_id exists (a pacs.008 has left). Caller holds deliver_mu. */
int trk_spool_has(const trk_store *s, const char *msg_id);
int trk_spool_clean(const trk_store *s); /* removes temporary files a crash left; 0 or -1 */
int trk_delivery_start(trk_store *s);
void trk_txn_ended(trk_store *s); /* writer: a write txn committed or aborted */

/* timer.c */
int trk_timer_start(trk_store *s);
void trk_bg_stop(trk_store *s); /* stops and joins the delivery and timer threads */

/* writer.c */
int trk_writer_start(trk_store *s);
void trk_writer_stop(trk_store *s); /* drains the queue, joins the thread */
int trk_map_grow(trk_store *s);     /* 0 or an LMDB/errno code; no txn may be active */
int trk_submit_internal(trk_store *s, trk_op *op);
/* Submits ops[0..n) and waits for all of them: TRK_OK (each op's rc says how it went) or
 * TRK_ERR_SHUTDOWN (nothing was submitted from the failing one on). Not on the writer. */
int trk_run_internal(trk_store *s, trk_iop *ops, size_t n);

#endif
