/*
 * Structured logs: one JSON object per line on stderr. A line is built whole in a bounded
 * buffer and written with one write(2), so lines from different threads never interleave.
 * Never log a body or a full account number: callers pass identifiers only.
 */
#include "gw_int.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048

static const char *const level_names[] = {"debug", "info", "warn", "error"};
static int min_level = GW_LOG_INFO; /* set once at start-up, before any thread */

int
gw_log_level_from(const char *name)
{
    for (int i = GW_LOG_DEBUG; i <= GW_LOG_ERROR; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

void
gw_log_set_level(int level)
{
    if (level >= GW_LOG_DEBUG && level <= GW_LOG_ERROR)
        min_level = level;
}

static void
iso_time(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void
emit(json_t *obj)
{
    char line[LOG_LINE_MAX];
    size_t n = json_dumpb(obj, line, sizeof(line) - 1, JSON_COMPACT);

    json_decref(obj);
    if (n == 0 || n >= sizeof(line) - 1)
        return; /* too long to log whole: dropped rather than cut mid-JSON */
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}

static json_t *
record(int level, const char *event)
{
    char ts[40];

    iso_time(ts, sizeof(ts));
    if (level < GW_LOG_DEBUG || level > GW_LOG_ERROR)
        level = GW_LOG_ERROR;
    return json_pack("{s:s, s:s, s:s}", "time", ts, "level", level_names[level], "event", event);
}

void
gw_log(int level, const char *event, const char *fmt, ...)
{
    char msg[LOG_LINE_MAX / 2];
    va_list ap;

    if (level < min_level)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *obj = record(level, event);
    if (obj == NULL)
        return;
    json_object_set_new(obj, "msg", json_string(msg));
    emit(obj);
}

void
gw_log_request(const gw_request *req, int status, const char *uetr)
{
    json_t *obj = record(GW_LOG_INFO, "request");

    if (obj == NULL)
        return;
    json_object_set_new(obj, "request_id", json_string(req->request_id));
    json_object_set_new(obj, "principal", json_string(req->principal.name));
    json_object_set_new(obj, "role", json_string(gw_role_name(req->principal.role)));
    json_object_set_new(obj, "method", json_string(req->method));
    /* the matched pattern, never the path: a path can hold an account number
     * (/v1/accounts/{id}); the payment it concerns is logged as uetr */
    json_object_set_new(obj, "route", json_string(req->route ? req->route : "unmatched"));
    json_object_set_new(obj, "status", json_integer(status));
    json_object_set_new(obj, "duration_us",
                        json_integer((gw_now_ns() - req->start_ns) / 1000));
    if (uetr != NULL && uetr[0] != '\0')
        json_object_set_new(obj, "uetr", json_string(uetr));
    emit(obj);
}
