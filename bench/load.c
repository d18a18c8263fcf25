/*
 * corridor-load — HTTP/2 + mTLS load generator for Corridor (and for the ceilings it is
 * measured against). Options in usage(); the engine is h2client.c, one epoll loop per thread.
 *
 * Exit status: 0 the run completed and at least one request succeeded (2xx/3xx); 1 setup
 * failed; 2 bad usage; 3 the run completed with no successful request.
 */
#include "h2client.h"
#include "histogram.h"
#include "reqgen.h"
#include "util.h"

#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <jansson.h>

#define EXIT_SETUP 1
#define EXIT_USAGE 2
#define EXIT_NO_SUCCESS 3

#define MAX_THREADS 64
#define MAX_DURATION_S 86400
#define MAX_WARMUP_S 3600
#define MAX_RATE 10000000
#define MAX_REQUESTS 1000000000000ULL /* keeps generated ids within Max35Text */
#define MAX_METHOD 16
#define DEFAULT_CONNECTIONS 4
#define DEFAULT_STREAMS 10
#define DEFAULT_DURATION_S 10
#define COUNT_ONLY_TIMEOUT_S 600 /* -n without -d: the run still ends by itself */
#define JSON_CONTENT_TYPE "application/json"
#define UETR_FILE_MAX (64 * 1024 * 1024) /* ~1.7 million lines */

struct options {
    const char *url, *cacert, *cert, *key, *method, *body_file, *gen, *uetr_file, *save_uetrs;
    rg_header headers[H2C_MAX_HEADERS];
    size_t nheaders;
    uint64_t conns, streams, threads, duration, requests, warmup, rate, timeout;
    bool json, new_conn, allow_remote, idle;
};

static h2c_plan plan;
static rg_uetrs uetrs;    /* --uetr-file, for the whole run */
static FILE *saved_uetrs; /* --save-uetrs */

static void
on_signal(int sig)
{
    (void)sig;
    atomic_store(&plan.stop, 1);
}

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: corridor-load --url https://HOST:PORT/PATH [options]\n"
            "  --cacert FILE      CA that signs the server (default certs/dev/ca.crt)\n"
            "  --cert FILE        client certificate (default certs/dev/channel.crt)\n"
            "  --key FILE         client key (default certs/dev/channel.key)\n"
            "  -c N               connections (default %d)\n"
            "  -m N               max concurrent streams per connection (default %d)\n"
            "  -t N               threads, each its own epoll loop (default 1)\n"
            "  -d S               measured duration in seconds (default %d unless -n)\n"
            "  -n N               measured requests in total (stops at -d or -n, first reached)\n"
            "  --warmup S         seconds of load before recording starts\n"
            "  --method M         HTTP method (default GET, POST with a body)\n"
            "  --body-file FILE   static request body\n"
            "  --gen payment      a fresh valid Corridor payment (JSON) per request\n"
            "  --gen status       a correspondent's gpi ACSP update per request (PUT, with\n"
            "                     --uetr-file and {uetr} in the URL path)\n"
            "  --uetr-file FILE   UETRs, one per line: each request's {uetr} in turn\n"
            "  --save-uetrs FILE  append the UETR of every 2xx's Location header to FILE\n"
            "  --idle             open the -c connections, send nothing, hold them for -d s\n"
            "  --header 'N: v'    extra request header (repeatable)\n"
            "  --rate R           open loop: R requests/s in total, latency from schedule\n"
            "  --new-conn         one request per connection (full mTLS handshake each)\n"
            "  --timeout S        hard deadline for the whole run\n"
            "  --allow-remote     allow a target that is not a loopback address\n"
            "  --json             machine-readable result on stdout\n",
            DEFAULT_CONNECTIONS, DEFAULT_STREAMS, DEFAULT_DURATION_S);
}

/* --- option parsing ------------------------------------------------------------------------ */

enum {
    OPT_URL = 256,
    OPT_CACERT,
    OPT_CERT,
    OPT_KEY,
    OPT_WARMUP,
    OPT_METHOD,
    OPT_BODY_FILE,
    OPT_HEADER,
    OPT_GEN,
    OPT_RATE,
    OPT_JSON,
    OPT_NEW_CONN,
    OPT_TIMEOUT,
    OPT_ALLOW_REMOTE,
    OPT_UETR_FILE,
    OPT_SAVE_UETRS,
    OPT_IDLE,
};

static const struct option long_opts[] = {
    {"url", required_argument, NULL, OPT_URL},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"method", required_argument, NULL, OPT_METHOD},
    {"body-file", required_argument, NULL, OPT_BODY_FILE},
    {"header", required_argument, NULL, OPT_HEADER},
    {"gen", required_argument, NULL, OPT_GEN},
    {"rate", required_argument, NULL, OPT_RATE},
    {"json", no_argument, NULL, OPT_JSON},
    {"new-conn", no_argument, NULL, OPT_NEW_CONN},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"allow-remote", no_argument, NULL, OPT_ALLOW_REMOTE},
    {"uetr-file", required_argument, NULL, OPT_UETR_FILE},
    {"save-uetrs", required_argument, NULL, OPT_SAVE_UETRS},
    {"idle", no_argument, NULL, OPT_IDLE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int
number(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    int rc = bu_parse_u64(s, min, max, out);
    if (rc != BU_OK)
        fprintf(stderr, "corridor-load: %s '%s': %s (%" PRIu64 "..%" PRIu64 ")\n", what, s,
                bu_strerror(rc), min, max);
    return rc;
}

static int
add_header(struct options *o, const char *line)
{
    if (o->nheaders >= H2C_MAX_HEADERS) {
        fprintf(stderr, "corridor-load: at most %d --header options\n", H2C_MAX_HEADERS);
        return -1;
    }
    int rc = rg_header_parse(line, &o->headers[o->nheaders]);
    if (rc != RG_OK) {
        fprintf(stderr, "corridor-load: --header '%s': %s\n", line, rg_strerror(rc));
        return -1;
    }
    o->nheaders++;
    return 0;
}

static int
parse_number_opt(struct options *o, int opt, const char *arg)
{
    switch (opt) {
    case 'c':
        return number("-c", arg, 1, H2C_MAX_CONNS, &o->conns);
    case 'm':
        return number("-m", arg, 1, H2C_MAX_STREAMS, &o->streams);
    case 't':
        return number("-t", arg, 1, MAX_THREADS, &o->threads);
    case 'd':
        return number("-d", arg, 1, MAX_DURATION_S, &o->duration);
    case 'n':
        return number("-n", arg, 1, MAX_REQUESTS, &o->requests);
    case OPT_WARMUP:
        return number("--warmup", arg, 0, MAX_WARMUP_S, &o->warmup);
    case OPT_RATE:
        return number("--rate", arg, 1, MAX_RATE, &o->rate);
    case OPT_TIMEOUT:
        return number("--timeout", arg, 1, MAX_DURATION_S + MAX_WARMUP_S, &o->timeout);
    default:
        return -1;
    }
}

static int
parse_opt(struct options *o, int opt, const char *arg)
{
    switch (opt) {
    case OPT_URL:
        o->url = arg;
        return 0;
    case OPT_CACERT:
        o->cacert = arg;
        return 0;
    case OPT_CERT:
        o->cert = arg;
        return 0;
    case OPT_KEY:
        o->key = arg;
        return 0;
    case OPT_METHOD:
        o->method = arg;
        return 0;
    case OPT_BODY_FILE:
        o->body_file = arg;
        return 0;
    case OPT_GEN:
        o->gen = arg;
        return 0;
    case OPT_HEADER:
        return add_header(o, arg);
    case OPT_JSON:
        o->json = true;
        return 0;
    case OPT_NEW_CONN:
        o->new_conn = true;
        return 0;
    case OPT_ALLOW_REMOTE:
        o->allow_remote = true;
        return 0;
    case OPT_UETR_FILE:
        o->uetr_file = arg;
        return 0;
    case OPT_SAVE_UETRS:
        o->save_uetrs = arg;
        return 0;
    case OPT_IDLE:
        o->idle = true;
        return 0;
    default:
        return parse_number_opt(o, opt, arg);
    }
}

static bool
valid_method(const char *m)
{
    size_t n = strlen(m);
    if (n == 0 || n > MAX_METHOD)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (m[i] < 'A' || m[i] > 'Z')
            return false;
    }
    return true;
}

static bool
has_header(const struct options *o, const char *name)
{
    for (size_t i = 0; i < o->nheaders; i++) {
        if (strcmp(o->headers[i].name, name) == 0)
            return true;
    }
    return false;
}

/* Cross-option rules, once everything is parsed. */
static int
check_options(struct options *o)
{
    const char *err = NULL;

    if (o->url == NULL)
        err = "--url is required";
    else if (o->gen != NULL && strcmp(o->gen, "payment") != 0 && strcmp(o->gen, "status") != 0)
        err = "--gen knows 'payment' and 'status'";
    else if (o->gen != NULL && strcmp(o->gen, "status") == 0 && o->uetr_file == NULL)
        err = "--gen status needs --uetr-file";
    else if ((o->uetr_file != NULL) != (strstr(o->url, RG_TEMPLATE) != NULL))
        err = "--uetr-file and " RG_TEMPLATE " in the URL go together";
    else if (o->idle && (o->new_conn || o->rate > 0 || o->requests > 0))
        err = "--idle excludes --new-conn, --rate and -n";
    else if (o->gen != NULL && o->body_file != NULL)
        err = "--gen and --body-file exclude each other";
    else if (o->threads > o->conns)
        err = "-t must not exceed -c (each thread needs a connection)";
    else if (o->conns * o->streams > H2C_MAX_INFLIGHT)
        err = "-c x -m exceeds the in-flight limit";
    if (err != NULL) {
        fprintf(stderr, "corridor-load: %s\n", err);
        return -1;
    }
    if (o->method == NULL && o->gen != NULL && strcmp(o->gen, "status") == 0)
        o->method = "PUT";
    if (o->method == NULL)
        o->method = (o->gen != NULL || o->body_file != NULL) ? "POST" : "GET";
    if (!valid_method(o->method)) {
        fprintf(stderr, "corridor-load: --method '%s' is not an upper-case token\n", o->method);
        return -1;
    }
    if (o->duration == 0 && o->requests == 0)
        o->duration = DEFAULT_DURATION_S;
    if (o->gen != NULL && !has_header(o, "content-type"))
        return add_header(o, "content-type: " JSON_CONTENT_TYPE);
    return 0;
}

static void
options_defaults(struct options *o)
{
    memset(o, 0, sizeof(*o));
    o->cacert = "certs/dev/ca.crt";
    o->cert = "certs/dev/channel.crt";
    o->key = "certs/dev/channel.key";
    o->conns = DEFAULT_CONNECTIONS;
    o->streams = DEFAULT_STREAMS;
    o->threads = 1;
}

static int
parse_args(struct options *o, int argc, char **argv)
{
    int opt;

    options_defaults(o);
    while ((opt = getopt_long(argc, argv, "c:m:t:d:n:h", long_opts, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            exit(0);
        }
        if (opt == '?' || parse_opt(o, opt, optarg) != 0)
            return -1;
    }
    if (optind != argc) {
        fprintf(stderr, "corridor-load: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    return check_options(o);
}

/* --- target ---------------------------------------------------------------------------------- */

static bool
is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

/* The first address of the URL's host; a load generator pointed at someone else's machine
 * by a typo is a denial of service, hence loopback only unless asked. */
static int
resolve(const struct options *o, h2c_plan *p)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char port[8];

    snprintf(port, sizeof(port), "%u", p->url.port);
    int rc = getaddrinfo(p->url.host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "corridor-load: %s: %s\n", p->url.host, gai_strerror(rc));
        return -1;
    }
    if (!o->allow_remote && !is_loopback(res->ai_addr)) {
        fprintf(stderr, "corridor-load: %s is not a loopback address (see --allow-remote)\n",
                p->url.host);
        freeaddrinfo(res);
        return -1;
    }
    memcpy(&p->addr, res->ai_addr, res->ai_addrlen);
    p->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int
make_run_id(char out[RG_RUN_ID_LEN + 1])
{
    uint8_t r[RG_RUN_ID_LEN / 2];

    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
        return -1;
    for (size_t i = 0; i < sizeof(r); i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
    return 0;
}

static void
set_times(const struct options *o, h2c_plan *p)
{
    p->t_start = bu_now_ns();
    p->t_measure = p->t_start + o->warmup * BU_NS_PER_SEC;
    p->t_end = o->duration > 0 ? p->t_measure + o->duration * BU_NS_PER_SEC : UINT64_MAX;
    uint64_t slack = (H2C_DRAIN_GRACE_MS + H2C_CONNECT_TIMEOUT_MS) * BU_NS_PER_MS;
    if (o->timeout > 0)
        p->t_deadline = p->t_start + o->timeout * BU_NS_PER_SEC;
    else if (o->duration > 0)
        p->t_deadline = p->t_end + slack;
    else
        p->t_deadline = p->t_measure + COUNT_ONLY_TIMEOUT_S * BU_NS_PER_SEC;
}

/* --uetr-file: read and checked before any connection; the filled path must fit too. */
static int
load_uetrs(const struct options *o, h2c_plan *p)
{
    char probe[RG_TEMPLATED_PATH_MAX];
    uint8_t *text = NULL;
    size_t len = 0;

    if (o->uetr_file == NULL)
        return 0;
    int rc = bu_read_file(o->uetr_file, UETR_FILE_MAX, &text, &len);
    if (rc != BU_OK) {
        fprintf(stderr, "corridor-load: %s: %s\n", o->uetr_file, bu_strerror(rc));
        return -1;
    }
    rc = rg_uetrs_parse((const char *)text, len, &uetrs);
    free(text);
    if (rc == RG_OK)
        rc = rg_path_fill(p->url.path, uetrs.v[0], probe, sizeof(probe));
    if (rc != RG_OK) {
        fprintf(stderr, "corridor-load: %s: %s\n", o->uetr_file, rg_strerror(rc));
        return -1;
    }
    p->uetrs = &uetrs;
    return 0;
}

static int
open_outputs(const struct options *o, h2c_plan *p)
{
    if (o->save_uetrs == NULL)
        return 0;
    if ((saved_uetrs = fopen(o->save_uetrs, "a")) == NULL) {
        perror(o->save_uetrs);
        return -1;
    }
    p->save_uetrs = saved_uetrs;
    return 0;
}

static int
make_plan(const struct options *o, h2c_plan *p, uint8_t **body)
{
    int rc = rg_url_parse(o->url, &p->url);
    if (rc != RG_OK) {
        fprintf(stderr, "corridor-load: --url '%s': %s\n", o->url, rg_strerror(rc));
        return -1;
    }
    if (resolve(o, p) != 0 || make_run_id(p->run_id) != 0 || load_uetrs(o, p) != 0 ||
        open_outputs(o, p) != 0)
        return -1;
    if (o->body_file != NULL) {
        rc = bu_read_file(o->body_file, H2C_MAX_BODY, body, &p->body_len);
        if (rc != BU_OK) {
            fprintf(stderr, "corridor-load: %s: %s\n", o->body_file, bu_strerror(rc));
            return -1;
        }
        p->body = *body;
        p->body_kind = p->body_len > 0 ? H2C_BODY_STATIC : H2C_BODY_NONE;
    }
    if (o->gen != NULL)
        p->body_kind = strcmp(o->gen, "status") == 0 ? H2C_BODY_STATUS : H2C_BODY_PAYMENT;
    p->idle = o->idle;
    p->total_conns = (unsigned)o->conns;
    p->cacert = o->cacert;
    p->cert = o->cert;
    p->key = o->key;
    p->method = o->method;
    p->headers = o->headers;
    p->nheaders = o->nheaders;
    p->threads = (unsigned)o->threads;
    p->max_streams = o->new_conn ? 1 : (unsigned)o->streams;
    p->new_conn = o->new_conn;
    p->rate = o->rate;
    p->budget = o->requests;
    return 0;
}

/* --- running ------------------------------------------------------------------------------- */

static void *
worker_main(void *arg)
{
    h2c_worker_run(arg);
    return NULL;
}

static int
start_workers(const struct options *o, h2c_worker **ws)
{
    unsigned t = (unsigned)o->threads, c = (unsigned)o->conns;

    for (unsigned i = 0; i < t; i++) {
        unsigned share = c / t + (i < c % t ? 1 : 0);
        int rc = h2c_worker_new(&ws[i], &plan, i, share);
        if (rc != H2C_OK) {
            fprintf(stderr, "corridor-load: %s\n", h2c_strerror(rc));
            return -1;
        }
    }
    return 0;
}

static int
run_workers(const struct options *o, h2c_worker **ws, h2c_stats *total, uint64_t *t_finish)
{
    pthread_t tids[MAX_THREADS];
    unsigned t = (unsigned)o->threads, started = 0;
    int rc = 0;

    set_times(o, &plan);
    for (; started < t; started++) {
        if (pthread_create(&tids[started], NULL, worker_main, ws[started]) != 0) {
            fprintf(stderr, "corridor-load: cannot start thread\n");
            atomic_store(&plan.stop, 1);
            rc = -1;
            break;
        }
    }
    for (unsigned i = 0; i < started; i++) {
        pthread_join(tids[i], NULL);
        h2c_stats_merge(total, h2c_worker_stats(ws[i]));
    }
    *t_finish = bu_now_ns();
    return rc;
}

/* --- reporting ------------------------------------------------------------------------------ */

struct summary {
    uint64_t ok, s4xx, s5xx, errors;
    double elapsed_s, rps, ok_rps;
};

static uint64_t
status_range(const h2c_stats *st, int lo, int hi)
{
    uint64_t n = 0;
    for (int s = lo; s <= hi; s++)
        n += st->status[s];
    return n;
}

/* Measured time: from the end of warm-up to the last response of a request that started
 * before the end (a -d run is never credited less than its duration unless stopped early). */
static double
elapsed_s(const h2c_stats *st, uint64_t t_finish)
{
    uint64_t end;

    if (plan.t_end == UINT64_MAX) {
        end = st->last_done > 0 ? st->last_done : t_finish;
    } else {
        end = plan.t_end < t_finish ? plan.t_end : t_finish;
        if (st->last_done > end)
            end = st->last_done;
    }
    return end > plan.t_measure ? (double)(end - plan.t_measure) / (double)BU_NS_PER_SEC : 0.0;
}

static void
summarize(const h2c_stats *st, uint64_t t_finish, struct summary *s)
{
    s->ok = status_range(st, 200, 399);
    s->s4xx = status_range(st, 400, 499);
    s->s5xx = status_range(st, 500, 599);
    s->errors = s->s4xx + s->s5xx + st->status_other + st->resets + st->refused + st->conn_lost +
                st->timeouts + st->unsent + st->conn_failed + st->tls_failed;
    s->elapsed_s = elapsed_s(st, t_finish);
    s->rps = s->elapsed_s > 0 ? (double)st->responses / s->elapsed_s : 0.0;
    s->ok_rps = s->elapsed_s > 0 ? (double)s->ok / s->elapsed_s : 0.0;
}

static void
format_ns(uint64_t ns, char *buf, size_t cap)
{
    if (ns < BU_NS_PER_MS)
        snprintf(buf, cap, "%.1f us", (double)ns / BU_NS_PER_US);
    else if (ns < BU_NS_PER_SEC)
        snprintf(buf, cap, "%.3f ms", (double)ns / BU_NS_PER_MS);
    else
        snprintf(buf, cap, "%.3f s", (double)ns / BU_NS_PER_SEC);
}

static void
print_latency(const char *label, const hist *h)
{
    static const double pcts[] = {50, 90, 99, 99.9};
    static const char *const names[] = {"p50", "p90", "p99", "p99.9"};
    char buf[32];

    printf("  %-12s", label);
    for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
        format_ns(hist_percentile(h, pcts[i]), buf, sizeof(buf));
        printf("%s %s  ", names[i], buf);
    }
    format_ns(hist_max(h), buf, sizeof(buf));
    printf("max %s\n", buf);
}

static void
print_status(const h2c_stats *st)
{
    const char *sep = "";

    printf("  %-12s", "status");
    for (int s = H2C_STATUS_MIN; s <= H2C_STATUS_MAX; s++) {
        if (st->status[s] > 0) {
            printf("%s%d x %" PRIu64, sep, s, st->status[s]);
            sep = ", ";
        }
    }
    if (st->status_other > 0)
        printf("%sother x %" PRIu64, sep, st->status_other);
    printf("%s\n", *sep ? "" : "none");
}

static void
print_mode(const struct options *o)
{
    printf("corridor-load: %s %s\n", o->method, o->url);
    printf("  %-12s%s%s, %" PRIu64 " thread(s), %" PRIu64 " connection(s) x %" PRIu64 " stream(s)",
           "mode", o->rate > 0 ? "open loop" : "closed loop",
           o->new_conn ? ", new connection per request" : "", o->threads, o->conns,
           o->new_conn ? (uint64_t)1 : o->streams);
    if (o->rate > 0)
        printf(", %" PRIu64 " req/s scheduled", o->rate);
    if (o->duration > 0)
        printf(", %" PRIu64 " s", o->duration);
    if (o->requests > 0)
        printf(", %" PRIu64 " requests", o->requests);
    if (o->warmup > 0)
        printf(" (+%" PRIu64 " s warm-up)", o->warmup);
    printf("\n");
}

static void
print_text(const struct options *o, const h2c_stats *st, const struct summary *s)
{
    print_mode(o);
    printf("  %-12s%" PRIu64 " in %.2f s = %.1f req/s (2xx/3xx: %" PRIu64 " = %.1f req/s)\n",
           "requests", st->responses, s->elapsed_s, s->rps, s->ok, s->ok_rps);
    print_latency("latency", st->latency);
    print_status(st);
    printf("  %-12s%" PRIu64 " total: 4xx %" PRIu64 ", 5xx %" PRIu64 ", bad-status %" PRIu64
           ", reset %" PRIu64 ", refused %" PRIu64 ", conn-lost %" PRIu64 ", timeout %" PRIu64
           ", unsent %" PRIu64 ", conn-failed %" PRIu64 ", tls-failed %" PRIu64 "\n",
           "errors", s->errors, s->s4xx, s->s5xx, st->status_other, st->resets, st->refused,
           st->conn_lost, st->timeouts, st->unsent, st->conn_failed, st->tls_failed);
    printf("  %-12s%" PRIu64 " handshakes, %" PRIu64 " GOAWAY, %" PRIu64 " refused streams resent",
           "connections", st->connects, st->goaways, st->retried);
    if (o->new_conn)
        printf(", %.1f new connections/s",
               s->elapsed_s > 0 ? (double)st->connects / s->elapsed_s : 0.0);
    if (o->idle)
        printf(", %" PRIu64 " held to the end", st->held);
    printf("\n");
    print_latency("handshake", st->handshake);
    if (o->rate > 0)
        printf("  %-12s%" PRIu64 " requests due but not yet sent, at most\n", "backlog",
               st->backlog_max);
}

/* json_object_set_new refuses a NULL value, so a part whose allocation failed is simply
 * absent; print_json checks that the top level is complete instead of checking every call. */
static void
set_u64(json_t *o, const char *key, uint64_t v)
{
    json_object_set_new(o, key, json_integer((json_int_t)v));
}

static void
set_real(json_t *o, const char *key, double v)
{
    json_object_set_new(o, key, json_real(v));
}

static json_t *
latency_json(const hist *h)
{
    static const double pcts[] = {50, 90, 99, 99.9};
    static const char *const names[] = {"p50", "p90", "p99", "p99_9"};
    double us = (double)BU_NS_PER_US;
    json_t *o = json_object();

    for (size_t i = 0; o != NULL && i < sizeof(pcts) / sizeof(pcts[0]); i++)
        set_real(o, names[i], (double)hist_percentile(h, pcts[i]) / us);
    if (o != NULL) {
        set_real(o, "min", (double)hist_min(h) / us);
        set_real(o, "max", (double)hist_max(h) / us);
        set_real(o, "mean", hist_mean(h) / us);
    }
    return o;
}

static json_t *
status_json(const h2c_stats *st)
{
    json_t *o = json_object();
    char code[8];

    for (int s = H2C_STATUS_MIN; o != NULL && s <= H2C_STATUS_MAX; s++) {
        if (st->status[s] == 0)
            continue;
        snprintf(code, sizeof(code), "%d", s);
        set_u64(o, code, st->status[s]);
    }
    return o;
}

static json_t *
errors_json(const h2c_stats *st, const struct summary *s)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    set_u64(o, "total", s->errors);
    set_u64(o, "status_4xx", s->s4xx);
    set_u64(o, "status_5xx", s->s5xx);
    set_u64(o, "bad_status", st->status_other);
    set_u64(o, "reset", st->resets);
    set_u64(o, "refused", st->refused);
    set_u64(o, "conn_lost", st->conn_lost);
    set_u64(o, "timeout", st->timeouts);
    set_u64(o, "unsent", st->unsent);
    set_u64(o, "conn_failed", st->conn_failed);
    set_u64(o, "tls_failed", st->tls_failed);
    return o;
}

static json_t *
config_json(const struct options *o)
{
    json_t *c = json_object();

    if (c == NULL)
        return NULL;
    json_object_set_new(c, "url", json_string(o->url));
    json_object_set_new(c, "method", json_string(o->method));
    json_object_set_new(c, "mode", json_string(o->rate > 0 ? "open" : "closed"));
    json_object_set_new(c, "new_conn", json_boolean(o->new_conn));
    json_object_set_new(c, "idle", json_boolean(o->idle));
    set_u64(c, "threads", o->threads);
    set_u64(c, "connections", o->conns);
    set_u64(c, "streams", o->new_conn ? 1 : o->streams);
    set_u64(c, "rate", o->rate);
    set_u64(c, "duration_s", o->duration);
    set_u64(c, "requests", o->requests);
    set_u64(c, "warmup_s", o->warmup);
    return c;
}

static json_t *
connections_json(const h2c_stats *st, const struct summary *s)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    set_u64(o, "handshakes", st->connects);
    set_u64(o, "goaways", st->goaways);
    set_u64(o, "retried", st->retried);
    set_u64(o, "held", st->held);
    set_real(o, "per_s", s->elapsed_s > 0 ? (double)st->connects / s->elapsed_s : 0.0);
    json_object_set_new(o, "handshake_us", latency_json(st->handshake));
    return o;
}

static json_t *
result_json(const struct options *o, const h2c_stats *st, const struct summary *s)
{
    json_t *j = json_object();

    if (j == NULL)
        return NULL;
    json_object_set_new(j, "config", config_json(o));
    set_u64(j, "requests", st->responses);
    set_u64(j, "ok", s->ok);
    set_real(j, "elapsed_s", s->elapsed_s);
    set_real(j, "rps", s->rps);
    set_real(j, "ok_rps", s->ok_rps);
    json_object_set_new(j, "latency_us", latency_json(st->latency));
    json_object_set_new(j, "status", status_json(st));
    json_object_set_new(j, "errors", errors_json(st, s));
    json_object_set_new(j, "connections", connections_json(st, s));
    set_u64(j, "backlog_max", st->backlog_max);
    return j;
}

static int
print_json(const struct options *o, const h2c_stats *st, const struct summary *s)
{
    json_t *j = result_json(o, st, s);
    int rc = 0;

    /* Every part must be there: a missing one means an allocation failed on the way. */
    if (j == NULL || json_object_size(j) != 11 ||
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
        fprintf(stderr, "corridor-load: cannot write JSON\n");
        rc = -1;
    } else {
        printf("\n");
    }
    json_decref(j);
    return rc;
}

/* --- main ----------------------------------------------------------------------------------- */

static void
install_signals(void)
{
    struct sigaction sa = {.sa_handler = on_signal};

    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A peer that closes first must not kill us through a write. */
    signal(SIGPIPE, SIG_IGN);
}

int
main(int argc, char **argv)
{
    struct options o;
    h2c_worker *ws[MAX_THREADS] = {0};
    h2c_stats total = {0};
    uint8_t *body = NULL;
    uint64_t t_finish = 0;
    struct summary s;
    int rc = EXIT_SETUP;

    if (parse_args(&o, argc, argv) != 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    install_signals();
    total.latency = hist_new();
    total.handshake = hist_new();
    if (total.latency == NULL || total.handshake == NULL || make_plan(&o, &plan, &body) != 0 ||
        start_workers(&o, ws) != 0 || run_workers(&o, ws, &total, &t_finish) != 0)
        goto out;
    summarize(&total, t_finish, &s);
    if (o.json ? print_json(&o, &total, &s) != 0 : (print_text(&o, &total, &s), false))
        goto out;
    rc = (o.idle ? total.held > 0 : s.ok > 0) ? 0 : EXIT_NO_SUCCESS;
out:
    for (unsigned i = 0; i < MAX_THREADS; i++)
        h2c_worker_free(ws[i]);
    hist_free(total.latency);
    hist_free(total.handshake);
    free(body);
    rg_uetrs_free(&uetrs);
    if (saved_uetrs != NULL && fclose(saved_uetrs) != 0 && rc == 0)
        rc = EXIT_SETUP; /* the list the next case needs did not reach the disk */
    return rc;
}
