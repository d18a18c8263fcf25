/*
 * Helpers shared by the tracker tests: temporary store directories, payment fixtures and a
 * synchronous wrapper around trk_submit.
 */
#ifndef CORRIDOR_TESTS_TRK_UTIL_H
#define CORRIDOR_TESTS_TRK_UTIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "tracker.h"

#define FX_DOC_MAX 4096
#define FX_MSG_MAX 4096
#define FX_RESP_MAX 256

/* A mkdtemp directory under /tmp (malloc'd path) and its recursive removal (frees the path). */
char *tmpdir_make(void);
void tmpdir_remove(char *dir);

/* A well-formed lower-case UETR that is unique for each (a, b). */
void uetr_make(char out[37], unsigned a, unsigned b);

/* One complete CREATE: the payment, its first event, a message and the op that refers to them.
 * fx_init fills it for a UETR; the op has no idempotency key and no done callback yet. */
typedef struct fx {
    trk_payment payment;
    trk_event event;
    char doc[FX_DOC_MAX];
    char msg[FX_MSG_MAX];
    char resp[FX_RESP_MAX];
    trk_op op;
} fx;
void fx_init(fx *f, const char *uetr);
void fx_set_idem(fx *f, const char *scope, const char *key, unsigned char digest_seed);
void fx_pad_doc(fx *f, size_t len); /* makes the doc len bytes long */
void fx_pad_msg(fx *f, size_t len); /* makes the message len bytes long */

/* Submits and waits for done. Returns trk_submit's error, or op->rc once done has run. */
int submit_wait(trk_store *s, trk_op *op);

/* A gate that a done callback can wait on, to hold the writer while a test queues ops. */
typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered; /* the writer reached the gate */
    int open;
} gate;
void gate_init(gate *g);
void gate_destroy(gate *g);
void gate_wait_entered(gate *g);
void gate_open(gate *g);
void gate_done(trk_op *op, void *arg); /* done callback: marks entered, waits until open */

/* Counts done calls across threads and lets a test wait for a number of them. */
typedef struct counter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t n;
} counter;
void counter_init(counter *c);
void counter_destroy(counter *c);
void counter_add(counter *c);
void counter_wait(counter *c, size_t n);

/* ---- saga fixtures ------------------------------------------------------------------------ */

#define FX_CCY "EUR"
#define FX_AMOUNT 123456 /* minor units: 1234.56 */

/* Makes the payment funded by `account` (EUR, exponent 2, FX_AMOUNT), with an E2E id and a
 * pacs.008 MsgId (the event's network_ref) of its own, both derived from the UETR. */
void fx_fund(fx *f, const char *account);

/* A settable clock for trk_config.now_ms (thread-safe). */
typedef struct test_clock {
    _Atomic int64_t ms;
} test_clock;
int64_t test_clock_now(void *arg);

/* Creates or updates an account (EUR, exponent 2) and waits. Returns op->rc. */
int account_put(trk_store *s, const char *id, int64_t balance, const char *owner);
int64_t account_balance(trk_store *s, const char *id);
int64_t account_reserved(trk_store *s, const char *id);

/* One TRK_OP_EVENT: an event from `from`, status/reason from the input, a detail, and for
 * TRK_IN_CANCEL a camt.056 ("camt.056", network_ref "C" + n). */
typedef struct evx {
    trk_event event;
    char detail[256];
    char msg[256];
    trk_op op;
} evx;
void evx_init(evx *x, const char *uetr, trk_input in, const char *from, unsigned n);
/* Submits x->op and waits: op->rc. */
int evx_run(trk_store *s, evx *x);
/* Shorthand: one input, no dedup key. Returns op->rc; *to (may be NULL) the state after. */
int input(trk_store *s, const char *uetr, trk_input in, trk_state *to);

trk_state state_of(trk_store *s, const char *uetr);
unsigned flags_of(trk_store *s, const char *uetr);

/* trk_verify must find nothing wrong. */
void expect_verified(trk_store *s);

/* Files in a directory whose names end in `suffix` (NULL = all but . and ..). */
size_t dir_count(const char *dir, const char *suffix);

#endif
