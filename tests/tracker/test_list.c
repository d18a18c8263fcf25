/*
 * tracker/list.c: the listing newest first (all, by owner BIC8, with customer, status, state
 * and since filters) and the changed feed by update time, both paged with cursors until the
 * end, each payment exactly once and in order; cursors that are not ours refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

#define N 25
#define T0 INT64_C(1763700000000)
#define OURS "CRDRGB20XXX"
#define THEIRS "OTHRGB22XXX"
#define MAX_PAGES 64

typedef struct env {
    char *dir;
    test_clock clock;
    trk_store *s;
    char uetr[N][37];
} env;

/* Payment i: created T0 + i s; even ones ours (ACME-001), odd ones another bank's. */
static int
setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    trk_config cfg = {0};
    fx f;
    int i;

    if (!e)
        return -1;
    atomic_store(&e->clock.ms, T0 + 3600 * 1000);
    e->dir = tmpdir_make();
    cfg.dir = e->dir;
    cfg.tick_ms = 3600 * 1000;
    cfg.now_ms = test_clock_now;
    cfg.now_arg = &e->clock;
    if (!e->dir || trk_open(&e->s, &cfg) != TRK_OK)
        return -1;
    for (i = 0; i < N; i++) {
        uetr_make(e->uetr[i], 0x5a, (unsigned)i);
        fx_init(&f, e->uetr[i]);
        snprintf(f.payment.debtor_agent, sizeof f.payment.debtor_agent, "%s",
                 i % 2 ? THEIRS : OURS);
        snprintf(f.payment.customer_id, sizeof f.payment.customer_id, "%s",
                 i % 4 == 0 ? "ACME-001" : "OTHER");
        f.payment.created_ms = f.payment.updated_ms = T0 + i * 1000;
        if (submit_wait(e->s, &f.op) != TRK_OK)
            return -1;
    }
    *state = e;
    return 0;
}

static int
teardown(void **state)
{
    env *e = *state;

    trk_close(e->s);
    tmpdir_remove(e->dir);
    free(e);
    return 0;
}

/* Pages through a query; returns how many came, their UETRs in order in out. */
static size_t
list_all(trk_store *s, trk_query *q, char (*out)[37], size_t max)
{
    char next[TRK_CURSOR_LEN], cursor[TRK_CURSOR_LEN] = "";
    trk_payment *p;
    size_t n, i, total = 0;
    int pages = 0;

    do {
        q->cursor = cursor;
        assert_int_equal(trk_payments_list(s, q, &p, &n, next), TRK_OK);
        assert_true(n <= q->limit);
        for (i = 0; i < n; i++) {
            assert_true(total < max);
            memcpy(out[total++], p[i].uetr, 37);
        }
        trk_payments_free(p, n);
        memcpy(cursor, next, sizeof cursor);
        assert_true(++pages < MAX_PAGES);
    } while (cursor[0]);
    return total;
}

static void
test_list_all_newest_first(void **state)
{
    env *e = *state;
    char got[N + 1][37];
    trk_query q;
    size_t n, i;

    memset(&q, 0, sizeof q);
    q.limit = 7;
    n = list_all(e->s, &q, got, N + 1);
    assert_int_equal(n, N);
    for (i = 0; i < N; i++)
        assert_string_equal(got[i], e->uetr[N - 1 - i]);
}

static void
test_list_by_owner_and_filters(void **state)
{
    env *e = *state;
    char got[N + 1][37];
    trk_query q;
    size_t n, i;

    memset(&q, 0, sizeof q);
    q.owner_bic = "CRDRGB20"; /* BIC8 = BIC11 */
    q.limit = 4;
    n = list_all(e->s, &q, got, N + 1);
    assert_int_equal(n, 13);
    for (i = 0; i < n; i++)
        assert_string_equal(got[i], e->uetr[24 - 2 * i]);

    q.customer_id = "ACME-001";
    n = list_all(e->s, &q, got, N + 1);
    assert_int_equal(n, 7); /* 0, 4, ... 24 */
    assert_string_equal(got[0], e->uetr[24]);

    assert_int_equal(input(e->s, e->uetr[8], TRK_IN_ACCC, NULL), TRK_OK);
    assert_int_equal(input(e->s, e->uetr[12], TRK_IN_RJCT, NULL), TRK_OK);
    q.customer_id = NULL;
    q.status = "ACCC";
    n = list_all(e->s, &q, got, N + 1);
    assert_int_equal(n, 1);
    assert_string_equal(got[0], e->uetr[8]);
    q.status = NULL;
    q.state = TRK_REJECTED;
    n = list_all(e->s, &q, got, N + 1);
    assert_int_equal(n, 1);
    assert_string_equal(got[0], e->uetr[12]);
    q.state = 0;
    q.since_ms = T0 + 20 * 1000;
    n = list_all(e->s, &q, got, N + 1);
    assert_int_equal(n, 3); /* 24, 22, 20 */
    q.owner_bic = "NOBODY22";
    q.since_ms = 0;
    assert_int_equal(list_all(e->s, &q, got, N + 1), 0);
}

static void
test_list_refuses(void **state)
{
    env *e = *state;
    char next[TRK_CURSOR_LEN], feed[TRK_CURSOR_LEN];
    trk_payment *p;
    trk_query q;
    size_t n;

    memset(&q, 0, sizeof q);
    assert_int_equal(trk_payments_list(e->s, &q, &p, &n, next), TRK_ERR_INVALID); /* limit 0 */
    q.limit = TRK_MAX_PAGE + 1;
    assert_int_equal(trk_payments_list(e->s, &q, &p, &n, next), TRK_ERR_INVALID);
    q.limit = 2;
    q.cursor = "garbage";
    assert_int_equal(trk_payments_list(e->s, &q, &p, &n, next), TRK_ERR_INVALID);
    q.cursor = NULL;
    assert_int_equal(trk_payments_changed(e->s, NULL, 0, INT64_MAX, 2, NULL, &p, &n, next), TRK_OK);
    trk_payments_free(p, n);
    memcpy(feed, next, sizeof feed);
    assert_true(feed[0]);
    q.cursor = feed; /* a changed-feed cursor is not a listing cursor */
    assert_int_equal(trk_payments_list(e->s, &q, &p, &n, next), TRK_ERR_INVALID);
    q.cursor = NULL;
    q.owner_bic = "bad";
    assert_int_equal(trk_payments_list(e->s, &q, &p, &n, next), TRK_ERR_INVALID);
    assert_int_equal(trk_payments_changed(e->s, NULL, 5, 4, 2, NULL, &p, &n, next),
                     TRK_ERR_INVALID);
}

/* Pages through the changed feed for [from, to). */
static size_t
changed_all(trk_store *s, const char *owner, int64_t from, int64_t to, char (*out)[37], size_t max)
{
    char next[TRK_CURSOR_LEN], cursor[TRK_CURSOR_LEN] = "";
    trk_payment *p;
    size_t n, i, total = 0;
    int64_t last = INT64_MIN;
    int pages = 0;

    do {
        assert_int_equal(trk_payments_changed(s, owner, from, to, 3, cursor, &p, &n, next), TRK_OK);
        for (i = 0; i < n; i++) {
            assert_true(total < max);
            assert_true(p[i].updated_ms >= last); /* oldest update first */
            assert_true(p[i].updated_ms >= from && p[i].updated_ms < to);
            last = p[i].updated_ms;
            memcpy(out[total++], p[i].uetr, 37);
        }
        trk_payments_free(p, n);
        memcpy(cursor, next, sizeof cursor);
        assert_true(++pages < MAX_PAGES);
    } while (cursor[0]);
    return total;
}

static void
test_changed_feed(void **state)
{
    env *e = *state;
    char got[N + 1][37];
    size_t n;

    n = changed_all(e->s, NULL, T0, T0 + 3600 * 1000, got, N + 1);
    assert_int_equal(n, N);
    assert_string_equal(got[0], e->uetr[0]);
    n = changed_all(e->s, NULL, T0 + 5 * 1000, T0 + 10 * 1000, got, N + 1);
    assert_int_equal(n, 5); /* 5..9 */
    assert_string_equal(got[0], e->uetr[5]);
    /* An update moves a payment to its new time (the store clock). */
    atomic_store(&e->clock.ms, T0 + 7200 * 1000);
    assert_int_equal(input(e->s, e->uetr[3], TRK_IN_ACSP, NULL), TRK_OK);
    n = changed_all(e->s, NULL, T0, T0 + 3600 * 1000, got, N + 1);
    assert_int_equal(n, N - 1);
    n = changed_all(e->s, NULL, T0 + 3600 * 1000, INT64_MAX, got, N + 1);
    assert_int_equal(n, 1);
    assert_string_equal(got[0], e->uetr[3]);
    n = changed_all(e->s, "OTHRGB22", T0, INT64_MAX, got, N + 1);
    assert_int_equal(n, 12);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_list_all_newest_first),
        T(test_list_by_owner_and_filters),
        T(test_list_refuses),
        T(test_changed_feed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
