/*
 * Limits per principal: a token bucket of requests (rate and burst by role, from the
 * configuration) and a count of open connections. Both live in one table keyed by the
 * participant's name, shared by every worker thread.
 *
 * The table is split into shards, each with its own mutex, so workers serving different
 * principals rarely meet; a lookup is a short scan of one shard. It is bounded: names come from
 * the registry (at most GW_MAX_PARTICIPANTS), and reloads may rename participants, so a full
 * shard recycles an entry that holds nothing (no connection open, bucket refilled).
 */
#include "gw_int.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define SHARDS 16
#define SHARD_SLOTS (2 * GW_MAX_PARTICIPANTS / SHARDS) /* room for a reload's renames */
#define MILLI 1000 /* buckets count milli-tokens: sub-token refills are not lost */
#define NS_PER_SEC INT64_C(1000000000)
#define MS_PER_SEC 1000
/* Refill arithmetic is capped at this much idle time: elapsed x rate stays below 2^63. */
#define REFILL_CAP_NS (INT64_C(1000) * NS_PER_SEC)
/* A full shard recycles an entry without connections that has not been used this long. */
#define RECYCLE_IDLE_NS (INT64_C(60) * NS_PER_SEC)
#define RETRY_DIGITS 21 /* an int64 in decimal, and the NUL */

typedef struct slot {
    char name[sizeof(((gw_principal *)0)->name)];
    gw_bucket bucket;
    unsigned conns;
    int64_t seen_ns;
} slot;

typedef struct shard {
    pthread_mutex_t mu;
    slot slots[SHARD_SLOTS];
    unsigned n;
} shard;

static shard table[SHARDS];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void
table_init(void)
{
    for (unsigned i = 0; i < SHARDS; i++)
        pthread_mutex_init(&table[i].mu, NULL);
}

/* FNV-1a: names are operator-chosen, not client-chosen, so no keyed hash is needed. */
static shard *
shard_of(const char *name)
{
    uint32_t h = 2166136261u;

    for (; *name != '\0'; name++)
        h = (h ^ (unsigned char)*name) * 16777619u;
    pthread_once(&table_once, table_init);
    return &table[h % SHARDS];
}

int64_t
gw_bucket_take(gw_bucket *b, unsigned rate, unsigned burst, int64_t now_ns)
{
    int64_t cap = (int64_t)burst * MILLI, elapsed;

    if (b->last_ns == 0) {
        b->milli = cap;
    } else {
        elapsed = now_ns - b->last_ns;
        if (elapsed > REFILL_CAP_NS)
            elapsed = REFILL_CAP_NS;
        if (elapsed > 0)
            b->milli += elapsed * (int64_t)rate / (NS_PER_SEC / MILLI);
        if (b->milli > cap)
            b->milli = cap;
    }
    b->last_ns = now_ns;
    if (b->milli >= MILLI) {
        b->milli -= MILLI;
        return 0;
    }
    /* (MILLI - milli) milli-tokens arrive at `rate` per millisecond; rounded up. */
    return (MILLI - b->milli + rate - 1) / rate + 1;
}

/* An entry that holds nothing worth keeping: no connection, and a full bucket by now. */
static int
slot_idle(const slot *s, int64_t now_ns)
{
    return s->conns == 0 && now_ns - s->seen_ns > RECYCLE_IDLE_NS;
}

/* The principal's entry in its (locked) shard, created when missing; NULL when full. */
static slot *
slot_find(shard *sh, const char *name, int64_t now_ns)
{
    slot *free_slot = NULL;

    for (unsigned i = 0; i < sh->n; i++) {
        if (strcmp(sh->slots[i].name, name) == 0)
            return &sh->slots[i];
        if (free_slot == NULL && slot_idle(&sh->slots[i], now_ns))
            free_slot = &sh->slots[i];
    }
    if (free_slot == NULL && sh->n < SHARD_SLOTS)
        free_slot = &sh->slots[sh->n++];
    if (free_slot == NULL)
        return NULL;
    memset(free_slot, 0, sizeof *free_slot);
    snprintf(free_slot->name, sizeof free_slot->name, "%s", name);
    return free_slot;
}

static void
role_limits(const gw_config *cfg, gw_role role, unsigned *rate, unsigned *burst)
{
    switch (role) {
    case GW_ROLE_CHANNEL:
        *rate = cfg->rate_channel, *burst = cfg->burst_channel;
        break;
    case GW_ROLE_CORRESPONDENT:
        *rate = cfg->rate_correspondent, *burst = cfg->burst_correspondent;
        break;
    case GW_ROLE_CUSTOMER:
        *rate = cfg->rate_customer, *burst = cfg->burst_customer;
        break;
    default:
        *rate = cfg->rate_operator, *burst = cfg->burst_operator;
        break;
    }
    if (*rate == 0)
        *rate = 1; /* a config that bypassed the loader's bounds still limits */
    if (*burst == 0)
        *burst = 1;
}

/* Milliseconds to wait, 0 when the request may go on. A full table refuses nobody: the
 * principals are known participants, and the table is sized for all of them. */
static int64_t
ratelimit_take(const gw_config *cfg, const gw_principal *p, int64_t now_ns)
{
    shard *sh = shard_of(p->name);
    unsigned rate, burst;
    int64_t wait = 0;
    slot *s;

    role_limits(cfg, p->role, &rate, &burst);
    pthread_mutex_lock(&sh->mu);
    s = slot_find(sh, p->name, now_ns);
    if (s != NULL) {
        s->seen_ns = now_ns;
        wait = gw_bucket_take(&s->bucket, rate, burst, now_ns);
    }
    pthread_mutex_unlock(&sh->mu);
    return wait;
}

static void
respond_429(gw_request *req, int64_t wait_ms)
{
    char secs[RETRY_DIGITS];
    gw_header h = {"retry-after", secs};
    json_t *body;

    snprintf(secs, sizeof secs, "%lld", (long long)((wait_ms + MS_PER_SEC - 1) / MS_PER_SEC));
    body = json_pack("{s:s, s:s, s:[]}", "code", "RATE_LIMITED", "text",
                     "too many requests for this principal: retry after the given seconds",
                     "errors");
    if (body != NULL && req->path != NULL && strncmp(req->path, "/tracker/", 9) == 0)
        json_object_set_new(body, "severity", json_string("Transient"));
    gw_respond_json(req, 429, body, &h, 1);
}

int
gw_ratelimit_refuse(gw_request *req)
{
    int64_t wait_ms = ratelimit_take(&req->app->cfg, &req->principal, gw_now_ns());

    if (wait_ms == 0)
        return 0;
    gw_metric_rate_limited(req->principal.role);
    gw_audit_refusal(req, 429, "rate limit of the principal's role");
    respond_429(req, wait_ms);
    return 1;
}

int
gw_connlimit_acquire(const gw_principal *p, unsigned max)
{
    shard *sh = shard_of(p->name);
    int64_t now = gw_now_ns();
    int ok = 1;
    slot *s;

    pthread_mutex_lock(&sh->mu);
    s = slot_find(sh, p->name, now);
    if (s != NULL) {
        s->seen_ns = now;
        ok = s->conns < max;
        s->conns += (unsigned)ok;
    }
    pthread_mutex_unlock(&sh->mu);
    /* Without an entry (table full) the connection is let in and not counted, and so its
     * release finds nothing to take back. */
    return ok;
}

void
gw_connlimit_release(const gw_principal *p)
{
    shard *sh = shard_of(p->name);
    slot *s;

    pthread_mutex_lock(&sh->mu);
    for (unsigned i = 0; i < sh->n; i++) {
        s = &sh->slots[i];
        if (strcmp(s->name, p->name) == 0) {
            if (s->conns > 0)
                s->conns--;
            break;
        }
    }
    pthread_mutex_unlock(&sh->mu);
}
