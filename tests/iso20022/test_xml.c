/*
 * test_xml.c — iso20022/xml.c: the shared parser on good input, the XPaths problems carry,
 * navigation helpers and where a message's parts are found.
 */
#include "test_util.h"

#include "iso_int.h"

#include <stdlib.h>
#include <string.h>

static xmlDocPtr
parse_ok(const char *xml)
{
    iso_problems pr;
    xmlDocPtr doc;

    iso_problems_init(&pr);
    assert_int_equal(iso_xml_parse(xml, strlen(xml), &doc, &pr), ISO_OK);
    assert_int_equal(pr.n, 0);
    assert_non_null(doc);
    return doc;
}

/* Comments, CDATA, an XML declaration and a quoted '>' pass the raw-byte scan. */
static void
test_parse_accepts_ordinary_xml(void **state)
{
    static const char xml[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- a <comment> -->"
                              "<a x='1 > 0' y=\"&lt;\"><b><![CDATA[<not a tag>]]></b><c/></a>";
    xmlDocPtr doc = parse_ok(xml);
    char text[64];

    (void)state;
    assert_string_equal(
        iso_xml_text(iso_xml_at(xmlDocGetRootElement(doc), "b"), text, sizeof(text)),
        "<not a tag>");
    xmlFreeDoc(doc);
}

static void
test_paths(void **state)
{
    static const char xml[] =
        "<Document xmlns=\"urn:x\"><Msg><PmtInf><Tx/></PmtInf><PmtInf><Tx/><Tx><Amt Ccy=\"EUR\">1"
        "</Amt></Tx></PmtInf><Other/></Msg></Document>";
    xmlDocPtr doc = parse_ok(xml);
    xmlNodePtr msg = iso_xml_child(xmlDocGetRootElement(doc), "Msg");
    xmlNodePtr second = iso_xml_next_same(iso_xml_child(msg, "PmtInf"));
    xmlNodePtr amt = iso_xml_at(iso_xml_next_same(iso_xml_child(second, "Tx")), "Amt");
    char path[128];

    (void)state;
    iso_xml_path(second, path, sizeof(path));
    assert_string_equal(path, "/Document/Msg/PmtInf[2]");
    iso_xml_path(amt, path, sizeof(path));
    assert_string_equal(path, "/Document/Msg/PmtInf[2]/Tx[2]/Amt");
    iso_xml_path((xmlNodePtr)xmlHasProp(amt, BAD_CAST "Ccy"), path, sizeof(path));
    assert_string_equal(path, "/Document/Msg/PmtInf[2]/Tx[2]/Amt/@Ccy");
    iso_xml_path(amt->children, path, sizeof(path)); /* text: its element */
    assert_string_equal(path, "/Document/Msg/PmtInf[2]/Tx[2]/Amt");
    iso_xml_path(iso_xml_child(iso_xml_child(msg, "PmtInf"), "Tx"), path, sizeof(path));
    assert_string_equal(path, "/Document/Msg/PmtInf[1]/Tx");
    iso_xml_path(NULL, path, sizeof(path));
    assert_string_equal(path, "");
    assert_int_equal(iso_xml_count(msg, "PmtInf"), 2);
    assert_null(iso_xml_at(msg, "PmtInf/Nope"));
    xmlFreeDoc(doc);
}

/* Navigation stays in the parent's namespace. */
static void
test_navigation_namespaces(void **state)
{
    xmlDocPtr doc = parse_ok("<a xmlns=\"urn:one\"><b xmlns=\"urn:two\"/><b>x </b></a>");
    char text[16];

    (void)state;
    assert_string_equal(
        iso_xml_text(iso_xml_child(xmlDocGetRootElement(doc), "b"), text, sizeof(text)), "x ");
    assert_string_equal(
        iso_xml_token(iso_xml_child(xmlDocGetRootElement(doc), "b"), text, sizeof(text)), "x");
    xmlFreeDoc(doc);
}

static void
test_copy_text_keeps_utf8_whole(void **state)
{
    char out[4];

    (void)state;
    iso_copy_text(out, sizeof(out), "ab\xc3\xa9"); /* "abé": é would be cut */
    assert_string_equal(out, "ab");
    iso_copy_text(out, sizeof(out), "abc");
    assert_string_equal(out, "abc");
}

static int
parts_of(const char *xml, struct iso_parts *parts, iso_problems *pr, xmlDocPtr *doc)
{
    *doc = parse_ok(xml);
    iso_problems_init(pr);
    return iso_xml_parts(*doc, parts, pr);
}

static void
test_parts(void **state)
{
    static const char *const good[] = {
        "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10\"/>",
        ("<Envelope xmlns=\"urn:swift:xsd:envelope\"><!-- c --><h:AppHdr "
         "xmlns:h=\"urn:iso:std:iso:20022:tech:xsd:head.001.001.02\"/>\n<d:Document "
         "xmlns:d=\"urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10\"/></Envelope>"),
        ("<RequestPayload><AppHdr xmlns=\"urn:iso:std:iso:20022:tech:xsd:head.001.001.02\"/>"
         "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10\"/></RequestPayload>"),
    };
    static const char *const bad[][2] = {
        {"<Document xmlns=\"urn:other\"/>", "UNSUPPORTED_MESSAGE"},
        {"<Envelope xmlns=\"urn:swift:xsd:envelope\"/>", "UNSUPPORTED_MESSAGE"},
        {"<Envelope xmlns=\"urn:swift:xsd:envelope\"><x/><Document "
         "xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10\"/></Envelope>",
         "ENVELOPE"},
        {"<Envelope xmlns=\"urn:swift:xsd:envelope\"><AppHdr "
         "xmlns=\"urn:iso:std:iso:20022:tech:xsd:head.001.001.03\"/></Envelope>",
         "UNSUPPORTED_MESSAGE"},
    };
    struct iso_parts parts;
    iso_problems pr;
    xmlDocPtr doc;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(parts_of(good[i], &parts, &pr, &doc), ISO_OK);
        assert_string_equal(parts.name, "pacs.002.001.10");
        assert_true((parts.hdr != NULL) == (i > 0));
        xmlFreeDoc(doc);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parts_of(bad[i][0], &parts, &pr, &doc), ISO_ERR_INVALID);
        assert_string_equal(pr.items[0].code, bad[i][1]);
        xmlFreeDoc(doc);
    }
}

int
test_xml_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts_ordinary_xml),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_navigation_namespaces),
        cmocka_unit_test(test_copy_text_keeps_utf8_whole),
        cmocka_unit_test(test_parts),
    };
    return cmocka_run_group_tests_name("xml", tests, NULL, NULL);
}
