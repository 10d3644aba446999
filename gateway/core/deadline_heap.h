/* deadline_heap.h - the earliest of many deadlines, for an event loop.
 *
 * An event-loop worker holds thousands of connections, each with at most
 * one "wake me at" time; scanning them all before every wait would cost
 * O(n) per event.  This is a binary min-heap of nodes the caller embeds in
 * its own records: set, remove and the minimum are O(log n) / O(1), and
 * the heap allocates nothing but its array of pointers (grown on demand,
 * bounded by the number of nodes in it).
 */
#ifndef PUSHPIPE_DEADLINE_HEAP_H
#define PUSHPIPE_DEADLINE_HEAP_H

#include <stddef.h>

struct deadline_node {
    long long when;     /* valid while queued */
    size_t pos;         /* index in the heap + 1; 0: not queued */
};

struct deadline_heap {
    struct deadline_node **v;   /* owned */
    size_t n, cap;
};

void deadline_heap_init(struct deadline_heap *h);
void deadline_heap_free(struct deadline_heap *h);

/* Queue node at when, or move it there if already queued.  0, or -1 when
 * memory for a new node is short (the node is then not queued). */
int deadline_heap_set(struct deadline_heap *h, struct deadline_node *node, long long when);
/* Take node out (nothing if not queued). */
void deadline_heap_remove(struct deadline_heap *h, struct deadline_node *node);
/* The node with the earliest time, NULL when empty. */
static inline struct deadline_node *deadline_heap_min(const struct deadline_heap *h)
{
    return h->n ? h->v[0] : NULL;
}
static inline int deadline_queued(const struct deadline_node *node)
{
    return node->pos != 0;
}

#endif
