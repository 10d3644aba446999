/* fuzz_ws_hixie.c - the hixie-75/76 drafts (gateway/core/ws_hixie.c): the
 * frame parser, and the handshake on a request parsed from the input.
 *
 * Input: three configuration bytes, then the peer's bytes.
 *   byte 0  bit 0: hixie-76 (else 75) for frames-only inputs;
 *           bit 1: the input starts with a request head: it is parsed
 *           (http_request), turned into CGI variables (request_env) and
 *           handshaken; after a hixie-76 101 the next 8 bytes are key3 and
 *           the challenge must be computable; the rest are frames, parsed
 *           in the version the handshake chose;
 *           bit 5: HTTPS=on; bits 2-4: how max_message comes from byte 1
 *   byte 1  max_message parameter
 *   byte 2  seed for the chunk sizes
 *
 * Frames are parsed whole, byte by byte and in seeded chunks: traces must
 * agree.  Each complete message must be valid UTF-8, within max_message,
 * and must survive ws_hixie_text_frame and a second parse unchanged.
 */
#include "fuzz_common.h"

#include "core/http_request.h"
#include "core/request_env.h"
#include "core/utf8.h"
#include "core/ws_handshake.h"
#include "core/ws_hixie.h"

static const char *const protocols[] = { "chat", "superchat", "x" };
static const struct ws_server_config server_cfg = { protocols, 3 };

struct model {
    int in_message;
    uint8_t *msg;           /* text of the message in progress */
    size_t msg_len, msg_cap;
    int closed;
    int failed;
    unsigned fail_code;
    size_t messages;
};

static void reparse_message(int version, const uint8_t *msg, size_t len);

static void check_event(int version, uint64_t max_message, struct model *m,
                        const struct ws_event *ev, const uint8_t *chunk, size_t before,
                        size_t after, struct fuzz_trace *t, int roundtrip)
{
    switch (ev->type) {
    case WS_EV_NONE:
        break;
    case WS_EV_MESSAGE_START:
        FUZZ_CHECK(!m->in_message);
        FUZZ_CHECK(ev->opcode == WS_OP_TEXT);
        FUZZ_CHECK(after > before);
        m->in_message = 1;
        m->msg_len = 0;
        fuzz_trace_event(t, 'S', 0, 0, NULL, 0);
        break;
    case WS_EV_DATA:
        FUZZ_CHECK(m->in_message);
        FUZZ_CHECK(ev->data >= chunk + before && ev->len <= after - before);
        FUZZ_CHECK(ev->data + ev->len == chunk + after);
        FUZZ_CHECK(ev->len == 0 || memchr(ev->data, 0xFF, ev->len) == NULL);
        fuzz_grow(&m->msg, &m->msg_cap, m->msg_len + ev->len);
        if (ev->len)
            memcpy(m->msg + m->msg_len, ev->data, ev->len);
        m->msg_len += ev->len;
        FUZZ_CHECK(max_message == 0 || m->msg_len <= max_message);
        fuzz_trace_data(t, ev->data, ev->len);
        break;
    case WS_EV_MESSAGE_END:
        FUZZ_CHECK(m->in_message);
        FUZZ_CHECK(utf8_valid(m->msg, m->msg_len));
        m->in_message = 0;
        m->messages++;
        fuzz_trace_event(t, 'M', m->msg_len, 0, NULL, 0);
        if (roundtrip)
            reparse_message(version, m->msg, m->msg_len);
        break;
    case WS_EV_CLOSE:
        FUZZ_CHECK(version == 76);
        FUZZ_CHECK(ev->code == 1005);
        m->closed = 1;
        fuzz_trace_event(t, 'C', ev->code, 0, NULL, 0);
        break;
    case WS_EV_ERROR:
        FUZZ_CHECK(ev->code == 1002 || ev->code == 1007 || ev->code == 1009);
        FUZZ_CHECK(ev->error != NULL);
        m->failed = 1;
        m->fail_code = ev->code;
        fuzz_trace_error(t, ev->code);
        break;
    default:
        /* hixie has no ping, pong or binary messages */
        FUZZ_CHECK(!"unexpected event type");
    }
}

/* Feeds src[0..n) split as mode says; roundtrip re-encodes each message. */
static void run(int version, uint64_t max_message, const uint8_t *src, size_t n,
                enum fuzz_split mode, uint64_t seed, struct fuzz_trace *t, int roundtrip,
                size_t *messages)
{
    struct ws_hixie_parser p;
    struct model m;
    struct fuzz_splitter s;
    size_t off = 0;

    ws_hixie_parser_init(&p, version, max_message);
    memset(&m, 0, sizeof m);
    fuzz_splitter_init(&s, mode, seed);
    fuzz_trace_init(t);

    do {
        size_t clen = fuzz_next_chunk(&s, n - off);
        uint8_t *chunk = fuzz_malloc(clen);
        if (clen)
            memcpy(chunk, src + off, clen);
        size_t coff = 0, events = 0;

        for (;;) {
            struct ws_event ev;
            size_t used = ws_hixie_parser_feed(&p, chunk + coff, clen - coff, &ev);
            FUZZ_CHECK(used <= clen - coff);
            if (m.failed) {
                FUZZ_CHECK(ev.type == WS_EV_ERROR && ev.code == m.fail_code && used == 0);
                break;
            }
            if (m.closed) {
                FUZZ_CHECK(ev.type == WS_EV_NONE && used == clen - coff);
                break;
            }
            check_event(version, max_message, &m, &ev, chunk, coff, coff + used, t, roundtrip);
            coff += used;
            if (ev.type == WS_EV_NONE) {
                FUZZ_CHECK(coff == clen);
                break;
            }
            FUZZ_CHECK(++events <= 2 * clen + 4);
        }
        free(chunk);
        off += clen;
    } while (off < n);

    fuzz_trace_end(t);
    free(m.msg);
    if (messages)
        *messages = m.messages;
}

/* A message the parser accepted, encoded by ws_hixie_text_frame, parses
 * back to exactly that message. */
static void reparse_message(int version, const uint8_t *msg, size_t len)
{
    size_t cap = len + 2;
    uint8_t *frame = fuzz_malloc(cap);
    size_t flen = ws_hixie_text_frame(frame, cap, msg, len);
    FUZZ_CHECK(flen == len + 2);
    FUZZ_CHECK(frame[0] == WS_HIXIE_TEXT_START && frame[flen - 1] == WS_HIXIE_TEXT_END);
    /* One byte less room must be refused, not overrun. */
    FUZZ_CHECK(ws_hixie_text_frame(frame, cap - 1, msg, len) == 0);

    struct fuzz_trace a, b;
    size_t count = 0;
    run(version, len, frame, flen, SPLIT_WHOLE, 0, &a, 0, &count);
    FUZZ_CHECK(count == 1);
    fuzz_trace_init(&b);
    fuzz_trace_event(&b, 'S', 0, 0, NULL, 0);
    fuzz_trace_data(&b, msg, len);
    fuzz_trace_event(&b, 'M', len, 0, NULL, 0);
    fuzz_trace_end(&b);
    fuzz_trace_same(&a, &b);
    fuzz_trace_free(&a);
    fuzz_trace_free(&b);
    free(frame);
}

static int safe_headers(const char *h, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c == '\r') {
            if (i + 1 >= len || h[i + 1] != '\n')
                return 0;
            i++;
        } else if ((c < 0x20 && c != '\t') || c == 0x7F) {
            return 0;
        }
    }
    return len == 0 || (len >= 2 && h[len - 2] == '\r' && h[len - 1] == '\n');
}

/* Parses the head at the front of *in and handshakes it.  Returns the
 * version to parse frames with (0: the request was refused). */
static int handshake(struct fuzz_input *in, int https)
{
    struct http_request req;
    int rc = http_parse_request((const char *)in->p, in->n, 8192, &req);
    if (rc <= 0)
        return 0;
    in->p += rc;
    in->n -= (size_t)rc;

    struct request_env env;
    if (request_env_init(&env, 16384) != 0)
        abort();
    int version = 0;
    if (request_env_from_http(&env, &req) == 0 &&
        (!https || request_env_sets(&env, "HTTPS", "on") == 0)) {
        struct ws_handshake hs;
        const char *scheme = ws_hixie_scheme(&env);
        FUZZ_CHECK(strcmp(scheme, "ws") == 0 || strcmp(scheme, "wss") == 0);
        if (https)
            FUZZ_CHECK(strcmp(scheme, "wss") == 0);
        int status = ws_hixie_handshake(&env, &server_cfg, https ? NULL : scheme, &hs);
        FUZZ_CHECK(status == hs.status);
        FUZZ_CHECK(status == 101 || status == 400 || status == 405);
        FUZZ_CHECK(strlen(ws_hixie_status_text(status, hs.version)) > 0);
        if (status == 101) {
            static const char first[] = "Upgrade: WebSocket\r\nConnection: Upgrade\r\n";
            FUZZ_CHECK(ws_hixie_is_request(&env));
            FUZZ_CHECK(hs.version == (ws_hixie_is_76(&env) ? 76 : 75));
            FUZZ_CHECK(hs.headers_len < sizeof hs.headers);
            FUZZ_CHECK(strlen(hs.headers) == hs.headers_len);
            FUZZ_CHECK(strncmp(hs.headers, first, sizeof first - 1) == 0);
            FUZZ_CHECK(safe_headers(hs.headers, hs.headers_len));
            FUZZ_CHECK(hs.protocol[0] == '\0' || strcmp(hs.protocol, "chat") == 0 ||
                       strcmp(hs.protocol, "superchat") == 0 || strcmp(hs.protocol, "x") == 0);
            version = hs.version;
            if (version == 76) {
                /* After a 101 the challenge cannot fail (ws_hixie.h). */
                uint8_t key3[WS_HIXIE_KEY3_LEN] = { 0 }, answer[WS_HIXIE_CHALLENGE_LEN];
                size_t k = in->n < WS_HIXIE_KEY3_LEN ? in->n : WS_HIXIE_KEY3_LEN;
                memcpy(key3, in->p, k);
                in->p += k;
                in->n -= k;
                FUZZ_CHECK(ws_hixie_challenge(&env, key3, answer) == 0);
            }
        } else {
            FUZZ_CHECK(hs.error != NULL);
            FUZZ_CHECK(hs.headers_len == 0);
        }
        /* The two handshakes never both accept one request. */
        struct ws_handshake hs2;
        int s2 = ws_handshake_server(&env, &server_cfg, &hs2);
        FUZZ_CHECK(s2 == hs2.status);
        FUZZ_CHECK(!(s2 == 101 && status == 101));
    }
    request_env_free(&env);
    return version;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    uint8_t b0 = fuzz_byte(&in), b1 = fuzz_byte(&in), b2 = fuzz_byte(&in);
    int version = (b0 & 1) ? 76 : 75;
    uint64_t max_message;

    switch ((b0 >> 2) & 7) {
    case 0: max_message = 0; break;
    case 1: max_message = b1; break;
    case 2: max_message = (uint64_t)b1 * 64; break;
    case 3: max_message = (uint64_t)1 << (b1 % 64); break;
    case 4: max_message = UINT64_MAX - b1; break;
    case 5: max_message = 1; break;
    default: max_message = 16 + (b1 & 15); break;
    }
    if (b0 & 2) {
        version = handshake(&in, (b0 >> 5) & 1);
        if (version == 0)
            return 0;
    }

    struct fuzz_trace whole, bytes, seeded;
    run(version, max_message, in.p, in.n, SPLIT_WHOLE, 0, &whole, 1, NULL);
    run(version, max_message, in.p, in.n, SPLIT_BYTES, 0, &bytes, 0, NULL);
    run(version, max_message, in.p, in.n, SPLIT_SEEDED, b2, &seeded, 0, NULL);
    fuzz_trace_same(&whole, &bytes);
    fuzz_trace_same(&whole, &seeded);
    fuzz_trace_free(&whole);
    fuzz_trace_free(&bytes);
    fuzz_trace_free(&seeded);
    return 0;
}
