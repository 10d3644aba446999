#include "bytebuf.h"

#include <stdlib.h>
#include <string.h>

void bytebuf_init(struct bytebuf *b, size_t max)
{
    b->data = NULL;
    b->off = b->len = b->cap = 0;
    b->max = max;
}

void bytebuf_free(struct bytebuf *b)
{
    free(b->data);
    bytebuf_init(b, b->max);
}

uint8_t *bytebuf_reserve(struct bytebuf *b, size_t n)
{
    if (n > b->max - b->len)
        return NULL;
    if (b->off + b->len + n <= b->cap)
        return b->data + b->off + b->len;
    /* Compact first: moving the tail down is cheaper than growing. */
    if (b->off > 0) {
        if (b->len)
            memmove(b->data, b->data + b->off, b->len);
        b->off = 0;
        if (b->len + n <= b->cap)
            return b->data + b->len;
    }
    size_t want = b->cap ? b->cap : 4096;
    while (want < b->len + n)
        want = want > SIZE_MAX / 2 ? SIZE_MAX : want * 2;
    if (want > b->max && b->max >= b->len + n)
        want = b->max;
    uint8_t *p = realloc(b->data, want);
    if (!p)
        return NULL;
    b->data = p;
    b->cap = want;
    return b->data + b->len;
}

void bytebuf_commit(struct bytebuf *b, size_t n)
{
    b->len += n;
}

int bytebuf_append(struct bytebuf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    uint8_t *dst = bytebuf_reserve(b, n);
    if (!dst)
        return -1;
    memcpy(dst, p, n);
    b->len += n;
    return 0;
}

void bytebuf_consume(struct bytebuf *b, size_t n)
{
    if (n >= b->len) {
        b->off = b->len = 0;
        return;
    }
    b->off += n;
    b->len -= n;
}

void bytebuf_clear(struct bytebuf *b)
{
    b->off = b->len = 0;
}
