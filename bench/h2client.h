/*
 * h2client — the engine of corridor-load: a worker owns one epoll loop, its share of HTTP/2
 * connections over TLS 1.3 with a client certificate (OpenSSL + nghttp2, the session driven
 * through mem_recv/mem_send), and fills them with requests either closed-loop (every free
 * stream slot is refilled at once) or open-loop (requests fire at scheduled instants and their
 * latency counts from that instant, so a stalled server cannot hide its stall by slowing the
 * client down: no coordinated omission).
 *
 * Threads: one worker per thread; workers share only the read-only plan and its atomics.
 */
#ifndef CORRIDOR_BENCH_H2CLIENT_H
#define CORRIDOR_BENCH_H2CLIENT_H

#include "histogram.h"
#include "reqgen.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#define H2C_MAX_CONNS 10000
#define H2C_MAX_STREAMS 1000    /* per connection */
#define H2C_MAX_INFLIGHT 100000 /* connections x streams */
#define H2C_MAX_HEADERS 32      /* --header options */
#define H2C_MAX_BODY (16 * 1024 * 1024)
#define H2C_CONNECT_TIMEOUT_MS 5000 /* TCP connect + TLS handshake */
#define H2C_RETRY_MS 100            /* pause before reconnecting after a failure */
#define H2C_DRAIN_GRACE_MS 5000     /* in-flight requests may finish this long after the end */
#define H2C_MAX_CONNECTING 64       /* handshakes in progress per worker (--idle ramps up) */
#define H2C_STATUS_MIN 100
#define H2C_STATUS_MAX 599

/* Error codes: 0 = OK, negative, range -930..-949. */
enum h2c_err {
    H2C_OK = 0,
    H2C_ERR_NOMEM = -930,
    H2C_ERR_TLS_SETUP = -931, /* CA, certificate or key could not be loaded */
    H2C_ERR_SYSTEM = -932,    /* epoll/timerfd could not be created */
};
const char *h2c_strerror(int err);

typedef enum h2c_body {
    H2C_BODY_NONE,
    H2C_BODY_STATIC,  /* plan.body, the same bytes every time */
    H2C_BODY_PAYMENT, /* a fresh generated payment per request */
    H2C_BODY_STATUS,  /* a fresh gpi status update per request (needs uetrs) */
} h2c_body;

/* What every worker shares. Filled by the caller before any worker starts; only the atomics
 * change afterwards. Times are CLOCK_MONOTONIC nanoseconds. */
typedef struct h2c_plan {
    rg_url url;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    const char *cacert, *cert, *key;
    const char *method;
    const rg_header *headers; /* borrowed for the whole run */
    size_t nheaders;
    h2c_body body_kind;
    const uint8_t *body; /* H2C_BODY_STATIC: borrowed for the whole run */
    size_t body_len;
    char run_id[RG_RUN_ID_LEN + 1];
    const rg_uetrs *uetrs;       /* not NULL: url.path holds RG_TEMPLATE, filled per request */
    FILE *save_uetrs;            /* not NULL: the UETR of every 2xx's Location goes here */
    bool idle;                   /* connect, then hold the connections without a request */
    unsigned total_conns;        /* over all workers: --idle reports when all are up */
    atomic_uint_fast64_t up;     /* connections established and not closed since */
    unsigned threads;
    unsigned max_streams;        /* per connection; the server's SETTINGS may lower it */
    bool new_conn;               /* one request per connection, full handshake each time */
    uint64_t rate;               /* requests per second over all workers; 0 = closed loop */
    uint64_t budget;             /* measured requests over all workers; 0 = no limit */
    uint64_t t_start;            /* warm-up begins */
    uint64_t t_measure;          /* recording begins (= t_start without warm-up) */
    uint64_t t_end;              /* no request starts at or after this; UINT64_MAX = none */
    uint64_t t_deadline;         /* everything stops, in flight or not */
    atomic_uint_fast64_t issued; /* measured requests claimed so far (budget) */
    atomic_int stop;             /* set by a signal: end now */
} h2c_plan;

typedef struct h2c_stats {
    uint64_t responses; /* measured requests answered (any status) */
    uint64_t status[H2C_STATUS_MAX + 1];
    uint64_t status_other; /* a status outside 100..599 (a broken server) */
    uint64_t resets;       /* stream reset before a complete response */
    uint64_t refused;      /* REFUSED_STREAM and could not be resent in time */
    uint64_t retried;      /* refused streams resent (not an error: GOAWAY recycling) */
    uint64_t conn_lost;    /* requests in flight on a connection that died */
    uint64_t timeouts;     /* requests still in flight at the deadline */
    uint64_t unsent;       /* open loop: scheduled before the end, never sent by the deadline */
    uint64_t conn_failed;  /* TCP connects refused or timed out */
    uint64_t tls_failed;   /* handshakes failed (certificate, ALPN, timeout) */
    uint64_t connects;     /* handshakes completed */
    uint64_t goaways;      /* GOAWAY frames received */
    uint64_t backlog_max;  /* open loop: most requests due but not yet sent */
    uint64_t held;         /* --idle: connections still up when the run ended */
    uint64_t last_done;    /* when the last measured response arrived */
    hist *latency;         /* ns, from (scheduled) start to the end of the response */
    hist *handshake;       /* ns, from connect() to the end of the TLS handshake */
} h2c_stats;

typedef struct h2c_worker h2c_worker;

/* `nconns` connections for worker `id` (0-based, < plan->threads). */
int h2c_worker_new(h2c_worker **w, h2c_plan *plan, unsigned id, unsigned nconns);
/* Runs until the plan's end (or budget) and the drain, or the deadline. */
void h2c_worker_run(h2c_worker *w);
/* Valid until h2c_worker_free. */
const h2c_stats *h2c_worker_stats(const h2c_worker *w);
void h2c_worker_free(h2c_worker *w);

/* Adds src's counters and histograms into dst (dst's histograms must exist). */
void h2c_stats_merge(h2c_stats *dst, const h2c_stats *src);

#endif
