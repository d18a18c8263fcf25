/*
 * Operations routes: readiness, metrics and the OpenAPI document. /healthz (payments.c) says
 * the process answers; /readyz says it should be sent traffic: store open and answering,
 * schemas compiled, spool directory (the outbox) writable, not draining.
 */
#include "embedded.h"
#include "routes.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The outbox writes one file per message into spool_dir: it must exist and be writable
 * (by the effective user, hence euidaccess rather than access). */
static int
spool_writable(const gw_app *app)
{
    return app->cfg.spool_dir[0] != '\0' && euidaccess(app->cfg.spool_dir, W_OK | X_OK) == 0;
}

void
gw_h_readyz(gw_request *req, gw_route_ctx *ctx)
{
    trk_stats st;
    int store_ok = trk_stats_get(req->app->store, &st) == TRK_OK;
    int schemas_ok = req->app->iso != NULL;
    int spool_ok = spool_writable(req->app);
    int draining = req->app->draining != 0;
    int ready = store_ok && schemas_ok && spool_ok && !draining;

    (void)ctx;
    gw_respond_json(req, ready ? 200 : 503,
                    json_pack("{s:s,s:{s:b,s:b,s:b,s:b}}", "status", ready ? "ready" : "not_ready",
                              "checks", "store", store_ok, "schemas", schemas_ok, "spool", spool_ok,
                              "draining", draining),
                    NULL, 0);
}

void
gw_h_metrics(gw_request *req, gw_route_ctx *ctx)
{
    char *body = NULL;
    size_t len = 0;

    (void)ctx;
    if (gw_metrics_render(req->app, &body, &len) != GW_OK) {
        gw_respond_error(req, 503, "OUT_OF_MEMORY", "try again later", NULL);
        return;
    }
    gw_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", body, len, NULL, 0);
}

/* docs/openapi.yaml as compiled in; any principal may read the contract. */
void
gw_h_openapi(gw_request *req, gw_route_ctx *ctx)
{
    char *body = malloc(gw_openapi_yaml_len);

    (void)ctx;
    if (body == NULL) {
        gw_respond_error(req, 503, "OUT_OF_MEMORY", "try again later", NULL);
        return;
    }
    memcpy(body, gw_openapi_yaml, gw_openapi_yaml_len);
    gw_respond(req, 200, "application/yaml", body, gw_openapi_yaml_len, NULL, 0);
}
