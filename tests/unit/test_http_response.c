#include "unit.h"

#include <string.h>

#include "core/http_response.h"

static int parse(const char *s, struct http_response *r)
{
    return http_parse_response(s, strlen(s), 8192, r);
}

START_TEST(status_and_headers)
{
    struct http_response r;
    const char *s = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    "Connection:  Upgrade \r\nX-Multi: a\r\nx-multi: b\r\n\r\nFRAMES";
    int n = parse(s, &r);
    ck_assert_int_eq(n, (int)(strstr(s, "FRAMES") - s));
    ck_assert_int_eq(r.status, 101);
    ck_assert_int_eq(r.minor_version, 1);
    ck_assert_int_eq((int)r.reason_len, 19);
    ck_assert_uint_eq(r.num_headers, 4);
    const struct http_header *h = http_response_header(&r, "connection");
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq((int)h->value_len, 7);
    ck_assert_int_eq(strncmp(h->value, "Upgrade", 7), 0);
    char v[16];
    ck_assert_int_eq(http_response_header_value(&r, "X-MULTI", v, sizeof v), 1);
    ck_assert_str_eq(v, "a, b");
    ck_assert_int_eq(http_response_header_value(&r, "X-MULTI", v, 4), -1);
    ck_assert_int_eq(http_response_header_value(&r, "Nope", v, sizeof v), 0);
    ck_assert_str_eq(v, "");
}
END_TEST

START_TEST(incomplete_and_split)
{
    struct http_response r;
    const char *s = "HTTP/1.0 403 Forbidden\nContent-Length: 0\n\n";
    size_t len = strlen(s);
    for (size_t i = 0; i < len; i++)
        ck_assert_int_eq(http_parse_response(s, i, 8192, &r), HTTP_PARSE_INCOMPLETE);
    ck_assert_int_eq(http_parse_response(s, len, 8192, &r), (int)len);
    ck_assert_int_eq(r.status, 403);
    ck_assert_int_eq(r.minor_version, 0);
    /* No reason phrase, and no space before it. */
    ck_assert_int_gt(parse("HTTP/1.1 204\r\n\r\n", &r), 0);
    ck_assert_int_eq(r.status, 204);
    ck_assert_int_eq((int)r.reason_len, 0);
}
END_TEST

START_TEST(bad_heads)
{
    struct http_response r;
    ck_assert_int_eq(parse("HTTP/2 200 OK\r\n\r\n", &r), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("HTTP/2.0 200 OK\r\n\r\n", &r), HTTP_PARSE_VERSION);
    ck_assert_int_eq(parse("HTTP/1.1 20 OK\r\n\r\n", &r), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("HTTP/1.1 099 OK\r\n\r\n", &r), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("\x16\x03\x01", &r), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", &r), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n", &r), HTTP_PARSE_BAD);
    ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", &r), HTTP_PARSE_BAD);
    char big[300];
    memset(big, 'a', sizeof big);
    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
    ck_assert_int_eq(http_parse_response(big, sizeof big, 100, &r), HTTP_PARSE_TOO_LARGE);
}
END_TEST

START_TEST(media_type_and_lines)
{
    ck_assert_int_eq(http_media_type_is("text/event-stream", 17, "text/event-stream"), 1);
    const char *v = " Text/Event-Stream ; charset=utf-8";
    ck_assert_int_eq(http_media_type_is(v, strlen(v), "text/event-stream"), 1);
    v = "text/event-streams";
    ck_assert_int_eq(http_media_type_is(v, strlen(v), "text/event-stream"), 0);
    v = "text/html";
    ck_assert_int_eq(http_media_type_is(v, strlen(v), "text/event-stream"), 0);
    ck_assert_int_eq(http_header_line_check("X-A: b c"), 0);
    ck_assert_int_eq(http_header_line_check("X-A:"), 0);
    ck_assert_int_eq(http_header_line_check(": b"), -1);
    ck_assert_int_eq(http_header_line_check("X A: b"), -1);
    ck_assert_int_eq(http_header_line_check("X-A b"), -1);
    ck_assert_int_eq(http_header_line_check("X-A: b\r\nInjected: 1"), -1);
    ck_assert_int_eq(http_header_line_is("host: x", "Host"), 1);
    ck_assert_int_eq(http_header_line_is("Hostile: x", "Host"), 0);
}
END_TEST

/* Feed body bytes in pieces of `step`, collecting the data. */
static int run_body(const char *head, const char *body, size_t step, char *out, size_t *outlen)
{
    struct http_response r;
    ck_assert_int_gt(parse(head, &r), 0);
    struct http_body b;
    if (http_body_init(&b, &r) < 0)
        return -2;
    size_t len = strlen(body), o = 0;
    for (size_t pos = 0; pos <= len; pos += step) {
        size_t n = len - pos < step ? len - pos : step;
        size_t off = 0;
        for (;;) {
            const uint8_t *d;
            size_t dl;
            enum http_body_event ev;
            off += http_body_feed(&b, (const uint8_t *)body + pos + off, n - off, &d, &dl, &ev);
            if (ev == HTTP_BODY_EV_DATA) {
                memcpy(out + o, d, dl);
                o += dl;
            } else if (ev == HTTP_BODY_EV_END) {
                *outlen = o;
                return (int)(pos + off);
            } else if (ev == HTTP_BODY_EV_ERROR) {
                return -1;
            } else {
                break;
            }
        }
    }
    *outlen = o;
    return http_body_eof(&b) ? 0 : -3;
}

START_TEST(chunked)
{
    const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
    const char *body = "5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\nNEXT";
    for (size_t step = 1; step <= strlen(body); step++) {
        char out[64];
        size_t ol = 0;
        int end = run_body(head, body, step, out, &ol);
        ck_assert_int_eq(end, (int)(strstr(body, "NEXT") - body));
        ck_assert_uint_eq(ol, 16);
        ck_assert_int_eq(memcmp(out, "hello 0123456789", 16), 0);
    }
    char out[64];
    size_t ol;
    ck_assert_int_eq(run_body(head, "zz\r\n", 1, out, &ol), -1);
    ck_assert_int_eq(run_body(head, "3\r\nabcX", 1, out, &ol), -1);
    ck_assert_int_eq(run_body(head, "1000000000000000\r\n", 64, out, &ol), -1);
    /* Cut short: EOF does not complete a chunked body. */
    ck_assert_int_eq(run_body(head, "3\r\nab", 64, out, &ol), -3);
    /* Bare LF line endings, leniently. */
    ck_assert_int_eq(run_body(head, "2\nab\n0\n\n", 1, out, &ol), 8);
}
END_TEST

START_TEST(length_close_none)
{
    char out[64];
    size_t ol;
    ck_assert_int_eq(run_body("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "abcdefg", 2, out, &ol), 5);
    ck_assert_uint_eq(ol, 5);
    ck_assert_int_eq(run_body("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n", "abc", 2, out, &ol), -3);
    ck_assert_int_eq(run_body("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n", "abc", 2, out, &ol), -2);
    ck_assert_int_eq(run_body("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", "abc", 2, out, &ol), -2);
    ck_assert_int_eq(run_body("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", "a", 2, out, &ol), -2);
    ck_assert_int_eq(run_body("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "zz", 2, out, &ol), 0);
    ck_assert_uint_eq(ol, 0);
    /* Until close: all of it, and EOF completes it. */
    ck_assert_int_eq(run_body("HTTP/1.1 200 OK\r\n\r\n", "data: x\n\n", 3, out, &ol), 0);
    ck_assert_uint_eq(ol, 9);
    ck_assert_int_eq(run_body("HTTP/1.1 204 No Content\r\n\r\n", "zz", 2, out, &ol), 0);
    ck_assert_uint_eq(ol, 0);
    /* A final coding other than chunked runs until close. */
    ck_assert_int_eq(run_body("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "xyz", 3, out, &ol), 0);
    ck_assert_uint_eq(ol, 3);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("http_response");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, status_and_headers);
    tcase_add_test(tc, incomplete_and_split);
    tcase_add_test(tc, bad_heads);
    tcase_add_test(tc, media_type_and_lines);
    tcase_add_test(tc, chunked);
    tcase_add_test(tc, length_close_none);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN
