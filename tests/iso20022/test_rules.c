/*
 * test_rules.c — iso20022/rules.c and uetr.c: IBAN, BIC, ISO 4217, ISO 3166, UETR, amounts.
 */
#include "test_util.h"
#include "iso_int.h"

#include <string.h>

static void
test_iban_valid(void **state)
{
    static const char *const good[] = {
        "GB33BUKB20201555555555",
        "DE89370400440532013000",
        "GB94BARC10201530093459",
        "FR7630006000011234567890189",
        "NL91ABNA0417164300",
        "BE71096123456769",
        "CH9300762011623852957",
        "NO9386011117947",
        "AT611904300234573201",
        "ES9121000418450200051332",
        "IT60X0542811101000000123456",
        "PL61109010140000071219812874",
        "SA0380000000608010167519",
        "AE070331234567890123456",
        "BR1800360305000010009795493C1",
        "MT84MALT011000012345MTLCAST001S",
        "XK051212012345678906",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(iso_iban_valid(good[i]));
}

static void
test_iban_invalid(void **state)
{
    static const char *const bad[] = {
        "DE89370400440532013001",      /* checksum */
        "GB33BUKB20201555555556",      /* checksum */
        "GB33BUKB2020155555555",       /* 21: GB is 22 */
        "GB33BUKB202015555555555",     /* 23 */
        "DE8937040044053201300",       /* 21: DE is 22 */
        "NO938601111794",              /* 14: NO is 15 */
        "XX89370400440532013000",      /* no such IBAN country */
        "US12345678901234567890",      /* a country without IBAN */
        "gb33bukb20201555555555",      /* lower case */
        "GB33bukb20201555555555",      /* lower case in the BBAN */
        "GB33 BUKB 2020 1555 5555 55", /* spaces */
        "GB3BUKB20201555555555X",      /* check digits not digits */
        "",
        "GB",
        "GB33",
        "GB33BUKB20201555555555GB33BUKB2020", /* 34+ */
        "GB33BUKB2020155555555\xc3\xa9",      /* non-ASCII */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (iso_iban_valid(bad[i]))
            fail_msg("accepted %s", bad[i]);
    }
}

static void
test_bic(void **state)
{
    static const char *const good[] = {"CRDRGB20XXX", "CRDRGB20", "DEUTDEFF500", "CRSPUS3N",
                                       "BENFDE20XXX"};
    static const char *const bad[] = {
        "CRDRGB2",     "CRDRGB20X",  "CRDRGB20XX", "CRDRGB20XXXX", "crdrgb20xxx",
        "CRDRGB20xxx", "1234GB22",   "DEUT1EFF",   "DEUTD3FF",     "",
        "CRDR GB20",   "CRDRGB20-XX"};
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(iso_bic_valid(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (iso_bic_valid(bad[i]))
            fail_msg("accepted %s", bad[i]);
}

static void
test_bic8_equal(void **state)
{
    (void)state;
    assert_true(iso_bic8_equal("CRSPUS30", "CRSPUS30XXX"));
    assert_true(iso_bic8_equal("CRSPUS30XXX", "CRSPUS30NYC"));
    assert_true(iso_bic8_equal("CRSPUS30XXX", "CRSPUS30XXX"));
    assert_false(iso_bic8_equal("CRSPUS30XXX", "CRSPUS31XXX"));
    assert_false(iso_bic8_equal("CRSPUS3", "CRSPUS3"));
    assert_false(iso_bic8_equal("crspus30", "CRSPUS30"));
}

static void
test_currency(void **state)
{
    (void)state;
    assert_int_equal(iso_currency_exponent("JPY"), 0);
    assert_int_equal(iso_currency_exponent("KRW"), 0);
    assert_int_equal(iso_currency_exponent("EUR"), 2);
    assert_int_equal(iso_currency_exponent("USD"), 2);
    assert_int_equal(iso_currency_exponent("GBP"), 2);
    assert_int_equal(iso_currency_exponent("BHD"), 3);
    assert_int_equal(iso_currency_exponent("KWD"), 3);
    assert_int_equal(iso_currency_exponent("TND"), 3);
    assert_int_equal(iso_currency_exponent("CLF"), 4);
    assert_int_equal(iso_currency_exponent("UYW"), 4);
    assert_int_equal(iso_currency_exponent("XOF"), 0);
    assert_int_equal(iso_currency_exponent("ZWG"), 2);
    /* Listed in ISO 4217 but not money: known, no exponent. */
    static const char *const not_money[] = {"XAU", "XAG", "XPD", "XPT", "XXX",
                                            "XTS", "XDR", "XBA", "XSU", "XUA"};
    for (size_t i = 0; i < sizeof(not_money) / sizeof(not_money[0]); i++) {
        assert_true(iso_currency_known(not_money[i]));
        assert_int_equal(iso_currency_exponent(not_money[i]), -1);
    }
    static const char *const unknown[] = {"ABC", "eur", "EURO", "EU", "", "HRK", "E1R"};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        assert_false(iso_currency_known(unknown[i]));
        assert_int_equal(iso_currency_exponent(unknown[i]), -1);
    }
}

static void
test_country(void **state)
{
    (void)state;
    assert_true(iso_country_valid("GB"));
    assert_true(iso_country_valid("DE"));
    assert_true(iso_country_valid("US"));
    assert_true(iso_country_valid("ZW"));
    assert_true(iso_country_valid("AD"));
    assert_true(iso_country_valid("XK"));
    assert_false(iso_country_valid("UK"));
    assert_false(iso_country_valid("EU"));
    assert_false(iso_country_valid("gb"));
    assert_false(iso_country_valid("G"));
    assert_false(iso_country_valid("GBR"));
    assert_false(iso_country_valid("D "));
    assert_false(iso_country_valid(""));
}

static void
test_uetr_valid(void **state)
{
    (void)state;
    assert_true(iso_uetr_valid("eb6305c9-1f7f-49de-aed0-16487c27b42d"));
    assert_true(iso_uetr_valid("7a562c67-ca16-48ba-b074-65581be6f001"));
    assert_false(iso_uetr_valid("EB6305C9-1F7F-49DE-AED0-16487C27B42D"));  /* upper case */
    assert_false(iso_uetr_valid("eb6305c9-1f7f-19de-aed0-16487c27b42d"));  /* version 1 */
    assert_false(iso_uetr_valid("eb6305c9-1f7f-49de-ced0-16487c27b42d"));  /* variant */
    assert_false(iso_uetr_valid("eb6305c91f7f49deaed016487c27b42d"));      /* no hyphens */
    assert_false(iso_uetr_valid("eb6305c9-1f7f-49de-aed0-16487c27b42"));   /* 35 */
    assert_false(iso_uetr_valid("eb6305c9-1f7f-49de-aed0-16487c27b42dd")); /* 37 */
    assert_false(iso_uetr_valid("{eb6305c9-1f7f-49de-aed0-16487c27b42}"));
    assert_false(iso_uetr_valid("eb6305c9-1f7f-49de-aed0-16487c27b4zz"));
    assert_false(iso_uetr_valid(""));
}

static void
test_uetr_generate(void **state)
{
    char prev[37] = "", u[37];

    (void)state;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(iso_uetr_generate(u), ISO_OK);
        if (!iso_uetr_valid(u))
            fail_msg("generated %s", u);
        assert_string_not_equal(u, prev);
        memcpy(prev, u, sizeof(u));
    }
}

struct amount_case {
    const char *text;
    int exponent;
    int rc;
    int64_t minor;
};

static void
test_amount_parse(void **state)
{
    static const struct amount_case cases[] = {
        {"1234.56", 2, ISO_OK, 123456},
        {"1234.5", 2, ISO_OK, 123450},
        {"1234", 2, ISO_OK, 123400},
        {"0.5", 2, ISO_OK, 50},
        {"0.01", 2, ISO_OK, 1},
        {"100", 0, ISO_OK, 100},
        {"1.234", 3, ISO_OK, 1234},
        {"0.0001", 4, ISO_OK, 1},
        {"9999999999999999.99", 2, ISO_OK, 999999999999999999},
        {"999999999999999999", 0, ISO_OK, 999999999999999999},
        {"0", 2, ISO_ERR_INVALID, 0},                    /* zero */
        {"0.00", 2, ISO_ERR_INVALID, 0},                 /* zero */
        {"10.123", 2, ISO_ERR_INVALID, 0},               /* too many decimals for EUR */
        {"100.5", 0, ISO_ERR_INVALID, 0},                /* JPY has none */
        {"100.0", 0, ISO_ERR_INVALID, 0},                /* not even a zero one */
        {"10000000000000000.00", 2, ISO_ERR_INVALID, 0}, /* 19 digits at exponent 2 */
        {"1000000000000000000", 0, ISO_ERR_INVALID, 0},  /* 19 digits */
        {"99999999999999999999999", 2, ISO_ERR_INVALID, 0},
        {"+1", 2, ISO_ERR_INVALID, 0},
        {"-1", 2, ISO_ERR_INVALID, 0},
        {"1e3", 2, ISO_ERR_INVALID, 0},
        {"1E3", 2, ISO_ERR_INVALID, 0},
        {" 1", 2, ISO_ERR_INVALID, 0},
        {"1 ", 2, ISO_ERR_INVALID, 0},
        {".5", 2, ISO_ERR_INVALID, 0},
        {"5.", 2, ISO_ERR_INVALID, 0},
        {"01", 2, ISO_ERR_INVALID, 0},
        {"00.5", 2, ISO_ERR_INVALID, 0},
        {"1,00", 2, ISO_ERR_INVALID, 0},
        {"1.2.3", 2, ISO_ERR_INVALID, 0},
        {"", 2, ISO_ERR_INVALID, 0},
        {"0x10", 2, ISO_ERR_INVALID, 0},
        {"NaN", 2, ISO_ERR_INVALID, 0},
        {"\xef\xbc\x91", 2, ISO_ERR_INVALID, 0}, /* fullwidth 1 */
        {"1", -1, ISO_ERR_INVALID, 0},           /* no exponent: unknown currency */
        {"1", 6, ISO_ERR_INVALID, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t minor = -7;
        int rc = iso_amount_parse(cases[i].text, cases[i].exponent, &minor);
        if (rc != cases[i].rc)
            fail_msg("\"%s\" (exponent %d): rc %d", cases[i].text, cases[i].exponent, rc);
        assert_int_equal(minor, rc == ISO_OK ? cases[i].minor : -7);
    }
}

/* The reasons behind ISO_ERR_INVALID, which json_in.c turns into problem codes. */
static void
test_amount_verdicts(void **state)
{
    int64_t m;

    (void)state;
    assert_int_equal(iso_amount_check("5.", 2, &m), ISO_AMOUNT_MALFORMED);
    assert_int_equal(iso_amount_check("0.000", 3, &m), ISO_AMOUNT_ZERO);
    assert_int_equal(iso_amount_check("1.001", 2, &m), ISO_AMOUNT_PRECISION);
    assert_int_equal(iso_amount_check("12345678901234567", 2, &m), ISO_AMOUNT_TOO_LARGE);
    /* Unknown currency: syntax, zero, 5 decimals and 18 digits as written. */
    assert_int_equal(iso_amount_check("12345678901234567", -1, &m), ISO_AMOUNT_OK);
    assert_int_equal(iso_amount_check("1.123456", -1, &m), ISO_AMOUNT_PRECISION);
    assert_int_equal(iso_amount_check("1234567890123456789", -1, &m), ISO_AMOUNT_TOO_LARGE);
}

static void
test_amount_format(void **state)
{
    static const struct {
        int64_t minor;
        int exponent;
        const char *text;
    } cases[] = {
        {0, 2, "0.00"},
        {5, 2, "0.05"},
        {123456, 2, "1234.56"},
        {1000, 0, "1000"},
        {1234, 3, "1.234"},
        {1, 4, "0.0001"},
        {-5, 2, "-0.05"},
        {0, 0, "0"},
        {999999999999999999, 2, "9999999999999999.99"},
        {INT64_MAX, 0, "9223372036854775807"},
        {INT64_MIN, 2, "-92233720368547758.08"},
    };
    char buf[32];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(iso_amount_format(cases[i].minor, cases[i].exponent, buf, sizeof(buf)),
                         ISO_OK);
        assert_string_equal(buf, cases[i].text);
    }
    assert_int_equal(iso_amount_format(123456, 2, buf, 7), ISO_ERR_TOOLARGE); /* needs 8 */
    assert_string_equal(buf, "");
    assert_int_equal(iso_amount_format(123456, 2, buf, 8), ISO_OK);
    assert_int_equal(iso_amount_format(1, 6, buf, sizeof(buf)), ISO_ERR_INVALID);
    assert_int_equal(iso_amount_format(1, -1, buf, sizeof(buf)), ISO_ERR_INVALID);
}

static void
test_amount_round_trip(void **state)
{
    static const int64_t values[] = {1, 9, 10, 99, 100, 123456, 999999999999999999};
    char buf[32];
    int64_t back;

    (void)state;
    for (int exp = 0; exp <= 4; exp++)
        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
            assert_int_equal(iso_amount_format(values[i], exp, buf, sizeof(buf)), ISO_OK);
            assert_int_equal(iso_amount_parse(buf, exp, &back), ISO_OK);
            assert_int_equal(back, values[i]);
        }
}

static void
test_dates(void **state)
{
    int64_t d;

    (void)state;
    assert_true(iso_date_parse("1970-01-01", &d));
    assert_int_equal(d, 0);
    assert_true(iso_date_parse("2000-02-29", &d)); /* leap: divisible by 400 */
    assert_int_equal(d, 11016);
    assert_true(iso_date_parse("2028-02-29", &d));
    assert_false(iso_date_parse("2100-02-29", &d)); /* not leap: century */
    assert_false(iso_date_parse("2026-02-29", &d));
    assert_false(iso_date_parse("2026-02-30", &d));
    assert_false(iso_date_parse("2026-04-31", &d));
    assert_false(iso_date_parse("2026-13-01", &d));
    assert_false(iso_date_parse("2026-00-10", &d));
    assert_false(iso_date_parse("2026-01-00", &d));
    assert_false(iso_date_parse("2026-1-01", &d));
    assert_false(iso_date_parse("2026/01/01", &d));
    assert_false(iso_date_parse("2026-01-01T00:00:00", &d));
    assert_false(iso_date_parse("0000-01-01", &d));
    assert_int_equal(iso_days_of(0), 0);
    assert_int_equal(iso_days_of(86399), 0);
    assert_int_equal(iso_days_of(86400), 1);
    assert_int_equal(iso_days_of(-1), -1);
}

static void
test_charset(void **state)
{
    (void)state;
    assert_true(iso_text_charset_ok("Acme Corp. (UK) - Invoice 42/7 = 'ok'+:?!\"%&*<>;@#_{}"));
    assert_false(iso_text_charset_ok("J\xc3\xbcrgen"));
    assert_false(iso_text_charset_ok("$100"));
    assert_false(iso_text_charset_ok("a~b"));
    assert_false(iso_text_charset_ok("tab\there"));
    assert_false(iso_text_charset_ok("line\nbreak"));
    assert_false(iso_text_charset_ok("back\\slash"));
    assert_false(iso_text_charset_ok("[x]"));
    assert_int_equal(iso_utf8_chars("J\xc3\xbcrgen \xe2\x82\xac"), 8);
}

int
test_rules_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iban_valid),    cmocka_unit_test(test_iban_invalid),
        cmocka_unit_test(test_bic),           cmocka_unit_test(test_bic8_equal),
        cmocka_unit_test(test_currency),      cmocka_unit_test(test_country),
        cmocka_unit_test(test_uetr_valid),    cmocka_unit_test(test_uetr_generate),
        cmocka_unit_test(test_amount_parse),  cmocka_unit_test(test_amount_verdicts),
        cmocka_unit_test(test_amount_format), cmocka_unit_test(test_amount_round_trip),
        cmocka_unit_test(test_dates),         cmocka_unit_test(test_charset),
    };
    return cmocka_run_group_tests_name("rules", tests, NULL, NULL);
}
