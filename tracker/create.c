/*
 * create — TRK_OP_CREATE: a new payment (or several, all-or-nothing) enters its saga.
 *
 * One payment: refuse an existing UETR, reserve the funds (the refusal is the caller's 422),
 * apply ACCEPT or SCHEDULE from VALIDATED, note a possible duplicate, and write the record,
 * its first event(s), its message, the outbox entry and the indexes. All of it is in the op's
 * child txn: a failure of any payment of a multi-payment op rolls every one of them back.
 */
#include <stdio.h>
#include <string.h>

#include "record.h"
#include "trk_int.h"

#define DUP_DETAIL_MAX 80

static int
exists(trk_store *s, MDB_txn *txn, const uint8_t uuid[REC_UUID_LEN])
{
    MDB_val k = {.mv_size = REC_UUID_LEN, .mv_data = (void *)uuid}, v;
    int rc = mdb_get(txn, s->dbi[TRK_DB_PAYMENT_KEYS], &k, &v);

    if (rc == 0)
        return TRK_ERR_EXISTS;
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* A future date waits in SCHEDULED; today's (or an empty one) leaves now. */
static trk_input
entry_input(const trk_store *s, const trk_payment *p)
{
    char today[11];

    trk_today(s, today);
    return p->execute_on[0] && strcmp(p->execute_on, today) > 0 ? TRK_IN_SCHEDULE : TRK_IN_ACCEPT;
}

/* The fields the store owns, from the caller's payment and the step. */
static void
derive(trk_store *s, const trk_create_item *it, const trk_step *st, trk_payment *p)
{
    p->state = st->next;
    p->prev_state = 0;
    p->flags = 0;
    p->cancellation_status[0] = '\0';
    p->returned_minor = 0;
    p->last_seq = 0;
    if (!p->msg_id[0] && rec_msg_id_ok(it->event->network_ref))
        snprintf(p->msg_id, sizeof p->msg_id, "%s", it->event->network_ref);
    if (!p->deadline_ms && s->sla_ms && st->next != TRK_SCHEDULED)
        p->deadline_ms = p->created_ms + s->sla_ms;
    trk_derive_status(p);
}

static int
first_event(trk_store *s, MDB_txn *txn, const uint8_t pkey[REC_PKEY_LEN], trk_payment *p,
            const trk_create_item *it, trk_input in)
{
    trk_event e = *it->event; /* shallow: detail stays borrowed */

    e.input = in;
    e.state = p->state;
    e.flags = 0;
    return trk_put_event(s, txn, pkey, p, &e);
}

static int
duplicate_note(trk_store *s, MDB_txn *txn, const uint8_t pkey[REC_PKEY_LEN], trk_payment *p,
               const char *dup)
{
    char detail[DUP_DETAIL_MAX];
    trk_event e;

    memset(&e, 0, sizeof e);
    e.at_ms = p->created_ms;
    snprintf(e.type, sizeof e.type, "%s", TRK_EV_DUPLICATE);
    e.detail_len =
        (size_t)snprintf(detail, sizeof detail, "{\"possible_duplicate_of\":\"%s\"}", dup);
    e.detail = detail;
    e.state = p->state;
    e.flags = TRK_EF_INTERNAL;
    return trk_put_event(s, txn, pkey, p, &e);
}

static int
write_payment(trk_store *s, MDB_txn *txn, const uint8_t uuid[REC_UUID_LEN], trk_payment *p,
              const trk_create_item *it, const trk_step *st, trk_input in)
{
    uint8_t pkey[REC_PKEY_LEN];
    char dup[37];
    int rc;

    rec_pkey(p->created_ms, uuid, pkey);
    rc = trk_find_duplicate(s, txn, p, uuid, dup);
    if (rc < 0 || rc > 1)
        return rc;
    if (rc == 1)
        p->flags |= TRK_PF_POSSIBLE_DUPLICATE;
    rc = first_event(s, txn, pkey, p, it, in);
    if (!rc && (p->flags & TRK_PF_POSSIBLE_DUPLICATE))
        rc = duplicate_note(s, txn, pkey, p, dup);
    if (!rc && it->msg_name)
        rc = trk_put_message(s, txn, pkey, it->msg_name, it->msg, it->msg_len);
    if (!rc && (st->actions & TRK_ACT_SEND) && it->msg_name &&
        strcmp(it->msg_name, TRK_MSG_PACS008) == 0)
        rc = trk_outbox_put(s, txn, pkey, TRK_MSG_PACS008, p->msg_id);
    if (!rc)
        rc = trk_put_payment(s, txn, pkey, p, MDB_NOOVERWRITE);
    if (!rc)
        rc = trk_index_sync(s, txn, uuid, NULL, p);
    return rc;
}

static int
create_one(trk_store *s, MDB_txn *txn, trk_op *op, trk_create_item *it)
{
    trk_payment p = *it->payment; /* shallow: doc stays borrowed */
    uint8_t uuid[REC_UUID_LEN];
    trk_input in;
    trk_step st;
    int rc;

    if (rec_uuid_parse(p.uetr, uuid))
        return TRK_ERR_INVALID;
    rc = exists(s, txn, uuid);
    if (rc)
        return rc;
    in = entry_input(s, &p);
    st = trk_saga_step(p.state, 0, in);
    if (!st.allowed || st.anomaly)
        return TRK_ERR_STATE;
    if (st.actions & TRK_ACT_RESERVE) {
        rc = trk_ledger_reserve(s, txn, &p, op->funds_reason);
        if (rc)
            return rc;
    }
    derive(s, it, &st, &p);
    rc = write_payment(s, txn, uuid, &p, it, &st, in);
    if (rc)
        return rc;
    it->state = p.state;
    it->flags = p.flags;
    return 0;
}

int
trk_create_apply(trk_store *s, MDB_txn *txn, trk_op *op)
{
    trk_create_item one;
    size_t i, n = op->n_items ? op->n_items : 1;
    int rc;

    op->from_state = TRK_VALIDATED;
    if (!op->n_items) {
        memset(&one, 0, sizeof one);
        one.payment = op->payment;
        one.event = op->event;
        one.msg_name = op->msg_name;
        one.msg = op->msg;
        one.msg_len = op->msg_len;
    }
    for (i = 0; i < n; i++) {
        rc = create_one(s, txn, op, op->n_items ? &op->items[i] : &one);
        if (rc) {
            op->failed_index = i;
            return rc;
        }
    }
    if (!op->n_items) {
        op->to_state = one.state;
        op->flags = one.flags;
    } else {
        op->to_state = op->items[0].state;
        op->flags = op->items[0].flags;
    }
    op->seq = 1;
    return trk_counter_add(s, txn, TRK_META_PAYMENTS, (int64_t)n);
}
