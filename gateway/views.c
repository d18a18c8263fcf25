/*
 * JSON views of a stored payment: Corridor's own (GET /v1/payments/{uetr}) and the gpi
 * Tracker v6 shape (GET /tracker/v6/payments/{uetr}/transactions, PaymentTransaction149 with
 * PaymentEvent15 entries). Both are derived from the same record and event log; nothing is
 * stored twice.
 */
#include "routes.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TIME_MAX 32
#define LINK_MAX 160

void
gw_format_time(int64_t unix_ms, char *buf, size_t size)
{
    time_t secs = (time_t)(unix_ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03dZ", (int)(unix_ms % 1000));
}

static json_t *
time_json(int64_t unix_ms)
{
    char t[TIME_MAX];

    gw_format_time(unix_ms, t, sizeof(t));
    return json_string(t);
}

static void
set_if(json_t *obj, const char *key, const char *value)
{
    if (value != NULL && value[0] != '\0')
        json_object_set_new(obj, key, json_string(value));
}

static json_t *
detail_of(const trk_event *e)
{
    json_t *d = e->detail ? json_loadb(e->detail, e->detail_len, 0, NULL) : NULL;
    return json_is_object(d) ? d : (json_decref(d), json_object());
}

static json_t *
own_event(const trk_event *e)
{
    json_t *o = detail_of(e);

    json_object_set_new(o, "seq", json_integer(e->seq));
    json_object_set_new(o, "at", time_json(e->at_ms));
    set_if(o, "type", e->type);
    set_if(o, "message_name", e->message_name);
    set_if(o, "network_reference", e->network_ref);
    set_if(o, "from", e->from);
    set_if(o, "to", e->to);
    set_if(o, "status", e->status);
    set_if(o, "reason", e->reason);
    if (e->state != 0)
        json_object_set_new(o, "state", json_string(trk_state_name(e->state)));
    if (e->flags & TRK_EF_ANOMALY)
        json_object_set_new(o, "anomaly", json_true());
    return o;
}

static json_t *
links(const char *uetr)
{
    char self[LINK_MAX], track[LINK_MAX];

    snprintf(self, sizeof(self), "/v1/payments/%s", uetr);
    snprintf(track, sizeof(track), "/tracker/v6/payments/%s/transactions", uetr);
    return json_pack("{s:s,s:s}", "self", self, "tracker", track);
}

static json_t *
messages(const char *uetr, const char (*names)[64], size_t n_names)
{
    json_t *arr = json_array();
    char href[LINK_MAX];

    for (size_t i = 0; i < n_names; i++) {
        snprintf(href, sizeof(href), "/v1/payments/%s/messages/%s", uetr, names[i]);
        json_array_append_new(arr, json_pack("{s:s,s:s}", "name", names[i], "href", href));
    }
    return arr;
}

/* Updates recorded but not applied (late, out of order, conflicting): shown, never hidden. */
static json_t *
anomalies(const trk_event *ev, size_t n_ev)
{
    json_t *arr = json_array();

    for (size_t i = 0; i < n_ev; i++)
        if (ev[i].flags & TRK_EF_ANOMALY)
            json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:s,s:s}", "seq",
                                                 (json_int_t)ev[i].seq, "type", ev[i].type,
                                                 "from", ev[i].from, "status", ev[i].status,
                                                 "reason", ev[i].reason));
    return arr;
}

static void
saga_fields(json_t *v, const trk_payment *pay)
{
    json_object_set_new(v, "state", json_string(trk_state_name(pay->state)));
    json_object_set_new(v, "status", json_string(pay->status));
    set_if(v, "reason", pay->reason);
    set_if(v, "transaction_cancellation_status", pay->cancellation_status);
    if (pay->state == TRK_CANCEL_PENDING && pay->prev_state != 0)
        json_object_set_new(v, "state_before_recall", json_string(trk_state_name(pay->prev_state)));
    json_object_set_new(v, "overdue", json_boolean(pay->flags & TRK_PF_OVERDUE));
    json_object_set_new(v, "possible_duplicate",
                        json_boolean(pay->flags & TRK_PF_POSSIBLE_DUPLICATE));
    if (pay->deadline_ms > 0)
        json_object_set_new(v, "deadline", time_json(pay->deadline_ms));
    if (pay->returned_minor > 0) {
        char amt[32];
        iso_amount_format(pay->returned_minor, pay->exponent, amt, sizeof(amt));
        json_object_set_new(v, "returned_amount", json_string(amt));
    }
}

json_t *
gw_view_payment(const trk_payment *pay, const trk_event *ev, size_t n_ev,
                const char (*names)[64], size_t n_names)
{
    json_t *v = json_loadb(pay->doc, pay->doc_len, 0, NULL);
    json_t *events = json_array(), *chain = json_array();

    if (!json_is_object(v)) {
        json_decref(v);
        v = json_object();
    }
    json_object_set_new(v, "uetr", json_string(pay->uetr));
    saga_fields(v, pay);
    json_object_set_new(v, "created_at", time_json(pay->created_ms));
    json_object_set_new(v, "updated_at", time_json(pay->updated_ms));
    for (unsigned i = 0; i < pay->chain_len && i < TRK_MAX_CHAIN; i++)
        json_array_append_new(chain, json_string(pay->chain[i]));
    json_object_set_new(v, "chain", chain);
    for (size_t i = 0; i < n_ev; i++)
        json_array_append_new(events, own_event(&ev[i]));
    json_object_set_new(v, "events", events);
    json_object_set_new(v, "anomalies", anomalies(ev, n_ev));
    json_object_set_new(v, "messages", messages(pay->uetr, names, n_names));
    json_object_set_new(v, "links", links(pay->uetr));
    return v;
}

/* Agents of the instruction as gpi fields: debtor_agent, intermediary_agent1..3,
 * creditor_agent — taken from the stored instruction document. */
static void
gpi_agents(json_t *pe, const json_t *doc)
{
    const char *da = json_string_value(json_object_get(json_object_get(doc, "debtor_agent"),
                                                       "bic"));
    const char *ca = json_string_value(json_object_get(json_object_get(doc, "creditor_agent"),
                                                       "bic"));
    json_t *inter = json_object_get(doc, "intermediary_agents");
    char key[32];

    set_if(pe, "debtor_agent", da);
    set_if(pe, "creditor_agent", ca);
    for (size_t i = 0; i < json_array_size(inter) && i < 3; i++) {
        snprintf(key, sizeof(key), "intermediary_agent%zu", i + 1);
        set_if(pe, key, json_string_value(json_object_get(json_array_get(inter, i), "bic")));
    }
}

/* The instruction, parsed once per view and only if an event needs it. */
struct lazy_doc {
    const trk_payment *pay;
    json_t *doc;
};

static const json_t *
lazy_doc(struct lazy_doc *ld)
{
    if (ld->doc == NULL)
        ld->doc = json_loadb(ld->pay->doc, ld->pay->doc_len, 0, NULL);
    return ld->doc;
}

static json_t *
gpi_event(const trk_event *e, struct lazy_doc *ld)
{
    json_t *pe = detail_of(e);

    set_if(pe, "network_reference", e->network_ref);
    set_if(pe, "message_name_identification", e->message_name);
    set_if(pe, "tracker_event_type", e->type);
    /* an update recorded without being applied (late, out of order, conflicting) */
    json_object_set_new(pe, "valid", json_boolean(!(e->flags & TRK_EF_ANOMALY)));
    set_if(pe, "from", e->from);
    set_if(pe, "to", e->to);
    json_object_set_new(pe, "sender_acknowledgement_receipt_date_time", time_json(e->at_ms));
    json_object_set_new(pe, "event_creation_date_time", time_json(e->at_ms));
    set_if(pe, "event_status", e->status);
    set_if(pe, "event_status_reason", e->reason);
    if (json_object_get(pe, "event_status_date") == NULL)
        json_object_set_new(pe, "event_status_date", time_json(e->at_ms));
    /* initiations recorded before their detail carried the agents: from the instruction */
    if (strcmp(e->type, "CTPT") == 0 && json_object_get(pe, "debtor_agent") == NULL)
        gpi_agents(pe, lazy_doc(ld));
    return pe;
}

static int
is_final(trk_state s)
{
    return s == TRK_COMPLETED || s == TRK_REJECTED || s == TRK_CANCELLED || s == TRK_RETURNED;
}

/* When the payment first reached a final state: the event that took it there. */
static int64_t
completion_ms(const trk_payment *pay, const trk_event *ev, size_t n_ev)
{
    for (size_t i = 0; i < n_ev; i++)
        if (!(ev[i].flags & TRK_EF_ANOMALY) && is_final(ev[i].state))
            return ev[i].at_ms;
    return pay->updated_ms;
}

static void
gpi_status(json_t *t, const trk_payment *pay)
{
    json_object_set_new(t, "transaction_status", json_string(pay->status));
    if (strcmp(pay->status, "RJCT") == 0)
        set_if(t, "reject_return_reason", pay->reason);
    else
        set_if(t, "transaction_status_reason", pay->reason);
    set_if(t, "transaction_cancellation_status", pay->cancellation_status);
}

json_t *
gw_view_transaction(const trk_payment *pay, const trk_event *ev, size_t n_ev)
{
    struct lazy_doc ld = {pay, NULL};
    json_t *events = json_array();
    json_t *t = json_pack("{s:s}", "uetr", pay->uetr);

    gpi_status(t, pay);
    json_object_set_new(t, "initiation_date_time", time_json(pay->created_ms));
    json_object_set_new(t, "last_update_date_time", time_json(pay->updated_ms));
    if (is_final(pay->state))
        json_object_set_new(t, "completion_date_time",
                            time_json(completion_ms(pay, ev, n_ev)));
    json_object_set_new(t, "events_skipped", json_false());
    /* the store's own notes (delivery, timers, duplicates) are Corridor's, not gpi events */
    for (size_t i = 0; i < n_ev; i++)
        if (!(ev[i].flags & TRK_EF_INTERNAL))
            json_array_append_new(events, gpi_event(&ev[i], &ld));
    json_object_set_new(t, "payment_event", events);
    json_decref(ld.doc);
    return t;
}
