#include "unit.h"

#include <string.h>

#include "core/deadline_heap.h"

/* The heap property and every node's back-index hold. */
static void check_heap(const struct deadline_heap *h)
{
    for (size_t i = 0; i < h->n; i++) {
        ck_assert_uint_eq(h->v[i]->pos, i + 1);
        if (i > 0)
            ck_assert(h->v[(i - 1) / 2]->when <= h->v[i]->when);
    }
}

START_TEST(empty_heap_has_no_minimum)
{
    struct deadline_heap h;
    deadline_heap_init(&h);
    ck_assert_ptr_null(deadline_heap_min(&h));
    struct deadline_node n = { 0, 0 };
    deadline_heap_remove(&h, &n);   /* not queued: nothing happens */
    ck_assert_ptr_null(deadline_heap_min(&h));
    deadline_heap_free(&h);
}
END_TEST

START_TEST(minimum_follows_set_move_and_remove)
{
    struct deadline_heap h;
    struct deadline_node a = { 0, 0 }, b = { 0, 0 }, c = { 0, 0 };
    deadline_heap_init(&h);
    ck_assert_int_eq(deadline_heap_set(&h, &a, 300), 0);
    ck_assert_int_eq(deadline_heap_set(&h, &b, 100), 0);
    ck_assert_int_eq(deadline_heap_set(&h, &c, 200), 0);
    ck_assert_ptr_eq(deadline_heap_min(&h), &b);
    ck_assert_int_eq(deadline_heap_set(&h, &a, 50), 0);      /* earlier: moves up */
    ck_assert_ptr_eq(deadline_heap_min(&h), &a);
    ck_assert_int_eq(deadline_heap_set(&h, &a, 500), 0);     /* later: moves down */
    ck_assert_ptr_eq(deadline_heap_min(&h), &b);
    deadline_heap_remove(&h, &b);
    ck_assert(!deadline_queued(&b));
    ck_assert_ptr_eq(deadline_heap_min(&h), &c);
    ck_assert_uint_eq(h.n, 2);
    check_heap(&h);
    deadline_heap_free(&h);
    ck_assert(!deadline_queued(&a));
    ck_assert(!deadline_queued(&c));
}
END_TEST

/* Many nodes, random times, random moves and removals: popping the
 * minimum must give every queued node in time order. */
START_TEST(random_operations_keep_order)
{
    enum { N = 2000 };
    static struct deadline_node nodes[N];
    struct deadline_heap h;
    deadline_heap_init(&h);
    memset(nodes, 0, sizeof nodes);
    srand(7);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(deadline_heap_set(&h, &nodes[i], rand() % 100000), 0);
    for (int k = 0; k < 5000; k++) {
        struct deadline_node *n = &nodes[rand() % N];
        if (rand() % 4 == 0)
            deadline_heap_remove(&h, n);
        else
            ck_assert_int_eq(deadline_heap_set(&h, n, rand() % 100000), 0);
    }
    check_heap(&h);
    size_t queued = 0;
    for (int i = 0; i < N; i++)
        queued += deadline_queued(&nodes[i]);
    ck_assert_uint_eq(queued, h.n);
    long long last = -1;
    while (deadline_heap_min(&h)) {
        struct deadline_node *m = deadline_heap_min(&h);
        ck_assert(m->when >= last);
        last = m->when;
        deadline_heap_remove(&h, m);
        queued--;
    }
    ck_assert_uint_eq(queued, 0);
    deadline_heap_free(&h);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("deadline_heap");
    TCase *tc = tcase_create("heap");
    tcase_add_test(tc, empty_heap_has_no_minimum);
    tcase_add_test(tc, minimum_follows_set_move_and_remove);
    tcase_add_test(tc, random_operations_keep_order);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN
