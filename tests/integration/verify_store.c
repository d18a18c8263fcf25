/*
 * verify_store DIR — open a stopped daemon's store and print trk_verify's report (the ledger
 * reconciles, indexes match records, outbox entries name stored messages). Exit 0 when
 * consistent, 1 when a problem was found, 2 when the store could not be read.
 *
 * Test-only (tests/integration/crash.sh) until `corridorctl verify` exists. The store is
 * opened without a spool directory (nothing is delivered) and with a timer period far beyond
 * the run, so the check itself changes nothing.
 */
#include "tracker.h"

#include <stdio.h>

#define NO_TICK_MS 3600000u /* one hour: the timers never run while this checks */

int
main(int argc, char **argv)
{
    trk_store *store = NULL;
    trk_verify_report r;
    trk_config cfg = {0};
    int rc;

    if (argc != 2) {
        fprintf(stderr, "usage: verify_store DATA_DIR\n");
        return 2;
    }
    cfg.dir = argv[1];
    cfg.tick_ms = NO_TICK_MS;
    if ((rc = trk_open(&store, &cfg)) != TRK_OK) {
        fprintf(stderr, "verify_store: %s: %s\n", argv[1], trk_strerror(rc));
        return 2;
    }
    rc = trk_verify(store, &r);
    trk_close(store);
    if (rc != TRK_OK) {
        fprintf(stderr, "verify_store: %s\n", trk_strerror(rc));
        return 2;
    }
    printf("payments=%llu events=%llu accounts=%llu outbox=%llu problems=%llu%s%s\n",
           (unsigned long long)r.payments, (unsigned long long)r.events,
           (unsigned long long)r.accounts, (unsigned long long)r.outbox,
           (unsigned long long)r.problems, r.problems ? " first: " : "",
           r.problems ? r.first_problem : "");
    return r.problems == 0 ? 0 : 1;
}
