/*
 * test_fixtures.c — every samples/invalid/NAME.json through iso_instruction_from_json, checked
 * against NAME.expect: the HTTP status (400 or 422) on the first line, then exactly the
 * expected problems as "PATH CODE", in order (the path of the whole document is "", so that
 * line starts with a space). The gateway's integration tests post the same fixtures over HTTP.
 */
#include "test_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIN_FIXTURES 12
#define MAX_FIXTURES 128

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The NAME.json files of samples/invalid, sorted; returns how many. */
static size_t
list_fixtures(char *names[MAX_FIXTURES])
{
    DIR *d = opendir(SAMPLES_DIR "/invalid");
    struct dirent *e;
    size_t n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0) {
            assert_true(n < MAX_FIXTURES);
            names[n] = strndup(e->d_name, len - 5);
            assert_non_null(names[n++]);
        }
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), by_name);
    return n;
}

static int
check_fixture(const char *name, const char *today)
{
    char path[512], *raw, *json, *expect;
    iso_instruction in;
    iso_problems pr;
    size_t len;
    int ok;

    snprintf(path, sizeof(path), "%s/invalid/%s.json", SAMPLES_DIR, name);
    raw = read_file(path, &len);
    snprintf(path, sizeof(path), "%s/invalid/%s.expect", SAMPLES_DIR, name);
    expect = read_file(path, NULL);
    if (raw == NULL || expect == NULL)
        fail_msg("%s: missing .json or .expect", name);
    json = with_today(raw, today);
    iso_problems_init(&pr);
    ok = expect_matches(name, expect,
                        iso_instruction_from_json(json, strlen(json), time(NULL), &in, &pr), &pr);
    free(json);
    free(raw);
    free(expect);
    return ok;
}

static void
test_invalid_fixtures(void **state)
{
    char *names[MAX_FIXTURES], today[11];
    size_t n = list_fixtures(names), failed = 0;

    (void)state;
    date_text(time(NULL), 0, today);
    assert_true(n >= MIN_FIXTURES);
    for (size_t i = 0; i < n; i++) {
        failed += !check_fixture(names[i], today);
        free(names[i]);
    }
    if (failed > 0)
        fail_msg("%zu of %zu fixtures differ from their .expect", failed, n);
}

static void
test_valid_fixture(void **state)
{
    iso_instruction in;

    (void)state;
    payment_instruction(&in);
}

int
test_fixtures_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_fixture),
        cmocka_unit_test(test_invalid_fixtures),
    };
    return cmocka_run_group_tests_name("fixtures", tests, NULL, NULL);
}
