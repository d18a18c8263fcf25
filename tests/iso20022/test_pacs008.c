/*
 * test_pacs008.c — iso20022/pacs008.c: the built envelope, its values and element order, its
 * validity against the project profile and against the official ISO 20022 schemas, escaping,
 * and refusal when the result breaks the profile.
 */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#define CREATED 1795261530 /* 2026-11-21T11:45:30Z */
#define NS_HEAD "urn:iso:std:iso:20022:tech:xsd:head.001.001.02"
#define NS_PACS "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"
#define TX "/env:Envelope/pacs:Document/pacs:FIToFICstmrCdtTrf/pacs:CdtTrfTxInf/"

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
params(iso_pacs008_params *pp)
{
    memset(pp, 0, sizeof(*pp));
    snprintf(pp->msg_id, sizeof(pp->msg_id), "CRDR20261121-000000042");
    pp->created = CREATED;
    snprintf(pp->instructed_bic, sizeof(pp->instructed_bic), "CRSPUS30XXX");
}

/* The sample payment with a UETR, as the gateway hands it over. */
static void
instruction(iso_instruction *in)
{
    payment_instruction(in);
    snprintf(in->uetr, sizeof(in->uetr), "eb6305c9-1f7f-49de-aed0-16487c27b42d");
}

static char *
build_ok(const iso_instruction *in, size_t *len)
{
    iso_pacs008_params pp;
    iso_problems pr;
    char *xml = NULL;

    params(&pp);
    iso_problems_init(&pr);
    int rc = iso_pacs008_build(ctx, in, &pp, &xml, len, &pr);
    for (size_t i = 0; i < pr.n; i++)
        print_message("  %s %s: %s\n", pr.items[i].path, pr.items[i].code, pr.items[i].text);
    assert_int_equal(rc, ISO_OK);
    assert_non_null(xml);
    assert_int_equal(strlen(xml), *len);
    return xml;
}

/*
 * The AppHdr and Document of a built message against the official schemas. Without ../shared
 * this does nothing, so the other checks of a test still run; test_official_conformance is
 * the one that reports the skip.
 */
static void
assert_official(const char *xml, size_t len)
{
    xmlSchemaPtr head, pacs;
    xmlDocPtr doc;
    xmlNodePtr env;
    const char *why;

    if (!have_official())
        return;
    head = official_schema("head.001.001.02.xsd");
    pacs = official_schema("pacs.008.001.08.xsd");
    doc = parse_doc(xml, len);
    env = xmlDocGetRootElement(doc);
    if (!official_valid(head, child_element(env, NS_HEAD, "AppHdr"), &why))
        fail_msg("AppHdr breaks the official head.001.001.02: %s", why);
    if (!official_valid(pacs, child_element(env, NS_PACS, "Document"), &why))
        fail_msg("Document breaks the official pacs.008.001.08: %s", why);
    xmlFreeDoc(doc);
}

static void
assert_profile(const char *xml, size_t len)
{
    iso_problems pr;

    iso_problems_init(&pr);
    assert_int_equal(iso_validate(ctx, xml, len, &pr), ISO_OK);
    assert_int_equal(pr.n, 0);
}

static void
assert_xpath(xmlDocPtr doc, const char *expr, const char *want)
{
    char *got = xpath_text(doc, expr);

    if (got == NULL || strcmp(got, want) != 0)
        fail_msg("%s: \"%s\", expected \"%s\"", expr, got ? got : "(none)", want);
    xmlFree(got);
}

/* ---- tests --------------------------------------------------------------------------------- */

static void
test_envelope_shape(void **state)
{
    iso_instruction in;
    size_t len;
    char *xml;

    (void)state;
    instruction(&in);
    xml = build_ok(&in, &len);
    assert_true(strncmp(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 39) == 0);
    assert_non_null(strstr(xml, "<Envelope xmlns=\"urn:swift:xsd:envelope\">"));
    assert_non_null(strstr(xml, "<head:AppHdr xmlns:head=\"" NS_HEAD "\">"));
    assert_non_null(strstr(xml, "<pacs:Document xmlns:pacs=\"" NS_PACS "\">"));
    /* AppHdr comes before Document. */
    assert_true(strstr(xml, "AppHdr") < strstr(xml, "Document"));
    free(xml);
}

static void
test_values(void **state)
{
    iso_instruction in;
    xmlDocPtr doc;
    size_t len;
    char *xml;

    (void)state;
    instruction(&in);
    xml = build_ok(&in, &len);
    doc = parse_doc(xml, len);
    static const char *const want[][2] = {
        {"//head:Fr/head:FIId/head:FinInstnId/head:BICFI", "CRDRGB20XXX"},
        {"//head:To/head:FIId/head:FinInstnId/head:BICFI", "CRSPUS30XXX"},
        {"//head:BizMsgIdr", "CRDR20261121-000000042"},
        {"//head:MsgDefIdr", "pacs.008.001.08"},
        {"//head:BizSvc", "swift.cbprplus.02"},
        {"//head:CreDt", "2026-11-21T11:45:30+00:00"},
        {"//pacs:GrpHdr/pacs:MsgId", "CRDR20261121-000000042"},
        {"//pacs:GrpHdr/pacs:CreDtTm", "2026-11-21T11:45:30+00:00"},
        {"//pacs:GrpHdr/pacs:NbOfTxs", "1"},
        {"//pacs:GrpHdr/pacs:SttlmInf/pacs:SttlmMtd", "INDA"},
        {TX "pacs:PmtId/pacs:InstrId", "CRDR20261121-000"},
        {TX "pacs:PmtId/pacs:EndToEndId", "E2E-2026-0001"},
        {TX "pacs:PmtId/pacs:UETR", "eb6305c9-1f7f-49de-aed0-16487c27b42d"},
        {TX "pacs:IntrBkSttlmAmt", "1234.56"},
        {TX "pacs:IntrBkSttlmAmt/@Ccy", "EUR"},
        {TX "pacs:InstdAmt", "1234.56"},
        {TX "pacs:InstdAmt/@Ccy", "EUR"},
        {TX "pacs:ChrgBr", "SHAR"},
        {TX "pacs:InstgAgt/pacs:FinInstnId/pacs:BICFI", "CRDRGB20XXX"},
        {TX "pacs:InstdAgt/pacs:FinInstnId/pacs:BICFI", "CRSPUS30XXX"},
        {TX "pacs:IntrmyAgt1/pacs:FinInstnId/pacs:BICFI", "CRSPUS30XXX"},
        {TX "pacs:Dbtr/pacs:Nm", "Acme Corp"},
        {TX "pacs:Dbtr/pacs:PstlAdr/pacs:StrtNm", "1 Poultry"},
        {TX "pacs:Dbtr/pacs:PstlAdr/pacs:PstCd", "EC2R 8AH"},
        {TX "pacs:Dbtr/pacs:PstlAdr/pacs:TwnNm", "London"},
        {TX "pacs:Dbtr/pacs:PstlAdr/pacs:Ctry", "GB"},
        {TX "pacs:DbtrAcct/pacs:Id/pacs:IBAN", "GB33BUKB20201555555555"},
        {TX "pacs:DbtrAgt/pacs:FinInstnId/pacs:BICFI", "CRDRGB20XXX"},
        {TX "pacs:CdtrAgt/pacs:FinInstnId/pacs:BICFI", "BENFDE20XXX"},
        {TX "pacs:Cdtr/pacs:Nm", "Jane Smith"},
        {TX "pacs:Cdtr/pacs:PstlAdr/pacs:Ctry", "DE"},
        {TX "pacs:CdtrAcct/pacs:Id/pacs:IBAN", "DE89370400440532013000"},
        {TX "pacs:Purp/pacs:Cd", "GDDS"},
        {TX "pacs:RmtInf/pacs:Ustrd", "Invoice 42"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_xpath(doc, want[i][0], want[i][1]);
    /* The settlement date is the requested execution date. */
    assert_xpath(doc, TX "pacs:IntrBkSttlmDt", in.requested_execution_date);
    xmlFreeDoc(doc);
    free(xml);
}

/* The transaction's children come in the order of the official CreditTransferTransaction39. */
static void
test_element_order(void **state)
{
    static const char *const order[] = {
        "PmtId",    "IntrBkSttlmAmt", "IntrBkSttlmDt", "InstdAmt",   "ChrgBr", "InstgAgt",
        "InstdAgt", "IntrmyAgt1",     "IntrmyAgt2",    "IntrmyAgt3", "Dbtr",   "DbtrAcct",
        "DbtrAgt",  "CdtrAgt",        "Cdtr",          "CdtrAcct",   "Purp",   "RmtInf",
    };
    iso_instruction in;
    xmlDocPtr doc;
    xmlNodePtr tx;
    size_t len, i = 0;
    char *xml;

    (void)state;
    instruction(&in);
    in.n_intermediaries = 3;
    snprintf(in.intermediaries[1].bic, sizeof(in.intermediaries[1].bic), "CHASUS33XXX");
    snprintf(in.intermediaries[2].bic, sizeof(in.intermediaries[2].bic), "DEUTDEFF");
    xml = build_ok(&in, &len);
    doc = parse_doc(xml, len);
    tx = child_element(child_element(child_element(xmlDocGetRootElement(doc), NS_PACS, "Document"),
                                     NS_PACS, "FIToFICstmrCdtTrf"),
                       NS_PACS, "CdtTrfTxInf");
    assert_non_null(tx);
    for (xmlNodePtr c = tx->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        assert_true(i < sizeof(order) / sizeof(order[0]));
        assert_string_equal((const char *)c->name, order[i++]);
    }
    assert_int_equal(i, sizeof(order) / sizeof(order[0]));
    assert_official(xml, len);
    xmlFreeDoc(doc);
    free(xml);
}

static void
test_valid_against_profile_and_official(void **state)
{
    iso_instruction in;
    size_t len;
    char *xml;

    (void)state;
    instruction(&in);
    xml = build_ok(&in, &len);
    assert_profile(xml, len);
    official_schema("pacs.008.001.08.xsd"); /* says so and skips without ../shared */
    assert_official(xml, len);
    free(xml);
}

/* Fewest fields: Othr accounts, no address, no intermediary, purpose or remittance; JPY. */
static void
test_minimal_and_other_currencies(void **state)
{
    static const struct {
        const char *ccy;
        int exponent;
        int64_t minor;
        const char *text;
    } amounts[] = {{"JPY", 0, 1235, "1235"},
                   {"BHD", 3, 1234, "1.234"},
                   {"EUR", 2, 1, "0.01"},
                   {"CLF", 4, 123456789, "12345.6789"},
                   {"USD", 2, 999999999999999999, "9999999999999999.99"}};
    iso_instruction in;
    xmlDocPtr doc;
    size_t len;
    char *xml;

    (void)state;
    for (size_t i = 0; i < sizeof(amounts) / sizeof(amounts[0]); i++) {
        instruction(&in);
        memset(&in.debtor.account, 0, sizeof(in.debtor.account));
        snprintf(in.debtor.account.other, sizeof(in.debtor.account.other), "25698745");
        memset(&in.creditor.address, 0, sizeof(in.creditor.address));
        memset(&in.debtor.address, 0, sizeof(in.debtor.address));
        in.n_intermediaries = 0;
        in.purpose[0] = in.remittance_information[0] = '\0';
        snprintf(in.currency, sizeof(in.currency), "%s", amounts[i].ccy);
        in.exponent = amounts[i].exponent;
        in.amount_minor = amounts[i].minor;
        snprintf(in.instruction_id, sizeof(in.instruction_id), "INSTR/1");
        xml = build_ok(&in, &len);
        doc = parse_doc(xml, len);
        assert_xpath(doc, TX "pacs:IntrBkSttlmAmt", amounts[i].text);
        assert_xpath(doc, TX "pacs:DbtrAcct/pacs:Id/pacs:Othr/pacs:Id", "25698745");
        assert_xpath(doc, TX "pacs:PmtId/pacs:InstrId", "INSTR/1");
        assert_null(xpath_text(doc, TX "pacs:IntrmyAgt1"));
        assert_null(xpath_text(doc, TX "pacs:Dbtr/pacs:PstlAdr"));
        assert_null(xpath_text(doc, TX "pacs:RmtInf"));
        assert_profile(xml, len);
        assert_official(xml, len);
        xmlFreeDoc(doc);
        free(xml);
    }
}

/* User text with markup characters is escaped by libxml2 and comes back unchanged. */
static void
test_escaping_round_trip(void **state)
{
    /* Every character of the CBPR+ set, which the profile's pattern must take too. */
    static const char name[] = "Smith & Sons <Ltd> \"quoted\" 'x' {a} #1 @b %c *d ;e =f +g "
                               "!h ?i _j :k /l (m) ,n .o -p";
    static const char rmt[] = "</pacs:Ustrd><pacs:Evil>&amp; <!-- x -->";
    iso_instruction in;
    xmlDocPtr doc;
    size_t len;
    char *xml;

    (void)state;
    instruction(&in);
    snprintf(in.debtor.name, sizeof(in.debtor.name), "%s", name);
    snprintf(in.remittance_information, sizeof(in.remittance_information), "%s", rmt);
    snprintf(in.debtor.address.street, sizeof(in.debtor.address.street), "<&>");
    xml = build_ok(&in, &len);
    assert_non_null(strstr(xml, "Smith &amp; Sons &lt;Ltd&gt;"));
    assert_null(strstr(xml, "<pacs:Evil>"));
    assert_non_null(strstr(xml, "&amp;amp;"));
    doc = parse_doc(xml, len);
    assert_xpath(doc, TX "pacs:Dbtr/pacs:Nm", name);
    assert_xpath(doc, TX "pacs:RmtInf/pacs:Ustrd", rmt);
    assert_xpath(doc, TX "pacs:Dbtr/pacs:PstlAdr/pacs:StrtNm", "<&>");
    assert_profile(xml, len);
    assert_official(xml, len);
    xmlFreeDoc(doc);
    free(xml);
}

/* A message the profile refuses is not returned; the problems point into the built tree. */
static void
test_profile_refusal(void **state)
{
    iso_pacs008_params pp;
    iso_instruction in;
    iso_problems pr;
    char *xml = (char *)"untouched";
    size_t len = 99;

    (void)state;
    instruction(&in);
    params(&pp);
    snprintf(pp.msg_id, sizeof(pp.msg_id), "MSG~1"); /* '~' is outside the CBPR+ set */
    iso_problems_init(&pr);
    assert_int_equal(iso_pacs008_build(ctx, &in, &pp, &xml, &len, &pr), ISO_ERR_INVALID);
    assert_null(xml);
    assert_int_equal(len, 0);
    assert_true(pr.n >= 2);
    for (size_t i = 0; i < pr.n; i++)
        assert_string_equal(pr.items[i].code, "SCHEMA");
    assert_string_equal(pr.items[0].path, "/Envelope/AppHdr/BizMsgIdr");
    assert_string_equal(pr.items[1].path, "/Envelope/Document/FIToFICstmrCdtTrf/GrpHdr/MsgId");

    params(&pp);
    pp.instructed_bic[0] = '\0';
    in.uetr[0] = '\0';
    iso_problems_init(&pr);
    assert_int_equal(iso_pacs008_build(ctx, &in, &pp, &xml, &len, &pr), ISO_ERR_INVALID);
    assert_true(pr.n >= 3); /* To, InstdAgt, UETR */
}

int
test_pacs008_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope_shape),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_element_order),
        cmocka_unit_test(test_valid_against_profile_and_official),
        cmocka_unit_test(test_minimal_and_other_currencies),
        cmocka_unit_test(test_escaping_round_trip),
        cmocka_unit_test(test_profile_refusal),
    };
    return cmocka_run_group_tests_name("pacs008", tests, setup, teardown);
}
