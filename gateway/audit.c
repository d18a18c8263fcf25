/*
 * The audit file: every refusal on the record, one JSON object per line.
 *
 *   {"time":"2026-11-21T10:00:00.123Z","kind":"request","principal":"customer",
 *    "role":"customer","method":"POST","route":"/v1/payments","status":403,
 *    "decision":"refused","reason":"route not for the role","request_id":"..."}
 *   {"time":...,"kind":"request","principal":"operator",...,"decision":"allowed",
 *    "reason":"operator access","uetr":"..."}          (operators read everything: on the record)
 *   {"time":...,"kind":"connection","principal":"","subject":"revoked.dev.corridor",
 *    "peer":"127.0.0.1:50000","decision":"refused","reason":"bad_client_cert: ..."}
 *
 * Append-only: opened O_APPEND (never truncated, never rewritten), mode 0600. A record is built
 * whole in a bounded buffer and written with one write(2), so records from different threads
 * never interleave; a record that would not fit has its free-text fields cut first, and is
 * never split. Opened before privileges are dropped (main.c hands it to the service user).
 */
#include "gw_int.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define AUDIT_LINE_MAX 2048
#define AUDIT_FIELD_MAX 256 /* route, reason, subject: cut to this before the record is built */
#define AUDIT_MODE 0600
#define AUDIT_NAME "audit.log"

static atomic_int audit_fd = -1;
static _Atomic uint64_t audit_dropped; /* records that could not be written (logged once) */

void
gw_audit_path(const gw_config *cfg, char *out, size_t size)
{
    const char *slash;
    int dirlen;

    if (cfg->audit_file[0] != '\0') {
        snprintf(out, size, "%s", cfg->audit_file);
        return;
    }
    /* Beside the store: var/data -> var/audit.log; a bare "data" -> audit.log. Trailing
     * slashes are not part of the name. */
    dirlen = (int)strlen(cfg->data_dir);
    while (dirlen > 1 && cfg->data_dir[dirlen - 1] == '/')
        dirlen--;
    slash = memrchr(cfg->data_dir, '/', (size_t)dirlen);
    if (slash == NULL)
        snprintf(out, size, "%s", AUDIT_NAME);
    else
        snprintf(out, size, "%.*s/%s", (int)(slash - cfg->data_dir), cfg->data_dir, AUDIT_NAME);
}

int
gw_audit_open(const gw_config *cfg, char *err, size_t errlen)
{
    char path[sizeof(cfg->audit_file) + sizeof(AUDIT_NAME)];
    int fd;

    gw_audit_path(cfg, path, sizeof path);
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, AUDIT_MODE);
    if (fd < 0) {
        snprintf(err, errlen, "audit file %s: %s", path, strerror(errno));
        return GW_ERR_CONFIG;
    }
    /* An existing file keeps its records but not a looser mode. */
    if (fchmod(fd, AUDIT_MODE) != 0) {
        snprintf(err, errlen, "audit file %s: chmod: %s", path, strerror(errno));
        close(fd);
        return GW_ERR_CONFIG;
    }
    gw_audit_close();
    atomic_store(&audit_fd, fd);
    return GW_OK;
}

void
gw_audit_close(void)
{
    int fd = atomic_exchange(&audit_fd, -1);

    if (fd >= 0)
        close(fd);
}

static void
iso_time(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* A string member cut to AUDIT_FIELD_MAX bytes; json_stringn refuses invalid UTF-8, which
 * is then recorded as "?" rather than dropping the record. */
static void
set_text(json_t *obj, const char *key, const char *value)
{
    size_t n = value ? strnlen(value, AUDIT_FIELD_MAX) : 0;
    json_t *v = json_stringn(value ? value : "", n);

    json_object_set_new(obj, key, v ? v : json_string("?"));
}

static void
emit(json_t *obj)
{
    char line[AUDIT_LINE_MAX];
    int fd = atomic_load(&audit_fd);
    size_t n;
    ssize_t w;

    n = fd < 0 ? 0 : json_dumpb(obj, line, sizeof line - 1, JSON_COMPACT);
    json_decref(obj);
    if (fd < 0)
        return;
    if (n == 0 || n >= sizeof line - 1) {
        atomic_fetch_add(&audit_dropped, 1);
        return;
    }
    line[n++] = '\n';
    w = write(fd, line, n);
    if (w != (ssize_t)n && atomic_fetch_add(&audit_dropped, 1) == 0)
        gw_log(GW_LOG_ERROR, "audit_write_failed", "errno=%d written=%zd of %zu", errno, w, n);
}

static json_t *
record(const char *kind)
{
    char ts[40];
    json_t *obj = json_object();

    if (obj == NULL)
        return NULL;
    iso_time(ts, sizeof ts);
    set_text(obj, "time", ts);
    set_text(obj, "kind", kind);
    return obj;
}

static void
request_record(const gw_request *req, int status, const char *decision, const char *reason)
{
    json_t *obj = record("request");

    if (obj == NULL)
        return;
    set_text(obj, "principal", req->principal.name);
    set_text(obj, "role", gw_role_name(req->principal.role));
    set_text(obj, "method", req->method);
    set_text(obj, "route", req->route ? req->route : req->path);
    if (req->route != NULL && req->path != NULL)
        set_text(obj, "path", req->path);
    json_object_set_new(obj, "status", json_integer(status));
    set_text(obj, "decision", decision);
    set_text(obj, "reason", reason);
    set_text(obj, "request_id", req->request_id);
    if (req->uetr[0] != '\0')
        set_text(obj, "uetr", req->uetr);
    emit(obj);
}

void
gw_audit_refusal(gw_request *req, int status, const char *reason)
{
    req->audited = 1;
    request_record(req, status, "refused", reason);
}

void
gw_audit_access(const gw_request *req, int status, const char *reason)
{
    request_record(req, status, "allowed", reason);
}

void
gw_audit_conn(const gw_principal *p, const char *subject, const char *peer,
              const char *decision, const char *reason)
{
    json_t *obj = record("connection");

    if (obj == NULL)
        return;
    set_text(obj, "principal", p ? p->name : "");
    if (p != NULL)
        set_text(obj, "role", gw_role_name(p->role));
    set_text(obj, "subject", subject);
    set_text(obj, "peer", peer);
    set_text(obj, "decision", decision);
    set_text(obj, "reason", reason);
    emit(obj);
}
