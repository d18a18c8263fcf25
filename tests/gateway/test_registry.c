/* gateway/registry.c: the participants file and certificate lookups. */
#include "tests.h"

#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gw_int.h"

static char err[512];

static X509 *
dev_cert(const char *who)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/certs/dev/%s.crt", CORRIDOR_SRC, who);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}

static gw_registry *
load_text(const char *text)
{
    char path[] = "/tmp/corridor-reg-XXXXXX";
    int fd = mkstemp(path);
    gw_registry *reg = NULL;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    gw_registry_load(&reg, path, err, sizeof(err));
    unlink(path);
    return reg;
}

static void
dev_participants_map_to_principals(void **state)
{
    gw_registry *reg = NULL;
    gw_principal p;
    char path[1024];
    (void)state;
    snprintf(path, sizeof(path), "%s/certs/participants.dev.conf", CORRIDOR_SRC);
    assert_int_equal(gw_registry_load(&reg, path, err, sizeof(err)), GW_OK);
    X509 *ch = dev_cert("channel"), *cu = dev_cert("customer"), *st = dev_cert("stranger");
    if (ch == NULL || cu == NULL || st == NULL)
        skip(); /* the dev PKI is made by scripts/test before the suite runs */
    assert_int_equal(gw_registry_lookup(reg, ch, &p), 1);
    assert_int_equal(p.role, GW_ROLE_CHANNEL);
    assert_true(gw_principal_has_bic(&p, "CRDRGB20"));
    assert_true(gw_principal_has_bic(&p, "CRDRGB20LON"));
    assert_false(gw_principal_has_bic(&p, "CRSPUS30XXX"));
    assert_int_equal(gw_registry_lookup(reg, cu, &p), 1);
    assert_int_equal(p.role, GW_ROLE_CUSTOMER);
    assert_string_equal(p.customer_id, "ACME-001");
    assert_string_equal(p.bics[0], "CRDRGB20XXX");
    /* same CN as the channel, but the lookup happens only after CA verification; the
     * registry alone matches the CN — the TLS layer is what refuses the other CA. */
    X509_free(ch);
    X509_free(cu);
    X509_free(st);
    gw_registry_free(reg);
}

static void
fingerprint_pins_one_certificate(void **state)
{
    unsigned char md[32];
    unsigned int n;
    char text[512], hex[65];
    gw_principal p;
    (void)state;
    X509 *op = dev_cert("operator"), *ch = dev_cert("channel");
    if (op == NULL || ch == NULL)
        skip();
    X509_digest(op, EVP_sha256(), md, &n);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02X", md[i]);
    snprintf(text, sizeof(text), "ops operator sha256:%s -\n", hex);
    gw_registry *reg = load_text(text);
    assert_non_null(reg);
    assert_int_equal(gw_registry_lookup(reg, op, &p), 1);
    assert_int_equal(p.role, GW_ROLE_OPERATOR);
    assert_int_equal(gw_registry_lookup(reg, ch, &p), 0);
    X509_free(op);
    X509_free(ch);
    gw_registry_free(reg);
}

static void
bad_lines_are_refused_with_their_line_number(void **state)
{
    (void)state;
    assert_null(load_text("a channel cn:x NOTABIC\n"));
    assert_non_null(strstr(err, ":1:"));
    assert_null(load_text("# ok\na wizard cn:x CRDRGB20XXX\n"));
    assert_non_null(strstr(err, ":2:"));
    assert_null(load_text("a customer cn:x CRDRGB20XXX\n")); /* no /CUSTOMER-ID */
    assert_null(load_text("a operator cn:x CRDRGB20XXX\n"));
    assert_null(load_text("a channel sha256:abcd CRDRGB20XXX\n"));
    assert_null(load_text("a channel cn:x\n"));
    /* names key idempotency scopes and rate buckets: a second "a" is refused */
    assert_null(load_text("a channel cn:x CRDRGB20XXX\na channel cn:y CRDRGB20XXX\n"));
    assert_non_null(strstr(err, ":2:"));
    gw_registry *reg = load_text("a correspondent cn:x CRSPUS30XXX,CRSPUS33\n");
    assert_non_null(reg);
    gw_registry_free(reg);
}

int
run_registry_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dev_participants_map_to_principals),
        cmocka_unit_test(fingerprint_pins_one_certificate),
        cmocka_unit_test(bad_lines_are_refused_with_their_line_number),
    };
    return cmocka_run_group_tests_name("gateway_registry", tests, NULL, NULL);
}
