/*
 * The gpi view (gw_view_transaction): the initiation event names its agents whether they were
 * recorded with the event (what Corridor writes now) or only in the instruction (payments
 * recorded before the event carried them).
 */
#include "tests.h"

#include <jansson.h>
#include <string.h>

#include "gw_int.h"
#include "routes.h"

static const char DOC[] = "{\"debtor_agent\":{\"bic\":\"CRDRGB20XXX\"},"
                          "\"intermediary_agents\":[{\"bic\":\"CRSPUS30XXX\"}],"
                          "\"creditor_agent\":{\"bic\":\"BENFDE20XXX\"}}";

static void
initiation_view(const char *detail, const char *doc, char *out, size_t size)
{
    trk_payment pay;
    trk_event ev;
    json_t *t, *e;

    memset(&pay, 0, sizeof pay);
    memset(&ev, 0, sizeof ev);
    snprintf(pay.uetr, sizeof pay.uetr, "%s", "9d0d7a5f-3b8c-4a56-9a0e-2f6f1f4c7a10");
    snprintf(pay.status, sizeof pay.status, "ACSP");
    pay.state = TRK_SENT;
    pay.doc = (char *)doc;
    pay.doc_len = strlen(doc);
    snprintf(ev.type, sizeof ev.type, "CTPT");
    ev.detail = (char *)detail;
    ev.detail_len = strlen(detail);
    t = gw_view_transaction(&pay, &ev, 1);
    assert_non_null(t);
    e = json_array_get(json_object_get(t, "payment_event"), 0);
    assert_non_null(e);
    snprintf(out, size, "%s %s %s", json_string_value(json_object_get(e, "debtor_agent")),
             json_string_value(json_object_get(e, "intermediary_agent1")),
             json_string_value(json_object_get(e, "creditor_agent")));
    json_decref(t);
}

static void
agents_from_the_event(void **state)
{
    char got[128];

    (void)state;
    /* the instruction says otherwise: the event's own record wins, the doc is not read */
    initiation_view("{\"debtor_agent\":\"AAAAGB20XXX\",\"intermediary_agent1\":\"BBBBUS30XXX\","
                    "\"creditor_agent\":\"CCCCDE20XXX\"}",
                    DOC, got, sizeof got);
    assert_string_equal(got, "AAAAGB20XXX BBBBUS30XXX CCCCDE20XXX");
}

static void
agents_from_the_instruction_for_older_records(void **state)
{
    char got[128];

    (void)state;
    initiation_view("{\"service_level\":\"G001\"}", DOC, got, sizeof got);
    assert_string_equal(got, "CRDRGB20XXX CRSPUS30XXX BENFDE20XXX");
}

int
run_views_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(agents_from_the_event),
        cmocka_unit_test(agents_from_the_instruction_for_older_records),
    };
    return cmocka_run_group_tests_name("gateway_views", tests, NULL, NULL);
}
