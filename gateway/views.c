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

json_t *
gw_view_payment(const trk_payment *pay, const trk_event *ev, size_t n_ev)
{
    json_t *v = json_loadb(pay->doc, pay->doc_len, 0, NULL);
    json_t *events = json_array(), *chain = json_array();
    char href[LINK_MAX];

    if (!json_is_object(v)) {
        json_decref(v);
        v = json_object();
    }
    json_object_set_new(v, "uetr", json_string(pay->uetr));
    json_object_set_new(v, "state", json_string(trk_state_name(pay->state)));
    json_object_set_new(v, "status", json_string(pay->status));
    set_if(v, "reason", pay->reason);
    json_object_set_new(v, "created_at", time_json(pay->created_ms));
    json_object_set_new(v, "updated_at", time_json(pay->updated_ms));
    for (unsigned i = 0; i < pay->chain_len && i < TRK_MAX_CHAIN; i++)
        json_array_append_new(chain, json_string(pay->chain[i]));
    json_object_set_new(v, "chain", chain);
    for (size_t i = 0; i < n_ev; i++)
        json_array_append_new(events, own_event(&ev[i]));
    json_object_set_new(v, "events", events);
    snprintf(href, sizeof(href), "/v1/payments/%s/messages/pacs.008", pay->uetr);
    json_object_set_new(v, "messages",
                        json_pack("[{s:s,s:s}]", "name", "pacs.008", "href", href));
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

static json_t *
gpi_event(const trk_event *e, const json_t *doc)
{
    json_t *pe = detail_of(e);

    set_if(pe, "network_reference", e->network_ref);
    set_if(pe, "message_name_identification", e->message_name);
    set_if(pe, "tracker_event_type", e->type);
    json_object_set_new(pe, "valid", json_true());
    set_if(pe, "from", e->from);
    set_if(pe, "to", e->to);
    json_object_set_new(pe, "sender_acknowledgement_receipt_date_time", time_json(e->at_ms));
    json_object_set_new(pe, "event_creation_date_time", time_json(e->at_ms));
    set_if(pe, "event_status", e->status);
    set_if(pe, "event_status_reason", e->reason);
    json_object_set_new(pe, "event_status_date", time_json(e->at_ms));
    if (strcmp(e->type, "CTPT") == 0)
        gpi_agents(pe, doc);
    return pe;
}

json_t *
gw_view_transaction(const trk_payment *pay, const trk_event *ev, size_t n_ev)
{
    json_t *doc = json_loadb(pay->doc, pay->doc_len, 0, NULL);
    json_t *events = json_array();
    json_t *t = json_pack("{s:s,s:s}", "uetr", pay->uetr, "transaction_status", pay->status);

    set_if(t, "transaction_status_reason", pay->reason);
    json_object_set_new(t, "initiation_date_time", time_json(pay->created_ms));
    json_object_set_new(t, "last_update_date_time", time_json(pay->updated_ms));
    if (pay->state == TRK_COMPLETED || pay->state == TRK_REJECTED ||
        pay->state == TRK_CANCELLED || pay->state == TRK_RETURNED)
        json_object_set_new(t, "completion_date_time", time_json(pay->updated_ms));
    json_object_set_new(t, "events_skipped", json_false());
    for (size_t i = 0; i < n_ev; i++)
        json_array_append_new(events, gpi_event(&ev[i], doc));
    json_object_set_new(t, "payment_event", events);
    json_decref(doc);
    return t;
}
