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
#define LINE_SIZE 256

static int
status_of(int rc)
{
    switch (rc) {
    case ISO_OK:
        return 200;
    case ISO_ERR_SYNTAX:
        return 400;
    case ISO_ERR_TOOLARGE:
        return 413;
    case ISO_ERR_INVALID:
        return 422;
    default:
        return 500;
    }
}

/* The status on the first line of a .expect file. */
static int
leading_number(const char *s)
{
    int v = 0;

    for (; *s >= '0' && *s <= '9'; s++)
        v = v * 10 + (*s - '0');
    return v;
}

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

/* Compare the problems with the .expect lines after the status; 0 and a message on mismatch. */
static int
problems_match(const char *name, char *expect, const iso_problems *pr)
{
    char *save = NULL, *line = strtok_r(expect, "\n", &save), got[LINE_SIZE];
    size_t i = 0;

    for (line = strtok_r(NULL, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        if (i >= pr->n) {
            print_message("%s: missing \"%s\"\n", name, line);
            return 0;
        }
        snprintf(got, sizeof(got), "%s %s", pr->items[i].path, pr->items[i].code);
        if (strcmp(got, line) != 0) {
            print_message("%s: problem %zu is \"%s\", expected \"%s\"\n", name, i, got, line);
            return 0;
        }
        i++;
    }
    if (i != pr->n || pr->dropped != 0) {
        print_message("%s: %zu problems, expected %zu\n", name, pr->n + pr->dropped, i);
        return 0;
    }
    return 1;
}

static int
check_fixture(const char *name, const char *today)
{
    char path[512], *raw, *json, *expect;
    iso_instruction in;
    iso_problems pr;
    size_t len;
    int status, ok;

    snprintf(path, sizeof(path), "%s/invalid/%s.json", SAMPLES_DIR, name);
    raw = read_file(path, &len);
    snprintf(path, sizeof(path), "%s/invalid/%s.expect", SAMPLES_DIR, name);
    expect = read_file(path, NULL);
    if (raw == NULL || expect == NULL)
        fail_msg("%s: missing .json or .expect", name);
    json = with_today(raw, today);
    iso_problems_init(&pr);
    status = status_of(iso_instruction_from_json(json, strlen(json), time(NULL), &in, &pr));
    ok = status == leading_number(expect);
    if (!ok)
        print_message("%s: status %d, expected %s", name, status, expect);
    ok = ok && problems_match(name, expect, &pr);
    for (size_t i = 0; !ok && i < pr.n; i++)
        print_message("  got: %s %s (%s)\n", pr.items[i].path, pr.items[i].code, pr.items[i].text);
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
