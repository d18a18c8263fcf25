/*
 * test_hostile.c — hostile XML through every reader: the corpus in tests/iso20022/hostile/ (each
 * NAME.xml with the NAME.expect it must produce) and the attacks too big to store, generated here.
 * For each input and each reader: the exact refusal, fast; the memory libxml2 took while refusing
 * bounded; all of it given back (the counting allocator of test_main.c; ASan checks the rest).
 */
#include "test_util.h"

#include <dirent.h>
#include <jansson.h>
#include <libxml/xmlerror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HOSTILE_DIR CORRIDOR_SOURCE_DIR "/tests/iso20022/hostile"
#define MAX_CASES 64
/* What refusing one document may cost: far below what the attacks would take if let through
 * (a billion laughs is 3 GB). The most is a tree grown to ISO_MAX_XML_NODES before the count
 * stops it: about 8 MB for 50,000 comments. HOSTILE_VERBOSE=1 prints each peak. */
#define MEMORY_BOUND (16 * 1024 * 1024)
#define TIME_BOUND_MS 2000 /* generous for ASan; unprotected libxml2 needs 20 s on the tag */
#define MANY_ATTRS 80000
#define MANY_NS 5000

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

enum reader { VALIDATE, STATUS, PAIN001, ENVELOPE, READERS };
static const char *const reader_names[READERS] = {"iso_validate", "iso_status_read",
                                                  "iso_pain001_read", "iso_envelope"};

static int
run_reader(enum reader r, const char *xml, size_t len, iso_problems *pr)
{
    iso_status_msg msg;
    iso_pain001 pain;
    char *out = NULL;
    size_t out_len;
    int rc = ISO_ERR_INTERNAL;

    iso_problems_init(pr);
    switch (r) {
    case VALIDATE:
        rc = iso_validate(ctx, xml, len, pr);
        break;
    case STATUS:
        rc = iso_status_read(ctx, xml, len, &msg, pr);
        break;
    case PAIN001:
        rc = iso_pain001_read(ctx, xml, len, time(NULL), &pain, pr);
        assert_int_equal(pain.n_tx, 0);
        assert_null(pain.tx);
        break;
    case ENVELOPE:
        rc = iso_envelope(xml, len, &out, &out_len);
        assert_null(out);
        break;
    case READERS:
        break;
    }
    return rc;
}

/* Every problem is valid UTF-8: the gateway hands them to jansson. */
static int
problems_utf8(const iso_problems *pr)
{
    for (size_t i = 0; i < pr->n; i++) {
        json_t *a = json_string(pr->items[i].path), *b = json_string(pr->items[i].text);
        int ok = a != NULL && b != NULL;
        json_decref(a);
        json_decref(b);
        if (!ok)
            return 0;
    }
    return 1;
}

static long
elapsed_ms(const struct timespec *a, const struct timespec *b)
{
    return (b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

/* One input through one reader: refusal as expected, time, memory bound, nothing kept. */
static int
check_one(const char *name, enum reader r, const char *xml, size_t len, const char *expect)
{
    struct timespec t0, t1;
    iso_problems pr;
    size_t before, peak;
    int rc, ok = 1;

    xmlResetLastError(); /* libxml2 keeps a copy of the last error per thread */
    before = xml_mem_current();
    xml_mem_mark();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = run_reader(r, xml, len, &pr);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    peak = xml_mem_peak_since_mark() - before;
    xmlResetLastError();
    if (r == ENVELOPE)
        ok = status_of(rc) == atoi(expect);
    else
        ok = expect_matches(name, expect, rc, &pr) && problems_utf8(&pr);
    if (!ok)
        print_message("%s via %s: rc %d\n", name, reader_names[r], rc);
    if (elapsed_ms(&t0, &t1) > TIME_BOUND_MS) {
        print_message("%s via %s: %ld ms\n", name, reader_names[r], elapsed_ms(&t0, &t1));
        ok = 0;
    }
    if (getenv("HOSTILE_VERBOSE"))
        print_message("%s via %s: peak %zu\n", name, reader_names[r], peak);
    if (peak > MEMORY_BOUND) {
        print_message("%s via %s: %zu bytes at the peak\n", name, reader_names[r], peak);
        ok = 0;
    }
    if (xml_mem_current() != before) {
        print_message("%s via %s: %zd bytes not given back\n", name, reader_names[r],
                      (ssize_t)(xml_mem_current() - before));
        ok = 0;
    }
    return ok;
}

static int
check_all_readers(const char *name, const char *xml, size_t len, const char *expect)
{
    int ok = 1;

    for (int r = 0; r < READERS; r++)
        ok &= check_one(name, (enum reader)r, xml, len, expect);
    return ok;
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_corpus(void **state)
{
    char *names[MAX_CASES], path[512];
    DIR *d = opendir(HOSTILE_DIR);
    struct dirent *e;
    size_t n = 0, failed = 0;

    (void)state;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".xml") == 0) {
            assert_true(n < MAX_CASES);
            names[n] = strndup(e->d_name, len - 4);
            assert_non_null(names[n++]);
        }
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), by_name);
    assert_true(n >= 10);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        snprintf(path, sizeof(path), "%s/%s.xml", HOSTILE_DIR, names[i]);
        char *xml = read_file(path, &len);
        snprintf(path, sizeof(path), "%s/%s.expect", HOSTILE_DIR, names[i]);
        char *expect = read_file(path, NULL);
        assert_non_null(xml);
        assert_non_null(expect);
        failed += !check_all_readers(names[i], xml, len, expect);
        free(xml);
        free(expect);
        free(names[i]);
    }
    if (failed > 0)
        fail_msg("%zu of %zu hostile documents not refused as expected", failed, n);
}

/* ---- too big to store ---------------------------------------------------------------------- */

/* open + n copies of unit + close, in a buffer of exactly that length. */
static char *
repeated(const char *open, const char *unit, size_t n, const char *close, size_t *len)
{
    size_t lo = strlen(open), lu = strlen(unit), lc = strlen(close);
    char *s = malloc(lo + n * lu + lc + 1);

    assert_non_null(s);
    memcpy(s, open, lo);
    for (size_t i = 0; i < n; i++)
        memcpy(s + lo + i * lu, unit, lu);
    memcpy(s + lo + n * lu, close, lc + 1);
    *len = lo + n * lu + lc;
    return s;
}

static void
test_too_large(void **state)
{
    size_t len;
    char *xml = repeated("<Document>", " ", ISO_MAX_XML_BYTES, "</Document>", &len);

    (void)state;
    assert_true(check_all_readers("too-large", xml, len, "413\n TOO_LARGE\n"));
    free(xml);
}

static void
test_too_many_nodes(void **state)
{
    size_t len;
    char *elems = repeated("<Document>", "<a/>", ISO_MAX_XML_NODES, "</Document>", &len);
    char *comments = repeated("<Document>", "<!---->", ISO_MAX_XML_NODES, "</Document>", &len);

    (void)state;
    assert_true(check_all_readers("many-nodes", elems, strlen(elems), "400\n XML_LIMIT\n"));
    assert_true(check_all_readers("many-comments", comments, len, "400\n XML_LIMIT\n"));
    free(elems);
    free(comments);
}

/* 80,000 attributes on one tag: quadratic in libxml2 2.9, refused before it parses. */
static void
test_many_attributes(void **state)
{
    size_t len = 0, cap = (size_t)MANY_ATTRS * 16 + 64;
    char *xml = malloc(cap);

    (void)state;
    assert_non_null(xml);
    len += (size_t)snprintf(xml + len, cap - len, "<Document");
    for (int i = 0; i < MANY_ATTRS; i++)
        len += (size_t)snprintf(xml + len, cap - len, " a%d=\"\"", i);
    len += (size_t)snprintf(xml + len, cap - len, "/>");
    assert_true(check_all_readers("many-attributes", xml, len, "400\n XML_LIMIT\n"));
    free(xml);
}

static void
test_many_namespaces(void **state)
{
    size_t len = 0, cap = (size_t)MANY_NS * 40 + 64;
    char *xml = malloc(cap);

    (void)state;
    assert_non_null(xml);
    len += (size_t)snprintf(xml + len, cap - len, "<Document");
    for (int i = 0; i < MANY_NS; i++)
        len += (size_t)snprintf(xml + len, cap - len, " xmlns:p%d=\"urn:p%d\"", i, i);
    len += (size_t)snprintf(xml + len, cap - len, "/>");
    assert_true(check_all_readers("many-namespaces", xml, len, "400\n XML_LIMIT\n"));
    free(xml);
}

/* Well-formed but not a message: 422, and the memory comes back all the same. */
static void
test_refused_valid_xml_gives_memory_back(void **state)
{
    static const char xml[] = "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.009.001.08\">"
                              "<FICdtTrf/></Document>";

    (void)state;
    for (int r = 0; r < ENVELOPE; r++)
        assert_true(check_one("pacs.009", (enum reader)r, xml, strlen(xml),
                              r == VALIDATE ? "422\n/Document UNSUPPORTED\n"
                                            : "422\n/Document UNSUPPORTED_MESSAGE\n"));
}

int
test_hostile_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_too_many_nodes),
        cmocka_unit_test(test_many_attributes),
        cmocka_unit_test(test_many_namespaces),
        cmocka_unit_test(test_refused_valid_xml_gives_memory_back),
    };
    return cmocka_run_group_tests_name("hostile", tests, setup, teardown);
}
