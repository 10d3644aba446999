/* ws_client.c - client opening handshake (RFC 6455 4.1), sans-I/O. */
#include "ws_client.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ws_handshake.h"

void ws_client_key(struct ws_client_request *rq, const uint8_t nonce[16])
{
    /* 16 bytes make exactly 24 base64 characters (with "=="), plus NUL. */
    EVP_EncodeBlock((unsigned char *)rq->key, nonce, 16);
}

static int has_user_header(const struct ws_client_request *rq, const char *name)
{
    for (size_t i = 0; i < rq->nheaders; i++)
        if (http_header_line_is(rq->headers[i], name))
            return 1;
    return 0;
}

/* Appends to out; returns 0, or -1 once it no longer fits (and stays so). */
struct writer {
    char *out;
    size_t len, cap;
    int full;
};

static void put(struct writer *w, const char *a, const char *b, const char *c)
{
    if (w->full)
        return;
    int n = snprintf(w->out + w->len, w->cap - w->len, "%s%s%s", a, b ? b : "", c ? c : "");
    if (n < 0 || (size_t)n >= w->cap - w->len) {
        w->full = 1;
        return;
    }
    w->len += (size_t)n;
}

size_t ws_client_build_request(const struct ws_client_request *rq, char *out, size_t outlen)
{
    struct writer w = { out, 0, outlen, outlen == 0 };
    put(&w, "GET ", rq->target, " HTTP/1.1\r\n");
    if (!has_user_header(rq, "Host"))
        put(&w, "Host: ", rq->host, "\r\n");
    put(&w, "Upgrade: websocket\r\nConnection: Upgrade\r\n", NULL, NULL);
    put(&w, "Sec-WebSocket-Key: ", rq->key, "\r\n");
    put(&w, "Sec-WebSocket-Version: 13\r\n", NULL, NULL);
    if (rq->origin && !has_user_header(rq, "Origin"))
        put(&w, "Origin: ", rq->origin, "\r\n");
    if (rq->nprotocols) {
        put(&w, "Sec-WebSocket-Protocol: ", NULL, NULL);
        for (size_t i = 0; i < rq->nprotocols; i++)
            put(&w, i ? ", " : "", rq->protocols[i], NULL);
        put(&w, "\r\n", NULL, NULL);
    }
    if (rq->deflate && rq->deflate->enabled) {
        char offer[WS_DEFLATE_HEADER_MAX];
        if (ws_deflate_client_offer(rq->deflate, offer))
            put(&w, "Sec-WebSocket-Extensions: ", offer, "\r\n");
    }
    if (rq->user_agent && !has_user_header(rq, "User-Agent"))
        put(&w, "User-Agent: ", rq->user_agent, "\r\n");
    for (size_t i = 0; i < rq->nheaders; i++)
        put(&w, rq->headers[i], "\r\n", NULL);
    put(&w, "\r\n", NULL, NULL);
    return w.full ? 0 : w.len;
}

int ws_client_header_check(const char *line, const char **error)
{
    static const char *const owned[] = {
        "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
        "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions", "Sec-WebSocket-Accept",
    };
    if (http_header_line_check(line) < 0) {
        *error = "not a header line 'Name: value'";
        return -1;
    }
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
        if (http_header_line_is(line, owned[i])) {
            *error = "the handshake sets this header itself (see --protocol and --no-deflate)";
            return -2;
        }
    return 0;
}

int ws_client_protocol_valid(const char *name)
{
    return http_is_token(name, strlen(name));
}

static int refuse(struct ws_client_result *out, int code, const char *why)
{
    out->error = why;
    return code;
}

int ws_client_check_response(const struct ws_client_request *rq,
                             const struct http_response *res,
                             struct ws_client_result *out)
{
    char v[512];
    memset(out, 0, sizeof *out);

    if (res->status != 101)
        return refuse(out, WS_CLIENT_REFUSED, "the server did not switch protocols");
    if (http_response_header_value(res, "Upgrade", v, sizeof v) != 1 ||
        !http_list_has_token(v, strlen(v), "websocket"))
        return refuse(out, WS_CLIENT_INVALID, "101 without 'Upgrade: websocket'");
    if (http_response_header_value(res, "Connection", v, sizeof v) != 1 ||
        !http_list_has_token(v, strlen(v), "upgrade"))
        return refuse(out, WS_CLIENT_INVALID, "101 without 'Connection: Upgrade'");

    /* Exactly one Accept, and the right one: it proves the server read our
     * key, i.e. is a WebSocket server and not a cache replaying a 101. */
    char want[29];
    ws_accept_for_key(rq->key, strlen(rq->key), want);
    if (http_response_header_value(res, "Sec-WebSocket-Accept", v, sizeof v) != 1 ||
        strcmp(v, want) != 0)
        return refuse(out, WS_CLIENT_INVALID, "wrong or missing Sec-WebSocket-Accept");

    int rc = http_response_header_value(res, "Sec-WebSocket-Protocol", v, sizeof v);
    if (rc < 0)
        return refuse(out, WS_CLIENT_INVALID, "Sec-WebSocket-Protocol too long");
    if (rc == 1) {
        /* One of ours, verbatim (RFC 6455 4.1: otherwise fail). */
        size_t i;
        for (i = 0; i < rq->nprotocols; i++)
            if (strcmp(v, rq->protocols[i]) == 0)
                break;
        if (i == rq->nprotocols)
            return refuse(out, WS_CLIENT_INVALID,
                          rq->nprotocols ? "the server chose a subprotocol we did not offer"
                                         : "the server chose a subprotocol but we offered none");
        snprintf(out->protocol, sizeof out->protocol, "%s", v);
    }

    rc = http_response_header_value(res, "Sec-WebSocket-Extensions", out->extensions,
                                    sizeof out->extensions);
    if (rc < 0)
        return refuse(out, WS_CLIENT_INVALID, "Sec-WebSocket-Extensions too long");
    struct ws_deflate_config none = { 0, 0 };
    const struct ws_deflate_config *cfg = rq->deflate ? rq->deflate : &none;
    int d = ws_deflate_client_accept(rc == 1 ? out->extensions : NULL, cfg, &out->deflate_params);
    if (d < 0)
        return refuse(out, WS_CLIENT_INVALID, "the server answered with extensions we did not offer");
    out->deflate = d == 1;
    return WS_CLIENT_OK;
}
