/*
 * fuzz_instruction_json.c — libFuzzer target for the JSON instruction: iso_instruction_from_json
 * and, when it accepts, iso_instruction_to_json.
 *
 * Beyond "no crash, no sanitizer report" it checks two properties and aborts when one breaks:
 * what the writer writes reads back to the same instruction (same canonical text), and every
 * problem's path and text are valid UTF-8 (the gateway hands them to jansson).
 *
 * Seeds: seeds/fuzz_instruction_json, a link to samples/ (payment.json and the invalid/
 * fixtures). Their "@TODAY@" is replaced by the date the harness uses as today, so the seeds
 * reach the accepting path.
 */
#include "iso20022.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NOW ((time_t)1795219200) /* 2026-11-21T00:00:00Z */
#define FUZZ_TODAY "2026-11-21"
#define TODAY_MARK "@TODAY@"

/* data as a string with TODAY_MARK replaced (the date is longer: at most 2x + 1 bytes). */
static char *
substitute(const uint8_t *data, size_t size, size_t *len)
{
    const size_t mark = strlen(TODAY_MARK), date = strlen(FUZZ_TODAY);
    char *out = malloc(size * 2 + 1);
    size_t n = 0;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < size;) {
        if (size - i >= mark && memcmp(data + i, TODAY_MARK, mark) == 0) {
            memcpy(out + n, FUZZ_TODAY, date);
            n += date;
            i += mark;
        } else {
            out[n++] = (char)data[i++];
        }
    }
    out[n] = '\0';
    *len = n;
    return out;
}

static int
utf8_ok(const char *s)
{
    json_t *j = json_string(s);

    json_decref(j);
    return j != NULL;
}

static void
check_problems(const iso_problems *pr)
{
    for (size_t i = 0; i < pr->n; i++)
        if (!utf8_ok(pr->items[i].path) || !utf8_ok(pr->items[i].text) ||
            pr->items[i].code[0] == '\0')
            abort();
}

static void
check_round_trip(const iso_instruction *in)
{
    iso_instruction again;
    iso_problems pr;
    char *first = NULL, *second = NULL;
    size_t len1, len2;

    if (iso_instruction_to_json(in, &first, &len1) != ISO_OK)
        abort();
    iso_problems_init(&pr);
    if (iso_instruction_from_json(first, len1, FUZZ_NOW, &again, &pr) != ISO_OK)
        abort();
    if (iso_instruction_to_json(&again, &second, &len2) != ISO_OK || len1 != len2 ||
        memcmp(first, second, len1) != 0)
        abort();
    free(first);
    free(second);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    iso_instruction in;
    iso_problems pr;
    size_t len;
    char *json = substitute(data, size, &len);

    if (json == NULL)
        return 0;
    iso_problems_init(&pr);
    if (iso_instruction_from_json(json, len, FUZZ_NOW, &in, &pr) == ISO_OK)
        check_round_trip(&in);
    check_problems(&pr);
    free(json);
    return 0;
}
