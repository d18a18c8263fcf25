/*
 * test_util.h — helpers shared by the iso20022 tests: files, today's date, the sample
 * instruction, and the official ISO 20022 schemas in ../shared (the conformance oracle).
 */
#ifndef CORRIDOR_TEST_ISO_UTIL_H
#define CORRIDOR_TEST_ISO_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

#include "iso20022.h"

#define SAMPLES_DIR CORRIDOR_SAMPLES_DIR
#define OFFICIAL_XSD_DIR CORRIDOR_SHARED_DIR "/iso20022/xsd"
#define CBPR_SAMPLES_DIR CORRIDOR_SHARED_DIR "/iso20022/samples/cbpr-plus"

/* The whole file, NUL-terminated, or NULL. The caller frees it. */
char *read_file(const char *path, size_t *len);
/* s with every "@TODAY@" replaced by `date` (YYYY-MM-DD). The caller frees it. */
char *with_today(const char *s, const char *date);
/* s with every `mark` replaced by `value`. The caller frees it. */
char *replace_all(const char *s, const char *mark, const char *value);
/* The UETR the message fixtures (samples/messages) get for "@UETR@". */
#define TEST_UETR "eb6305c9-1f7f-49de-aed0-16487c27b42d"
/* A file under samples/ with "@TODAY@" (today, UTC) and "@UETR@" (TEST_UETR) filled in, or
 * NULL when it cannot be read. The caller frees it. */
char *sample_file(const char *rel, size_t *len);
/* The UTC date of t as YYYY-MM-DD, `days` later. */
void date_text(time_t t, int days, char out[11]);
/* samples/payment.json for today (the caller frees it). */
char *payment_json(void);
/* samples/payment.json read into an instruction, asserted valid. */
void payment_instruction(iso_instruction *in);

/* The group runners, one per source file under test. */
int test_problems_run(void);
int test_rules_run(void);
int test_json_in_run(void);
int test_fixtures_run(void);
int test_pacs008_run(void);
int test_schema_run(void);
int test_xml_run(void);
int test_hostile_run(void);
int test_xml_rules_run(void);
int test_xslt_run(void);
int test_pain001_run(void);
int test_pain002_run(void);
int test_camt056_run(void);
int test_status_in_run(void);
int test_envelope_run(void);

/* Bytes libxml2 and libxslt hold now, and at most since the last mark (test_main.c installs a
 * counting allocator with xmlMemSetup before anything else runs). */
size_t xml_mem_current(void);
size_t xml_mem_peak_since_mark(void);
void xml_mem_mark(void);

/* The HTTP status the gateway gives a return code (200, 400, 413, 422, else 500). */
int status_of(int rc);
/*
 * A result against a .expect text (samples/invalid/README.md): the status on the first line,
 * then exactly the problems as "PATH CODE", in order. 1 when they agree; else 0 after printing
 * what differs, and every problem got.
 */
int expect_matches(const char *name, const char *expect, int rc, const iso_problems *pr);

/* 1 when ../shared/iso20022/xsd is there (the official schemas can be checked against). */
int have_official(void);
/*
 * The official schema file (e.g. "pacs.008.001.08.xsd"), compiled once and cached. When
 * ../shared/iso20022/xsd is missing, says so and skips the calling test.
 */
xmlSchemaPtr official_schema(const char *file);
/* Validate elem against schema; on failure *why holds the first error (static storage). */
int official_valid(xmlSchemaPtr schema, xmlNodePtr elem, const char **why);
/*
 * A message (bare Document, or Envelope with AppHdr and Document) against the official schemas:
 * the AppHdr against head.001.001.02.xsd, the Document against doc_xsd. Fails the test with the
 * first error; without ../shared it does nothing (the caller reports the skip).
 */
void assert_official_message(const char *xml, size_t len, const char *doc_xsd);
/* The first child element of parent named name in namespace ns (NULL if none). */
xmlNodePtr child_element(xmlNodePtr parent, const char *ns, const char *name);
/* Parse a document for inspection (asserts it is well-formed). */
xmlDocPtr parse_doc(const char *xml, size_t len);
/* The text of the first node matching an XPath (prefixes env, head, pacs (pacs.008), p2
 * (pain.002), c56 (camt.056)); NULL if none. The caller xmlFree()s it. */
char *xpath_text(xmlDocPtr doc, const char *expr);

#endif
