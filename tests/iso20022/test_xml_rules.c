/*
 * test_xml_rules.c — iso20022/xml_rules.c: each cross-field rule with its own code and path,
 * on a pacs.008 the builder made and then edited; the same rules as the builders apply them.
 */
#include "test_util.h"

#include "iso_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TXP "/Envelope/Document/FIToFICstmrCdtTrf/CdtTrfTxInf/"

static iso_ctx *ctx;
static char *built; /* the sample payment's pacs.008, CRED, JPY-free */

static int
setup(void **state)
{
    iso_pacs008_params pp = {.msg_id = "MSG-0001", .instructed_bic = "CRSPUS30XXX"};
    iso_instruction in;
    iso_problems pr;
    size_t len;

    (void)state;
    if (iso_ctx_new(&ctx) != ISO_OK)
        return -1;
    pp.created = time(NULL);
    payment_instruction(&in);
    snprintf(in.uetr, sizeof(in.uetr), TEST_UETR);
    snprintf(in.charge_bearer, sizeof(in.charge_bearer), "CRED");
    iso_problems_init(&pr);
    return iso_pacs008_build(ctx, &in, &pp, &built, &len, &pr) == ISO_OK ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    free(built);
    iso_ctx_free(ctx);
    return 0;
}

/* The built message with edits applied (pairs of from, to), through every pacs.008 rule and
 * the header rules; problems in pr. */
static void
rules_on(const char *const *edits, size_t n_edits, iso_problems *pr)
{
    char *xml = strdup(built), *next;
    struct iso_parts parts;
    xmlDocPtr doc;

    assert_non_null(xml);
    for (size_t i = 0; i < n_edits; i++) {
        assert_non_null(strstr(xml, edits[2 * i]));
        next = replace_all(xml, edits[2 * i], edits[2 * i + 1]);
        free(xml);
        xml = next;
    }
    doc = parse_doc(xml, strlen(xml));
    iso_problems_init(pr);
    assert_int_equal(iso_xml_parts(doc, &parts, pr), ISO_OK);
    iso_rules_walk(pr, parts.doc, ISO_RULES_PACS008, iso_days_of(time(NULL)));
    iso_rules_header(pr, &parts);
    xmlFreeDoc(doc);
    free(xml);
}

static void
expect_one(const char *const *edits, size_t n_edits, const char *path, const char *code)
{
    iso_problems pr;

    rules_on(edits, n_edits, &pr);
    for (size_t i = 0; i < pr.n; i++)
        print_message("  %s %s: %s\n", pr.items[i].path, pr.items[i].code, pr.items[i].text);
    assert_int_equal(pr.n, 1);
    assert_string_equal(pr.items[0].path, path);
    assert_string_equal(pr.items[0].code, code);
}

static void
test_built_message_passes(void **state)
{
    iso_problems pr;

    (void)state;
    rules_on(NULL, 0, &pr);
    assert_int_equal(pr.n, 0);
    assert_non_null(strstr(built, "<pacs:ChrgBr>CRED</pacs:ChrgBr><pacs:ChrgsInf>"));
}

static void
test_charges(void **state)
{
    const char *required[] = {"<pacs:ChrgsInf>", "<pacs:Ignored>", "</pacs:ChrgsInf>",
                              "</pacs:Ignored>"};
    const char *debt[] = {"<pacs:ChrgBr>CRED</pacs:ChrgBr>", "<pacs:ChrgBr>DEBT</pacs:ChrgBr>",
                          "</pacs:ChrgsInf>",
                          ("</pacs:ChrgsInf><pacs:ChrgsInf><pacs:Amt Ccy=\"EUR\">1.00</pacs:Amt>"
                           "</pacs:ChrgsInf>")};
    const char *debt_one[] = {"<pacs:ChrgBr>CRED</pacs:ChrgBr>", "<pacs:ChrgBr>DEBT</pacs:ChrgBr>"};
    iso_problems pr;

    (void)state;
    expect_one(required, 2, TXP "ChrgBr", "CHARGES_REQUIRED");
    expect_one(debt, 2, TXP "ChrgsInf[2]", "CHARGES_DEBT_ONE");
    rules_on(debt_one, 1, &pr); /* DEBT with its one ChrgsInf is fine */
    assert_int_equal(pr.n, 0);
}

static void
test_remittance(void **state)
{
    const char *both[] = {"</pacs:Ustrd>", "</pacs:Ustrd><pacs:Strd/>"};

    (void)state;
    expect_one(both, 1, TXP "RmtInf", "REMITTANCE_BOTH");
}

static void
test_currencies_and_amounts(void **state)
{
    const char *metal[] = {"<pacs:IntrBkSttlmAmt Ccy=\"EUR\"", "<pacs:IntrBkSttlmAmt Ccy=\"XPT\""};
    const char *unknown[] = {"<pacs:InstdAmt Ccy=\"EUR\"", "<pacs:InstdAmt Ccy=\"EUX\""};
    const char *jpy[] = {"Ccy=\"EUR\">1234.56</pacs:IntrBkSttlmAmt>",
                         "Ccy=\"JPY\">1234.56</pacs:IntrBkSttlmAmt>"};
    const char *bhd[] = {"Ccy=\"EUR\">0.00</pacs:Amt>", "Ccy=\"BHD\">0.0001</pacs:Amt>"};

    (void)state;
    expect_one(metal, 1, TXP "IntrBkSttlmAmt/@Ccy", "CURRENCY_NOT_ALLOWED");
    expect_one(unknown, 1, TXP "InstdAmt/@Ccy", "CURRENCY_UNKNOWN");
    expect_one(jpy, 1, TXP "IntrBkSttlmAmt", "AMOUNT_PRECISION");
    expect_one(bhd, 1, TXP "ChrgsInf/Amt", "AMOUNT_PRECISION");
}

static void
test_references_and_text(void **state)
{
    const char *slash[] = {"<pacs:InstrId>MSG-0001</pacs:InstrId>",
                           "<pacs:InstrId>MSG-0001/</pacs:InstrId>"};
    const char *finx[] = {"<pacs:EndToEndId>E2E-2026-0001", "<pacs:EndToEndId>E2E_2026_0001"};
    const char *cbpr[] = {"<pacs:Nm>Jane Smith</pacs:Nm>", "<pacs:Nm>Jane [Smith]</pacs:Nm>"};
    const char *extended[] = {"<pacs:Nm>Jane Smith</pacs:Nm>",
                              "<pacs:Nm>Jane_Smith @ #1</pacs:Nm>"};
    iso_problems pr;

    (void)state;
    expect_one(slash, 1, TXP "PmtId/InstrId", "SLASH");
    expect_one(finx, 1, TXP "PmtId/EndToEndId", "CHARSET");
    expect_one(cbpr, 1, TXP "Cdtr/Nm", "CHARSET");
    rules_on(extended, 1, &pr); /* names take the wider CBPR+ set */
    assert_int_equal(pr.n, 0);
}

static void
test_settlement_date(void **state)
{
    char today[11], past[11];
    const char *edit[2];

    (void)state;
    date_text(time(NULL), 0, today);
    date_text(time(NULL), -1, past);
    edit[0] = today;
    edit[1] = past;
    /* Every date of today becomes yesterday; IntrBkSttlmDt is the only one a rule looks at. */
    expect_one(edit, 1, TXP "IntrBkSttlmDt", "DATE_PAST");
}

static void
test_header(void **state)
{
    const char *from[] = {"<head:Fr><head:FIId><head:FinInstnId><head:BICFI>CRDRGB20XXX",
                          "<head:Fr><head:FIId><head:FinInstnId><head:BICFI>CRDRGB20LON"};
    const char *to[] = {"<head:To><head:FIId><head:FinInstnId><head:BICFI>CRSPUS30XXX",
                        "<head:To><head:FIId><head:FinInstnId><head:BICFI>BENFDE20XXX"};
    const char *bic8[] = {"<head:To><head:FIId><head:FinInstnId><head:BICFI>CRSPUS30XXX",
                          "<head:To><head:FIId><head:FinInstnId><head:BICFI>CRSPUS30"};
    const char *def[] = {"<head:MsgDefIdr>pacs.008.001.08", "<head:MsgDefIdr>pacs.008.001.09"};
    iso_problems pr;

    (void)state;
    expect_one(from, 1, "/Envelope/AppHdr/Fr/FIId/FinInstnId/BICFI", "HEADER_FROM_MISMATCH");
    expect_one(to, 1, "/Envelope/AppHdr/To/FIId/FinInstnId/BICFI", "HEADER_TO_MISMATCH");
    expect_one(def, 1, "/Envelope/AppHdr/MsgDefIdr", "HEADER_MSG_MISMATCH");
    rules_on(bic8, 1, &pr);
    assert_int_equal(pr.n, 0);
    assert_true(iso_bic_same_party("CRSPUS30", "CRSPUS30XXX"));
    assert_false(iso_bic_same_party("CRSPUS30NYC", "CRSPUS30XXX"));
    assert_false(iso_bic_same_party("CRSPUS30", "garbage"));
}

/* The builder applies them: a message created after its settlement date is refused. */
static void
test_builder_applies_rules(void **state)
{
    iso_pacs008_params pp = {.msg_id = "MSG-0001", .instructed_bic = "CRSPUS30XXX"};
    iso_instruction in;
    iso_problems pr;
    char *xml;
    size_t len;

    (void)state;
    payment_instruction(&in);
    snprintf(in.uetr, sizeof(in.uetr), TEST_UETR);
    pp.created = time(NULL) + 2 * 86400;
    iso_problems_init(&pr);
    assert_int_equal(iso_pacs008_build(ctx, &in, &pp, &xml, &len, &pr), ISO_ERR_INVALID);
    assert_int_equal(pr.n, 1);
    assert_string_equal(pr.items[0].code, "DATE_PAST");
    assert_null(xml);
}

int
test_xml_rules_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_built_message_passes),
        cmocka_unit_test(test_charges),
        cmocka_unit_test(test_remittance),
        cmocka_unit_test(test_currencies_and_amounts),
        cmocka_unit_test(test_references_and_text),
        cmocka_unit_test(test_settlement_date),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_builder_applies_rules),
    };
    return cmocka_run_group_tests_name("xml_rules", tests, setup, teardown);
}
