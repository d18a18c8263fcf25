#include "tests.h"

int
main(void)
{
    int failed = 0;
    failed += run_config_tests();
    failed += run_registry_tests();
    failed += run_security_tests();
    failed += run_views_tests();
    return failed ? 1 : 0;
}
