/*
 * tls.h — private to the transport (server.c, tls.c): the server's TLS context and the
 * per-connection handshake. Not for the application side; it sees only gw_int.h.
 *
 * The context is built at start (gw_tls_new) and shared read-only by every worker thread; each
 * connection gets its own SSL (gw_tls_conn_new) bound to its socket and to a gw_tls_peer that
 * the connection owns and the handshake callbacks fill in.
 *
 * Reload (SIGHUP): gw_tls_reload builds a whole new SSL_CTX (certificate, key, client CA, CRL)
 * and swaps it in together with a new registry. An SSL holds a reference to the SSL_CTX it
 * was made from and a peer holds a reference to its registry, so connections already accepted
 * keep both until they close. A failed build leaves the current pair untouched.
 *
 * Policy: TLS 1.3 only unless tls_min_version = 1.2 (then ECDHE + AEAD suites only); no
 * renegotiation, no compression; the key file must not be accessible by group or others and
 * its PEM text is wiped from memory once parsed.
 */
#ifndef CORRIDOR_GW_TLS_H
#define CORRIDOR_GW_TLS_H

#include <openssl/ssl.h>

#include "gw_int.h"

#define GW_TLS_DETAIL_MAX 128 /* a short reason for the log, e.g. an X.509 error string */
#define GW_TLS_VERIFY_DEPTH 4 /* client chain: leaf, intermediates, CA */
#define GW_TLS_SUBJECT_MAX 64 /* the client certificate's CN, for the audit record */
#define GW_TLS_KEY_FILE_MAX (64 * 1024) /* a PEM private key (RSA-4096 is ~3.3 KiB) */
/* TLS 1.3 suites (all AEAD) and the TLS 1.2 ones allowed with tls_min_version = 1.2:
 * forward secrecy (ECDHE) and AEAD only, as RFC 7540 section 9.2.2 also asks of HTTP/2. */
#define GW_TLS13_SUITES "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"
#define GW_TLS12_CIPHERS                                                                          \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                 \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                                 \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"
#define GW_TLS_GROUPS "X25519:P-256:P-384"

typedef struct gw_tls gw_tls;

/*
 * What the handshake learned about the client. Owned by the connection; the SSL points to it
 * (ex_data) so the verify and ALPN callbacks can fill it in on the worker's thread.
 */
typedef struct gw_tls_peer {
    gw_registry *registry;       /* a reference (gw_tls_conn_new); gw_tls_peer_release */
    char subject[GW_TLS_SUBJECT_MAX]; /* the leaf's CN once seen (logs, audit) */
    gw_principal principal;      /* valid once `known` is set */
    int known;
    int failed; /* a callback refused; `fail` and `detail` say why */
    gw_tls_fail fail;
    char detail[GW_TLS_DETAIL_MAX];
} gw_tls_peer;

/* Result of one gw_tls_handshake() step. */
enum gw_tls_step {
    GW_TLS_DONE = 0,   /* TLS 1.3 up, ALPN h2, principal known */
    GW_TLS_WANT_READ,  /* call again when the socket is readable */
    GW_TLS_WANT_WRITE, /* call again when the socket is writable */
    GW_TLS_FAILED,     /* give up: peer->fail and peer->detail say why */
};

/* Certificates, key, client CA and CRL, the protocol policy above, client certificate
 * required, ALPN h2. `registry` is the participants registry lookups use (a new reference is
 * taken). Problems are written into `err`; returns GW_OK or GW_ERR_TLS / GW_ERR_NOMEM. */
int gw_tls_new(gw_tls **out, const gw_config *cfg, gw_registry *registry, char *err,
               size_t errlen);
void gw_tls_free(gw_tls *t);

/* Rebuild the context from the files named in cfg and swap it in with `registry`, whose
 * reference moves in on success (on failure it stays the caller's). Any thread. */
int gw_tls_reload(gw_tls *t, const gw_config *cfg, gw_registry *registry, char *err,
                  size_t errlen);

/* A server-side SSL on the connected, non-blocking socket `fd`, from the current context, with
 * peer->registry set to the current registry; NULL when out of memory. `peer` must outlive the
 * SSL; release it with gw_tls_peer_release once the SSL is freed. Any thread. */
SSL *gw_tls_conn_new(gw_tls *t, int fd, gw_tls_peer *peer);
void gw_tls_peer_release(gw_tls_peer *peer);

/* Advance the handshake; non-blocking. */
int gw_tls_handshake(SSL *ssl, gw_tls_peer *peer);

#ifdef GW_FUZZ_HOOK
/* Test hook (server.c; only in the fuzz build's copy of the library): HTTP/2 request handling
 * fed from memory, one connection of principal `p` at a time, on the caller's thread.
 * gw_fuzz_send hands over what the client sends next (the connection preface first), then
 * waits until every request dispatched so far is answered — it aborts after 10 s: a request
 * left unanswered is a bug — and returns -1 once the connection is closed or cut off. */
typedef struct conn gw_fuzz_conn;
gw_server *gw_fuzz_server_new(const gw_config *cfg, gw_app *app);
void gw_fuzz_server_free(gw_server *srv);
gw_fuzz_conn *gw_fuzz_open(gw_server *srv, const gw_principal *p);
int gw_fuzz_send(gw_fuzz_conn *c, const uint8_t *data, size_t len);
void gw_fuzz_close(gw_fuzz_conn *c);
#endif

#endif
