#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    f->payment.state = TRK_FUNDS_RESERVED;
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
