#include "unit.h"

#include <string.h>

#include "core/utf8.h"

/* Check's ck_assert_* records a mark point per call; in loops that run
 * millions of times this plain check keeps the suite fast. */
#define REQUIRE(cond)                                                     \
    do {                                                                  \
        if (!(cond))                                                      \
            ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #cond);         \
    } while (0)

/* Encodes any value up to 0x1FFFFF, surrogates included, so invalid
 * scalars can be produced too. */
static size_t enc(uint32_t cp, uint8_t *o)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | cp >> 6);
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | cp >> 18);
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

enum { REF_VALID = -1, REF_PARTIAL = -2 };

/* Reference validator written straight from the RFC 3629 table of
 * well-formed sequences: the index of the first byte that makes the input
 * invalid, REF_VALID, or REF_PARTIAL (valid but ends inside a character). */
static long ref_check(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i], lo = 0x80, hi = 0xBF;
        size_t need;
        if (b < 0x80) {
            i++;
            continue;
        } else if (b >= 0xC2 && b <= 0xDF) {
            need = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
            need = 2;
            if (b == 0xE0)
                lo = 0xA0;
            if (b == 0xED)
                hi = 0x9F;
        } else if (b >= 0xF0 && b <= 0xF4) {
            need = 3;
            if (b == 0xF0)
                lo = 0x90;
            if (b == 0xF4)
                hi = 0x8F;
        } else {
            return (long)i;
        }
        for (size_t k = 1; k <= need; k++) {
            if (i + k >= n)
                return REF_PARTIAL;
            uint8_t c = p[i + k];
            if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF))
                return (long)(i + k);
        }
        i += need + 1;
    }
    return REF_VALID;
}

static enum utf8_result feed_all(const uint8_t *p, size_t n)
{
    uint32_t s = UTF8_STATE_INIT;
    return utf8_feed(&s, p, n);
}

static enum utf8_result feed_split(const uint8_t *p, size_t n, size_t k)
{
    uint32_t s = UTF8_STATE_INIT;
    utf8_feed(&s, p, k);
    return utf8_feed(&s, p + k, n - k);
}

/* Index of the byte at which byte-by-byte feeding first says INVALID
 * (REF_VALID / REF_PARTIAL otherwise): the fail-fast position. */
static long bytewise_fail_index(const uint8_t *p, size_t n)
{
    uint32_t s = UTF8_STATE_INIT;
    enum utf8_result r = UTF8_OK;
    for (size_t i = 0; i < n; i++) {
        r = utf8_feed(&s, p + i, 1);
        if (r == UTF8_INVALID)
            return (long)i;
    }
    return r == UTF8_OK ? REF_VALID : REF_PARTIAL;
}

static enum utf8_result ref_result(long r)
{
    return r == REF_VALID ? UTF8_OK : r == REF_PARTIAL ? UTF8_PARTIAL : UTF8_INVALID;
}

START_TEST(empty_and_ascii)
{
    uint32_t s = UTF8_STATE_INIT;
    ck_assert_int_eq(utf8_feed(&s, (const uint8_t *)"", 0), UTF8_OK);
    ck_assert_int_eq(utf8_feed(&s, NULL, 0), UTF8_OK);
    ck_assert_int_eq(utf8_feed(&s, (const uint8_t *)"hello, world", 12), UTF8_OK);
    ck_assert_uint_eq(s, UTF8_STATE_INIT);
    ck_assert_int_eq(utf8_valid((const uint8_t *)"\x7f\x01", 2), 1);
    ck_assert_int_eq(utf8_valid((const uint8_t *)"\0", 1), 1);
}
END_TEST

static const uint32_t boundaries[] = {
    0x0, 0x7F, 0x80, 0x7FF, 0x800, 0xFFF, 0x1000, 0xD7FF, 0xE000, 0xFFFD,
    0xFFFF, 0x10000, 0x3FFFF, 0x40000, 0xFFFFF, 0x100000, 0x10FFFF
};

START_TEST(boundary_code_points_valid_at_every_split)
{
    uint8_t buf[4 * 17 + 2];
    size_t n = 0;
    for (size_t i = 0; i < sizeof boundaries / sizeof boundaries[0]; i++) {
        uint8_t one[4];
        size_t k = enc(boundaries[i], one);
        ck_assert_int_eq(utf8_valid(one, k), 1);
        for (size_t cut = 1; cut < k; cut++) {
            uint32_t s = UTF8_STATE_INIT;
            ck_assert_int_eq(utf8_feed(&s, one, cut), UTF8_PARTIAL);
            ck_assert_int_eq(utf8_feed(&s, one + cut, k - cut), UTF8_OK);
        }
        memcpy(buf + n, one, k);
        n += k;
    }
    ck_assert_int_eq(utf8_valid(buf, n), 1);
    for (size_t cut = 0; cut <= n; cut++)
        ck_assert_int_eq(feed_split(buf, n, cut), UTF8_OK);
    ck_assert_int_eq(bytewise_fail_index(buf, n), REF_VALID);
}
END_TEST

START_TEST(every_scalar_value_valid)
{
    /* 1,112,064 scalars, about 4.3 MB of UTF-8. */
    size_t cap = 0x110000 * 4;
    uint8_t *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    size_t n = 0;
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        uint8_t one[4];
        size_t k = enc(cp, one);
        REQUIRE(feed_all(one, k) == UTF8_OK);
        memcpy(buf + n, one, k);
        n += k;
    }
    ck_assert_int_eq(utf8_valid(buf, n), 1);
    ck_assert_int_eq(feed_split(buf, n, n / 2 + 1), UTF8_OK);
    free(buf);
}
END_TEST

START_TEST(surrogates_fail_at_second_byte)
{
    for (uint32_t cp = 0xD800; cp <= 0xDFFF; cp++) {
        uint8_t b[4];
        REQUIRE(enc(cp, b) == 3);
        REQUIRE(b[0] == 0xED);
        REQUIRE(feed_all(b, 3) == UTF8_INVALID);
        REQUIRE(bytewise_fail_index(b, 3) == 1);
    }
}
END_TEST

START_TEST(above_max_fails_at_second_byte)
{
    static const uint32_t cps[] = { 0x110000, 0x13FFFF, 0x140000, 0x1FFFFF };
    for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) {
        uint8_t b[4];
        ck_assert_uint_eq(enc(cps[i], b), 4);
        ck_assert_int_eq(feed_all(b, 4), UTF8_INVALID);
        /* F4 90.. is known bad at byte 1; F5..F7 at byte 0. */
        ck_assert_int_eq(bytewise_fail_index(b, 4), b[0] == 0xF4 ? 1 : 0);
    }
}
END_TEST

struct bad_case {
    const char *bytes;
    size_t len;
    size_t bad_at;      /* first byte at which the input is known invalid */
};

#define BAD(s, at) { s, sizeof(s) - 1, at }
static const struct bad_case bad_cases[] = {
    BAD("\xC0\x80", 0),                 /* overlong NUL */
    BAD("\xC1\xBF", 0),                 /* overlong 2-byte */
    BAD("\xE0\x80\x80", 1),             /* overlong 3-byte */
    BAD("\xE0\x9F\xBF", 1),             /* overlong U+07FF */
    BAD("\xF0\x80\x80\x80", 1),         /* overlong 4-byte */
    BAD("\xF0\x8F\xBF\xBF", 1),         /* overlong U+FFFF */
    BAD("\xED\xA0\x80", 1),             /* U+D800 */
    BAD("\xED\xBF\xBF", 1),             /* U+DFFF */
    BAD("\xED\xA0\x80\xED\xB0\x80", 1), /* surrogate pair */
    BAD("\xF4\x90\x80\x80", 1),         /* U+110000 */
    BAD("\xF5\x80\x80\x80", 0),
    BAD("\xF7\xBF\xBF\xBF", 0),
    BAD("\xF8\x88\x80\x80\x80", 0),     /* old 5-byte form */
    BAD("\xFC\x84\x80\x80\x80\x80", 0), /* old 6-byte form */
    BAD("\xFE", 0),
    BAD("\xFF", 0),
    BAD("a\xFE" "b", 1),
    BAD("\x80", 0),                     /* stray continuation */
    BAD("\xBF", 0),
    BAD("abc\x80", 3),
    BAD("\xC2\xA9\xA9", 2),             /* one continuation too many */
    BAD("\xC2" "A", 1),                 /* truncated, then ASCII */
    BAD("\xE2\x82" "A", 2),
    BAD("\xF0\x9F\x98" "A", 3),
    BAD("\xC2\xC2\xA9", 1),             /* truncated, then a new lead */
    BAD("\xE2\x82\xE2\x82\xAC", 2),
    BAD("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80" "edited", 12),
};

START_TEST(invalid_sequences_fail_fast_at_every_split)
{
    const struct bad_case *c = &bad_cases[_i];
    const uint8_t *b = (const uint8_t *)c->bytes;

    ck_assert_int_eq(ref_check(b, c->len), (long)c->bad_at);
    ck_assert_int_eq(feed_all(b, c->len), UTF8_INVALID);
    ck_assert_int_eq(utf8_valid(b, c->len), 0);
    for (size_t cut = 0; cut <= c->len; cut++)
        ck_assert_int_eq(feed_split(b, c->len, cut), UTF8_INVALID);

    /* Fail fast: the prefix before the bad byte is fine, the prefix
     * through it is already INVALID. */
    ck_assert_int_ne(feed_all(b, c->bad_at), UTF8_INVALID);
    ck_assert_int_eq(feed_all(b, c->bad_at + 1), UTF8_INVALID);
    ck_assert_int_eq(bytewise_fail_index(b, c->len), (long)c->bad_at);

    /* Invalid is sticky. */
    uint32_t s = UTF8_STATE_INIT;
    ck_assert_int_eq(utf8_feed(&s, b, c->bad_at + 1), UTF8_INVALID);
    ck_assert_int_eq(utf8_feed(&s, (const uint8_t *)"ok", 2), UTF8_INVALID);
    ck_assert_int_eq(utf8_feed(&s, NULL, 0), UTF8_INVALID);
}
END_TEST

START_TEST(truncated_is_partial_not_invalid)
{
    static const char *const cases[] = {
        "\xC2", "\xDF", "\xE0\xA0", "\xE1", "\xED\x9F", "\xEF\xBF", "\xF0",
        "\xF0\x90", "\xF0\x90\x80", "\xF3\xBF\xBF", "\xF4\x8F\xBF", "abc\xE2\x82",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const uint8_t *b = (const uint8_t *)cases[i];
        size_t n = strlen(cases[i]);
        uint32_t s = UTF8_STATE_INIT;
        ck_assert_int_eq(utf8_feed(&s, b, n), UTF8_PARTIAL);
        ck_assert_uint_ne(s, UTF8_STATE_INIT);
        ck_assert_int_eq(utf8_valid(b, n), 0);
        for (size_t cut = 0; cut <= n; cut++)
            ck_assert_int_eq(feed_split(b, n, cut), UTF8_PARTIAL);
    }
}
END_TEST

/* The ASCII fast path reads 16-byte blocks: a bad byte or a multibyte
 * character anywhere in or across a block, at any alignment, must be seen. */
START_TEST(fast_path_sees_every_position)
{
    uint8_t raw[128 + 16];
    for (size_t align = 0; align < 16; align++) {
        uint8_t *b = raw + align;
        size_t n = 100;
        for (size_t at = 0; at < n; at++) {
            memset(b, 'a', n);
            b[at] = 0x80;
            REQUIRE(feed_all(b, n) == UTF8_INVALID);
            REQUIRE(bytewise_fail_index(b, n) == (long)at);
            b[at] = 0xFF;
            REQUIRE(utf8_valid(b, n) == 0);
            if (at + 4 <= n) {
                memset(b, 'a', n);
                enc(0x1F600, b + at);
                REQUIRE(feed_all(b, n) == UTF8_OK);
                b[at + 1] = 0x8F;       /* overlong F0 8F */
                REQUIRE(feed_all(b, n) == UTF8_INVALID);
            }
            /* Ends inside a character right at the end. */
            memset(b, 'a', n);
            b[n - 1] = 0xE2;
            REQUIRE(feed_all(b, n) == UTF8_PARTIAL);
        }
    }
}
END_TEST

START_TEST(partial_state_resumes_into_fast_path)
{
    /* A character split across calls, then a long ASCII run. */
    uint8_t b[64];
    memset(b, 'x', sizeof b);
    uint32_t s = UTF8_STATE_INIT;
    ck_assert_int_eq(utf8_feed(&s, (const uint8_t *)"\xF0\x9F", 2), UTF8_PARTIAL);
    ck_assert_int_eq(utf8_feed(&s, (const uint8_t *)"\x98", 1), UTF8_PARTIAL);
    /* The ASCII run must not be skipped while a character is open. */
    ck_assert_int_eq(utf8_feed(&s, b, sizeof b), UTF8_INVALID);

    s = UTF8_STATE_INIT;
    ck_assert_int_eq(utf8_feed(&s, (const uint8_t *)"\xF0\x9F\x98", 3), UTF8_PARTIAL);
    b[0] = 0x80;
    ck_assert_int_eq(utf8_feed(&s, b, sizeof b), UTF8_OK);
}
END_TEST

START_TEST(exhaustive_short_sequences_match_reference)
{
    uint8_t b[4];
    for (unsigned x = 0; x < 256; x++) {
        b[0] = (uint8_t)x;
        REQUIRE(feed_all(b, 1) == ref_result(ref_check(b, 1)));
        for (unsigned y = 0; y < 256; y++) {
            b[1] = (uint8_t)y;
            REQUIRE(feed_all(b, 2) == ref_result(ref_check(b, 2)));
            REQUIRE(bytewise_fail_index(b, 2) == ref_check(b, 2));
            if (x < 0xC0)
                continue;       /* ASCII and stray leads decide at byte 0 */
            for (unsigned z = 0; z < 256; z++) {
                b[2] = (uint8_t)z;
                REQUIRE(feed_all(b, 3) == ref_result(ref_check(b, 3)));
                if (x < 0xF0)
                    continue;
                static const uint8_t last[] = { 0x00, 0x7F, 0x80, 0xBF, 0xC0, 0xFF };
                for (size_t w = 0; w < sizeof last; w++) {
                    b[3] = last[w];
                    REQUIRE(feed_all(b, 4) == ref_result(ref_check(b, 4)));
                }
            }
        }
    }
}
END_TEST

START_TEST(random_inputs_match_reference)
{
    /* Bytes drawn mostly from lead and continuation ranges so that long
     * valid and almost-valid runs are common. */
    uint32_t seed = 12345;
    uint8_t b[48];
    for (int iter = 0; iter < 200000; iter++) {
        seed = seed * 1103515245u + 12345u;
        size_t n = (seed >> 16) % sizeof b;
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = seed >> 16;
            switch (r % 4) {
            case 0: b[i] = (uint8_t)(r >> 4 & 0x7F); break;
            case 1: case 2: b[i] = (uint8_t)(0x80 | (r >> 4 & 0x3F)); break;
            default: b[i] = (uint8_t)(0xC0 | (r >> 4 & 0x3F)); break;
            }
        }
        /* Every so often, make it valid so the OK path gets exercised. */
        if (iter % 3 == 0) {
            size_t m = 0;
            while (m + 4 <= n) {
                seed = seed * 1103515245u + 12345u;
                uint32_t cp = (seed >> 8) % 0x110000;
                if (cp >= 0xD800 && cp <= 0xDFFF)
                    cp = 'z';
                m += enc(cp, b + m);
            }
            n = m;
        }
        long want = ref_check(b, n);
        REQUIRE(feed_all(b, n) == ref_result(want));
        REQUIRE(bytewise_fail_index(b, n) == want);
        size_t cut = n ? (seed >> 3) % (n + 1) : 0;
        REQUIRE(feed_split(b, n, cut) == ref_result(want));
    }
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("utf8");
    TCase *tc = tcase_create("validate");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, empty_and_ascii);
    tcase_add_test(tc, boundary_code_points_valid_at_every_split);
    tcase_add_test(tc, every_scalar_value_valid);
    tcase_add_test(tc, surrogates_fail_at_second_byte);
    tcase_add_test(tc, above_max_fails_at_second_byte);
    tcase_add_loop_test(tc, invalid_sequences_fail_fast_at_every_split, 0,
                        (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(tc, truncated_is_partial_not_invalid);
    tcase_add_test(tc, fast_path_sees_every_position);
    tcase_add_test(tc, partial_state_resumes_into_fast_path);
    tcase_add_test(tc, exhaustive_short_sequences_match_reference);
    tcase_add_test(tc, random_inputs_match_reference);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN
