/*
 * Strict reading of the JSON bodies of the saga's routes (status updates, cancellations,
 * accounts), shared helpers of the write routes (media type, request digest, MsgIds), and the
 * one decimal-number reader for query parameters.
 *
 * Problems use the codes of iso20022/json_in.c (TYPE, REQUIRED, UNKNOWN_FIELD, EMPTY,
 * MAX_LENGTH, BIC_INVALID, CURRENCY_UNKNOWN, AMOUNT_INVALID) plus CODE_INVALID (a value
 * outside its list), each with the JSON pointer of the value.
 */
#include "routes.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define PATH_SIZE sizeof(((iso_problem *)0)->path)

int
gw_content_type_is(const gw_request *req, const char *type)
{
    size_t n = strlen(type);
    return strncasecmp(req->content_type, type, n) == 0 &&
           (req->content_type[n] == '\0' || req->content_type[n] == ';');
}

void
gw_request_digest(const gw_request *req, unsigned char out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int n = 0;

    memset(out, 0, 32);
    if (md == NULL)
        return;
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, req->method, strlen(req->method) + 1);
    EVP_DigestUpdate(md, req->path, strlen(req->path) + 1);
    EVP_DigestUpdate(md, req->body, req->body_len);
    EVP_DigestFinal_ex(md, out, &n);
    EVP_MD_CTX_free(md);
}

/* 32 hex digits from a fresh UUID: unique, within Max35Text and a valid spool file name. */
void
gw_new_msg_id(char out[36])
{
    char u[37];
    size_t n = 0;

    iso_uetr_generate(u);
    for (size_t i = 0; u[i] != '\0'; i++)
        if (u[i] != '-')
            out[n++] = u[i];
    out[n] = '\0';
}

/* base + "/" + key, the key escaped as RFC 6901 wants. */
void
gw_json_path(char *out, size_t size, const char *base, const char *key)
{
    size_t n = (size_t)snprintf(out, size, "%s/", base);

    for (; *key != '\0' && n + 3 < size; key++) {
        if (*key == '~' || *key == '/') {
            out[n++] = '~';
            out[n++] = *key == '~' ? '0' : '1';
        } else {
            out[n++] = *key;
        }
    }
    out[n < size ? n : size - 1] = '\0';
}

json_t *
gw_body_json(const gw_request *req, iso_problems *pr)
{
    json_error_t e;
    json_t *v = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &e);

    if (v == NULL) {
        iso_problems_add(pr, "", "JSON_SYNTAX", "line %d, column %d: %s", e.line, e.column,
                         e.text);
        return NULL;
    }
    if (!json_is_object(v)) {
        iso_problems_add(pr, "", "TYPE", "the body must be a JSON object");
        json_decref(v);
        return NULL;
    }
    return v;
}

static int
type_ok(const json_t *v, gw_jtype t)
{
    switch (t) {
    case GW_J_STRING:
        return json_is_string(v);
    case GW_J_OBJECT:
        return json_is_object(v);
    case GW_J_ARRAY:
        return json_is_array(v);
    }
    return 0;
}

static const char *
type_name(gw_jtype t)
{
    return t == GW_J_STRING ? "a string" : t == GW_J_OBJECT ? "an object" : "an array";
}

static const gw_jfield *
field_find(const gw_jfield *f, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].name, name) == 0)
            return &f[i];
    return NULL;
}

int
gw_json_shape(const json_t *obj, const char *base, const gw_jfield *f, size_t n,
              iso_problems *pr)
{
    char path[PATH_SIZE];
    size_t before = pr->n + pr->dropped;
    const char *key;
    json_t *v;

    for (size_t i = 0; i < n; i++) {
        gw_json_path(path, sizeof(path), base, f[i].name);
        v = json_object_get(obj, f[i].name);
        if (v == NULL && f[i].required)
            iso_problems_add(pr, path, "REQUIRED", "is required");
        else if (v != NULL && !type_ok(v, f[i].type))
            iso_problems_add(pr, path, "TYPE", "must be %s", type_name(f[i].type));
    }
    json_object_foreach((json_t *)obj, key, v) {
        if (field_find(f, n, key) == NULL) {
            gw_json_path(path, sizeof(path), base, key);
            iso_problems_add(pr, path, "UNKNOWN_FIELD", "is not a field of this request");
        }
    }
    return pr->n + pr->dropped == before;
}

/* Printable ASCII only: identifiers and codes in these bodies never need more. */
static int
printable(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

const char *
gw_json_text(const json_t *obj, const char *key, const char *base, size_t max,
             iso_problems *pr)
{
    const char *s = json_string_value(json_object_get(obj, key));
    char path[PATH_SIZE];

    if (s == NULL)
        return NULL;
    gw_json_path(path, sizeof(path), base, key);
    if (*s == '\0') {
        iso_problems_add(pr, path, "EMPTY", "must not be empty");
        return NULL;
    }
    if (strlen(s) > max) {
        iso_problems_add(pr, path, "MAX_LENGTH", "is longer than %zu characters", max);
        return NULL;
    }
    if (!printable(s)) {
        iso_problems_add(pr, path, "CHARSET", "may hold only printable ASCII characters");
        return NULL;
    }
    return s;
}

int
gw_json_bic(const json_t *obj, const char *key, const char *base, char out[12],
            iso_problems *pr)
{
    const char *s = json_string_value(json_object_get(obj, key));
    char path[PATH_SIZE];

    out[0] = '\0';
    if (s == NULL)
        return 0;
    if (!iso_bic_valid(s)) {
        gw_json_path(path, sizeof(path), base, key);
        iso_problems_add(pr, path, "BIC_INVALID",
                         "is not a BIC (ISO 9362: 8 or 11 upper-case letters and digits)");
        return -1;
    }
    snprintf(out, 12, "%s", s);
    return 1;
}

int
gw_json_code(const json_t *obj, const char *key, const char *base, const char *const *allowed,
             char *out, size_t size, iso_problems *pr)
{
    const char *s = json_string_value(json_object_get(obj, key));
    char path[PATH_SIZE], list[160];
    size_t used = 0;

    out[0] = '\0';
    if (s == NULL)
        return 0;
    for (size_t i = 0; allowed[i] != NULL; i++) {
        if (strcmp(s, allowed[i]) == 0 && strlen(s) < size) {
            snprintf(out, size, "%s", s);
            return 1;
        }
        if (used < sizeof(list))
            used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
                                     allowed[i]);
    }
    gw_json_path(path, sizeof(path), base, key);
    iso_problems_add(pr, path, "CODE_INVALID", "must be one of %s", list);
    return -1;
}

int
gw_currency_check(const char *ccy, const char *path, iso_problems *pr)
{
    int e = iso_currency_exponent(ccy);

    if (e < 0 || e > TRK_MAX_EXPONENT) {
        iso_problems_add(pr, path, "CURRENCY_UNKNOWN", "is not an ISO 4217 currency in use");
        return -1;
    }
    return e;
}

/* {"currency": "EUR", "amount": "995.00"}: both required, the amount a positive decimal string
 * within the currency's exponent (iso_amount_parse, the project's one amount reader). */
int
gw_json_money(const json_t *obj, const char *key, const char *base, iso_amount *out,
              iso_problems *pr)
{
    static const gw_jfield fields[] = {{"currency", GW_J_STRING, 1}, {"amount", GW_J_STRING, 1}};
    json_t *m = json_object_get(obj, key);
    char path[PATH_SIZE], sub[PATH_SIZE];
    int e;

    memset(out, 0, sizeof(*out));
    if (m == NULL)
        return 0;
    gw_json_path(path, sizeof(path), base, key);
    if (!gw_json_shape(m, path, fields, 2, pr))
        return -1;
    gw_json_path(sub, sizeof(sub), path, "currency");
    if ((e = gw_currency_check(json_string_value(json_object_get(m, "currency")), sub, pr)) < 0)
        return -1;
    gw_json_path(sub, sizeof(sub), path, "amount");
    if (iso_amount_parse(json_string_value(json_object_get(m, "amount")), e, &out->minor) !=
        ISO_OK) {
        iso_problems_add(pr, sub, "AMOUNT_INVALID",
                         "must be a positive decimal string with at most %d decimals", e);
        return -1;
    }
    out->present = 1;
    out->exponent = e;
    snprintf(out->currency, sizeof(out->currency), "%s",
             json_string_value(json_object_get(m, "currency")));
    return 1;
}

json_t *
gw_money_json(int64_t minor, int exponent, const char *currency)
{
    char amount[32];

    if (iso_amount_format(minor, exponent, amount, sizeof(amount)) != ISO_OK)
        return NULL;
    return json_pack("{s:s,s:s}", "currency", currency, "amount", amount);
}

int
gw_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (d > max || v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* n digits at s as a number, or -1. */
static int
digits(const char *s, size_t n)
{
    int v = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int
days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* YYYY-MM-DDThh:mm:ss[.f{1,3}]Z, UTC (the gpi date-time), to Unix ms. */
int
gw_parse_time(const char *s, int64_t *unix_ms)
{
    struct tm tm;
    int ms = 0;
    size_t nf = 0;

    memset(&tm, 0, sizeof(tm));
    if (strlen(s) < GW_TIME_MIN_LEN || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
        s[13] != ':' || s[16] != ':')
        return -1;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h < 0 ||
        h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59)
        return -1;
    s += GW_TIME_MIN_LEN - 1;
    if (*s == '.') {
        while (s[1 + nf] >= '0' && s[1 + nf] <= '9' && nf < 3)
            ms = ms * 10 + (s[1 + nf++] - '0');
        if (nf == 0)
            return -1;
        for (size_t i = nf; i < 3; i++)
            ms *= 10;
        s += 1 + nf;
    }
    if (strcmp(s, "Z") != 0)
        return -1;
    tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
    tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = se;
    *unix_ms = (int64_t)timegm(&tm) * 1000 + ms;
    return 0;
}
