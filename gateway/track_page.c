/*
 * GET /track/{uetr}: the page a customer looks at. Server-rendered HTML with an inline SVG of
 * the banks in the chain and no external assets (a strict CSP says so to the browser). The
 * document is built with libxml2's tree API, so every piece of user text is escaped by the
 * serializer, never by hand.
 *
 * Hops: the debtor agent, then the chain in order. Hop i→i+1 is "done" once agent i+1 (or a
 * later one) has confirmed, "rejected" when an RJCT came from it, "current" for the first
 * hop not yet confirmed while the payment is under way.
 */
#include "routes.h"

#include <jansson.h>
#include <libxml/HTMLtree.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_HOPS (TRK_MAX_CHAIN + 1)
#define HOP_X0 60
#define HOP_DX 170
#define SVG_H 150
#define TEXT_MAX 256

typedef struct hop {
    const char *bic;
    const trk_event *ev; /* the newest event reported by this agent, if any */
    int64_t first_seen_ms;
} hop;

typedef struct page {
    const trk_payment *pay;
    json_t *doc;
    hop hops[MAX_HOPS];
    size_t n_hops;
    const trk_event *ev;
    size_t n_ev;
} page;

static xmlNodePtr
el(xmlNodePtr parent, const char *name, const char *text)
{
    return xmlNewTextChild(parent, NULL, BAD_CAST name, text ? BAD_CAST text : NULL);
}

static void
attr(xmlNodePtr n, const char *name, const char *value)
{
    xmlNewProp(n, BAD_CAST name, BAD_CAST value);
}

static void
attr_int(xmlNodePtr n, const char *name, long v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%ld", v);
    attr(n, name, buf);
}

static const char *
doc_str(const json_t *doc, const char *a, const char *b)
{
    const json_t *v = json_object_get(doc, a);
    return json_string_value(b ? json_object_get(v, b) : v);
}

/* Events that are the banks' word: not the store's own notes (delivery, timers). */
static int
is_shown(const trk_event *e)
{
    return (e->flags & TRK_EF_INTERNAL) == 0;
}

static void
collect_hops(page *pg)
{
    const trk_payment *p = pg->pay;

    pg->hops[pg->n_hops++].bic = p->debtor_agent;
    for (unsigned i = 0; i < p->chain_len && pg->n_hops < MAX_HOPS; i++)
        pg->hops[pg->n_hops++].bic = p->chain[i];
    for (size_t e = 0; e < pg->n_ev; e++) {
        /* an update recorded but not applied (late, conflicting) never sets a hop's state */
        if (!is_shown(&pg->ev[e]) || (pg->ev[e].flags & TRK_EF_ANOMALY) != 0)
            continue;
        for (size_t h = 0; h < pg->n_hops; h++)
            if (iso_bic8_equal(pg->ev[e].from, pg->hops[h].bic)) {
                pg->hops[h].ev = &pg->ev[e];
                if (pg->hops[h].first_seen_ms == 0)
                    pg->hops[h].first_seen_ms = pg->ev[e].at_ms;
            }
    }
}

/* The furthest hop that confirmed (ACSP or ACCC): everything before it is done. */
static size_t
furthest_confirmed(const page *pg)
{
    size_t far = 0;
    for (size_t h = 1; h < pg->n_hops; h++)
        if (pg->hops[h].ev != NULL && strcmp(pg->hops[h].ev->status, "RJCT") != 0)
            far = h;
    if (strcmp(pg->pay->status, "ACCC") == 0)
        far = pg->n_hops - 1;
    return far;
}

static const char *
hop_state(const page *pg, size_t h, size_t far)
{
    if (pg->hops[h].ev != NULL && strcmp(pg->hops[h].ev->status, "RJCT") == 0)
        return "rejected";
    if (h <= far)
        return "done";
    if (h == far + 1 && strcmp(pg->pay->status, "ACSP") == 0)
        return "current";
    return "pending";
}

static const char *
hop_colour(const char *state)
{
    if (strcmp(state, "done") == 0)
        return "#1b7f3b";
    if (strcmp(state, "rejected") == 0)
        return "#b3261e";
    if (strcmp(state, "current") == 0)
        return "#1d5fb4";
    return "#9aa0a6";
}

static void
svg_route(xmlNodePtr parent, const page *pg)
{
    size_t far = furthest_confirmed(pg);
    long width = HOP_X0 * 2 + (long)(pg->n_hops - 1) * HOP_DX;
    xmlNodePtr svg = el(parent, "svg", NULL);
    char vb[64];

    snprintf(vb, sizeof(vb), "0 0 %ld %d", width, SVG_H);
    attr(svg, "viewBox", vb);
    attr_int(svg, "width", width);
    attr_int(svg, "height", SVG_H);
    attr(svg, "role", "img");
    attr(svg, "aria-label", "The banks your payment passes through");
    for (size_t h = 0; h + 1 < pg->n_hops; h++) {
        xmlNodePtr line = el(svg, "line", NULL);
        attr_int(line, "x1", HOP_X0 + (long)h * HOP_DX);
        attr_int(line, "x2", HOP_X0 + (long)(h + 1) * HOP_DX);
        attr_int(line, "y1", 50);
        attr_int(line, "y2", 50);
        attr(line, "stroke", hop_colour(hop_state(pg, h + 1, far)));
        attr(line, "stroke-width", "4");
    }
    for (size_t h = 0; h < pg->n_hops; h++) {
        const char *st = hop_state(pg, h, far);
        xmlNodePtr g = el(svg, "g", NULL);
        attr(g, "class", "hop");
        attr(g, "data-bic", pg->hops[h].bic);
        attr(g, "data-state", st);
        xmlNodePtr c = el(g, "circle", NULL);
        attr_int(c, "cx", HOP_X0 + (long)h * HOP_DX);
        attr_int(c, "cy", 50);
        attr(c, "r", "18");
        attr(c, "fill", hop_colour(st));
        xmlNodePtr t = el(g, "text", pg->hops[h].bic);
        attr_int(t, "x", HOP_X0 + (long)h * HOP_DX);
        attr_int(t, "y", 100);
        attr(t, "text-anchor", "middle");
        xmlNodePtr s = el(g, "text", st);
        attr_int(s, "x", HOP_X0 + (long)h * HOP_DX);
        attr_int(s, "y", 122);
        attr(s, "text-anchor", "middle");
        attr(s, "class", "state");
    }
}

/* When the payment last changed: its latest applied event. An update recorded but not
 * applied touches updated_ms, yet is no news about the payment. */
static int64_t
last_news_ms(const page *pg)
{
    int64_t at = 0;

    for (size_t e = 0; e < pg->n_ev; e++)
        if ((pg->ev[e].flags & TRK_EF_ANOMALY) == 0 && pg->ev[e].at_ms > at)
            at = pg->ev[e].at_ms;
    return at > 0 ? at : pg->pay->updated_ms;
}

/* "22 Nov 2026, 10:05 UTC": for people, where the views use ISO 8601. */
static void
human_time(int64_t unix_ms, char *buf, size_t size)
{
    time_t secs = (time_t)(unix_ms / 1000);
    struct tm tm;

    if (gmtime_r(&secs, &tm) == NULL || strftime(buf, size, "%d %b %Y, %H:%M UTC", &tm) == 0)
        snprintf(buf, size, "unknown time");
}

static void
status_words(const page *pg, char *buf, size_t size)
{
    const trk_payment *p = pg->pay;
    char when[40];

    human_time(last_news_ms(pg), when, sizeof(when));
    if (p->state == TRK_CANCELLED)
        snprintf(buf, size, "Cancelled at your request. The money is back in your account.");
    else if (p->state == TRK_RETURNED)
        snprintf(buf, size, "Returned: the money came back to your account (%s).", when);
    else if (strcmp(p->status, "ACCC") == 0)
        snprintf(buf, size, "Delivered: credited to the beneficiary's account (%s).", when);
    else if (strcmp(p->status, "RJCT") == 0)
        snprintf(buf, size, "Stopped: a bank on the way rejected it (reason %s). The money is "
                            "back in your account.", p->reason[0] ? p->reason : "not given");
    else if (p->state == TRK_SCHEDULED)
        snprintf(buf, size, "Scheduled: it leaves on its execution date.");
    else if (p->state == TRK_CANCEL_PENDING)
        snprintf(buf, size, "Being recalled: we asked the banks on the way to stop it.");
    else
        snprintf(buf, size, "On its way: the banks are passing it on (last news %s).", when);
}

static void
money_line(xmlNodePtr dl, const char *label, const json_t *amount)
{
    char buf[TEXT_MAX];
    const char *ccy = json_string_value(json_object_get(amount, "currency"));
    const char *amt = json_string_value(json_object_get(amount, "amount"));

    if (ccy == NULL || amt == NULL)
        return;
    snprintf(buf, sizeof(buf), "%s %s", ccy, amt);
    el(dl, "dt", label);
    xmlNodePtr dd = el(dl, "dd", buf);
    attr(dd, "data-field", label);
}

static json_t *
event_detail(const trk_event *e)
{
    json_t *d = e->detail ? json_loadb(e->detail, e->detail_len, 0, NULL) : NULL;
    return json_is_object(d) ? d : (json_decref(d), json_object());
}

static void
amounts(xmlNodePtr body, const page *pg)
{
    xmlNodePtr dl = el(body, "dl", NULL);
    json_t *sent = json_pack("{s:s?,s:s?}", "currency", doc_str(pg->doc, "currency", NULL),
                             "amount", doc_str(pg->doc, "amount", NULL));

    attr(dl, "class", "amounts");
    money_line(dl, "Sent", sent);
    json_decref(sent);
    for (size_t e = pg->n_ev; e-- > 0;) {
        json_t *d = event_detail(&pg->ev[e]);
        if (strcmp(pg->ev[e].status, "ACCC") == 0 && json_object_get(d, "confirmed_amount")) {
            money_line(dl, "Received", json_object_get(d, "confirmed_amount"));
            json_decref(d);
            break;
        }
        json_decref(d);
    }
}

/* How long a hop took: seconds under a minute, minutes under an hour, then hours. */
static void
format_took(int64_t ms, char *buf, size_t size)
{
    long long s = ms > 0 ? (long long)(ms / 1000) : 0;

    if (s < 60)
        snprintf(buf, size, "%lld s", s);
    else if (s < 3600)
        snprintf(buf, size, "%lld min", s / 60);
    else
        snprintf(buf, size, "%lld h %lld min", s / 3600, s % 3600 / 60);
}

static void
hop_row(xmlNodePtr tbody, const page *pg, size_t e, int64_t prev_ms)
{
    const trk_event *ev = &pg->ev[e];
    json_t *d = event_detail(ev);
    char when[40], took[48], charges[TEXT_MAX] = "", fx[64] = "";
    xmlNodePtr tr = el(tbody, "tr", NULL);

    attr(tr, "class", ev->flags & TRK_EF_ANOMALY ? "event anomaly" : "event");
    gw_format_time(ev->at_ms, when, sizeof(when));
    format_took(ev->at_ms - prev_ms, took, sizeof(took));
    json_t *ci;
    size_t i;
    json_array_foreach(json_object_get(d, "charges_information"), i, ci) {
        const json_t *a = json_object_get(ci, "amount");
        size_t used = strlen(charges);
        snprintf(charges + used, sizeof(charges) - used, "%s%s %s", used ? ", " : "",
                 json_string_value(json_object_get(a, "currency")) ?: "",
                 json_string_value(json_object_get(a, "amount")) ?: "");
    }
    if (json_string_value(json_object_get(d, "exchange_rate")))
        snprintf(fx, sizeof(fx), "%s", json_string_value(json_object_get(d, "exchange_rate")));
    el(tr, "td", when);
    el(tr, "td", ev->from);
    el(tr, "td", ev->to);
    char status[48];
    snprintf(status, sizeof(status), "%s%s", ev->status[0] ? ev->status : ev->type,
             ev->flags & TRK_EF_ANOMALY ? " (arrived late: not applied)" : "");
    xmlNodePtr st = el(tr, "td", status);
    attr(st, "class", "status");
    el(tr, "td", ev->reason);
    el(tr, "td", prev_ms < 0 ? "" : took);
    el(tr, "td", charges);
    el(tr, "td", fx);
    json_decref(d);
}

static void
hop_table(xmlNodePtr body, const page *pg)
{
    static const char *const heads[] = {"When",    "From", "To",      "Status",
                                        "Reason", "Took", "Charges", "FX rate"};
    xmlNodePtr table = el(body, "table", NULL), tr = el(el(table, "thead", NULL), "tr", NULL);
    xmlNodePtr tbody = el(table, "tbody", NULL);

    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
        el(tr, "th", heads[i]);
    int64_t prev_ms = -1; /* the first row took no time: nothing came before it */
    for (size_t e = 0; e < pg->n_ev; e++) {
        if (!is_shown(&pg->ev[e]))
            continue;
        hop_row(tbody, pg, e, prev_ms);
        prev_ms = pg->ev[e].at_ms;
    }
}

static const char STYLE[] =
    "body{font-family:system-ui,sans-serif;margin:2rem;color:#202124;max-width:72rem}"
    "h1{font-size:1.4rem}.status-words{font-size:1.2rem;padding:.8rem;background:#f1f3f4;"
    "border-radius:6px}svg text{font-size:13px;font-family:monospace}"
    "table{border-collapse:collapse;margin-top:1rem}td,th{padding:.3rem .7rem;"
    "border-bottom:1px solid #dadce0;text-align:left;font-size:.9rem}"
    "dl.amounts{display:grid;grid-template-columns:8rem auto}dd{margin:0;font-weight:600}";

static void
build(xmlNodePtr html, const page *pg)
{
    char title[TEXT_MAX], words[TEXT_MAX];
    xmlNodePtr head = el(html, "head", NULL), body = el(html, "body", NULL);

    attr(el(head, "meta", NULL), "charset", "utf-8");
    xmlNodePtr vp = el(head, "meta", NULL);
    attr(vp, "name", "viewport");
    attr(vp, "content", "width=device-width");
    snprintf(title, sizeof(title), "Payment to %s", doc_str(pg->doc, "creditor", "name") ?: "");
    el(head, "title", title);
    el(head, "style", STYLE);
    el(body, "h1", title);
    xmlNodePtr ref = el(body, "p", NULL);
    attr(ref, "class", "uetr");
    xmlNodeAddContent(ref, BAD_CAST "Tracking reference (UETR): ");
    el(ref, "code", pg->pay->uetr);
    status_words(pg, words, sizeof(words));
    xmlNodePtr sw = el(body, "p", words);
    attr(sw, "class", "status-words");
    attr(sw, "id", "status");
    attr(sw, "data-status", pg->pay->status);
    amounts(body, pg);
    el(body, "h2", "Route");
    svg_route(body, pg);
    el(body, "h2", "What happened");
    hop_table(body, pg);
}

void
gw_h_track_page(gw_request *req, gw_route_ctx *ctx)
{
    trk_event *ev = NULL;
    size_t n = 0;
    xmlChar *out = NULL;
    int out_len = 0;
    int rc = trk_events_get(req->app->store, ctx->uetr, &ev, &n);

    if (rc != TRK_OK) {
        gw_respond_store_error(req, rc);
        return;
    }
    page pg = {.pay = &ctx->payment, .ev = ev, .n_ev = n};
    pg.doc = json_loadb(ctx->payment.doc, ctx->payment.doc_len, 0, NULL);
    collect_hops(&pg);
    htmlDocPtr doc = htmlNewDocNoDtD(NULL, NULL);
    xmlNodePtr html = xmlNewNode(NULL, BAD_CAST "html");
    xmlDocSetRootElement(doc, html);
    attr(html, "lang", "en");
    build(html, &pg);
    htmlDocDumpMemoryFormat(doc, &out, &out_len, 0);
    xmlFreeDoc(doc);
    json_decref(pg.doc);
    trk_events_free(ev, n);
    if (out == NULL) {
        gw_respond_error(req, 503, "OUT_OF_MEMORY", "try again later", NULL);
        return;
    }
    static const char DOCTYPE[] = "<!DOCTYPE html>\n";
    char *body = malloc(sizeof(DOCTYPE) + (size_t)out_len);
    if (body != NULL) {
        memcpy(body, DOCTYPE, sizeof(DOCTYPE) - 1);
        memcpy(body + sizeof(DOCTYPE) - 1, out, (size_t)out_len);
    }
    xmlFree(out);
    gw_header csp = {"content-security-policy",
                     "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'"};
    if (body == NULL)
        gw_respond_error(req, 503, "OUT_OF_MEMORY", "try again later", NULL);
    else
        gw_respond(req, 200, "text/html; charset=utf-8", body,
                   sizeof(DOCTYPE) - 1 + (size_t)out_len, &csp, 1);
}
