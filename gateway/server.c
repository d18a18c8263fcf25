/*
 * server.c — the gateway's transport: one listening socket (SO_REUSEPORT) and one epoll loop
 * per worker thread; TLS connections (tls.c) carrying HTTP/2 sessions (nghttp2); complete
 * requests handed to gw_dispatch() and answered through gw_respond().
 *
 * Ownership and threads:
 * - gw_server owns the workers, the TLS context and the nghttp2 callbacks (built once; each
 *   session copies them).
 * - A worker owns its listener, its connections, its orphans and a queue of posted functions.
 *   Only the worker's thread touches them; the queue (mutex) and the stop eventfd are the
 *   exceptions.
 * - A connection owns its socket, SSL, nghttp2 session, unsent output and its streams.
 * - A stream owns its gw_request (embedded), the request body and the response body. A stream
 *   whose request was dispatched and not yet answered is "pending": it outlives its HTTP/2
 *   stream (client reset) and even its connection (then it is an orphan on the worker), and
 *   gw_respond() frees it without sending anything.
 * - Connections are never freed under a caller: conn_kill() unregisters one and queues it,
 *   the loop frees the queue between event batches (worker_reap).
 *
 * Nothing here calls nghttp2_session_mem_send() from inside an nghttp2 callback: a response
 * given synchronously by gw_dispatch() (inside mem_recv) is sent by the read loop once
 * mem_recv returns.
 *
 * Hostile clients (README "Security"): every abuse ends with the offender cut off — GOAWAY
 * ENHANCE_YOUR_CALM, then the socket closed, with an audit record — while the worker goes on
 * serving everyone else:
 * - rapid reset: RST_STREAM frames from a client drain a token bucket per connection;
 * - PING / SETTINGS / PRIORITY / empty DATA floods: another bucket per connection;
 * - CONTINUATION floods: nghttp2 refuses more than H2_MAX_CONTINUATIONS per header block;
 * - HPACK bombs and endless headers: decoded header bytes per block are capped;
 * - slow clients: a header block must be complete within header_timeout_ms of its start, and
 *   only complete frames count as activity for the idle timeout;
 * - too many connections: a principal may hold max_conns_per_principal at once;
 * - bodies over max_body: 413 at once, the rest dropped and then the stream reset.
 *
 * Reload (gw_server_reload, SIGHUP): worker 0 rebuilds the TLS context and the registry
 * (tls.c); connections already accepted keep theirs.
 */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/rand.h>

/* ---- Tunables ---------------------------------------------------------------------------- */

#define NS_PER_MS INT64_C(1000000)
#define MS_PER_SEC 1000
#define NS_PER_SEC INT64_C(1000000000)
#define TICK_MS 1000           /* timeouts are checked once a second */
#define DRAIN_TIMEOUT_MS 10000 /* after stop: how long in-flight requests may still take */
#define EPOLL_BATCH 64
#define ACCEPT_BATCH 64 /* per wake-up, so a busy listener cannot starve connections */
#define LISTEN_BACKLOG 1024
#define READ_CHUNK 16384         /* one TLS record's plaintext: SSL_read leaves nothing behind */
#define READ_BUDGET (256 * 1024) /* bytes per connection per wake-up (fairness) */
#define OUT_FILL (64 * 1024)     /* frames coalesced before one SSL_write */
#define OUT_PAUSE (16 * 1024)    /* unsent bytes at which a connection stops reading */
#define H2_STREAM_WINDOW (256 * 1024) /* SETTINGS_INITIAL_WINDOW_SIZE */
#define H2_CONN_WINDOW (1024 * 1024)  /* connection-level receive window */
#define BODY_INITIAL (16 * 1024)      /* first allocation for a body of unknown length */
/* After an early answer (413, 431, ...) the rest of the upload is read and dropped, up to
 * this much; then the stream is reset. Not reset at once: curl (7.88, Debian 12) reports
 * RST_STREAM(NO_ERROR) after a complete response as an error instead of the response. */
#define DISCARD_MAX GW_MAX_BODY_LIMIT
#define LINGER_MS 2000          /* a refused handshake: how long its input is read and dropped */
#define REQUEST_ID_RANDOM 16    /* random bytes in a generated x-request-id (hex: twice that) */
#define RESPONSE_BASE_HEADERS 4 /* :status, content-type, content-length, x-request-id */
#define STATUS_DIGITS 3
#define U64_DIGITS 20 /* decimal digits of UINT64_MAX */
#define PEER_ADDR_MAX (INET6_ADDRSTRLEN + sizeof "[]:65535")
#define PORT_DIGITS 6
/* HTTP/2 abuse limits, per connection. Well-behaved clients (curl, browsers, the bench) send
 * a handful of control frames and resets per connection; the bursts leave them ample room. */
#define H2_CONTROL_BURST 200 /* PING, SETTINGS, PRIORITY, empty DATA: at once ... */
#define H2_CONTROL_RATE 50   /* ... and per second after that */
#define H2_RESET_BURST 200   /* RST_STREAM from the client (rapid reset, CVE-2023-44487) */
#define H2_RESET_RATE 50
#define H2_MAX_CONTINUATIONS 8 /* CONTINUATION frames after one HEADERS (CVE-2024-27316) */
#define H2_MAX_SETTINGS 16     /* entries in one SETTINGS frame */
#define H2_MAX_OUTBOUND_ACK 100 /* PING/SETTINGS ACKs queued for a client that does not read */
/* Decoded header bytes in one header block past which it is not a large request (431) but an
 * attack (an HPACK bomb, endless headers): the connection is cut. */
#define H2_HEADER_BLOCK_CUT (4 * GW_MAX_HEADER_BYTES)
#define H2_CUT_REASON_MAX 96
#define GW_RELOAD_ERR_MAX 1536 /* a path (1023) and a reason */

_Static_assert(2 * REQUEST_ID_RANDOM <= GW_MAX_REQUEST_ID, "generated request id too long");

enum {
    HTTP_STATUS_MIN = 200, /* gw_respond answers finally; no 1xx */
    HTTP_NO_CONTENT = 204,
    HTTP_NOT_MODIFIED = 304,
    HTTP_BAD_REQUEST = 400,
    HTTP_PAYLOAD_TOO_LARGE = 413,
    HTTP_URI_TOO_LONG = 414,
    HTTP_HEADERS_TOO_LARGE = 431,
    HTTP_INTERNAL = 500,
    HTTP_NOT_IMPLEMENTED = 501,
    HTTP_STATUS_MAX = 599,
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Process-wide counters (gw_transport_stats_get) ---------------------------------------- */

static _Atomic uint64_t st_accepted, st_open, st_requests, st_refused;
static _Atomic uint64_t st_handshake_failures[GW_TLS_FAIL_COUNT];

/* ---- Types ------------------------------------------------------------------------------- */

enum ev_kind { EV_LISTEN, EV_STOP, EV_POST, EV_TIMER, EV_CONN, EV_RELOAD };

/* What epoll_event.data.ptr points to: the first member of everything registered. */
struct ev_src {
    enum ev_kind kind;
    int fd;
};

/* A byte buffer with a read offset: output waiting for SSL_write. */
struct obuf {
    uint8_t *p;
    size_t off, len, cap;
};

struct post {
    struct post *next;
    void (*fn)(void *arg);
    void *arg;
};

/* HANDSHAKE -> H2, or HANDSHAKE -> LINGER (refused: our alert is out, FIN sent) -> closed. */
enum conn_state { CONN_HANDSHAKE, CONN_H2, CONN_LINGER };

typedef struct conn conn;
typedef struct stream stream;

struct stream {
    gw_request req; /* req.priv == this stream: they live and die together */
    conn *c;        /* NULL once detached from a freed connection (orphan) */
    gw_worker *w;
    stream *prev, *next; /* in c->streams, or in w->orphans once detached */
    int32_t id;
    size_t header_bytes; /* names + values, request headers and trailers */
    char *path_buf;      /* owns :path; req.path and req.query point into it */
    char no_path[1];     /* req.path until the request is complete: never NULL */
    size_t body_cap;     /* bytes allocated at req.body, room for the NUL included */
    uint64_t content_length;
    size_t discarded; /* DATA bytes dropped after an early answer */
    char *resp_body;  /* owned from gw_respond() until the stream is freed */
    size_t resp_len, resp_off;
    int problem_status; /* the first problem in the headers, answered at their end */
    const char *problem_code, *problem_text;
    bool has_content_length, seen_content_type, seen_idem_key;
    bool complete;   /* END_STREAM received */
    bool dispatched; /* handed to gw_dispatch() */
    bool responded;  /* gw_respond() called */
    bool h2_closed;  /* nghttp2 closed the stream while the request was pending */
    bool reset_sent; /* RST_STREAM submitted: the client sent too much after the answer */
    bool headers_done; /* the request's header block is complete (header_timeout_ms) */
};

struct conn {
    struct ev_src ev; /* first: epoll hands this back */
    gw_worker *w;
    conn *prev, *next; /* w->conns */
    conn *next_dead;   /* w->dead, once killed */
    enum conn_state state;
    SSL *ssl;
    nghttp2_session *h2;
    gw_tls_peer peer;   /* the SSL points here; holds the principal after the handshake */
    stream *streams;    /* open, or closed but pending */
    unsigned n_pending; /* dispatched and unanswered, reset ones included */
    struct obuf out;    /* output SSL_write refused (blocked); same bytes are retried */
    uint32_t events;    /* current epoll interest */
    int64_t accepted_ns, active_ns; /* active: the last complete frame in, or bytes out */
    bool dead, in_h2, goaway_sent, read_wants_write;
    bool conn_counted;  /* holds one of its principal's max_conns_per_principal */
    gw_bucket control;  /* H2_CONTROL_*: PING, SETTINGS, PRIORITY, empty DATA */
    gw_bucket resets;   /* H2_RESET_*: RST_STREAM */
    size_t block_bytes; /* decoded bytes of the header block being received */
    char cut[H2_CUT_REASON_MAX]; /* why we cut the client off ("" = we did not) */
    char addr[PEER_ADDR_MAX];
};

struct gw_worker {
    gw_server *srv;
    unsigned id;
    pthread_t thread;
    bool started, stopping, accept_paused, mu_ready;
    pthread_t self;      /* set by the worker itself before `running` */
    atomic_bool running; /* worker_main is on `self`: requests are that thread's alone */
    int epfd;
    struct ev_src listen, stop, post, timer;
    struct ev_src reload; /* worker 0 only: the server's reload eventfd */
    pthread_mutex_t post_mu; /* guards post_head/post_tail only */
    struct post *post_head, *post_tail;
    conn *conns;
    unsigned n_conns;
    conn *dead;         /* killed, freed by worker_reap() */
    stream *orphans;    /* pending requests whose connection is gone */
    unsigned n_pending; /* dispatched and unanswered on this worker, orphans included */
    int64_t drain_deadline_ns;
    struct obuf scratch; /* frames being written; only one connection uses it at a time */
    uint8_t rbuf[READ_CHUNK];
};

struct gw_server {
    gw_config cfg; /* a copy, normalized */
    gw_app *app;   /* borrowed; outlives the server */
    gw_tls *tls;
    nghttp2_session_callbacks *cbs;
    nghttp2_option *h2opt; /* the abuse limits nghttp2 enforces itself */
    int reload_fd;         /* eventfd: gw_server_reload -> worker 0 */
    gw_worker *workers;
    unsigned n_workers;
    bool ran;
};

static void conn_kill(conn *c, bool graceful, const char *why);
static void conn_after_io(conn *c);
static int conn_flush(conn *c);
static void conn_cut(conn *c, const char *decision, const char *reason);

/* ---- Time -------------------------------------------------------------------------------- */

int64_t
gw_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

int64_t
gw_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * MS_PER_SEC + ts.tv_nsec / NS_PER_MS;
}

void
gw_transport_stats_get(gw_transport_stats *out)
{
    unsigned i;

    out->conns_accepted = atomic_load_explicit(&st_accepted, memory_order_relaxed);
    out->conns_open = atomic_load_explicit(&st_open, memory_order_relaxed);
    out->requests = atomic_load_explicit(&st_requests, memory_order_relaxed);
    out->streams_refused = atomic_load_explicit(&st_refused, memory_order_relaxed);
    for (i = 0; i < GW_TLS_FAIL_COUNT; i++)
        out->handshake_failures[i] =
            atomic_load_explicit(&st_handshake_failures[i], memory_order_relaxed);
}

static void
count(_Atomic uint64_t *counter)
{
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

/* ---- Small helpers -------------------------------------------------------------------------- */

static void
format_addr(const struct sockaddr_storage *ss, char *out, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;

    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
        port = ntohs(sin->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
        port = ntohs(sin6->sin6_port);
    }
    snprintf(out, size, ss->ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, port);
}

/* Strict decimal: digits only, no sign, no overflow. */
static int
parse_u64(const uint8_t *v, size_t len, uint64_t *out)
{
    uint64_t n = 0;
    size_t i;

    if (len == 0 || len > U64_DIGITS)
        return -1;
    for (i = 0; i < len; i++) {
        unsigned d = (unsigned)(v[i] - '0');
        if (d > 9 || n > (UINT64_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    *out = n;
    return 0;
}

static void
make_request_id(char out[GW_MAX_REQUEST_ID + 1])
{
    static const char hex[] = "0123456789abcdef";
    static _Atomic uint64_t fallback_seq;
    unsigned char rnd[REQUEST_ID_RANDOM];
    size_t i;

    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        /* Unique is what matters here, not unpredictable. */
        ERR_clear_error();
        snprintf(out, GW_MAX_REQUEST_ID + 1, "%016llx%016llx", (unsigned long long)gw_now_ns(),
                 (unsigned long long)atomic_fetch_add(&fallback_seq, 1));
        return;
    }
    for (i = 0; i < sizeof rnd; i++) {
        out[2 * i] = hex[rnd[i] >> 4];
        out[2 * i + 1] = hex[rnd[i] & 0xf];
    }
    out[2 * sizeof rnd] = '\0';
}

/* A client's x-request-id is echoed and logged: [A-Za-z0-9._-], 1..GW_MAX_REQUEST_ID. */
static bool
request_id_ok(const uint8_t *v, size_t len)
{
    size_t i;

    if (len == 0 || len > GW_MAX_REQUEST_ID)
        return false;
    for (i = 0; i < len; i++) {
        uint8_t ch = v[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

static bool
name_is(const uint8_t *name, size_t len, const char *lit)
{
    return len == strlen(lit) && memcmp(name, lit, len) == 0;
}

static int
copy_value(char *dst, size_t size, const uint8_t *v, size_t len)
{
    if (len >= size)
        return -1;
    memcpy(dst, v, len);
    dst[len] = '\0';
    return 0;
}

/* ---- Output buffers ------------------------------------------------------------------------ */

static int
obuf_append(struct obuf *b, const uint8_t *data, size_t n)
{
    size_t need = b->len + n;

    if (need > b->cap) {
        /* Fill stops at OUT_FILL, so this stays below twice OUT_FILL + one frame; a blocked
         * connection's copy is exactly its unsent bytes. */
        size_t cap = b->cap ? b->cap * 2 : need;
        uint8_t *p;
        while (cap < need)
            cap *= 2;
        p = realloc(b->p, cap);
        if (p == NULL)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len = need;
    return 0;
}

static void
obuf_free(struct obuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static size_t
obuf_left(const struct obuf *b)
{
    return b->len - b->off;
}

/* ---- Streams --------------------------------------------------------------------------------- */

static stream *
stream_new(conn *c, int32_t id)
{
    stream *s = calloc(1, sizeof *s);

    if (s == NULL)
        return NULL;
    s->c = c;
    s->w = c->w;
    s->id = id;
    s->req.worker = c->w;
    s->req.app = c->w->srv->app;
    s->req.path = s->no_path;
    s->req.principal = c->peer.principal; /* known: streams start after the handshake */
    s->req.start_ns = gw_now_ns();
    s->req.priv = s;
    s->next = c->streams;
    if (c->streams)
        c->streams->prev = s;
    c->streams = s;
    return s;
}

static void
stream_unlink(stream *s)
{
    stream **head = s->c ? &s->c->streams : &s->w->orphans;

    if (s->prev)
        s->prev->next = s->next;
    else
        *head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
}

static void
stream_release(stream *s)
{
    stream_unlink(s);
    free(s->path_buf);
    free(s->req.body);
    free(s->resp_body);
    free(s);
}

/* The connection goes away while the application still holds the request. */
static void
stream_detach(stream *s)
{
    gw_worker *w = s->w;

    stream_unlink(s);
    s->c = NULL;
    s->next = w->orphans;
    if (w->orphans)
        w->orphans->prev = s;
    w->orphans = s;
}

static bool
stream_pending(const stream *s)
{
    return s->dispatched && !s->responded;
}

static void
stream_problem(stream *s, int status, const char *code, const char *text)
{
    if (s->problem_status)
        return;
    s->problem_status = status;
    s->problem_code = code;
    s->problem_text = text;
}

/* Answer before (or instead of) dispatching; the body, if any, is no longer wanted. */
static void
stream_answer_early(stream *s)
{
    free(s->req.body);
    s->req.body = NULL;
    s->req.body_len = 0;
    s->body_cap = 0;
    gw_respond_error(&s->req, s->problem_status, s->problem_code, s->problem_text, NULL);
}

/* ---- Request assembly ----------------------------------------------------------------------- */

static int
collect_path(stream *s, const uint8_t *v, size_t len)
{
    if (len > GW_MAX_PATH) {
        stream_problem(s, HTTP_URI_TOO_LONG, "URI_TOO_LONG", "the request path is too long");
        return 0;
    }
    if (s->path_buf != NULL)
        return 0; /* nghttp2 rejects a repeated pseudo-header before we get here */
    s->path_buf = malloc(len + 1);
    if (s->path_buf == NULL)
        return -1;
    memcpy(s->path_buf, v, len);
    s->path_buf[len] = '\0';
    return 0;
}

/* One request header (already validated by nghttp2's HTTP messaging rules). -1: no memory. */
static int
collect_header(stream *s, const uint8_t *name, size_t namelen, const uint8_t *v, size_t len)
{
    gw_request *r = &s->req;

    if (name_is(name, namelen, ":method")) {
        if (copy_value(r->method, sizeof r->method, v, len) < 0)
            stream_problem(s, HTTP_NOT_IMPLEMENTED, "NOT_IMPLEMENTED", "unsupported method");
    } else if (name_is(name, namelen, ":path")) {
        return collect_path(s, v, len);
    } else if (name_is(name, namelen, "content-type")) {
        if (s->seen_content_type)
            stream_problem(s, HTTP_BAD_REQUEST, "BAD_REQUEST", "repeated content-type");
        else if (copy_value(r->content_type, sizeof r->content_type, v, len) < 0)
            stream_problem(s, HTTP_HEADERS_TOO_LARGE, "HEADERS_TOO_LARGE",
                           "content-type is too long");
        s->seen_content_type = true;
    } else if (name_is(name, namelen, "content-length")) {
        s->has_content_length = parse_u64(v, len, &s->content_length) == 0;
    } else if (name_is(name, namelen, "idempotency-key")) {
        if (s->seen_idem_key)
            stream_problem(s, HTTP_BAD_REQUEST, "BAD_REQUEST", "repeated idempotency-key");
        else if (copy_value(r->idem_key, sizeof r->idem_key, v, len) < 0)
            stream_problem(s, HTTP_BAD_REQUEST, "INVALID_IDEMPOTENCY_KEY",
                           "idempotency-key is longer than 255 characters");
        s->seen_idem_key = true;
    } else if (name_is(name, namelen, "x-request-id")) {
        /* The first acceptable one wins; anything else gets a generated id. */
        if (r->request_id[0] == '\0' && request_id_ok(v, len))
            copy_value(r->request_id, sizeof r->request_id, v, len);
    }
    return 0;
}

/* Split :path at the first '?'; req.path and req.query point into path_buf. */
static void
stream_split_path(stream *s)
{
    char *q = strchr(s->path_buf, '?');

    if (q != NULL) {
        *q = '\0';
        s->req.query = q + 1;
    }
    s->req.path = s->path_buf;
}

/* The request header block is complete: give it an id, answer now if it is unacceptable
 * (an early answer is logged with its path and principal like any other). */
static void
stream_headers_done(stream *s)
{
    const gw_config *cfg = &s->w->srv->cfg;

    s->headers_done = true;
    if (s->req.request_id[0] == '\0')
        make_request_id(s->req.request_id);
    if (s->req.method[0] == '\0' || s->path_buf == NULL || s->path_buf[0] != '/')
        stream_problem(s, HTTP_BAD_REQUEST, "BAD_REQUEST", "missing or malformed :method or :path");
    else
        stream_split_path(s);
    if (s->has_content_length && s->content_length > cfg->max_body)
        stream_problem(s, HTTP_PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE",
                       "the request body is larger than allowed");
    if (s->problem_status)
        stream_answer_early(s);
}

static int
body_append(stream *s, const uint8_t *data, size_t len, size_t max_body)
{
    size_t need, cap;
    unsigned char *p;

    if (len > max_body - s->req.body_len)
        return HTTP_PAYLOAD_TOO_LARGE;
    need = s->req.body_len + len + 1; /* + the NUL */
    if (need > s->body_cap) {
        cap = s->body_cap;
        if (cap == 0)
            cap = s->has_content_length ? (size_t)s->content_length + 1 : BODY_INITIAL;
        while (cap < need)
            cap *= 2;
        if (cap > max_body + 1)
            cap = max_body + 1;
        p = realloc(s->req.body, cap);
        if (p == NULL)
            return -1;
        s->req.body = p;
        s->body_cap = cap;
    }
    memcpy(s->req.body + s->req.body_len, data, len);
    s->req.body_len += len;
    return 0;
}

/* END_STREAM: finish the gw_request and hand it over. -1: no memory. */
static int
stream_request_done(conn *c, stream *s)
{
    s->complete = true;
    if (s->responded)
        return 0; /* answered early */
    if (s->problem_status) {
        stream_answer_early(s); /* the trailers broke a limit */
        return 0;
    }
    if (s->req.body == NULL) {
        s->req.body = malloc(1);
        if (s->req.body == NULL)
            return -1;
        s->body_cap = 1;
    }
    s->req.body[s->req.body_len] = '\0';
    s->dispatched = true;
    c->n_pending++;
    c->w->n_pending++;
    count(&st_requests);
    gw_dispatch(&s->req);
    return 0;
}

/* ---- nghttp2 callbacks (run inside mem_recv / mem_send, on the worker's thread) ------------- */

static int
on_begin_headers(nghttp2_session *h2, const nghttp2_frame *frame, void *user_data)
{
    conn *c = user_data;
    int32_t id = frame->hd.stream_id;
    stream *s;

    c->block_bytes = 0;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    /* nghttp2 bounds open streams; this bounds requests a client reset but we still hold. */
    if (c->n_pending >= c->w->srv->cfg.max_streams) {
        count(&st_refused);
        nghttp2_submit_rst_stream(h2, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
        return 0;
    }
    s = stream_new(c, id);
    if (s == NULL)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    nghttp2_session_set_stream_user_data(h2, id, s);
    return 0;
}

static int
on_header(nghttp2_session *h2, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
          const uint8_t *value, size_t valuelen, uint8_t flags, void *user_data)
{
    conn *c = user_data;
    stream *s;

    (void)flags;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    /* Counted before anything else: refused and answered streams are decoded too. */
    c->block_bytes += namelen + valuelen;
    if (c->block_bytes > H2_HEADER_BLOCK_CUT) {
        conn_cut(c, "cut", "header block too large (HPACK bomb or endless headers)");
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    s = nghttp2_session_get_stream_user_data(h2, frame->hd.stream_id);
    if (s == NULL || s->responded)
        return 0;
    s->header_bytes += namelen + valuelen;
    if (s->header_bytes > GW_MAX_HEADER_BYTES) {
        stream_problem(s, HTTP_HEADERS_TOO_LARGE, "HEADERS_TOO_LARGE",
                       "the request headers are too large");
        return 0;
    }
    if (frame->headers.cat != NGHTTP2_HCAT_REQUEST || s->problem_status)
        return 0; /* trailers are counted, not kept */
    if (collect_header(s, name, namelen, value, valuelen) < 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return 0;
}

/* Drop DATA after an early answer; reset the stream once the client overdoes it. */
static void
stream_discard(nghttp2_session *h2, stream *s, size_t len)
{
    s->discarded += len;
    if (s->discarded > DISCARD_MAX && !s->reset_sent && !s->complete) {
        s->reset_sent = true;
        nghttp2_submit_rst_stream(h2, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_NO_ERROR);
    }
}

static int
on_data_chunk_recv(nghttp2_session *h2, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                   void *user_data)
{
    conn *c = user_data;
    stream *s = nghttp2_session_get_stream_user_data(h2, id);
    int rc;

    (void)flags;
    if (s == NULL)
        return 0; /* refused: nghttp2 still credits the window */
    if (s->responded) {
        stream_discard(h2, s, len);
        return 0;
    }
    rc = body_append(s, data, len, c->w->srv->cfg.max_body);
    if (rc == HTTP_PAYLOAD_TOO_LARGE) {
        stream_problem(s, HTTP_PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE",
                       "the request body is larger than allowed");
        stream_answer_early(s);
        return 0;
    }
    return rc < 0 ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : 0;
}

/* Frames that cost work and that a client has no reason to send often. */
static bool
is_control_frame(const nghttp2_frame *f)
{
    switch (f->hd.type) {
    case NGHTTP2_PING:
    case NGHTTP2_SETTINGS:
        return (f->hd.flags & NGHTTP2_FLAG_ACK) == 0;
    case NGHTTP2_PRIORITY:
        return true;
    case NGHTTP2_DATA:
        return f->hd.length == 0 && (f->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0;
    default:
        return false;
    }
}

static const char *
flood_name(uint8_t type)
{
    switch (type) {
    case NGHTTP2_PING:
        return "PING flood";
    case NGHTTP2_SETTINGS:
        return "SETTINGS flood";
    case NGHTTP2_PRIORITY:
        return "PRIORITY flood";
    default:
        return "empty DATA flood";
    }
}

/* The per-connection budgets; -1 once the client is cut off. */
static int
frame_budget(conn *c, const nghttp2_frame *f, int64_t now)
{
    if (f->hd.type == NGHTTP2_RST_STREAM &&
        gw_bucket_take(&c->resets, H2_RESET_RATE, H2_RESET_BURST, now) != 0) {
        conn_cut(c, "cut", "rapid reset: too many RST_STREAM frames");
        return -1;
    }
    if (is_control_frame(f) &&
        gw_bucket_take(&c->control, H2_CONTROL_RATE, H2_CONTROL_BURST, now) != 0) {
        conn_cut(c, "cut", flood_name(f->hd.type));
        return -1;
    }
    return 0;
}

static int
on_frame_recv(nghttp2_session *h2, const nghttp2_frame *frame, void *user_data)
{
    conn *c = user_data;
    stream *s;

    c->active_ns = gw_now_ns(); /* a complete frame: the client is not just trickling bytes */
    if (frame_budget(c, frame, c->active_ns) < 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    s = nghttp2_session_get_stream_user_data(h2, frame->hd.stream_id);
    if (s == NULL)
        return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
        stream_headers_done(s);
    if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && stream_request_done(c, s) < 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return 0;
}

static int
on_stream_close(nghttp2_session *h2, int32_t id, uint32_t error_code, void *user_data)
{
    stream *s = nghttp2_session_get_stream_user_data(h2, id);

    (void)error_code;
    (void)user_data;
    if (s == NULL)
        return 0;
    if (stream_pending(s)) {
        s->h2_closed = true; /* the handler still holds the request: gw_respond() frees it */
        return 0;
    }
    stream_release(s);
    return 0;
}

static int
on_h2_error(nghttp2_session *h2, int lib_error_code, const char *msg, size_t len, void *user_data)
{
    conn *c = user_data;

    (void)h2;
    gw_log(GW_LOG_DEBUG, "h2_protocol_error", "peer=%s error=%d detail=%.*s", c->addr,
           lib_error_code, (int)len, msg);
    return 0;
}

static ssize_t
body_read(nghttp2_session *h2, int32_t id, uint8_t *buf, size_t len, uint32_t *data_flags,
          nghttp2_data_source *source, void *user_data)
{
    stream *s = source->ptr;
    size_t n = s->resp_len - s->resp_off;

    (void)h2;
    (void)id;
    (void)user_data;
    if (n > len)
        n = len;
    memcpy(buf, s->resp_body + s->resp_off, n);
    s->resp_off += n;
    if (s->resp_off == s->resp_len)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int
h2_callbacks_new(nghttp2_session_callbacks **out)
{
    nghttp2_session_callbacks *cb;

    if (nghttp2_session_callbacks_new(&cb) != 0)
        return GW_ERR_NOMEM;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk_recv);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_error_callback2(cb, on_h2_error);
    *out = cb;
    return GW_OK;
}

/* What nghttp2 enforces itself. Its reset limit is a backstop behind ours (frame_budget),
 * which cuts first and says why. */
/*
 * nghttp2's allocator. Each session allocates a 16 KB frame buffer up front; an idle
 * connection writes only its SETTINGS and a few control frames into the first page of it.
 * Blocks of H2_MMAP_MIN and more are mapped on their own, so the kernel backs only the pages
 * written (an idle connection: one page instead of five, ~12 KB less; a busy one is as
 * before). Smaller blocks come from malloc. Every block carries its size in front.
 */
#define H2_MMAP_MIN 16384
#define H2_MEM_HDR 16 /* the size, keeping malloc's 16-byte alignment */

static void *
h2_mem_malloc(size_t size, void *ud)
{
    size_t total = size + H2_MEM_HDR;
    unsigned char *p;

    (void)ud;
    if (size > SIZE_MAX - H2_MEM_HDR)
        return NULL;
    if (size >= H2_MMAP_MIN) {
        p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
    } else if ((p = malloc(total)) == NULL) {
        return NULL;
    }
    memcpy(p, &size, sizeof size);
    return p + H2_MEM_HDR;
}

static void
h2_mem_free(void *ptr, void *ud)
{
    unsigned char *p;
    size_t size;

    (void)ud;
    if (ptr == NULL)
        return;
    p = (unsigned char *)ptr - H2_MEM_HDR;
    memcpy(&size, p, sizeof size);
    if (size >= H2_MMAP_MIN)
        munmap(p, size + H2_MEM_HDR);
    else
        free(p);
}

static void *
h2_mem_calloc(size_t n, size_t size, void *ud)
{
    void *p;

    if (size && n > SIZE_MAX / size)
        return NULL;
    p = h2_mem_malloc(n * size, ud);
    if (p != NULL && n * size < H2_MMAP_MIN) /* mapped pages come zeroed */
        memset(p, 0, n * size);
    return p;
}

static void *
h2_mem_realloc(void *ptr, size_t size, void *ud)
{
    size_t old;
    void *p;

    if (ptr == NULL)
        return h2_mem_malloc(size, ud);
    memcpy(&old, (unsigned char *)ptr - H2_MEM_HDR, sizeof old);
    if (old < H2_MMAP_MIN && size < H2_MMAP_MIN && size <= SIZE_MAX - H2_MEM_HDR) {
        unsigned char *q = realloc((unsigned char *)ptr - H2_MEM_HDR, size + H2_MEM_HDR);
        if (q == NULL)
            return NULL;
        memcpy(q, &size, sizeof size);
        return q + H2_MEM_HDR;
    }
    if ((p = h2_mem_malloc(size, ud)) == NULL)
        return NULL;
    memcpy(p, ptr, old < size ? old : size);
    h2_mem_free(ptr, ud);
    return p;
}

static nghttp2_mem h2_mem = {NULL, h2_mem_malloc, h2_mem_free, h2_mem_calloc, h2_mem_realloc};

static int
h2_options_new(nghttp2_option **out)
{
    nghttp2_option *o;

    if (nghttp2_option_new(&o) != 0)
        return GW_ERR_NOMEM;
    nghttp2_option_set_max_continuations(o, H2_MAX_CONTINUATIONS);
    nghttp2_option_set_max_settings(o, H2_MAX_SETTINGS);
    nghttp2_option_set_max_outbound_ack(o, H2_MAX_OUTBOUND_ACK);
    nghttp2_option_set_stream_reset_rate_limit(o, 2 * H2_RESET_BURST, 2 * H2_RESET_RATE);
    *out = o;
    return GW_OK;
}

/* ---- Responses ------------------------------------------------------------------------------ */

static nghttp2_nv
make_nv(const char *name, const char *value)
{
    nghttp2_nv nv = {(uint8_t *)name, (uint8_t *)value, strlen(name), strlen(value),
                     NGHTTP2_NV_FLAG_NONE};
    return nv;
}

/* HTTP/2 wants lowercase token names; we set content-length and x-request-id ourselves and
 * connection-specific fields are forbidden. Values: visible characters, space and tab. */
static bool
extra_header_ok(const gw_header *h)
{
    static const char *const reserved[] = {"content-length",    "x-request-id", "connection",
                                           "transfer-encoding", "keep-alive",   "upgrade",
                                           "proxy-connection",  "content-type"};
    const char *p;
    size_t i;

    if (h->name == NULL || h->value == NULL || h->name[0] == '\0')
        return false;
    for (p = h->name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("-_.", *p)))
            return false;
    for (p = h->value; *p; p++)
        if ((unsigned char)*p < ' ' && *p != '\t')
            return false;
    for (i = 0; i < ARRAY_LEN(reserved); i++)
        if (strcmp(h->name, reserved[i]) == 0)
            return false;
    return true;
}

static int
submit_response(conn *c, stream *s, int status, const char *content_type, const gw_header *extra,
                size_t n_extra)
{
    char status_str[STATUS_DIGITS + 1], len_str[U64_DIGITS + 1];
    bool no_content = status == HTTP_NO_CONTENT || status == HTTP_NOT_MODIFIED;
    bool no_body = no_content || strcmp(s->req.method, "HEAD") == 0;
    nghttp2_data_provider prd = {.source.ptr = s, .read_callback = body_read};
    nghttp2_nv *nva;
    size_t i, n = 0;
    int rv;

    nva = calloc(RESPONSE_BASE_HEADERS + n_extra, sizeof *nva);
    if (nva == NULL)
        return NGHTTP2_ERR_NOMEM;
    snprintf(status_str, sizeof status_str, "%d", status);
    nva[n++] = make_nv(":status", status_str);
    if (content_type != NULL && content_type[0] != '\0' && !no_content)
        nva[n++] = make_nv("content-type", content_type);
    if (!no_content) {
        snprintf(len_str, sizeof len_str, "%zu", s->resp_len);
        nva[n++] = make_nv("content-length", len_str);
    }
    nva[n++] = make_nv("x-request-id", s->req.request_id);
    for (i = 0; i < n_extra; i++) {
        if (extra_header_ok(&extra[i]))
            nva[n++] = make_nv(extra[i].name, extra[i].value);
        else
            gw_log(GW_LOG_ERROR, "bad_response_header", "request_id=%s index=%zu",
                   s->req.request_id, i);
    }
    rv = nghttp2_submit_response(c->h2, s->id, nva, n, no_body || s->resp_len == 0 ? NULL : &prd);
    free(nva); /* nghttp2 copied the names and values */
    return rv;
}

/* Send what gw_respond() queued: now, or — inside nghttp2 (a synchronous handler) — when the
 * read loop's mem_recv returns, since mem_send may not run inside a callback. */
static void
conn_flush_soon(conn *c)
{
    if (c->in_h2)
        return;
    if (conn_flush(c) < 0) {
        conn_kill(c, false, "write failed");
        return;
    }
    conn_after_io(c);
}

/* A response from another thread would race the worker on the connection: fail loudly. */
static void
check_thread(const stream *s)
{
    if (atomic_load(&s->w->running) && !pthread_equal(pthread_self(), s->w->self)) {
        gw_log(GW_LOG_ERROR, "respond_wrong_thread", "request_id=%s worker=%u", s->req.request_id,
               s->w->id);
        abort();
    }
}

/* A refusal decided inside a handler (a status from a BIC that is not the principal's, ...):
 * on the record like the router's, with the error code as the reason. */
static void
audit_late_refusal(gw_request *req, int status, const char *body, size_t len)
{
    char reason[GW_MAX_REQUEST_ID + 32] = "refused by the route's handler";
    json_t *j = body != NULL ? json_loadb(body, len, 0, NULL) : NULL;
    const char *code = json_string_value(json_object_get(j, "code"));

    if (code != NULL)
        snprintf(reason, sizeof reason, "handler: %.*s", GW_MAX_REQUEST_ID, code);
    json_decref(j);
    gw_audit_refusal(req, status, reason);
}

/* Operators see every payment and manage the ledger (DESIGN.md "Who sees what"): each such
 * access that succeeded is on the audit record too — a payment, an account, a listing or the
 * changed feed; not the health, metrics and API description endpoints. */
static bool
operator_access(const gw_request *req, int status)
{
    if (req->principal.role != GW_ROLE_OPERATOR || status < HTTP_STATUS_MIN || status >= 300)
        return false;
    return req->uetr[0] != '\0' ||
           (req->route != NULL && (strncmp(req->route, "/v1/", 4) == 0 ||
                                   strncmp(req->route, "/tracker/", 9) == 0));
}

/* The first answer settles the request: no longer pending, counted and logged (metrics.c),
 * whether or not anyone is left to receive it. */
static int
respond_settle(stream *s, int status)
{
    s->responded = true;
    if (s->dispatched) {
        if (s->c != NULL)
            s->c->n_pending--;
        s->w->n_pending--;
    }
    if (status < HTTP_STATUS_MIN || status > HTTP_STATUS_MAX) {
        gw_log(GW_LOG_ERROR, "bad_response_status", "request_id=%s status=%d", s->req.request_id,
               status);
        status = HTTP_INTERNAL;
    }
    gw_observe_response(&s->req, status);
    return status;
}

void
gw_respond(gw_request *req, int status, const char *content_type, char *body, size_t len,
           const gw_header *extra, size_t n_extra)
{
    stream *s = req->priv;
    conn *c = s->c;

    check_thread(s);
    if (s->responded) {
        gw_log(GW_LOG_ERROR, "respond_twice", "request_id=%s", req->request_id);
        free(body);
        return;
    }
    status = respond_settle(s, status);
    if ((status == 403 || status == 429) && !req->audited)
        audit_late_refusal(req, status, body, body ? len : 0);
    else if (operator_access(req, status))
        gw_audit_access(req, status, "operator access");
    if (c == NULL || s->h2_closed || c->dead) {
        /* Nobody to answer. A dead connection's reaper frees the stream; else we do. */
        gw_log(GW_LOG_DEBUG, "response_dropped", "request_id=%s reason=client gone",
               req->request_id);
        free(body);
        if (c == NULL || s->h2_closed)
            stream_release(s);
        return;
    }
    s->resp_body = body;
    s->resp_len = body ? len : 0;
    if (submit_response(c, s, status, content_type, extra, n_extra) != 0)
        nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
    conn_flush_soon(c);
}

/* ---- Connection I/O ------------------------------------------------------------------------- */

static bool
conn_read_paused(const conn *c)
{
    return obuf_left(&c->out) >= OUT_PAUSE;
}

static void
conn_set_events(conn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = &c->ev};

    if (c->dead || c->events == events)
        return;
#ifdef GW_FUZZ_HOOK
    if (c->ev.fd < 0) { /* a fuzzed connection has no socket to watch */
        c->events = events;
        return;
    }
#endif
    if (epoll_ctl(c->w->epfd, EPOLL_CTL_MOD, c->ev.fd, &ev) < 0) {
        conn_kill(c, false, "epoll_ctl failed");
        return;
    }
    c->events = events;
}

/* Read unless output is piling up (the peer isn't reading); write while output waits. */
static void
conn_update_events(conn *c)
{
    uint32_t events = 0;

    if (!conn_read_paused(c))
        events |= EPOLLIN;
    if (obuf_left(&c->out) > 0 || c->read_wants_write)
        events |= EPOLLOUT;
    conn_set_events(c, events);
}

/* SSL_write until `b` is empty (1), the socket is full (0) or the connection broke (-1). */
static int
conn_write(conn *c, struct obuf *b)
{
#ifdef GW_FUZZ_HOOK
    if (c->ssl == NULL) { /* a fuzzed connection: the output goes nowhere */
        b->off = b->len;
        return 1;
    }
#endif
    while (obuf_left(b) > 0) {
        size_t left = obuf_left(b);
        int n;

        ERR_clear_error();
        n = SSL_write(c->ssl, b->p + b->off, left > INT_MAX ? INT_MAX : (int)left);
        if (n > 0) {
            b->off += (size_t)n;
            c->active_ns = gw_now_ns();
            continue;
        }
        switch (SSL_get_error(c->ssl, n)) {
        case SSL_ERROR_WANT_WRITE:
        case SSL_ERROR_WANT_READ:
            return 0;
        default:
            ERR_clear_error();
            return -1;
        }
    }
    return 1;
}

/* Pull frames from nghttp2 into `b` until OUT_FILL or nothing more to send. */
static int
conn_fill(conn *c, struct obuf *b)
{
    const uint8_t *data;
    ssize_t n;

    while (b->len < OUT_FILL) {
        c->in_h2 = true;
        n = nghttp2_session_mem_send(c->h2, &data);
        c->in_h2 = false;
        if (n < 0) {
            gw_log(GW_LOG_WARN, "h2_session_error", "peer=%s error=%s", c->addr,
                   nghttp2_strerror((int)n));
            return -1;
        }
        if (n == 0)
            break;
        if (obuf_append(b, data, (size_t)n) < 0)
            return -1;
    }
    return 0;
}

/*
 * Send everything nghttp2 has. Frames are assembled in the worker's scratch buffer; what the
 * socket refuses is copied to c->out and retried first next time (same bytes: OpenSSL wants
 * a refused SSL_write repeated; SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER lets them move).
 * Returns 1 all sent, 0 blocked, -1 broken.
 */
static int
conn_flush(conn *c)
{
    struct obuf *scratch = &c->w->scratch;
    int rc;

    if (obuf_left(&c->out) > 0) {
        rc = conn_write(c, &c->out);
        if (rc <= 0)
            return rc;
        obuf_free(&c->out);
    }
    for (;;) {
        scratch->off = scratch->len = 0;
        if (conn_fill(c, scratch) < 0)
            return -1;
        if (scratch->len == 0)
            return 1;
        rc = conn_write(c, scratch);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return obuf_append(&c->out, scratch->p + scratch->off, obuf_left(scratch)) < 0 ? -1 : 0;
    }
}

static int
conn_feed(conn *c, const uint8_t *data, size_t len)
{
    ssize_t rv;

    c->in_h2 = true;
    rv = nghttp2_session_mem_recv(c->h2, data, len);
    c->in_h2 = false;
    if (rv < 0) {
        if (c->cut[0] == '\0') /* nghttp2 found it (flood, too many CONTINUATIONs, ...) */
            conn_cut(c, "cut", nghttp2_strerror((int)rv));
        (void)conn_flush(c); /* best effort: the GOAWAY */
        return -1;
    }
    return 0;
}

/* Why SSL_read stopped: 0 = wait for the socket, -1 = the connection is over (logged). */
static int
conn_read_stopped(conn *c, int n)
{
    int err = SSL_get_error(c->ssl, n);
    const char *why;

    switch (err) {
    case SSL_ERROR_WANT_READ:
        return 0;
    case SSL_ERROR_WANT_WRITE:
        c->read_wants_write = true;
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        conn_kill(c, false, "peer closed");
        return -1;
    case SSL_ERROR_SYSCALL:
        conn_kill(c, false, errno == ECONNRESET ? "connection reset" : "peer went away");
        ERR_clear_error();
        return -1;
    default:
        if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            ERR_clear_error(); /* closed without close_notify: what most clients do */
            conn_kill(c, false, "peer closed");
            return -1;
        }
        why = ERR_reason_error_string(ERR_peek_error());
        gw_log(GW_LOG_WARN, "tls_error", "peer=%s detail=%s", c->addr, why ? why : "unknown");
        ERR_clear_error();
        conn_kill(c, false, "tls error");
        return -1;
    }
}

/* Read and process until the socket is drained, the budget is spent or output backs up. */
static int
conn_read(conn *c)
{
    gw_worker *w = c->w;
    size_t budget = READ_BUDGET;
    int n;

    c->read_wants_write = false;
    while (!conn_read_paused(c)) {
        ERR_clear_error();
        errno = 0;
        n = SSL_read(c->ssl, w->rbuf, sizeof w->rbuf);
        if (n <= 0)
            return conn_read_stopped(c, n);
        if (conn_feed(c, w->rbuf, (size_t)n) < 0) {
            conn_kill(c, false, "http/2 error");
            return -1;
        }
        if (conn_flush(c) < 0) {
            conn_kill(c, false, "write failed");
            return -1;
        }
        budget = (size_t)n < budget ? budget - (size_t)n : 0;
        if (budget == 0 && SSL_pending(c->ssl) == 0)
            break; /* level-triggered epoll calls us again */
    }
    return 0;
}

/* After any I/O: close a finished session, else set the epoll interest it needs. */
static void
conn_after_io(conn *c)
{
    if (c->dead)
        return;
    if (c->state == CONN_H2 && !nghttp2_session_want_read(c->h2) &&
        !nghttp2_session_want_write(c->h2) && obuf_left(&c->out) == 0) {
        conn_kill(c, true, "session done");
        return;
    }
    conn_update_events(c);
}

static void
conn_goaway(conn *c)
{
    if (c->goaway_sent || c->state != CONN_H2)
        return;
    c->goaway_sent = true;
    nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(c->h2),
                          NGHTTP2_NO_ERROR, NULL, 0);
}

static int
conn_start_h2(conn *c)
{
    const gw_server *srv = c->w->srv;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, srv->cfg.max_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_STREAM_WINDOW},
    };

    if (nghttp2_session_server_new3(&c->h2, srv->cbs, c, srv->h2opt, &h2_mem) != 0)
        return -1;
    if (nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, ARRAY_LEN(iv)) != 0 ||
        nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, H2_CONN_WINDOW) != 0)
        return -1;
    c->state = CONN_H2;
    c->active_ns = gw_now_ns();
    if (c->w->stopping)
        conn_goaway(c);
    gw_log(GW_LOG_DEBUG, "conn_open", "peer=%s principal=%s role=%s", c->addr,
           c->peer.principal.name, gw_role_name(c->peer.principal.role));
    return 0;
}

/* One of the principal's max_conns_per_principal, or a refusal: GOAWAY before any request. */
static bool
conn_admit(conn *c)
{
    if (gw_connlimit_acquire(&c->peer.principal, c->w->srv->cfg.max_conns_per_principal)) {
        c->conn_counted = true;
        return true;
    }
    count(&st_handshake_failures[GW_TLS_FAIL_CONN_LIMIT]);
    conn_cut(c, "refused", "too many connections for this principal");
    return false;
}

/*
 * Cut a client off: GOAWAY ENHANCE_YOUR_CALM with the reason as its debug data, a log line and
 * an audit record, once. The caller closes the connection after flushing: a callback returns
 * NGHTTP2_ERR_CALLBACK_FAILURE, which conn_read turns into a kill once the GOAWAY is out.
 */
static void
conn_cut(conn *c, const char *decision, const char *reason)
{
    if (c->cut[0] != '\0')
        return;
    snprintf(c->cut, sizeof c->cut, "%s", reason);
    if (c->h2 != NULL)
        nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(c->h2),
                              NGHTTP2_ENHANCE_YOUR_CALM, (const uint8_t *)c->cut, strlen(c->cut));
    c->goaway_sent = true;
    gw_log(GW_LOG_WARN, "h2_client_cut", "peer=%s principal=%s decision=%s reason=%s", c->addr,
           c->peer.principal.name, decision, c->cut);
    gw_audit_conn(&c->peer.principal, c->peer.subject, c->addr, decision, c->cut);
}

/*
 * A refused client gets our alert, then a FIN, and its input is read and dropped until it
 * closes or LINGER_MS pass. Closing at once would answer the request a TLS 1.3 client sends
 * right after its Finished with a RST, which can destroy the alert before it is read.
 */
static void
conn_linger(conn *c)
{
    if (shutdown(c->ev.fd, SHUT_WR) < 0) {
        conn_kill(c, false, "handshake failed");
        return;
    }
    c->state = CONN_LINGER;
    c->active_ns = gw_now_ns();
    conn_set_events(c, EPOLLIN);
}

static void
conn_linger_read(conn *c)
{
    size_t got = 0;
    ssize_t n;

    for (;;) {
        n = read(c->ev.fd, c->w->rbuf, sizeof c->w->rbuf);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got >= READ_BUDGET)
            return; /* level-triggered epoll calls again for the rest */
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        conn_kill(c, false, "handshake failed");
}

static void
conn_handshake_failed(conn *c)
{
    gw_tls_fail why = c->peer.failed ? c->peer.fail : GW_TLS_FAIL_PROTOCOL;

    char reason[GW_TLS_DETAIL_MAX + 32];

    count(&st_handshake_failures[why]);
    gw_log(why == GW_TLS_FAIL_CLOSED ? GW_LOG_INFO : GW_LOG_WARN, "tls_handshake_failed",
           "peer=%s reason=%s detail=%s subject=%s", c->addr, gw_tls_fail_name(why),
           c->peer.detail, c->peer.subject);
    if (why != GW_TLS_FAIL_CLOSED) { /* a client that went away was not refused */
        snprintf(reason, sizeof reason, "%s: %s", gw_tls_fail_name(why), c->peer.detail);
        gw_audit_conn(NULL, c->peer.subject, c->addr, "refused", reason);
    }
    if (why == GW_TLS_FAIL_CLOSED || why == GW_TLS_FAIL_TIMEOUT)
        conn_kill(c, false, "handshake failed"); /* nobody is listening for an alert */
    else
        conn_linger(c);
}

static void conn_on_io(conn *c);

static void
conn_handshake(conn *c)
{
    switch (gw_tls_handshake(c->ssl, &c->peer)) {
    case GW_TLS_WANT_READ:
        conn_set_events(c, EPOLLIN);
        return;
    case GW_TLS_WANT_WRITE:
        conn_set_events(c, EPOLLOUT);
        return;
    case GW_TLS_FAILED:
        conn_handshake_failed(c);
        return;
    default:
        break;
    }
    if (conn_start_h2(c) < 0) {
        gw_log(GW_LOG_ERROR, "h2_session_failed", "peer=%s reason=out of memory", c->addr);
        conn_kill(c, false, "no memory");
        return;
    }
    if (!conn_admit(c)) {
        (void)conn_flush(c); /* SETTINGS and the GOAWAY */
        conn_kill(c, true, "too many connections");
        return;
    }
    conn_on_io(c); /* SETTINGS out; the client preface may already be here */
}

/* A new connection joins its worker's list and the gauges. */
static void
conn_link(gw_worker *w, conn *c)
{
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->n_conns++;
    count(&st_accepted);
    count(&st_open);
}

/* Whatever epoll reported, flush then read: both are cheap when there is nothing to do. */
static void
conn_on_io(conn *c)
{
    if (c->dead)
        return;
    if (c->state == CONN_HANDSHAKE) {
        conn_handshake(c);
        return;
    }
    if (c->state == CONN_LINGER) {
        conn_linger_read(c);
        return;
    }
    if (conn_flush(c) < 0) {
        conn_kill(c, false, "write failed");
        return;
    }
    if (conn_read(c) < 0)
        return;
    conn_after_io(c);
}

/* Unregister now, free later (worker_reap): callers up the stack may still hold `c`. */
static void
conn_kill(conn *c, bool graceful, const char *why)
{
    gw_worker *w = c->w;

    if (c->dead)
        return;
    c->dead = true;
    if (graceful && c->state == CONN_H2 && c->ssl != NULL) {
        ERR_clear_error();
        (void)SSL_shutdown(c->ssl); /* close_notify, best effort, never waited for */
        ERR_clear_error();
    }
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->ev.fd, NULL);
    c->next_dead = w->dead;
    w->dead = c;
    gw_log(GW_LOG_DEBUG, "conn_closed", "peer=%s reason=%s pending=%u", c->addr, why, c->n_pending);
}

static void
conn_free(conn *c)
{
    gw_worker *w = c->w;
    stream *s, *next;

    for (s = c->streams; s != NULL; s = next) {
        next = s->next;
        if (stream_pending(s))
            stream_detach(s);
        else
            stream_release(s);
    }
    nghttp2_session_del(c->h2); /* calls no callbacks */
    SSL_free(c->ssl);
    gw_tls_peer_release(&c->peer);
    if (c->conn_counted)
        gw_connlimit_release(&c->peer.principal);
    if (c->ev.fd >= 0)
        close(c->ev.fd);
    obuf_free(&c->out);
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->n_conns--;
    atomic_fetch_sub_explicit(&st_open, 1, memory_order_relaxed);
    free(c);
}

/* A stream whose header block is still open after header_timeout_ms (slowloris). */
static bool
conn_headers_late(const conn *c, int64_t now)
{
    int64_t limit = (int64_t)c->w->srv->cfg.header_timeout_ms * NS_PER_MS;
    const stream *s;

    for (s = c->streams; s != NULL; s = s->next)
        if (!s->headers_done && !s->responded && now - s->req.start_ns >= limit)
            return true;
    return false;
}

static void
conn_check_timeouts(conn *c, int64_t now)
{
    const gw_config *cfg = &c->w->srv->cfg;

    if (c->state == CONN_LINGER) {
        if (now - c->active_ns >= LINGER_MS * NS_PER_MS)
            conn_kill(c, false, "handshake failed");
        return;
    }
    if (c->state == CONN_HANDSHAKE) {
        if (now - c->accepted_ns < GW_HANDSHAKE_TIMEOUT_MS * NS_PER_MS)
            return;
        c->peer.failed = 1;
        c->peer.fail = GW_TLS_FAIL_TIMEOUT;
        snprintf(c->peer.detail, sizeof c->peer.detail, "no handshake after %d ms",
                 GW_HANDSHAKE_TIMEOUT_MS);
        conn_handshake_failed(c);
        return;
    }
    if (conn_headers_late(c, now)) {
        conn_cut(c, "cut", "header timeout: a request's headers were not complete in time");
        (void)conn_flush(c);
        conn_kill(c, false, "header timeout");
        return;
    }
    /* Idle: no complete frame read and nothing written for a while, and no answer owed. A
     * half-sent request counts as idle: a client must keep its streams moving. */
    if (cfg->idle_timeout_ms == 0 || c->n_pending > 0 ||
        now - c->active_ns < (int64_t)cfg->idle_timeout_ms * NS_PER_MS)
        return;
    conn_goaway(c);
    (void)conn_flush(c);
    conn_kill(c, true, "idle");
}

/* ---- Accepting ------------------------------------------------------------------------------ */

static void
conn_accept(gw_worker *w, int fd, const struct sockaddr_storage *ss)
{
    struct epoll_event ev = {.events = EPOLLIN};
    int one = 1;
    conn *c;

    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c = calloc(1, sizeof *c);
    if (c == NULL)
        goto fail;
    c->ev.kind = EV_CONN;
    c->ev.fd = fd;
    c->w = w;
    c->state = CONN_HANDSHAKE;
    c->accepted_ns = c->active_ns = gw_now_ns();
    format_addr(ss, c->addr, sizeof c->addr);
    c->ssl = gw_tls_conn_new(w->srv->tls, fd, &c->peer);
    if (c->ssl == NULL)
        goto fail;
    c->events = ev.events;
    ev.data.ptr = &c->ev;
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        goto fail;
    conn_link(w, c);
    return;
fail:
    gw_log(GW_LOG_WARN, "accept_failed", "worker=%u reason=out of memory", w->id);
    if (c != NULL) {
        SSL_free(c->ssl);
        gw_tls_peer_release(&c->peer);
    }
    free(c);
    close(fd);
}

static void
worker_set_accepting(gw_worker *w, bool on)
{
    struct epoll_event ev = {.events = on ? EPOLLIN : 0, .data.ptr = &w->listen};

    if (w->listen.fd < 0)
        return;
    if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, w->listen.fd, &ev) == 0)
        w->accept_paused = !on;
}

static void
worker_accept(gw_worker *w)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int i, fd;

    for (i = 0; i < ACCEPT_BATCH && w->listen.fd >= 0; i++) {
        sl = sizeof ss;
        fd = accept4(w->listen.fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            conn_accept(w, fd, &ss);
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* Out of descriptors: level-triggered epoll would spin; retry on the next tick. */
            gw_log(GW_LOG_WARN, "accept_paused", "worker=%u reason=%s", w->id,
                   errno == EMFILE || errno == ENFILE ? "out of file descriptors"
                                                      : "out of memory");
            worker_set_accepting(w, false);
            return;
        }
        /* ECONNABORTED, EPROTO, EINTR, ...: that one connection is gone; go on. */
    }
}

static void
worker_close_listener(gw_worker *w)
{
    if (w->listen.fd < 0)
        return;
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->listen.fd, NULL);
    close(w->listen.fd);
    w->listen.fd = -1;
}

/* ---- Posted functions ----------------------------------------------------------------------- */

void
gw_worker_post(gw_worker *w, void (*fn)(void *arg), void *arg)
{
    struct post *p = malloc(sizeof *p);
    uint64_t one = 1;
    ssize_t r;

    if (p == NULL) {
        /* Dropping it would leave a request unanswered and its memory held forever. */
        gw_log(GW_LOG_ERROR, "post_failed", "worker=%u reason=out of memory", w->id);
        abort();
    }
    p->next = NULL;
    p->fn = fn;
    p->arg = arg;
    pthread_mutex_lock(&w->post_mu);
    if (w->post_tail)
        w->post_tail->next = p;
    else
        w->post_head = p;
    w->post_tail = p;
    pthread_mutex_unlock(&w->post_mu);
    r = write(w->post.fd, &one, sizeof one); /* EAGAIN: a wake-up is pending anyway */
    (void)r;
}

static struct post *
posts_take(gw_worker *w)
{
    struct post *p;

    pthread_mutex_lock(&w->post_mu);
    p = w->post_head;
    w->post_head = w->post_tail = NULL;
    pthread_mutex_unlock(&w->post_mu);
    return p;
}

/* Run what was posted, in order. Returns how many ran. */
static size_t
posts_run(gw_worker *w)
{
    struct post *p = posts_take(w), *next;
    size_t n = 0;

    for (; p != NULL; p = next, n++) {
        next = p->next;
        p->fn(p->arg);
        free(p);
    }
    return n;
}

static void
worker_on_post(gw_worker *w)
{
    uint64_t n;
    ssize_t r = read(w->post.fd, &n, sizeof n); /* reset first: a racing post re-arms it */

    (void)r;
    (void)posts_run(w);
}

/* ---- Worker loop ---------------------------------------------------------------------------- */

static void
worker_reap(gw_worker *w)
{
    conn *c;

    while ((c = w->dead) != NULL) {
        w->dead = c->next_dead;
        conn_free(c);
    }
}

static void
worker_begin_stop(gw_worker *w)
{
    conn *c;

    if (w->stopping)
        return;
    w->stopping = true;
    w->drain_deadline_ns = gw_now_ns() + DRAIN_TIMEOUT_MS * NS_PER_MS;
    worker_close_listener(w);
    for (c = w->conns; c != NULL; c = c->next) {
        if (c->dead)
            continue;
        if (c->state != CONN_H2) {
            conn_kill(c, false, "stopping");
            continue;
        }
        conn_goaway(c);
        conn_flush_soon(c);
    }
    gw_log(GW_LOG_INFO, "worker_draining", "worker=%u conns=%u pending=%u", w->id, w->n_conns,
           w->n_pending);
}

static void
worker_on_stop(gw_worker *w)
{
    uint64_t n;
    ssize_t r = read(w->stop.fd, &n, sizeof n);

    (void)r;
    worker_begin_stop(w);
}

static void
worker_on_tick(gw_worker *w)
{
    uint64_t ticks;
    ssize_t r = read(w->timer.fd, &ticks, sizeof ticks);
    int64_t now = gw_now_ns();
    conn *c;

    (void)r;
    if (w->accept_paused)
        worker_set_accepting(w, true);
    for (c = w->conns; c != NULL; c = c->next)
        if (!c->dead)
            conn_check_timeouts(c, now);
}

/*
 * SIGHUP, on worker 0: a new registry and a new TLS context, or — if anything is wrong with the
 * files — nothing changes and the log says why. Blocks this worker for the few milliseconds
 * the files take to parse; the other workers go on.
 */
static void
server_reload(gw_server *srv)
{
    char err[GW_RELOAD_ERR_MAX];
    gw_registry *reg = NULL, *app_ref = NULL;
    int rc = gw_registry_load(&reg, srv->cfg.participants_file, err, sizeof err);

    if (rc == GW_OK && gw_registry_size(reg) == 0) {
        snprintf(err, sizeof err, "%s: no participants", srv->cfg.participants_file);
        rc = GW_ERR_REGISTRY;
    }
    if (rc == GW_OK) {
        app_ref = gw_registry_acquire(&reg);
        rc = gw_tls_reload(srv->tls, &srv->cfg, reg, err, sizeof err);
    }
    if (rc != GW_OK) {
        gw_registry_free(app_ref);
        gw_registry_free(reg);
        gw_log(GW_LOG_ERROR, "reload_failed",
               "%s; the previous participants, certificate and CRL stay in force", err);
        return;
    }
    gw_registry_replace(&srv->app->registry, app_ref); /* reg itself now belongs to tls.c */
    gw_log(GW_LOG_INFO, "reloaded", "participants=%zu from %s; crl=%s; cert=%s",
           gw_registry_size(app_ref), srv->cfg.participants_file, srv->cfg.crl_file,
           srv->cfg.cert_file);
}

static void
worker_on_reload(gw_worker *w)
{
    uint64_t n;
    ssize_t r = read(w->reload.fd, &n, sizeof n);

    (void)r;
    if (!w->stopping)
        server_reload(w->srv);
}

static void
worker_dispatch(gw_worker *w, struct ev_src *src)
{
    switch (src->kind) {
    case EV_LISTEN:
        worker_accept(w);
        break;
    case EV_STOP:
        worker_on_stop(w);
        break;
    case EV_POST:
        worker_on_post(w);
        break;
    case EV_TIMER:
        worker_on_tick(w);
        break;
    case EV_CONN:
        conn_on_io((conn *)src);
        break;
    case EV_RELOAD:
        worker_on_reload(w);
        break;
    }
}

/* Stopping ends when nothing is owed to anyone, or at the drain deadline. */
static bool
worker_finished(const gw_worker *w)
{
    if (!w->stopping)
        return false;
    if (w->n_conns == 0 && w->n_pending == 0)
        return true;
    return gw_now_ns() >= w->drain_deadline_ns;
}

static void
worker_shutdown(gw_worker *w)
{
    conn *c;

    if (w->n_conns > 0 || w->n_pending > 0)
        gw_log(GW_LOG_WARN, "drain_timeout", "worker=%u conns=%u pending=%u", w->id, w->n_conns,
               w->n_pending);
    worker_close_listener(w);
    for (c = w->conns; c != NULL; c = c->next)
        conn_kill(c, false, "shutdown");
    worker_reap(w);
}

static void *
worker_main(void *arg)
{
    gw_worker *w = arg;
    struct epoll_event evs[EPOLL_BATCH];
    int i, n;

    w->self = pthread_self();
    atomic_store(&w->running, true);
    while (!worker_finished(w)) {
        n = epoll_wait(w->epfd, evs, EPOLL_BATCH, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            gw_log(GW_LOG_ERROR, "epoll_wait_failed", "worker=%u errno=%d", w->id, errno);
            break;
        }
        for (i = 0; i < n; i++)
            worker_dispatch(w, evs[i].data.ptr);
        worker_reap(w);
    }
    worker_shutdown(w);
    atomic_store(&w->running, false);
    return NULL;
}

/* ---- Setup ---------------------------------------------------------------------------------- */

static int
ep_add(int epfd, struct ev_src *src)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = src};

    return epoll_ctl(epfd, EPOLL_CTL_ADD, src->fd, &ev);
}

static int
resolve(const gw_config *cfg, struct addrinfo **out, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    char port[PORT_DIGITS + 1];
    const char *host = cfg->listen_host[0] ? cfg->listen_host : NULL;
    int rv;

    snprintf(port, sizeof port, "%d", cfg->listen_port);
    rv = getaddrinfo(host, port, &hints, out);
    if (rv != 0) {
        snprintf(err, errlen, "cannot resolve listen address %s: %s", cfg->listen_host,
                 gai_strerror(rv));
        return GW_ERR_SOCKET;
    }
    return GW_OK;
}

static void
set_port(struct sockaddr *sa, int port)
{
    if (sa->sa_family == AF_INET)
        ((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)port);
    else if (sa->sa_family == AF_INET6)
        ((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)port);
}

static int
get_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;

    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
        return -1;
    return ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                    : ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* One listener per worker on the same address and port (SO_REUSEPORT: the kernel spreads
 * connections over them). */
static int
listen_open(struct addrinfo *ai, int port, const gw_config *cfg, char *err, size_t errlen)
{
    int one = 1, fd;

    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
        goto fail;
    set_port(ai->ai_addr, port);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, LISTEN_BACKLOG) < 0)
        goto fail;
    return fd;
fail:
    snprintf(err, errlen, "cannot listen on %s:%d: %s", cfg->listen_host, cfg->listen_port,
             strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

/*
 * SO_REUSEPORT would let a second daemon (same user) bind the port too and silently take half
 * the connections. An exclusive bind first (SO_REUSEADDR only: it still fails against a
 * listener) proves the port free; with port 0 it also picks the port the workers share.
 */
static int
listen_probe(struct addrinfo *ai, int *port, const gw_config *cfg, char *err, size_t errlen)
{
    int one = 1, fd, rc = GW_OK;

    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || (*port = get_port(fd)) <= 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", cfg->listen_host, cfg->listen_port,
                 strerror(errno));
        rc = GW_ERR_SOCKET;
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

static void
worker_preinit(gw_worker *w, gw_server *srv, unsigned id)
{
    w->srv = srv;
    w->id = id;
    w->epfd = -1;
    w->listen = (struct ev_src){EV_LISTEN, -1};
    w->stop = (struct ev_src){EV_STOP, -1};
    w->post = (struct ev_src){EV_POST, -1};
    w->timer = (struct ev_src){EV_TIMER, -1};
    w->reload = (struct ev_src){EV_RELOAD, id == 0 ? srv->reload_fd : -1};
}

static int
worker_init(gw_worker *w, struct addrinfo *ai, int port, char *err, size_t errlen)
{
    struct itimerspec tick = {.it_interval = {.tv_sec = TICK_MS / MS_PER_SEC},
                              .it_value = {.tv_sec = TICK_MS / MS_PER_SEC}};

    if (pthread_mutex_init(&w->post_mu, NULL) != 0)
        goto fail;
    w->mu_ready = true;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->stop.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->post.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (w->epfd < 0 || w->stop.fd < 0 || w->post.fd < 0 || w->timer.fd < 0 ||
        timerfd_settime(w->timer.fd, 0, &tick, NULL) < 0)
        goto fail;
    if ((w->listen.fd = listen_open(ai, port, &w->srv->cfg, err, errlen)) < 0)
        return GW_ERR_SOCKET;
    if (ep_add(w->epfd, &w->listen) < 0 || ep_add(w->epfd, &w->stop) < 0 ||
        ep_add(w->epfd, &w->post) < 0 || ep_add(w->epfd, &w->timer) < 0 ||
        (w->reload.fd >= 0 && ep_add(w->epfd, &w->reload) < 0))
        goto fail;
    return GW_OK;
fail:
    snprintf(err, errlen, "cannot set up worker %u: %s", w->id, strerror(errno));
    return GW_ERR_SOCKET;
}

/* Runs on the caller's thread once the worker thread is gone (or never ran). */
static void
worker_destroy(gw_worker *w)
{
    int rounds;

    /* Completions that arrived after the worker stopped: run them so the requests (all
     * orphans by now) and whatever the closures own are released. Bounded: a closure may
     * post again, but not forever. */
    for (rounds = 0; rounds < EPOLL_BATCH && w->mu_ready && posts_run(w) > 0; rounds++)
        ;
    while (w->orphans != NULL)
        stream_release(w->orphans);
    worker_close_listener(w);
    if (w->epfd >= 0)
        close(w->epfd);
    if (w->stop.fd >= 0)
        close(w->stop.fd);
    if (w->post.fd >= 0)
        close(w->post.fd);
    if (w->timer.fd >= 0)
        close(w->timer.fd);
    obuf_free(&w->scratch);
    if (w->mu_ready)
        pthread_mutex_destroy(&w->post_mu);
}

static unsigned
worker_count(int wanted)
{
    long n = wanted > 0 ? wanted : sysconf(_SC_NPROCESSORS_ONLN);

    if (n < 1)
        n = 1;
    if (n > GW_MAX_WORKERS)
        n = GW_MAX_WORKERS;
    return (unsigned)n;
}

/* Zero means "the default" for the limits the transport enforces. */
static void
normalize(gw_config *cfg)
{
    if (cfg->max_body == 0)
        cfg->max_body = GW_MAX_BODY_DEFAULT;
    if (cfg->max_body > GW_MAX_BODY_LIMIT)
        cfg->max_body = GW_MAX_BODY_LIMIT;
    if (cfg->max_streams == 0)
        cfg->max_streams = GW_MAX_STREAMS_DEFAULT;
    if (cfg->header_timeout_ms == 0)
        cfg->header_timeout_ms = GW_HEADER_TIMEOUT_MS_DEFAULT;
    if (cfg->max_conns_per_principal == 0)
        cfg->max_conns_per_principal = GW_MAX_CONNS_PER_PRINCIPAL_DEFAULT;
}

static int
server_listen(gw_server *srv, char *err, size_t errlen)
{
    struct addrinfo *ai = NULL;
    int port = srv->cfg.listen_port, rc;
    unsigned i;

    if ((rc = resolve(&srv->cfg, &ai, err, errlen)) != GW_OK)
        return rc;
    rc = listen_probe(ai, &port, &srv->cfg, err, errlen);
    for (i = 0; rc == GW_OK && i < srv->n_workers; i++)
        rc = worker_init(&srv->workers[i], ai, port, err, errlen);
    srv->cfg.listen_port = port;
    freeaddrinfo(ai);
    return rc;
}

int
gw_server_new(gw_server **out, const gw_config *cfg, gw_app *app, char *err, size_t errlen)
{
    gw_server *srv;
    unsigned i, n;
    int rc;

    *out = NULL;
    if (cfg == NULL || app == NULL) {
        snprintf(err, errlen, "the server needs a configuration and an application");
        return GW_ERR_CONFIG;
    }
    srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        goto nomem;
    srv->cfg = *cfg;
    normalize(&srv->cfg);
    srv->app = app;
    srv->reload_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (srv->reload_fd < 0)
        goto nomem;
    n = worker_count(cfg->workers);
    srv->workers = calloc(n, sizeof *srv->workers);
    if (srv->workers == NULL)
        goto nomem;
    for (i = 0; i < n; i++)
        worker_preinit(&srv->workers[i], srv, i);
    srv->n_workers = n;
    if (h2_callbacks_new(&srv->cbs) != GW_OK || h2_options_new(&srv->h2opt) != GW_OK)
        goto nomem;
    if ((rc = gw_tls_new(&srv->tls, &srv->cfg, app->registry, err, errlen)) != GW_OK ||
        (rc = server_listen(srv, err, errlen)) != GW_OK)
        goto out;
    *out = srv;
    srv = NULL;
    rc = GW_OK;
    goto out;
nomem:
    snprintf(err, errlen, "out of memory setting up the server");
    rc = GW_ERR_NOMEM;
out:
    gw_server_free(srv);
    return rc;
}

/* Workers take no process signals (main handles them and calls gw_server_stop); SIGPIPE from
 * a write to a closed socket stays pending on the worker, so the write just fails (EPIPE).
 * Faults stay deliverable. */
static void
worker_sigmask(sigset_t *set)
{
    static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT};
    size_t i;

    sigfillset(set);
    for (i = 0; i < ARRAY_LEN(faults); i++)
        sigdelset(set, faults[i]);
}

int
gw_server_run(gw_server *srv)
{
    sigset_t mask, old;
    unsigned i;
    int rc = GW_OK;

    if (srv->ran)
        return GW_ERR_CONFIG;
    srv->ran = true;
    worker_sigmask(&mask);
    pthread_sigmask(SIG_BLOCK, &mask, &old); /* inherited by the threads made below */
    for (i = 0; i < srv->n_workers; i++) {
        if (pthread_create(&srv->workers[i].thread, NULL, worker_main, &srv->workers[i]) != 0) {
            gw_log(GW_LOG_ERROR, "worker_start_failed", "worker=%u", i);
            rc = GW_ERR_NOMEM;
            break;
        }
        srv->workers[i].started = true;
        char name[16]; /* the kernel's limit, NUL included */
        snprintf(name, sizeof(name), "corridor-w%u", i % 100);
        pthread_setname_np(srv->workers[i].thread, name);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == GW_OK)
        gw_log(GW_LOG_INFO, "listening", "host=%s port=%d workers=%u", srv->cfg.listen_host,
               srv->cfg.listen_port, srv->n_workers);
    else
        gw_server_stop(srv);
    for (i = 0; i < srv->n_workers; i++)
        if (srv->workers[i].started)
            pthread_join(srv->workers[i].thread, NULL);
    return rc;
}

/* Async-signal-safe: one write() to worker 0's reload descriptor. */
void
gw_server_reload(gw_server *srv)
{
    uint64_t one = 1;
    ssize_t r = write(srv->reload_fd, &one, sizeof one);

    (void)r;
}

/* Async-signal-safe: one write() per worker. */
void
gw_server_stop(gw_server *srv)
{
    uint64_t one = 1;
    unsigned i;
    ssize_t r;

    for (i = 0; i < srv->n_workers; i++) {
        r = write(srv->workers[i].stop.fd, &one, sizeof one);
        (void)r;
    }
}

/*
 * After gw_server_run returned (or instead of it). Functions still queued for the workers run
 * here, on the caller's thread, so stop whatever posts (the tracker's writer) first; nothing
 * may call gw_respond() or gw_worker_post() afterwards.
 */
void
gw_server_free(gw_server *srv)
{
    unsigned i;

    if (srv == NULL)
        return;
    for (i = 0; i < srv->n_workers; i++)
        worker_destroy(&srv->workers[i]);
    free(srv->workers);
    if (srv->cbs)
        nghttp2_session_callbacks_del(srv->cbs);
    nghttp2_option_del(srv->h2opt);
    gw_tls_free(srv->tls);
    if (srv->reload_fd >= 0)
        close(srv->reload_fd);
    free(srv);
}

#ifdef GW_FUZZ_HOOK
/* ---- Test hook (tests/fuzz/fuzz_http_request.c) ------------------------------------------------
 *
 * The real request handling — an nghttp2 server session with the callbacks above, the request
 * assembly and limits, gw_dispatch, the handlers, gw_respond — fed from memory: no socket, no
 * TLS, no epoll, no worker thread (the caller's thread plays worker 0). Compiled only when
 * GW_FUZZ_HOOK is defined, i.e. into the fuzz build's own copy of the library; corridord and
 * the library everything else links have none of it.
 */

#define FUZZ_ANSWER_TIMEOUT_MS 10000 /* a dispatched request not answered by then is a bug */
#define FUZZ_POLL_MS 10

gw_server *
gw_fuzz_server_new(const gw_config *cfg, gw_app *app)
{
    gw_server *srv = calloc(1, sizeof *srv);
    gw_worker *w;

    if (srv == NULL)
        return NULL;
    srv->cfg = *cfg;
    normalize(&srv->cfg);
    srv->app = app;
    srv->reload_fd = -1;
    srv->workers = calloc(1, sizeof *srv->workers);
    if (srv->workers == NULL)
        goto fail;
    w = &srv->workers[0];
    worker_preinit(w, srv, 0);
    srv->n_workers = 1;
    if (h2_callbacks_new(&srv->cbs) != GW_OK || h2_options_new(&srv->h2opt) != GW_OK ||
        pthread_mutex_init(&w->post_mu, NULL) != 0)
        goto fail;
    w->mu_ready = true;
    w->post.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->post.fd >= 0)
        return srv;
fail:
    gw_server_free(srv);
    return NULL;
}

void
gw_fuzz_server_free(gw_server *srv)
{
    gw_server_free(srv);
}

static conn *
fuzz_conn_new(gw_worker *w, const gw_principal *p)
{
    conn *c = calloc(1, sizeof *c);

    if (c == NULL)
        return NULL;
    c->ev = (struct ev_src){EV_CONN, -1};
    c->w = w;
    c->state = CONN_HANDSHAKE;
    c->peer.principal = *p;
    c->peer.known = 1;
    c->accepted_ns = c->active_ns = gw_now_ns();
    snprintf(c->addr, sizeof c->addr, "fuzz");
    conn_link(w, c);
    return c;
}

/* Run what the writer thread posted back until nothing is owed; abort past the timeout. */
static void
fuzz_await_answers(gw_worker *w)
{
    int64_t deadline = gw_now_ns() + FUZZ_ANSWER_TIMEOUT_MS * NS_PER_MS;

    while (w->n_pending > 0) {
        uint64_t n;
        if (gw_now_ns() >= deadline) {
            gw_log(GW_LOG_ERROR, "fuzz_unanswered", "pending=%u", w->n_pending);
            abort();
        }
        if (read(w->post.fd, &n, sizeof n) < 0) {
            struct timespec ts = {0, FUZZ_POLL_MS * NS_PER_MS};
            nanosleep(&ts, NULL);
        }
        (void)posts_run(w);
    }
}

gw_fuzz_conn *
gw_fuzz_open(gw_server *srv, const gw_principal *p)
{
    conn *c = fuzz_conn_new(&srv->workers[0], p);

    if (c != NULL && (conn_start_h2(c) != 0 || !conn_admit(c))) {
        conn_kill(c, false, "fuzz: no session");
        worker_reap(&srv->workers[0]);
        return NULL;
    }
    return c;
}

int
gw_fuzz_send(gw_fuzz_conn *c, const uint8_t *data, size_t len)
{
    size_t off = 0, n;

    /* In pieces of one TLS record's plaintext, as conn_read hands them over. */
    for (; off < len && !c->dead && c->cut[0] == '\0'; off += n) {
        n = len - off < READ_CHUNK ? len - off : READ_CHUNK;
        if (conn_feed(c, data + off, n) < 0 || conn_flush(c) < 0)
            conn_kill(c, false, "fuzz: http/2 error");
    }
    fuzz_await_answers(c->w);
    if (!c->dead)
        (void)conn_flush(c); /* what the answers queued */
    return c->dead || c->cut[0] != '\0' ? -1 : 0;
}

void
gw_fuzz_close(gw_fuzz_conn *c)
{
    gw_worker *w;

    if (c == NULL)
        return;
    w = c->w;
    fuzz_await_answers(w);
    conn_kill(c, false, "fuzz: input done");
    worker_reap(w);
}
#endif
