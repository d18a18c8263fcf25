/*
 * iso_int.h — helpers shared inside iso20022/ (not part of the public contract).
 */
#ifndef CORRIDOR_ISO_INT_H
#define CORRIDOR_ISO_INT_H

#include "iso20022.h"

#include <libxml/tree.h>

/* Why an amount string was refused (iso_amount_check); 0 = accepted. */
enum iso_amount_verdict {
    ISO_AMOUNT_OK = 0,
    ISO_AMOUNT_MALFORMED, /* not digits[.digits], sign, exponent, spaces, leading zero */
    ISO_AMOUNT_ZERO,      /* not greater than zero */
    ISO_AMOUNT_PRECISION, /* more fraction digits than the currency's exponent */
    ISO_AMOUNT_TOO_LARGE, /* more than ISO_MAX_AMOUNT_DIGITS digits at the currency's exponent */
};

/*
 * The strict amount reader behind iso_amount_parse, telling why it refused. With exponent < 0
 * (currency unknown) only the syntax, zero and the digit count as written are checked and
 * *minor is left alone.
 */
enum iso_amount_verdict iso_amount_check(const char *s, int exponent, int64_t *minor);

/*
 * The CBPR+ restricted character set: ASCII letters and digits plus these. The profile schemas
 * (schemas/, "RestrictedText") spell the same set as an XSD pattern.
 */
#define ISO_CHARSET_EXTRA " .,-()/='+:?!\"%&*<>;@#_{}"

/* 1 when every character is in the CBPR+ restricted character set. */
int iso_text_charset_ok(const char *s);
/* Characters (code points) of a valid UTF-8 string. */
size_t iso_utf8_chars(const char *s);

/* "YYYY-MM-DD", a real Gregorian date → days since 1970-01-01. Returns 1, or 0 if invalid. */
int iso_date_parse(const char *s, int64_t *days);
/* The UTC day of a time_t, as days since 1970-01-01. */
int64_t iso_days_of(time_t t);

/* ---- schemas ----------------------------------------------------------------------------- */

/* The profile schemas (schemas/), embedded by CMake (embed.cmake) as byte arrays. */
enum iso_schema_id {
    ISO_SCHEMA_PACS008,
    ISO_SCHEMA_HEAD001,
    ISO_SCHEMA_COUNT,
};
extern const unsigned char iso_xsd_pacs008[];
extern const size_t iso_xsd_pacs008_len;
extern const unsigned char iso_xsd_head001[];
extern const size_t iso_xsd_head001_len;

#define ISO_NS_ENVELOPE "urn:swift:xsd:envelope"
#define ISO_NS_HEAD001 "urn:iso:std:iso:20022:tech:xsd:head.001.001.02"
#define ISO_NS_PACS008 "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"

/* Two outcomes as one: out of memory wins, then the first failure. */
static inline int
iso_rc_merge(int a, int b)
{
    if (a == ISO_ERR_NOMEM || b == ISO_ERR_NOMEM)
        return ISO_ERR_NOMEM;
    return a != ISO_OK ? a : b;
}

/*
 * Validate one element (and its subtree) of a document in memory against a profile schema,
 * problems (code "SCHEMA", XPath of the node) added to pr. Thread-safe for a shared ctx.
 * Returns ISO_OK, ISO_ERR_INVALID or ISO_ERR_NOMEM.
 */
int iso_validate_element(const iso_ctx *ctx, enum iso_schema_id id, xmlNodePtr elem,
                         iso_problems *pr);

#endif
