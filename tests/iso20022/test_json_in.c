/*
 * test_json_in.c — iso20022/json_in.c: every rule of the JSON instruction, with its path and
 * code, several problems at once, syntax errors, limits, and the canonical writer.
 */
#include "test_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- helpers ------------------------------------------------------------------------------- */

/* RFC 6901 token unescape, in place. */
static void
unescape(char *tok)
{
    char *w = tok;

    for (char *r = tok; *r; r++) {
        if (r[0] == '~' && (r[1] == '0' || r[1] == '1')) {
            *w++ = r[1] == '0' ? '~' : '/';
            r++;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

static size_t
index_of(const char *tok)
{
    size_t i = 0;

    for (; *tok >= '0' && *tok <= '9'; tok++)
        i = i * 10 + (size_t)(*tok - '0');
    return i;
}

/* Set (or with literal NULL delete) the value at a JSON pointer of root. */
static void
mutate(json_t *root, const char *pointer, const char *literal)
{
    char buf[256], *tok, *next, *save = NULL;
    json_t *parent = root, *value = NULL;

    snprintf(buf, sizeof(buf), "%s", pointer + 1);
    tok = strtok_r(buf, "/", &save);
    while ((next = strtok_r(NULL, "/", &save)) != NULL) {
        unescape(tok);
        parent = json_is_array(parent) ? json_array_get(parent, index_of(tok))
                                       : json_object_get(parent, tok);
        assert_non_null(parent);
        tok = next;
    }
    unescape(tok);
    if (literal != NULL) {
        value = json_loads(literal, JSON_DECODE_ANY, NULL);
        assert_non_null(value);
    }
    if (json_is_array(parent))
        assert_int_equal(value ? json_array_set_new(parent, index_of(tok), value)
                               : json_array_remove(parent, index_of(tok)),
                         0);
    else
        assert_int_equal(
            value ? json_object_set_new(parent, tok, value) : json_object_del(parent, tok), 0);
}

/* The sample payment with any number of (pointer, literal) pairs applied, then read. */
static int
read_mutated(iso_instruction *in, iso_problems *pr, size_t n, const char *const *edits)
{
    char *base = payment_json(), *text;
    json_t *root = json_loads(base, JSON_PRESERVE_ORDER, NULL);
    int rc;

    assert_non_null(root);
    for (size_t i = 0; i + 1 < n * 2; i += 2)
        mutate(root, edits[i], edits[i + 1]);
    text = json_dumps(root, JSON_PRESERVE_ORDER);
    assert_non_null(text);
    iso_problems_init(pr);
    rc = iso_instruction_from_json(text, strlen(text), time(NULL), in, pr);
    free(text);
    free(base);
    json_decref(root);
    return rc;
}

static void
dump_problems(const iso_problems *pr)
{
    for (size_t i = 0; i < pr->n; i++)
        print_message("  %s %s: %s\n", pr->items[i].path, pr->items[i].code, pr->items[i].text);
}

/* ---- one rule at a time -------------------------------------------------------------------- */

struct rule_case {
    const char *pointer;
    const char *literal; /* NULL: delete the field */
    const char *path;    /* NULL: expect the instruction to stay valid */
    const char *code;
};

#define S35 "\"12345678901234567890123456789012345\""
#define S36 "\"123456789012345678901234567890123456\""
#define S70 "1234567890123456789012345678901234567890123456789012345678901234567890"
#define S140 S70 S70

static const struct rule_case rule_cases[] = {
    /* required fields */
    {"/end_to_end_id", NULL, "/end_to_end_id", "REQUIRED"},
    {"/customer_id", NULL, "/customer_id", "REQUIRED"},
    {"/amount", NULL, "/amount", "REQUIRED"},
    {"/currency", NULL, "/currency", "REQUIRED"},
    {"/requested_execution_date", NULL, "/requested_execution_date", "REQUIRED"},
    {"/debtor", NULL, "/debtor", "REQUIRED"},
    {"/debtor/name", NULL, "/debtor/name", "REQUIRED"},
    {"/debtor/account", NULL, "/debtor/account", "REQUIRED"},
    {"/debtor_agent", NULL, "/debtor_agent", "REQUIRED"},
    {"/debtor_agent/bic", NULL, "/debtor_agent/bic", "REQUIRED"},
    {"/creditor_agent", NULL, "/creditor_agent", "REQUIRED"},
    {"/creditor_agent/bic", NULL, "/creditor_agent/bic", "REQUIRED"},
    {"/creditor", NULL, "/creditor", "REQUIRED"},
    {"/creditor/name", NULL, "/creditor/name", "REQUIRED"},
    {"/creditor/account", NULL, "/creditor/account", "REQUIRED"},
    {"/intermediary_agents/0/bic", NULL, "/intermediary_agents/0/bic", "REQUIRED"},
    {"/debtor/address/country", NULL, "/debtor/address/country", "REQUIRED"},
    {"/creditor/account", "{}", "/creditor/account", "REQUIRED"},
    /* optional fields */
    {"/charge_bearer", NULL, NULL, NULL},
    {"/intermediary_agents", NULL, NULL, NULL},
    {"/intermediary_agents", "[]", NULL, NULL},
    {"/remittance_information", NULL, NULL, NULL},
    {"/purpose", NULL, NULL, NULL},
    {"/debtor/address", NULL, NULL, NULL},
    {"/creditor/address", NULL, NULL, NULL},
    {"/creditor/address", "{\"country\": \"DE\"}", NULL, NULL},
    {"/instruction_id", "\"INSTR/2026/0001\"", NULL, NULL},
    {"/uetr", "\"eb6305c9-1f7f-49de-aed0-16487c27b42d\"", NULL, NULL},
    /* types */
    {"/end_to_end_id", "42", "/end_to_end_id", "TYPE"},
    {"/customer_id", "null", "/customer_id", "TYPE"},
    {"/amount", "1234.56", "/amount", "TYPE"},
    {"/amount", "1234", "/amount", "TYPE"},
    {"/amount", "null", "/amount", "TYPE"},
    {"/currency", "[\"EUR\"]", "/currency", "TYPE"},
    {"/requested_execution_date", "20261121", "/requested_execution_date", "TYPE"},
    {"/uetr", "true", "/uetr", "TYPE"},
    {"/debtor", "\"Acme Corp\"", "/debtor", "TYPE"},
    {"/debtor/account", "[]", "/debtor/account", "TYPE"},
    {"/debtor/account/iban", "1", "/debtor/account/iban", "TYPE"},
    {"/debtor/address", "null", "/debtor/address", "TYPE"},
    {"/debtor_agent", "\"CRDRGB20XXX\"", "/debtor_agent", "TYPE"},
    {"/intermediary_agents", "{\"bic\": \"CRSPUS30XXX\"}", "/intermediary_agents", "TYPE"},
    {"/intermediary_agents/0", "\"CRSPUS30XXX\"", "/intermediary_agents/0", "TYPE"},
    {"/purpose", "1", "/purpose", "TYPE"},
    /* unknown fields, at every level */
    {"/priority", "\"high\"", "/priority", "UNKNOWN_FIELD"},
    {"/debtor/account/bic", "\"CRDRGB20XXX\"", "/debtor/account/bic", "UNKNOWN_FIELD"},
    {"/debtor/address/state", "\"NY\"", "/debtor/address/state", "UNKNOWN_FIELD"},
    {"/debtor/email", "\"a@b.c\"", "/debtor/email", "UNKNOWN_FIELD"},
    {"/creditor_agent/name", "\"Bank\"", "/creditor_agent/name", "UNKNOWN_FIELD"},
    {"/intermediary_agents/0/name", "\"Bank\"", "/intermediary_agents/0/name", "UNKNOWN_FIELD"},
    {"/a~0b", "1", "/a~0b", "UNKNOWN_FIELD"},
    {"/x~1y", "1", "/x~1y", "UNKNOWN_FIELD"},
    /* text: empty, Max lengths, character set */
    {"/end_to_end_id", "\"\"", "/end_to_end_id", "EMPTY"},
    {"/end_to_end_id", S35, NULL, NULL},
    {"/end_to_end_id", S36, "/end_to_end_id", "MAX_LENGTH"},
    {"/end_to_end_id", "\"E2E~1\"", "/end_to_end_id", "CHARSET"},
    {"/customer_id", S36, "/customer_id", "MAX_LENGTH"},
    {"/customer_id", "\"ACME\\t001\"", "/customer_id", "CHARSET"},
    {"/debtor/name", "\"" S140 "\"", NULL, NULL},
    {"/debtor/name", "\"" S140 "1\"", "/debtor/name", "MAX_LENGTH"},
    {"/debtor/name", "\"Smith & Sons <Ltd> \\\"q\\\" 'x' {a} #1 @b %c *d ;e =f +g !h ?i _j\"", NULL,
     NULL},
    {"/creditor/name", "\"J\\u00fcrgen\"", "/creditor/name", "CHARSET"},
    {"/creditor/name", "\"\\u00e9\\u00e9\"", "/creditor/name", "CHARSET"},
    {"/debtor/address/street", "\"" S70 "1\"", "/debtor/address/street", "MAX_LENGTH"},
    {"/debtor/address/building", "\"12345678901234567\"", "/debtor/address/building", "MAX_LENGTH"},
    {"/debtor/address/postcode", "\"12345678901234567\"", "/debtor/address/postcode", "MAX_LENGTH"},
    {"/debtor/address/town", S36, "/debtor/address/town", "MAX_LENGTH"},
    {"/debtor/address/town", "\"London$\"", "/debtor/address/town", "CHARSET"},
    {"/remittance_information", "\"" S140 "1\"", "/remittance_information", "MAX_LENGTH"},
    {"/remittance_information", "\"a\\\\b\"", "/remittance_information", "CHARSET"},
    {"/debtor/account", "{\"other\": \"12345678\"}", NULL, NULL},
    {"/debtor/account", "{\"other\": " S35 "}", "/debtor/account/other", "MAX_LENGTH"},
    /* instruction_id (CBPR+ Max16, slashes) */
    {"/instruction_id", "\"1234567890123456\"", NULL, NULL},
    {"/instruction_id", "\"12345678901234567\"", "/instruction_id", "MAX_LENGTH"},
    {"/instruction_id", "\"/ABC\"", "/instruction_id", "SLASH"},
    {"/instruction_id", "\"ABC/\"", "/instruction_id", "SLASH"},
    {"/instruction_id", "\"AB//C\"", "/instruction_id", "SLASH"},
    {"/instruction_id", "\"\"", "/instruction_id", "EMPTY"},
    /* uetr */
    {"/uetr", "\"EB6305C9-1F7F-49DE-AED0-16487C27B42D\"", "/uetr", "UETR_INVALID"},
    {"/uetr", "\"eb6305c9-1f7f-19de-aed0-16487c27b42d\"", "/uetr", "UETR_INVALID"},
    {"/uetr", "\"\"", "/uetr", "UETR_INVALID"},
    /* accounts, agents */
    {"/debtor/account/other", "\"55555555\"", "/debtor/account", "ACCOUNT_AMBIGUOUS"},
    {"/creditor/account/iban", "\"DE89370400440532013001\"", "/creditor/account/iban",
     "IBAN_INVALID"},
    {"/creditor/account/iban", "\"de89370400440532013000\"", "/creditor/account/iban",
     "IBAN_INVALID"},
    {"/debtor/account/iban", "\"GB33 BUKB 2020 1555 5555 55\"", "/debtor/account/iban",
     "IBAN_INVALID"},
    {"/debtor/account/iban", "\"GB33BUKB2020155555555\"", "/debtor/account/iban", "IBAN_INVALID"},
    {"/debtor_agent/bic", "\"CRDRGB2\"", "/debtor_agent/bic", "BIC_INVALID"},
    {"/debtor_agent/bic", "\"CRDRGB20\"", NULL, NULL},
    {"/creditor_agent/bic", "\"benfde20xxx\"", "/creditor_agent/bic", "BIC_INVALID"},
    {"/intermediary_agents/0/bic", "\"CRSPUS30XXXX\"", "/intermediary_agents/0/bic", "BIC_INVALID"},
    {"/intermediary_agents",
     "[{\"bic\": \"CRSPUS30XXX\"}, {\"bic\": \"CHASUS33\"}, {\"bic\": \"DEUTDEFF\"}]", NULL, NULL},
    {"/intermediary_agents",
     "[{\"bic\": \"CRSPUS30XXX\"}, {\"bic\": \"CHASUS33\"}, {\"bic\": \"DEUTDEFF\"}, "
     "{\"bic\": \"COBADEFF\"}]",
     "/intermediary_agents", "TOO_MANY"},
    /* currency and amount */
    {"/currency", "\"ABC\"", "/currency", "CURRENCY_UNKNOWN"},
    {"/currency", "\"eur\"", "/currency", "CURRENCY_UNKNOWN"},
    {"/currency", "\"EURO\"", "/currency", "CURRENCY_UNKNOWN"},
    {"/currency", "\"XAU\"", "/currency", "CURRENCY_NOT_ALLOWED"},
    {"/currency", "\"XAG\"", "/currency", "CURRENCY_NOT_ALLOWED"},
    {"/currency", "\"XPD\"", "/currency", "CURRENCY_NOT_ALLOWED"},
    {"/currency", "\"XPT\"", "/currency", "CURRENCY_NOT_ALLOWED"},
    {"/currency", "\"XXX\"", "/currency", "CURRENCY_NOT_ALLOWED"},
    {"/currency", "\"XTS\"", "/currency", "CURRENCY_NOT_ALLOWED"},
    {"/currency", "\"XDR\"", "/currency", "CURRENCY_NOT_ALLOWED"},
    {"/currency", "\"USD\"", NULL, NULL},
    {"/amount", "\"10.123\"", "/amount", "AMOUNT_PRECISION"},
    {"/amount", "\"0\"", "/amount", "AMOUNT_INVALID"},
    {"/amount", "\"0.00\"", "/amount", "AMOUNT_INVALID"},
    {"/amount", "\"-5.00\"", "/amount", "AMOUNT_INVALID"},
    {"/amount", "\"+5.00\"", "/amount", "AMOUNT_INVALID"},
    {"/amount", "\"1e3\"", "/amount", "AMOUNT_INVALID"},
    {"/amount", "\" 1\"", "/amount", "AMOUNT_INVALID"},
    {"/amount", "\".5\"", "/amount", "AMOUNT_INVALID"},
    {"/amount", "\"5.\"", "/amount", "AMOUNT_INVALID"},
    {"/amount", "\"\"", "/amount", "AMOUNT_INVALID"},
    {"/amount", "\"12345678901234567.00\"", "/amount", "AMOUNT_TOO_LARGE"},
    {"/amount", "\"9999999999999999.99\"", NULL, NULL},
    {"/amount", "\"0.01\"", NULL, NULL},
    /* dates (fixed ones; the window around today is test_date_window) */
    {"/requested_execution_date", "\"2026-02-30\"", "/requested_execution_date", "DATE_INVALID"},
    {"/requested_execution_date", "\"2100-02-29\"", "/requested_execution_date", "DATE_INVALID"},
    {"/requested_execution_date", "\"20261121\"", "/requested_execution_date", "DATE_INVALID"},
    {"/requested_execution_date", "\"\"", "/requested_execution_date", "DATE_INVALID"},
    {"/requested_execution_date", "\"2020-01-01\"", "/requested_execution_date",
     "DATE_OUT_OF_RANGE"},
    {"/requested_execution_date", "\"2999-12-31\"", "/requested_execution_date",
     "DATE_OUT_OF_RANGE"},
    /* codes */
    {"/charge_bearer", "\"DEBT\"", NULL, NULL},
    {"/charge_bearer", "\"CRED\"", NULL, NULL},
    {"/charge_bearer", "\"SLEV\"", "/charge_bearer", "CHARGE_BEARER_INVALID"},
    {"/charge_bearer", "\"shar\"", "/charge_bearer", "CHARGE_BEARER_INVALID"},
    {"/purpose", "\"GDDSX\"", "/purpose", "PURPOSE_INVALID"},
    {"/purpose", "\"gdds\"", "/purpose", "PURPOSE_INVALID"},
    {"/purpose", "\"\"", "/purpose", "PURPOSE_INVALID"},
    {"/purpose", "\"CBFF\"", NULL, NULL},
    {"/debtor/address/country", "\"UK\"", "/debtor/address/country", "COUNTRY_INVALID"},
    {"/debtor/address/country", "\"gb\"", "/debtor/address/country", "COUNTRY_INVALID"},
    {"/creditor/address/country", "\"DEU\"", "/creditor/address/country", "COUNTRY_INVALID"},
};

static void
test_each_rule(void **state)
{
    iso_instruction in;
    iso_problems pr;

    (void)state;
    for (size_t i = 0; i < sizeof(rule_cases) / sizeof(rule_cases[0]); i++) {
        const struct rule_case *c = &rule_cases[i];
        const char *edit[2] = {c->pointer, c->literal};
        int rc = read_mutated(&in, &pr, 1, edit);
        int want = c->path ? ISO_ERR_INVALID : ISO_OK;
        if (rc != want || pr.n != (c->path ? 1u : 0u) ||
            (c->path &&
             (strcmp(pr.items[0].path, c->path) != 0 || strcmp(pr.items[0].code, c->code) != 0))) {
            dump_problems(&pr);
            fail_msg("%s = %s: rc %d, want %s %s", c->pointer, c->literal ? c->literal : "(del)",
                     rc, c->path ? c->path : "valid", c->code ? c->code : "");
        }
    }
}

/* ---- values, defaults, combinations ------------------------------------------------------- */

static void
test_valid_payment(void **state)
{
    iso_instruction in;
    char today[11];

    (void)state;
    payment_instruction(&in);
    date_text(time(NULL), 0, today);
    assert_string_equal(in.end_to_end_id, "E2E-2026-0001");
    assert_string_equal(in.customer_id, "ACME-001");
    assert_string_equal(in.instruction_id, "");
    assert_string_equal(in.uetr, ""); /* the caller generates it */
    assert_int_equal(in.amount_minor, 123456);
    assert_int_equal(in.exponent, 2);
    assert_string_equal(in.currency, "EUR");
    assert_string_equal(in.requested_execution_date, today);
    assert_string_equal(in.charge_bearer, "SHAR");
    assert_string_equal(in.debtor.name, "Acme Corp");
    assert_string_equal(in.debtor.account.iban, "GB33BUKB20201555555555");
    assert_string_equal(in.debtor.address.country, "GB");
    assert_string_equal(in.debtor.address.postcode, "EC2R 8AH");
    assert_string_equal(in.debtor_agent.bic, "CRDRGB20XXX");
    assert_int_equal(in.n_intermediaries, 1);
    assert_string_equal(in.intermediaries[0].bic, "CRSPUS30XXX");
    assert_string_equal(in.creditor_agent.bic, "BENFDE20XXX");
    assert_string_equal(in.creditor.account.iban, "DE89370400440532013000");
    assert_string_equal(in.creditor.address.town, "Frankfurt");
    assert_string_equal(in.remittance_information, "Invoice 42");
    assert_string_equal(in.purpose, "GDDS");
}

static void
test_charge_bearer_default(void **state)
{
    static const char *const edit[] = {"/charge_bearer", NULL};
    iso_instruction in;
    iso_problems pr;

    (void)state;
    assert_int_equal(read_mutated(&in, &pr, 1, edit), ISO_OK);
    assert_string_equal(in.charge_bearer, "SHAR");
}

static void
test_currency_exponents(void **state)
{
    static const struct {
        const char *ccy, *amount;
        int64_t minor;
        int exponent;
    } ok[] = {{"JPY", "\"1000\"", 1000, 0},
              {"BHD", "\"1.234\"", 1234, 3},
              {"EUR", "\"1234.5\"", 123450, 2},
              {"CLF", "\"0.0001\"", 1, 4}};
    iso_instruction in;
    iso_problems pr;
    char ccy[8];

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(ccy, sizeof(ccy), "\"%s\"", ok[i].ccy);
        const char *edit[] = {"/currency", ccy, "/amount", ok[i].amount};
        assert_int_equal(read_mutated(&in, &pr, 2, edit), ISO_OK);
        assert_int_equal(in.amount_minor, ok[i].minor);
        assert_int_equal(in.exponent, ok[i].exponent);
    }
    const char *jpy[] = {"/currency", "\"JPY\"", "/amount", "\"100.5\""};
    assert_int_equal(read_mutated(&in, &pr, 2, jpy), ISO_ERR_INVALID);
    assert_int_equal(pr.n, 1);
    assert_string_equal(pr.items[0].code, "AMOUNT_PRECISION");
    const char *bhd[] = {"/currency", "\"BHD\"", "/amount", "\"1.2345\""};
    assert_int_equal(read_mutated(&in, &pr, 2, bhd), ISO_ERR_INVALID);
    assert_string_equal(pr.items[0].code, "AMOUNT_PRECISION");
    /* With a currency that is not money, the amount is checked for its form only. */
    const char *xau[] = {"/currency", "\"XAU\"", "/amount", "\"1.23456\""};
    assert_int_equal(read_mutated(&in, &pr, 2, xau), ISO_ERR_INVALID);
    assert_int_equal(pr.n, 1);
    assert_string_equal(pr.items[0].code, "CURRENCY_NOT_ALLOWED");
}

static void
test_date_window(void **state)
{
    static const struct {
        int days;
        int rc;
    } cases[] = {
        {0, ISO_OK}, {1, ISO_OK}, {365, ISO_OK}, {366, ISO_ERR_INVALID}, {-1, ISO_ERR_INVALID}};
    iso_instruction in;
    iso_problems pr;
    char date[11], literal[16];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        date_text(time(NULL), cases[i].days, date);
        snprintf(literal, sizeof(literal), "\"%s\"", date);
        const char *edit[] = {"/requested_execution_date", literal};
        if (read_mutated(&in, &pr, 1, edit) != cases[i].rc)
            fail_msg("today %+d (%s)", cases[i].days, date);
        if (cases[i].rc != ISO_OK)
            assert_string_equal(pr.items[0].code, "DATE_OUT_OF_RANGE");
    }
}

/* `today` is any instant of the UTC day: the window does not depend on the time of day. */
static void
test_date_window_is_utc_days(void **state)
{
    char *raw = read_file(SAMPLES_DIR "/payment.json", NULL), *json;
    iso_instruction in;
    iso_problems pr;
    time_t start = 1795219200; /* 2026-11-21T00:00:00Z */

    (void)state;
    assert_non_null(raw);
    json = with_today(raw, "2026-11-21");
    iso_problems_init(&pr);
    assert_int_equal(iso_instruction_from_json(json, strlen(json), start, &in, &pr), ISO_OK);
    assert_int_equal(iso_instruction_from_json(json, strlen(json), start + 86399, &in, &pr),
                     ISO_OK);
    assert_int_equal(iso_instruction_from_json(json, strlen(json), start + 86400, &in, &pr),
                     ISO_ERR_INVALID);
    assert_int_equal(iso_instruction_from_json(json, strlen(json), start - 365 * 86400, &in, &pr),
                     ISO_OK);
    assert_int_equal(iso_instruction_from_json(json, strlen(json), start - 366 * 86400, &in, &pr),
                     ISO_ERR_INVALID);
    free(json);
    free(raw);
}

static void
test_several_problems_at_once(void **state)
{
    static const char *const edits[] = {
        "/end_to_end_id",
        NULL,
        "/amount",
        "\"1.001\"",
        "/debtor/account/iban",
        "\"GB00BUKB20201555555555\"",
        "/debtor/address/country",
        "\"XX\"",
        "/intermediary_agents/0/bic",
        "\"nope\"",
        "/creditor/account",
        "{\"iban\": \"DE89370400440532013000\", \"other\": \"1\"}",
        "/creditor/bank",
        "\"x\"",
        "/purpose",
        "\"toolong\"",
        "/extra",
        "1",
    };
    static const char *const want[][2] = {
        {"/end_to_end_id", "REQUIRED"},
        {"/amount", "AMOUNT_PRECISION"},
        {"/debtor/account/iban", "IBAN_INVALID"},
        {"/debtor/address/country", "COUNTRY_INVALID"},
        {"/intermediary_agents/0/bic", "BIC_INVALID"},
        {"/creditor/account", "ACCOUNT_AMBIGUOUS"},
        {"/creditor/bank", "UNKNOWN_FIELD"},
        {"/purpose", "PURPOSE_INVALID"},
        {"/extra", "UNKNOWN_FIELD"},
    };
    iso_instruction in;
    iso_problems pr;

    (void)state;
    assert_int_equal(read_mutated(&in, &pr, sizeof(edits) / sizeof(edits[0]) / 2, edits),
                     ISO_ERR_INVALID);
    dump_problems(&pr);
    assert_int_equal(pr.n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < pr.n; i++) {
        assert_string_equal(pr.items[i].path, want[i][0]);
        assert_string_equal(pr.items[i].code, want[i][1]);
        assert_true(pr.items[i].text[0] != '\0');
    }
    /* Nothing half-filled is left behind. */
    assert_string_equal(in.currency, "");
    assert_int_equal(in.amount_minor, 0);
}

static void
test_problem_overflow_is_counted(void **state)
{
    char json[4096];
    size_t n = (size_t)snprintf(json, sizeof(json), "{");
    iso_instruction in;
    iso_problems pr;

    (void)state;
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(json + n, sizeof(json) - n, "%s\"f%d\": 1", i ? ", " : "", i);
    snprintf(json + n, sizeof(json) - n, "}");
    iso_problems_init(&pr);
    assert_int_equal(iso_instruction_from_json(json, strlen(json), time(NULL), &in, &pr),
                     ISO_ERR_INVALID);
    assert_int_equal(pr.n, ISO_MAX_PROBLEMS);
    /* 9 REQUIRED fields and 100 unknown ones. */
    assert_int_equal(pr.n + pr.dropped, 109);
}

/* ---- syntax and limits --------------------------------------------------------------------- */

static int
read_text(const char *json, iso_problems *pr)
{
    iso_instruction in;

    iso_problems_init(pr);
    return iso_instruction_from_json(json, strlen(json), time(NULL), &in, pr);
}

static void
test_syntax_error(void **state)
{
    iso_problems pr;

    (void)state;
    assert_int_equal(read_text("{\n  \"amount\": \"1.00\",\n  \"currency\" \"EUR\"\n}", &pr),
                     ISO_ERR_SYNTAX);
    assert_int_equal(pr.n, 1);
    assert_string_equal(pr.items[0].path, "");
    assert_string_equal(pr.items[0].code, "JSON_SYNTAX");
    assert_non_null(strstr(pr.items[0].text, "line 3, column"));
    static const char *const bad[] = {
        "",
        "{",
        "{\"a\": }",
        "{\"amount\": \"1\", \"amount\": \"2\"}",
        "{} {}",
        "nul",
        "{'a': 1}",
        "{\"a\": \"\\u0000\"}",
        "{\"a\": \"\xff\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (read_text(bad[i], &pr) != ISO_ERR_SYNTAX)
            fail_msg("accepted %s", bad[i]);
        assert_string_equal(pr.items[0].code, "JSON_SYNTAX");
    }
}

static void
test_not_an_object(void **state)
{
    static const char *const bad[] = {"[]", "[{\"amount\": \"1\"}]", "\"text\"", "42", "null"};
    iso_problems pr;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(read_text(bad[i], &pr), ISO_ERR_SYNTAX);
        assert_int_equal(pr.n, 1);
        assert_string_equal(pr.items[0].path, "");
    }
}

static void
test_too_large(void **state)
{
    size_t len = ISO_MAX_JSON_BYTES + 1;
    char *big = malloc(len);
    iso_instruction in;
    iso_problems pr;

    (void)state;
    assert_non_null(big);
    memset(big, ' ', len);
    big[0] = '{';
    big[len - 1] = '}';
    iso_problems_init(&pr);
    assert_int_equal(iso_instruction_from_json(big, len, time(NULL), &in, &pr), ISO_ERR_TOOLARGE);
    /* At the limit it is read (and found empty). */
    big[len - 2] = '}';
    assert_int_equal(iso_instruction_from_json(big, len - 1, time(NULL), &in, &pr),
                     ISO_ERR_INVALID);
    free(big);
}

/* ---- writer -------------------------------------------------------------------------------- */

static void
test_to_json_canonical(void **state)
{
    static const char *const edits[] = {
        "/amount", "\"1234.5\"", "/charge_bearer",
        NULL,      "/uetr",      "\"eb6305c9-1f7f-49de-aed0-16487c27b42d\""};
    iso_instruction in;
    iso_problems pr;
    char *out, *want, today[11];
    size_t len;

    (void)state;
    assert_int_equal(read_mutated(&in, &pr, 3, edits), ISO_OK);
    assert_int_equal(iso_instruction_to_json(&in, &out, &len), ISO_OK);
    date_text(time(NULL), 0, today);
    want = with_today(
        "{\"end_to_end_id\":\"E2E-2026-0001\",\"customer_id\":\"ACME-001\","
        "\"uetr\":\"eb6305c9-1f7f-49de-aed0-16487c27b42d\",\"amount\":\"1234.50\","
        "\"currency\":\"EUR\",\"requested_execution_date\":\"@TODAY@\",\"charge_bearer\":\"SHAR\","
        "\"debtor\":{\"name\":\"Acme Corp\",\"account\":{\"iban\":\"GB33BUKB20201555555555\"},"
        "\"address\":{\"street\":\"1 Poultry\",\"postcode\":\"EC2R 8AH\",\"town\":\"London\","
        "\"country\":\"GB\"}},\"debtor_agent\":{\"bic\":\"CRDRGB20XXX\"},"
        "\"intermediary_agents\":[{\"bic\":\"CRSPUS30XXX\"}],\"creditor_agent\":{\"bic\":"
        "\"BENFDE20XXX\"},\"creditor\":{\"name\":\"Jane Smith\",\"account\":{\"iban\":"
        "\"DE89370400440532013000\"},\"address\":{\"town\":\"Frankfurt\",\"country\":\"DE\"}},"
        "\"remittance_information\":\"Invoice 42\",\"purpose\":\"GDDS\"}",
        today);
    assert_string_equal(out, want);
    assert_int_equal(len, strlen(want));
    free(want);
    free(out);
}

/* Reading what the writer wrote gives the same instruction back. */
static void
test_to_json_round_trip(void **state)
{
    static const char *const edits[] = {
        "/debtor/account",
        "{\"other\": \"ACCT-1 (x) & <y>\"}",
        "/instruction_id",
        "\"INSTR/1\"",
        "/currency",
        "\"JPY\"",
        "/amount",
        "\"5000\"",
        "/creditor/address",
        NULL,
        "/intermediary_agents",
        "[{\"bic\": \"CRSPUS30\"}, {\"bic\": \"CHASUS33XXX\"}]",
    };
    iso_instruction in, again;
    iso_problems pr;
    char *out, *out2;
    size_t len, len2;

    (void)state;
    assert_int_equal(read_mutated(&in, &pr, sizeof(edits) / sizeof(edits[0]) / 2, edits), ISO_OK);
    assert_int_equal(iso_instruction_to_json(&in, &out, &len), ISO_OK);
    iso_problems_init(&pr);
    assert_int_equal(iso_instruction_from_json(out, len, time(NULL), &again, &pr), ISO_OK);
    assert_int_equal(iso_instruction_to_json(&again, &out2, &len2), ISO_OK);
    assert_string_equal(out, out2);
    assert_int_equal(again.amount_minor, 5000);
    assert_int_equal(again.exponent, 0);
    assert_int_equal(again.n_intermediaries, 2);
    assert_string_equal(again.debtor.account.other, "ACCT-1 (x) & <y>");
    assert_null(strstr(out, "\"address\":{\"town\":\"Frankfurt\""));
    free(out);
    free(out2);
}

static void
test_to_json_bad_exponent(void **state)
{
    iso_instruction in;
    char *out;
    size_t len;

    (void)state;
    payment_instruction(&in);
    in.exponent = 9;
    assert_int_equal(iso_instruction_to_json(&in, &out, &len), ISO_ERR_INVALID);
    assert_null(out);
}

int
test_json_in_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_rule),
        cmocka_unit_test(test_valid_payment),
        cmocka_unit_test(test_charge_bearer_default),
        cmocka_unit_test(test_currency_exponents),
        cmocka_unit_test(test_date_window),
        cmocka_unit_test(test_date_window_is_utc_days),
        cmocka_unit_test(test_several_problems_at_once),
        cmocka_unit_test(test_problem_overflow_is_counted),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_not_an_object),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_to_json_canonical),
        cmocka_unit_test(test_to_json_round_trip),
        cmocka_unit_test(test_to_json_bad_exponent),
    };
    return cmocka_run_group_tests_name("json_in", tests, NULL, NULL);
}
