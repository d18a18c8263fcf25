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
void gw_registry_free(gw_registry *reg);
/* Map a verified client certificate to its principal: by SHA-256 fingerprint first, then by
 * subject CN. Returns 1 when found (out filled), 0 when the certificate is not a participant. */
int gw_registry_lookup(const gw_registry *reg, X509 *cert, gw_principal *out);

/* ---- The application --------------------------------------------------------------------- */

struct gw_app {
    gw_config cfg;
    trk_store *store;
    iso_ctx *iso;
    gw_registry *registry;
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
    void *priv;                      /* server.c's stream state */
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
/* Serialize a jansson value (stolen) as the JSON body. */
struct json_t;
void gw_respond_json(gw_request *req, int status, struct json_t *body, const gw_header *extra,
                     size_t n_extra);

/* ---- Logging (log.c): one JSON object per line on stderr ---------------------------------- */

enum { GW_LOG_DEBUG, GW_LOG_INFO, GW_LOG_WARN, GW_LOG_ERROR };
void gw_log(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void gw_log_request(const gw_request *req, int status, const char *uetr);

int64_t gw_now_ns(void); /* CLOCK_MONOTONIC */
int64_t gw_wall_ms(void); /* CLOCK_REALTIME, Unix ms */

#endif
