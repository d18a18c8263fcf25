/* h2client — see h2client.h. */
#include "h2client.h"

#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define OUT_BUF 32768 /* TLS plaintext gathered before one SSL_write */
#define IN_BUF 16384  /* one TLS record */
#define MAX_EVENTS 256
#define HOUSEKEEPING_MS 10     /* how often timeouts, retries and the deadline are checked */
#define MAX_LOGGED_ERRORS 5    /* per worker: enough to see why, not a flood */
#define LOCAL_WINDOW (1 << 24) /* so large responses never wait for WINDOW_UPDATE */
#define MAX_NV (8 + H2C_MAX_HEADERS)
#define USER_AGENT "corridor-load/0.1"
/* Refused streams (past a GOAWAY's last stream id) were never processed, so HTTP/2 lets a
 * client resend them; this many may wait per worker, the rest count as errors. */
#define RETRY_MAX 4096

enum conn_state {
    CS_IDLE,       /* no socket; may (re)connect at retry_at */
    CS_CONNECTING, /* TCP connect in progress */
    CS_HANDSHAKE,  /* TLS handshake in progress */
    CS_READY,      /* HTTP/2 session up, new streams allowed */
    CS_DRAINING,   /* GOAWAY received or stream ids exhausted: finish, then reconnect */
};

struct conn;

struct stream {
    struct conn *conn;
    int32_t id;        /* HTTP/2 stream id, 0 while the slot is free */
    uint64_t start_ns; /* scheduled (open loop) or actual (closed loop) start */
    int status;
    bool in_use, complete, measured;
    const uint8_t *body;
    size_t body_len, body_off;
    char content_length[24];
    char idem[RG_IDEM_MAX];
    char path[RG_TEMPLATED_PATH_MAX]; /* "" = the plan's path */
    char location[RG_UETR_LEN + 1];   /* the UETR a 2xx's Location names (--save-uetrs) */
    char buf[RG_PAYMENT_MAX]; /* generated body lives here until the stream closes */
};

struct conn {
    struct h2c_worker *w;
    int fd;
    SSL *ssl;
    nghttp2_session *h2;
    enum conn_state state;
    uint64_t t_connect; /* connect() started */
    uint64_t retry_at;  /* CS_IDLE: earliest reconnect */
    /* --new-conn: the one request this connection exists for, claimed before connecting. */
    bool has_pending, pending_measured;
    uint64_t pending_start;
    bool close_after; /* set inside nghttp2 callbacks, acted on once they return */
    bool counted_up;  /* counted in plan->up */
    unsigned active;  /* streams in flight */
    uint32_t events;  /* current epoll interest */
    size_t out_off, out_len;
    const uint8_t *pend; /* nghttp2 output not yet copied to out (valid until mem_send) */
    size_t pend_len;
    struct stream *streams;
    unsigned *free_slots;
    unsigned nfree;
    uint8_t out[OUT_BUF];
};

struct retry {
    uint64_t start;
    bool measured;
};

struct h2c_worker {
    h2c_plan *plan;
    unsigned id, nconns;
    int epfd, tfd;
    SSL_CTX *ctx;
    nghttp2_session_callbacks *cbs;
    struct conn *conns;
    rg_payment_gen gen;
    uint64_t path_seq; /* requests given a UETR from the list */
    h2c_stats st;
    uint64_t next_k;      /* open loop: index of the next scheduled request */
    bool issuing_done;    /* no request will be claimed any more */
    uint64_t drain_since; /* when issuing stopped */
    unsigned logged;
    unsigned rr;                     /* open loop: round-robin cursor over connections */
    uint64_t timer_at;               /* open loop: instant the timerfd is armed for */
    struct retry retries[RETRY_MAX]; /* refused requests to resend, oldest first */
    unsigned retry_head, retry_count;
};

const char *
h2c_strerror(int err)
{
    switch (err) {
    case H2C_OK:
        return "ok";
    case H2C_ERR_NOMEM:
        return "out of memory";
    case H2C_ERR_TLS_SETUP:
        return "cannot load the CA, certificate or key";
    case H2C_ERR_SYSTEM:
        return "cannot create epoll or timer";
    default:
        return "unknown error";
    }
}

/* --- small helpers -------------------------------------------------------------------- */

static void
log_error(struct h2c_worker *w, const char *what, const char *detail)
{
    if (w->logged >= MAX_LOGGED_ERRORS)
        return;
    w->logged++;
    fprintf(stderr, "corridor-load: worker %u: %s%s%s\n", w->id, what, detail ? ": " : "",
            detail ? detail : "");
}

static void
log_ssl_error(struct h2c_worker *w, const char *what)
{
    char buf[256];
    unsigned long e = ERR_get_error();

    if (e == 0) {
        log_error(w, what, errno != 0 ? strerror(errno) : NULL);
        return;
    }
    ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    log_error(w, what, buf);
}

static bool
measuring(const struct h2c_worker *w, uint64_t now)
{
    return now >= w->plan->t_measure;
}

static void
set_events(struct conn *c, uint32_t events)
{
    if (c->events == events)
        return;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(c->w->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->events = events;
}

/* --- streams -------------------------------------------------------------------------- */

static struct stream *
slot_take(struct conn *c)
{
    if (c->nfree == 0)
        return NULL;
    struct stream *s = &c->streams[c->free_slots[--c->nfree]];
    s->in_use = true;
    s->complete = false;
    s->status = 0;
    s->body = NULL;
    s->body_len = s->body_off = 0;
    s->path[0] = s->location[0] = '\0';
    return s;
}

static void
slot_put(struct conn *c, struct stream *s)
{
    s->in_use = false;
    s->id = 0;
    c->free_slots[c->nfree++] = (unsigned)(s - c->streams);
}

/* Keeps a refused request (its original start and whether it counts) for resending. */
static bool
retry_push(struct h2c_worker *w, uint64_t start, bool measured)
{
    if (w->retry_count == RETRY_MAX)
        return false;
    struct retry *r = &w->retries[(w->retry_head + w->retry_count) % RETRY_MAX];
    r->start = start;
    r->measured = measured;
    w->retry_count++;
    w->st.retried++;
    return true;
}

static struct retry
retry_pop(struct h2c_worker *w)
{
    struct retry r = w->retries[w->retry_head];
    w->retry_head = (w->retry_head + 1) % RETRY_MAX;
    w->retry_count--;
    return r;
}

static void
count_status(h2c_stats *st, int status)
{
    if (status >= H2C_STATUS_MIN && status <= H2C_STATUS_MAX)
        st->status[status]++;
    else
        st->status_other++;
}

/* --save-uetrs: one line per created payment. stdio locks the stream per call, so the lines
 * of different workers never mix. */
static void
save_location(struct h2c_worker *w, const struct stream *s)
{
    if (w->plan->save_uetrs != NULL && s->status >= 200 && s->status < 300 && s->location[0])
        fprintf(w->plan->save_uetrs, "%s\n", s->location);
}

/* A stream ended: a complete response is recorded; anything else is an error of its kind. */
static void
finish_stream(struct conn *c, struct stream *s, uint32_t error_code)
{
    struct h2c_worker *w = c->w;
    uint64_t now = bu_now_ns();

    bool refused = !s->complete && error_code == NGHTTP2_REFUSED_STREAM;
    if (refused && retry_push(w, s->start_ns, s->measured)) {
        /* Resent later with its original start: the detour shows in its latency. */
    } else if (s->measured) {
        if (s->complete && s->status > 0) {
            save_location(w, s);
            hist_record(w->st.latency, now > s->start_ns ? now - s->start_ns : 0);
            count_status(&w->st, s->status);
            w->st.responses++;
            if (now > w->st.last_done)
                w->st.last_done = now;
        } else if (refused) {
            w->st.refused++;
        } else {
            w->st.resets++;
        }
    }
    slot_put(c, s);
    c->active--;
    if (w->plan->new_conn)
        c->close_after = true;
}

/* --- nghttp2 callbacks -------------------------------------------------------------------- */

static int
parse_status(const uint8_t *v, size_t n)
{
    if (n != 3)
        return -1;
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        status = status * 10 + (v[i] - '0');
    }
    return status;
}

/* "/v1/payments/<uetr>": the UETR, kept for --save-uetrs. */
static void
note_location(struct stream *s, const uint8_t *v, size_t n)
{
    static const char prefix[] = "/v1/payments/";
    size_t k = sizeof(prefix) - 1;

    if (n == k + RG_UETR_LEN && memcmp(v, prefix, k) == 0) {
        memcpy(s->location, v + k, RG_UETR_LEN);
        s->location[RG_UETR_LEN] = '\0';
    }
}

static int
on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
          const uint8_t *value, size_t valuelen, uint8_t flags, void *user_data)
{
    struct conn *c = user_data;

    (void)flags;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    struct stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (s == NULL)
        return 0;
    if (namelen == 7 && memcmp(name, ":status", 7) == 0)
        s->status = parse_status(value, valuelen);
    else if (c->w->plan->save_uetrs != NULL && namelen == 8 && memcmp(name, "location", 8) == 0)
        note_location(s, value, valuelen);
    return 0;
}

static int
on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    struct conn *c = user_data;

    if (frame->hd.type == NGHTTP2_GOAWAY) {
        c->w->st.goaways++;
        if (c->state == CS_READY)
            c->state = CS_DRAINING;
        return 0;
    }
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        struct stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
        /* A 1xx is never final; the END_STREAM comes with the final response. */
        if (s != NULL && s->status >= 200)
            s->complete = true;
    }
    return 0;
}

static int
on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code, void *user_data)
{
    struct stream *s = nghttp2_session_get_stream_user_data(session, stream_id);

    (void)user_data;
    if (s != NULL && s->in_use && s->id == stream_id) {
        nghttp2_session_set_stream_user_data(session, stream_id, NULL);
        finish_stream(s->conn, s, error_code);
    }
    return 0;
}

/* A request whose HEADERS were never sent (a GOAWAY arrived first) gets no stream-close
 * callback and no stream user data: found by id, it is a refused request. */
static int
on_frame_not_send(nghttp2_session *session, const nghttp2_frame *frame, int lib_error_code,
                  void *user_data)
{
    struct conn *c = user_data;

    (void)session;
    (void)lib_error_code;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    for (unsigned i = 0; i < c->w->plan->max_streams; i++) {
        struct stream *s = &c->streams[i];
        if (s->in_use && s->id == frame->hd.stream_id) {
            finish_stream(c, s, NGHTTP2_REFUSED_STREAM);
            break;
        }
    }
    return 0;
}

static ssize_t
read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
          uint32_t *data_flags, nghttp2_data_source *source, void *user_data)
{
    struct stream *s = source->ptr;
    size_t left = s->body_len - s->body_off;
    size_t n = left < length ? left : length;

    (void)session;
    (void)stream_id;
    (void)user_data;
    memcpy(buf, s->body + s->body_off, n);
    s->body_off += n;
    if (s->body_off == s->body_len)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int
make_callbacks(nghttp2_session_callbacks **out)
{
    if (nghttp2_session_callbacks_new(out) != 0)
        return H2C_ERR_NOMEM;
    nghttp2_session_callbacks_set_on_header_callback(*out, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(*out, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(*out, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_not_send_callback(*out, on_frame_not_send);
    return H2C_OK;
}

/* --- connection lifecycle ---------------------------------------------------------------- */

/* Requests still in flight when a connection goes away are counted as `kind`. */
static void
abandon_streams(struct conn *c, uint64_t *kind)
{
    for (unsigned i = 0; i < c->w->plan->max_streams; i++) {
        struct stream *s = &c->streams[i];
        if (!s->in_use)
            continue;
        if (s->measured)
            (*kind)++;
        slot_put(c, s);
    }
    c->active = 0;
    if (c->has_pending && c->pending_measured)
        (*kind)++;
    c->has_pending = false;
}

/* --idle: the script waits for this line before it measures the server with every connection
 * open. Printed once, by the worker whose connection completes the set. */
static void
note_up(struct conn *c)
{
    h2c_plan *p = c->w->plan;

    c->counted_up = true;
    if (p->idle && atomic_fetch_add(&p->up, 1) + 1 == p->total_conns)
        fprintf(stderr, "corridor-load: all %u connections established\n", p->total_conns);
}

/* Tears the connection down; `kind` counts what was in flight, `retry_ms` delays the next
 * connect so a dead server is not hammered in a tight loop. */
static void
conn_close(struct conn *c, uint64_t *kind, uint64_t retry_ms)
{
    if (c->counted_up)
        atomic_fetch_sub(&c->w->plan->up, 1);
    c->counted_up = false;
    abandon_streams(c, kind);
    nghttp2_session_del(c->h2);
    c->h2 = NULL;
    if (c->ssl != NULL) {
        /* close_notify is a courtesy: one non-blocking attempt, never waited for. */
        if (SSL_is_init_finished(c->ssl))
            SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    ERR_clear_error();
    c->fd = -1;
    c->state = CS_IDLE;
    c->events = 0;
    c->close_after = false;
    c->out_off = c->out_len = c->pend_len = 0;
    c->pend = NULL;
    c->retry_at = bu_now_ns() + retry_ms * BU_NS_PER_MS;
}

static void
conn_fail(struct conn *c, bool tls, const char *why)
{
    struct h2c_worker *w = c->w;

    if (measuring(w, bu_now_ns())) {
        if (tls)
            w->st.tls_failed++;
        else
            w->st.conn_failed++;
    }
    if (tls)
        log_ssl_error(w, why);
    else
        log_error(w, why, errno != 0 ? strerror(errno) : NULL);
    /* The failure is the request's error already (--new-conn): not counted twice. */
    c->has_pending = false;
    conn_close(c, &w->st.conn_lost, H2C_RETRY_MS);
}

/* The peer's certificate must name the host we asked for: an IP literal or a DNS name. */
static int
set_peer_name(SSL *ssl, const char *host)
{
    unsigned char ip[sizeof(struct in6_addr)];

    if (inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1)
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1 ? 0 : -1;
    if (SSL_set_tlsext_host_name(ssl, host) != 1)
        return -1;
    return SSL_set1_host(ssl, host) == 1 ? 0 : -1;
}

static int
start_tls(struct conn *c)
{
    c->ssl = SSL_new(c->w->ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
        set_peer_name(c->ssl, c->w->plan->url.host) != 0)
        return -1;
    SSL_set_connect_state(c->ssl);
    c->state = CS_HANDSHAKE;
    return 0;
}

static int
conn_open(struct conn *c)
{
    const h2c_plan *p = c->w->plan;
    int one = 1;

    errno = 0;
    c->t_connect = bu_now_ns();
    c->fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(c->w->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0)
        return -1;
    c->events = EPOLLOUT;
    c->state = CS_CONNECTING;
    if (connect(c->fd, (const struct sockaddr *)&p->addr, p->addrlen) != 0 && errno != EINPROGRESS)
        return -1;
    return 0;
}

static void
conn_start(struct conn *c)
{
    if (conn_open(c) != 0)
        conn_fail(c, false, "connect");
}

static int
session_start(struct conn *c)
{
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2C_MAX_STREAMS},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, LOCAL_WINDOW},
    };

    if (nghttp2_session_client_new(&c->h2, c->w->cbs, c) != 0)
        return -1;
    if (nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) != 0)
        return -1;
    if (nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, LOCAL_WINDOW) != 0)
        return -1;
    c->state = CS_READY;
    return 0;
}

static bool
alpn_is_h2(SSL *ssl)
{
    const unsigned char *proto = NULL;
    unsigned len = 0;

    SSL_get0_alpn_selected(ssl, &proto, &len);
    return len == 2 && memcmp(proto, "h2", 2) == 0;
}

static void
handshake_step(struct conn *c)
{
    struct h2c_worker *w = c->w;

    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        if (!alpn_is_h2(c->ssl)) {
            conn_fail(c, true, "server did not select ALPN h2");
            return;
        }
        if (session_start(c) != 0) {
            conn_fail(c, false, "nghttp2 session");
            return;
        }
        w->st.connects++;
        hist_record(w->st.handshake, bu_now_ns() - c->t_connect);
        set_events(c, EPOLLIN);
        note_up(c);
        return;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ)
        set_events(c, EPOLLIN);
    else if (e == SSL_ERROR_WANT_WRITE)
        set_events(c, EPOLLIN | EPOLLOUT);
    else
        conn_fail(c, true, "TLS handshake");
}

static void
connect_done(struct conn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        errno = err;
        conn_fail(c, false, "connect");
        return;
    }
    if (start_tls(c) != 0) {
        conn_fail(c, true, "TLS setup");
        return;
    }
    handshake_step(c);
}

/* --- I/O ------------------------------------------------------------------------------- */

/* Moves nghttp2's pending output into c->out; returns -1 on a session error. */
static int
fill_out(struct conn *c)
{
    while (c->out_len < OUT_BUF) {
        if (c->pend_len == 0) {
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(c->h2, &data);
            if (n < 0)
                return -1;
            if (n == 0)
                break;
            c->pend = data;
            c->pend_len = (size_t)n;
        }
        size_t room = OUT_BUF - c->out_len;
        size_t k = c->pend_len < room ? c->pend_len : room;
        memcpy(c->out + c->out_len, c->pend, k);
        c->out_len += k;
        c->pend += k;
        c->pend_len -= k;
    }
    return 0;
}

/* Writes everything nghttp2 has to say. An SSL_write that wants to be retried is retried
 * with exactly the same bytes (OpenSSL's rule), so `out` is only refilled once empty.
 * Returns -1 when the connection is dead. */
static int
conn_flush(struct conn *c)
{
    for (;;) {
        if (c->out_off == c->out_len) {
            c->out_off = c->out_len = 0;
            if (fill_out(c) != 0)
                return -1;
            if (c->out_len == 0) {
                set_events(c, EPOLLIN);
                return 0;
            }
        }
        ERR_clear_error();
        errno = 0;
        int n = SSL_write(c->ssl, c->out + c->out_off, (int)(c->out_len - c->out_off));
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
            set_events(c, EPOLLIN | EPOLLOUT);
            return 0;
        }
        return -1;
    }
}

/* Reads and feeds nghttp2 until the socket is dry. Returns -1 when the connection is dead,
 * 1 on an orderly close by the peer, 0 otherwise. */
static int
conn_read(struct conn *c)
{
    uint8_t buf[IN_BUF];

    for (;;) {
        ERR_clear_error();
        errno = 0;
        int n = SSL_read(c->ssl, buf, sizeof(buf));
        if (n > 0) {
            if (nghttp2_session_mem_recv(c->h2, buf, (size_t)n) < 0)
                return -1;
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ)
            return 0;
        if (e == SSL_ERROR_WANT_WRITE) {
            set_events(c, EPOLLIN | EPOLLOUT);
            return 0;
        }
        return e == SSL_ERROR_ZERO_RETURN ? 1 : -1;
    }
}

/* After I/O: a connection with nothing left to do is closed; one that lost its peer too. */
static void
conn_settle(struct conn *c, int rd)
{
    struct h2c_worker *w = c->w;

    if (rd < 0 || conn_flush(c) != 0) {
        if (c->active > 0 || c->has_pending)
            log_error(w, "connection lost", NULL);
        conn_close(c, &w->st.conn_lost, H2C_RETRY_MS);
        return;
    }
    bool finished = c->close_after || (c->state == CS_DRAINING && c->active == 0) ||
                    (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2));
    if (rd > 0 || finished)
        conn_close(c, &w->st.conn_lost, 0);
}

static void
conn_event(struct conn *c, uint32_t events)
{
    switch (c->state) {
    case CS_CONNECTING:
        connect_done(c);
        return;
    case CS_HANDSHAKE:
        handshake_step(c);
        return;
    case CS_READY:
    case CS_DRAINING:
        /* Writing waits for pump(): the replies to this read and the requests that refill
         * the freed slots then leave in one TLS write. */
        if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
            int rd = conn_read(c);
            if (rd != 0)
                conn_settle(c, rd);
        }
        return; /* EPOLLOUT alone: pump() flushes */
    case CS_IDLE:
        return;
    }
}

/* --- issuing requests --------------------------------------------------------------------- */

/* May a request starting at `start` be sent? Sets *measured. Warm-up requests never use the
 * budget; the budget is shared by all workers. */
static bool
claim(struct h2c_worker *w, uint64_t start, bool *measured)
{
    h2c_plan *p = w->plan;

    if (w->issuing_done)
        return false;
    if (atomic_load(&p->stop) || start >= p->t_end) {
        w->issuing_done = true;
        return false;
    }
    if (p->idle)
        return false; /* connections only, until the end */
    *measured = start >= p->t_measure;
    if (*measured && p->budget > 0 && atomic_fetch_add(&p->issued, 1) >= p->budget) {
        w->issuing_done = true;
        return false;
    }
    return true;
}

/* The next UETR of the list in the plan's path template. */
static int
fill_path(struct h2c_worker *w, struct stream *s)
{
    const h2c_plan *p = w->plan;

    if (p->uetrs == NULL)
        return 0;
    size_t i = rg_uetr_pick(w->path_seq++, w->id, p->threads, p->uetrs->n);
    return rg_path_fill(p->url.path, p->uetrs->v[i], s->path, sizeof(s->path)) == RG_OK ? 0 : -1;
}

static int
fill_body(struct h2c_worker *w, struct stream *s)
{
    const h2c_plan *p = w->plan;

    if (p->body_kind == H2C_BODY_STATIC) {
        s->body = p->body;
        s->body_len = p->body_len;
    } else if (p->body_kind == H2C_BODY_PAYMENT) {
        rg_payment pay;
        if (rg_payment_next(&w->gen, time(NULL), s->buf, sizeof(s->buf), &pay) != RG_OK)
            return -1;
        memcpy(s->idem, pay.idempotency_key, sizeof(s->idem));
        s->body = (const uint8_t *)s->buf;
        s->body_len = pay.len;
    } else if (p->body_kind == H2C_BODY_STATUS) {
        rg_status st;
        if (rg_status_next(&w->gen, s->buf, sizeof(s->buf), &st) != RG_OK)
            return -1;
        memcpy(s->idem, st.idempotency_key, sizeof(s->idem));
        s->body = (const uint8_t *)s->buf;
        s->body_len = st.len;
    }
    return fill_path(w, s);
}

static void
add_nv(nghttp2_nv *nv, size_t *n, const char *name, const char *value)
{
    nv[*n] = (nghttp2_nv){(uint8_t *)name, (uint8_t *)value, strlen(name), strlen(value),
                          NGHTTP2_NV_FLAG_NONE};
    (*n)++;
}

static size_t
build_headers(const h2c_plan *p, struct stream *s, nghttp2_nv *nv)
{
    size_t n = 0;

    add_nv(nv, &n, ":method", p->method);
    add_nv(nv, &n, ":scheme", "https");
    add_nv(nv, &n, ":authority", p->url.authority);
    add_nv(nv, &n, ":path", s->path[0] ? s->path : p->url.path);
    add_nv(nv, &n, "user-agent", USER_AGENT);
    if (p->body_kind != H2C_BODY_NONE) {
        snprintf(s->content_length, sizeof(s->content_length), "%zu", s->body_len);
        add_nv(nv, &n, "content-length", s->content_length);
    }
    if (p->body_kind == H2C_BODY_PAYMENT || p->body_kind == H2C_BODY_STATUS)
        add_nv(nv, &n, "idempotency-key", s->idem);
    for (size_t i = 0; i < p->nheaders; i++)
        add_nv(nv, &n, p->headers[i].name, p->headers[i].value);
    return n;
}

/* A claimed request that could not be sent goes back in line rather than vanishing. */
static void
requeue(struct h2c_worker *w, uint64_t start, bool measured)
{
    if (!retry_push(w, start, measured) && measured)
        w->st.refused++;
}

/* Sends one request on a ready connection; false (and the request requeued) if it cannot. */
static bool
submit(struct conn *c, uint64_t start, bool measured)
{
    struct h2c_worker *w = c->w;
    nghttp2_nv nv[MAX_NV];
    struct stream *s = slot_take(c);

    if (s == NULL) {
        requeue(w, start, measured);
        return false;
    }
    s->start_ns = start;
    s->measured = measured;
    if (fill_body(w, s) != 0) {
        log_error(w, "cannot build the request body", NULL);
        slot_put(c, s);
        requeue(w, start, measured);
        return false;
    }
    size_t n = build_headers(w->plan, s, nv);
    nghttp2_data_provider prd = {.source.ptr = s, .read_callback = read_body};
    int32_t id = nghttp2_submit_request(c->h2, NULL, nv, n, s->body_len > 0 ? &prd : NULL, s);
    if (id < 0) {
        log_error(w, "submit request", nghttp2_strerror(id));
        slot_put(c, s);
        requeue(w, start, measured);
        /* Stream ids run out after 2^30 requests: finish this connection, open another. */
        c->state = CS_DRAINING;
        return false;
    }
    s->id = id;
    c->active++;
    return true;
}

/* How many streams this connection may carry now: ours, or fewer if the server says so. */
static unsigned
stream_limit(const struct conn *c)
{
    uint32_t remote =
        nghttp2_session_get_remote_settings(c->h2, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    unsigned mine = c->w->plan->max_streams;
    return remote < mine ? remote : mine;
}

static bool
conn_has_room(const struct conn *c)
{
    if (c->w->plan->new_conn)
        return c->state == CS_IDLE;
    return c->state == CS_READY && c->active < stream_limit(c);
}

/* --new-conn: a request is a connection; connect now, send once the handshake is done. */
static void
start_one_shot(struct conn *c, uint64_t start, bool measured)
{
    c->has_pending = true;
    c->pending_start = start;
    c->pending_measured = measured;
    conn_start(c);
}

static void
send_pending(struct conn *c)
{
    if (!c->has_pending || c->state != CS_READY)
        return;
    c->has_pending = false;
    if (!submit(c, c->pending_start, c->pending_measured))
        c->close_after = true;
}

/* Closed loop: every free slot gets a request at once. */
static void
refill_closed(struct h2c_worker *w, struct conn *c, uint64_t now)
{
    bool measured;

    if (w->plan->new_conn) {
        if (c->state == CS_IDLE && now >= c->retry_at && claim(w, now, &measured))
            start_one_shot(c, now, measured);
        return;
    }
    while (conn_has_room(c) && claim(w, now, &measured)) {
        if (!submit(c, now, measured))
            break;
    }
}

/* Start time of scheduled request k: worker id's share of an evenly spaced global sequence. */
static uint64_t
intended(const struct h2c_worker *w, uint64_t k)
{
    const h2c_plan *p = w->plan;
    unsigned __int128 slot = (unsigned __int128)k * p->threads + w->id;
    return p->t_start + (uint64_t)(slot * BU_NS_PER_SEC / p->rate);
}

static struct conn *
find_room(struct h2c_worker *w)
{
    for (unsigned i = 0; i < w->nconns; i++) {
        struct conn *c = &w->conns[(w->rr + i) % w->nconns];
        if (conn_has_room(c)) {
            w->rr = (unsigned)((c - w->conns) + 1) % w->nconns;
            return c;
        }
    }
    return NULL;
}

static void
arm_timer(struct h2c_worker *w, uint64_t at)
{
    if (w->timer_at == at)
        return;
    w->timer_at = at;
    struct itimerspec its = {
        .it_value = {.tv_sec = (time_t)(at / BU_NS_PER_SEC), .tv_nsec = (long)(at % BU_NS_PER_SEC)},
    };
    timerfd_settime(w->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* How many of this worker's requests are scheduled before `t`: the inverse of intended().
 * Slot s is before t iff s * 1e9 < (t - t_start) * rate. */
static uint64_t
scheduled_before(const struct h2c_worker *w, uint64_t t)
{
    const h2c_plan *p = w->plan;

    if (t <= p->t_start)
        return 0;
    unsigned __int128 span = (unsigned __int128)(t - p->t_start) * p->rate;
    unsigned __int128 slots = (span + BU_NS_PER_SEC - 1) / BU_NS_PER_SEC;
    if (slots <= w->id)
        return 0;
    return (uint64_t)((slots - w->id - 1) / p->threads + 1);
}

/* Requests due by `now` (and before the end) but not sent yet. */
static void
note_backlog(struct h2c_worker *w, uint64_t now)
{
    uint64_t until = now < w->plan->t_end ? now + 1 : w->plan->t_end;
    uint64_t due = scheduled_before(w, until);

    if (due > w->next_k && due - w->next_k > w->st.backlog_max)
        w->st.backlog_max = due - w->next_k;
}

/* Open loop: send everything that is due, as long as there is room; what is left waits and
 * its latency keeps growing from its scheduled instant. */
static void
refill_open(struct h2c_worker *w, uint64_t now)
{
    if (w->issuing_done)
        return;
    for (;;) {
        uint64_t at = intended(w, w->next_k);
        bool measured;
        if (at >= w->plan->t_end) {
            w->issuing_done = true;
            return;
        }
        if (at > now) {
            arm_timer(w, at);
            return;
        }
        struct conn *c = find_room(w);
        if (c == NULL) {
            note_backlog(w, now);
            return;
        }
        if (!claim(w, at, &measured))
            return;
        w->next_k++;
        if (w->plan->new_conn)
            start_one_shot(c, at, measured);
        else
            submit(c, at, measured);
    }
}

static unsigned
connecting(const struct h2c_worker *w)
{
    unsigned n = 0;

    for (unsigned i = 0; i < w->nconns; i++)
        n += w->conns[i].state == CS_CONNECTING || w->conns[i].state == CS_HANDSHAKE;
    return n;
}

/* Keep-alive mode: connections that closed come back while there is work for them, at most
 * H2C_MAX_CONNECTING handshakes at a time: thousands started at once would time out in the
 * server's accept queue and start over. */
static void
reconnect_idle(struct h2c_worker *w, uint64_t now)
{
    if (w->plan->new_conn || (w->issuing_done && w->retry_count == 0))
        return;
    unsigned busy = connecting(w);
    for (unsigned i = 0; i < w->nconns && busy < H2C_MAX_CONNECTING; i++) {
        struct conn *c = &w->conns[i];
        if (c->state == CS_IDLE && now >= c->retry_at) {
            conn_start(c);
            busy += c->state == CS_CONNECTING;
        }
    }
}

/* Refused requests go first: they are the oldest. One pass over the queue at most, as a
 * request that fails again is queued again. */
static void
send_retries(struct h2c_worker *w)
{
    for (unsigned n = w->retry_count; n > 0 && w->retry_count > 0; n--) {
        struct conn *c = find_room(w);
        if (c == NULL)
            return;
        struct retry r = retry_pop(w);
        if (w->plan->new_conn)
            start_one_shot(c, r.start, r.measured);
        else
            submit(c, r.start, r.measured);
    }
}

static void
pump(struct h2c_worker *w)
{
    uint64_t now = bu_now_ns();

    /* Open loop: requests scheduled before the end are still owed when it passes (late, and
     * their latency shows it); refill_open stops at the first one scheduled after it. */
    if (atomic_load(&w->plan->stop) || (w->plan->rate == 0 && now >= w->plan->t_end))
        w->issuing_done = true;
    reconnect_idle(w, now);
    send_retries(w);
    if (w->plan->rate > 0) {
        refill_open(w, now);
    } else {
        for (unsigned i = 0; i < w->nconns; i++)
            refill_closed(w, &w->conns[i], now);
    }
    for (unsigned i = 0; i < w->nconns; i++) {
        struct conn *c = &w->conns[i];
        send_pending(c);
        if (c->state == CS_READY || c->state == CS_DRAINING)
            conn_settle(c, 0);
    }
}

/* --- the loop ------------------------------------------------------------------------------ */

static void
check_timeouts(struct h2c_worker *w, uint64_t now)
{
    uint64_t limit = H2C_CONNECT_TIMEOUT_MS * BU_NS_PER_MS;

    for (unsigned i = 0; i < w->nconns; i++) {
        struct conn *c = &w->conns[i];
        if ((c->state == CS_CONNECTING || c->state == CS_HANDSHAKE) && now - c->t_connect > limit) {
            errno = ETIMEDOUT;
            conn_fail(c, c->state == CS_HANDSHAKE, "connect/handshake timeout");
        }
    }
}

static bool
all_quiet(const struct h2c_worker *w)
{
    if (w->retry_count > 0)
        return false;
    for (unsigned i = 0; i < w->nconns; i++) {
        const struct conn *c = &w->conns[i];
        if (c->active > 0 || c->has_pending)
            return false;
    }
    return true;
}

/* True when the worker should stop: work done and drained, or out of time. */
static bool
finished(struct h2c_worker *w, uint64_t now)
{
    if (now >= w->plan->t_deadline)
        return true;
    if (!w->issuing_done)
        return false;
    if (w->drain_since == 0)
        w->drain_since = now;
    return all_quiet(w) || now - w->drain_since >= H2C_DRAIN_GRACE_MS * BU_NS_PER_MS;
}

static void
dispatch(struct h2c_worker *w, struct epoll_event *ev)
{
    if (ev->data.ptr == NULL) {
        uint64_t ticks;
        /* The timer only wakes the loop; pump() sends what is due. */
        ssize_t r = read(w->tfd, &ticks, sizeof(ticks));
        (void)r;
        return;
    }
    conn_event(ev->data.ptr, ev->events);
}

void
h2c_worker_run(h2c_worker *w)
{
    struct epoll_event evs[MAX_EVENTS];

    for (;;) {
        pump(w);
        uint64_t now = bu_now_ns();
        check_timeouts(w, now);
        if (finished(w, now))
            break;
        int n = epoll_wait(w->epfd, evs, MAX_EVENTS, HOUSEKEEPING_MS);
        for (int i = 0; i < n; i++)
            dispatch(w, &evs[i]);
    }
    /* Open loop: what was scheduled before the end but never sent missed the deadline too. */
    if (w->plan->rate > 0 && w->plan->t_end != UINT64_MAX && !atomic_load(&w->plan->stop)) {
        uint64_t owed = scheduled_before(w, w->plan->t_end);
        if (owed > w->next_k)
            w->st.unsent = owed - w->next_k;
    }
    for (unsigned i = 0; i < w->nconns; i++)
        w->st.held += w->conns[i].state == CS_READY;
    /* Whatever is still in flight or waiting to be resent missed the deadline. */
    while (w->retry_count > 0) {
        if (retry_pop(w).measured)
            w->st.refused++;
    }
    for (unsigned i = 0; i < w->nconns; i++) {
        if (w->conns[i].state != CS_IDLE)
            conn_close(&w->conns[i], &w->st.timeouts, 0);
    }
}

/* --- setup ------------------------------------------------------------------------------- */

static SSL_CTX *
make_ctx(const h2c_plan *p)
{
    static const unsigned char alpn[] = {2, 'h', '2'};
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (ctx == NULL)
        return NULL;
    /* Without a session cache every connection is a full handshake: what --new-conn measures. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Without read-ahead OpenSSL reads each record's 5-byte header and its body separately:
     * two read() calls per record instead of one per socket buffer. */
    SSL_CTX_set_read_ahead(ctx, 1);
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_load_verify_locations(ctx, p->cacert, NULL) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, p->cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, p->key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1 ||
        SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn)) != 0) { /* 0 = success here */
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}

static int
conns_new(struct h2c_worker *w)
{
    unsigned m = w->plan->max_streams;

    w->conns = calloc(w->nconns, sizeof(*w->conns));
    if (w->conns == NULL)
        return H2C_ERR_NOMEM;
    for (unsigned i = 0; i < w->nconns; i++) {
        struct conn *c = &w->conns[i];
        c->w = w;
        c->fd = -1;
        c->streams = calloc(m, sizeof(*c->streams));
        c->free_slots = calloc(m, sizeof(*c->free_slots));
        if (c->streams == NULL || c->free_slots == NULL)
            return H2C_ERR_NOMEM;
        for (unsigned j = 0; j < m; j++) {
            c->streams[j].conn = c;
            c->free_slots[j] = m - 1 - j;
        }
        c->nfree = m;
    }
    return H2C_OK;
}

static int
worker_setup(struct h2c_worker *w)
{
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (w->epfd < 0 || w->tfd < 0)
        return H2C_ERR_SYSTEM;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->tfd, &ev) != 0)
        return H2C_ERR_SYSTEM;
    w->ctx = make_ctx(w->plan);
    if (w->ctx == NULL)
        return H2C_ERR_TLS_SETUP;
    if (make_callbacks(&w->cbs) != H2C_OK)
        return H2C_ERR_NOMEM;
    w->st.latency = hist_new();
    w->st.handshake = hist_new();
    if (w->st.latency == NULL || w->st.handshake == NULL)
        return H2C_ERR_NOMEM;
    if (rg_payment_gen_init(&w->gen, w->plan->run_id, w->id) != RG_OK)
        return H2C_ERR_NOMEM;
    return conns_new(w);
}

int
h2c_worker_new(h2c_worker **out, h2c_plan *plan, unsigned id, unsigned nconns)
{
    struct h2c_worker *w = calloc(1, sizeof(*w));

    *out = NULL;
    if (w == NULL)
        return H2C_ERR_NOMEM;
    w->plan = plan;
    w->id = id;
    w->nconns = nconns;
    w->epfd = w->tfd = -1;
    int rc = worker_setup(w);
    if (rc != H2C_OK) {
        h2c_worker_free(w);
        return rc;
    }
    *out = w;
    return H2C_OK;
}

const h2c_stats *
h2c_worker_stats(const h2c_worker *w)
{
    return &w->st;
}

void
h2c_worker_free(h2c_worker *w)
{
    if (w == NULL)
        return;
    for (unsigned i = 0; w->conns != NULL && i < w->nconns; i++) {
        struct conn *c = &w->conns[i];
        if (c->state != CS_IDLE && c->streams != NULL && c->free_slots != NULL)
            conn_close(c, &w->st.timeouts, 0);
        free(c->streams);
        free(c->free_slots);
    }
    free(w->conns);
    nghttp2_session_callbacks_del(w->cbs);
    SSL_CTX_free(w->ctx);
    if (w->epfd >= 0)
        close(w->epfd);
    if (w->tfd >= 0)
        close(w->tfd);
    hist_free(w->st.latency);
    hist_free(w->st.handshake);
    free(w);
}

void
h2c_stats_merge(h2c_stats *dst, const h2c_stats *src)
{
    dst->responses += src->responses;
    for (unsigned i = 0; i <= H2C_STATUS_MAX; i++)
        dst->status[i] += src->status[i];
    dst->status_other += src->status_other;
    dst->resets += src->resets;
    dst->refused += src->refused;
    dst->unsent += src->unsent;
    dst->retried += src->retried;
    dst->conn_lost += src->conn_lost;
    dst->timeouts += src->timeouts;
    dst->conn_failed += src->conn_failed;
    dst->tls_failed += src->tls_failed;
    dst->connects += src->connects;
    dst->goaways += src->goaways;
    dst->held += src->held;
    if (src->backlog_max > dst->backlog_max)
        dst->backlog_max = src->backlog_max;
    if (src->last_done > dst->last_done)
        dst->last_done = src->last_done;
    hist_merge(dst->latency, src->latency);
    hist_merge(dst->handshake, src->handshake);
}
