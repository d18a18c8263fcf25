/*
 * test_pain001.c — iso20022/pain001.c (with xslt/ and xslt.c): every transaction of every valid
 * fixture in samples/pain001 becomes a pacs.008 valid against the project profile and the
 * official schemas; the instruction read from it; the fields the JSON model has no place for
 * carried across; both versions; all-or-nothing; and every samples/invalid/pain001-*.xml with
 * exactly the problems of its .expect.
 */
#include "test_util.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TX "/env:Envelope/pacs:Document/pacs:FIToFICstmrCdtTrf/pacs:CdtTrfTxInf/"
#define MAX_FIXTURES 64
#define N_THREADS 4
#define PER_THREAD 10

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

/* A samples/ file read with today's date; asserted accepted. */
static void
read_ok(const char *rel, iso_pain001 *out)
{
    size_t len;
    char *xml = sample_file(rel, &len);
    iso_problems pr;
    int rc;

    assert_non_null(xml);
    iso_problems_init(&pr);
    rc = iso_pain001_read(ctx, xml, len, time(NULL), out, &pr);
    if (rc != ISO_OK) {
        dump(&pr);
        fail_msg("%s: %s", rel, iso_strerror(rc));
    }
    free(xml);
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
assert_absent(xmlDocPtr doc, const char *expr)
{
    char *got = xpath_text(doc, expr);

    if (got != NULL)
        fail_msg("%s is there: \"%s\"", expr, got);
}

/* Every pacs.008 of a read pain.001: the profile (iso_validate) and the official schemas. */
static void
assert_all_valid(const iso_pain001 *p)
{
    iso_problems pr;

    for (size_t i = 0; i < p->n_tx; i++) {
        assert_non_null(p->tx[i].pacs008);
        assert_int_equal(strlen(p->tx[i].pacs008), p->tx[i].pacs008_len);
        iso_problems_init(&pr);
        if (iso_validate(ctx, p->tx[i].pacs008, p->tx[i].pacs008_len, &pr) != ISO_OK) {
            dump(&pr);
            fail_msg("transaction %zu: its pacs.008 breaks the profile", i);
        }
        assert_official_message(p->tx[i].pacs008, p->tx[i].pacs008_len, "pacs.008.001.08.xsd");
    }
}

/* ---- the valid fixtures -------------------------------------------------------------------- */

static void
test_every_fixture_transaction_is_conformant(void **state)
{
    static const struct {
        const char *file;
        const char *version;
        size_t n_tx;
    } fixtures[] = {
        {"pain001/pain001-09-single.xml", "pain.001.001.09", 1},
        {"pain001/pain001-09-multi.xml", "pain.001.001.09", 5},
        {"pain001/pain001-03-single.xml", "pain.001.001.03", 1},
        {"pain001/pain001-03-multi.xml", "pain.001.001.03", 5},
        {"pain001/pain001-09-envelope.xml", "pain.001.001.09", 1},
    };
    iso_pain001 p;

    (void)state;
    official_schema("pacs.008.001.08.xsd"); /* says so (and skips) without ../shared */
    for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        read_ok(fixtures[i].file, &p);
        assert_string_equal(p.version, fixtures[i].version);
        assert_string_equal(p.customer_id, "ACME-001");
        assert_int_equal(p.n_tx, fixtures[i].n_tx);
        assert_all_valid(&p);
        iso_pain001_free(&p);
    }
}

/* What the model holds for the single transaction, in both versions. */
static void
test_instruction_fields(void **state)
{
    static const char *const files[] = {"pain001/pain001-09-single.xml",
                                        "pain001/pain001-03-single.xml"};
    char today[11];
    iso_pain001 p;

    (void)state;
    date_text(time(NULL), 0, today);
    for (size_t i = 0; i < 2; i++) {
        read_ok(files[i], &p);
        const iso_instruction *in = &p.tx[0].in;
        assert_string_equal(in->end_to_end_id, "E2E-2026-0001");
        assert_string_equal(in->instruction_id, "ACME-I-0001");
        assert_string_equal(in->customer_id, "ACME-001");
        assert_true(iso_uetr_valid(in->uetr)); /* generated: neither file has one */
        assert_int_equal(in->amount_minor, 123456);
        assert_int_equal(in->exponent, 2);
        assert_string_equal(in->currency, "EUR");
        assert_string_equal(in->requested_execution_date, today);
        assert_string_equal(in->charge_bearer, "SHAR");
        assert_string_equal(in->debtor.name, "Acme Corp");
        assert_string_equal(in->debtor.account.iban, "GB33BUKB20201555555555");
        assert_string_equal(in->debtor.address.street, "1 Poultry");
        assert_string_equal(in->debtor.address.postcode, "EC2R 8AH");
        assert_string_equal(in->debtor.address.country, "GB");
        assert_string_equal(in->debtor_agent.bic, "CRDRGB20XXX");
        assert_int_equal(in->n_intermediaries, 1);
        assert_string_equal(in->intermediaries[0].bic, "CRSPUS30XXX");
        assert_string_equal(in->creditor_agent.bic, "BENFDE20XXX");
        assert_string_equal(in->creditor.name, "Jane Smith");
        assert_string_equal(in->creditor.account.iban, "DE89370400440532013000");
        assert_string_equal(in->creditor.address.town, "Frankfurt");
        assert_string_equal(in->remittance_information, "Invoice 42");
        assert_string_equal(in->purpose, "GDDS");
        assert_string_equal(p.message_id, i == 0 ? "ACME-PAIN-0001" : "ACME-P03-0001");
        /* The instructed agent is the first intermediary. */
        assert_string_equal(p.tx[0].instructed_bic, "CRSPUS30XXX");
        assert_int_equal(strlen(p.tx[0].msg_id), 32);
        iso_pain001_free(&p);
    }
}

/* The pacs.008 of the single transaction: values, generated ones, header. */
static void
test_pacs008_values(void **state)
{
    iso_pain001 p;
    xmlDocPtr doc;

    (void)state;
    read_ok("pain001/pain001-09-single.xml", &p);
    doc = parse_doc(p.tx[0].pacs008, p.tx[0].pacs008_len);
    assert_xpath(doc, "//head:Fr//head:BICFI", "CRDRGB20XXX");
    assert_xpath(doc, "//head:To//head:BICFI", "CRSPUS30XXX");
    assert_xpath(doc, "//head:BizMsgIdr", p.tx[0].msg_id);
    assert_xpath(doc, "//head:MsgDefIdr", "pacs.008.001.08");
    assert_xpath(doc, "//pacs:GrpHdr/pacs:MsgId", p.tx[0].msg_id);
    assert_xpath(doc, TX "pacs:PmtId/pacs:InstrId", "ACME-I-0001");
    assert_xpath(doc, TX "pacs:PmtId/pacs:EndToEndId", "E2E-2026-0001");
    assert_xpath(doc, TX "pacs:PmtId/pacs:UETR", p.tx[0].in.uetr);
    assert_xpath(doc, TX "pacs:IntrBkSttlmAmt", "1234.56");
    assert_xpath(doc, TX "pacs:IntrBkSttlmAmt/@Ccy", "EUR");
    assert_xpath(doc, TX "pacs:IntrBkSttlmDt", p.tx[0].in.requested_execution_date);
    assert_xpath(doc, TX "pacs:InstgAgt//pacs:BICFI", "CRDRGB20XXX");
    assert_xpath(doc, TX "pacs:InstdAgt//pacs:BICFI", "CRSPUS30XXX");
    assert_xpath(doc, TX "pacs:IntrmyAgt1//pacs:BICFI", "CRSPUS30XXX");
    assert_xpath(doc, TX "pacs:CdtrAgt//pacs:BICFI", "BENFDE20XXX");
    assert_xpath(doc, TX "pacs:Dbtr/pacs:PstlAdr/pacs:PstCd", "EC2R 8AH");
    assert_xpath(doc, TX "pacs:DbtrAcct/pacs:Ccy", "EUR");
    assert_xpath(doc, TX "pacs:Purp/pacs:Cd", "GDDS");
    assert_xpath(doc, TX "pacs:RmtInf/pacs:Ustrd", "Invoice 42");
    assert_absent(doc, TX "pacs:ChrgsInf");
    assert_non_null(strstr(p.tx[0].pacs008, "<Envelope xmlns=\"urn:swift:xsd:envelope\">"));
    xmlFreeDoc(doc);
    iso_pain001_free(&p);
}

/* What the JSON instruction has no field for is carried into the pacs.008, in both versions. */
static void
test_carried_fields(void **state)
{
    static const char *const files[] = {"pain001/pain001-09-multi.xml",
                                        "pain001/pain001-03-multi.xml"};
    iso_pain001 p;
    xmlDocPtr doc;

    (void)state;
    for (size_t f = 0; f < 2; f++) {
        read_ok(files[f], &p);
        /* PmtInf 1: ChrgBr DEBT at PmtInf level, on both its transactions. */
        for (size_t i = 0; i < 2; i++) {
            assert_string_equal(p.tx[i].in.charge_bearer, "DEBT");
            doc = parse_doc(p.tx[i].pacs008, p.tx[i].pacs008_len);
            assert_xpath(doc, TX "pacs:ChrgBr", "DEBT");
            xmlFreeDoc(doc);
        }
        /* PmtInf 2, transaction 1: everything the model does not hold. */
        doc = parse_doc(p.tx[2].pacs008, p.tx[2].pacs008_len);
        assert_xpath(doc, TX "pacs:ChrgBr", "CRED");
        assert_xpath(doc, TX "pacs:ChrgsInf/pacs:Amt", "0.00");
        assert_xpath(doc, TX "pacs:ChrgsInf/pacs:Amt/@Ccy", "USD");
        assert_xpath(doc, TX "pacs:ChrgsInf/pacs:Agt//pacs:BICFI", "CRDRGB20XXX");
        assert_xpath(doc, TX "pacs:UltmtDbtr/pacs:Nm", "Acme Subsidiary Ltd");
        assert_xpath(doc, TX "pacs:UltmtDbtr/pacs:Id/pacs:OrgId/pacs:Othr/pacs:Id", "ACME-SUB-7");
        assert_xpath(doc, TX "pacs:UltmtCdtr/pacs:Nm", "Beneficiary Retail GmbH");
        assert_xpath(doc, TX "pacs:Purp/pacs:Prtry", "SUPPLIER PAYMENT");
        assert_xpath(doc, TX "pacs:RgltryRptg/pacs:DbtCdtRptgInd", "DEBT");
        assert_xpath(doc, TX "pacs:RgltryRptg/pacs:Authrty/pacs:Ctry", "GB");
        assert_xpath(doc, TX "pacs:RgltryRptg/pacs:Dtls/pacs:Amt", "12000");
        assert_xpath(doc, TX "pacs:RmtInf/pacs:Strd/pacs:RfrdDocInf/pacs:Tp/pacs:CdOrPrtry/pacs:Cd",
                     "CINV");
        assert_xpath(doc, TX "pacs:RmtInf/pacs:Strd/pacs:RfrdDocInf/pacs:Nb", "INV-2026-778");
        assert_xpath(doc, TX "pacs:RmtInf/pacs:Strd/pacs:RfrdDocAmt/pacs:RmtdAmt", "12000.00");
        assert_xpath(doc, TX "pacs:RmtInf/pacs:Strd/pacs:CdtrRefInf/pacs:Ref", "RF18539007547034");
        assert_xpath(doc, TX "pacs:RmtInf/pacs:Strd/pacs:AddtlRmtInf", "Second instalment");
        assert_xpath(doc, TX "pacs:CdtrAcct/pacs:Id/pacs:Othr/pacs:Id", "0532013000");
        assert_xpath(doc, TX "pacs:CdtrAcct/pacs:Ccy", "USD");
        assert_xpath(doc, TX "pacs:Dbtr/pacs:Id/pacs:OrgId/*",
                     f == 0 ? "529900T8BM49AURSDO55" : "ACMEGB2L");
        assert_absent(doc, TX "pacs:RmtInf/pacs:Ustrd");
        xmlFreeDoc(doc);
        /* The ultimate debtor of the PmtInf goes with each of its transactions. */
        doc = parse_doc(p.tx[4].pacs008, p.tx[4].pacs008_len);
        assert_xpath(doc, TX "pacs:UltmtDbtr/pacs:Nm", "Acme Subsidiary Ltd");
        assert_xpath(doc, TX "pacs:Cdtr/pacs:Id/pacs:PrvtId/pacs:Othr/pacs:Id", "FR-ID-55501");
        xmlFreeDoc(doc);
        iso_pain001_free(&p);
    }
}

/* Five transactions: each its own payment, UETR, MsgId and instructed agent. */
static void
test_multi_transaction(void **state)
{
    static const struct {
        const char *e2e, *ccy, *instd;
        int64_t minor;
    } want[] = {
        {"E2E-EUR-0001", "EUR", "BENFDE20XXX", 100000},
        {"E2E-EUR-0002", "EUR", "CRSPUS30XXX", 50050},
        {"E2E-USD-0001", "USD", "CRSPUS30XXX", 1200000},
        {"E2E-USD-0002", "USD", "BENFDE20XXX", 250000},
        {"E2E-USD-0003", "USD", "BENFDE20XXX", 50000},
    };
    iso_pain001 p;

    (void)state;
    read_ok("pain001/pain001-09-multi.xml", &p);
    assert_int_equal(p.n_tx, 5);
    for (size_t i = 0; i < p.n_tx; i++) {
        assert_string_equal(p.tx[i].in.end_to_end_id, want[i].e2e);
        assert_string_equal(p.tx[i].in.currency, want[i].ccy);
        assert_string_equal(p.tx[i].instructed_bic, want[i].instd);
        assert_int_equal(p.tx[i].in.amount_minor, want[i].minor);
        assert_string_equal(p.tx[i].in.debtor.account.iban,
                            i < 2 ? "GB33BUKB20201555555555" : "GB94BARC10201530093459");
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(p.tx[i].in.uetr, p.tx[j].in.uetr);
            assert_string_not_equal(p.tx[i].msg_id, p.tx[j].msg_id);
        }
    }
    /* The pain.001's own UETR is kept. */
    assert_string_equal(p.tx[1].in.uetr, "8a562c67-ca16-48ba-b074-65581be6f011");
    assert_string_equal(p.tx[1].in.instruction_id, "ACME/EUR/2");
    iso_pain001_free(&p);
}

/* One bad transaction among five: nothing comes back, the problem names its transaction. */
static void
test_all_or_nothing(void **state)
{
    size_t len;
    char *xml = sample_file("invalid/pain001-multi-one-bad.xml", &len);
    iso_pain001 p;
    iso_problems pr;

    (void)state;
    assert_non_null(xml);
    iso_problems_init(&pr);
    memset(&p, 0xA5, sizeof(p));
    assert_int_equal(iso_pain001_read(ctx, xml, len, time(NULL), &p, &pr), ISO_ERR_INVALID);
    assert_null(p.tx);
    assert_int_equal(p.n_tx, 0);
    assert_int_equal(pr.n, 1);
    assert_string_equal(pr.items[0].path,
                        "/Document/CstmrCdtTrfInitn/PmtInf[2]/CdtTrfTxInf[3]/CdtrAcct/Id/IBAN");
    assert_string_equal(pr.items[0].code, "IBAN_INVALID");
    iso_pain001_free(&p);
    iso_pain001_free(NULL);
    free(xml);
}

/* A problem in a PmtInf shared by two transactions is reported once. */
static void
test_shared_problem_once(void **state)
{
    size_t len;
    char *raw = sample_file("pain001/pain001-09-multi.xml", &len);
    char *xml = replace_all(raw, "GB33BUKB20201555555555", "GB33BUKB20201555555556");
    iso_pain001 p;
    iso_problems pr;

    (void)state;
    iso_problems_init(&pr);
    assert_int_equal(iso_pain001_read(ctx, xml, strlen(xml), time(NULL), &p, &pr), ISO_ERR_INVALID);
    assert_int_equal(pr.n, 1);
    assert_string_equal(pr.items[0].path, "/Document/CstmrCdtTrfInitn/PmtInf[1]/DbtrAcct/Id/IBAN");
    free(raw);
    free(xml);
}

/* s without the line breaks and indentation between elements. */
static char *
compact(const char *s)
{
    char *out = malloc(strlen(s) + 1), *w = out;

    assert_non_null(out);
    for (; *s; s++) {
        if (*s == '\n') {
            while (s[1] == ' ')
                s++;
            continue;
        }
        *w++ = *s;
    }
    *w = '\0';
    return out;
}

/* ISO_MAX_PAIN001_TX + 1 compact transactions fit the byte and node limits; the count refuses. */
static void
test_too_many_transactions(void **state)
{
    size_t len;
    char *pretty = sample_file("pain001/pain001-09-single.xml", &len), *xml;
    char *raw = compact(pretty);
    const char *open = strstr(raw, "<CdtTrfTxInf>"), *close = strstr(raw, "</PmtInf>");
    size_t head = (size_t)(open - raw), unit = (size_t)(close - open), n = ISO_MAX_PAIN001_TX + 1;
    iso_pain001 p;
    iso_problems pr;

    (void)state;
    xml = malloc(len + n * unit);
    assert_non_null(xml);
    memcpy(xml, raw, head);
    for (size_t i = 0; i < n; i++)
        memcpy(xml + head + i * unit, open, unit);
    strcpy(xml + head + n * unit, close);
    iso_problems_init(&pr);
    assert_int_equal(iso_pain001_read(ctx, xml, strlen(xml), time(NULL), &p, &pr), ISO_ERR_INVALID);
    assert_string_equal(pr.items[0].code, "TOO_MANY");
    free(xml);
    free(raw);
    free(pretty);
}

/* Other messages are refused naming what is taken. */
static void
test_unsupported_message(void **state)
{
    size_t len;
    char *xml = sample_file("messages/pacs002-acsp.xml", &len);
    iso_pain001 p;
    iso_problems pr;

    (void)state;
    iso_problems_init(&pr);
    assert_int_equal(iso_pain001_read(ctx, xml, len, time(NULL), &p, &pr), ISO_ERR_INVALID);
    assert_string_equal(pr.items[0].code, "UNSUPPORTED_MESSAGE");
    assert_non_null(strstr(pr.items[0].text, "pain.001.001.09"));
    assert_non_null(strstr(pr.items[0].text, "pain.001.001.03"));
    free(xml);
}

/* ---- samples/invalid/pain001-*.xml --------------------------------------------------------- */

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t
list_fixtures(char *names[MAX_FIXTURES])
{
    DIR *d = opendir(SAMPLES_DIR "/invalid");
    struct dirent *e;
    size_t n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "pain001-", 8) == 0 && len > 4 &&
            strcmp(e->d_name + len - 4, ".xml") == 0) {
            assert_true(n < MAX_FIXTURES);
            names[n] = strndup(e->d_name, len - 4);
            assert_non_null(names[n++]);
        }
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), by_name);
    return n;
}

static int
check_fixture(const char *name)
{
    char rel[256], *xml, *expect;
    iso_pain001 p;
    iso_problems pr;
    size_t len;
    int ok;

    snprintf(rel, sizeof(rel), "invalid/%s.xml", name);
    xml = sample_file(rel, &len);
    snprintf(rel, sizeof(rel), "invalid/%s.expect", name);
    expect = sample_file(rel, NULL);
    if (xml == NULL || expect == NULL)
        fail_msg("%s: missing .xml or .expect", name);
    iso_problems_init(&pr);
    ok = expect_matches(name, expect, iso_pain001_read(ctx, xml, len, time(NULL), &p, &pr), &pr);
    ok = ok && p.n_tx == 0 && p.tx == NULL;
    free(xml);
    free(expect);
    return ok;
}

static void
test_invalid_fixtures(void **state)
{
    char *names[MAX_FIXTURES];
    size_t n = list_fixtures(names), failed = 0;

    (void)state;
    assert_true(n >= 25);
    for (size_t i = 0; i < n; i++) {
        failed += !check_fixture(names[i]);
        free(names[i]);
    }
    if (failed > 0)
        fail_msg("%zu of %zu pain.001 fixtures differ from their .expect", failed, n);
}

/* ---- threads ------------------------------------------------------------------------------- */

struct job {
    const char *xml;
    size_t len;
    int failures;
};

static void *
worker(void *arg)
{
    struct job *job = arg;
    iso_pain001 p;
    iso_problems pr;

    for (int i = 0; i < PER_THREAD; i++) {
        iso_problems_init(&pr);
        job->failures += iso_pain001_read(ctx, job->xml, job->len, time(NULL), &p, &pr) != ISO_OK;
        job->failures += p.n_tx != 5;
        iso_pain001_free(&p);
    }
    return NULL;
}

/* The compiled stylesheets and schemas are shared by threads translating at once. */
static void
test_shared_ctx_threads(void **state)
{
    pthread_t t[N_THREADS];
    struct job jobs[N_THREADS];
    size_t len;
    char *xml = sample_file("pain001/pain001-03-multi.xml", &len);

    (void)state;
    for (int i = 0; i < N_THREADS; i++) {
        jobs[i] = (struct job){.xml = xml, .len = len};
        assert_int_equal(pthread_create(&t[i], NULL, worker, &jobs[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(jobs[i].failures, 0);
    }
    free(xml);
}

int
test_pain001_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_fixture_transaction_is_conformant),
        cmocka_unit_test(test_instruction_fields),
        cmocka_unit_test(test_pacs008_values),
        cmocka_unit_test(test_carried_fields),
        cmocka_unit_test(test_multi_transaction),
        cmocka_unit_test(test_all_or_nothing),
        cmocka_unit_test(test_shared_problem_once),
        cmocka_unit_test(test_too_many_transactions),
        cmocka_unit_test(test_unsupported_message),
        cmocka_unit_test(test_invalid_fixtures),
        cmocka_unit_test(test_shared_ctx_threads),
    };
    return cmocka_run_group_tests_name("pain001", tests, setup, teardown);
}
