/* histogram — see histogram.h. */
#include "histogram.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct hist {
    uint64_t total;
    uint64_t overflow;
    uint64_t min;
    uint64_t max;
    /* Sum of recorded values; 2^36 * 2^27 samples still fit, far beyond any bench run. */
    unsigned __int128 sum;
    uint64_t counts[HIST_COUNTS];
};

hist *
hist_new(void)
{
    hist *h = malloc(sizeof(*h));

    if (h != NULL)
        hist_reset(h);
    return h;
}

void
hist_free(hist *h)
{
    free(h);
}

void
hist_reset(hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

unsigned
hist_index(uint64_t value)
{
    if (value > HIST_MAX_VALUE)
        value = HIST_MAX_VALUE;
    if (value < HIST_SUB_COUNT)
        return (unsigned)value;
    /* shift >= 1 brings the value into [HALF, SUB): the sub-bucket within its power of two. */
    unsigned msb = 63u - (unsigned)__builtin_clzll(value);
    unsigned shift = msb - (HIST_SUB_BITS - 1);
    return shift * HIST_HALF_COUNT + (unsigned)(value >> shift);
}

uint64_t
hist_lowest_equivalent(unsigned index)
{
    if (index < HIST_SUB_COUNT)
        return index;
    unsigned shift = index / HIST_HALF_COUNT - 1;
    uint64_t sub = index - shift * HIST_HALF_COUNT;
    return sub << shift;
}

uint64_t
hist_highest_equivalent(unsigned index)
{
    if (index < HIST_SUB_COUNT)
        return index;
    unsigned shift = index / HIST_HALF_COUNT - 1;
    return hist_lowest_equivalent(index) + (UINT64_C(1) << shift) - 1;
}

void
hist_record_n(hist *h, uint64_t value, uint64_t count)
{
    if (count == 0)
        return;
    if (value > HIST_MAX_VALUE) {
        value = HIST_MAX_VALUE;
        h->overflow += count;
    }
    h->counts[hist_index(value)] += count;
    h->total += count;
    h->sum += (unsigned __int128)value * count;
    if (value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
}

void
hist_record(hist *h, uint64_t value)
{
    hist_record_n(h, value, 1);
}

void
hist_merge(hist *dst, const hist *src)
{
    if (src->total == 0)
        return;
    for (unsigned i = 0; i < HIST_COUNTS; i++)
        dst->counts[i] += src->counts[i];
    dst->total += src->total;
    dst->overflow += src->overflow;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t
hist_total(const hist *h)
{
    return h->total;
}

uint64_t
hist_overflow(const hist *h)
{
    return h->overflow;
}

uint64_t
hist_min(const hist *h)
{
    return h->total == 0 ? 0 : h->min;
}

uint64_t
hist_max(const hist *h)
{
    return h->max;
}

double
hist_mean(const hist *h)
{
    if (h->total == 0)
        return 0.0;
    return (double)h->sum / (double)h->total;
}

/* How many values must be at or below the answer: ceil(pct% of total), at least one. */
static uint64_t
rank_for(uint64_t total, double pct)
{
    if (!(pct > 0.0))
        return 1;
    if (pct >= 100.0)
        return total;
    double r = ceil(pct / 100.0 * (double)total);
    if (r < 1.0)
        return 1;
    if (r >= (double)total)
        return total;
    return (uint64_t)r;
}

uint64_t
hist_percentile(const hist *h, double pct)
{
    if (h->total == 0)
        return 0;
    uint64_t want = rank_for(h->total, pct);
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_COUNTS; i++) {
        seen += h->counts[i];
        if (seen >= want) {
            uint64_t v = hist_highest_equivalent(i);
            if (v > h->max)
                v = h->max;
            if (v < h->min)
                v = h->min;
            return v;
        }
    }
    return h->max;
}
