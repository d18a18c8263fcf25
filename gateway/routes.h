/*
 * Route handlers and the context the router hands them. Private to gateway/.
 */
#ifndef CORRIDOR_ROUTES_H
#define CORRIDOR_ROUTES_H

#include "gw_int.h"

struct json_t;

/* What the router resolved before calling a handler. `payment` is loaded (and the principal
 * proven entitled to it) for routes whose ownership rule is a payment; the router clears it
 * after the handler returns, so an asynchronous handler copies what it keeps. */
typedef struct gw_route_ctx {
    char uetr[37];
    char name[40];         /* {name} segment: a message name, an account id (Max34) */
    trk_payment payment;
    int have_payment;
} gw_route_ctx;

typedef void (*gw_handler)(gw_request *req, gw_route_ctx *ctx);

/* Can this principal see this payment? (DESIGN.md "Who sees what"). */
int gw_can_see_payment(const gw_principal *p, const trk_payment *pay);

/* payments.c */
void gw_h_payment_create(gw_request *req, gw_route_ctx *ctx);
void gw_h_payment_get(gw_request *req, gw_route_ctx *ctx);
void gw_h_payment_message(gw_request *req, gw_route_ctx *ctx);
void gw_h_tracker_transactions(gw_request *req, gw_route_ctx *ctx);
void gw_h_healthz(gw_request *req, gw_route_ctx *ctx);
/* payments.c: shared by the JSON and pain.001 paths */
/* Fill a new payment (state VALIDATED) and its first event (CTPT) for one checked
 * instruction whose pacs.008 is described by pp; `origin` (may be NULL) is kept in the
 * stored doc. p->doc and e->detail become owned (trk_payment_clear / trk_event_clear). */
int gw_payment_prepare(trk_payment *p, trk_event *e, const iso_instruction *in,
                       const iso_pacs008_params *pp, const struct json_t *origin);
trk_state gw_accepted_state(const iso_instruction *in); /* SCHEDULED when for a later day */
void gw_funds_refused(gw_request *req, const char *reason, const char *path);
/* A create the store refused (idempotency conflict, UETR taken, funds, store): its answer. */
void gw_respond_create_refused(gw_request *req, const trk_op *op, const char *funds_path);
/* idem.c: 1 when a stored answer (or a key conflict) was given for this request */
int gw_idem_answered(gw_request *req);
/* pain001.c */
void gw_payment_create_pain001(gw_request *req);
void gw_respond_pain002(gw_request *req, const trk_payment *pay);
/* track_page.c */
void gw_h_track_page(gw_request *req, gw_route_ctx *ctx);
/* ops.c */
void gw_h_readyz(gw_request *req, gw_route_ctx *ctx);
void gw_h_metrics(gw_request *req, gw_route_ctx *ctx);
void gw_h_openapi(gw_request *req, gw_route_ctx *ctx); /* docs/openapi.yaml, embedded */

/* views.c: JSON views of a stored payment. Each returns a new reference or NULL. */
struct json_t *gw_view_payment(const trk_payment *pay, const trk_event *ev, size_t n_ev,
                               const char (*messages)[64], size_t n_messages);
struct json_t *gw_view_transaction(const trk_payment *pay, const trk_event *ev, size_t n_ev);
void gw_format_time(int64_t unix_ms, char *buf, size_t size); /* 2026-11-21T10:00:00.000Z */

/* Map a store error to its response (404, 503 ...). */
void gw_respond_store_error(gw_request *req, int trk_rc);

/* ---- The saga's routes ------------------------------------------------------------------ */

/* status.c */
void gw_h_tracker_status(gw_request *req, gw_route_ctx *ctx);
/* messages_in.c */
void gw_h_message_in(gw_request *req, gw_route_ctx *ctx);
/* cancel.c */
void gw_h_payment_cancel(gw_request *req, gw_route_ctx *ctx);
/* accounts.c */
void gw_h_account_put(gw_request *req, gw_route_ctx *ctx);
void gw_h_account_get(gw_request *req, gw_route_ctx *ctx);
/* Create the accounts of a seed file that do not exist yet (start-up; waits for commits). */
int gw_accounts_seed(gw_app *app, const char *path, char *err, size_t errlen);
/* listing.c */
void gw_h_payment_list(gw_request *req, gw_route_ctx *ctx);
void gw_h_tracker_changed(gw_request *req, gw_route_ctx *ctx);

/* step.c: one saga step (TRK_OP_EVENT / TRK_OP_ACCOUNT_PUT) from a request to its commit.
 * The route fills op inputs, `status` and `resp` (the 2xx body, also stored for idempotent
 * replays), then gw_step_submit(); the answer leaves from the writer's callback, on the
 * request's worker: `finish` when set, else gw_step_answer(). */
typedef struct gw_step gw_step;
struct gw_step {
    gw_request *req;
    trk_op op;
    trk_event event;
    trk_account account;
    char uetr[37];
    char dedup[TRK_MAX_DEDUP_KEY + 1];
    char add_chain[12];
    char msg_name[16];
    char *msg;               /* owned */
    size_t msg_len;
    int status;
    char *resp;              /* owned */
    void (*finish)(gw_step *st);
};
gw_step *gw_step_new(gw_request *req);
void gw_step_free(gw_step *st);
void gw_step_submit(gw_step *st); /* on a refusal it answers and frees */
void gw_step_answer(gw_step *st); /* op.rc → response (2xx, replay, 404, 409 ...); frees */

/* body.c: strict JSON bodies and shared helpers of the write routes. */
typedef enum gw_jtype { GW_J_STRING = 1, GW_J_OBJECT, GW_J_ARRAY } gw_jtype;
typedef struct gw_jfield {
    const char *name;
    gw_jtype type;
    int required;
} gw_jfield;
#define GW_TIME_MIN_LEN 20 /* 2026-11-21T10:00:00Z */
int gw_content_type_is(const gw_request *req, const char *type);
void gw_request_digest(const gw_request *req, unsigned char out[32]);
void gw_new_msg_id(char out[36]);
void gw_json_path(char *out, size_t size, const char *base, const char *key);
/* The body as a JSON object, or NULL with a JSON_SYNTAX / TYPE problem (HTTP 400). */
struct json_t *gw_body_json(const gw_request *req, iso_problems *pr);
/* Members of obj (at pointer base) against the table: REQUIRED, TYPE, UNKNOWN_FIELD. Returns
 * 1 when none was found. The getters below assume the shape was checked (types). */
int gw_json_shape(const struct json_t *obj, const char *base, const gw_jfield *f, size_t n,
                  iso_problems *pr);
/* A text member: NULL when absent or invalid (EMPTY, MAX_LENGTH, CHARSET added). */
const char *gw_json_text(const struct json_t *obj, const char *key, const char *base,
                         size_t max, iso_problems *pr);
/* BIC / code from a list / money: 1 read, 0 absent, -1 invalid (problem added). */
int gw_json_bic(const struct json_t *obj, const char *key, const char *base, char out[12],
                iso_problems *pr);
int gw_json_code(const struct json_t *obj, const char *key, const char *base,
                 const char *const *allowed, char *out, size_t size, iso_problems *pr);
int gw_json_money(const struct json_t *obj, const char *key, const char *base, iso_amount *out,
                  iso_problems *pr);
/* The ISO 4217 exponent of a currency Corridor pays in, or -1 (CURRENCY_UNKNOWN added). */
int gw_currency_check(const char *ccy, const char *path, iso_problems *pr);
struct json_t *gw_money_json(int64_t minor, int exponent, const char *currency);
/* Digits only, no sign, at most max. 0 or -1. */
int gw_parse_uint(const char *s, uint64_t max, uint64_t *out);
/* gpi date-time YYYY-MM-DDThh:mm:ss[.fff]Z to Unix ms. 0 or -1. */
int gw_parse_time(const char *s, int64_t *unix_ms);

#endif
