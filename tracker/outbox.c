/*
 * outbox — messages leaving Corridor: the outbox entries (written by the saga's steps) and
 * the delivery thread that hands them to the spool directory.
 *
 * At-least-once, never lost: an entry is removed only by an internal op submitted after its
 * file is renamed into place and the directory is fsync'd; a crash in between leaves the
 * entry, and the next delivery finds the file already there and writes nothing (never two
 * files for one MsgId). The delivery thread only reads the store; its removals go through
 * the writer like every other change.
 *
 * Local cancels and delivery exclude each other under deliver_mu (see trk_int.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "record.h"
#include "trk_int.h"

#define CHUNK 64      /* entries delivered between two waits for the writer */
#define UNSEND_MAX 16 /* entries of one payment a local cancel looks at */
#define FILE_MODE 0600
#define TMP_SUFFIX ".xml.tmp"
#define XML_SUFFIX ".xml"
#define FLUSH_TRIES 1000 /* flush: passes without progress before giving up */
#define FLUSH_PAUSE_NS 1000000L

enum { SKIPPED = 1 }; /* deliver_one: the entry is not for delivery now */

/* ---- entries (writer thread, inside the op's txn) ---------------------------------------- */

int
trk_outbox_put(trk_store *s, MDB_txn *txn, const uint8_t pkey[REC_PKEY_LEN], const char *name,
               const char *msg_id)
{
    uint8_t key[REC_SEQ64_LEN], ukey[REC_OUTBOX_UETR_KEY_LEN], *dst;
    rec_outbox ob;
    uint64_t seq;
    size_t len;
    int rc;

    memset(&ob, 0, sizeof ob);
    memcpy(ob.pkey, pkey, REC_PKEY_LEN);
    snprintf(ob.name, sizeof ob.name, "%s", name);
    snprintf(ob.msg_id, sizeof ob.msg_id, "%s", msg_id);
    len = rec_outbox_size(&ob);
    if (!len)
        return TRK_ERR_INVALID;
    rc = trk_counter_next(s, txn, TRK_META_OUTBOX_SEQ, &seq);
    if (rc)
        return rc;
    rec_seq64_key(seq, key);
    rc = trk_put_reserved(txn, s->dbi[TRK_DB_OUTBOX], key, sizeof key, len, MDB_NOOVERWRITE, &dst);
    if (!rc)
        rc = rec_outbox_encode(&ob, dst, len);
    if (rc)
        return rc;
    rec_outbox_uetr_key(pkey, seq, ukey);
    return trk_put_mark(txn, s->dbi[TRK_DB_OUTBOX_UETR], ukey, sizeof ukey);
}

int
trk_outbox_del(trk_store *s, MDB_txn *txn, uint64_t seq, const uint8_t pkey[REC_PKEY_LEN])
{
    uint8_t key[REC_SEQ64_LEN], ukey[REC_OUTBOX_UETR_KEY_LEN];
    MDB_val k = {.mv_size = sizeof key, .mv_data = key};
    int rc;

    rec_seq64_key(seq, key);
    rc = mdb_del(txn, s->dbi[TRK_DB_OUTBOX], &k, NULL);
    if (rc)
        return rc;
    rec_outbox_uetr_key(pkey, seq, ukey);
    k.mv_size = sizeof ukey;
    k.mv_data = ukey;
    rc = mdb_del(txn, s->dbi[TRK_DB_OUTBOX_UETR], &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc; /* drift is trk_verify's to report */
}

/* The seqs of a payment's queued entries (at most max). */
static int
entries_of(trk_store *s, MDB_txn *txn, const uint8_t pkey[REC_PKEY_LEN], uint64_t *seqs, size_t max,
           size_t *n)
{
    uint8_t start[REC_OUTBOX_UETR_KEY_LEN];
    MDB_val k = {.mv_size = sizeof start, .mv_data = start}, v;
    MDB_cursor *cur;
    int rc;

    *n = 0;
    rec_outbox_uetr_key(pkey, 0, start);
    rc = mdb_cursor_open(txn, s->dbi[TRK_DB_OUTBOX_UETR], &cur);
    if (rc)
        return rc;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && *n < max && k.mv_size == REC_OUTBOX_UETR_KEY_LEN &&
           memcmp(k.mv_data, pkey, REC_PKEY_LEN) == 0) {
        seqs[(*n)++] = rec_seq64_get((const uint8_t *)k.mv_data + REC_PKEY_LEN);
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
list_unsent(trk_store *s, uint64_t seq)
{
    uint64_t *grown;
    size_t cap;

    if (s->n_unsent == s->cap_unsent) {
        cap = s->cap_unsent ? s->cap_unsent * 2 : CHUNK;
        grown = realloc(s->unsent, cap * sizeof *grown);
        if (!grown)
            return ENOMEM; /* fails the batch: nothing of it commits */
        s->unsent = grown;
        s->cap_unsent = cap;
    }
    s->unsent[s->n_unsent++] = seq;
    return 0;
}

int
trk_outbox_unsend(trk_store *s, MDB_txn *txn, const uint8_t pkey[REC_PKEY_LEN], const char *name)
{
    uint64_t seqs[UNSEND_MAX];
    uint8_t key[REC_SEQ64_LEN];
    MDB_val k = {.mv_size = sizeof key, .mv_data = key}, v;
    rec_outbox ob;
    size_t i, n;
    int rc;

    rc = entries_of(s, txn, pkey, seqs, UNSEND_MAX, &n);
    for (i = 0; i < n && !rc; i++) {
        rec_seq64_key(seqs[i], key);
        rc = mdb_get(txn, s->dbi[TRK_DB_OUTBOX], &k, &v);
        if (!rc)
            rc = rec_outbox_decode(v.mv_data, v.mv_size, &ob);
        if (rc || strcmp(ob.name, name) != 0)
            continue;
        rc = trk_outbox_del(s, txn, seqs[i], pkey);
        if (!rc)
            rc = list_unsent(s, seqs[i]);
    }
    return rc;
}

void
trk_txn_ended(trk_store *s)
{
    pthread_mutex_lock(&s->deliver_mu);
    s->n_unsent = 0;
    pthread_mutex_unlock(&s->deliver_mu);
    pthread_mutex_lock(&s->bg_mu);
    s->bg_kicks++;
    pthread_cond_broadcast(&s->bg_cv);
    pthread_mutex_unlock(&s->bg_mu);
}

static int
is_unsent(const trk_store *s, uint64_t seq)
{
    size_t i;

    for (i = 0; i < s->n_unsent; i++)
        if (s->unsent[i] == seq)
            return 1;
    return 0;
}

/* ---- the spool ---------------------------------------------------------------------------- */

static int
spool_path(const trk_store *s, const char *prefix, const char *msg_id, const char *suffix,
           char out[PATH_MAX])
{
    int n = snprintf(out, PATH_MAX, "%s/%s%s%s", s->spool_dir, prefix, msg_id, suffix);

    return n > 0 && n < PATH_MAX ? 0 : -1;
}

int
trk_spool_has(const trk_store *s, const char *msg_id)
{
    char path[PATH_MAX];
    struct stat st;

    return spool_path(s, "", msg_id, XML_SUFFIX, path) == 0 && stat(path, &st) == 0;
}

static int
write_all(int fd, const char *buf, size_t len)
{
    ssize_t w;

    while (len > 0) {
        w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/* A message's name in the spool: "<MsgId>.xml", or while written ".<MsgId>.xml.tmp". */
static int
spool_name(const char *msg_id, int tmp, char out[NAME_MAX + 1])
{
    int n = snprintf(out, NAME_MAX + 1, "%s%s%s", tmp ? "." : "", msg_id,
                     tmp ? TMP_SUFFIX : XML_SUFFIX);

    return n > 0 && n <= NAME_MAX ? 0 : -1;
}

/* A chunk's temporary file, written but not yet durable nor in place. */
static int
spool_write_tmp(int dfd, const char *msg_id, const char *buf, size_t len)
{
    char tmp[NAME_MAX + 1];
    int fd, rc;

    if (spool_name(msg_id, 1, tmp))
        return -1;
    fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, FILE_MODE);
    if (fd < 0)
        return -1;
    rc = write_all(fd, buf, len);
    if (close(fd) != 0)
        rc = -1;
    if (rc)
        unlinkat(dfd, tmp, 0);
    return rc;
}

/* Moves a durable temporary file to its name (rename: readers never see a partial file). */
static int
spool_place(int dfd, const char *msg_id)
{
    char tmp[NAME_MAX + 1], dst[NAME_MAX + 1];

    if (spool_name(msg_id, 1, tmp) || spool_name(msg_id, 0, dst))
        return -1;
    if (renameat(dfd, tmp, dfd, dst) == 0)
        return 0;
    unlinkat(dfd, tmp, 0);
    return -1;
}

static void
spool_drop_tmp(int dfd, const char *msg_id)
{
    char tmp[NAME_MAX + 1];

    if (spool_name(msg_id, 1, tmp) == 0)
        unlinkat(dfd, tmp, 0);
}

/* Temporary files of deliveries a crash interrupted: their entries are still queued. */
int
trk_spool_clean(const trk_store *s)
{
    size_t n, ns = strlen(TMP_SUFFIX);
    char path[PATH_MAX];
    struct dirent *de;
    DIR *d = opendir(s->spool_dir);

    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL) {
        n = strlen(de->d_name);
        if (de->d_name[0] != '.' || n <= ns + 1 || strcmp(de->d_name + n - ns, TMP_SUFFIX))
            continue;
        if (snprintf(path, sizeof path, "%s/%s", s->spool_dir, de->d_name) < (int)sizeof path)
            unlink(path);
    }
    closedir(d);
    return 0;
}

/* ---- delivery ----------------------------------------------------------------------------- */

typedef struct entry {
    uint64_t seq;
    rec_outbox ob;
} entry;

/* Up to max entries with seq > after, in order. */
static int
collect(trk_store *s, uint64_t after, entry *out, size_t max, size_t *n)
{
    uint8_t key[REC_SEQ64_LEN];
    MDB_val k = {.mv_size = sizeof key, .mv_data = key}, v;
    MDB_cursor *cur;
    MDB_txn *txn;
    int rc;

    *n = 0;
    rec_seq64_key(after + 1, key);
    rc = trk_read_begin(s, &txn);
    if (rc)
        return rc;
    rc = mdb_cursor_open(txn, s->dbi[TRK_DB_OUTBOX], &cur);
    if (!rc) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        while (rc == 0 && *n < max && k.mv_size == REC_SEQ64_LEN) {
            out[*n].seq = rec_seq64_get(k.mv_data);
            rc = rec_outbox_decode(v.mv_data, v.mv_size, &out[*n].ob);
            if (rc)
                break;
            (*n)++;
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        mdb_cursor_close(cur);
    }
    trk_read_end(s, txn);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    return rc && !trk_is_op_rc(rc) ? trk_store_rc(rc) : rc;
}

/* The message of an entry still queued and not being unsent (it points into txn's snapshot);
 * SKIPPED otherwise. */
static int
load(trk_store *s, MDB_txn *txn, const entry *e, const char **msg, size_t *len)
{
    uint8_t key[REC_SEQ64_LEN], mkey[REC_MSG_KEY_MAX];
    MDB_val k = {.mv_size = sizeof key, .mv_data = key}, v;
    int rc;

    rec_seq64_key(e->seq, key);
    rc = mdb_get(txn, s->dbi[TRK_DB_OUTBOX], &k, &v);
    if (rc == MDB_NOTFOUND || is_unsent(s, e->seq))
        return SKIPPED;
    k.mv_size = rec_msg_key(e->ob.pkey, e->ob.name, mkey);
    k.mv_data = mkey;
    if (!rc)
        rc = mdb_get(txn, s->dbi[TRK_DB_MESSAGES], &k, &v);
    if (!rc)
        rc = rec_message_decode(v.mv_data, v.mv_size, msg, len);
    if (rc == MDB_NOTFOUND)
        return TRK_ERR_CORRUPT; /* an entry without its message */
    return rc && !trk_is_op_rc(rc) ? trk_store_rc(rc) : rc;
}

static int
bg_stopping(trk_store *s)
{
    int stop;

    pthread_mutex_lock(&s->bg_mu);
    stop = s->bg_stop;
    pthread_mutex_unlock(&s->bg_mu);
    return stop;
}

/*
 * Writes the files of a chunk (those a crash did not already put in place) under deliver_mu,
 * from one read snapshot: es[ix[0..*k)] are the entries to remove, wrote[j] says whether
 * entry ix[j] has a temporary file waiting. Stops at the first failure, which it returns.
 */
static int
write_chunk(trk_store *s, int dfd, const entry *es, size_t n, size_t *ix, char *wrote, size_t *k)
{
    const char *msg;
    MDB_txn *txn;
    size_t i, len;
    struct stat st;
    char name[NAME_MAX + 1];
    int rc;

    *k = 0;
    rc = trk_read_begin(s, &txn);
    if (rc)
        return rc;
    for (i = 0; i < n; i++) {
        rc = load(s, txn, &es[i], &msg, &len);
        if (rc == SKIPPED) {
            rc = 0;
            continue;
        }
        if (rc == TRK_ERR_CORRUPT) {
            atomic_fetch_add(&s->delivery_errors, 1);
            rc = 0;
            continue; /* an entry without its message stays for trk_verify to show */
        }
        if (rc)
            break; /* the store is failing: retry later, in order */
        /* in place since before a crash: nothing to write (a name too long fails below) */
        wrote[*k] = spool_name(es[i].ob.msg_id, 0, name) != 0 || fstatat(dfd, name, &st, 0) != 0;
        if (wrote[*k] && spool_write_tmp(dfd, es[i].ob.msg_id, msg, len)) {
            rc = TRK_ERR_STORE;
            break;
        }
        ix[(*k)++] = i;
    }
    trk_read_end(s, txn);
    return rc;
}

/*
 * Delivers one chunk; *done counts the entries removed. The files are written, made durable
 * together by one syncfs (one cache flush for the chunk instead of one fsync per file, which
 * was most of delivery's kernel time), renamed into place, and the directory is fsync'd once;
 * only then are the entries removed, so a crash before leaves them queued. deliver_mu is held
 * until every file is in place: a local cancel deciding whether the pacs.008 has left sees
 * either none of the chunk's files or its final state.
 */
static int
deliver_chunk(trk_store *s, const entry *es, size_t n, trk_iop *ops, size_t *done)
{
    size_t i, j, k = 0, ix[CHUNK];
    char wrote[CHUNK];
    int dfd, rc, run, placed_any = 0;

    dfd = open(s->spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        atomic_fetch_add(&s->delivery_errors, 1);
        return TRK_ERR_STORE;
    }
    pthread_mutex_lock(&s->deliver_mu);
    rc = write_chunk(s, dfd, es, n > CHUNK ? CHUNK : n, ix, wrote, &k);
    for (j = 0; j < k; j++)
        placed_any |= wrote[j];
    if (placed_any && syncfs(dfd) != 0) {
        for (j = 0; j < k; j++)
            if (wrote[j])
                spool_drop_tmp(dfd, es[ix[j]].ob.msg_id);
        k = 0;
        rc = TRK_ERR_STORE;
    }
    for (j = 0; j < k; j++) {
        if (wrote[j] && spool_place(dfd, es[ix[j]].ob.msg_id) != 0) {
            for (i = j + 1; i < k; i++)
                if (wrote[i])
                    spool_drop_tmp(dfd, es[ix[i]].ob.msg_id);
            k = j;
            rc = TRK_ERR_STORE;
            break;
        }
    }
    pthread_mutex_unlock(&s->deliver_mu);
    if (rc)
        atomic_fetch_add(&s->delivery_errors, 1);
    if (k > 0 && fsync(dfd) != 0) {
        close(dfd);
        atomic_fetch_add(&s->delivery_errors, 1);
        return TRK_ERR_STORE; /* the files are there; the next pass finds them and syncs again */
    }
    close(dfd);
    for (j = 0; j < k; j++) {
        memset(&ops[j], 0, sizeof ops[j]);
        ops[j].op.kind = TRK_OP_I_DELIVERED;
        ops[j].outbox_seq = es[ix[j]].seq;
    }
    atomic_fetch_add(&s->delivered, k); /* in the spool now, before anyone sees SENT */
    run = trk_run_internal(s, ops, k);
    for (j = 0; j < k; j++)
        *done += ops[j].op.rc == TRK_OK;
    return rc ? rc : run;
}

/* One pass over the outbox in order. *done counts the entries delivered. */
static int
deliver_pass(trk_store *s, size_t *done)
{
    entry *es = calloc(CHUNK, sizeof *es);
    trk_iop *ops = calloc(CHUNK, sizeof *ops);
    uint64_t after = 0;
    size_t n;
    int rc = es && ops ? 0 : TRK_ERR_NOMEM;

    *done = 0;
    while (!rc && !bg_stopping(s)) {
        rc = collect(s, after, es, CHUNK, &n);
        if (rc || n == 0)
            break;
        rc = deliver_chunk(s, es, n, ops, done);
        after = es[n - 1].seq;
    }
    free(es);
    free(ops);
    return rc;
}

static uint64_t
outbox_size(trk_store *s)
{
    trk_stats st;

    return trk_stats_get(s, &st) == TRK_OK ? st.outbox : UINT64_MAX;
}

int
trk_outbox_flush(trk_store *s)
{
    struct timespec pause = {0, FLUSH_PAUSE_NS};
    unsigned idle = 0;
    size_t done;
    int rc = 0;

    if (!s)
        return TRK_ERR_INVALID;
    if (!s->spool_dir)
        return TRK_ERR_INVALID;
    pthread_mutex_lock(&s->deliver_pass_mu);
    while (!rc && outbox_size(s) != 0) {
        rc = deliver_pass(s, &done);
        if (!rc && done == 0 && ++idle == FLUSH_TRIES)
            rc = TRK_ERR_STORE; /* entries that never leave: see trk_verify */
        if (!rc && done == 0)
            nanosleep(&pause, NULL); /* a local cancel's txn holds some: let it end */
    }
    pthread_mutex_unlock(&s->deliver_pass_mu);
    return rc == TRK_ERR_CORRUPT || rc == TRK_ERR_NOMEM ? TRK_ERR_STORE : rc;
}

/* Sleeps until a commit kicks, the tick passes (to retry failures) or the store stops. */
static void
wait_kick(trk_store *s, uint64_t seen)
{
    struct timespec until;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += s->tick_ms / 1000;
    until.tv_nsec += (long)(s->tick_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->bg_mu);
    while (!s->bg_stop && s->bg_kicks == seen &&
           pthread_cond_timedwait(&s->bg_cv, &s->bg_mu, &until) == 0)
        ;
    pthread_mutex_unlock(&s->bg_mu);
}

static void *
delivery_main(void *arg)
{
    trk_store *s = arg;
    uint64_t seen;
    size_t done;

    while (!bg_stopping(s)) {
        pthread_mutex_lock(&s->bg_mu);
        seen = s->bg_kicks;
        pthread_mutex_unlock(&s->bg_mu);
        pthread_mutex_lock(&s->deliver_pass_mu);
        deliver_pass(s, &done); /* failures are counted and retried on the next tick */
        pthread_mutex_unlock(&s->deliver_pass_mu);
        /* Our own removals kick too: with nothing delivered, only new work wakes us. */
        if (done == 0)
            wait_kick(s, seen);
    }
    return NULL;
}

int
trk_delivery_start(trk_store *s)
{
    if (!s->spool_dir)
        return 0;
    if (pthread_create(&s->deliver_thread, NULL, delivery_main, s) != 0)
        return TRK_ERR_NOMEM;
    pthread_setname_np(s->deliver_thread, "corridor-spool"); /* top -H, perf: who costs what */
    s->deliver_started = 1;
    return 0;
}
