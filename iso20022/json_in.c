/*
 * json_in.c — the JSON instruction (DESIGN.md "The JSON instruction") to iso_instruction and
 * back.
 *
 * Every problem is reported with the JSON pointer of the value it concerns and one of these
 * machine codes (stable: clients and the .expect files in samples/invalid/ depend on them).
 * The leaf rules live in check.c, shared with the pain.001 reader:
 *
 *   JSON_SYNTAX           not JSON (path "", text has line and column); also duplicate keys
 *   TOO_LARGE             the body is over ISO_MAX_JSON_BYTES (path "")
 *   TYPE                  wrong JSON type (path "" when the top level is not an object)
 *   REQUIRED              a required field is missing (an account with neither iban nor other)
 *   UNKNOWN_FIELD         a field the instruction does not have, at any level
 *   EMPTY                 a text field is ""
 *   MAX_LENGTH            a text field is longer than its ISO 20022 Max length
 *   CHARSET               a text field has characters outside the CBPR+ restricted set; for
 *                         end_to_end_id and instruction_id outside the FIN-X set (CBPR+ refs)
 *   SLASH                 instruction_id starts or ends with '/' or contains "//"
 *   UETR_INVALID          uetr is not a canonical lower-case UUID v4
 *   IBAN_INVALID          not an IBAN: upper case, no spaces, country length, check digits
 *   BIC_INVALID           not a BIC (ISO 9362, upper case, 8 or 11 characters)
 *   CURRENCY_UNKNOWN      not an ISO 4217 code in use
 *   CURRENCY_NOT_ALLOWED  an ISO 4217 code that is not money (XAU, XAG, XPD, XPT, XDR, XXX...)
 *   AMOUNT_INVALID        not a decimal string (sign, exponent, spaces, ".5", "5.", "01"), or 0
 *   AMOUNT_PRECISION      more decimals than the currency's exponent (or than 5)
 *   AMOUNT_TOO_LARGE      more than ISO_MAX_AMOUNT_DIGITS digits at the currency's exponent
 *   DATE_INVALID          requested_execution_date is not a real YYYY-MM-DD date
 *   DATE_OUT_OF_RANGE     requested_execution_date is before today or over 365 days ahead (UTC)
 *   CHARGE_BEARER_INVALID charge_bearer is not DEBT, CRED or SHAR
 *   PURPOSE_INVALID       purpose is not 1-4 upper-case letters or digits
 *   COUNTRY_INVALID       not an ISO 3166 alpha-2 country code
 *   ACCOUNT_AMBIGUOUS     an account holds both iban and other
 *   TOO_MANY              more than ISO_MAX_INTERMEDIARIES intermediary agents
 *
 * Order: within each object the known fields in the order of the DESIGN.md example, then its
 * unknown fields in input order; nested objects are reported where their field comes.
 */
#include "iso_int.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define PATH_SIZE sizeof(((iso_problem *)0)->path)
#define AMOUNT_TEXT_SIZE 32 /* sign, 19 digits, '.', NUL */
#define MEMBER_SIZE(type, member) sizeof(((type *)0)->member)
/* A text field's Max length is its buffer less the NUL. */
#define TEXT(type, member) offsetof(type, member), MEMBER_SIZE(type, member) - 1

struct reader {
    iso_problems *pr;
    json_t *root;
    int64_t today; /* days since 1970-01-01, UTC */
};

struct field;
typedef void (*field_fn)(struct reader *rd, const struct field *f, const char *path, json_t *v,
                         char *dst);

/* One field of a JSON object: where its value goes in the struct being filled. */
struct field {
    const char *name;
    int required;
    size_t offset; /* of the destination member in the struct */
    size_t max;    /* Max length of a text member (its buffer holds max + 1) */
    field_fn read;
};

/* ---- paths --------------------------------------------------------------------------------- */

/* base + "/" + key, with key escaped as RFC 6901 wants ('~' → "~0", '/' → "~1"). */
static void
child_path(char *out, const char *base, const char *key)
{
    size_t n = (size_t)snprintf(out, PATH_SIZE, "%s/", base);

    for (; *key && n + 3 < PATH_SIZE; key++) {
        if (*key == '~' || *key == '/') {
            out[n++] = '~';
            out[n++] = *key == '~' ? '0' : '1';
        } else {
            out[n++] = *key;
        }
    }
    out[n < PATH_SIZE ? n : PATH_SIZE - 1] = '\0';
}

static void
index_path(char *out, const char *base, size_t i)
{
    snprintf(out, PATH_SIZE, "%s/%zu", base, i);
}

/* ---- leaves -------------------------------------------------------------------------------- */

/* The value as a string, or NULL after a TYPE problem. */
static const char *
want_string(struct reader *rd, const char *path, json_t *v)
{
    if (json_is_string(v))
        return json_string_value(v);
    iso_problems_add(rd->pr, path, "TYPE", "must be a string");
    return NULL;
}

static void
copy_into(char *dst, size_t size, const char *s)
{
    snprintf(dst, size, "%s", s);
}

static void
read_text(struct reader *rd, const struct field *f, const char *path, json_t *v, char *dst)
{
    const char *s = want_string(rd, path, v);

    if (s != NULL && iso_check_text(rd->pr, path, s, f->max, ISO_CHARSET_CBPR))
        copy_into(dst, f->max + 1, s);
}

/* A reference the pacs.008 carries (EndToEndId): FIN-X, as CBPR+ demands. */
static void
read_reference(struct reader *rd, const struct field *f, const char *path, json_t *v, char *dst)
{
    const char *s = want_string(rd, path, v);

    if (s != NULL && iso_check_text(rd->pr, path, s, f->max, ISO_CHARSET_FINX))
        copy_into(dst, f->max + 1, s);
}

static void
read_instruction_id(struct reader *rd, const struct field *f, const char *path, json_t *v,
                    char *dst)
{
    const char *s = want_string(rd, path, v);

    if (s != NULL && iso_check_instruction_id(rd->pr, path, s, f->max))
        copy_into(dst, f->max + 1, s);
}

/* A leaf checked by one of check.c's rules. */
static void
read_checked(struct reader *rd, const struct field *f, const char *path, json_t *v, char *dst,
             int (*check)(iso_problems *, const char *, const char *))
{
    const char *s = want_string(rd, path, v);

    if (s != NULL && check(rd->pr, path, s))
        copy_into(dst, f->max + 1, s);
}

static void
read_uetr(struct reader *rd, const struct field *f, const char *path, json_t *v, char *dst)
{
    read_checked(rd, f, path, v, dst, iso_check_uetr);
}

static void
read_iban(struct reader *rd, const struct field *f, const char *path, json_t *v, char *dst)
{
    read_checked(rd, f, path, v, dst, iso_check_iban);
}

static void
read_bic(struct reader *rd, const struct field *f, const char *path, json_t *v, char *dst)
{
    read_checked(rd, f, path, v, dst, iso_check_bic);
}

static void
read_country(struct reader *rd, const struct field *f, const char *path, json_t *v, char *dst)
{
    read_checked(rd, f, path, v, dst, iso_check_country);
}

static void
read_charge_bearer(struct reader *rd, const struct field *f, const char *path, json_t *v, char *dst)
{
    read_checked(rd, f, path, v, dst, iso_check_charge_bearer);
}

static void
read_purpose(struct reader *rd, const struct field *f, const char *path, json_t *v, char *dst)
{
    read_checked(rd, f, path, v, dst, iso_check_purpose);
}

static void
read_currency(struct reader *rd, const struct field *f, const char *path, json_t *v, char *dst)
{
    read_checked(rd, f, path, v, dst, iso_check_currency);
}

/* The exponent of the instruction's currency, or -1 while the currency is not usable. */
static int
root_exponent(const struct reader *rd)
{
    const char *ccy = json_string_value(json_object_get(rd->root, "currency"));

    return ccy ? iso_currency_exponent(ccy) : -1;
}

/* dst is the instruction itself: the amount fills amount_minor and exponent. */
static void
read_amount(struct reader *rd, const struct field *f, const char *path, json_t *v, char *dst)
{
    iso_instruction *in = (iso_instruction *)(void *)dst;
    int exp = root_exponent(rd);
    int64_t minor = 0;

    (void)f;
    if (!json_is_string(v)) {
        iso_problems_add(rd->pr, path, "TYPE", "must be a string holding a decimal amount");
        return;
    }
    if (!iso_check_amount(rd->pr, path, json_string_value(v), exp, &minor))
        return;
    in->amount_minor = minor;
    in->exponent = exp;
}

static void
read_date(struct reader *rd, const struct field *f, const char *path, json_t *v, char *dst)
{
    const char *s = want_string(rd, path, v);

    if (s != NULL && iso_check_date(rd->pr, path, s, rd->today, "DATE_OUT_OF_RANGE"))
        copy_into(dst, f->max + 1, s);
}

/* ---- objects ------------------------------------------------------------------------------- */

static int
is_known(const struct field *fields, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(fields[i].name, key) == 0)
            return 1;
    return 0;
}

static void
read_fields(struct reader *rd, const char *path, json_t *obj, const struct field *fields, size_t n,
            char *base)
{
    char child[PATH_SIZE];
    const char *key;
    json_t *v;

    for (size_t i = 0; i < n; i++) {
        child_path(child, path, fields[i].name);
        v = json_object_get(obj, fields[i].name);
        if (v != NULL)
            fields[i].read(rd, &fields[i], child, v, base + fields[i].offset);
        else if (fields[i].required)
            iso_problems_add(rd->pr, child, "REQUIRED", "is required");
    }
    json_object_foreach(obj, key, v)
    {
        if (is_known(fields, n, key))
            continue;
        child_path(child, path, key);
        iso_problems_add(rd->pr, child, "UNKNOWN_FIELD", "is not a field of the instruction");
    }
}

static int
want_object(struct reader *rd, const char *path, json_t *v)
{
    if (json_is_object(v))
        return 1;
    iso_problems_add(rd->pr, path, "TYPE", "must be an object");
    return 0;
}

#define N_FIELDS(t) (sizeof(t) / sizeof((t)[0]))

static const struct field agent_fields[] = {
    {"bic", 1, TEXT(iso_agent, bic), read_bic},
};

static void
read_agent(struct reader *rd, const struct field *f, const char *path, json_t *v, char *dst)
{
    (void)f;
    if (want_object(rd, path, v))
        read_fields(rd, path, v, agent_fields, N_FIELDS(agent_fields), dst);
}

static const struct field account_fields[] = {
    {"iban", 0, TEXT(iso_account, iban), read_iban},
    {"other", 0, TEXT(iso_account, other), read_text},
};

static void
read_account(struct reader *rd, const struct field *f, const char *path, json_t *v, char *dst)
{
    (void)f;
    if (!want_object(rd, path, v))
        return;
    read_fields(rd, path, v, account_fields, N_FIELDS(account_fields), dst);
    int has_iban = json_object_get(v, "iban") != NULL;
    int has_other = json_object_get(v, "other") != NULL;
    if (has_iban && has_other)
        iso_problems_add(rd->pr, path, "ACCOUNT_AMBIGUOUS", "must hold iban or other, not both");
    else if (!has_iban && !has_other)
        iso_problems_add(rd->pr, path, "REQUIRED", "must hold iban or other");
}

static const struct field address_fields[] = {
    {"street", 0, TEXT(iso_address, street), read_text},
    {"building", 0, TEXT(iso_address, building), read_text},
    {"postcode", 0, TEXT(iso_address, postcode), read_text},
    {"town", 0, TEXT(iso_address, town), read_text},
    {"country", 1, TEXT(iso_address, country), read_country},
};

static void
read_address(struct reader *rd, const struct field *f, const char *path, json_t *v, char *dst)
{
    (void)f;
    if (want_object(rd, path, v))
        read_fields(rd, path, v, address_fields, N_FIELDS(address_fields), dst);
}

static const struct field party_fields[] = {
    {"name", 1, TEXT(iso_party, name), read_text},
    {"account", 1, offsetof(iso_party, account), 0, read_account},
    {"address", 0, offsetof(iso_party, address), 0, read_address},
};

static void
read_party(struct reader *rd, const struct field *f, const char *path, json_t *v, char *dst)
{
    (void)f;
    if (want_object(rd, path, v))
        read_fields(rd, path, v, party_fields, N_FIELDS(party_fields), dst);
}

/* dst is the instruction: the array fills intermediaries[] and n_intermediaries. */
static void
read_intermediaries(struct reader *rd, const struct field *f, const char *path, json_t *v,
                    char *dst)
{
    iso_instruction *in = (iso_instruction *)(void *)dst;
    char child[PATH_SIZE];
    size_t i;
    json_t *agent;

    if (!json_is_array(v)) {
        iso_problems_add(rd->pr, path, "TYPE", "must be an array");
        return;
    }
    if (json_array_size(v) > ISO_MAX_INTERMEDIARIES)
        iso_problems_add(rd->pr, path, "TOO_MANY", "holds more than %d agents",
                         ISO_MAX_INTERMEDIARIES);
    json_array_foreach(v, i, agent)
    {
        iso_agent scratch, *slot = i < ISO_MAX_INTERMEDIARIES ? &in->intermediaries[i] : &scratch;
        index_path(child, path, i);
        read_agent(rd, f, child, agent, (char *)slot);
    }
    in->n_intermediaries =
        json_array_size(v) < ISO_MAX_INTERMEDIARIES ? json_array_size(v) : ISO_MAX_INTERMEDIARIES;
}

/* Fields whose reader fills several members take the whole instruction (offset 0). */
static const struct field instruction_fields[] = {
    {"end_to_end_id", 1, TEXT(iso_instruction, end_to_end_id), read_reference},
    {"customer_id", 1, TEXT(iso_instruction, customer_id), read_text},
    {"instruction_id", 0, TEXT(iso_instruction, instruction_id), read_instruction_id},
    {"uetr", 0, TEXT(iso_instruction, uetr), read_uetr},
    {"amount", 1, 0, 0, read_amount},
    {"currency", 1, TEXT(iso_instruction, currency), read_currency},
    {"requested_execution_date", 1, TEXT(iso_instruction, requested_execution_date), read_date},
    {"charge_bearer", 0, TEXT(iso_instruction, charge_bearer), read_charge_bearer},
    {"debtor", 1, offsetof(iso_instruction, debtor), 0, read_party},
    {"debtor_agent", 1, offsetof(iso_instruction, debtor_agent), 0, read_agent},
    {"intermediary_agents", 0, 0, 0, read_intermediaries},
    {"creditor_agent", 1, offsetof(iso_instruction, creditor_agent), 0, read_agent},
    {"creditor", 1, offsetof(iso_instruction, creditor), 0, read_party},
    {"remittance_information", 0, TEXT(iso_instruction, remittance_information), read_text},
    {"purpose", 0, TEXT(iso_instruction, purpose), read_purpose},
};

/* ---- entry points -------------------------------------------------------------------------- */

static int
load(const char *json, size_t len, json_t **root, iso_problems *pr)
{
    json_error_t err;

    if (len > ISO_MAX_JSON_BYTES) {
        iso_problems_add(pr, "", "TOO_LARGE", "the instruction is over %d bytes",
                         ISO_MAX_JSON_BYTES);
        return ISO_ERR_TOOLARGE;
    }
    *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
    if (*root == NULL) {
        if (json_error_code(&err) == json_error_out_of_memory)
            return ISO_ERR_NOMEM;
        iso_problems_add(pr, "", "JSON_SYNTAX", "line %d, column %d: %s", err.line, err.column,
                         err.text);
        return ISO_ERR_SYNTAX;
    }
    if (!json_is_object(*root)) {
        iso_problems_add(pr, "", "TYPE", "the instruction must be a JSON object");
        json_decref(*root);
        return ISO_ERR_SYNTAX;
    }
    return ISO_OK;
}

int
iso_instruction_from_json(const char *json, size_t len, time_t today, iso_instruction *out,
                          iso_problems *pr)
{
    size_t before = pr->n + pr->dropped;
    struct reader rd = {.pr = pr, .today = iso_days_of(today)};
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = load(json, len, &rd.root, pr)) != ISO_OK)
        return rc;
    copy_into(out->charge_bearer, sizeof(out->charge_bearer), "SHAR");
    read_fields(&rd, "", rd.root, instruction_fields, N_FIELDS(instruction_fields), (char *)out);
    json_decref(rd.root);
    if (pr->n + pr->dropped == before)
        return ISO_OK;
    memset(out, 0, sizeof(*out));
    return ISO_ERR_INVALID;
}

/* ---- writer -------------------------------------------------------------------------------- */

/* Set key to the string s unless s is empty; *ok drops to 0 on failure. */
static void
put(json_t *obj, const char *key, const char *s, int *ok)
{
    if (*s != '\0' && json_object_set_new(obj, key, json_string(s)) != 0)
        *ok = 0;
}

/* Attach child to obj (taking it), or count a failure. */
static void
put_obj(json_t *obj, const char *key, json_t *child, int *ok)
{
    if (child == NULL || json_object_set_new(obj, key, child) != 0)
        *ok = 0;
}

static json_t *
agent_json(const iso_agent *a, int *ok)
{
    json_t *o = json_object();

    if (o != NULL)
        put(o, "bic", a->bic, ok);
    return o;
}

static json_t *
party_json(const iso_party *p, int *ok)
{
    json_t *o = json_object(), *acct = json_object(), *adr;

    if (o == NULL || acct == NULL) {
        json_decref(o);
        json_decref(acct);
        return NULL;
    }
    put(o, "name", p->name, ok);
    put(acct, "iban", p->account.iban, ok);
    put(acct, "other", p->account.other, ok);
    put_obj(o, "account", acct, ok);
    if (p->address.country[0] != '\0') { /* country is required in an address */
        adr = json_object();
        if (adr != NULL) {
            put(adr, "street", p->address.street, ok);
            put(adr, "building", p->address.building, ok);
            put(adr, "postcode", p->address.postcode, ok);
            put(adr, "town", p->address.town, ok);
            put(adr, "country", p->address.country, ok);
        }
        put_obj(o, "address", adr, ok);
    }
    return o;
}

static json_t *
intermediaries_json(const iso_instruction *in, int *ok)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr != NULL && i < in->n_intermediaries; i++) {
        json_t *a = agent_json(&in->intermediaries[i], ok);
        if (a == NULL || json_array_append_new(arr, a) != 0)
            *ok = 0;
    }
    return arr;
}

static void
fill_json(json_t *o, const iso_instruction *in, const char *amount, int *ok)
{
    put(o, "end_to_end_id", in->end_to_end_id, ok);
    put(o, "customer_id", in->customer_id, ok);
    put(o, "instruction_id", in->instruction_id, ok);
    put(o, "uetr", in->uetr, ok);
    put(o, "amount", amount, ok);
    put(o, "currency", in->currency, ok);
    put(o, "requested_execution_date", in->requested_execution_date, ok);
    put(o, "charge_bearer", in->charge_bearer, ok);
    put_obj(o, "debtor", party_json(&in->debtor, ok), ok);
    put_obj(o, "debtor_agent", agent_json(&in->debtor_agent, ok), ok);
    if (in->n_intermediaries > 0)
        put_obj(o, "intermediary_agents", intermediaries_json(in, ok), ok);
    put_obj(o, "creditor_agent", agent_json(&in->creditor_agent, ok), ok);
    put_obj(o, "creditor", party_json(&in->creditor, ok), ok);
    put(o, "remittance_information", in->remittance_information, ok);
    put(o, "purpose", in->purpose, ok);
}

/* Also returns ISO_ERR_INVALID when the exponent is outside 0..ISO_MAX_AMOUNT_FRACTION. */
int
iso_instruction_to_json(const iso_instruction *in, char **out, size_t *out_len)
{
    char amount[AMOUNT_TEXT_SIZE];
    json_t *o;
    int ok;

    *out = NULL;
    if (iso_amount_format(in->amount_minor, in->exponent, amount, sizeof(amount)) != ISO_OK)
        return ISO_ERR_INVALID;
    o = json_object();
    ok = o != NULL;
    if (ok)
        fill_json(o, in, amount, &ok);
    if (ok)
        *out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (*out == NULL)
        return ISO_ERR_NOMEM;
    *out_len = strlen(*out);
    return ISO_OK;
}
