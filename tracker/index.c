/*
 * index — the secondary indexes of a payment (key layouts in record.h).
 *
 * Each index is a key function: given a payment, its key in that index, or 0 when the
 * payment does not belong there (by_execute holds only SCHEDULED payments, by_deadline only
 * those the SLA still watches ...). Keeping a payment's indexes in step with its record is
 * then one generic move: the key of the old record out, the key of the new one in. trk_verify
 * uses the same functions, so what is checked is what is written.
 */
#include <string.h>

#include "record.h"
#include "trk_int.h"

#define EXECUTE_LEN 10 /* YYYY-MM-DD */
#define E2E_ACCOUNT_LEN REC_ACCOUNT_ID_MAX
#define E2E_ID_LEN 35
#define E2E_CCY_LEN 3
#define E2E_PREFIX_LEN (E2E_ACCOUNT_LEN + E2E_ID_LEN + REC_TIME_LEN + E2E_CCY_LEN)

typedef size_t (*key_fn)(const trk_payment *p, const uint8_t uuid[REC_UUID_LEN], uint8_t *out);

static size_t
time_key(int64_t ms, const uint8_t uuid[REC_UUID_LEN], uint8_t *out)
{
    rec_put_ob64(out, ms);
    memcpy(out + REC_TIME_LEN, uuid, REC_UUID_LEN);
    return REC_TIME_LEN + REC_UUID_LEN;
}

static size_t
owner_key(const trk_payment *p, const uint8_t uuid[REC_UUID_LEN], uint8_t *out)
{
    return rec_owner_key(p, uuid, out);
}

static size_t
status_key(const trk_payment *p, const uint8_t uuid[REC_UUID_LEN], uint8_t *out)
{
    return rec_status_key(p, uuid, out);
}

static size_t
created_key(const trk_payment *p, const uint8_t uuid[REC_UUID_LEN], uint8_t *out)
{
    return time_key(p->created_ms, uuid, out);
}

static size_t
updated_key(const trk_payment *p, const uint8_t uuid[REC_UUID_LEN], uint8_t *out)
{
    return time_key(p->updated_ms, uuid, out);
}

static size_t
execute_key(const trk_payment *p, const uint8_t uuid[REC_UUID_LEN], uint8_t *out)
{
    if (p->state != TRK_SCHEDULED)
        return 0;
    rec_put_padded(out, p->execute_on, sizeof p->execute_on, EXECUTE_LEN);
    memcpy(out + EXECUTE_LEN, uuid, REC_UUID_LEN);
    return EXECUTE_LEN + REC_UUID_LEN;
}

static size_t
deadline_key(const trk_payment *p, const uint8_t uuid[REC_UUID_LEN], uint8_t *out)
{
    if (p->deadline_ms <= 0 || (p->flags & TRK_PF_OVERDUE) ||
        trk_state_is_final(p->state, p->prev_state))
        return 0;
    return time_key(p->deadline_ms, uuid, out);
}

static size_t
overdue_key(const trk_payment *p, const uint8_t uuid[REC_UUID_LEN], uint8_t *out)
{
    if (!(p->flags & TRK_PF_OVERDUE) || trk_state_is_final(p->state, p->prev_state))
        return 0;
    memcpy(out, uuid, REC_UUID_LEN);
    return REC_UUID_LEN;
}

static void
e2e_prefix(const trk_payment *p, uint8_t *out)
{
    rec_put_padded(out, p->debit_account, sizeof p->debit_account, E2E_ACCOUNT_LEN);
    out += E2E_ACCOUNT_LEN;
    rec_put_padded(out, p->end_to_end_id, sizeof p->end_to_end_id, E2E_ID_LEN);
    out += E2E_ID_LEN;
    rec_put_ob64(out, p->amount_minor);
    out += REC_TIME_LEN;
    rec_put_padded(out, p->currency, sizeof p->currency, E2E_CCY_LEN);
}

static size_t
e2e_key(const trk_payment *p, const uint8_t uuid[REC_UUID_LEN], uint8_t *out)
{
    if (!p->debit_account[0] || !p->end_to_end_id[0])
        return 0;
    e2e_prefix(p, out);
    return E2E_PREFIX_LEN + time_key(p->created_ms, uuid, out + E2E_PREFIX_LEN);
}

static const key_fn key_fns[TRK_DB_COUNT] = {
    [TRK_DB_BY_OWNER] = owner_key,     [TRK_DB_BY_STATUS_TIME] = status_key,
    [TRK_DB_BY_CREATED] = created_key, [TRK_DB_BY_UPDATED] = updated_key,
    [TRK_DB_BY_EXECUTE] = execute_key, [TRK_DB_BY_DEADLINE] = deadline_key,
    [TRK_DB_BY_OVERDUE] = overdue_key, [TRK_DB_BY_E2E] = e2e_key,
};

const int trk_index_dbs[] = {
    TRK_DB_BY_OWNER,   TRK_DB_BY_STATUS_TIME, TRK_DB_BY_CREATED, TRK_DB_BY_UPDATED,
    TRK_DB_BY_EXECUTE, TRK_DB_BY_DEADLINE,    TRK_DB_BY_OVERDUE, TRK_DB_BY_E2E,
};
const size_t trk_n_index_dbs = sizeof trk_index_dbs / sizeof trk_index_dbs[0];

size_t
trk_index_key(int db, const trk_payment *p, const uint8_t uuid[REC_UUID_LEN], uint8_t *out)
{
    if (db < 0 || db >= TRK_DB_COUNT || !key_fns[db] || !p)
        return 0;
    return key_fns[db](p, uuid, out);
}

static int
same_key(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    return na == nb && memcmp(a, b, na) == 0;
}

/* Moves the payment in one index. A missing old entry is not an error here (trk_verify
 * reports such drift); the new entry is always written. */
static int
sync_one(trk_store *s, MDB_txn *txn, int db, const uint8_t uuid[REC_UUID_LEN],
         const trk_payment *old, const trk_payment *p)
{
    uint8_t ko[TRK_INDEX_KEY_MAX], kn[TRK_INDEX_KEY_MAX];
    size_t no = old ? trk_index_key(db, old, uuid, ko) : 0;
    size_t nn = trk_index_key(db, p, uuid, kn);
    MDB_val k;
    int rc;

    if (same_key(ko, no, kn, nn))
        return 0;
    if (no) {
        k.mv_size = no;
        k.mv_data = ko;
        rc = mdb_del(txn, s->dbi[db], &k, NULL);
        if (rc && rc != MDB_NOTFOUND)
            return rc;
    }
    return nn ? trk_put_mark(txn, s->dbi[db], kn, nn) : 0;
}

int
trk_index_sync(trk_store *s, MDB_txn *txn, const uint8_t uuid[REC_UUID_LEN], const trk_payment *old,
               const trk_payment *p)
{
    size_t i;
    int rc;

    for (i = 0; i < trk_n_index_dbs; i++) {
        rc = sync_one(s, txn, trk_index_dbs[i], uuid, old, p);
        if (rc)
            return rc;
    }
    return 0;
}

/* Same debit account, E2E id, amount and currency, created within the window either side
 * (clocks of a multi-node estate are not exact), other than p itself. */
int
trk_find_duplicate(trk_store *s, MDB_txn *txn, const trk_payment *p,
                   const uint8_t uuid[REC_UUID_LEN], char dup[37])
{
    uint8_t lo[TRK_INDEX_KEY_MAX];
    MDB_val k = {.mv_size = E2E_PREFIX_LEN + REC_TIME_LEN, .mv_data = lo}, v;
    MDB_cursor *cur;
    int64_t until = p->created_ms + TRK_DUPLICATE_WINDOW_MS;
    int rc, found = 0;

    if (!p->debit_account[0] || !p->end_to_end_id[0])
        return 0;
    e2e_prefix(p, lo);
    rec_put_ob64(lo + E2E_PREFIX_LEN, p->created_ms - TRK_DUPLICATE_WINDOW_MS);
    rc = mdb_cursor_open(txn, s->dbi[TRK_DB_BY_E2E], &cur);
    if (rc)
        return rc;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *key = k.mv_data;
        if (k.mv_size != E2E_PREFIX_LEN + REC_TIME_LEN + REC_UUID_LEN ||
            memcmp(key, lo, E2E_PREFIX_LEN) != 0 || rec_get_ob64(key + E2E_PREFIX_LEN) > until)
            break;
        if (memcmp(key + E2E_PREFIX_LEN + REC_TIME_LEN, uuid, REC_UUID_LEN) != 0) {
            rec_uuid_format(key + E2E_PREFIX_LEN + REC_TIME_LEN, dup);
            found = 1;
            break;
        }
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    return found;
}
