/*
 * rules.c — business rules that need no XML: IBAN, BIC, ISO 4217, ISO 3166, UETR, amounts,
 * dates and the CBPR+ character set. Tables are sorted by code for bsearch.
 */
#include "iso_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IBAN_MIN_LEN 5
#define IBAN_MAX_LEN 34
#define IBAN_MOD 97
#define BIC8_LEN 8
#define BIC11_LEN 11
#define BIC_LETTERS 6 /* institution (4) and country (2) */
#define IBAN_HEAD 4   /* country and check digits, moved to the end for MOD 97-10 */
#define UETR_LEN 36
#define DATE_LEN 10
#define SECONDS_PER_DAY 86400

/* ---- tables -------------------------------------------------------------------------------- */

/* IBAN length per country (SWIFT IBAN registry; territories using another country's code,
 * e.g. the French overseas departments, are covered by that code). */
static const struct iban_len {
    char cc[3];
    unsigned char len;
} iban_lengths[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24},
    {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18},
    {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27},
    {"GT", 28}, {"HN", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26},
    {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20},
    {"LU", 20}, {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20},
    {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24},
    {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"SO", 23}, {"ST", 25},
    {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
    {"YE", 30},
};

/*
 * ISO 4217 codes in use (list one, 2026: HRK, SLL, ZWL, ANG and BGN withdrawn; XCG and ZWG
 * added) with their minor-unit exponent. NOT_PAYABLE marks codes that are listed but are not
 * money one can pay with: precious metals, the SDR, bond-market units, testing and "no
 * currency" codes.
 */
#define NOT_PAYABLE (-1)
static const struct currency {
    char code[4];
    signed char exponent;
} currencies[] = {
    {"AED", 2},           {"AFN", 2},           {"ALL", 2},           {"AMD", 2},
    {"AOA", 2},           {"ARS", 2},           {"AUD", 2},           {"AWG", 2},
    {"AZN", 2},           {"BAM", 2},           {"BBD", 2},           {"BDT", 2},
    {"BHD", 3},           {"BIF", 0},           {"BMD", 2},           {"BND", 2},
    {"BOB", 2},           {"BOV", 2},           {"BRL", 2},           {"BSD", 2},
    {"BTN", 2},           {"BWP", 2},           {"BYN", 2},           {"BZD", 2},
    {"CAD", 2},           {"CDF", 2},           {"CHE", 2},           {"CHF", 2},
    {"CHW", 2},           {"CLF", 4},           {"CLP", 0},           {"CNY", 2},
    {"COP", 2},           {"COU", 2},           {"CRC", 2},           {"CUC", 2},
    {"CUP", 2},           {"CVE", 2},           {"CZK", 2},           {"DJF", 0},
    {"DKK", 2},           {"DOP", 2},           {"DZD", 2},           {"EGP", 2},
    {"ERN", 2},           {"ETB", 2},           {"EUR", 2},           {"FJD", 2},
    {"FKP", 2},           {"GBP", 2},           {"GEL", 2},           {"GHS", 2},
    {"GIP", 2},           {"GMD", 2},           {"GNF", 0},           {"GTQ", 2},
    {"GYD", 2},           {"HKD", 2},           {"HNL", 2},           {"HTG", 2},
    {"HUF", 2},           {"IDR", 2},           {"ILS", 2},           {"INR", 2},
    {"IQD", 3},           {"IRR", 2},           {"ISK", 0},           {"JMD", 2},
    {"JOD", 3},           {"JPY", 0},           {"KES", 2},           {"KGS", 2},
    {"KHR", 2},           {"KMF", 0},           {"KPW", 2},           {"KRW", 0},
    {"KWD", 3},           {"KYD", 2},           {"KZT", 2},           {"LAK", 2},
    {"LBP", 2},           {"LKR", 2},           {"LRD", 2},           {"LSL", 2},
    {"LYD", 3},           {"MAD", 2},           {"MDL", 2},           {"MGA", 2},
    {"MKD", 2},           {"MMK", 2},           {"MNT", 2},           {"MOP", 2},
    {"MRU", 2},           {"MUR", 2},           {"MVR", 2},           {"MWK", 2},
    {"MXN", 2},           {"MXV", 2},           {"MYR", 2},           {"MZN", 2},
    {"NAD", 2},           {"NGN", 2},           {"NIO", 2},           {"NOK", 2},
    {"NPR", 2},           {"NZD", 2},           {"OMR", 3},           {"PAB", 2},
    {"PEN", 2},           {"PGK", 2},           {"PHP", 2},           {"PKR", 2},
    {"PLN", 2},           {"PYG", 0},           {"QAR", 2},           {"RON", 2},
    {"RSD", 2},           {"RUB", 2},           {"RWF", 0},           {"SAR", 2},
    {"SBD", 2},           {"SCR", 2},           {"SDG", 2},           {"SEK", 2},
    {"SGD", 2},           {"SHP", 2},           {"SLE", 2},           {"SOS", 2},
    {"SRD", 2},           {"SSP", 2},           {"STN", 2},           {"SVC", 2},
    {"SYP", 2},           {"SZL", 2},           {"THB", 2},           {"TJS", 2},
    {"TMT", 2},           {"TND", 3},           {"TOP", 2},           {"TRY", 2},
    {"TTD", 2},           {"TWD", 2},           {"TZS", 2},           {"UAH", 2},
    {"UGX", 0},           {"USD", 2},           {"USN", 2},           {"UYI", 0},
    {"UYU", 2},           {"UYW", 4},           {"UZS", 2},           {"VED", 2},
    {"VES", 2},           {"VND", 0},           {"VUV", 0},           {"WST", 2},
    {"XAF", 0},           {"XAG", NOT_PAYABLE}, {"XAU", NOT_PAYABLE}, {"XBA", NOT_PAYABLE},
    {"XBB", NOT_PAYABLE}, {"XBC", NOT_PAYABLE}, {"XBD", NOT_PAYABLE}, {"XCD", 2},
    {"XCG", 2},           {"XDR", NOT_PAYABLE}, {"XOF", 0},           {"XPD", NOT_PAYABLE},
    {"XPF", 0},           {"XPT", NOT_PAYABLE}, {"XSU", NOT_PAYABLE}, {"XTS", NOT_PAYABLE},
    {"XUA", NOT_PAYABLE}, {"XXX", NOT_PAYABLE}, {"YER", 2},           {"ZAR", 2},
    {"ZMW", 2},           {"ZWG", 2},
};

/* ISO 3166-1 alpha-2, officially assigned, plus XK (Kosovo, used by IBAN and BIC). */
static const char countries[] =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO "
    "BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ "
    "DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP "
    "GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG "
    "KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML "
    "MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE "
    "PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL "
    "SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM "
    "US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW";

/* ---- small helpers ------------------------------------------------------------------------- */

static int
is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int
is_upper_alnum(char c)
{
    return is_upper(c) || is_digit(c);
}

static int
all_upper_alnum(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_upper_alnum(s[i]))
            return 0;
    return 1;
}

static int
cmp_code(const void *key, const void *elem)
{
    /* Both table structs start with their NUL-terminated code. */
    return strcmp(key, elem);
}

/* ---- IBAN ---------------------------------------------------------------------------------- */

static int
iban_length_for(const char *iban)
{
    char cc[3] = {iban[0], iban[1], '\0'};
    const struct iban_len *e =
        bsearch(cc, iban_lengths, sizeof(iban_lengths) / sizeof(iban_lengths[0]),
                sizeof(iban_lengths[0]), cmp_code);
    return e ? e->len : -1;
}

/* ISO 7064 MOD 97-10 over the IBAN with its first four characters moved to the end. */
static unsigned
iban_mod97(const char *iban, size_t len)
{
    unsigned r = 0;

    for (size_t k = 0; k < len; k++) {
        char c = iban[(k + IBAN_HEAD) % len];
        if (is_digit(c))
            r = (r * 10 + (unsigned)(c - '0')) % IBAN_MOD;
        else
            r = (r * 100 + (unsigned)(c - 'A' + 10)) % IBAN_MOD;
    }
    return r;
}

int
iso_iban_valid(const char *iban)
{
    size_t len = strlen(iban);

    if (len < IBAN_MIN_LEN || len > IBAN_MAX_LEN)
        return 0;
    if (!is_upper(iban[0]) || !is_upper(iban[1]) || !is_digit(iban[2]) || !is_digit(iban[3]))
        return 0;
    if (!all_upper_alnum(iban + IBAN_HEAD, len - IBAN_HEAD) || iban_length_for(iban) != (int)len)
        return 0;
    /* Check digits run 02..98: 00, 01 and 99 never come out of the computation. */
    if (strncmp(iban + 2, "00", 2) == 0 || strncmp(iban + 2, "01", 2) == 0 ||
        strncmp(iban + 2, "99", 2) == 0)
        return 0;
    return iban_mod97(iban, len) == 1;
}

/* ---- BIC, country, currency ---------------------------------------------------------------- */

int
iso_bic_valid(const char *bic)
{
    size_t len = strlen(bic);

    if (len != BIC8_LEN && len != BIC11_LEN)
        return 0;
    for (size_t i = 0; i < BIC_LETTERS; i++)
        if (!is_upper(bic[i]))
            return 0;
    return all_upper_alnum(bic + BIC_LETTERS, len - BIC_LETTERS);
}

int
iso_bic8_equal(const char *a, const char *b)
{
    return iso_bic_valid(a) && iso_bic_valid(b) && strncmp(a, b, BIC8_LEN) == 0;
}

/* A BIC8 names the head office, the same party as its BIC11 with branch "XXX". */
int
iso_bic_same_party(const char *a, const char *b)
{
    const char *ta = strlen(a) == BIC8_LEN ? "XXX" : a + BIC8_LEN;
    const char *tb = strlen(b) == BIC8_LEN ? "XXX" : b + BIC8_LEN;

    return iso_bic8_equal(a, b) && strcmp(ta, tb) == 0;
}

int
iso_country_valid(const char *cc)
{
    if (strlen(cc) != 2 || !is_upper(cc[0]) || !is_upper(cc[1]))
        return 0;
    /* Letters sit in pairs between spaces, so a match of two letters is a whole code. */
    return strstr(countries, cc) != NULL;
}

static const struct currency *
currency_find(const char *ccy)
{
    if (strlen(ccy) != 3)
        return NULL;
    return bsearch(ccy, currencies, sizeof(currencies) / sizeof(currencies[0]),
                   sizeof(currencies[0]), cmp_code);
}

int
iso_currency_known(const char *ccy)
{
    return currency_find(ccy) != NULL;
}

int
iso_currency_exponent(const char *ccy)
{
    const struct currency *c = currency_find(ccy);

    return c ? c->exponent : -1;
}

/* ---- UETR ---------------------------------------------------------------------------------- */

/* 8-4-4-4-12 lower-case hex: hyphens at 8, 13, 18 and 23, the version (4) at 14, the RFC 4122
 * variant (8, 9, a or b) at 19. */
int
iso_uetr_valid(const char *uetr)
{
    if (strlen(uetr) != UETR_LEN)
        return 0;
    for (size_t i = 0; i < UETR_LEN; i++) {
        char c = uetr[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!is_digit(c) && !(c >= 'a' && c <= 'f')) {
            return 0;
        }
    }
    return uetr[14] == '4' && strchr("89ab", uetr[19]) != NULL;
}

/* ---- amounts ------------------------------------------------------------------------------- */

static size_t
count_digits(const char *s)
{
    size_t n = 0;

    while (is_digit(s[n]))
        n++;
    return n;
}

/* Digits of s[0..n) that are not '0'. */
static int
any_nonzero(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != '0')
            return 1;
    return 0;
}

/* Value of n decimal digits (n <= ISO_MAX_AMOUNT_DIGITS, so it fits an int64). */
static int64_t
digits_value(const char *s, size_t n)
{
    int64_t v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

enum iso_amount_verdict
iso_amount_check(const char *s, int exponent, int64_t *minor)
{
    size_t ni = count_digits(s), nf = 0;
    const char *frac = s + ni;

    if (ni == 0 || (s[0] == '0' && ni > 1))
        return ISO_AMOUNT_MALFORMED;
    if (*frac == '.') {
        frac++;
        if ((nf = count_digits(frac)) == 0)
            return ISO_AMOUNT_MALFORMED;
    }
    if (frac[nf] != '\0' || exponent > ISO_MAX_AMOUNT_FRACTION)
        return ISO_AMOUNT_MALFORMED;
    if (!any_nonzero(s, ni) && !any_nonzero(frac, nf))
        return ISO_AMOUNT_ZERO;
    if (exponent < 0 && nf > ISO_MAX_AMOUNT_FRACTION)
        return ISO_AMOUNT_PRECISION;
    if (exponent < 0)
        return ni + nf > ISO_MAX_AMOUNT_DIGITS ? ISO_AMOUNT_TOO_LARGE : ISO_AMOUNT_OK;
    if (nf > (size_t)exponent)
        return ISO_AMOUNT_PRECISION;
    if (ni + (size_t)exponent > ISO_MAX_AMOUNT_DIGITS)
        return ISO_AMOUNT_TOO_LARGE;
    *minor = digits_value(s, ni);
    for (size_t i = 0; i < (size_t)exponent; i++)
        *minor = *minor * 10 + (i < nf ? frac[i] - '0' : 0);
    return ISO_AMOUNT_OK;
}

int
iso_amount_parse(const char *s, int exponent, int64_t *minor)
{
    int64_t v;

    if (exponent < 0 || iso_amount_check(s, exponent, &v) != ISO_AMOUNT_OK)
        return ISO_ERR_INVALID;
    *minor = v;
    return ISO_OK;
}

/*
 * Returns ISO_OK, ISO_ERR_INVALID (exponent outside 0..ISO_MAX_AMOUNT_FRACTION) or
 * ISO_ERR_TOOLARGE (buf too small; buf then holds "").
 */
int
iso_amount_format(int64_t minor, int exponent, char *buf, size_t size)
{
    char digits[24], out[32];
    size_t nd = 0, n = 0;
    /* Magnitude without overflow for INT64_MIN. */
    uint64_t mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;

    if (exponent < 0 || exponent > ISO_MAX_AMOUNT_FRACTION)
        return ISO_ERR_INVALID;
    do {
        digits[nd++] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag > 0 || nd <= (size_t)exponent);
    if (minor < 0)
        out[n++] = '-';
    while (nd > 0) {
        out[n++] = digits[--nd];
        if (nd == (size_t)exponent && nd > 0)
            out[n++] = '.';
    }
    out[n] = '\0';
    if (n >= size) {
        if (size > 0)
            buf[0] = '\0';
        return ISO_ERR_TOOLARGE;
    }
    memcpy(buf, out, n + 1);
    return ISO_OK;
}

/* ---- dates --------------------------------------------------------------------------------- */

static int
is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int64_t y, int m)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && is_leap(y) ? 29 : mdays[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int
iso_date_parse(const char *s, int64_t *days)
{
    static const char shape[] = "dddd-dd-dd";

    if (strlen(s) != DATE_LEN)
        return 0;
    for (size_t i = 0; i < DATE_LEN; i++)
        if (shape[i] == 'd' ? !is_digit(s[i]) : s[i] != shape[i])
            return 0;
    int64_t y = digits_value(s, 4);
    int m = (int)digits_value(s + 5, 2), d = (int)digits_value(s + 8, 2);
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return 0;
    *days = days_from_civil(y, m, d);
    return 1;
}

void
iso_datetime(time_t t, char buf[ISO_TIME_TEXT_SIZE])
{
    struct tm tm;

    buf[0] = '\0';
    if (gmtime_r(&t, &tm) != NULL)
        strftime(buf, ISO_TIME_TEXT_SIZE, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
}

int64_t
iso_days_of(time_t t)
{
    int64_t s = (int64_t)t;

    return s >= 0 ? s / SECONDS_PER_DAY : -((-s + SECONDS_PER_DAY - 1) / SECONDS_PER_DAY);
}

/* ---- text ---------------------------------------------------------------------------------- */

int
iso_text_charset_ok(const char *s)
{
    for (; *s; s++) {
        char c = *s;
        if (!is_upper_alnum(c) && !(c >= 'a' && c <= 'z') && strchr(ISO_CHARSET_EXTRA, c) == NULL)
            return 0;
    }
    return 1;
}

int
iso_text_finx_ok(const char *s)
{
    for (; *s; s++)
        if (!is_upper_alnum(*s) && !(*s >= 'a' && *s <= 'z') &&
            strchr(ISO_CHARSET_FINX_EXTRA, *s) == NULL)
            return 0;
    return 1;
}

size_t
iso_utf8_chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}
