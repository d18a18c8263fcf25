/*
 * reqgen — what corridor-load sends: the target URL, extra headers, and the built-in request
 * generators: a valid Corridor JSON payment instruction per request, and a correspondent's gpi
 * status update per request over a list of UETRs (the path template's {uetr}).
 *
 * Everything here is pure (bytes in, bytes out, no I/O, no clock: the caller passes the time),
 * so the builders are unit-tested and cheap enough to run once per request.
 */
#ifndef CORRIDOR_BENCH_REQGEN_H
#define CORRIDOR_BENCH_REQGEN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define RG_MAX_HOST 256
#define RG_MAX_PATH 2048
#define RG_MAX_AUTHORITY (RG_MAX_HOST + 8)
#define RG_MAX_HEADER_NAME 128
#define RG_MAX_HEADER_VALUE 1024
#define RG_PAYMENT_MAX 2048 /* generated payment body */
#define RG_ID_MAX 36        /* end_to_end_id is Max35Text, plus the NUL */
#define RG_IDEM_MAX 64      /* Idempotency-Key value, plus the NUL */
#define RG_RUN_ID_LEN 8     /* hex digits that tell one run from another */
#define RG_DEFAULT_HTTPS_PORT 443
#define RG_UETR_LEN 36          /* 8-4-4-4-12 lower-case hex */
#define RG_MAX_UETRS 10000000   /* lines of a --uetr-file */
#define RG_TEMPLATE "{uetr}"    /* in a URL path: replaced per request */
#define RG_TEMPLATED_PATH_MAX 256 /* a path with its UETR filled in, plus the NUL */
#define RG_STATUS_MAX 512       /* generated status update body */

/* Error codes: 0 = OK, negative, range -910..-929. */
enum rg_err {
    RG_OK = 0,
    RG_ERR_URL = -910,      /* not https://host[:port]/path */
    RG_ERR_HEADER = -911,   /* not "Name: value" with a valid token name */
    RG_ERR_TOO_LONG = -912, /* a bounded field or buffer would overflow */
    RG_ERR_RUN_ID = -913,   /* run id is not RG_RUN_ID_LEN hex digits */
    RG_ERR_UETR = -914,     /* a UETR list line is not a lower-case canonical UUID */
    RG_ERR_NOMEM = -915,
};
const char *rg_strerror(int err);

typedef struct rg_url {
    char host[RG_MAX_HOST];           /* without brackets for IPv6 literals */
    char authority[RG_MAX_AUTHORITY]; /* host[:port] as it goes into :authority */
    char path[RG_MAX_PATH];           /* starts with '/'; query kept */
    uint16_t port;
} rg_url;

/* Accepts only https:// (Corridor speaks HTTP/2 over TLS only); no userinfo, no fragment. */
int rg_url_parse(const char *s, rg_url *out);

typedef struct rg_header {
    char name[RG_MAX_HEADER_NAME];   /* lower-cased: HTTP/2 forbids upper case names */
    char value[RG_MAX_HEADER_VALUE]; /* leading/trailing blanks trimmed */
} rg_header;

/* Parses "Name: value". Pseudo-headers (":path") and connection-specific headers are refused. */
int rg_header_parse(const char *line, rg_header *out);

/*
 * Payment generator: one per worker thread. Each call builds the next instruction with an
 * end_to_end_id and Idempotency-Key unique within the run (run id + worker + sequence) and
 * across runs (the run id is random per run), today's UTC date and a varying amount.
 */
typedef struct rg_payment_gen {
    char run_id[RG_RUN_ID_LEN + 1];
    unsigned worker;
    uint64_t seq;
} rg_payment_gen;

typedef struct rg_payment {
    char end_to_end_id[RG_ID_MAX];
    char idempotency_key[RG_IDEM_MAX];
    int64_t amount_minor; /* EUR cents */
    size_t len;           /* body bytes written */
} rg_payment;

/* Fixed parties of the generated instruction (the dev PKI's principals). */
#define RG_CUSTOMER_ID "ACME-001"
#define RG_DEBTOR_IBAN "GB33BUKB20201555555555"
#define RG_CREDITOR_IBAN "DE89370400440532013000"
#define RG_DEBTOR_AGENT "CRDRGB20XXX"
#define RG_INTERMEDIARY "CRSPUS30XXX"
#define RG_CREDITOR_AGENT "BENFDE20XXX"
#define RG_CURRENCY "EUR"
/* Amounts run from 1.00 to 99.99 EUR: small enough that a long run never drains the seeded
 * demo account, varied enough that no two consecutive payments look like duplicates. */
#define RG_AMOUNT_MIN_MINOR 100
#define RG_AMOUNT_SPAN_MINOR 9900

int rg_payment_gen_init(rg_payment_gen *g, const char *run_id, unsigned worker);

/* Builds the next payment into body[cap] (not NUL-terminated beyond len if cap is exact). */
int rg_payment_next(rg_payment_gen *g, time_t now, char *body, size_t cap, rg_payment *out);

/* ---- status updates over a list of payments ------------------------------------------------ */

/* UETRs read from text, one per line (blank lines skipped). Refuses anything else, so a wrong
 * file fails at start rather than as a run of 404s. */
typedef struct rg_uetrs {
    char (*v)[RG_UETR_LEN + 1];
    size_t n;
} rg_uetrs;
int rg_uetrs_parse(const char *text, size_t len, rg_uetrs *out); /* RG_OK, RG_ERR_UETR, NOMEM */
void rg_uetrs_free(rg_uetrs *u);

/* tmpl with its first RG_TEMPLATE replaced by uetr; RG_ERR_URL without one, TOO_LONG. */
int rg_path_fill(const char *tmpl, const char *uetr, char *out, size_t cap);

/* Which of n UETRs request `seq` of worker `worker` (of `threads`) goes to: each worker takes
 * every threads-th one from its own, so together they walk the whole list in turn. */
size_t rg_uetr_pick(uint64_t seq, unsigned worker, unsigned threads, size_t n);

typedef struct rg_status {
    char instruction_id[RG_ID_MAX];
    char idempotency_key[RG_IDEM_MAX];
    size_t len; /* body bytes written */
} rg_status;

/* The correspondent of the dev PKI, the intermediary of every generated payment. */
#define RG_CORRESPONDENT RG_INTERMEDIARY

/* Builds the next gpi status update (PaymentStatusRequest9: ACSP G000 from RG_CORRESPONDENT)
 * with an instruction id and Idempotency-Key unique within the run and across runs, so the
 * gateway records each one (the same update again would be absorbed as a duplicate). */
int rg_status_next(rg_payment_gen *g, char *body, size_t cap, rg_status *out);

#endif
