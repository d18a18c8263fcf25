/* Tests for bench/util.c: the strict number parser and bounded file reading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"

static void
test_parse_u64(void **state)
{
    (void)state;
    uint64_t v = 42;
    assert_int_equal(bu_parse_u64("0", 0, 10, &v), BU_OK);
    assert_int_equal(v, 0);
    assert_int_equal(bu_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), BU_OK);
    assert_true(v == UINT64_MAX);
    assert_int_equal(bu_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), BU_ERR_RANGE);
    assert_int_equal(bu_parse_u64("11", 0, 10, &v), BU_ERR_RANGE);
    assert_int_equal(bu_parse_u64("0", 1, 10, &v), BU_ERR_RANGE);
    static const char *const bad[] = {"", "-1", "+1", " 1", "1 ", "1k", "0x10", "1.5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(bu_parse_u64(bad[i], 0, 100, &v), BU_ERR_SYNTAX);
    assert_int_equal(bu_parse_u64(NULL, 0, 100, &v), BU_ERR_SYNTAX);
    assert_int_equal(v, UINT64_MAX); /* untouched by failures */
}

static void
test_read_file_bounded(void **state)
{
    (void)state;
    char path[] = "/tmp/bench-util-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "0123456789", 10), 10);
    close(fd);

    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(bu_read_file(path, 10, &data, &len), BU_OK);
    assert_int_equal(len, 10);
    assert_memory_equal(data, "0123456789", 10);
    free(data);
    data = NULL;
    assert_int_equal(bu_read_file(path, 9, &data, &len), BU_ERR_TOO_LARGE);
    assert_null(data);
    unlink(path);
    assert_int_equal(bu_read_file(path, 10, &data, &len), BU_ERR_IO);
}

static void
test_clock_monotonic(void **state)
{
    (void)state;
    uint64_t a = bu_now_ns(), b = bu_now_ns();
    assert_true(b >= a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_u64),
        cmocka_unit_test(test_read_file_bounded),
        cmocka_unit_test(test_clock_monotonic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
