/*
 * The participants registry: which verified client certificate is which principal.
 * File format (documented in certs/participants.dev.conf and README):
 *   NAME  ROLE  MATCH  IDENTITIES
 * MATCH is `cn:COMMON-NAME` or `sha256:HEX` (colons optional). A fingerprint pins one
 * certificate; a CN names whoever the configured CA certified under it. Lookups try the
 * fingerprint first. The registry is immutable once loaded: a reload builds a new one and
 * swaps it in (gw_registry_replace); connections keep a reference to the one they were
 * accepted with, so a lookup never races a free.
 */
#include "gw_int.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REG_LINE_MAX 1024
#define FPR_LEN 32

typedef struct entry {
    gw_principal principal;
    int by_fpr;
    unsigned char fpr[FPR_LEN];
    char cn[128];
} entry;

struct gw_registry {
    entry *items;
    size_t n;
    atomic_uint refs;
};

/* Guards every slot's pointer between reading it and taking a reference. */
static pthread_mutex_t slot_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *const role_names[] = {"none", "channel", "correspondent", "customer",
                                         "operator"};

const char *
gw_role_name(gw_role r)
{
    if ((unsigned)r >= sizeof(role_names) / sizeof(role_names[0]))
        return "none";
    return role_names[r];
}

static gw_role
role_from(const char *s)
{
    for (unsigned i = 1; i < sizeof(role_names) / sizeof(role_names[0]); i++)
        if (strcmp(s, role_names[i]) == 0)
            return (gw_role)i;
    return GW_ROLE_NONE;
}

int
gw_principal_has_bic(const gw_principal *p, const char *bic)
{
    for (unsigned i = 0; i < p->n_bics; i++)
        if (iso_bic8_equal(p->bics[i], bic))
            return 1;
    return 0;
}

static int
hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

static int
parse_fpr(const char *s, unsigned char out[FPR_LEN])
{
    size_t n = 0;

    while (*s != '\0') {
        if (*s == ':') {
            s++;
            continue;
        }
        int hi = hexval((unsigned char)s[0]), lo = s[1] ? hexval((unsigned char)s[1]) : -1;
        if (hi < 0 || lo < 0 || n == FPR_LEN)
            return -1;
        out[n++] = (unsigned char)(hi << 4 | lo);
        s += 2;
    }
    return n == FPR_LEN ? 0 : -1;
}

static int
parse_bics(gw_principal *p, char *ids)
{
    for (char *save = NULL, *b = strtok_r(ids, ",", &save); b; b = strtok_r(NULL, ",", &save)) {
        if (p->n_bics == GW_MAX_BICS || !iso_bic_valid(b))
            return -1;
        snprintf(p->bics[p->n_bics++], sizeof(p->bics[0]), "%s", b);
    }
    return p->n_bics > 0 ? 0 : -1;
}

static int
parse_identities(gw_principal *p, char *ids)
{
    if (p->role == GW_ROLE_OPERATOR)
        return strcmp(ids, "-") == 0 ? 0 : -1;
    if (p->role != GW_ROLE_CUSTOMER)
        return parse_bics(p, ids);
    char *slash = strchr(ids, '/');
    if (slash == NULL || slash[1] == '\0' || strlen(slash + 1) >= sizeof(p->customer_id))
        return -1;
    *slash = '\0';
    snprintf(p->customer_id, sizeof(p->customer_id), "%s", slash + 1);
    return parse_bics(p, ids);
}

static int
parse_line(char *line, entry *e, const char **why)
{
    char *save = NULL;
    char *name = strtok_r(line, " \t\r\n", &save);
    char *role = strtok_r(NULL, " \t\r\n", &save);
    char *match = strtok_r(NULL, " \t\r\n", &save);
    char *ids = strtok_r(NULL, " \t\r\n", &save);

    memset(e, 0, sizeof(*e));
    if (ids == NULL || strtok_r(NULL, " \t\r\n", &save) != NULL)
        return *why = "expected NAME ROLE MATCH IDENTITIES", -1;
    if (strlen(name) >= sizeof(e->principal.name))
        return *why = "name too long", -1;
    snprintf(e->principal.name, sizeof(e->principal.name), "%s", name);
    if ((e->principal.role = role_from(role)) == GW_ROLE_NONE)
        return *why = "role must be channel, correspondent, customer or operator", -1;
    if (strncmp(match, "sha256:", 7) == 0) {
        e->by_fpr = 1;
        if (parse_fpr(match + 7, e->fpr) != 0)
            return *why = "sha256: needs 64 hex digits", -1;
    } else if (strncmp(match, "cn:", 3) == 0 && match[3] != '\0' &&
               strlen(match + 3) < sizeof(e->cn)) {
        snprintf(e->cn, sizeof(e->cn), "%s", match + 3);
    } else {
        return *why = "match must be cn:NAME or sha256:HEX", -1;
    }
    if (parse_identities(&e->principal, ids) != 0)
        return *why = "identities: BICs (comma-separated), BANKBIC/CUSTOMER-ID, or - for "
                      "operators", -1;
    return 0;
}

/* Names key idempotency scopes, rate buckets and connection limits: they must be unique. */
static int
add_entry(gw_registry *reg, const entry *e, const char **why)
{
    for (size_t i = 0; i < reg->n; i++)
        if (strcmp(reg->items[i].principal.name, e->principal.name) == 0)
            return *why = "a participant of this name is already listed", -1;
    if (reg->n == GW_MAX_PARTICIPANTS)
        return *why = "too many participants", -1;
    entry *items = realloc(reg->items, (reg->n + 1) * sizeof(*items));
    if (items == NULL)
        return -1;
    reg->items = items;
    reg->items[reg->n++] = *e;
    return 0;
}

int
gw_registry_load(gw_registry **out, const char *path, char *err, size_t errlen)
{
    char line[REG_LINE_MAX];
    unsigned lineno = 0;
    int rc = GW_OK;
    entry e;
    const char *why = NULL;
    gw_registry *reg = calloc(1, sizeof(*reg));
    FILE *f = fopen(path, "r");

    if (reg != NULL)
        atomic_init(&reg->refs, 1);

    if (reg == NULL || f == NULL) {
        snprintf(err, errlen, "%s: %s", path, f ? "out of memory" : strerror(errno));
        rc = f ? GW_ERR_NOMEM : GW_ERR_REGISTRY;
        goto out;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        if (strspn(line, " \t\r\n") == strlen(line))
            continue;
        if (parse_line(line, &e, &why) != 0 || add_entry(reg, &e, &why) != 0) {
            snprintf(err, errlen, "%s:%u: %s", path, lineno, why ? why : "out of memory");
            rc = GW_ERR_REGISTRY;
            goto out;
        }
    }
out:
    if (f != NULL)
        fclose(f);
    if (rc != GW_OK) {
        gw_registry_free(reg);
        reg = NULL;
    }
    *out = reg;
    return rc;
}

void
gw_registry_free(gw_registry *reg)
{
    if (reg == NULL || atomic_fetch_sub(&reg->refs, 1) != 1)
        return;
    free(reg->items);
    free(reg);
}

size_t
gw_registry_size(const gw_registry *reg)
{
    return reg ? reg->n : 0;
}

gw_registry *
gw_registry_acquire(gw_registry *const *slot)
{
    gw_registry *reg;

    pthread_mutex_lock(&slot_mu);
    reg = *slot;
    if (reg != NULL)
        atomic_fetch_add(&reg->refs, 1);
    pthread_mutex_unlock(&slot_mu);
    return reg;
}

void
gw_registry_replace(gw_registry **slot, gw_registry *fresh)
{
    gw_registry *old;

    pthread_mutex_lock(&slot_mu);
    old = *slot;
    *slot = fresh;
    pthread_mutex_unlock(&slot_mu);
    gw_registry_free(old);
}

static int
cert_cn(X509 *cert, char *buf, size_t size)
{
    X509_NAME *subj = X509_get_subject_name(cert);
    int idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);

    if (idx < 0)
        return -1;
    ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
    int len = ASN1_STRING_length(s);
    if (len <= 0 || (size_t)len >= size || memchr(ASN1_STRING_get0_data(s), 0, (size_t)len))
        return -1;
    memcpy(buf, ASN1_STRING_get0_data(s), (size_t)len);
    buf[len] = '\0';
    return 0;
}

int
gw_registry_lookup(const gw_registry *reg, X509 *cert, gw_principal *out)
{
    unsigned char fpr[EVP_MAX_MD_SIZE];
    unsigned int fpr_len = 0;
    char cn[128];
    int have_cn;

    if (reg == NULL || cert == NULL)
        return 0;
    if (!X509_digest(cert, EVP_sha256(), fpr, &fpr_len) || fpr_len != FPR_LEN)
        return 0;
    for (size_t i = 0; i < reg->n; i++)
        if (reg->items[i].by_fpr && memcmp(reg->items[i].fpr, fpr, FPR_LEN) == 0)
            return *out = reg->items[i].principal, 1;
    have_cn = cert_cn(cert, cn, sizeof(cn)) == 0;
    for (size_t i = 0; have_cn && i < reg->n; i++)
        if (!reg->items[i].by_fpr && strcmp(reg->items[i].cn, cn) == 0)
            return *out = reg->items[i].principal, 1;
    return 0;
}
