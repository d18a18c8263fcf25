/*
 * test_main.c — the iso20022 test binary: runs every group, or the one named by argv[1]
 * (CTest registers one test per group).
 */
#include "test_util.h"

#include <libxml/parser.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(void);
} groups[] = {
    {"problems", test_problems_run}, {"rules", test_rules_run},     {"json_in", test_json_in_run},
    {"fixtures", test_fixtures_run}, {"pacs008", test_pacs008_run}, {"schema", test_schema_run},
};

int
main(int argc, char **argv)
{
    int failed = 0, ran = 0;

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
