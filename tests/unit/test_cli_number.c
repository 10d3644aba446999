#include "unit.h"

#include "core/cli_number.h"

START_TEST(sizes)
{
    uint64_t v;
    ck_assert_int_eq(cli_parse_size("0", &v), 0);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(cli_parse_size("8192", &v), 0);
    ck_assert_uint_eq(v, 8192);
    ck_assert_int_eq(cli_parse_size("8K", &v), 0);
    ck_assert_uint_eq(v, 8192);
    ck_assert_int_eq(cli_parse_size("64m", &v), 0);
    ck_assert_uint_eq(v, 64ull << 20);
    ck_assert_int_eq(cli_parse_size("2G", &v), 0);
    ck_assert_uint_eq(v, 2ull << 30);
    const char *bad[] = { "", "-1", "+1", " 1", "1 ", "1KB", "1T", "K", "0x10",
                          "99999999999999999999", "17179869184G" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(cli_parse_size(bad[i], &v) < 0, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(counts)
{
    unsigned u;
    ck_assert_int_eq(cli_parse_uint("0", 10, &u), 0);
    ck_assert_uint_eq(u, 0);
    ck_assert_int_eq(cli_parse_uint("10", 10, &u), 0);
    ck_assert_uint_eq(u, 10);
    ck_assert_int_eq(cli_parse_uint("11", 10, &u), -1);
    ck_assert_int_eq(cli_parse_uint("1K", 5000, &u), -1);   /* counts take no suffix */
    ck_assert_int_eq(cli_parse_uint("", 10, &u), -1);
    ck_assert_int_eq(cli_parse_uint("-3", 10, &u), -1);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("cli_number");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, sizes);
    tcase_add_test(tc, counts);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN
