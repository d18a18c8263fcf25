/*
 * fuzz_status_xml.c — libFuzzer target for the inbound status reader, iso_status_read, and
 * iso_envelope on the same bytes.
 *
 * Beyond "no crash, no sanitizer report, no leak" it checks, aborting when one breaks: every
 * refusal comes with problems, valid UTF-8; an accepted message has a valid UETR, a known kind
 * and UTF-8 text fields; its envelope form (what Corridor stores) reads back to the same fields.
 *
 * Seeds: seeds/fuzz_status_xml, a link to samples/ (messages/ holds pacs.002, pacs.004 and
 * camt.029 fixtures; "@TODAY@" and "@UETR@" are filled in so they reach the accepting path).
 */
#include "fuzz_common.h"

static void
check_fields(const iso_status_msg *m)
{
    const char *texts[] = {m->msg_name,        m->msg_id,          m->from_bic,
                           m->to_bic,          m->original_msg_id, m->original_instr_id,
                           m->original_e2e_id, m->status,          m->reason};

    if (!iso_uetr_valid(m->uetr) || m->kind < ISO_MSG_PACS002 || m->kind > ISO_MSG_CAMT029 ||
        m->n_charges > ISO_MAX_CHARGES)
        abort();
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        if (!fuzz_utf8_ok(texts[i]))
            abort();
}

/* What Corridor stores must read as what it received. */
static void
check_envelope(const char *xml, size_t len, const iso_status_msg *m)
{
    iso_status_msg again;
    iso_problems pr;
    char *env = NULL;
    size_t env_len;

    if (iso_envelope(xml, len, &env, &env_len) != ISO_OK)
        abort();
    iso_problems_init(&pr);
    if (iso_status_read(fuzz_ctx(), env, env_len, &again, &pr) != ISO_OK ||
        memcmp(&again, m, sizeof(again)) != 0)
        abort();
    free(env);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    iso_status_msg m;
    iso_problems pr;
    size_t len;
    char *xml = fuzz_substitute(data, size, &len);
    int rc;

    if (xml == NULL)
        return 0;
    iso_problems_init(&pr);
    rc = iso_status_read(fuzz_ctx(), xml, len, &m, &pr);
    fuzz_check_outcome(rc, &pr);
    if (rc == ISO_OK) {
        check_fields(&m);
        check_envelope(xml, len, &m);
    }
    free(xml);
    return 0;
}
