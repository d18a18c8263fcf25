/*
 * tracker/ledger.c with create.c: the reservation before the 201 and its refusals (AC01,
 * AM03, AM04: nothing kept but the audit record), settle on ACCC, release on RJCT and on a
 * local cancel, credit back on pacs.004, multi-payment creates all-or-nothing, account puts,
 * and trk_verify: clean after all of it, and catching a tampered balance, a tampered hold and
 * a lost index entry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "record.h"
#include "util.h"

#define ACCT "GB33BUKB20201555555555"
#define OWNER "ACME-001"
#define OPENING 1000000 /* 10,000.00 */
#define SCOPE "channel:CRDRGB20"
#define HOUR_MS (3600 * 1000LL)

typedef struct env {
    char *dir;
    trk_store *s;
} env;

static int
setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    trk_config cfg = {0};

    if (!e)
        return -1;
    e->dir = tmpdir_make();
    cfg.dir = e->dir;
    cfg.tick_ms = 3600 * 1000; /* the timer stays out of the way */
    if (!e->dir || trk_open(&e->s, &cfg) != TRK_OK)
        return -1;
    if (account_put(e->s, ACCT, OPENING, OWNER) != TRK_OK)
        return -1;
    *state = e;
    return 0;
}

static int
teardown(void **state)
{
    env *e = *state;

    trk_close(e->s);
    tmpdir_remove(e->dir);
    free(e);
    return 0;
}

static void
funded(fx *f, unsigned a, unsigned b)
{
    char uetr[37];

    uetr_make(uetr, a, b);
    fx_init(f, uetr);
    fx_fund(f, ACCT);
}

static void
create_funded(trk_store *s, fx *f, unsigned a, unsigned b)
{
    funded(f, a, b);
    assert_int_equal(submit_wait(s, &f->op), TRK_OK);
    assert_int_equal(f->op.to_state, TRK_FUNDS_RESERVED);
}

static uint64_t
payments(trk_store *s)
{
    trk_stats st;

    assert_int_equal(trk_stats_get(s, &st), TRK_OK);
    return st.payments;
}

/* ---- reserve, settle, release, credit back ---------------------------------------------- */

static void
test_reserve_then_settle(void **state)
{
    env *e = *state;
    fx f;

    create_funded(e->s, &f, 1, 1);
    assert_int_equal(account_reserved(e->s, ACCT), FX_AMOUNT);
    assert_int_equal(account_balance(e->s, ACCT), OPENING);
    expect_verified(e->s);
    assert_int_equal(input(e->s, f.payment.uetr, TRK_IN_ACCC, NULL), TRK_OK);
    assert_int_equal(state_of(e->s, f.payment.uetr), TRK_COMPLETED);
    assert_int_equal(account_reserved(e->s, ACCT), 0);
    assert_int_equal(account_balance(e->s, ACCT), OPENING - FX_AMOUNT);
    expect_verified(e->s);
}

static void
test_release_on_reject(void **state)
{
    env *e = *state;
    fx f;

    create_funded(e->s, &f, 2, 1);
    assert_int_equal(input(e->s, f.payment.uetr, TRK_IN_RJCT, NULL), TRK_OK);
    assert_int_equal(state_of(e->s, f.payment.uetr), TRK_REJECTED);
    assert_int_equal(account_reserved(e->s, ACCT), 0);
    assert_int_equal(account_balance(e->s, ACCT), OPENING);
    expect_verified(e->s);
}

/* Not yet left: cancelled locally, the hold released, no camt.056 kept or queued. */
static void
test_release_on_local_cancel(void **state)
{
    env *e = *state;
    trk_stats st;
    char *msg;
    size_t len;
    evx x;
    fx f;

    create_funded(e->s, &f, 3, 1);
    assert_int_equal(trk_stats_get(e->s, &st), TRK_OK);
    assert_int_equal(st.outbox, 1);
    evx_init(&x, f.payment.uetr, TRK_IN_CANCEL, "CRDRGB20XXX", 1);
    assert_int_equal(evx_run(e->s, &x), TRK_OK);
    assert_int_equal(x.op.to_state, TRK_CANCELLED);
    assert_int_equal(account_reserved(e->s, ACCT), 0);
    assert_int_equal(trk_stats_get(e->s, &st), TRK_OK);
    assert_int_equal(st.outbox, 0);
    assert_int_equal(trk_message_get(e->s, f.payment.uetr, "camt.056", &msg, &len),
                     TRK_ERR_NOTFOUND);
    expect_verified(e->s);
}

static void
test_credit_back(void **state)
{
    env *e = *state;
    trk_payment p;
    evx x;
    fx f;

    create_funded(e->s, &f, 4, 1);
    assert_int_equal(input(e->s, f.payment.uetr, TRK_IN_ACCC, NULL), TRK_OK);
    evx_init(&x, f.payment.uetr, TRK_IN_RETURN, "BENFDE20XXX", 2);
    x.op.return_amount = FX_AMOUNT + 1; /* more than was sent: refused, nothing written */
    assert_int_equal(evx_run(e->s, &x), TRK_ERR_INVALID);
    assert_int_equal(state_of(e->s, f.payment.uetr), TRK_COMPLETED);
    evx_init(&x, f.payment.uetr, TRK_IN_RETURN, "BENFDE20XXX", 3);
    x.op.return_amount = FX_AMOUNT - 2500; /* charges taken on the way back */
    assert_int_equal(evx_run(e->s, &x), TRK_OK);
    assert_int_equal(x.op.to_state, TRK_RETURNED);
    assert_int_equal(account_balance(e->s, ACCT), OPENING - 2500);
    assert_int_equal(trk_payment_get(e->s, f.payment.uetr, &p), TRK_OK);
    assert_int_equal(p.returned_minor, FX_AMOUNT - 2500);
    assert_string_equal(p.status, "ACCC"); /* RETURNED keeps ACCC */
    trk_payment_clear(&p);
    /* A second pacs.004 would credit twice: an anomaly, no money moves. */
    assert_int_equal(input(e->s, f.payment.uetr, TRK_IN_RETURN, NULL), TRK_OK);
    assert_int_equal(account_balance(e->s, ACCT), OPENING - 2500);
    assert_true(flags_of(e->s, f.payment.uetr) & TRK_PF_ANOMALY);
    expect_verified(e->s);
}

/* ---- refusals --------------------------------------------------------------------------- */

static void
expect_refused(env *e, fx *f, const char *code, size_t audits_before)
{
    trk_payment p;
    trk_event *ev;
    trk_audit *au;
    size_t n;

    fx_set_idem(f, SCOPE, "key-refused", 7);
    assert_int_equal(submit_wait(e->s, &f->op), TRK_ERR_FUNDS);
    assert_string_equal(f->op.funds_reason, code);
    assert_int_equal(trk_payment_get(e->s, f->payment.uetr, &p), TRK_ERR_NOTFOUND);
    assert_int_equal(trk_events_get(e->s, f->payment.uetr, &ev, &n), TRK_ERR_NOTFOUND);
    assert_int_equal(trk_audit_list(e->s, audits_before, 10, &au, &n), TRK_OK);
    assert_int_equal(n, 1);
    assert_string_equal(au[0].code, code);
    assert_string_equal(au[0].uetr, f->payment.uetr);
    assert_string_equal(au[0].scope, SCOPE);
    assert_string_equal(au[0].account, f->payment.debit_account);
    assert_int_equal(au[0].seq, audits_before + 1);
    free(au);
}

static void
test_refusals_keep_only_audit(void **state)
{
    env *e = *state;
    trk_account usd;
    trk_stats st;
    trk_op op;
    fx f;

    memset(&usd, 0, sizeof usd);
    snprintf(usd.id, sizeof usd.id, "GB94BARC10201530093459");
    snprintf(usd.currency, sizeof usd.currency, "USD");
    usd.exponent = 2;
    usd.balance = OPENING;
    snprintf(usd.owner, sizeof usd.owner, OWNER);
    memset(&op, 0, sizeof op);
    op.kind = TRK_OP_ACCOUNT_PUT;
    op.account = &usd;
    assert_int_equal(submit_wait(e->s, &op), TRK_OK);

    funded(&f, 5, 1);
    snprintf(f.payment.debit_account, sizeof f.payment.debit_account, "DE00NOSUCHACCOUNT");
    expect_refused(e, &f, "AC01", 0);
    funded(&f, 5, 2);
    snprintf(f.payment.customer_id, sizeof f.payment.customer_id, "OTHER-CUSTOMER");
    expect_refused(e, &f, "AC01", 1); /* someone else's account does not exist for them */
    funded(&f, 5, 3);
    snprintf(f.payment.debit_account, sizeof f.payment.debit_account, "%s", usd.id);
    expect_refused(e, &f, "AM03", 2);
    funded(&f, 5, 4);
    f.payment.amount_minor = OPENING + 1;
    expect_refused(e, &f, "AM04", 3);

    assert_int_equal(payments(e->s), 0);
    assert_int_equal(account_reserved(e->s, ACCT), 0);
    assert_int_equal(trk_stats_get(e->s, &st), TRK_OK);
    assert_int_equal(st.outbox, 0);
    /* The key was not kept with the refusal: a retry with funds goes through. */
    funded(&f, 5, 4);
    fx_set_idem(&f, SCOPE, "key-refused", 7);
    assert_int_equal(submit_wait(e->s, &f.op), TRK_OK);
    expect_verified(e->s);
}

/* Available = balance - reserved: holds of earlier payments count. */
static void
test_holds_reduce_available(void **state)
{
    env *e = *state;
    fx f;

    assert_int_equal(account_put(e->s, ACCT, FX_AMOUNT * 2 - 1, OWNER), TRK_OK);
    create_funded(e->s, &f, 6, 1);
    funded(&f, 6, 2);
    assert_int_equal(submit_wait(e->s, &f.op), TRK_ERR_FUNDS);
    assert_string_equal(f.op.funds_reason, "AM04");
    assert_int_equal(account_reserved(e->s, ACCT), FX_AMOUNT);
    expect_verified(e->s);
}

/* ---- multi-payment creates -------------------------------------------------------------- */

#define ITEMS 3

static void
items_init(fx *fs, trk_create_item *items, unsigned a)
{
    unsigned i;

    memset(items, 0, ITEMS * sizeof *items);
    for (i = 0; i < ITEMS; i++) {
        funded(&fs[i], a, i);
        items[i].payment = &fs[i].payment;
        items[i].event = &fs[i].event;
        items[i].msg_name = fs[i].op.msg_name;
        items[i].msg = fs[i].op.msg;
        items[i].msg_len = fs[i].op.msg_len;
    }
}

static void
multi_op(trk_op *op, trk_create_item *items)
{
    memset(op, 0, sizeof *op);
    op->kind = TRK_OP_CREATE;
    op->items = items;
    op->n_items = ITEMS;
}

static void
test_multi_all_or_nothing(void **state)
{
    env *e = *state;
    trk_create_item items[ITEMS];
    fx *fs = calloc(ITEMS, sizeof *fs);
    trk_op op;
    unsigned i;

    assert_non_null(fs);
    items_init(fs, items, 7);
    fs[2].payment.amount_minor = OPENING; /* the third cannot be covered after the first two */
    multi_op(&op, items);
    assert_int_equal(submit_wait(e->s, &op), TRK_ERR_FUNDS);
    assert_int_equal(op.failed_index, 2);
    assert_string_equal(op.funds_reason, "AM04");
    assert_int_equal(payments(e->s), 0);
    assert_int_equal(account_reserved(e->s, ACCT), 0);
    for (i = 0; i < ITEMS; i++)
        assert_int_equal(state_of(e->s, fs[i].payment.uetr), 0);

    /* An existing UETR fails the op the same way. */
    create_funded(e->s, &fs[0], 7, 1);
    items_init(fs, items, 7);
    multi_op(&op, items);
    assert_int_equal(submit_wait(e->s, &op), TRK_ERR_EXISTS);
    assert_int_equal(op.failed_index, 1);
    assert_int_equal(payments(e->s), 1);

    /* All fit: all stored; a future date makes one SCHEDULED (funds held all the same). */
    items_init(fs, items, 8);
    snprintf(fs[1].payment.execute_on, sizeof fs[1].payment.execute_on, "2999-12-31");
    multi_op(&op, items);
    assert_int_equal(submit_wait(e->s, &op), TRK_OK);
    assert_int_equal(items[0].state, TRK_FUNDS_RESERVED);
    assert_int_equal(items[1].state, TRK_SCHEDULED);
    assert_int_equal(state_of(e->s, fs[1].payment.uetr), TRK_SCHEDULED);
    assert_int_equal(payments(e->s), 1 + ITEMS);
    assert_int_equal(account_reserved(e->s, ACCT), FX_AMOUNT * (1 + ITEMS));
    expect_verified(e->s);
    free(fs);
}

/* ---- accounts --------------------------------------------------------------------------- */

static int
put_account(trk_store *s, const trk_account *a, int create_only)
{
    trk_op op;

    memset(&op, 0, sizeof op);
    op.kind = TRK_OP_ACCOUNT_PUT;
    op.account = a;
    op.account_create_only = create_only;
    return submit_wait(s, &op);
}

static void
test_account_put_rules(void **state)
{
    env *e = *state;
    trk_account a;
    fx f;

    assert_int_equal(trk_account_get(e->s, ACCT, &a), TRK_OK);
    assert_string_equal(a.currency, "EUR");
    assert_string_equal(a.owner, OWNER);
    assert_int_equal(put_account(e->s, &a, 1), TRK_ERR_EXISTS); /* seeding never overwrites */
    create_funded(e->s, &f, 9, 1);
    assert_int_equal(trk_account_get(e->s, ACCT, &a), TRK_OK);
    snprintf(a.currency, sizeof a.currency, "USD");
    assert_int_equal(put_account(e->s, &a, 0), TRK_ERR_STATE); /* currency under a hold */
    assert_int_equal(trk_account_get(e->s, ACCT, &a), TRK_OK);
    a.balance = FX_AMOUNT - 1;
    assert_int_equal(put_account(e->s, &a, 0), TRK_ERR_STATE); /* below the holds */
    a.balance = OPENING * 3;
    a.reserved = 0; /* ignored: holds belong to payments */
    assert_int_equal(put_account(e->s, &a, 0), TRK_OK);
    assert_int_equal(account_balance(e->s, ACCT), OPENING * 3);
    assert_int_equal(account_reserved(e->s, ACCT), FX_AMOUNT);
    assert_int_equal(trk_account_get(e->s, "no/such", &a), TRK_ERR_NOTFOUND);
    assert_int_equal(trk_account_get(e->s, "NOSUCH", &a), TRK_ERR_NOTFOUND);
    snprintf(a.id, sizeof a.id, "bad/id");
    assert_int_equal(put_account(e->s, &a, 0), TRK_ERR_INVALID);
    expect_verified(e->s);
}

/* No debit account: funded elsewhere, the ledger is not touched. */
static void
test_unfunded_payment(void **state)
{
    env *e = *state;
    char uetr[37];
    fx f;

    uetr_make(uetr, 10, 1);
    fx_init(&f, uetr);
    assert_int_equal(submit_wait(e->s, &f.op), TRK_OK);
    assert_int_equal(input(e->s, uetr, TRK_IN_ACCC, NULL), TRK_OK);
    assert_int_equal(account_balance(e->s, ACCT), OPENING);
    expect_verified(e->s);
}

/* ---- trk_verify against tampering ------------------------------------------------------- */

typedef void (*tamper_fn)(MDB_txn *txn, MDB_dbi dbi);

static void
tamper(env *e, const char *db, tamper_fn fn)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    trk_config cfg = {.dir = e->dir, .tick_ms = 3600 * 1000};

    trk_close(e->s);
    e->s = NULL;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_open(env, e->dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
    fn(txn, dbi);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    assert_int_equal(trk_open(&e->s, &cfg), TRK_OK);
}

static void
rewrite_account(MDB_txn *txn, MDB_dbi dbi, int64_t dbal, int64_t dres)
{
    MDB_val k = {.mv_size = strlen(ACCT), .mv_data = ACCT}, v;
    uint8_t buf[256];
    trk_account a;
    size_t len;

    assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
    assert_int_equal(rec_account_decode(v.mv_data, v.mv_size, &a), TRK_OK);
    a.balance += dbal;
    a.reserved += dres;
    len = rec_account_size(&a);
    assert_int_equal(rec_account_encode(&a, buf, len), TRK_OK);
    v.mv_size = len;
    v.mv_data = buf;
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
}

static void
add_a_cent(MDB_txn *txn, MDB_dbi dbi)
{
    rewrite_account(txn, dbi, 1, 0);
}

static void
hold_a_cent(MDB_txn *txn, MDB_dbi dbi)
{
    rewrite_account(txn, dbi, 0, 1);
}

static void
drop_first(MDB_txn *txn, MDB_dbi dbi)
{
    MDB_cursor *cur;
    MDB_val k, v;

    assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
    assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
    assert_int_equal(mdb_cursor_del(cur, 0), 0);
    mdb_cursor_close(cur);
}

static void
expect_problem(trk_store *s, const char *needle)
{
    trk_verify_report r;

    assert_int_equal(trk_verify(s, &r), TRK_OK);
    assert_true(r.problems > 0);
    if (!strstr(r.first_problem, needle))
        fail_msg("first problem \"%s\" does not mention \"%s\"", r.first_problem, needle);
}

static void
test_verify_catches_tampering(void **state)
{
    env *e = *state;
    trk_verify_report r;
    fx f;

    create_funded(e->s, &f, 11, 1);
    create_funded(e->s, &f, 11, 2);
    assert_int_equal(input(e->s, f.payment.uetr, TRK_IN_ACCC, NULL), TRK_OK);
    assert_int_equal(trk_verify(e->s, &r), TRK_OK);
    assert_int_equal(r.problems, 0);
    assert_int_equal(r.payments, 2);
    assert_int_equal(r.accounts, 1);
    assert_int_equal(r.events, 3);
    assert_int_equal(r.outbox, 2); /* no spool: both pacs.008 wait */

    tamper(e, "accounts", add_a_cent);
    expect_problem(e->s, "balance");
    tamper(e, "accounts", hold_a_cent);
    expect_problem(e->s, "reserved"); /* checked before the balance */
    assert_int_equal(trk_verify(e->s, &r), TRK_OK);
    assert_int_equal(r.problems, 2);
}

static void
test_verify_catches_lost_index(void **state)
{
    env *e = *state;
    fx f;

    create_funded(e->s, &f, 12, 1);
    expect_verified(e->s);
    tamper(e, "by_updated", drop_first);
    expect_problem(e->s, "index");
}

static void
test_verify_catches_lost_journal(void **state)
{
    env *e = *state;
    fx f;

    create_funded(e->s, &f, 13, 1);
    tamper(e, "journal", drop_first); /* the opening balance's adjustment */
    expect_problem(e->s, "journal");
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_reserve_then_settle),       T(test_release_on_reject),
        T(test_release_on_local_cancel),   T(test_credit_back),
        T(test_refusals_keep_only_audit),  T(test_holds_reduce_available),
        T(test_multi_all_or_nothing),      T(test_account_put_rules),
        T(test_unfunded_payment),          T(test_verify_catches_tampering),
        T(test_verify_catches_lost_index), T(test_verify_catches_lost_journal),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
