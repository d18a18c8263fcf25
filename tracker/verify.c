/*
 * verify — the store checked against itself, in one read transaction.
 *
 * Walks every payment once, checking its events and that it sits in exactly the indexes the
 * key functions of index.c put it in, and noting what the ledger must show for it: the hold
 * of a payment holding funds, the settlement of a completed one, the credit of a returned
 * one. Then the accounts (reserved = holds, balance = journal), the journal (each movement
 * of a payment expected, once) and the outbox. Problems are counted; the first is described.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "trk_int.h"

typedef struct hold {
    char account[35];
    int64_t amount;
} hold;

typedef struct move {
    uint8_t uuid[REC_UUID_LEN];
    int kind; /* REC_J_SETTLE, REC_J_CREDIT_BACK */
    int64_t amount;
} move;

typedef struct vec {
    void *v;
    size_t n, cap, size;
} vec;

typedef struct vctx {
    trk_store *s;
    MDB_txn *txn;
    trk_verify_report *r;
    uint64_t in_index[TRK_DB_COUNT]; /* payments each index must hold */
    vec holds, expected, journalled;
} vctx;

static void
problem(vctx *c, const char *fmt, ...)
{
    va_list ap;

    if (c->r->problems++ == 0) {
        va_start(ap, fmt);
        vsnprintf(c->r->first_problem, sizeof c->r->first_problem, fmt, ap);
        va_end(ap);
    }
}

static int
vec_push(vec *v, const void *item)
{
    void *grown;
    size_t cap;

    if (v->n == v->cap) {
        cap = v->cap ? v->cap * 2 : 64;
        grown = realloc(v->v, cap * v->size);
        if (!grown)
            return TRK_ERR_NOMEM;
        v->v = grown;
        v->cap = cap;
    }
    memcpy((char *)v->v + v->n++ * v->size, item, v->size);
    return 0;
}

/* qsort's base must not be NULL, even for no elements. */
static void
vec_sort(vec *v, int (*cmp)(const void *, const void *))
{
    if (v->n > 1)
        qsort(v->v, v->n, v->size, cmp);
}

static int
mdb_rc(int rc)
{
    if (rc == 0 || rc == MDB_NOTFOUND)
        return 0;
    return trk_is_op_rc(rc) ? rc : trk_store_rc(rc);
}

/* ---- payments --------------------------------------------------------------------------- */

static int
check_events(vctx *c, const uint8_t uuid[REC_UUID_LEN], const trk_payment *p)
{
    uint8_t start[REC_EVENT_KEY_LEN], pkey[REC_PKEY_LEN];
    MDB_val k = {.mv_size = sizeof start, .mv_data = start}, v;
    MDB_cursor *cur;
    uint32_t want = 1;
    int rc;

    rec_pkey(p->created_ms, uuid, pkey);
    rec_event_key(pkey, 1, start);
    rc = mdb_cursor_open(c->txn, c->s->dbi[TRK_DB_EVENTS], &cur);
    if (rc)
        return mdb_rc(rc);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != REC_EVENT_KEY_LEN || memcmp(k.mv_data, pkey, REC_PKEY_LEN) != 0)
            break;
        if (rec_event_key_seq(k.mv_data) != want++)
            problem(c, "payment %s: events are not numbered 1..n", p->uetr);
        c->r->events++;
    }
    mdb_cursor_close(cur);
    if (want - 1 != p->last_seq)
        problem(c, "payment %s: %u events, last_seq %u", p->uetr, want - 1, p->last_seq);
    return mdb_rc(rc);
}

static int
check_indexes(vctx *c, const uint8_t uuid[REC_UUID_LEN], const trk_payment *p)
{
    uint8_t key[TRK_INDEX_KEY_MAX];
    MDB_val k = {.mv_size = 0, .mv_data = key}, v;
    size_t i;
    int db, rc;

    for (i = 0; i < trk_n_index_dbs; i++) {
        db = trk_index_dbs[i];
        k.mv_size = trk_index_key(db, p, uuid, key);
        if (!k.mv_size)
            continue;
        c->in_index[db]++;
        rc = mdb_get(c->txn, c->s->dbi[db], &k, &v);
        if (rc == MDB_NOTFOUND)
            problem(c, "payment %s: missing from index %d", p->uetr, db);
        else if (rc)
            return mdb_rc(rc);
    }
    return 0;
}

/* What the ledger must show for this payment. */
static int
expect_ledger(vctx *c, const uint8_t uuid[REC_UUID_LEN], const trk_payment *p)
{
    hold h;
    move m;
    int rc = 0;

    if (!p->debit_account[0])
        return 0;
    if (trk_state_holds_funds(p->state, p->prev_state)) {
        memset(&h, 0, sizeof h);
        snprintf(h.account, sizeof h.account, "%s", p->debit_account);
        h.amount = p->amount_minor;
        rc = vec_push(&c->holds, &h);
    }
    memset(&m, 0, sizeof m);
    memcpy(m.uuid, uuid, REC_UUID_LEN);
    if (!rc && p->returned_minor) {
        m.kind = REC_J_CREDIT_BACK;
        m.amount = p->returned_minor;
        rc = vec_push(&c->expected, &m);
    }
    if (!rc && (p->state == TRK_COMPLETED || p->state == TRK_RETURNED ||
                (p->state == TRK_CANCEL_PENDING && p->prev_state == TRK_COMPLETED))) {
        m.kind = REC_J_SETTLE;
        m.amount = -p->amount_minor;
        rc = vec_push(&c->expected, &m);
    }
    return rc;
}

static int
check_payment(vctx *c, const MDB_val *k, const MDB_val *v)
{
    trk_payment p;
    uint8_t got[REC_UUID_LEN], pkey[REC_PKEY_LEN], found[REC_PKEY_LEN];
    int rc;

    c->r->payments++;
    if (k->mv_size != REC_PKEY_LEN) {
        problem(c, "payments: a key of %zu bytes", k->mv_size);
        return 0;
    }
    rc = rec_payment_decode(v->mv_data, v->mv_size, &p);
    if (rc == TRK_ERR_NOMEM)
        return rc;
    if (!rc && rec_uuid_parse(p.uetr, got))
        rc = TRK_ERR_CORRUPT;
    if (!rc)
        rec_pkey(p.created_ms, got, pkey);
    if (rc || memcmp(pkey, k->mv_data, REC_PKEY_LEN) != 0) {
        problem(c, "payments: an undecodable or misplaced record");
        trk_payment_clear(&p);
        return 0;
    }
    rc = trk_payment_pkey(c->s, c->txn, got, found);
    if (rc == TRK_ERR_NOTFOUND || rc == TRK_ERR_CORRUPT ||
        (!rc && memcmp(found, pkey, REC_PKEY_LEN) != 0))
        problem(c, "payment_keys: %s is %s", p.uetr,
                rc == TRK_ERR_NOTFOUND ? "missing" : "wrong");
    else if (rc) {
        trk_payment_clear(&p);
        return rc;
    }
    rc = check_events(c, got, &p);
    if (!rc)
        rc = check_indexes(c, got, &p);
    if (!rc)
        rc = expect_ledger(c, got, &p);
    trk_payment_clear(&p);
    return rc;
}

/* Runs fn over every entry of a database. */
typedef int (*entry_fn)(vctx *c, const MDB_val *k, const MDB_val *v);

static int
walk(vctx *c, int db, entry_fn fn)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc, frc = 0;

    rc = mdb_cursor_open(c->txn, c->s->dbi[db], &cur);
    if (rc)
        return mdb_rc(rc);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && !frc;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        frc = fn(c, &k, &v);
    mdb_cursor_close(cur);
    return frc ? frc : mdb_rc(rc);
}

static int
check_index_sizes(vctx *c)
{
    MDB_stat st;
    size_t i;
    int db, rc;

    for (i = 0; i < trk_n_index_dbs; i++) {
        db = trk_index_dbs[i];
        rc = mdb_stat(c->txn, c->s->dbi[db], &st);
        if (rc)
            return mdb_rc(rc);
        if (st.ms_entries != c->in_index[db])
            problem(c, "index %d: %zu entries for %llu payments", db, st.ms_entries,
                    (unsigned long long)c->in_index[db]);
    }
    return 0;
}

/* ---- the ledger ------------------------------------------------------------------------- */

static int
cmp_hold(const void *a, const void *b)
{
    return strcmp(((const hold *)a)->account, ((const hold *)b)->account);
}

static int
cmp_move(const void *a, const void *b)
{
    const move *x = a, *y = b;
    int d = memcmp(x->uuid, y->uuid, REC_UUID_LEN);

    if (d)
        return d;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return x->amount < y->amount ? -1 : x->amount > y->amount;
}

static int64_t
held_on(const vctx *c, const char *account)
{
    const hold *h = c->holds.v;
    hold key;
    int64_t sum = 0;
    size_t i;

    memset(&key, 0, sizeof key);
    snprintf(key.account, sizeof key.account, "%s", account);
    for (i = 0; i < c->holds.n; i++) /* sorted: a run of equal accounts */
        if (cmp_hold(&h[i], &key) == 0)
            sum += h[i].amount;
    return sum;
}

static int
journal_sum(vctx *c, const char *id, int64_t *sum)
{
    uint8_t start[REC_JOURNAL_KEY_MAX];
    size_t plen = strlen(id) + 1;
    MDB_val k = {.mv_size = rec_journal_key(id, 0, start), .mv_data = start}, v;
    MDB_cursor *cur;
    rec_journal j;
    int rc;

    *sum = 0;
    rc = mdb_cursor_open(c->txn, c->s->dbi[TRK_DB_JOURNAL], &cur);
    if (rc)
        return mdb_rc(rc);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != plen + REC_SEQ64_LEN || memcmp(k.mv_data, start, plen) != 0)
            break;
        if (rec_journal_decode(v.mv_data, v.mv_size, &j))
            problem(c, "journal of %s: an undecodable entry", id);
        else
            *sum += j.amount;
    }
    mdb_cursor_close(cur);
    return mdb_rc(rc);
}

static int
check_account(vctx *c, const MDB_val *k, const MDB_val *v)
{
    char id[35];
    trk_account a;
    int64_t sum;
    int rc;

    c->r->accounts++;
    if (k->mv_size == 0 || k->mv_size > REC_ACCOUNT_ID_MAX) {
        problem(c, "accounts: a key of %zu bytes", k->mv_size);
        return 0;
    }
    memcpy(id, k->mv_data, k->mv_size);
    id[k->mv_size] = '\0';
    if (rec_account_decode(v->mv_data, v->mv_size, &a)) {
        problem(c, "account %s: undecodable", id);
        return 0;
    }
    if (a.reserved != held_on(c, id))
        problem(c, "account %s: reserved %lld, payments hold %lld", id, (long long)a.reserved,
                (long long)held_on(c, id));
    rc = journal_sum(c, id, &sum);
    if (!rc && sum != a.balance)
        problem(c, "account %s: balance %lld, journal %lld", id, (long long)a.balance,
                (long long)sum);
    return rc;
}

static int
note_journal(vctx *c, const MDB_val *k, const MDB_val *v)
{
    rec_journal j;
    move m;

    (void)k;
    if (rec_journal_decode(v->mv_data, v->mv_size, &j) || j.kind == REC_J_ADJUST)
        return 0; /* undecodable ones are reported per account */
    memset(&m, 0, sizeof m);
    memcpy(m.uuid, j.uuid, REC_UUID_LEN);
    m.kind = j.kind;
    m.amount = j.amount;
    return vec_push(&c->journalled, &m);
}

/* Each payment's movements, as journalled, are exactly the ones its state calls for. */
static void
check_moves(vctx *c)
{
    const move *e = c->expected.v, *j = c->journalled.v;
    char uetr[37];
    size_t i;

    vec_sort(&c->expected, cmp_move);
    vec_sort(&c->journalled, cmp_move);
    if (c->expected.n != c->journalled.n) {
        problem(c, "journal: %zu payment movements, states call for %zu", c->journalled.n,
                c->expected.n);
        return;
    }
    for (i = 0; i < c->expected.n; i++)
        if (cmp_move(&e[i], &j[i]) != 0) {
            rec_uuid_format(e[i].uuid, uetr);
            problem(c, "payment %s: its journalled movements do not match its state", uetr);
            return;
        }
}

/* ---- outbox ----------------------------------------------------------------------------- */

static int
check_outbox(vctx *c, const MDB_val *k, const MDB_val *v)
{
    uint8_t key[REC_MSG_KEY_MAX], ukey[REC_OUTBOX_UETR_KEY_LEN];
    MDB_val mk = {.mv_size = 0, .mv_data = key}, d;
    rec_outbox ob;
    int rc;

    c->r->outbox++;
    if (k->mv_size != REC_SEQ64_LEN || rec_outbox_decode(v->mv_data, v->mv_size, &ob)) {
        problem(c, "outbox: an undecodable entry");
        return 0;
    }
    mk.mv_size = rec_msg_key(ob.pkey, ob.name, key);
    rc = mdb_get(c->txn, c->s->dbi[TRK_DB_MESSAGES], &mk, &d);
    if (rc == MDB_NOTFOUND)
        problem(c, "outbox %llu: its message %s is not stored",
                (unsigned long long)rec_seq64_get(k->mv_data), ob.name);
    else if (rc)
        return mdb_rc(rc);
    rec_outbox_uetr_key(ob.pkey, rec_seq64_get(k->mv_data), ukey);
    mk.mv_size = sizeof ukey;
    mk.mv_data = ukey;
    rc = mdb_get(c->txn, c->s->dbi[TRK_DB_OUTBOX_UETR], &mk, &d);
    if (rc == MDB_NOTFOUND)
        problem(c, "outbox %llu: not in outbox_uetr",
                (unsigned long long)rec_seq64_get(k->mv_data));
    return rc == MDB_NOTFOUND ? 0 : mdb_rc(rc);
}

static int
check_counts(vctx *c)
{
    MDB_val k = {.mv_size = strlen(TRK_META_PAYMENTS), .mv_data = TRK_META_PAYMENTS}, v;
    MDB_stat st;
    uint64_t n = 0;
    int rc;

    rc = mdb_get(c->txn, c->s->dbi[TRK_DB_META], &k, &v);
    if (!rc && rec_counter_decode(v.mv_data, v.mv_size, &n))
        problem(c, "meta: the payments counter is undecodable");
    if (rc && rc != MDB_NOTFOUND)
        return mdb_rc(rc);
    if (n != c->r->payments)
        problem(c, "meta: %llu payments counted, %llu stored", (unsigned long long)n,
                (unsigned long long)c->r->payments);
    rc = mdb_stat(c->txn, c->s->dbi[TRK_DB_PAYMENT_KEYS], &st);
    if (!rc && st.ms_entries != c->r->payments)
        problem(c, "payment_keys: %zu entries for %llu payments", st.ms_entries,
                (unsigned long long)c->r->payments);
    if (!rc) {
        MDB_stat idem;
        rc = mdb_stat(c->txn, c->s->dbi[TRK_DB_IDEM], &idem);
        if (!rc)
            rc = mdb_stat(c->txn, c->s->dbi[TRK_DB_IDEM_BY_TIME], &st);
        if (!rc && st.ms_entries != idem.ms_entries)
            problem(c, "idem_by_time: %zu entries for %zu idempotency records", st.ms_entries,
                    idem.ms_entries);
    }
    if (!rc)
        rc = mdb_stat(c->txn, c->s->dbi[TRK_DB_OUTBOX_UETR], &st);
    if (!rc && st.ms_entries != c->r->outbox)
        problem(c, "outbox_uetr: %zu entries for %llu outbox entries", st.ms_entries,
                (unsigned long long)c->r->outbox);
    return mdb_rc(rc);
}

static int
verify_all(vctx *c)
{
    int rc = walk(c, TRK_DB_PAYMENTS, check_payment);

    if (!rc)
        rc = check_index_sizes(c);
    if (!rc) {
        vec_sort(&c->holds, cmp_hold);
        rc = walk(c, TRK_DB_ACCOUNTS, check_account);
    }
    if (!rc)
        rc = walk(c, TRK_DB_JOURNAL, note_journal);
    if (!rc)
        check_moves(c);
    if (!rc)
        rc = walk(c, TRK_DB_OUTBOX, check_outbox);
    if (!rc)
        rc = check_counts(c);
    return rc;
}

/* Holds on accounts that do not exist are a problem of their own. */
static int
check_orphan_holds(vctx *c)
{
    const hold *h = c->holds.v;
    MDB_val k, v;
    size_t i;
    int rc;

    for (i = 0; i < c->holds.n; i++) {
        if (i > 0 && strcmp(h[i].account, h[i - 1].account) == 0)
            continue;
        k.mv_size = strlen(h[i].account);
        k.mv_data = (void *)h[i].account;
        rc = mdb_get(c->txn, c->s->dbi[TRK_DB_ACCOUNTS], &k, &v);
        if (rc == MDB_NOTFOUND)
            problem(c, "account %s: payments hold funds on it, it does not exist", h[i].account);
        else if (rc)
            return mdb_rc(rc);
    }
    return 0;
}

int
trk_verify(trk_store *s, trk_verify_report *out)
{
    vctx c;
    int rc;

    if (!out)
        return TRK_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (!s)
        return TRK_ERR_INVALID;
    memset(&c, 0, sizeof c);
    c.s = s;
    c.r = out;
    c.holds.size = sizeof(hold);
    c.expected.size = c.journalled.size = sizeof(move);
    rc = trk_read_begin(s, &c.txn);
    if (rc)
        return rc;
    rc = verify_all(&c);
    if (!rc)
        rc = check_orphan_holds(&c);
    trk_read_end(s, c.txn);
    free(c.holds.v);
    free(c.expected.v);
    free(c.journalled.v);
    return rc;
}
