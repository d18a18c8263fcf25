/*
 * corridor-lmdb-bench — the raw LMDB group-commit ceiling under Corridor's write shape.
 *
 * N producer threads build what accepting one payment writes in tracker/ (sizes measured on a
 * store filled by POST /v1/payments) and queue it:
 *   payments       pkey -> 1090 B record            events       pkey|seq -> 440 B
 *   payment_keys   uuid16 -> 9 B (created time)
 *   messages       pkey|"pacs.008" -> 2780 B        outbox       seq (append) -> 67 B
 *   outbox_uetr    pkey|seq -> mark                 idem         scope\0key -> 383 B
 *   (pkey = created_ms | uuid16, tracker/record.h)
 *   by_owner, by_status_time, by_created, by_updated, by_deadline: time-ordered keys -> mark
 *   by_e2e         account|e2e|amount|ccy|time|uuid (104 B) -> mark
 *   the debit account and two counters rewritten.
 * One writer thread takes up to B queued records, writes them in one transaction (no child
 * transactions, no record encoding: the raw cost) and commits with LMDB's default durability
 * (an fdatasync per commit), like tracker/'s group-commit writer. Reported: records/s (a
 * record = one accepted payment) and the latency of each commit and of each record from
 * queueing to durable.
 *
 * Nothing here is tuned away from durability: no MDB_NOSYNC, MDB_NOMETASYNC or MDB_WRITEMAP.
 */
#include "histogram.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <lmdb.h>

#define PAYMENT_BYTES 1090
#define EVENT_BYTES 440
#define MESSAGE_BYTES 2780
#define OUTBOX_BYTES 67
#define IDEM_BYTES 383
#define ACCOUNT_BYTES 39
#define COUNTER_BYTES 9
#define MARK_BYTES 1
#define UUID_BYTES 16
#define TIME_BYTES 8
#define SEQ64_BYTES 8
#define PKEY_BYTES (TIME_BYTES + UUID_BYTES) /* created_ms ob64 | uuid */
#define PAYMENT_KEY_BYTES 9                  /* version | created_ms: the value's size */
#define EVENT_KEY_BYTES (PKEY_BYTES + 4)       /* pkey + big-endian sequence */
#define MSG_NAME "pacs.008"
#define MSG_KEY_BYTES (PKEY_BYTES + 8)
#define E2E_ACCOUNT_BYTES 34
#define E2E_ID_BYTES 35
#define E2E_KEY_BYTES (E2E_ACCOUNT_BYTES + E2E_ID_BYTES + 8 + 3 + TIME_BYTES + UUID_BYTES)
#define TIME_KEY_BYTES (TIME_BYTES + UUID_BYTES)
#define OWNER_KEY_BYTES (8 + TIME_KEY_BYTES)
#define STATUS_KEY_BYTES (4 + TIME_KEY_BYTES)
#define IDEM_SCOPE "channel"
#define IDEM_KEY_MAX 64
#define ACCOUNT_ID "GB33BUKB20201555555555"
#define RECORD_FORMAT 1 /* first byte of every value, as the store's format version */
#define SLA_MS (86400LL * 1000)

#define DEFAULT_BATCH 64
#define MAX_BATCH 65536
#define DEFAULT_PRODUCERS 2
#define MAX_PRODUCERS 64
#define DEFAULT_DURATION_S 10
#define MAX_DURATION_S 3600
#define DEFAULT_MAP_MIB 32768
#define MAX_MAP_MIB (1024 * 1024)
#define MIB (1024ULL * 1024ULL)
#define STOP_POLL_MS 100 /* how often blocked threads look at the stop flag */
enum db {
    DB_PAYMENTS,
    DB_EVENTS,
    DB_MESSAGES,
    DB_OUTBOX,
    DB_OUTBOX_UETR,
    DB_IDEM,
    DB_META,
    DB_ACCOUNTS,
    DB_BY_OWNER,
    DB_BY_STATUS_TIME,
    DB_BY_CREATED,
    DB_BY_UPDATED,
    DB_BY_DEADLINE,
    DB_BY_E2E,
    DB_PAYMENT_KEYS,
    DB_COUNT
};

struct record {
    uint64_t enq_ns;
    int64_t created_ms;
    uint8_t uuid[UUID_BYTES];
    uint8_t idem_key[IDEM_KEY_MAX];
    size_t idem_key_len;
    char e2e[E2E_ID_BYTES + 1];
    uint8_t payment[PAYMENT_BYTES];
    uint8_t event[EVENT_BYTES];
    uint8_t message[MESSAGE_BYTES];
    uint8_t idem[IDEM_BYTES];
};

/* Bounded ring: producers append at head+count, the writer owns [head, head+taken) while it
 * commits them and releases them afterwards, so producers never touch a record in flight. */
struct queue {
    pthread_mutex_t mu;
    pthread_cond_t nonempty, notfull;
    struct record *ring;
    size_t cap, head, count;
};

struct options {
    const char *dir;
    uint64_t batch, producers, duration, map_mib;
    bool json, keep;
};

struct bench {
    struct options opt;
    struct queue q;
    MDB_env *env;
    MDB_dbi dbi[DB_COUNT];
    atomic_int stop;
    atomic_uint producer_ids;
    int error; /* first LMDB error of the writer, 0 if none */
    uint64_t records, commits, outbox_seq, t_first, t_last;
    hist *commit_lat, *record_lat;
};

static atomic_int interrupted;

static void
on_signal(int sig)
{
    (void)sig;
    atomic_store(&interrupted, 1);
}

/* --- records --------------------------------------------------------------------------------- */

/* xorshift64*: cheap filler bytes and UUIDs, one generator per producer. */
static uint64_t
next_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

static void
fill(uint8_t *p, size_t n, uint64_t *rng)
{
    for (size_t i = 0; i < n; i += sizeof(uint64_t)) {
        uint64_t r = next_rand(rng);
        size_t k = n - i < sizeof(r) ? n - i : sizeof(r);
        memcpy(p + i, &r, k);
    }
    p[0] = RECORD_FORMAT;
}

static void
make_uuid(uint8_t u[UUID_BYTES], uint64_t *rng)
{
    uint64_t a = next_rand(rng), b = next_rand(rng);
    memcpy(u, &a, sizeof(a));
    memcpy(u + sizeof(a), &b, sizeof(b));
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

/* The idempotency key and E2E id corridor-load sends: run, producer and sequence. */
static void
make_record(struct record *r, uint64_t *rng, unsigned producer, uint64_t seq)
{
    size_t n = strlen(IDEM_SCOPE) + 1;
    struct timespec ts;

    make_uuid(r->uuid, rng);
    clock_gettime(CLOCK_REALTIME, &ts);
    r->created_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    memcpy(r->idem_key, IDEM_SCOPE, n); /* scope, NUL, key */
    n += (size_t)snprintf((char *)r->idem_key + n, IDEM_KEY_MAX - n, "corridor-load-%x-%" PRIu64,
                          producer, seq);
    r->idem_key_len = n < IDEM_KEY_MAX ? n : IDEM_KEY_MAX - 1;
    snprintf(r->e2e, sizeof(r->e2e), "LT-%x-%" PRIu64, producer, seq);
    fill(r->payment, sizeof(r->payment), rng);
    fill(r->event, sizeof(r->event), rng);
    fill(r->message, sizeof(r->message), rng);
    fill(r->idem, sizeof(r->idem), rng);
}

/* --- queue ----------------------------------------------------------------------------------- */

static int
queue_init(struct queue *q, size_t cap)
{
    q->ring = calloc(cap, sizeof(*q->ring));
    if (q->ring == NULL)
        return -1;
    q->cap = cap;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->nonempty, NULL);
    pthread_cond_init(&q->notfull, NULL);
    return 0;
}

static void
queue_destroy(struct queue *q)
{
    if (q->ring == NULL)
        return;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->nonempty);
    pthread_cond_destroy(&q->notfull);
    free(q->ring);
}

/* Waits at most STOP_POLL_MS, so a stop is noticed even if nobody signals. */
static void
timed_wait(pthread_cond_t *cv, pthread_mutex_t *mu)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += STOP_POLL_MS * (long)BU_NS_PER_MS;
    if (ts.tv_nsec >= (long)BU_NS_PER_SEC) {
        ts.tv_sec++;
        ts.tv_nsec -= (long)BU_NS_PER_SEC;
    }
    pthread_cond_timedwait(cv, mu, &ts);
}

static bool
queue_push(struct bench *b, const struct record *r)
{
    struct queue *q = &b->q;

    pthread_mutex_lock(&q->mu);
    while (q->count == q->cap && !atomic_load(&b->stop))
        timed_wait(&q->notfull, &q->mu);
    bool ok = !atomic_load(&b->stop);
    if (ok) {
        struct record *slot = &q->ring[(q->head + q->count) % q->cap];
        memcpy(slot, r, sizeof(*slot));
        slot->enq_ns = bu_now_ns();
        q->count++;
        pthread_cond_signal(&q->nonempty);
    }
    pthread_mutex_unlock(&q->mu);
    return ok;
}

/* Returns how many records (up to the batch size) the writer may take from q->head. */
static size_t
queue_take(struct bench *b)
{
    struct queue *q = &b->q;

    pthread_mutex_lock(&q->mu);
    while (q->count == 0 && !atomic_load(&b->stop))
        timed_wait(&q->nonempty, &q->mu);
    size_t n = q->count < b->opt.batch ? q->count : b->opt.batch;
    pthread_mutex_unlock(&q->mu);
    return n;
}

static void
queue_release(struct queue *q, size_t n)
{
    pthread_mutex_lock(&q->mu);
    q->head = (q->head + n) % q->cap;
    q->count -= n;
    pthread_cond_broadcast(&q->notfull);
    pthread_mutex_unlock(&q->mu);
}

/* --- writer ---------------------------------------------------------------------------------- */

static int
put(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen, const void *v, size_t vlen,
    unsigned flags)
{
    MDB_val key = {.mv_size = klen, .mv_data = (void *)k};
    MDB_val val = {.mv_size = vlen, .mv_data = (void *)v};
    return mdb_put(txn, dbi, &key, &val, flags);
}

static void
be_bytes(uint8_t *out, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* int64 with the sign bit flipped, big-endian: byte order = numeric order (record.h ob64). */
static void
ob64(uint8_t *out, int64_t v)
{
    be_bytes(out, (uint64_t)v ^ (UINT64_C(1) << 63), TIME_BYTES);
}

static void
padded(uint8_t *out, const char *s, size_t width)
{
    size_t n = strnlen(s, width);

    memcpy(out, s, n);
    memset(out + n, 0, width - n);
}

static int
mark(MDB_txn *txn, MDB_dbi dbi, const uint8_t *k, size_t klen)
{
    static const uint8_t m[MARK_BYTES] = {RECORD_FORMAT};
    return put(txn, dbi, k, klen, m, sizeof(m), 0);
}

/* The five time-ordered indexes of a new payment. */
static int
put_indexes(struct bench *b, MDB_txn *txn, const struct record *r)
{
    uint8_t tk[TIME_KEY_BYTES], ok[OWNER_KEY_BYTES], sk[STATUS_KEY_BYTES], dk[TIME_KEY_BYTES];
    int rc;

    ob64(tk, r->created_ms);
    memcpy(tk + TIME_BYTES, r->uuid, UUID_BYTES);
    padded(ok, "CRDRGB20", 8);
    memcpy(ok + 8, tk, sizeof(tk));
    padded(sk, "ACSP", 4);
    memcpy(sk + 4, tk, sizeof(tk));
    ob64(dk, r->created_ms + SLA_MS);
    memcpy(dk + TIME_BYTES, r->uuid, UUID_BYTES);
    if ((rc = mark(txn, b->dbi[DB_BY_OWNER], ok, sizeof(ok))) != 0 ||
        (rc = mark(txn, b->dbi[DB_BY_STATUS_TIME], sk, sizeof(sk))) != 0 ||
        (rc = mark(txn, b->dbi[DB_BY_CREATED], tk, sizeof(tk))) != 0 ||
        (rc = mark(txn, b->dbi[DB_BY_UPDATED], tk, sizeof(tk))) != 0)
        return rc;
    return mark(txn, b->dbi[DB_BY_DEADLINE], dk, sizeof(dk));
}

static int
put_e2e(struct bench *b, MDB_txn *txn, const struct record *r)
{
    uint8_t k[E2E_KEY_BYTES], *at = k;

    padded(at, ACCOUNT_ID, E2E_ACCOUNT_BYTES);
    at += E2E_ACCOUNT_BYTES;
    padded(at, r->e2e, E2E_ID_BYTES);
    at += E2E_ID_BYTES;
    ob64(at, 1000);
    at += 8;
    padded(at, "EUR", 3);
    at += 3;
    ob64(at, r->created_ms);
    memcpy(at + TIME_BYTES, r->uuid, UUID_BYTES);
    return mark(txn, b->dbi[DB_BY_E2E], k, sizeof(k));
}

/* The reservation and the counters: the same few keys rewritten by every payment. */
static int
put_shared(struct bench *b, MDB_txn *txn, const struct record *r)
{
    uint8_t counter[COUNTER_BYTES] = {RECORD_FORMAT};
    int rc;

    be_bytes(counter + 1, b->outbox_seq, 8);
    if ((rc = put(txn, b->dbi[DB_ACCOUNTS], ACCOUNT_ID, strlen(ACCOUNT_ID), r->idem,
                  ACCOUNT_BYTES, 0)) != 0 ||
        (rc = put(txn, b->dbi[DB_META], "payments", 8, counter, sizeof(counter), 0)) != 0)
        return rc;
    return put(txn, b->dbi[DB_META], "outbox_seq", 10, counter, sizeof(counter), 0);
}

/* Everything accepting one payment writes. */
static int
put_record(struct bench *b, MDB_txn *txn, const struct record *r)
{
    uint8_t pkey[PKEY_BYTES], ekey[EVENT_KEY_BYTES], mkey[MSG_KEY_BYTES], okey[SEQ64_BYTES];
    uint8_t oukey[PKEY_BYTES + SEQ64_BYTES];
    int rc;

    ob64(pkey, r->created_ms);
    memcpy(pkey + TIME_BYTES, r->uuid, UUID_BYTES);
    memcpy(ekey, pkey, PKEY_BYTES);
    be_bytes(ekey + PKEY_BYTES, 1, EVENT_KEY_BYTES - PKEY_BYTES);
    memcpy(mkey, pkey, PKEY_BYTES);
    memcpy(mkey + PKEY_BYTES, MSG_NAME, MSG_KEY_BYTES - PKEY_BYTES);
    be_bytes(okey, ++b->outbox_seq, sizeof(okey));
    memcpy(oukey, pkey, PKEY_BYTES);
    memcpy(oukey + PKEY_BYTES, okey, sizeof(okey));
    if ((rc = put(txn, b->dbi[DB_PAYMENT_KEYS], r->uuid, UUID_BYTES, pkey, PAYMENT_KEY_BYTES,
                  MDB_NOOVERWRITE)) != 0 ||
        (rc = put(txn, b->dbi[DB_PAYMENTS], pkey, PKEY_BYTES, r->payment, PAYMENT_BYTES,
                  MDB_NOOVERWRITE)) != 0 ||
        (rc = put(txn, b->dbi[DB_EVENTS], ekey, sizeof(ekey), r->event, EVENT_BYTES, 0)) != 0 ||
        (rc = put(txn, b->dbi[DB_MESSAGES], mkey, sizeof(mkey), r->message, MESSAGE_BYTES, 0)) !=
            0 ||
        (rc = put(txn, b->dbi[DB_OUTBOX], okey, sizeof(okey), r->event, OUTBOX_BYTES,
                  MDB_APPEND)) != 0 ||
        (rc = mark(txn, b->dbi[DB_OUTBOX_UETR], oukey, sizeof(oukey))) != 0 ||
        (rc = put(txn, b->dbi[DB_IDEM], r->idem_key, r->idem_key_len, r->idem, IDEM_BYTES, 0)) !=
            0 ||
        (rc = put_indexes(b, txn, r)) != 0 || (rc = put_e2e(b, txn, r)) != 0)
        return rc;
    return put_shared(b, txn, r);
}

static int
commit_batch(struct bench *b, size_t n)
{
    struct queue *q = &b->q;
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(b->env, NULL, 0, &txn);

    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = put_record(b, txn, &q->ring[(q->head + i) % q->cap]);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn); /* fdatasync happens here */
}

static void
account_batch(struct bench *b, size_t n, uint64_t t0, uint64_t t1)
{
    hist_record(b->commit_lat, t1 - t0);
    for (size_t i = 0; i < n; i++) {
        const struct record *r = &b->q.ring[(b->q.head + i) % b->q.cap];
        hist_record(b->record_lat, t1 - r->enq_ns);
    }
    if (b->commits == 0)
        b->t_first = t0;
    b->t_last = t1;
    b->commits++;
    b->records += n;
}

static void *
writer_main(void *arg)
{
    struct bench *b = arg;

    while (!atomic_load(&b->stop)) {
        size_t n = queue_take(b);
        if (n == 0)
            continue;
        uint64_t t0 = bu_now_ns();
        int rc = commit_batch(b, n);
        if (rc != 0) {
            b->error = rc;
            atomic_store(&b->stop, 1);
            break;
        }
        account_batch(b, n, t0, bu_now_ns());
        queue_release(&b->q, n);
    }
    return NULL;
}

static void *
producer_main(void *arg)
{
    struct bench *b = arg;
    struct record *r = malloc(sizeof(*r));
    uint64_t rng;

    if (r == NULL || getrandom(&rng, sizeof(rng), 0) != (ssize_t)sizeof(rng)) {
        free(r);
        return NULL;
    }
    rng |= 1; /* xorshift must not start at 0 */
    unsigned id = atomic_fetch_add(&b->producer_ids, 1);
    uint64_t seq = 0;
    do {
        make_record(r, &rng, id, seq++);
    } while (queue_push(b, r));
    free(r);
    return NULL;
}

/* --- store ----------------------------------------------------------------------------------- */

static int
open_dbs(struct bench *b)
{
    static const char *const names[DB_COUNT] = {
        [DB_PAYMENTS] = "payments",       [DB_EVENTS] = "events",
        [DB_MESSAGES] = "messages",       [DB_OUTBOX] = "outbox",
        [DB_OUTBOX_UETR] = "outbox_uetr", [DB_IDEM] = "idem",
        [DB_META] = "meta",               [DB_ACCOUNTS] = "accounts",
        [DB_BY_OWNER] = "by_owner",       [DB_BY_STATUS_TIME] = "by_status_time",
        [DB_BY_CREATED] = "by_created",   [DB_BY_UPDATED] = "by_updated",
        [DB_BY_DEADLINE] = "by_deadline", [DB_BY_E2E] = "by_e2e",
        [DB_PAYMENT_KEYS] = "payment_keys"};
    MDB_txn *txn;
    int rc = mdb_txn_begin(b->env, NULL, 0, &txn);

    for (size_t i = 0; rc == 0 && i < DB_COUNT; i++)
        rc = mdb_dbi_open(txn, names[i], MDB_CREATE, &b->dbi[i]);
    if (rc != 0) {
        if (txn != NULL)
            mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

static int
open_store(struct bench *b)
{
    int rc = mdb_env_create(&b->env);

    if (rc == 0)
        rc = mdb_env_set_maxdbs(b->env, DB_COUNT);
    if (rc == 0)
        rc = mdb_env_set_mapsize(b->env, (size_t)(b->opt.map_mib * MIB));
    if (rc == 0)
        rc = mdb_env_open(b->env, b->opt.dir, 0, 0600); /* default durability */
    if (rc == 0)
        rc = open_dbs(b);
    if (rc != 0)
        fprintf(stderr, "corridor-lmdb-bench: %s: %s\n", b->opt.dir, mdb_strerror(rc));
    return rc;
}

/* A fresh store each run: numbers from a half-full B-tree are not comparable. */
static int
prepare_dir(const char *dir)
{
    char path[4096];
    struct stat st;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "corridor-lmdb-bench: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    int n = snprintf(path, sizeof(path), "%s/data.mdb", dir);
    if (n < 0 || (size_t)n >= sizeof(path) || stat(path, &st) == 0) {
        fprintf(stderr,
                "corridor-lmdb-bench: %s holds a store already; use an empty "
                "directory\n",
                dir);
        return -1;
    }
    return 0;
}

static void
remove_store(const char *dir)
{
    static const char *const files[] = {"data.mdb", "lock.mdb"};
    char path[4096];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        int n = snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        if (n > 0 && (size_t)n < sizeof(path))
            unlink(path);
    }
}

/* --- options --------------------------------------------------------------------------------- */

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: corridor-lmdb-bench --dir DIR [options]\n"
            "  --dir DIR        empty (or new) directory for the store\n"
            "  --batch B        records per commit at most (default %d)\n"
            "  --producers N    producer threads (default %d)\n"
            "  -d S             seconds (default %d)\n"
            "  --map-size MIB   LMDB map size (default %d)\n"
            "  --keep           keep data.mdb afterwards (default: removed)\n"
            "  --json           machine-readable result on stdout\n",
            DEFAULT_BATCH, DEFAULT_PRODUCERS, DEFAULT_DURATION_S, DEFAULT_MAP_MIB);
}

enum { OPT_DIR = 256, OPT_BATCH, OPT_PRODUCERS, OPT_MAP, OPT_KEEP, OPT_JSON };

static const struct option long_opts[] = {
    {"dir", required_argument, NULL, OPT_DIR},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"producers", required_argument, NULL, OPT_PRODUCERS},
    {"map-size", required_argument, NULL, OPT_MAP},
    {"keep", no_argument, NULL, OPT_KEEP},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int
number(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    int rc = bu_parse_u64(s, min, max, out);
    if (rc != BU_OK)
        fprintf(stderr, "corridor-lmdb-bench: %s '%s': %s (%" PRIu64 "..%" PRIu64 ")\n", what, s,
                bu_strerror(rc), min, max);
    return rc;
}

static int
parse_opt(struct options *o, int opt, const char *arg)
{
    switch (opt) {
    case OPT_DIR:
        o->dir = arg;
        return 0;
    case OPT_KEEP:
        o->keep = true;
        return 0;
    case OPT_JSON:
        o->json = true;
        return 0;
    case OPT_BATCH:
        return number("--batch", arg, 1, MAX_BATCH, &o->batch);
    case OPT_PRODUCERS:
        return number("--producers", arg, 1, MAX_PRODUCERS, &o->producers);
    case OPT_MAP:
        return number("--map-size", arg, 1, MAX_MAP_MIB, &o->map_mib);
    case 'd':
        return number("-d", arg, 1, MAX_DURATION_S, &o->duration);
    default:
        return -1;
    }
}

static int
parse_args(struct options *o, int argc, char **argv)
{
    int opt;

    *o = (struct options){.batch = DEFAULT_BATCH,
                          .producers = DEFAULT_PRODUCERS,
                          .duration = DEFAULT_DURATION_S,
                          .map_mib = DEFAULT_MAP_MIB};
    while ((opt = getopt_long(argc, argv, "d:h", long_opts, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            exit(0);
        }
        if (opt == '?' || parse_opt(o, opt, optarg) != 0)
            return -1;
    }
    if (optind != argc || o->dir == NULL) {
        fprintf(stderr, "corridor-lmdb-bench: --dir is required\n");
        return -1;
    }
    return 0;
}

/* --- run and report -------------------------------------------------------------------------- */

/* Sleeps for the run's duration in short steps, so ^C ends it early. */
static void
wait_duration(struct bench *b)
{
    uint64_t end = bu_now_ns() + b->opt.duration * BU_NS_PER_SEC;
    struct timespec step = {.tv_sec = 0, .tv_nsec = STOP_POLL_MS * (long)BU_NS_PER_MS};

    while (bu_now_ns() < end && !atomic_load(&interrupted) && !atomic_load(&b->stop))
        nanosleep(&step, NULL);
    atomic_store(&b->stop, 1);
}

static int
run(struct bench *b)
{
    pthread_t writer, producers[MAX_PRODUCERS];
    unsigned started = 0;
    int rc = 0;

    if (pthread_create(&writer, NULL, writer_main, b) != 0)
        return -1;
    for (; started < b->opt.producers; started++) {
        if (pthread_create(&producers[started], NULL, producer_main, b) != 0) {
            rc = -1;
            break;
        }
    }
    if (rc == 0)
        wait_duration(b);
    atomic_store(&b->stop, 1);
    for (unsigned i = 0; i < started; i++)
        pthread_join(producers[i], NULL);
    pthread_join(writer, NULL);
    return rc;
}

static void
set_real(json_t *o, const char *key, double v)
{
    json_object_set_new(o, key, json_real(v));
}

static void
set_u64(json_t *o, const char *key, uint64_t v)
{
    json_object_set_new(o, key, json_integer((json_int_t)v));
}

static json_t *
lat_json(const hist *h)
{
    double us = (double)BU_NS_PER_US;
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    set_real(o, "p50", (double)hist_percentile(h, 50) / us);
    set_real(o, "p90", (double)hist_percentile(h, 90) / us);
    set_real(o, "p99", (double)hist_percentile(h, 99) / us);
    set_real(o, "p99_9", (double)hist_percentile(h, 99.9) / us);
    set_real(o, "max", (double)hist_max(h) / us);
    set_real(o, "mean", hist_mean(h) / us);
    return o;
}

static double
elapsed_s(const struct bench *b)
{
    return b->t_last > b->t_first ? (double)(b->t_last - b->t_first) / BU_NS_PER_SEC : 0.0;
}

static double
per_s(uint64_t n, double s)
{
    return s > 0 ? (double)n / s : 0.0;
}

/* Bytes of keys and values one record puts into the store. */
static size_t
record_bytes(void)
{
    return UUID_BYTES + PAYMENT_BYTES + EVENT_KEY_BYTES + EVENT_BYTES + MSG_KEY_BYTES +
           MESSAGE_BYTES + SEQ64_BYTES + OUTBOX_BYTES + PKEY_BYTES + SEQ64_BYTES + MARK_BYTES +
           strlen(IDEM_SCOPE) + 1 + strlen("corridor-load-0-0") + IDEM_BYTES +
           OWNER_KEY_BYTES + STATUS_KEY_BYTES + 3 * TIME_KEY_BYTES + E2E_KEY_BYTES +
           6 * MARK_BYTES + strlen(ACCOUNT_ID) + ACCOUNT_BYTES + 18 + 2 * COUNTER_BYTES;
}

static json_t *
result_json(const struct bench *b)
{
    double s = elapsed_s(b);
    json_t *j = json_object(), *cfg = json_object();

    if (j == NULL || cfg == NULL) {
        json_decref(j);
        json_decref(cfg);
        return NULL;
    }
    set_u64(cfg, "batch", b->opt.batch);
    set_u64(cfg, "producers", b->opt.producers);
    set_u64(cfg, "duration_s", b->opt.duration);
    json_object_set_new(j, "config", cfg);
    set_u64(j, "records", b->records);
    set_u64(j, "commits", b->commits);
    set_real(j, "elapsed_s", s);
    set_real(j, "records_per_s", per_s(b->records, s));
    set_real(j, "commits_per_s", per_s(b->commits, s));
    set_real(j, "mean_batch", b->commits > 0 ? (double)b->records / (double)b->commits : 0.0);
    set_u64(j, "bytes_per_record", record_bytes());
    json_object_set_new(j, "commit_latency_us", lat_json(b->commit_lat));
    json_object_set_new(j, "record_latency_us", lat_json(b->record_lat));
    return j;
}

static int
print_json(const struct bench *b)
{
    json_t *j = result_json(b);
    int rc = 0;

    /* A part whose allocation failed is absent (json_object_set_new refuses NULL). */
    if (j == NULL || json_object_size(j) != 10 ||
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
        fprintf(stderr, "corridor-lmdb-bench: cannot write JSON\n");
        rc = -1;
    } else {
        printf("\n");
    }
    json_decref(j);
    return rc;
}

static void
print_lat(const char *label, const hist *h)
{
    printf("  %-16sp50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms\n", label,
           (double)hist_percentile(h, 50) / BU_NS_PER_MS,
           (double)hist_percentile(h, 90) / BU_NS_PER_MS,
           (double)hist_percentile(h, 99) / BU_NS_PER_MS,
           (double)hist_percentile(h, 99.9) / BU_NS_PER_MS, (double)hist_max(h) / BU_NS_PER_MS);
}

static void
print_text(const struct bench *b)
{
    double s = elapsed_s(b);

    printf("corridor-lmdb-bench: batch %" PRIu64 ", %" PRIu64 " producer(s), %" PRIu64
           " s, fsync per commit\n",
           b->opt.batch, b->opt.producers, b->opt.duration);
    printf("  %-16s%" PRIu64 " in %.2f s = %.1f records/s (%zu bytes each)\n", "records",
           b->records, s, per_s(b->records, s), record_bytes());
    printf("  %-16s%" PRIu64 " = %.1f commits/s, %.1f records per commit\n", "commits", b->commits,
           per_s(b->commits, s), b->commits > 0 ? (double)b->records / (double)b->commits : 0.0);
    print_lat("commit latency", b->commit_lat);
    print_lat("record latency", b->record_lat);
}

static int
setup(struct bench *b)
{
    b->commit_lat = hist_new();
    b->record_lat = hist_new();
    if (b->commit_lat == NULL || b->record_lat == NULL ||
        queue_init(&b->q, 2 * b->opt.batch) != 0) {
        fprintf(stderr, "corridor-lmdb-bench: out of memory\n");
        return -1;
    }
    if (prepare_dir(b->opt.dir) != 0 || open_store(b) != 0)
        return -1;
    return 0;
}

int
main(int argc, char **argv)
{
    static struct bench b;
    int rc = 1;

    if (parse_args(&b.opt, argc, argv) != 0) {
        usage(stderr);
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (setup(&b) != 0)
        goto out;
    if (run(&b) != 0) {
        fprintf(stderr, "corridor-lmdb-bench: cannot start threads\n");
        goto out;
    }
    if (b.error != 0) {
        fprintf(stderr, "corridor-lmdb-bench: commit failed: %s\n", mdb_strerror(b.error));
        goto out;
    }
    if (b.opt.json ? print_json(&b) != 0 : (print_text(&b), false))
        goto out;
    rc = b.records > 0 ? 0 : 3;
out:
    if (b.env != NULL) {
        mdb_env_close(b.env);
        if (!b.opt.keep)
            remove_store(b.opt.dir);
    }
    queue_destroy(&b.q);
    hist_free(b.commit_lat);
    hist_free(b.record_lat);
    return rc;
}
