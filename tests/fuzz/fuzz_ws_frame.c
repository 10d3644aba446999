/* fuzz_ws_frame.c - the RFC 6455 frame parser (gateway/core/ws_frame.c).
 *
 * Input: three configuration bytes, then the bytes a peer sends.
 *   byte 0  bit 0: role (server parses masked client frames, client the
 *           unmasked ones); bit 1: allow_rsv1 (permessage-deflate);
 *           bits 2-4: how max_message is chosen from byte 1
 *   byte 1  max_message parameter
 *   byte 2  seed for the chunk sizes
 *
 * The input is parsed whole, one byte at a time and in seeded chunks; the
 * event traces must be identical (see fuzz_common.h).  Every event is
 * checked against the contract in ws_frame.h: DATA points at the bytes just
 * consumed, messages nest properly, text is UTF-8 and no message exceeds
 * max_message, control payloads stay within 125 bytes, close codes are
 * sendable ones, ERROR repeats and consumes nothing, nothing follows CLOSE.
 */
#include "fuzz_common.h"

#include "core/utf8.h"
#include "core/ws_close.h"
#include "core/ws_frame.h"

struct config {
    enum ws_role role;
    int allow_rsv1;
    uint64_t max_message;
};

/* Re-encodes what the parser reported with ws_frame_header: one frame per
 * stretch of a message between control frames, so that the result parses
 * to the same events (fragment boundaries are not events). */
struct reenc {
    enum ws_role role;
    uint8_t *out;
    size_t len, cap;
    uint8_t *pend;          /* message data since the last fragment */
    size_t plen, pcap;
    int first;              /* no fragment of the current message yet */
    int opcode, compressed;
};

static void reenc_frame(struct reenc *e, int fin, int rsv1, int opcode,
                        const uint8_t *payload, size_t n)
{
    /* the parser's peer masks when we parse as a server */
    static const uint8_t key[4] = { 0xA5, 0x01, 0x7E, 0xC3 };
    uint8_t hdr[14];
    size_t hl = ws_frame_header(hdr, fin, rsv1, opcode, n,
                                e->role == WS_ROLE_SERVER ? key : NULL);
    FUZZ_CHECK(hl >= 2 && hl <= 14);
    fuzz_grow(&e->out, &e->cap, e->len + hl + n);
    memcpy(e->out + e->len, hdr, hl);
    if (n)
        memcpy(e->out + e->len + hl, payload, n);
    if (e->role == WS_ROLE_SERVER)
        ws_mask_bytes(e->out + e->len + hl, n, key, 0);
    e->len += hl + n;
}

static void reenc_fragment(struct reenc *e, int fin)
{
    reenc_frame(e, fin, e->first && e->compressed, e->first ? e->opcode : WS_OP_CONT,
                e->pend, e->plen);
    e->first = 0;
    e->plen = 0;
}

static void reenc_free(struct reenc *e)
{
    free(e->out);
    free(e->pend);
}

/* What the checker knows about the message in progress. */
struct model {
    int in_message;
    int opcode;
    int compressed;
    uint64_t bytes;
    uint32_t utf8;
    int closed;
    int failed;
    unsigned fail_code;
    struct reenc *enc;      /* NULL: not re-encoding this run */
};

static void check_event(const struct config *c, struct model *m, const struct ws_event *ev,
                        const uint8_t *chunk, size_t before, size_t after,
                        struct fuzz_trace *t)
{
    switch (ev->type) {
    case WS_EV_NONE:
        break;
    case WS_EV_MESSAGE_START:
        FUZZ_CHECK(!m->in_message);
        FUZZ_CHECK(ev->opcode == WS_OP_TEXT || ev->opcode == WS_OP_BINARY);
        FUZZ_CHECK(ev->compressed == 0 || ev->compressed == 1);
        FUZZ_CHECK(!ev->compressed || c->allow_rsv1);
        m->in_message = 1;
        m->opcode = ev->opcode;
        m->compressed = ev->compressed;
        m->bytes = 0;
        m->utf8 = UTF8_STATE_INIT;
        fuzz_trace_event(t, 'S', (uint64_t)ev->opcode, (uint64_t)ev->compressed, NULL, 0);
        if (m->enc) {
            m->enc->first = 1;
            m->enc->plen = 0;
            m->enc->opcode = ev->opcode;
            m->enc->compressed = ev->compressed;
        }
        break;
    case WS_EV_DATA:
        FUZZ_CHECK(m->in_message);
        FUZZ_CHECK(ev->len > 0);
        /* The payload is exactly the bytes this call consumed last. */
        FUZZ_CHECK(ev->data >= chunk + before && ev->len <= after - before);
        FUZZ_CHECK(ev->data + ev->len == chunk + after);
        m->bytes += ev->len;
        FUZZ_CHECK(c->max_message == 0 || m->bytes <= c->max_message);
        if (m->opcode == WS_OP_TEXT && !m->compressed)
            FUZZ_CHECK(utf8_feed(&m->utf8, ev->data, ev->len) != UTF8_INVALID);
        fuzz_trace_data(t, ev->data, ev->len);
        if (m->enc) {
            fuzz_grow(&m->enc->pend, &m->enc->pcap, m->enc->plen + ev->len);
            memcpy(m->enc->pend + m->enc->plen, ev->data, ev->len);
            m->enc->plen += ev->len;
        }
        break;
    case WS_EV_MESSAGE_END:
        /* (it may consume the header of an empty final continuation) */
        FUZZ_CHECK(m->in_message);
        if (m->opcode == WS_OP_TEXT && !m->compressed)
            FUZZ_CHECK(m->utf8 == UTF8_STATE_INIT);
        m->in_message = 0;
        fuzz_trace_event(t, 'M', m->bytes, 0, NULL, 0);
        if (m->enc)
            reenc_fragment(m->enc, 1);
        break;
    case WS_EV_PING:
    case WS_EV_PONG:
        FUZZ_CHECK(ev->len <= 125);
        FUZZ_CHECK(ev->len == 0 || ev->data != NULL);
        fuzz_trace_event(t, ev->type == WS_EV_PING ? 'P' : 'O', 0, 0, ev->data, ev->len);
        if (m->enc) {
            if (m->in_message && (m->enc->first || m->enc->plen))
                reenc_fragment(m->enc, 0);
            reenc_frame(m->enc, 1, 0, ev->type == WS_EV_PING ? WS_OP_PING : WS_OP_PONG,
                        ev->data, ev->len);
        }
        break;
    case WS_EV_CLOSE:
        FUZZ_CHECK(ev->len <= 123);
        if (ev->code == WS_CLOSE_NO_STATUS)
            FUZZ_CHECK(ev->len == 0);
        else
            FUZZ_CHECK(ws_close_code_valid(ev->code));
        FUZZ_CHECK(ev->len == 0 || (ev->data != NULL && utf8_valid(ev->data, ev->len)));
        m->closed = 1;
        fuzz_trace_event(t, 'C', ev->code, 0, ev->data, ev->len);
        if (m->enc) {
            uint8_t payload[125];
            size_t pl = ws_close_build(payload, ev->code, (const char *)ev->data, ev->len);
            FUZZ_CHECK(pl == (ev->code == WS_CLOSE_NO_STATUS ? 0 : 2 + ev->len));
            if (m->in_message && (m->enc->first || m->enc->plen))
                reenc_fragment(m->enc, 0);
            reenc_frame(m->enc, 1, 0, WS_OP_CLOSE, payload, pl);
        }
        break;
    case WS_EV_ERROR:
        FUZZ_CHECK(ev->code == WS_CLOSE_PROTOCOL || ev->code == WS_CLOSE_INVALID_DATA ||
                   ev->code == WS_CLOSE_TOO_BIG);
        FUZZ_CHECK(ev->error != NULL);
        m->failed = 1;
        m->fail_code = ev->code;
        fuzz_trace_error(t, ev->code);
        break;
    default:
        FUZZ_CHECK(!"unknown event type");
    }
}

static void run(const struct config *c, const uint8_t *src, size_t n,
                enum fuzz_split mode, uint64_t seed, struct fuzz_trace *t,
                struct reenc *enc, int *failed)
{
    struct ws_parser p;
    struct model m;
    struct fuzz_splitter s;
    size_t off = 0;

    ws_parser_init(&p, c->role, c->max_message);
    p.allow_rsv1 = c->allow_rsv1;
    memset(&m, 0, sizeof m);
    m.enc = enc;
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
            size_t used = ws_parser_feed(&p, chunk + coff, clen - coff, &ev);
            FUZZ_CHECK(used <= clen - coff);
            if (m.failed) {
                /* After ERROR: the same ERROR, nothing consumed. */
                FUZZ_CHECK(ev.type == WS_EV_ERROR && ev.code == m.fail_code && used == 0);
                break;
            }
            if (m.closed) {
                /* After CLOSE: everything is consumed, nothing reported. */
                FUZZ_CHECK(ev.type == WS_EV_NONE && used == clen - coff);
                break;
            }
            check_event(c, &m, &ev, chunk, coff, coff + used, t);
            coff += used;
            if (ev.type == WS_EV_NONE) {
                FUZZ_CHECK(coff == clen);
                break;
            }
            /* Each event consumes bytes or is one of the few that may
             * follow another without input; no parser may spin. */
            FUZZ_CHECK(++events <= 2 * clen + 4);
        }
        free(chunk);
        off += clen;
    } while (off < n);

    /* Nothing is pending once all input was fed and NONE came back. */
    if (!m.failed && !m.closed) {
        struct ws_event ev;
        FUZZ_CHECK(ws_parser_feed(&p, NULL, 0, &ev) == 0 && ev.type == WS_EV_NONE);
    }
    fuzz_trace_end(t);
    if (failed)
        *failed = m.failed;
}

/* ws_mask_bytes against the obvious loop, at every key phase. */
static void check_mask(const uint8_t *src, size_t n, const uint8_t key[4], size_t pos)
{
    if (n > 200)
        n = 200;
    uint8_t *a = fuzz_malloc(n), *b = fuzz_malloc(n);
    memcpy(a, src, n);
    memcpy(b, src, n);
    size_t end = ws_mask_bytes(a, n, key, pos);
    for (size_t i = 0; i < n; i++)
        b[i] ^= key[(pos + i) & 3];
    FUZZ_CHECK(end == ((pos + n) & 3));
    FUZZ_CHECK(n == 0 || memcmp(a, b, n) == 0);
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    uint8_t b0 = fuzz_byte(&in), b1 = fuzz_byte(&in), b2 = fuzz_byte(&in);
    struct config c;

    c.role = (b0 & 1) ? WS_ROLE_CLIENT : WS_ROLE_SERVER;
    c.allow_rsv1 = (b0 >> 1) & 1;
    switch ((b0 >> 2) & 7) {
    case 0: c.max_message = 0; break;
    case 1: c.max_message = b1; break;                      /* 0 (none) .. 255 */
    case 2: c.max_message = (uint64_t)b1 * 64; break;
    case 3: c.max_message = 125 + (b1 & 7); break;
    case 4: c.max_message = (uint64_t)1 << (b1 % 64); break;
    case 5: c.max_message = UINT64_MAX - b1; break;
    case 6: c.max_message = 0xFFFF + (uint64_t)(int8_t)b1; break;
    default: c.max_message = 1; break;
    }

    struct fuzz_trace whole, bytes, seeded;
    struct reenc enc;
    int failed = 0;
    memset(&enc, 0, sizeof enc);
    enc.role = c.role;
    run(&c, in.p, in.n, SPLIT_WHOLE, 0, &whole, &enc, &failed);
    run(&c, in.p, in.n, SPLIT_BYTES, 0, &bytes, NULL, NULL);
    run(&c, in.p, in.n, SPLIT_SEEDED, b2, &seeded, NULL, NULL);
    fuzz_trace_same(&whole, &bytes);
    fuzz_trace_same(&whole, &seeded);

    /* What was parsed, encoded again (whole messages and control frames,
     * no partial message), parses to the same events. */
    if (!failed) {
        struct fuzz_trace again;
        if (enc.plen || enc.first) {
            /* the input ended inside a message: its data so far, as a
             * fragment that is not the last */
            reenc_fragment(&enc, 0);
        }
        run(&c, enc.out, enc.len, SPLIT_WHOLE, 0, &again, NULL, NULL);
        fuzz_trace_same(&whole, &again);
        fuzz_trace_free(&again);
    }
    reenc_free(&enc);
    fuzz_trace_free(&whole);
    fuzz_trace_free(&bytes);
    fuzz_trace_free(&seeded);

    uint8_t key[4] = { b0, b1, b2, (uint8_t)(b0 ^ b2) };
    check_mask(in.p, in.n, key, b2 & 3);
    return 0;
}
