/*
 * step — the saga applied to a stored payment: TRK_OP_EVENT and the store's own inputs
 * (delivery, timers).
 *
 * Every path is the same: read the payment, ask trk_saga_step, carry out the actions (ledger,
 * outbox, flags), append the event, write the record back and move its indexes — in the op's
 * child txn, so all of it commits together or not at all. An anomaly is recorded the same
 * way with nothing but the event, the anomaly flag and updated_ms changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "trk_int.h"

#define INTERNAL_DETAIL_MAX 96

/* ---- record writes ---------------------------------------------------------------------- */

/* A new payment (MDB_NOOVERWRITE: its UETR is taken in payment_keys too) or a rewrite. */
int
trk_put_payment(trk_store *s, MDB_txn *txn, const uint8_t pkey[REC_PKEY_LEN], const trk_payment *p,
                unsigned flags)
{
    size_t len = rec_payment_size(p);
    uint8_t *dst, created[REC_COUNTER_LEN];
    MDB_val k = {.mv_size = REC_UUID_LEN, .mv_data = (void *)REC_PKEY_UUID(pkey)},
            v = {.mv_size = sizeof created, .mv_data = created};
    int rc;

    if (!len)
        return TRK_ERR_INVALID;
    if (flags & MDB_NOOVERWRITE) {
        rec_counter_encode((uint64_t)p->created_ms, created);
        rc = mdb_put(txn, s->dbi[TRK_DB_PAYMENT_KEYS], &k, &v, MDB_NOOVERWRITE);
        if (rc == MDB_KEYEXIST)
            return TRK_ERR_EXISTS;
        if (rc)
            return rc;
    }
    rc = trk_put_reserved(txn, s->dbi[TRK_DB_PAYMENTS], pkey, REC_PKEY_LEN, len, flags, &dst);
    if (rc == MDB_KEYEXIST)
        return TRK_ERR_EXISTS;
    if (rc)
        return rc;
    return rec_payment_encode(p, dst, len);
}

int
trk_put_event(trk_store *s, MDB_txn *txn, const uint8_t pkey[REC_PKEY_LEN], trk_payment *p,
              trk_event *ev)
{
    uint8_t key[REC_EVENT_KEY_LEN], *dst;
    size_t len;
    int rc;

    if (p->last_seq >= TRK_MAX_EVENTS)
        return TRK_ERR_STATE;
    ev->seq = p->last_seq + 1;
    len = rec_event_size(ev);
    if (!len)
        return TRK_ERR_INVALID;
    rec_event_key(pkey, ev->seq, key);
    rc = trk_put_reserved(txn, s->dbi[TRK_DB_EVENTS], key, sizeof key, len, MDB_NOOVERWRITE, &dst);
    if (rc == MDB_KEYEXIST)
        return TRK_ERR_CORRUPT; /* an event beyond last_seq */
    if (rc)
        return rc;
    p->last_seq = ev->seq;
    return rec_event_encode(ev, dst, len);
}

int
trk_put_message(trk_store *s, MDB_txn *txn, const uint8_t pkey[REC_PKEY_LEN], const char *name,
                const char *msg, size_t msg_len)
{
    uint8_t key[REC_MSG_KEY_MAX], *dst;
    size_t klen, len;
    int rc;

    klen = rec_msg_key(pkey, name, key);
    len = rec_message_size(msg_len);
    if (!klen || !len)
        return TRK_ERR_INVALID;
    /* Overwrites: a message name holds the latest message of that type. */
    rc = trk_put_reserved(txn, s->dbi[TRK_DB_MESSAGES], key, klen, len, 0, &dst);
    if (rc)
        return rc;
    return rec_message_encode(msg, msg_len, dst, len);
}

static int
has_message(trk_store *s, MDB_txn *txn, const uint8_t pkey[REC_PKEY_LEN], const char *name)
{
    uint8_t key[REC_MSG_KEY_MAX];
    MDB_val k = {.mv_size = rec_msg_key(pkey, name, key), .mv_data = key}, v;
    int rc = mdb_get(txn, s->dbi[TRK_DB_MESSAGES], &k, &v);

    if (rc == 0)
        return 1;
    return rc == MDB_NOTFOUND ? 0 : -1;
}

/* gpi transaction status from the saga state (DESIGN "Views"). */
void
trk_derive_status(trk_payment *p)
{
    trk_state eff = p->state == TRK_CANCEL_PENDING ? p->prev_state : p->state;
    const char *st = "ACSP";

    if (eff == TRK_COMPLETED || eff == TRK_RETURNED)
        st = "ACCC";
    else if (eff == TRK_REJECTED || eff == TRK_CANCELLED)
        st = "RJCT";
    snprintf(p->status, sizeof p->status, "%s", st);
}

/* ---- the payment being changed ---------------------------------------------------------- */

/* A payment read for change: `cur` is written back, `old` keeps the indexed fields as read. */
typedef struct change {
    uint8_t uuid[REC_UUID_LEN];
    uint8_t pkey[REC_PKEY_LEN]; /* its events, messages and outbox entries */
    trk_payment old;
    trk_payment cur;
} change;

static int
change_open(trk_store *s, MDB_txn *txn, const char *uetr, change *c)
{
    int rc;

    memset(c, 0, sizeof *c);
    if (rec_uuid_parse(uetr, c->uuid))
        return TRK_ERR_NOTFOUND;
    rc = trk_get_payment(s, txn, c->uuid, &c->cur);
    if (rc)
        return rc;
    rec_pkey(c->cur.created_ms, c->uuid, c->pkey);
    c->old = c->cur;
    c->old.doc = NULL; /* cur owns the doc */
    c->old.doc_len = 0;
    return 0;
}

static void
change_close(change *c)
{
    trk_payment_clear(&c->cur);
}

static int
change_commit(trk_store *s, MDB_txn *txn, change *c)
{
    int rc;

    c->cur.updated_ms = trk_now(s);
    rc = trk_put_payment(s, txn, c->pkey, &c->cur, 0);
    if (!rc)
        rc = trk_index_sync(s, txn, c->uuid, &c->old, &c->cur);
    return rc;
}

static int
append(trk_store *s, MDB_txn *txn, change *c, const trk_event *in, int input, unsigned flags)
{
    trk_event e = *in; /* shallow: detail stays borrowed */

    e.input = input;
    e.state = c->cur.state;
    e.flags = flags;
    return trk_put_event(s, txn, c->pkey, &c->cur, &e);
}

/* An event the store writes itself. */
static void
internal_event(trk_store *s, const change *c, const char *type, const char *detail, trk_event *e)
{
    memset(e, 0, sizeof *e);
    e->at_ms = trk_now(s);
    snprintf(e->type, sizeof e->type, "%s", type);
    snprintf(e->from, sizeof e->from, "%s", c->cur.debtor_agent);
    if (c->cur.chain_len)
        snprintf(e->to, sizeof e->to, "%s", c->cur.chain[0]);
    e->detail = (char *)detail;
    e->detail_len = strlen(detail);
}

/* ---- carrying out a step ---------------------------------------------------------------- */

static int
bic8_eq(const char *a, const char *b)
{
    return strncmp(a, b, 8) == 0;
}

static void
grow_chain(trk_payment *p, const char *bic)
{
    unsigned i;

    if (!bic || !bic[0] || p->chain_len >= TRK_MAX_CHAIN || bic8_eq(bic, p->debtor_agent))
        return;
    for (i = 0; i < p->chain_len; i++)
        if (bic8_eq(p->chain[i], bic))
            return;
    snprintf(p->chain[p->chain_len++], sizeof p->chain[0], "%s", bic);
}

static void
set_cancellation(trk_payment *p, trk_input in, const trk_step *st, trk_state from)
{
    const char *cs = NULL;

    if (st->next == TRK_CANCEL_PENDING && from != TRK_CANCEL_PENDING)
        cs = "PDCR";
    else if (in == TRK_IN_CANCEL_ACCEPTED || st->next == TRK_CANCELLED)
        cs = "CNCL"; /* a local cancel too: gpi shows CANCELLED as RJCT + CNCL */
    else if (in == TRK_IN_CANCEL_REFUSED)
        cs = "RJCR";
    else if (in == TRK_IN_RJCT && from == TRK_CANCEL_PENDING)
        cs = ""; /* rejected anyway: the recall is moot */
    if (cs)
        snprintf(p->cancellation_status, sizeof p->cancellation_status, "%s", cs);
}

/* A correspondent's (or camt.029's) reason becomes the payment's when its word applies. */
static void
set_reason(trk_payment *p, trk_input in, const trk_event *e)
{
    switch (in) {
    case TRK_IN_ACSP:
    case TRK_IN_ACCC:
    case TRK_IN_RJCT:
    case TRK_IN_CANCEL_ACCEPTED:
    case TRK_IN_RETURN:
        snprintf(p->reason, sizeof p->reason, "%s", e->reason);
        break;
    default:
        break;
    }
}

/* The outbox part of a step. deliver_mu is not needed for SEND/RECALL: a new entry cannot
 * be in delivery yet. */
static int
queue_actions(trk_store *s, MDB_txn *txn, change *c, const trk_op *op, unsigned actions)
{
    int rc = 0, has;

    if (actions & TRK_ACT_SEND) {
        has = has_message(s, txn, c->pkey, TRK_MSG_PACS008);
        if (has < 0)
            return TRK_ERR_STORE;
        if (has)
            rc = trk_outbox_put(s, txn, c->pkey, TRK_MSG_PACS008, c->cur.msg_id);
    }
    if (!rc && (actions & TRK_ACT_RECALL)) {
        rc = trk_put_message(s, txn, c->pkey, TRK_MSG_CAMT056, op->msg, op->msg_len);
        if (!rc)
            rc = trk_outbox_put(s, txn, c->pkey, TRK_MSG_CAMT056, op->event->network_ref);
    }
    return rc;
}

static int
recall_ok(const trk_op *op)
{
    return op->msg_name && strcmp(op->msg_name, TRK_MSG_CAMT056) == 0 && op->event &&
           rec_msg_id_ok(op->event->network_ref);
}

static int64_t
credit_of(const trk_op *op, const trk_payment *p)
{
    return op && op->return_amount ? op->return_amount : p->amount_minor;
}

/* The ledger and outbox actions of an allowed step, then the new state. */
static int
carry_out(trk_store *s, MDB_txn *txn, change *c, const trk_op *op, trk_input in, const trk_step *st)
{
    trk_payment *p = &c->cur;
    trk_state from = p->state;
    int rc;

    if ((st->actions & TRK_ACT_RECALL) && !recall_ok(op))
        return TRK_ERR_INVALID;
    if ((st->actions & TRK_ACT_CREDIT_BACK) && credit_of(op, p) > p->amount_minor)
        return TRK_ERR_INVALID;
    rc = trk_ledger_apply(s, txn, p, c->uuid, st->actions, credit_of(op, p));
    if (!rc)
        rc = queue_actions(s, txn, c, op, st->actions);
    if (rc)
        return rc;
    if (st->actions & TRK_ACT_CREDIT_BACK)
        p->returned_minor = credit_of(op, p);
    if (st->actions & TRK_ACT_OVERDUE)
        p->flags |= TRK_PF_OVERDUE;
    if (in == TRK_IN_DUE && !p->deadline_ms && s->sla_ms)
        p->deadline_ms = trk_now(s) + s->sla_ms;
    p->state = st->next;
    p->prev_state = st->prev;
    set_cancellation(p, in, st, from);
    trk_derive_status(p);
    return 0;
}

/* ---- local cancel ----------------------------------------------------------------------- */

static int mark_left(trk_store *s, MDB_txn *txn, change *c);

/*
 * CANCEL on FUNDS_RESERVED: a pacs.008 that has not left is dropped from the outbox (the
 * delivery thread is excluded meanwhile, see trk_int.h); one that has left (its spool file
 * exists) makes the cancel a recall: the delivery is recorded first, then CANCEL from SENT.
 */
static int
cancel_unsent(trk_store *s, MDB_txn *txn, change *c, trk_step *st)
{
    int rc, left;

    pthread_mutex_lock(&s->deliver_mu);
    left = s->spool_dir && c->cur.msg_id[0] && trk_spool_has(s, c->cur.msg_id);
    rc = left ? 0 : trk_outbox_unsend(s, txn, c->pkey, TRK_MSG_PACS008);
    pthread_mutex_unlock(&s->deliver_mu);
    if (rc || !left)
        return rc;
    st->actions &= ~(unsigned)TRK_ACT_UNSEND;
    rc = mark_left(s, txn, c);
    if (!rc)
        *st = trk_saga_step(c->cur.state, c->cur.prev_state, TRK_IN_CANCEL);
    return rc;
}

/* ---- TRK_OP_EVENT ----------------------------------------------------------------------- */

static int
dedup_seen(trk_store *s, MDB_txn *txn, const change *c, trk_op *op)
{
    uint8_t key[REC_DEDUP_KEY_MAX];
    MDB_val k = {.mv_size = 0, .mv_data = key}, v;
    rec_dedup d;
    int rc;

    if (!op->dedup_key || !op->dedup_key[0])
        return 0;
    k.mv_size = rec_dedup_key(c->pkey, op->dedup_key, key);
    rc = mdb_get(txn, s->dbi[TRK_DB_DEDUP], &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (!rc)
        rc = rec_dedup_decode(v.mv_data, v.mv_size, &d);
    if (rc)
        return rc;
    op->seq = d.seq;
    return TRK_ERR_DUPLICATE;
}

static int
dedup_put(trk_store *s, MDB_txn *txn, const change *c, const trk_op *op, uint32_t seq)
{
    uint8_t key[REC_DEDUP_KEY_MAX], val[REC_DEDUP_LEN];
    rec_dedup d = {.seq = seq, .at_ms = trk_now(s)};
    MDB_val k = {.mv_size = 0, .mv_data = key}, v = {.mv_size = sizeof val, .mv_data = val};

    if (!op->dedup_key || !op->dedup_key[0])
        return 0;
    k.mv_size = rec_dedup_key(c->pkey, op->dedup_key, key);
    rec_dedup_encode(&d, val);
    return mdb_put(txn, s->dbi[TRK_DB_DEDUP], &k, &v, MDB_NOOVERWRITE);
}

/* Correspondents speak about what happened; their word is recorded even when refused. */
static int
from_correspondent(trk_input in)
{
    return in != TRK_IN_CANCEL;
}

/* Callers' events stop short of the limit, so the store's own always fit. */
static int
room_for_caller(const trk_payment *p)
{
    return p->last_seq < TRK_MAX_EVENTS - TRK_EVENTS_RESERVED;
}

/* Progress and anomalies stop shorter still: the last TRK_EVENTS_FOR_FINAL are for inputs
 * that can end or recall the payment. */
static int
room_for(const trk_payment *p, trk_input in, const trk_step *st)
{
    int ends = st->allowed && !st->anomaly &&
               (in == TRK_IN_ACCC || in == TRK_IN_RJCT || in == TRK_IN_CANCEL ||
                in == TRK_IN_CANCEL_ACCEPTED || in == TRK_IN_CANCEL_REFUSED ||
                in == TRK_IN_RETURN);
    return ends ? room_for_caller(p)
                : p->last_seq < TRK_MAX_EVENTS - TRK_EVENTS_RESERVED - TRK_EVENTS_FOR_FINAL;
}

static int
record_anomaly(trk_store *s, MDB_txn *txn, change *c, trk_op *op)
{
    int rc;

    c->cur.flags |= TRK_PF_ANOMALY;
    rc = append(s, txn, c, op->event, op->input, TRK_EF_ANOMALY);
    if (!rc && op->msg_name && op->input != TRK_IN_CANCEL)
        rc = trk_put_message(s, txn, c->pkey, op->msg_name, op->msg, op->msg_len);
    op->anomaly = 1;
    return rc;
}

static int
apply_step(trk_store *s, MDB_txn *txn, change *c, trk_op *op, trk_step *st)
{
    int rc = 0;

    if (op->input == TRK_IN_CANCEL && c->cur.state == TRK_FUNDS_RESERVED)
        rc = cancel_unsent(s, txn, c, st);
    if (!rc)
        rc = carry_out(s, txn, c, op, op->input, st);
    if (rc)
        return rc;
    grow_chain(&c->cur, op->add_chain);
    set_reason(&c->cur, op->input, op->event);
    rc = append(s, txn, c, op->event, op->input, 0);
    /* A local cancel keeps nothing of the camt.056 it did not need. */
    if (!rc && op->msg_name && op->input != TRK_IN_CANCEL)
        rc = trk_put_message(s, txn, c->pkey, op->msg_name, op->msg, op->msg_len);
    return rc;
}

static int
event_in(trk_store *s, MDB_txn *txn, change *c, trk_op *op)
{
    trk_step st;
    int rc;

    rc = dedup_seen(s, txn, c, op);
    if (rc)
        return rc;
    st = trk_saga_step(c->cur.state, c->cur.prev_state, op->input);
    if (!room_for(&c->cur, op->input, &st))
        return TRK_ERR_STATE;
    if (!st.allowed && !(op->record_refused && from_correspondent(op->input)))
        return TRK_ERR_STATE;
    if (!st.allowed || st.anomaly)
        rc = record_anomaly(s, txn, c, op);
    else
        rc = apply_step(s, txn, c, op, &st);
    if (!rc)
        rc = dedup_put(s, txn, c, op, c->cur.last_seq);
    return rc ? rc : change_commit(s, txn, c);
}

int
trk_event_apply(trk_store *s, MDB_txn *txn, trk_op *op)
{
    change c;
    int rc;

    rc = change_open(s, txn, op->uetr, &c);
    if (rc)
        return rc;
    op->from_state = c.cur.state;
    rc = event_in(s, txn, &c, op);
    if (!rc || rc == TRK_ERR_DUPLICATE) {
        op->to_state = c.cur.state;
        op->flags = c.cur.flags;
        if (!rc)
            op->seq = c.cur.last_seq;
    }
    change_close(&c);
    return rc;
}

/* ---- delivery --------------------------------------------------------------------------- */

static int
delivered_event(trk_store *s, MDB_txn *txn, change *c, const char *name, const char *msg_id,
                int input, unsigned flags)
{
    char detail[INTERNAL_DETAIL_MAX];
    trk_event e;

    snprintf(detail, sizeof detail, "{\"spool_file\":\"%s.xml\"}", msg_id);
    internal_event(s, c, TRK_EV_DELIVERED, detail, &e);
    snprintf(e.message_name, sizeof e.message_name, "%s", name);
    snprintf(e.network_ref, sizeof e.network_ref, "%s", msg_id);
    return append(s, txn, c, &e, input, flags | TRK_EF_INTERNAL);
}

/* The pacs.008 left: DELIVERED. What the saga refuses is still a fact, kept as an anomaly. */
static int
apply_delivered(trk_store *s, MDB_txn *txn, change *c, const char *msg_id)
{
    trk_step st = trk_saga_step(c->cur.state, c->cur.prev_state, TRK_IN_DELIVERED);
    unsigned flags = 0;
    int rc;

    if (!st.allowed || st.anomaly) {
        c->cur.flags |= TRK_PF_ANOMALY;
        flags = TRK_EF_ANOMALY;
    } else {
        rc = carry_out(s, txn, c, NULL, TRK_IN_DELIVERED, &st);
        if (rc)
            return rc;
    }
    return delivered_event(s, txn, c, TRK_MSG_PACS008, msg_id, TRK_IN_DELIVERED, flags);
}

/* A cancel found the pacs.008 gone: its outbox entries go, the delivery is recorded. */
static int
mark_left(trk_store *s, MDB_txn *txn, change *c)
{
    int rc;

    pthread_mutex_lock(&s->deliver_mu);
    rc = trk_outbox_unsend(s, txn, c->pkey, TRK_MSG_PACS008);
    pthread_mutex_unlock(&s->deliver_mu);
    return rc ? rc : apply_delivered(s, txn, c, c->cur.msg_id);
}

static int
get_outbox(trk_store *s, MDB_txn *txn, uint64_t seq, rec_outbox *out)
{
    uint8_t key[REC_SEQ64_LEN];
    MDB_val k = {.mv_size = sizeof key, .mv_data = key}, v;
    int rc;

    rec_seq64_key(seq, key);
    rc = mdb_get(txn, s->dbi[TRK_DB_OUTBOX], &k, &v);
    return rc ? rc : rec_outbox_decode(v.mv_data, v.mv_size, out);
}

/* Removes the delivered entry and records the delivery. An entry already gone (a local
 * cancel, or this op repeated) needs nothing. */
int
trk_delivered_apply(trk_store *s, MDB_txn *txn, trk_iop *iop)
{
    char uetr[37];
    rec_outbox ob;
    change c;
    int rc;

    rc = get_outbox(s, txn, iop->outbox_seq, &ob);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    rc = trk_outbox_del(s, txn, iop->outbox_seq, ob.pkey);
    rec_uuid_format(REC_PKEY_UUID(ob.pkey), uetr);
    if (!rc)
        rc = change_open(s, txn, uetr, &c);
    if (rc)
        return rc == TRK_ERR_NOTFOUND ? TRK_ERR_CORRUPT : rc;
    if (strcmp(ob.name, TRK_MSG_PACS008) == 0)
        rc = apply_delivered(s, txn, &c, ob.msg_id);
    else
        rc = delivered_event(s, txn, &c, ob.name, ob.msg_id, 0, 0);
    if (!rc)
        rc = change_commit(s, txn, &c);
    change_close(&c);
    return rc;
}

/* ---- timers ----------------------------------------------------------------------------- */

/* DUE only when the date has come (the index said so at scan time; the clock decides now),
 * OVERDUE only once. */
static int
timer_due(trk_store *s, const change *c, trk_input in)
{
    char today[11];

    if (in == TRK_IN_OVERDUE)
        return c->cur.deadline_ms > 0 && c->cur.deadline_ms <= trk_now(s) &&
               !(c->cur.flags & TRK_PF_OVERDUE);
    trk_today(s, today);
    return strcmp(c->cur.execute_on, today) <= 0;
}

static int
timer_in(trk_store *s, MDB_txn *txn, change *c, trk_input in)
{
    char detail[INTERNAL_DETAIL_MAX];
    trk_step st = trk_saga_step(c->cur.state, c->cur.prev_state, in);
    trk_event e;
    int rc;

    if (!st.allowed || st.anomaly || !timer_due(s, c, in))
        return TRK_ERR_STATE;
    rc = carry_out(s, txn, c, NULL, in, &st);
    if (rc)
        return rc;
    if (in == TRK_IN_DUE)
        snprintf(detail, sizeof detail, "{\"execute_on\":\"%s\"}", c->cur.execute_on);
    else
        snprintf(detail, sizeof detail, "{\"deadline_ms\":%lld}", (long long)c->cur.deadline_ms);
    internal_event(s, c, in == TRK_IN_DUE ? TRK_EV_DUE : TRK_EV_OVERDUE, detail, &e);
    rc = append(s, txn, c, &e, in, TRK_EF_INTERNAL);
    return rc ? rc : change_commit(s, txn, c);
}

int
trk_timer_apply(trk_store *s, MDB_txn *txn, trk_op *op)
{
    change c;
    int rc;

    rc = change_open(s, txn, op->uetr, &c);
    if (rc)
        return rc;
    op->from_state = c.cur.state;
    rc = timer_in(s, txn, &c, op->input);
    op->to_state = c.cur.state;
    change_close(&c);
    return rc;
}
