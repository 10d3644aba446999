#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "core/http_request.h"

static struct http_request req;

/* Parses a NUL-terminated request with a generous head limit. */
static int parse(const char *s)
{
    return http_parse_request(s, strlen(s), 8192, &req);
}

static void assert_span(const char *p, size_t n, const char *want)
{
    ck_assert_uint_eq(n, strlen(want));
    ck_assert_mem_eq(p, want, n);
}

static const char sample[] =
    "GET /chat?room=1 HTTP/1.1\r\n"
    "Host: example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "X-Empty:\r\n"
    "X-Spaces: \t padded value \t\r\n"
    "\r\n";

START_TEST(parses_request_line_and_headers)
{
    int n = parse(sample);
    ck_assert_int_eq(n, (int)strlen(sample));
    ck_assert_uint_eq(req.head_len, strlen(sample));
    assert_span(req.method, req.method_len, "GET");
    assert_span(req.target, req.target_len, "/chat?room=1");
    ck_assert_int_eq(req.minor_version, 1);
    ck_assert_uint_eq(req.num_headers, 6);
    assert_span(req.headers[0].name, req.headers[0].name_len, "Host");
    assert_span(req.headers[0].value, req.headers[0].value_len, "example.com");
    assert_span(req.headers[3].name, req.headers[3].name_len, "Sec-WebSocket-Key");
    assert_span(req.headers[3].value, req.headers[3].value_len,
                "dGhlIHNhbXBsZSBub25jZQ==");
    assert_span(req.headers[4].name, req.headers[4].name_len, "X-Empty");
    ck_assert_uint_eq(req.headers[4].value_len, 0);
    assert_span(req.headers[5].value, req.headers[5].value_len, "padded value");
}
END_TEST

START_TEST(every_prefix_is_incomplete)
{
    size_t len = strlen(sample);
    for (size_t i = 0; i < len; i++)
        ck_assert_msg(http_parse_request(sample, i, 8192, &req) == HTTP_PARSE_INCOMPLETE,
                      "prefix of %zu bytes", i);
    ck_assert_int_eq(http_parse_request(sample, len, 8192, &req), (int)len);
}
END_TEST

START_TEST(body_bytes_after_head_are_not_part_of_it)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s%s", sample, "\x81\x85garbage");
    ck_assert_int_eq(parse(buf), (int)strlen(sample));
    ck_assert_uint_eq(req.head_len, strlen(sample));
}
END_TEST

START_TEST(bare_lf_line_endings)
{
    const char *s = "GET / HTTP/1.1\nHost: a\nX: b \n\n";
    ck_assert_int_eq(parse(s), (int)strlen(s));
    ck_assert_uint_eq(req.num_headers, 2);
    assert_span(req.headers[1].value, req.headers[1].value_len, "b");
    for (size_t i = 0; i < strlen(s); i++)
        ck_assert_int_eq(http_parse_request(s, i, 8192, &req), HTTP_PARSE_INCOMPLETE);

    const char *mixed = "GET / HTTP/1.1\r\nHost: a\n\r\n";
    ck_assert_int_eq(parse(mixed), (int)strlen(mixed));
}
END_TEST

START_TEST(leading_empty_lines_are_skipped)
{
    const char *s = "\r\n\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    ck_assert_int_eq(parse(s), (int)strlen(s));
    assert_span(req.method, req.method_len, "GET");
    ck_assert_int_eq(parse("\r\n\r\n"), HTTP_PARSE_INCOMPLETE);
    ck_assert_int_eq(parse("\r"), HTTP_PARSE_INCOMPLETE);
    ck_assert_int_eq(parse("\rGET / HTTP/1.1\r\n\r\n"), HTTP_PARSE_BAD);
}
END_TEST

START_TEST(http_versions)
{
    ck_assert_int_gt(parse("GET / HTTP/1.0\r\n\r\n"), 0);
    ck_assert_int_eq(req.minor_version, 0);
    ck_assert_uint_eq(req.num_headers, 0);
    /* RFC 9110 2.5: a later 1.x is handled as 1.1. */
    ck_assert_int_gt(parse("GET / HTTP/1.2\r\n\r\n"), 0);
    ck_assert_int_eq(req.minor_version, 1);
    ck_assert_int_eq(parse("GET / HTTP/2.0\r\n\r\n"), HTTP_PARSE_VERSION);
    ck_assert_int_eq(parse("GET / HTTP/0.9\r\n\r\n"), HTTP_PARSE_VERSION);
    ck_assert_int_eq(parse("GET / HTTP/3.1\r\n\r\n"), HTTP_PARSE_VERSION);
    ck_assert_int_eq(parse("GET / HTTP/1.x\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET / HTTP/11\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET / HTTP/1.10\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET / http/1.1\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET / HTTPS/1.1\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET / \r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET /\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET\r\n\r\n"), HTTP_PARSE_BAD);
}
END_TEST

START_TEST(bad_request_lines)
{
    ck_assert_int_eq(parse(" / HTTP/1.1\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("G(T / HTTP/1.1\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET  / HTTP/1.1\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET /  HTTP/1.1\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET\t/ HTTP/1.1\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET /a\x01z HTTP/1.1\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET /a\x7fz HTTP/1.1\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET / HTTP/1.1 \r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET / HTTP/1.1\rX\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\r\n\r\n"), HTTP_PARSE_BAD);
    /* A NUL inside the line. */
    static const char nul[] = "GET /\0 HTTP/1.1\r\n\r\n";
    ck_assert_int_eq(http_parse_request(nul, sizeof nul - 1, 8192, &req), HTTP_PARSE_BAD);
}
END_TEST

START_TEST(foreign_protocol_is_refused_early)
{
    /* The first bytes of a TLS ClientHello. */
    static const char tls[] = "\x16\x03\x01\x02\x00";
    ck_assert_int_eq(http_parse_request(tls, 1, 8192, &req), HTTP_PARSE_BAD);
    ck_assert_int_eq(http_parse_request(tls, 5, 8192, &req), HTTP_PARSE_BAD);
    /* An invalid version is seen before the line ends. */
    ck_assert_int_eq(parse("GET / SSH-2"), HTTP_PARSE_BAD);
}
END_TEST

START_TEST(bad_header_names)
{
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\n: a\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHo(st: a\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHo/st: a\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nH\xc3\xa9: a\r\n\r\n"), HTTP_PARSE_BAD);
    /* Unusual but valid tchars. */
    ck_assert_int_gt(parse("GET / HTTP/1.1\r\nX!#$%&'*+-.^_`|~9: a\r\n\r\n"), 0);
    ck_assert_uint_eq(req.headers[0].name_len, strlen("X!#$%&'*+-.^_`|~9"));
}
END_TEST

START_TEST(header_value_characters)
{
    ck_assert_int_gt(parse("GET / HTTP/1.1\r\nX: a\tb\r\n\r\n"), 0);
    assert_span(req.headers[0].value, req.headers[0].value_len, "a\tb");
    ck_assert_int_gt(parse("GET / HTTP/1.1\r\nX: caf\xc3\xa9 \xff\r\n\r\n"), 0);
    assert_span(req.headers[0].value, req.headers[0].value_len, "caf\xc3\xa9 \xff");
    ck_assert_int_gt(parse("GET / HTTP/1.1\r\nX:nospace\r\n\r\n"), 0);
    assert_span(req.headers[0].value, req.headers[0].value_len, "nospace");
    ck_assert_int_gt(parse("GET / HTTP/1.1\r\nX:   \r\n\r\n"), 0);
    ck_assert_uint_eq(req.headers[0].value_len, 0);

    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nX: a\x7fz\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nX: a\x1bz\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nX: a\rz\r\n\r\n"), HTTP_PARSE_BAD);
    static const char nul[] = "GET / HTTP/1.1\r\nX: a\0z\r\n\r\n";
    ck_assert_int_eq(http_parse_request(nul, sizeof nul - 1, 8192, &req), HTTP_PARSE_BAD);
}
END_TEST

START_TEST(obs_fold_is_rejected)
{
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n"), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("GET / HTTP/1.1\n X: a\n\n"), HTTP_PARSE_BAD);
}
END_TEST

START_TEST(blank_line_needs_lf)
{
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nX: a\r\n\r"), HTTP_PARSE_INCOMPLETE);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nX: a\r\n\rZ"), HTTP_PARSE_BAD);
}
END_TEST

START_TEST(head_size_limit)
{
    size_t len = strlen(sample);
    /* Exactly max_head bytes is still allowed. */
    ck_assert_int_eq(http_parse_request(sample, len, len, &req), (int)len);
    /* One byte short: the blank line is not within the limit. */
    ck_assert_int_eq(http_parse_request(sample, len, len - 1, &req), HTTP_PARSE_TOO_LARGE);
    ck_assert_int_eq(http_parse_request(sample, len - 1, len - 1, &req), HTTP_PARSE_TOO_LARGE);
    /* Fewer bytes than the limit: wait for more. */
    ck_assert_int_eq(http_parse_request(sample, 20, 64, &req), HTTP_PARSE_INCOMPLETE);
    ck_assert_int_eq(http_parse_request(sample, 64, 64, &req), HTTP_PARSE_TOO_LARGE);
    /* More bytes than the limit, but the head fits in it. */
    char buf[1024];
    memset(buf, 'x', sizeof buf);
    memcpy(buf, sample, len);
    ck_assert_int_eq(http_parse_request(buf, sizeof buf, len + 10, &req), (int)len);
    /* An error within the limit is reported as such, not as too large. */
    ck_assert_int_eq(http_parse_request("G(T / HTTP/1.1\r\n", 16, 4, &req), HTTP_PARSE_BAD);
    /* A limit beyond what an int can report is clamped, not wrapped. */
    ck_assert_int_eq(http_parse_request(sample, len, (size_t)-1, &req), (int)len);
    /* Endless leading empty lines count against the limit too. */
    memset(buf, '\n', sizeof buf);
    ck_assert_int_eq(http_parse_request(buf, sizeof buf, 512, &req), HTTP_PARSE_TOO_LARGE);
    ck_assert_int_eq(http_parse_request(buf, 100, 512, &req), HTTP_PARSE_INCOMPLETE);
}
END_TEST

/* A request with n headers "Hk: v". */
static size_t many_headers(char *buf, size_t cap, int n)
{
    size_t off = (size_t)snprintf(buf, cap, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < n; i++)
        off += (size_t)snprintf(buf + off, cap - off, "H%d: v%d\r\n", i, i);
    off += (size_t)snprintf(buf + off, cap - off, "\r\n");
    return off;
}

START_TEST(header_count_limit)
{
    static char buf[8192];
    size_t len = many_headers(buf, sizeof buf, HTTP_MAX_HEADERS);
    ck_assert_int_eq(http_parse_request(buf, len, sizeof buf, &req), (int)len);
    ck_assert_uint_eq(req.num_headers, HTTP_MAX_HEADERS);
    assert_span(req.headers[99].name, req.headers[99].name_len, "H99");
    assert_span(req.headers[99].value, req.headers[99].value_len, "v99");

    len = many_headers(buf, sizeof buf, HTTP_MAX_HEADERS + 1);
    ck_assert_int_eq(http_parse_request(buf, len, sizeof buf, &req), HTTP_PARSE_TOO_LARGE);
}
END_TEST

START_TEST(find_header)
{
    ck_assert_int_gt(parse("GET / HTTP/1.1\r\nX-A: 1\r\nHost: h\r\nx-a: 2\r\n\r\n"), 0);
    const struct http_header *h = http_find_header(&req, "x-A");
    ck_assert_ptr_nonnull(h);
    assert_span(h->value, h->value_len, "1");
    h = http_find_header(&req, "HOST");
    ck_assert_ptr_nonnull(h);
    assert_span(h->value, h->value_len, "h");
    ck_assert_ptr_null(http_find_header(&req, "Hos"));
    ck_assert_ptr_null(http_find_header(&req, "Hostx"));
    ck_assert_ptr_null(http_find_header(&req, "Upgrade"));
}
END_TEST

static int has(const char *list, const char *token)
{
    return http_list_has_token(list, strlen(list), token);
}

START_TEST(list_has_token)
{
    ck_assert_int_eq(has("Upgrade", "upgrade"), 1);
    ck_assert_int_eq(has("UPGRADE", "upgrade"), 1);
    ck_assert_int_eq(has("upgrade", "Upgrade"), 1);
    ck_assert_int_eq(has("keep-alive, Upgrade", "upgrade"), 1);
    ck_assert_int_eq(has("keep-alive,Upgrade", "upgrade"), 1);
    ck_assert_int_eq(has("Upgrade, keep-alive", "upgrade"), 1);
    ck_assert_int_eq(has(" \tupgrade\t ", "upgrade"), 1);
    ck_assert_int_eq(has(", ,upgrade ,", "upgrade"), 1);
    ck_assert_int_eq(has("upgrade;q=1", "upgrade"), 1);
    ck_assert_int_eq(has("a, upgrade ; x=y, b", "upgrade"), 1);

    ck_assert_int_eq(has("Upgradeish", "upgrade"), 0);
    ck_assert_int_eq(has("xupgrade", "upgrade"), 0);
    ck_assert_int_eq(has("up grade", "upgrade"), 0);
    ck_assert_int_eq(has("keep-alive", "upgrade"), 0);
    ck_assert_int_eq(has("keep-alive, upgrade-x", "upgrade"), 0);
    ck_assert_int_eq(has("x;upgrade", "upgrade"), 0);
    ck_assert_int_eq(has("", "upgrade"), 0);
    ck_assert_int_eq(has(", ,", ""), 0);
    ck_assert_int_eq(http_list_has_token(NULL, 0, "upgrade"), 0);
    /* Only value_len bytes count. */
    ck_assert_int_eq(http_list_has_token("a, upgrade", 3, "upgrade"), 0);
    ck_assert_int_eq(http_list_has_token("upgradeXYZ", 7, "upgrade"), 1);
}
END_TEST

START_TEST(is_token)
{
    ck_assert_int_eq(http_is_token("GET", 3), 1);
    ck_assert_int_eq(http_is_token("Sec-WebSocket-Key", 17), 1);
    ck_assert_int_eq(http_is_token("!#$%&'*+-.^_`|~", 15), 1);
    ck_assert_int_eq(http_is_token("", 0), 0);
    ck_assert_int_eq(http_is_token("a b", 3), 0);
    ck_assert_int_eq(http_is_token("a\0b", 3), 0);
    ck_assert_int_eq(http_is_token("\x80", 1), 0);
    const char *separators = "\"(),/:;<=>?@[\\]{}\t\x7f";
    for (const char *p = separators; *p; p++)
        ck_assert_msg(!http_is_token(p, 1), "separator 0x%02x", (unsigned char)*p);
    /* Only n bytes count. */
    ck_assert_int_eq(http_is_token("ab cd", 2), 1);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("http_request");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, parses_request_line_and_headers);
    tcase_add_test(tc, every_prefix_is_incomplete);
    tcase_add_test(tc, body_bytes_after_head_are_not_part_of_it);
    tcase_add_test(tc, bare_lf_line_endings);
    tcase_add_test(tc, leading_empty_lines_are_skipped);
    tcase_add_test(tc, http_versions);
    tcase_add_test(tc, bad_request_lines);
    tcase_add_test(tc, foreign_protocol_is_refused_early);
    tcase_add_test(tc, bad_header_names);
    tcase_add_test(tc, header_value_characters);
    tcase_add_test(tc, obs_fold_is_rejected);
    tcase_add_test(tc, blank_line_needs_lf);
    tcase_add_test(tc, head_size_limit);
    tcase_add_test(tc, header_count_limit);
    suite_add_tcase(s, tc);

    TCase *tl = tcase_create("helpers");
    tcase_add_test(tl, find_header);
    tcase_add_test(tl, list_has_token);
    tcase_add_test(tl, is_token);
    suite_add_tcase(s, tl);
    return s;
}

UNIT_MAIN
