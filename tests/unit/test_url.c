#include "unit.h"

#include <string.h>

#include "core/url.h"

START_TEST(ws_defaults)
{
    struct url u;
    const char *err = NULL;
    ck_assert_int_eq(url_parse("ws://example.com", &u, &err), 0);
    ck_assert_int_eq(u.scheme, URL_WS);
    ck_assert_int_eq(u.tls, 0);
    ck_assert_str_eq(u.host, "example.com");
    ck_assert_uint_eq(u.port, 80);
    ck_assert_int_eq(u.port_given, 0);
    ck_assert_str_eq(u.target, "/");
    ck_assert_int_eq(u.has_userinfo, 0);

    ck_assert_int_eq(url_parse("WSS://Example.COM:8443/chat?room=1#frag", &u, &err), 0);
    ck_assert_int_eq(u.scheme, URL_WSS);
    ck_assert_int_eq(u.tls, 1);
    ck_assert_uint_eq(u.port, 8443);
    ck_assert_str_eq(u.target, "/chat?room=1");

    ck_assert_int_eq(url_parse("https://h", &u, &err), 0);
    ck_assert_uint_eq(u.port, 443);
    ck_assert_int_eq(url_parse("http://h?x=1", &u, &err), 0);
    ck_assert_str_eq(u.target, "/?x=1");
    /* An empty port is the default (RFC 3986 3.2.3). */
    ck_assert_int_eq(url_parse("ws://h:/p", &u, &err), 0);
    ck_assert_uint_eq(u.port, 80);
}
END_TEST

START_TEST(ipv6_and_authority)
{
    struct url u;
    const char *err;
    char a[300];
    ck_assert_int_eq(url_parse("ws://[::1]:9000/x", &u, &err), 0);
    ck_assert_str_eq(u.host, "::1");
    ck_assert_int_eq(u.ipv6, 1);
    ck_assert_uint_gt(url_authority(&u, 0, a, sizeof a), 0);
    ck_assert_str_eq(a, "[::1]:9000");
    ck_assert_int_eq(url_parse("wss://[2001:db8::1]/", &u, &err), 0);
    url_authority(&u, 0, a, sizeof a);
    ck_assert_str_eq(a, "[2001:db8::1]");
    url_authority(&u, 1, a, sizeof a);
    ck_assert_str_eq(a, "[2001:db8::1]:443");
    ck_assert_int_eq(url_parse("ws://h:80/", &u, &err), 0);
    url_authority(&u, 0, a, sizeof a);
    ck_assert_str_eq(a, "h");
    ck_assert_int_eq(url_parse("wss://h:80/", &u, &err), 0);
    url_authority(&u, 0, a, sizeof a);
    ck_assert_str_eq(a, "h:80");
    ck_assert_uint_eq(url_authority(&u, 0, a, 3), 0);
}
END_TEST

START_TEST(rejects)
{
    struct url u;
    const char *err = NULL;
    const char *bad[] = {
        "ftp://h/", "h:80", "ws:/h", "ws://", "ws://:80/", "ws://h:0/", "ws://h:65536/",
        "ws://h:8x/", "ws://[::1/", "ws://[zz]/", "ws://[::1]x/", "ws://h\r\nX: y/",
        "ws://h%41/", "ws://h h/", "ws://u:%zz@h/", "ws://u:%0a@h/",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err = NULL;
        if (url_parse(bad[i], &u, &err) != -1)
            ck_abort_msg("accepted %s", bad[i]);
        ck_assert_ptr_nonnull(err);
    }
}
END_TEST

START_TEST(target_encoding)
{
    struct url u;
    const char *err;
    ck_assert_int_eq(url_parse("ws://h/a b/\xc3\xa9?q=\"x\"&r=%41%zz", &u, &err), 0);
    ck_assert_str_eq(u.target, "/a%20b/%C3%A9?q=%22x%22&r=%41%25zz");
    ck_assert_int_eq(url_parse("ws://h/a\r\nb", &u, &err), 0);
    ck_assert_str_eq(u.target, "/a%0D%0Ab");
}
END_TEST

START_TEST(userinfo_and_basic)
{
    struct url u;
    const char *err;
    char b[200];
    ck_assert_int_eq(url_parse("ws://Aladdin:open%20sesame@h/", &u, &err), 0);
    ck_assert_int_eq(u.has_userinfo, 1);
    ck_assert_str_eq(u.user, "Aladdin");
    ck_assert_str_eq(u.password, "open sesame");
    ck_assert_uint_gt(url_basic_credentials(&u, b, sizeof b), 0);
    ck_assert_str_eq(b, "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");   /* RFC 7617's example */
    ck_assert_uint_eq(url_basic_credentials(&u, b, 10), 0);
    /* The last '@' ends the userinfo. */
    ck_assert_int_eq(url_parse("ws://u:p@ss@h/", &u, &err), 0);
    ck_assert_str_eq(u.password, "p@ss");
    ck_assert_str_eq(u.host, "h");
    ck_assert_int_eq(url_parse("ws://u@h/", &u, &err), 0);
    ck_assert_str_eq(u.user, "u");
    ck_assert_str_eq(u.password, "");
    url_basic_credentials(&u, b, sizeof b);
    ck_assert_str_eq(b, "dTo=");
    ck_assert_int_eq(url_parse("ws://h/", &u, &err), 0);
    ck_assert_uint_eq(url_basic_credentials(&u, b, sizeof b), 0);
}
END_TEST

START_TEST(proxy_urls)
{
    struct url u;
    const char *err;
    ck_assert_int_eq(url_parse_proxy("http://proxy:3128", &u, &err), 0);
    ck_assert_str_eq(u.host, "proxy");
    ck_assert_uint_eq(u.port, 3128);
    ck_assert_int_eq(url_parse_proxy("proxy.example", &u, &err), 0);
    ck_assert_uint_eq(u.port, 1080);    /* curl's default */
    ck_assert_int_eq(url_parse_proxy("http://u:p@127.0.0.1:8888/", &u, &err), 0);
    ck_assert_str_eq(u.user, "u");
    ck_assert_str_eq(u.password, "p");
    ck_assert_int_eq(url_parse_proxy("HTTP://[::1]:1", &u, &err), 0);
    ck_assert_int_eq(url_parse_proxy("https://proxy:443", &u, &err), -1);
    ck_assert_int_eq(url_parse_proxy("socks5://proxy:1080", &u, &err), -1);
    ck_assert_int_eq(url_parse_proxy("http://proxy:1/path", &u, &err), -1);
}
END_TEST

START_TEST(no_proxy)
{
    ck_assert_int_eq(url_no_proxy_match(NULL, "h"), 0);
    ck_assert_int_eq(url_no_proxy_match("", "h"), 0);
    ck_assert_int_eq(url_no_proxy_match("*", "anything.example"), 1);
    ck_assert_int_eq(url_no_proxy_match("a, *", "x"), 1);
    ck_assert_int_eq(url_no_proxy_match("example.com", "example.com"), 1);
    ck_assert_int_eq(url_no_proxy_match("example.com", "www.example.com"), 1);
    ck_assert_int_eq(url_no_proxy_match(".example.com", "www.example.com"), 1);
    ck_assert_int_eq(url_no_proxy_match(".example.com", "example.com"), 1);
    ck_assert_int_eq(url_no_proxy_match("example.com", "badexample.com"), 0);
    ck_assert_int_eq(url_no_proxy_match("EXAMPLE.com.", "www.Example.COM"), 1);
    ck_assert_int_eq(url_no_proxy_match("example.com", "example.com."), 1);
    ck_assert_int_eq(url_no_proxy_match("foo,bar example.com\tbaz", "example.com"), 1);
    ck_assert_int_eq(url_no_proxy_match("localhost", "127.0.0.1"), 0);
    ck_assert_int_eq(url_no_proxy_match("127.0.0.1", "127.0.0.1"), 1);
    ck_assert_int_eq(url_no_proxy_match("127.0.0.0/8", "127.1.2.3"), 1);
    ck_assert_int_eq(url_no_proxy_match("10.0.0.0/8", "127.1.2.3"), 0);
    ck_assert_int_eq(url_no_proxy_match("192.168.1.0/25", "192.168.1.127"), 1);
    ck_assert_int_eq(url_no_proxy_match("192.168.1.0/25", "192.168.1.128"), 0);
    ck_assert_int_eq(url_no_proxy_match("::1", "::1"), 1);
    ck_assert_int_eq(url_no_proxy_match("[::1]", "[::1]"), 1);
    ck_assert_int_eq(url_no_proxy_match("2001:db8::/32", "2001:db8:1::5"), 1);
    ck_assert_int_eq(url_no_proxy_match("2001:db8::/32", "2001:db9::5"), 0);
    ck_assert_int_eq(url_no_proxy_match("127.0.0.1/33", "127.0.0.1"), 0);
    ck_assert_int_eq(url_no_proxy_match("127.0.0.1", "::1"), 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("url");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, ws_defaults);
    tcase_add_test(tc, ipv6_and_authority);
    tcase_add_test(tc, rejects);
    tcase_add_test(tc, target_encoding);
    tcase_add_test(tc, userinfo_and_basic);
    tcase_add_test(tc, proxy_urls);
    tcase_add_test(tc, no_proxy);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN
