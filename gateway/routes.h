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
    char name[32];         /* {name} segment, e.g. a message name */
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

/* views.c: JSON views of a stored payment. Each returns a new reference or NULL. */
struct json_t *gw_view_payment(const trk_payment *pay, const trk_event *ev, size_t n_ev);
struct json_t *gw_view_transaction(const trk_payment *pay, const trk_event *ev, size_t n_ev);
void gw_format_time(int64_t unix_ms, char *buf, size_t size); /* 2026-11-21T10:00:00.000Z */

/* Map a store error to its response (404, 503 ...). */
void gw_respond_store_error(gw_request *req, int trk_rc);

#endif
