/*
 * test_envelope.c — iso20022/envelope.c: a message in the form Corridor stores and serves.
 */
#include "test_util.h"

#include "iso_int.h"

#include <stdlib.h>
#include <string.h>

static void
test_envelope_comes_back_as_is(void **state)
{
    size_t len, out_len;
    char *xml = sample_file("messages/pacs002-acsp.xml", &len), *out;

    (void)state;
    assert_int_equal(iso_envelope(xml, len, &out, &out_len), ISO_OK);
    assert_int_equal(out_len, len);
    assert_memory_equal(out, xml, len);
    assert_int_equal(out[out_len], '\0');
    free(out);
    free(xml);
}

/* A bare Document is wrapped; its namespace survives; the result reads like the original. */
static void
test_bare_document_is_wrapped(void **state)
{
    size_t len, out_len;
    char *xml = sample_file("messages/pacs002-accc-bare.xml", &len), *out;
    struct iso_parts parts;
    iso_problems pr;
    xmlDocPtr doc;

    (void)state;
    assert_int_equal(iso_envelope(xml, len, &out, &out_len), ISO_OK);
    assert_int_equal(strlen(out), out_len);
    assert_non_null(strstr(out, "<Envelope xmlns=\"urn:swift:xsd:envelope\">"));
    doc = parse_doc(out, out_len);
    iso_problems_init(&pr);
    assert_int_equal(iso_xml_parts(doc, &parts, &pr), ISO_OK);
    assert_null(parts.hdr);
    assert_string_equal(parts.name, "pacs.002.001.10");
    xmlFreeDoc(doc);
    free(out);
    free(xml);
}

/* Another wrapper: AppHdr and Document move into an Envelope, with namespaces declared on the
 * wrapper declared again where they are used. */
static void
test_other_wrapper(void **state)
{
    static const char xml[] =
        "<w:RequestPayload xmlns:w=\"urn:vendor\" xmlns:h=\"urn:iso:std:iso:20022:tech:xsd:"
        "head.001.001.02\" xmlns:d=\"urn:iso:std:iso:20022:tech:xsd:camt.029.001.09\">"
        "<h:AppHdr><h:BizMsgIdr>X</h:BizMsgIdr></h:AppHdr><d:Document><d:RsltnOfInvstgtn/>"
        "</d:Document></w:RequestPayload>";
    struct iso_parts parts;
    iso_problems pr;
    size_t out_len;
    xmlDocPtr doc;
    char *out;

    (void)state;
    assert_int_equal(iso_envelope(xml, strlen(xml), &out, &out_len), ISO_OK);
    doc = parse_doc(out, out_len);
    iso_problems_init(&pr);
    assert_int_equal(iso_xml_parts(doc, &parts, &pr), ISO_OK);
    assert_true(iso_xml_is(parts.root, "urn:swift:xsd:envelope", "Envelope"));
    assert_non_null(parts.hdr);
    assert_string_equal(parts.name, "camt.029.001.09");
    assert_null(strstr(out, "urn:vendor"));
    xmlFreeDoc(doc);
    free(out);
}

static void
test_refusals(void **state)
{
    char *out = (char *)"untouched";
    size_t out_len = 9;

    (void)state;
    assert_int_equal(iso_envelope("<a>", 3, &out, &out_len), ISO_ERR_SYNTAX);
    assert_null(out);
    assert_int_equal(iso_envelope("<a/>", 4, &out, &out_len), ISO_ERR_INVALID);
    assert_int_equal(iso_envelope("<!DOCTYPE a><a/>", 16, &out, &out_len), ISO_ERR_SYNTAX);
}

int
test_envelope_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope_comes_back_as_is),
        cmocka_unit_test(test_bare_document_is_wrapped),
        cmocka_unit_test(test_other_wrapper),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests_name("envelope", tests, NULL, NULL);
}
