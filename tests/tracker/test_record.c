/*
 * tracker/record.c: round trips of every record, and the decoder against truncated, padded,
 * mutated and out-of-range input (each bad fixture paired with the error it must give).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "record.h"
#include "util.h"

#define UETR "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
#define SET(field, text) snprintf((field), sizeof(field), "%s", (text))

/* A payment with every field at its longest. */
static void
full_payment(fx *f)
{
    unsigned i;

    fx_init(f, UETR);
    SET(f->payment.customer_id, "C234567890123456789012345678901234X"); /* 35 */
    for (i = 0; i < TRK_MAX_CHAIN; i++)
        snprintf(f->payment.chain[i], sizeof f->payment.chain[i], "BANKUS3%uXXX", i);
    f->payment.chain_len = TRK_MAX_CHAIN;
    f->payment.created_ms = -5; /* before 1970 survives */
    f->payment.updated_ms = INT64_MAX;
    f->payment.last_seq = UINT32_MAX;
    f->payment.prev_state = TRK_COMPLETED;
    SET(f->payment.debit_account, "GB33BUKB20201555555555XXXXXXXXXXXX");  /* 34 */
    SET(f->payment.end_to_end_id, "E2345678901234567890123456789012345"); /* 35 */
    f->payment.amount_minor = TRK_MAX_AMOUNT;
    f->payment.exponent = TRK_MAX_EXPONENT;
    SET(f->payment.currency, "CLF");
    SET(f->payment.execute_on, "2026-11-23");
    f->payment.deadline_ms = INT64_MIN;
    f->payment.flags = TRK_PF_OVERDUE | TRK_PF_ANOMALY | TRK_PF_POSSIBLE_DUPLICATE;
    SET(f->payment.cancellation_status, "PDCR");
    SET(f->payment.msg_id, "M2345678901234567890123456789012345"); /* 35 */
    f->payment.returned_minor = -1;
    fx_pad_doc(f, 1000);
}

static uint8_t *
encode_payment(const trk_payment *p, size_t *len)
{
    uint8_t *buf;

    *len = rec_payment_size(p);
    assert_true(*len > 0);
    buf = malloc(*len);
    assert_non_null(buf);
    assert_int_equal(rec_payment_encode(p, buf, *len), TRK_OK);
    return buf;
}

static uint8_t *
encode_event(const trk_event *e, size_t *len)
{
    uint8_t *buf;

    *len = rec_event_size(e);
    assert_true(*len > 0);
    buf = malloc(*len);
    assert_non_null(buf);
    assert_int_equal(rec_event_encode(e, buf, *len), TRK_OK);
    return buf;
}

/* Decodes a copy of exactly len bytes, so valgrind/ASan see any read past the end. */
static int
decode_payment_copy(const uint8_t *src, size_t len, trk_payment *out)
{
    uint8_t *copy = malloc(len ? len : 1);
    int rc;

    assert_non_null(copy);
    memcpy(copy, src, len);
    rc = rec_payment_decode(copy, len, out);
    free(copy);
    return rc;
}

static int
decode_event_copy(const uint8_t *src, size_t len, trk_event *out)
{
    uint8_t *copy = malloc(len ? len : 1);
    int rc;

    assert_non_null(copy);
    memcpy(copy, src, len);
    rc = rec_event_decode(copy, len, out);
    free(copy);
    return rc;
}

static void
assert_payment_zero(const trk_payment *p)
{
    trk_payment zero;

    memset(&zero, 0, sizeof zero);
    assert_memory_equal(p, &zero, sizeof zero);
}

/* ---- UUIDs ------------------------------------------------------------------------------ */

static void
test_uuid_roundtrip(void **state)
{
    static const char *const good[] = {
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        UETR,
    };
    uint8_t u[REC_UUID_LEN];
    char back[REC_UETR_LEN + 1];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(rec_uuid_parse(good[i], u), 0);
        rec_uuid_format(u, back);
        assert_string_equal(back, good[i]);
    }
    assert_int_equal(rec_uuid_parse(UETR, u), 0);
    assert_int_equal(u[0], 0x3f);
    assert_int_equal(u[15], 0x01);
}

static void
test_uuid_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        "3F2504E0-4F89-41D3-9A0C-0305E82C3301",  /* upper case */
        "3f2504e0-4f89-41d3-9a0c-0305e82c330",   /* 35 characters */
        "3f2504e0-4f89-41d3-9a0c-0305e82c33011", /* 37 characters */
        "3f2504e04f89-41d3-9a0c-0305e82c3301-",  /* dash moved */
        "3f2504e0-4f89-41d3-9a0c+0305e82c3301",  /* not a dash */
        "3f2504e0-4f89-41d3-9a0c-0305e82c330g",  /* not hex */
        "{3f2504e0-4f89-41d3-9a0c-0305e82c3301}",
        " 3f2504e0-4f89-41d3-9a0c-0305e82c3301",
    };
    uint8_t u[REC_UUID_LEN];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(rec_uuid_parse(bad[i], u), -1);
    assert_int_equal(rec_uuid_parse(NULL, u), -1);
}

/* ---- payment ---------------------------------------------------------------------------- */

static void
test_payment_roundtrip(void **state)
{
    fx f;
    trk_payment out;
    uint8_t *buf;
    size_t len;
    unsigned i;

    (void)state;
    full_payment(&f);
    buf = encode_payment(&f.payment, &len);
    assert_int_equal(buf[0], TRK_FORMAT_VERSION);
    assert_int_equal(decode_payment_copy(buf, len, &out), TRK_OK);
    assert_string_equal(out.uetr, UETR);
    assert_int_equal(out.state, TRK_VALIDATED);
    assert_string_equal(out.status, "ACSP");
    assert_string_equal(out.reason, "G000");
    assert_string_equal(out.debtor_agent, "CRDRGB20XXX");
    assert_string_equal(out.customer_id, f.payment.customer_id);
    assert_int_equal(out.chain_len, TRK_MAX_CHAIN);
    for (i = 0; i < TRK_MAX_CHAIN; i++)
        assert_string_equal(out.chain[i], f.payment.chain[i]);
    assert_true(out.created_ms == -5);
    assert_true(out.updated_ms == INT64_MAX);
    assert_true(out.last_seq == UINT32_MAX);
    assert_int_equal(out.prev_state, TRK_COMPLETED);
    assert_string_equal(out.debit_account, f.payment.debit_account);
    assert_string_equal(out.end_to_end_id, f.payment.end_to_end_id);
    assert_true(out.amount_minor == TRK_MAX_AMOUNT);
    assert_int_equal(out.exponent, TRK_MAX_EXPONENT);
    assert_string_equal(out.currency, "CLF");
    assert_string_equal(out.execute_on, "2026-11-23");
    assert_true(out.deadline_ms == INT64_MIN);
    assert_int_equal(out.flags, f.payment.flags);
    assert_string_equal(out.cancellation_status, "PDCR");
    assert_string_equal(out.msg_id, f.payment.msg_id);
    assert_true(out.returned_minor == -1);
    assert_int_equal(out.doc_len, 1000);
    assert_memory_equal(out.doc, f.doc, 1000);
    assert_int_equal(out.doc[1000], '\0');
    trk_payment_clear(&out);
    free(buf);
}

static void
test_payment_empty_doc(void **state)
{
    fx f;
    trk_payment out;
    uint8_t *buf;
    size_t len;

    (void)state;
    fx_init(&f, UETR);
    f.payment.doc = NULL;
    f.payment.doc_len = 0;
    f.payment.chain_len = 0;
    f.payment.reason[0] = '\0';
    buf = encode_payment(&f.payment, &len);
    assert_int_equal(decode_payment_copy(buf, len, &out), TRK_OK);
    assert_non_null(out.doc); /* always owned and terminated */
    assert_int_equal(out.doc_len, 0);
    assert_string_equal(out.doc, "");
    assert_string_equal(out.reason, "");
    assert_int_equal(out.chain_len, 0);
    trk_payment_clear(&out);
    free(buf);
}

static void
test_payment_truncated_every_length(void **state)
{
    fx f;
    trk_payment out;
    uint8_t *buf;
    size_t len, cut;

    (void)state;
    full_payment(&f);
    fx_pad_doc(&f, 40);
    buf = encode_payment(&f.payment, &len);
    for (cut = 0; cut < len; cut++) {
        assert_int_equal(decode_payment_copy(buf, cut, &out), TRK_ERR_CORRUPT);
        assert_payment_zero(&out);
    }
    assert_int_equal(rec_payment_decode(NULL, 0, &out), TRK_ERR_CORRUPT);
    free(buf);
}

static void
test_payment_trailing_bytes(void **state)
{
    fx f;
    trk_payment out;
    uint8_t *buf, *longer;
    size_t len;

    (void)state;
    fx_init(&f, UETR);
    buf = encode_payment(&f.payment, &len);
    longer = calloc(1, len + 1);
    assert_non_null(longer);
    memcpy(longer, buf, len);
    assert_int_equal(decode_payment_copy(longer, len + 1, &out), TRK_ERR_CORRUPT);
    free(longer);
    free(buf);
}

/* Offsets in a payment record made by fx_init (status "ACSP", reason "G000", ...). */
#define P_OFF_VERSION 0
#define P_OFF_STATE 1
#define P_OFF_STATUS_LEN (2 + REC_UUID_LEN + REC_TIME_LEN) /* after created_ms */
#define P_OFF_STATUS (P_OFF_STATUS_LEN + 1)

static size_t
chain_len_offset(const trk_payment *p)
{
    return P_OFF_STATUS_LEN + 1 + strlen(p->status) + 1 + strlen(p->reason) + 1 +
           strlen(p->debtor_agent) + 1 + strlen(p->customer_id);
}

static void
expect_payment_corrupt(const uint8_t *good, size_t len, size_t off, uint8_t value)
{
    uint8_t *bad = malloc(len);
    trk_payment out;

    assert_non_null(bad);
    memcpy(bad, good, len);
    bad[off] = value;
    assert_int_equal(rec_payment_decode(bad, len, &out), TRK_ERR_CORRUPT);
    assert_payment_zero(&out);
    free(bad);
}

static void
test_payment_bad_fields(void **state)
{
    fx f;
    uint8_t *buf;
    size_t len, doc_len_off;

    (void)state;
    fx_init(&f, UETR);
    buf = encode_payment(&f.payment, &len);
    expect_payment_corrupt(buf, len, P_OFF_VERSION, 0);
    expect_payment_corrupt(buf, len, P_OFF_VERSION, TRK_FORMAT_VERSION + 1);
    expect_payment_corrupt(buf, len, P_OFF_STATE, 0);
    expect_payment_corrupt(buf, len, P_OFF_STATE, TRK_RETURNED + 1);
    expect_payment_corrupt(buf, len, P_OFF_STATUS_LEN, 5);    /* over char[5] */
    expect_payment_corrupt(buf, len, P_OFF_STATUS_LEN, 255);  /* past the end */
    expect_payment_corrupt(buf, len, P_OFF_STATUS + 1, '\0'); /* NUL inside a string */
    expect_payment_corrupt(buf, len, chain_len_offset(&f.payment), TRK_MAX_CHAIN + 1);
    expect_payment_corrupt(buf, len, chain_len_offset(&f.payment), 3); /* one more than held */
    doc_len_off = len - f.payment.doc_len - 4;
    expect_payment_corrupt(buf, len, doc_len_off + 3, 0x80); /* length far past the end */
    expect_payment_corrupt(buf, len, doc_len_off, (uint8_t)(f.payment.doc_len + 1));
    free(buf);
}

static void
test_payment_doc_over_limit(void **state)
{
    fx f;
    trk_payment out;
    uint8_t *buf;
    size_t len, off, big = (size_t)TRK_MAX_DOC + 1;

    (void)state;
    fx_init(&f, UETR);
    f.payment.doc = NULL;
    f.payment.doc_len = 0;
    buf = encode_payment(&f.payment, &len);
    /* The length says TRK_MAX_DOC + 1 and the bytes are really there: still refused. */
    buf = realloc(buf, len + big);
    assert_non_null(buf);
    memset(buf + len, 'x', big);
    off = len - 4;
    buf[off] = (uint8_t)big;
    buf[off + 1] = (uint8_t)(big >> 8);
    buf[off + 2] = (uint8_t)(big >> 16);
    buf[off + 3] = (uint8_t)(big >> 24);
    assert_int_equal(rec_payment_decode(buf, len + big, &out), TRK_ERR_CORRUPT);
    free(buf);
}

/* Every byte replaced by a few values: the decoder says OK or CORRUPT, never worse. */
static void
test_payment_mutations(void **state)
{
    static const uint8_t values[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
    fx f;
    trk_payment out;
    uint8_t *buf, *m;
    size_t len, i, v;
    int rc;

    (void)state;
    full_payment(&f);
    fx_pad_doc(&f, 20);
    buf = encode_payment(&f.payment, &len);
    m = malloc(len);
    assert_non_null(m);
    for (i = 0; i < len; i++) {
        for (v = 0; v < sizeof values; v++) {
            memcpy(m, buf, len);
            m[i] = values[v];
            rc = rec_payment_decode(m, len, &out);
            assert_true(rc == TRK_OK || rc == TRK_ERR_CORRUPT);
            trk_payment_clear(&out);
        }
    }
    free(m);
    free(buf);
}

static void
test_payment_encode_refuses(void **state)
{
    fx f;
    uint8_t buf[512];
    size_t len;

    (void)state;
    fx_init(&f, UETR);
    len = rec_payment_size(&f.payment);
    assert_true(len > 0 && len <= sizeof buf);
    assert_int_equal(rec_payment_encode(&f.payment, buf, len - 1), TRK_ERR_INVALID);
    assert_int_equal(rec_payment_encode(&f.payment, buf, len + 1), TRK_ERR_INVALID);
    assert_int_equal(rec_payment_encode(&f.payment, NULL, len), TRK_ERR_INVALID);

    memcpy(f.payment.status, "ACSPX", sizeof f.payment.status); /* no NUL */
    assert_int_equal(rec_payment_size(&f.payment), 0);
    assert_int_equal(rec_payment_encode(&f.payment, buf, len), TRK_ERR_INVALID);

    fx_init(&f, "3F2504E0-4F89-41D3-9A0C-0305E82C3301");
    assert_int_equal(rec_payment_size(&f.payment), 0);
    fx_init(&f, UETR);
    f.payment.chain_len = TRK_MAX_CHAIN + 1;
    assert_int_equal(rec_payment_size(&f.payment), 0);
    fx_init(&f, UETR);
    f.payment.state = 0;
    assert_int_equal(rec_payment_size(&f.payment), 0);
    fx_init(&f, UETR);
    f.payment.doc_len = (size_t)TRK_MAX_DOC + 1;
    assert_int_equal(rec_payment_size(&f.payment), 0);
    fx_init(&f, UETR);
    f.payment.doc = NULL; /* a length without bytes */
    assert_int_equal(rec_payment_size(&f.payment), 0);
    assert_int_equal(rec_payment_size(NULL), 0);
}

/* ---- event ------------------------------------------------------------------------------ */

static void
test_event_roundtrip(void **state)
{
    fx f;
    trk_event out;
    uint8_t *buf;
    size_t len;

    (void)state;
    fx_init(&f, UETR);
    f.event.seq = 7;
    f.event.at_ms = INT64_MIN;
    SET(f.event.reason, "AC01");
    f.event.input = TRK_IN_SCHEDULE;
    f.event.state = TRK_RETURNED;
    f.event.flags = TRK_EF_ANOMALY | TRK_EF_INTERNAL;
    buf = encode_event(&f.event, &len);
    assert_int_equal(decode_event_copy(buf, len, &out), TRK_OK);
    assert_int_equal(out.seq, 7);
    assert_true(out.at_ms == INT64_MIN);
    assert_string_equal(out.type, "CTPT");
    assert_string_equal(out.message_name, "pacs.008.001.08");
    assert_string_equal(out.network_ref, "MSG-0001");
    assert_string_equal(out.from, "CRDRGB20XXX");
    assert_string_equal(out.to, "CRSPUS30XXX");
    assert_string_equal(out.status, "ACSP");
    assert_string_equal(out.reason, "AC01");
    assert_int_equal(out.input, TRK_IN_SCHEDULE);
    assert_int_equal(out.state, TRK_RETURNED);
    assert_int_equal(out.flags, TRK_EF_ANOMALY | TRK_EF_INTERNAL);
    assert_int_equal(out.detail_len, f.event.detail_len);
    assert_string_equal(out.detail, f.event.detail);
    trk_event_clear(&out);
    free(buf);
}

static void
test_event_truncated_and_padded(void **state)
{
    fx f;
    trk_event out, zero;
    uint8_t *buf, *longer;
    size_t len, cut;

    (void)state;
    memset(&zero, 0, sizeof zero);
    fx_init(&f, UETR);
    buf = encode_event(&f.event, &len);
    for (cut = 0; cut < len; cut++) {
        assert_int_equal(decode_event_copy(buf, cut, &out), TRK_ERR_CORRUPT);
        assert_memory_equal(&out, &zero, sizeof zero);
    }
    longer = calloc(1, len + 1);
    assert_non_null(longer);
    memcpy(longer, buf, len);
    assert_int_equal(decode_event_copy(longer, len + 1, &out), TRK_ERR_CORRUPT);
    longer[0] = TRK_FORMAT_VERSION + 1;
    assert_int_equal(decode_event_copy(longer, len, &out), TRK_ERR_CORRUPT);
    free(longer);
    free(buf);
}

static void
test_event_mutations(void **state)
{
    static const uint8_t values[] = {0x00, 0x05, 0x18, 0x80, 0xff};
    fx f;
    trk_event out;
    uint8_t *buf, *m;
    size_t len, i, v;
    int rc;

    (void)state;
    fx_init(&f, UETR);
    buf = encode_event(&f.event, &len);
    m = malloc(len);
    assert_non_null(m);
    for (i = 0; i < len; i++) {
        for (v = 0; v < sizeof values; v++) {
            memcpy(m, buf, len);
            m[i] = values[v];
            rc = rec_event_decode(m, len, &out);
            assert_true(rc == TRK_OK || rc == TRK_ERR_CORRUPT);
            trk_event_clear(&out);
        }
    }
    free(m);
    free(buf);
}

static void
test_event_encode_refuses(void **state)
{
    fx f;

    (void)state;
    fx_init(&f, UETR);
    memset(f.event.message_name, 'x', sizeof f.event.message_name); /* no NUL */
    assert_int_equal(rec_event_size(&f.event), 0);
    fx_init(&f, UETR);
    f.event.detail_len = (size_t)TRK_MAX_DETAIL + 1;
    assert_int_equal(rec_event_size(&f.event), 0);
    fx_init(&f, UETR);
    f.event.input = TRK_IN_COUNT + 1;
    assert_int_equal(rec_event_size(&f.event), 0);
    fx_init(&f, UETR);
    f.event.state = (trk_state)(TRK_RETURNED + 1);
    assert_int_equal(rec_event_size(&f.event), 0);
    assert_int_equal(rec_event_size(NULL), 0);
}

/* ---- idempotency record ----------------------------------------------------------------- */

static void
idem_fixture(rec_idem *r, const char *body)
{
    memset(r, 0, sizeof *r);
    memset(r->digest, 0xab, sizeof r->digest);
    assert_int_equal(rec_uuid_parse(UETR, r->uuid), 0);
    r->created_ms = 1763700000123;
    r->status = 201;
    r->body = body;
    r->body_len = strlen(body);
}

static void
test_idem_roundtrip(void **state)
{
    rec_idem r, out;
    uint8_t buf[256];
    size_t len, cut;

    (void)state;
    idem_fixture(&r, "{\"uetr\":\"" UETR "\"}");
    len = rec_idem_size(&r);
    assert_true(len > 0 && len <= sizeof buf);
    assert_int_equal(rec_idem_encode(&r, buf, len), TRK_OK);
    assert_int_equal(rec_idem_decode(buf, len, &out), TRK_OK);
    assert_memory_equal(out.digest, r.digest, sizeof r.digest);
    assert_memory_equal(out.uuid, r.uuid, sizeof r.uuid);
    assert_true(out.created_ms == r.created_ms);
    assert_int_equal(out.status, 201);
    assert_int_equal(out.body_len, r.body_len);
    assert_memory_equal(out.body, r.body, r.body_len);
    assert_ptr_equal(out.body, (const char *)buf + len - r.body_len); /* borrowed, no copy */
    for (cut = 0; cut < len; cut++)
        assert_int_equal(rec_idem_decode(buf, cut, &out), TRK_ERR_CORRUPT);
    assert_int_equal(rec_idem_decode(buf, len + 1, &out), TRK_ERR_CORRUPT);
}

static void
test_idem_bad_status(void **state)
{
    rec_idem r, out;
    uint8_t buf[128];
    size_t len, off = 1 + REC_DIGEST_LEN + REC_UUID_LEN + 8;

    (void)state;
    idem_fixture(&r, "");
    r.status = 99;
    assert_int_equal(rec_idem_size(&r), 0);
    r.status = 600;
    assert_int_equal(rec_idem_size(&r), 0);
    r.status = -1;
    assert_int_equal(rec_idem_size(&r), 0);
    r.status = 200;
    len = rec_idem_size(&r);
    assert_int_equal(rec_idem_encode(&r, buf, len), TRK_OK);
    buf[off] = 99; /* status 99 on disk */
    buf[off + 1] = 0;
    assert_int_equal(rec_idem_decode(buf, len, &out), TRK_ERR_CORRUPT);
    buf[off] = 0x58; /* 600 */
    buf[off + 1] = 0x02;
    assert_int_equal(rec_idem_decode(buf, len, &out), TRK_ERR_CORRUPT);
    r.body_len = (size_t)TRK_MAX_RESPONSE + 1;
    assert_int_equal(rec_idem_size(&r), 0);
}

/* ---- message, counter, mark ------------------------------------------------------------- */

static void
test_message_records(void **state)
{
    uint8_t buf[64];
    const char *msg;
    size_t len, n;

    (void)state;
    len = rec_message_size(5);
    assert_int_equal(len, 6);
    assert_int_equal(rec_message_encode("<Doc>", 5, buf, len), TRK_OK);
    assert_int_equal(buf[0], TRK_FORMAT_VERSION);
    assert_int_equal(rec_message_decode(buf, len, &msg, &n), TRK_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(msg, "<Doc>", 5);
    assert_int_equal(rec_message_decode(buf, 0, &msg, &n), TRK_ERR_CORRUPT);
    assert_null(msg);
    buf[0] = TRK_FORMAT_VERSION + 1;
    assert_int_equal(rec_message_decode(buf, len, &msg, &n), TRK_ERR_CORRUPT);
    assert_int_equal(rec_message_size((size_t)TRK_MAX_MESSAGE + 1), 0);
    assert_int_equal(rec_message_encode("<Doc>", 5, buf, len + 1), TRK_ERR_INVALID);
    assert_int_equal(rec_message_encode(NULL, 5, buf, len), TRK_ERR_INVALID);
    assert_int_equal(rec_message_encode(NULL, 0, buf, 1), TRK_OK); /* an empty message */
}

static void
test_counter_and_mark(void **state)
{
    uint8_t buf[REC_COUNTER_LEN + 1] = {0}, mark[REC_MARK_LEN + 1] = {0};
    uint64_t v;
    size_t cut;

    (void)state;
    rec_counter_encode(UINT64_C(0x0102030405060708), buf);
    assert_int_equal(buf[0], TRK_FORMAT_VERSION);
    assert_int_equal(buf[1], 0x08); /* little-endian */
    assert_int_equal(rec_counter_decode(buf, REC_COUNTER_LEN, &v), TRK_OK);
    assert_true(v == UINT64_C(0x0102030405060708));
    for (cut = 0; cut < REC_COUNTER_LEN; cut++)
        assert_int_equal(rec_counter_decode(buf, cut, &v), TRK_ERR_CORRUPT);
    assert_int_equal(rec_counter_decode(buf, REC_COUNTER_LEN + 1, &v), TRK_ERR_CORRUPT);
    buf[0] = 9;
    assert_int_equal(rec_counter_decode(buf, REC_COUNTER_LEN, &v), TRK_ERR_CORRUPT);

    rec_mark_encode(mark);
    assert_int_equal(rec_mark_decode(mark, REC_MARK_LEN), TRK_OK);
    assert_int_equal(rec_mark_decode(mark, 0), TRK_ERR_CORRUPT);
    assert_int_equal(rec_mark_decode(mark, REC_MARK_LEN + 1), TRK_ERR_CORRUPT);
    mark[0] = 0;
    assert_int_equal(rec_mark_decode(mark, REC_MARK_LEN), TRK_ERR_CORRUPT);
}

/* ---- keys ------------------------------------------------------------------------------- */

static void
test_event_keys_order(void **state)
{
    uint8_t u[REC_UUID_LEN], pk[REC_PKEY_LEN], k1[REC_EVENT_KEY_LEN], k2[REC_EVENT_KEY_LEN];
    uint8_t k256[REC_EVENT_KEY_LEN];

    (void)state;
    assert_int_equal(rec_uuid_parse(UETR, u), 0);
    rec_pkey(1763700000123, u, pk);
    assert_int_equal(rec_event_key(pk, 1, k1), REC_EVENT_KEY_LEN);
    rec_event_key(pk, 2, k2);
    rec_event_key(pk, 256, k256);
    assert_memory_equal(k1, pk, REC_PKEY_LEN);
    assert_memory_equal(REC_PKEY_UUID(k1), u, REC_UUID_LEN);
    assert_true(memcmp(k1, k2, sizeof k1) < 0);
    assert_true(memcmp(k2, k256, sizeof k2) < 0); /* big-endian: numeric order */
    assert_int_equal(rec_event_key_seq(k256), 256);
}

/* A later payment's keys sort after an earlier one's whatever their UUIDs: new payments'
 * entries go to the end of the trees (ordered_keys_append_new_payments). */
static void
test_pkey_orders_by_creation(void **state)
{
    uint8_t lo[REC_UUID_LEN], hi[REC_UUID_LEN], early[REC_PKEY_LEN], late[REC_PKEY_LEN];

    (void)state;
    memset(lo, 0x00, sizeof lo);
    memset(hi, 0xff, sizeof hi);
    rec_pkey(1763700000000, hi, early);
    rec_pkey(1763700000001, lo, late);
    assert_true(memcmp(early, late, REC_PKEY_LEN) < 0);
    rec_pkey(-1, hi, early); /* before 1970 still sorts first */
    rec_pkey(0, lo, late);
    assert_true(memcmp(early, late, REC_PKEY_LEN) < 0);
}

static void
test_msg_names(void **state)
{
    static const char *const good[] = {"pacs.008", "camt.056.001.08", "pain_002-x", "A"};
    static const char *const bad[] = {"",
                                      "a/b",
                                      "../x",
                                      "x y",
                                      "pacs\n008",
                                      ("1234567890123456789012345678901234567890123456789"
                                       "012345678901234")}; /* 64 */
    uint8_t u[REC_PKEY_LEN] = {0}, key[REC_MSG_KEY_MAX];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(rec_msg_name_ok(good[i]));
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(rec_msg_name_ok(bad[i]));
        assert_int_equal(rec_msg_key(u, bad[i], key), 0);
    }
    assert_false(rec_msg_name_ok(NULL));
    assert_int_equal(rec_msg_key(u, "pacs.008", key), REC_PKEY_LEN + 8);
    assert_memory_equal(key + REC_PKEY_LEN, "pacs.008", 8);
}

static void
test_idem_keys(void **state)
{
    uint8_t key[REC_IDEM_KEY_MAX];
    char longest[TRK_MAX_IDEM_KEY + 2];

    (void)state;
    assert_int_equal(rec_idem_key("channel:CRDRGB20", "k1", key), 16 + 1 + 2);
    assert_memory_equal(key, "channel:CRDRGB20\0k1", 19);
    assert_int_equal(rec_idem_key("", "k1", key), 0);
    assert_int_equal(rec_idem_key("s", "", key), 0);
    assert_int_equal(rec_idem_key(NULL, "k1", key), 0);
    memset(longest, 'k', sizeof longest);
    longest[TRK_MAX_IDEM_KEY] = '\0';
    assert_int_equal(rec_idem_key(longest, longest, key), REC_IDEM_KEY_MAX);
    longest[TRK_MAX_IDEM_KEY] = 'k';
    longest[TRK_MAX_IDEM_KEY + 1] = '\0';
    assert_int_equal(rec_idem_key("s", longest, key), 0);
    assert_int_equal(rec_idem_key(longest, "k", key), 0);
}

static void
test_index_keys(void **state)
{
    fx f;
    uint8_t u[REC_UUID_LEN], a[REC_OWNER_KEY_LEN], b[REC_OWNER_KEY_LEN];
    uint8_t s[REC_STATUS_KEY_LEN];

    (void)state;
    fx_init(&f, UETR);
    assert_int_equal(rec_uuid_parse(UETR, u), 0);
    f.payment.created_ms = -1;
    assert_int_equal(rec_owner_key(&f.payment, u, a), REC_OWNER_KEY_LEN);
    assert_memory_equal(a, "CRDRGB20", REC_BIC8_LEN); /* BIC8 of a BIC11 */
    assert_memory_equal(a + REC_BIC8_LEN + REC_TIME_LEN, u, REC_UUID_LEN);
    f.payment.created_ms = 0;
    rec_owner_key(&f.payment, u, b);
    assert_true(memcmp(a, b, sizeof a) < 0); /* -1 sorts before 0 */
    f.payment.created_ms = 1763700000000;
    rec_owner_key(&f.payment, u, a);
    assert_true(memcmp(b, a, sizeof a) < 0);

    snprintf(f.payment.debtor_agent, sizeof f.payment.debtor_agent, "%s", "SHORT");
    rec_owner_key(&f.payment, u, a);
    assert_memory_equal(a, "SHORT\0\0\0", REC_BIC8_LEN); /* NUL-padded */

    f.payment.updated_ms = 1;
    assert_int_equal(rec_status_key(&f.payment, u, s), REC_STATUS_KEY_LEN);
    assert_memory_equal(s, "ACSP", REC_STATUS_LEN);
    assert_int_equal(s[REC_STATUS_LEN], 0x80); /* sign bit flipped */
    assert_int_equal(s[REC_STATUS_LEN + REC_TIME_LEN - 1], 1);
}

/* ---- ledger, audit, dedup, outbox ------------------------------------------------------- */

static void
test_account_record(void **state)
{
    trk_account a, out;
    uint8_t buf[128];
    size_t len, cut;

    (void)state;
    memset(&a, 0, sizeof a);
    SET(a.id, "GB33BUKB20201555555555"); /* the key, not in the value */
    SET(a.currency, "EUR");
    a.exponent = 2;
    a.balance = -TRK_MAX_AMOUNT;
    a.reserved = TRK_MAX_AMOUNT;
    SET(a.owner, "ACME-001");
    a.updated_ms = -7;
    len = rec_account_size(&a);
    assert_true(len > 0 && len <= sizeof buf);
    assert_int_equal(rec_account_encode(&a, buf, len), TRK_OK);
    assert_int_equal(rec_account_decode(buf, len, &out), TRK_OK);
    assert_string_equal(out.id, "");
    assert_string_equal(out.currency, "EUR");
    assert_int_equal(out.exponent, 2);
    assert_true(out.balance == -TRK_MAX_AMOUNT && out.reserved == TRK_MAX_AMOUNT);
    assert_string_equal(out.owner, "ACME-001");
    assert_true(out.updated_ms == -7);
    for (cut = 0; cut < len; cut++)
        assert_int_equal(rec_account_decode(buf, cut, &out), TRK_ERR_CORRUPT);
    a.balance = TRK_MAX_AMOUNT + 1;
    assert_int_equal(rec_account_size(&a), 0);
    a.balance = 0;
    a.exponent = TRK_MAX_EXPONENT + 1;
    assert_int_equal(rec_account_size(&a), 0);
    assert_true(rec_account_id_ok("GB33BUKB20201555555555"));
    assert_false(rec_account_id_ok(""));
    assert_false(rec_account_id_ok("has space"));
    assert_false(rec_account_id_ok("a/b"));
    assert_false(rec_account_id_ok("X2345678901234567890123456789012345")); /* 35 */
}

static void
test_journal_and_dedup_records(void **state)
{
    rec_journal j = {.kind = REC_J_SETTLE, .amount = -123456, .at_ms = 99}, jo;
    rec_dedup d = {.seq = 42, .at_ms = -1}, dout;
    uint8_t jb[REC_JOURNAL_LEN], db[REC_DEDUP_LEN], key[REC_JOURNAL_KEY_MAX];

    (void)state;
    memset(j.uuid, 0x11, sizeof j.uuid);
    rec_journal_encode(&j, jb);
    assert_int_equal(rec_journal_decode(jb, sizeof jb, &jo), TRK_OK);
    assert_int_equal(jo.kind, REC_J_SETTLE);
    assert_true(jo.amount == -123456 && jo.at_ms == 99);
    assert_memory_equal(jo.uuid, j.uuid, sizeof j.uuid);
    assert_int_equal(rec_journal_decode(jb, sizeof jb - 1, &jo), TRK_ERR_CORRUPT);
    jb[1] = 9; /* no such kind */
    assert_int_equal(rec_journal_decode(jb, sizeof jb, &jo), TRK_ERR_CORRUPT);
    rec_dedup_encode(&d, db);
    assert_int_equal(rec_dedup_decode(db, sizeof db, &dout), TRK_OK);
    assert_true(dout.seq == 42 && dout.at_ms == -1);
    assert_int_equal(rec_dedup_decode(db, sizeof db - 1, &dout), TRK_ERR_CORRUPT);
    /* A journal key keeps an account's movements together, in seq order. */
    assert_int_equal(rec_journal_key("ACCT", 258, key), 4 + 1 + 8);
    assert_memory_equal(key, "ACCT\0\0\0\0\0\0\0\x01\x02", 13);
    assert_int_equal(rec_journal_key("a/b", 1, key), 0);
}

static void
test_audit_and_outbox_records(void **state)
{
    trk_audit a, ao;
    rec_outbox o, oo;
    uint8_t buf[512];
    size_t len;

    (void)state;
    memset(&a, 0, sizeof a);
    a.at_ms = 5;
    SET(a.scope, "channel:CRDRGB20");
    SET(a.uetr, UETR);
    SET(a.code, "AM04");
    SET(a.account, "GB33BUKB20201555555555");
    len = rec_audit_size(&a);
    assert_true(len > 0 && len <= sizeof buf);
    assert_int_equal(rec_audit_encode(&a, buf, len), TRK_OK);
    assert_int_equal(rec_audit_decode(buf, len, &ao), TRK_OK);
    assert_string_equal(ao.scope, a.scope);
    assert_string_equal(ao.uetr, UETR);
    assert_string_equal(ao.code, "AM04");
    assert_string_equal(ao.account, a.account);
    assert_int_equal(rec_audit_decode(buf, len - 1, &ao), TRK_ERR_CORRUPT);

    memset(&o, 0, sizeof o);
    assert_int_equal(rec_uuid_parse(UETR, REC_PKEY_UUID(o.pkey)), 0);
    rec_put_ob64(o.pkey, 1763700000123);
    SET(o.name, "camt.056");
    SET(o.msg_id, "C123");
    len = rec_outbox_size(&o);
    assert_int_equal(rec_outbox_encode(&o, buf, len), TRK_OK);
    assert_int_equal(rec_outbox_decode(buf, len, &oo), TRK_OK);
    assert_string_equal(oo.name, "camt.056");
    assert_string_equal(oo.msg_id, "C123");
    assert_memory_equal(oo.pkey, o.pkey, sizeof o.pkey);
    /* A MsgId names a file: nothing that could leave the spool or hide in it. */
    assert_false(rec_msg_id_ok("../etc"));
    assert_false(rec_msg_id_ok(".hidden"));
    assert_false(rec_msg_id_ok("a/b"));
    assert_false(rec_msg_id_ok(""));
    assert_false(rec_msg_id_ok("M23456789012345678901234567890123456")); /* 36 */
    assert_true(rec_msg_id_ok("M2345678901234567890123456789012345"));
    SET(o.msg_id, ".x");
    assert_int_equal(rec_outbox_size(&o), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_account_record),
        cmocka_unit_test(test_journal_and_dedup_records),
        cmocka_unit_test(test_audit_and_outbox_records),
        cmocka_unit_test(test_uuid_roundtrip),
        cmocka_unit_test(test_uuid_rejects),
        cmocka_unit_test(test_payment_roundtrip),
        cmocka_unit_test(test_payment_empty_doc),
        cmocka_unit_test(test_payment_truncated_every_length),
        cmocka_unit_test(test_payment_trailing_bytes),
        cmocka_unit_test(test_payment_bad_fields),
        cmocka_unit_test(test_payment_doc_over_limit),
        cmocka_unit_test(test_payment_mutations),
        cmocka_unit_test(test_payment_encode_refuses),
        cmocka_unit_test(test_event_roundtrip),
        cmocka_unit_test(test_event_truncated_and_padded),
        cmocka_unit_test(test_event_mutations),
        cmocka_unit_test(test_event_encode_refuses),
        cmocka_unit_test(test_idem_roundtrip),
        cmocka_unit_test(test_idem_bad_status),
        cmocka_unit_test(test_message_records),
        cmocka_unit_test(test_counter_and_mark),
        cmocka_unit_test(test_event_keys_order),
        cmocka_unit_test(test_pkey_orders_by_creation),
        cmocka_unit_test(test_msg_names),
        cmocka_unit_test(test_idem_keys),
        cmocka_unit_test(test_index_keys),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
