/*
 * Error bodies and JSON responses. Every refusal has the same shape:
 *   {"code": "...", "text": "...", "errors": [{"path": "...", "code": "...", "text": "..."}]}
 * Routes under /tracker/v6 add gpi's "severity" (Fatal, Transient, Logic).
 */
#include "gw_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *
severity_for(int status)
{
    if (status == 429 || status == 503 || status == 504)
        return "Transient";
    if (status >= 500)
        return "Fatal";
    return "Logic";
}

static json_t *
problems_json(const iso_problems *pr)
{
    json_t *arr = json_array();

    for (size_t i = 0; pr != NULL && i < pr->n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "path", pr->items[i].path,
                                             "code", pr->items[i].code, "text",
                                             pr->items[i].text));
    return arr;
}

void
gw_respond_error_with(gw_request *req, int status, const char *code, const char *text,
                      const iso_problems *problems, const gw_header *extra, size_t n_extra)
{
    json_t *body = json_pack("{s:s, s:s}", "code", code, "text", text);

    if (body == NULL) {
        gw_respond(req, 500, NULL, NULL, 0, NULL, 0);
        return;
    }
    json_object_set_new(body, "errors", problems_json(problems));
    if (problems != NULL && problems->dropped > 0)
        json_object_set_new(body, "errors_dropped", json_integer((json_int_t)problems->dropped));
    if (req->path != NULL && strncmp(req->path, "/tracker/", 9) == 0)
        json_object_set_new(body, "severity", json_string(severity_for(status)));
    gw_respond_json(req, status, body, extra, n_extra);
}

void
gw_respond_error(gw_request *req, int status, const char *code, const char *text,
                 const iso_problems *problems)
{
    gw_respond_error_with(req, status, code, text, problems, NULL, 0);
}

void
gw_respond_json(gw_request *req, int status, json_t *body, const gw_header *extra,
                size_t n_extra)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

    json_decref(body);
    if (text == NULL) {
        gw_respond(req, 500, NULL, NULL, 0, NULL, 0);
        return;
    }
    gw_respond(req, status, "application/json", text, strlen(text), extra, n_extra);
}
