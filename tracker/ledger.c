/*
 * ledger — the embedded default ledger: accounts (balance, reserved), the journal of every
 * balance movement, and the audit of refused reservations.
 *
 * Invariants (trk_verify checks them): an account's reserved amount is the sum of the amounts
 * of the payments holding funds on it (trk_state_holds_funds); its balance is the sum of its
 * journal. Only the balance is journalled: a reservation is derivable from the payments.
 * Everything here runs inside the caller's write txn, so a movement commits with the saga
 * step that causes it or not at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "trk_int.h"

#define CODE_UNKNOWN_ACCOUNT "AC01"
#define CODE_CURRENCY "AM03"
#define CODE_FUNDS "AM04"

static int
get_account(trk_store *s, MDB_txn *txn, const char *id, trk_account *out)
{
    MDB_val k = {.mv_size = strlen(id), .mv_data = (void *)id}, v;
    int rc;

    rc = mdb_get(txn, s->dbi[TRK_DB_ACCOUNTS], &k, &v);
    if (rc)
        return rc; /* MDB_NOTFOUND included: the caller decides what it means */
    rc = rec_account_decode(v.mv_data, v.mv_size, out);
    if (!rc)
        snprintf(out->id, sizeof out->id, "%s", id);
    return rc;
}

static int
put_account(trk_store *s, MDB_txn *txn, const trk_account *a)
{
    size_t len = rec_account_size(a);
    uint8_t *dst;
    int rc;

    if (!len)
        return TRK_ERR_INVALID;
    rc = trk_put_reserved(txn, s->dbi[TRK_DB_ACCOUNTS], a->id, strlen(a->id), len, 0, &dst);
    if (rc)
        return rc;
    return rec_account_encode(a, dst, len);
}

static int
journal(trk_store *s, MDB_txn *txn, const char *account, int kind, const uint8_t *uuid,
        int64_t amount)
{
    uint8_t key[REC_JOURNAL_KEY_MAX], val[REC_JOURNAL_LEN];
    rec_journal j = {.kind = kind, .amount = amount, .at_ms = trk_now(s)};
    MDB_val k = {.mv_size = 0, .mv_data = key}, v = {.mv_size = sizeof val, .mv_data = val};
    uint64_t seq;
    int rc;

    if (uuid)
        memcpy(j.uuid, uuid, REC_UUID_LEN);
    rc = trk_counter_next(s, txn, TRK_META_JOURNAL_SEQ, &seq);
    if (rc)
        return rc;
    k.mv_size = rec_journal_key(account, seq, key);
    if (!k.mv_size)
        return TRK_ERR_INVALID;
    rec_journal_encode(&j, val);
    return mdb_put(txn, s->dbi[TRK_DB_JOURNAL], &k, &v, MDB_NOOVERWRITE);
}

static int
refuse(char reason[5], const char *code)
{
    memcpy(reason, code, 5);
    return TRK_ERR_FUNDS;
}

int
trk_ledger_reserve(trk_store *s, MDB_txn *txn, const trk_payment *p, char reason[5])
{
    trk_account a;
    int rc;

    if (!p->debit_account[0])
        return 0; /* funded elsewhere (a core-banking adapter) */
    rc = get_account(s, txn, p->debit_account, &a);
    if (rc == MDB_NOTFOUND)
        return refuse(reason, CODE_UNKNOWN_ACCOUNT);
    if (rc)
        return rc;
    /* Another customer's account does not exist for this one. */
    if (a.owner[0] && strcmp(a.owner, p->customer_id) != 0)
        return refuse(reason, CODE_UNKNOWN_ACCOUNT);
    if (strcmp(a.currency, p->currency) != 0 || a.exponent != p->exponent)
        return refuse(reason, CODE_CURRENCY);
    if (a.balance - a.reserved < p->amount_minor) /* both bounded: no overflow */
        return refuse(reason, CODE_FUNDS);
    a.reserved += p->amount_minor;
    a.updated_ms = trk_now(s);
    return put_account(s, txn, &a);
}

static int
take_hold(trk_account *a, int64_t amount)
{
    if (a->reserved < amount)
        return TRK_ERR_CORRUPT; /* a hold the ledger never made */
    a->reserved -= amount;
    return 0;
}

/* The balance part of SETTLE and CREDIT_BACK, journalled. */
static int
book(trk_store *s, MDB_txn *txn, trk_account *a, const uint8_t *uuid, int kind, int64_t delta)
{
    int64_t next = a->balance + delta; /* |balance|, |delta| <= TRK_MAX_AMOUNT: no overflow */

    if (next > TRK_MAX_AMOUNT || next < -TRK_MAX_AMOUNT)
        return TRK_ERR_INVALID;
    a->balance = next;
    return journal(s, txn, a->id, kind, uuid, delta);
}

int
trk_ledger_apply(trk_store *s, MDB_txn *txn, const trk_payment *p, const uint8_t uuid[16],
                 unsigned actions, int64_t credit)
{
    trk_account a;
    int rc;

    actions &= TRK_ACT_RELEASE | TRK_ACT_SETTLE | TRK_ACT_CREDIT_BACK;
    if (!p->debit_account[0] || !actions)
        return 0;
    rc = get_account(s, txn, p->debit_account, &a);
    if (rc == MDB_NOTFOUND)
        return TRK_ERR_CORRUPT; /* a funded payment outlived its account */
    if (rc)
        return rc;
    if (actions & (TRK_ACT_RELEASE | TRK_ACT_SETTLE))
        rc = take_hold(&a, p->amount_minor);
    if (!rc && (actions & TRK_ACT_SETTLE))
        rc = book(s, txn, &a, uuid, REC_J_SETTLE, -p->amount_minor);
    if (!rc && (actions & TRK_ACT_CREDIT_BACK))
        rc = book(s, txn, &a, uuid, REC_J_CREDIT_BACK, credit);
    if (rc)
        return rc;
    a.updated_ms = trk_now(s);
    return put_account(s, txn, &a);
}

/* The operator's view wins for the balance; the holds stay, since payments own them. */
static int
merge_account(const trk_account *old, const trk_account *in, trk_account *out)
{
    *out = *in;
    out->reserved = old ? old->reserved : 0;
    if (!old)
        return 0;
    if (old->reserved &&
        (strcmp(old->currency, in->currency) != 0 || old->exponent != in->exponent))
        return TRK_ERR_STATE;
    if (in->balance < old->reserved)
        return TRK_ERR_STATE;
    return 0;
}

int
trk_account_put_apply(trk_store *s, MDB_txn *txn, trk_op *op)
{
    trk_account old, a;
    int rc, exists;

    rc = get_account(s, txn, op->account->id, &old);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    exists = rc == 0;
    if (exists && op->account_create_only)
        return TRK_ERR_EXISTS;
    rc = merge_account(exists ? &old : NULL, op->account, &a);
    if (rc)
        return rc;
    a.updated_ms = trk_now(s);
    if (a.balance != (exists ? old.balance : 0))
        rc = journal(s, txn, a.id, REC_J_ADJUST, NULL, a.balance - (exists ? old.balance : 0));
    return rc ? rc : put_account(s, txn, &a);
}

int
trk_audit_put(trk_store *s, MDB_txn *txn, const char *scope, const trk_payment *p, const char *code)
{
    trk_audit a;
    uint8_t key[REC_SEQ64_LEN], *dst;
    uint64_t seq;
    size_t len;
    int rc;

    memset(&a, 0, sizeof a);
    a.at_ms = trk_now(s);
    snprintf(a.scope, sizeof a.scope, "%s", scope ? scope : "");
    snprintf(a.uetr, sizeof a.uetr, "%s", p->uetr);
    snprintf(a.code, sizeof a.code, "%s", code);
    snprintf(a.account, sizeof a.account, "%s", p->debit_account);
    len = rec_audit_size(&a);
    if (!len)
        return TRK_ERR_INVALID;
    rc = trk_counter_next(s, txn, TRK_META_AUDIT_SEQ, &seq);
    if (rc)
        return rc;
    rec_seq64_key(seq, key);
    rc = trk_put_reserved(txn, s->dbi[TRK_DB_AUDIT], key, sizeof key, len, MDB_APPEND, &dst);
    return rc ? rc : rec_audit_encode(&a, dst, len);
}

/* ---- reads ------------------------------------------------------------------------------ */

int
trk_account_get(trk_store *s, const char *id, trk_account *out)
{
    MDB_txn *txn;
    int rc;

    if (!out)
        return TRK_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (!s)
        return TRK_ERR_INVALID;
    if (!rec_account_id_ok(id))
        return TRK_ERR_NOTFOUND;
    rc = trk_read_begin(s, &txn);
    if (rc)
        return rc;
    rc = get_account(s, txn, id, out);
    trk_read_end(s, txn);
    if (rc && !trk_is_op_rc(rc))
        rc = trk_store_rc(rc);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

static int
audit_push(trk_audit *arr, size_t *n, const MDB_val *k, const MDB_val *v)
{
    int rc;

    if (k->mv_size != REC_SEQ64_LEN)
        return TRK_ERR_CORRUPT;
    rc = rec_audit_decode(v->mv_data, v->mv_size, &arr[*n]);
    if (rc)
        return rc;
    arr[*n].seq = rec_seq64_get(k->mv_data);
    (*n)++;
    return 0;
}

int
trk_audit_list(trk_store *s, uint64_t after_seq, unsigned max, trk_audit **out, size_t *n)
{
    uint8_t key[REC_SEQ64_LEN];
    MDB_val k = {.mv_size = sizeof key, .mv_data = key}, v;
    MDB_cursor *cur = NULL;
    MDB_txn *txn;
    trk_audit *arr;
    int rc;

    if (!out || !n)
        return TRK_ERR_INVALID;
    *out = NULL;
    *n = 0;
    if (!s || max < 1 || max > TRK_MAX_PAGE || after_seq == UINT64_MAX)
        return TRK_ERR_INVALID;
    arr = calloc(max, sizeof *arr);
    if (!arr)
        return TRK_ERR_NOMEM;
    rec_seq64_key(after_seq + 1, key);
    rc = trk_read_begin(s, &txn);
    if (rc)
        goto out;
    rc = mdb_cursor_open(txn, s->dbi[TRK_DB_AUDIT], &cur);
    if (!rc)
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && *n < max) {
        rc = audit_push(arr, n, &k, &v);
        if (!rc)
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (cur)
        mdb_cursor_close(cur);
    trk_read_end(s, txn);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    if (rc && !trk_is_op_rc(rc))
        rc = trk_store_rc(rc);
out:
    if (rc) {
        free(arr);
        *n = 0;
        return rc;
    }
    *out = arr;
    return TRK_OK;
}
