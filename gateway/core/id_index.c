#include "core/id_index.h"

#include <stdlib.h>

void id_index_init(struct id_index *x)
{
    x->keys = NULL;
    x->vals = NULL;
    x->cap = x->n = 0;
}

void id_index_free(struct id_index *x)
{
    free(x->keys);
    free(x->vals);
    id_index_init(x);
}

/* Fibonacci hashing: sequential ids and pids spread over the table. */
static size_t home(const struct id_index *x, uint64_t key)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (x->cap - 1);
}

/* The cell holding key, or the empty cell where it would go. */
static size_t probe(const struct id_index *x, uint64_t key)
{
    size_t i = home(x, key);
    while (x->keys[i] && x->keys[i] != key)
        i = (i + 1) & (x->cap - 1);
    return i;
}

static int grow(struct id_index *x)
{
    size_t cap = x->cap ? x->cap * 2 : 64;
    struct id_index bigger = { calloc(cap, sizeof(uint64_t)), calloc(cap, sizeof(size_t)), cap, 0 };
    if (!bigger.keys || !bigger.vals) {
        free(bigger.keys);
        free(bigger.vals);
        return -1;
    }
    for (size_t i = 0; i < x->cap; i++)
        if (x->keys[i]) {
            size_t j = probe(&bigger, x->keys[i]);
            bigger.keys[j] = x->keys[i];
            bigger.vals[j] = x->vals[i];
            bigger.n++;
        }
    free(x->keys);
    free(x->vals);
    *x = bigger;
    return 0;
}

int id_index_put(struct id_index *x, uint64_t key, size_t val)
{
    if (!key)
        return -1;
    size_t i;
    if (x->cap && x->keys[i = probe(x, key)]) {
        x->vals[i] = val;   /* a key already there: never allocates */
        return 0;
    }
    /* at most half full: probes stay short */
    if ((x->n + 1) * 2 > x->cap && grow(x) < 0)
        return -1;
    i = probe(x, key);
    x->keys[i] = key;
    x->vals[i] = val;
    x->n++;
    return 0;
}

int id_index_get(const struct id_index *x, uint64_t key, size_t *val)
{
    if (!key || !x->cap)
        return -1;
    size_t i = probe(x, key);
    if (!x->keys[i])
        return -1;
    *val = x->vals[i];
    return 0;
}

int id_index_del(struct id_index *x, uint64_t key)
{
    if (!key || !x->cap)
        return -1;
    size_t hole = probe(x, key);
    if (!x->keys[hole])
        return -1;
    x->keys[hole] = 0;
    x->n--;
    /* Backward shift: move later cells of the run into the hole when
     * their home does not lie cyclically within (hole, j], so that every
     * key stays reachable from its home without tombstones. */
    size_t mask = x->cap - 1;
    for (size_t j = (hole + 1) & mask; x->keys[j]; j = (j + 1) & mask) {
        size_t h = home(x, x->keys[j]);
        if (((j - h) & mask) >= ((j - hole) & mask)) {
            x->keys[hole] = x->keys[j];
            x->vals[hole] = x->vals[j];
            x->keys[j] = 0;
            hole = j;
        }
    }
    return 0;
}
