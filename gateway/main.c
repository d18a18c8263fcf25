/*
 * corridord — the Corridor gateway daemon.
 *
 *   corridord [--config FILE] [--listen HOST:PORT] [--data-dir DIR] [--workers N]
 *             [--set KEY=VALUE ...] [--check-config]
 *
 * Configuration precedence: flags > CORRIDOR_* environment > config file > defaults.
 * SIGTERM / SIGINT: stop accepting, answer in-flight streams, exit 0.
 * SIGHUP: reload the participants, the CRL and the server certificate and key (open
 * connections keep theirs); a reload that fails changes nothing and logs why.
 *
 * Started as root with run_as_user set, corridord opens everything that needs root first —
 * the store, the spool, the listening sockets, the key, the audit file — then hands the store,
 * the spool and the audit file to that user and becomes it for good (OpenBSD httpd's order).
 */
#include "gateway.h"
#include "gw_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERR_MAX 1536       /* a path (1023) and a reason */
#define PW_BUF_MAX 16384   /* getpwnam_r's buffer */
#define AUDIT_PATH_MAX 1100 /* cfg.audit_file or data_dir's parent + "/audit.log" */

static gw_server *running;
static gw_app *running_app;

/* Async-signal-safe: a flag for /readyz and a write to each worker's wake-up descriptor. */
static void
on_signal(int sig)
{
    (void)sig;
    if (running_app != NULL)
        running_app->draining = 1;
    if (running != NULL)
        gw_server_stop(running);
}

/* Async-signal-safe: one write to the server's reload descriptor. */
static void
on_hup(int sig)
{
    (void)sig;
    if (running != NULL)
        gw_server_reload(running);
}

/* ---- Privilege drop ------------------------------------------------------------------------ */

/* `dir` and what is directly in it (the store's data.mdb and lock.mdb, the spool's messages),
 * never following a symbolic link. */
static int
chown_dir(const char *dir, uid_t uid, gid_t gid, char *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), rc = GW_OK;
    struct dirent *de;
    DIR *d;

    if (fd < 0 || fchown(fd, uid, gid) != 0 || (d = fdopendir(fd)) == NULL) {
        snprintf(err, ERR_MAX, "chown %s: %s", dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return GW_ERR_CONFIG;
    }
    while (rc == GW_OK && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (fchownat(fd, de->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
            snprintf(err, ERR_MAX, "chown %s/%s: %s", dir, de->d_name, strerror(errno));
            rc = GW_ERR_CONFIG;
        }
    }
    closedir(d); /* closes fd */
    return rc;
}

/* What the service user must own to work (and to write the audit record of a reload). */
static int
hand_over_files(const gw_config *cfg, uid_t uid, gid_t gid, char *err)
{
    char audit[AUDIT_PATH_MAX];
    int rc;

    if ((rc = chown_dir(cfg->data_dir, uid, gid, err)) != GW_OK ||
        (rc = chown_dir(cfg->spool_dir, uid, gid, err)) != GW_OK)
        return rc;
    gw_audit_path(cfg, audit, sizeof audit);
    if (fchownat(AT_FDCWD, audit, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
        snprintf(err, ERR_MAX, "chown %s: %s", audit, strerror(errno));
        return GW_ERR_CONFIG;
    }
    return GW_OK;
}

/* For good: supplementary groups, group, user; then prove root cannot come back. */
static int
become(const struct passwd *pw, char *err)
{
    gid_t gid = pw->pw_gid;

    if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(pw->pw_uid) != 0) {
        snprintf(err, ERR_MAX, "cannot become %s: %s", pw->pw_name, strerror(errno));
        return GW_ERR_CONFIG;
    }
    if (setuid(0) == 0 || seteuid(0) == 0 || getuid() != pw->pw_uid ||
        geteuid() != pw->pw_uid || getgid() != gid || getegid() != gid) {
        snprintf(err, ERR_MAX, "privileges were not dropped for good");
        return GW_ERR_CONFIG;
    }
    return GW_OK;
}

/* After the drop, the paths the store's writer and the outbox still open by name. */
static int
check_reachable(const gw_config *cfg, const char *user, char *err)
{
    const char *dirs[] = {cfg->data_dir, cfg->spool_dir};

    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (access(dirs[i], R_OK | W_OK | X_OK) != 0) {
            snprintf(err, ERR_MAX,
                     "%s cannot use %s (%s): is every parent directory searchable by it?", user,
                     dirs[i], strerror(errno));
            return GW_ERR_CONFIG;
        }
    return GW_OK;
}

static int
drop_privileges(const gw_config *cfg, char *err)
{
    struct passwd pwd, *pw = NULL;
    char buf[PW_BUF_MAX];
    int rc;

    if (strcmp(cfg->run_as_user, "none") == 0) {
        if (geteuid() == 0)
            gw_log(GW_LOG_WARN, "running_as_root", "set run_as_user to drop privileges");
        return GW_OK;
    }
    if (getpwnam_r(cfg->run_as_user, &pwd, buf, sizeof buf, &pw) != 0 || pw == NULL) {
        snprintf(err, ERR_MAX, "run_as_user: no such user '%s'", cfg->run_as_user);
        return GW_ERR_CONFIG;
    }
    if (geteuid() != 0) {
        if (geteuid() == pw->pw_uid)
            return GW_OK; /* already that user */
        snprintf(err, ERR_MAX, "run_as_user=%s needs corridord started as root or as %s",
                 cfg->run_as_user, cfg->run_as_user);
        return GW_ERR_CONFIG;
    }
    if ((rc = hand_over_files(cfg, pw->pw_uid, pw->pw_gid, err)) != GW_OK ||
        (rc = become(pw, err)) != GW_OK || (rc = check_reachable(cfg, pw->pw_name, err)) != GW_OK)
        return rc;
    gw_log(GW_LOG_INFO, "privileges_dropped", "user=%s uid=%u gid=%u", pw->pw_name,
           (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
    return GW_OK;
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
    gw_log_set_level(gw_log_level_from(cfg.log_level));
    signal(SIGPIPE, SIG_IGN);
    if ((rc = gw_app_open(&app, &cfg, err, sizeof(err))) != GW_OK ||
        (rc = gw_server_new(&running, &cfg, app, err, sizeof(err))) != GW_OK ||
        (rc = gw_audit_open(&cfg, err, sizeof(err))) != GW_OK ||
        (rc = drop_privileges(&cfg, err)) != GW_OK) {
        gw_log(GW_LOG_ERROR, "start_failed", "%s: %s", gw_strerror(rc), err);
        gw_server_free(running);
        gw_app_close(app);
        gw_audit_close();
        return 1;
    }
    running_app = app;
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    struct sigaction hup = {.sa_handler = on_hup, .sa_flags = SA_RESTART};
    sigemptyset(&hup.sa_mask);
    sigaction(SIGHUP, &hup, NULL);
    gw_log(GW_LOG_INFO, "listening", "https://%s:%d workers=%d data_dir=%s", cfg.listen_host,
           cfg.listen_port, cfg.workers, cfg.data_dir);
    rc = gw_server_run(running);
    /* Stop the writer while the workers' requests still exist: ops it still holds point into
     * them, and their callbacks post to the workers (gw_server_free runs what is left). */
    trk_close(app->store);
    app->store = NULL;
    gw_server_free(running);
    running = NULL;
    running_app = NULL;
    gw_app_close(app);
    gw_audit_close();
    gw_log(GW_LOG_INFO, "stopped", "rc=%d", rc);
    return rc == GW_OK ? 0 : 1;
}
