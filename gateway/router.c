/*
 * Routing and the authorization matrix. Every request passes through the one table below:
 * method × path pattern → which roles may call it and which ownership rule applies.
 *   - a path no route knows                       → 404 NOT_FOUND
 *   - a known path with another method            → 405 METHOD_NOT_ALLOWED (+ Allow)
 *   - a route not for the principal's role        → 403 FORBIDDEN
 *   - a payment the principal may not see         → 404 PAYMENT_NOT_FOUND (no existence leak)
 */
#include "routes.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define R_CHANNEL (1u << GW_ROLE_CHANNEL)
#define R_CORRESPONDENT (1u << GW_ROLE_CORRESPONDENT)
#define R_CUSTOMER (1u << GW_ROLE_CUSTOMER)
#define R_OPERATOR (1u << GW_ROLE_OPERATOR)
#define R_ANY (R_CHANNEL | R_CORRESPONDENT | R_CUSTOMER | R_OPERATOR)
#define MAX_SEGMENTS 8

enum ownership {
    OWN_NONE,    /* no resource: the role decides */
    OWN_PAYMENT, /* {uetr} must exist and be visible to the principal */
};

typedef struct route {
    const char *method;
    const char *pattern; /* segments; {uetr} and {name} capture */
    unsigned roles;
    enum ownership own;
    gw_handler handler;
} route;

static const route routes[] = {
    {"GET", "/healthz", R_ANY, OWN_NONE, gw_h_healthz},
    {"GET", "/readyz", R_ANY, OWN_NONE, gw_h_readyz},
    {"GET", "/metrics", R_OPERATOR, OWN_NONE, gw_h_metrics},
    {"GET", "/openapi.yaml", R_ANY, OWN_NONE, gw_h_openapi},
    {"GET", "/track/{uetr}", R_ANY, OWN_PAYMENT, gw_h_track_page},
    {"POST", "/v1/payments", R_CHANNEL, OWN_NONE, gw_h_payment_create},
    {"GET", "/v1/payments/{uetr}", R_CHANNEL | R_CUSTOMER | R_OPERATOR, OWN_PAYMENT,
     gw_h_payment_get},
    {"GET", "/v1/payments/{uetr}/messages/{name}", R_CHANNEL | R_OPERATOR, OWN_PAYMENT,
     gw_h_payment_message},
    {"GET", "/v1/payments", R_CHANNEL | R_CUSTOMER | R_OPERATOR, OWN_NONE, gw_h_payment_list},
    {"POST", "/v1/payments/{uetr}/cancellation", R_CHANNEL, OWN_PAYMENT, gw_h_payment_cancel},
    {"POST", "/v1/messages", R_CORRESPONDENT, OWN_NONE, gw_h_message_in},
    /* before {uetr}/transactions, which would take "changed" for a UETR */
    {"GET", "/tracker/v6/payments/changed/transactions", R_CHANNEL | R_OPERATOR, OWN_NONE,
     gw_h_tracker_changed},
    {"GET", "/tracker/v6/payments/{uetr}/transactions", R_ANY, OWN_PAYMENT,
     gw_h_tracker_transactions},
    {"PUT", "/tracker/v6/payments/{uetr}/status", R_CORRESPONDENT, OWN_PAYMENT,
     gw_h_tracker_status},
    {"PUT", "/v1/accounts/{name}", R_OPERATOR, OWN_NONE, gw_h_account_put},
    {"GET", "/v1/accounts/{name}", R_OPERATOR, OWN_NONE, gw_h_account_get},
};

int
gw_can_see_payment(const gw_principal *p, const trk_payment *pay)
{
    switch (p->role) {
    case GW_ROLE_OPERATOR:
        return 1;
    case GW_ROLE_CHANNEL:
        return gw_principal_has_bic(p, pay->debtor_agent);
    case GW_ROLE_CUSTOMER:
        return gw_principal_has_bic(p, pay->debtor_agent) &&
               strcmp(p->customer_id, pay->customer_id) == 0;
    case GW_ROLE_CORRESPONDENT:
        for (unsigned i = 0; i < pay->chain_len && i < TRK_MAX_CHAIN; i++)
            if (gw_principal_has_bic(p, pay->chain[i]))
                return 1;
        return 0;
    default:
        return 0;
    }
}

/* Match `path` against `pattern` segment by segment, capturing {uetr} and {name}. */
static int
match(const char *pattern, const char *path, gw_route_ctx *ctx)
{
    while (*pattern == '/' && *path == '/') {
        pattern++, path++;
        size_t plen = strcspn(pattern, "/"), slen = strcspn(path, "/");
        if (pattern[0] == '{') {
            char *dst = strncmp(pattern, "{uetr}", plen) == 0 ? ctx->uetr : ctx->name;
            size_t cap = dst == ctx->uetr ? sizeof(ctx->uetr) : sizeof(ctx->name);
            if (slen == 0 || slen >= cap)
                return 0;
            memcpy(dst, path, slen);
            dst[slen] = '\0';
        } else if (plen != slen || memcmp(pattern, path, plen) != 0) {
            return 0;
        }
        pattern += plen, path += slen;
    }
    return *pattern == '\0' && *path == '\0';
}

static void
allowed_methods(const char *path, char *buf, size_t size)
{
    gw_route_ctx scratch;
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        memset(&scratch, 0, sizeof(scratch));
        if (match(routes[i].pattern, path, &scratch) && used < size)
            used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
                                     routes[i].method);
    }
}

static int
load_payment(gw_request *req, gw_route_ctx *ctx)
{
    int rc = iso_uetr_valid(ctx->uetr) ? trk_payment_get(req->app->store, ctx->uetr,
                                                         &ctx->payment)
                                       : TRK_ERR_NOTFOUND;
    if (rc == TRK_OK && !gw_can_see_payment(&req->principal, &ctx->payment)) {
        trk_payment_clear(&ctx->payment);
        rc = TRK_ERR_NOTFOUND; /* someone else's payment does not exist for this principal */
        gw_audit_refusal(req, 404, "not the principal's payment");
    }
    if (rc != TRK_OK) {
        gw_respond_store_error(req, rc);
        return -1;
    }
    ctx->have_payment = 1;
    return 0;
}

void
gw_dispatch(gw_request *req)
{
    gw_route_ctx ctx;
    const route *hit = NULL;
    int path_known = 0;

    if (gw_ratelimit_refuse(req))
        return; /* 429 given, counted and audited */
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]) && hit == NULL; i++) {
        memset(&ctx, 0, sizeof(ctx));
        if (!match(routes[i].pattern, req->path, &ctx))
            continue;
        path_known = 1;
        if (strcmp(routes[i].method, req->method) == 0)
            hit = &routes[i];
    }
    if (hit == NULL) {
        char allow[64];
        allowed_methods(req->path, allow, sizeof(allow));
        gw_header h = {"allow", allow};
        if (!path_known)
            gw_respond_error(req, 404, "NOT_FOUND", "no such route", NULL);
        else
            gw_respond_error_with(req, 405, "METHOD_NOT_ALLOWED",
                                  "method not allowed on this route", NULL, &h, 1);
        return;
    }
    req->route = hit->pattern;
    if ((hit->roles & (1u << req->principal.role)) == 0) {
        gw_metric_authz_refused(req->principal.role);
        gw_audit_refusal(req, 403, "route not for the principal's role");
        gw_log(GW_LOG_WARN, "authz_refused", "principal=%s role=%s route=%s %s",
               req->principal.name, gw_role_name(req->principal.role), req->method,
               hit->pattern);
        gw_respond_error(req, 403, "FORBIDDEN", "this route is not for your role", NULL);
        return;
    }
    if (ctx.uetr[0] != '\0')
        memcpy(req->uetr, ctx.uetr, sizeof(req->uetr));
    if (hit->own == OWN_PAYMENT && load_payment(req, &ctx) != 0)
        return;
    hit->handler(req, &ctx);
    trk_payment_clear(&ctx.payment);
}
