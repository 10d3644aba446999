/* id_index.h - where a record with a given key sits in an array, in O(1).
 *
 * The supervisor keeps its connections in an array it compacts on removal
 * (the last one moves into the hole) and finds an ended one by its id, or
 * a per-connection worker by its pid.  Scanning the array for that cost
 * O(n) per ended connection: with 3,000 connections held, 26 µs of the
 * supervisor's time for each one that ended.  This is an open-addressing
 * hash table (linear probing, backward-shift deletion) from a nonzero
 * 64-bit key to an index; it grows on demand and allocates nothing else.
 */
#ifndef PUSHPIPE_ID_INDEX_H
#define PUSHPIPE_ID_INDEX_H

#include <stddef.h>
#include <stdint.h>

struct id_index {
    uint64_t *keys;     /* owned; 0: an empty cell */
    size_t *vals;       /* owned */
    size_t cap;         /* a power of two, or 0 */
    size_t n;
};

void id_index_init(struct id_index *x);
void id_index_free(struct id_index *x);

/* Map key (nonzero) to val, replacing what it mapped to (which never
 * allocates).  0, or -1 when memory is short (the index is then
 * unchanged). */
int id_index_put(struct id_index *x, uint64_t key, size_t val);
/* 0 and *val when key is there, -1 when not. */
int id_index_get(const struct id_index *x, uint64_t key, size_t *val);
/* Forget key; 0, or -1 when it was not there. */
int id_index_del(struct id_index *x, uint64_t key);

#endif
