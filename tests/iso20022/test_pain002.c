/*
 * test_pain002.c — iso20022/pain002.c: the customer's status report, its values, its validity
 * against the project profile and the official pain.002.001.10, optional parts, refusal.
 */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#define CREATED 1795261530 /* 2026-11-21T11:45:30Z */
#define TX "/p2:Document/p2:CstmrPmtStsRpt/p2:OrgnlPmtInfAndSts/p2:TxInfAndSts/"

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
params(iso_pain002_params *p)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->msg_id, sizeof(p->msg_id), "CRDR-STS-0001");
    p->created = CREATED;
    snprintf(p->initiating_party, sizeof(p->initiating_party), "ACME-001");
    snprintf(p->debtor_agent_bic, sizeof(p->debtor_agent_bic), "CRDRGB20XXX");
    snprintf(p->original_msg_id, sizeof(p->original_msg_id), "ACME-PAIN-0001");
    snprintf(p->original_msg_name, sizeof(p->original_msg_name), "pain.001.001.09");
    snprintf(p->original_e2e_id, sizeof(p->original_e2e_id), "E2E-2026-0001");
    snprintf(p->original_instr_id, sizeof(p->original_instr_id), "ACME-I-0001");
    snprintf(p->uetr, sizeof(p->uetr), TEST_UETR);
    snprintf(p->status, sizeof(p->status), "RJCT");
    snprintf(p->reason, sizeof(p->reason), "AM04");
    p->amount_minor = 123456;
    p->exponent = 2;
    snprintf(p->currency, sizeof(p->currency), "EUR");
}

static char *
build_ok(const iso_pain002_params *p, size_t *len)
{
    iso_problems pr;
    char *xml = NULL;
    int rc;

    iso_problems_init(&pr);
    rc = iso_pain002_build(ctx, p, &xml, len, &pr);
    for (size_t i = 0; i < pr.n; i++)
        print_message("  %s %s: %s\n", pr.items[i].path, pr.items[i].code, pr.items[i].text);
    assert_int_equal(rc, ISO_OK);
    assert_non_null(xml);
    return xml;
}

static void
assert_xpath(xmlDocPtr doc, const char *expr, const char *want)
{
    char *got = xpath_text(doc, expr);

    if (got == NULL || strcmp(got, want) != 0)
        fail_msg("%s: \"%s\", expected \"%s\"", expr, got ? got : "(none)", want);
    xmlFree(got);
}

static void
assert_profile(const char *xml, size_t len)
{
    iso_problems pr;

    iso_problems_init(&pr);
    assert_int_equal(iso_validate(ctx, xml, len, &pr), ISO_OK);
}

static void
test_values_and_conformance(void **state)
{
    static const char *const want[][2] = {
        {"/p2:Document/p2:CstmrPmtStsRpt/p2:GrpHdr/p2:MsgId", "CRDR-STS-0001"},
        {"//p2:GrpHdr/p2:CreDtTm", "2026-11-21T11:45:30+00:00"},
        {"//p2:GrpHdr/p2:InitgPty/p2:Id/p2:OrgId/p2:Othr/p2:Id", "ACME-001"},
        {"//p2:GrpHdr/p2:DbtrAgt/p2:FinInstnId/p2:BICFI", "CRDRGB20XXX"},
        {"//p2:OrgnlGrpInfAndSts/p2:OrgnlMsgId", "ACME-PAIN-0001"},
        {"//p2:OrgnlGrpInfAndSts/p2:OrgnlMsgNmId", "pain.001.001.09"},
        {"//p2:OrgnlPmtInfAndSts/p2:OrgnlPmtInfId", "ACME-PAIN-0001"},
        {TX "p2:OrgnlInstrId", "ACME-I-0001"},
        {TX "p2:OrgnlEndToEndId", "E2E-2026-0001"},
        {TX "p2:OrgnlUETR", TEST_UETR},
        {TX "p2:TxSts", "RJCT"},
        {TX "p2:StsRsnInf/p2:Rsn/p2:Cd", "AM04"},
        {TX "p2:OrgnlTxRef/p2:Amt/p2:InstdAmt", "1234.56"},
        {TX "p2:OrgnlTxRef/p2:Amt/p2:InstdAmt/@Ccy", "EUR"},
    };
    iso_pain002_params p;
    xmlDocPtr doc;
    size_t len;
    char *xml;

    (void)state;
    params(&p);
    xml = build_ok(&p, &len);
    assert_true(strncmp(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 39) == 0);
    assert_null(strstr(xml, "AppHdr")); /* bank to customer: no header */
    doc = parse_doc(xml, len);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_xpath(doc, want[i][0], want[i][1]);
    xmlFreeDoc(doc);
    assert_profile(xml, len);
    official_schema("pain.002.001.10.xsd"); /* says so and skips without ../shared */
    assert_official_message(xml, len, "pain.002.001.10.xsd");
    free(xml);
}

/* ACSP without reason, instruction id or amount: those parts are left out. */
static void
test_optional_parts(void **state)
{
    iso_pain002_params p;
    xmlDocPtr doc;
    size_t len;
    char *xml;

    (void)state;
    params(&p);
    snprintf(p.status, sizeof(p.status), "ACSP");
    p.reason[0] = p.original_instr_id[0] = p.currency[0] = '\0';
    snprintf(p.original_msg_name, sizeof(p.original_msg_name), "corridor.json");
    xml = build_ok(&p, &len);
    doc = parse_doc(xml, len);
    assert_null(xpath_text(doc, TX "p2:StsRsnInf"));
    assert_null(xpath_text(doc, TX "p2:OrgnlInstrId"));
    assert_null(xpath_text(doc, TX "p2:OrgnlTxRef"));
    assert_xpath(doc, TX "p2:TxSts", "ACSP");
    xmlFreeDoc(doc);
    assert_profile(xml, len);
    assert_official_message(xml, len, "pain.002.001.10.xsd");
    free(xml);
}

static void
test_refusal(void **state)
{
    iso_pain002_params p;
    iso_problems pr;
    char *xml = (char *)"untouched";
    size_t len = 9;

    (void)state;
    params(&p);
    snprintf(p.status, sizeof(p.status), "NOPE");
    snprintf(p.uetr, sizeof(p.uetr), "not-a-uetr");
    iso_problems_init(&pr);
    assert_int_equal(iso_pain002_build(ctx, &p, &xml, &len, &pr), ISO_ERR_INVALID);
    assert_null(xml);
    assert_int_equal(len, 0);
    assert_int_equal(pr.n, 2);
    assert_string_equal(pr.items[0].path,
                        "/Document/CstmrPmtStsRpt/OrgnlPmtInfAndSts/TxInfAndSts/OrgnlUETR");
    assert_string_equal(pr.items[1].code, "SCHEMA");
    /* A currency that is not money is the rules' to refuse. */
    params(&p);
    snprintf(p.currency, sizeof(p.currency), "XAU");
    iso_problems_init(&pr);
    assert_int_equal(iso_pain002_build(ctx, &p, &xml, &len, &pr), ISO_ERR_INVALID);
    assert_string_equal(pr.items[0].code, "CURRENCY_NOT_ALLOWED");
}

int
test_pain002_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_conformance),
        cmocka_unit_test(test_optional_parts),
        cmocka_unit_test(test_refusal),
    };
    return cmocka_run_group_tests_name("pain002", tests, setup, teardown);
}
