/*
 * corridord — the Corridor gateway daemon.
 *
 *   corridord [--config FILE] [--listen HOST:PORT] [--data-dir DIR] [--workers N]
 *             [--set KEY=VALUE ...] [--check-config]
 *
 * Configuration precedence: flags > CORRIDOR_* environment > config file > defaults.
 * SIGTERM / SIGINT: stop accepting, answer in-flight streams, exit 0.
 */
#include "gateway.h"
#include "gw_int.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_MAX 512

static gw_server *running;

static void
on_signal(int sig)
{
    (void)sig;
    if (running != NULL)
        gw_server_stop(running);
}

static int
usage(void)
{
    fprintf(stderr, "usage: corridord [--config FILE] [--listen HOST:PORT] [--data-dir DIR]\n"
                    "                 [--workers N] [--set KEY=VALUE] [--check-config]\n");
    return 2;
}

static int
flag_to_key(const char *flag, const char **key)
{
    static const char *const map[][2] = {
        {"--listen", "listen"}, {"--data-dir", "data_dir"}, {"--workers", "workers"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(flag, map[i][0]) == 0)
            return *key = map[i][1], 0;
    return -1;
}

static int
apply_flags(gw_config *cfg, int argc, char **argv, char *err)
{
    for (int i = 1; i < argc; i++) {
        const char *key;
        if (strcmp(argv[i], "--check-config") == 0)
            continue;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            i++;
            continue;
        }
        if (strcmp(argv[i], "--set") == 0 && i + 1 < argc) {
            char kv[2048];
            snprintf(kv, sizeof(kv), "%s", argv[++i]);
            char *eq = strchr(kv, '=');
            if (eq == NULL)
                return snprintf(err, ERR_MAX, "--set takes KEY=VALUE"), GW_ERR_CONFIG;
            *eq = '\0';
            if (gw_config_set(cfg, kv, eq + 1, err, ERR_MAX) != GW_OK)
                return GW_ERR_CONFIG;
            continue;
        }
        if (flag_to_key(argv[i], &key) != 0 || i + 1 >= argc)
            return snprintf(err, ERR_MAX, "unknown or incomplete option '%s'", argv[i]),
                   GW_ERR_CONFIG;
        if (gw_config_set(cfg, key, argv[++i], err, ERR_MAX) != GW_OK)
            return GW_ERR_CONFIG;
    }
    return GW_OK;
}

static int
load_config(gw_config *cfg, int argc, char **argv, char *err)
{
    const char *file = getenv("CORRIDOR_CONFIG");

    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--config") == 0)
            file = argv[i + 1];
    gw_config_defaults(cfg);
    if (file != NULL && gw_config_load_file(cfg, file, err, ERR_MAX) != GW_OK)
        return GW_ERR_CONFIG;
    if (gw_config_load_env(cfg, err, ERR_MAX) != GW_OK)
        return GW_ERR_CONFIG;
    if (apply_flags(cfg, argc, argv, err) != GW_OK)
        return GW_ERR_CONFIG;
    return gw_config_check(cfg, err, ERR_MAX);
}

int
main(int argc, char **argv)
{
    gw_config cfg;
    gw_app *app = NULL;
    char err[ERR_MAX] = "";
    int check_only = 0, rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check-config") == 0)
            check_only = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return usage();
    }
    if (load_config(&cfg, argc, argv, err) != GW_OK) {
        fprintf(stderr, "corridord: %s\n", err);
        return 1;
    }
    if (check_only) {
        printf("configuration OK\n");
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    if ((rc = gw_app_open(&app, &cfg, err, sizeof(err))) != GW_OK ||
        (rc = gw_server_new(&running, &cfg, app, err, sizeof(err))) != GW_OK) {
        gw_log(GW_LOG_ERROR, "start_failed", "%s: %s", gw_strerror(rc), err);
        gw_app_close(app);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    gw_log(GW_LOG_INFO, "listening", "https://%s:%d workers=%d data_dir=%s", cfg.listen_host,
           cfg.listen_port, cfg.workers, cfg.data_dir);
    rc = gw_server_run(running);
    gw_server_free(running);
    running = NULL;
    gw_app_close(app);
    gw_log(GW_LOG_INFO, "stopped", "rc=%d", rc);
    return rc == GW_OK ? 0 : 1;
}
