/*
 * tracker — the payment store (LMDB), the saga, the embedded ledger, the outbox and the timers.
 *
 * Operating contract (caveats):
 * - One trk_store per process. One writer thread (started by trk_open) owns every write
 *   transaction; request threads never hold one. They hand a trk_op to trk_submit() and are
 *   called back (on the writer thread) once the batch holding the op is committed and fsync'd.
 * - Reads (trk_payment_get, ...) run in their own read-only transactions from any thread.
 * - trk_open also starts a delivery thread (when trk_config.spool_dir is set) and a timer
 *   thread. Both only read, and hand their changes to the same writer as internal ops: there
 *   is never a second writer.
 * - A step of a payment's saga is one op = one LMDB transaction: the state change, the
 *   appended event(s), the ledger movement and the outbox entry commit together or not at all.
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
    TRK_ERR_EXISTS = -202,        /* the UETR (or, with account_create_only, the account) exists */
    TRK_ERR_IDEM_REPLAY = -203,   /* same idempotency key, same body: replay the stored response */
    TRK_ERR_IDEM_CONFLICT = -204, /* same idempotency key, another body */
    TRK_ERR_STORE = -205,         /* LMDB failed (I/O, disk full): HTTP 503 */
    TRK_ERR_CORRUPT = -206,       /* a record could not be decoded (unknown version, truncated) */
    TRK_ERR_SHUTDOWN = -207,      /* the writer is stopping; the op was not applied */
    TRK_ERR_INVALID = -208,       /* an argument breaks the contract (empty uetr, too long ...) */
    TRK_ERR_FUNDS = -209,         /* the reservation was refused: see op->funds_reason (422) */
    TRK_ERR_DUPLICATE = -210,     /* the same update (op->dedup_key) was seen before: absorbed */
    TRK_ERR_STATE = -211,         /* the input does not apply to the payment's state (409) */
};
const char *trk_strerror(int err);

/* 2: events, messages and outbox_uetr keyed by created time + UUID (record.h "pkey").
 * 3: payments and dedup keyed by pkey too, found by UETR through payment_keys. */
#define TRK_FORMAT_VERSION 3
#define TRK_MAX_CHAIN 8           /* agents in a payment's chain */
#define TRK_BATCH_MAX 256         /* ops committed in one write transaction at most */
#define TRK_DEFAULT_MAP_SIZE (1ULL << 30)
#define TRK_MAX_IDEM_KEY 255
#define TRK_MAX_RESPONSE (64 * 1024)
/* Further limits. trk_submit refuses an op that breaks one (TRK_ERR_INVALID) and the decoder
 * treats a stored record that breaks one as TRK_ERR_CORRUPT. */
#define TRK_MAX_IDEM_SCOPE 255             /* scope + '\0' + key fit LMDB's 511-byte key */
#define TRK_MAX_MSG_NAME 63                /* message names: [A-Za-z0-9._-], 1..63 chars */
#define TRK_MAX_DOC (1024 * 1024)          /* trk_payment.doc */
#define TRK_MAX_DETAIL (64 * 1024)         /* trk_event.detail */
#define TRK_MAX_MESSAGE (16 * 1024 * 1024) /* a stored message (= GW_MAX_BODY_LIMIT) */
#define TRK_MAX_EVENTS 10000               /* events of one payment */
#define TRK_MAX_MAP_SIZE (1ULL << 40)      /* the map doubles up to this; then TRK_ERR_STORE */
#define TRK_MAX_READERS 512                /* reads at once; more fail with TRK_ERR_STORE */
#define TRK_MAX_ITEMS 1000                 /* payments in one multi-payment TRK_OP_CREATE */
#define TRK_MAX_DEDUP_KEY 255              /* op->dedup_key, bytes */
#define TRK_MAX_AMOUNT INT64_C(1000000000000000000) /* |amount| and |balance|, minor units */
#define TRK_MAX_EXPONENT 4                 /* ISO 4217 minor unit digits */
#define TRK_DEFAULT_IDEM_RETENTION_MS (30LL * 24 * 3600 * 1000) /* DESIGN.md: 30 days */
#define TRK_DEFAULT_TICK_MS 1000           /* timer period when trk_config.tick_ms is 0 */
#define TRK_DUPLICATE_WINDOW_MS (24 * 3600 * 1000LL) /* possible-duplicate detection window */

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
/* The state for a name ("SENT"), 0 when there is none: for the listing's state= filter. */
trk_state trk_state_from_name(const char *name);

typedef struct trk_store trk_store;

typedef struct trk_config {
    const char *dir;        /* data directory; created (0700) if missing */
    uint64_t map_size;      /* initial LMDB map size; 0 = TRK_DEFAULT_MAP_SIZE; grows when full */
    unsigned batch_max;     /* 0 = TRK_BATCH_MAX */
    /* The outbox's spool directory (created 0700 if missing; its parent must exist). NULL or
     * empty: no delivery thread; outbox entries wait for a later open that has one. */
    const char *spool_dir;
    int64_t sla_ms;         /* SLA: deadline = start + sla_ms for payments given none; 0 = none */
    /* Idempotency records older than this are removed by the timer thread (a retry with the
     * same key after that is a new request); 0 = TRK_DEFAULT_IDEM_RETENTION_MS. */
    int64_t idem_retention_ms;
    unsigned tick_ms;       /* timer period; 0 = TRK_DEFAULT_TICK_MS */
    /* Wall clock (Unix ms, UTC) for everything the store stamps itself: updated_ms, internal
     * events, "today" for scheduled payments, deadlines. NULL = CLOCK_REALTIME. Tests set it.
     * Called from the writer, delivery and timer threads: it must be thread-safe. */
    int64_t (*now_ms)(void *arg);
    void *now_arg;
    /* Open an existing store for reading only (corridorctl, verification, backups) beside a
     * running daemon: no writer, delivery or timer thread; trk_submit refuses with
     * TRK_ERR_INVALID; the directory and databases must exist (else TRK_ERR_STORE). */
    int read_only;
} trk_config;

/* Open (or create) the store and start the writer, delivery and timer threads. Returns TRK_OK,
 * TRK_ERR_STORE, TRK_ERR_NOMEM. trk_close(NULL) is a no-op. trk_close stops the timer and
 * delivery threads, then drains queued ops (each gets its callback) and stops the writer
 * before closing the environment. */
int trk_open(trk_store **store, const trk_config *cfg);
void trk_close(trk_store *store);
/* A consistent copy of the store into `dir` (which must exist and be empty) while it is in
 * use: one read transaction, compacted (LMDB's mdb_env_copy2). TRK_OK or TRK_ERR_STORE. */
int trk_backup(trk_store *store, const char *dir);
/* Also: trk_open returns TRK_ERR_INVALID for a NULL/empty dir, batch_max > TRK_BATCH_MAX,
 * map_size > TRK_MAX_MAP_SIZE or sla_ms < 0, TRK_ERR_STORE for a spool_dir that cannot be
 * created, and TRK_ERR_CORRUPT for a store written in another format version (refused, never
 * rewritten). Only the leaf directories are created. trk_close must not run while other
 * threads still call into the store, nor from a done callback (it joins the threads).
 * Recovery: on open, outbox entries left undelivered by a crash are delivered (a spool file
 * that already exists under the entry's MsgId is not written again), leftover temporary spool
 * files are removed, and the timers resume from their indexes. */

/* Flags of a payment (trk_payment.flags). */
#define TRK_PF_OVERDUE 0x01u            /* the SLA deadline passed without a final status
                                           (kept after a final status; trk_stats.overdue
                                           counts the ones still open) */
#define TRK_PF_POSSIBLE_DUPLICATE 0x02u /* same debtor account, E2E id, amount, currency <24 h */
#define TRK_PF_ANOMALY 0x04u            /* at least one update was recorded as an anomaly */

/*
 * A payment as stored. Plain fixed fields the store, the ledger and authorization need, plus
 * `doc`: the instruction as canonical JSON, opaque to the tracker (owned by the struct once
 * read). On TRK_OP_CREATE the caller fills the fields marked (in); the store sets (store).
 */
typedef struct trk_payment {
    char uetr[37];           /* (in) */
    trk_state state;         /* (in) TRK_VALIDATED on create; then the saga's */
    char status[5];          /* (store) gpi transaction status: ACSP, ACCC, RJCT — from state */
    char reason[5];          /* (in, then store) gpi reason (G000..) or ISO reason, may be empty */
    char debtor_agent[12];   /* (in) BIC of the initiating bank (owner for channels) */
    char customer_id[36];    /* (in) the channel's customer owning the payment */
    char chain[TRK_MAX_CHAIN][12]; /* (in, grows) agents in the chain, in order (excl. debtor
                                      agent); TRK_OP_EVENT's add_chain appends */
    unsigned chain_len;
    int64_t created_ms;      /* (in) Unix ms, UTC */
    int64_t updated_ms;      /* (in on create, then store) last change */
    uint32_t last_seq;       /* (store) seq of the newest event (events are numbered from 1) */
    char *doc;               /* owned: malloc'd, NUL terminated */
    size_t doc_len;

    /* The saga and the ledger. */
    trk_state prev_state;    /* (store) the state before CANCEL_PENDING; 0 otherwise */
    char debit_account[35];  /* (in) the debtor's account in the ledger (IBAN or other id);
                                empty = not funded here: no reservation (external ledger) */
    char end_to_end_id[36];  /* (in) the customer's EndToEndId (duplicate detection) */
    int64_t amount_minor;    /* (in) instructed amount in minor units; 1..TRK_MAX_AMOUNT when
                                debit_account is set, else 0..TRK_MAX_AMOUNT */
    int exponent;            /* (in) ISO 4217 minor unit digits of currency, 0..4 */
    char currency[4];        /* (in) ISO 4217 code of the instructed amount */
    char execute_on[11];     /* (in) requested execution date YYYY-MM-DD (UTC); empty = today.
                                A date after today (store clock) makes the payment SCHEDULED */
    int64_t deadline_ms;     /* (in, optional) SLA deadline; 0 = the store sets start + sla_ms
                                (start = created_ms, or the due time of a scheduled payment) */
    unsigned flags;          /* (store) TRK_PF_* */
    char cancellation_status[5]; /* (store) PDCR while a recall is pending, CNCL, RJCR, or "" */
    char msg_id[36];         /* (in, optional) MsgId of the pacs.008: names its spool file;
                                empty = the first event's network_ref */
    int64_t returned_minor;  /* (store) credited back by a pacs.004, minor units */
} trk_payment;
void trk_payment_clear(trk_payment *p); /* frees doc; safe on a zeroed struct */

/* Flags of an event (trk_event.flags), set by the store. */
#define TRK_EF_ANOMALY 0x01u  /* recorded, not applied: late, out-of-order or conflicting */
#define TRK_EF_INTERNAL 0x02u /* written by the store itself (delivery, timers, notes) */

/* Event types the store writes itself (TRK_EF_INTERNAL); gpi types come from the caller.
 * Not gpi tracker_event_types: a gpi view leaves them out or maps them (names provisional). */
#define TRK_EV_DELIVERED "DLVR"   /* a message left through the outbox (message_name says which) */
#define TRK_EV_DUE "DUE"          /* a scheduled payment's date came */
#define TRK_EV_OVERDUE "OVDU"     /* the SLA deadline passed */
#define TRK_EV_DUPLICATE "PDUP"   /* possible duplicate; detail {"possible_duplicate_of":uetr} */

/* One entry of the append-only event log of a payment. */
typedef struct trk_event {
    uint32_t seq;            /* assigned by the store on write */
    int64_t at_ms;           /* event creation, Unix ms UTC */
    char type[5];            /* gpi tracker_event_type: CTPT, CTSU, CTCA, CTCR ..., TRK_EV_* */
    char message_name[24];   /* e.g. pacs.008.001.08 */
    char network_ref[36];    /* MsgId of the message behind the event */
    char from[12];
    char to[12];
    char status[5];          /* event_status: ACSP, ACCC, RJCT */
    char reason[5];
    char *detail;            /* owned: JSON object text with the event's other gpi fields */
    size_t detail_len;
    /* Set by the store (ignored on input): */
    int input;               /* the trk_input the event carried; 0 for the first event, notes */
    trk_state state;         /* the payment's state after the event */
    unsigned flags;          /* TRK_EF_* */
} trk_event;
void trk_event_clear(trk_event *e);

/* ---- The saga ------------------------------------------------------------------------------ */

/* What happens to a payment. */
typedef enum trk_input {
    TRK_IN_ACCEPT = 1,      /* accepted, funds reserved: VALIDATED → FUNDS_RESERVED (+SEND) */
    TRK_IN_DUE,             /* SCHEDULED and its date has come: → FUNDS_RESERVED (+SEND) */
    TRK_IN_DELIVERED,       /* the pacs.008 left through the outbox: FUNDS_RESERVED → SENT */
    TRK_IN_ACSP,            /* a hop confirms, G000..G004: SENT / IN_PROGRESS → IN_PROGRESS */
    TRK_IN_ACCC,            /* credited to the creditor: → COMPLETED (+SETTLE) */
    TRK_IN_RJCT,            /* rejected by a hop: → REJECTED (+RELEASE) */
    TRK_IN_CANCEL,          /* the channel recalls: not yet left → CANCELLED (+RELEASE);
                               SENT / IN_PROGRESS / COMPLETED → CANCEL_PENDING (+RECALL) */
    TRK_IN_CANCEL_ACCEPTED, /* camt.029 CNCL: CANCEL_PENDING → CANCELLED (+RELEASE) when the
                               funds were still reserved; when the payment had completed, the
                               money comes back by pacs.004: stays CANCEL_PENDING (recorded) */
    TRK_IN_CANCEL_REFUSED,  /* camt.029 RJCR: CANCEL_PENDING → the state before the recall */
    TRK_IN_RETURN,          /* pacs.004: COMPLETED or CANCEL_PENDING (after completion) →
                               RETURNED (+CREDIT_BACK) */
    TRK_IN_OVERDUE,         /* the SLA deadline passed without a final status: flag + event */
    TRK_IN_SCHEDULE,        /* (added) accepted for a later date: VALIDATED → SCHEDULED
                               (+RESERVE); the pacs.008 leaves with TRK_IN_DUE */
} trk_input;
#define TRK_IN_COUNT 12     /* inputs are 1..TRK_IN_COUNT */
#define TRK_STATE_COUNT 11  /* states are 1..TRK_STATE_COUNT */
const char *trk_input_name(trk_input in); /* "ACCEPT", ...; "UNKNOWN" otherwise */

/* Side effects a step asks for; the store carries them out in the same transaction. */
#define TRK_ACT_RESERVE 0x01u     /* hold the instructed amount on the debtor account */
#define TRK_ACT_RELEASE 0x02u     /* drop the hold */
#define TRK_ACT_SETTLE 0x04u      /* drop the hold and debit the balance */
#define TRK_ACT_CREDIT_BACK 0x08u /* credit the returned amount to the debtor account */
#define TRK_ACT_SEND 0x10u        /* queue the stored pacs.008 in the outbox */
#define TRK_ACT_RECALL 0x20u      /* queue the camt.056 given with the op in the outbox */
#define TRK_ACT_OVERDUE 0x40u     /* set the overdue flag */
#define TRK_ACT_UNSEND 0x80u      /* (added) drop the queued, undelivered pacs.008 */

typedef struct trk_step {
    int allowed;      /* 0: the input does not apply to this state; nothing changes */
    int anomaly;      /* allowed only as a record: the event is appended and flagged, the state
                         stays (late, out-of-order or conflicting updates; final states) */
    trk_state next;
    trk_state prev;   /* (added) prev_state after the step: the state a CANCEL_PENDING payment
                         returns to on RJCR; 0 when next is not CANCEL_PENDING */
    unsigned actions; /* TRK_ACT_* */
} trk_step;

/* The pure transition function: state × input → step. `prev` is the state before
 * CANCEL_PENDING (it decides RJCR and whether funds were settled); otherwise ignored.
 * Out-of-range arguments give allowed = 0. An allowed step with next == state and no
 * actions is a plain record (e.g. a repeated ACCC on a COMPLETED payment). */
trk_step trk_saga_step(trk_state state, trk_state prev, trk_input in);
/* Whether a payment in (state, prev) holds a reservation on its debit account, and whether it
 * reached a final status (the SLA no longer applies): both pure, used by the ledger check. */
int trk_state_holds_funds(trk_state state, trk_state prev);
int trk_state_is_final(trk_state state, trk_state prev);

/* ---- The embedded ledger ------------------------------------------------------------------ */

typedef struct trk_account {
    char id[35];          /* IBAN or other account id: 1..34 chars, no NUL, no '/' */
    char currency[4];
    int exponent;
    int64_t balance;      /* booked, minor units */
    int64_t reserved;     /* held for payments in flight, minor units (store-managed: ignored
                             by TRK_OP_ACCOUNT_PUT) */
    char owner[36];       /* customer id, may be empty (then any customer may debit it) */
    int64_t updated_ms;   /* store-managed */
} trk_account;

/* Returns TRK_OK, TRK_ERR_NOTFOUND, TRK_ERR_CORRUPT, TRK_ERR_STORE, TRK_ERR_INVALID. */
int trk_account_get(trk_store *store, const char *id, trk_account *out);

/* An audit record: a refusal that left nothing else behind (AC01, AM03, AM04 ...). */
typedef struct trk_audit {
    uint64_t seq;         /* 1, 2, ... in write order */
    int64_t at_ms;
    char scope[256];      /* the op's idem_scope (the principal), may be empty */
    char uetr[37];
    char code[5];         /* "AC01", "AM03", "AM04" */
    char account[35];     /* the debit account named by the refused payment */
} trk_audit;
/* The audit records with seq > after_seq, oldest first, at most max (1..TRK_MAX_PAGE).
 * *out malloc'd (free()), *n entries. Returns TRK_OK, TRK_ERR_INVALID, TRK_ERR_STORE,
 * TRK_ERR_NOMEM, TRK_ERR_CORRUPT. (Provisional: for corridorctl and tests.) */
int trk_audit_list(trk_store *store, uint64_t after_seq, unsigned max, trk_audit **out,
                   size_t *n);

/* ---- Writes ------------------------------------------------------------------------------ */

typedef enum trk_op_kind {
    TRK_OP_CREATE = 1,  /* new payment(s) + first event + message, reservation, idempotency */
    TRK_OP_EVENT,       /* one input for one payment */
    TRK_OP_ACCOUNT_PUT, /* create or update a ledger account (operators, seeding) */
} trk_op_kind;

/* One payment of a multi-payment TRK_OP_CREATE (a pain.001 with several transactions). */
typedef struct trk_create_item {
    const trk_payment *payment;   /* as for the single form */
    const trk_event *event;
    const char *msg_name;         /* NULL = no message */
    const char *msg;
    size_t msg_len;
    /* Outputs (valid in done when op->rc is TRK_OK): */
    trk_state state;              /* FUNDS_RESERVED or SCHEDULED */
    unsigned flags;               /* TRK_PF_* (POSSIBLE_DUPLICATE) */
} trk_create_item;

typedef struct trk_op trk_op;
typedef void (*trk_done_fn)(trk_op *op, void *arg);

/*
 * A write handed to the writer. Inputs are borrowed until `done` is called; the caller owns
 * the op itself. `done` runs on the writer thread after the batch's commit (fsync'd) or after
 * the op failed; it must be quick and must not call trk_submit synchronously-waiting.
 * Zero the op (memset) before filling it: unused inputs must be 0/NULL.
 *
 * TRK_OP_CREATE (single form: payment, event, msg_*; multi form: items/n_items, with
 * payment and event NULL). Per payment: payment->state must be TRK_VALIDATED; the store
 *   - reserves amount_minor on debit_account (when set): refused with rc TRK_ERR_FUNDS and
 *     funds_reason "AC01" (no such account, or its owner is not payment->customer_id),
 *     "AM03" (another currency), "AM04" (balance - reserved < amount); nothing is kept but an
 *     audit record (trk_audit_list); failed_index names the payment;
 *   - applies TRK_IN_ACCEPT (→ FUNDS_RESERVED; a message named "pacs.008" is queued in the
 *     outbox under msg_id) or, when execute_on is after today, TRK_IN_SCHEDULE (→ SCHEDULED;
 *     queued when due);
 *   - sets status (ACSP), last_seq, prev_state 0, flags, cancellation_status "", msg_id when
 *     empty (the first event's network_ref, which then must be a valid spool name:
 *     [A-Za-z0-9._-], 1..35), deadline_ms when 0 and sla_ms is set (immediate payments);
 *   - marks a possible duplicate (an earlier payment of the same debit_account,
 *     end_to_end_id, amount_minor and currency within TRK_DUPLICATE_WINDOW_MS, also one of
 *     the same op): TRK_PF_POSSIBLE_DUPLICATE and a second event TRK_EV_DUPLICATE.
 *   The multi form is all-or-nothing: the first refused payment is failed_index and nothing
 *   of the op is kept (but an audit record for TRK_ERR_FUNDS). rc also: TRK_ERR_EXISTS
 *   (failed_index says which), TRK_ERR_IDEM_REPLAY / _CONFLICT (the op's key).
 *   Outputs: to_state, flags (single form), items[i].state/.flags, seq (1).
 *
 * TRK_OP_EVENT: uetr, input (ACSP, ACCC, RJCT, CANCEL, CANCEL_ACCEPTED, CANCEL_REFUSED,
 *   RETURN; the others are the store's own), event (appended; seq, input, state, flags are
 *   set by the store), and optionally:
 *   - dedup_key: the update's identity (sender BIC + message/instruction id); a repeat for
 *     the same payment is absorbed: rc TRK_ERR_DUPLICATE, nothing written, seq = the first
 *     event's seq. NULL/empty = no deduplication.
 *   - add_chain: the instructed agent (BIC8/BIC11) joining the chain; ignored when already
 *     there (BIC8 compare), when the chain is full, or when the update is an anomaly.
 *   - msg_name/msg/msg_len: a message stored with the event (inbound pacs.002, camt.029,
 *     pacs.004) — for TRK_IN_CANCEL the camt.056 ("camt.056", event->network_ref its MsgId):
 *     always give it; it is stored and queued only when the step recalls (the payment has
 *     left), a local cancel keeps nothing of it. A recall without it is TRK_ERR_INVALID.
 *   - return_amount: TRK_IN_RETURN, minor units credited back; 0 = amount_minor; more than
 *     amount_minor is TRK_ERR_INVALID.
 *   - record_refused: for a correspondent's update the saga refuses (allowed = 0): 1 =
 *     record it as an anomaly (rc TRK_OK, anomaly 1), 0 = rc TRK_ERR_STATE. Channel inputs
 *     (CANCEL of a final or recall-pending payment) should leave it 0: TRK_ERR_STATE, nothing
 *     written.
 *   Anomalies (the saga's, or recorded refusals) append the event with TRK_EF_ANOMALY, set
 *   TRK_PF_ANOMALY, touch updated_ms and change nothing else. TRK_ERR_NOTFOUND for an unknown
 *   payment; TRK_ERR_STATE also once the payment holds TRK_MAX_EVENTS - 64 events (the rest
 *   is kept for the store's own events). Outputs: from_state, to_state, anomaly, seq (the
 *   event's), flags.
 *
 * TRK_OP_ACCOUNT_PUT: account (id, currency, exponent, balance, owner). Creates the account or
 *   updates it; the balance is set (the difference is journalled as an adjustment); reserved
 *   is kept. TRK_ERR_STATE when the currency or exponent would change while funds are
 *   reserved, or the balance would fall below the reserved amount. account_create_only = 1:
 *   TRK_ERR_EXISTS when it exists (seeding at start-up never overwrites operators' changes).
 *
 * Idempotency (every kind): idem_scope/idem_key/idem_digest/resp_*; checked first; stored with
 * the op's changes only when the op succeeds (TRK_OK, or an anomaly recorded).
 */
struct trk_op {
    trk_op_kind kind;

    /* TRK_OP_CREATE single form; TRK_OP_EVENT uses event and msg_* */
    const trk_payment *payment;   /* uetr, state, ... doc; created/updated set by caller */
    const trk_event *event;       /* the first event (seq assigned = 1) / the event appended */
    const char *msg_name;         /* e.g. "pacs.008"; NULL = no message */
    const char *msg;              /* message bytes (the envelope) */
    size_t msg_len;

    /* TRK_OP_CREATE multi form: n_items > 0 (1..TRK_MAX_ITEMS) replaces the single form */
    trk_create_item *items;
    size_t n_items;

    /* TRK_OP_EVENT */
    const char *uetr;
    trk_input input;
    const char *dedup_key;         /* 1..TRK_MAX_DEDUP_KEY bytes; NULL/empty = none */
    const char *add_chain;         /* BIC; NULL/empty = none */
    int record_refused;
    int64_t return_amount;

    /* TRK_OP_ACCOUNT_PUT */
    const trk_account *account;
    int account_create_only;

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
    char funds_reason[5];          /* with TRK_ERR_FUNDS: AC01, AM03, AM04 */
    size_t failed_index;           /* multi form: the item refused (FUNDS, EXISTS, STATE) */
    trk_state from_state;          /* TRK_OP_EVENT: before; TRK_OP_CREATE: VALIDATED */
    trk_state to_state;            /* after (= from_state for anomalies and duplicates) */
    int anomaly;                   /* TRK_OP_EVENT: the event was recorded as an anomaly */
    uint32_t seq;                  /* the (first) event's seq */
    unsigned flags;                /* the payment's TRK_PF_* after the op */

    trk_done_fn done;
    void *arg;
    trk_op *next;                  /* private to the store */
};

/* Queue an op. Returns TRK_OK (done will be called exactly once, later) or TRK_ERR_SHUTDOWN /
 * TRK_ERR_INVALID (done will not be called). */
int trk_submit(trk_store *store, trk_op *op);
/* TRK_ERR_INVALID covers: done NULL; an unknown kind; a uetr that is not lower-case
 * 8-4-4-4-12 hex; a char[] field without its NUL; a limit broken; msg_name set but not a
 * valid name or msg NULL with msg_len > 0; an idem_key without an idem_scope (a key is never
 * shared across principals); resp_status outside 100..599 or resp_body NULL with
 * resp_len > 0 when a key is given. CREATE: payment/event NULL (single form), both forms at
 * once, n_items > TRK_MAX_ITEMS, a state other than TRK_VALIDATED, a debit_account with an
 * amount_minor outside 1..TRK_MAX_AMOUNT, an exponent outside 0..4, a malformed execute_on,
 * currency not 3 upper-case letters (when set), a pacs.008 without a valid MsgId. EVENT: an
 * input the caller may not give, event NULL, a bad add_chain (8 or 11 of [A-Z0-9]).
 * ACCOUNT_PUT: account NULL, a bad id or currency, an exponent outside 0..4, |balance| over
 * TRK_MAX_AMOUNT. The store, not the caller, sets last_seq and event seqs; an existing
 * message of the same name is replaced. done() is called in submission order. */

/* ---- Reads (any thread) ------------------------------------------------------------- */
/* For every read: a uetr that is not lower-case 8-4-4-4-12 hex, or a message name that could
 * never be stored, is TRK_ERR_NOTFOUND; a NULL output pointer is TRK_ERR_INVALID.
 * trk_events_get returns TRK_ERR_NOTFOUND for an unknown payment. Returned strings and buffers
 * (doc, detail, message) are NUL-terminated, even when empty. */

/* Returns TRK_OK, TRK_ERR_NOTFOUND, TRK_ERR_CORRUPT, TRK_ERR_STORE, TRK_ERR_NOMEM.
 * On TRK_OK the caller owns out->doc (trk_payment_clear). */
int trk_payment_get(trk_store *store, const char *uetr, trk_payment *out);

/* All events of a payment in seq order. *events is a malloc'd array of *n; free with
 * trk_events_free. Returns TRK_OK (n may be 0 if the payment has none), TRK_ERR_*. */
int trk_events_get(trk_store *store, const char *uetr, trk_event **events, size_t *n);
void trk_events_free(trk_event *events, size_t n);

/* The response stored under an idempotency key, read before any work is done, so a retry is
 * answered as the original even when re-validating it would now give another answer (the day
 * turned, an account changed). Returns TRK_ERR_IDEM_REPLAY (*status, *body malloc'd: the
 * caller frees it), TRK_ERR_IDEM_CONFLICT (the key holds another request's digest),
 * TRK_ERR_NOTFOUND (not stored yet: do the work; the writer checks again at commit),
 * TRK_ERR_STORE, TRK_ERR_CORRUPT, TRK_ERR_NOMEM, TRK_ERR_INVALID. */
int trk_idem_get(trk_store *store, const char *scope, const char *key,
                 const unsigned char digest[32], int *status, char **body, size_t *body_len);

/* A stored message by name ("pacs.008"); *buf malloc'd, caller frees. TRK_ERR_NOTFOUND. */
int trk_message_get(trk_store *store, const char *uetr, const char *name, char **buf,
                    size_t *len);

/* Names of the messages stored for a payment ("camt.056", "pacs.002", "pacs.008" ...), in
 * byte order. *names is a malloc'd array of *n (free()); TRK_ERR_NOTFOUND for an unknown
 * payment, else TRK_OK (n may be 0). */
int trk_messages_list(trk_store *store, const char *uetr, char (**names)[64], size_t *n);

/* Store statistics for health and metrics. */
typedef struct trk_stats {
    uint64_t payments;
    uint64_t batches;        /* write transactions committed */
    uint64_t ops;            /* ops committed */
    uint64_t map_size;
    uint64_t queue_depth;    /* ops waiting for the writer now */
    uint64_t outbox;         /* messages waiting for delivery */
    uint64_t delivered;      /* messages delivered since open */
    uint64_t delivery_errors; /* spool write failures since open (retried) */
    uint64_t scheduled;      /* payments waiting in SCHEDULED */
    uint64_t overdue;        /* payments flagged overdue without a final status */
    uint64_t accounts;
} trk_stats;
int trk_stats_get(trk_store *store, trk_stats *out);

/* ---- Outbox delivery (embedded default) -------------------------------------------------
 * Messages leaving Corridor are written to trk_config.spool_dir, one file per message,
 * <MsgId>.xml holding the stored message bytes: written to ".<MsgId>.xml.tmp", fsync'd,
 * renamed, the directory fsync'd — only then is the outbox entry removed (an internal op)
 * and, for a pacs.008, TRK_IN_DELIVERED applied (event TRK_EV_DELIVERED; a camt.056 only
 * gets the event). At-least-once and never two files for one MsgId: an entry whose file
 * already exists is not written again (a crash between rename and removal). Consumers of the
 * spool must ignore dot files. Entries leave in outbox order.
 * A local cancel (TRK_IN_CANCEL on FUNDS_RESERVED) and delivery exclude each other: a
 * pacs.008 whose file exists has left, and the cancel becomes a recall (DELIVERED, then
 * CANCEL → CANCEL_PENDING with the camt.056). */

/* Runs delivery now (on the calling thread, excluding the delivery thread) until the outbox
 * is empty. Returns TRK_OK, TRK_ERR_INVALID (no spool_dir), TRK_ERR_STORE (a spool write or
 * an internal op failed; the entries stay and are retried), TRK_ERR_SHUTDOWN. Not from a
 * done callback. For tests and corridorctl. */
int trk_outbox_flush(trk_store *store);

/* ---- Timers -------------------------------------------------------------------------------
 * The timer thread applies, every tick_ms, TRK_IN_DUE to SCHEDULED payments whose execute_on
 * is today or earlier (store clock, UTC; event TRK_EV_DUE) and TRK_IN_OVERDUE to payments
 * past deadline_ms without a final status (event TRK_EV_OVERDUE, flag TRK_PF_OVERDUE, once).
 * Both are found through indexes (by_execute, by_deadline), so they survive restarts. */

/* Runs one timer pass now and waits until its ops are committed. *applied (may be NULL)
 * receives how many payments changed. Returns TRK_OK, TRK_ERR_STORE, TRK_ERR_SHUTDOWN. Not
 * from a done callback. For tests (with the clock hook) and corridorctl. */
int trk_tick(trk_store *store, unsigned *applied);

/* ---- Listing and the changed feed -------------------------------------------------------- */
typedef struct trk_query {
    const char *owner_bic;    /* payments whose debtor agent has this BIC8; NULL = all */
    const char *customer_id;  /* only this customer's; NULL = any */
    const char *status;       /* ACSP / ACCC / RJCT; NULL = any */
    int state;                /* a trk_state, 0 = any */
    int overdue_only;
    int64_t since_ms;         /* created at or after; 0 = any */
    unsigned limit;           /* 1..TRK_MAX_PAGE */
    const char *cursor;       /* from a previous page's next_cursor; NULL/empty = first page */
} trk_query;
#define TRK_MAX_PAGE 500
#define TRK_CURSOR_LEN 64
#define TRK_MAX_SCAN 10000    /* index entries one listing call looks at, at most */
/* Newest first (created_ms, then UETR). *out is a malloc'd array of *n payments
 * (trk_payments_free). next_cursor is empty when the end was reached; it is set when the page
 * stopped early (full, or TRK_MAX_SCAN entries looked at), so a page may hold fewer than
 * `limit` payments (even none) with a cursor, and the page after a full one may be empty:
 * keep paging while the cursor is set. next_cursor may be the buffer q->cursor points to.
 * overdue_only selects payments flagged TRK_PF_OVERDUE (the flag stays after a final status).
 * Returns TRK_OK, TRK_ERR_INVALID (limit, an owner_bic that is not 8/11 of [A-Z0-9], a status
 * not 4 chars, a state out of range, a cursor that is not one of this feed's), TRK_ERR_STORE,
 * TRK_ERR_NOMEM, TRK_ERR_CORRUPT. Cursors are opaque (provisional format, < 64 chars). */
int trk_payments_list(trk_store *store, const trk_query *q, trk_payment **out, size_t *n,
                      char next_cursor[TRK_CURSOR_LEN]);
/* Payments whose last update lies in [from_ms, to_ms), oldest update first (gpi "changed"),
 * owner_bic as in trk_query (NULL = all), max 1..TRK_MAX_PAGE; cursor and returns as
 * trk_payments_list (from_ms > to_ms is TRK_ERR_INVALID). updated_ms is the store clock's at
 * every change, so a payment updated again moves to its new place in the feed. */
int trk_payments_changed(trk_store *store, const char *owner_bic, int64_t from_ms,
                         int64_t to_ms, unsigned max, const char *cursor, trk_payment **out,
                         size_t *n, char next_cursor[TRK_CURSOR_LEN]);
void trk_payments_free(trk_payment *p, size_t n);

/* ---- Verification (corridorctl verify, tests) --------------------------------------------- */
typedef struct trk_verify_report {
    uint64_t payments, events, accounts, outbox;
    uint64_t problems;        /* 0 = consistent */
    char first_problem[256];
} trk_verify_report;
/* In one read transaction: every index entry matches a record and every record is in its
 * indexes; events are numbered 1..last_seq; outbox entries name stored payments and messages;
 * every account's reserved amount equals the sum of the payments holding funds on it; every
 * balance equals the sum of its journal (adjustments, settlements, credits back), and each
 * payment's settlement and credit back are journalled once and match its state. Returns
 * TRK_OK (see problems), TRK_ERR_STORE, TRK_ERR_NOMEM, TRK_ERR_INVALID. */
int trk_verify(trk_store *store, trk_verify_report *out);

#ifdef __cplusplus
}
#endif
#endif
