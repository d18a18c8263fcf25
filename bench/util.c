/* util — see util.h. */
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

const char *
bu_strerror(int err)
{
    switch (err) {
    case BU_OK:
        return "ok";
    case BU_ERR_SYNTAX:
        return "not a decimal number";
    case BU_ERR_RANGE:
        return "number out of range";
    case BU_ERR_IO:
        return "cannot read file";
    case BU_ERR_TOO_LARGE:
        return "file too large";
    case BU_ERR_NOMEM:
        return "out of memory";
    default:
        return "unknown error";
    }
}

int
bu_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (s == NULL || *s == '\0')
        return BU_ERR_SYNTAX;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return BU_ERR_SYNTAX;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return BU_ERR_RANGE;
        v = v * 10 + d;
    }
    if (v < min || v > max)
        return BU_ERR_RANGE;
    *out = v;
    return BU_OK;
}

uint64_t
bu_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * BU_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

int
bu_read_file(const char *path, size_t max, uint8_t **data, size_t *len)
{
    int rc = BU_OK;
    uint8_t *buf = NULL;
    size_t n = 0;
    FILE *f = fopen(path, "rb");

    if (f == NULL)
        return BU_ERR_IO;
    /* One byte more than allowed tells "exactly max" from "too large". */
    buf = malloc(max + 1);
    if (buf == NULL) {
        rc = BU_ERR_NOMEM;
        goto out;
    }
    n = fread(buf, 1, max + 1, f);
    if (ferror(f)) {
        rc = BU_ERR_IO;
        goto out;
    }
    if (n > max) {
        rc = BU_ERR_TOO_LARGE;
        goto out;
    }
    *data = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    fclose(f);
    return rc;
}
