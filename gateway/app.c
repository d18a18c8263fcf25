/*
 * The application behind the server: the store, the compiled schemas and the participants
 * registry, opened once at start-up (before any socket accepts) and closed after the server.
 */
#include "routes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct {
    int code;
    const char *text;
} errors[] = {
    {GW_OK, "success"},
    {GW_ERR_NOMEM, "out of memory"},
    {GW_ERR_CONFIG, "invalid configuration"},
    {GW_ERR_TLS, "TLS set-up failed"},
    {GW_ERR_SOCKET, "socket set-up failed"},
    {GW_ERR_STORE, "store could not be opened"},
    {GW_ERR_ISO, "schemas could not be compiled"},
    {GW_ERR_REGISTRY, "participants file could not be read"},
};

const char *
gw_strerror(int err)
{
    for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
        if (errors[i].code == err)
            return errors[i].text;
    return "unknown error";
}

/* The spool's parent directories (0700), so the default var/spool works from a fresh
 * checkout; the store creates the leaf itself. */
static int
make_parents(const char *path, char *err, size_t errlen)
{
    char buf[sizeof(((gw_config *)0)->spool_dir)];

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "spool_dir %s: %s: %s", path, buf, strerror(errno));
            return GW_ERR_CONFIG;
        }
        *p = '/';
    }
    return GW_OK;
}

int
gw_app_open(gw_app **out, const gw_config *cfg, char *err, size_t errlen)
{
    int rc;
    gw_app *app = calloc(1, sizeof(*app));

    *out = NULL;
    if (app == NULL)
        return GW_ERR_NOMEM;
    app->cfg = *cfg;
    rc = gw_registry_load(&app->registry, cfg->participants_file, err, errlen);
    if (rc != GW_OK)
        goto out;
    if ((rc = iso_ctx_new(&app->iso)) != ISO_OK) {
        snprintf(err, errlen, "schemas: %s", iso_strerror(rc));
        rc = GW_ERR_ISO;
        goto out;
    }
    if ((rc = make_parents(cfg->spool_dir, err, errlen)) != GW_OK)
        goto out;
    trk_config tc = {.dir = cfg->data_dir,
                     .map_size = cfg->map_size,
                     .spool_dir = cfg->spool_dir,
                     .sla_ms = (int64_t)cfg->sla_seconds * 1000,
                     .idem_retention_ms =
                         (int64_t)cfg->idempotency_retention_days * 24 * 3600 * 1000};
    if ((rc = trk_open(&app->store, &tc)) != TRK_OK) {
        snprintf(err, errlen, "store %s (spool %s): %s", cfg->data_dir, cfg->spool_dir,
                 trk_strerror(rc));
        rc = GW_ERR_STORE;
        goto out;
    }
    /* before any socket accepts: accounts missing from the ledger are created from the seed */
    rc = gw_accounts_seed(app, cfg->accounts_seed, err, errlen);
out:
    if (rc != GW_OK)
        gw_app_close(app);
    else
        *out = app;
    return rc;
}

void
gw_app_close(gw_app *app)
{
    if (app == NULL)
        return;
    trk_close(app->store);
    iso_ctx_free(app->iso);
    gw_registry_free(app->registry);
    free(app);
}
