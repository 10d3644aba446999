#include "core/deadline_heap.h"

#include <stdlib.h>

void deadline_heap_init(struct deadline_heap *h)
{
    h->v = NULL;
    h->n = h->cap = 0;
}

void deadline_heap_free(struct deadline_heap *h)
{
    for (size_t i = 0; i < h->n; i++)
        h->v[i]->pos = 0;
    free(h->v);
    deadline_heap_init(h);
}

static void place(struct deadline_heap *h, size_t i, struct deadline_node *node)
{
    h->v[i] = node;
    node->pos = i + 1;
}

static void sift_up(struct deadline_heap *h, size_t i)
{
    struct deadline_node *node = h->v[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->v[parent]->when <= node->when)
            break;
        place(h, i, h->v[parent]);
        i = parent;
    }
    place(h, i, node);
}

static void sift_down(struct deadline_heap *h, size_t i)
{
    struct deadline_node *node = h->v[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->n)
            break;
        if (child + 1 < h->n && h->v[child + 1]->when < h->v[child]->when)
            child++;
        if (node->when <= h->v[child]->when)
            break;
        place(h, i, h->v[child]);
        i = child;
    }
    place(h, i, node);
}

int deadline_heap_set(struct deadline_heap *h, struct deadline_node *node, long long when)
{
    if (node->pos) {
        long long old = node->when;
        node->when = when;
        if (when < old)
            sift_up(h, node->pos - 1);
        else if (when > old)
            sift_down(h, node->pos - 1);
        return 0;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        struct deadline_node **v = realloc(h->v, cap * sizeof *v);
        if (!v)
            return -1;
        h->v = v;
        h->cap = cap;
    }
    node->when = when;
    place(h, h->n++, node);
    sift_up(h, h->n - 1);
    return 0;
}

void deadline_heap_remove(struct deadline_heap *h, struct deadline_node *node)
{
    if (!node->pos)
        return;
    size_t i = node->pos - 1;
    node->pos = 0;
    struct deadline_node *last = h->v[--h->n];
    if (i == h->n)
        return;
    /* The last node fills the hole; it may belong above or below it. */
    place(h, i, last);
    if (i > 0 && h->v[(i - 1) / 2]->when > last->when)
        sift_up(h, i);
    else
        sift_down(h, i);
}
