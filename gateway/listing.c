/*
 * Listings. GET /v1/payments?status=&state=&since=&overdue=&limit=&cursor= — the caller's
 * payments, newest first, paged (channels: their BIC's; customers: their own; operators: all).
 * GET /tracker/v6/payments/changed/transactions?from_date_time=&to_date_time=&maximum_number=
 * &next= — gpi's delta feed: payments updated in [from, to), oldest update first, each in the
 * PaymentTransaction149 shape with its events.
 *
 * Queries are read strictly: a broken percent-encoding is 400; an unknown, repeated, empty or
 * invalid parameter is 422 with the parameter's name as the problem's path, all listed.
 */
#include "routes.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_QUERY_PARAMS 8
#define MAX_QUERY_VALUE 128
#define LIST_LIMIT_DEFAULT 50
#define LINK_MAX 512

typedef struct query {
    const char *names[MAX_QUERY_PARAMS + 1]; /* the route's parameters, NULL terminated */
    char values[MAX_QUERY_PARAMS][MAX_QUERY_VALUE];
    int seen[MAX_QUERY_PARAMS];
} query;

static int
hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decode s[0..n) into out ('+' is a space, as forms send it). -1 on a broken escape,
 * a NUL or a value too long. */
static int
decode(const char *s, size_t n, char *out, size_t size)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int h = hex(s[i + 1]), l = hex(s[i + 2]);
            if (h < 0 || l < 0 || (c = h * 16 + l) == 0)
                return -1;
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (o + 1 >= size)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

static int
param_index(const query *q, const char *name)
{
    for (int i = 0; q->names[i] != NULL; i++)
        if (strcmp(q->names[i], name) == 0)
            return i;
    return -1;
}

/* One name=value pair. Returns -1 for a syntax error (400), else 0 (problems may be added). */
static int
read_pair(query *q, const char *s, size_t n, iso_problems *pr)
{
    const char *eq = memchr(s, '=', n);
    char name[MAX_QUERY_VALUE], value[MAX_QUERY_VALUE];
    size_t nn = eq ? (size_t)(eq - s) : n;

    if (decode(s, nn, name, sizeof(name)) != 0 ||
        decode(eq ? eq + 1 : s + n, eq ? n - nn - 1 : 0, value, sizeof(value)) != 0)
        return -1;
    int i = param_index(q, name);
    if (i < 0)
        iso_problems_add(pr, name, "UNKNOWN_PARAMETER", "is not a parameter of this route");
    else if (q->seen[i])
        iso_problems_add(pr, name, "DUPLICATE_PARAMETER", "may be given once");
    else if (value[0] == '\0')
        iso_problems_add(pr, name, "EMPTY", "must not be empty");
    else
        memcpy(q->values[i], value, strlen(value) + 1);
    if (i >= 0)
        q->seen[i] = 1;
    return 0;
}

static int
read_query(const char *raw, query *q, iso_problems *pr)
{
    while (raw != NULL && *raw != '\0') {
        size_t n = strcspn(raw, "&");
        if (n > 0 && read_pair(q, raw, n, pr) != 0)
            return -1;
        raw += n + (raw[n] == '&');
    }
    return 0;
}

static const char *
value(const query *q, const char *name)
{
    int i = param_index(q, name);
    return i >= 0 && q->values[i][0] != '\0' ? q->values[i] : NULL;
}

/* Parse the request's query into q; 400 / 422 answered here. */
static int
parse_query(gw_request *req, query *q, iso_problems *pr)
{
    if (read_query(req->query, q, pr) != 0) {
        gw_respond_error(req, 400, "MALFORMED_QUERY", "the query string is not well formed",
                         NULL);
        return -1;
    }
    return 0;
}

static unsigned
read_count(const query *q, const char *name, unsigned dflt, iso_problems *pr)
{
    const char *s = value(q, name);
    uint64_t v = 0;

    if (s == NULL)
        return dflt;
    if (gw_parse_uint(s, TRK_MAX_PAGE, &v) != 0 || v == 0) {
        iso_problems_add(pr, name, "OUT_OF_RANGE", "must be a whole number from 1 to %d",
                         TRK_MAX_PAGE);
        return dflt;
    }
    return (unsigned)v;
}

static int64_t
read_time(const query *q, const char *name, int64_t dflt, iso_problems *pr)
{
    const char *s = value(q, name);
    int64_t ms;

    if (s == NULL)
        return dflt;
    if (gw_parse_time(s, &ms) != 0) {
        iso_problems_add(pr, name, "DATE_TIME_INVALID",
                         "must be a UTC date-time YYYY-MM-DDThh:mm:ss[.sss]Z");
        return dflt;
    }
    return ms;
}

static const char *
read_cursor(const query *q, const char *name, iso_problems *pr)
{
    const char *s = value(q, name);

    if (s != NULL && (strlen(s) >= TRK_CURSOR_LEN ||
                      strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                "0123456789-_.~=") != strlen(s))) {
        iso_problems_add(pr, name, "CURSOR_INVALID", "is not a cursor this service gave out");
        return NULL;
    }
    return s;
}

/* Which payments the caller may list (DESIGN "Who sees what"). A bank with several BICs lists
 * those of its first: trk_query takes one owner BIC. */
static void
scope(const gw_request *req, const char **owner, const char **customer)
{
    const gw_principal *p = &req->principal;

    *owner = NULL;
    *customer = NULL;
    if (p->role == GW_ROLE_CHANNEL || p->role == GW_ROLE_CUSTOMER)
        *owner = p->bics[0];
    if (p->role == GW_ROLE_CUSTOMER)
        *customer = p->customer_id;
}

/* ---- GET /v1/payments --------------------------------------------------------------------- */

static void
read_filters(const query *q, trk_query *tq, iso_problems *pr)
{
    static const char *const statuses[] = {"ACSP", "ACCC", "RJCT", NULL};
    const char *s;

    if ((s = value(q, "status")) != NULL) {
        tq->status = NULL;
        for (size_t i = 0; statuses[i] != NULL; i++)
            if (strcmp(s, statuses[i]) == 0)
                tq->status = statuses[i];
        if (tq->status == NULL)
            iso_problems_add(pr, "status", "CODE_INVALID", "must be ACSP, ACCC or RJCT");
    }
    if ((s = value(q, "state")) != NULL && (tq->state = (int)trk_state_from_name(s)) == 0)
        iso_problems_add(pr, "state", "CODE_INVALID", "is not a saga state (SENT, COMPLETED ...)");
    if ((s = value(q, "overdue")) != NULL) {
        if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)
            tq->overdue_only = strcmp(s, "true") == 0;
        else
            iso_problems_add(pr, "overdue", "CODE_INVALID", "must be true or false");
    }
    tq->since_ms = read_time(q, "since", 0, pr);
    tq->limit = read_count(q, "limit", LIST_LIMIT_DEFAULT, pr);
    tq->cursor = read_cursor(q, "cursor", pr);
}

static json_t *
summary(const trk_payment *p)
{
    char self[LINK_MAX], t1[32], t2[32];

    snprintf(self, sizeof(self), "/v1/payments/%s", p->uetr);
    gw_format_time(p->created_ms, t1, sizeof(t1));
    gw_format_time(p->updated_ms, t2, sizeof(t2));
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:{s:s}}", "uetr", p->uetr,
                          "state", trk_state_name(p->state), "status", p->status, "customer_id",
                          p->customer_id, "end_to_end_id", p->end_to_end_id, "created_at", t1,
                          "updated_at", t2, "overdue", (p->flags & TRK_PF_OVERDUE) != 0,
                          "possible_duplicate", (p->flags & TRK_PF_POSSIBLE_DUPLICATE) != 0,
                          "links", "self", self);
    json_t *m = gw_money_json(p->amount_minor, p->exponent, p->currency);
    if (o != NULL && m != NULL) {
        json_object_set(o, "amount", json_object_get(m, "amount"));
        json_object_set(o, "currency", json_object_get(m, "currency"));
    }
    json_decref(m);
    if (o != NULL && p->reason[0] != '\0')
        json_object_set_new(o, "reason", json_string(p->reason));
    if (o != NULL && p->cancellation_status[0] != '\0')
        json_object_set_new(o, "transaction_cancellation_status",
                            json_string(p->cancellation_status));
    return o;
}

static json_t *
page_json(const trk_payment *p, size_t n, const char *next)
{
    json_t *arr = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, summary(&p[i]));
    json_t *b = json_pack("{s:o}", "payments", arr);
    if (b != NULL && next[0] != '\0')
        json_object_set_new(b, "next_cursor", json_string(next));
    return b;
}

void
gw_h_payment_list(gw_request *req, gw_route_ctx *ctx)
{
    static const char *const names[] = {"status", "state", "since", "overdue", "limit",
                                        "cursor", NULL};
    query q = {0};
    iso_problems pr;
    trk_query tq = {0};
    trk_payment *out = NULL;
    size_t n = 0;
    char next[TRK_CURSOR_LEN] = "";

    (void)ctx;
    iso_problems_init(&pr);
    memcpy(q.names, names, sizeof(names));
    if (parse_query(req, &q, &pr) != 0)
        return;
    read_filters(&q, &tq, &pr);
    if (pr.n > 0) {
        gw_respond_error(req, 422, "INVALID_QUERY", "the query breaks the rules", &pr);
        return;
    }
    scope(req, &tq.owner_bic, &tq.customer_id);
    int rc = trk_payments_list(req->app->store, &tq, &out, &n, next);
    if (rc == TRK_ERR_INVALID) {
        iso_problems_add(&pr, "cursor", "CURSOR_INVALID", "is not a cursor this service gave out");
        gw_respond_error(req, 422, "INVALID_QUERY", "the query breaks the rules", &pr);
        return;
    }
    if (rc != TRK_OK) {
        gw_respond_store_error(req, rc);
        return;
    }
    gw_respond_json(req, 200, page_json(out, n, next), NULL, 0);
    trk_payments_free(out, n);
}

/* ---- GET /tracker/v6/payments/changed/transactions ---------------------------------------- */

typedef struct feed {
    int64_t from_ms, to_ms;
    unsigned max;
    const char *cursor;
} feed;

static void
read_feed(const query *q, feed *f, iso_problems *pr)
{
    const char *scenario = value(q, "payment_scenario");

    if (!q->seen[param_index(q, "from_date_time")])
        iso_problems_add(pr, "from_date_time", "REQUIRED", "is required");
    f->from_ms = read_time(q, "from_date_time", 0, pr);
    f->to_ms = read_time(q, "to_date_time", gw_wall_ms() + 1, pr);
    if (f->to_ms <= f->from_ms && pr->n == 0)
        iso_problems_add(pr, "to_date_time", "OUT_OF_RANGE", "must be after from_date_time");
    f->max = read_count(q, "maximum_number", LIST_LIMIT_DEFAULT, pr);
    f->cursor = read_cursor(q, "next", pr);
    if (scenario != NULL && strcmp(scenario, "CCTR") != 0)
        iso_problems_add(pr, "payment_scenario", "CODE_INVALID", "must be CCTR");
}

static json_t *
transactions(gw_request *req, const trk_payment *p, size_t n)
{
    json_t *arr = json_array();

    for (size_t i = 0; i < n; i++) {
        trk_event *ev = NULL;
        size_t nev = 0;
        if (trk_events_get(req->app->store, p[i].uetr, &ev, &nev) != TRK_OK)
            continue; /* the feed is a snapshot; a payment unreadable now comes next time */
        json_array_append_new(arr, gw_view_transaction(&p[i], ev, nev));
        trk_events_free(ev, nev);
    }
    return arr;
}

void
gw_h_tracker_changed(gw_request *req, gw_route_ctx *ctx)
{
    static const char *const names[] = {"from_date_time", "to_date_time", "maximum_number",
                                        "next", "payment_scenario", NULL};
    query q = {0};
    iso_problems pr;
    feed f = {0};
    trk_payment *out = NULL;
    size_t n = 0;
    char next[TRK_CURSOR_LEN] = "";
    const char *owner, *customer;

    (void)ctx;
    iso_problems_init(&pr);
    memcpy(q.names, names, sizeof(names));
    if (parse_query(req, &q, &pr) != 0)
        return;
    read_feed(&q, &f, &pr);
    if (pr.n > 0) {
        gw_respond_error(req, 422, "INVALID_QUERY", "the query breaks the rules", &pr);
        return;
    }
    scope(req, &owner, &customer);
    int rc = trk_payments_changed(req->app->store, owner, f.from_ms, f.to_ms, f.max, f.cursor,
                                  &out, &n, next);
    if (rc == TRK_ERR_INVALID) {
        iso_problems_add(&pr, "next", "CURSOR_INVALID", "is not a token this service gave out");
        gw_respond_error(req, 422, "INVALID_QUERY", "the query breaks the rules", &pr);
        return;
    }
    if (rc != TRK_OK) {
        gw_respond_store_error(req, rc);
        return;
    }
    json_t *b = json_pack("{s:o}", "payment_transaction", transactions(req, out, n));
    if (b != NULL && next[0] != '\0')
        json_object_set_new(b, "next", json_string(next));
    gw_respond_json(req, 200, b, NULL, 0);
    trk_payments_free(out, n);
}
