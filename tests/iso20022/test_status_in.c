/*
 * test_status_in.c — iso20022/status_in.c: every CBPR+ pacs.002 / pacs.004 sample read into the
 * expected fields (UETR, status, reason, amounts, from/to); the dev-chain fixtures in
 * samples/messages (valid against the official schemas too); bare Document, envelope; the
 * header rules; unsupported messages and versions; refusals.
 */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#define SAMPLE_UETR "7a562c67-ca16-48ba-b074-65581be6f001"

static iso_ctx *ctx;

static int
setup(void **state)
{
    (void)state;
    return iso_ctx_new(&ctx) == ISO_OK ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    iso_ctx_free(ctx);
    ctx = NULL;
    return 0;
}

static void
dump(const iso_problems *pr)
{
    for (size_t i = 0; i < pr->n; i++)
        print_message("  %s %s: %s\n", pr->items[i].path, pr->items[i].code, pr->items[i].text);
}

static void
read_ok(const char *what, const char *xml, size_t len, iso_status_msg *m)
{
    iso_problems pr;
    int rc;

    iso_problems_init(&pr);
    rc = iso_status_read(ctx, xml, len, m, &pr);
    if (rc != ISO_OK) {
        dump(&pr);
        fail_msg("%s: %s", what, iso_strerror(rc));
    }
}

/* What one message must read as; amount_minor < 0: no amount. */
struct expect {
    const char *file;
    iso_msg_kind kind;
    const char *msg_name, *msg_id, *from, *to, *uetr, *orig_msg_id, *orig_instr, *orig_e2e;
    const char *status, *reason;
    int64_t amount_minor;
    const char *currency, *date;
    size_t n_charges;
};

static void
assert_fields(const iso_status_msg *m, const struct expect *e)
{
    assert_int_equal(m->kind, e->kind);
    assert_string_equal(m->msg_name, e->msg_name);
    assert_string_equal(m->msg_id, e->msg_id);
    assert_true(m->has_header);
    assert_string_equal(m->from_bic, e->from);
    assert_string_equal(m->to_bic, e->to);
    assert_string_equal(m->uetr, e->uetr);
    assert_string_equal(m->original_msg_id, e->orig_msg_id);
    assert_string_equal(m->original_instr_id, e->orig_instr);
    assert_string_equal(m->original_e2e_id, e->orig_e2e);
    assert_string_equal(m->status, e->status);
    assert_string_equal(m->reason, e->reason);
    assert_int_equal(m->amount.present, e->amount_minor >= 0);
    if (e->amount_minor >= 0) {
        assert_int_equal(m->amount.minor, e->amount_minor);
        assert_int_equal(m->amount.exponent, 2);
        assert_string_equal(m->amount.currency, e->currency);
    }
    assert_string_equal(m->settlement_date, e->date);
    assert_int_equal(m->n_charges, e->n_charges);
}

static void
test_cbpr_samples(void **state)
{
    static const struct expect samples[] = {
        {"CBPR__c.56.4.1_pacs.002_CtoB.xml", ISO_MSG_PACS002, "pacs.002.001.10",
         "pacs002bizmsgidr-001", "TDOMCATT", "TDOMUS33", SAMPLE_UETR, "pacs9bizmsgidr02",
         "pacs9bizmsgidr02", "pacs9bizmsgidr01", "ACSC", "", -1, "", "", 0},
        {"CBPR__c.56.4.1_pacs.002_DtoC.xml", ISO_MSG_PACS002, "pacs.002.001.10",
         "pacs002bizmsgidr-002", "ROYCCAT2", "TDOMCATT", SAMPLE_UETR, "pacs9bizmsgidr03",
         "pacs9bizmsgidr03", "pacs9bizmsgidr01", "ACCC", "", -1, "", "", 0},
        {"CBPR__p.2.4.1_pacs.002_BtoE.xml", ISO_MSG_PACS002, "pacs.002.001.10",
         "pacs002bizmsgidr-001", "BOFSGB2L", "NDEADKK2XXX", SAMPLE_UETR, "pcs010bizmsgidr1",
         "pcs010bizmsgidr1", "pacs010EndToEndId-001", "ACSC", "", -1, "", "", 0},
        {"CBPR__p.2.5.1_pacs.002_BtoA.xml", ISO_MSG_PACS002, "pacs.002.001.10",
         "pacs002bizmsgidr001", "RBOSGB2L", "NDEAFIHH", SAMPLE_UETR, "pc003bzmsgidr01",
         "pc003bzmsgidr01", "pain008EndToEndId-001", "ACSC", "", -1, "", "", 0},
        {"CBPR__p.3.1.1_pacs.002_BtoA.xml", ISO_MSG_PACS002, "pacs.002.001.10",
         "pacs002bizmsgidr001", "RBOSGB2L", "NDEAFIHH", SAMPLE_UETR, "pc003bzmsgidr01",
         "pc003bzmsgidr01", "pain008EndToEndId-001", "ACSC", "", -1, "", "", 0},
        {"CBPR__p.2.1.2_pacs.004-CtoB.xml", ISO_MSG_PACS004, "pacs.004.001.09", "P4C2B-005",
         "ANBTUS44XXX", "CHASUS33XXX", "174c245f-2682-4291-ad67-2a41e530cd27", "B2C0506272708",
         "B2C0506272708", "E2E04044506271305", "", "AC04", 13648000, "USD", "2021-05-11", 0},
        {"CBPR__p.2.3.1.b_pacs.004-CtoB.xml", ISO_MSG_PACS004, "pacs.004.001.09",
         "pacs002bizmsgidr-001", "BSCHESMM", "BOFSGB2L", SAMPLE_UETR, "pacs9bizmsgidr02",
         "pacs9bizmsgidr02", "pacs008EndToEndId-001", "", "AC04", 59163600, "DKK", "2022-10-20", 0},
        {"CBPR__p.2.3.1.b_pacs.004-DtoC.xml", ISO_MSG_PACS004, "pacs.004.001.09",
         "pacs002bizmsgidr-001", "BSCHGB2L", "BSCHESMM", SAMPLE_UETR, "pacs9bizmsgidr01",
         "pacs9bizmsgidr01", "pacs008EndToEndId-001", "", "AC04", 59163600, "DKK", "2022-10-20", 0},
    };
    char path[512];
    iso_status_msg m;

    (void)state;
    if (!have_official()) {
        print_message("../shared/iso20022/samples missing: CBPR+ samples not read\n");
        skip();
    }
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        size_t len;
        snprintf(path, sizeof(path), "%s/%s", CBPR_SAMPLES_DIR, samples[i].file);
        char *xml = read_file(path, &len);
        assert_non_null(xml);
        read_ok(samples[i].file, xml, len, &m);
        assert_fields(&m, &samples[i]);
        free(xml);
    }
}

/* The dev chain's fixtures: valid against the official schemas, read as the tracker needs. */
static void
test_message_fixtures(void **state)
{
    static const struct {
        struct expect e;
        const char *xsd;
    } fixtures[] = {
        {{"messages/pacs002-acsp.xml", ISO_MSG_PACS002, "pacs.002.001.10", "CRSP-STS-0001",
          "CRSPUS30XXX", "CRDRGB20XXX", TEST_UETR, "CORRIDOR-PACS008", "", "E2E-2026-0001", "ACSP",
          "G000", -1, "", "", 0},
         "pacs.002.001.10.xsd"},
        {{"messages/pacs002-accc.xml", ISO_MSG_PACS002, "pacs.002.001.10", "BENF-STS-0001",
          "BENFDE20XXX", "CRDRGB20XXX", TEST_UETR, "CORRIDOR-PACS008", "", "E2E-2026-0001", "ACCC",
          "", 123456, "EUR", "@TODAY@", 1},
         "pacs.002.001.10.xsd"},
        {{"messages/pacs002-rjct.xml", ISO_MSG_PACS002, "pacs.002.001.10", "CRSP-STS-0002",
          "CRSPUS30XXX", "CRDRGB20XXX", TEST_UETR, "CORRIDOR-PACS008", "", "E2E-2026-0001", "RJCT",
          "AC04", -1, "", "", 0},
         "pacs.002.001.10.xsd"},
        {{"messages/pacs004-return.xml", ISO_MSG_PACS004, "pacs.004.001.09", "CRSP-RTR-0001",
          "CRSPUS30XXX", "CRDRGB20XXX", TEST_UETR, "CORRIDOR-PACS008", "", "E2E-2026-0001", "",
          "AC04", 122456, "EUR", "@TODAY@", 1},
         "pacs.004.001.09.xsd"},
        {{"messages/camt029-cncl.xml", ISO_MSG_CAMT029, "camt.029.001.09", "CRSP-CXL-0001",
          "CRSPUS30XXX", "CRDRGB20XXX", TEST_UETR, "CORRIDOR-PACS008", "", "E2E-2026-0001", "CNCL",
          "", 123456, "EUR", "@TODAY@", 0},
         "camt.029.001.09.xsd"},
        {{"messages/camt029-rjcr.xml", ISO_MSG_CAMT029, "camt.029.001.09", "CRSP-CXL-0002",
          "CRSPUS30XXX", "CRDRGB20XXX", TEST_UETR, "CORRIDOR-PACS008", "", "E2E-2026-0001", "RJCR",
          "CUST", 123456, "EUR", "@TODAY@", 0},
         "camt.029.001.09.xsd"},
    };
    char today[11];
    iso_status_msg m;

    (void)state;
    date_text(time(NULL), 0, today);
    for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        struct expect e = fixtures[i].e;
        size_t len;
        char *xml = sample_file(e.file, &len);
        assert_non_null(xml);
        if (strcmp(e.date, "@TODAY@") == 0)
            e.date = today;
        read_ok(e.file, xml, len, &m);
        assert_fields(&m, &e);
        assert_official_message(xml, len, fixtures[i].xsd);
        free(xml);
    }
}

static void
test_charges(void **state)
{
    size_t len;
    char *xml = sample_file("messages/pacs004-return.xml", &len);
    iso_status_msg m;

    (void)state;
    read_ok("pacs004-return", xml, len, &m);
    assert_int_equal(m.n_charges, 1);
    assert_int_equal(m.charges[0].amount_minor, 1000);
    assert_int_equal(m.charges[0].exponent, 2);
    assert_string_equal(m.charges[0].currency, "EUR");
    assert_string_equal(m.charges[0].agent_bic, "CRSPUS30XXX");
    free(xml);
}

/* Without a header, the sender is the instructing agent. */
static void
test_bare_document(void **state)
{
    size_t len;
    char *xml = sample_file("messages/pacs002-accc-bare.xml", &len);
    iso_status_msg m;

    (void)state;
    read_ok("pacs002-accc-bare", xml, len, &m);
    assert_false(m.has_header);
    assert_string_equal(m.from_bic, "BENFDE20XXX");
    assert_string_equal(m.to_bic, "CRDRGB20XXX");
    assert_string_equal(m.status, "ACCC");
    free(xml);
}

/* An edited fixture, read; returns the code, problems in pr. */
static int
read_edited(const char *file, const char *from, const char *to, iso_problems *pr)
{
    size_t len;
    char *raw = sample_file(file, &len), *xml = replace_all(raw, from, to);
    iso_status_msg m;
    int rc;

    iso_problems_init(pr);
    rc = iso_status_read(ctx, xml, strlen(xml), &m, pr);
    if (rc != ISO_OK)
        assert_string_equal(m.uetr, ""); /* nothing half-read */
    free(raw);
    free(xml);
    return rc;
}

static void
test_header_rules(void **state)
{
    iso_problems pr;

    (void)state;
    assert_int_equal(read_edited("messages/pacs002-acsp.xml",
                                 "<head:BICFI>CRSPUS30XXX</head:BICFI>",
                                 "<head:BICFI>EVILUS33XXX</head:BICFI>", &pr),
                     ISO_ERR_INVALID);
    assert_int_equal(pr.n, 1);
    assert_string_equal(pr.items[0].code, "HEADER_FROM_MISMATCH");
    assert_string_equal(pr.items[0].path, "/Envelope/AppHdr/Fr/FIId/FinInstnId/BICFI");
    /* BIC8 and its XXX BIC11 are the same party. */
    assert_int_equal(read_edited("messages/pacs002-acsp.xml",
                                 "<head:BICFI>CRSPUS30XXX</head:BICFI>",
                                 "<head:BICFI>CRSPUS30</head:BICFI>", &pr),
                     ISO_OK);
    assert_int_equal(read_edited("messages/camt029-cncl.xml",
                                 "<head:BICFI>CRDRGB20XXX</head:BICFI>",
                                 "<head:BICFI>CRDRGB20LON</head:BICFI>", &pr),
                     ISO_ERR_INVALID);
    assert_string_equal(pr.items[0].code, "HEADER_TO_MISMATCH");
    assert_int_equal(read_edited("messages/pacs004-return.xml", "<head:MsgDefIdr>pacs.004.001.09",
                                 "<head:MsgDefIdr>pacs.004.001.11", &pr),
                     ISO_ERR_INVALID);
    assert_string_equal(pr.items[0].code, "HEADER_MSG_MISMATCH");
}

static void
test_unsupported(void **state)
{
    iso_problems pr;

    (void)state;
    assert_int_equal(
        read_edited("messages/pacs002-acsp.xml", "pacs.002.001.10", "pacs.002.001.12", &pr),
        ISO_ERR_INVALID);
    assert_int_equal(pr.n, 1);
    assert_string_equal(pr.items[0].code, "UNSUPPORTED_MESSAGE");
    assert_string_equal(pr.items[0].path, "/Envelope/Document");
    assert_non_null(
        strstr(pr.items[0].text, "pacs.002.001.10, pacs.004.001.09 or camt.029.001.09"));
    assert_int_equal(read_edited("pain001/pain001-09-single.xml", "@@", "@@", &pr),
                     ISO_ERR_INVALID);
    assert_string_equal(pr.items[0].code, "UNSUPPORTED_MESSAGE");
}

static void
test_refusals(void **state)
{
    iso_problems pr;

    (void)state;
    /* A status Corridor does not act on: the profile. */
    assert_int_equal(
        read_edited("messages/pacs002-acsp.xml", "<pacs:TxSts>ACSP", "<pacs:TxSts>XXXX", &pr),
        ISO_ERR_INVALID);
    assert_string_equal(pr.items[0].code, "SCHEMA");
    /* No UETR: the profile. */
    assert_int_equal(read_edited("messages/pacs002-rjct.xml",
                                 "<pacs:OrgnlUETR>" TEST_UETR "</pacs:OrgnlUETR>", "", &pr),
                     ISO_ERR_INVALID);
    assert_string_equal(pr.items[0].code, "SCHEMA");
    /* Silver, three decimals of EUR, an amount Corridor does not read. */
    assert_int_equal(read_edited("messages/pacs004-return.xml",
                                 "<pacs:RtrdIntrBkSttlmAmt Ccy=\"EUR\"",
                                 "<pacs:RtrdIntrBkSttlmAmt Ccy=\"XAG\"", &pr),
                     ISO_ERR_INVALID);
    assert_string_equal(pr.items[0].code, "CURRENCY_NOT_ALLOWED");
    assert_string_equal(pr.items[0].path,
                        "/Envelope/Document/PmtRtr/TxInf/RtrdIntrBkSttlmAmt/@Ccy");
    assert_int_equal(read_edited("messages/pacs004-return.xml", ">10.00<", ">10.001<", &pr),
                     ISO_ERR_INVALID);
    assert_string_equal(pr.items[0].code, "AMOUNT_PRECISION");
    assert_int_equal(read_edited("messages/pacs004-return.xml", ">1224.56<", ">+1224.56<", &pr),
                     ISO_ERR_INVALID);
    assert_string_equal(pr.items[0].code, "AMOUNT_INVALID");
    /* Two transactions: one per message. */
    assert_int_equal(read_edited("messages/pacs002-rjct.xml", "</pacs:TxInfAndSts>",
                                 "</pacs:TxInfAndSts><pacs:TxInfAndSts/>", &pr),
                     ISO_ERR_INVALID);
    assert_string_equal(pr.items[0].code, "SCHEMA");
}

int
test_status_in_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cbpr_samples), cmocka_unit_test(test_message_fixtures),
        cmocka_unit_test(test_charges),      cmocka_unit_test(test_bare_document),
        cmocka_unit_test(test_header_rules), cmocka_unit_test(test_unsupported),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests_name("status_in", tests, setup, teardown);
}
