/*
 * fuzz_common.h — what the XML fuzz targets share: the fixed "today" the seeds' placeholders are
 * filled with, a shared iso_ctx, and the checks every problem list must pass.
 */
#ifndef CORRIDOR_FUZZ_COMMON_H
#define CORRIDOR_FUZZ_COMMON_H

#include "iso20022.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NOW ((time_t)1795219200) /* 2026-11-21T00:00:00Z */
#define FUZZ_TODAY "2026-11-21"
#define FUZZ_UETR "eb6305c9-1f7f-49de-aed0-16487c27b42d"

/* data with "@TODAY@" and "@UETR@" filled in (both longer: at most 6x + 1 bytes), so seeds from
 * samples/ reach the accepting paths. The caller frees it. */
static inline char *
fuzz_substitute(const uint8_t *data, size_t size, size_t *len)
{
    static const struct {
        const char *mark, *value;
    } subst[] = {{"@TODAY@", FUZZ_TODAY}, {"@UETR@", FUZZ_UETR}};
    char *out = malloc(size * 6 + 1);
    size_t n = 0;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < size;) {
        size_t k = 0;
        for (; k < 2; k++) {
            size_t m = strlen(subst[k].mark);
            if (size - i >= m && memcmp(data + i, subst[k].mark, m) == 0) {
                memcpy(out + n, subst[k].value, strlen(subst[k].value));
                n += strlen(subst[k].value);
                i += m;
                break;
            }
        }
        if (k == 2)
            out[n++] = (char)data[i++];
    }
    out[n] = '\0';
    *len = n;
    return out;
}

/* Compiled once: schemas and stylesheets are start-up work, as in the daemon. */
static inline const iso_ctx *
fuzz_ctx(void)
{
    static iso_ctx *ctx;

    if (ctx == NULL && iso_ctx_new(&ctx) != ISO_OK)
        abort();
    return ctx;
}

static inline int
fuzz_utf8_ok(const char *s)
{
    json_t *j = json_string(s);

    json_decref(j);
    return j != NULL;
}

/* Every problem has a code and UTF-8 path and text (the gateway hands them to jansson). */
static inline void
fuzz_check_problems(const iso_problems *pr)
{
    if (pr->n > ISO_MAX_PROBLEMS)
        abort();
    for (size_t i = 0; i < pr->n; i++)
        if (!fuzz_utf8_ok(pr->items[i].path) || !fuzz_utf8_ok(pr->items[i].text) ||
            pr->items[i].code[0] == '\0')
            abort();
}

/* A refusal always says why. */
static inline void
fuzz_check_outcome(int rc, const iso_problems *pr)
{
    if (rc != ISO_OK && rc != ISO_ERR_NOMEM && pr->n == 0)
        abort();
    fuzz_check_problems(pr);
}

#endif
