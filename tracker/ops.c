/*
 * ops — checking an op on the submitting thread and applying it inside the writer's batch.
 *
 * trk_op_apply runs one op in a child transaction of the batch's write txn, so an op that ends
 * with its own error (EXISTS, an idempotency replay or conflict) is rolled back alone while the
 * batch goes on; a child sees the writes of the ops before it in the same batch.
 *
 * Internal results are one int: 0, a TRK_* code that concerns the op alone, or an LMDB error
 * that concerns the batch (trk_is_op_rc tells them apart).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "record.h"
#include "trk_int.h"

#define FIRST_SEQ 1

static int
has_idem(const trk_op *op)
{
    return op->idem_key && op->idem_key[0];
}

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
idem_record(const trk_op *op, const uint8_t uuid[REC_UUID_LEN], rec_idem *r)
{
    memset(r, 0, sizeof *r);
    memcpy(r->digest, op->idem_digest, sizeof r->digest);
    memcpy(r->uuid, uuid, sizeof r->uuid);
    r->created_ms = now_ms();
    r->status = op->resp_status;
    r->body = op->resp_body;
    r->body_len = op->resp_len;
}

/* ---- check (request thread) ------------------------------------------------------------- */

static int
message_ok(const trk_op *op)
{
    return rec_msg_name_ok(op->msg_name) && rec_message_size(op->msg_len) != 0 &&
           (op->msg || !op->msg_len);
}

static int
idem_ok(const trk_op *op)
{
    uint8_t key[REC_IDEM_KEY_MAX];
    uint8_t uuid[REC_UUID_LEN] = {0};
    rec_idem r;

    if (!rec_idem_key(op->idem_scope, op->idem_key, key))
        return 0;
    idem_record(op, uuid, &r);
    return rec_idem_size(&r) != 0;
}

/* Everything the records and keys could refuse is refused here, before the op is queued, so
 * the writer fails an op only for what the store holds. */
int
trk_op_check(const trk_op *op)
{
    if (op->kind != TRK_OP_CREATE || !op->done || !op->payment || !op->event)
        return TRK_ERR_INVALID;
    if (!rec_payment_size(op->payment) || !rec_event_size(op->event))
        return TRK_ERR_INVALID;
    if (op->msg_name && !message_ok(op))
        return TRK_ERR_INVALID;
    if (has_idem(op) && !idem_ok(op))
        return TRK_ERR_INVALID;
    return TRK_OK;
}

size_t
trk_op_bytes(const trk_op *op)
{
    return op->payment->doc_len + op->event->detail_len + (op->msg_name ? op->msg_len : 0) +
           (has_idem(op) ? op->resp_len : 0);
}

void
trk_op_reset(trk_op *op)
{
    free(op->replay_body);
    op->rc = TRK_OK;
    op->replay_status = 0;
    op->replay_body = NULL;
    op->replay_len = 0;
}

/* ---- apply (writer thread) -------------------------------------------------------------- */

/* Reserves len bytes under key so the record is encoded once, in place in the map. */
static int
put_reserved(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, size_t len, unsigned flags,
             uint8_t **dst)
{
    MDB_val k = {.mv_size = klen, .mv_data = (void *)key};
    MDB_val v = {.mv_size = len, .mv_data = NULL};
    int rc;

    rc = mdb_put(txn, dbi, &k, &v, flags | MDB_RESERVE);
    *dst = v.mv_data;
    return rc;
}

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

static int
put_payment(trk_store *s, MDB_txn *txn, const trk_op *op, const uint8_t uuid[REC_UUID_LEN])
{
    trk_payment p = *op->payment; /* shallow: doc stays borrowed */
    uint8_t *dst;
    size_t len;
    int rc;

    p.last_seq = FIRST_SEQ;
    len = rec_payment_size(&p);
    if (!len)
        return TRK_ERR_INVALID;
    rc = put_reserved(txn, s->dbi[TRK_DB_PAYMENTS], uuid, REC_UUID_LEN, len, MDB_NOOVERWRITE, &dst);
    if (rc == MDB_KEYEXIST)
        return TRK_ERR_EXISTS;
    if (rc)
        return rc;
    return rec_payment_encode(&p, dst, len);
}

static int
put_first_event(trk_store *s, MDB_txn *txn, const trk_op *op, const uint8_t uuid[REC_UUID_LEN])
{
    trk_event e = *op->event; /* shallow: detail stays borrowed */
    uint8_t key[REC_EVENT_KEY_LEN], *dst;
    size_t len;
    int rc;

    e.seq = FIRST_SEQ;
    len = rec_event_size(&e);
    if (!len)
        return TRK_ERR_INVALID;
    rec_event_key(uuid, FIRST_SEQ, key);
    rc = put_reserved(txn, s->dbi[TRK_DB_EVENTS], key, sizeof key, len, MDB_NOOVERWRITE, &dst);
    if (rc == MDB_KEYEXIST)
        return TRK_ERR_CORRUPT; /* events of a payment that did not exist */
    if (rc)
        return rc;
    return rec_event_encode(&e, dst, len);
}

static int
put_message(trk_store *s, MDB_txn *txn, const trk_op *op, const uint8_t uuid[REC_UUID_LEN])
{
    uint8_t key[REC_MSG_KEY_MAX], *dst;
    size_t klen, len;
    int rc;

    klen = rec_msg_key(uuid, op->msg_name, key);
    len = rec_message_size(op->msg_len);
    if (!klen || !len)
        return TRK_ERR_INVALID;
    /* Overwrites: a message name holds the latest message of that type. */
    rc = put_reserved(txn, s->dbi[TRK_DB_MESSAGES], key, klen, len, 0, &dst);
    if (rc)
        return rc;
    return rec_message_encode(op->msg, op->msg_len, dst, len);
}

static int
put_idem(trk_store *s, MDB_txn *txn, const trk_op *op, const uint8_t uuid[REC_UUID_LEN])
{
    uint8_t key[REC_IDEM_KEY_MAX], *dst;
    size_t klen, len;
    rec_idem r;
    int rc;

    idem_record(op, uuid, &r);
    klen = rec_idem_key(op->idem_scope, op->idem_key, key);
    len = rec_idem_size(&r);
    if (!klen || !len)
        return TRK_ERR_INVALID;
    rc = put_reserved(txn, s->dbi[TRK_DB_IDEM], key, klen, len, 0, &dst);
    if (rc)
        return rc;
    return rec_idem_encode(&r, dst, len);
}

static int
put_mark(MDB_txn *txn, MDB_dbi dbi, uint8_t *key, size_t klen)
{
    uint8_t mark[REC_MARK_LEN];
    MDB_val k = {.mv_size = klen, .mv_data = key};
    MDB_val v = {.mv_size = sizeof mark, .mv_data = mark};

    rec_mark_encode(mark);
    return mdb_put(txn, dbi, &k, &v, 0);
}

static int
put_indexes(trk_store *s, MDB_txn *txn, const trk_op *op, const uint8_t uuid[REC_UUID_LEN])
{
    uint8_t owner[REC_OWNER_KEY_LEN], status[REC_STATUS_KEY_LEN];
    int rc;

    rec_owner_key(op->payment, uuid, owner);
    rc = put_mark(txn, s->dbi[TRK_DB_BY_OWNER], owner, sizeof owner);
    if (rc)
        return rc;
    rec_status_key(op->payment, uuid, status);
    return put_mark(txn, s->dbi[TRK_DB_BY_STATUS_TIME], status, sizeof status);
}

static int
add_to_counter(trk_store *s, MDB_txn *txn, const char *name, uint64_t add)
{
    uint8_t buf[REC_COUNTER_LEN];
    MDB_val k = {.mv_size = strlen(name), .mv_data = (void *)name}, v;
    uint64_t n = 0;
    int rc;

    rc = mdb_get(txn, s->dbi[TRK_DB_META], &k, &v);
    if (rc == 0)
        rc = rec_counter_decode(v.mv_data, v.mv_size, &n);
    else if (rc == MDB_NOTFOUND)
        rc = 0;
    if (rc)
        return rc;
    rec_counter_encode(n + add, buf);
    v.mv_size = sizeof buf;
    v.mv_data = buf;
    return mdb_put(txn, s->dbi[TRK_DB_META], &k, &v, 0);
}

/* The order is the contract: a replay or conflict wins over EXISTS. */
static int
create_in(trk_store *s, MDB_txn *txn, trk_op *op)
{
    uint8_t uuid[REC_UUID_LEN];
    int rc;

    if (rec_uuid_parse(op->payment->uetr, uuid))
        return TRK_ERR_INVALID;
    rc = has_idem(op) ? idem_lookup(s, txn, op) : 0;
    if (!rc)
        rc = put_payment(s, txn, op, uuid);
    if (!rc)
        rc = put_first_event(s, txn, op, uuid);
    if (!rc && op->msg_name)
        rc = put_message(s, txn, op, uuid);
    if (!rc && has_idem(op))
        rc = put_idem(s, txn, op, uuid);
    if (!rc)
        rc = put_indexes(s, txn, op, uuid);
    if (!rc)
        rc = add_to_counter(s, txn, TRK_META_PAYMENTS, 1);
    return rc;
}

int
trk_op_apply(trk_store *s, MDB_txn *parent, trk_op *op)
{
    MDB_txn *txn;
    int rc;

    trk_op_reset(op);
    rc = mdb_txn_begin(s->env, parent, 0, &txn);
    if (rc)
        return rc;
    rc = create_in(s, txn, op);
    if (rc == 0)
        return mdb_txn_commit(txn); /* frees txn, also on failure */
    mdb_txn_abort(txn);
    if (!trk_is_op_rc(rc))
        return rc;
    op->rc = rc;
    return 0;
}
