#include "unit.h"

#include <string.h>

#include "core/bytebuf.h"

START_TEST(append_within_bound)
{
    struct bytebuf b;
    bytebuf_init(&b, 10);
    ck_assert_int_eq(bytebuf_append(&b, "hello", 5), 0);
    ck_assert_int_eq(bytebuf_append(&b, "world", 5), 0);
    ck_assert_uint_eq(bytebuf_len(&b), 10);
    ck_assert_int_eq(memcmp(bytebuf_head(&b), "helloworld", 10), 0);
    ck_assert_uint_eq(bytebuf_room(&b), 0);
    bytebuf_free(&b);
}
END_TEST

START_TEST(append_past_bound_fails_and_keeps_data)
{
    struct bytebuf b;
    bytebuf_init(&b, 8);
    ck_assert_int_eq(bytebuf_append(&b, "abcdef", 6), 0);
    ck_assert_int_eq(bytebuf_append(&b, "xyz", 3), -1);
    ck_assert_uint_eq(bytebuf_len(&b), 6);
    ck_assert_ptr_null(bytebuf_reserve(&b, 3));
    bytebuf_free(&b);
}
END_TEST

START_TEST(consume_then_reuse_space)
{
    struct bytebuf b;
    bytebuf_init(&b, 8);
    ck_assert_int_eq(bytebuf_append(&b, "abcdefgh", 8), 0);
    bytebuf_consume(&b, 5);
    ck_assert_uint_eq(bytebuf_len(&b), 3);
    ck_assert_int_eq(bytebuf_append(&b, "12345", 5), 0);
    ck_assert_int_eq(memcmp(bytebuf_head(&b), "fgh12345", 8), 0);
    bytebuf_consume(&b, 100);
    ck_assert_uint_eq(bytebuf_len(&b), 0);
    bytebuf_free(&b);
}
END_TEST

/* Found by tests/fuzz (sse): an empty line in SSE lines mode took the head
 * of a never-used buffer, NULL + 0, which clang's UBSan reports. */
START_TEST(head_of_unused_buffer_is_valid)
{
    struct bytebuf b;
    bytebuf_init(&b, 16);
    ck_assert_ptr_nonnull(bytebuf_head(&b));
    ck_assert_uint_eq(bytebuf_len(&b), 0);
    ck_assert_int_eq(bytebuf_append(&b, bytebuf_head(&b), bytebuf_len(&b)), 0);
    ck_assert_int_eq(bytebuf_append(&b, "ab", 2), 0);
    ck_assert_mem_eq(bytebuf_head(&b), "ab", 2);
    bytebuf_free(&b);
    ck_assert_ptr_nonnull(bytebuf_head(&b));
}
END_TEST

START_TEST(reserve_commit)
{
    struct bytebuf b;
    bytebuf_init(&b, 1 << 20);
    for (int i = 0; i < 1000; i++) {
        uint8_t *p = bytebuf_reserve(&b, 100);
        ck_assert_ptr_nonnull(p);
        memset(p, i & 0xff, 60);
        bytebuf_commit(&b, 60);
    }
    ck_assert_uint_eq(bytebuf_len(&b), 60000);
    ck_assert_uint_eq(bytebuf_head(&b)[59999], 999 & 0xff);
    bytebuf_free(&b);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("bytebuf");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, append_within_bound);
    tcase_add_test(tc, append_past_bound_fails_and_keeps_data);
    tcase_add_test(tc, consume_then_reuse_space);
    tcase_add_test(tc, reserve_commit);
    tcase_add_test(tc, head_of_unused_buffer_is_valid);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN
