/*
 * ops — checking an op on the submitting thread and applying it inside the writer's batch.
 *
 * trk_op_apply runs one op in a child transaction of the batch's write txn, so an op that ends
 * with its own error (EXISTS, FUNDS, STATE, an idempotency replay or conflict) is rolled back
 * alone while the batch goes on; a child sees the writes of the ops before it in the same
 * batch. A refused reservation leaves one thing behind: its audit record, written in the
 * parent txn after the child is rolled back.
 *
 * Internal results are one int: 0, a TRK_* code that concerns the op alone, or an LMDB error
 * that concerns the batch (trk_is_op_rc tells them apart).
 */
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "trk_int.h"

static int
has_idem(const trk_op *op)
{
    return op->idem_key && op->idem_key[0];
}

static int
has_text(const char *s)
{
    return s && s[0];
}

static void
idem_record(const trk_op *op, const uint8_t uuid[REC_UUID_LEN], int64_t now, rec_idem *r)
{
    memset(r, 0, sizeof *r);
    memcpy(r->digest, op->idem_digest, sizeof r->digest);
    memcpy(r->uuid, uuid, sizeof r->uuid);
    r->created_ms = now;
    r->status = op->resp_status;
    r->body = op->resp_body;
    r->body_len = op->resp_len;
}

/* ---- check (request thread) ------------------------------------------------------------- */

static int
message_ok(const char *name, const char *msg, size_t len)
{
    return rec_msg_name_ok(name) && rec_message_size(len) != 0 && (msg || !len);
}

static int
idem_ok(const trk_op *op)
{
    uint8_t key[REC_IDEM_KEY_MAX];
    uint8_t uuid[REC_UUID_LEN] = {0};
    rec_idem r;

    if (!rec_idem_key(op->idem_scope, op->idem_key, key))
        return 0;
    idem_record(op, uuid, 0, &r);
    return rec_idem_size(&r) != 0;
}

static int
digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* YYYY-MM-DD, shape only: the gateway validated the calendar date. */
static int
date_ok(const char *d)
{
    if (!d[0])
        return 1;
    return strnlen(d, 11) == 10 && digits(d, 4) && d[4] == '-' && digits(d + 5, 2) && d[7] == '-' &&
           digits(d + 8, 2);
}

static int
upper3(const char *c)
{
    return strnlen(c, 4) == 3 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z' &&
           c[2] >= 'A' && c[2] <= 'Z';
}

int
trk_bic_ok(const char *b)
{
    size_t i, n;

    if (!b)
        return 0;
    n = strnlen(b, 12);
    if (n != 8 && n != 11)
        return 0;
    for (i = 0; i < n; i++)
        if (!((b[i] >= 'A' && b[i] <= 'Z') || (b[i] >= '0' && b[i] <= '9')))
            return 0;
    return 1;
}

static int
funds_ok(const trk_payment *p)
{
    if (p->exponent < 0 || p->exponent > TRK_MAX_EXPONENT || p->amount_minor < 0 ||
        p->amount_minor > TRK_MAX_AMOUNT)
        return 0;
    if (p->currency[0] && !upper3(p->currency))
        return 0;
    if (!p->debit_account[0])
        return 1;
    return rec_account_id_ok(p->debit_account) && p->amount_minor > 0 && upper3(p->currency);
}

/* The MsgId a pacs.008 leaves under: msg_id, or the first event's network_ref. */
static const char *
send_id(const trk_payment *p, const trk_event *e)
{
    return p->msg_id[0] ? p->msg_id : e->network_ref;
}

/* The fields the store sets are ignored on input: they are measured as the store will
 * write them, not as the caller left them. */
static int
records_ok(const trk_payment *p, const trk_event *e)
{
    trk_payment pc = *p;
    trk_event ec = *e;

    pc.prev_state = 0;
    pc.flags = 0;
    pc.returned_minor = 0;
    pc.last_seq = 0;
    memset(pc.cancellation_status, 0, sizeof pc.cancellation_status);
    ec.input = 0;
    ec.state = 0;
    ec.flags = 0;
    return rec_payment_size(&pc) && rec_event_size(&ec);
}

static int
item_ok(const trk_payment *p, const trk_event *e, const char *name, const char *msg, size_t len)
{
    if (!p || !e || !records_ok(p, e))
        return 0;
    if (p->state != TRK_VALIDATED || !date_ok(p->execute_on) || !funds_ok(p) || p->deadline_ms < 0)
        return 0;
    if (name && !message_ok(name, msg, len))
        return 0;
    if (p->msg_id[0] && !rec_msg_id_ok(p->msg_id))
        return 0;
    return !name || strcmp(name, TRK_MSG_PACS008) != 0 || rec_msg_id_ok(send_id(p, e));
}

static int
create_ok(const trk_op *op)
{
    size_t i;

    if (op->n_items == 0)
        return item_ok(op->payment, op->event, op->msg_name, op->msg, op->msg_len);
    if (op->payment || op->event || op->msg_name || !op->items || op->n_items > TRK_MAX_ITEMS)
        return 0;
    for (i = 0; i < op->n_items; i++) {
        const trk_create_item *it = &op->items[i];
        if (!item_ok(it->payment, it->event, it->msg_name, it->msg, it->msg_len))
            return 0;
    }
    return 1;
}

/* The inputs a caller may give; the rest belong to the store's own threads. */
static int
caller_input(trk_input in)
{
    switch (in) {
    case TRK_IN_ACSP:
    case TRK_IN_ACCC:
    case TRK_IN_RJCT:
    case TRK_IN_CANCEL:
    case TRK_IN_CANCEL_ACCEPTED:
    case TRK_IN_CANCEL_REFUSED:
    case TRK_IN_RETURN:
        return 1;
    default:
        return 0;
    }
}

static int
event_ok(const trk_op *op)
{
    uint8_t uuid[REC_UUID_LEN], pkey[REC_PKEY_LEN], key[REC_DEDUP_KEY_MAX];
    trk_event ev;

    if (rec_uuid_parse(op->uetr, uuid) || !caller_input(op->input) || !op->event)
        return 0;
    ev = *op->event;
    ev.input = 0;
    ev.state = 0;
    ev.flags = 0;
    if (!rec_event_size(&ev))
        return 0;
    rec_pkey(0, uuid, pkey); /* the key's length does not depend on the time */
    if (has_text(op->dedup_key) && !rec_dedup_key(pkey, op->dedup_key, key))
        return 0;
    if (has_text(op->add_chain) && !trk_bic_ok(op->add_chain))
        return 0;
    if (op->msg_name && !message_ok(op->msg_name, op->msg, op->msg_len))
        return 0;
    return op->return_amount >= 0 && op->return_amount <= TRK_MAX_AMOUNT;
}

static int
account_ok(const trk_op *op)
{
    const trk_account *a = op->account;

    return a && rec_account_id_ok(a->id) && upper3(a->currency) && a->exponent >= 0 &&
           a->exponent <= TRK_MAX_EXPONENT && a->balance >= -TRK_MAX_AMOUNT &&
           a->balance <= TRK_MAX_AMOUNT && strnlen(a->owner, sizeof a->owner) < sizeof a->owner;
}

/* Everything the records and keys could refuse is refused here, before the op is queued, so
 * the writer fails an op only for what the store holds. */
int
trk_op_check(const trk_op *op)
{
    int ok;

    if (!op->done)
        return TRK_ERR_INVALID;
    switch (op->kind) {
    case TRK_OP_CREATE:
        ok = create_ok(op);
        break;
    case TRK_OP_EVENT:
        ok = event_ok(op);
        break;
    case TRK_OP_ACCOUNT_PUT:
        ok = account_ok(op);
        break;
    default:
        ok = 0;
    }
    if (ok && has_idem(op) && !idem_ok(op))
        ok = 0;
    return ok ? TRK_OK : TRK_ERR_INVALID;
}

static size_t
item_bytes(const trk_payment *p, const trk_event *e, const char *name, size_t len)
{
    return (p ? p->doc_len : 0) + (e ? e->detail_len : 0) + (name ? len : 0);
}

size_t
trk_op_bytes(const trk_op *op)
{
    size_t i, n = has_idem(op) ? op->resp_len : 0;

    if (op->kind == TRK_OP_CREATE && op->n_items) {
        for (i = 0; i < op->n_items; i++)
            n += item_bytes(op->items[i].payment, op->items[i].event, op->items[i].msg_name,
                            op->items[i].msg_len);
        return n;
    }
    return n + item_bytes(op->payment, op->event, op->msg_name, op->msg_len);
}

void
trk_op_reset(trk_op *op)
{
    size_t i;

    free(op->replay_body);
    op->rc = TRK_OK;
    op->replay_status = 0;
    op->replay_body = NULL;
    op->replay_len = 0;
    memset(op->funds_reason, 0, sizeof op->funds_reason);
    op->failed_index = 0;
    op->from_state = op->to_state = 0;
    op->anomaly = 0;
    op->seq = 0;
    op->flags = 0;
    if (op->kind == TRK_OP_CREATE && op->items)
        for (i = 0; i < op->n_items; i++) {
            op->items[i].state = 0;
            op->items[i].flags = 0;
        }
}

/* ---- helpers shared by the appliers ------------------------------------------------------ */

/* Reserves len bytes under key so the record is encoded once, in place in the map. */
int
trk_put_reserved(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, size_t len,
                 unsigned flags, uint8_t **dst)
{
    MDB_val k = {.mv_size = klen, .mv_data = (void *)key};
    MDB_val v = {.mv_size = len, .mv_data = NULL};
    int rc;

    rc = mdb_put(txn, dbi, &k, &v, flags | MDB_RESERVE);
    *dst = v.mv_data;
    return rc;
}

int
trk_put_mark(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen)
{
    uint8_t mark[REC_MARK_LEN];
    MDB_val k = {.mv_size = klen, .mv_data = (void *)key};
    MDB_val v = {.mv_size = sizeof mark, .mv_data = mark};

    rec_mark_encode(mark);
    return mdb_put(txn, dbi, &k, &v, 0);
}

static int
counter_get(trk_store *s, MDB_txn *txn, const char *name, uint64_t *n)
{
    MDB_val k = {.mv_size = strlen(name), .mv_data = (void *)name}, v;
    int rc;

    *n = 0;
    rc = mdb_get(txn, s->dbi[TRK_DB_META], &k, &v);
    if (rc == 0)
        return rec_counter_decode(v.mv_data, v.mv_size, n);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
counter_put(trk_store *s, MDB_txn *txn, const char *name, uint64_t n)
{
    uint8_t buf[REC_COUNTER_LEN];
    MDB_val k = {.mv_size = strlen(name), .mv_data = (void *)name};
    MDB_val v = {.mv_size = sizeof buf, .mv_data = buf};

    rec_counter_encode(n, buf);
    return mdb_put(txn, s->dbi[TRK_DB_META], &k, &v, 0);
}

int
trk_counter_add(trk_store *s, MDB_txn *txn, const char *name, int64_t add)
{
    uint64_t n;
    int rc;

    rc = counter_get(s, txn, name, &n);
    if (rc)
        return rc;
    if (add < 0 && n < (uint64_t)-add)
        return TRK_ERR_CORRUPT;
    return counter_put(s, txn, name, n + (uint64_t)add);
}

int
trk_counter_next(trk_store *s, MDB_txn *txn, const char *name, uint64_t *out)
{
    int rc;

    rc = counter_get(s, txn, name, out);
    if (rc)
        return rc;
    if (*out == UINT64_MAX)
        return TRK_ERR_CORRUPT;
    *out += 1;
    return counter_put(s, txn, name, *out);
}

/* ---- idempotency ------------------------------------------------------------------------ */

/* Same scope and key seen before: same request digest replays, another one conflicts. */
static int
idem_lookup(trk_store *s, MDB_txn *txn, trk_op *op)
{
    uint8_t kbuf[REC_IDEM_KEY_MAX];
    MDB_val k = {.mv_size = 0, .mv_data = kbuf}, v;
    rec_idem r;
    int rc;

    k.mv_size = rec_idem_key(op->idem_scope, op->idem_key, kbuf);
    if (!k.mv_size)
        return TRK_ERR_INVALID;
    rc = mdb_get(txn, s->dbi[TRK_DB_IDEM], &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    rc = rec_idem_decode(v.mv_data, v.mv_size, &r);
    if (rc)
        return rc;
    if (memcmp(r.digest, op->idem_digest, sizeof r.digest) != 0)
        return TRK_ERR_IDEM_CONFLICT;
    op->replay_body = malloc(r.body_len + 1);
    if (!op->replay_body)
        return TRK_ERR_NOMEM;
    if (r.body_len)
        memcpy(op->replay_body, r.body, r.body_len);
    op->replay_body[r.body_len] = '\0';
    op->replay_len = r.body_len;
    op->replay_status = r.status;
    return TRK_ERR_IDEM_REPLAY;
}

/* The payment the op concerns, for the idem record (zero for accounts). */
static void
op_uuid(const trk_op *op, uint8_t uuid[REC_UUID_LEN])
{
    const char *uetr = NULL;

    memset(uuid, 0, REC_UUID_LEN);
    if (op->kind == TRK_OP_CREATE)
        uetr = op->n_items ? op->items[0].payment->uetr : op->payment->uetr;
    else if (op->kind == TRK_OP_EVENT)
        uetr = op->uetr;
    if (uetr && rec_uuid_parse(uetr, uuid))
        memset(uuid, 0, REC_UUID_LEN);
}

static int
idem_put(trk_store *s, MDB_txn *txn, const trk_op *op)
{
    uint8_t key[REC_IDEM_KEY_MAX], tkey[REC_IDEM_TIME_KEY_LEN], uuid[REC_UUID_LEN], *dst;
    size_t klen, len;
    rec_idem r;
    int rc;

    op_uuid(op, uuid);
    idem_record(op, uuid, trk_now(s), &r);
    klen = rec_idem_key(op->idem_scope, op->idem_key, key);
    len = rec_idem_size(&r);
    if (!klen || !len)
        return TRK_ERR_INVALID;
    rc = trk_put_reserved(txn, s->dbi[TRK_DB_IDEM], key, klen, len, 0, &dst);
    if (!rc)
        rc = rec_idem_encode(&r, dst, len);
    if (rc)
        return rc;
    /* The key again under its creation time, for expiry. A sequence number keeps two records
     * of the same millisecond apart (the key itself may be 511 bytes, LMDB's limit). */
    MDB_val tk = {.mv_size = sizeof tkey, .mv_data = tkey}, tv = {.mv_size = klen, .mv_data = key};
    rec_put_ob64(tkey, r.created_ms);
    do {
        rec_seq64_key(s->idem_seq++, tkey + REC_TIME_LEN);
        rc = mdb_put(txn, s->dbi[TRK_DB_IDEM_BY_TIME], &tk, &tv, MDB_NOOVERWRITE);
    } while (rc == MDB_KEYEXIST); /* reopened within the same millisecond */
    return rc;
}

/*
 * Expiry: idem records made at or before cutoff_ms go, oldest first, at most IDEM_EXPIRE_MAX
 * per op (one write txn stays small). An index entry whose record was written again later
 * (another time) only loses the entry.
 */
#define IDEM_EXPIRE_MAX 512

int
trk_idem_expire_apply(trk_store *s, MDB_txn *txn, trk_iop *iop)
{
    uint8_t ikey[REC_IDEM_KEY_MAX];
    MDB_val k, v, rk = {.mv_size = 0, .mv_data = ikey}, rv;
    MDB_cursor *cur;
    rec_idem r;
    int64_t at;
    int rc;

    iop->expired = 0;
    rc = mdb_cursor_open(txn, s->dbi[TRK_DB_IDEM_BY_TIME], &cur);
    if (rc)
        return rc;
    while (iop->expired < IDEM_EXPIRE_MAX) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        if (rc || k.mv_size != REC_IDEM_TIME_KEY_LEN ||
            (at = rec_get_ob64(k.mv_data)) > iop->cutoff_ms)
            break;
        if (v.mv_size == 0 || v.mv_size > sizeof ikey) {
            rc = TRK_ERR_CORRUPT;
            break;
        }
        memcpy(ikey, v.mv_data, v.mv_size); /* the idem key */
        rk.mv_size = v.mv_size;
        rc = mdb_get(txn, s->dbi[TRK_DB_IDEM], &rk, &rv);
        if (!rc && rec_idem_decode(rv.mv_data, rv.mv_size, &r) == TRK_OK && r.created_ms == at)
            rc = mdb_del(txn, s->dbi[TRK_DB_IDEM], &rk, NULL);
        else if (rc == 0 || rc == MDB_NOTFOUND)
            rc = 0; /* rewritten since, or gone: the entry is stale */
        if (!rc)
            rc = mdb_cursor_del(cur, 0);
        if (rc)
            break;
        iop->expired++;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int
trk_idem_expiring(trk_store *s, int64_t cutoff_ms)
{
    MDB_val k, v;
    MDB_cursor *cur;
    MDB_txn *txn;
    int rc, due = 0;

    if (trk_read_begin(s, &txn) != TRK_OK)
        return 0;
    rc = mdb_cursor_open(txn, s->dbi[TRK_DB_IDEM_BY_TIME], &cur);
    if (!rc) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        due = rc == 0 && k.mv_size == REC_IDEM_TIME_KEY_LEN && rec_get_ob64(k.mv_data) <= cutoff_ms;
        mdb_cursor_close(cur);
    }
    trk_read_end(s, txn);
    return due;
}

/* ---- apply (writer thread) -------------------------------------------------------------- */

static int
dispatch(trk_store *s, MDB_txn *txn, trk_op *op)
{
    switch ((int)op->kind) {
    case TRK_OP_CREATE:
        return trk_create_apply(s, txn, op);
    case TRK_OP_EVENT:
        return trk_event_apply(s, txn, op);
    case TRK_OP_ACCOUNT_PUT:
        return trk_account_put_apply(s, txn, op);
    case TRK_OP_I_DELIVERED:
        return trk_delivered_apply(s, txn, (trk_iop *)op);
    case TRK_OP_I_TIMER:
        return trk_timer_apply(s, txn, op);
    case TRK_OP_I_EXPIRE_IDEM:
        return trk_idem_expire_apply(s, txn, (trk_iop *)op);
    default:
        return TRK_ERR_INVALID;
    }
}

/* The order is the contract: a replay or conflict wins over everything else. */
static int
apply_in(trk_store *s, MDB_txn *txn, trk_op *op)
{
    int rc = has_idem(op) ? idem_lookup(s, txn, op) : 0;

    if (!rc)
        rc = dispatch(s, txn, op);
    if (!rc && has_idem(op))
        rc = idem_put(s, txn, op);
    return rc;
}

/* A refused reservation: the payment the op failed on, for the audit record. */
static const trk_payment *
refused_payment(const trk_op *op)
{
    if (op->n_items)
        return op->failed_index < op->n_items ? op->items[op->failed_index].payment : NULL;
    return op->payment;
}

int
trk_op_apply(trk_store *s, MDB_txn *parent, trk_op *op)
{
    const trk_payment *p;
    MDB_txn *txn;
    int rc;

    trk_op_reset(op);
    rc = mdb_txn_begin(s->env, parent, 0, &txn);
    if (rc)
        return rc;
    rc = apply_in(s, txn, op);
    if (rc == 0)
        return mdb_txn_commit(txn); /* frees txn, also on failure */
    mdb_txn_abort(txn);
    if (!trk_is_op_rc(rc))
        return rc;
    op->rc = rc;
    if (rc == TRK_ERR_FUNDS && (p = refused_payment(op)) != NULL) {
        rc = trk_audit_put(s, parent, op->idem_scope, p, op->funds_reason);
        return trk_is_op_rc(rc) ? 0 : rc; /* the record was checked: only LMDB can fail */
    }
    return 0;
}
