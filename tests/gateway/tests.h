#ifndef CORRIDOR_TESTS_GATEWAY_H
#define CORRIDOR_TESTS_GATEWAY_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

int run_config_tests(void);
int run_registry_tests(void);
int run_security_tests(void);
int run_views_tests(void);
#endif
