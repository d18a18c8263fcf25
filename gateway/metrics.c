/*
 * Metrics in the Prometheus text format. Route metrics live in a fixed table keyed by
 * (route pattern, method, status): bounded by construction, since route patterns are the
 * router's static strings (unmatched paths share one label) and statuses are few. One mutex
 * guards the table; an update is a few adds, far cheaper than the request it describes.
 */
#include "gw_int.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERIES 256
#define N_BUCKETS 12
/* Room for every series (its counter line and N_BUCKETS + 3 histogram lines, each under 256
 * bytes: route patterns are short) plus the fixed metrics, so a scrape is never cut short. */
#define SERIES_TEXT_MAX ((N_BUCKETS + 4) * 256)
#define FIXED_TEXT_MAX (64 * 1024)
#define RENDER_MAX (MAX_SERIES * SERIES_TEXT_MAX + FIXED_TEXT_MAX)
#define ROLE_COUNT (GW_ROLE_OPERATOR + 1)

/* Latency bucket bounds in seconds (le), fine around the 1-10 ms the gateway aims for. */
static const double bucket_le[N_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                            0.05,   0.1,   0.25,   0.5,   1.0,  5.0};

typedef struct series {
    const char *route;
    char method[8];
    int status;
    uint64_t count;
    uint64_t buckets[N_BUCKETS];
    double sum_s;
} series;

static struct {
    pthread_mutex_t lock;
    series s[MAX_SERIES];
    size_t n;
    uint64_t dropped;
    uint64_t authz_refused[ROLE_COUNT];
    uint64_t rate_limited[ROLE_COUNT];
} M = {.lock = PTHREAD_MUTEX_INITIALIZER};

static series *
find_series(const char *route, const char *method, int status)
{
    for (size_t i = 0; i < M.n; i++)
        if (M.s[i].route == route && M.s[i].status == status &&
            strcmp(M.s[i].method, method) == 0)
            return &M.s[i];
    if (M.n == MAX_SERIES)
        return NULL;
    series *s = &M.s[M.n++];
    s->route = route;
    snprintf(s->method, sizeof(s->method), "%s", method);
    s->status = status;
    return s;
}

void
gw_observe_response(const gw_request *req, int status)
{
    double secs = (double)(gw_now_ns() - req->start_ns) / 1e9;
    const char *route = req->route ? req->route : "unmatched";
    /* the method is the client's: only known ones get a series of their own */
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH",
                                          "OPTIONS"};
    const char *method = "OTHER";
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcmp(req->method, methods[i]) == 0)
            method = methods[i];

    pthread_mutex_lock(&M.lock);
    series *s = find_series(route, method, status);
    if (s != NULL) {
        s->count++;
        s->sum_s += secs;
        for (int b = 0; b < N_BUCKETS; b++)
            if (secs <= bucket_le[b])
                s->buckets[b]++;
    } else {
        M.dropped++;
    }
    pthread_mutex_unlock(&M.lock);
    gw_log_request(req, status, req->uetr);
}

void
gw_metric_authz_refused(gw_role role)
{
    if ((unsigned)role < ROLE_COUNT)
        __atomic_add_fetch(&M.authz_refused[role], 1, __ATOMIC_RELAXED);
}

void
gw_metric_rate_limited(gw_role role)
{
    if ((unsigned)role < ROLE_COUNT)
        __atomic_add_fetch(&M.rate_limited[role], 1, __ATOMIC_RELAXED);
}

/* A bounded text buffer: appends past RENDER_MAX are refused and remembered. */
typedef struct text {
    char *buf;
    size_t len;
    int full;
} text;

__attribute__((format(printf, 2, 3))) static void
put(text *t, const char *fmt, ...)
{
    va_list ap;

    if (t->full)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, RENDER_MAX - t->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= RENDER_MAX - t->len)
        t->full = 1;
    else
        t->len += (size_t)n;
}

static void
render_routes(text *t)
{
    put(t, "# HELP corridor_http_requests_total HTTP/2 requests answered, by route, method and "
           "status.\n# TYPE corridor_http_requests_total counter\n");
    for (size_t i = 0; i < M.n; i++)
        put(t, "corridor_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
            M.s[i].route, M.s[i].method, M.s[i].status, (unsigned long long)M.s[i].count);
    put(t, "# HELP corridor_http_request_duration_seconds Time from request headers to "
           "response, by route.\n# TYPE corridor_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < M.n; i++) {
        const series *s = &M.s[i];
        for (int b = 0; b < N_BUCKETS; b++)
            put(t,
                "corridor_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\","
                "status=\"%d\",le=\"%g\"} %llu\n",
                s->route, s->method, s->status, bucket_le[b], (unsigned long long)s->buckets[b]);
        put(t,
            "corridor_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\","
            "status=\"%d\",le=\"+Inf\"} %llu\n",
            s->route, s->method, s->status, (unsigned long long)s->count);
        put(t,
            "corridor_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\","
            "status=\"%d\"} %.6f\n",
            s->route, s->method, s->status, s->sum_s);
        put(t,
            "corridor_http_request_duration_seconds_count{route=\"%s\",method=\"%s\","
            "status=\"%d\"} %llu\n",
            s->route, s->method, s->status, (unsigned long long)s->count);
    }
}

static void
render_by_role(text *t, const char *name, const char *help, const uint64_t *v)
{
    put(t, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (int r = GW_ROLE_CHANNEL; r < ROLE_COUNT; r++)
        put(t, "%s{role=\"%s\"} %llu\n", name, gw_role_name((gw_role)r),
            (unsigned long long)__atomic_load_n(&v[r], __ATOMIC_RELAXED));
}

static void
render_transport(text *t)
{
    gw_transport_stats ts;

    gw_transport_stats_get(&ts);
    put(t, "# HELP corridor_connections_accepted_total TCP connections accepted.\n"
           "# TYPE corridor_connections_accepted_total counter\n"
           "corridor_connections_accepted_total %llu\n",
        (unsigned long long)ts.conns_accepted);
    put(t, "# HELP corridor_connections_open Connections open now.\n"
           "# TYPE corridor_connections_open gauge\ncorridor_connections_open %llu\n",
        (unsigned long long)ts.conns_open);
    put(t, "# HELP corridor_streams_refused_total Streams refused for too many unanswered "
           "requests.\n# TYPE corridor_streams_refused_total counter\n"
           "corridor_streams_refused_total %llu\n",
        (unsigned long long)ts.streams_refused);
    put(t, "# HELP corridor_tls_handshake_failures_total TLS handshakes that failed, by reason.\n"
           "# TYPE corridor_tls_handshake_failures_total counter\n");
    for (int r = 0; r < GW_TLS_FAIL_COUNT; r++)
        put(t, "corridor_tls_handshake_failures_total{reason=\"%s\"} %llu\n",
            gw_tls_fail_name((gw_tls_fail)r), (unsigned long long)ts.handshake_failures[r]);
}

static void
render_store(text *t, gw_app *app)
{
    trk_stats st;

    if (trk_stats_get(app->store, &st) != TRK_OK)
        return;
    put(t, "# HELP corridor_payments Payments in the store.\n# TYPE corridor_payments gauge\n"
           "corridor_payments %llu\n",
        (unsigned long long)st.payments);
    put(t, "# HELP corridor_store_commits_total Write transactions committed (group commits).\n"
           "# TYPE corridor_store_commits_total counter\ncorridor_store_commits_total %llu\n",
        (unsigned long long)st.batches);
    put(t, "# HELP corridor_store_ops_total Writes committed.\n"
           "# TYPE corridor_store_ops_total counter\ncorridor_store_ops_total %llu\n",
        (unsigned long long)st.ops);
    put(t, "# HELP corridor_store_queue_depth Writes waiting for the writer.\n"
           "# TYPE corridor_store_queue_depth gauge\ncorridor_store_queue_depth %llu\n",
        (unsigned long long)st.queue_depth);
    put(t, "# HELP corridor_store_map_size_bytes LMDB map size.\n"
           "# TYPE corridor_store_map_size_bytes gauge\ncorridor_store_map_size_bytes %llu\n",
        (unsigned long long)st.map_size);
}

int
gw_metrics_render(gw_app *app, char **out, size_t *len)
{
    text t = {.buf = malloc(RENDER_MAX)};

    if (t.buf == NULL)
        return GW_ERR_NOMEM;
    pthread_mutex_lock(&M.lock);
    render_routes(&t);
    put(&t, "# HELP corridor_metrics_series_dropped_total Observations without a series slot.\n"
            "# TYPE corridor_metrics_series_dropped_total counter\n"
            "corridor_metrics_series_dropped_total %llu\n",
        (unsigned long long)M.dropped);
    pthread_mutex_unlock(&M.lock);
    render_by_role(&t, "corridor_authz_refusals_total",
                   "Requests refused by the authorization table, by role.", M.authz_refused);
    render_by_role(&t, "corridor_rate_limited_total", "Requests refused with 429, by role.",
                   M.rate_limited);
    render_transport(&t);
    render_store(&t, app);
    if (t.full) { /* an exposition cut mid-histogram would mislead: none rather than that */
        free(t.buf);
        return GW_ERR_NOMEM;
    }
    *out = t.buf;
    *len = t.len;
    return GW_OK;
}
