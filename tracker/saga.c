/*
 * saga — the pure transition function of a payment: state × input → step.
 *
 * Two tables. `rules` covers every state but CANCEL_PENDING; a recall-pending payment behaves
 * according to where it would be without the recall (`prev`), so it has a table per kind of
 * prev: funds still held (SENT, IN_PROGRESS) or settled (COMPLETED). Anything not listed is
 * not allowed. Kinds:
 *   GO   the input applies: next state and actions as listed
 *   REC  recorded, consistent with the state: the event is appended, nothing else changes
 *   ANOM recorded as an anomaly: late, out-of-order or conflicting; nothing else changes
 */
#include "tracker.h"

enum kind { NO = 0, GO, REC, ANOM };

/* BACK: return to prev (RJCR). SELF: stay in the current state. */
#define BACK 0xfe
#define SELF 0xff

struct rule {
    unsigned char kind;
    unsigned char next;    /* a trk_state, BACK or SELF */
    unsigned char prev;    /* CANCEL_PENDING tables: the new prev (0 = keep) */
    unsigned char actions; /* TRK_ACT_* */
};

/* clang-format off */
#define R_GO(n, a) {GO, (n), 0, (a)}
#define R_GOP(p, a) {GO, TRK_CANCEL_PENDING, (p), (a)}
#define R_REC {REC, SELF, 0, 0}
#define R_ANOM {ANOM, SELF, 0, 0}

#define A_RES TRK_ACT_RESERVE
#define A_REL TRK_ACT_RELEASE
#define A_SET TRK_ACT_SETTLE
#define A_CRB TRK_ACT_CREDIT_BACK
#define A_SEND TRK_ACT_SEND
#define A_RCL TRK_ACT_RECALL
#define A_OVD TRK_ACT_OVERDUE
#define A_UNS TRK_ACT_UNSEND

/* Correspondents' word about a payment still in flight (FUNDS_RESERVED, SENT, IN_PROGRESS):
 * an update about a pacs.008 not yet marked delivered is evidence that it left. */
#define IN_FLIGHT(self_deliver)                                                               \
    [TRK_IN_DELIVERED] = self_deliver,                                                         \
    [TRK_IN_ACSP] = R_GO(TRK_IN_PROGRESS, 0),                                                  \
    [TRK_IN_ACCC] = R_GO(TRK_COMPLETED, A_SET),                                                \
    [TRK_IN_RJCT] = R_GO(TRK_REJECTED, A_REL),                                                 \
    [TRK_IN_CANCEL_ACCEPTED] = R_ANOM,                                                         \
    [TRK_IN_CANCEL_REFUSED] = R_ANOM,                                                          \
    [TRK_IN_RETURN] = R_ANOM,                                                                  \
    [TRK_IN_OVERDUE] = R_GO(SELF, A_OVD)

/* Late word about a payment in a final state: consistent repeats are recorded, the rest are
 * anomalies. Final states are sticky; only a channel's recall of a COMPLETED payment and a
 * pacs.004 move one on. */
#define SETTLED_LATE                                                                          \
    [TRK_IN_DELIVERED] = R_REC, [TRK_IN_ACSP] = R_ANOM, [TRK_IN_ACCC] = R_REC,                 \
    [TRK_IN_RJCT] = R_ANOM, [TRK_IN_CANCEL_REFUSED] = R_ANOM

static const struct rule rules[TRK_STATE_COUNT + 1][TRK_IN_COUNT + 1] = {
    [TRK_RECEIVED] = {
        [TRK_IN_CANCEL] = R_GO(TRK_CANCELLED, 0),
        [TRK_IN_OVERDUE] = R_GO(SELF, A_OVD),
    },
    [TRK_VALIDATED] = {
        [TRK_IN_ACCEPT] = R_GO(TRK_FUNDS_RESERVED, A_RES | A_SEND),
        [TRK_IN_SCHEDULE] = R_GO(TRK_SCHEDULED, A_RES),
        [TRK_IN_CANCEL] = R_GO(TRK_CANCELLED, 0),
        [TRK_IN_OVERDUE] = R_GO(SELF, A_OVD),
    },
    [TRK_FUNDS_RESERVED] = {
        IN_FLIGHT(R_GO(TRK_SENT, 0)),
        [TRK_IN_CANCEL] = R_GO(TRK_CANCELLED, A_REL | A_UNS),
    },
    [TRK_SCHEDULED] = {
        [TRK_IN_DUE] = R_GO(TRK_FUNDS_RESERVED, A_SEND),
        /* Nothing has left: nobody can have seen it. */
        [TRK_IN_DELIVERED] = R_ANOM,
        [TRK_IN_ACSP] = R_ANOM,
        [TRK_IN_ACCC] = R_ANOM,
        [TRK_IN_RJCT] = R_ANOM,
        [TRK_IN_CANCEL] = R_GO(TRK_CANCELLED, A_REL),
        [TRK_IN_CANCEL_ACCEPTED] = R_ANOM,
        [TRK_IN_CANCEL_REFUSED] = R_ANOM,
        [TRK_IN_RETURN] = R_ANOM,
        [TRK_IN_OVERDUE] = R_GO(SELF, A_OVD),
    },
    [TRK_SENT] = {
        IN_FLIGHT(R_REC),
        [TRK_IN_CANCEL] = R_GOP(0, A_RCL),
    },
    [TRK_IN_PROGRESS] = {
        IN_FLIGHT(R_REC),
        [TRK_IN_CANCEL] = R_GOP(0, A_RCL),
    },
    [TRK_COMPLETED] = {
        SETTLED_LATE,
        [TRK_IN_CANCEL] = R_GOP(0, A_RCL), /* gSRP after completion: ask for the money back */
        [TRK_IN_CANCEL_ACCEPTED] = R_ANOM, /* no recall is pending */
        [TRK_IN_RETURN] = R_GO(TRK_RETURNED, A_CRB),
    },
    [TRK_REJECTED] = {
        [TRK_IN_DELIVERED] = R_REC,
        [TRK_IN_ACSP] = R_ANOM,
        [TRK_IN_ACCC] = R_ANOM, /* credited after a rejection: a conflict */
        [TRK_IN_RJCT] = R_REC,
        [TRK_IN_CANCEL_ACCEPTED] = R_ANOM,
        [TRK_IN_CANCEL_REFUSED] = R_ANOM,
        [TRK_IN_RETURN] = R_ANOM,
    },
    [TRK_CANCELLED] = {
        [TRK_IN_DELIVERED] = R_ANOM, /* left after a local cancel: must never happen */
        [TRK_IN_ACSP] = R_ANOM,
        [TRK_IN_ACCC] = R_ANOM,
        [TRK_IN_RJCT] = R_REC,
        [TRK_IN_CANCEL_ACCEPTED] = R_REC,
        [TRK_IN_CANCEL_REFUSED] = R_ANOM,
        [TRK_IN_RETURN] = R_ANOM,
    },
    [TRK_RETURNED] = {
        [TRK_IN_DELIVERED] = R_REC,
        [TRK_IN_ACSP] = R_ANOM,
        [TRK_IN_ACCC] = R_ANOM, /* the original leg's ACCC arriving after the return */
        [TRK_IN_RJCT] = R_ANOM,
        [TRK_IN_CANCEL_ACCEPTED] = R_REC,
        [TRK_IN_CANCEL_REFUSED] = R_ANOM,
        [TRK_IN_RETURN] = R_ANOM, /* a second return would credit twice */
    },
};

/* CANCEL_PENDING with the funds still held (prev SENT or IN_PROGRESS). */
static const struct rule pending_held[TRK_IN_COUNT + 1] = {
    [TRK_IN_DELIVERED] = R_REC,
    [TRK_IN_ACSP] = R_GOP(TRK_IN_PROGRESS, 0),
    [TRK_IN_ACCC] = R_GOP(TRK_COMPLETED, A_SET), /* credited before the recall took effect */
    [TRK_IN_RJCT] = R_GO(TRK_REJECTED, A_REL),   /* rejected anyway: the recall is moot */
    [TRK_IN_CANCEL_ACCEPTED] = R_GO(TRK_CANCELLED, A_REL),
    [TRK_IN_CANCEL_REFUSED] = R_GO(BACK, 0),
    [TRK_IN_RETURN] = R_ANOM,
    [TRK_IN_OVERDUE] = R_GO(SELF, A_OVD),
};

/* CANCEL_PENDING after completion (prev COMPLETED): the money comes back by pacs.004. */
static const struct rule pending_settled[TRK_IN_COUNT + 1] = {
    [TRK_IN_DELIVERED] = R_REC,
    [TRK_IN_ACSP] = R_ANOM,
    [TRK_IN_ACCC] = R_REC,
    [TRK_IN_RJCT] = R_ANOM,
    [TRK_IN_CANCEL_ACCEPTED] = R_REC, /* CNCL: the return follows */
    [TRK_IN_CANCEL_REFUSED] = R_GO(BACK, 0),
    [TRK_IN_RETURN] = R_GO(TRK_RETURNED, A_CRB),
};

/* clang-format on */

static int
state_ok(int s)
{
    return s >= TRK_RECEIVED && s <= TRK_STATE_COUNT;
}

static const struct rule *
rule_for(trk_state state, trk_state prev, trk_input in)
{
    if (!state_ok((int)state) || (int)in < 1 || (int)in > TRK_IN_COUNT)
        return NULL;
    if (state != TRK_CANCEL_PENDING)
        return &rules[state][in];
    if (prev == TRK_SENT || prev == TRK_IN_PROGRESS)
        return &pending_held[in];
    if (prev == TRK_COMPLETED)
        return &pending_settled[in];
    return NULL; /* a recall-pending payment from nowhere: refuse everything */
}

trk_step
trk_saga_step(trk_state state, trk_state prev, trk_input in)
{
    const struct rule *r = rule_for(state, prev, in);
    trk_step st = {0, 0, state, state == TRK_CANCEL_PENDING ? prev : 0, 0};

    if (!r || r->kind == NO)
        return st;
    st.allowed = 1;
    if (r->kind != GO) {
        st.anomaly = r->kind == ANOM;
        return st;
    }
    st.actions = r->actions;
    if (r->next == BACK) {
        st.next = prev;
        st.prev = 0;
    } else if (r->next != SELF) {
        st.next = (trk_state)r->next;
        if (st.next == TRK_CANCEL_PENDING)
            st.prev = state == TRK_CANCEL_PENDING ? (trk_state)r->prev : state;
        else
            st.prev = 0;
    }
    return st;
}

/* The state a payment would be in without a pending recall. */
static trk_state
effective(trk_state state, trk_state prev)
{
    return state == TRK_CANCEL_PENDING ? prev : state;
}

int
trk_state_holds_funds(trk_state state, trk_state prev)
{
    switch (effective(state, prev)) {
    case TRK_FUNDS_RESERVED:
    case TRK_SCHEDULED:
    case TRK_SENT:
    case TRK_IN_PROGRESS:
        return 1;
    default:
        return 0;
    }
}

int
trk_state_is_final(trk_state state, trk_state prev)
{
    switch (effective(state, prev)) {
    case TRK_COMPLETED:
    case TRK_REJECTED:
    case TRK_CANCELLED:
    case TRK_RETURNED:
        return 1;
    default:
        return 0;
    }
}

const char *
trk_input_name(trk_input in)
{
    static const char *const names[TRK_IN_COUNT + 1] = {
        [TRK_IN_ACCEPT] = "ACCEPT",
        [TRK_IN_DUE] = "DUE",
        [TRK_IN_DELIVERED] = "DELIVERED",
        [TRK_IN_ACSP] = "ACSP",
        [TRK_IN_ACCC] = "ACCC",
        [TRK_IN_RJCT] = "RJCT",
        [TRK_IN_CANCEL] = "CANCEL",
        [TRK_IN_CANCEL_ACCEPTED] = "CANCEL_ACCEPTED",
        [TRK_IN_CANCEL_REFUSED] = "CANCEL_REFUSED",
        [TRK_IN_RETURN] = "RETURN",
        [TRK_IN_OVERDUE] = "OVERDUE",
        [TRK_IN_SCHEDULE] = "SCHEDULE",
    };

    if ((int)in < 1 || (int)in > TRK_IN_COUNT)
        return "UNKNOWN";
    return names[in];
}
