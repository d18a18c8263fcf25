/*
 * util — small helpers shared by the benchmark tools: the one strict number parser, the
 * monotonic clock, bounded file reading.
 */
#ifndef CORRIDOR_BENCH_UTIL_H
#define CORRIDOR_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define BU_NS_PER_SEC 1000000000ULL
#define BU_NS_PER_MS 1000000ULL
#define BU_NS_PER_US 1000ULL

/* Error codes: 0 = OK, negative, range -900..-909. */
enum bu_err {
    BU_OK = 0,
    BU_ERR_SYNTAX = -900, /* not a plain decimal number */
    BU_ERR_RANGE = -901,  /* outside [min, max] or overflows 64 bits */
    BU_ERR_IO = -902,     /* the file could not be opened or read (errno kept) */
    BU_ERR_TOO_LARGE = -903,
    BU_ERR_NOMEM = -904,
};
const char *bu_strerror(int err);

/* Parses a whole string of decimal digits (no sign, no spaces, no suffix) into [min, max]. */
int bu_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bu_now_ns(void);

/* Reads a whole file of at most `max` bytes into a malloc'd buffer (caller frees). */
int bu_read_file(const char *path, size_t max, uint8_t **data, size_t *len);

#endif
