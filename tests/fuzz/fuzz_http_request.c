/*
 * fuzz_http_request.c — libFuzzer target for the gateway's HTTP/2 request handling, in-process:
 * the bytes reach a real nghttp2 server session with server.c's callbacks, the request
 * assembly and its limits, gw_dispatch (rate limits, routing, the authorization table) and the
 * handlers, over a real store in a temporary directory — everything but the socket and TLS
 * (the GW_FUZZ_HOOK test hook in server.c, built only into this target's copy of the library).
 *
 * Input, two shapes:
 * - raw: starts with the HTTP/2 connection preface ("PRI * HTTP/2.0..."): the bytes a channel
 *   client sent, as they are;
 * - text (the seeds): a role line (channel, correspondent, customer, operator), then requests
 *   separated by a line "---", each
 *       METHOD PATH
 *       name: value            (headers, any number)
 *                              (a blank line)
 *       body...
 *   sent one after another on one connection (each answered before the next is sent), as
 *   HEADERS (+ DATA) frames with HPACK done by nghttp2's deflater. "@TODAY@" becomes today's
 *   date, so seeds reach the accepting paths.
 *
 * Beyond sanitizers, the hook aborts when a dispatched request is never answered.
 * Seeds: seeds/fuzz_http_request/.
 */
#include "tls.h"

#include <ftw.h>
#include <nghttp2/nghttp2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define FRAME_HDR 9
#define MAX_FRAME 16384
#define MAX_REQUESTS 8
#define MAX_HEADERS 24
#define MAX_LINE 8192
#define SEPARATOR "\n---\n"
#define TODAY_MARK "@TODAY@"
#define HEADER_TABLE 4096
#define FUZZ_MAP_SIZE (256ULL << 20)

static char workdir[] = "/tmp/corridor-fuzz-http-XXXXXX";
static gw_app *app;
static gw_server *srv;

/* ---- set-up ------------------------------------------------------------------------------ */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void
teardown(void)
{
    gw_fuzz_server_free(srv);
    gw_app_close(app);
    nftw(workdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
fuzz_config(gw_config *cfg)
{
    char err[256];

    gw_config_defaults(cfg);
    snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s/data", workdir);
    snprintf(cfg->spool_dir, sizeof cfg->spool_dir, "%s/spool", workdir);
    snprintf(cfg->participants_file, sizeof cfg->participants_file,
             CORRIDOR_SRC "/certs/participants.dev.conf");
    snprintf(cfg->accounts_seed, sizeof cfg->accounts_seed,
             CORRIDOR_SRC "/samples/accounts.json");
    cfg->map_size = FUZZ_MAP_SIZE;
    /* Limits per principal are not what is fuzzed here: no 429 after the first thousand. */
    gw_config_set(cfg, "rate_channel", "1000000", err, sizeof err);
    gw_config_set(cfg, "burst_channel", "1000000", err, sizeof err);
    gw_config_set(cfg, "rate_correspondent", "1000000", err, sizeof err);
    gw_config_set(cfg, "burst_correspondent", "1000000", err, sizeof err);
    gw_config_set(cfg, "rate_customer", "1000000", err, sizeof err);
    gw_config_set(cfg, "burst_customer", "1000000", err, sizeof err);
    gw_config_set(cfg, "rate_operator", "1000000", err, sizeof err);
    gw_config_set(cfg, "burst_operator", "1000000", err, sizeof err);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    gw_config cfg;
    char err[1024];

    (void)argc, (void)argv;
    if (mkdtemp(workdir) == NULL)
        abort();
    fuzz_config(&cfg);
    gw_log_set_level(GW_LOG_ERROR); /* no access log line per request */
    if (gw_app_open(&app, &cfg, err, sizeof err) != GW_OK) {
        fprintf(stderr, "fuzz_http_request: %s\n", err);
        abort();
    }
    srv = gw_fuzz_server_new(&cfg, app);
    if (srv == NULL)
        abort();
    atexit(teardown);
    return 0;
}

/* ---- principals ---------------------------------------------------------------------------- */

static gw_principal
principal_for(const char *role, size_t len)
{
    gw_principal p = {.role = GW_ROLE_CHANNEL, .name = "channel", .n_bics = 1};

    snprintf(p.bics[0], sizeof p.bics[0], "CRDRGB20XXX");
    if (len == 13 && memcmp(role, "correspondent", 13) == 0) {
        p.role = GW_ROLE_CORRESPONDENT;
        snprintf(p.name, sizeof p.name, "correspondent");
        snprintf(p.bics[0], sizeof p.bics[0], "CRSPUS30XXX");
    } else if (len == 8 && memcmp(role, "customer", 8) == 0) {
        p.role = GW_ROLE_CUSTOMER;
        snprintf(p.name, sizeof p.name, "customer");
        snprintf(p.customer_id, sizeof p.customer_id, "ACME-001");
    } else if (len == 8 && memcmp(role, "operator", 8) == 0) {
        p.role = GW_ROLE_OPERATOR;
        snprintf(p.name, sizeof p.name, "operator");
        p.n_bics = 0;
    }
    return p;
}

/* ---- frames --------------------------------------------------------------------------------- */

typedef struct out {
    uint8_t *p;
    size_t len, cap;
} out;

static int
out_put(out *o, const void *data, size_t n)
{
    if (o->len + n > o->cap) {
        size_t cap = (o->len + n) * 2;
        uint8_t *p = realloc(o->p, cap);
        if (p == NULL)
            return -1;
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, data, n);
    o->len += n;
    return 0;
}

static int
out_frame(out *o, size_t len, uint8_t type, uint8_t flags, int32_t id, const void *payload)
{
    uint8_t h[FRAME_HDR] = {(uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len, type, flags,
                            (uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8),
                            (uint8_t)id};

    return out_put(o, h, sizeof h) || out_put(o, payload, len) ? -1 : 0;
}

/* ---- the text form ------------------------------------------------------------------------ */

typedef struct request {
    nghttp2_nv nv[MAX_HEADERS + 4];
    size_t n_nv;
    const char *body; /* nv and body point into the input's text */
    size_t body_len;
} request;

#define NV(k, kl, v, vl) ((nghttp2_nv){(uint8_t *)(k), (uint8_t *)(v), (kl), (vl), 0})

/* "METHOD PATH" then "name: value" lines up to a blank line; the rest is the body. The text
 * is modified in place (NULs) and must outlive the request. */
static int
parse_request(char *text, size_t len, request *r)
{
    char *end = text + len, *line = text, *nl, *sp, *colon;
    int first = 1;

    r->n_nv = 0;
    while (line < end && (nl = memchr(line, '\n', (size_t)(end - line))) != NULL) {
        *nl = '\0';
        if (line == nl) { /* blank line: the body follows */
            line = nl + 1;
            break;
        }
        if (first) {
            if ((sp = strchr(line, ' ')) == NULL)
                return -1;
            r->nv[r->n_nv++] = NV(":method", 7, line, (size_t)(sp - line));
            r->nv[r->n_nv++] = NV(":scheme", 7, "https", 5);
            r->nv[r->n_nv++] = NV(":authority", 10, "localhost", 9);
            r->nv[r->n_nv++] = NV(":path", 5, sp + 1, strlen(sp + 1));
            first = 0;
        } else if ((colon = strstr(line, ": ")) != NULL && r->n_nv < MAX_HEADERS + 4) {
            r->nv[r->n_nv++] = NV(line, (size_t)(colon - line), colon + 2, strlen(colon + 2));
        }
        line = nl + 1;
    }
    if (first)
        return -1;
    r->body = line < end ? line : end;
    r->body_len = (size_t)(end - r->body);
    return 0;
}

/* HEADERS, then DATA frames of at most MAX_FRAME, END_STREAM on the last. */
static int
encode_request(nghttp2_hd_deflater *def, request *r, int32_t id, out *o)
{
    uint8_t block[MAX_FRAME];
    ssize_t n = nghttp2_hd_deflate_hd(def, block, sizeof block, r->nv, r->n_nv);
    size_t off = 0;

    if (n < 0)
        return -1;
    if (out_frame(o, (size_t)n, NGHTTP2_HEADERS,
                  NGHTTP2_FLAG_END_HEADERS | (r->body_len ? 0 : NGHTTP2_FLAG_END_STREAM), id,
                  block) != 0)
        return -1;
    while (off < r->body_len) {
        size_t chunk = r->body_len - off < MAX_FRAME ? r->body_len - off : MAX_FRAME;
        if (out_frame(o, chunk, NGHTTP2_DATA,
                      off + chunk == r->body_len ? NGHTTP2_FLAG_END_STREAM : 0, id,
                      r->body + off) != 0)
            return -1;
        off += chunk;
    }
    return 0;
}

/* data with TODAY_MARK replaced by today's date (same length + 3 at most per mark). */
static char *
substitute_today(const uint8_t *data, size_t size, size_t *len)
{
    const size_t mark = strlen(TODAY_MARK);
    char today[16], *text = malloc(size * 2 + 1);
    time_t now = time(NULL);
    struct tm tm;
    size_t n = 0;

    if (text == NULL)
        return NULL;
    gmtime_r(&now, &tm);
    strftime(today, sizeof today, "%Y-%m-%d", &tm);
    for (size_t i = 0; i < size;) {
        if (size - i >= mark && memcmp(data + i, TODAY_MARK, mark) == 0) {
            memcpy(text + n, today, strlen(today));
            n += strlen(today), i += mark;
        } else {
            text[n++] = (char)data[i++];
        }
    }
    text[n] = '\0';
    *len = n;
    return text;
}

static void
send_out(gw_fuzz_conn *c, out *o, int *alive)
{
    if (*alive && gw_fuzz_send(c, o->p, o->len) != 0)
        *alive = 0;
    o->len = 0;
}

/* One connection: the preface, then each request in turn. */
static void
run_text(char *text, size_t len)
{
    char *nl = memchr(text, '\n', len), *req, *next, *end = text + len;
    gw_principal p = principal_for(text, nl ? (size_t)(nl - text) : len);
    nghttp2_hd_deflater *def = NULL;
    gw_fuzz_conn *c = gw_fuzz_open(srv, &p);
    out o = {0};
    int alive = c != NULL, i = 0;
    request r;

    if (c == NULL || nl == NULL || nghttp2_hd_deflate_new(&def, HEADER_TABLE) != 0)
        goto done;
    if (out_put(&o, PREFACE, sizeof PREFACE - 1) || out_frame(&o, 0, NGHTTP2_SETTINGS, 0, 0, ""))
        goto done;
    send_out(c, &o, &alive);
    for (req = nl + 1; req < end && alive && i < MAX_REQUESTS; req = next, i++) {
        char *sep = strstr(req, SEPARATOR);
        next = sep ? sep + strlen(SEPARATOR) : end;
        if (sep)
            *sep = '\0';
        if (parse_request(req, (size_t)((sep ? sep : end) - req), &r) != 0 ||
            encode_request(def, &r, 1 + 2 * i, &o) != 0)
            break;
        send_out(c, &o, &alive);
    }
done:
    if (def != NULL)
        nghttp2_hd_deflate_del(def);
    free(o.p);
    gw_fuzz_close(c);
}

static void
run_raw(const uint8_t *data, size_t size)
{
    gw_principal p = principal_for("channel", 7);
    gw_fuzz_conn *c = gw_fuzz_open(srv, &p);

    if (c == NULL)
        return;
    (void)gw_fuzz_send(c, data, size);
    gw_fuzz_close(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    size_t len;

    if (size >= sizeof PREFACE - 1 && memcmp(data, PREFACE, sizeof PREFACE - 1) == 0) {
        run_raw(data, size);
        return 0;
    }
    text = substitute_today(data, size, &len);
    if (text == NULL)
        return 0;
    run_text(text, len);
    free(text);
    return 0;
}
