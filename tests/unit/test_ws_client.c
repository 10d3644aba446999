#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "core/ws_client.h"
#include "core/ws_handshake.h"

/* RFC 6455 1.3's example key. */
static const uint8_t sample_nonce[16] = "the sample nonce";

static void sample_request(struct ws_client_request *rq, const struct ws_deflate_config *d)
{
    static const char *const protos[] = { "chat", "superchat" };
    memset(rq, 0, sizeof *rq);
    rq->host = "server.example.com";
    rq->target = "/chat";
    rq->protocols = protos;
    rq->nprotocols = 2;
    rq->deflate = d;
    ws_client_key(rq, sample_nonce);
}

START_TEST(key_and_request)
{
    struct ws_client_request rq;
    struct ws_deflate_config d = { 1, 0 };
    sample_request(&rq, &d);
    ck_assert_str_eq(rq.key, "dGhlIHNhbXBsZSBub25jZQ==");
    static const char *const extra[] = { "Cookie: a=b", "Host: other.example" };
    rq.origin = "http://example.com";
    rq.headers = extra;
    rq.nheaders = 2;
    rq.user_agent = "pushcat/test";
    char out[1024];
    size_t n = ws_client_build_request(&rq, out, sizeof out);
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_eq(n, strlen(out));
    ck_assert_ptr_nonnull(strstr(out, "GET /chat HTTP/1.1\r\n"));
    ck_assert_ptr_null(strstr(out, "Host: server.example.com"));   /* replaced */
    ck_assert_ptr_nonnull(strstr(out, "\r\nHost: other.example\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "\r\nSec-WebSocket-Version: 13\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "\r\nOrigin: http://example.com\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "\r\nSec-WebSocket-Protocol: chat, superchat\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "\r\nSec-WebSocket-Extensions: permessage-deflate"));
    ck_assert_ptr_nonnull(strstr(out, "\r\nUser-Agent: pushcat/test\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "\r\nCookie: a=b\r\n"));
    ck_assert_str_eq(out + n - 4, "\r\n\r\n");
    /* Too small: 0, never a cut head. */
    ck_assert_uint_eq(ws_client_build_request(&rq, out, 40), 0);
    /* No protocols, no deflate, no origin. */
    d.enabled = 0;
    rq.nprotocols = 0;
    rq.origin = NULL;
    rq.nheaders = 0;
    n = ws_client_build_request(&rq, out, sizeof out);
    ck_assert_ptr_null(strstr(out, "Sec-WebSocket-Protocol"));
    ck_assert_ptr_null(strstr(out, "Sec-WebSocket-Extensions"));
    ck_assert_ptr_null(strstr(out, "Origin"));
}
END_TEST

START_TEST(header_checks)
{
    const char *why;
    ck_assert_int_eq(ws_client_header_check("Authorization: Bearer x", &why), 0);
    ck_assert_int_eq(ws_client_header_check("Sec-WebSocket-Protocol: x", &why), -2);
    ck_assert_int_eq(ws_client_header_check("connection: close", &why), -2);
    ck_assert_int_eq(ws_client_header_check("X: a\nY: b", &why), -1);
    ck_assert_int_eq(ws_client_protocol_valid("chat.v2"), 1);
    ck_assert_int_eq(ws_client_protocol_valid("a b"), 0);
    ck_assert_int_eq(ws_client_protocol_valid(""), 0);
}
END_TEST

static int check(const struct ws_client_request *rq, const char *extra, struct ws_client_result *out)
{
    char head[1024];
    snprintf(head, sizeof head,
             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n%s\r\n", extra);
    struct http_response res;
    ck_assert_int_gt(http_parse_response(head, strlen(head), sizeof head, &res), 0);
    return ws_client_check_response(rq, &res, out);
}

START_TEST(responses)
{
    struct ws_client_request rq;
    struct ws_deflate_config d = { 1, 0 };
    struct ws_client_result out;
    sample_request(&rq, &d);
    ck_assert_int_eq(check(&rq, "", &out), WS_CLIENT_OK);
    ck_assert_str_eq(out.protocol, "");
    ck_assert_int_eq(out.deflate, 0);
    ck_assert_int_eq(check(&rq, "Sec-WebSocket-Protocol: superchat\r\n", &out), WS_CLIENT_OK);
    ck_assert_str_eq(out.protocol, "superchat");
    ck_assert_int_eq(check(&rq, "Sec-WebSocket-Protocol: other\r\n", &out), WS_CLIENT_INVALID);
    ck_assert_int_eq(check(&rq, "Sec-WebSocket-Protocol: chat, superchat\r\n", &out), WS_CLIENT_INVALID);
    ck_assert_int_eq(check(&rq, "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n", &out),
                     WS_CLIENT_OK);
    ck_assert_int_eq(out.deflate, 1);
    ck_assert_int_eq(out.deflate_params.server_no_context_takeover, 1);
    ck_assert_str_eq(out.extensions, "permessage-deflate; server_no_context_takeover");
    ck_assert_int_eq(check(&rq, "Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n", &out), WS_CLIENT_INVALID);
    d.enabled = 0;
    ck_assert_int_eq(check(&rq, "Sec-WebSocket-Extensions: permessage-deflate\r\n", &out), WS_CLIENT_INVALID);
    rq.nprotocols = 0;
    ck_assert_int_eq(check(&rq, "Sec-WebSocket-Protocol: chat\r\n", &out), WS_CLIENT_INVALID);
}
END_TEST

START_TEST(bad_101s)
{
    struct ws_client_request rq;
    struct ws_client_result out;
    struct http_response res;
    sample_request(&rq, NULL);
    const char *cases[][2] = {
        { "HTTP/1.1 403 Forbidden\r\n\r\n", "refused" },
        { "HTTP/1.1 101 OK\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n", "upgrade" },
        { "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n", "connection" },
        { "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", "no accept" },
        { "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo\r\n\r\n", "short accept" },
        { "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n", "two accepts" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_gt(http_parse_response(cases[i][0], strlen(cases[i][0]), 4096, &res), 0);
        int rc = ws_client_check_response(&rq, &res, &out);
        if (i == 0)
            ck_assert_int_eq(rc, WS_CLIENT_REFUSED);
        else if (rc != WS_CLIENT_INVALID)
            ck_abort_msg("accepted: %s", cases[i][1]);
        ck_assert_ptr_nonnull(out.error);
    }
    /* Case and list forms that are fine. */
    const char *ok = "HTTP/1.1 101 OK\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
                     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    ck_assert_int_gt(http_parse_response(ok, strlen(ok), 4096, &res), 0);
    ck_assert_int_eq(ws_client_check_response(&rq, &res, &out), WS_CLIENT_OK);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("ws_client");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, key_and_request);
    tcase_add_test(tc, header_checks);
    tcase_add_test(tc, responses);
    tcase_add_test(tc, bad_101s);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN
