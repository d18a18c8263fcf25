/*
 * record — the byte layout of everything the tracker stores (private to tracker/).
 *
 * Values: every record starts with the TRK_FORMAT_VERSION byte, then fixed-width integers in
 * little-endian and length-prefixed strings:
 *   str8   u8 length + bytes, no NUL inside; fits the char[] field it decodes into
 *   blob32 u32 length + bytes, bounded by the field's TRK_MAX_* limit
 *
 *   payment  ver u8 | state u8 | uuid 16 | status str8 | reason str8 | debtor_agent str8 |
 *            customer_id str8 | chain_len u8 | chain[chain_len] str8 | created_ms i64 |
 *            updated_ms i64 | last_seq u32 | doc blob32
 *   event    ver u8 | seq u32 | at_ms i64 | type str8 | message_name str8 | network_ref str8 |
 *            from str8 | to str8 | status str8 | reason str8 | detail blob32
 *   idem     ver u8 | digest 32 | uuid 16 | created_ms i64 | status u16 | body blob32
 *   message  ver u8 | the message bytes (the rest of the value)
 *   counter  ver u8 | u64
 *   mark     ver u8 (index entries, meta "format")
 *
 * Decoding is strict: unknown version, truncation, trailing bytes, an over-long or NUL-holding
 * string, an out-of-range enum are all TRK_ERR_CORRUPT. Nothing is repaired.
 *
 * Keys (big-endian where the order matters, so LMDB's memcmp order is the wanted order):
 *   payments        uuid16
 *   events          uuid16 | seq u32 BE               (a payment's events contiguous, in order)
 *   messages        uuid16 | name (1..TRK_MAX_MSG_NAME bytes, no NUL)
 *   idem            scope | 0x00 | key                (scope and key hold no NUL)
 *   meta            ASCII name: "format", "payments"
 *   by_owner        debtor_agent BIC8 (8 bytes, NUL-padded) | created_ms ob64 | uuid16
 *   by_status_time  status (4 bytes, NUL-padded) | updated_ms ob64 | uuid16
 * where ob64 is the int64 with its sign bit flipped, big-endian ("offset binary"), so that
 * byte order equals numeric order for any time, even before 1970.
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
#define REC_EVENT_KEY_LEN (REC_UUID_LEN + REC_SEQ_LEN)
#define REC_MSG_KEY_MAX (REC_UUID_LEN + TRK_MAX_MSG_NAME)
#define REC_IDEM_KEY_MAX (TRK_MAX_IDEM_SCOPE + 1 + TRK_MAX_IDEM_KEY)
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
size_t rec_event_key(const uint8_t uuid[REC_UUID_LEN], uint32_t seq,
                     uint8_t out[REC_EVENT_KEY_LEN]);
uint32_t rec_event_key_seq(const uint8_t key[REC_EVENT_KEY_LEN]);
size_t rec_msg_key(const uint8_t uuid[REC_UUID_LEN], const char *name,
                   uint8_t out[REC_MSG_KEY_MAX]);
size_t rec_idem_key(const char *scope, const char *key, uint8_t out[REC_IDEM_KEY_MAX]);
size_t rec_owner_key(const trk_payment *p, const uint8_t uuid[REC_UUID_LEN],
                     uint8_t out[REC_OWNER_KEY_LEN]);
size_t rec_status_key(const trk_payment *p, const uint8_t uuid[REC_UUID_LEN],
                      uint8_t out[REC_STATUS_KEY_LEN]);

#endif
