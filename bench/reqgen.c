/* reqgen — see reqgen.h. */
#include "reqgen.h"

#include "util.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTPS_PREFIX "https://"
#define MAX_PORT 65535

const char *
rg_strerror(int err)
{
    switch (err) {
    case RG_OK:
        return "ok";
    case RG_ERR_URL:
        return "URL is not https://host[:port]/path";
    case RG_ERR_HEADER:
        return "header is not 'Name: value'";
    case RG_ERR_TOO_LONG:
        return "value too long";
    case RG_ERR_RUN_ID:
        return "run id is not 8 hex digits";
    case RG_ERR_UETR:
        return "not a lower-case canonical UUID";
    case RG_ERR_NOMEM:
        return "out of memory";
    default:
        return "unknown error";
    }
}

/* Copies [s, s+n) into dst[cap] with a NUL, refusing rather than truncating. */
static int
copy_bounded(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        return RG_ERR_TOO_LONG;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return RG_OK;
}

static bool
has_ctl_or_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == 0x7f)
            return true;
    }
    return false;
}

/* Splits "host", "host:port", "[v6]" or "[v6]:port" into url->host and url->port. */
static int
parse_authority(const char *a, size_t n, rg_url *url)
{
    const char *host = a, *port = NULL;
    size_t hostlen = n;

    if (n > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (close == NULL)
            return RG_ERR_URL;
        host = a + 1;
        hostlen = (size_t)(close - host);
        if ((size_t)(close + 1 - a) < n) {
            if (close[1] != ':')
                return RG_ERR_URL;
            port = close + 2;
        }
    } else {
        const char *colon = memchr(a, ':', n);
        if (colon != NULL) {
            hostlen = (size_t)(colon - a);
            port = colon + 1;
        }
    }
    if (hostlen == 0 || memchr(host, '@', hostlen) != NULL)
        return RG_ERR_URL;
    if (copy_bounded(url->host, sizeof(url->host), host, hostlen) != RG_OK)
        return RG_ERR_TOO_LONG;
    url->port = RG_DEFAULT_HTTPS_PORT;
    if (port != NULL) {
        char digits[8];
        uint64_t p;
        if (copy_bounded(digits, sizeof(digits), port, (size_t)(a + n - port)) != RG_OK ||
            bu_parse_u64(digits, 1, MAX_PORT, &p) != BU_OK)
            return RG_ERR_URL;
        url->port = (uint16_t)p;
    }
    return copy_bounded(url->authority, sizeof(url->authority), a, n);
}

int
rg_url_parse(const char *s, rg_url *out)
{
    size_t plen = strlen(HTTPS_PREFIX);

    memset(out, 0, sizeof(*out));
    if (strncasecmp(s, HTTPS_PREFIX, plen) != 0)
        return RG_ERR_URL;
    s += plen;
    size_t n = strlen(s);
    if (has_ctl_or_space(s, n) || memchr(s, '#', n) != NULL)
        return RG_ERR_URL;
    const char *slash = strchr(s, '/');
    size_t alen = slash != NULL ? (size_t)(slash - s) : n;
    int rc = parse_authority(s, alen, out);
    if (rc != RG_OK)
        return rc;
    if (slash == NULL)
        return copy_bounded(out->path, sizeof(out->path), "/", 1);
    return copy_bounded(out->path, sizeof(out->path), slash, n - alen);
}

/* RFC 9110 token characters. */
static bool
is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Headers HTTP/2 forbids (RFC 9113 8.2.2): a server must treat them as malformed. */
static bool
is_connection_specific(const char *name)
{
    static const char *const banned[] = {"connection",        "keep-alive", "proxy-connection",
                                         "transfer-encoding", "upgrade",    "te"};
    for (size_t i = 0; i < sizeof(banned) / sizeof(banned[0]); i++) {
        if (strcmp(name, banned[i]) == 0)
            return true;
    }
    return false;
}

static int
parse_header_name(const char *s, size_t n, rg_header *out)
{
    if (n == 0 || n >= sizeof(out->name))
        return n == 0 ? RG_ERR_HEADER : RG_ERR_TOO_LONG;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_tchar(c))
            return RG_ERR_HEADER;
        out->name[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    out->name[n] = '\0';
    return is_connection_specific(out->name) ? RG_ERR_HEADER : RG_OK;
}

int
rg_header_parse(const char *line, rg_header *out)
{
    memset(out, 0, sizeof(*out));
    const char *colon = strchr(line, ':');
    if (colon == NULL)
        return RG_ERR_HEADER;
    int rc = parse_header_name(line, (size_t)(colon - line), out);
    if (rc != RG_OK)
        return rc;
    const char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c < ' ' && c != '\t') || c == 0x7f)
            return RG_ERR_HEADER;
    }
    return copy_bounded(out->value, sizeof(out->value), v, n);
}

int
rg_payment_gen_init(rg_payment_gen *g, const char *run_id, unsigned worker)
{
    memset(g, 0, sizeof(*g));
    if (strlen(run_id) != RG_RUN_ID_LEN)
        return RG_ERR_RUN_ID;
    for (size_t i = 0; i < RG_RUN_ID_LEN; i++) {
        char c = run_id[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return RG_ERR_RUN_ID;
    }
    memcpy(g->run_id, run_id, RG_RUN_ID_LEN + 1);
    g->worker = worker;
    return RG_OK;
}

/* A bijective mix of the sequence (splitmix64 finaliser) so amounts look random but are
 * reproducible per sequence number. */
static uint64_t
mix64(uint64_t x)
{
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

static int
format_date(time_t now, char date[11])
{
    struct tm tm;

    if (gmtime_r(&now, &tm) == NULL)
        return RG_ERR_TOO_LONG;
    if (strftime(date, 11, "%Y-%m-%d", &tm) != 10)
        return RG_ERR_TOO_LONG;
    return RG_OK;
}

/* The ids: "LT-<run>-<worker hex>-<seq>" fits Max35Text for any 64-bit seq below 10^15,
 * which the caller's request budget keeps far away from; refused (not cut) otherwise. */
static int
make_ids(const rg_payment_gen *g, rg_payment *p)
{
    int n = snprintf(p->end_to_end_id, sizeof(p->end_to_end_id), "LT-%s-%x-%" PRIu64, g->run_id,
                     g->worker, g->seq);
    if (n < 0 || (size_t)n >= sizeof(p->end_to_end_id))
        return RG_ERR_TOO_LONG;
    n = snprintf(p->idempotency_key, sizeof(p->idempotency_key), "corridor-load-%s-%x-%" PRIu64,
                 g->run_id, g->worker, g->seq);
    if (n < 0 || (size_t)n >= sizeof(p->idempotency_key))
        return RG_ERR_TOO_LONG;
    return RG_OK;
}

/* Pretty-printed like a client library would send it; ~1 KiB. No field needs JSON escaping:
 * every value is a constant or made of [A-Za-z0-9 .-]. */
static const char payment_fmt[] =
    "{\n"
    "  \"end_to_end_id\": \"%s\",\n"
    "  \"customer_id\": \"" RG_CUSTOMER_ID "\",\n"
    "  \"amount\": \"%" PRId64 ".%02" PRId64 "\",\n"
    "  \"currency\": \"" RG_CURRENCY "\",\n"
    "  \"requested_execution_date\": \"%s\",\n"
    "  \"charge_bearer\": \"SHAR\",\n"
    "  \"debtor\": {\n"
    "    \"name\": \"Acme Corporation International Trading Ltd\",\n"
    "    \"account\": {\"iban\": \"" RG_DEBTOR_IBAN "\"},\n"
    "    \"address\": {\"street\": \"1 Market Street, Floor 12\", \"town\": \"London\", "
    "\"postcode\": \"EC2A 1AA\", \"country\": \"GB\"}\n"
    "  },\n"
    "  \"debtor_agent\": {\"bic\": \"" RG_DEBTOR_AGENT "\"},\n"
    "  \"intermediary_agents\": [{\"bic\": \"" RG_INTERMEDIARY "\"}],\n"
    "  \"creditor_agent\": {\"bic\": \"" RG_CREDITOR_AGENT "\"},\n"
    "  \"creditor\": {\n"
    "    \"name\": \"Jane Elizabeth Smith-Hartmann\",\n"
    "    \"account\": {\"iban\": \"" RG_CREDITOR_IBAN "\"},\n"
    "    \"address\": {\"street\": \"Kaiserstrasse 29\", \"town\": \"Frankfurt\", "
    "\"postcode\": \"60311\", \"country\": \"DE\"}\n"
    "  },\n"
    "  \"remittance_information\": \"Invoice %" PRIu64 " for consulting services rendered "
    "in the fourth quarter, order reference %s\",\n"
    "  \"purpose\": \"GDDS\"\n"
    "}\n";

int
rg_payment_next(rg_payment_gen *g, time_t now, char *body, size_t cap, rg_payment *out)
{
    char date[11];
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = format_date(now, date)) != RG_OK || (rc = make_ids(g, out)) != RG_OK)
        return rc;
    out->amount_minor = RG_AMOUNT_MIN_MINOR +
                        (int64_t)(mix64(g->seq ^ (uint64_t)g->worker << 48) % RG_AMOUNT_SPAN_MINOR);
    int n = snprintf(body, cap, payment_fmt, out->end_to_end_id, out->amount_minor / 100,
                     out->amount_minor % 100, date, g->seq, out->end_to_end_id);
    if (n < 0 || (size_t)n >= cap)
        return RG_ERR_TOO_LONG;
    out->len = (size_t)n;
    g->seq++;
    return RG_OK;
}

/* ---- status updates over a list of payments ------------------------------------------------ */

static bool
is_uetr(const char *s, size_t n)
{
    if (n != RG_UETR_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return true;
}

/* Non-blank lines of text, or SIZE_MAX when there are too many. */
static size_t
count_lines(const char *text, size_t len)
{
    size_t n = 0;
    bool blank = true;

    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n') {
            n += !blank;
            blank = true;
        } else if (text[i] != '\r' && text[i] != ' ') {
            blank = false;
        }
    }
    n += !blank;
    return n > RG_MAX_UETRS ? SIZE_MAX : n;
}

int
rg_uetrs_parse(const char *text, size_t len, rg_uetrs *out)
{
    size_t n = count_lines(text, len), at = 0;

    memset(out, 0, sizeof(*out));
    if (n == SIZE_MAX)
        return RG_ERR_TOO_LONG;
    if (n == 0)
        return RG_ERR_UETR;
    if ((out->v = calloc(n, sizeof(*out->v))) == NULL)
        return RG_ERR_NOMEM;
    while (at < len) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - text) : len, k = end;
        while (k > at && (text[k - 1] == '\r' || text[k - 1] == ' '))
            k--;
        if (k > at && !is_uetr(text + at, k - at)) {
            rg_uetrs_free(out);
            return RG_ERR_UETR;
        }
        if (k > at)
            memcpy(out->v[out->n++], text + at, RG_UETR_LEN); /* calloc'd: NUL-terminated */
        at = end + 1;
    }
    return RG_OK;
}

void
rg_uetrs_free(rg_uetrs *u)
{
    free(u->v);
    u->v = NULL;
    u->n = 0;
}

int
rg_path_fill(const char *tmpl, const char *uetr, char *out, size_t cap)
{
    const char *at = strstr(tmpl, RG_TEMPLATE);

    if (at == NULL)
        return RG_ERR_URL;
    int n = snprintf(out, cap, "%.*s%s%s", (int)(at - tmpl), tmpl, uetr,
                     at + strlen(RG_TEMPLATE));
    return n < 0 || (size_t)n >= cap ? RG_ERR_TOO_LONG : RG_OK;
}

size_t
rg_uetr_pick(uint64_t seq, unsigned worker, unsigned threads, size_t n)
{
    if (n == 0)
        return 0;
    return (size_t)((seq * (threads ? threads : 1) + worker) % n);
}

/* Compact, as a correspondent's system would send it. No value needs escaping: constants and
 * the generated [A-Za-z0-9-] ids. */
static const char status_fmt[] =
    "{\"from\":\"" RG_CORRESPONDENT "\",\"transaction_status\":\"ACSP\","
    "\"transaction_status_reason\":\"G000\",\"tracker_informing_party\":\"" RG_CORRESPONDENT "\","
    "\"instruction_identification\":\"%s\",\"service_level\":\"G001\","
    "\"payment_scenario\":\"CCTR\"}";

int
rg_status_next(rg_payment_gen *g, char *body, size_t cap, rg_status *out)
{
    rg_payment ids;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = make_ids(g, &ids)) != RG_OK)
        return rc;
    memcpy(out->instruction_id, ids.end_to_end_id, sizeof(out->instruction_id));
    memcpy(out->idempotency_key, ids.idempotency_key, sizeof(out->idempotency_key));
    int n = snprintf(body, cap, status_fmt, out->instruction_id);
    if (n < 0 || (size_t)n >= cap)
        return RG_ERR_TOO_LONG;
    out->len = (size_t)n;
    g->seq++;
    return RG_OK;
}
