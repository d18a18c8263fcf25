/*
 * histogram — an HDR-style log-linear histogram of non-negative integer values (latencies in
 * nanoseconds or microseconds: the histogram does not care which, the caller picks one unit
 * and keeps to it).
 *
 * Layout: values below HIST_SUB_COUNT are counted exactly; above that, each power-of-two range
 * is cut into HIST_SUB_COUNT/2 equal sub-buckets, so every bucket's width is at most 1/512 of
 * the values it holds (about 0.2 % relative error, three significant digits like HdrHistogram
 * with that precision). Memory is fixed: HIST_COUNTS counters, ~112 KiB, so a histogram is
 * heap-allocated and never grows.
 *
 * Values above HIST_MAX_VALUE are clamped to it and counted in `overflow`, so a run with a
 * stalled request still shows up at the top of the distribution instead of vanishing.
 * Not thread-safe: one histogram per thread, merged at the end.
 */
#ifndef CORRIDOR_BENCH_HISTOGRAM_H
#define CORRIDOR_BENCH_HISTOGRAM_H

#include <stdint.h>

#define HIST_SUB_BITS 10
#define HIST_SUB_COUNT (1u << HIST_SUB_BITS)
#define HIST_HALF_COUNT (HIST_SUB_COUNT / 2)
/* Highest trackable value: 2^36 - 1 (68.7 s in ns, 19 h in µs). */
#define HIST_MAX_BITS 36
#define HIST_MAX_VALUE ((UINT64_C(1) << HIST_MAX_BITS) - 1)
#define HIST_COUNTS ((HIST_MAX_BITS - HIST_SUB_BITS + 2) * HIST_HALF_COUNT)

typedef struct hist hist;

/* Returns NULL when out of memory. hist_free(NULL) is a no-op. */
hist *hist_new(void);
void hist_free(hist *h);
void hist_reset(hist *h);

/* Records `count` occurrences of `value` (clamped to HIST_MAX_VALUE). */
void hist_record_n(hist *h, uint64_t value, uint64_t count);
void hist_record(hist *h, uint64_t value);

/* Adds every count of `src` into `dst`. */
void hist_merge(hist *dst, const hist *src);

uint64_t hist_total(const hist *h);
uint64_t hist_overflow(const hist *h); /* values that were clamped */
uint64_t hist_min(const hist *h);      /* exact; 0 when empty */
uint64_t hist_max(const hist *h);      /* exact (after clamping); 0 when empty */
double hist_mean(const hist *h);       /* from exact values (after clamping); 0 when empty */

/*
 * The smallest recorded value v such that at least `pct` percent of all values are <= v,
 * reported as the highest value equivalent to v's bucket, capped by hist_max (so p100 is the
 * exact max). pct is clamped to [0, 100]; an empty histogram answers 0.
 */
uint64_t hist_percentile(const hist *h, double pct);

/* Bucket arithmetic, exposed for the tests. */
unsigned hist_index(uint64_t value);
uint64_t hist_lowest_equivalent(unsigned index);
uint64_t hist_highest_equivalent(unsigned index);

#endif
