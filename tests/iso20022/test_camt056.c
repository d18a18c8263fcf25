/*
 * test_camt056.c — iso20022/camt056.c: the recall, its envelope and header, its values, its
 * validity against the project profiles and the official camt.056.001.08 / head.001.001.02,
 * and refusal (profile, header rule).
 */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#define CREATED 1795261530 /* 2026-11-21T11:45:30Z */
#define TX "/env:Envelope/c56:Document/c56:FIToFIPmtCxlReq/c56:Undrlyg/c56:TxInf/"

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
params(iso_camt056_params *p)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->msg_id, sizeof(p->msg_id), "CRDR-CXL-0001");
    p->created = CREATED;
    snprintf(p->assigner_bic, sizeof(p->assigner_bic), "CRDRGB20XXX");
    snprintf(p->assignee_bic, sizeof(p->assignee_bic), "CRSPUS30XXX");
    snprintf(p->case_id, sizeof(p->case_id), "CRDR-CASE-0001");
    snprintf(p->original_msg_id, sizeof(p->original_msg_id), "CRDR20261121-000000042");
    snprintf(p->original_instr_id, sizeof(p->original_instr_id), "CRDR20261121-000");
    snprintf(p->original_e2e_id, sizeof(p->original_e2e_id), "E2E-2026-0001");
    snprintf(p->uetr, sizeof(p->uetr), TEST_UETR);
    p->amount_minor = 123456;
    p->exponent = 2;
    snprintf(p->currency, sizeof(p->currency), "EUR");
    snprintf(p->settlement_date, sizeof(p->settlement_date), "2026-11-21");
    snprintf(p->reason, sizeof(p->reason), "CUST");
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
test_values_and_conformance(void **state)
{
    static const char *const want[][2] = {
        {"//head:Fr//head:BICFI", "CRDRGB20XXX"},
        {"//head:To//head:BICFI", "CRSPUS30XXX"},
        {"//head:BizMsgIdr", "CRDR-CXL-0001"},
        {"//head:MsgDefIdr", "camt.056.001.08"},
        {"//head:CreDt", "2026-11-21T11:45:30+00:00"},
        {"//c56:Assgnmt/c56:Id", "CRDR-CXL-0001"},
        {"//c56:Assgnmt/c56:Assgnr/c56:Agt/c56:FinInstnId/c56:BICFI", "CRDRGB20XXX"},
        {"//c56:Assgnmt/c56:Assgne/c56:Agt/c56:FinInstnId/c56:BICFI", "CRSPUS30XXX"},
        {"//c56:Assgnmt/c56:CreDtTm", "2026-11-21T11:45:30+00:00"},
        {TX "c56:Case/c56:Id", "CRDR-CASE-0001"},
        {TX "c56:Case/c56:Cretr/c56:Agt/c56:FinInstnId/c56:BICFI", "CRDRGB20XXX"},
        {TX "c56:OrgnlGrpInf/c56:OrgnlMsgId", "CRDR20261121-000000042"},
        {TX "c56:OrgnlGrpInf/c56:OrgnlMsgNmId", "pacs.008.001.08"},
        {TX "c56:OrgnlInstrId", "CRDR20261121-000"},
        {TX "c56:OrgnlEndToEndId", "E2E-2026-0001"},
        {TX "c56:OrgnlUETR", TEST_UETR},
        {TX "c56:OrgnlIntrBkSttlmAmt", "1234.56"},
        {TX "c56:OrgnlIntrBkSttlmAmt/@Ccy", "EUR"},
        {TX "c56:OrgnlIntrBkSttlmDt", "2026-11-21"},
        {TX "c56:CxlRsnInf/c56:Orgtr/c56:Id/c56:OrgId/c56:AnyBIC", "CRDRGB20XXX"},
        {TX "c56:CxlRsnInf/c56:Rsn/c56:Cd", "CUST"},
    };
    iso_camt056_params p;
    iso_problems pr;
    xmlDocPtr doc;
    size_t len;
    char *xml;

    (void)state;
    params(&p);
    iso_problems_init(&pr);
    assert_int_equal(iso_camt056_build(ctx, &p, &xml, &len, &pr), ISO_OK);
    assert_non_null(strstr(xml, "<Envelope xmlns=\"urn:swift:xsd:envelope\">"));
    doc = parse_doc(xml, len);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_xpath(doc, want[i][0], want[i][1]);
    xmlFreeDoc(doc);
    iso_problems_init(&pr);
    assert_int_equal(iso_validate(ctx, xml, len, &pr), ISO_OK);
    official_schema("camt.056.001.08.xsd"); /* says so and skips without ../shared */
    assert_official_message(xml, len, "camt.056.001.08.xsd");
    free(xml);
}

/* No instruction id: left out; JPY: no decimals. */
static void
test_optional_and_currency(void **state)
{
    iso_camt056_params p;
    iso_problems pr;
    xmlDocPtr doc;
    size_t len;
    char *xml;

    (void)state;
    params(&p);
    p.original_instr_id[0] = '\0';
    snprintf(p.currency, sizeof(p.currency), "JPY");
    p.exponent = 0;
    iso_problems_init(&pr);
    assert_int_equal(iso_camt056_build(ctx, &p, &xml, &len, &pr), ISO_OK);
    doc = parse_doc(xml, len);
    assert_null(xpath_text(doc, TX "c56:OrgnlInstrId"));
    assert_xpath(doc, TX "c56:OrgnlIntrBkSttlmAmt", "123456");
    xmlFreeDoc(doc);
    assert_official_message(xml, len, "camt.056.001.08.xsd");
    free(xml);
}

static void
test_refusal(void **state)
{
    iso_camt056_params p;
    iso_problems pr;
    char *xml = (char *)"untouched";
    size_t len = 9;

    (void)state;
    params(&p);
    snprintf(p.reason, sizeof(p.reason), "cust");
    p.amount_minor = 0;
    iso_problems_init(&pr);
    assert_int_equal(iso_camt056_build(ctx, &p, &xml, &len, &pr), ISO_ERR_INVALID);
    assert_null(xml);
    assert_int_equal(pr.n, 2);
    assert_string_equal(pr.items[0].code, "SCHEMA");
    assert_non_null(strstr(pr.items[0].path, "OrgnlIntrBkSttlmAmt"));
    assert_non_null(strstr(pr.items[1].path, "Rsn/Cd"));
}

int
test_camt056_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_conformance),
        cmocka_unit_test(test_optional_and_currency),
        cmocka_unit_test(test_refusal),
    };
    return cmocka_run_group_tests_name("camt056", tests, setup, teardown);
}
