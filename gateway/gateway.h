/*
 * gateway — TLS 1.3 + HTTP/2 front end: certificates to principals, routing, authorization,
 * limits, JSON, error mapping. The daemon (main.c) is: load config, open the app, run the
 * server until a signal stops it.
 */
#ifndef CORRIDOR_GATEWAY_H
#define CORRIDOR_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes: 0 = OK, negative, range -300..-399. */
enum gw_err {
    GW_OK = 0,
    GW_ERR_NOMEM = -300,
    GW_ERR_CONFIG = -301, /* a configuration value is missing or out of bounds */
    GW_ERR_TLS = -302,    /* certificates, keys or the TLS context could not be set up */
    GW_ERR_SOCKET = -303, /* bind/listen/epoll failed */
    GW_ERR_STORE = -304,  /* the tracker store could not be opened */
    GW_ERR_ISO = -305,    /* schemas could not be compiled */
    GW_ERR_REGISTRY = -306, /* the participants file could not be read */
};
const char *gw_strerror(int err);

/* Limits a client controls; defaults, bounded by the config loader. */
#define GW_MAX_BODY_DEFAULT (1024 * 1024)
#define GW_MAX_BODY_LIMIT (16 * 1024 * 1024)
#define GW_MAX_HEADER_BYTES 16384 /* HPACK-decoded header list */
#define GW_MAX_STREAMS_DEFAULT 100
#define GW_IDLE_TIMEOUT_MS_DEFAULT 60000
#define GW_HANDSHAKE_TIMEOUT_MS 10000
#define GW_MAX_WORKERS 64
#define GW_MAX_PATH 4096
#define GW_SLA_SECONDS_DEFAULT 86400  /* a payment without a final status is overdue after */
#define GW_SLA_SECONDS_MIN 1
#define GW_SLA_SECONDS_MAX (30 * 86400)
#define GW_IDEM_RETENTION_DAYS_DEFAULT 30 /* DESIGN.md: an Idempotency-Key answer is kept 30 days */
#define GW_IDEM_RETENTION_DAYS_MIN 1
#define GW_IDEM_RETENTION_DAYS_MAX 3650
/* Security limits (README "Security"); per-principal rates are requests per second. */
#define GW_HEADER_TIMEOUT_MS_DEFAULT 10000 /* a request's header block must be complete by then */
#define GW_MAX_CONNS_PER_PRINCIPAL_DEFAULT 64
#define GW_RATE_MAX 1000000
#define GW_RATE_CHANNEL_DEFAULT 500
#define GW_RATE_CORRESPONDENT_DEFAULT 200
#define GW_RATE_CUSTOMER_DEFAULT 20
#define GW_RATE_OPERATOR_DEFAULT 50
#define GW_BURST_FACTOR_DEFAULT 2 /* default burst = this x the role's rate */

typedef struct gw_config {
    char listen_host[64];       /* "127.0.0.1" */
    int listen_port;            /* 8443 */
    int workers;                /* 0 = one per core */
    char data_dir[1024];        /* LMDB store */
    char cert_file[1024];       /* server certificate chain (PEM) */
    char key_file[1024];        /* server private key (PEM) */
    char ca_file[1024];         /* CA that signs client certificates */
    char participants_file[1024];
    size_t max_body;            /* bytes */
    unsigned max_streams;       /* concurrent streams per connection */
    unsigned idle_timeout_ms;
    uint64_t map_size;          /* initial LMDB map size */
    char log_level[8];          /* debug | info | warn | error */
    char spool_dir[1024];       /* outbox delivery: one file per message leaving Corridor */
    unsigned sla_seconds;       /* deadline after creation for a final status */
    unsigned idempotency_retention_days; /* stored answers to Idempotency-Keys are kept this long */
    char accounts_seed[1024];   /* accounts created at start when missing; "none" = no seed */
    /* Security (README "Security"). */
    char tls_min_version[4];    /* "1.3" (default) or "1.2" (AEAD ECDHE suites only) */
    char crl_file[1024];        /* revocation list(s) of the client CA (PEM); "none" = no CRL */
    char run_as_user[64];       /* started as root: drop to this user; "none" = stay */
    char audit_file[1024];      /* refusals, JSON lines; "" = audit.log beside data_dir */
    unsigned max_conns_per_principal; /* open connections of one participant */
    unsigned header_timeout_ms; /* from a stream's first HEADERS to the end of its header block */
    unsigned rate_channel, burst_channel; /* token bucket per principal, by role */
    unsigned rate_correspondent, burst_correspondent;
    unsigned rate_customer, burst_customer;
    unsigned rate_operator, burst_operator;
} gw_config;

/* Defaults, then a config file (key = value lines, '#' comments), then CORRIDOR_* environment
 * variables; flags are applied by the caller last. Problems are written into `err`. */
void gw_config_defaults(gw_config *cfg);
int gw_config_load_file(gw_config *cfg, const char *path, char *err, size_t errlen);
int gw_config_load_env(gw_config *cfg, char *err, size_t errlen);
int gw_config_set(gw_config *cfg, const char *key, const char *value, char *err, size_t errlen);
int gw_config_check(const gw_config *cfg, char *err, size_t errlen);

/* The application: store, compiled schemas, participants registry. */
typedef struct gw_app gw_app;
int gw_app_open(gw_app **app, const gw_config *cfg, char *err, size_t errlen);
void gw_app_close(gw_app *app);

/* The HTTP/2 server: listener + one epoll worker per core. */
typedef struct gw_server gw_server;
int gw_server_new(gw_server **srv, const gw_config *cfg, gw_app *app, char *err, size_t errlen);
/* Runs the workers; returns after gw_server_stop, once in-flight streams are answered. */
int gw_server_run(gw_server *srv);
/* Async-signal-safe: asks every worker to stop. */
void gw_server_stop(gw_server *srv);
/* Async-signal-safe: asks the server to reload the participants, the CRL, the server
 * certificate and key (SIGHUP). New connections use them; open ones keep what they had. A
 * reload that fails keeps the old state and logs why. */
void gw_server_reload(gw_server *srv);
void gw_server_free(gw_server *srv);

#ifdef __cplusplus
}
#endif
#endif
