/*
 * problems.c — the bounded problem list and the error-code table.
 */
#include "iso20022.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const struct {
    int err;
    const char *text;
} err_table[] = {
    {ISO_OK, "success"},
    {ISO_ERR_NOMEM, "out of memory"},
    {ISO_ERR_SYNTAX, "not well-formed"},
    {ISO_ERR_INVALID, "breaks a rule or the schema"},
    {ISO_ERR_TOOLARGE, "over a size limit"},
    {ISO_ERR_INTERNAL, "internal error"},
    {ISO_ERR_SCHEMA, "a schema could not be compiled"},
};

const char *
iso_strerror(int err)
{
    for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
        if (err_table[i].err == err)
            return err_table[i].text;
    return "unknown iso20022 error";
}

void
iso_problems_init(iso_problems *pr)
{
    pr->n = 0;
    pr->dropped = 0;
}

/* Bytes a UTF-8 sequence starting with `lead` occupies (1 for anything unexpected). */
static size_t
utf8_seq_len(unsigned char lead)
{
    if (lead >= 0xF0)
        return 4;
    if (lead >= 0xE0)
        return 3;
    if (lead >= 0xC0)
        return 2;
    return 1;
}

/*
 * snprintf may cut a multi-byte character in half; the gateway hands these strings to jansson,
 * which refuses invalid UTF-8, so a cut sequence at the end is dropped whole.
 */
static void
trim_cut_utf8(char *s)
{
    size_t len = strlen(s), lead = len;

    while (lead > 0 && ((unsigned char)s[lead - 1] & 0xC0) == 0x80)
        lead--;
    if (lead == 0)
        return;
    lead--;
    if ((unsigned char)s[lead] >= 0xC0 && lead + utf8_seq_len((unsigned char)s[lead]) > len)
        s[lead] = '\0';
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, surrogates or code points
 * over U+10FFFF), or 0 when it is not one. */
static size_t
utf8_valid_seq(const unsigned char *s)
{
    size_t n = utf8_seq_len(s[0]);
    uint32_t cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] < 0xC2 || s[0] > 0xF4)
        return 0;
    cp = s[0] & (0xFF >> (n + 1));
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/*
 * libxml2 quotes the input in its messages, and after an encoding error it goes on reading the
 * rest as Latin-1: a problem can hold bytes that are not UTF-8. Each such byte becomes '?', so
 * every problem is valid UTF-8 (the gateway hands them to jansson, which refuses anything else).
 */
static void
utf8_sanitize(char *s)
{
    while (*s != '\0') {
        size_t n = utf8_valid_seq((const unsigned char *)s);
        if (n == 0)
            *s++ = '?';
        else
            s += n;
    }
}

static void
copy_field(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
    trim_cut_utf8(dst);
    utf8_sanitize(dst);
}

void
iso_problems_add(iso_problems *pr, const char *path, const char *code, const char *fmt, ...)
{
    iso_problem *p;
    va_list ap;

    if (pr->n >= ISO_MAX_PROBLEMS) {
        pr->dropped++;
        return;
    }
    p = &pr->items[pr->n++];
    copy_field(p->path, sizeof(p->path), path);
    copy_field(p->code, sizeof(p->code), code);
    va_start(ap, fmt);
    vsnprintf(p->text, sizeof(p->text), fmt, ap);
    va_end(ap);
    trim_cut_utf8(p->text);
    utf8_sanitize(p->text);
}
