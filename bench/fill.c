/*
 * corridor-fill — writes N payments straight into a store through the tracker API, for the
 * start-up benchmark (a daemon opening a store that already holds a million payments).
 *
 *   corridor-fill --dir DIR [-n N] [--window W] [--today] [--json]
 *
 * Each payment is what POST /v1/payments commits: the record with its canonical instruction
 * JSON, the CTPT event with its gpi detail, the pacs.008 envelope, the reservation, the
 * idempotency record and the indexes. The pacs.008 is built and profile-checked once by iso20022/ and then only has its
 * identifiers replaced (same lengths), so filling is bound by the store, not by XML. Payments
 * are dated tomorrow (SCHEDULED: funds reserved, nothing queued for delivery) unless --today
 * (FUNDS_RESERVED, each one queued in the outbox for the next daemon with a spool to deliver).
 * They debit an account of their own (FILL_ACCOUNT), created with enough balance.
 *
 * Up to W ops are in flight; the tracker's writer commits them in groups, durably.
 */
#include "iso20022.h"
#include "tracker.h"
#include "util.h"

#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define EXIT_SETUP 1
#define EXIT_USAGE 2
#define DEFAULT_COUNT 1000000
#define MAX_COUNT 100000000
#define DEFAULT_WINDOW 1024
#define MAX_WINDOW 65536
#define FILL_ACCOUNT "FILL-EUR-0001"
#define FILL_CUSTOMER "FILL-001"
#define FILL_AMOUNT_MINOR 100 /* 1.00 EUR each */
#define FILL_BALANCE_MINOR INT64_C(100000000000000)
#define DAY_S 86400
#define DETAIL_MAX 512
#define IDEM_KEY_MAX 48
#define RESP_MAX 256
#define FILL_SCOPE "channel" /* the dev PKI's channel principal, as its POSTs would be */
#define PROGRESS_EVERY 100000
/* Placeholders of the template message, each exactly as long as what replaces it. */
#define PH_UETR "ffffffff-ffff-4fff-bfff-ffffffffffff"
#define PH_MSG_ID "ffffffffffffffffffffffffffffffff" /* 32 hex, like gw_new_msg_id */
#define PH_E2E "FILL-E2E-0000000000000"
#define PH_INSTR "FILLINSTR0000000"

/* One payment in flight: everything its op borrows until the writer calls back. */
struct slot {
    trk_op op;
    trk_payment payment;
    trk_event event;
    char *msg;
    char detail[DETAIL_MAX];
    char idem_key[IDEM_KEY_MAX];
    char resp[RESP_MAX];
    int busy;
    struct filler *f;
};

struct filler {
    const char *dir;
    uint64_t count, window;
    int today;
    const char *template_msg; /* the built pacs.008 with the placeholders */
    size_t template_len;
    iso_instruction in;
    char execute_on[11];
    struct slot *slots;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t done, failed;
    int first_error;
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: corridor-fill --dir DIR [-n N] [--window W] [--today] [--json]\n"
               "  --dir DIR     the store (created if missing; the daemon's data_dir)\n"
               "  -n N          payments to write (default %d)\n"
               "  --window W    ops in flight (default %d)\n"
               "  --today       payments for today: queued in the outbox (default: tomorrow)\n"
               "  --json        result as JSON on stdout\n",
            DEFAULT_COUNT, DEFAULT_WINDOW);
}

/* ---- the template --------------------------------------------------------------------------- */

static void
date_text(time_t t, char out[11])
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* The instruction every payment shares; the identifiers hold placeholders. */
static void
base_instruction(iso_instruction *in, const char *execute_on)
{
    memset(in, 0, sizeof(*in));
    snprintf(in->end_to_end_id, sizeof(in->end_to_end_id), PH_E2E);
    snprintf(in->instruction_id, sizeof(in->instruction_id), PH_INSTR);
    snprintf(in->uetr, sizeof(in->uetr), PH_UETR);
    snprintf(in->customer_id, sizeof(in->customer_id), FILL_CUSTOMER);
    in->amount_minor = FILL_AMOUNT_MINOR;
    in->exponent = 2;
    snprintf(in->currency, sizeof(in->currency), "EUR");
    snprintf(in->requested_execution_date, sizeof(in->requested_execution_date), "%s",
             execute_on);
    snprintf(in->charge_bearer, sizeof(in->charge_bearer), "SHAR");
    snprintf(in->debtor.name, sizeof(in->debtor.name), "Acme Corporation International Ltd");
    snprintf(in->debtor.account.other, sizeof(in->debtor.account.other), FILL_ACCOUNT);
    snprintf(in->debtor.address.town, sizeof(in->debtor.address.town), "London");
    snprintf(in->debtor.address.country, sizeof(in->debtor.address.country), "GB");
    snprintf(in->debtor_agent.bic, sizeof(in->debtor_agent.bic), "CRDRGB20XXX");
    in->n_intermediaries = 1;
    snprintf(in->intermediaries[0].bic, sizeof(in->intermediaries[0].bic), "CRSPUS30XXX");
    snprintf(in->creditor_agent.bic, sizeof(in->creditor_agent.bic), "BENFDE20XXX");
    snprintf(in->creditor.name, sizeof(in->creditor.name), "Jane Elizabeth Smith-Hartmann");
    snprintf(in->creditor.account.iban, sizeof(in->creditor.account.iban),
             "DE89370400440532013000");
    snprintf(in->creditor.address.town, sizeof(in->creditor.address.town), "Frankfurt");
    snprintf(in->creditor.address.country, sizeof(in->creditor.address.country), "DE");
    snprintf(in->remittance_information, sizeof(in->remittance_information),
             "Invoice for consulting services rendered in the fourth quarter");
    snprintf(in->purpose, sizeof(in->purpose), "GDDS");
}

static int
build_template(struct filler *f)
{
    iso_pacs008_params pp = {.msg_id = PH_MSG_ID, .created = time(NULL),
                             .instructed_bic = "CRSPUS30XXX"};
    iso_problems pr;
    iso_ctx *ctx = NULL;
    char *xml = NULL;
    size_t len = 0;
    int rc;

    iso_problems_init(&pr);
    rc = iso_ctx_new(&ctx);
    if (rc == ISO_OK)
        rc = iso_pacs008_build(ctx, &f->in, &pp, &xml, &len, &pr);
    iso_ctx_free(ctx);
    if (rc != ISO_OK) {
        fprintf(stderr, "corridor-fill: building the pacs.008: %s (%s %s)\n", iso_strerror(rc),
                pr.n ? pr.items[0].path : "", pr.n ? pr.items[0].text : "");
        return -1;
    }
    f->template_msg = xml;
    f->template_len = len;
    return 0;
}

/* Every occurrence of `ph` in buf replaced by `value` (same length). */
static void
replace_all(char *buf, size_t len, const char *ph, const char *value)
{
    size_t n = strlen(ph);

    for (char *at = memmem(buf, len, ph, n); at != NULL;
         at = memmem(at + n, len - (size_t)(at + n - buf), ph, n))
        memcpy(at, value, n);
}

/* ---- one payment ---------------------------------------------------------------------------- */

static void
ids(uint64_t i, char uetr[37], char msg_id[36], char e2e[36], char instr[17])
{
    iso_uetr_generate(uetr);
    size_t n = 0;
    for (size_t k = 0; uetr[k] != '\0'; k++)
        if (uetr[k] != '-')
            msg_id[n++] = uetr[k];
    msg_id[n] = '\0';
    snprintf(e2e, 36, "FILL-E2E-%013" PRIu64, i);
    snprintf(instr, 17, "FILLINSTR%07" PRIu64, i % 10000000);
}

static int
fill_payment(struct filler *f, struct slot *s, uint64_t i)
{
    char uetr[37], msg_id[36], e2e[36], instr[17];
    iso_instruction in = f->in;
    trk_payment *p = &s->payment;
    trk_event *e = &s->event;
    int64_t now = (int64_t)time(NULL) * 1000;

    ids(i, uetr, msg_id, e2e, instr);
    memcpy(s->msg, f->template_msg, f->template_len);
    replace_all(s->msg, f->template_len, PH_UETR, uetr);
    replace_all(s->msg, f->template_len, PH_MSG_ID, msg_id);
    replace_all(s->msg, f->template_len, PH_E2E, e2e);
    replace_all(s->msg, f->template_len, PH_INSTR, instr);
    snprintf(in.uetr, sizeof(in.uetr), "%s", uetr);
    snprintf(in.end_to_end_id, sizeof(in.end_to_end_id), "%s", e2e);
    snprintf(in.instruction_id, sizeof(in.instruction_id), "%s", instr);

    trk_payment_clear(p);
    memset(p, 0, sizeof(*p));
    if (iso_instruction_to_json(&in, &p->doc, &p->doc_len) != ISO_OK)
        return -1;
    snprintf(p->uetr, sizeof(p->uetr), "%s", uetr);
    p->state = TRK_VALIDATED;
    snprintf(p->status, sizeof(p->status), "ACSP");
    snprintf(p->debtor_agent, sizeof(p->debtor_agent), "%s", in.debtor_agent.bic);
    snprintf(p->customer_id, sizeof(p->customer_id), FILL_CUSTOMER);
    snprintf(p->chain[0], sizeof(p->chain[0]), "%s", in.intermediaries[0].bic);
    snprintf(p->chain[1], sizeof(p->chain[1]), "%s", in.creditor_agent.bic);
    p->chain_len = 2;
    p->created_ms = p->updated_ms = now;
    snprintf(p->debit_account, sizeof(p->debit_account), FILL_ACCOUNT);
    snprintf(p->end_to_end_id, sizeof(p->end_to_end_id), "%s", e2e);
    p->amount_minor = in.amount_minor;
    p->exponent = in.exponent;
    snprintf(p->currency, sizeof(p->currency), "EUR");
    snprintf(p->execute_on, sizeof(p->execute_on), "%s", f->execute_on);
    snprintf(p->msg_id, sizeof(p->msg_id), "%s", msg_id);

    memset(e, 0, sizeof(*e));
    e->at_ms = now;
    snprintf(e->type, sizeof(e->type), "CTPT");
    snprintf(e->message_name, sizeof(e->message_name), "pacs.008.001.08");
    snprintf(e->network_ref, sizeof(e->network_ref), "%s", msg_id);
    snprintf(e->from, sizeof(e->from), "CRDRGB20XXX");
    snprintf(e->to, sizeof(e->to), "CRSPUS30XXX");
    snprintf(e->status, sizeof(e->status), "ACSP");
    e->detail_len = (size_t)snprintf(
        s->detail, sizeof(s->detail),
        "{\"service_level\":\"G001\",\"end_to_end_identification\":\"%s\","
        "\"instruction_identification\":\"%s\",\"charge_bearer\":\"SHAR\","
        "\"payment_scenario\":\"CCTR\",\"instructed_amount\":{\"currency\":\"EUR\","
        "\"amount\":\"1.00\"},\"interbank_settlement_amount\":{\"currency\":\"EUR\","
        "\"amount\":\"1.00\"},\"interbank_settlement_date\":\"%s\"}",
        e2e, instr, f->execute_on);
    e->detail = s->detail; /* borrowed: never freed through the event */
    return 0;
}

/* ---- submitting ----------------------------------------------------------------------------- */

static void
committed(trk_op *op, void *arg)
{
    struct slot *s = arg;
    struct filler *f = s->f;

    pthread_mutex_lock(&f->mu);
    f->done++;
    if (op->rc != TRK_OK) {
        f->failed++;
        if (f->first_error == 0)
            f->first_error = op->rc;
    }
    s->busy = 0;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static struct slot *
free_slot(struct filler *f)
{
    pthread_mutex_lock(&f->mu);
    for (;;) {
        for (uint64_t k = 0; k < f->window; k++) {
            if (!f->slots[k].busy) {
                f->slots[k].busy = 1;
                pthread_mutex_unlock(&f->mu);
                return &f->slots[k];
            }
        }
        pthread_cond_wait(&f->cv, &f->mu);
    }
}

static void
wait_all(struct filler *f, uint64_t submitted)
{
    pthread_mutex_lock(&f->mu);
    while (f->done < submitted)
        pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
}

static int
submit_one(trk_store *store, struct filler *f, uint64_t i)
{
    struct slot *s = free_slot(f);

    if (fill_payment(f, s, i) != 0)
        return -1;
    memset(&s->op, 0, sizeof(s->op));
    s->op.kind = TRK_OP_CREATE;
    s->op.payment = &s->payment;
    s->op.event = &s->event;
    s->op.msg_name = "pacs.008";
    s->op.msg = s->msg;
    s->op.msg_len = f->template_len;
    s->op.idem_scope = FILL_SCOPE;
    snprintf(s->idem_key, sizeof(s->idem_key), "corridor-fill-%" PRIu64, i);
    s->op.idem_key = s->idem_key;
    s->op.resp_status = 201;
    s->op.resp_len = (size_t)snprintf(s->resp, sizeof(s->resp),
                                      "{\"uetr\":\"%s\",\"state\":\"%s\",\"status\":\"ACSP\"}",
                                      s->payment.uetr, f->today ? "FUNDS_RESERVED" : "SCHEDULED");
    s->op.resp_body = s->resp;
    s->op.done = committed;
    s->op.arg = s;
    int rc = trk_submit(store, &s->op);
    if (rc != TRK_OK) {
        fprintf(stderr, "corridor-fill: submit: %s\n", trk_strerror(rc));
        return -1;
    }
    return 0;
}

/* The account the payments debit: created once, never lowered. */
static void
account_done(trk_op *op, void *arg)
{
    struct filler *f = arg;

    pthread_mutex_lock(&f->mu);
    f->first_error = op->rc == TRK_ERR_EXISTS ? 0 : op->rc;
    f->done = 1;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static int
make_account(trk_store *store, struct filler *f)
{
    trk_account a = {.id = FILL_ACCOUNT, .currency = "EUR", .exponent = 2,
                     .balance = FILL_BALANCE_MINOR, .owner = FILL_CUSTOMER};
    trk_op op = {.kind = TRK_OP_ACCOUNT_PUT, .account = &a, .account_create_only = 1,
                 .done = account_done, .arg = f};

    if (trk_submit(store, &op) != TRK_OK)
        return -1;
    wait_all(f, 1);
    f->done = 0;
    if (f->first_error != 0)
        fprintf(stderr, "corridor-fill: account: %s\n", trk_strerror(f->first_error));
    return f->first_error == 0 ? 0 : -1;
}

static int
run(struct filler *f, double *seconds)
{
    trk_config cfg = {.dir = f->dir};
    trk_store *store = NULL;
    uint64_t t0, i = 0;
    int rc = trk_open(&store, &cfg);

    if (rc != TRK_OK) {
        fprintf(stderr, "corridor-fill: %s: %s\n", f->dir, trk_strerror(rc));
        return -1;
    }
    rc = make_account(store, f);
    t0 = bu_now_ns();
    for (; rc == 0 && i < f->count; i++) {
        rc = submit_one(store, f, i);
        if ((i + 1) % PROGRESS_EVERY == 0)
            fprintf(stderr, "corridor-fill: %" PRIu64 " submitted\n", i + 1);
    }
    wait_all(f, i);
    *seconds = (double)(bu_now_ns() - t0) / (double)BU_NS_PER_SEC;
    trk_close(store);
    if (f->failed > 0)
        fprintf(stderr, "corridor-fill: %" PRIu64 " payments refused: %s\n", f->failed,
                trk_strerror(f->first_error));
    return rc == 0 && f->failed == 0 ? 0 : -1;
}

/* ---- main ----------------------------------------------------------------------------------- */

static int
parse_args(int argc, char **argv, struct filler *f, int *json)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'D'},   {"window", required_argument, NULL, 'w'},
        {"today", no_argument, NULL, 'T'},       {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    int opt;

    while ((opt = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            exit(0);
        } else if (opt == 'D') {
            f->dir = optarg;
        } else if (opt == 'n') {
            if (bu_parse_u64(optarg, 1, MAX_COUNT, &f->count) != BU_OK)
                return -1;
        } else if (opt == 'w') {
            if (bu_parse_u64(optarg, 1, MAX_WINDOW, &f->window) != BU_OK)
                return -1;
        } else if (opt == 'T') {
            f->today = 1;
        } else if (opt == 'J') {
            *json = 1;
        } else {
            return -1;
        }
    }
    return f->dir != NULL && optind == argc ? 0 : -1;
}

static int
setup(struct filler *f)
{
    date_text(time(NULL) + (f->today ? 0 : DAY_S), f->execute_on);
    base_instruction(&f->in, f->execute_on);
    if (build_template(f) != 0)
        return -1;
    f->slots = calloc(f->window, sizeof(*f->slots));
    if (f->slots == NULL)
        return -1;
    for (uint64_t k = 0; k < f->window; k++) {
        f->slots[k].f = f;
        if ((f->slots[k].msg = malloc(f->template_len)) == NULL)
            return -1;
    }
    return 0;
}

static void
teardown(struct filler *f)
{
    for (uint64_t k = 0; f->slots != NULL && k < f->window; k++) {
        trk_payment_clear(&f->slots[k].payment);
        free(f->slots[k].msg);
    }
    free(f->slots);
    free((char *)f->template_msg);
}

int
main(int argc, char **argv)
{
    struct filler f = {.count = DEFAULT_COUNT, .window = DEFAULT_WINDOW,
                       .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    double seconds = 0;
    int json = 0, rc = EXIT_SETUP;

    if (parse_args(argc, argv, &f, &json) != 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (setup(&f) == 0 && run(&f, &seconds) == 0) {
        double rate = seconds > 0 ? (double)f.count / seconds : 0;
        if (json)
            printf("{\"payments\":%" PRIu64 ",\"seconds\":%.3f,\"per_s\":%.1f}\n", f.count,
                   seconds, rate);
        else
            printf("corridor-fill: %" PRIu64 " payments in %.1f s = %.0f/s into %s\n", f.count,
                   seconds, rate, f.dir);
        rc = 0;
    }
    teardown(&f);
    return rc;
}
