/*
 * fuzz_pain001.c — libFuzzer target for the pain.001 reader, iso_pain001_read (parser, profile,
 * rules, the XSLT translation and the checks of every pacs.008 it builds).
 *
 * Beyond "no crash, no sanitizer report, no leak" it checks, aborting when one breaks: every
 * refusal comes with problems, valid UTF-8, and hands back nothing; an accepted pain.001 yields
 * 1..ISO_MAX_PAIN001_TX transactions, each with a valid UETR and a pacs.008 that the project
 * profile accepts on its own.
 *
 * Seeds: seeds/fuzz_pain001, a link to samples/ (pain001/ holds valid .09 and .03 files,
 * invalid/pain001-*.xml one broken rule each; "@TODAY@" is filled in with the harness's today).
 */
#include "fuzz_common.h"

static void
check_accepted(const iso_pain001 *p)
{
    iso_problems pr;

    if (p->n_tx == 0 || p->n_tx > ISO_MAX_PAIN001_TX || !fuzz_utf8_ok(p->customer_id))
        abort();
    for (size_t i = 0; i < p->n_tx; i++) {
        iso_problems_init(&pr);
        if (!iso_uetr_valid(p->tx[i].in.uetr) || p->tx[i].pacs008 == NULL ||
            iso_validate(fuzz_ctx(), p->tx[i].pacs008, p->tx[i].pacs008_len, &pr) != ISO_OK)
            abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    iso_pain001 p;
    iso_problems pr;
    size_t len;
    char *xml = fuzz_substitute(data, size, &len);
    int rc;

    if (xml == NULL)
        return 0;
    iso_problems_init(&pr);
    rc = iso_pain001_read(fuzz_ctx(), xml, len, FUZZ_NOW, &p, &pr);
    fuzz_check_outcome(rc, &pr);
    if (rc == ISO_OK)
        check_accepted(&p);
    else if (p.tx != NULL || p.n_tx != 0)
        abort(); /* all or nothing */
    iso_pain001_free(&p);
    free(xml);
    return 0;
}
