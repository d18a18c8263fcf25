/*
 * store — the LMDB environment: open and close, the named databases, reads, statistics,
 * and the name tables (trk_strerror, trk_state_name).
 *
 * Durability: the environment is opened without MDB_NOSYNC, MDB_NOMETASYNC or MDB_WRITEMAP,
 * so every commit is fsync'd before mdb_txn_commit returns. MDB_NOTLS ties reader slots to
 * transactions, not threads, so any number of request threads may read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "record.h"
#include "trk_int.h"

#define DIR_MODE 0700
#define FILE_MODE 0600
#define EVENTS_INITIAL 8

static const char *const db_names[TRK_DB_COUNT] = {
    [TRK_DB_PAYMENTS] = "payments",
    [TRK_DB_EVENTS] = "events",
    [TRK_DB_MESSAGES] = "messages",
    [TRK_DB_IDEM] = "idem",
    [TRK_DB_META] = "meta",
    [TRK_DB_BY_OWNER] = "by_owner",
    [TRK_DB_BY_STATUS_TIME] = "by_status_time",
    [TRK_DB_ACCOUNTS] = "accounts",
    [TRK_DB_JOURNAL] = "journal",
    [TRK_DB_AUDIT] = "audit",
    [TRK_DB_DEDUP] = "dedup",
    [TRK_DB_OUTBOX] = "outbox",
    [TRK_DB_OUTBOX_UETR] = "outbox_uetr",
    [TRK_DB_BY_CREATED] = "by_created",
    [TRK_DB_BY_UPDATED] = "by_updated",
    [TRK_DB_BY_EXECUTE] = "by_execute",
    [TRK_DB_BY_DEADLINE] = "by_deadline",
    [TRK_DB_BY_OVERDUE] = "by_overdue",
    [TRK_DB_BY_E2E] = "by_e2e",
    [TRK_DB_PAYMENT_KEYS] = "payment_keys",
    [TRK_DB_IDEM_BY_TIME] = "idem_by_time",
};

/* ---- names ------------------------------------------------------------------------------ */

const char *
trk_strerror(int err)
{
    static const char *const text[] = {
        "out of memory",
        "not found",
        "payment already exists",
        "idempotency key replayed: stored response returned",
        "idempotency key reused with another request",
        "store failure",
        "stored record is corrupt or of an unknown format",
        "store is shutting down",
        "invalid argument",
        "funds reservation refused",
        "duplicate update absorbed",
        "not applicable in the payment's state",
    };
    int i = TRK_ERR_NOMEM - err;

    if (err == TRK_OK)
        return "success";
    if (i < 0 || (size_t)i >= sizeof text / sizeof text[0])
        return "unknown tracker error";
    return text[i];
}

const char *
trk_state_name(trk_state st)
{
    static const char *const names[] = {
        [TRK_RECEIVED] = "RECEIVED",
        [TRK_VALIDATED] = "VALIDATED",
        [TRK_FUNDS_RESERVED] = "FUNDS_RESERVED",
        [TRK_SCHEDULED] = "SCHEDULED",
        [TRK_SENT] = "SENT",
        [TRK_IN_PROGRESS] = "IN_PROGRESS",
        [TRK_COMPLETED] = "COMPLETED",
        [TRK_REJECTED] = "REJECTED",
        [TRK_CANCEL_PENDING] = "CANCEL_PENDING",
        [TRK_CANCELLED] = "CANCELLED",
        [TRK_RETURNED] = "RETURNED",
    };

    if ((int)st < TRK_RECEIVED || (int)st > TRK_RETURNED)
        return "UNKNOWN";
    return names[st];
}

trk_state
trk_state_from_name(const char *name)
{
    int st;

    if (!name)
        return 0;
    for (st = TRK_RECEIVED; st <= TRK_RETURNED; st++)
        if (strcmp(name, trk_state_name((trk_state)st)) == 0)
            return (trk_state)st;
    return 0;
}

/* ---- the clock -------------------------------------------------------------------------- */

int64_t
trk_now(const trk_store *s)
{
    struct timespec ts;

    if (s->now_fn)
        return s->now_fn(s->now_arg);
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
trk_today(const trk_store *s, char out[11])
{
    int64_t ms = trk_now(s);
    time_t secs = (time_t)(ms / 1000 - (ms % 1000 < 0)); /* floor, also before 1970 */
    struct tm tm;

    if (!gmtime_r(&secs, &tm) || strftime(out, 11, "%Y-%m-%d", &tm) != 10)
        snprintf(out, 11, "0000-00-00");
}

void
trk_payment_clear(trk_payment *p)
{
    if (!p)
        return;
    free(p->doc);
    memset(p, 0, sizeof *p);
}

void
trk_event_clear(trk_event *e)
{
    if (!e)
        return;
    free(e->detail);
    memset(e, 0, sizeof *e);
}

void
trk_events_free(trk_event *events, size_t n)
{
    size_t i;

    if (!events)
        return;
    for (i = 0; i < n; i++)
        trk_event_clear(&events[i]);
    free(events);
}

/* ---- open and close --------------------------------------------------------------------- */

static int
make_dir(const char *dir)
{
    struct stat st;

    if (mkdir(dir, DIR_MODE) == 0)
        return TRK_OK;
    if (errno != EEXIST || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return TRK_ERR_STORE;
    return TRK_OK;
}

static uint64_t
initial_map_size(const trk_config *cfg)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t want = cfg->map_size ? cfg->map_size : TRK_DEFAULT_MAP_SIZE;

    return (want + page - 1) / page * page; /* LMDB wants whole OS pages */
}

static int
env_open(trk_store *s, const trk_config *cfg)
{
    MDB_envinfo info;
    int dead;

    if (mdb_env_create(&s->env) != 0)
        return TRK_ERR_NOMEM;
    if (mdb_env_set_maxdbs(s->env, TRK_MAX_DBS) ||
        mdb_env_set_maxreaders(s->env, TRK_MAX_READERS) ||
        mdb_env_set_mapsize(s->env, (size_t)initial_map_size(cfg)))
        return TRK_ERR_STORE;
    if (mdb_env_open(s->env, cfg->dir, MDB_NOTLS | (cfg->read_only ? MDB_RDONLY : 0),
                     FILE_MODE) != 0)
        return TRK_ERR_STORE;
    /* Reader slots left behind by a process that died (a crash) would pin old pages. */
    if (mdb_reader_check(s->env, &dead) != 0)
        return TRK_ERR_STORE;
    /* LMDB may have raised the size to what the file already holds. */
    if (mdb_env_info(s->env, &info) != 0)
        return TRK_ERR_STORE;
    atomic_store(&s->map_size, info.me_mapsize);
    return TRK_OK;
}

/* A store written by a later (or unknown) format is refused, never rewritten. */
static int
check_format(trk_store *s, MDB_txn *txn)
{
    uint8_t mark[REC_MARK_LEN];
    MDB_val k = {.mv_size = strlen(TRK_META_FORMAT), .mv_data = TRK_META_FORMAT}, v;
    int rc;

    rc = mdb_get(txn, s->dbi[TRK_DB_META], &k, &v);
    if (rc == 0)
        return rec_mark_decode(v.mv_data, v.mv_size);
    if (rc != MDB_NOTFOUND)
        return rc;
    rec_mark_encode(mark);
    v.mv_size = sizeof mark;
    v.mv_data = mark;
    return mdb_put(txn, s->dbi[TRK_DB_META], &k, &v, 0);
}

static int
try_open_dbs(trk_store *s)
{
    MDB_txn *txn;
    int i, rc;

    rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc)
        return rc;
    for (i = 0; i < TRK_DB_COUNT && !rc; i++)
        rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE, &s->dbi[i]);
    if (!rc)
        rc = check_format(s, txn);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

/* Read-only: every database must exist already, in a format this build reads. */
static int
open_dbs_read_only(trk_store *s)
{
    MDB_txn *txn;
    MDB_val k = {.mv_size = strlen(TRK_META_FORMAT), .mv_data = TRK_META_FORMAT}, v;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);

    for (int i = 0; i < TRK_DB_COUNT && !rc; i++)
        rc = mdb_dbi_open(txn, db_names[i], 0, &s->dbi[i]);
    if (!rc)
        rc = mdb_get(txn, s->dbi[TRK_DB_META], &k, &v);
    if (!rc)
        rc = rec_mark_decode(v.mv_data, v.mv_size);
    if (rc)
        mdb_txn_abort(txn);
    else
        rc = mdb_txn_commit(txn); /* committing keeps the handles open for the env's life */
    return rc == 0 || rc == TRK_ERR_CORRUPT ? rc : TRK_ERR_STORE;
}

/* Creates the named databases (a tiny initial map may need to grow even for that). */
static int
open_dbs(trk_store *s)
{
    int rc;

    if (s->read_only)
        return open_dbs_read_only(s);
    do {
        rc = try_open_dbs(s);
    } while (rc == MDB_MAP_FULL && trk_map_grow(s) == 0);
    if (rc == 0 || rc == TRK_ERR_CORRUPT)
        return rc;
    return rc == ENOMEM ? TRK_ERR_NOMEM : TRK_ERR_STORE;
}

/* The background threads sleep on bg_cv with CLOCK_MONOTONIC deadlines. */
static int
bg_sync_init(trk_store *s)
{
    pthread_condattr_t ca;
    int rc;

    if (pthread_condattr_init(&ca))
        return TRK_ERR_NOMEM;
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) || pthread_cond_init(&s->bg_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc)
        return TRK_ERR_NOMEM;
    if (pthread_mutex_init(&s->bg_mu, NULL) || pthread_mutex_init(&s->deliver_mu, NULL) ||
        pthread_mutex_init(&s->deliver_pass_mu, NULL) ||
        pthread_mutex_init(&s->timer_pass_mu, NULL))
        return TRK_ERR_NOMEM; /* glibc's default mutexes never fail to initialise */
    return TRK_OK;
}

static int
sync_init(trk_store *s)
{
    pthread_rwlockattr_t attr;
    int rc;

    if (pthread_rwlockattr_init(&attr))
        return TRK_ERR_NOMEM;
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    rc = pthread_rwlock_init(&s->map_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (rc)
        return TRK_ERR_NOMEM;
    if (pthread_mutex_init(&s->mu, NULL)) {
        pthread_rwlock_destroy(&s->map_lock);
        return TRK_ERR_NOMEM;
    }
    if (pthread_cond_init(&s->cv, NULL)) {
        pthread_mutex_destroy(&s->mu);
        pthread_rwlock_destroy(&s->map_lock);
        return TRK_ERR_NOMEM;
    }
    return bg_sync_init(s);
}

static void
sync_destroy(trk_store *s)
{
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    pthread_rwlock_destroy(&s->map_lock);
    pthread_cond_destroy(&s->bg_cv);
    pthread_mutex_destroy(&s->bg_mu);
    pthread_mutex_destroy(&s->deliver_mu);
    pthread_mutex_destroy(&s->deliver_pass_mu);
    pthread_mutex_destroy(&s->timer_pass_mu);
}

static int
config_copy(trk_store *s, const trk_config *cfg)
{
    s->batch_max = cfg->batch_max ? cfg->batch_max : TRK_BATCH_MAX;
    s->sla_ms = cfg->sla_ms;
    s->idem_retention_ms =
        cfg->idem_retention_ms > 0 ? cfg->idem_retention_ms : TRK_DEFAULT_IDEM_RETENTION_MS;
    s->tick_ms = cfg->tick_ms ? cfg->tick_ms : TRK_DEFAULT_TICK_MS;
    s->now_fn = cfg->now_ms;
    s->now_arg = cfg->now_arg;
    if (cfg->spool_dir && cfg->spool_dir[0]) {
        s->spool_dir = strdup(cfg->spool_dir);
        if (!s->spool_dir)
            return TRK_ERR_NOMEM;
    }
    s->batch = calloc(s->batch_max, sizeof *s->batch);
    return s->batch ? TRK_OK : TRK_ERR_NOMEM;
}

static int
spool_open(trk_store *s)
{
    if (!s->spool_dir)
        return TRK_OK;
    if (make_dir(s->spool_dir) != TRK_OK || trk_spool_clean(s) != 0)
        return TRK_ERR_STORE;
    return TRK_OK;
}

/* The threads after the writer: each needs the ones before it running. */
static int
threads_start(trk_store *s, int *writer)
{
    if (trk_writer_start(s) != 0)
        return TRK_ERR_NOMEM;
    *writer = 1;
    if (trk_delivery_start(s) || trk_timer_start(s))
        return TRK_ERR_NOMEM;
    return TRK_OK;
}

static void
store_free(trk_store *s, int synced)
{
    if (s->env)
        mdb_env_close(s->env);
    if (synced)
        sync_destroy(s);
    free(s->unsent);
    free(s->spool_dir);
    free(s->batch);
    free(s);
}

int
trk_open(trk_store **store, const trk_config *cfg)
{
    trk_store *s;
    int rc, synced = 0, writer = 0;

    if (!store)
        return TRK_ERR_INVALID;
    *store = NULL;
    if (!cfg || !cfg->dir || !cfg->dir[0] || cfg->batch_max > TRK_BATCH_MAX ||
        cfg->map_size > TRK_MAX_MAP_SIZE || cfg->sla_ms < 0)
        return TRK_ERR_INVALID;
    s = calloc(1, sizeof *s);
    if (!s)
        return TRK_ERR_NOMEM;
    rc = config_copy(s, cfg);
    if (!rc)
        rc = sync_init(s);
    if (rc)
        goto out;
    synced = 1;
    s->read_only = cfg->read_only;
    rc = cfg->read_only ? TRK_OK : make_dir(cfg->dir);
    if (!rc)
        rc = env_open(s, cfg);
    if (!rc)
        rc = open_dbs(s);
    if (!rc && !s->read_only)
        rc = spool_open(s);
    if (!rc && !s->read_only)
        rc = threads_start(s, &writer);
out:
    if (rc) {
        if (synced)
            trk_bg_stop(s);
        if (writer)
            trk_writer_stop(s);
        store_free(s, synced);
        return rc;
    }
    *store = s;
    return TRK_OK;
}

void
trk_close(trk_store *s)
{
    if (!s)
        return;
    if (!s->read_only) {
        trk_bg_stop(s); /* they wait on the writer: it must still run */
        trk_writer_stop(s);
    }
    store_free(s, 1);
}

int
trk_backup(trk_store *s, const char *dir)
{
    if (!s || !dir)
        return TRK_ERR_INVALID;
    return mdb_env_copy2(s->env, dir, MDB_CP_COMPACT) == 0 ? TRK_OK : TRK_ERR_STORE;
}

/* ---- reads ------------------------------------------------------------------------------ */

int
trk_store_rc(int mdb_rc)
{
    if (mdb_rc == 0)
        return TRK_OK;
    if (mdb_rc == MDB_NOTFOUND)
        return TRK_ERR_NOTFOUND;
    return mdb_rc == ENOMEM ? TRK_ERR_NOMEM : TRK_ERR_STORE;
}

/* A read txn, held under map_lock shared so the map cannot move beneath it. */
int
trk_read_begin(trk_store *s, MDB_txn **txn)
{
    int rc;

    pthread_rwlock_rdlock(&s->map_lock);
    rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
    if (rc == MDB_MAP_RESIZED && s->read_only) {
        /* the daemon (another process) grew the map: adopt its size, under the lock */
        pthread_rwlock_unlock(&s->map_lock);
        pthread_rwlock_wrlock(&s->map_lock);
        mdb_env_set_mapsize(s->env, 0);
        pthread_rwlock_unlock(&s->map_lock);
        pthread_rwlock_rdlock(&s->map_lock);
        rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
    }
    if (rc) {
        pthread_rwlock_unlock(&s->map_lock);
        return trk_store_rc(rc);
    }
    return TRK_OK;
}

void
trk_read_end(trk_store *s, MDB_txn *txn)
{
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&s->map_lock);
}

int
trk_get_payment(trk_store *s, MDB_txn *txn, const uint8_t uuid[REC_UUID_LEN], trk_payment *out)
{
    uint8_t pkey[REC_PKEY_LEN], got[REC_UUID_LEN];
    MDB_val k = {.mv_size = sizeof pkey, .mv_data = pkey}, v;
    int rc;

    rc = trk_payment_pkey(s, txn, uuid, pkey);
    if (rc)
        return rc;
    rc = trk_store_rc(mdb_get(txn, s->dbi[TRK_DB_PAYMENTS], &k, &v));
    if (rc == TRK_ERR_NOTFOUND)
        return TRK_ERR_CORRUPT; /* in payment_keys, not in payments */
    if (rc)
        return rc;
    rc = rec_payment_decode(v.mv_data, v.mv_size, out);
    if (rc)
        return rc;
    /* The record names its own UETR: it must be the key's. */
    if (rec_uuid_parse(out->uetr, got) || memcmp(got, uuid, REC_UUID_LEN) != 0) {
        trk_payment_clear(out);
        return TRK_ERR_CORRUPT;
    }
    return TRK_OK;
}

int
trk_payment_get(trk_store *s, const char *uetr, trk_payment *out)
{
    uint8_t uuid[REC_UUID_LEN];
    MDB_txn *txn;
    int rc;

    if (!out)
        return TRK_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (!s)
        return TRK_ERR_INVALID;
    if (rec_uuid_parse(uetr, uuid))
        return TRK_ERR_NOTFOUND;
    rc = trk_read_begin(s, &txn);
    if (rc)
        return rc;
    rc = trk_get_payment(s, txn, uuid, out);
    trk_read_end(s, txn);
    return rc;
}

/* A growing array of decoded events, bounded by TRK_MAX_EVENTS. */
struct evvec {
    trk_event *v;
    size_t n, cap;
};

static int
evvec_push(struct evvec *ev, const MDB_val *k, const MDB_val *v)
{
    trk_event *grown;
    size_t cap;
    int rc;

    if (ev->n == TRK_MAX_EVENTS)
        return TRK_ERR_CORRUPT; /* writes never store more */
    if (ev->n == ev->cap) {
        cap = ev->cap ? ev->cap * 2 : EVENTS_INITIAL;
        if (cap > TRK_MAX_EVENTS)
            cap = TRK_MAX_EVENTS;
        grown = realloc(ev->v, cap * sizeof *grown);
        if (!grown)
            return TRK_ERR_NOMEM;
        ev->v = grown;
        ev->cap = cap;
    }
    rc = rec_event_decode(v->mv_data, v->mv_size, &ev->v[ev->n]);
    if (rc)
        return rc;
    if (ev->v[ev->n].seq != rec_event_key_seq(k->mv_data)) {
        trk_event_clear(&ev->v[ev->n]);
        return TRK_ERR_CORRUPT;
    }
    ev->n++;
    return TRK_OK;
}

/* Walks the events of one payment: keys pkey | seq BE, contiguous and in seq order. */
static int
collect_events(trk_store *s, MDB_txn *txn, const uint8_t pkey[REC_PKEY_LEN], struct evvec *ev)
{
    uint8_t start[REC_EVENT_KEY_LEN];
    MDB_val k = {.mv_size = sizeof start, .mv_data = start}, v;
    MDB_cursor *cur;
    int rc;

    rec_event_key(pkey, 0, start);
    rc = mdb_cursor_open(txn, s->dbi[TRK_DB_EVENTS], &cur);
    if (rc)
        return trk_store_rc(rc);
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
        if (k.mv_size != REC_EVENT_KEY_LEN || memcmp(k.mv_data, pkey, REC_PKEY_LEN) != 0)
            break;
        rc = evvec_push(ev, &k, &v);
        if (rc)
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND || rc == 0)
        return TRK_OK;
    return trk_is_op_rc(rc) ? rc : trk_store_rc(rc);
}

/* The pkey of a stored payment: TRK_OK, TRK_ERR_NOTFOUND (unknown UETR: 404), an error. */
int
trk_payment_pkey(trk_store *s, MDB_txn *txn, const uint8_t uuid[REC_UUID_LEN],
                 uint8_t pkey[REC_PKEY_LEN])
{
    MDB_val k = {.mv_size = REC_UUID_LEN, .mv_data = (void *)uuid}, v;
    uint64_t created;
    int rc = trk_store_rc(mdb_get(txn, s->dbi[TRK_DB_PAYMENT_KEYS], &k, &v));

    if (!rc)
        rc = rec_counter_decode(v.mv_data, v.mv_size, &created);
    if (!rc)
        rec_pkey((int64_t)created, uuid, pkey);
    return rc;
}

int
trk_events_get(trk_store *s, const char *uetr, trk_event **events, size_t *n)
{
    uint8_t uuid[REC_UUID_LEN], pkey[REC_PKEY_LEN];
    struct evvec ev = {NULL, 0, 0};
    MDB_txn *txn;
    int rc;

    if (!events || !n)
        return TRK_ERR_INVALID;
    *events = NULL;
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
        rc = collect_events(s, txn, pkey, &ev);
    trk_read_end(s, txn);
    if (rc) {
        trk_events_free(ev.v, ev.n);
        return rc;
    }
    *events = ev.v;
    *n = ev.n;
    return TRK_OK;
}

static int
copy_message(const MDB_val *v, char **buf, size_t *len)
{
    const char *msg;
    size_t msg_len;
    int rc;

    rc = rec_message_decode(v->mv_data, v->mv_size, &msg, &msg_len);
    if (rc)
        return rc;
    *buf = malloc(msg_len + 1);
    if (!*buf)
        return TRK_ERR_NOMEM;
    if (msg_len)
        memcpy(*buf, msg, msg_len);
    (*buf)[msg_len] = '\0';
    *len = msg_len;
    return TRK_OK;
}

int
trk_message_get(trk_store *s, const char *uetr, const char *name, char **buf, size_t *len)
{
    uint8_t uuid[REC_UUID_LEN], pkey[REC_PKEY_LEN], key[REC_MSG_KEY_MAX];
    MDB_val k = {.mv_size = 0, .mv_data = key}, v;
    MDB_txn *txn;
    int rc;

    if (!buf || !len)
        return TRK_ERR_INVALID;
    *buf = NULL;
    *len = 0;
    if (!s)
        return TRK_ERR_INVALID;
    if (rec_uuid_parse(uetr, uuid) || !rec_msg_name_ok(name))
        return TRK_ERR_NOTFOUND;
    rc = trk_read_begin(s, &txn);
    if (rc)
        return rc;
    rc = trk_payment_pkey(s, txn, uuid, pkey);
    if (!rc) {
        k.mv_size = rec_msg_key(pkey, name, key);
        rc = trk_store_rc(mdb_get(txn, s->dbi[TRK_DB_MESSAGES], &k, &v));
    }
    if (!rc)
        rc = copy_message(&v, buf, len);
    trk_read_end(s, txn);
    return rc;
}

static int
entries(trk_store *s, MDB_txn *txn, int db, uint64_t *out)
{
    MDB_stat st;
    int rc = mdb_stat(txn, s->dbi[db], &st);

    *out = rc ? 0 : st.ms_entries;
    return rc;
}

/* The counter and the sizes of the databases that are gauges, in one read txn. */
static int
read_gauges(trk_store *s, trk_stats *out)
{
    MDB_val k = {.mv_size = strlen(TRK_META_PAYMENTS), .mv_data = TRK_META_PAYMENTS}, v;
    MDB_txn *txn;
    int rc;

    rc = trk_read_begin(s, &txn);
    if (rc)
        return rc;
    rc = mdb_get(txn, s->dbi[TRK_DB_META], &k, &v);
    if (!rc)
        rc = rec_counter_decode(v.mv_data, v.mv_size, &out->payments);
    else if (rc == MDB_NOTFOUND)
        rc = 0; /* nothing counted yet */
    if (!rc)
        rc = entries(s, txn, TRK_DB_OUTBOX, &out->outbox);
    if (!rc)
        rc = entries(s, txn, TRK_DB_BY_EXECUTE, &out->scheduled);
    if (!rc)
        rc = entries(s, txn, TRK_DB_BY_OVERDUE, &out->overdue);
    if (!rc)
        rc = entries(s, txn, TRK_DB_ACCOUNTS, &out->accounts);
    trk_read_end(s, txn);
    return rc && !trk_is_op_rc(rc) ? trk_store_rc(rc) : rc;
}

int
trk_stats_get(trk_store *s, trk_stats *out)
{
    if (!out)
        return TRK_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (!s)
        return TRK_ERR_INVALID;
    out->batches = atomic_load(&s->batches);
    out->ops = atomic_load(&s->ops);
    out->map_size = atomic_load(&s->map_size);
    out->delivered = atomic_load(&s->delivered);
    out->delivery_errors = atomic_load(&s->delivery_errors);
    pthread_mutex_lock(&s->mu);
    out->queue_depth = s->depth;
    pthread_mutex_unlock(&s->mu);
    return read_gauges(s, out);
}

int
trk_idem_get(trk_store *s, const char *scope, const char *key, const unsigned char digest[32],
             int *status, char **body, size_t *body_len)
{
    uint8_t kbuf[REC_IDEM_KEY_MAX];
    MDB_txn *txn;
    MDB_val k, v;
    rec_idem r;
    int rc;

    if (!s || !scope || !key || !digest || !status || !body || !body_len)
        return TRK_ERR_INVALID;
    if ((k.mv_size = rec_idem_key(scope, key, kbuf)) == 0)
        return TRK_ERR_INVALID;
    k.mv_data = kbuf;
    if ((rc = trk_read_begin(s, &txn)) != TRK_OK)
        return rc;
    rc = mdb_get(txn, s->dbi[TRK_DB_IDEM], &k, &v);
    if (rc == 0)
        rc = rec_idem_decode(v.mv_data, v.mv_size, &r);
    else
        rc = rc == MDB_NOTFOUND ? TRK_ERR_NOTFOUND : trk_store_rc(rc);
    if (rc == TRK_OK && memcmp(r.digest, digest, sizeof r.digest) != 0)
        rc = TRK_ERR_IDEM_CONFLICT;
    else if (rc == TRK_OK && (*body = malloc(r.body_len + 1)) == NULL)
        rc = TRK_ERR_NOMEM;
    else if (rc == TRK_OK) {
        memcpy(*body, r.body, r.body_len);
        (*body)[r.body_len] = '\0';
        *body_len = r.body_len;
        *status = r.status;
        rc = TRK_ERR_IDEM_REPLAY;
    }
    trk_read_end(s, txn);
    return rc;
}
