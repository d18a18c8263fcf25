/* Tests for bench/reqgen.c: the generated payment instruction (valid JSON, the fields
 * corridor-load promises, unique ids), URL and header parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "reqgen.h"

#define RUN_ID "0badcafe"
#define NOW ((time_t)1795392000) /* 2026-11-23T00:00:00Z */
#define MANY 2000

static json_t *
build_one(rg_payment_gen *g, time_t now, rg_payment *p)
{
    char body[RG_PAYMENT_MAX];
    json_error_t err;

    assert_int_equal(rg_payment_next(g, now, body, sizeof(body), p), RG_OK);
    assert_int_equal(strlen(body), p->len);
    json_t *j = json_loadb(body, p->len, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL)
        fail_msg("invalid JSON at %d:%d: %s", err.line, err.column, err.text);
    return j;
}

static const char *
str_at(json_t *j, const char *path)
{
    /* path: "a", "a.b", "a.b.c"; arrays take their first element. */
    char buf[128], *save = NULL;
    int n = snprintf(buf, sizeof(buf), "%s", path);
    assert_true(n > 0 && (size_t)n < sizeof(buf));
    for (char *tok = strtok_r(buf, ".", &save); tok != NULL && j != NULL;
         tok = strtok_r(NULL, ".", &save)) {
        j = json_object_get(j, tok);
        if (json_is_array(j))
            j = json_array_get(j, 0);
    }
    assert_true(json_is_string(j));
    return json_string_value(j);
}

static void
test_payment_fields(void **state)
{
    (void)state;
    rg_payment_gen g;
    rg_payment p;
    assert_int_equal(rg_payment_gen_init(&g, RUN_ID, 3), RG_OK);
    json_t *j = build_one(&g, NOW, &p);

    assert_string_equal(str_at(j, "end_to_end_id"), p.end_to_end_id);
    assert_string_equal(str_at(j, "customer_id"), "ACME-001");
    assert_string_equal(str_at(j, "currency"), "EUR");
    assert_string_equal(str_at(j, "requested_execution_date"), "2026-11-23");
    assert_string_equal(str_at(j, "debtor.account.iban"), "GB33BUKB20201555555555");
    assert_string_equal(str_at(j, "creditor.account.iban"), "DE89370400440532013000");
    assert_string_equal(str_at(j, "debtor_agent.bic"), "CRDRGB20XXX");
    assert_string_equal(str_at(j, "intermediary_agents.bic"), "CRSPUS30XXX");
    assert_string_equal(str_at(j, "creditor_agent.bic"), "BENFDE20XXX");
    assert_string_equal(str_at(j, "charge_bearer"), "SHAR");
    assert_int_equal(json_array_size(json_object_get(j, "intermediary_agents")), 1);
    /* No uetr: the gateway generates it. */
    assert_null(json_object_get(j, "uetr"));
    assert_true(strlen(p.end_to_end_id) <= 35);
    assert_true(p.len >= 900 && p.len <= 1200); /* "about 1 KiB" */
    json_decref(j);
}

/* "12.34" back to 1234, refusing anything that is not a two-decimal amount. */
static int64_t
minor_units(const char *s)
{
    int64_t v = 0;
    const char *dot = strchr(s, '.');
    assert_non_null(dot);
    assert_int_equal(strlen(dot + 1), 2);
    for (; *s != '\0'; s++) {
        if (*s == '.')
            continue;
        assert_true(*s >= '0' && *s <= '9');
        v = v * 10 + (*s - '0');
    }
    return v;
}

static void
test_longest_ids_fit_iso_limits(void **state)
{
    (void)state;
    rg_payment_gen g;
    rg_payment p;
    assert_int_equal(rg_payment_gen_init(&g, RUN_ID, 63), RG_OK);
    g.seq = 999999999999999ULL; /* far beyond corridor-load's request limit */
    json_t *j = build_one(&g, NOW, &p);
    assert_true(strlen(str_at(j, "end_to_end_id")) <= 35);           /* Max35Text */
    assert_true(strlen(str_at(j, "remittance_information")) <= 140); /* Max140Text */
    json_decref(j);
}

static void
test_amounts_vary_within_range(void **state)
{
    (void)state;
    rg_payment_gen g;
    rg_payment p;
    int64_t first = -1;
    int distinct = 0;
    assert_int_equal(rg_payment_gen_init(&g, RUN_ID, 0), RG_OK);
    for (int i = 0; i < 200; i++) {
        json_t *j = build_one(&g, NOW, &p);
        int64_t a = minor_units(str_at(j, "amount"));
        assert_int_equal(a, p.amount_minor);
        assert_true(a >= RG_AMOUNT_MIN_MINOR && a < RG_AMOUNT_MIN_MINOR + RG_AMOUNT_SPAN_MINOR);
        if (first < 0)
            first = a;
        else if (a != first)
            distinct++;
        json_decref(j);
    }
    assert_true(distinct > 150);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_ids_unique_across_workers(void **state)
{
    (void)state;
    rg_payment_gen g[2];
    char **ids = calloc(2 * MANY * 2, sizeof(char *));
    assert_non_null(ids);
    size_t n = 0;
    assert_int_equal(rg_payment_gen_init(&g[0], RUN_ID, 0), RG_OK);
    assert_int_equal(rg_payment_gen_init(&g[1], RUN_ID, 1), RG_OK);
    for (int i = 0; i < MANY; i++) {
        for (int w = 0; w < 2; w++) {
            rg_payment p;
            json_t *j = build_one(&g[w], NOW, &p);
            ids[n++] = strdup(str_at(j, "end_to_end_id"));
            ids[n++] = strdup(p.idempotency_key);
            json_decref(j);
        }
    }
    qsort(ids, n, sizeof(char *), cmp_str);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(ids[i - 1], ids[i]) == 0)
            fail_msg("duplicate id %s", ids[i]);
    }
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

static void
test_date_is_utc_today(void **state)
{
    (void)state;
    rg_payment_gen g;
    rg_payment p;
    char want[11];
    time_t now = time(NULL);
    struct tm tm;
    assert_non_null(gmtime_r(&now, &tm));
    assert_int_equal(strftime(want, sizeof(want), "%Y-%m-%d", &tm), 10);
    assert_int_equal(rg_payment_gen_init(&g, RUN_ID, 0), RG_OK);
    json_t *j = build_one(&g, now, &p);
    assert_string_equal(str_at(j, "requested_execution_date"), want);
    json_decref(j);
    /* One second before midnight UTC is still the previous day. */
    j = build_one(&g, NOW - 1, &p);
    assert_string_equal(str_at(j, "requested_execution_date"), "2026-11-22");
    json_decref(j);
}

static void
test_payment_refuses_small_buffer(void **state)
{
    (void)state;
    rg_payment_gen g;
    rg_payment p;
    char small[256];
    assert_int_equal(rg_payment_gen_init(&g, RUN_ID, 0), RG_OK);
    assert_int_equal(rg_payment_next(&g, NOW, small, sizeof(small), &p), RG_ERR_TOO_LONG);
    assert_int_equal(g.seq, 0); /* nothing consumed */
    assert_int_equal(rg_payment_gen_init(&g, "short", 0), RG_ERR_RUN_ID);
    assert_int_equal(rg_payment_gen_init(&g, "0BADCAFE", 0), RG_ERR_RUN_ID);
}

static void
test_url_parse(void **state)
{
    (void)state;
    rg_url u;
    assert_int_equal(rg_url_parse("https://127.0.0.1:8443/v1/payments", &u), RG_OK);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 8443);
    assert_string_equal(u.path, "/v1/payments");
    assert_string_equal(u.authority, "127.0.0.1:8443");
    assert_int_equal(rg_url_parse("HTTPS://localhost", &u), RG_OK);
    assert_int_equal(u.port, 443);
    assert_string_equal(u.path, "/");
    assert_int_equal(rg_url_parse("https://[::1]:9000/a?b=c", &u), RG_OK);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 9000);
    assert_string_equal(u.path, "/a?b=c");
    assert_string_equal(u.authority, "[::1]:9000");

    static const char *const bad[] = {
        "http://127.0.0.1/", "https://",      "https://:80/",    "https://h:0/",
        "https://h:65536/",  "https://h:8x/", "https://u@h/",    "https://h/a#frag",
        "https://h/a b",     "https://[::1/", "https://[::1]x/", "https://h:/",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (rg_url_parse(bad[i], &u) == RG_OK)
            fail_msg("accepted %s", bad[i]);
    }
}

static void
test_header_parse(void **state)
{
    (void)state;
    rg_header h;
    assert_int_equal(rg_header_parse("X-Request-Id:  abc 1 \t", &h), RG_OK);
    assert_string_equal(h.name, "x-request-id");
    assert_string_equal(h.value, "abc 1");
    assert_int_equal(rg_header_parse("Accept:", &h), RG_OK);
    assert_string_equal(h.value, "");

    static const char *const bad[] = {
        "no colon",
        ": value",
        ":path: /",
        "Bad Name: v",
        "Connection: close",
        "Transfer-Encoding: chunked",
        "X: a\r\nInjected: b",
        "TE: trailers",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (rg_header_parse(bad[i], &h) == RG_OK)
            fail_msg("accepted %s", bad[i]);
    }
    char longv[RG_MAX_HEADER_VALUE + 16];
    memset(longv, 'a', sizeof(longv) - 1);
    longv[0] = 'X';
    longv[1] = ':';
    longv[sizeof(longv) - 1] = '\0';
    assert_int_equal(rg_header_parse(longv, &h), RG_ERR_TOO_LONG);
}

/* ---- status updates over a UETR list ------------------------------------------------------- */

#define UETR_A "eb6305c9-1f7f-49de-aed0-16487c27b42d"
#define UETR_B "00000000-0000-4000-8000-000000000001"

static void
test_uetrs_parse(void **state)
{
    static const char good[] = UETR_A "\n\n" UETR_B "\r\n  \n";
    static const char *const bad[] = {
        "",                                    /* nothing in it */
        UETR_A "\nnot-a-uetr\n",               /* one bad line spoils the file */
        "EB6305C9-1F7F-49DE-AED0-16487C27B42D", /* upper case */
        UETR_A "0",                            /* too long */
        "eb6305c9x1f7f-49de-aed0-16487c27b42d", /* a dash missing */
    };
    rg_uetrs u;

    (void)state;
    assert_int_equal(rg_uetrs_parse(good, sizeof(good) - 1, &u), RG_OK);
    assert_int_equal(u.n, 2);
    assert_string_equal(u.v[0], UETR_A);
    assert_string_equal(u.v[1], UETR_B);
    rg_uetrs_free(&u);
    assert_null(u.v);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(rg_uetrs_parse(bad[i], strlen(bad[i]), &u), RG_ERR_UETR);
        assert_null(u.v);
    }
}

static void
test_path_fill(void **state)
{
    char out[RG_TEMPLATED_PATH_MAX], tiny[16];

    (void)state;
    assert_int_equal(rg_path_fill("/tracker/v6/payments/{uetr}/status", UETR_A, out, sizeof(out)),
                     RG_OK);
    assert_string_equal(out, "/tracker/v6/payments/" UETR_A "/status");
    assert_int_equal(rg_path_fill("/v1/payments/{uetr}", UETR_A, out, sizeof(out)), RG_OK);
    assert_string_equal(out, "/v1/payments/" UETR_A);
    assert_int_equal(rg_path_fill("/healthz", UETR_A, out, sizeof(out)), RG_ERR_URL);
    assert_int_equal(rg_path_fill("/x/{uetr}", UETR_A, tiny, sizeof(tiny)), RG_ERR_TOO_LONG);
}

/* Together the workers walk the list in turn: every UETR gets the same share. */
static void
test_uetr_pick_spreads(void **state)
{
    enum { THREADS = 3, N = 7, ROUNDS = 21 };
    unsigned hits[N] = {0};

    (void)state;
    for (unsigned w = 0; w < THREADS; w++)
        for (uint64_t seq = 0; seq < ROUNDS; seq++)
            hits[rg_uetr_pick(seq, w, THREADS, N)]++;
    for (unsigned i = 0; i < N; i++)
        assert_int_equal(hits[i], THREADS * ROUNDS / N);
    assert_int_equal(rg_uetr_pick(5, 0, 1, 0), 0);
}

/* The gpi update status.c accepts: every required field, ACSP with a G code, the sender the
 * correspondent's own BIC, and an instruction id unique per request (else it is absorbed). */
static void
test_status_fields(void **state)
{
    rg_payment_gen g;
    rg_status st, again;
    char body[RG_STATUS_MAX];
    json_error_t err;

    (void)state;
    assert_int_equal(rg_payment_gen_init(&g, RUN_ID, 2), RG_OK);
    assert_int_equal(rg_status_next(&g, body, sizeof(body), &st), RG_OK);
    assert_int_equal(strlen(body), st.len);
    json_t *j = json_loadb(body, st.len, JSON_REJECT_DUPLICATES, &err);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "from")), RG_CORRESPONDENT);
    assert_string_equal(json_string_value(json_object_get(j, "tracker_informing_party")),
                        RG_CORRESPONDENT);
    assert_string_equal(json_string_value(json_object_get(j, "transaction_status")), "ACSP");
    assert_string_equal(json_string_value(json_object_get(j, "transaction_status_reason")),
                        "G000");
    assert_string_equal(json_string_value(json_object_get(j, "service_level")), "G001");
    assert_string_equal(json_string_value(json_object_get(j, "payment_scenario")), "CCTR");
    assert_string_equal(json_string_value(json_object_get(j, "instruction_identification")),
                        st.instruction_id);
    assert_true(strlen(st.instruction_id) <= 35);
    json_decref(j);
    assert_int_equal(rg_status_next(&g, body, sizeof(body), &again), RG_OK);
    assert_string_not_equal(st.instruction_id, again.instruction_id);
    assert_string_not_equal(st.idempotency_key, again.idempotency_key);
    assert_int_equal(rg_status_next(&g, body, 16, &st), RG_ERR_TOO_LONG);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_payment_fields),
        cmocka_unit_test(test_longest_ids_fit_iso_limits),
        cmocka_unit_test(test_amounts_vary_within_range),
        cmocka_unit_test(test_ids_unique_across_workers),
        cmocka_unit_test(test_date_is_utc_today),
        cmocka_unit_test(test_payment_refuses_small_buffer),
        cmocka_unit_test(test_url_parse),
        cmocka_unit_test(test_header_parse),
        cmocka_unit_test(test_uetrs_parse),
        cmocka_unit_test(test_path_fill),
        cmocka_unit_test(test_uetr_pick_spreads),
        cmocka_unit_test(test_status_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
