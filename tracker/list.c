/*
 * list — paged reads over the indexes: a channel's (or everyone's) payments newest first, the
 * changed feed by update time, and the names of a payment's messages.
 *
 * A cursor is the index position of the last payment a page looked at (time and UETR, in
 * hex, tagged with the feed it belongs to), so a page never holds a read txn open between
 * calls, and paging goes on correctly while payments are added or updated. Each call looks at
 * TRK_MAX_SCAN index entries at most: selective filters cost a short page, never a long scan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "trk_int.h"

#define TAG_LIST 'L'
#define TAG_CHANGED 'C'
#define CURSOR_TEXT_LEN (3 + 2 * REC_TIME_LEN + 1 + 2 * REC_UUID_LEN) /* "L1." time "." uuid */

/* ---- cursors ---------------------------------------------------------------------------- */

static void
hex(char *dst, const uint8_t *src, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        dst[2 * i] = digits[src[i] >> 4];
        dst[2 * i + 1] = digits[src[i] & 0xf];
    }
}

static int
unhex(uint8_t *dst, const char *src, size_t n)
{
    size_t i;
    int hi, lo;

    for (i = 0; i < n; i++) {
        hi = src[2 * i] >= '0' && src[2 * i] <= '9'   ? src[2 * i] - '0'
             : src[2 * i] >= 'a' && src[2 * i] <= 'f' ? src[2 * i] - 'a' + 10
                                                      : -1;
        lo = src[2 * i + 1] >= '0' && src[2 * i + 1] <= '9'   ? src[2 * i + 1] - '0'
             : src[2 * i + 1] >= 'a' && src[2 * i + 1] <= 'f' ? src[2 * i + 1] - 'a' + 10
                                                              : -1;
        if (hi < 0 || lo < 0)
            return -1;
        dst[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* pos: time ob64 (8) | uuid (16), the tail of every index key used here. */
static void
cursor_make(char out[TRK_CURSOR_LEN], char tag, const uint8_t *pos)
{
    out[0] = tag;
    out[1] = '1';
    out[2] = '.';
    hex(out + 3, pos, REC_TIME_LEN);
    out[3 + 2 * REC_TIME_LEN] = '.';
    hex(out + 4 + 2 * REC_TIME_LEN, pos + REC_TIME_LEN, REC_UUID_LEN);
    out[CURSOR_TEXT_LEN] = '\0';
}

static int
cursor_parse(const char *c, char tag, uint8_t *pos)
{
    if (strnlen(c, CURSOR_TEXT_LEN + 1) != CURSOR_TEXT_LEN || c[0] != tag || c[1] != '1' ||
        c[2] != '.' || c[3 + 2 * REC_TIME_LEN] != '.')
        return -1;
    if (unhex(pos, c + 3, REC_TIME_LEN) ||
        unhex(pos + REC_TIME_LEN, c + 4 + 2 * REC_TIME_LEN, REC_UUID_LEN))
        return -1;
    return 0;
}

/* ---- a page ----------------------------------------------------------------------------- */

typedef struct page {
    trk_payment *v;
    size_t n, max;
    size_t scanned;
    const uint8_t *last; /* position (time | uuid) of the last entry looked at */
    int more;            /* stopped early: a next page may hold more */
} page;

void
trk_payments_free(trk_payment *p, size_t n)
{
    size_t i;

    if (!p)
        return;
    for (i = 0; i < n; i++)
        trk_payment_clear(&p[i]);
    free(p);
}

typedef int (*filter_fn)(const trk_payment *p, const void *arg);

/* Looks at one index entry: 1 when the page is full or the scan budget is spent. */
static int
visit(trk_store *s, MDB_txn *txn, page *pg, const uint8_t *pos, filter_fn keep, const void *arg,
      int *rc)
{
    trk_payment *p = &pg->v[pg->n];

    pg->scanned++;
    pg->last = pos;
    *rc = trk_get_payment(s, txn, pos + REC_TIME_LEN, p);
    if (*rc == TRK_ERR_NOTFOUND)
        *rc = TRK_ERR_CORRUPT; /* an index entry without its payment */
    if (*rc)
        return 1;
    if (keep(p, arg))
        pg->n++;
    else
        trk_payment_clear(p);
    pg->more = pg->n == pg->max || pg->scanned == TRK_MAX_SCAN;
    return pg->more;
}

static int
page_open(page *pg, unsigned max)
{
    memset(pg, 0, sizeof *pg);
    if (max < 1 || max > TRK_MAX_PAGE)
        return TRK_ERR_INVALID;
    pg->max = max;
    pg->v = calloc(max, sizeof *pg->v);
    return pg->v ? TRK_OK : TRK_ERR_NOMEM;
}

/* Hands the page out (or frees it on failure). The cursor is made while the txn lives. */
static int
page_close(page *pg, int rc, trk_payment **out, size_t *n)
{
    if (rc) {
        trk_payments_free(pg->v, pg->n);
        return rc;
    }
    *out = pg->v;
    *n = pg->n;
    return TRK_OK;
}

static void
page_cursor(const page *pg, char tag, char next[TRK_CURSOR_LEN])
{
    next[0] = '\0';
    if (pg->more && pg->last)
        cursor_make(next, tag, pg->last);
}

static int
bic8_of(const char *bic, uint8_t out[REC_BIC8_LEN])
{
    if (!trk_bic_ok(bic))
        return -1;
    memcpy(out, bic, REC_BIC8_LEN);
    return 0;
}

/* ---- newest first ----------------------------------------------------------------------- */

typedef struct list_scan {
    const trk_query *q;
    size_t plen; /* index prefix: 8 (BIC8) for by_owner, 0 for by_created */
    uint8_t key[REC_BIC8_LEN + REC_TIME_LEN + REC_UUID_LEN];
} list_scan;

static int
list_keep(const trk_payment *p, const void *arg)
{
    const trk_query *q = arg;

    if (q->customer_id && strcmp(p->customer_id, q->customer_id) != 0)
        return 0;
    if (q->status && strcmp(p->status, q->status) != 0)
        return 0;
    if (q->state && (int)p->state != q->state)
        return 0;
    return !q->overdue_only || (p->flags & TRK_PF_OVERDUE);
}

/* Positions on the newest entry before ls->key (the cursor, or past the prefix's end). */
static int
list_first(MDB_cursor *cur, const list_scan *ls, MDB_val *k, MDB_val *v)
{
    int rc;

    k->mv_size = sizeof ls->key - (REC_BIC8_LEN - ls->plen);
    k->mv_data = (void *)ls->key;
    rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND)
        return mdb_cursor_get(cur, k, v, MDB_LAST);
    return rc ? rc : mdb_cursor_get(cur, k, v, MDB_PREV);
}

static int
list_walk(trk_store *s, MDB_txn *txn, const list_scan *ls, page *pg)
{
    size_t klen = sizeof ls->key - (REC_BIC8_LEN - ls->plen);
    MDB_cursor *cur;
    MDB_val k, v;
    int rc, orc = 0;

    rc = mdb_cursor_open(txn, s->dbi[ls->plen ? TRK_DB_BY_OWNER : TRK_DB_BY_CREATED], &cur);
    if (rc)
        return trk_store_rc(rc);
    for (rc = list_first(cur, ls, &k, &v); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
        const uint8_t *key = k.mv_data;
        if (k.mv_size != klen || memcmp(key, ls->key, ls->plen) != 0)
            break;
        if (ls->q->since_ms && rec_get_ob64(key + ls->plen) < ls->q->since_ms)
            break;
        if (visit(s, txn, pg, key + ls->plen, list_keep, ls->q, &orc))
            break;
    }
    mdb_cursor_close(cur);
    if (orc)
        return orc;
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : trk_store_rc(rc);
}

static int
list_setup(const trk_query *q, list_scan *ls)
{
    memset(ls, 0, sizeof *ls);
    ls->q = q;
    if (q->owner_bic) {
        if (bic8_of(q->owner_bic, ls->key))
            return TRK_ERR_INVALID;
        ls->plen = REC_BIC8_LEN;
    }
    if (q->state < 0 || q->state > TRK_STATE_COUNT ||
        (q->status && strnlen(q->status, 5) != REC_STATUS_LEN))
        return TRK_ERR_INVALID;
    if (q->cursor && q->cursor[0])
        return cursor_parse(q->cursor, TAG_LIST, ls->key + ls->plen) ? TRK_ERR_INVALID : 0;
    memset(ls->key + ls->plen, 0xff, REC_TIME_LEN + REC_UUID_LEN); /* past the newest */
    return 0;
}

int
trk_payments_list(trk_store *s, const trk_query *q, trk_payment **out, size_t *n,
                  char next_cursor[TRK_CURSOR_LEN])
{
    list_scan ls;
    MDB_txn *txn;
    page pg;
    int rc;

    if (!out || !n || !next_cursor)
        return TRK_ERR_INVALID;
    *out = NULL;
    *n = 0;
    rc = !s || !q || list_setup(q, &ls); /* before next_cursor is touched: it may be q->cursor */
    next_cursor[0] = '\0';
    if (rc)
        return TRK_ERR_INVALID;
    rc = page_open(&pg, q->limit);
    if (!rc)
        rc = trk_read_begin(s, &txn);
    if (rc)
        return page_close(&pg, rc, out, n);
    rc = list_walk(s, txn, &ls, &pg);
    if (!rc)
        page_cursor(&pg, TAG_LIST, next_cursor);
    trk_read_end(s, txn);
    return page_close(&pg, rc, out, n);
}

/* ---- the changed feed ------------------------------------------------------------------- */

typedef struct changed_scan {
    int has_owner;
    uint8_t owner[REC_BIC8_LEN];
    int64_t to_ms;
    uint8_t start[REC_TIME_LEN + REC_UUID_LEN];
    int after; /* start is a cursor: begin strictly after it */
} changed_scan;

static int
changed_keep(const trk_payment *p, const void *arg)
{
    const changed_scan *cs = arg;

    return !cs->has_owner || strncmp(p->debtor_agent, (const char *)cs->owner, REC_BIC8_LEN) == 0;
}

static int
changed_first(MDB_cursor *cur, const changed_scan *cs, MDB_val *k, MDB_val *v)
{
    int rc;

    k->mv_size = sizeof cs->start;
    k->mv_data = (void *)cs->start;
    rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
    if (!rc && cs->after && k->mv_size == sizeof cs->start &&
        memcmp(k->mv_data, cs->start, sizeof cs->start) == 0)
        rc = mdb_cursor_get(cur, k, v, MDB_NEXT);
    return rc;
}

static int
changed_walk(trk_store *s, MDB_txn *txn, const changed_scan *cs, page *pg)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc, orc = 0;

    rc = mdb_cursor_open(txn, s->dbi[TRK_DB_BY_UPDATED], &cur);
    if (rc)
        return trk_store_rc(rc);
    for (rc = changed_first(cur, cs, &k, &v); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != sizeof cs->start || rec_get_ob64(k.mv_data) >= cs->to_ms)
            break;
        if (visit(s, txn, pg, k.mv_data, changed_keep, cs, &orc))
            break;
    }
    mdb_cursor_close(cur);
    if (orc)
        return orc;
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : trk_store_rc(rc);
}

static int
changed_setup(const char *owner, int64_t from, int64_t to, const char *cursor, changed_scan *cs)
{
    memset(cs, 0, sizeof *cs);
    if (from > to)
        return TRK_ERR_INVALID;
    if (owner) {
        if (bic8_of(owner, cs->owner))
            return TRK_ERR_INVALID;
        cs->has_owner = 1;
    }
    cs->to_ms = to;
    if (cursor && cursor[0]) {
        cs->after = 1;
        return cursor_parse(cursor, TAG_CHANGED, cs->start) ? TRK_ERR_INVALID : 0;
    }
    rec_put_ob64(cs->start, from); /* uuid 0: the first of that millisecond */
    return 0;
}

int
trk_payments_changed(trk_store *s, const char *owner_bic, int64_t from_ms, int64_t to_ms,
                     unsigned max, const char *cursor, trk_payment **out, size_t *n,
                     char next_cursor[TRK_CURSOR_LEN])
{
    changed_scan cs;
    MDB_txn *txn;
    page pg;
    int rc;

    if (!out || !n || !next_cursor)
        return TRK_ERR_INVALID;
    *out = NULL;
    *n = 0;
    rc = !s || changed_setup(owner_bic, from_ms, to_ms, cursor, &cs); /* cursor may alias */
    next_cursor[0] = '\0';
    if (rc)
        return TRK_ERR_INVALID;
    rc = page_open(&pg, max);
    if (!rc)
        rc = trk_read_begin(s, &txn);
    if (rc)
        return page_close(&pg, rc, out, n);
    rc = changed_walk(s, txn, &cs, &pg);
    if (!rc)
        page_cursor(&pg, TAG_CHANGED, next_cursor);
    trk_read_end(s, txn);
    return page_close(&pg, rc, out, n);
}

/* ---- messages --------------------------------------------------------------------------- */

typedef char msg_name[64];

static int
names_push(msg_name **v, size_t *n, size_t *cap, const MDB_val *k)
{
    size_t len = k->mv_size - REC_PKEY_LEN;
    msg_name *grown;

    if (len == 0 || len > TRK_MAX_MSG_NAME)
        return TRK_ERR_CORRUPT;
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        grown = realloc(*v, *cap * sizeof **v);
        if (!grown)
            return TRK_ERR_NOMEM;
        *v = grown;
    }
    memcpy((*v)[*n], (const uint8_t *)k->mv_data + REC_PKEY_LEN, len);
    (*v)[(*n)++][len] = '\0';
    return 0;
}

static int
collect_names(trk_store *s, MDB_txn *txn, const uint8_t pkey[REC_PKEY_LEN], msg_name **v, size_t *n)
{
    MDB_val k = {.mv_size = REC_PKEY_LEN, .mv_data = (void *)pkey}, d;
    MDB_cursor *cur;
    size_t cap = 0;
    int rc, orc = 0;

    rc = mdb_cursor_open(txn, s->dbi[TRK_DB_MESSAGES], &cur);
    if (rc)
        return trk_store_rc(rc);
    for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        if (k.mv_size <= REC_PKEY_LEN || memcmp(k.mv_data, pkey, REC_PKEY_LEN) != 0)
            break;
        orc = names_push(v, n, &cap, &k);
        if (orc)
            break;
    }
    mdb_cursor_close(cur);
    if (orc)
        return orc;
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : trk_store_rc(rc);
}

int
trk_messages_list(trk_store *s, const char *uetr, char (**names)[64], size_t *n)
{
    uint8_t uuid[REC_UUID_LEN], pkey[REC_PKEY_LEN];
    msg_name *arr = NULL;
    MDB_txn *txn;
    int rc;

    if (!names || !n)
        return TRK_ERR_INVALID;
    *names = NULL;
    *n = 0;
    if (!s)
        return TRK_ERR_INVALID;
    if (rec_uuid_parse(uetr, uuid))
        return TRK_ERR_NOTFOUND;
    rc = trk_read_begin(s, &txn);
    if (rc)
        return rc;
    rc = trk_payment_pkey(s, txn, uuid, pkey);
    if (!rc)
        rc = collect_names(s, txn, pkey, &arr, n);
    trk_read_end(s, txn);
    if (rc) {
        free(arr);
        *n = 0;
        return rc;
    }
    *names = arr;
    return TRK_OK;
}
