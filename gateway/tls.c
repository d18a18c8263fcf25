/*
 * tls.c — the server's TLS: OpenSSL 3, TLS 1.3 only, a client certificate required and
 * verified against the configured CA, the certificate mapped to a participant (principal)
 * during the handshake, ALPN "h2" or nothing.
 *
 * Unknown certificates are refused inside the verify callback, so they never finish the
 * handshake (DESIGN.md: 401 is not used); so are expired, not-yet-valid and revoked ones (the
 * CRL file, checked for the leaf). A resumed session skips the callback; its certificate (kept
 * in the session) is looked up again once the handshake is done. A reload makes a new
 * context, whose session tickets the old one cannot have issued: after a SIGHUP every client
 * goes through the full verification once more.
 */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

/* Wire form of the one protocol we speak (RFC 7301: length-prefixed). */
static const unsigned char alpn_h2[] = {2, 'h', '2'};
#define ALPN_H2_LEN 2

/* Binds cached sessions to this service (required when client certificates are verified). */
static const unsigned char session_ctx[] = "corridor-gateway";

struct gw_tls {
    pthread_mutex_t mu;    /* guards the pair below: read at accept, swapped at reload */
    SSL_CTX *ctx;
    gw_registry *registry; /* a reference */
};

static const char *const fail_names[GW_TLS_FAIL_COUNT] = {
    [GW_TLS_FAIL_NO_CERT] = "no_client_cert",
    [GW_TLS_FAIL_BAD_CERT] = "bad_client_cert",
    [GW_TLS_FAIL_UNKNOWN] = "unknown_participant",
    [GW_TLS_FAIL_NO_H2] = "no_h2",
    [GW_TLS_FAIL_PROTOCOL] = "protocol",
    [GW_TLS_FAIL_TIMEOUT] = "timeout",
    [GW_TLS_FAIL_CLOSED] = "closed",
    [GW_TLS_FAIL_CONN_LIMIT] = "conn_limit",
};

const char *
gw_tls_fail_name(gw_tls_fail reason)
{
    if ((unsigned)reason >= GW_TLS_FAIL_COUNT)
        return "unknown";
    return fail_names[reason];
}

/* ---- The SSL -> gw_tls_peer link -------------------------------------------------------- */

static int peer_idx = -1;
static int crl_idx = -1; /* on the SSL_CTX: non-NULL when client certificates need a CRL */
static pthread_once_t peer_idx_once = PTHREAD_ONCE_INIT;

static void
peer_idx_init(void)
{
    peer_idx = SSL_get_ex_new_index(0, "gw_tls_peer", NULL, NULL, NULL);
    crl_idx = SSL_CTX_get_ex_new_index(0, "gw_tls_crl", NULL, NULL, NULL);
}

static void
peer_refuse(gw_tls_peer *peer, gw_tls_fail why, const char *detail)
{
    /* The first reason wins: later callbacks only see the consequences. */
    if (peer == NULL || peer->failed)
        return;
    peer->failed = 1;
    peer->fail = why;
    snprintf(peer->detail, sizeof peer->detail, "%s", detail);
}

/* The certificate's CN, printable ASCII only (it goes into logs and the audit file). */
static void
cert_subject(X509 *cert, char *out, size_t size)
{
    X509_NAME *name = cert ? X509_get_subject_name(cert) : NULL;
    int idx = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
    const ASN1_STRING *cn;
    size_t n = 0;

    out[0] = '\0';
    if (idx < 0)
        return;
    cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    for (int i = 0; i < ASN1_STRING_length(cn) && n + 1 < size; i++) {
        unsigned char ch = ASN1_STRING_get0_data(cn)[i];
        out[n++] = (ch >= ' ' && ch < 0x7f && ch != '"' && ch != '\\') ? (char)ch : '?';
    }
    out[n] = '\0';
}

/* ---- Callbacks (run inside SSL_do_handshake, on the connection's worker thread) ------------ */

/*
 * Revocation of the leaf, from the CRLs in the store (ctx_load_crl). Their signatures, issuer
 * and dates were checked when they were loaded, so only the lookup and the freshness are left
 * for each handshake; X509_V_FLAG_CRL_CHECK would verify the CRL's signature again on every
 * one (~17 % of a handshake's instructions). X509_V_OK, or the error OpenSSL's check reports.
 */
static int
leaf_revocation(X509_STORE_CTX *x, X509 *leaf)
{
    STACK_OF(X509_CRL) *crls = X509_STORE_CTX_get1_crls(x, X509_get_issuer_name(leaf));
    X509_REVOKED *rev = NULL;
    int err = X509_V_ERR_UNABLE_TO_GET_CRL;

    for (int i = 0; i < sk_X509_CRL_num(crls); i++) {
        X509_CRL *crl = sk_X509_CRL_value(crls, i);
        const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);

        if (next != NULL && X509_cmp_current_time(next) < 0) {
            err = X509_V_ERR_CRL_HAS_EXPIRED;
            continue;
        }
        if (X509_CRL_get0_by_cert(crl, &rev, leaf) == 1) {
            err = X509_V_ERR_CERT_REVOKED;
            break;
        }
        err = X509_V_OK;
    }
    sk_X509_CRL_pop_free(crls, X509_CRL_free);
    return err;
}

/*
 * Chain errors are OpenSSL's to find (expired, not yet valid, unknown issuer); ours is the
 * leaf at depth 0 with a chain that verified: not revoked (when a CRL is configured), and a
 * participant, else the handshake fails right here.
 */
static int
verify_cb(int preverify_ok, X509_STORE_CTX *x)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
    gw_tls_peer *peer = ssl ? SSL_get_ex_data(ssl, peer_idx) : NULL;

    if (peer == NULL)
        return 0;
    if (peer->subject[0] == '\0')
        cert_subject(X509_STORE_CTX_get0_cert(x), peer->subject, sizeof peer->subject);
    if (!preverify_ok) {
        peer_refuse(peer, GW_TLS_FAIL_BAD_CERT,
                    X509_verify_cert_error_string(X509_STORE_CTX_get_error(x)));
        return 0;
    }
    if (X509_STORE_CTX_get_error_depth(x) != 0)
        return 1;
    if (SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), crl_idx) != NULL) {
        int err = leaf_revocation(x, X509_STORE_CTX_get_current_cert(x));
        if (err != X509_V_OK) {
            peer_refuse(peer, GW_TLS_FAIL_BAD_CERT, X509_verify_cert_error_string(err));
            X509_STORE_CTX_set_error(x, err);
            return 0;
        }
    }
    if (!gw_registry_lookup(peer->registry, X509_STORE_CTX_get_current_cert(x), &peer->principal)) {
        peer_refuse(peer, GW_TLS_FAIL_UNKNOWN, "certificate is not a participant");
        X509_STORE_CTX_set_error(x, X509_V_ERR_APPLICATION_VERIFICATION);
        return 0;
    }
    peer->known = 1;
    return 1;
}

/* Walks the client's length-prefixed list itself (bounds-checked) rather than trusting
 * SSL_select_next_proto with an empty or malformed list. */
static int
alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
        unsigned int inlen, void *arg)
{
    gw_tls_peer *peer = SSL_get_ex_data(ssl, peer_idx);
    unsigned int i = 0;

    (void)arg;
    while (i < inlen) {
        unsigned int len = in[i];
        if (len == 0 || len > inlen - i - 1)
            break;
        if (len == ALPN_H2_LEN && memcmp(in + i + 1, alpn_h2 + 1, ALPN_H2_LEN) == 0) {
            *out = in + i + 1;
            *outlen = (unsigned char)len;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + len;
    }
    peer_refuse(peer, GW_TLS_FAIL_NO_H2, "client did not offer h2");
    return SSL_TLSEXT_ERR_ALERT_FATAL; /* no_application_protocol */
}

/* ---- Context ------------------------------------------------------------------------------ */

static int
tls_fail(char *err, size_t errlen, const char *what, const char *path)
{
    const char *why = ERR_reason_error_string(ERR_peek_last_error());

    snprintf(err, errlen, "%s%s%s: %s", what, path ? " " : "", path ? path : "",
             why ? why : "unknown OpenSSL error");
    ERR_clear_error();
    return GW_ERR_TLS;
}

/* No prompt for a passphrase: an encrypted key is refused, never waited for on a terminal. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

/*
 * The key file, read whole into a buffer we own so that its PEM text can be wiped. Checked on
 * the open descriptor (no race with a rename): a regular file, no access for group or others,
 * not larger than a key can be.
 */
static int
key_file_read(const char *path, unsigned char **buf, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), rc = GW_ERR_TLS;

    *buf = NULL;
    if (fd < 0) {
        snprintf(err, errlen, "cannot open the server key %s: %s", path, strerror(errno));
        return GW_ERR_TLS;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "the server key %s is not a regular file", path);
    } else if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        snprintf(err, errlen,
                 "the server key %s is accessible by group or others (mode %04o): "
                 "chmod 600 it", path, (unsigned)(st.st_mode & 07777));
    } else if (st.st_size <= 0 || st.st_size > GW_TLS_KEY_FILE_MAX) {
        snprintf(err, errlen, "the server key %s is empty or larger than %d bytes", path,
                 GW_TLS_KEY_FILE_MAX);
    } else if ((*buf = OPENSSL_secure_malloc((size_t)st.st_size)) == NULL) {
        snprintf(err, errlen, "out of memory reading the server key");
        rc = GW_ERR_NOMEM;
    } else if ((n = read(fd, *buf, (size_t)st.st_size)) != (ssize_t)st.st_size) {
        snprintf(err, errlen, "cannot read the server key %s: %s", path,
                 n < 0 ? strerror(errno) : "short read");
    } else {
        *len = (size_t)n;
        rc = GW_OK;
    }
    close(fd);
    if (rc != GW_OK && *buf != NULL) {
        OPENSSL_secure_clear_free(*buf, (size_t)st.st_size);
        *buf = NULL;
    }
    return rc;
}

/* Parse the key from our buffer, then wipe the buffer whatever happened. */
static int
ctx_load_key(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
    unsigned char *pem;
    size_t len = 0;
    EVP_PKEY *key = NULL;
    BIO *bio;
    int rc = key_file_read(path, &pem, &len, err, errlen);

    if (rc != GW_OK)
        return rc;
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio != NULL)
        key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    OPENSSL_secure_clear_free(pem, len); /* cleansed, then freed */
    if (key == NULL)
        return tls_fail(err, errlen, "cannot parse the server key (PEM, unencrypted)", path);
    rc = SSL_CTX_use_PrivateKey(ctx, key) == 1
             ? GW_OK
             : tls_fail(err, errlen, "cannot use the server key", path);
    EVP_PKEY_free(key); /* the context holds its own reference */
    return rc;
}

static int
ctx_load_identity(SSL_CTX *ctx, const gw_config *cfg, char *err, size_t errlen)
{
    int rc;

    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1)
        return tls_fail(err, errlen, "cannot load the server certificate", cfg->cert_file);
    if ((rc = ctx_load_key(ctx, cfg->key_file, err, errlen)) != GW_OK)
        return rc;
    if (SSL_CTX_check_private_key(ctx) != 1)
        return tls_fail(err, errlen, "the server key does not match its certificate",
                        cfg->key_file);
    return GW_OK;
}

static int
ctx_load_client_ca(SSL_CTX *ctx, const gw_config *cfg, char *err, size_t errlen)
{
    STACK_OF(X509_NAME) * names;

    if (SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) != 1)
        return tls_fail(err, errlen, "cannot load the client CA", cfg->ca_file);
    /* Sent in CertificateRequest so clients holding several certificates pick ours. */
    names = SSL_load_client_CA_file(cfg->ca_file);
    if (names == NULL)
        return tls_fail(err, errlen, "no CA names in", cfg->ca_file);
    SSL_CTX_set_client_CA_list(ctx, names); /* the context owns `names` now */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
    SSL_CTX_set_verify_depth(ctx, GW_TLS_VERIFY_DEPTH);
    return GW_OK;
}

/* The CA in `store` that signed `crl`, or NULL. */
static X509 *
crl_issuer(X509_STORE *store, X509_CRL *crl)
{
    STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);

    for (int i = 0; i < sk_X509_OBJECT_num(objs); i++) {
        X509 *ca = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
        if (ca != NULL && X509_NAME_cmp(X509_get_subject_name(ca), X509_CRL_get_issuer(crl)) == 0 &&
            X509_CRL_verify(crl, X509_get0_pubkey(ca)) == 1)
            return ca;
    }
    return NULL;
}

/* A CRL that would refuse everyone (not signed by our CA, stale) is refused here instead, with
 * a reason, so that a bad file never replaces a good one on reload. */
static int
crl_check(X509_STORE *store, X509_CRL *crl, const char *path, char *err, size_t errlen)
{
    const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);

    if (crl_issuer(store, crl) == NULL) {
        snprintf(err, errlen, "%s: a CRL not signed by the client CA (ca_file)", path);
        return GW_ERR_TLS;
    }
    if (X509_cmp_current_time(X509_CRL_get0_lastUpdate(crl)) > 0) {
        snprintf(err, errlen, "%s: a CRL issued in the future", path);
        return GW_ERR_TLS;
    }
    if (next != NULL && X509_cmp_current_time(next) < 0) {
        snprintf(err, errlen, "%s: a CRL past its next update: issue a fresh one", path);
        return GW_ERR_TLS;
    }
    return GW_OK;
}

/* Every CRL in the PEM file, checked, added; revocation then checked for the leaf. */
static int
ctx_load_crl(SSL_CTX *ctx, const gw_config *cfg, char *err, size_t errlen)
{
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    X509_CRL *crl;
    int n = 0, rc = GW_OK;
    BIO *bio;

    if (strcmp(cfg->crl_file, "none") == 0)
        return GW_OK;
    ERR_clear_error(); /* the end of the file is told by the error it leaves */
    if ((bio = BIO_new_file(cfg->crl_file, "r")) == NULL)
        return tls_fail(err, errlen, "cannot open the CRL", cfg->crl_file);
    while (rc == GW_OK && (crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL) {
        rc = crl_check(store, crl, cfg->crl_file, err, errlen);
        if (rc == GW_OK && X509_STORE_add_crl(store, crl) != 1)
            rc = tls_fail(err, errlen, "cannot add the CRL", cfg->crl_file);
        X509_CRL_free(crl);
        n++;
    }
    BIO_free(bio);
    if (rc != GW_OK)
        return rc;
    if (n == 0 || ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE)
        return tls_fail(err, errlen, n ? "a damaged CRL in" : "no CRL in", cfg->crl_file);
    ERR_clear_error(); /* the end of the file */
    if (SSL_CTX_set_ex_data(ctx, crl_idx, (void *)store) != 1) /* checked in verify_cb */
        return tls_fail(err, errlen, "cannot mark the CRL as required", NULL);
    return GW_OK;
}

static int
ctx_set_protocol(SSL_CTX *ctx, const gw_config *cfg, char *err, size_t errlen)
{
    int min = strcmp(cfg->tls_min_version, "1.2") == 0 ? TLS1_2_VERSION : TLS1_3_VERSION;

    if (SSL_CTX_set_min_proto_version(ctx, min) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
        return tls_fail(err, errlen, "cannot set the TLS versions", NULL);
    if (SSL_CTX_set_ciphersuites(ctx, GW_TLS13_SUITES) != 1 ||
        SSL_CTX_set_cipher_list(ctx, GW_TLS12_CIPHERS) != 1 ||
        SSL_CTX_set1_groups_list(ctx, GW_TLS_GROUPS) != 1)
        return tls_fail(err, errlen, "cannot set the cipher suites", NULL);
    /* Renegotiation (TLS 1.2 only) is off both ways; OpenSSL 3 already refuses a client's
     * unless SSL_OP_ALLOW_CLIENT_RENEGOTIATION, which is never set. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
    /* The transport retries writes from a buffer it may compact, and writes what it can. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    /* One TLS 1.3 ticket per full handshake, not OpenSSL's two: a channel resumes one
     * connection at a time, and each ticket costs the server a copy of the session with the
     * client's certificate decoded again (~10 % of a handshake's CPU with OpenSSL 3.0). */
    SSL_CTX_set_num_tickets(ctx, 1);
    if (SSL_CTX_set_session_id_context(ctx, session_ctx, sizeof session_ctx - 1) != 1)
        return tls_fail(err, errlen, "cannot set the session id context", NULL);
    /* A client offering ALPN without h2 is refused in alpn_cb; one offering no ALPN at all is
     * refused once the handshake is done (handshake_done), not at its ClientHello: TLS
     * scanners (testssl.sh) probe without ALPN and must see the real ServerHello to report
     * the protocol and cipher policy. Either way it never reaches HTTP/2. */
    SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
    return GW_OK;
}

/* A complete context from the files named in cfg, or NULL with `err` saying why. */
static SSL_CTX *
ctx_build(const gw_config *cfg, char *err, size_t errlen, int *rc)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (ctx == NULL) {
        *rc = tls_fail(err, errlen, "cannot create the TLS context", NULL);
        return NULL;
    }
    if ((*rc = ctx_set_protocol(ctx, cfg, err, errlen)) != GW_OK ||
        (*rc = ctx_load_identity(ctx, cfg, err, errlen)) != GW_OK ||
        (*rc = ctx_load_client_ca(ctx, cfg, err, errlen)) != GW_OK ||
        (*rc = ctx_load_crl(ctx, cfg, err, errlen)) != GW_OK) {
        SSL_CTX_free(ctx);
        ERR_clear_error();
        return NULL;
    }
    return ctx;
}

int
gw_tls_new(gw_tls **out, const gw_config *cfg, gw_registry *registry, char *err, size_t errlen)
{
    gw_tls *t;
    int rc;

    *out = NULL;
    pthread_once(&peer_idx_once, peer_idx_init);
    if (peer_idx < 0 || crl_idx < 0) {
        snprintf(err, errlen, "cannot allocate an OpenSSL ex_data index");
        return GW_ERR_NOMEM;
    }
    t = calloc(1, sizeof *t);
    if (t == NULL || pthread_mutex_init(&t->mu, NULL) != 0) {
        free(t);
        snprintf(err, errlen, "out of memory building the TLS context");
        return GW_ERR_NOMEM;
    }
    t->ctx = ctx_build(cfg, err, errlen, &rc);
    if (t->ctx == NULL) {
        pthread_mutex_destroy(&t->mu);
        free(t);
        return rc;
    }
    t->registry = gw_registry_acquire(&registry);
    *out = t;
    return GW_OK;
}

int
gw_tls_reload(gw_tls *t, const gw_config *cfg, gw_registry *registry, char *err, size_t errlen)
{
    SSL_CTX *fresh, *old;
    int rc;

    fresh = ctx_build(cfg, err, errlen, &rc);
    if (fresh == NULL)
        return rc;
    pthread_mutex_lock(&t->mu);
    old = t->ctx;
    t->ctx = fresh;
    gw_registry_replace(&t->registry, registry);
    pthread_mutex_unlock(&t->mu);
    SSL_CTX_free(old); /* connections made from it hold their own references */
    return GW_OK;
}

void
gw_tls_free(gw_tls *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->ctx);
    gw_registry_free(t->registry);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

SSL *
gw_tls_conn_new(gw_tls *t, int fd, gw_tls_peer *peer)
{
    SSL *ssl;

    pthread_mutex_lock(&t->mu);
    ssl = SSL_new(t->ctx);
    peer->registry = ssl ? gw_registry_acquire(&t->registry) : NULL;
    pthread_mutex_unlock(&t->mu);
    if (ssl == NULL)
        return NULL;
    if (SSL_set_fd(ssl, fd) != 1 || SSL_set_ex_data(ssl, peer_idx, peer) != 1) {
        SSL_free(ssl);
        gw_tls_peer_release(peer);
        ERR_clear_error();
        return NULL;
    }
    SSL_set_accept_state(ssl);
    return ssl;
}

void
gw_tls_peer_release(gw_tls_peer *peer)
{
    gw_registry_free(peer->registry);
    peer->registry = NULL;
}

/* ---- Handshake ------------------------------------------------------------------------- */

static gw_tls_fail
classify_ssl_reason(int reason)
{
    switch (reason) {
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return GW_TLS_FAIL_NO_CERT;
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
        return GW_TLS_FAIL_BAD_CERT;
    case SSL_R_NO_APPLICATION_PROTOCOL:
        return GW_TLS_FAIL_NO_H2;
    case SSL_R_UNEXPECTED_EOF_WHILE_READING:
        return GW_TLS_FAIL_CLOSED;
    default:
        return GW_TLS_FAIL_PROTOCOL;
    }
}

/* Why SSL_do_handshake returned `rv`. The error queue is this thread's; leave it empty. */
static int
handshake_failed(SSL *ssl, int rv, gw_tls_peer *peer)
{
    int err = SSL_get_error(ssl, rv);
    unsigned long e = ERR_peek_error();
    const char *why;

    if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && e == 0)) {
        peer_refuse(peer, GW_TLS_FAIL_CLOSED, errno ? strerror(errno) : "end of stream");
    } else {
        why = ERR_reason_error_string(e);
        peer_refuse(peer, classify_ssl_reason(ERR_GET_REASON(e)), why ? why : "TLS error");
    }
    ERR_clear_error();
    return GW_TLS_FAILED;
}

/* TLS is up: the connection must have chosen h2 and belong to a participant. */
static int
handshake_done(SSL *ssl, gw_tls_peer *peer)
{
    const unsigned char *proto = NULL;
    unsigned int len = 0;
    X509 *cert;

    SSL_get0_alpn_selected(ssl, &proto, &len);
    if (len != ALPN_H2_LEN || memcmp(proto, alpn_h2 + 1, ALPN_H2_LEN) != 0) {
        peer_refuse(peer, GW_TLS_FAIL_NO_H2, "no protocol was negotiated");
        return GW_TLS_FAILED;
    }
    if (peer->known)
        return GW_TLS_DONE;
    /* Resumed session: the verify callback did not run; the certificate came with it. */
    cert = SSL_get0_peer_certificate(ssl);
    if (cert == NULL || SSL_get_verify_result(ssl) != X509_V_OK) {
        peer_refuse(peer, GW_TLS_FAIL_BAD_CERT, "resumed session without a verified certificate");
        return GW_TLS_FAILED;
    }
    if (!gw_registry_lookup(peer->registry, cert, &peer->principal)) {
        peer_refuse(peer, GW_TLS_FAIL_UNKNOWN, "certificate is not a participant");
        return GW_TLS_FAILED;
    }
    peer->known = 1;
    return GW_TLS_DONE;
}

int
gw_tls_handshake(SSL *ssl, gw_tls_peer *peer)
{
    int rv;

    ERR_clear_error();
    errno = 0;
    rv = SSL_do_handshake(ssl);
    if (rv == 1)
        return handshake_done(ssl, peer);
    switch (SSL_get_error(ssl, rv)) {
    case SSL_ERROR_WANT_READ:
        return GW_TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return GW_TLS_WANT_WRITE;
    default:
        return handshake_failed(ssl, rv, peer);
    }
}
