/*
 * PUT /tracker/v6/payments/{uetr}/status — a correspondent's status confirmation, the body
 * shaped as gpi's PaymentStatusRequest9. The router has already proven the caller in the
 * payment's chain (else 404). Here: strict reading (every problem with its JSON pointer, 422),
 * `from` and `tracker_informing_party` must be the caller's (403), then one TRK_OP_EVENT:
 * ACSP / ACCC / RJCT as a CTSU hop event from `from` to the instructed agent, which joins the
 * chain. The same update again (same sender BIC8, instruction id, status and reason) is
 * absorbed; one the saga refuses (late, out of order, after a final status) is recorded as an
 * anomaly. 200 only after the commit.
 */
#include "routes.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INSTR_ID 35
#define MAX_CLEARING_SYSTEM 5
#define MAX_RATE_DIGITS 11    /* gpi BaseOneRate: totalDigits 11 */
#define MAX_RATE_FRACTION 10  /* fractionDigits 10 */
#define STATUS_MESSAGE_NAME "PaymentStatusRequest9"
#define LINK_MAX 160

static const gw_jfield request_fields[] = {
    {"from", GW_J_STRING, 1},
    {"transaction_status", GW_J_STRING, 1},
    {"transaction_status_date", GW_J_STRING, 0},
    {"transaction_status_reason", GW_J_STRING, 0},
    {"reject_return_reason", GW_J_STRING, 0},
    {"tracker_informing_party", GW_J_STRING, 1},
    {"instruction_identification", GW_J_STRING, 1},
    {"service_level", GW_J_STRING, 1},
    {"payment_scenario", GW_J_STRING, 1},
    {"settlement_method", GW_J_STRING, 0},
    {"clearing_system", GW_J_STRING, 0},
    {"instructed_agent", GW_J_OBJECT, 0},
    {"interbank_settlement_amount", GW_J_OBJECT, 0},
    {"source_currency", GW_J_STRING, 0},
    {"target_currency", GW_J_STRING, 0},
    {"exchange_rate", GW_J_STRING, 0},
    {"charge_bearer", GW_J_STRING, 0},
    {"charges_information", GW_J_ARRAY, 0},
    {"confirmed_date", GW_J_STRING, 0},
    {"confirmed_amount", GW_J_OBJECT, 0},
    {"remaining_to_be_confirmed_amount", GW_J_OBJECT, 0},
    {"previously_confirmed_amount", GW_J_OBJECT, 0},
};
#define N_FIELDS (sizeof(request_fields) / sizeof(request_fields[0]))

static const gw_jfield agent_fields[] = {{"bicfi", GW_J_STRING, 1}};
static const gw_jfield charge_fields[] = {{"amount", GW_J_OBJECT, 1},
                                          {"agent", GW_J_OBJECT, 1}};

static const char *const statuses[] = {"ACSP", "ACCC", "RJCT", NULL};
static const char *const gpi_reasons[] = {"G000", "G001", "G002", "G003", "G004", NULL};
static const char *const service_levels[] = {"G001", NULL};
static const char *const scenarios[] = {"CCTR", NULL};
static const char *const settlement_methods[] = {"INDA", "INGA", "COVE", "CLRG", NULL};
static const char *const charge_bearers[] = {"DEBT", "CRED", "SHAR", NULL};
static const char *const money_fields[] = {"interbank_settlement_amount", "confirmed_amount",
                                           "remaining_to_be_confirmed_amount",
                                           "previously_confirmed_amount", NULL};

/* What the update says, once read. */
typedef struct status_update {
    char from[12], informing[12], instructed[12];
    char status[5], reason[5];
    const char *instr_id;
    trk_input input;
    json_t *detail; /* the event's other gpi fields, normalized */
} status_update;

static void
problem_at(iso_problems *pr, const char *key, const char *code, const char *text)
{
    char path[128];

    gw_json_path(path, sizeof(path), "", key);
    iso_problems_add(pr, path, code, "%s", text);
}

/* An ISO 20022 external status reason code: 4 upper-case letters or digits. */
static int
iso_reason_ok(const char *s)
{
    if (strlen(s) != 4)
        return 0;
    for (size_t i = 0; i < 4; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

/* A positive decimal rate, at most MAX_RATE_DIGITS digits of which MAX_RATE_FRACTION after
 * the point; no sign, no exponent, no leading zeros. */
static int
rate_ok(const char *s)
{
    size_t ni = strspn(s, "0123456789"), nf = 0;
    const char *f = s + ni;
    int nonzero = strspn(s, "0.") != strlen(s);

    if (ni == 0 || (s[0] == '0' && ni > 1))
        return 0;
    if (*f == '.') {
        nf = strspn(f + 1, "0123456789");
        if (nf == 0)
            return 0;
        f += 1 + nf;
    }
    return *f == '\0' && nonzero && nf <= MAX_RATE_FRACTION && ni + nf <= MAX_RATE_DIGITS;
}

static void
read_time(const json_t *body, const char *key, json_t *detail, const char *as,
          iso_problems *pr)
{
    const char *s = json_string_value(json_object_get(body, key));
    int64_t ms;

    if (s == NULL)
        return;
    if (gw_parse_time(s, &ms) != 0) {
        problem_at(pr, key, "DATE_TIME_INVALID",
                   "must be a UTC date-time YYYY-MM-DDThh:mm:ss[.sss]Z");
        return;
    }
    char t[32];
    gw_format_time(ms, t, sizeof(t));
    json_object_set_new(detail, as, json_string(t));
}

/* The status and its reason: G000..G004 only with ACSP, an ISO code required with RJCT. */
static void
read_status(const json_t *body, status_update *u, iso_problems *pr)
{
    char g[5];
    const char *rr = json_string_value(json_object_get(body, "reject_return_reason"));
    int have_g = gw_json_code(body, "transaction_status_reason", "", gpi_reasons, g, sizeof(g),
                              pr);

    if (gw_json_code(body, "transaction_status", "", statuses, u->status, sizeof(u->status),
                     pr) != 1)
        return;
    u->input = strcmp(u->status, "ACSP") == 0   ? TRK_IN_ACSP
               : strcmp(u->status, "ACCC") == 0 ? TRK_IN_ACCC
                                                : TRK_IN_RJCT;
    if (have_g == 1 && u->input != TRK_IN_ACSP)
        problem_at(pr, "transaction_status_reason", "NOT_ALLOWED",
                   "G000..G004 go with ACSP only");
    else if (have_g == 1)
        snprintf(u->reason, sizeof(u->reason), "%s", g);
    if (u->input == TRK_IN_RJCT && rr == NULL)
        problem_at(pr, "reject_return_reason", "REQUIRED", "RJCT needs its ISO reason code");
    else if (rr != NULL && u->input != TRK_IN_RJCT)
        problem_at(pr, "reject_return_reason", "NOT_ALLOWED", "goes with RJCT only");
    else if (rr != NULL && !iso_reason_ok(rr))
        problem_at(pr, "reject_return_reason", "CODE_INVALID",
                   "must be an ISO 20022 external status reason code (4 letters or digits)");
    else if (rr != NULL)
        snprintf(u->reason, sizeof(u->reason), "%s", rr);
}

static void
read_agent(const json_t *body, status_update *u, iso_problems *pr)
{
    json_t *a = json_object_get(body, "instructed_agent");

    if (a == NULL || !gw_json_shape(a, "/instructed_agent", agent_fields, 1, pr))
        return;
    if (gw_json_bic(a, "bicfi", "/instructed_agent", u->instructed, pr) == 1)
        json_object_set_new(u->detail, "instructed_agent", json_string(u->instructed));
}

static json_t *
money_out(const iso_amount *m)
{
    return gw_money_json(m->minor, m->exponent, m->currency);
}

static void
read_amounts(const json_t *body, status_update *u, iso_problems *pr)
{
    iso_amount m;

    for (size_t i = 0; money_fields[i] != NULL; i++)
        if (gw_json_money(body, money_fields[i], "", &m, pr) == 1)
            json_object_set_new(u->detail, money_fields[i], money_out(&m));
    if (u->input == TRK_IN_ACCC && json_object_get(body, "confirmed_amount") == NULL)
        problem_at(pr, "confirmed_amount", "REQUIRED", "ACCC states the amount credited");
    if (u->input == TRK_IN_RJCT && json_object_get(body, "confirmed_amount") != NULL)
        problem_at(pr, "confirmed_amount", "NOT_ALLOWED", "a rejected payment credits nothing");
}

static void
read_charge(const json_t *c, const char *base, json_t *out, iso_problems *pr)
{
    char agent_path[128], bic[12];
    iso_amount m;

    if (!json_is_object(c)) {
        iso_problems_add(pr, base, "TYPE", "must be an object");
        return;
    }
    if (!gw_json_shape(c, base, charge_fields, 2, pr))
        return;
    gw_json_path(agent_path, sizeof(agent_path), base, "agent");
    json_t *a = json_object_get(c, "agent");
    int ok = gw_json_money(c, "amount", base, &m, pr) == 1;
    if (!gw_json_shape(a, agent_path, agent_fields, 1, pr) ||
        gw_json_bic(a, "bicfi", agent_path, bic, pr) != 1 || !ok)
        return;
    json_array_append_new(out, json_pack("{s:o,s:{s:s}}", "amount", money_out(&m), "agent",
                                         "bicfi", bic));
}

static void
read_charges(const json_t *body, status_update *u, iso_problems *pr)
{
    json_t *arr = json_object_get(body, "charges_information"), *out;
    char path[128];

    if (arr == NULL)
        return;
    if (json_array_size(arr) > ISO_MAX_CHARGES) {
        problem_at(pr, "charges_information", "TOO_MANY", "at most 8 charges");
        return;
    }
    out = json_array();
    for (size_t i = 0; i < json_array_size(arr); i++) {
        snprintf(path, sizeof(path), "/charges_information/%zu", i);
        read_charge(json_array_get(arr, i), path, out, pr);
    }
    json_object_set_new(u->detail, "charges_information", out);
}

static void
read_codes(const json_t *body, status_update *u, iso_problems *pr)
{
    char v[8];

    gw_json_code(body, "service_level", "", service_levels, v, sizeof(v), pr);
    if (gw_json_code(body, "payment_scenario", "", scenarios, v, sizeof(v), pr) == 1)
        json_object_set_new(u->detail, "payment_scenario", json_string(v));
    json_object_set_new(u->detail, "service_level", json_string("G001"));
    if (gw_json_code(body, "settlement_method", "", settlement_methods, v, sizeof(v), pr) == 1)
        json_object_set_new(u->detail, "settlement_method", json_string(v));
    if (gw_json_code(body, "charge_bearer", "", charge_bearers, v, sizeof(v), pr) == 1)
        json_object_set_new(u->detail, "charge_bearer", json_string(v));
    const char *cs = gw_json_text(body, "clearing_system", "", MAX_CLEARING_SYSTEM, pr);
    if (cs != NULL)
        json_object_set_new(u->detail, "clearing_system", json_string(cs));
}

static void
read_fx(const json_t *body, status_update *u, iso_problems *pr)
{
    static const char *const ccys[] = {"source_currency", "target_currency"};
    const char *rate = json_string_value(json_object_get(body, "exchange_rate"));
    char path[128];

    for (size_t i = 0; i < 2; i++) {
        const char *c = json_string_value(json_object_get(body, ccys[i]));
        gw_json_path(path, sizeof(path), "", ccys[i]);
        if (c != NULL && gw_currency_check(c, path, pr) >= 0)
            json_object_set_new(u->detail, ccys[i], json_string(c));
    }
    if (rate != NULL && !rate_ok(rate))
        problem_at(pr, "exchange_rate", "RATE_INVALID",
                   "must be a positive decimal string, at most 11 digits, 10 after the point");
    else if (rate != NULL)
        json_object_set_new(u->detail, "exchange_rate", json_string(rate));
}

static void
read_parties(const json_t *body, status_update *u, iso_problems *pr)
{
    gw_json_bic(body, "from", "", u->from, pr);
    if (gw_json_bic(body, "tracker_informing_party", "", u->informing, pr) == 1)
        json_object_set_new(u->detail, "tracker_informing_party", json_string(u->informing));
    u->instr_id = gw_json_text(body, "instruction_identification", "", MAX_INSTR_ID, pr);
    if (u->instr_id != NULL)
        json_object_set_new(u->detail, "instruction_identification",
                            json_string(u->instr_id));
}

/* Every rule of the body; problems are collected, never stopped at the first. */
static void
read_update(const json_t *body, status_update *u, iso_problems *pr)
{
    /* shape problems do not stop the reading: the getters skip members of the wrong type, so
     * every other member's own problems are listed too */
    gw_json_shape(body, "", request_fields, N_FIELDS, pr);
    read_parties(body, u, pr);
    read_status(body, u, pr);
    read_codes(body, u, pr);
    read_agent(body, u, pr);
    read_amounts(body, u, pr);
    read_charges(body, u, pr);
    read_fx(body, u, pr);
    read_time(body, "transaction_status_date", u->detail, "event_status_date", pr);
    read_time(body, "confirmed_date", u->detail, "confirmed_date", pr);
    if (u->input == TRK_IN_RJCT && u->reason[0] != '\0')
        json_object_set_new(u->detail, "event_reject_return_reason", json_string(u->reason));
}

/* 403 unless `from` and `tracker_informing_party` are the caller's (DESIGN "Who is
 * speaking"). */
static int
speaker_ok(gw_request *req, const status_update *u)
{
    iso_problems pr;

    iso_problems_init(&pr);
    if (!gw_principal_has_bic(&req->principal, u->from))
        iso_problems_add(&pr, "/from", "NOT_YOUR_BIC", "%s is not one of your BICs", u->from);
    if (!gw_principal_has_bic(&req->principal, u->informing))
        iso_problems_add(&pr, "/tracker_informing_party", "NOT_YOUR_BIC",
                         "%s is not one of your BICs", u->informing);
    if (pr.n == 0)
        return 1;
    gw_respond_error(req, 403, "FORBIDDEN", "you may report only as yourself", &pr);
    return 0;
}

static char *
receipt(const char *uetr, const status_update *u)
{
    char track[LINK_MAX];

    snprintf(track, sizeof(track), "/tracker/v6/payments/%s/transactions", uetr);
    json_t *b = json_pack("{s:s,s:s,s:s,s:s,s:{s:s}}", "uetr", uetr, "from", u->from,
                          "transaction_status", u->status, "instruction_identification",
                          u->instr_id, "links", "tracker", track);
    if (b != NULL && u->reason[0] != '\0')
        json_object_set_new(b, u->input == TRK_IN_RJCT ? "reject_return_reason"
                                                       : "transaction_status_reason",
                            json_string(u->reason));
    char *s = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    return s;
}

static void
fill_event(trk_event *e, const status_update *u, char *detail)
{
    e->at_ms = gw_wall_ms();
    snprintf(e->type, sizeof(e->type), "CTSU");
    snprintf(e->message_name, sizeof(e->message_name), STATUS_MESSAGE_NAME);
    gw_new_msg_id(e->network_ref);
    snprintf(e->from, sizeof(e->from), "%s", u->from);
    snprintf(e->to, sizeof(e->to), "%s", u->instructed[0] ? u->instructed : u->from);
    snprintf(e->status, sizeof(e->status), "%s", u->status);
    snprintf(e->reason, sizeof(e->reason), "%s", u->reason);
    e->detail = detail;
    e->detail_len = detail ? strlen(detail) : 0;
}

/* The update's identity: a repeat of it is absorbed by the store. */
static void
dedup_key(gw_step *st, const status_update *u)
{
    snprintf(st->dedup, sizeof(st->dedup), "gpi|%.8s|%s|%s|%s", u->from, u->instr_id, u->status,
             u->reason);
}

static void
submit_update(gw_request *req, const char *uetr, status_update *u)
{
    gw_step *st = gw_step_new(req);

    if (st == NULL)
        return;
    snprintf(st->uetr, sizeof(st->uetr), "%s", uetr);
    snprintf(st->add_chain, sizeof(st->add_chain), "%s", u->instructed);
    dedup_key(st, u);
    fill_event(&st->event, u, json_dumps(u->detail, JSON_COMPACT));
    st->status = 200;
    st->resp = receipt(uetr, u);
    if (st->event.detail == NULL || st->resp == NULL) {
        gw_respond_error(req, 503, "OUT_OF_MEMORY", "try again later", NULL);
        gw_step_free(st);
        return;
    }
    st->op.kind = TRK_OP_EVENT;
    st->op.uetr = st->uetr;
    st->op.input = u->input;
    st->op.event = &st->event;
    st->op.dedup_key = st->dedup;
    st->op.add_chain = st->add_chain;
    st->op.record_refused = 1; /* a correspondent's word is kept, even when it cannot apply */
    gw_step_submit(st);
}

void
gw_h_tracker_status(gw_request *req, gw_route_ctx *ctx)
{
    iso_problems pr;
    status_update u;
    json_t *body;

    memset(&u, 0, sizeof(u));
    iso_problems_init(&pr);
    if (!gw_content_type_is(req, "application/json")) {
        gw_respond_error(req, 415, "UNSUPPORTED_MEDIA_TYPE", "this route takes application/json",
                         NULL);
        return;
    }
    if ((body = gw_body_json(req, &pr)) == NULL) {
        gw_respond_error(req, 400, "MALFORMED_JSON", "the body is not a JSON object", &pr);
        return;
    }
    u.detail = json_object();
    read_update(body, &u, &pr);
    if (pr.n > 0 || pr.dropped > 0)
        gw_respond_error(req, 422, "INVALID_STATUS_UPDATE", "the status update breaks the rules",
                         &pr);
    else if (speaker_ok(req, &u))
        submit_update(req, ctx->uetr, &u);
    json_decref(u.detail);
    json_decref(body); /* instr_id pointed into body: the step copied what it keeps */
}
