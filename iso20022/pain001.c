/*
 * pain001.c — a customer's pain.001.001.09 or .03 (POST /v1/payments, application/xml) into one
 * instruction and one pacs.008.001.08 per transaction, all or nothing.
 *
 * The order of work: parse (xml.c: hostile input refused), find the parts, check AppHdr and
 * Document against the inbound profiles, then the rules — the message's own (below), the
 * cross-field rules over the whole Document (xml_rules.c: CHARSET, AMOUNT_PRECISION,
 * CURRENCY_NOT_ALLOWED, REMITTANCE_BOTH, SLASH), and each transaction read into an
 * iso_instruction through the same leaf rules as the JSON reader (check.c: IBAN_INVALID,
 * BIC_INVALID, MAX_LENGTH, ...; the codes are listed in json_in.c). Only a pain.001 without a
 * single problem is translated: each transaction by the XSLT stylesheet of its version
 * (xslt/, run by xslt.c), each result checked like every pacs.008 Corridor emits (profile,
 * ISO_RULES_PACS008, header) and serialized.
 *
 * Paths are XPaths with local names ("/Document/CstmrCdtTrfInitn/PmtInf[2]/CdtTrfTxInf/..."). A
 * problem in a PmtInf shared by several transactions is reported once. Codes of this file:
 *   UNSUPPORTED_MESSAGE   not a pain.001.001.09 or pain.001.001.03
 *   TOO_MANY              more than ISO_MAX_PAIN001_TX transactions (all PmtInf together)
 *   NB_OF_TXS             a NbOfTxs (GrpHdr or PmtInf) is not the number of transactions
 *   CTRL_SUM              a CtrlSum (GrpHdr or PmtInf) is not the sum of the instructed amounts
 *   CHARGE_BEARER_BOTH    ChrgBr in a PmtInf and in one of its transactions (ISO rule)
 *   ULTIMATE_DEBTOR_BOTH  UltmtDbtr in a PmtInf and in one of its transactions (ISO rule)
 *   UETR_DUPLICATE        two transactions carry the same UETR
 *   DATE_PAST             ReqdExctnDt before today (UTC); over 365 days ahead: DATE_OUT_OF_RANGE
 *   TRANSLATION           the translation failed or its pacs.008 broke the pacs.008 profile or
 *                         rules (a bug: what passes the pain.001 profile fits the pacs.008's)
 */
#include "iso_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_SIZE sizeof(((iso_problem *)0)->path)
#define TEXT_SIZE 1024  /* Max140Text is at most 560 bytes of UTF-8 */
#define TOKEN_SIZE 64   /* codes, dates, amounts, identifiers */
#define INSTR_ID_MAX 16 /* CBPR+ */
#define INDEX_TEXT_SIZE 24
#define SUM_SCALE 5       /* CtrlSum compared in units of 10^-5: amounts have at most 5 decimals */
#define SUM_MAX_DIGITS 18 /* DecimalNumber: 18 digits */
#define PAIN001_RULES (ISO_RULE_CHARSET | ISO_RULE_AMOUNTS | ISO_RULE_REMITTANCE | ISO_RULE_SLASH)

static const struct version {
    const char *name;
    enum iso_schema_id schema;
    enum iso_xslt_id xslt;
    const char *date; /* the requested execution date, from PmtInf */
    const char *bic;  /* an agent's BIC, from the agent */
} versions[] = {
    {"pain.001.001.09", ISO_SCHEMA_PAIN001_09, ISO_XSLT_PAIN001_09, "ReqdExctnDt/Dt",
     "FinInstnId/BICFI"},
    {"pain.001.001.03", ISO_SCHEMA_PAIN001_03, ISO_XSLT_PAIN001_03, "ReqdExctnDt",
     "FinInstnId/BIC"},
};

struct reader {
    const iso_ctx *ctx;
    const struct version *v;
    iso_problems *pr;
    time_t now;
    int64_t today;
    xmlDocPtr doc;
    xmlNodePtr msg; /* CstmrCdtTrfInitn */
};

/* One transaction being read: its nodes and the XPaths problems start from. */
struct txn {
    xmlNodePtr pmt, tx;
    size_t pmt_index, tx_index; /* from 1, as the stylesheet counts */
    char pmt_path[PATH_SIZE], tx_path[PATH_SIZE];
};

/* ---- problems ------------------------------------------------------------------------------ */

static int
has_problem(const iso_problems *pr, const char *path, const char *code)
{
    for (size_t i = 0; i < pr->n; i++)
        if (strcmp(pr->items[i].path, path) == 0 && strcmp(pr->items[i].code, code) == 0)
            return 1;
    return 0;
}

/* Move the problems of one transaction over, leaving out those already reported (a PmtInf's
 * debtor is read once per transaction). */
static void
merge_unique(iso_problems *dst, const iso_problems *src)
{
    for (size_t i = 0; i < src->n; i++)
        if (!has_problem(dst, src->items[i].path, src->items[i].code))
            iso_problems_add(dst, src->items[i].path, src->items[i].code, "%s", src->items[i].text);
    dst->dropped += src->dropped;
}

static int
any_problem(const iso_problems *pr, size_t before)
{
    return pr->n + pr->dropped != before;
}

/* base + "/" + rel, cut to the size of a problem's path (as every path is). */
static void
join(char out[PATH_SIZE], const char *base, const char *rel)
{
    if (snprintf(out, PATH_SIZE, "%s/%s", base, rel) >= (int)PATH_SIZE)
        out[PATH_SIZE - 1] = '\0';
}

/* ---- leaves of one transaction ------------------------------------------------------------- */

/* A text field at base/rel, checked with check.c's text rule, copied when good. */
static void
take_text(iso_problems *pr, xmlNodePtr base, const char *base_path, const char *rel, char *dst,
          size_t size, enum iso_charset cs)
{
    xmlNodePtr n = iso_xml_at(base, rel);
    char path[PATH_SIZE], text[TEXT_SIZE];

    if (n == NULL)
        return;
    join(path, base_path, rel);
    if (iso_check_text(pr, path, iso_xml_text(n, text, sizeof(text)), size - 1, cs))
        iso_copy_text(dst, size, text);
}

/* A code or identifier at base/rel, checked by one of check.c's rules. */
static void
take_checked(iso_problems *pr, xmlNodePtr base, const char *base_path, const char *rel, char *dst,
             size_t size, int (*check)(iso_problems *, const char *, const char *))
{
    xmlNodePtr n = iso_xml_at(base, rel);
    char path[PATH_SIZE], token[TOKEN_SIZE];

    if (n == NULL)
        return;
    join(path, base_path, rel);
    if (check(pr, path, iso_xml_token(n, token, sizeof(token))))
        iso_copy_text(dst, size, token);
}

static void
take_instruction_id(iso_problems *pr, const struct txn *t, iso_instruction *in)
{
    xmlNodePtr n = iso_xml_at(t->tx, "PmtId/InstrId");
    char path[PATH_SIZE], text[TEXT_SIZE];

    if (n == NULL)
        return;
    join(path, t->tx_path, "PmtId/InstrId");
    if (iso_check_instruction_id(pr, path, iso_xml_text(n, text, sizeof(text)), INSTR_ID_MAX))
        iso_copy_text(in->instruction_id, sizeof(in->instruction_id), text);
}

static void
take_amount(iso_problems *pr, const struct txn *t, iso_instruction *in)
{
    xmlNodePtr n = iso_xml_at(t->tx, "Amt/InstdAmt");
    char path[PATH_SIZE], ccy[TOKEN_SIZE], amount[TOKEN_SIZE];
    int64_t minor = 0;
    int exp;

    join(path, t->tx_path, "Amt/InstdAmt/@Ccy");
    iso_xml_token((const xmlNode *)xmlHasProp(n, BAD_CAST "Ccy"), ccy, sizeof(ccy));
    if (iso_check_currency(pr, path, ccy))
        iso_copy_text(in->currency, sizeof(in->currency), ccy);
    exp = iso_currency_exponent(ccy);
    join(path, t->tx_path, "Amt/InstdAmt");
    if (iso_check_amount(pr, path, iso_xml_token(n, amount, sizeof(amount)), exp, &minor) &&
        exp >= 0) {
        in->amount_minor = minor;
        in->exponent = exp;
    }
}

static void
take_date(struct reader *rd, iso_problems *pr, const struct txn *t, iso_instruction *in)
{
    xmlNodePtr n = iso_xml_at(t->pmt, rd->v->date);
    char path[PATH_SIZE], date[TOKEN_SIZE];

    join(path, t->pmt_path, rd->v->date);
    if (iso_check_date(pr, path, iso_xml_token(n, date, sizeof(date)), rd->today, "DATE_PAST"))
        iso_copy_text(in->requested_execution_date, sizeof(in->requested_execution_date), date);
}

/* The transaction's ChrgBr, else the PmtInf's, else SHAR. */
static void
take_charge_bearer(iso_problems *pr, const struct txn *t, iso_instruction *in)
{
    snprintf(in->charge_bearer, sizeof(in->charge_bearer), "SHAR");
    if (iso_xml_child(t->tx, "ChrgBr") != NULL)
        take_checked(pr, t->tx, t->tx_path, "ChrgBr", in->charge_bearer, sizeof(in->charge_bearer),
                     iso_check_charge_bearer);
    else
        take_checked(pr, t->pmt, t->pmt_path, "ChrgBr", in->charge_bearer,
                     sizeof(in->charge_bearer), iso_check_charge_bearer);
}

static void
take_agent(struct reader *rd, iso_problems *pr, xmlNodePtr base, const char *base_path,
           const char *agent, iso_agent *dst)
{
    char rel[PATH_SIZE];

    join(rel, agent, rd->v->bic);
    take_checked(pr, base, base_path, rel, dst->bic, sizeof(dst->bic), iso_check_bic);
}

/* Debtor or creditor: name and address from `party`, account from `account`. */
static void
take_party(iso_problems *pr, xmlNodePtr base, const char *base_path, const char *party,
           const char *account, iso_party *dst)
{
    static const struct {
        const char *rel;
        size_t offset, size;
    } address[] = {
        {"PstlAdr/StrtNm", offsetof(iso_address, street), sizeof(dst->address.street)},
        {"PstlAdr/BldgNb", offsetof(iso_address, building), sizeof(dst->address.building)},
        {"PstlAdr/PstCd", offsetof(iso_address, postcode), sizeof(dst->address.postcode)},
        {"PstlAdr/TwnNm", offsetof(iso_address, town), sizeof(dst->address.town)},
    };
    xmlNodePtr p = iso_xml_child(base, party), acct = iso_xml_at(base, account);
    char path[PATH_SIZE], acct_path[PATH_SIZE];

    join(path, base_path, party);
    join(acct_path, base_path, account);
    take_text(pr, p, path, "Nm", dst->name, sizeof(dst->name), ISO_CHARSET_CBPR);
    for (size_t i = 0; i < sizeof(address) / sizeof(address[0]); i++)
        take_text(pr, p, path, address[i].rel, (char *)&dst->address + address[i].offset,
                  address[i].size, ISO_CHARSET_CBPR);
    take_checked(pr, p, path, "PstlAdr/Ctry", dst->address.country, sizeof(dst->address.country),
                 iso_check_country);
    take_checked(pr, acct, acct_path, "Id/IBAN", dst->account.iban, sizeof(dst->account.iban),
                 iso_check_iban);
    take_text(pr, acct, acct_path, "Id/Othr/Id", dst->account.other, sizeof(dst->account.other),
              ISO_CHARSET_CBPR);
}

static void
take_intermediaries(struct reader *rd, iso_problems *pr, const struct txn *t, iso_instruction *in)
{
    static const char *const names[ISO_MAX_INTERMEDIARIES] = {"IntrmyAgt1", "IntrmyAgt2",
                                                              "IntrmyAgt3"};

    for (size_t i = 0; i < ISO_MAX_INTERMEDIARIES; i++) {
        if (iso_xml_child(t->tx, names[i]) == NULL)
            break; /* the profile keeps them in order */
        take_agent(rd, pr, t->tx, t->tx_path, names[i], &in->intermediaries[i]);
        in->n_intermediaries = i + 1;
    }
}

/* Everything the model holds, each value through the rule the JSON reader uses for it. */
static void
read_instruction(struct reader *rd, iso_problems *pr, const struct txn *t, iso_instruction *in)
{
    take_text(pr, t->tx, t->tx_path, "PmtId/EndToEndId", in->end_to_end_id,
              sizeof(in->end_to_end_id), ISO_CHARSET_FINX);
    take_instruction_id(pr, t, in);
    take_checked(pr, t->tx, t->tx_path, "PmtId/UETR", in->uetr, sizeof(in->uetr), iso_check_uetr);
    take_amount(pr, t, in);
    take_date(rd, pr, t, in);
    take_charge_bearer(pr, t, in);
    take_party(pr, t->pmt, t->pmt_path, "Dbtr", "DbtrAcct", &in->debtor);
    take_agent(rd, pr, t->pmt, t->pmt_path, "DbtrAgt", &in->debtor_agent);
    take_intermediaries(rd, pr, t, in);
    take_agent(rd, pr, t->tx, t->tx_path, "CdtrAgt", &in->creditor_agent);
    take_party(pr, t->tx, t->tx_path, "Cdtr", "CdtrAcct", &in->creditor);
    take_text(pr, t->tx, t->tx_path, "RmtInf/Ustrd", in->remittance_information,
              sizeof(in->remittance_information), ISO_CHARSET_CBPR);
    take_checked(pr, t->tx, t->tx_path, "Purp/Cd", in->purpose, sizeof(in->purpose),
                 iso_check_purpose);
}

/* ---- the message's own rules --------------------------------------------------------------- */

/* An xs:decimal in units of 10^-SUM_SCALE; 0 when it has finer digits or does not fit. */
static int
decimal_scaled(const char *s, int64_t *out)
{
    int64_t v = 0;
    int frac = -1, digits = 0, neg = *s == '-';

    s += *s == '-' || *s == '+';
    for (; *s != '\0'; s++) {
        if (*s == '.' && frac < 0) {
            frac = 0;
            continue;
        }
        if (*s < '0' || *s > '9' || ++digits > SUM_MAX_DIGITS)
            return 0;
        if (frac >= SUM_SCALE && *s != '0')
            return 0; /* finer than any amount */
        if (frac >= SUM_SCALE)
            continue;
        v = v * 10 + (*s - '0');
        frac += frac >= 0;
    }
    for (int i = frac < 0 ? 0 : frac; i < SUM_SCALE; i++)
        if (__builtin_mul_overflow(v, 10, &v))
            return 0;
    *out = neg ? -v : v;
    return 1;
}

/* The number of transactions and the sum of their amounts under `scope` (the whole message or
 * one PmtInf). *sum_ok drops to 0 when an amount cannot be added. */
static size_t
count_and_sum(xmlNodePtr scope, int whole, int64_t *sum, int *sum_ok)
{
    char text[TOKEN_SIZE];
    size_t n = 0;
    int64_t v;

    for (xmlNodePtr p = whole ? iso_xml_child(scope, "PmtInf") : scope; p != NULL;
         p = whole ? iso_xml_next_same(p) : NULL) {
        for (xmlNodePtr tx = iso_xml_child(p, "CdtTrfTxInf"); tx != NULL;
             tx = iso_xml_next_same(tx)) {
            n++;
            if (!decimal_scaled(iso_xml_token(iso_xml_at(tx, "Amt/InstdAmt"), text, sizeof(text)),
                                &v) ||
                __builtin_add_overflow(*sum, v, sum))
                *sum_ok = 0;
        }
    }
    return n;
}

/* NbOfTxs and CtrlSum of the group header (whole) or of one PmtInf. */
static void
check_counts(iso_problems *pr, xmlNodePtr scope, xmlNodePtr holder, int whole)
{
    xmlNodePtr nb = iso_xml_child(holder, "NbOfTxs"), cs = iso_xml_child(holder, "CtrlSum");
    char text[TOKEN_SIZE], want[INDEX_TEXT_SIZE];
    int64_t sum = 0, stated;
    int sum_ok = 1;
    size_t n = count_and_sum(scope, whole, &sum, &sum_ok);

    snprintf(want, sizeof(want), "%zu", n);
    if (nb != NULL && strcmp(iso_xml_token(nb, text, sizeof(text)), want) != 0)
        iso_problem_at(pr, nb, "NB_OF_TXS", "says %s, the message holds %zu transactions", text, n);
    if (cs != NULL && (!sum_ok || !decimal_scaled(iso_xml_token(cs, text, sizeof(text)), &stated) ||
                       stated != sum))
        iso_problem_at(pr, cs, "CTRL_SUM", "is not the sum of the instructed amounts");
}

/* ISO's rule for ChrgBr and UltmtDbtr: in the PmtInf or in its transactions, not both. */
static void
check_levels(iso_problems *pr, xmlNodePtr pmt, const char *name, const char *code)
{
    if (iso_xml_child(pmt, name) == NULL)
        return;
    for (xmlNodePtr tx = iso_xml_child(pmt, "CdtTrfTxInf"); tx != NULL; tx = iso_xml_next_same(tx))
        if (iso_xml_child(tx, name) != NULL)
            iso_problem_at(pr, iso_xml_child(tx, name), code,
                           "is given in the PmtInf already: one level or the other");
}

static void
check_message(struct reader *rd)
{
    check_counts(rd->pr, rd->msg, iso_xml_child(rd->msg, "GrpHdr"), 1);
    for (xmlNodePtr p = iso_xml_child(rd->msg, "PmtInf"); p != NULL; p = iso_xml_next_same(p)) {
        check_counts(rd->pr, p, p, 0);
        check_levels(rd->pr, p, "ChrgBr", "CHARGE_BEARER_BOTH");
        check_levels(rd->pr, p, "UltmtDbtr", "ULTIMATE_DEBTOR_BOTH");
    }
}

static size_t
count_transactions(xmlNodePtr msg)
{
    size_t n = 0;

    for (xmlNodePtr p = iso_xml_child(msg, "PmtInf"); p != NULL; p = iso_xml_next_same(p))
        n += iso_xml_count(p, "CdtTrfTxInf");
    return n;
}

/* InitgPty/Id: OrgId/Othr/Id, else PrvtId/Othr/Id (the profile demands one of them). */
static void
read_owner(struct reader *rd, iso_pain001 *out)
{
    xmlNodePtr id = iso_xml_at(rd->msg, "GrpHdr/InitgPty/Id");
    const char *rel = iso_xml_child(id, "OrgId") ? "OrgId/Othr/Id" : "PrvtId/Othr/Id";
    char base[PATH_SIZE];

    iso_xml_path(id, base, sizeof(base));
    take_text(rd->pr, id, base, rel, out->customer_id, sizeof(out->customer_id), ISO_CHARSET_CBPR);
    iso_xml_text(iso_xml_at(rd->msg, "GrpHdr/MsgId"), out->message_id, sizeof(out->message_id));
    iso_copy_text(out->version, sizeof(out->version), rd->v->name);
}

/* ---- every transaction --------------------------------------------------------------------- */

static void
uetr_unique(iso_problems *pr, const iso_pain001 *out, size_t i, const struct txn *t)
{
    char path[PATH_SIZE];

    for (size_t j = 0; j < i && out->tx[i].in.uetr[0] != '\0'; j++) {
        if (strcmp(out->tx[i].in.uetr, out->tx[j].in.uetr) == 0) {
            join(path, t->tx_path, "PmtId/UETR");
            iso_problems_add(pr, path, "UETR_DUPLICATE", "another transaction has this UETR");
            return;
        }
    }
}

/* Calls fn for every transaction in document order; stops at the first failure it returns. */
static int
each_tx(struct reader *rd, iso_pain001 *out,
        int (*fn)(struct reader *, iso_pain001 *, size_t, const struct txn *))
{
    struct txn t = {0};
    size_t i = 0;
    int rc = ISO_OK;

    for (t.pmt = iso_xml_child(rd->msg, "PmtInf"); t.pmt != NULL && rc == ISO_OK;
         t.pmt = iso_xml_next_same(t.pmt)) {
        t.pmt_index++;
        t.tx_index = 0;
        iso_xml_path(t.pmt, t.pmt_path, sizeof(t.pmt_path));
        for (t.tx = iso_xml_child(t.pmt, "CdtTrfTxInf"); t.tx != NULL && rc == ISO_OK;
             t.tx = iso_xml_next_same(t.tx)) {
            t.tx_index++;
            iso_xml_path(t.tx, t.tx_path, sizeof(t.tx_path));
            rc = fn(rd, out, i++, &t);
        }
    }
    return rc;
}

static int
read_one(struct reader *rd, iso_pain001 *out, size_t i, const struct txn *t)
{
    iso_problems mine;
    iso_instruction *in = &out->tx[i].in;

    iso_problems_init(&mine);
    iso_copy_text(in->customer_id, sizeof(in->customer_id), out->customer_id);
    read_instruction(rd, &mine, t, in);
    uetr_unique(&mine, out, i, t);
    merge_unique(rd->pr, &mine);
    return ISO_OK;
}

/* ---- translation --------------------------------------------------------------------------- */

/* A fresh MsgId for each pacs.008: 32 hex digits of a random UUID (FIN-X, under Max35). */
static int
new_msg_id(char out[36])
{
    char uuid[37];
    size_t n = 0;

    if (iso_uetr_generate(uuid) != ISO_OK)
        return ISO_ERR_INTERNAL;
    for (const char *c = uuid; *c; c++)
        if (*c != '-')
            out[n++] = *c;
    out[n] = '\0';
    return ISO_OK;
}

/* Problems of a built pacs.008 name their place in it; the customer is told which transaction. */
static void
report_translation(iso_problems *pr, const struct txn *t, const iso_problems *built)
{
    for (size_t i = 0; i < built->n; i++)
        iso_problems_add(pr, t->tx_path, "TRANSLATION", "its pacs.008 breaks %s at %s: %s",
                         built->items[i].code, built->items[i].path, built->items[i].text);
}

static int
generated_values(iso_pain001_tx *tx)
{
    iso_instruction *in = &tx->in;

    if (in->uetr[0] == '\0' && iso_uetr_generate(in->uetr) != ISO_OK)
        return ISO_ERR_INTERNAL;
    if (new_msg_id(tx->msg_id) != ISO_OK)
        return ISO_ERR_INTERNAL;
    iso_copy_text(tx->instructed_bic, sizeof(tx->instructed_bic),
                  in->n_intermediaries > 0 ? in->intermediaries[0].bic : in->creditor_agent.bic);
    return ISO_OK;
}

static int
translate_one(struct reader *rd, iso_pain001 *out, size_t i, const struct txn *t)
{
    iso_pain001_tx *tx = &out->tx[i];
    char pmt[INDEX_TEXT_SIZE], txi[INDEX_TEXT_SIZE], created[ISO_TIME_TEXT_SIZE], zero[TOKEN_SIZE];
    const char *params[] = {"pmt",   pmt,        "tx",      txi,     "uetr",  tx->in.uetr,
                            "msgid", tx->msg_id, "created", created, "instd", tx->instructed_bic,
                            "zero",  zero,       NULL};
    iso_problems built;
    xmlDocPtr result;
    int rc;

    if ((rc = generated_values(tx)) != ISO_OK)
        return rc;
    snprintf(pmt, sizeof(pmt), "%zu", t->pmt_index);
    snprintf(txi, sizeof(txi), "%zu", t->tx_index);
    iso_datetime(rd->now, created);
    iso_amount_format(0, tx->in.exponent, zero, sizeof(zero));
    if ((rc = iso_xslt_run(rd->ctx, rd->ctx->xslt[rd->v->xslt], rd->doc, params, &result,
                           rd->pr)) != ISO_OK)
        return rc;
    iso_problems_init(&built);
    rc = iso_finish(rd->ctx, result, ISO_SCHEMA_PACS008, ISO_RULES_PACS008, rd->now, &tx->pacs008,
                    &tx->pacs008_len, &built);
    xmlFreeDoc(result);
    if (rc == ISO_ERR_INVALID)
        report_translation(rd->pr, t, &built);
    return rc;
}

/* ---- entry points -------------------------------------------------------------------------- */

static const struct version *
version_of(const char *name)
{
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
        if (name != NULL && strcmp(versions[i].name, name) == 0)
            return &versions[i];
    return NULL;
}

/* Which message this is, and whether it fits its profile. */
static int
identify(struct reader *rd, iso_problems *pr)
{
    struct iso_parts parts;
    int rc = iso_xml_parts(rd->doc, &parts, pr);

    if (rc != ISO_OK)
        return rc;
    if ((rd->v = version_of(parts.name)) == NULL) {
        iso_problem_at(pr, parts.doc, "UNSUPPORTED_MESSAGE",
                       "%s is not taken here: pain.001.001.09 or pain.001.001.03", parts.name);
        return ISO_ERR_INVALID;
    }
    if ((rc = iso_validate_parts(rd->ctx, &parts, ISO_SCHEMA_HEAD001_IN, rd->v->schema, pr)) !=
        ISO_OK)
        return rc;
    iso_rules_header(pr, &parts);
    iso_rules_walk(pr, parts.doc, PAIN001_RULES, rd->today);
    rd->msg = iso_xml_child(parts.doc, "CstmrCdtTrfInitn");
    return ISO_OK;
}

static int
read_doc(struct reader *rd, iso_pain001 *out)
{
    size_t before = rd->pr->n + rd->pr->dropped, n;
    int rc;

    if ((rc = identify(rd, rd->pr)) != ISO_OK)
        return rc;
    if ((n = count_transactions(rd->msg)) > ISO_MAX_PAIN001_TX) {
        iso_problem_at(rd->pr, rd->msg, "TOO_MANY", "holds %zu transactions, at most %d", n,
                       ISO_MAX_PAIN001_TX);
        return ISO_ERR_INVALID;
    }
    check_message(rd);
    read_owner(rd, out);
    if ((out->tx = calloc(n, sizeof(*out->tx))) == NULL)
        return ISO_ERR_NOMEM;
    out->n_tx = n;
    each_tx(rd, out, read_one);
    if (any_problem(rd->pr, before))
        return ISO_ERR_INVALID;
    return each_tx(rd, out, translate_one);
}

int
iso_pain001_read(const iso_ctx *ctx, const char *xml, size_t len, time_t now, iso_pain001 *out,
                 iso_problems *pr)
{
    struct reader rd = {.ctx = ctx, .pr = pr, .now = now, .today = iso_days_of(now)};
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = iso_xml_parse(xml, len, &rd.doc, pr)) != ISO_OK)
        return rc;
    rc = read_doc(&rd, out);
    xmlFreeDoc(rd.doc);
    if (rc != ISO_OK)
        iso_pain001_free(out); /* all or nothing */
    return rc;
}

void
iso_pain001_free(iso_pain001 *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; p->tx != NULL && i < p->n_tx; i++)
        free(p->tx[i].pacs008);
    free(p->tx);
    memset(p, 0, sizeof(*p));
}
