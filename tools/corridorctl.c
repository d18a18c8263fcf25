/*
 * corridorctl — the operator's tool over a Corridor store. It opens the store read-only (LMDB
 * read transactions), so it runs beside a live daemon without disturbing it; run it as the
 * service user, who owns the store.
 *
 *   corridorctl [--data-dir DIR] list [--status ACSP|ACCC|RJCT] [--state STATE] [--limit N]
 *   corridorctl [--data-dir DIR] show UETR       the payment, its events and messages (JSON)
 *   corridorctl [--data-dir DIR] verify          indexes and ledger reconciliation; exit 1 if not
 *   corridorctl [--data-dir DIR] export          every payment with its events, JSON lines
 *   corridorctl [--data-dir DIR] backup DIR      a consistent, compacted copy while running
 *   corridorctl [--data-dir DIR] stats           counters of the store
 *   corridorctl [--data-dir DIR] audit           the funds refusals, JSON lines
 *
 * The data directory: --data-dir, else CORRIDOR_DATA_DIR, else var/data.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"
#include "tracker.h"

#define EXIT_USAGE 2
#define LIST_DEFAULT 50

static int
usage(void)
{
    fprintf(stderr,
            "usage: corridorctl [--data-dir DIR] COMMAND\n"
            "  list [--status ACSP|ACCC|RJCT] [--state STATE] [--limit N]\n"
            "  show UETR | verify | export | backup DIR | stats | audit\n");
    return EXIT_USAGE;
}

static int
fail(const char *what, int rc)
{
    fprintf(stderr, "corridorctl: %s: %s\n", what, trk_strerror(rc));
    return 1;
}

/* The one strict number parser: 1..max, decimal digits only. */
static int
parse_count(const char *s, unsigned max, unsigned *out)
{
    unsigned long long v = 0;

    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || (v = v * 10 + (unsigned)(*s - '0')) > max)
            return -1;
    }
    if (v == 0)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static void
print_json(json_t *v)
{
    char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
    if (s != NULL)
        puts(s);
    free(s);
    json_decref(v);
}

static int
payment_json(trk_store *st, const trk_payment *p, json_t **out)
{
    trk_event *ev = NULL;
    char(*names)[64] = NULL;
    size_t n = 0, n_names = 0;
    int rc = trk_events_get(st, p->uetr, &ev, &n);

    if (rc == TRK_OK)
        rc = trk_messages_list(st, p->uetr, &names, &n_names);
    if (rc == TRK_OK)
        *out = gw_view_payment(p, ev, n, (const char(*)[64])names, n_names);
    trk_events_free(ev, n);
    free(names);
    return rc;
}

static int
cmd_show(trk_store *st, const char *uetr)
{
    trk_payment p = {0};
    json_t *v = NULL;
    int rc = trk_payment_get(st, uetr, &p);

    if (rc == TRK_OK)
        rc = payment_json(st, &p, &v);
    trk_payment_clear(&p);
    if (rc != TRK_OK)
        return fail(uetr, rc);
    char *s = json_dumps(v, JSON_INDENT(2));
    puts(s ? s : "");
    free(s);
    json_decref(v);
    return 0;
}

/* Walks every page of a query, calling fn for each payment. */
static int
each_payment(trk_store *st, trk_query *q, unsigned max_total,
             int (*fn)(trk_store *, const trk_payment *))
{
    char cursor[TRK_CURSOR_LEN] = "";
    unsigned seen = 0;
    int rc;

    do {
        trk_payment *page = NULL;
        size_t n = 0;
        q->cursor = cursor[0] ? cursor : NULL;
        rc = trk_payments_list(st, q, &page, &n, cursor);
        for (size_t i = 0; rc == TRK_OK && i < n && seen < max_total; i++, seen++)
            rc = fn(st, &page[i]);
        trk_payments_free(page, n);
    } while (rc == TRK_OK && cursor[0] != '\0' && seen < max_total);
    return rc;
}

static int
list_line(trk_store *st, const trk_payment *p)
{
    char amount[32] = "";
    (void)st;
    iso_amount_format(p->amount_minor, p->exponent, amount, sizeof(amount));
    printf("%s  %-15s %s  %3s %18s  %-11s %s\n", p->uetr, trk_state_name(p->state), p->status,
           p->currency, amount, p->debtor_agent, p->customer_id);
    return TRK_OK;
}

static int
export_line(trk_store *st, const trk_payment *p)
{
    json_t *v = NULL;
    int rc = payment_json(st, p, &v);
    if (rc == TRK_OK)
        print_json(v);
    return rc;
}

static int
cmd_list(trk_store *st, int argc, char **argv)
{
    trk_query q = {.limit = TRK_MAX_PAGE};
    unsigned limit = LIST_DEFAULT;

    for (int i = 0; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--status") == 0)
            q.status = argv[i + 1];
        else if (strcmp(argv[i], "--state") == 0 && trk_state_from_name(argv[i + 1]) > 0)
            q.state = trk_state_from_name(argv[i + 1]);
        else if (strcmp(argv[i], "--limit") != 0 || parse_count(argv[i + 1], 1000000, &limit))
            return usage();
    }
    if (argc % 2 != 0)
        return usage();
    int rc = each_payment(st, &q, limit, list_line);
    return rc == TRK_OK ? 0 : fail("list", rc);
}

static int
cmd_verify(trk_store *st)
{
    trk_verify_report r;
    int rc = trk_verify(st, &r);

    if (rc != TRK_OK)
        return fail("verify", rc);
    printf("payments %llu, events %llu, accounts %llu, outbox %llu: %s\n",
           (unsigned long long)r.payments, (unsigned long long)r.events,
           (unsigned long long)r.accounts, (unsigned long long)r.outbox,
           r.problems ? "INCONSISTENT" : "consistent");
    if (r.problems)
        printf("%llu problem(s); first: %s\n", (unsigned long long)r.problems, r.first_problem);
    return r.problems ? 1 : 0;
}

static int
cmd_stats(trk_store *st)
{
    trk_stats s;
    int rc = trk_stats_get(st, &s);

    if (rc != TRK_OK)
        return fail("stats", rc);
    print_json(json_pack("{s:I,s:I,s:I,s:I}", "payments", (json_int_t)s.payments, "commits",
                         (json_int_t)s.batches, "ops", (json_int_t)s.ops, "map_size",
                         (json_int_t)s.map_size));
    return 0;
}

static int
cmd_audit(trk_store *st)
{
    uint64_t after = 0;
    int rc;

    for (;;) {
        trk_audit *a = NULL;
        size_t n = 0;
        if ((rc = trk_audit_list(st, after, TRK_MAX_PAGE, &a, &n)) != TRK_OK || n == 0) {
            free(a);
            break;
        }
        for (size_t i = 0; i < n; i++)
            print_json(json_pack("{s:I,s:I,s:s,s:s,s:s,s:s}", "seq", (json_int_t)a[i].seq,
                                 "at_ms", (json_int_t)a[i].at_ms, "scope", a[i].scope, "uetr",
                                 a[i].uetr, "code", a[i].code, "account", a[i].account));
        after = a[n - 1].seq;
        free(a);
    }
    return rc == TRK_OK ? 0 : fail("audit", rc);
}

static int
run(trk_store *st, int argc, char **argv)
{
    const char *cmd = argv[0];

    if (strcmp(cmd, "list") == 0)
        return cmd_list(st, argc - 1, argv + 1);
    if (strcmp(cmd, "show") == 0 && argc == 2)
        return cmd_show(st, argv[1]);
    if (strcmp(cmd, "verify") == 0 && argc == 1)
        return cmd_verify(st);
    if (strcmp(cmd, "export") == 0 && argc == 1) {
        trk_query q = {.limit = TRK_MAX_PAGE};
        int rc = each_payment(st, &q, UINT32_MAX, export_line);
        return rc == TRK_OK ? 0 : fail("export", rc);
    }
    if (strcmp(cmd, "backup") == 0 && argc == 2) {
        int rc = trk_backup(st, argv[1]);
        if (rc == TRK_OK)
            printf("backup written to %s\n", argv[1]);
        return rc == TRK_OK ? 0 : fail("backup (the directory must exist and be empty)", rc);
    }
    if (strcmp(cmd, "stats") == 0 && argc == 1)
        return cmd_stats(st);
    if (strcmp(cmd, "audit") == 0 && argc == 1)
        return cmd_audit(st);
    return usage();
}

int
main(int argc, char **argv)
{
    const char *dir = getenv("CORRIDOR_DATA_DIR");
    int i = 1;

    if (argc > 2 && strcmp(argv[1], "--data-dir") == 0) {
        dir = argv[2];
        i = 3;
    }
    if (i >= argc)
        return usage();
    trk_config cfg = {.dir = dir ? dir : "var/data", .read_only = 1};
    trk_store *st = NULL;
    int rc = trk_open(&st, &cfg);
    if (rc != TRK_OK)
        return fail(cfg.dir, rc);
    rc = run(st, argc - i, argv + i);
    trk_close(st);
    return rc;
}
