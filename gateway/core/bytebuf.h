/* bytebuf.h - a growable byte queue with a hard upper bound.
 *
 * Every queue in pushpipe (client output, handler input, a message being
 * assembled) is a bytebuf whose owner states its bound at init time.  Appending
 * past the bound fails instead of growing, so a peer that never reads cannot
 * make the process grow without limit.  Data is consumed from the front;
 * the buffer compacts lazily so consuming is O(1).
 */
#ifndef PUSHPIPE_BYTEBUF_H
#define PUSHPIPE_BYTEBUF_H

#include <stddef.h>
#include <stdint.h>

struct bytebuf {
    uint8_t *data;   /* owned; NULL until the first append */
    size_t off;      /* start of unconsumed bytes */
    size_t len;      /* number of unconsumed bytes */
    size_t cap;      /* allocated size */
    size_t max;      /* hard bound on len */
};

void bytebuf_init(struct bytebuf *b, size_t max);
void bytebuf_free(struct bytebuf *b);

/* 0 on success, -1 when the bound would be exceeded or memory is short
 * (nothing is appended then). */
int bytebuf_append(struct bytebuf *b, const void *p, size_t n);

/* Reserve room for n more bytes and return a pointer to it (NULL on bound or
 * allocation failure); commit what was actually written with
 * bytebuf_commit. */
uint8_t *bytebuf_reserve(struct bytebuf *b, size_t n);
void bytebuf_commit(struct bytebuf *b, size_t n);

/* Never NULL, even before the first append: callers hand it on with a
 * length of 0, and NULL + 0 (or memcpy from NULL) is undefined behaviour. */
static inline const uint8_t *bytebuf_head(const struct bytebuf *b)
{
    static const uint8_t empty[1];
    return b->data ? b->data + b->off : empty;
}
static inline size_t bytebuf_len(const struct bytebuf *b) { return b->len; }
static inline size_t bytebuf_room(const struct bytebuf *b) { return b->max - b->len; }
void bytebuf_consume(struct bytebuf *b, size_t n);
void bytebuf_clear(struct bytebuf *b);

#endif
