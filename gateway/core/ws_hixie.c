#include "ws_hixie.h"

#include <string.h>

#include <openssl/evp.h>

#include "http_request.h"
#include "utf8.h"
#include "ws_handshake.h"

enum {
    S_TYPE,         /* expecting a frame type byte */
    S_TEXT,         /* inside a 0x00 ... 0xFF text frame */
    S_SKIP_DELIM,   /* inside another 0xFF-delimited frame: discarded */
    S_LENGTH,       /* reading the 7-bit groups of a length */
    S_SKIP_LEN,     /* discarding a length-prefixed frame's payload */
    S_CLOSED,
    S_FAILED
};

/* A key number above 2^32-1 cannot come from a conforming client, and
 * stopping there keeps the arithmetic from overflowing on hostile input. */
#define KEY_NUMBER_MAX 0xFFFFFFFFu

/* Nine 7-bit groups already exceed any length we could accept; more only
 * serve to spin the parser. */
#define LENGTH_GROUPS_MAX 9

static int ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int token_equal(const char *a, size_t alen, const char *b, int nocase)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++) {
        int x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (nocase ? ascii_lower(x) != ascii_lower(y) : x != y)
            return 0;
    }
    return 1;
}

int ws_hixie_is_request(const struct request_env *env)
{
    const char *upgrade = request_env_get(env, "HTTP_UPGRADE");
    return upgrade != NULL && http_list_has_token(upgrade, strlen(upgrade), "websocket") &&
           request_env_get(env, "HTTP_SEC_WEBSOCKET_VERSION") == NULL;
}

int ws_hixie_is_76(const struct request_env *env)
{
    return request_env_get(env, "HTTP_SEC_WEBSOCKET_KEY1") != NULL &&
           request_env_get(env, "HTTP_SEC_WEBSOCKET_KEY2") != NULL;
}

static int value_is(const char *v, const char *want)
{
    return v != NULL && token_equal(v, strlen(v), want, 1);
}

const char *ws_hixie_scheme(const struct request_env *env)
{
    const char *https = request_env_get(env, "HTTPS");
    const char *fwd = request_env_get(env, "HTTP_X_FORWARDED_PROTO");
    if (value_is(https, "on") || value_is(https, "1") ||
        value_is(request_env_get(env, "REQUEST_SCHEME"), "https"))
        return "wss";
    /* A chain of proxies appends; the first entry is what the client used. */
    if (fwd != NULL) {
        size_t n = strcspn(fwd, ", \t");
        if (token_equal(fwd, n, "https", 1))
            return "wss";
    }
    return "ws";
}

/* key-number / spaces, the draft-76 way: digits concatenated, spaces
 * counted, everything else ignored. */
static int key_part(const char *key, uint32_t *part)
{
    uint64_t number = 0;
    unsigned spaces = 0;
    int digits = 0;

    for (const char *c = key; *c != '\0'; c++) {
        if (*c >= '0' && *c <= '9') {
            number = number * 10 + (uint64_t)(*c - '0');
            if (number > KEY_NUMBER_MAX)
                return -1;
            digits = 1;
        } else if (*c == ' ') {
            spaces++;
        }
    }
    /* No spaces is what a cross-protocol attack looks like, says the
     * draft; a remainder means the key was not made by dividing. */
    if (!digits || spaces == 0 || number % spaces != 0)
        return -1;
    *part = (uint32_t)(number / spaces);
    return 0;
}

/* Both key parts, or -1 if either key is missing or invalid. */
static int key_parts(const struct request_env *env, uint32_t part[2])
{
    const char *key1 = request_env_get(env, "HTTP_SEC_WEBSOCKET_KEY1");
    const char *key2 = request_env_get(env, "HTTP_SEC_WEBSOCKET_KEY2");

    if (key1 == NULL || key2 == NULL ||
        key_part(key1, &part[0]) != 0 || key_part(key2, &part[1]) != 0)
        return -1;
    return 0;
}

int ws_hixie_challenge(const struct request_env *env,
                       const uint8_t key3[WS_HIXIE_KEY3_LEN],
                       uint8_t out[WS_HIXIE_CHALLENGE_LEN])
{
    uint32_t part[2];
    uint8_t input[16];
    unsigned int outlen = 0;

    if (key_parts(env, part) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        input[i * 4 + 0] = (uint8_t)(part[i] >> 24);
        input[i * 4 + 1] = (uint8_t)(part[i] >> 16);
        input[i * 4 + 2] = (uint8_t)(part[i] >> 8);
        input[i * 4 + 3] = (uint8_t)part[i];
    }
    memcpy(input + 8, key3, WS_HIXIE_KEY3_LEN);
    if (EVP_Digest(input, sizeof input, out, &outlen, EVP_md5(), NULL) != 1 ||
        outlen != WS_HIXIE_CHALLENGE_LEN)
        return -1;
    return 0;
}

/* Values are copied from the request into response headers: a CR or LF
 * would let the client inject headers of its own. */
static int safe_value(const char *v)
{
    for (const unsigned char *c = (const unsigned char *)v; *c != '\0'; c++)
        if ((*c < 0x20 && *c != '\t') || *c == 0x7F)
            return 0;
    return 1;
}

/* Append "name: parts[0]parts[1]...\r\n"; parts is NULL-terminated.  The
 * headers stay NUL-terminated.  -1 when they would not fit. */
static int add_header(struct ws_handshake *hs, const char *name,
                      const char *const *parts)
{
    size_t len = hs->headers_len;
    const char *pieces[2] = { name, ": " };

    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(pieces[i]);
        if (n >= sizeof hs->headers - len)
            return -1;
        memcpy(hs->headers + len, pieces[i], n);
        len += n;
    }
    for (; *parts != NULL; parts++) {
        size_t n = strlen(*parts);
        if (n >= sizeof hs->headers - len)
            return -1;
        memcpy(hs->headers + len, *parts, n);
        len += n;
    }
    if (2 >= sizeof hs->headers - len)
        return -1;
    memcpy(hs->headers + len, "\r\n", 3);
    hs->headers_len = len + 2;
    return 0;
}

static int fail(struct ws_handshake *hs, int status, const char *error)
{
    hs->status = status;
    hs->error = error;
    hs->headers_len = 0;
    hs->headers[0] = '\0';
    hs->protocol[0] = '\0';
    return status;
}

int ws_hixie_handshake(const struct request_env *env,
                       const struct ws_server_config *cfg,
                       const char *scheme, struct ws_handshake *hs)
{
    const char *method = request_env_get(env, "REQUEST_METHOD");
    const char *host = request_env_get(env, "HTTP_HOST");
    const char *origin = request_env_get(env, "HTTP_ORIGIN");
    const char *uri = request_env_get(env, "REQUEST_URI");
    const char *script = request_env_get(env, "SCRIPT_NAME");
    const char *path_info = request_env_get(env, "PATH_INFO");
    const char *query = request_env_get(env, "QUERY_STRING");
    int has_key1 = request_env_get(env, "HTTP_SEC_WEBSOCKET_KEY1") != NULL;
    int has_key2 = request_env_get(env, "HTTP_SEC_WEBSOCKET_KEY2") != NULL;
    const char *protocol;
    const char *location[8];
    size_t n = 0;
    uint32_t part[2];

    memset(hs, 0, sizeof *hs);
    hs->version = has_key1 && has_key2 ? 76 : 75;

    if (method != NULL && strcmp(method, "GET") != 0)
        return fail(hs, 405, "hixie handshake: method is not GET");
    if (!ws_hixie_is_request(env))
        return fail(hs, 400, "hixie handshake: not a WebSocket upgrade");
    if (has_key1 != has_key2)
        return fail(hs, 400, "hixie-76 handshake: one of the two keys is missing");
    /* Checked now, before the 101 goes out, so that the later challenge
     * cannot fail. */
    if (hs->version == 76 && key_parts(env, part) != 0)
        return fail(hs, 400, "hixie-76 handshake: invalid Sec-WebSocket-Key1/Key2");
    if (host == NULL || host[0] == '\0')
        return fail(hs, 400, "hixie handshake: no Host header");

    location[n++] = scheme != NULL ? scheme : ws_hixie_scheme(env);
    location[n++] = "://";
    location[n++] = host;
    if (uri != NULL && uri[0] != '\0') {
        location[n++] = uri;
    } else {
        /* CGI/1.1 has no REQUEST_URI; rebuild it from its parts. */
        location[n++] = script != NULL && script[0] != '\0' ? script : "/";
        if (path_info != NULL)
            location[n++] = path_info;
        if (query != NULL && query[0] != '\0') {
            location[n++] = "?";
            location[n++] = query;
        }
    }
    location[n] = NULL;
    for (size_t i = 0; i < n; i++)
        if (!safe_value(location[i]))
            return fail(hs, 400, "hixie handshake: control characters in Host or URI");
    if (origin != NULL && !safe_value(origin))
        return fail(hs, 400, "hixie handshake: control characters in Origin");

    protocol = ws_select_protocol(request_env_get(env, hs->version == 76
                                                           ? "HTTP_SEC_WEBSOCKET_PROTOCOL"
                                                           : "HTTP_WEBSOCKET_PROTOCOL"),
                                  cfg);
    if (protocol != NULL) {
        if (strlen(protocol) >= sizeof hs->protocol || !safe_value(protocol))
            return fail(hs, 400, "hixie handshake: unusable subprotocol name");
        strcpy(hs->protocol, protocol);
    }

    const char *upgrade[] = { "WebSocket", NULL };
    const char *connection[] = { "Upgrade", NULL };
    const char *origin_v[] = { origin, NULL };
    const char *protocol_v[] = { hs->protocol, NULL };
    int v76 = hs->version == 76;
    int err = add_header(hs, "Upgrade", upgrade) |
              add_header(hs, "Connection", connection);
    if (origin != NULL)
        err |= add_header(hs, v76 ? "Sec-WebSocket-Origin" : "WebSocket-Origin", origin_v);
    err |= add_header(hs, v76 ? "Sec-WebSocket-Location" : "WebSocket-Location", location);
    if (hs->protocol[0] != '\0')
        err |= add_header(hs, v76 ? "Sec-WebSocket-Protocol" : "WebSocket-Protocol",
                          protocol_v);
    if (err != 0)
        return fail(hs, 400, "hixie handshake: response headers too long");
    hs->status = 101;
    return 101;
}

const char *ws_hixie_status_text(int status, int version)
{
    switch (status) {
    case 101:
        return version == 75 ? "Web Socket Protocol Handshake"
                             : "WebSocket Protocol Handshake";
    case 400:
        return "Bad Request";
    case 405:
        return "Method Not Allowed";
    default:
        return "Error";
    }
}

void ws_hixie_parser_init(struct ws_hixie_parser *p, int version,
                          uint64_t max_message)
{
    memset(p, 0, sizeof *p);
    p->version = version;
    p->max_message = max_message;
    p->state = S_TYPE;
}

static size_t parser_fail(struct ws_hixie_parser *p, struct ws_event *ev,
                          size_t consumed, unsigned code, const char *error)
{
    p->state = S_FAILED;
    p->fail_code = code;
    p->fail_error = error;
    ev->type = WS_EV_ERROR;
    ev->code = code;
    ev->error = error;
    return consumed;
}

/* Bytes still allowed in the current frame before max_message is exceeded. */
static uint64_t room(const struct ws_hixie_parser *p)
{
    return p->max_message == 0 ? UINT64_MAX : p->max_message - p->msg_len;
}

size_t ws_hixie_parser_feed(struct ws_hixie_parser *p, uint8_t *in, size_t len,
                            struct ws_event *ev)
{
    size_t off = 0;

    memset(ev, 0, sizeof *ev);
    ev->type = WS_EV_NONE;
    if (p->state == S_FAILED)
        return parser_fail(p, ev, 0, p->fail_code, p->fail_error);
    if (p->state == S_CLOSED)
        return len;

    while (off < len) {
        switch (p->state) {
        case S_TYPE: {
            uint8_t type = in[off++];
            p->frame_type = type;
            p->msg_len = 0;
            if (type & 0x80) {
                p->length = 0;
                p->length_bytes = 0;
                p->state = S_LENGTH;
            } else if (type == 0x00) {
                p->utf8_state = UTF8_STATE_INIT;
                p->utf8_partial = 0;
                p->state = S_TEXT;
                ev->type = WS_EV_MESSAGE_START;
                ev->opcode = WS_OP_TEXT;
                return off;
            } else {
                p->state = S_SKIP_DELIM;
            }
            break;
        }
        case S_TEXT: {
            if (in[off] == 0xFF) {
                off++;
                if (p->utf8_partial)
                    return parser_fail(p, ev, off, 1007, "hixie: text ends inside a UTF-8 character");
                p->state = S_TYPE;
                ev->type = WS_EV_MESSAGE_END;
                return off;
            }
            const uint8_t *end = memchr(in + off, 0xFF, len - off);
            size_t n = end != NULL ? (size_t)(end - (in + off)) : len - off;
            if (n > room(p)) {
                /* The bytes within the limit are judged first, so the code
                 * does not depend on where the input was split: bad UTF-8
                 * before the limit is 1007 however the bytes arrive. */
                uint32_t st = p->utf8_state;
                if (utf8_feed(&st, in + off, (size_t)room(p)) == UTF8_INVALID)
                    return parser_fail(p, ev, off, 1007, "hixie: invalid UTF-8 in text frame");
                return parser_fail(p, ev, off, 1009, "hixie: message too big");
            }
            enum utf8_result r = utf8_feed(&p->utf8_state, in + off, n);
            if (r == UTF8_INVALID)
                return parser_fail(p, ev, off, 1007, "hixie: invalid UTF-8 in text frame");
            p->utf8_partial = r == UTF8_PARTIAL;
            p->msg_len += n;
            ev->type = WS_EV_DATA;
            ev->data = in + off;
            ev->len = n;
            return off + n;
        }
        case S_SKIP_DELIM: {
            const uint8_t *end = memchr(in + off, 0xFF, len - off);
            size_t n = end != NULL ? (size_t)(end - (in + off)) : len - off;
            if (n > room(p))
                return parser_fail(p, ev, off, 1009, "hixie: frame too big");
            p->msg_len += n;
            off += n;
            if (end != NULL) {
                off++;
                p->state = S_TYPE;
            }
            break;
        }
        case S_LENGTH: {
            uint8_t b = in[off++];
            if (++p->length_bytes > LENGTH_GROUPS_MAX)
                return parser_fail(p, ev, off, 1002, "hixie: frame length too long");
            p->length = p->length * 128 + (b & 0x7F);
            if (p->length > room(p))
                return parser_fail(p, ev, off, 1009, "hixie: frame too big");
            if (b & 0x80)
                break;
            if (p->frame_type == 0xFF && p->version == 76) {
                if (p->length != 0)
                    return parser_fail(p, ev, off, 1002, "hixie-76: closing frame with a length");
                p->state = S_CLOSED;
                ev->type = WS_EV_CLOSE;
                ev->code = 1005;
                return off;
            }
            p->remaining = p->length;
            p->state = p->remaining == 0 ? S_TYPE : S_SKIP_LEN;
            break;
        }
        case S_SKIP_LEN: {
            size_t n = len - off;
            if (n > p->remaining)
                n = (size_t)p->remaining;
            off += n;
            p->remaining -= n;
            if (p->remaining == 0)
                p->state = S_TYPE;
            break;
        }
        default:
            return parser_fail(p, ev, off, 1011, "hixie: parser in an impossible state");
        }
    }
    return off;
}

size_t ws_hixie_text_frame(uint8_t *out, size_t cap,
                           const uint8_t *payload, size_t len)
{
    if (cap < 2 || len > cap - 2 || (len > 0 && !utf8_valid(payload, len)))
        return 0;
    out[0] = WS_HIXIE_TEXT_START;
    if (len > 0)
        memcpy(out + 1, payload, len);
    out[len + 1] = WS_HIXIE_TEXT_END;
    return len + 2;
}

size_t ws_hixie_close_frame(int version, uint8_t out[2])
{
    if (version != 76)
        return 0;
    out[0] = 0xFF;
    out[1] = 0x00;
    return 2;
}
