/*
 * corridor-lmdb-bench — the raw LMDB group-commit ceiling under Corridor's write shape.
 *
 * N producer threads build what accepting one payment writes (a ~1.2 KiB payment record under
 * a random 16-byte UUID, a ~200 B event under uuid+seq, a ~3 KiB message in the outbox under an
 * increasing sequence, a ~150 B idempotency record under channel+key) and queue it. One writer
 * thread takes up to B queued records, writes them in one transaction and commits with
 * LMDB's default durability (an fdatasync per commit), like tracker/'s group-commit writer.
 * Reported: records/s (a record = one accepted payment) and the latency of each commit and of
 * each record from queueing to durable.
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

#define PAYMENT_BYTES 1200
#define EVENT_BYTES 200
#define MESSAGE_BYTES 3072
#define IDEM_BYTES 150
#define UUID_BYTES 16
#define EVENT_KEY_BYTES (UUID_BYTES + 4) /* uuid + big-endian sequence */
#define IDEM_CHANNEL "CRDRGB20XXX/"
#define IDEM_KEY_MAX 64
#define RECORD_FORMAT 1 /* first byte of every value, as the store's format version */

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
#define DB_COUNT 4

struct record {
    uint64_t enq_ns;
    uint8_t uuid[UUID_BYTES];
    uint8_t idem_key[IDEM_KEY_MAX];
    size_t idem_key_len;
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
    MDB_dbi payments, events, outbox, idem;
    atomic_int stop;
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

static void
make_record(struct record *r, uint64_t *rng)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(IDEM_CHANNEL);

    make_uuid(r->uuid, rng);
    memcpy(r->idem_key, IDEM_CHANNEL, n);
    for (size_t i = 0; i < UUID_BYTES; i++) {
        r->idem_key[n++] = (uint8_t)hex[r->uuid[i] >> 4];
        r->idem_key[n++] = (uint8_t)hex[r->uuid[i] & 0x0f];
    }
    r->idem_key_len = n;
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

/* Everything accepting one payment writes. */
static int
put_record(struct bench *b, MDB_txn *txn, const struct record *r)
{
    uint8_t ekey[EVENT_KEY_BYTES], okey[sizeof(uint64_t)];
    int rc;

    memcpy(ekey, r->uuid, UUID_BYTES);
    be_bytes(ekey + UUID_BYTES, 1, EVENT_KEY_BYTES - UUID_BYTES);
    be_bytes(okey, ++b->outbox_seq, sizeof(okey));
    if ((rc = put(txn, b->payments, r->uuid, UUID_BYTES, r->payment, PAYMENT_BYTES,
                  MDB_NOOVERWRITE)) != 0 ||
        (rc = put(txn, b->events, ekey, sizeof(ekey), r->event, EVENT_BYTES, 0)) != 0 ||
        (rc = put(txn, b->outbox, okey, sizeof(okey), r->message, MESSAGE_BYTES, MDB_APPEND)) !=
            0 ||
        (rc = put(txn, b->idem, r->idem_key, r->idem_key_len, r->idem, IDEM_BYTES, 0)) != 0)
        return rc;
    return 0;
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
    do {
        make_record(r, &rng);
    } while (queue_push(b, r));
    free(r);
    return NULL;
}

/* --- store ----------------------------------------------------------------------------------- */

static int
open_dbs(struct bench *b)
{
    static const char *const names[DB_COUNT] = {"payments", "events", "outbox", "idem"};
    MDB_dbi *dbis[DB_COUNT] = {&b->payments, &b->events, &b->outbox, &b->idem};
    MDB_txn *txn;
    int rc = mdb_txn_begin(b->env, NULL, 0, &txn);

    for (size_t i = 0; rc == 0 && i < DB_COUNT; i++)
        rc = mdb_dbi_open(txn, names[i], MDB_CREATE, dbis[i]);
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
    return UUID_BYTES + PAYMENT_BYTES + EVENT_KEY_BYTES + EVENT_BYTES + sizeof(uint64_t) +
           MESSAGE_BYTES + strlen(IDEM_CHANNEL) + 2 * UUID_BYTES + IDEM_BYTES;
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
