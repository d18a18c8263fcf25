/*
 * fuzz_validate.c — libFuzzer target for iso_validate: the shared hostile-input parser and
 * every profile schema (the root picks one).
 *
 * Beyond "no crash, no sanitizer report, no leak" it checks that every refusal comes with
 * problems, valid UTF-8, and that validation is a function of the bytes: a second run gives the
 * same answer (no state leaks between calls through libxml2's globals).
 *
 * Seeds: seeds/fuzz_validate, a link to samples/ (messages, pain.001 files, invalid ones).
 */
#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    iso_problems pr, again;
    size_t len;
    char *xml = fuzz_substitute(data, size, &len);
    int rc;

    if (xml == NULL)
        return 0;
    iso_problems_init(&pr);
    rc = iso_validate(fuzz_ctx(), xml, len, &pr);
    fuzz_check_outcome(rc, &pr);
    iso_problems_init(&again);
    if (iso_validate(fuzz_ctx(), xml, len, &again) != rc || again.n != pr.n)
        abort();
    free(xml);
    return 0;
}
