#include "unit.h"

#include <stdint.h>
#include <string.h>

#include "core/id_index.h"

START_TEST(put_get_del)
{
    struct id_index x;
    id_index_init(&x);
    size_t v = 99;
    ck_assert_int_eq(id_index_get(&x, 5, &v), -1);     /* empty */
    ck_assert_int_eq(id_index_del(&x, 5), -1);
    ck_assert_int_eq(id_index_put(&x, 0, 1), -1);      /* 0 is not a key */
    ck_assert_int_eq(id_index_put(&x, 5, 7), 0);
    ck_assert_int_eq(id_index_get(&x, 5, &v), 0);
    ck_assert_uint_eq(v, 7);
    ck_assert_int_eq(id_index_put(&x, 5, 8), 0);       /* replaces */
    ck_assert_int_eq(id_index_get(&x, 5, &v), 0);
    ck_assert_uint_eq(v, 8);
    ck_assert_uint_eq(x.n, 1);
    ck_assert_int_eq(id_index_del(&x, 5), 0);
    ck_assert_int_eq(id_index_get(&x, 5, &v), -1);
    ck_assert_int_eq(id_index_del(&x, 5), -1);
    ck_assert_uint_eq(x.n, 0);
    id_index_free(&x);
    ck_assert_ptr_null(x.keys);
}
END_TEST

/* Many keys, removed in an order that leaves long probe runs behind
 * (backward shift), checked against a plain array after every step. */
START_TEST(agrees_with_a_plain_array)
{
    enum { N = 5000 };
    static size_t ref[N + 1];   /* ref[k]: value of key k, or SIZE_MAX */
    for (size_t k = 0; k <= N; k++)
        ref[k] = SIZE_MAX;
    struct id_index x;
    id_index_init(&x);
    uint64_t r = 88172645463325252ull;
    for (int step = 0; step < 60000; step++) {
        r ^= r << 13; r ^= r >> 7; r ^= r << 17;
        /* keys: sequential ids, and pid-like keys tagged in the low bit */
        uint64_t k = 1 + r % N;
        /* plain comparisons, one assertion per check: each ck_assert
         * costs a system call */
        int bad = 0;
        if ((r >> 20) % 3) {
            bad |= id_index_put(&x, k, (size_t)step) != 0;
            ref[k] = (size_t)step;
        } else {
            bad |= id_index_del(&x, k) != (ref[k] == SIZE_MAX ? -1 : 0);
            ref[k] = SIZE_MAX;
        }
        if (bad)
            ck_abort_msg("step %d, key %llu", step, (unsigned long long)k);
        if (step % 997 == 0 || step == 59999) {
            size_t live = 0;
            for (uint64_t j = 1; j <= N; j++) {
                size_t v = SIZE_MAX;
                int rc = id_index_get(&x, j, &v);
                if (ref[j] == SIZE_MAX ? rc != -1 : rc != 0 || v != ref[j])
                    ck_abort_msg("step %d, key %llu: %d %zu, want %zu", step,
                                 (unsigned long long)j, rc, v, ref[j]);
                live += ref[j] != SIZE_MAX;
            }
            ck_assert_uint_eq(x.n, live);
            ck_assert(x.n * 2 <= x.cap);
        }
    }
    id_index_free(&x);
}
END_TEST

/* Keys that all land in one run: removing from its middle must keep the
 * rest reachable. */
START_TEST(one_long_run)
{
    struct id_index x;
    id_index_init(&x);
    ck_assert_int_eq(id_index_put(&x, 1, 1), 0);   /* allocates 64 cells */
    /* find keys with the same home as key 1 */
    uint64_t same[8];
    int n = 0;
    size_t h1 = (size_t)((1 * 0x9E3779B97F4A7C15ull) >> 32) & (x.cap - 1);
    for (uint64_t k = 2; n < 8; k++)
        if (((size_t)((k * 0x9E3779B97F4A7C15ull) >> 32) & (x.cap - 1)) == h1)
            same[n++] = k;
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(id_index_put(&x, same[i], 100 + (size_t)i), 0);
    ck_assert_int_eq(id_index_del(&x, 1), 0);
    ck_assert_int_eq(id_index_del(&x, same[3]), 0);
    for (int i = 0; i < 8; i++) {
        size_t v;
        ck_assert_int_eq(id_index_get(&x, same[i], &v), i == 3 ? -1 : 0);
        if (i != 3)
            ck_assert_uint_eq(v, 100 + (size_t)i);
    }
    id_index_free(&x);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("id_index");
    TCase *tc = tcase_create("index");
    tcase_add_test(tc, put_get_del);
    tcase_add_test(tc, agrees_with_a_plain_array);
    tcase_add_test(tc, one_long_run);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN
