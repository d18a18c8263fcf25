/*
 * Idempotency before any work. A retry carrying an Idempotency-Key already answered is given
 * the stored answer at once — before validation, which could now answer differently (the day
 * turned, an account changed) and so tempt the client to initiate again. The writer still
 * checks the key at commit, which covers a retry arriving while the first is in flight.
 */
#include "routes.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOCATION_MAX 160

/* A replayed 201 names the payment it created: its Location. */
static int
replay_location(const char *body, size_t len, char *buf, size_t size)
{
    json_t *b = json_loadb(body, len, 0, NULL);
    const char *uetr = json_string_value(json_object_get(b, "uetr"));
    int ok = uetr != NULL;

    if (ok)
        snprintf(buf, size, "/v1/payments/%s", uetr);
    json_decref(b);
    return ok;
}

int
gw_idem_answered(gw_request *req)
{
    unsigned char digest[32];
    char *body = NULL, location[LOCATION_MAX];
    size_t len = 0;
    int status = 0;

    if (req->idem_key[0] == '\0')
        return 0;
    gw_request_digest(req, digest);
    int rc = trk_idem_get(req->app->store, req->principal.name, req->idem_key, digest, &status,
                          &body, &len);
    if (rc == TRK_ERR_IDEM_REPLAY) {
        gw_header h = {"location", location};
        int with_location = status == 201 && replay_location(body, len, location, sizeof(location));
        gw_respond(req, status, "application/json", body, len, &h, with_location);
        return 1;
    }
    if (rc == TRK_ERR_IDEM_CONFLICT) {
        gw_respond_error(req, 409, "IDEMPOTENCY_KEY_REUSED",
                         "this Idempotency-Key was used with another request body", NULL);
        return 1;
    }
    return 0; /* not stored yet (or unreadable): do the work; the commit decides */
}
