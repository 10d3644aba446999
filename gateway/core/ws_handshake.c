/* ws_handshake.c - WebSocket opening handshake, server side (RFC 6455 4.2).
 *
 * hybi-07 and hybi-08 use the same handshake as RFC 6455 (version 13); only
 * the Sec-WebSocket-Version value differs, so one code path serves all three.
 */
#include "ws_handshake.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "http_request.h"

/* Longest key ws_accept_for_key hashes.  Valid keys are 24 bytes; the bound
 * only keeps the concatenation buffer fixed. */
#define WS_KEY_MAX 128

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* RFC 6455 4.2.1: the key is 16 bytes in base64, so 22 data characters and
 * "==".  The 22nd character carries only 2 data bits; its low 4 bits must
 * be zero in canonical base64 (RFC 4648 3.5).  Strictness means a key is
 * accepted here exactly when every conforming server accepts it. */
static int key_is_valid(const char *key)
{
    if (!key || strlen(key) != 24)
        return 0;
    for (size_t i = 0; i < 22; i++)
        if (b64_value((unsigned char)key[i]) < 0)
            return 0;
    if (b64_value((unsigned char)key[21]) & 0x0f)
        return 0;
    return key[22] == '=' && key[23] == '=';
}

static int has_token(const char *value, const char *token)
{
    return value && http_list_has_token(value, strlen(value), token);
}

/* SERVER_PROTOCOL is "HTTP/major.minor"; CGI servers in front of HTTP/2
 * may also say "HTTP/2".  Digits are capped so that no value overflows. */
static int protocol_is_11_or_later(const char *proto)
{
    int major = 0, minor = 0;
    const char *p;

    if (!proto || strncmp(proto, "HTTP/", 5) != 0)
        return 0;
    p = proto + 5;
    if (*p < '0' || *p > '9')
        return 0;
    for (; *p >= '0' && *p <= '9'; p++)
        major = major < 1000 ? major * 10 + (*p - '0') : major;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return 0;
        for (; *p >= '0' && *p <= '9'; p++)
            minor = minor < 1000 ? minor * 10 + (*p - '0') : minor;
    }
    if (*p != '\0')
        return 0;
    return major > 1 || (major == 1 && minor >= 1);
}

/* The longest response is the 101: its fixed text (three lines, the
 * accept value and the protocol line's name and CRLF) is under 128 bytes,
 * and the protocol name is bounded by hs->protocol.  So headers[]
 * cannot overflow, and snprintf's bound is only a second line of defence. */
_Static_assert(sizeof(((struct ws_handshake *)0)->headers) >=
               128 + sizeof(((struct ws_handshake *)0)->protocol),
               "ws_handshake.headers too small for a 101 response");

static void add_header(struct ws_handshake *hs, const char *name, const char *value)
{
    size_t room = sizeof hs->headers - hs->headers_len;
    int n = snprintf(hs->headers + hs->headers_len, room, "%s: %s\r\n", name, value);

    if (n > 0 && (size_t)n < room)
        hs->headers_len += (size_t)n;
}

static int fail(struct ws_handshake *hs, int status, const char *error)
{
    hs->status = status;
    hs->error = error;
    hs->version = 0;
    hs->protocol[0] = '\0';
    return status;
}

/* RFC 6455 4.2.2: the server picks one of the client's offers or none.
 * The client's order decides, as it lists its preference first. */
const char *ws_select_protocol(const char *offer, const struct ws_server_config *cfg)
{
    if (!offer || !cfg)
        return NULL;
    const char *p = offer;
    while (*p) {
        const char *comma = strchr(p, ',');
        const char *e = comma ? comma : p + strlen(p);
        while (p < e && is_ows(*p))
            p++;
        while (e > p && is_ows(e[-1]))
            e--;
        size_t n = (size_t)(e - p);
        for (size_t i = 0; n > 0 && i < cfg->nprotocols; i++) {
            const char *ours = cfg->protocols[i];
            if (strlen(ours) == n && memcmp(ours, p, n) == 0)
                return ours;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return NULL;
}

int ws_is_upgrade_request(const struct request_env *env)
{
    return has_token(request_env_get(env, "HTTP_UPGRADE"), "websocket");
}

int ws_handshake_server(const struct request_env *env,
                        const struct ws_server_config *cfg,
                        struct ws_handshake *hs)
{
    hs->status = 0;
    hs->version = 0;
    hs->protocol[0] = '\0';
    hs->headers[0] = '\0';
    hs->headers_len = 0;
    hs->error = NULL;

    const char *method = request_env_get(env, "REQUEST_METHOD");
    if (!method || strcmp(method, "GET") != 0) {
        add_header(hs, "Allow", "GET");
        return fail(hs, 405, "method is not GET");
    }
    if (!protocol_is_11_or_later(request_env_get(env, "SERVER_PROTOCOL")))
        return fail(hs, 400, "upgrade needs HTTP/1.1");
    if (!has_token(request_env_get(env, "HTTP_UPGRADE"), "websocket"))
        return fail(hs, 400, "no Upgrade: websocket");
    if (!has_token(request_env_get(env, "HTTP_CONNECTION"), "upgrade"))
        return fail(hs, 400, "no Connection: upgrade");
    if (!request_env_get(env, "HTTP_HOST"))
        return fail(hs, 400, "no Host header");

    /* RFC 6455 4.4: an unsupported version gets 426 and the version we
     * prefer, so that the client can retry with it. */
    const char *version = request_env_get(env, "HTTP_SEC_WEBSOCKET_VERSION");
    int v = 0;
    if (version && strcmp(version, "13") == 0)
        v = 13;
    else if (version && strcmp(version, "8") == 0)
        v = 8;
    else if (version && strcmp(version, "7") == 0)
        v = 7;
    if (v == 0) {
        add_header(hs, "Sec-WebSocket-Version", "13");
        return fail(hs, 426, version ? "unsupported Sec-WebSocket-Version"
                                     : "no Sec-WebSocket-Version");
    }

    const char *key = request_env_get(env, "HTTP_SEC_WEBSOCKET_KEY");
    if (!key_is_valid(key))
        return fail(hs, 400, key ? "bad Sec-WebSocket-Key" : "no Sec-WebSocket-Key");

    char accept[29];
    ws_accept_for_key(key, strlen(key), accept);
    const char *protocol = ws_select_protocol(request_env_get(env, "HTTP_SEC_WEBSOCKET_PROTOCOL"), cfg);
    if (protocol && strlen(protocol) < sizeof hs->protocol)
        strcpy(hs->protocol, protocol);

    add_header(hs, "Upgrade", "websocket");
    add_header(hs, "Connection", "Upgrade");
    add_header(hs, "Sec-WebSocket-Accept", accept);
    if (hs->protocol[0])
        add_header(hs, "Sec-WebSocket-Protocol", hs->protocol);
    hs->version = v;
    hs->status = 101;
    return 101;
}

void ws_accept_for_key(const char *key, size_t key_len, char out[29])
{
    static const char guid[] = WS_GUID;
    unsigned char buf[WS_KEY_MAX + sizeof guid];
    unsigned char digest[SHA_DIGEST_LENGTH];

    /* No valid key comes near the bound; an empty result can never match
     * a real Sec-WebSocket-Accept. */
    if (key_len > WS_KEY_MAX) {
        out[0] = '\0';
        return;
    }
    memcpy(buf, key, key_len);
    memcpy(buf + key_len, guid, sizeof guid - 1);
    SHA1(buf, key_len + sizeof guid - 1, digest);
    EVP_EncodeBlock((unsigned char *)out, digest, SHA_DIGEST_LENGTH);
}

const char *ws_status_text(int status)
{
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}
