/*
 * iso20022 — the instruction model, its readers and the ISO 20022 messages built from it.
 *
 * Pure functions from bytes to structs and back: no logging, no sockets, no global error
 * handlers. Every problem found is returned as data (iso_problems) for the caller to show.
 *
 * Threads: an iso_ctx is built once at start-up (schemas compiled) and is then read-only;
 * any number of threads may call the functions below with the same ctx concurrently.
 */
#ifndef CORRIDOR_ISO20022_H
#define CORRIDOR_ISO20022_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes: 0 = OK, negative, range -100..-199. */
enum iso_err {
    ISO_OK = 0,
    ISO_ERR_NOMEM = -100,
    ISO_ERR_SYNTAX = -101,   /* not well-formed (JSON or XML): HTTP 400 */
    ISO_ERR_INVALID = -102,  /* well-formed but breaks a rule or the schema: HTTP 422 */
    ISO_ERR_TOOLARGE = -103, /* over a size limit: HTTP 413 */
    ISO_ERR_INTERNAL = -104, /* a message Corridor built failed its own schema: a bug, HTTP 500 */
    ISO_ERR_SCHEMA = -105,   /* a schema could not be compiled at start-up */
};
const char *iso_strerror(int err);

/* Limits (named here, never bare numbers in code). */
#define ISO_MAX_PROBLEMS 64
#define ISO_MAX_INTERMEDIARIES 3
#define ISO_MAX_JSON_BYTES (256 * 1024)
/* Added: amounts (CBPR+ ActiveCurrencyAndAmount: 18 digits, at most 5 of them fractional;
 * Corridor counts the digits of the amount written with its currency's exponent), the
 * requested_execution_date window, and what iso_validate accepts. */
#define ISO_MAX_AMOUNT_DIGITS 18
#define ISO_MAX_AMOUNT_FRACTION 5
#define ISO_MAX_EXECUTION_DAYS 365
#define ISO_MAX_XML_BYTES (1024 * 1024)
#define ISO_MAX_XML_DEPTH 32
#define ISO_MAX_XML_NODES 20000

/* A validation problem: where (JSON pointer or XPath), a machine code, and a sentence. */
typedef struct iso_problem {
    char path[128];
    char code[40];
    char text[200];
} iso_problem;

/* A bounded list: problems past ISO_MAX_PROBLEMS are counted in `dropped`, not stored. */
typedef struct iso_problems {
    iso_problem items[ISO_MAX_PROBLEMS];
    size_t n;
    size_t dropped;
} iso_problems;

void iso_problems_init(iso_problems *pr);
void iso_problems_add(iso_problems *pr, const char *path, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * The instruction model. Every text field is a NUL-terminated string bounded by its ISO 20022
 * Max length (+1); an empty string means absent. Plain data: copy freely.
 */
typedef struct iso_account {
    char iban[35];  /* IBAN2007Identifier, no spaces, upper case */
    char other[35]; /* Othr/Id (Max34Text) when not an IBAN */
} iso_account;

typedef struct iso_address {
    char street[71];   /* StrtNm, Max70Text */
    char building[17]; /* BldgNb, Max16Text */
    char postcode[17]; /* PstCd, Max16Text */
    char town[36];     /* TwnNm, Max35Text */
    char country[3];   /* Ctry, ISO 3166 alpha-2 */
} iso_address;

typedef struct iso_party {
    char name[141]; /* Nm, Max140Text */
    iso_account account;
    iso_address address;
} iso_party;

typedef struct iso_agent {
    char bic[12]; /* BICFI, 8 or 11 characters, upper case */
} iso_agent;

typedef struct iso_instruction {
    char end_to_end_id[36];  /* Max35Text, required */
    char customer_id[36];    /* Max35Text, required: the channel's customer owning the payment */
    char instruction_id[17]; /* Max16 (CBPR+), optional */
    char uetr[37];           /* UUID v4, lower case; generated when absent */
    int64_t amount_minor;    /* instructed amount in minor units of `currency` */
    int exponent;            /* ISO 4217 minor-unit exponent of `currency` */
    char currency[4];        /* ISO 4217 alpha-3 */
    char requested_execution_date[11]; /* YYYY-MM-DD, UTC */
    char charge_bearer[5];             /* DEBT, CRED, SHAR */
    iso_party debtor;
    iso_agent debtor_agent;
    iso_agent intermediaries[ISO_MAX_INTERMEDIARIES];
    size_t n_intermediaries;
    iso_agent creditor_agent;
    iso_party creditor;
    char remittance_information[141]; /* Ustrd, Max140Text */
    char purpose[5];                  /* Purp/Cd, ExternalPurpose1Code */
} iso_instruction;

/*
 * Read a JSON instruction (DESIGN.md "The JSON instruction") into `out`.
 * `today` is the current UTC date used for the requested_execution_date window
 * (today .. today + 365 days). A missing uetr stays empty: the caller generates one.
 * Returns ISO_OK; ISO_ERR_SYNTAX (not JSON, not an object; one problem with line/column);
 * ISO_ERR_INVALID (wrong types, unknown fields, rule violations: every problem listed with its
 * JSON pointer, e.g. "/creditor/account/iban"); ISO_ERR_TOOLARGE; ISO_ERR_NOMEM.
 */
int iso_instruction_from_json(const char *json, size_t len, time_t today, iso_instruction *out,
                              iso_problems *pr);

/*
 * The instruction as canonical JSON text (same field names as the input, amount as a decimal
 * string with exactly `exponent` digits, absent fields left out). *out is malloc'd, NUL
 * terminated; the caller frees it. Returns ISO_OK or ISO_ERR_NOMEM.
 * Added: ISO_ERR_INVALID when `exponent` is outside 0..ISO_MAX_AMOUNT_FRACTION.
 */
int iso_instruction_to_json(const iso_instruction *in, char **out, size_t *out_len);

/* Business-rule helpers, usable on their own. Each returns 1 when valid, 0 otherwise. */
int iso_iban_valid(const char *iban);         /* country length table + mod-97 */
int iso_bic_valid(const char *bic);           /* ISO 9362: 4 letters, 2 letters, 2 alnum, [3 alnum] */
int iso_currency_exponent(const char *ccy);   /* ISO 4217 exponent, or -1 if unknown */
int iso_uetr_valid(const char *uetr);         /* lower-case UUID v4 */
int iso_bic8_equal(const char *a, const char *b); /* same party: first 8 characters equal */
/* Added: */
int iso_currency_known(const char *ccy); /* listed in ISO 4217, even if not payable (XAU, XDR) */
int iso_country_valid(const char *cc);   /* ISO 3166-1 alpha-2 (and XK), upper case */

/* Generate a UUID v4 UETR (lower case, 36 chars + NUL) from the kernel's CSPRNG. */
/* Added: returns ISO_OK, or ISO_ERR_INTERNAL if getrandom(2) fails (out is then ""). */
int iso_uetr_generate(char out[37]);

/* Format minor units as a decimal string with `exponent` digits ("1234.56"). */
/* Added: returns ISO_OK, ISO_ERR_INVALID (exponent outside 0..ISO_MAX_AMOUNT_FRACTION) or
 * ISO_ERR_TOOLARGE (buf too small; buf then holds ""). Negative amounts get a '-'. */
int iso_amount_format(int64_t minor, int exponent, char *buf, size_t size);
/* Parse a strict decimal amount string (digits, optional '.', no sign, no exponent) into
 * minor units. Returns ISO_OK or ISO_ERR_INVALID (too many fraction digits, too many digits,
 * zero, malformed). */
int iso_amount_parse(const char *s, int exponent, int64_t *minor);

/* ---- Messages ---------------------------------------------------------------------------- */

typedef struct iso_ctx iso_ctx;

/* Compile the project's usage-profile schemas (embedded in the library at build time).
 * Returns ISO_OK, ISO_ERR_SCHEMA or ISO_ERR_NOMEM. iso_ctx_free(NULL) is a no-op. */
int iso_ctx_new(iso_ctx **ctx);
void iso_ctx_free(iso_ctx *ctx);

/* Values generated by the caller for one pacs.008 (the builder invents nothing). */
typedef struct iso_pacs008_params {
    char msg_id[36];        /* GrpHdr/MsgId and AppHdr/BizMsgIdr, Max35Text */
    time_t created;         /* GrpHdr/CreDtTm and AppHdr/CreDt (UTC) */
    char instructed_bic[12];/* InstdAgt and AppHdr/To: first intermediary, else creditor agent */
} iso_pacs008_params;

/*
 * Build the pacs.008.001.08 for a (validated) instruction, wrapped as
 * <Envelope xmlns="urn:swift:xsd:envelope"><AppHdr head.001.001.02/><Document/></Envelope>,
 * and validate AppHdr and Document against the project's profile schemas.
 * InstgAgt / AppHdr Fr = debtor agent; settlement method INDA; IntrBkSttlmDt =
 * requested_execution_date; InstrId = instruction_id or, when absent, msg_id truncated to 16.
 * *xml is malloc'd (UTF-8, with XML declaration); the caller frees it.
 * Returns ISO_OK; ISO_ERR_INVALID with problems (XPath) if the result breaks the profile;
 * ISO_ERR_NOMEM.
 */
int iso_pacs008_build(const iso_ctx *ctx, const iso_instruction *in,
                      const iso_pacs008_params *params, char **xml, size_t *xml_len,
                      iso_problems *pr);

/*
 * Validate a document held in memory against one of the project's profile schemas by name
 * ("pacs.008.001.08", "head.001.001.02"). `xml` may be a bare Document, an AppHdr, or an
 * Envelope holding both (each part is checked against its own schema).
 * Returns ISO_OK, ISO_ERR_SYNTAX, ISO_ERR_INVALID (problems with XPath), ISO_ERR_NOMEM.
 * Added: the root element picks the schema (the function takes no name); a DTD, more than
 * ISO_MAX_XML_DEPTH levels or ISO_MAX_XML_NODES nodes is ISO_ERR_SYNTAX; more than
 * ISO_MAX_XML_BYTES is ISO_ERR_TOOLARGE.
 */
int iso_validate(const iso_ctx *ctx, const char *xml, size_t len, iso_problems *pr);

#ifdef __cplusplus
}
#endif
#endif
