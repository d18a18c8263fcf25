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

/* 1 when ../shared/iso20022/xsd is there (the official schemas can be checked against). */
int have_official(void);
/*
 * The official schema file (e.g. "pacs.008.001.08.xsd"), compiled once and cached. When
 * ../shared/iso20022/xsd is missing, says so and skips the calling test.
 */
xmlSchemaPtr official_schema(const char *file);
/* Validate elem against schema; on failure *why holds the first error (static storage). */
int official_valid(xmlSchemaPtr schema, xmlNodePtr elem, const char **why);
/* The first child element of parent named name in namespace ns (NULL if none). */
xmlNodePtr child_element(xmlNodePtr parent, const char *ns, const char *name);
/* Parse a document for inspection (asserts it is well-formed). */
xmlDocPtr parse_doc(const char *xml, size_t len);
/* The text of the first node matching an XPath (prefixes env, head, pacs); NULL if none. */
char *xpath_text(xmlDocPtr doc, const char *expr);

#endif
