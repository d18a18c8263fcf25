/*
 * Configuration: defaults < config file < CORRIDOR_* environment < command-line flags.
 * Every key has a default and bounds (the table below); a value out of bounds is an error
 * naming the key, never silently clamped.
 *
 * File format: `key = value` lines; '#' starts a comment; blank lines ignored.
 * Environment: CORRIDOR_<KEY IN UPPER CASE>, e.g. CORRIDOR_DATA_DIR, plus CORRIDOR_LISTEN.
 */
#include "gw_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_LINE_MAX 2048
#define CONFIG_PROBLEM_MAX 512 /* one problem's text */

enum kind { K_STR, K_UINT, K_LISTEN };

typedef struct key_def {
    const char *name;
    enum kind kind;
    size_t offset; /* into gw_config */
    size_t size;   /* string buffer size, or integer width */
    uint64_t min, max;
} key_def;

#define STR(f) K_STR, offsetof(gw_config, f), sizeof(((gw_config *)0)->f), 0, 0
#define UINT(f, lo, hi) K_UINT, offsetof(gw_config, f), sizeof(((gw_config *)0)->f), lo, hi

static const key_def keys[] = {
    {"listen", K_LISTEN, 0, 0, 0, 0},
    {"workers", UINT(workers, 0, GW_MAX_WORKERS)},
    {"data_dir", STR(data_dir)},
    {"cert_file", STR(cert_file)},
    {"key_file", STR(key_file)},
    {"ca_file", STR(ca_file)},
    {"participants_file", STR(participants_file)},
    {"max_body", UINT(max_body, 1024, GW_MAX_BODY_LIMIT)},
    {"max_streams", UINT(max_streams, 1, 1000)},
    {"idle_timeout_ms", UINT(idle_timeout_ms, 1000, 3600000)},
    {"map_size", UINT(map_size, 1 << 20, 1ULL << 40)},
    {"log_level", STR(log_level)},
    {"spool_dir", STR(spool_dir)},
    {"sla_seconds", UINT(sla_seconds, GW_SLA_SECONDS_MIN, GW_SLA_SECONDS_MAX)},
    {"idempotency_retention_days",
     UINT(idempotency_retention_days, GW_IDEM_RETENTION_DAYS_MIN, GW_IDEM_RETENTION_DAYS_MAX)},
    {"accounts_seed", STR(accounts_seed)},
    {"tls_min_version", STR(tls_min_version)},
    {"crl_file", STR(crl_file)},
    {"run_as_user", STR(run_as_user)},
    {"audit_file", STR(audit_file)},
    {"max_conns_per_principal", UINT(max_conns_per_principal, 1, 100000)},
    {"header_timeout_ms", UINT(header_timeout_ms, 1000, 600000)},
    {"rate_channel", UINT(rate_channel, 1, GW_RATE_MAX)},
    {"burst_channel", UINT(burst_channel, 1, GW_RATE_MAX)},
    {"rate_correspondent", UINT(rate_correspondent, 1, GW_RATE_MAX)},
    {"burst_correspondent", UINT(burst_correspondent, 1, GW_RATE_MAX)},
    {"rate_customer", UINT(rate_customer, 1, GW_RATE_MAX)},
    {"burst_customer", UINT(burst_customer, 1, GW_RATE_MAX)},
    {"rate_operator", UINT(rate_operator, 1, GW_RATE_MAX)},
    {"burst_operator", UINT(burst_operator, 1, GW_RATE_MAX)},
};

static void
security_defaults(gw_config *cfg)
{
    snprintf(cfg->tls_min_version, sizeof(cfg->tls_min_version), "1.3");
    snprintf(cfg->crl_file, sizeof(cfg->crl_file), "certs/dev/crl.pem");
    snprintf(cfg->run_as_user, sizeof(cfg->run_as_user), "none");
    cfg->audit_file[0] = '\0'; /* beside data_dir, whatever data_dir ends up being */
    cfg->max_conns_per_principal = GW_MAX_CONNS_PER_PRINCIPAL_DEFAULT;
    cfg->header_timeout_ms = GW_HEADER_TIMEOUT_MS_DEFAULT;
    cfg->rate_channel = GW_RATE_CHANNEL_DEFAULT;
    cfg->burst_channel = GW_BURST_FACTOR_DEFAULT * GW_RATE_CHANNEL_DEFAULT;
    cfg->rate_correspondent = GW_RATE_CORRESPONDENT_DEFAULT;
    cfg->burst_correspondent = GW_BURST_FACTOR_DEFAULT * GW_RATE_CORRESPONDENT_DEFAULT;
    cfg->rate_customer = GW_RATE_CUSTOMER_DEFAULT;
    cfg->burst_customer = GW_BURST_FACTOR_DEFAULT * GW_RATE_CUSTOMER_DEFAULT;
    cfg->rate_operator = GW_RATE_OPERATOR_DEFAULT;
    cfg->burst_operator = GW_BURST_FACTOR_DEFAULT * GW_RATE_OPERATOR_DEFAULT;
}

void
gw_config_defaults(gw_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->listen_host, sizeof(cfg->listen_host), "127.0.0.1");
    cfg->listen_port = 8443;
    snprintf(cfg->data_dir, sizeof(cfg->data_dir), "var/data");
    snprintf(cfg->cert_file, sizeof(cfg->cert_file), "certs/dev/server.crt");
    snprintf(cfg->key_file, sizeof(cfg->key_file), "certs/dev/server.key");
    snprintf(cfg->ca_file, sizeof(cfg->ca_file), "certs/dev/ca.crt");
    snprintf(cfg->participants_file, sizeof(cfg->participants_file),
             "certs/participants.dev.conf");
    cfg->max_body = GW_MAX_BODY_DEFAULT;
    cfg->max_streams = GW_MAX_STREAMS_DEFAULT;
    cfg->idle_timeout_ms = GW_IDLE_TIMEOUT_MS_DEFAULT;
    cfg->map_size = TRK_DEFAULT_MAP_SIZE;
    snprintf(cfg->log_level, sizeof(cfg->log_level), "info");
    snprintf(cfg->spool_dir, sizeof(cfg->spool_dir), "var/spool");
    cfg->sla_seconds = GW_SLA_SECONDS_DEFAULT;
    cfg->idempotency_retention_days = GW_IDEM_RETENTION_DAYS_DEFAULT;
    snprintf(cfg->accounts_seed, sizeof(cfg->accounts_seed), "samples/accounts.json");
    security_defaults(cfg);
}

/* The one strict number parser: decimal digits only, no sign, no spaces, no overflow. */
static int
parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int
set_listen(gw_config *cfg, const char *value, char *err, size_t errlen)
{
    const char *colon = strrchr(value, ':');
    uint64_t port;

    if (colon == NULL || colon == value || (size_t)(colon - value) >= sizeof(cfg->listen_host) ||
        parse_u64(colon + 1, &port) != 0 || port == 0 || port > 65535) {
        snprintf(err, errlen, "listen: expected HOST:PORT with a port 1-65535, got '%s'", value);
        return GW_ERR_CONFIG;
    }
    memcpy(cfg->listen_host, value, (size_t)(colon - value));
    cfg->listen_host[colon - value] = '\0';
    cfg->listen_port = (int)port;
    return GW_OK;
}

static int
set_uint(gw_config *cfg, const key_def *k, const char *value, char *err, size_t errlen)
{
    uint64_t v;
    char *field = (char *)cfg + k->offset;

    if (parse_u64(value, &v) != 0 || v < k->min || v > k->max) {
        snprintf(err, errlen, "%s: expected a whole number from %llu to %llu, got '%s'", k->name,
                 (unsigned long long)k->min, (unsigned long long)k->max, value);
        return GW_ERR_CONFIG;
    }
    if (k->size == sizeof(uint64_t))
        *(uint64_t *)field = v;
    else if (k->size == sizeof(unsigned))
        *(unsigned *)field = (unsigned)v;
    else
        return GW_ERR_CONFIG;
    return GW_OK;
}

int
gw_config_set(gw_config *cfg, const char *key, const char *value, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const key_def *k = &keys[i];
        if (strcmp(k->name, key) != 0)
            continue;
        if (k->kind == K_LISTEN)
            return set_listen(cfg, value, err, errlen);
        if (k->kind == K_UINT)
            return set_uint(cfg, k, value, err, errlen);
        if (strlen(value) == 0 || strlen(value) >= k->size) {
            snprintf(err, errlen, "%s: expected a value of 1 to %zu characters", key,
                     k->size - 1);
            return GW_ERR_CONFIG;
        }
        memcpy((char *)cfg + k->offset, value, strlen(value) + 1);
        return GW_OK;
    }
    snprintf(err, errlen, "unknown configuration key '%s'", key);
    return GW_ERR_CONFIG;
}

static char *
trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Every problem found, one per line in the caller's buffer (the first always; later ones while
 * they fit), so --check-config can report them all rather than the first. */
typedef struct problems {
    char *buf;
    size_t size, used;
    unsigned n;
} problems;

__attribute__((format(printf, 2, 3))) static void
problem(problems *p, const char *fmt, ...)
{
    char text[CONFIG_PROBLEM_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (p->used + 1 < p->size) {
        size_t room = p->size - p->used - 1;
        int k = snprintf(p->buf + p->used, p->size - p->used, "%s%s", p->n ? "\n" : "", text);
        if (k > 0)
            p->used += (size_t)k < room ? (size_t)k : room;
    }
    p->n++;
}

/* One `key = value` line (comment already cut): problems are added, not returned. */
static void
load_line(gw_config *cfg, char *line, const char *path, unsigned lineno, problems *pr)
{
    char sub[CONFIG_PROBLEM_MAX];
    char *s = trim(line), *eq = strchr(s, '=');

    if (*s == '\0')
        return;
    if (eq == NULL) {
        problem(pr, "%s:%u: expected 'key = value'", path, lineno);
        return;
    }
    *eq = '\0';
    if (gw_config_set(cfg, trim(s), trim(eq + 1), sub, sizeof(sub)) != GW_OK)
        problem(pr, "%s:%u: %s", path, lineno, sub);
}

int
gw_config_load_file(gw_config *cfg, const char *path, char *err, size_t errlen)
{
    char line[CONFIG_LINE_MAX];
    unsigned lineno = 0;
    problems pr = {.buf = err, .size = errlen};
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return GW_ERR_CONFIG;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        load_line(cfg, line, path, lineno, &pr);
    }
    fclose(f);
    return pr.n == 0 ? GW_OK : GW_ERR_CONFIG;
}

int
gw_config_load_env(gw_config *cfg, char *err, size_t errlen)
{
    char name[64];

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        size_t n = (size_t)snprintf(name, sizeof(name), "CORRIDOR_%s", keys[i].name);
        for (size_t j = 9; j < n; j++)
            name[j] = (char)toupper((unsigned char)name[j]);
        const char *v = getenv(name);
        if (v == NULL)
            continue;
        int rc = gw_config_set(cfg, keys[i].name, v, err, errlen);
        if (rc != GW_OK)
            return rc;
    }
    return GW_OK;
}

/* The files the gateway reads at start-up, by key; "none" switches the optional ones off. */
static void
check_files(const gw_config *cfg, problems *pr)
{
    const struct {
        const char *key, *path;
        int optional;
    } files[] = {
        {"cert_file", cfg->cert_file, 0},
        {"key_file", cfg->key_file, 0},
        {"ca_file", cfg->ca_file, 0},
        {"participants_file", cfg->participants_file, 0},
        {"accounts_seed", cfg->accounts_seed, 1},
        {"crl_file", cfg->crl_file, 1},
    };

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        if (files[i].optional && strcmp(files[i].path, "none") == 0)
            continue; /* seeding / revocation checking switched off */
        FILE *f = fopen(files[i].path, "r");
        if (f == NULL)
            problem(pr, "%s: cannot read '%s': %s", files[i].key, files[i].path,
                    strerror(errno));
        else
            fclose(f);
    }
}

int
gw_config_check(const gw_config *cfg, char *err, size_t errlen)
{
    problems pr = {.buf = err, .size = errlen};

    if (gw_log_level_from(cfg->log_level) < 0)
        problem(&pr, "log_level: expected debug, info, warn or error, got '%s'", cfg->log_level);
    if (strcmp(cfg->tls_min_version, "1.3") != 0 && strcmp(cfg->tls_min_version, "1.2") != 0)
        problem(&pr, "tls_min_version: expected 1.3 or 1.2, got '%s'", cfg->tls_min_version);
    check_files(cfg, &pr);
    return pr.n == 0 ? GW_OK : GW_ERR_CONFIG;
}
