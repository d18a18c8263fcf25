/*
 * record — encode and decode what the tracker stores. The layouts are in record.h.
 *
 * Encoding and measuring share one description of each layout (an output cursor that only
 * counts when it has no buffer), so the size handed to MDB_RESERVE and the bytes written can
 * never disagree. Decoding reads through a cursor that checks every length against what is
 * left before touching a byte; any failure is sticky and ends as TRK_ERR_CORRUPT.
 */
#include <stdlib.h>
#include <string.h>

#include "record.h"

#define OB64_FLIP (UINT64_C(1) << 63)

/* ---- output cursor ---------------------------------------------------------------------- */

struct out {
    uint8_t *p; /* NULL: measure only */
    size_t cap;
    size_t n;
    int bad;
};

static void
put(struct out *o, const void *src, size_t n)
{
    if (o->bad)
        return;
    if (o->p) {
        if (n > o->cap - o->n) {
            o->bad = 1;
            return;
        }
        if (n)
            memcpy(o->p + o->n, src, n);
    }
    o->n += n;
}

static void
put_le(struct out *o, uint64_t v, unsigned width)
{
    uint8_t b[8];
    unsigned i;

    for (i = 0; i < width; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put(o, b, width);
}

/* A char[cap] field: must be NUL-terminated inside its array. */
static void
put_str8(struct out *o, const char *field, size_t cap)
{
    size_t n = strnlen(field, cap);

    if (n == cap || n > REC_STR8_MAX) {
        o->bad = 1;
        return;
    }
    put_le(o, n, 1);
    put(o, field, n);
}

static void
put_blob32(struct out *o, const void *data, size_t len, size_t max)
{
    if (len > max || (!data && len)) {
        o->bad = 1;
        return;
    }
    put_le(o, len, 4);
    put(o, data, len);
}

/* Runs a layout over buf (or measures with buf NULL). Returns the length, 0 if bad. */
typedef void (*layout_fn)(struct out *o, const void *rec);

static size_t
run_layout(layout_fn fn, const void *rec, uint8_t *buf, size_t cap)
{
    struct out o = {buf, cap, 0, 0};

    fn(&o, rec);
    return o.bad ? 0 : o.n;
}

static size_t
measure(layout_fn fn, const void *rec)
{
    return run_layout(fn, rec, NULL, 0);
}

static int
encode(layout_fn fn, const void *rec, uint8_t *buf, size_t len)
{
    if (!buf || run_layout(fn, rec, buf, len) != len || len == 0)
        return TRK_ERR_INVALID;
    return TRK_OK;
}

/* ---- input cursor ----------------------------------------------------------------------- */

struct in {
    const uint8_t *p;
    size_t left;
    int bad;
};

static const uint8_t *
take(struct in *r, size_t n)
{
    const uint8_t *s;

    if (r->bad || n > r->left) {
        r->bad = 1;
        return NULL;
    }
    s = r->p;
    r->p += n;
    r->left -= n;
    return s;
}

static uint64_t
get_le(struct in *r, unsigned width)
{
    const uint8_t *s = take(r, width);
    uint64_t v = 0;

    if (!s)
        return 0;
    while (width-- > 0)
        v = v << 8 | s[width];
    return v;
}

/* Two's complement without relying on implementation-defined conversions. */
static int64_t
to_i64(uint64_t u)
{
    return u <= INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
}

static void
get_version(struct in *r)
{
    if (get_le(r, 1) != TRK_FORMAT_VERSION)
        r->bad = 1;
}

static void
get_str8(struct in *r, char *dst, size_t cap)
{
    size_t n = (size_t)get_le(r, 1);
    const uint8_t *s = take(r, n);

    dst[0] = '\0';
    if (!s || n >= cap || memchr(s, 0, n)) {
        r->bad = 1;
        return;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static const uint8_t *
get_blob32(struct in *r, size_t max, size_t *len)
{
    size_t n = (size_t)get_le(r, 4);
    const uint8_t *s;

    *len = 0;
    if (n > max) {
        r->bad = 1;
        return NULL;
    }
    s = take(r, n);
    if (s)
        *len = n;
    return s;
}

/* Strict end: nothing may be left over. */
static int
finish(const struct in *r)
{
    return r->bad || r->left ? TRK_ERR_CORRUPT : TRK_OK;
}

/* Copies a blob into an owned, NUL-terminated string (non-NULL even when empty). */
static char *
dup_blob(const uint8_t *s, size_t n)
{
    char *d = malloc(n + 1);

    if (!d)
        return NULL;
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* ---- UUIDs ------------------------------------------------------------------------------ */

static int
hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int
is_dash_pos(size_t i)
{
    return i == 8 || i == 13 || i == 18 || i == 23;
}

int
rec_uuid_parse(const char *s, uint8_t out[REC_UUID_LEN])
{
    size_t i, n = 0;
    int v, hi = -1;

    if (!s)
        return -1;
    /* Stops at the first bad character, so a short string is never read past its NUL. */
    for (i = 0; i < REC_UETR_LEN; i++) {
        if (is_dash_pos(i)) {
            if (s[i] != '-')
                return -1;
            continue;
        }
        v = hexval((unsigned char)s[i]);
        if (v < 0)
            return -1;
        if (hi < 0) {
            hi = v;
        } else {
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return s[REC_UETR_LEN] == '\0' ? 0 : -1;
}

void
rec_uuid_format(const uint8_t in[REC_UUID_LEN], char out[REC_UETR_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    size_t i, n = 0;

    for (i = 0; i < REC_UUID_LEN; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[n++] = '-';
        out[n++] = hex[in[i] >> 4];
        out[n++] = hex[in[i] & 0xf];
    }
    out[n] = '\0';
}

static int
state_ok(uint64_t s)
{
    return s >= TRK_RECEIVED && s <= TRK_RETURNED;
}

/* ---- payment ---------------------------------------------------------------------------- */

static int
prev_ok(uint64_t s)
{
    return s == 0 || state_ok(s);
}

static void
put_saga_fields(struct out *o, const trk_payment *p)
{
    if (!prev_ok((uint64_t)p->prev_state) || p->exponent < 0 || p->exponent > TRK_MAX_EXPONENT) {
        o->bad = 1;
        return;
    }
    put_le(o, (uint64_t)p->prev_state, 1);
    put_str8(o, p->debit_account, sizeof p->debit_account);
    put_str8(o, p->end_to_end_id, sizeof p->end_to_end_id);
    put_le(o, (uint64_t)p->amount_minor, 8);
    put_le(o, (uint64_t)p->exponent, 1);
    put_str8(o, p->currency, sizeof p->currency);
    put_str8(o, p->execute_on, sizeof p->execute_on);
    put_le(o, (uint64_t)p->deadline_ms, 8);
    put_le(o, p->flags, 4);
    put_str8(o, p->cancellation_status, sizeof p->cancellation_status);
    put_str8(o, p->msg_id, sizeof p->msg_id);
    put_le(o, (uint64_t)p->returned_minor, 8);
}

static void
payment_layout(struct out *o, const void *rec)
{
    const trk_payment *p = rec;
    uint8_t uuid[REC_UUID_LEN];
    unsigned i;

    if (!state_ok((uint64_t)p->state) || rec_uuid_parse(p->uetr, uuid) ||
        p->chain_len > TRK_MAX_CHAIN) {
        o->bad = 1;
        return;
    }
    put_le(o, TRK_FORMAT_VERSION, 1);
    put_le(o, (uint64_t)p->state, 1);
    put(o, uuid, sizeof uuid);
    put_le(o, (uint64_t)p->created_ms, 8);
    put_str8(o, p->status, sizeof p->status);
    put_str8(o, p->reason, sizeof p->reason);
    put_str8(o, p->debtor_agent, sizeof p->debtor_agent);
    put_str8(o, p->customer_id, sizeof p->customer_id);
    put_le(o, p->chain_len, 1);
    for (i = 0; i < p->chain_len; i++)
        put_str8(o, p->chain[i], sizeof p->chain[i]);
    put_le(o, (uint64_t)p->updated_ms, 8);
    put_le(o, p->last_seq, 4);
    put_saga_fields(o, p);
    put_blob32(o, p->doc, p->doc_len, TRK_MAX_DOC);
}

size_t
rec_payment_size(const trk_payment *p)
{
    return p ? measure(payment_layout, p) : 0;
}

int
rec_payment_encode(const trk_payment *p, uint8_t *buf, size_t len)
{
    return p ? encode(payment_layout, p, buf, len) : TRK_ERR_INVALID;
}

static void
get_saga_fields(struct in *r, trk_payment *out)
{
    uint64_t v;

    v = get_le(r, 1);
    if (!prev_ok(v))
        r->bad = 1;
    out->prev_state = (trk_state)v;
    get_str8(r, out->debit_account, sizeof out->debit_account);
    get_str8(r, out->end_to_end_id, sizeof out->end_to_end_id);
    out->amount_minor = to_i64(get_le(r, 8));
    v = get_le(r, 1);
    if (v > TRK_MAX_EXPONENT)
        r->bad = 1;
    out->exponent = (int)v;
    get_str8(r, out->currency, sizeof out->currency);
    get_str8(r, out->execute_on, sizeof out->execute_on);
    out->deadline_ms = to_i64(get_le(r, 8));
    out->flags = (unsigned)get_le(r, 4);
    get_str8(r, out->cancellation_status, sizeof out->cancellation_status);
    get_str8(r, out->msg_id, sizeof out->msg_id);
    out->returned_minor = to_i64(get_le(r, 8));
}

/* The fixed fields; the doc is left to the caller. */
static void
payment_fields(struct in *r, trk_payment *out)
{
    const uint8_t *uuid;
    uint64_t state;
    size_t i;

    get_version(r);
    state = get_le(r, 1);
    if (!state_ok(state))
        r->bad = 1;
    out->state = (trk_state)state;
    uuid = take(r, REC_UUID_LEN);
    if (uuid)
        rec_uuid_format(uuid, out->uetr);
    out->created_ms = to_i64(get_le(r, 8));
    get_str8(r, out->status, sizeof out->status);
    get_str8(r, out->reason, sizeof out->reason);
    get_str8(r, out->debtor_agent, sizeof out->debtor_agent);
    get_str8(r, out->customer_id, sizeof out->customer_id);
    out->chain_len = (unsigned)get_le(r, 1);
    if (out->chain_len > TRK_MAX_CHAIN)
        r->bad = 1;
    for (i = 0; i < out->chain_len && !r->bad; i++)
        get_str8(r, out->chain[i], sizeof out->chain[i]);
    out->updated_ms = to_i64(get_le(r, 8));
    out->last_seq = (uint32_t)get_le(r, 4);
    get_saga_fields(r, out);
}

void
rec_pkey(int64_t created_ms, const uint8_t uuid[REC_UUID_LEN], uint8_t out[REC_PKEY_LEN])
{
    rec_put_ob64(out, created_ms);
    memcpy(REC_PKEY_UUID(out), uuid, REC_UUID_LEN);
}

int
rec_payment_decode(const uint8_t *buf, size_t len, trk_payment *out)
{
    struct in r = {buf, buf ? len : 0, 0};
    const uint8_t *doc;
    size_t doc_len;

    memset(out, 0, sizeof *out);
    payment_fields(&r, out);
    doc = get_blob32(&r, TRK_MAX_DOC, &doc_len);
    if (finish(&r) != TRK_OK) {
        memset(out, 0, sizeof *out);
        return TRK_ERR_CORRUPT;
    }
    out->doc = dup_blob(doc, doc_len);
    if (!out->doc) {
        memset(out, 0, sizeof *out);
        return TRK_ERR_NOMEM;
    }
    out->doc_len = doc_len;
    return TRK_OK;
}

/* ---- event ------------------------------------------------------------------------------ */

static void
event_layout(struct out *o, const void *rec)
{
    const trk_event *e = rec;

    put_le(o, TRK_FORMAT_VERSION, 1);
    put_le(o, e->seq, 4);
    put_le(o, (uint64_t)e->at_ms, 8);
    put_str8(o, e->type, sizeof e->type);
    put_str8(o, e->message_name, sizeof e->message_name);
    put_str8(o, e->network_ref, sizeof e->network_ref);
    put_str8(o, e->from, sizeof e->from);
    put_str8(o, e->to, sizeof e->to);
    put_str8(o, e->status, sizeof e->status);
    put_str8(o, e->reason, sizeof e->reason);
    if (e->input < 0 || e->input > TRK_IN_COUNT || !prev_ok((uint64_t)e->state) ||
        e->flags > UINT8_MAX) {
        o->bad = 1;
        return;
    }
    put_le(o, (uint64_t)e->input, 1);
    put_le(o, (uint64_t)e->state, 1);
    put_le(o, e->flags, 1);
    put_blob32(o, e->detail, e->detail_len, TRK_MAX_DETAIL);
}

size_t
rec_event_size(const trk_event *e)
{
    return e ? measure(event_layout, e) : 0;
}

int
rec_event_encode(const trk_event *e, uint8_t *buf, size_t len)
{
    return e ? encode(event_layout, e, buf, len) : TRK_ERR_INVALID;
}

static void
get_event_marks(struct in *r, trk_event *out)
{
    uint64_t input = get_le(r, 1), state = get_le(r, 1);

    if (input > TRK_IN_COUNT || !prev_ok(state))
        r->bad = 1;
    out->input = (int)input;
    out->state = (trk_state)state;
    out->flags = (unsigned)get_le(r, 1);
}

int
rec_event_decode(const uint8_t *buf, size_t len, trk_event *out)
{
    struct in r = {buf, buf ? len : 0, 0};
    const uint8_t *detail;
    size_t detail_len;

    memset(out, 0, sizeof *out);
    get_version(&r);
    out->seq = (uint32_t)get_le(&r, 4);
    out->at_ms = to_i64(get_le(&r, 8));
    get_str8(&r, out->type, sizeof out->type);
    get_str8(&r, out->message_name, sizeof out->message_name);
    get_str8(&r, out->network_ref, sizeof out->network_ref);
    get_str8(&r, out->from, sizeof out->from);
    get_str8(&r, out->to, sizeof out->to);
    get_str8(&r, out->status, sizeof out->status);
    get_str8(&r, out->reason, sizeof out->reason);
    get_event_marks(&r, out);
    detail = get_blob32(&r, TRK_MAX_DETAIL, &detail_len);
    if (finish(&r) != TRK_OK) {
        memset(out, 0, sizeof *out);
        return TRK_ERR_CORRUPT;
    }
    out->detail = dup_blob(detail, detail_len);
    if (!out->detail) {
        memset(out, 0, sizeof *out);
        return TRK_ERR_NOMEM;
    }
    out->detail_len = detail_len;
    return TRK_OK;
}

/* ---- idempotency record ----------------------------------------------------------------- */

static int
http_status_ok(uint64_t s)
{
    return s >= REC_HTTP_MIN && s <= REC_HTTP_MAX;
}

static void
idem_layout(struct out *o, const void *rec)
{
    const rec_idem *r = rec;

    if (r->status < 0 || !http_status_ok((uint64_t)r->status)) {
        o->bad = 1;
        return;
    }
    put_le(o, TRK_FORMAT_VERSION, 1);
    put(o, r->digest, sizeof r->digest);
    put(o, r->uuid, sizeof r->uuid);
    put_le(o, (uint64_t)r->created_ms, 8);
    put_le(o, (uint64_t)r->status, 2);
    put_blob32(o, r->body, r->body_len, TRK_MAX_RESPONSE);
}

size_t
rec_idem_size(const rec_idem *r)
{
    return r ? measure(idem_layout, r) : 0;
}

int
rec_idem_encode(const rec_idem *r, uint8_t *buf, size_t len)
{
    return r ? encode(idem_layout, r, buf, len) : TRK_ERR_INVALID;
}

int
rec_idem_decode(const uint8_t *buf, size_t len, rec_idem *out)
{
    struct in r = {buf, buf ? len : 0, 0};
    const uint8_t *s;
    uint64_t status;

    memset(out, 0, sizeof *out);
    get_version(&r);
    s = take(&r, REC_DIGEST_LEN);
    if (s)
        memcpy(out->digest, s, REC_DIGEST_LEN);
    s = take(&r, REC_UUID_LEN);
    if (s)
        memcpy(out->uuid, s, REC_UUID_LEN);
    out->created_ms = to_i64(get_le(&r, 8));
    status = get_le(&r, 2);
    if (!http_status_ok(status))
        r.bad = 1;
    out->status = (int)status;
    out->body = (const char *)get_blob32(&r, TRK_MAX_RESPONSE, &out->body_len);
    if (finish(&r) != TRK_OK) {
        memset(out, 0, sizeof *out);
        return TRK_ERR_CORRUPT;
    }
    return TRK_OK;
}

/* ---- message, counter, mark ------------------------------------------------------------- */

size_t
rec_message_size(size_t msg_len)
{
    return msg_len > TRK_MAX_MESSAGE ? 0 : 1 + msg_len;
}

int
rec_message_encode(const char *msg, size_t msg_len, uint8_t *buf, size_t len)
{
    if (!buf || (!msg && msg_len) || rec_message_size(msg_len) != len || len == 0)
        return TRK_ERR_INVALID;
    buf[0] = TRK_FORMAT_VERSION;
    if (msg_len)
        memcpy(buf + 1, msg, msg_len);
    return TRK_OK;
}

int
rec_message_decode(const uint8_t *buf, size_t len, const char **msg, size_t *msg_len)
{
    *msg = NULL;
    *msg_len = 0;
    if (!buf || len < 1 || buf[0] != TRK_FORMAT_VERSION || len - 1 > TRK_MAX_MESSAGE)
        return TRK_ERR_CORRUPT;
    *msg = (const char *)buf + 1;
    *msg_len = len - 1;
    return TRK_OK;
}

void
rec_counter_encode(uint64_t v, uint8_t buf[REC_COUNTER_LEN])
{
    struct out o = {buf, REC_COUNTER_LEN, 0, 0};

    put_le(&o, TRK_FORMAT_VERSION, 1);
    put_le(&o, v, 8);
}

int
rec_counter_decode(const uint8_t *buf, size_t len, uint64_t *v)
{
    struct in r = {buf, buf ? len : 0, 0};

    get_version(&r);
    *v = get_le(&r, 8);
    if (finish(&r) != TRK_OK) {
        *v = 0;
        return TRK_ERR_CORRUPT;
    }
    return TRK_OK;
}

void
rec_mark_encode(uint8_t buf[REC_MARK_LEN])
{
    buf[0] = TRK_FORMAT_VERSION;
}

int
rec_mark_decode(const uint8_t *buf, size_t len)
{
    struct in r = {buf, buf ? len : 0, 0};

    get_version(&r);
    return finish(&r);
}

/* ---- keys ------------------------------------------------------------------------------- */

void
rec_put_be(uint8_t *dst, uint64_t v, unsigned width)
{
    while (width-- > 0) {
        *dst++ = (uint8_t)(v >> (8 * width));
    }
}

int
rec_msg_name_ok(const char *name)
{
    size_t i, n;

    if (!name)
        return 0;
    n = strnlen(name, TRK_MAX_MSG_NAME + 1);
    if (n == 0 || n > TRK_MAX_MSG_NAME)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

size_t
rec_event_key(const uint8_t pkey[REC_PKEY_LEN], uint32_t seq, uint8_t out[REC_EVENT_KEY_LEN])
{
    memcpy(out, pkey, REC_PKEY_LEN);
    rec_put_be(out + REC_PKEY_LEN, seq, REC_SEQ_LEN);
    return REC_EVENT_KEY_LEN;
}

uint32_t
rec_event_key_seq(const uint8_t key[REC_EVENT_KEY_LEN])
{
    const uint8_t *s = key + REC_PKEY_LEN;

    return (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3];
}

size_t
rec_msg_key(const uint8_t pkey[REC_PKEY_LEN], const char *name, uint8_t out[REC_MSG_KEY_MAX])
{
    size_t n;

    if (!rec_msg_name_ok(name))
        return 0;
    n = strlen(name);
    memcpy(out, pkey, REC_PKEY_LEN);
    memcpy(out + REC_PKEY_LEN, name, n);
    return REC_PKEY_LEN + n;
}

size_t
rec_idem_key(const char *scope, const char *key, uint8_t out[REC_IDEM_KEY_MAX])
{
    size_t ns, nk;

    if (!scope || !key)
        return 0;
    ns = strnlen(scope, TRK_MAX_IDEM_SCOPE + 1);
    nk = strnlen(key, TRK_MAX_IDEM_KEY + 1);
    if (ns == 0 || ns > TRK_MAX_IDEM_SCOPE || nk == 0 || nk > TRK_MAX_IDEM_KEY)
        return 0;
    memcpy(out, scope, ns);
    out[ns] = '\0';
    memcpy(out + ns + 1, key, nk);
    return ns + 1 + nk;
}

/* A fixed-width, NUL-padded prefix of a char[] field. */
void
rec_put_padded(uint8_t *dst, const char *field, size_t field_cap, size_t width)
{
    size_t n = strnlen(field, field_cap < width ? field_cap : width);

    memset(dst, 0, width);
    memcpy(dst, field, n);
}

void
rec_put_ob64(uint8_t *dst, int64_t ms)
{
    rec_put_be(dst, (uint64_t)ms ^ OB64_FLIP, REC_TIME_LEN);
}

int64_t
rec_get_ob64(const uint8_t *src)
{
    uint64_t v = 0;
    unsigned i;

    for (i = 0; i < REC_TIME_LEN; i++)
        v = v << 8 | src[i];
    return to_i64(v ^ OB64_FLIP);
}

size_t
rec_owner_key(const trk_payment *p, const uint8_t uuid[REC_UUID_LEN],
              uint8_t out[REC_OWNER_KEY_LEN])
{
    rec_put_padded(out, p->debtor_agent, sizeof p->debtor_agent, REC_BIC8_LEN);
    rec_put_ob64(out + REC_BIC8_LEN, p->created_ms);
    memcpy(out + REC_BIC8_LEN + REC_TIME_LEN, uuid, REC_UUID_LEN);
    return REC_OWNER_KEY_LEN;
}

size_t
rec_status_key(const trk_payment *p, const uint8_t uuid[REC_UUID_LEN],
               uint8_t out[REC_STATUS_KEY_LEN])
{
    rec_put_padded(out, p->status, sizeof p->status, REC_STATUS_LEN);
    rec_put_ob64(out + REC_STATUS_LEN, p->updated_ms);
    memcpy(out + REC_STATUS_LEN + REC_TIME_LEN, uuid, REC_UUID_LEN);
    return REC_STATUS_KEY_LEN;
}

/* ---- account ---------------------------------------------------------------------------- */

static int
amount_ok(int64_t v)
{
    return v >= -TRK_MAX_AMOUNT && v <= TRK_MAX_AMOUNT;
}

int
rec_account_id_ok(const char *id)
{
    size_t i, n;

    if (!id)
        return 0;
    n = strnlen(id, REC_ACCOUNT_ID_MAX + 1);
    if (n == 0 || n > REC_ACCOUNT_ID_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)id[i] <= ' ' || (unsigned char)id[i] > '~' || id[i] == '/')
            return 0;
    return 1;
}

static void
account_layout(struct out *o, const void *rec)
{
    const trk_account *a = rec;

    if (a->exponent < 0 || a->exponent > TRK_MAX_EXPONENT || !amount_ok(a->balance) ||
        !amount_ok(a->reserved)) {
        o->bad = 1;
        return;
    }
    put_le(o, TRK_FORMAT_VERSION, 1);
    put_str8(o, a->currency, sizeof a->currency);
    put_le(o, (uint64_t)a->exponent, 1);
    put_le(o, (uint64_t)a->balance, 8);
    put_le(o, (uint64_t)a->reserved, 8);
    put_str8(o, a->owner, sizeof a->owner);
    put_le(o, (uint64_t)a->updated_ms, 8);
}

size_t
rec_account_size(const trk_account *a)
{
    return a ? measure(account_layout, a) : 0;
}

int
rec_account_encode(const trk_account *a, uint8_t *buf, size_t len)
{
    return a ? encode(account_layout, a, buf, len) : TRK_ERR_INVALID;
}

int
rec_account_decode(const uint8_t *buf, size_t len, trk_account *out)
{
    struct in r = {buf, buf ? len : 0, 0};
    uint64_t exp;

    memset(out, 0, sizeof *out);
    get_version(&r);
    get_str8(&r, out->currency, sizeof out->currency);
    exp = get_le(&r, 1);
    out->exponent = (int)exp;
    out->balance = to_i64(get_le(&r, 8));
    out->reserved = to_i64(get_le(&r, 8));
    get_str8(&r, out->owner, sizeof out->owner);
    out->updated_ms = to_i64(get_le(&r, 8));
    if (exp > TRK_MAX_EXPONENT || !amount_ok(out->balance) || !amount_ok(out->reserved))
        r.bad = 1;
    if (finish(&r) != TRK_OK) {
        memset(out, 0, sizeof *out);
        return TRK_ERR_CORRUPT;
    }
    return TRK_OK;
}

/* ---- journal, audit, dedup, outbox ------------------------------------------------------ */

void
rec_journal_encode(const rec_journal *j, uint8_t buf[REC_JOURNAL_LEN])
{
    struct out o = {buf, REC_JOURNAL_LEN, 0, 0};

    put_le(&o, TRK_FORMAT_VERSION, 1);
    put_le(&o, (uint64_t)j->kind, 1);
    put(&o, j->uuid, REC_UUID_LEN);
    put_le(&o, (uint64_t)j->amount, 8);
    put_le(&o, (uint64_t)j->at_ms, 8);
}

int
rec_journal_decode(const uint8_t *buf, size_t len, rec_journal *out)
{
    struct in r = {buf, buf ? len : 0, 0};
    const uint8_t *u;
    uint64_t kind;

    memset(out, 0, sizeof *out);
    get_version(&r);
    kind = get_le(&r, 1);
    u = take(&r, REC_UUID_LEN);
    if (u)
        memcpy(out->uuid, u, REC_UUID_LEN);
    out->amount = to_i64(get_le(&r, 8));
    out->at_ms = to_i64(get_le(&r, 8));
    out->kind = (int)kind;
    if (kind < REC_J_ADJUST || kind > REC_J_CREDIT_BACK || !amount_ok(out->amount))
        r.bad = 1;
    if (finish(&r) != TRK_OK) {
        memset(out, 0, sizeof *out);
        return TRK_ERR_CORRUPT;
    }
    return TRK_OK;
}

static void
audit_layout(struct out *o, const void *rec)
{
    const trk_audit *a = rec;
    uint8_t uuid[REC_UUID_LEN];

    if (rec_uuid_parse(a->uetr, uuid)) {
        o->bad = 1;
        return;
    }
    put_le(o, TRK_FORMAT_VERSION, 1);
    put_le(o, (uint64_t)a->at_ms, 8);
    put_str8(o, a->scope, sizeof a->scope);
    put(o, uuid, sizeof uuid);
    put_str8(o, a->code, sizeof a->code);
    put_str8(o, a->account, sizeof a->account);
}

size_t
rec_audit_size(const trk_audit *a)
{
    return a ? measure(audit_layout, a) : 0;
}

int
rec_audit_encode(const trk_audit *a, uint8_t *buf, size_t len)
{
    return a ? encode(audit_layout, a, buf, len) : TRK_ERR_INVALID;
}

int
rec_audit_decode(const uint8_t *buf, size_t len, trk_audit *out)
{
    struct in r = {buf, buf ? len : 0, 0};
    const uint8_t *u;

    memset(out, 0, sizeof *out);
    get_version(&r);
    out->at_ms = to_i64(get_le(&r, 8));
    get_str8(&r, out->scope, sizeof out->scope);
    u = take(&r, REC_UUID_LEN);
    if (u)
        rec_uuid_format(u, out->uetr);
    get_str8(&r, out->code, sizeof out->code);
    get_str8(&r, out->account, sizeof out->account);
    if (finish(&r) != TRK_OK) {
        memset(out, 0, sizeof *out);
        return TRK_ERR_CORRUPT;
    }
    return TRK_OK;
}

void
rec_dedup_encode(const rec_dedup *d, uint8_t buf[REC_DEDUP_LEN])
{
    struct out o = {buf, REC_DEDUP_LEN, 0, 0};

    put_le(&o, TRK_FORMAT_VERSION, 1);
    put_le(&o, d->seq, 4);
    put_le(&o, (uint64_t)d->at_ms, 8);
}

int
rec_dedup_decode(const uint8_t *buf, size_t len, rec_dedup *out)
{
    struct in r = {buf, buf ? len : 0, 0};

    memset(out, 0, sizeof *out);
    get_version(&r);
    out->seq = (uint32_t)get_le(&r, 4);
    out->at_ms = to_i64(get_le(&r, 8));
    if (finish(&r) != TRK_OK) {
        memset(out, 0, sizeof *out);
        return TRK_ERR_CORRUPT;
    }
    return TRK_OK;
}

int
rec_msg_id_ok(const char *id)
{
    size_t n;

    if (!id)
        return 0;
    n = strnlen(id, sizeof((rec_outbox *)0)->msg_id);
    return n > 0 && n < sizeof((rec_outbox *)0)->msg_id && id[0] != '.' && rec_msg_name_ok(id);
}

static void
outbox_layout(struct out *o, const void *rec)
{
    const rec_outbox *b = rec;

    if (!rec_msg_name_ok(b->name) || !rec_msg_id_ok(b->msg_id)) {
        o->bad = 1;
        return;
    }
    put_le(o, TRK_FORMAT_VERSION, 1);
    put(o, b->pkey, REC_PKEY_LEN);
    put_str8(o, b->name, sizeof b->name);
    put_str8(o, b->msg_id, sizeof b->msg_id);
}

size_t
rec_outbox_size(const rec_outbox *o)
{
    return o ? measure(outbox_layout, o) : 0;
}

int
rec_outbox_encode(const rec_outbox *o, uint8_t *buf, size_t len)
{
    return o ? encode(outbox_layout, o, buf, len) : TRK_ERR_INVALID;
}

int
rec_outbox_decode(const uint8_t *buf, size_t len, rec_outbox *out)
{
    struct in r = {buf, buf ? len : 0, 0};
    const uint8_t *u;

    memset(out, 0, sizeof *out);
    get_version(&r);
    u = take(&r, REC_PKEY_LEN);
    if (u)
        memcpy(out->pkey, u, REC_PKEY_LEN);
    get_str8(&r, out->name, sizeof out->name);
    get_str8(&r, out->msg_id, sizeof out->msg_id);
    if (!r.bad && (!rec_msg_name_ok(out->name) || !rec_msg_id_ok(out->msg_id)))
        r.bad = 1;
    if (finish(&r) != TRK_OK) {
        memset(out, 0, sizeof *out);
        return TRK_ERR_CORRUPT;
    }
    return TRK_OK;
}

/* ---- ledger and outbox keys ------------------------------------------------------------- */

void
rec_seq64_key(uint64_t seq, uint8_t out[REC_SEQ64_LEN])
{
    rec_put_be(out, seq, REC_SEQ64_LEN);
}

uint64_t
rec_seq64_get(const uint8_t key[REC_SEQ64_LEN])
{
    uint64_t v = 0;
    unsigned i;

    for (i = 0; i < REC_SEQ64_LEN; i++)
        v = v << 8 | key[i];
    return v;
}

size_t
rec_journal_key(const char *account, uint64_t seq, uint8_t out[REC_JOURNAL_KEY_MAX])
{
    size_t n;

    if (!rec_account_id_ok(account))
        return 0;
    n = strlen(account);
    memcpy(out, account, n);
    out[n] = '\0';
    rec_seq64_key(seq, out + n + 1);
    return n + 1 + REC_SEQ64_LEN;
}

size_t
rec_dedup_key(const uint8_t pkey[REC_PKEY_LEN], const char *dedup, uint8_t out[REC_DEDUP_KEY_MAX])
{
    size_t n;

    if (!dedup)
        return 0;
    n = strnlen(dedup, TRK_MAX_DEDUP_KEY + 1);
    if (n == 0 || n > TRK_MAX_DEDUP_KEY)
        return 0;
    memcpy(out, pkey, REC_PKEY_LEN);
    memcpy(out + REC_PKEY_LEN, dedup, n);
    return REC_PKEY_LEN + n;
}

void
rec_outbox_uetr_key(const uint8_t pkey[REC_PKEY_LEN], uint64_t seq,
                    uint8_t out[REC_OUTBOX_UETR_KEY_LEN])
{
    memcpy(out, pkey, REC_PKEY_LEN);
    rec_seq64_key(seq, out + REC_PKEY_LEN);
}
