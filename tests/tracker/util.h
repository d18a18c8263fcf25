/*
 * Helpers shared by the tracker tests: temporary store directories, payment fixtures and a
 * synchronous wrapper around trk_submit.
 */
#ifndef CORRIDOR_TESTS_TRK_UTIL_H
#define CORRIDOR_TESTS_TRK_UTIL_H

#include <pthread.h>
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

#endif
