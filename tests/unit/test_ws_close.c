#include "unit.h"

#include <string.h>

#include "core/utf8.h"
#include "core/ws_close.h"

START_TEST(code_ranges)
{
    static const struct { unsigned lo, hi; int valid; } ranges[] = {
        { 0, 999, 0 },
        { 1000, 1003, 1 },
        { 1004, 1006, 0 },
        { 1007, 1014, 1 },
        { 1015, 2999, 0 },
        { 3000, 4999, 1 },
        { 5000, 70000, 0 },
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        for (unsigned c = ranges[i].lo; c <= ranges[i].hi; c++)
            if (ws_close_code_valid(c) != ranges[i].valid)
                ck_abort_msg("code %u: expected valid=%d", c, ranges[i].valid);
    /* The boundaries, spelled out. */
    ck_assert_int_eq(ws_close_code_valid(999), 0);
    ck_assert_int_eq(ws_close_code_valid(1000), 1);
    ck_assert_int_eq(ws_close_code_valid(1003), 1);
    ck_assert_int_eq(ws_close_code_valid(1004), 0);
    ck_assert_int_eq(ws_close_code_valid(1005), 0);
    ck_assert_int_eq(ws_close_code_valid(1006), 0);
    ck_assert_int_eq(ws_close_code_valid(1007), 1);
    ck_assert_int_eq(ws_close_code_valid(1014), 1);
    ck_assert_int_eq(ws_close_code_valid(1015), 0);
    ck_assert_int_eq(ws_close_code_valid(1016), 0);
    ck_assert_int_eq(ws_close_code_valid(2999), 0);
    ck_assert_int_eq(ws_close_code_valid(3000), 1);
    ck_assert_int_eq(ws_close_code_valid(4999), 1);
    ck_assert_int_eq(ws_close_code_valid(5000), 0);
    ck_assert_int_eq(ws_close_code_valid(65535), 0);
}
END_TEST

START_TEST(parse_empty_is_1005)
{
    unsigned code = 0;
    const uint8_t *reason = (const uint8_t *)"x";
    size_t rlen = 9;
    ck_assert_int_eq(ws_close_parse((const uint8_t *)"", 0, &code, &reason, &rlen), 0);
    ck_assert_uint_eq(code, WS_CLOSE_NO_STATUS);
    ck_assert_uint_eq(rlen, 0);
    ck_assert_ptr_null(reason);
}
END_TEST

START_TEST(parse_code_and_reason)
{
    unsigned code;
    const uint8_t *reason;
    size_t rlen;
    const uint8_t p1[] = { 0x03, 0xE8 };
    ck_assert_int_eq(ws_close_parse(p1, 2, &code, &reason, &rlen), 0);
    ck_assert_uint_eq(code, 1000);
    ck_assert_uint_eq(rlen, 0);

    const uint8_t p2[] = { 0x0F, 0xA0, 'b', 'y', 'e', ' ', 0xC3, 0xBC };
    ck_assert_int_eq(ws_close_parse(p2, sizeof p2, &code, &reason, &rlen), 0);
    ck_assert_uint_eq(code, 4000);
    ck_assert_uint_eq(rlen, 6);
    ck_assert_ptr_eq(reason, p2 + 2);
    ck_assert_int_eq(memcmp(reason, "bye \xC3\xBC", 6), 0);

    const uint8_t p3[] = { 0x13, 0x87 };       /* 4999 */
    ck_assert_int_eq(ws_close_parse(p3, 2, &code, &reason, &rlen), 0);
    ck_assert_uint_eq(code, 4999);
}
END_TEST

START_TEST(parse_one_byte_is_protocol_error)
{
    unsigned code = 0;
    const uint8_t *reason;
    size_t rlen;
    ck_assert_int_eq(ws_close_parse((const uint8_t *)"\x03", 1, &code, &reason, &rlen), -1);
    ck_assert_uint_eq(code, WS_CLOSE_PROTOCOL);
}
END_TEST

START_TEST(parse_invalid_codes)
{
    static const unsigned bad[] = { 0, 999, 1004, 1005, 1006, 1015, 1016, 1100,
                                    2000, 2999, 5000, 65535 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t p[4] = { (uint8_t)(bad[i] >> 8), (uint8_t)bad[i], 'o', 'k' };
        unsigned code = 0;
        const uint8_t *reason;
        size_t rlen;
        ck_assert_int_eq(ws_close_parse(p, 4, &code, &reason, &rlen), -1);
        ck_assert_uint_eq(code, WS_CLOSE_PROTOCOL);
        ck_assert_int_eq(ws_close_parse(p, 2, &code, &reason, &rlen), -1);
    }
}
END_TEST

START_TEST(parse_bad_reason_is_1007)
{
    static const char *const bad[] = { "\xFF", "a\xC0\xAF", "\xED\xA0\x80", "\xE2\x82",
                                       "\xF4\x90\x80\x80" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t p[16] = { 0x03, 0xE8 };
        size_t n = strlen(bad[i]);
        memcpy(p + 2, bad[i], n);
        unsigned code = 0;
        const uint8_t *reason;
        size_t rlen;
        ck_assert_int_eq(ws_close_parse(p, 2 + n, &code, &reason, &rlen), -1);
        ck_assert_uint_eq(code, WS_CLOSE_INVALID_DATA);
    }
}
END_TEST

START_TEST(parse_over_125_rejected)
{
    uint8_t p[126];
    memset(p, 'a', sizeof p);
    p[0] = 0x03;
    p[1] = 0xE8;
    unsigned code;
    const uint8_t *reason;
    size_t rlen;
    ck_assert_int_eq(ws_close_parse(p, 125, &code, &reason, &rlen), 0);
    ck_assert_uint_eq(rlen, 123);
    ck_assert_int_eq(ws_close_parse(p, 126, &code, &reason, &rlen), -1);
    ck_assert_uint_eq(code, WS_CLOSE_PROTOCOL);
}
END_TEST

START_TEST(build_empty_for_no_code)
{
    uint8_t out[125];
    ck_assert_uint_eq(ws_close_build(out, 0, "ignored", 7), 0);
    ck_assert_uint_eq(ws_close_build(out, WS_CLOSE_NO_STATUS, "ignored", 7), 0);
}
END_TEST

START_TEST(build_parse_round_trip)
{
    static const struct { unsigned code; const char *reason; } cases[] = {
        { 1000, "" }, { 1001, "going away" }, { 1011, "handler exited 3" },
        { 3000, "\xE6\x97\xA5\xE6\x9C\xAC" }, { 4999, "\xF0\x9F\x98\x80!" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t out[125];
        size_t rl = strlen(cases[i].reason);
        size_t n = ws_close_build(out, cases[i].code, cases[i].reason, rl);
        ck_assert_uint_eq(n, 2 + rl);
        ck_assert_uint_eq(out[0], cases[i].code >> 8);
        ck_assert_uint_eq(out[1], cases[i].code & 0xFF);
        unsigned code;
        const uint8_t *reason;
        size_t rlen;
        ck_assert_int_eq(ws_close_parse(out, n, &code, &reason, &rlen), 0);
        ck_assert_uint_eq(code, cases[i].code);
        ck_assert_uint_eq(rlen, rl);
        ck_assert_int_eq(memcmp(reason, cases[i].reason, rl), 0);
    }
    uint8_t out[125];
    ck_assert_uint_eq(ws_close_build(out, 1000, NULL, 5), 2);
}
END_TEST

START_TEST(build_truncates_ascii_to_125)
{
    char reason[300];
    memset(reason, 'r', sizeof reason);
    uint8_t out[125];
    ck_assert_uint_eq(ws_close_build(out, 1000, reason, sizeof reason), 125);
    ck_assert_uint_eq(ws_close_build(out, 1000, reason, 123), 125);
    ck_assert_uint_eq(ws_close_build(out, 1000, reason, 124), 125);
    ck_assert_uint_eq(ws_close_build(out, 1000, reason, 122), 124);
}
END_TEST

START_TEST(build_truncates_at_character_boundary)
{
    /* A character of each length placed so that it straddles byte 123 of
     * the reason at every possible offset: the cut drops it whole. */
    static const char *const chars[] = { "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80" };
    for (size_t c = 0; c < 3; c++) {
        size_t clen = strlen(chars[c]);
        for (size_t start = 123 - clen + 1; start <= 123; start++) {
            char reason[200];
            memset(reason, 'a', sizeof reason);
            memcpy(reason + start, chars[c], clen);
            uint8_t out[125];
            size_t n = ws_close_build(out, 1001, reason, sizeof reason);
            size_t want = start + clen <= 123 ? 123 : start;
            ck_assert_uint_eq(n, 2 + want);
            ck_assert_int_eq(utf8_valid(out + 2, n - 2), 1);
            ck_assert_int_eq(memcmp(out + 2, reason, want), 0);
            unsigned code;
            const uint8_t *r;
            size_t rlen;
            ck_assert_int_eq(ws_close_parse(out, n, &code, &r, &rlen), 0);
            ck_assert_uint_eq(code, 1001);
        }
        /* Ending exactly at the limit keeps the character. */
        char reason[200];
        memset(reason, 'a', sizeof reason);
        memcpy(reason + 123 - clen, chars[c], clen);
        uint8_t out[125];
        ck_assert_uint_eq(ws_close_build(out, 1001, reason, sizeof reason), 125);
        ck_assert_int_eq(memcmp(out + 2 + 123 - clen, chars[c], clen), 0);
    }
    /* All multibyte: 41 three-byte characters fill 123 exactly. */
    char euros[3 * 60];
    for (size_t i = 0; i < 60; i++)
        memcpy(euros + 3 * i, "\xE2\x82\xAC", 3);
    uint8_t out[125];
    ck_assert_uint_eq(ws_close_build(out, 1000, euros, sizeof euros), 125);
    char quads[4 * 40];
    for (size_t i = 0; i < 40; i++)
        memcpy(quads + 4 * i, "\xF0\x9F\x98\x80", 4);
    ck_assert_uint_eq(ws_close_build(out, 1000, quads, sizeof quads), 2 + 120);
    ck_assert_int_eq(utf8_valid(out + 2, 120), 1);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("ws_close");
    TCase *tc = tcase_create("close");
    tcase_add_test(tc, code_ranges);
    tcase_add_test(tc, parse_empty_is_1005);
    tcase_add_test(tc, parse_code_and_reason);
    tcase_add_test(tc, parse_one_byte_is_protocol_error);
    tcase_add_test(tc, parse_invalid_codes);
    tcase_add_test(tc, parse_bad_reason_is_1007);
    tcase_add_test(tc, parse_over_125_rejected);
    tcase_add_test(tc, build_empty_for_no_code);
    tcase_add_test(tc, build_parse_round_trip);
    tcase_add_test(tc, build_truncates_ascii_to_125);
    tcase_add_test(tc, build_truncates_at_character_boundary);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN
