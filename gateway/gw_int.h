/*
 * Private interface between the gateway's transport (server.c, tls.c: sockets, TLS, HTTP/2)
 * and its application side (router.c, handlers, registry.c, errors.c).
 *
 * Threading: each request belongs to one worker thread. Handlers run on it; work finished on
 * another thread (the tracker's writer) comes back through gw_worker_post().
 */
#ifndef CORRIDOR_GW_INT_H
#define CORRIDOR_GW_INT_H

#include "gateway.h"

#include <openssl/x509.h>
#include <signal.h>
#include <stdarg.h>

#include "iso20022.h"
#include "tracker.h"

/* ---- Principals ------------------------------------------------------------------------ */

typedef enum gw_role {
    GW_ROLE_NONE = 0,
    GW_ROLE_CHANNEL,
    GW_ROLE_CORRESPONDENT,
    GW_ROLE_CUSTOMER,
    GW_ROLE_OPERATOR,
} gw_role;
const char *gw_role_name(gw_role r);

#define GW_MAX_BICS 8
#define GW_MAX_PARTICIPANTS 4096

typedef struct gw_principal {
    gw_role role;
    char name[64];                  /* the participant's name in the registry */
    char bics[GW_MAX_BICS][12];     /* banks: their BICs; customers: their bank's BIC */
    unsigned n_bics;
    char customer_id[36];           /* customers only */
} gw_principal;

/* Does the principal own this BIC (compared by BIC8)? */
int gw_principal_has_bic(const gw_principal *p, const char *bic);

typedef struct gw_registry gw_registry;
/* Load the participants file (format in registry.c and README). */
int gw_registry_load(gw_registry **reg, const char *path, char *err, size_t errlen);
/* The registry is reference counted: a reload swaps in a new one while connections still
 * hold the one they were accepted with. gw_registry_free drops one reference. */
void gw_registry_free(gw_registry *reg);
/* A new reference to *slot's registry, taken under a lock that gw_registry_replace also
 * holds; NULL when the slot is empty. Drop it with gw_registry_free. */
gw_registry *gw_registry_acquire(gw_registry *const *slot);
/* Put `fresh` (its reference moves in) in *slot and drop the slot's old reference. */
void gw_registry_replace(gw_registry **slot, gw_registry *fresh);
size_t gw_registry_size(const gw_registry *reg); /* participants in it */
/* Map a verified client certificate to its principal: by SHA-256 fingerprint first, then by
 * subject CN. Returns 1 when found (out filled), 0 when the certificate is not a participant. */
int gw_registry_lookup(const gw_registry *reg, X509 *cert, gw_principal *out);

/* ---- The application --------------------------------------------------------------------- */

struct gw_app {
    gw_config cfg;
    trk_store *store;
    iso_ctx *iso;
    gw_registry *registry;
    volatile sig_atomic_t draining; /* set on SIGTERM/SIGINT: /readyz says not ready */
};

/* ---- Requests ------------------------------------------------------------------------------ */

typedef struct gw_worker gw_worker;

typedef struct gw_header {
    const char *name;
    const char *value;
} gw_header;

#define GW_MAX_IDEM_KEY 255
#define GW_MAX_REQUEST_ID 64

/*
 * One HTTP/2 request, complete (END_STREAM seen, body within the limit). Created by server.c,
 * handed to gw_dispatch(), freed by server.c after gw_respond() (or when the stream closes
 * and the response was already given). A handler that goes asynchronous simply returns
 * without responding and calls gw_respond() later on the same worker thread; if the client
 * reset the stream meanwhile, gw_respond() discards the response and frees the request.
 */
typedef struct gw_request {
    gw_worker *worker;
    gw_app *app;
    gw_principal principal;          /* a copy: the request may outlive its connection */
    char method[8];
    char *path;                      /* :path without the query, NUL terminated */
    char *query;                     /* after '?', or NULL */
    char content_type[128];
    char idem_key[GW_MAX_IDEM_KEY + 1]; /* Idempotency-Key, empty when absent */
    char request_id[GW_MAX_REQUEST_ID + 1]; /* x-request-id: the client's, or generated */
    unsigned char *body;             /* NUL terminated (not counted in body_len) */
    size_t body_len;
    int64_t start_ns;                /* CLOCK_MONOTONIC when the headers arrived */
    const char *route;               /* the route pattern matched (static), NULL = none */
    char uetr[37];                   /* the payment the request concerns, when known (logs) */
    void *priv;                      /* server.c's stream state */
    int audited;                     /* a refusal record was written (audit.c) */
} gw_request;

/*
 * Send the response. Takes ownership of `body` (malloc'd, may be NULL with len 0). Adds
 * content-type, content-length and x-request-id. Call exactly once, on req->worker's thread.
 */
void gw_respond(gw_request *req, int status, const char *content_type, char *body, size_t len,
                const gw_header *extra, size_t n_extra);

/* Run fn(arg) on worker w's thread, soon. Thread-safe; never blocks on w. */
void gw_worker_post(gw_worker *w, void (*fn)(void *arg), void *arg);

/* Implemented by router.c: route, authorize and handle one complete request. */
void gw_dispatch(gw_request *req);

/* ---- Errors and JSON responses (errors.c) ---------------------------------------------- */

/* Error body {"code","text","errors":[{path,code,text}]}; problems may be NULL. */
void gw_respond_error(gw_request *req, int status, const char *code, const char *text,
                      const iso_problems *problems);
/* The same with extra response headers (405 Allow, 429 Retry-After ...). */
void gw_respond_error_with(gw_request *req, int status, const char *code, const char *text,
                           const iso_problems *problems, const gw_header *extra,
                           size_t n_extra);
/* Serialize a jansson value (stolen) as the JSON body. */
struct json_t;
void gw_respond_json(gw_request *req, int status, struct json_t *body, const gw_header *extra,
                     size_t n_extra);

/* ---- Metrics (metrics.c) ------------------------------------------------------------------ */

/* Called by gw_respond for every response: counts it, times it, writes the access log line. */
void gw_observe_response(const gw_request *req, int status);
void gw_metric_authz_refused(gw_role role);
void gw_metric_rate_limited(gw_role role);
/* Prometheus text exposition of everything (transport, routes, store). *out malloc'd. */
int gw_metrics_render(gw_app *app, char **out, size_t *len);

/* ---- Logging (log.c): one JSON object per line on stderr ---------------------------------- */

enum { GW_LOG_DEBUG, GW_LOG_INFO, GW_LOG_WARN, GW_LOG_ERROR };
void gw_log(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void gw_log_request(const gw_request *req, int status, const char *uetr);
int gw_log_level_from(const char *name); /* GW_LOG_* or -1 */
void gw_log_set_level(int level);       /* lines below it are not written */

/* ---- Transport counters (server.c, tls.c): process-wide, monotonic, for /metrics ---------- */

/* Why a connection never got to HTTP/2. gw_tls_fail_name() gives the metric label value. */
typedef enum gw_tls_fail {
    GW_TLS_FAIL_NO_CERT = 0, /* "no_client_cert": no client certificate sent */
    GW_TLS_FAIL_BAD_CERT,    /* "bad_client_cert": the chain does not verify against the CA */
    GW_TLS_FAIL_UNKNOWN,     /* "unknown_participant": verified, but not in the registry */
    GW_TLS_FAIL_NO_H2,       /* "no_h2": ALPN without h2, or no ALPN at all */
    GW_TLS_FAIL_PROTOCOL,    /* "protocol": version, ciphers, malformed handshake, alerts */
    GW_TLS_FAIL_TIMEOUT,     /* "timeout": not done after GW_HANDSHAKE_TIMEOUT_MS */
    GW_TLS_FAIL_CLOSED,      /* "closed": the client went away mid-handshake */
    GW_TLS_FAIL_CONN_LIMIT,  /* "conn_limit": the principal has max_conns_per_principal open */
    GW_TLS_FAIL_COUNT
} gw_tls_fail;
const char *gw_tls_fail_name(gw_tls_fail reason);

typedef struct gw_transport_stats {
    uint64_t conns_accepted;
    uint64_t conns_open;       /* accepted and not yet closed (handshaking or HTTP/2) */
    uint64_t requests;         /* complete requests handed to gw_dispatch() */
    uint64_t streams_refused;  /* REFUSED_STREAM: too many unanswered requests on a connection */
    uint64_t handshake_failures[GW_TLS_FAIL_COUNT];
} gw_transport_stats;
/* A snapshot; each counter is read atomically, the set is not one instant. Any thread. */
void gw_transport_stats_get(gw_transport_stats *out);

/* ---- Security (audit.c, ratelimit.c): refusals on the record, limits per principal -------- */

/* The audit file: JSON lines, O_APPEND, 0600, one write(2) per record. Opened once at start
 * (before privileges are dropped); without it records are dropped silently. */
int gw_audit_open(const gw_config *cfg, char *err, size_t errlen);
void gw_audit_close(void);
/* Its path: cfg->audit_file, or audit.log beside data_dir. */
void gw_audit_path(const gw_config *cfg, char *out, size_t size);
/* A refused request (403, 404 for someone else's payment, 429, ...): one record, and
 * req->audited set so gw_respond does not write a second one. */
void gw_audit_refusal(gw_request *req, int status, const char *reason);
/* A privileged access that was allowed (an operator reading a payment, changing an account). */
void gw_audit_access(const gw_request *req, int status, const char *reason);
/* A refused or cut-off connection; principal may be NULL (not known yet), subject is the
 * certificate's CN when there is one. */
void gw_audit_conn(const gw_principal *p, const char *subject, const char *peer,
                   const char *decision, const char *reason);

/* Token bucket per principal (rates from cfg, by role). 0 = go on; otherwise the request
 * was answered 429 with Retry-After, counted and audited. Worker threads; thread-safe. */
int gw_ratelimit_refuse(gw_request *req);
/* Open connections per principal: 1 = counted (release it when the connection ends),
 * 0 = the principal is at `max`. Thread-safe. */
int gw_connlimit_acquire(const gw_principal *p, unsigned max);
void gw_connlimit_release(const gw_principal *p);

/* A token bucket in milli-tokens; the caller serializes access. */
typedef struct gw_bucket {
    int64_t milli;   /* tokens x 1000 */
    int64_t last_ns; /* CLOCK_MONOTONIC of the last refill; 0 = new (full) */
} gw_bucket;
/* Take one token: 0 taken; otherwise the milliseconds until one is there. */
int64_t gw_bucket_take(gw_bucket *b, unsigned rate, unsigned burst, int64_t now_ns);

int64_t gw_now_ns(void); /* CLOCK_MONOTONIC */
int64_t gw_wall_ms(void); /* CLOCK_REALTIME, Unix ms */

#endif
