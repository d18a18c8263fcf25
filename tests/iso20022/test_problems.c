/*
 * test_problems.c — iso20022/problems.c: the bounded problem list and iso_strerror.
 */
#include "test_util.h"

#include <string.h>

/* 1 when s is well-formed UTF-8 (no cut sequence anywhere). */
static int
utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        size_t n = *p < 0x80 ? 1 : *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : *p >= 0xC0 ? 2 : 0;
        if (n == 0)
            return 0;
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80)
                return 0;
        p += n;
    }
    return 1;
}

static void
test_add_and_format(void **state)
{
    iso_problems pr;

    (void)state;
    iso_problems_init(&pr);
    iso_problems_add(&pr, "/amount", "AMOUNT_PRECISION", "has more than %d decimals", 2);
    assert_int_equal(pr.n, 1);
    assert_int_equal(pr.dropped, 0);
    assert_string_equal(pr.items[0].path, "/amount");
    assert_string_equal(pr.items[0].code, "AMOUNT_PRECISION");
    assert_string_equal(pr.items[0].text, "has more than 2 decimals");
}

static void
test_bounded(void **state)
{
    iso_problems pr;

    (void)state;
    iso_problems_init(&pr);
    for (int i = 0; i < ISO_MAX_PROBLEMS + 7; i++)
        iso_problems_add(&pr, "/x", "UNKNOWN_FIELD", "problem %d", i);
    assert_int_equal(pr.n, ISO_MAX_PROBLEMS);
    assert_int_equal(pr.dropped, 7);
    assert_string_equal(pr.items[ISO_MAX_PROBLEMS - 1].text, "problem 63");
}

/* Long fields are cut to fit, never in the middle of a UTF-8 character. */
static void
test_truncation_keeps_utf8(void **state)
{
    char path[300], text[400];
    iso_problems pr;

    (void)state;
    memset(path, 'a', sizeof(path));
    for (size_t i = 1; i + 2 < sizeof(path); i += 2)
        memcpy(path + i, "\xc3\xa9", 2); /* é from offset 1: the cut falls inside one */
    path[sizeof(path) - 1] = '\0';
    memset(text, 0, sizeof(text));
    for (size_t i = 0; i + 4 < sizeof(text); i += 3)
        memcpy(text + i, "\xe2\x82\xac", 3); /* € */
    iso_problems_init(&pr);
    iso_problems_add(&pr, path, "CODE", "%s", text);
    assert_true(strlen(pr.items[0].path) < sizeof(pr.items[0].path));
    assert_true(strlen(pr.items[0].path) >= sizeof(pr.items[0].path) - 4);
    assert_true(utf8_ok(pr.items[0].path));
    assert_true(utf8_ok(pr.items[0].text));
    assert_true(strlen(pr.items[0].text) >= sizeof(pr.items[0].text) - 4);
}

/* Found by fuzz_status_xml: after an encoding error libxml2 reads on as Latin-1 and quotes those
 * bytes in its next message, which then was not UTF-8. */
static void
test_regression_latin1_bytes_in_message(void **state)
{
    static const char *const bad[] = {"tag \xf3\x46IId", /* \x46 is 'F' */
                                      "\xff\xff",
                                      "\xc0\x80 overlong",
                                      "\xed\xa0\x80 surrogate",
                                      "\xf4\x90\x80\x80 too high",
                                      "cut \xe2\x82"};
    iso_problems pr;

    (void)state;
    iso_problems_init(&pr);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        iso_problems_add(&pr, bad[i], "XML_SYNTAX", "%s", bad[i]);
    for (size_t i = 0; i < pr.n; i++) {
        assert_true(utf8_ok(pr.items[i].path));
        assert_true(utf8_ok(pr.items[i].text));
    }
    assert_string_equal(pr.items[0].text, "tag ?FIId");
    iso_problems_add(&pr, "", "X", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xb6"); /* valid: kept */
    assert_string_equal(pr.items[pr.n - 1].text, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xb6");
}

static void
test_strerror(void **state)
{
    static const int codes[] = {ISO_OK,           ISO_ERR_NOMEM,    ISO_ERR_SYNTAX, ISO_ERR_INVALID,
                                ISO_ERR_TOOLARGE, ISO_ERR_INTERNAL, ISO_ERR_SCHEMA};

    (void)state;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        assert_non_null(iso_strerror(codes[i]));
        assert_string_not_equal(iso_strerror(codes[i]), iso_strerror(-199));
    }
    assert_string_equal(iso_strerror(-199), "unknown iso20022 error");
}

int
test_problems_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_and_format),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_truncation_keeps_utf8),
        cmocka_unit_test(test_regression_latin1_bytes_in_message),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests_name("problems", tests, NULL, NULL);
}
