/*
 * record — the byte layout of everything the tracker stores (private to tracker/).
 *
 * Values: every record starts with the TRK_FORMAT_VERSION byte, then fixed-width integers in
 * little-endian and length-prefixed strings:
 *   str8   u8 length + bytes, no NUL inside; fits the char[] field it decodes into
 *   blob32 u32 length + bytes, bounded by the field's TRK_MAX_* limit
 *
 *   payment  ver u8 | state u8 | uuid 16 | created_ms i64 | status str8 | reason str8 |
 *            debtor_agent str8 | customer_id str8 | chain_len u8 | chain[chain_len] str8 |
 *            updated_ms i64 | last_seq u32 | prev_state u8 | debit_account str8 |
 *            end_to_end_id str8 | amount_minor i64 | exponent u8 | currency str8 |
 *            execute_on str8 | deadline_ms i64 | flags u32 | cancellation_status str8 |
 *            msg_id str8 | returned_minor i64 | doc blob32
 *   event    ver u8 | seq u32 | at_ms i64 | type str8 | message_name str8 | network_ref str8 |
 *            from str8 | to str8 | status str8 | reason str8 | input u8 | state u8 |
 *            flags u8 | detail blob32
 *   idem     ver u8 | digest 32 | uuid 16 | created_ms i64 | status u16 | body blob32
 *   message  ver u8 | the message bytes (the rest of the value)
 *   counter  ver u8 | u64
 *   mark     ver u8 (index entries, meta "format")
 *   account  ver u8 | currency str8 | exponent u8 | balance i64 | reserved i64 | owner str8 |
 *            updated_ms i64                                  (the id is the key)
 *   journal  ver u8 | kind u8 (REC_J_*) | uuid 16 (zero for adjustments) | amount i64 (signed
 *            change of the balance) | at_ms i64
 *   audit    ver u8 | at_ms i64 | scope str8 | uuid 16 | code str8 | account str8
 *   dedup    ver u8 | seq u32 (the event the update made) | at_ms i64
 *   payment key  the counter layout, created_ms as its u64 (with the UUID: the payment's pkey)
 *   outbox   ver u8 | pkey 24 | name str8 (the stored message) | msg_id str8 (the spool file)
 *
 * Decoding is strict: unknown version, truncation, trailing bytes, an over-long or NUL-holding
 * string, an out-of-range enum are all TRK_ERR_CORRUPT. Nothing is repaired.
 *
 * Keys (big-endian where the order matters, so LMDB's memcmp order is the wanted order):
 *   payments        pkey                              (by creation time, then UUID)
 *   payment_keys    uuid16                            (a UETR's pkey: where its payment is)
 *   events          pkey | seq u32 BE                 (a payment's events contiguous, in order)
 *   messages        pkey | name (1..TRK_MAX_MSG_NAME bytes, no NUL)
 *   idem            scope | 0x00 | key                (scope and key hold no NUL)
 *   idem_by_time    created_ms ob64 | seq u64 BE      (oldest first: what the timer expires;
 *                                                      the value is the idem key itself)
 *   meta            ASCII name: "format", "payments"
 *   by_owner        debtor_agent BIC8 (8 bytes, NUL-padded) | created_ms ob64 | uuid16
 *   by_status_time  status (4 bytes, NUL-padded) | updated_ms ob64 | uuid16
 *   accounts        id (1..34 bytes, no NUL)
 *   journal         account id | 0x00 | seq u64 BE       (an account's movements contiguous)
 *   audit           seq u64 BE
 *   dedup           pkey | dedup key (1..TRK_MAX_DEDUP_KEY bytes)
 *   outbox          seq u64 BE                            (delivery order)
 *   outbox_uetr     pkey | seq u64 BE                     (a payment's queued messages)
 * and the saga's indexes (index.c keeps their membership rules):
 *   by_created      created_ms ob64 | uuid16              (every payment; listing for all)
 *   by_updated      updated_ms ob64 | uuid16              (every payment; the changed feed)
 *   by_execute      execute_on (10 bytes) | uuid16        (SCHEDULED payments)
 *   by_deadline     deadline_ms ob64 | uuid16             (deadline set, not final, not flagged)
 *   by_overdue      uuid16                                (flagged overdue, not final)
 *   by_e2e          debit_account (34, NUL-padded) | end_to_end_id (35, NUL-padded) |
 *                   amount ob64 | currency (3) | created_ms ob64 | uuid16
 *                                                         (funded payments with an E2E id)
 * where ob64 is the int64 with its sign bit flipped, big-endian ("offset binary"), so that
 * byte order equals numeric order for any time, even before 1970. Index values are marks.
 *
 * pkey, a payment's key in the databases that hold several entries per payment, is
 * created_ms ob64 | uuid16: the UUID keeps it unique, the creation time first puts a new
 * payment's event, message and outbox entries at the end of their trees. Keyed by the random
 * UUID alone, every payment accepted dirtied one more page of each of those trees in every
 * group commit (written and fsync'd whole); keyed by time, a commit's new payments share the
 * last pages. The payment records and their dedup entries are keyed by pkey as well (format
 * 3): a payment is rewritten at each step (accepted, sent, every status update), and updates
 * come mostly for recent payments, in about the order they were made, so the pages a commit
 * rewrites are few and shared instead of one random page per payment. payment_keys finds a
 * UETR's pkey (small entries: a lookup touches far fewer pages than the records did).
 */
#ifndef CORRIDOR_TRK_RECORD_H
#define CORRIDOR_TRK_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "tracker.h"

#define REC_UUID_LEN 16
#define REC_UETR_LEN 36 /* 8-4-4-4-12 lower-case hex */
#define REC_DIGEST_LEN 32
#define REC_SEQ_LEN 4
#define REC_BIC8_LEN 8
#define REC_STATUS_LEN 4
#define REC_TIME_LEN 8
#define REC_PKEY_LEN (REC_TIME_LEN + REC_UUID_LEN)
#define REC_EVENT_KEY_LEN (REC_PKEY_LEN + REC_SEQ_LEN)
#define REC_MSG_KEY_MAX (REC_PKEY_LEN + TRK_MAX_MSG_NAME)
#define REC_IDEM_KEY_MAX (TRK_MAX_IDEM_SCOPE + 1 + TRK_MAX_IDEM_KEY)
#define REC_IDEM_TIME_KEY_LEN (REC_TIME_LEN + 8)
#define REC_OWNER_KEY_LEN (REC_BIC8_LEN + REC_TIME_LEN + REC_UUID_LEN)
#define REC_STATUS_KEY_LEN (REC_STATUS_LEN + REC_TIME_LEN + REC_UUID_LEN)
#define REC_COUNTER_LEN 9
#define REC_MARK_LEN 1
#define REC_STR8_MAX 255
#define REC_HTTP_MIN 100
#define REC_HTTP_MAX 599

/* UETR text <-> 16 bytes. rec_uuid_parse accepts only lower-case 8-4-4-4-12 hex; 0 or -1. */
int rec_uuid_parse(const char *uetr, uint8_t out[REC_UUID_LEN]);
void rec_uuid_format(const uint8_t in[REC_UUID_LEN], char out[REC_UETR_LEN + 1]);

/* A payment's pkey (layout above); the UUID is its last REC_UUID_LEN bytes. */
void rec_pkey(int64_t created_ms, const uint8_t uuid[REC_UUID_LEN], uint8_t out[REC_PKEY_LEN]);
#define REC_PKEY_UUID(pkey) ((pkey) + REC_TIME_LEN)

/*
 * Records. *_size returns the exact encoded length, or 0 when the struct breaks a limit (an
 * unterminated char[] field, a bad uetr or state, a blob over its maximum). *_encode writes
 * exactly that many bytes into buf (TRK_OK) or returns TRK_ERR_INVALID. *_decode returns
 * TRK_OK, TRK_ERR_CORRUPT or TRK_ERR_NOMEM; on failure *out is left zeroed with nothing owned.
 */
size_t rec_payment_size(const trk_payment *p);
int rec_payment_encode(const trk_payment *p, uint8_t *buf, size_t len);
int rec_payment_decode(const uint8_t *buf, size_t len, trk_payment *out);

size_t rec_event_size(const trk_event *e);
int rec_event_encode(const trk_event *e, uint8_t *buf, size_t len);
int rec_event_decode(const uint8_t *buf, size_t len, trk_event *out);

/* The stored answer to an idempotency key. After decode, body borrows from the decoded buffer
 * (for a value read from LMDB: valid only until the transaction ends). */
typedef struct rec_idem {
    uint8_t digest[REC_DIGEST_LEN];
    uint8_t uuid[REC_UUID_LEN];
    int64_t created_ms;
    int status; /* HTTP status, REC_HTTP_MIN..REC_HTTP_MAX */
    const char *body;
    size_t body_len; /* <= TRK_MAX_RESPONSE */
} rec_idem;
size_t rec_idem_size(const rec_idem *r);
int rec_idem_encode(const rec_idem *r, uint8_t *buf, size_t len);
int rec_idem_decode(const uint8_t *buf, size_t len, rec_idem *out); /* no NOMEM: no copy */

/* A message: *msg borrows from buf. */
size_t rec_message_size(size_t msg_len); /* 0 when msg_len > TRK_MAX_MESSAGE */
int rec_message_encode(const char *msg, size_t msg_len, uint8_t *buf, size_t len);
int rec_message_decode(const uint8_t *buf, size_t len, const char **msg, size_t *msg_len);

void rec_counter_encode(uint64_t v, uint8_t buf[REC_COUNTER_LEN]);
int rec_counter_decode(const uint8_t *buf, size_t len, uint64_t *v);
void rec_mark_encode(uint8_t buf[REC_MARK_LEN]);
int rec_mark_decode(const uint8_t *buf, size_t len);

/* Keys. Each returns the key length, or 0 when an input breaks the layout. */
int rec_msg_name_ok(const char *name);
size_t rec_event_key(const uint8_t pkey[REC_PKEY_LEN], uint32_t seq,
                     uint8_t out[REC_EVENT_KEY_LEN]);
uint32_t rec_event_key_seq(const uint8_t key[REC_EVENT_KEY_LEN]);
size_t rec_msg_key(const uint8_t pkey[REC_PKEY_LEN], const char *name,
                   uint8_t out[REC_MSG_KEY_MAX]);
size_t rec_idem_key(const char *scope, const char *key, uint8_t out[REC_IDEM_KEY_MAX]);
size_t rec_owner_key(const trk_payment *p, const uint8_t uuid[REC_UUID_LEN],
                     uint8_t out[REC_OWNER_KEY_LEN]);
size_t rec_status_key(const trk_payment *p, const uint8_t uuid[REC_UUID_LEN],
                      uint8_t out[REC_STATUS_KEY_LEN]);

/* ---- the ledger, audit, dedup and outbox records ---------------------------------------- */

#define REC_ACCOUNT_ID_MAX 34
#define REC_SEQ64_LEN 8
#define REC_JOURNAL_KEY_MAX (REC_ACCOUNT_ID_MAX + 1 + REC_SEQ64_LEN)
#define REC_DEDUP_KEY_MAX (REC_PKEY_LEN + TRK_MAX_DEDUP_KEY)
#define REC_OUTBOX_UETR_KEY_LEN (REC_PKEY_LEN + REC_SEQ64_LEN)

enum rec_journal_kind { REC_J_ADJUST = 1, REC_J_SETTLE, REC_J_CREDIT_BACK };

/* account: the id is the key, so decode leaves out->id to the caller. */
size_t rec_account_size(const trk_account *a);
int rec_account_encode(const trk_account *a, uint8_t *buf, size_t len);
int rec_account_decode(const uint8_t *buf, size_t len, trk_account *out);
int rec_account_id_ok(const char *id); /* 1..34 bytes of printable ASCII, no '/' */

typedef struct rec_journal {
    int kind; /* REC_J_* */
    uint8_t uuid[REC_UUID_LEN];
    int64_t amount;
    int64_t at_ms;
} rec_journal;
#define REC_JOURNAL_LEN (1 + 1 + REC_UUID_LEN + 8 + 8)
void rec_journal_encode(const rec_journal *j, uint8_t buf[REC_JOURNAL_LEN]);
int rec_journal_decode(const uint8_t *buf, size_t len, rec_journal *out);

/* audit: out->seq is the key's, left to the caller. */
size_t rec_audit_size(const trk_audit *a);
int rec_audit_encode(const trk_audit *a, uint8_t *buf, size_t len);
int rec_audit_decode(const uint8_t *buf, size_t len, trk_audit *out);

typedef struct rec_dedup {
    uint32_t seq;
    int64_t at_ms;
} rec_dedup;
#define REC_DEDUP_LEN (1 + 4 + 8)
void rec_dedup_encode(const rec_dedup *d, uint8_t buf[REC_DEDUP_LEN]);
int rec_dedup_decode(const uint8_t *buf, size_t len, rec_dedup *out);

typedef struct rec_outbox {
    uint8_t pkey[REC_PKEY_LEN]; /* the payment's; REC_PKEY_UUID gives its UUID */
    char name[TRK_MAX_MSG_NAME + 1];
    char msg_id[36];
} rec_outbox;
size_t rec_outbox_size(const rec_outbox *o);
int rec_outbox_encode(const rec_outbox *o, uint8_t *buf, size_t len);
int rec_outbox_decode(const uint8_t *buf, size_t len, rec_outbox *out);
int rec_msg_id_ok(const char *id); /* a spool file name: [A-Za-z0-9._-], 1..35, no leading '.' */

void rec_seq64_key(uint64_t seq, uint8_t out[REC_SEQ64_LEN]);
uint64_t rec_seq64_get(const uint8_t key[REC_SEQ64_LEN]);
size_t rec_journal_key(const char *account, uint64_t seq, uint8_t out[REC_JOURNAL_KEY_MAX]);
size_t rec_dedup_key(const uint8_t pkey[REC_PKEY_LEN], const char *dedup,
                     uint8_t out[REC_DEDUP_KEY_MAX]);
void rec_outbox_uetr_key(const uint8_t pkey[REC_PKEY_LEN], uint64_t seq,
                         uint8_t out[REC_OUTBOX_UETR_KEY_LEN]);

/* Helpers the index keys share. */
void rec_put_be(uint8_t *dst, uint64_t v, unsigned width);
void rec_put_ob64(uint8_t *dst, int64_t v);
int64_t rec_get_ob64(const uint8_t *src);
void rec_put_padded(uint8_t *dst, const char *field, size_t field_cap, size_t width);

#endif
