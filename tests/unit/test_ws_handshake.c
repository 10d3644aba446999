#include "unit.h"

#include <string.h>

#include "core/ws_handshake.h"

#define RFC_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static struct request_env env;
static struct ws_handshake hs;

static const char *const protocols[] = { "chat", "superchat" };
static const struct ws_server_config cfg = { protocols, 2 };

/* A valid RFC 6455 request; each test spoils one thing. */
static void setup(void)
{
    ck_assert_int_eq(request_env_init(&env, 8192), 0);
    ck_assert_int_eq(request_env_sets(&env, "REQUEST_METHOD", "GET"), 0);
    ck_assert_int_eq(request_env_sets(&env, "SERVER_PROTOCOL", "HTTP/1.1"), 0);
    ck_assert_int_eq(request_env_sets(&env, "HTTP_HOST", "server.example.com"), 0);
    ck_assert_int_eq(request_env_sets(&env, "HTTP_UPGRADE", "websocket"), 0);
    ck_assert_int_eq(request_env_sets(&env, "HTTP_CONNECTION", "Upgrade"), 0);
    ck_assert_int_eq(request_env_sets(&env, "HTTP_SEC_WEBSOCKET_VERSION", "13"), 0);
    ck_assert_int_eq(request_env_sets(&env, "HTTP_SEC_WEBSOCKET_KEY", RFC_KEY), 0);
}

static void teardown(void)
{
    request_env_free(&env);
}

static int run(void)
{
    return ws_handshake_server(&env, &cfg, &hs);
}

/* Sets NAME (or removes it when value is NULL) and runs the handshake. */
static int run_with(const char *name, const char *value)
{
    if (value)
        ck_assert_int_eq(request_env_sets(&env, name, value), 0);
    else
        request_env_unset(&env, name);
    return run();
}

static void assert_failed(int status)
{
    ck_assert_int_eq(hs.status, status);
    ck_assert_ptr_nonnull(hs.error);
    ck_assert_int_eq(hs.version, 0);
    ck_assert_str_eq(hs.protocol, "");
}

START_TEST(accept_rfc_example)
{
    char out[29];
    ws_accept_for_key(RFC_KEY, strlen(RFC_KEY), out);
    ck_assert_str_eq(out, RFC_ACCEPT);
    ws_accept_for_key("x3JJHMbDL1EzLkh9GBhXDw==", 24, out);
    ck_assert_str_eq(out, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
    /* Only key_len bytes are hashed. */
    ws_accept_for_key(RFC_KEY "junk", strlen(RFC_KEY), out);
    ck_assert_str_eq(out, RFC_ACCEPT);
    /* Far beyond any valid key: no accept value at all. */
    char big[200];
    memset(big, 'A', sizeof big);
    ws_accept_for_key(big, sizeof big, out);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(success)
{
    ck_assert_int_eq(run(), 101);
    ck_assert_int_eq(hs.status, 101);
    ck_assert_int_eq(hs.version, 13);
    ck_assert_str_eq(hs.protocol, "");
    ck_assert_ptr_null(hs.error);
    ck_assert_str_eq(hs.headers, "Upgrade: websocket\r\n"
                                 "Connection: Upgrade\r\n"
                                 "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n");
    ck_assert_uint_eq(hs.headers_len, strlen(hs.headers));
}
END_TEST

START_TEST(hybi_versions)
{
    ck_assert_int_eq(run_with("HTTP_SEC_WEBSOCKET_VERSION", "8"), 101);
    ck_assert_int_eq(hs.version, 8);
    ck_assert_int_eq(run_with("HTTP_SEC_WEBSOCKET_VERSION", "7"), 101);
    ck_assert_int_eq(hs.version, 7);
    ck_assert_ptr_nonnull(strstr(hs.headers, "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n"));
}
END_TEST

START_TEST(unsupported_versions)
{
    static const char *const bad[] = { "99", "12", "0", "", "013", "13 ", "13, 8", "thirteen" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(run_with("HTTP_SEC_WEBSOCKET_VERSION", bad[i]) == 426, "version '%s'", bad[i]);
        assert_failed(426);
        ck_assert_str_eq(hs.headers, "Sec-WebSocket-Version: 13\r\n");
        ck_assert_uint_eq(hs.headers_len, strlen(hs.headers));
    }
    ck_assert_int_eq(run_with("HTTP_SEC_WEBSOCKET_VERSION", NULL), 426);
    assert_failed(426);
    ck_assert_str_eq(hs.headers, "Sec-WebSocket-Version: 13\r\n");
}
END_TEST

START_TEST(method_must_be_get)
{
    ck_assert_int_eq(run_with("REQUEST_METHOD", "POST"), 405);
    assert_failed(405);
    ck_assert_str_eq(hs.headers, "Allow: GET\r\n");
    ck_assert_uint_eq(hs.headers_len, strlen("Allow: GET\r\n"));
    /* Methods are case-sensitive (RFC 9110 9.1). */
    ck_assert_int_eq(run_with("REQUEST_METHOD", "get"), 405);
    ck_assert_int_eq(run_with("REQUEST_METHOD", "HEAD"), 405);
    ck_assert_int_eq(run_with("REQUEST_METHOD", NULL), 405);
    assert_failed(405);
}
END_TEST

START_TEST(needs_http_1_1)
{
    ck_assert_int_eq(run_with("SERVER_PROTOCOL", "HTTP/1.0"), 400);
    assert_failed(400);
    ck_assert_uint_eq(hs.headers_len, 0);
    ck_assert_str_eq(hs.headers, "");
    ck_assert_int_eq(run_with("SERVER_PROTOCOL", "HTTP/0.9"), 400);
    ck_assert_int_eq(run_with("SERVER_PROTOCOL", "HTTP/1"), 400);
    ck_assert_int_eq(run_with("SERVER_PROTOCOL", "HTTP/1."), 400);
    ck_assert_int_eq(run_with("SERVER_PROTOCOL", "HTTP/1.1x"), 400);
    ck_assert_int_eq(run_with("SERVER_PROTOCOL", "HTTP/x.1"), 400);
    ck_assert_int_eq(run_with("SERVER_PROTOCOL", "HTTP/"), 400);
    ck_assert_int_eq(run_with("SERVER_PROTOCOL", "HTTPS/1.1"), 400);
    ck_assert_int_eq(run_with("SERVER_PROTOCOL", "INCLUDED"), 400);
    ck_assert_int_eq(run_with("SERVER_PROTOCOL", NULL), 400);

    ck_assert_int_eq(run_with("SERVER_PROTOCOL", "HTTP/1.2"), 101);
    ck_assert_int_eq(run_with("SERVER_PROTOCOL", "HTTP/1.10"), 101);
    ck_assert_int_eq(run_with("SERVER_PROTOCOL", "HTTP/2.0"), 101);
    ck_assert_int_eq(run_with("SERVER_PROTOCOL", "HTTP/2"), 101);
    ck_assert_int_eq(run_with("SERVER_PROTOCOL", "HTTP/99999999999999999999.0"), 101);
    ck_assert_int_eq(run_with("SERVER_PROTOCOL", "HTTP/1.99999999999999999999"), 101);
}
END_TEST

START_TEST(upgrade_header)
{
    ck_assert_int_eq(run_with("HTTP_UPGRADE", "WebSocket"), 101);
    ck_assert_int_eq(run_with("HTTP_UPGRADE", "WEBSOCKET"), 101);
    ck_assert_int_eq(run_with("HTTP_UPGRADE", "h2c, websocket"), 101);
    ck_assert_int_eq(run_with("HTTP_UPGRADE", " websocket "), 101);

    ck_assert_int_eq(run_with("HTTP_UPGRADE", "websockets"), 400);
    assert_failed(400);
    ck_assert_int_eq(run_with("HTTP_UPGRADE", "h2c"), 400);
    ck_assert_int_eq(run_with("HTTP_UPGRADE", "web socket"), 400);
    ck_assert_int_eq(run_with("HTTP_UPGRADE", ""), 400);
    ck_assert_int_eq(run_with("HTTP_UPGRADE", NULL), 400);
    assert_failed(400);
}
END_TEST

START_TEST(connection_header)
{
    ck_assert_int_eq(run_with("HTTP_CONNECTION", "upgrade"), 101);
    ck_assert_int_eq(run_with("HTTP_CONNECTION", "UPGRADE"), 101);
    ck_assert_int_eq(run_with("HTTP_CONNECTION", "keep-alive, Upgrade"), 101);
    ck_assert_int_eq(run_with("HTTP_CONNECTION", "Upgrade,keep-alive"), 101);
    ck_assert_int_eq(run_with("HTTP_CONNECTION", "keep-alive,\tupgrade "), 101);

    ck_assert_int_eq(run_with("HTTP_CONNECTION", "Upgradeish"), 400);
    assert_failed(400);
    ck_assert_int_eq(run_with("HTTP_CONNECTION", "keep-alive"), 400);
    ck_assert_int_eq(run_with("HTTP_CONNECTION", "keep-alive upgrade"), 400);
    ck_assert_int_eq(run_with("HTTP_CONNECTION", "close"), 400);
    ck_assert_int_eq(run_with("HTTP_CONNECTION", NULL), 400);
    assert_failed(400);
}
END_TEST

START_TEST(host_required)
{
    ck_assert_int_eq(run_with("HTTP_HOST", NULL), 400);
    assert_failed(400);
    ck_assert_int_eq(run_with("HTTP_HOST", "localhost:8080"), 101);
}
END_TEST

START_TEST(valid_keys)
{
    ck_assert_int_eq(run_with("HTTP_SEC_WEBSOCKET_KEY", "AAAAAAAAAAAAAAAAAAAAAA=="), 101);
    ck_assert_ptr_nonnull(strstr(hs.headers, "Sec-WebSocket-Accept: ICX+Yqv66kxgM0FcWaLWlFLwTAI=\r\n"));
    ck_assert_int_eq(run_with("HTTP_SEC_WEBSOCKET_KEY", "+/+/+/+/+/+/+/+/+/+/+w=="), 101);
    ck_assert_ptr_nonnull(strstr(hs.headers, "Sec-WebSocket-Accept: M0DUs3om0SqzerhOhYSMM7WQuBQ=\r\n"));
    ck_assert_int_eq(run_with("HTTP_SEC_WEBSOCKET_KEY", "zzzzzzzzzzzzzzzzzzzzzw=="), 101);
    ck_assert_int_eq(run_with("HTTP_SEC_WEBSOCKET_KEY", "0123456789abcdefghijkg=="), 101);
}
END_TEST

START_TEST(bad_keys)
{
    static const char *const bad[] = {
        "dGhlIHNhbXBsZSBub25jZQ=",       /* 23 chars */
        "dGhlIHNhbXBsZSBub25jZQ===",     /* 25 chars */
        "dGhlIHNhbXBsZSBub25jZQ",        /* no padding */
        "AAAAAAAAAAAAAAAAAAAAAAA=",      /* 17 bytes */
        "AAAAAAAAAAAAAAAAAAAAAAAA",      /* 18 bytes */
        "dGhlIHNhbXBsZSBub25jZR==",      /* non-zero pad bits */
        "dGhlIHNhbXBsZSBub25jZf==",      /* non-zero pad bits */
        "dGhlIHNhbXBsZSBub25jZ-==",      /* base64url alphabet */
        "dGhlIHNhbXBsZSBub25j_Q==",      /* base64url alphabet */
        "dGhl=HNhbXBsZSBub25jZQ==",      /* padding inside */
        "dGhlIHNhbXBsZSBub25jZQ=A",      /* data after padding */
        "dGhlIHNhbX BsZSBub25jZQ=",      /* space */
        "dGhlIHNhbXBsZSBub25jZQ==dGhl",  /* 28 chars, 20 bytes */
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(run_with("HTTP_SEC_WEBSOCKET_KEY", bad[i]) == 400, "key '%s'", bad[i]);
        assert_failed(400);
        ck_assert_uint_eq(hs.headers_len, 0);
    }
    ck_assert_int_eq(run_with("HTTP_SEC_WEBSOCKET_KEY", NULL), 400);
    assert_failed(400);
    /* A repeated key header arrives joined and is refused. */
    ck_assert_int_eq(run_with("HTTP_SEC_WEBSOCKET_KEY", RFC_KEY ", " RFC_KEY), 400);
}
END_TEST

START_TEST(subprotocol_selection)
{
    const char *proto = "HTTP_SEC_WEBSOCKET_PROTOCOL";

    /* The client's order decides, not ours. */
    ck_assert_int_eq(run_with(proto, "superchat, chat"), 101);
    ck_assert_str_eq(hs.protocol, "superchat");
    ck_assert_str_eq(hs.headers, "Upgrade: websocket\r\n"
                                 "Connection: Upgrade\r\n"
                                 "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n"
                                 "Sec-WebSocket-Protocol: superchat\r\n");
    ck_assert_uint_eq(hs.headers_len, strlen(hs.headers));

    ck_assert_int_eq(run_with(proto, "chat, superchat"), 101);
    ck_assert_str_eq(hs.protocol, "chat");
    ck_assert_int_eq(run_with(proto, "foo, superchat"), 101);
    ck_assert_str_eq(hs.protocol, "superchat");
    ck_assert_int_eq(run_with(proto, " ,, \tchat\t ,"), 101);
    ck_assert_str_eq(hs.protocol, "chat");
    ck_assert_ptr_nonnull(strstr(hs.headers, "Sec-WebSocket-Protocol: chat\r\n"));

    /* No match: no header. */
    static const char *const none[] = { "foo", "Chat", "cha", "chats", "superchat2", "", "," };
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        ck_assert_int_eq(run_with(proto, none[i]), 101);
        ck_assert_str_eq(hs.protocol, "");
        ck_assert_ptr_null(strstr(hs.headers, "Sec-WebSocket-Protocol"));
    }
    ck_assert_int_eq(run_with(proto, NULL), 101);
    ck_assert_str_eq(hs.protocol, "");

    /* A server without subprotocols never selects one. */
    ck_assert_int_eq(request_env_sets(&env, proto, "chat"), 0);
    ck_assert_int_eq(ws_handshake_server(&env, NULL, &hs), 101);
    ck_assert_str_eq(hs.protocol, "");
    const struct ws_server_config empty = { NULL, 0 };
    ck_assert_int_eq(ws_handshake_server(&env, &empty, &hs), 101);
    ck_assert_str_eq(hs.protocol, "");
    ck_assert_ptr_null(strstr(hs.headers, "Sec-WebSocket-Protocol"));
}
END_TEST

START_TEST(subprotocol_length_bound)
{
    char longest[256], too_long[257];
    memset(longest, 'p', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    memset(too_long, 'q', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    const char *const ours[] = { too_long, longest };
    const struct ws_server_config c = { ours, 2 };

    ck_assert_int_eq(request_env_sets(&env, "HTTP_SEC_WEBSOCKET_PROTOCOL", too_long), 0);
    ck_assert_int_eq(ws_handshake_server(&env, &c, &hs), 101);
    ck_assert_str_eq(hs.protocol, "");

    ck_assert_int_eq(request_env_sets(&env, "HTTP_SEC_WEBSOCKET_PROTOCOL", longest), 0);
    ck_assert_int_eq(ws_handshake_server(&env, &c, &hs), 101);
    ck_assert_str_eq(hs.protocol, longest);
    ck_assert_uint_eq(hs.headers_len, strlen(hs.headers));
    ck_assert_ptr_nonnull(strstr(hs.headers, longest));
}
END_TEST

START_TEST(failure_after_success_clears_state)
{
    ck_assert_int_eq(run_with("HTTP_SEC_WEBSOCKET_PROTOCOL", "chat"), 101);
    ck_assert_int_eq(run_with("HTTP_SEC_WEBSOCKET_KEY", "short"), 400);
    assert_failed(400);
    ck_assert_str_eq(hs.headers, "");
}
END_TEST

START_TEST(is_upgrade_request)
{
    ck_assert_int_eq(ws_is_upgrade_request(&env), 1);
    ck_assert_int_eq(request_env_sets(&env, "HTTP_UPGRADE", "h2c, WebSocket"), 0);
    ck_assert_int_eq(ws_is_upgrade_request(&env), 1);
    ck_assert_int_eq(request_env_sets(&env, "HTTP_UPGRADE", "h2c"), 0);
    ck_assert_int_eq(ws_is_upgrade_request(&env), 0);
    request_env_unset(&env, "HTTP_UPGRADE");
    ck_assert_int_eq(ws_is_upgrade_request(&env), 0);
}
END_TEST

START_TEST(status_text)
{
    ck_assert_str_eq(ws_status_text(101), "Switching Protocols");
    ck_assert_str_eq(ws_status_text(400), "Bad Request");
    ck_assert_str_eq(ws_status_text(403), "Forbidden");
    ck_assert_str_eq(ws_status_text(404), "Not Found");
    ck_assert_str_eq(ws_status_text(405), "Method Not Allowed");
    ck_assert_str_eq(ws_status_text(426), "Upgrade Required");
    ck_assert_str_eq(ws_status_text(431), "Request Header Fields Too Large");
    ck_assert_str_eq(ws_status_text(500), "Internal Server Error");
    ck_assert_str_eq(ws_status_text(503), "Service Unavailable");
    ck_assert_str_eq(ws_status_text(505), "HTTP Version Not Supported");
    ck_assert_str_eq(ws_status_text(200), "OK");
    ck_assert_str_eq(ws_status_text(408), "Request Timeout");
    ck_assert_str_eq(ws_status_text(413), "Content Too Large");
    ck_assert_str_eq(ws_status_text(414), "URI Too Long");
    ck_assert_str_eq(ws_status_text(429), "Too Many Requests");
    ck_assert_str_eq(ws_status_text(501), "Not Implemented");
    ck_assert_str_eq(ws_status_text(502), "Bad Gateway");
    ck_assert_str_eq(ws_status_text(504), "Gateway Timeout");
    ck_assert_str_eq(ws_status_text(999), "Unknown");
    ck_assert_str_eq(ws_status_text(-1), "Unknown");
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("ws_handshake");
    TCase *tc = tcase_create("server");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, accept_rfc_example);
    tcase_add_test(tc, success);
    tcase_add_test(tc, hybi_versions);
    tcase_add_test(tc, unsupported_versions);
    tcase_add_test(tc, method_must_be_get);
    tcase_add_test(tc, needs_http_1_1);
    tcase_add_test(tc, upgrade_header);
    tcase_add_test(tc, connection_header);
    tcase_add_test(tc, host_required);
    tcase_add_test(tc, valid_keys);
    tcase_add_test(tc, bad_keys);
    tcase_add_test(tc, subprotocol_selection);
    tcase_add_test(tc, subprotocol_length_bound);
    tcase_add_test(tc, failure_after_success_clears_state);
    tcase_add_test(tc, is_upgrade_request);
    tcase_add_test(tc, status_text);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN
