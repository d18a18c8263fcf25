/* gateway/ratelimit.c, gateway/audit.c and the registry's references: the pieces of the
 * security work that can be pinned without a socket (tests/integration/security.sh does the
 * rest against the real daemon). */
#include "tests.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw_int.h"

#define NS_PER_SEC INT64_C(1000000000)
#define T0 (INT64_C(1000) * NS_PER_SEC)

static void
bucket_burst_then_rate(void **state)
{
    gw_bucket b = {0};

    (void)state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(gw_bucket_take(&b, 2, 3, T0), 0);
    /* empty: one token comes back in 500 ms at 2/s */
    int64_t wait = gw_bucket_take(&b, 2, 3, T0);
    assert_true(wait > 0 && wait <= 501);
    assert_true(gw_bucket_take(&b, 2, 3, T0 + NS_PER_SEC / 4) > 0);
    assert_int_equal(gw_bucket_take(&b, 2, 3, T0 + NS_PER_SEC / 2 + 1), 0);
    /* a long pause refills to the burst, never beyond */
    for (int i = 0; i < 3; i++)
        assert_int_equal(gw_bucket_take(&b, 2, 3, T0 + 3600 * NS_PER_SEC), 0);
    assert_true(gw_bucket_take(&b, 2, 3, T0 + 3600 * NS_PER_SEC) > 0);
}

static void
bucket_extremes(void **state)
{
    gw_bucket b = {0};

    (void)state;
    /* the largest configurable rate after a very long idle time: no overflow */
    assert_int_equal(gw_bucket_take(&b, GW_RATE_MAX, GW_RATE_MAX, T0), 0);
    assert_int_equal(gw_bucket_take(&b, GW_RATE_MAX, GW_RATE_MAX, INT64_MAX / 2), 0);
    /* 1/s with a burst of 1: the wait is a whole second */
    memset(&b, 0, sizeof b);
    assert_int_equal(gw_bucket_take(&b, 1, 1, T0), 0);
    int64_t wait = gw_bucket_take(&b, 1, 1, T0);
    assert_true(wait >= 1000 && wait <= 1001);
}

static void
connlimit_counts_per_principal(void **state)
{
    gw_principal a = {.role = GW_ROLE_CHANNEL, .name = "test-connlimit-a"};
    gw_principal b = {.role = GW_ROLE_CHANNEL, .name = "test-connlimit-b"};

    (void)state;
    assert_int_equal(gw_connlimit_acquire(&a, 2), 1);
    assert_int_equal(gw_connlimit_acquire(&a, 2), 1);
    assert_int_equal(gw_connlimit_acquire(&a, 2), 0);
    assert_int_equal(gw_connlimit_acquire(&b, 2), 1); /* another principal is not affected */
    gw_connlimit_release(&a);
    assert_int_equal(gw_connlimit_acquire(&a, 2), 1);
    gw_connlimit_release(&a);
    gw_connlimit_release(&a);
    gw_connlimit_release(&b);
    gw_connlimit_release(&b); /* one too many: no underflow */
    assert_int_equal(gw_connlimit_acquire(&b, 1), 1);
    gw_connlimit_release(&b);
}

static void
audit_path_beside_the_store(void **state)
{
    gw_config cfg;
    char path[2048];

    (void)state;
    gw_config_defaults(&cfg);
    gw_audit_path(&cfg, path, sizeof path);
    assert_string_equal(path, "var/audit.log");
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "/srv/corridor/data/");
    gw_audit_path(&cfg, path, sizeof path);
    assert_string_equal(path, "/srv/corridor/audit.log");
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "data");
    gw_audit_path(&cfg, path, sizeof path);
    assert_string_equal(path, "audit.log");
    snprintf(cfg.audit_file, sizeof cfg.audit_file, "/var/log/corridor/audit.jsonl");
    gw_audit_path(&cfg, path, sizeof path);
    assert_string_equal(path, "/var/log/corridor/audit.jsonl");
}

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 65536);

    assert_non_null(f);
    assert_non_null(buf);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* One line per record, valid JSON, the fields the README promises, long fields cut, 0600. */
static void
audit_records(void **state)
{
    char dir[] = "/tmp/corridor-audit-XXXXXX", path[128], err[256], longpath[3000];
    gw_config cfg;
    gw_request req = {.method = "POST", .request_id = "rid-1"};
    gw_principal p = {.role = GW_ROLE_CUSTOMER, .name = "customer"};
    struct stat st;

    (void)state;
    assert_non_null(mkdtemp(dir));
    gw_config_defaults(&cfg);
    snprintf(path, sizeof path, "%s/audit.log", dir);
    snprintf(cfg.audit_file, sizeof cfg.audit_file, "%s", path);
    assert_int_equal(gw_audit_open(&cfg, err, sizeof err), GW_OK);
    req.principal = p;
    req.route = "/v1/payments";
    req.path = (char *)"/v1/payments";
    gw_audit_refusal(&req, 403, "route not for the principal's role");
    assert_int_equal(req.audited, 1);
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = '\0';
    req.route = NULL;
    req.path = longpath;
    gw_audit_refusal(&req, 429, "rate limit");
    gw_audit_conn(NULL, "revoked.dev.corridor", "127.0.0.1:1", "refused",
                  "bad_client_cert: certificate revoked");
    gw_audit_close();

    char *text = slurp(path), *line, *save = NULL;
    int n = 0;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
        json_t *j = json_loads(line, 0, NULL);
        assert_non_null(j);
        assert_non_null(json_object_get(j, "time"));
        assert_non_null(json_object_get(j, "decision"));
        assert_non_null(json_object_get(j, "reason"));
        if (n == 0) {
            assert_string_equal(json_string_value(json_object_get(j, "principal")), "customer");
            assert_int_equal(json_integer_value(json_object_get(j, "status")), 403);
        }
        if (n == 1)
            assert_true(strlen(json_string_value(json_object_get(j, "route"))) <= 256);
        if (n == 2)
            assert_string_equal(json_string_value(json_object_get(j, "kind")), "connection");
        json_decref(j);
    }
    assert_int_equal(n, 3);
    free(text);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    unlink(path);
    rmdir(dir);
}

static void
registry_references(void **state)
{
    char path[1024], err[512];
    gw_registry *slot = NULL, *reg = NULL, *held;

    (void)state;
    snprintf(path, sizeof path, "%s/certs/participants.dev.conf", CORRIDOR_SRC);
    assert_int_equal(gw_registry_load(&reg, path, err, sizeof err), GW_OK);
    assert_true(gw_registry_size(reg) >= 5);
    gw_registry_replace(&slot, reg);
    held = gw_registry_acquire(&slot); /* a connection's reference */
    assert_ptr_equal(held, reg);
    assert_int_equal(gw_registry_load(&reg, path, err, sizeof err), GW_OK);
    gw_registry_replace(&slot, reg); /* a reload: the old one lives on for `held` */
    assert_true(gw_registry_size(held) >= 5);
    gw_registry_free(held);
    gw_registry_replace(&slot, NULL);
    assert_null(gw_registry_acquire(&slot));
}

/* The security keys: defaults, bounds, and tls_min_version's two values only. */
static void
config_security_keys(void **state)
{
    gw_config cfg;
    char err[512];

    (void)state;
    gw_config_defaults(&cfg);
    assert_string_equal(cfg.tls_min_version, "1.3");
    assert_string_equal(cfg.run_as_user, "none");
    assert_int_equal(cfg.rate_customer, GW_RATE_CUSTOMER_DEFAULT);
    assert_int_equal(cfg.burst_customer, 2 * GW_RATE_CUSTOMER_DEFAULT);
    assert_int_equal(gw_config_set(&cfg, "rate_channel", "0", err, sizeof err), GW_ERR_CONFIG);
    assert_int_equal(gw_config_set(&cfg, "burst_operator", "1000001", err, sizeof err),
                     GW_ERR_CONFIG);
    assert_int_equal(gw_config_set(&cfg, "header_timeout_ms", "999", err, sizeof err),
                     GW_ERR_CONFIG);
    assert_int_equal(gw_config_set(&cfg, "max_conns_per_principal", "0", err, sizeof err),
                     GW_ERR_CONFIG);
    assert_int_equal(gw_config_set(&cfg, "tls_min_version", "1.1", err, sizeof err), GW_OK);
    snprintf(cfg.cert_file, sizeof cfg.cert_file, "%s/certs/dev/server.crt", CORRIDOR_SRC);
    assert_int_equal(gw_config_check(&cfg, err, sizeof err), GW_ERR_CONFIG);
    assert_non_null(strstr(err, "tls_min_version"));
    assert_int_equal(gw_config_set(&cfg, "tls_min_version", "1.2", err, sizeof err), GW_OK);
    assert_int_equal(gw_config_set(&cfg, "crl_file", "/nonexistent/crl.pem", err, sizeof err),
                     GW_OK);
    assert_int_equal(gw_config_check(&cfg, err, sizeof err), GW_ERR_CONFIG);
}

int
run_security_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bucket_burst_then_rate),
        cmocka_unit_test(bucket_extremes),
        cmocka_unit_test(connlimit_counts_per_principal),
        cmocka_unit_test(audit_path_beside_the_store),
        cmocka_unit_test(audit_records),
        cmocka_unit_test(registry_references),
        cmocka_unit_test(config_security_keys),
    };
    return cmocka_run_group_tests_name("security", tests, NULL, NULL);
}
