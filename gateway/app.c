/*
 * The application behind the server: the store, the compiled schemas and the participants
 * registry, opened once at start-up (before any socket accepts) and closed after the server.
 */
#include "gw_int.h"

#include <stdio.h>
#include <stdlib.h>

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
    trk_config tc = {.dir = cfg->data_dir, .map_size = cfg->map_size};
    if ((rc = trk_open(&app->store, &tc)) != TRK_OK) {
        snprintf(err, errlen, "store %s: %s", cfg->data_dir, trk_strerror(rc));
        rc = GW_ERR_STORE;
        goto out;
    }
    rc = GW_OK;
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
