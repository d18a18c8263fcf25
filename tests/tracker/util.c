#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"

#define TMPDIR_TEMPLATE "/tmp/trk-test-XXXXXX"
#define BASE_MS INT64_C(1763700000000)
/* Fixed-size char[] fields only. */
#define SET(field, text) snprintf((field), sizeof(field), "%s", (text))

char *
tmpdir_make(void)
{
    char *dir = strdup(TMPDIR_TEMPLATE);

    if (!dir || !mkdtemp(dir)) {
        free(dir);
        return NULL;
    }
    return dir;
}

static void
remove_tree(const char *path)
{
    char child[4096];
    struct dirent *de;
    DIR *d = opendir(path);

    if (!d) {
        unlink(path);
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(child, sizeof child, "%s/%s", path, de->d_name);
        remove_tree(child);
    }
    closedir(d);
    rmdir(path);
}

void
tmpdir_remove(char *dir)
{
    if (!dir)
        return;
    remove_tree(dir);
    free(dir);
}

void
uetr_make(char out[37], unsigned a, unsigned b)
{
    snprintf(out, 37, "%08x-%04x-4%03x-8%03x-%012x", a, b >> 16 & 0xffff, b >> 8 & 0xff, b & 0xff,
             a ^ b);
}

void
fx_init(fx *f, const char *uetr)
{
    memset(f, 0, sizeof *f);
    snprintf(f->payment.uetr, sizeof f->payment.uetr, "%s", uetr);
    f->payment.state = TRK_VALIDATED; /* a create applies ACCEPT: FUNDS_RESERVED */
    SET(f->payment.status, "ACSP");
    SET(f->payment.reason, "G000");
    SET(f->payment.debtor_agent, "CRDRGB20XXX");
    SET(f->payment.customer_id, "ACME-001");
    SET(f->payment.chain[0], "CRSPUS30XXX");
    SET(f->payment.chain[1], "BENFDE20XXX");
    f->payment.chain_len = 2;
    f->payment.created_ms = BASE_MS;
    f->payment.updated_ms = BASE_MS + 1;
    snprintf(f->doc, sizeof f->doc, "{\"uetr\":\"%s\",\"amount\":\"1234.56\"}", uetr);
    f->payment.doc = f->doc;
    f->payment.doc_len = strlen(f->doc);

    f->event.at_ms = BASE_MS;
    SET(f->event.type, "CTPT");
    SET(f->event.message_name, "pacs.008.001.08");
    SET(f->event.network_ref, "MSG-0001");
    SET(f->event.from, "CRDRGB20XXX");
    SET(f->event.to, "CRSPUS30XXX");
    SET(f->event.status, "ACSP");
    f->event.detail = "{\"instructed_amount\":{\"amount\":\"1234.56\",\"currency\":\"EUR\"}}";
    f->event.detail_len = strlen(f->event.detail);

    snprintf(f->msg, sizeof f->msg, "<Envelope><UETR>%s</UETR></Envelope>", uetr);

    f->op.kind = TRK_OP_CREATE;
    f->op.payment = &f->payment;
    f->op.event = &f->event;
    f->op.msg_name = "pacs.008";
    f->op.msg = f->msg;
    f->op.msg_len = strlen(f->msg);
}

void
fx_set_idem(fx *f, const char *scope, const char *key, unsigned char digest_seed)
{
    f->op.idem_scope = scope;
    f->op.idem_key = key;
    memset(f->op.idem_digest, digest_seed, sizeof f->op.idem_digest);
    snprintf(f->resp, sizeof f->resp, "{\"uetr\":\"%s\",\"status\":\"ACSP\"}", f->payment.uetr);
    f->op.resp_status = 201;
    f->op.resp_body = f->resp;
    f->op.resp_len = strlen(f->resp);
}

static size_t
pad(char *buf, size_t cap, size_t len)
{
    size_t n = strlen(buf);

    if (len >= cap)
        len = cap - 1;
    for (; n < len; n++)
        buf[n] = (char)('a' + n % 26);
    buf[len] = '\0';
    return len;
}

void
fx_pad_doc(fx *f, size_t len)
{
    f->payment.doc_len = pad(f->doc, sizeof f->doc, len);
}

void
fx_pad_msg(fx *f, size_t len)
{
    f->op.msg_len = pad(f->msg, sizeof f->msg, len);
}

struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
};

static void
waiter_done(trk_op *op, void *arg)
{
    struct waiter *w = arg;

    (void)op;
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int
submit_wait(trk_store *s, trk_op *op)
{
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    int rc;

    op->done = waiter_done;
    op->arg = &w;
    rc = trk_submit(s, op);
    if (rc)
        return rc;
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    return op->rc;
}

void
gate_init(gate *g)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->entered = 0;
    g->open = 0;
}

void
gate_destroy(gate *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

void
gate_wait_entered(gate *g)
{
    pthread_mutex_lock(&g->mu);
    while (!g->entered)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

void
gate_open(gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

void
gate_done(trk_op *op, void *arg)
{
    gate *g = arg;

    (void)op;
    pthread_mutex_lock(&g->mu);
    g->entered = 1;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

void
counter_init(counter *c)
{
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->n = 0;
}

void
counter_destroy(counter *c)
{
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
}

void
counter_add(counter *c)
{
    pthread_mutex_lock(&c->mu);
    c->n++;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

void
counter_wait(counter *c, size_t n)
{
    pthread_mutex_lock(&c->mu);
    while (c->n < n)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
}

/* ---- saga fixtures ------------------------------------------------------------------------ */

void
fx_fund(fx *f, const char *account)
{
    SET(f->payment.debit_account, account);
    f->payment.amount_minor = FX_AMOUNT;
    f->payment.exponent = 2;
    SET(f->payment.currency, FX_CCY);
    /* uetr_make's UETRs differ in their first 8 or last 12 hex digits. */
    snprintf(f->payment.end_to_end_id, sizeof f->payment.end_to_end_id, "E2E-%.8s-%s",
             f->payment.uetr, f->payment.uetr + 24);
    snprintf(f->event.network_ref, sizeof f->event.network_ref, "M%.8s%s", f->payment.uetr,
             f->payment.uetr + 24);
}

int64_t
test_clock_now(void *arg)
{
    test_clock *c = arg;

    return atomic_load(&c->ms);
}

static int
account_op(trk_store *s, const trk_account *a)
{
    trk_op op;

    memset(&op, 0, sizeof op);
    op.kind = TRK_OP_ACCOUNT_PUT;
    op.account = a;
    return submit_wait(s, &op);
}

int
account_put(trk_store *s, const char *id, int64_t balance, const char *owner)
{
    trk_account a;

    memset(&a, 0, sizeof a);
    SET(a.id, id);
    SET(a.currency, FX_CCY);
    a.exponent = 2;
    a.balance = balance;
    SET(a.owner, owner ? owner : "");
    return account_op(s, &a);
}

int64_t
account_balance(trk_store *s, const char *id)
{
    trk_account a;

    if (trk_account_get(s, id, &a) != TRK_OK)
        return INT64_MIN;
    return a.balance;
}

int64_t
account_reserved(trk_store *s, const char *id)
{
    trk_account a;

    if (trk_account_get(s, id, &a) != TRK_OK)
        return INT64_MIN;
    return a.reserved;
}

static const char *
status_for(trk_input in)
{
    switch (in) {
    case TRK_IN_ACCC:
        return "ACCC";
    case TRK_IN_RJCT:
        return "RJCT";
    default:
        return "ACSP";
    }
}

static const char *
type_for(trk_input in)
{
    switch (in) {
    case TRK_IN_CANCEL:
        return "CTCA";
    case TRK_IN_CANCEL_ACCEPTED:
    case TRK_IN_CANCEL_REFUSED:
        return "CTCR";
    case TRK_IN_RETURN:
        return "RCTP";
    default:
        return "CTSU";
    }
}

void
evx_init(evx *x, const char *uetr, trk_input in, const char *from, unsigned n)
{
    memset(x, 0, sizeof *x);
    x->event.at_ms = BASE_MS + 1000 + n;
    SET(x->event.type, type_for(in));
    SET(x->event.message_name, in == TRK_IN_CANCEL ? "camt.056.001.08" : "pacs.002.001.10");
    snprintf(x->event.network_ref, sizeof x->event.network_ref, "%c%u",
             in == TRK_IN_CANCEL ? 'C' : 'S', n);
    SET(x->event.from, from);
    SET(x->event.to, "BENFDE20XXX");
    SET(x->event.status, status_for(in));
    SET(x->event.reason, in == TRK_IN_ACSP ? "G000" : in == TRK_IN_RJCT ? "AC04" : "");
    snprintf(x->detail, sizeof x->detail, "{\"n\":%u}", n);
    x->event.detail = x->detail;
    x->event.detail_len = strlen(x->detail);
    x->op.kind = TRK_OP_EVENT;
    x->op.uetr = uetr;
    x->op.input = in;
    x->op.event = &x->event;
    if (in == TRK_IN_CANCEL) {
        snprintf(x->msg, sizeof x->msg, "<Envelope><camt.056 n=\"%u\"/></Envelope>", n);
        x->op.msg_name = "camt.056";
        x->op.msg = x->msg;
        x->op.msg_len = strlen(x->msg);
    }
}

int
evx_run(trk_store *s, evx *x)
{
    return submit_wait(s, &x->op);
}

int
input(trk_store *s, const char *uetr, trk_input in, trk_state *to)
{
    static _Atomic unsigned n;
    evx x;
    int rc;

    evx_init(&x, uetr, in, "CRSPUS30XXX", atomic_fetch_add(&n, 1));
    rc = evx_run(s, &x);
    if (to)
        *to = x.op.to_state;
    return rc;
}

trk_state
state_of(trk_store *s, const char *uetr)
{
    trk_payment p;
    trk_state st;

    if (trk_payment_get(s, uetr, &p) != TRK_OK)
        return 0;
    st = p.state;
    trk_payment_clear(&p);
    return st;
}

unsigned
flags_of(trk_store *s, const char *uetr)
{
    trk_payment p;
    unsigned f;

    if (trk_payment_get(s, uetr, &p) != TRK_OK)
        return 0;
    f = p.flags;
    trk_payment_clear(&p);
    return f;
}

void
expect_verified(trk_store *s)
{
    trk_verify_report r;

    assert_int_equal(trk_verify(s, &r), TRK_OK);
    if (r.problems)
        fail_msg("trk_verify: %llu problems, first: %s", (unsigned long long)r.problems,
                 r.first_problem);
}

size_t
dir_count(const char *dir, const char *suffix)
{
    struct dirent *de;
    size_t n = 0, len, ls = suffix ? strlen(suffix) : 0;
    DIR *d = opendir(dir);

    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        len = strlen(de->d_name);
        if (suffix && (len < ls || strcmp(de->d_name + len - ls, suffix) != 0))
            continue;
        n++;
    }
    closedir(d);
    return n;
}
