/* Tests for bench/histogram.c: bucket maths, percentiles of known distributions, merge,
 * bounds and clamping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "histogram.h"

/* Worst-case relative width of a bucket: 1 / HIST_HALF_COUNT. */
static void
assert_near(uint64_t got, uint64_t want)
{
    uint64_t tol = want / HIST_HALF_COUNT + 1;
    if (got + tol < want || got > want + tol)
        fail_msg("got %llu, want %llu +- %llu", (unsigned long long)got, (unsigned long long)want,
                 (unsigned long long)tol);
}

static void
test_index_roundtrip(void **state)
{
    (void)state;
    /* Every value lies inside its bucket's [lowest, highest] range, and buckets tile. */
    for (uint64_t v = 0; v < 200000; v += 7) {
        unsigned i = hist_index(v);
        assert_true(hist_lowest_equivalent(i) <= v);
        assert_true(v <= hist_highest_equivalent(i));
    }
    for (unsigned i = 1; i < HIST_COUNTS; i++)
        assert_int_equal(hist_lowest_equivalent(i), hist_highest_equivalent(i - 1) + 1);
    assert_int_equal(hist_index(HIST_MAX_VALUE), HIST_COUNTS - 1);
    assert_int_equal(hist_highest_equivalent(HIST_COUNTS - 1), HIST_MAX_VALUE);
}

static void
test_small_values_exact(void **state)
{
    (void)state;
    hist *h = hist_new();
    assert_non_null(h);
    for (uint64_t v = 1; v <= 100; v++)
        hist_record(h, v);
    assert_int_equal(hist_total(h), 100);
    assert_int_equal(hist_percentile(h, 50), 50);
    assert_int_equal(hist_percentile(h, 90), 90);
    assert_int_equal(hist_percentile(h, 99), 99);
    assert_int_equal(hist_percentile(h, 100), 100);
    assert_int_equal(hist_percentile(h, 0), 1);
    assert_int_equal(hist_min(h), 1);
    assert_int_equal(hist_max(h), 100);
    assert_true(hist_mean(h) > 50.49 && hist_mean(h) < 50.51);
    hist_free(h);
}

static void
test_uniform_large(void **state)
{
    (void)state;
    hist *h = hist_new();
    assert_non_null(h);
    /* 1..1,000,000 µs-like values: percentiles within a bucket's precision. */
    for (uint64_t v = 1; v <= 1000000; v++)
        hist_record(h, v * 1000);
    assert_near(hist_percentile(h, 50), 500000000);
    assert_near(hist_percentile(h, 90), 900000000);
    assert_near(hist_percentile(h, 99), 990000000);
    assert_near(hist_percentile(h, 99.9), 999000000);
    assert_int_equal(hist_percentile(h, 100), 1000000000);
    assert_int_equal(hist_max(h), 1000000000);
    hist_free(h);
}

static void
test_bimodal(void **state)
{
    (void)state;
    hist *h = hist_new();
    assert_non_null(h);
    /* 99 % fast at 1 ms, 1 % stalled at 2 s: p99 is fast, p99.9 sees the stall. */
    hist_record_n(h, 1000000, 9900);
    hist_record_n(h, 2000000000, 100);
    assert_near(hist_percentile(h, 50), 1000000);
    assert_near(hist_percentile(h, 99), 1000000);
    assert_near(hist_percentile(h, 99.9), 2000000000);
    assert_int_equal(hist_max(h), 2000000000);
    hist_free(h);
}

static void
test_merge(void **state)
{
    (void)state;
    hist *a = hist_new(), *b = hist_new(), *all = hist_new();
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(all);
    for (uint64_t v = 1; v <= 20000; v++) {
        hist_record(v % 2 ? a : b, v * 37);
        hist_record(all, v * 37);
    }
    hist_merge(a, b);
    assert_int_equal(hist_total(a), 20000);
    assert_int_equal(hist_min(a), hist_min(all));
    assert_int_equal(hist_max(a), hist_max(all));
    static const double pcts[] = {1, 50, 90, 99, 99.9, 100};
    for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
        assert_int_equal(hist_percentile(a, pcts[i]), hist_percentile(all, pcts[i]));
    /* Merging an empty histogram changes nothing, in particular not min. */
    hist_reset(b);
    hist_merge(a, b);
    assert_int_equal(hist_min(a), 37);
    hist_free(a);
    hist_free(b);
    hist_free(all);
}

static void
test_bounds_and_clamp(void **state)
{
    (void)state;
    hist *h = hist_new();
    assert_non_null(h);
    assert_int_equal(hist_percentile(h, 50), 0); /* empty */
    assert_int_equal(hist_max(h), 0);
    assert_int_equal(hist_min(h), 0);
    hist_record(h, 0);
    hist_record(h, HIST_MAX_VALUE);
    assert_int_equal(hist_overflow(h), 0);
    hist_record(h, HIST_MAX_VALUE + 1);
    hist_record(h, UINT64_MAX);
    assert_int_equal(hist_overflow(h), 2);
    assert_int_equal(hist_total(h), 4);
    assert_int_equal(hist_max(h), HIST_MAX_VALUE);
    assert_int_equal(hist_percentile(h, 100), HIST_MAX_VALUE);
    assert_int_equal(hist_percentile(h, 25), 0);
    /* Percentiles outside [0, 100] are clamped, not undefined. */
    assert_int_equal(hist_percentile(h, -5), 0);
    assert_int_equal(hist_percentile(h, 150), HIST_MAX_VALUE);
    hist_record_n(h, 5, 0); /* a zero count records nothing */
    assert_int_equal(hist_total(h), 4);
    hist_reset(h);
    assert_int_equal(hist_total(h), 0);
    assert_int_equal(hist_overflow(h), 0);
    hist_free(h);
    hist_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_roundtrip), cmocka_unit_test(test_small_values_exact),
        cmocka_unit_test(test_uniform_large),   cmocka_unit_test(test_bimodal),
        cmocka_unit_test(test_merge),           cmocka_unit_test(test_bounds_and_clamp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
