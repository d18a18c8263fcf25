/*
 * test_main.c — the iso20022 test binary: runs every group, or the one named by argv[1]
 * (CTest registers one test per group).
 *
 * Before libxml2 is touched, its allocator is replaced by one that counts (xmlMemSetup), so the
 * hostile-input tests can bound the memory a refused document costs and check that all of it is
 * given back. It allocates with malloc, so memory the library hands out is still free()d.
 */
#include "test_util.h"

#include <libxml/parser.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_size_t mem_current, mem_peak;

static void
count_up(void *p)
{
    size_t now, peak;

    if (p == NULL)
        return;
    now = atomic_fetch_add(&mem_current, malloc_usable_size(p)) + malloc_usable_size(p);
    peak = atomic_load(&mem_peak);
    while (now > peak && !atomic_compare_exchange_weak(&mem_peak, &peak, now))
        ;
}

static void
count_down(void *p)
{
    if (p != NULL)
        atomic_fetch_sub(&mem_current, malloc_usable_size(p));
}

static void *
counted_malloc(size_t size)
{
    void *p = malloc(size);

    count_up(p);
    return p;
}

static void *
counted_realloc(void *old, size_t size)
{
    void *p;

    count_down(old);
    p = realloc(old, size);
    count_up(p != NULL ? p : old);
    return p;
}

static void
counted_free(void *p)
{
    count_down(p);
    free(p);
}

static char *
counted_strdup(const char *s)
{
    char *p = strdup(s);

    count_up(p);
    return p;
}

size_t
xml_mem_current(void)
{
    return atomic_load(&mem_current);
}

void
xml_mem_mark(void)
{
    atomic_store(&mem_peak, atomic_load(&mem_current));
}

size_t
xml_mem_peak_since_mark(void)
{
    return atomic_load(&mem_peak);
}

static const struct {
    const char *name;
    int (*run)(void);
} groups[] = {
    {"problems", test_problems_run},
    {"rules", test_rules_run},
    {"json_in", test_json_in_run},
    {"fixtures", test_fixtures_run},
    {"pacs008", test_pacs008_run},
    {"schema", test_schema_run},
    {"xml", test_xml_run},
    {"hostile", test_hostile_run},
    {"xml_rules", test_xml_rules_run},
    {"xslt", test_xslt_run},
    {"pain001", test_pain001_run},
    {"pain002", test_pain002_run},
    {"camt056", test_camt056_run},
    {"status_in", test_status_in_run},
    {"envelope", test_envelope_run},
};

int
main(int argc, char **argv)
{
    int failed = 0, ran = 0;

    xmlMemSetup(counted_free, counted_malloc, counted_realloc, counted_strdup);
    xmlInitParser();
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        if (argc > 1 && strcmp(argv[1], groups[i].name) != 0)
            continue;
        failed += groups[i].run();
        ran++;
    }
    xmlCleanupParser();
    return ran == 0 ? 2 : failed != 0;
}
