/*
 * check.c — the leaf rules of an instruction, one value at a time, shared by the JSON reader
 * (json_in.c, paths are JSON pointers) and the pain.001 reader (pain001.c, paths are XPaths).
 * The codes are listed at the top of json_in.c; pain.001 adds DATE_PAST (pain001.c).
 */
#include "iso_int.h"

#include <string.h>

#define PURPOSE_MAX 4
#define UETR_MAX 36
#define IBAN_MAX 34
#define BIC_MAX 11
#define COUNTRY_MAX 2
#define CHARGE_BEARER_MAX 4

int
iso_check_text(iso_problems *pr, const char *path, const char *s, size_t max, enum iso_charset cs)
{
    int ok = 1;

    if (*s == '\0') {
        iso_problems_add(pr, path, "EMPTY", "must not be empty");
        return 0;
    }
    if (iso_utf8_chars(s) > max) {
        iso_problems_add(pr, path, "MAX_LENGTH", "is longer than %zu characters", max);
        ok = 0;
    }
    if (cs == ISO_CHARSET_CBPR && !iso_text_charset_ok(s)) {
        iso_problems_add(pr, path, "CHARSET",
                         "may hold only letters, digits and these: %s (CBPR+ character set)",
                         ISO_CHARSET_EXTRA);
        ok = 0;
    } else if (cs == ISO_CHARSET_FINX && !iso_text_finx_ok(s)) {
        iso_problems_add(pr, path, "CHARSET",
                         "may hold only letters, digits and these: %s (FIN-X character set)",
                         ISO_CHARSET_FINX_EXTRA);
        ok = 0;
    }
    return ok;
}

/* CBPR+ InstrId: FIN-X text, no '/' at either end and no "//". */
int
iso_check_instruction_id(iso_problems *pr, const char *path, const char *s, size_t max)
{
    size_t len;

    if (!iso_check_text(pr, path, s, max, ISO_CHARSET_FINX))
        return 0;
    len = strlen(s);
    if (s[0] == '/' || s[len - 1] == '/' || strstr(s, "//") != NULL) {
        iso_problems_add(pr, path, "SLASH", "must not start or end with '/' nor hold '//'");
        return 0;
    }
    return 1;
}

/* A value checked by a predicate from rules.c, refused with one code. */
static int
checked(iso_problems *pr, const char *path, const char *s, size_t max, int (*valid)(const char *),
        const char *code, const char *text)
{
    if (strlen(s) > max || !valid(s)) {
        iso_problems_add(pr, path, code, "%s", text);
        return 0;
    }
    return 1;
}

int
iso_check_uetr(iso_problems *pr, const char *path, const char *s)
{
    return checked(pr, path, s, UETR_MAX, iso_uetr_valid, "UETR_INVALID",
                   "must be a lower-case UUID v4 (xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx)");
}

int
iso_check_iban(iso_problems *pr, const char *path, const char *s)
{
    return checked(pr, path, s, IBAN_MAX, iso_iban_valid, "IBAN_INVALID",
                   "is not a valid IBAN (upper case, no spaces, the country's length, check "
                   "digits)");
}

int
iso_check_bic(iso_problems *pr, const char *path, const char *s)
{
    return checked(pr, path, s, BIC_MAX, iso_bic_valid, "BIC_INVALID",
                   "is not a BIC (ISO 9362: 8 or 11 upper-case letters and digits)");
}

int
iso_check_country(iso_problems *pr, const char *path, const char *s)
{
    return checked(pr, path, s, COUNTRY_MAX, iso_country_valid, "COUNTRY_INVALID",
                   "is not an ISO 3166 alpha-2 country code (upper case)");
}

static int
charge_bearer_valid(const char *s)
{
    return strcmp(s, "DEBT") == 0 || strcmp(s, "CRED") == 0 || strcmp(s, "SHAR") == 0;
}

int
iso_check_charge_bearer(iso_problems *pr, const char *path, const char *s)
{
    return checked(pr, path, s, CHARGE_BEARER_MAX, charge_bearer_valid, "CHARGE_BEARER_INVALID",
                   "must be DEBT, CRED or SHAR");
}

static int
purpose_valid(const char *s)
{
    size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");

    return n >= 1 && n <= PURPOSE_MAX && s[n] == '\0';
}

int
iso_check_purpose(iso_problems *pr, const char *path, const char *s)
{
    return checked(pr, path, s, PURPOSE_MAX, purpose_valid, "PURPOSE_INVALID",
                   "must be an ExternalPurpose1Code: 1 to 4 upper-case letters or digits");
}

int
iso_check_currency(iso_problems *pr, const char *path, const char *s)
{
    if (!iso_currency_known(s)) {
        iso_problems_add(pr, path, "CURRENCY_UNKNOWN", "is not an ISO 4217 currency code");
        return 0;
    }
    if (iso_currency_exponent(s) < 0) {
        iso_problems_add(pr, path, "CURRENCY_NOT_ALLOWED",
                         "%s is not money a payment can carry (metal, SDR, test code)", s);
        return 0;
    }
    return 1;
}

int
iso_check_amount(iso_problems *pr, const char *path, const char *s, int exponent, int64_t *minor)
{
    switch (iso_amount_check(s, exponent, minor)) {
    case ISO_AMOUNT_OK:
        return 1;
    case ISO_AMOUNT_MALFORMED:
        iso_problems_add(pr, path, "AMOUNT_INVALID",
                         "must be a decimal string such as \"1234.56\" (no sign, exponent, "
                         "spaces or leading zeros)");
        break;
    case ISO_AMOUNT_ZERO:
        iso_problems_add(pr, path, "AMOUNT_INVALID", "must be greater than zero");
        break;
    case ISO_AMOUNT_PRECISION:
        iso_problems_add(pr, path, "AMOUNT_PRECISION", "has more than %d decimals",
                         exponent >= 0 ? exponent : ISO_MAX_AMOUNT_FRACTION);
        break;
    case ISO_AMOUNT_TOO_LARGE:
        iso_problems_add(pr, path, "AMOUNT_TOO_LARGE", "has more than %d digits",
                         ISO_MAX_AMOUNT_DIGITS);
        break;
    }
    return 0;
}

int
iso_check_date(iso_problems *pr, const char *path, const char *s, int64_t today,
               const char *past_code)
{
    int64_t days;

    if (!iso_date_parse(s, &days)) {
        iso_problems_add(pr, path, "DATE_INVALID", "must be a calendar date YYYY-MM-DD");
        return 0;
    }
    if (days < today || days > today + ISO_MAX_EXECUTION_DAYS) {
        iso_problems_add(pr, path, days < today ? past_code : "DATE_OUT_OF_RANGE",
                         "must be from today to %d days ahead (UTC)", ISO_MAX_EXECUTION_DAYS);
        return 0;
    }
    return 1;
}
