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
void gw_server_free(gw_server *srv);

#ifdef __cplusplus
}
#endif
#endif
