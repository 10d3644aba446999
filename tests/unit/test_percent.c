#include "unit.h"

#include <string.h>

#include "core/percent.h"

START_TEST(hex_digits_either_case)
{
    ck_assert_int_eq(hex_value('0'), 0);
    ck_assert_int_eq(hex_value('9'), 9);
    ck_assert_int_eq(hex_value('a'), 10);
    ck_assert_int_eq(hex_value('F'), 15);
    ck_assert_int_eq(hex_value('g'), -1);
    ck_assert_int_eq(hex_value('/'), -1);
    ck_assert_int_eq(hex_value(0xff), -1);
}
END_TEST

START_TEST(decodes_escapes)
{
    char out[32];
    ck_assert_int_eq(pct_decode("/a%2Fb%c3%A9", 12, out, sizeof out, 0), 6);
    ck_assert_mem_eq(out, "/a/b\xc3\xa9", 6);
    /* '+' is itself unless asked */
    ck_assert_int_eq(pct_decode("a+b", 3, out, sizeof out, 0), 3);
    ck_assert_mem_eq(out, "a+b", 3);
    ck_assert_int_eq(pct_decode("a+b%2B", 6, out, sizeof out, PCT_PLUS_IS_SPACE), 4);
    ck_assert_mem_eq(out, "a b+", 4);
    ck_assert_int_eq(pct_decode("", 0, out, 0, 0), 0);
}
END_TEST

START_TEST(refuses_malformed_nul_and_overflow)
{
    char out[8];
    ck_assert_int_eq(pct_decode("%", 1, out, sizeof out, 0), -1);
    ck_assert_int_eq(pct_decode("ab%4", 4, out, sizeof out, 0), -1);
    ck_assert_int_eq(pct_decode("%zz", 3, out, sizeof out, 0), -1);
    ck_assert_int_eq(pct_decode("a%00b", 5, out, sizeof out, 0), -1);
    /* output bound: 4 bytes fit in 4, not in 3 */
    ck_assert_int_eq(pct_decode("abcd", 4, out, 4, 0), 4);
    ck_assert_int_eq(pct_decode("abcd", 4, out, 3, 0), -1);
    ck_assert_int_eq(pct_decode("%41%42", 6, out, 2, 0), 2);
}
END_TEST

START_TEST(controls_only_when_refused)
{
    char out[8];
    ck_assert_int_eq(pct_decode("a%0Ab", 5, out, sizeof out, 0), 3);
    ck_assert_int_eq(pct_decode("a%0Ab", 5, out, sizeof out, PCT_NO_CONTROLS), -1);
    ck_assert_int_eq(pct_decode("a\tb", 3, out, sizeof out, PCT_NO_CONTROLS), -1);
    ck_assert_int_eq(pct_decode("a%7Fb", 5, out, sizeof out, PCT_NO_CONTROLS), -1);
    ck_assert_int_eq(pct_decode("a%20b", 5, out, sizeof out, PCT_NO_CONTROLS), 3);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("percent");
    TCase *tc = tcase_create("decode");
    tcase_add_test(tc, hex_digits_either_case);
    tcase_add_test(tc, decodes_escapes);
    tcase_add_test(tc, refuses_malformed_nul_and_overflow);
    tcase_add_test(tc, controls_only_when_refused);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN
