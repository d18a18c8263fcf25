/*
 * tracker/saga.c: trk_saga_step over every (state, prev, input), out-of-range values
 * included. The expectations below are written from DESIGN.md's saga, independently of the
 * tables in saga.c: every pair listed must do exactly what is listed (next state, prev,
 * actions, anomaly or not), every pair not listed must be refused with the state untouched.
 * Then the invariants that tie the saga to the ledger: a step releases or settles exactly
 * when the payment stops holding funds, reserves exactly when it starts; final states never
 * rewind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "tracker.h"

enum { GO = 'G', REC = 'R', ANOM = 'A' };

typedef struct expect {
    trk_state state, prev; /* prev: only for CANCEL_PENDING */
    trk_input in;
    char kind;
    trk_state next, nprev; /* GO only */
    unsigned actions;
} expect;

#define RECEIVED TRK_RECEIVED
#define VALIDATED TRK_VALIDATED
#define FR TRK_FUNDS_RESERVED
#define SCHED TRK_SCHEDULED
#define SENT TRK_SENT
#define IP TRK_IN_PROGRESS
#define DONE TRK_COMPLETED
#define REJ TRK_REJECTED
#define CP TRK_CANCEL_PENDING
#define CXL TRK_CANCELLED
#define RET TRK_RETURNED

#define RES TRK_ACT_RESERVE
#define REL TRK_ACT_RELEASE
#define SET TRK_ACT_SETTLE
#define CRB TRK_ACT_CREDIT_BACK
#define SEND TRK_ACT_SEND
#define RCL TRK_ACT_RECALL
#define OVD TRK_ACT_OVERDUE
#define UNS TRK_ACT_UNSEND

/* clang-format off */
#define G(s, p, i, n, np, a) {s, p, TRK_IN_##i, GO, n, np, a}
#define R(s, p, i) {s, p, TRK_IN_##i, REC, 0, 0, 0}
#define A(s, p, i) {s, p, TRK_IN_##i, ANOM, 0, 0, 0}

/* The correspondents' view of a payment whose pacs.008 may be on its way (FR, SENT, IP). */
#define FLIGHT(s)                                                                             \
    G(s, 0, ACSP, IP, 0, 0), G(s, 0, ACCC, DONE, 0, SET), G(s, 0, RJCT, REJ, 0, REL),          \
        A(s, 0, CANCEL_ACCEPTED), A(s, 0, CANCEL_REFUSED), A(s, 0, RETURN),                    \
        G(s, 0, OVERDUE, s, 0, OVD)

/* A recall pending while the funds are held (prev SENT or IN_PROGRESS). */
#define PENDING_HELD(p)                                                                       \
    R(CP, p, DELIVERED), G(CP, p, ACSP, CP, IP, 0), G(CP, p, ACCC, CP, DONE, SET),             \
        G(CP, p, RJCT, REJ, 0, REL), G(CP, p, CANCEL_ACCEPTED, CXL, 0, REL),                  \
        G(CP, p, CANCEL_REFUSED, p, 0, 0), A(CP, p, RETURN), G(CP, p, OVERDUE, CP, p, OVD)

static const expect table[] = {
    G(RECEIVED, 0, CANCEL, CXL, 0, 0),
    G(RECEIVED, 0, OVERDUE, RECEIVED, 0, OVD),

    G(VALIDATED, 0, ACCEPT, FR, 0, RES | SEND),
    G(VALIDATED, 0, SCHEDULE, SCHED, 0, RES),
    G(VALIDATED, 0, CANCEL, CXL, 0, 0),
    G(VALIDATED, 0, OVERDUE, VALIDATED, 0, OVD),

    FLIGHT(FR),
    G(FR, 0, DELIVERED, SENT, 0, 0),
    G(FR, 0, CANCEL, CXL, 0, REL | UNS), /* not left yet: a local cancel */

    G(SCHED, 0, DUE, FR, 0, SEND),
    A(SCHED, 0, DELIVERED), A(SCHED, 0, ACSP), A(SCHED, 0, ACCC), A(SCHED, 0, RJCT),
    G(SCHED, 0, CANCEL, CXL, 0, REL),
    A(SCHED, 0, CANCEL_ACCEPTED), A(SCHED, 0, CANCEL_REFUSED), A(SCHED, 0, RETURN),
    G(SCHED, 0, OVERDUE, SCHED, 0, OVD),

    FLIGHT(SENT),
    R(SENT, 0, DELIVERED),
    G(SENT, 0, CANCEL, CP, SENT, RCL),

    FLIGHT(IP),
    R(IP, 0, DELIVERED),
    G(IP, 0, CANCEL, CP, IP, RCL),

    R(DONE, 0, DELIVERED), A(DONE, 0, ACSP), R(DONE, 0, ACCC), A(DONE, 0, RJCT),
    G(DONE, 0, CANCEL, CP, DONE, RCL), /* gSRP after completion */
    A(DONE, 0, CANCEL_ACCEPTED), A(DONE, 0, CANCEL_REFUSED),
    G(DONE, 0, RETURN, RET, 0, CRB),

    R(REJ, 0, DELIVERED), A(REJ, 0, ACSP), A(REJ, 0, ACCC), R(REJ, 0, RJCT),
    A(REJ, 0, CANCEL_ACCEPTED), A(REJ, 0, CANCEL_REFUSED), A(REJ, 0, RETURN),

    A(CXL, 0, DELIVERED), A(CXL, 0, ACSP), A(CXL, 0, ACCC), R(CXL, 0, RJCT),
    R(CXL, 0, CANCEL_ACCEPTED), A(CXL, 0, CANCEL_REFUSED), A(CXL, 0, RETURN),

    R(RET, 0, DELIVERED), A(RET, 0, ACSP), A(RET, 0, ACCC), A(RET, 0, RJCT),
    R(RET, 0, CANCEL_ACCEPTED), A(RET, 0, CANCEL_REFUSED), A(RET, 0, RETURN),

    PENDING_HELD(SENT),
    PENDING_HELD(IP),

    R(CP, DONE, DELIVERED), A(CP, DONE, ACSP), R(CP, DONE, ACCC), A(CP, DONE, RJCT),
    R(CP, DONE, CANCEL_ACCEPTED), /* CNCL: the money comes back by pacs.004 */
    G(CP, DONE, CANCEL_REFUSED, DONE, 0, 0),
    G(CP, DONE, RETURN, RET, 0, CRB),
};

/* clang-format on */

#define N_TABLE (sizeof table / sizeof table[0])
#define STATE_MAX (TRK_STATE_COUNT + 1) /* one past: out of range */
#define INPUT_MAX (TRK_IN_COUNT + 1)

static const expect *
lookup(int state, int prev, int in)
{
    size_t i;

    for (i = 0; i < N_TABLE; i++) {
        const expect *e = &table[i];
        if ((int)e->state == state && (int)e->in == in && (state != CP || (int)e->prev == prev))
            return e;
    }
    return NULL;
}

static void
check_pair(int state, int prev, int in)
{
    const expect *e = lookup(state, prev, in);
    trk_step st = trk_saga_step((trk_state)state, (trk_state)prev, (trk_input)in);
    trk_state keep_prev = state == CP ? (trk_state)prev : 0;
    char what[96];

    snprintf(what, sizeof what, "%s (prev %s) x %s", trk_state_name((trk_state)state),
             trk_state_name((trk_state)prev), trk_input_name((trk_input)in));
    if (!e) {
        if (st.allowed || st.anomaly || (int)st.next != state || st.actions)
            fail_msg("%s: must be refused with the state untouched", what);
        return;
    }
    if (!st.allowed)
        fail_msg("%s: refused, expected allowed", what);
    if (e->kind != GO) {
        if (st.anomaly != (e->kind == ANOM) || (int)st.next != state || st.prev != keep_prev ||
            st.actions)
            fail_msg("%s: must be recorded%s with nothing changed", what,
                     e->kind == ANOM ? " as an anomaly" : "");
        return;
    }
    if (st.anomaly || st.next != e->next || st.prev != e->nprev || st.actions != e->actions)
        fail_msg("%s: got %s (prev %s) actions %#x, expected %s (prev %s) actions %#x", what,
                 trk_state_name(st.next), trk_state_name(st.prev), st.actions,
                 trk_state_name(e->next), trk_state_name(e->nprev), e->actions);
}

/* Every state, every prev (only CANCEL_PENDING reads it), every input, out of range too. */
static void
test_every_pair(void **state)
{
    int s, p, in;
    size_t pairs = 0;

    (void)state;
    for (s = 0; s <= STATE_MAX; s++)
        for (p = 0; p <= STATE_MAX; p++)
            for (in = 0; in <= INPUT_MAX; in++, pairs++)
                check_pair(s, p, in);
    assert_int_equal(pairs, (STATE_MAX + 1) * (STATE_MAX + 1) * (INPUT_MAX + 1));
}

/* The table holds no pair twice and names only real states and inputs. */
static void
test_table_sane(void **state)
{
    size_t i, j;

    (void)state;
    for (i = 0; i < N_TABLE; i++) {
        assert_true(table[i].state >= TRK_RECEIVED && table[i].state <= TRK_RETURNED);
        assert_true(table[i].in >= 1 && table[i].in <= TRK_IN_COUNT);
        for (j = i + 1; j < N_TABLE; j++)
            assert_false(table[i].state == table[j].state && table[i].in == table[j].in &&
                         table[i].prev == table[j].prev);
    }
}

/* Holds before and after a step decide its ledger actions, for every allowed pair. */
static void
test_actions_match_funds(void **state)
{
    int s, p, in, before, after;
    unsigned drop;
    trk_step st;

    (void)state;
    for (s = TRK_RECEIVED; s <= TRK_RETURNED; s++)
        for (p = 0; p <= TRK_RETURNED; p++)
            for (in = 1; in <= TRK_IN_COUNT; in++) {
                st = trk_saga_step((trk_state)s, (trk_state)p, (trk_input)in);
                if (!st.allowed)
                    continue;
                before = trk_state_holds_funds((trk_state)s, (trk_state)p);
                after = trk_state_holds_funds(st.next, st.prev);
                drop = st.actions & (TRK_ACT_RELEASE | TRK_ACT_SETTLE);
                if ((before && !after) != (drop != 0) ||
                    (!before && after) != ((st.actions & TRK_ACT_RESERVE) != 0))
                    fail_msg("%s (prev %s) x %s: funds %d -> %d, actions %#x",
                             trk_state_name((trk_state)s), trk_state_name((trk_state)p),
                             trk_input_name((trk_input)in), before, after, st.actions);
                /* Settling is from in flight to completed; crediting back only after it. */
                if (st.actions & TRK_ACT_CREDIT_BACK)
                    assert_int_equal(st.next, TRK_RETURNED);
            }
}

/* Final states are sticky: correspondents' words never move them, only a channel's recall
 * of a completed payment and a pacs.004 do. */
static void
test_final_states_sticky(void **state)
{
    static const trk_state finals[] = {TRK_COMPLETED, TRK_REJECTED, TRK_CANCELLED, TRK_RETURNED};
    static const trk_input words[] = {
        TRK_IN_DELIVERED,      TRK_IN_ACSP, TRK_IN_ACCC,    TRK_IN_RJCT,   TRK_IN_CANCEL_ACCEPTED,
        TRK_IN_CANCEL_REFUSED, TRK_IN_DUE,  TRK_IN_OVERDUE, TRK_IN_ACCEPT, TRK_IN_SCHEDULE};
    size_t i, j;
    trk_step st;

    (void)state;
    for (i = 0; i < sizeof finals / sizeof finals[0]; i++) {
        assert_true(trk_state_is_final(finals[i], 0));
        for (j = 0; j < sizeof words / sizeof words[0]; j++) {
            st = trk_saga_step(finals[i], 0, words[j]);
            assert_int_equal(st.next, finals[i]);
            assert_int_equal(st.actions, 0);
        }
        st = trk_saga_step(finals[i], 0, TRK_IN_CANCEL);
        assert_int_equal(st.allowed, finals[i] == TRK_COMPLETED);
    }
    assert_true(trk_state_is_final(TRK_CANCEL_PENDING, TRK_COMPLETED));
    assert_false(trk_state_is_final(TRK_CANCEL_PENDING, TRK_SENT));
    assert_false(trk_state_is_final(TRK_SCHEDULED, 0));
}

static void
test_names(void **state)
{
    int in;

    (void)state;
    for (in = 1; in <= TRK_IN_COUNT; in++)
        assert_string_not_equal(trk_input_name((trk_input)in), "UNKNOWN");
    assert_string_equal(trk_input_name(TRK_IN_CANCEL_REFUSED), "CANCEL_REFUSED");
    assert_string_equal(trk_input_name((trk_input)0), "UNKNOWN");
    assert_string_equal(trk_input_name((trk_input)(TRK_IN_COUNT + 1)), "UNKNOWN");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_pair),
        cmocka_unit_test(test_table_sane),
        cmocka_unit_test(test_actions_match_funds),
        cmocka_unit_test(test_final_states_sticky),
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
