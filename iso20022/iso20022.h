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
#define ISO_MAX_XML_NODES 50000 /* elements and comments; raised from 20000 so that a pain.001
                                  * of ISO_MAX_PAIN001_TX ordinary transactions fits */
/* Added: an attribute value (Ccy, xmlns URIs, xsi:schemaLocation are all far shorter), and a
 * whole start tag; the tag limit is checked before parsing, because libxml2 2.9 compares the
 * attributes of one tag pairwise (quadratic) before any callback could stop it. */
#define ISO_MAX_XML_ATTR_LEN 1024
#define ISO_MAX_XML_TAG_BYTES 8192

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


/* ---- pain.001 in (customer credit transfer initiation) ------------------------------------ */

#define ISO_MAX_PAIN001_TX 1000 /* transactions in one pain.001 (all PmtInf together) */

/* One transaction of a pain.001, translated. */
typedef struct iso_pain001_tx {
    iso_instruction in;   /* what the model holds (ownership, funds, tracking, views) */
    char msg_id[36];      /* the MsgId generated for its pacs.008 */
    char instructed_bic[12];
    char *pacs008;        /* the pacs.008 envelope built by XSLT, profile-checked; owned */
    size_t pacs008_len;
} iso_pain001_tx;

typedef struct iso_pain001 {
    char version[24];     /* "pain.001.001.09" or "pain.001.001.03" */
    char message_id[36];  /* GrpHdr/MsgId of the pain.001 */
    char customer_id[36]; /* InitgPty/Id: OrgId/Othr/Id, else PrvtId/Othr/Id */
    iso_pain001_tx *tx;   /* owned array of n_tx */
    size_t n_tx;
} iso_pain001;

/*
 * Read a pain.001.001.09 or .03 (bare Document, or AppHdr + Document, or Envelope), check it
 * against Corridor's inbound profile, translate every CdtTrfTxInf into its own pacs.008.001.08
 * through the XSLT stylesheets in iso20022/xslt (compiled once in iso_ctx_new; generated values
 * — UETR when the pain.001 has none, MsgId, creation time — passed as stylesheet parameters),
 * apply the business rules to each and validate each pacs.008 against the project profile.
 * All-or-nothing: any problem in any transaction → no output, every problem listed (XPath).
 * Returns ISO_OK, ISO_ERR_SYNTAX (not well-formed, DTD, limits: HTTP 400), ISO_ERR_TOOLARGE,
 * ISO_ERR_INVALID (422; an unsupported message or version too, code UNSUPPORTED_MESSAGE),
 * ISO_ERR_NOMEM. iso_pain001_free(NULL) is a no-op; it frees the contents, not `p` itself.
 */
int iso_pain001_read(const iso_ctx *ctx, const char *xml, size_t len, time_t now,
                     iso_pain001 *out, iso_problems *pr);
void iso_pain001_free(iso_pain001 *p);

/* ---- Messages out: pain.002 (to the customer), camt.056 (recall, bank to bank) ------------- */

typedef struct iso_pain002_params {
    char msg_id[36];
    time_t created;
    char initiating_party[36];    /* the customer id the report is for */
    char debtor_agent_bic[12];    /* the bank reporting */
    char original_msg_id[36];     /* the pain.001 MsgId, or the channel's end-to-end id for JSON */
    char original_msg_name[24];   /* "pain.001.001.09" ... */
    char original_e2e_id[36];
    char original_instr_id[36];
    char uetr[37];
    char status[5];               /* ExternalPaymentTransactionStatus1Code: ACSP, ACCC, RJCT, PDNG */
    char reason[5];               /* ISO reason code, may be empty */
    int64_t amount_minor;
    int exponent;
    char currency[4];
} iso_pain002_params;
/* A bare pain.002.001.10 Document (it travels bank to customer: no AppHdr), profile-checked. */
int iso_pain002_build(const iso_ctx *ctx, const iso_pain002_params *p, char **xml,
                      size_t *xml_len, iso_problems *pr);

typedef struct iso_camt056_params {
    char msg_id[36];              /* Assgnmt/Id and AppHdr/BizMsgIdr */
    time_t created;
    char assigner_bic[12];        /* the debtor agent (us); AppHdr Fr */
    char assignee_bic[12];        /* the agent the pacs.008 went to; AppHdr To */
    char case_id[36];             /* Case/Id */
    char original_msg_id[36];     /* the pacs.008 MsgId */
    char original_instr_id[36];
    char original_e2e_id[36];
    char uetr[37];
    int64_t amount_minor;         /* OrgnlIntrBkSttlmAmt */
    int exponent;
    char currency[4];
    char settlement_date[11];     /* OrgnlIntrBkSttlmDt */
    char reason[5];               /* CxlRsnInf/Rsn/Cd: DUPL, CUST, UPAY, FRAD, TECH, AGNT, CURR, ... */
} iso_camt056_params;
/* A camt.056.001.08 in an Envelope with its head.001.001.02 AppHdr, profile-checked. */
int iso_camt056_build(const iso_ctx *ctx, const iso_camt056_params *p, char **xml,
                      size_t *xml_len, iso_problems *pr);

/* ---- Messages in: pacs.002, pacs.004, camt.029 ------------------------------------------- */

typedef enum iso_msg_kind {
    ISO_MSG_PACS002 = 1, /* FIToFIPmtStsRpt: a status (ACSP / ACCC / RJCT ...) */
    ISO_MSG_PACS004,     /* PmtRtr: the payment comes back */
    ISO_MSG_CAMT029,     /* RsltnOfInvstgtn: answer to our camt.056 (CNCL / RJCR / PDCR) */
} iso_msg_kind;

#define ISO_MAX_CHARGES 8
typedef struct iso_charge {
    int64_t amount_minor;
    int exponent;
    char currency[4];
    char agent_bic[12];
} iso_charge;

typedef struct iso_amount {
    int present;
    int64_t minor;
    int exponent;
    char currency[4];
} iso_amount;

/* One inbound status message, read into plain data for the tracker. */
typedef struct iso_status_msg {
    iso_msg_kind kind;
    char msg_name[24];        /* e.g. "pacs.002.001.10" */
    char msg_id[36];          /* GrpHdr/MsgId, or Assgnmt/Id for camt.029 */
    int has_header;           /* an AppHdr was present */
    char from_bic[12];        /* AppHdr Fr, else InstgAgt (pacs) / Assgnr (camt.029) */
    char to_bic[12];          /* AppHdr To, else InstdAgt / Assgne */
    char uetr[37];            /* the original payment's UETR (OrgnlUETR) */
    char original_msg_id[36];
    char original_instr_id[36];
    char original_e2e_id[36];
    char status[5];           /* pacs.002 TxSts; camt.029 CNCL / RJCR / PDCR; pacs.004 empty */
    char reason[5];           /* StsRsnInf / RtrRsnInf / CxlStsRsnInf reason code, may be empty */
    iso_amount amount;        /* pacs.004 RtrdIntrBkSttlmAmt; pacs.002 if it carries one */
    char settlement_date[11];
    iso_charge charges[ISO_MAX_CHARGES];
    size_t n_charges;
} iso_status_msg;

/*
 * Read a pacs.002.001.10, pacs.004.001.09 or camt.029.001.09: bare Document, AppHdr +
 * Document, or a SWIFT-style Envelope holding both. Checked against Corridor's inbound
 * profiles (and the header's Fr/To against the message's agents). One transaction per
 * message. Another message type or version → ISO_ERR_INVALID with problem code
 * UNSUPPORTED_MESSAGE naming the supported ones. Other returns as iso_pain001_read.
 */
int iso_status_read(const iso_ctx *ctx, const char *xml, size_t len, iso_status_msg *out,
                    iso_problems *pr);

/* The message as an Envelope (urn:swift:xsd:envelope) holding AppHdr (if any) + Document,
 * the form Corridor stores and serves. An Envelope comes back as a copy. *out malloc'd. */
int iso_envelope(const char *xml, size_t len, char **out, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
