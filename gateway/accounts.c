/*
 * The embedded ledger's accounts, for operators: PUT /v1/accounts/{id} creates or updates one
 * ({"currency": "EUR", "balance": "100.00", "owner": "ACME-001"}; the balance is set, the
 * difference journalled by the store; reserved funds are the store's), GET reads it with its
 * reserved and available amounts. At start-up the seed file creates the accounts that do not
 * exist yet and never touches the others (gw_accounts_seed).
 */
#include "routes.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ACCOUNT_ID 34
#define MAX_OWNER 35
#define MAX_SEED_BYTES (1024 * 1024)
#define MAX_SEED_ACCOUNTS 10000
#define LINK_MAX 160

static const gw_jfield body_fields[] = {
    {"currency", GW_J_STRING, 1}, {"balance", GW_J_STRING, 1}, {"owner", GW_J_STRING, 0}};
static const gw_jfield seed_fields[] = {{"id", GW_J_STRING, 1},
                                        {"currency", GW_J_STRING, 1},
                                        {"balance", GW_J_STRING, 1},
                                        {"owner", GW_J_STRING, 0}};

/* An account id: 1..34 of letters, digits, '-', '.', '_' (an IBAN or an Othr/Id). */
static int
id_ok(const char *id)
{
    size_t n = strlen(id);

    return n > 0 && n <= MAX_ACCOUNT_ID &&
           strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._") == n;
}

/* "0", "0.00" ...: a balance may be zero, which iso_amount_parse (payment amounts) refuses. */
static int
zero_ok(const char *s, int exponent)
{
    size_t nf;

    if (strcmp(s, "0") == 0)
        return 1;
    if (strncmp(s, "0.", 2) != 0)
        return 0;
    nf = strlen(s + 2);
    return nf > 0 && nf <= (size_t)exponent && strspn(s + 2, "0") == nf;
}

/* The account's fields from a body (at pointer base): every problem listed. */
static void
read_account(const json_t *obj, const char *base, trk_account *a, iso_problems *pr)
{
    char path[128];
    const char *ccy = json_string_value(json_object_get(obj, "currency"));
    const char *bal = json_string_value(json_object_get(obj, "balance"));
    const char *owner = gw_json_text(obj, "owner", base, MAX_OWNER, pr);
    int e = -1;

    if (ccy != NULL) {
        gw_json_path(path, sizeof(path), base, "currency");
        e = gw_currency_check(ccy, path, pr);
    }
    if (e >= 0) {
        snprintf(a->currency, sizeof(a->currency), "%s", ccy);
        a->exponent = e;
    }
    gw_json_path(path, sizeof(path), base, "balance");
    if (bal != NULL && e >= 0 && !zero_ok(bal, e) && iso_amount_parse(bal, e, &a->balance) != ISO_OK)
        iso_problems_add(pr, path, "AMOUNT_INVALID",
                         "must be a decimal string, zero or more, with at most %d decimals", e);
    if (owner != NULL)
        snprintf(a->owner, sizeof(a->owner), "%s", owner);
}

static void
set_amount(json_t *o, const char *key, int64_t minor, int exponent)
{
    char amt[32];

    if (iso_amount_format(minor, exponent, amt, sizeof(amt)) == ISO_OK)
        json_object_set_new(o, key, json_string(amt));
}

/* The account as put (full = 0: what the request set, so a replay is the same) or as stored. */
static json_t *
account_json(const trk_account *a, int full)
{
    char self[LINK_MAX], t[32];
    json_t *o = json_pack("{s:s,s:s}", "id", a->id, "currency", a->currency);

    if (o == NULL)
        return NULL;
    set_amount(o, "balance", a->balance, a->exponent);
    if (a->owner[0] != '\0')
        json_object_set_new(o, "owner", json_string(a->owner));
    if (full) {
        set_amount(o, "reserved", a->reserved, a->exponent);
        set_amount(o, "available", a->balance - a->reserved, a->exponent);
        gw_format_time(a->updated_ms, t, sizeof(t));
        json_object_set_new(o, "updated_at", json_string(t));
    }
    snprintf(self, sizeof(self), "/v1/accounts/%s", a->id);
    json_object_set_new(o, "links", json_pack("{s:s}", "self", self));
    return o;
}

static int
id_from_path(gw_request *req, const char *id)
{
    iso_problems pr;

    if (id_ok(id))
        return 0;
    iso_problems_init(&pr);
    iso_problems_add(&pr, "id", "ACCOUNT_ID_INVALID",
                     "an account id is 1 to 34 letters, digits, '-', '.' or '_'");
    gw_respond_error(req, 404, "ACCOUNT_NOT_FOUND", "no such account", &pr);
    return -1;
}

void
gw_h_account_get(gw_request *req, gw_route_ctx *ctx)
{
    trk_account a;
    int rc;

    if (id_from_path(req, ctx->name) != 0)
        return;
    rc = trk_account_get(req->app->store, ctx->name, &a);
    if (rc == TRK_ERR_NOTFOUND)
        gw_respond_error(req, 404, "ACCOUNT_NOT_FOUND", "no such account", NULL);
    else if (rc != TRK_OK)
        gw_respond_store_error(req, rc);
    else
        gw_respond_json(req, 200, account_json(&a, 1), NULL, 0);
}

static int
read_put(gw_request *req, const char *id, trk_account *a)
{
    iso_problems pr;
    json_t *body;

    memset(a, 0, sizeof(*a));
    iso_problems_init(&pr);
    if (!gw_content_type_is(req, "application/json")) {
        gw_respond_error(req, 415, "UNSUPPORTED_MEDIA_TYPE", "this route takes application/json",
                         NULL);
        return -1;
    }
    if ((body = gw_body_json(req, &pr)) == NULL) {
        gw_respond_error(req, 400, "MALFORMED_JSON", "the body is not a JSON object", &pr);
        return -1;
    }
    gw_json_shape(body, "", body_fields, 3, &pr);
    read_account(body, "", a, &pr);
    json_decref(body);
    snprintf(a->id, sizeof(a->id), "%s", id);
    if (pr.n == 0 && pr.dropped == 0)
        return 0;
    gw_respond_error(req, 422, "INVALID_ACCOUNT", "the account breaks the rules", &pr);
    return -1;
}

/* A currency change with funds reserved, or a balance below them: say which. */
static void
finish(gw_step *st)
{
    if (st->op.rc == TRK_ERR_STATE) {
        gw_respond_error(st->req, 409, "ACCOUNT_IN_USE",
                         "funds are reserved on this account: its currency cannot change and its "
                         "balance cannot fall below them",
                         NULL);
        gw_step_free(st);
        return;
    }
    gw_step_answer(st);
}

void
gw_h_account_put(gw_request *req, gw_route_ctx *ctx)
{
    trk_account before;
    gw_step *st;

    if (id_from_path(req, ctx->name) != 0 || (st = gw_step_new(req)) == NULL)
        return;
    if (read_put(req, ctx->name, &st->account) != 0) {
        gw_step_free(st);
        return;
    }
    /* 201 for a new account; an operator racing another on the same id gets 200 or 201 */
    st->status = trk_account_get(req->app->store, ctx->name, &before) == TRK_OK ? 200 : 201;
    json_t *b = account_json(&st->account, 0);
    st->resp = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    if (st->resp == NULL) {
        gw_respond_error(req, 503, "OUT_OF_MEMORY", "try again later", NULL);
        gw_step_free(st);
        return;
    }
    st->op.kind = TRK_OP_ACCOUNT_PUT;
    st->op.account = &st->account;
    st->finish = finish;
    gw_step_submit(st);
}

/* ---- Seeding at start-up ---------------------------------------------------------------- */

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
} waiter;

static void
seed_done(trk_op *op, void *arg)
{
    waiter *w = arg;
    (void)op;
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* One account, created only if missing; waits for the commit. */
static int
seed_one(trk_store *store, const trk_account *a)
{
    waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    trk_op op;

    memset(&op, 0, sizeof(op));
    op.kind = TRK_OP_ACCOUNT_PUT;
    op.account = a;
    op.account_create_only = 1;
    op.done = seed_done;
    op.arg = &w;
    int rc = trk_submit(store, &op);
    if (rc != TRK_OK)
        return rc;
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    return op.rc == TRK_ERR_EXISTS ? TRK_OK : op.rc;
}

/* The file's text, at most MAX_SEED_BYTES. */
static char *
read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;

    if (f == NULL) {
        snprintf(err, errlen, "accounts_seed %s: %s", path, strerror(errno));
        return NULL;
    }
    if ((buf = malloc(MAX_SEED_BYTES + 1)) != NULL) {
        *len = fread(buf, 1, MAX_SEED_BYTES + 1, f);
        if (*len > MAX_SEED_BYTES || ferror(f)) {
            snprintf(err, errlen, "accounts_seed %s: unreadable or over %d bytes", path,
                     MAX_SEED_BYTES);
            free(buf);
            buf = NULL;
        }
    } else {
        snprintf(err, errlen, "accounts_seed: out of memory");
    }
    fclose(f);
    return buf;
}

static json_t *
load_seed(const char *path, char *err, size_t errlen)
{
    json_error_t e;
    size_t len = 0;
    char *text = read_file(path, &len, err, errlen);
    json_t *root = text ? json_loadb(text, len, JSON_REJECT_DUPLICATES, &e) : NULL;
    json_t *list = json_object_get(root, "accounts");

    if (text != NULL && root == NULL)
        snprintf(err, errlen, "accounts_seed %s:%d:%d: %s", path, e.line, e.column, e.text);
    free(text);
    if (root == NULL)
        return NULL;
    if (!json_is_array(list) || json_object_size(root) != 1 ||
        json_array_size(list) > MAX_SEED_ACCOUNTS) {
        snprintf(err, errlen, "accounts_seed %s: expected {\"accounts\": [...]} with at most %d",
                 path, MAX_SEED_ACCOUNTS);
        json_decref(root);
        return NULL;
    }
    json_incref(list);
    json_decref(root);
    return list;
}

/* Every entry checked before any is written: a bad file changes nothing. */
static int
seed_read(json_t *list, trk_account *out, char *err, size_t errlen, const char *file)
{
    iso_problems pr;
    char base[64];

    iso_problems_init(&pr);
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *o = json_array_get(list, i);
        snprintf(base, sizeof(base), "/accounts/%zu", i);
        memset(&out[i], 0, sizeof(out[i]));
        if (!json_is_object(o)) {
            iso_problems_add(&pr, base, "TYPE", "must be an object");
            continue;
        }
        gw_json_shape(o, base, seed_fields, 4, &pr);
        read_account(o, base, &out[i], &pr);
        const char *id = json_string_value(json_object_get(o, "id"));
        if (id != NULL && !id_ok(id))
            iso_problems_add(&pr, base, "ACCOUNT_ID_INVALID", "bad account id");
        snprintf(out[i].id, sizeof(out[i].id), "%s", id ? id : "");
    }
    if (pr.n == 0)
        return 0;
    snprintf(err, errlen, "accounts_seed %s: %s %s: %s (%zu problems)", file, pr.items[0].path,
             pr.items[0].code, pr.items[0].text, pr.n + pr.dropped);
    return -1;
}

int
gw_accounts_seed(gw_app *app, const char *path, char *err, size_t errlen)
{
    trk_account *accts = NULL;
    json_t *list;
    int rc = GW_ERR_CONFIG;

    if (strcmp(path, "none") == 0)
        return GW_OK;
    if ((list = load_seed(path, err, errlen)) == NULL)
        return GW_ERR_CONFIG;
    accts = calloc(json_array_size(list) + 1, sizeof(*accts));
    if (accts == NULL) {
        rc = GW_ERR_NOMEM;
        goto out;
    }
    if (seed_read(list, accts, err, errlen, path) != 0)
        goto out;
    for (size_t i = 0; i < json_array_size(list); i++) {
        int trc = seed_one(app->store, &accts[i]);
        if (trc != TRK_OK) {
            snprintf(err, errlen, "accounts_seed %s: account %s: %s", path, accts[i].id,
                     trk_strerror(trc));
            rc = GW_ERR_STORE;
            goto out;
        }
    }
    rc = GW_OK;
out:
    free(accts);
    json_decref(list);
    return rc;
}
