/* gateway/config.c: precedence, bounds, file syntax. */
#include "tests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway.h"

static char err[512];

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void
defaults_are_the_embedded_default(void **state)
{
    gw_config c;
    (void)state;
    gw_config_defaults(&c);
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.listen_port, 8443);
    assert_string_equal(c.data_dir, "var/data");
    assert_int_equal(c.max_body, GW_MAX_BODY_DEFAULT);
}

static void
listen_parses_host_and_port(void **state)
{
    gw_config c;
    (void)state;
    gw_config_defaults(&c);
    assert_int_equal(gw_config_set(&c, "listen", "0.0.0.0:9443", err, sizeof(err)), GW_OK);
    assert_string_equal(c.listen_host, "0.0.0.0");
    assert_int_equal(c.listen_port, 9443);
    assert_int_equal(gw_config_set(&c, "listen", "host:0", err, sizeof(err)), GW_ERR_CONFIG);
    assert_int_equal(gw_config_set(&c, "listen", "host:70000", err, sizeof(err)), GW_ERR_CONFIG);
    assert_int_equal(gw_config_set(&c, "listen", "8443", err, sizeof(err)), GW_ERR_CONFIG);
    assert_int_equal(gw_config_set(&c, "listen", "h:-1", err, sizeof(err)), GW_ERR_CONFIG);
}

static void
numbers_are_strict_and_bounded(void **state)
{
    gw_config c;
    (void)state;
    gw_config_defaults(&c);
    assert_int_equal(gw_config_set(&c, "max_streams", "50", err, sizeof(err)), GW_OK);
    assert_int_equal(c.max_streams, 50);
    assert_int_equal(gw_config_set(&c, "max_streams", "0", err, sizeof(err)), GW_ERR_CONFIG);
    assert_non_null(strstr(err, "max_streams"));
    assert_int_equal(gw_config_set(&c, "max_streams", " 5", err, sizeof(err)), GW_ERR_CONFIG);
    assert_int_equal(gw_config_set(&c, "max_body", "99999999999999999999999", err, sizeof(err)),
                     GW_ERR_CONFIG);
    assert_int_equal(gw_config_set(&c, "map_size", "1073741824", err, sizeof(err)), GW_OK);
    assert_int_equal(c.map_size, 1073741824ULL);
    assert_int_equal(gw_config_set(&c, "nonsense", "1", err, sizeof(err)), GW_ERR_CONFIG);
    assert_non_null(strstr(err, "unknown configuration key"));
}

static void
file_then_env(void **state)
{
    gw_config c;
    char path[] = "/tmp/corridor-cfg-XXXXXX";
    int fd = mkstemp(path);
    (void)state;
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "# comment\n\nlisten = 127.0.0.1:9000  # trailing\ndata_dir = /tmp/x\n");
    gw_config_defaults(&c);
    assert_int_equal(gw_config_load_file(&c, path, err, sizeof(err)), GW_OK);
    assert_int_equal(c.listen_port, 9000);
    setenv("CORRIDOR_LISTEN", "127.0.0.1:9001", 1);
    assert_int_equal(gw_config_load_env(&c, err, sizeof(err)), GW_OK);
    unsetenv("CORRIDOR_LISTEN");
    assert_int_equal(c.listen_port, 9001);
    assert_string_equal(c.data_dir, "/tmp/x");
    write_file(path, "listen 127.0.0.1:9000\n");
    assert_int_equal(gw_config_load_file(&c, path, err, sizeof(err)), GW_ERR_CONFIG);
    assert_non_null(strstr(err, ":1:"));
    unlink(path);
}

/* --check-config reports every problem, not the first: each bad line, then each check. */
static void
every_problem_reported(void **state)
{
    gw_config c;
    char path[] = "/tmp/corridor-cfg-XXXXXX", small[48];
    int fd = mkstemp(path);
    (void)state;
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "colour = blue\nworkers 4\nmax_streams = 0\n");
    gw_config_defaults(&c);
    assert_int_equal(gw_config_load_file(&c, path, err, sizeof(err)), GW_ERR_CONFIG);
    assert_non_null(strstr(err, ":1: unknown configuration key 'colour'\n"));
    assert_non_null(strstr(err, ":2: expected 'key = value'\n"));
    assert_non_null(strstr(err, ":3: max_streams: expected a whole number"));
    /* a buffer too small for all: the first is kept (cut), nothing overflows */
    assert_int_equal(gw_config_load_file(&c, path, small, sizeof(small)), GW_ERR_CONFIG);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_null(strchr(small, '\n'));
    gw_config_defaults(&c);
    snprintf(c.log_level, sizeof(c.log_level), "loud");
    snprintf(c.ca_file, sizeof(c.ca_file), "/nonexistent/ca.crt");
    assert_int_equal(gw_config_check(&c, err, sizeof(err)), GW_ERR_CONFIG);
    assert_non_null(strstr(err, "log_level: expected"));
    assert_non_null(strstr(err, "\nca_file: cannot read '/nonexistent/ca.crt'"));
    unlink(path);
}

int
run_config_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_the_embedded_default),
        cmocka_unit_test(listen_parses_host_and_port),
        cmocka_unit_test(numbers_are_strict_and_bounded),
        cmocka_unit_test(file_then_env),
        cmocka_unit_test(every_problem_reported),
    };
    return cmocka_run_group_tests_name("gateway_config", tests, NULL, NULL);
}
