#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "core/request_env.h"

static struct request_env env;

static void setup(void)
{
    ck_assert_int_eq(request_env_init(&env, 4096), 0);
}

static void teardown(void)
{
    request_env_free(&env);
}

START_TEST(set_and_get)
{
    ck_assert_uint_eq(env.count, 0);
    ck_assert_ptr_null(env.strings[0]);
    ck_assert_int_eq(request_env_set(&env, "A", "one", 3), 0);
    ck_assert_int_eq(request_env_sets(&env, "B_2", "two"), 0);
    ck_assert_int_eq(request_env_set(&env, "EMPTY", "", 0), 0);
    ck_assert_uint_eq(env.count, 3);
    ck_assert_str_eq(env.strings[0], "A=one");
    ck_assert_str_eq(env.strings[1], "B_2=two");
    ck_assert_str_eq(env.strings[2], "EMPTY=");
    ck_assert_ptr_null(env.strings[3]);
    ck_assert_str_eq(request_env_get(&env, "A"), "one");
    ck_assert_str_eq(request_env_get(&env, "B_2"), "two");
    ck_assert_str_eq(request_env_get(&env, "EMPTY"), "");
    ck_assert_ptr_null(request_env_get(&env, "B"));
    ck_assert_ptr_null(request_env_get(&env, "B_"));
    ck_assert_ptr_null(request_env_get(&env, "a"));
    /* Only len bytes of the value are taken. */
    ck_assert_int_eq(request_env_set(&env, "C", "abcdef", 2), 0);
    ck_assert_str_eq(request_env_get(&env, "C"), "ab");
}
END_TEST

START_TEST(set_replaces)
{
    ck_assert_int_eq(request_env_sets(&env, "A", "one"), 0);
    ck_assert_int_eq(request_env_sets(&env, "AB", "x"), 0);
    const char *old = request_env_get(&env, "A");
    ck_assert_int_eq(request_env_sets(&env, "A", "second"), 0);
    ck_assert_uint_eq(env.count, 2);
    ck_assert_str_eq(env.strings[0], "A=second");
    ck_assert_str_eq(env.strings[1], "AB=x");
    ck_assert_ptr_null(env.strings[2]);
    /* The old bytes stay where they were, untouched. */
    ck_assert_str_eq(old, "one");
}
END_TEST

START_TEST(variable_names)
{
    ck_assert_int_eq(request_env_sets(&env, "_x", "1"), 0);
    ck_assert_int_eq(request_env_sets(&env, "a1_Z", "1"), 0);
    ck_assert_int_eq(request_env_sets(&env, "", "1"), -1);
    ck_assert_int_eq(request_env_sets(&env, "1A", "1"), -1);
    ck_assert_int_eq(request_env_sets(&env, "A-B", "1"), -1);
    ck_assert_int_eq(request_env_sets(&env, "A=B", "1"), -1);
    ck_assert_int_eq(request_env_sets(&env, "A B", "1"), -1);
    ck_assert_int_eq(request_env_sets(&env, "\xc3\xa9", "1"), -1);
    ck_assert_uint_eq(env.count, 2);
}
END_TEST

START_TEST(value_with_nul_is_refused)
{
    ck_assert_int_eq(request_env_set(&env, "A", "a\0b", 3), -1);
    ck_assert_ptr_null(request_env_get(&env, "A"));
    ck_assert_int_eq(request_env_sets(&env, "A", "x"), 0);
    ck_assert_int_eq(request_env_join(&env, "A", "a\0b", 3), -1);
    ck_assert_str_eq(request_env_get(&env, "A"), "x");
}
END_TEST

START_TEST(arena_bound)
{
    struct request_env e;
    ck_assert_int_eq(request_env_init(&e, 16), 0);
    /* "A=1234567890123\0" is exactly 16 bytes. */
    ck_assert_int_eq(request_env_sets(&e, "A", "12345678901234"), -1);
    ck_assert_uint_eq(e.count, 0);
    ck_assert_uint_eq(e.used, 0);
    ck_assert_int_eq(request_env_sets(&e, "A", "1234567890123"), 0);
    ck_assert_uint_eq(e.used, 16);
    ck_assert_int_eq(request_env_sets(&e, "B", ""), -1);
    /* Replacing needs fresh room too; the old value survives a failure. */
    ck_assert_int_eq(request_env_sets(&e, "A", "x"), -1);
    ck_assert_str_eq(request_env_get(&e, "A"), "1234567890123");
    ck_assert_uint_eq(e.count, 1);
    request_env_free(&e);

    ck_assert_int_eq(request_env_init(&e, 0), 0);
    ck_assert_int_eq(request_env_sets(&e, "A", ""), -1);
    request_env_free(&e);

    ck_assert_int_eq(request_env_init(&e, 3), 0);
    ck_assert_int_eq(request_env_sets(&e, "AB", ""), -1);
    ck_assert_int_eq(request_env_sets(&e, "A", ""), 0);
    ck_assert_str_eq(e.strings[0], "A=");
    request_env_free(&e);
}
END_TEST

START_TEST(pointer_array_bound)
{
    char name[16];
    for (int i = 0; i < REQUEST_ENV_MAX; i++) {
        snprintf(name, sizeof name, "V%d", i);
        ck_assert_int_eq(request_env_sets(&env, name, "v"), 0);
    }
    ck_assert_uint_eq(env.count, REQUEST_ENV_MAX);
    ck_assert_ptr_null(env.strings[REQUEST_ENV_MAX]);
    ck_assert_int_eq(request_env_sets(&env, "ONE_MORE", "v"), -1);
    ck_assert_ptr_null(request_env_get(&env, "ONE_MORE"));
    ck_assert_ptr_null(env.strings[REQUEST_ENV_MAX]);
    /* Replacing needs no new slot. */
    ck_assert_int_eq(request_env_sets(&env, "V7", "new"), 0);
    ck_assert_str_eq(request_env_get(&env, "V7"), "new");
    ck_assert_uint_eq(env.count, REQUEST_ENV_MAX);
}
END_TEST

START_TEST(join)
{
    ck_assert_int_eq(request_env_join(&env, "H", "a", 1), 0);
    ck_assert_str_eq(request_env_get(&env, "H"), "a");
    ck_assert_int_eq(request_env_join(&env, "H", "bc", 2), 0);
    ck_assert_int_eq(request_env_join(&env, "H", "", 0), 0);
    ck_assert_str_eq(request_env_get(&env, "H"), "a, bc, ");
    ck_assert_uint_eq(env.count, 1);

    struct request_env e;
    ck_assert_int_eq(request_env_init(&e, 14), 0);
    ck_assert_int_eq(request_env_join(&e, "H", "abc", 3), 0);   /* "H=abc": 6 */
    ck_assert_int_eq(request_env_join(&e, "H", "d", 1), -1);    /* 9 > 8 left */
    ck_assert_str_eq(request_env_get(&e, "H"), "abc");
    ck_assert_int_eq(request_env_join(&e, "H", "", 0), 0);      /* "H=abc, ": 8 */
    ck_assert_str_eq(request_env_get(&e, "H"), "abc, ");
    ck_assert_uint_eq(e.used, 14);
    /* A value longer than the whole arena. */
    char big[64];
    memset(big, 'v', sizeof big);
    ck_assert_int_eq(request_env_join(&e, "H", big, sizeof big), -1);
    ck_assert_str_eq(request_env_get(&e, "H"), "abc, ");
    request_env_free(&e);
}
END_TEST

START_TEST(unset)
{
    ck_assert_int_eq(request_env_sets(&env, "A", "1"), 0);
    ck_assert_int_eq(request_env_sets(&env, "B", "2"), 0);
    ck_assert_int_eq(request_env_sets(&env, "C", "3"), 0);
    request_env_unset(&env, "B");
    ck_assert_uint_eq(env.count, 2);
    ck_assert_str_eq(env.strings[0], "A=1");
    ck_assert_str_eq(env.strings[1], "C=3");
    ck_assert_ptr_null(env.strings[2]);
    ck_assert_ptr_null(request_env_get(&env, "B"));
    request_env_unset(&env, "B");
    request_env_unset(&env, "");
    ck_assert_uint_eq(env.count, 2);
    request_env_unset(&env, "C");
    request_env_unset(&env, "A");
    ck_assert_uint_eq(env.count, 0);
    ck_assert_ptr_null(env.strings[0]);
}
END_TEST

/* Maps a header name and returns the variable, or NULL when refused. */
static const char *var(const char *header)
{
    static char out[64];
    if (request_env_header_name(header, strlen(header), out, sizeof out) < 0)
        return NULL;
    return out;
}

START_TEST(header_names)
{
    ck_assert_str_eq(var("Sec-WebSocket-Key"), "HTTP_SEC_WEBSOCKET_KEY");
    ck_assert_str_eq(var("host"), "HTTP_HOST");
    ck_assert_str_eq(var("X-9"), "HTTP_X_9");
    ck_assert_str_eq(var("Content-Type"), "CONTENT_TYPE");
    ck_assert_str_eq(var("content-length"), "CONTENT_LENGTH");
    ck_assert_str_eq(var("Content-Typo"), "HTTP_CONTENT_TYPO");
    ck_assert_str_eq(var("Proxy-Authorization"), "HTTP_PROXY_AUTHORIZATION");
    /* httpoxy */
    ck_assert_ptr_null(var("Proxy"));
    ck_assert_ptr_null(var("proxy"));
    ck_assert_ptr_null(var("PROXY"));
    /* '_' and other tchars would be ambiguous after mapping. */
    ck_assert_ptr_null(var("X_Forwarded_For"));
    ck_assert_ptr_null(var("X.Y"));
    ck_assert_ptr_null(var("X~Y"));
    ck_assert_ptr_null(var("Proxy_"));
    /* Not tokens at all. */
    ck_assert_ptr_null(var(""));
    ck_assert_ptr_null(var("A B"));
    ck_assert_ptr_null(var("A:"));
    ck_assert_ptr_null(var("\xc3\xa9"));
    ck_assert_int_eq(request_env_header_name("Host\0X", 6, (char[32]){0}, 32), -1);
}
END_TEST

START_TEST(header_name_output_bound)
{
    char out[10];
    /* "HTTP_ABCD" plus NUL is exactly 10. */
    ck_assert_int_eq(request_env_header_name("abcd", 4, out, sizeof out), 0);
    ck_assert_str_eq(out, "HTTP_ABCD");
    ck_assert_int_eq(request_env_header_name("abcde", 5, out, sizeof out), -1);
    ck_assert_int_eq(request_env_header_name("abcdefghijkl", 12, out, sizeof out), -1);
    ck_assert_int_eq(request_env_header_name("Content-Type", 12, out, sizeof out), -1);
    char big[13];
    ck_assert_int_eq(request_env_header_name("Content-Type", 12, big, sizeof big), 0);
    ck_assert_str_eq(big, "CONTENT_TYPE");
    ck_assert_int_eq(request_env_header_name("a", 1, out, 0), -1);
}
END_TEST

/* Parses head and converts it into env. */
static int from_http(const char *head)
{
    static struct http_request req;
    int n = http_parse_request(head, strlen(head), 8192, &req);
    ck_assert_int_eq(n, (int)strlen(head));
    return request_env_from_http(&env, &req);
}

START_TEST(from_http_request)
{
    ck_assert_int_eq(from_http("GET /chat/room%201?x=%2F&y HTTP/1.1\r\n"
                               "Host: example.com\r\n"
                               "Accept: a\r\n"
                               "X-Forwarded-For: 10.0.0.1\r\n"
                               "X_Forwarded_For: 6.6.6.6\r\n"
                               "Proxy: http://evil/\r\n"
                               "accept: b, c\r\n"
                               "Content-Type: text/plain\r\n"
                               "Content-Length: 0\r\n"
                               "\r\n"), 0);
    ck_assert_str_eq(request_env_get(&env, "REQUEST_METHOD"), "GET");
    ck_assert_str_eq(request_env_get(&env, "REQUEST_URI"), "/chat/room%201?x=%2F&y");
    ck_assert_str_eq(request_env_get(&env, "SERVER_PROTOCOL"), "HTTP/1.1");
    ck_assert_str_eq(request_env_get(&env, "QUERY_STRING"), "x=%2F&y");
    ck_assert_str_eq(request_env_get(&env, "SCRIPT_NAME"), "/chat/room 1");
    ck_assert_str_eq(request_env_get(&env, "PATH_INFO"), "");
    ck_assert_str_eq(request_env_get(&env, "HTTP_HOST"), "example.com");
    ck_assert_str_eq(request_env_get(&env, "HTTP_ACCEPT"), "a, b, c");
    ck_assert_str_eq(request_env_get(&env, "HTTP_X_FORWARDED_FOR"), "10.0.0.1");
    ck_assert_ptr_null(request_env_get(&env, "HTTP_PROXY"));
    ck_assert_str_eq(request_env_get(&env, "CONTENT_TYPE"), "text/plain");
    ck_assert_str_eq(request_env_get(&env, "CONTENT_LENGTH"), "0");
    ck_assert_ptr_null(request_env_get(&env, "HTTP_CONTENT_TYPE"));
    ck_assert_ptr_null(env.strings[env.count]);
    ck_assert_uint_eq(env.count, 11);
}
END_TEST

START_TEST(from_http_query_and_version)
{
    ck_assert_int_eq(from_http("GET / HTTP/1.0\r\n\r\n"), 0);
    ck_assert_str_eq(request_env_get(&env, "SERVER_PROTOCOL"), "HTTP/1.0");
    ck_assert_str_eq(request_env_get(&env, "QUERY_STRING"), "");
    ck_assert_str_eq(request_env_get(&env, "SCRIPT_NAME"), "/");

    ck_assert_int_eq(from_http("GET /a? HTTP/1.1\r\n\r\n"), 0);
    ck_assert_str_eq(request_env_get(&env, "QUERY_STRING"), "");
    ck_assert_str_eq(request_env_get(&env, "SCRIPT_NAME"), "/a");

    ck_assert_int_eq(from_http("GET /a?b=1?c HTTP/1.1\r\n\r\n"), 0);
    ck_assert_str_eq(request_env_get(&env, "QUERY_STRING"), "b=1?c");
    ck_assert_str_eq(request_env_get(&env, "REQUEST_URI"), "/a?b=1?c");
}
END_TEST

START_TEST(from_http_percent_decoding)
{
    ck_assert_int_eq(from_http("GET /a%20b/%e2%82%AC/%2e%2E HTTP/1.1\r\n\r\n"), 0);
    ck_assert_str_eq(request_env_get(&env, "SCRIPT_NAME"), "/a b/\xe2\x82\xac/..");
    ck_assert_int_eq(from_http("GET /%2F%25 HTTP/1.1\r\n\r\n"), 0);
    ck_assert_str_eq(request_env_get(&env, "SCRIPT_NAME"), "//%");

    ck_assert_int_eq(from_http("GET /a%00b HTTP/1.1\r\n\r\n"), -1);
    ck_assert_int_eq(from_http("GET /a%zz HTTP/1.1\r\n\r\n"), -1);
    ck_assert_int_eq(from_http("GET /a%g0 HTTP/1.1\r\n\r\n"), -1);
    ck_assert_int_eq(from_http("GET /a%0g HTTP/1.1\r\n\r\n"), -1);
    ck_assert_int_eq(from_http("GET /a%2 HTTP/1.1\r\n\r\n"), -1);
    ck_assert_int_eq(from_http("GET /a% HTTP/1.1\r\n\r\n"), -1);
    ck_assert_int_eq(from_http("GET /a%2?x HTTP/1.1\r\n\r\n"), -1);
    /* The query string is passed as sent, escapes and all. */
    ck_assert_int_eq(from_http("GET /a?%00%zz HTTP/1.1\r\n\r\n"), 0);
    ck_assert_str_eq(request_env_get(&env, "QUERY_STRING"), "%00%zz");
}
END_TEST

START_TEST(from_http_needs_origin_form)
{
    ck_assert_int_eq(from_http("OPTIONS * HTTP/1.1\r\n\r\n"), -1);
    ck_assert_int_eq(from_http("GET http://example.com/ HTTP/1.1\r\n\r\n"), -1);
    ck_assert_int_eq(from_http("CONNECT example.com:443 HTTP/1.1\r\n\r\n"), -1);
    ck_assert_int_eq(from_http("GET ?x HTTP/1.1\r\n\r\n"), -1);
}
END_TEST

START_TEST(from_http_arena_full)
{
    struct http_request req;
    const char *head = "GET /chat HTTP/1.1\r\nHost: example.com\r\n"
                       "X-Long: 0123456789012345678901234567890123456789\r\n\r\n";
    ck_assert_int_gt(http_parse_request(head, strlen(head), 8192, &req), 0);

    /* Find the smallest arena that fits, then check one byte less fails. */
    size_t need = 0;
    for (size_t cap = 1; cap < 1024 && need == 0; cap++) {
        struct request_env e;
        ck_assert_int_eq(request_env_init(&e, cap), 0);
        if (request_env_from_http(&e, &req) == 0) {
            need = cap;
            ck_assert_uint_eq(e.used, cap);
            ck_assert_str_eq(request_env_get(&e, "HTTP_X_LONG"),
                             "0123456789012345678901234567890123456789");
        }
        request_env_free(&e);
    }
    ck_assert_uint_gt(need, 100);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("request_env");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, set_and_get);
    tcase_add_test(tc, set_replaces);
    tcase_add_test(tc, variable_names);
    tcase_add_test(tc, value_with_nul_is_refused);
    tcase_add_test(tc, arena_bound);
    tcase_add_test(tc, pointer_array_bound);
    tcase_add_test(tc, join);
    tcase_add_test(tc, unset);
    suite_add_tcase(s, tc);

    TCase *th = tcase_create("http");
    tcase_add_checked_fixture(th, setup, teardown);
    tcase_add_test(th, header_names);
    tcase_add_test(th, header_name_output_bound);
    tcase_add_test(th, from_http_request);
    tcase_add_test(th, from_http_query_and_version);
    tcase_add_test(th, from_http_percent_decoding);
    tcase_add_test(th, from_http_needs_origin_form);
    tcase_add_test(th, from_http_arena_full);
    suite_add_tcase(s, th);
    return s;
}

UNIT_MAIN
