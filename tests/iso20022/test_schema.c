/*
 * test_schema.c — iso20022/schema.c: iso_ctx, iso_validate on envelopes and bare parts, the
 * profile's restrictions, hostile XML (DTD, entities, depth, size), silence on stderr, the
 * CBPR+ samples against the official schemas, and a shared ctx used from several threads.
 */
#include "test_util.h"

#include "iso_int.h" /* iso_text_charset_ok, iso_text_finx_ok */

#include <dirent.h>
#include <libxml/parser.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NS_HEAD "urn:iso:std:iso:20022:tech:xsd:head.001.001.02"
#define NS_PACS "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"
#define N_THREADS 4
#define PER_THREAD 25

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

/* A pacs.008 envelope built from the sample payment (the caller frees it). */
static char *
built_message(size_t *len)
{
    iso_pacs008_params pp = {
        .msg_id = "MSG-0001", .created = 1795261530, .instructed_bic = "CRSPUS30XXX"};
    iso_instruction in;
    iso_problems pr;
    char *xml;

    payment_instruction(&in);
    snprintf(in.uetr, sizeof(in.uetr), "eb6305c9-1f7f-49de-aed0-16487c27b42d");
    iso_problems_init(&pr);
    assert_int_equal(iso_pacs008_build(ctx, &in, &pp, &xml, len, &pr), ISO_OK);
    return xml;
}

/* s with the first `from` replaced by `to` (the caller frees it). */
static char *
replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);

    assert_non_null(at);
    assert_non_null(out);
    snprintf(out, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    return out;
}

static int
validate(const char *xml, iso_problems *pr)
{
    iso_problems_init(pr);
    return iso_validate(ctx, xml, strlen(xml), pr);
}

/* ---- lifecycle and the happy paths --------------------------------------------------------- */

static void
test_ctx_lifecycle(void **state)
{
    iso_ctx *c = NULL;

    (void)state;
    assert_int_equal(iso_ctx_new(&c), ISO_OK);
    assert_non_null(c);
    iso_ctx_free(c);
    iso_ctx_free(NULL);
}

/* The parts of an envelope are accepted alone too. */
static void
test_envelope_and_parts(void **state)
{
    static const char *const parts[][2] = {{NS_HEAD, "AppHdr"}, {NS_PACS, "Document"}};
    iso_problems pr;
    size_t len;
    char *xml = built_message(&len);
    xmlDocPtr doc = parse_doc(xml, len);

    (void)state;
    assert_int_equal(validate(xml, &pr), ISO_OK);
    for (size_t i = 0; i < 2; i++) {
        xmlBufferPtr buf = xmlBufferCreate();
        xmlNodePtr part = child_element(xmlDocGetRootElement(doc), parts[i][0], parts[i][1]);
        assert_non_null(part);
        assert_true(xmlNodeDump(buf, doc, part, 0, 0) > 0);
        if (validate((const char *)xmlBufferContent(buf), &pr) != ISO_OK)
            fail_msg("bare %s: %s", parts[i][1], pr.n ? pr.items[0].text : "?");
        xmlBufferFree(buf);
    }
    xmlFreeDoc(doc);
    free(xml);
}

/* ---- what the profile refuses -------------------------------------------------------------- */

static void
test_profile_restrictions(void **state)
{
    static const char *const edits[][2] = {
        {"<pacs:NbOfTxs>1<", "<pacs:NbOfTxs>2<"},
        {"<pacs:SttlmMtd>INDA<", "<pacs:SttlmMtd>CLRG<"},
        {"<pacs:UETR>eb6305c9-1f7f-49de-aed0-16487c27b42d</pacs:UETR>", ""},
        {"eb6305c9-1f7f-49de-aed0-16487c27b42d", "eb6305c9-1f7f-19de-aed0-16487c27b42d"},
        {"<pacs:InstrId>MSG-0001<", "<pacs:InstrId>MSG-0001-0002-0003<"},
        {"<pacs:InstrId>MSG-0001<", "<pacs:InstrId>/MSG-0001<"},
        {">1234.56</pacs:IntrBkSttlmAmt>", ">1234.567891</pacs:IntrBkSttlmAmt>"},
        {">1234.56</pacs:IntrBkSttlmAmt>", ">0</pacs:IntrBkSttlmAmt>"},
        {">1234.56</pacs:IntrBkSttlmAmt>", ">1234567890123456789</pacs:IntrBkSttlmAmt>"},
        {"<pacs:ChrgBr>SHAR<", "<pacs:ChrgBr>SLEV<"},
        {"<pacs:Nm>Acme Corp<", "<pacs:Nm>Acme Corp~<"},
        {"<pacs:Nm>Acme Corp<", "<pacs:Nm>Acme Corp \xc3\xa9<"},
        {"<pacs:BICFI>BENFDE20XXX<", "<pacs:BICFI>BENF1E20XXX<"},
        {"<pacs:IBAN>GB33BUKB20201555555555<", "<pacs:IBAN>gb33bukb20201555555555<"},
        {"<head:BizSvc>swift.cbprplus.02</head:BizSvc>", ""},
        {"+00:00</head:CreDt>", "</head:CreDt>"},
        {"+00:00</pacs:CreDtTm>", "Z</pacs:CreDtTm>"},
        {"<pacs:ChrgBr>", "<pacs:XchgRate>1.1</pacs:XchgRate><pacs:ChrgBr>"},
        {"<pacs:InstgAgt>", "<pacs:Note>x</pacs:Note><pacs:InstgAgt>"},
        {"</pacs:CdtTrfTxInf>", "</pacs:CdtTrfTxInf><pacs:CdtTrfTxInf/>"},
        {"<pacs:FinInstnId><pacs:BICFI>CRSPUS30XXX</pacs:BICFI></pacs:FinInstnId></pacs:InstdAgt>",
         "<pacs:FinInstnId><pacs:LEI>529900T8BM49AURSDO55</pacs:LEI></pacs:FinInstnId>"
         "</pacs:InstdAgt>"},
    };
    iso_problems pr;
    size_t len;
    char *xml = built_message(&len);

    (void)state;
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        char *bad = replace(xml, edits[i][0], edits[i][1]);
        if (validate(bad, &pr) != ISO_ERR_INVALID)
            fail_msg("profile accepted: %s -> %s", edits[i][0], edits[i][1]);
        assert_true(pr.n >= 1);
        assert_string_equal(pr.items[0].code, "SCHEMA");
        assert_true(pr.items[0].path[0] == '/');
        free(bad);
    }
    free(xml);
}

static void
test_envelope_structure(void **state)
{
    static const char env_open[] = "<Envelope xmlns=\"urn:swift:xsd:envelope\">";
    iso_problems pr;
    size_t len;
    char *xml = built_message(&len), *doc_start, *no_doc, *unknown;

    (void)state;
    /* No Document. */
    doc_start = strstr(xml, "<pacs:Document");
    assert_non_null(doc_start);
    no_doc = malloc(len + 16);
    assert_non_null(no_doc);
    snprintf(no_doc, len + 16, "%.*s</Envelope>", (int)(doc_start - xml), xml);
    assert_int_equal(validate(no_doc, &pr), ISO_ERR_INVALID);
    assert_string_equal(pr.items[pr.n - 1].code, "SCHEMA");
    free(no_doc);
    /* Something else in the envelope. */
    unknown = replace(xml, env_open, "<Envelope xmlns=\"urn:swift:xsd:envelope\"><Other/>");
    assert_int_equal(validate(unknown, &pr), ISO_ERR_INVALID);
    free(unknown);
    /* A root the project has no profile for. */
    assert_int_equal(
        validate("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.009.001.08\"/>", &pr),
        ISO_ERR_INVALID);
    assert_string_equal(pr.items[0].code, "UNSUPPORTED");
    assert_int_equal(validate("<Envelope/>", &pr), ISO_ERR_INVALID);
    free(xml);
}

/* ---- hostile XML --------------------------------------------------------------------------- */

static const char *const hostile_dtd[] = {
    /* internal entity */
    "<?xml version=\"1.0\"?><!DOCTYPE AppHdr [<!ENTITY a \"aaaa\">]>"
    "<AppHdr xmlns=\"urn:iso:std:iso:20022:tech:xsd:head.001.001.02\">&a;</AppHdr>",
    /* billion laughs */
    "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
    "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
    "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">"
    "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
    "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">"
    "<!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">"
    "<!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">"
    "<!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">"
    "<!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">"
    "<!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">]>"
    "<lolz>&lol9;</lolz>",
    /* external entity */
    "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><d>&x;</d>",
    /* external DTD */
    "<?xml version=\"1.0\"?><!DOCTYPE d SYSTEM \"http://example.invalid/d.dtd\"><d/>",
    /* a bare DOCTYPE */
    "<!DOCTYPE d><d/>",
};

static void
test_dtd_refused(void **state)
{
    iso_problems pr;

    (void)state;
    for (size_t i = 0; i < sizeof(hostile_dtd) / sizeof(hostile_dtd[0]); i++) {
        assert_int_equal(validate(hostile_dtd[i], &pr), ISO_ERR_SYNTAX);
        assert_int_equal(pr.n, 1);
        assert_string_equal(pr.items[0].code, "XML_DTD");
    }
}

static void
test_not_well_formed(void **state)
{
    static const char *const bad[] = {
        "",         "<",           "<a>",    "<a></b>", "<a>&undeclared;</a>", "<a x='1' x='2'/>",
        "<a/><b/>", "<a>\xff</a>", "<p:a/>",
    };
    iso_problems pr;

    (void)state;
    assert_int_equal(validate("<AppHdr>\n<Fr>\n</AppHdr>", &pr), ISO_ERR_SYNTAX);
    assert_string_equal(pr.items[0].code, "XML_SYNTAX");
    assert_string_equal(pr.items[0].path, "");
    assert_non_null(strstr(pr.items[0].text, "line 3"));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (validate(bad[i], &pr) != ISO_ERR_SYNTAX)
            fail_msg("accepted %s", bad[i]);
        assert_string_equal(pr.items[0].code, "XML_SYNTAX");
    }
}

static void
test_limits(void **state)
{
    size_t depth = ISO_MAX_XML_DEPTH + 1, len = depth * 7 + 1, n = 0;
    char *deep = malloc(len), *big;
    iso_problems pr;

    (void)state;
    assert_non_null(deep);
    for (size_t i = 0; i < depth; i++)
        n += (size_t)snprintf(deep + n, len - n, "<a>");
    for (size_t i = 0; i < depth; i++)
        n += (size_t)snprintf(deep + n, len - n, "</a>");
    assert_int_equal(validate(deep, &pr), ISO_ERR_SYNTAX);
    assert_int_equal(pr.n, 1);
    assert_string_equal(pr.items[0].code, "XML_LIMIT");
    free(deep);

    /* Too many nodes, as elements or as comments. */
    static const char *const units[] = {"<a/>", "<!---->"};
    for (size_t u = 0; u < 2; u++) {
        size_t cap = (ISO_MAX_XML_NODES + 1) * strlen(units[u]) + 16;
        char *wide = malloc(cap);
        assert_non_null(wide);
        n = (size_t)snprintf(wide, cap, "<r>");
        for (size_t i = 0; i < ISO_MAX_XML_NODES; i++)
            n += (size_t)snprintf(wide + n, cap - n, "%s", units[u]);
        snprintf(wide + n, cap - n, "</r>");
        assert_int_equal(validate(wide, &pr), ISO_ERR_SYNTAX);
        assert_string_equal(pr.items[0].code, "XML_LIMIT");
        free(wide);
    }

    big = malloc(ISO_MAX_XML_BYTES + 1);
    assert_non_null(big);
    memset(big, ' ', ISO_MAX_XML_BYTES + 1);
    memcpy(big, "<a>", 3);
    iso_problems_init(&pr);
    assert_int_equal(iso_validate(ctx, big, ISO_MAX_XML_BYTES + 1, &pr), ISO_ERR_TOOLARGE);
    free(big);
}

/* The library never prints: every hostile input above leaves stderr empty. */
static void
test_silent_on_stderr(void **state)
{
    FILE *tmp = tmpfile();
    iso_problems pr;
    int saved;
    long size;

    (void)state;
    assert_non_null(tmp);
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    for (size_t i = 0; i < sizeof(hostile_dtd) / sizeof(hostile_dtd[0]); i++)
        validate(hostile_dtd[i], &pr);
    validate("<a></b>", &pr);
    validate("<Envelope xmlns=\"urn:swift:xsd:envelope\"><x/></Envelope>", &pr);
    validate("<AppHdr xmlns=\"urn:iso:std:iso:20022:tech:xsd:head.001.001.02\"><y/></AppHdr>", &pr);
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    fseek(tmp, 0, SEEK_END);
    size = ftell(tmp);
    fclose(tmp);
    assert_int_equal(size, 0);
}

/* ---- the CBPR+ samples --------------------------------------------------------------------- */

/*
 * Every CBPR+ pacs.008 sample is valid against the official schemas (this checks the test's
 * own oracle). Whether it also fits the project profile is only reported: the profile describes
 * what Corridor emits, not everything CBPR+ allows.
 */
static void
test_cbpr_samples(void **state)
{
    xmlSchemaPtr head = official_schema("head.001.001.02.xsd");
    xmlSchemaPtr pacs = official_schema("pacs.008.001.08.xsd");
    DIR *d = opendir(CBPR_SAMPLES_DIR);
    struct dirent *e;
    int seen = 0;

    (void)state;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char path[512], *xml;
        const char *why;
        iso_problems pr;
        size_t len;
        if (strstr(e->d_name, "pacs.008") == NULL)
            continue;
        snprintf(path, sizeof(path), "%s/%s", CBPR_SAMPLES_DIR, e->d_name);
        xml = read_file(path, &len);
        assert_non_null(xml);
        xmlDocPtr doc = parse_doc(xml, len);
        xmlNodePtr env = xmlDocGetRootElement(doc);
        if (!official_valid(head, child_element(env, NS_HEAD, "AppHdr"), &why) ||
            !official_valid(pacs, child_element(env, NS_PACS, "Document"), &why))
            fail_msg("%s breaks the official schema: %s", e->d_name, why);
        iso_problems_init(&pr);
        if (iso_validate(ctx, xml, len, &pr) == ISO_OK)
            print_message("%s: official OK, fits the project profile\n", e->d_name);
        else
            print_message("%s: official OK, outside the project profile (%zu problems; first: "
                          "%s: %s)\n",
                          e->d_name, pr.n + pr.dropped, pr.items[0].path, pr.items[0].text);
        xmlFreeDoc(doc);
        free(xml);
        seen++;
    }
    closedir(d);
    assert_true(seen > 0);
}

/* ---- threads ------------------------------------------------------------------------------- */

struct job {
    const char *xml;
    size_t len;
    int failures;
};

/* ---- the text patterns -------------------------------------------------------------------- */

/* `elem` of the built message holding "A<c>B", validated: accepted exactly when the rule says
 * the text is in its character set. The profile writes the CBPR+ and FIN-X sets as ASCII runs
 * for libxml2's sake (schemas/pacs.008.001.08.xsd): this keeps them the sets rules.c checks. */
static void
expect_charset(const char *xml, const char *elem, const char *old_text, unsigned char c,
               int (*rule)(const char *))
{
    char from[128], to[128], text[4] = {'A', (char)c, 'B', '\0'}, esc[8];
    iso_problems pr;

    if (c == '&' || c == '<' || c == '>')
        snprintf(esc, sizeof(esc), "&%s;", c == '&' ? "amp" : c == '<' ? "lt" : "gt");
    else
        snprintf(esc, sizeof(esc), "%c", c);
    snprintf(from, sizeof(from), "<%s>%s</%s>", elem, old_text, elem);
    snprintf(to, sizeof(to), "<%s>A%sB</%s>", elem, esc, elem);
    char *mutated = replace(xml, from, to);
    int rc = validate(mutated, &pr);
    if ((rc == ISO_OK) != (rule(text) != 0))
        fail_msg("%s with 0x%02x: schema says %d, rules say %d", elem, c, rc, rule(text));
    free(mutated);
}

static void
test_text_patterns_match_the_rules(void **state)
{
    size_t len;
    char *xml = built_message(&len);

    (void)state;
    for (unsigned c = 0x20; c < 0x7f; c++) {
        expect_charset(xml, "pacs:Nm", "Acme Corp", (unsigned char)c, iso_text_charset_ok);
        expect_charset(xml, "head:BizSvc", "swift.cbprplus.02", (unsigned char)c,
                       iso_text_charset_ok);
        expect_charset(xml, "pacs:EndToEndId", "E2E-2026-0001", (unsigned char)c,
                       iso_text_finx_ok);
    }
    free(xml);
}

static void *
worker(void *arg)
{
    struct job *job = arg;
    iso_problems pr;

    for (int i = 0; i < PER_THREAD; i++) {
        iso_problems_init(&pr);
        job->failures += iso_validate(ctx, job->xml, job->len, &pr) != ISO_OK;
        iso_problems_init(&pr);
        job->failures += iso_validate(ctx, "<a></b>", 7, &pr) != ISO_ERR_SYNTAX;
    }
    return NULL;
}

/* One ctx, several threads validating at once. */
static void
test_shared_ctx_threads(void **state)
{
    pthread_t t[N_THREADS];
    struct job jobs[N_THREADS];
    size_t len;
    char *xml = built_message(&len);

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
test_schema_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctx_lifecycle),
        cmocka_unit_test(test_envelope_and_parts),
        cmocka_unit_test(test_profile_restrictions),
        cmocka_unit_test(test_envelope_structure),
        cmocka_unit_test(test_dtd_refused),
        cmocka_unit_test(test_not_well_formed),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_silent_on_stderr),
        cmocka_unit_test(test_cbpr_samples),
        cmocka_unit_test(test_text_patterns_match_the_rules),
        cmocka_unit_test(test_shared_ctx_threads),
    };
    return cmocka_run_group_tests_name("schema", tests, setup, teardown);
}
