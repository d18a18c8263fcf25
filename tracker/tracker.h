/*
 * tracker — the payment store (LMDB) and the group-commit writer.
 *
 * Operating contract (caveats):
 * - One trk_store per process. One writer thread (started by trk_open) owns every write
 *   transaction; request threads never hold one. They hand a trk_op to trk_submit() and are
 *   called back (on the writer thread) once the batch holding the op is committed and fsync'd.
 * - Reads (trk_payment_get, ...) run in their own read-only transactions from any thread.
 * - Every stored record starts with a format version byte (TRK_FORMAT_VERSION).
 * - No logging, no sockets: functions return TRK_* codes; the caller decides what to show.
 */
#ifndef CORRIDOR_TRACKER_H
#define CORRIDOR_TRACKER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes: 0 = OK, negative, range -200..-299. */
enum trk_err {
    TRK_OK = 0,
    TRK_ERR_NOMEM = -200,
    TRK_ERR_NOTFOUND = -201,
    TRK_ERR_EXISTS = -202,        /* the UETR is already stored */
    TRK_ERR_IDEM_REPLAY = -203,   /* same idempotency key, same body: replay the stored response */
    TRK_ERR_IDEM_CONFLICT = -204, /* same idempotency key, another body */
    TRK_ERR_STORE = -205,         /* LMDB failed (I/O, disk full): HTTP 503 */
    TRK_ERR_CORRUPT = -206,       /* a record could not be decoded (unknown version, truncated) */
    TRK_ERR_SHUTDOWN = -207,      /* the writer is stopping; the op was not applied */
    TRK_ERR_INVALID = -208,       /* an argument breaks the contract (empty uetr, too long ...) */
};
const char *trk_strerror(int err);

#define TRK_FORMAT_VERSION 1
#define TRK_MAX_CHAIN 8           /* agents in a payment's chain */
#define TRK_BATCH_MAX 256         /* ops committed in one write transaction at most */
#define TRK_DEFAULT_MAP_SIZE (1ULL << 30)
#define TRK_MAX_IDEM_KEY 255
#define TRK_MAX_RESPONSE (64 * 1024)
/* Further limits (added with the implementation). trk_submit refuses an op that breaks one
 * (TRK_ERR_INVALID) and the decoder treats a stored record that breaks one as TRK_ERR_CORRUPT. */
#define TRK_MAX_IDEM_SCOPE 255             /* scope + '\0' + key fit LMDB's 511-byte key */
#define TRK_MAX_MSG_NAME 63                /* message names: [A-Za-z0-9._-], 1..63 chars */
#define TRK_MAX_DOC (1024 * 1024)          /* trk_payment.doc */
#define TRK_MAX_DETAIL (64 * 1024)         /* trk_event.detail */
#define TRK_MAX_MESSAGE (16 * 1024 * 1024) /* a stored message (= GW_MAX_BODY_LIMIT) */
#define TRK_MAX_EVENTS 10000               /* events of one payment */
#define TRK_MAX_MAP_SIZE (1ULL << 40)      /* the map doubles up to this; then TRK_ERR_STORE */
#define TRK_MAX_READERS 512                /* reads at once; more fail with TRK_ERR_STORE */

typedef enum trk_state {
    TRK_RECEIVED = 1,
    TRK_VALIDATED,
    TRK_FUNDS_RESERVED,
    TRK_SCHEDULED,
    TRK_SENT,
    TRK_IN_PROGRESS,
    TRK_COMPLETED,
    TRK_REJECTED,
    TRK_CANCEL_PENDING,
    TRK_CANCELLED,
    TRK_RETURNED,
} trk_state;
const char *trk_state_name(trk_state s); /* "VALIDATED", ...; "UNKNOWN" otherwise */

typedef struct trk_store trk_store;

typedef struct trk_config {
    const char *dir;        /* data directory; created (0700) if missing */
    uint64_t map_size;      /* initial LMDB map size; 0 = TRK_DEFAULT_MAP_SIZE; grows when full */
    unsigned batch_max;     /* 0 = TRK_BATCH_MAX */
} trk_config;

/* Open (or create) the store and start the writer thread. Returns TRK_OK, TRK_ERR_STORE,
 * TRK_ERR_NOMEM. trk_close(NULL) is a no-op. trk_close drains queued ops (each gets its
 * callback) and stops the writer before closing the environment. */
int trk_open(trk_store **store, const trk_config *cfg);
void trk_close(trk_store *store);
/* Also (implementation notes): trk_open returns TRK_ERR_INVALID for a NULL/empty dir,
 * batch_max > TRK_BATCH_MAX or map_size > TRK_MAX_MAP_SIZE, and TRK_ERR_CORRUPT for a store
 * written in another format version (refused, never rewritten). Only the leaf directory is
 * created. trk_close must not run while other threads still call into the store, nor from a
 * done callback (it joins the writer thread). */

/*
 * A payment as stored. Plain fixed fields the store and authorization need, plus `doc`: the
 * instruction as canonical JSON, opaque to the tracker (owned by the struct once read).
 */
typedef struct trk_payment {
    char uetr[37];
    trk_state state;
    char status[5];          /* gpi transaction status: ACSP, ACCC, RJCT */
    char reason[5];          /* gpi reason (G000..) or ISO reason code, may be empty */
    char debtor_agent[12];   /* BIC of the initiating bank (owner for channels) */
    char customer_id[36];    /* the channel's customer owning the payment */
    char chain[TRK_MAX_CHAIN][12]; /* agents in the chain, in order (excluding debtor agent) */
    unsigned chain_len;
    int64_t created_ms;      /* Unix ms, UTC */
    int64_t updated_ms;
    uint32_t last_seq;       /* seq of the newest event (events are numbered from 1) */
    char *doc;               /* owned: malloc'd, NUL terminated */
    size_t doc_len;
} trk_payment;
void trk_payment_clear(trk_payment *p); /* frees doc; safe on a zeroed struct */

/* One entry of the append-only event log of a payment. */
typedef struct trk_event {
    uint32_t seq;            /* assigned by the store on write */
    int64_t at_ms;           /* event creation, Unix ms UTC */
    char type[5];            /* gpi tracker_event_type: CTPT, CTSU, CTCA, CTCR ... */
    char message_name[24];   /* e.g. pacs.008.001.08 */
    char network_ref[36];    /* MsgId of the message behind the event */
    char from[12];
    char to[12];
    char status[5];          /* event_status: ACSP, ACCC, RJCT */
    char reason[5];
    char *detail;            /* owned: JSON object text with the event's other gpi fields */
    size_t detail_len;
} trk_event;
void trk_event_clear(trk_event *e);

/* ---- Writes --------------------------------------------------------------------------- */

typedef enum trk_op_kind {
    TRK_OP_CREATE = 1, /* store a new payment + its first event + message, with idempotency */
} trk_op_kind;

typedef struct trk_op trk_op;
typedef void (*trk_done_fn)(trk_op *op, void *arg);

/*
 * A write handed to the writer. Inputs are borrowed until `done` is called; the caller owns
 * the op itself. `done` runs on the writer thread after the batch's commit (fsync'd) or after
 * the op failed; it must be quick and must not call trk_submit synchronously-waiting.
 */
struct trk_op {
    trk_op_kind kind;

    /* TRK_OP_CREATE inputs */
    const trk_payment *payment;   /* uetr, state, status ... doc; created/updated set by caller */
    const trk_event *event;       /* the first event (seq assigned = 1) */
    const char *msg_name;         /* e.g. "pacs.008"; NULL = no message */
    const char *msg;              /* message bytes (the envelope) */
    size_t msg_len;

    /* Idempotency (optional: idem_key NULL or empty = none). Scope = the principal. */
    const char *idem_scope;
    const char *idem_key;
    unsigned char idem_digest[32]; /* SHA-256 of the request (method, path, body) */
    int resp_status;               /* the response to store for replays */
    const char *resp_body;
    size_t resp_len;

    /* Outputs, valid in `done` and after it. */
    int rc;                        /* TRK_OK or a TRK_ERR_* */
    int replay_status;             /* with TRK_ERR_IDEM_REPLAY: the stored response */
    char *replay_body;             /* malloc'd; the caller frees it */
    size_t replay_len;

    trk_done_fn done;
    void *arg;
    trk_op *next;                  /* private to the store */
};

/* Queue an op. Returns TRK_OK (done will be called exactly once, later) or TRK_ERR_SHUTDOWN /
 * TRK_ERR_INVALID (done will not be called). */
int trk_submit(trk_store *store, trk_op *op);
/* TRK_ERR_INVALID covers (implementation notes): done NULL; payment or event NULL; a uetr
 * that is not lower-case 8-4-4-4-12 hex; a char[] field without its NUL; a limit above
 * broken; msg_name set but not a valid name or msg NULL with msg_len > 0; an idem_key without
 * an idem_scope (a key is never shared across principals); resp_status outside 100..599 or
 * resp_body NULL with resp_len > 0 when a key is given. The store, not the caller, sets
 * payment->last_seq (1) and event->seq (1); an existing message of the same name is replaced.
 * done() is called in submission order. */

/* ---- Reads (any thread) ------------------------------------------------------------- */
/* For every read (implementation notes): a uetr that is not lower-case 8-4-4-4-12 hex, or a
 * message name that could never be stored, is TRK_ERR_NOTFOUND; a NULL output pointer is
 * TRK_ERR_INVALID. trk_events_get returns TRK_ERR_NOTFOUND for an unknown payment. Returned
 * strings and buffers (doc, detail, message) are NUL-terminated, even when empty. */

/* Returns TRK_OK, TRK_ERR_NOTFOUND, TRK_ERR_CORRUPT, TRK_ERR_STORE, TRK_ERR_NOMEM.
 * On TRK_OK the caller owns out->doc (trk_payment_clear). */
int trk_payment_get(trk_store *store, const char *uetr, trk_payment *out);

/* All events of a payment in seq order. *events is a malloc'd array of *n; free with
 * trk_events_free. Returns TRK_OK (n may be 0 if the payment has none), TRK_ERR_*. */
int trk_events_get(trk_store *store, const char *uetr, trk_event **events, size_t *n);
void trk_events_free(trk_event *events, size_t n);

/* A stored message by name ("pacs.008"); *buf malloc'd, caller frees. TRK_ERR_NOTFOUND. */
int trk_message_get(trk_store *store, const char *uetr, const char *name, char **buf,
                    size_t *len);

/* Store statistics for health and metrics. */
typedef struct trk_stats {
    uint64_t payments;
    uint64_t batches;        /* write transactions committed */
    uint64_t ops;            /* ops committed */
    uint64_t map_size;
    uint64_t queue_depth;    /* ops waiting for the writer now */
} trk_stats;
int trk_stats_get(trk_store *store, trk_stats *out);

#ifdef __cplusplus
}
#endif
#endif
