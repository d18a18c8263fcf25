/*
 * uetr.c — UETR generation: a UUID version 4 (RFC 4122) from the kernel's CSPRNG.
 */
#include "iso20022.h"

#include <errno.h>
#include <sys/random.h>

#define UUID_BYTES 16

/* Fill buf from getrandom(2), retrying short reads and EINTR. */
static int
random_bytes(unsigned char *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

/* Returns ISO_OK, or ISO_ERR_INTERNAL if the kernel gave no randomness (out is then ""). */
int
iso_uetr_generate(char out[37])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[UUID_BYTES];
    size_t n = 0;

    if (random_bytes(b, sizeof(b)) != 0) {
        out[0] = '\0';
        return ISO_ERR_INTERNAL;
    }
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80); /* variant 10xx */
    for (size_t i = 0; i < UUID_BYTES; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[n++] = '-';
        out[n++] = hex[b[i] >> 4];
        out[n++] = hex[b[i] & 0x0F];
    }
    out[n] = '\0';
    return ISO_OK;
}
