#include "unit.h"

#include <stdint.h>
#include <string.h>

#include "core/ws_close.h"
#include "core/ws_frame.h"

/* Check's ck_assert_* records a mark point per call; in loops that run
 * millions of times this plain check keeps the suite fast. */
#define REQUIRE(cond)                                                     \
    do {                                                                  \
        if (!(cond))                                                      \
            ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #cond);         \
    } while (0)

static const uint8_t KEY[4] = { 0x37, 0xFA, 0x21, 0x3D };

/* ---- growable byte strings ---------------------------------------------- */

struct bytes {
    uint8_t *p;
    size_t len, cap;
};

static void put(struct bytes *b, const void *d, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        ck_assert_ptr_nonnull(b->p);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void bytes_free(struct bytes *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- frame builder ------------------------------------------------------
 * Written independently of ws_frame_header() so that an encoder bug cannot
 * hide a matching parser bug.  form forces the length encoding (7, 16, 64;
 * 0 = minimal); declared may differ from plen to build truncated frames. */

static void frame_x(struct bytes *b, uint8_t b0, int form, uint64_t declared,
                    const uint8_t *key, const void *payload, size_t plen)
{
    uint8_t h[14];
    size_t k = 0;
    uint8_t m = key ? 0x80 : 0;

    if (form == 0)
        form = declared < 126 ? 7 : declared < 65536 ? 16 : 64;
    h[k++] = b0;
    if (form == 7) {
        h[k++] = (uint8_t)(m | declared);
    } else if (form == 16) {
        h[k++] = m | 126;
        h[k++] = (uint8_t)(declared >> 8);
        h[k++] = (uint8_t)declared;
    } else {
        h[k++] = m | 127;
        for (int i = 7; i >= 0; i--)
            h[k++] = (uint8_t)(declared >> (8 * i));
    }
    if (key) {
        memcpy(h + k, key, 4);
        k += 4;
    }
    put(b, h, k);
    size_t at = b->len;
    put(b, payload, plen);
    if (key)
        for (size_t i = 0; i < plen; i++)
            b->p[at + i] ^= key[i % 4];
}

/* A masked (client-to-server) frame with minimal length encoding. */
static void frame(struct bytes *b, int fin, int opcode, const void *payload, size_t len)
{
    frame_x(b, (uint8_t)((fin ? 0x80 : 0) | opcode), 0, len, KEY, payload, len);
}

static void frame_str(struct bytes *b, int fin, int opcode, const char *s)
{
    frame(b, fin, opcode, s, strlen(s));
}

/* ---- event traces ------------------------------------------------------
 * Events as the parser reports them, with consecutive DATA merged: how a
 * payload is chunked depends on how the input was split, nothing else may. */

struct rec {
    enum ws_event_type type;
    int opcode, compressed;
    unsigned code;
    size_t off, len;    /* payload bytes in trace.data */
};

struct trace {
    struct rec ev[64];
    size_t n;
    struct bytes data;
};

static void trace_reset(struct trace *t)
{
    t->n = 0;
    t->data.len = 0;
}

static void trace_add(struct trace *t, const struct ws_event *ev)
{
    if (ev->type == WS_EV_DATA && t->n && t->ev[t->n - 1].type == WS_EV_DATA) {
        t->ev[t->n - 1].len += ev->len;
        put(&t->data, ev->data, ev->len);
        return;
    }
    REQUIRE(t->n < 64);
    struct rec *r = &t->ev[t->n++];
    memset(r, 0, sizeof *r);
    r->type = ev->type;
    r->off = t->data.len;
    switch (ev->type) {
    case WS_EV_MESSAGE_START:
        r->opcode = ev->opcode;
        r->compressed = ev->compressed;
        break;
    case WS_EV_CLOSE:
    case WS_EV_ERROR:
        r->code = ev->code;
        break;
    default:
        break;
    }
    if (ev->type == WS_EV_DATA || ev->type == WS_EV_PING ||
        ev->type == WS_EV_PONG || ev->type == WS_EV_CLOSE) {
        r->len = ev->len;
        put(&t->data, ev->data, ev->len);
    }
}

/* ignore_data: skip DATA records, for streams failing on invalid UTF-8
 * where what was delivered before the error depends on the split. */
static int trace_eq(const struct trace *a, const struct trace *b, int ignore_data)
{
    size_t i = 0, j = 0;
    for (;;) {
        if (ignore_data) {
            while (i < a->n && a->ev[i].type == WS_EV_DATA)
                i++;
            while (j < b->n && b->ev[j].type == WS_EV_DATA)
                j++;
        }
        if (i == a->n || j == b->n)
            return i == a->n && j == b->n;
        const struct rec *x = &a->ev[i++], *y = &b->ev[j++];
        if (x->type != y->type || x->opcode != y->opcode ||
            x->compressed != y->compressed || x->code != y->code ||
            x->len != y->len ||
            (x->len && memcmp(a->data.p + x->off, b->data.p + y->off, x->len)))
            return 0;
    }
}

static void ex(struct trace *t, enum ws_event_type type, int opcode, unsigned code,
               const void *d, size_t n)
{
    struct ws_event ev = { .type = type, .opcode = opcode, .code = code,
                           .data = (uint8_t *)d, .len = n };
    trace_add(t, &ev);
}

static void ex_start(struct trace *t, int opcode) { ex(t, WS_EV_MESSAGE_START, opcode, 0, NULL, 0); }
static void ex_data(struct trace *t, const void *d, size_t n) { ex(t, WS_EV_DATA, 0, 0, d, n); }
static void ex_str(struct trace *t, const char *s) { ex_data(t, s, strlen(s)); }
static void ex_end(struct trace *t) { ex(t, WS_EV_MESSAGE_END, 0, 0, NULL, 0); }
static void ex_error(struct trace *t, unsigned code) { ex(t, WS_EV_ERROR, 0, code, NULL, 0); }

/* ---- driving the parser ------------------------------------------------ */

struct cfg {
    enum ws_role role;
    uint64_t max;
    int rsv1;
};

static const struct cfg SERVER = { WS_ROLE_SERVER, 0, 0 };
static const struct cfg CLIENT = { WS_ROLE_CLIENT, 0, 0 };

/* Feed one piece of input the way the header says a caller must, checking
 * the contract on every call.  Returns 0 once the parser has failed. */
static int feed_piece(struct ws_parser *p, const uint8_t *src, size_t len,
                      struct trace *t)
{
    /* An exact-size heap copy: ASan catches any read past the piece, and
     * in-place unmasking cannot touch the caller's stream. */
    uint8_t *buf = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(buf);
    if (len)
        memcpy(buf, src, len);
    size_t off = 0;
    for (int calls = 0;; calls++) {
        REQUIRE(calls < 1000);
        struct ws_event ev;
        size_t used = ws_parser_feed(p, buf + off, len - off, &ev);
        REQUIRE(used <= len - off);
        if (ev.type == WS_EV_DATA) {
            /* Never empty, and always inside what this call consumed. */
            REQUIRE(ev.len > 0);
            REQUIRE(ev.data >= buf + off && ev.data + ev.len <= buf + off + used);
        }
        off += used;
        if (ev.type == WS_EV_NONE) {
            REQUIRE(off == len);
            break;
        }
        trace_add(t, &ev);
        if (ev.type == WS_EV_ERROR) {
            /* Failed for good: same error, nothing consumed. */
            struct ws_event again;
            uint8_t more[4] = { 0x81, 0x80, 0, 0 };
            REQUIRE(ws_parser_feed(p, more, sizeof more, &again) == 0);
            REQUIRE(again.type == WS_EV_ERROR && again.code == ev.code);
            REQUIRE(again.error != NULL);
            free(buf);
            return 0;
        }
    }
    free(buf);
    return 1;
}

/* Feed the stream cut at the given ascending offsets. */
static void run_cuts(const struct cfg *c, const uint8_t *s, size_t n,
                     const size_t *cuts, size_t ncuts, struct trace *t)
{
    struct ws_parser p;
    ws_parser_init(&p, c->role, c->max);
    p.allow_rsv1 = c->rsv1;
    trace_reset(t);
    size_t start = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        if (!feed_piece(&p, s + start, end - start, t))
            return;
        start = end;
    }
}

static void run_whole(const struct cfg *c, const struct bytes *s, struct trace *t)
{
    run_cuts(c, s->p, s->len, NULL, 0, t);
}

/* The stream gives the expected trace fed whole, cut in two at every
 * offset, cut in three at every pair of offsets (short streams only), and
 * one byte at a time. */
static void check_stream(const struct cfg *c, const struct bytes *s,
                         const struct trace *want, int ignore_data)
{
    struct trace got = { .n = 0 };

    run_whole(c, s, &got);
    ck_assert_msg(trace_eq(&got, want, ignore_data), "whole stream: unexpected events");

    /* Every offset; under valgrind (UNIT_SAMPLE_SPLITS=1, set by .ci/run)
     * long streams are cut at every offset near their ends and every 61st
     * in between, or the 64 KiB frames would take many minutes. */
    const char *sample = getenv("UNIT_SAMPLE_SPLITS");
    int sparse = sample && sample[0] == '1' && s->len > 4096;
    for (size_t k = 0; k <= s->len; k++) {
        if (sparse && k > 64 && k + 64 < s->len && k % 61)
            continue;
        run_cuts(c, s->p, s->len, &k, 1, &got);
        if (!trace_eq(&got, want, ignore_data))
            ck_abort_msg("split at %zu of %zu: unexpected events", k, s->len);
    }
    if (s->len <= 160) {
        for (size_t i = 0; i <= s->len; i++)
            for (size_t j = i; j <= s->len; j++) {
                size_t cuts[2] = { i, j };
                run_cuts(c, s->p, s->len, cuts, 2, &got);
                if (!trace_eq(&got, want, ignore_data))
                    ck_abort_msg("split at %zu,%zu: unexpected events", i, j);
            }
    }
    size_t *cuts = malloc((s->len + 1) * sizeof *cuts);
    ck_assert_ptr_nonnull(cuts);
    for (size_t i = 0; i + 1 < s->len; i++)
        cuts[i] = i + 1;
    run_cuts(c, s->p, s->len, cuts, s->len ? s->len - 1 : 0, &got);
    ck_assert_msg(trace_eq(&got, want, ignore_data), "byte by byte: unexpected events");
    free(cuts);
    bytes_free(&got.data);
}

/* The stream fails with this code, at every split, and the events before
 * the error match want (which ends with the error). */
static void check_error(const struct cfg *c, const struct bytes *s,
                        const struct trace *want, int ignore_data)
{
    ck_assert_uint_gt(want->n, 0);
    ck_assert_int_eq(want->ev[want->n - 1].type, WS_EV_ERROR);
    check_stream(c, s, want, ignore_data);
}

/* Shorthand for the many streams that fail before any event. */
static void check_fails(const struct cfg *c, const struct bytes *s, unsigned code)
{
    struct trace want = { .n = 0 };
    ex_error(&want, code);
    check_error(c, s, &want, 0);
    bytes_free(&want.data);
}

static void fill_pattern(uint8_t *d, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        d[i] = (uint8_t)(i * 7 + seed + (i >> 8));
}

/* ---- valid frames --------------------------------------------------------- */

START_TEST(text_single_frame)
{
    struct bytes s = { 0 };
    struct trace want = { .n = 0 };
    frame_str(&s, 1, WS_OP_TEXT, "Hello");
    ck_assert_uint_eq(s.len, 2 + 4 + 5);
    ex_start(&want, WS_OP_TEXT);
    ex_str(&want, "Hello");
    ex_end(&want);
    check_stream(&SERVER, &s, &want, 0);
    bytes_free(&s);
    bytes_free(&want.data);
}
END_TEST

START_TEST(binary_all_byte_values)
{
    uint8_t d[256];
    for (int i = 0; i < 256; i++)
        d[i] = (uint8_t)i;
    struct bytes s = { 0 };
    struct trace want = { .n = 0 };
    frame(&s, 1, WS_OP_BINARY, d, sizeof d);
    ex_start(&want, WS_OP_BINARY);
    ex_data(&want, d, sizeof d);
    ex_end(&want);
    check_stream(&SERVER, &s, &want, 0);
    bytes_free(&s);
    bytes_free(&want.data);
}
END_TEST

START_TEST(empty_messages)
{
    struct bytes s = { 0 };
    struct trace want = { .n = 0 };
    frame(&s, 1, WS_OP_TEXT, "", 0);
    frame(&s, 1, WS_OP_BINARY, "", 0);
    /* Empty fragments: no DATA, ever. */
    frame(&s, 0, WS_OP_TEXT, "", 0);
    frame(&s, 0, WS_OP_CONT, "", 0);
    frame(&s, 1, WS_OP_CONT, "", 0);
    for (int i = 0; i < 3; i++) {
        ex_start(&want, i == 1 ? WS_OP_BINARY : WS_OP_TEXT);
        ex_end(&want);
    }
    check_stream(&SERVER, &s, &want, 0);
    bytes_free(&s);
    bytes_free(&want.data);
}
END_TEST

/* Payload lengths at each length encoding's edges: 7-bit max, 16-bit min
 * and max, 64-bit min. */
START_TEST(length_boundaries)
{
    static const size_t lens[] = { 125, 126, 65535, 65536 };
    static const size_t hdr[] = { 6, 8, 8, 14 };
    size_t n = lens[_i];
    uint8_t *d = malloc(n);
    ck_assert_ptr_nonnull(d);
    fill_pattern(d, n, (unsigned)_i);
    struct bytes s = { 0 };
    struct trace want = { .n = 0 };
    frame(&s, 1, WS_OP_BINARY, d, n);
    ck_assert_uint_eq(s.len, hdr[_i] + n);
    ex_start(&want, WS_OP_BINARY);
    ex_data(&want, d, n);
    ex_end(&want);
    check_stream(&SERVER, &s, &want, 0);
    bytes_free(&s);
    bytes_free(&want.data);
    free(d);
}
END_TEST

START_TEST(text_126_multibyte)
{
    /* 42 three-byte characters: validated across every split. */
    char d[126];
    for (int i = 0; i < 42; i++)
        memcpy(d + 3 * i, "\xE2\x82\xAC", 3);
    struct bytes s = { 0 };
    struct trace want = { .n = 0 };
    frame(&s, 1, WS_OP_TEXT, d, sizeof d);
    ex_start(&want, WS_OP_TEXT);
    ex_data(&want, d, sizeof d);
    ex_end(&want);
    check_stream(&SERVER, &s, &want, 0);
    bytes_free(&s);
    bytes_free(&want.data);
}
END_TEST

START_TEST(fragmented_text_with_control_frames_between)
{
    /* Characters split across fragments, an empty fragment, and a ping
     * and a pong between fragments. */
    struct bytes s = { 0 };
    struct trace want = { .n = 0 };
    frame_str(&s, 0, WS_OP_TEXT, "H\xC3");
    frame_str(&s, 1, WS_OP_PING, "p1");
    frame_str(&s, 0, WS_OP_CONT, "\xA9l\xF0\x9F");
    frame_str(&s, 0, WS_OP_CONT, "");
    frame_str(&s, 1, WS_OP_PONG, "");
    frame_str(&s, 1, WS_OP_CONT, "\x98\x80!");
    ex_start(&want, WS_OP_TEXT);
    ex_str(&want, "H\xC3");
    ex(&want, WS_EV_PING, 0, 0, "p1", 2);
    ex_str(&want, "\xA9l\xF0\x9F");
    ex(&want, WS_EV_PONG, 0, 0, NULL, 0);
    ex_str(&want, "\x98\x80!");
    ex_end(&want);
    check_stream(&SERVER, &s, &want, 0);
    bytes_free(&s);
    bytes_free(&want.data);
}
END_TEST

START_TEST(ping_pong)
{
    struct bytes s = { 0 };
    struct trace want = { .n = 0 };
    uint8_t big[125];
    fill_pattern(big, sizeof big, 9);
    frame_str(&s, 1, WS_OP_PING, "hello?");
    frame_str(&s, 1, WS_OP_PONG, "x");
    frame_str(&s, 1, WS_OP_PING, "");
    frame(&s, 1, WS_OP_PING, big, sizeof big);
    ex(&want, WS_EV_PING, 0, 0, "hello?", 6);
    ex(&want, WS_EV_PONG, 0, 0, "x", 1);
    ex(&want, WS_EV_PING, 0, 0, NULL, 0);
    ex(&want, WS_EV_PING, 0, 0, big, sizeof big);
    check_stream(&SERVER, &s, &want, 0);
    bytes_free(&s);
    bytes_free(&want.data);
}
END_TEST

START_TEST(close_with_code_and_reason)
{
    struct bytes s = { 0 };
    struct trace want = { .n = 0 };
    frame_str(&s, 1, WS_OP_CLOSE, "\x03\xE8" "bye \xC3\xBC");
    ex(&want, WS_EV_CLOSE, 0, 1000, "bye \xC3\xBC", 6);
    check_stream(&SERVER, &s, &want, 0);
    bytes_free(&s);
    bytes_free(&want.data);
}
END_TEST

START_TEST(close_empty_is_1005)
{
    struct bytes s = { 0 };
    struct trace want = { .n = 0 };
    frame_str(&s, 1, WS_OP_CLOSE, "");
    ex(&want, WS_EV_CLOSE, 0, WS_CLOSE_NO_STATUS, NULL, 0);
    check_stream(&SERVER, &s, &want, 0);
    bytes_free(&s);
    bytes_free(&want.data);
}
END_TEST

START_TEST(close_codes_application_range)
{
    static const unsigned codes[] = { 1000, 1003, 1007, 1014, 3000, 4999 };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        struct bytes s = { 0 };
        struct trace want = { .n = 0 };
        uint8_t p[2] = { (uint8_t)(codes[i] >> 8), (uint8_t)codes[i] };
        frame(&s, 1, WS_OP_CLOSE, p, 2);
        ex(&want, WS_EV_CLOSE, 0, codes[i], NULL, 0);
        check_stream(&SERVER, &s, &want, 0);
        bytes_free(&s);
        bytes_free(&want.data);
    }
}
END_TEST

START_TEST(mixed_stream_and_input_after_close_ignored)
{
    struct bytes s = { 0 };
    struct trace want = { .n = 0 };
    uint8_t bin[200];
    fill_pattern(bin, sizeof bin, 3);
    frame_str(&s, 1, WS_OP_TEXT, "a");
    frame_str(&s, 0, WS_OP_BINARY, "");
    frame_str(&s, 1, WS_OP_PING, "?");
    frame(&s, 1, WS_OP_CONT, bin, sizeof bin);
    frame_str(&s, 1, WS_OP_TEXT, "\xF4\x8F\xBF\xBF");
    frame_str(&s, 1, WS_OP_CLOSE, "\x0B\xB8" "done");
    /* Garbage after the close: would be a protocol error if parsed. */
    put(&s, "\xFF\xFF\xFF\x00\x81", 5);
    frame_str(&s, 1, WS_OP_TEXT, "never");
    ex_start(&want, WS_OP_TEXT);
    ex_str(&want, "a");
    ex_end(&want);
    ex_start(&want, WS_OP_BINARY);
    ex(&want, WS_EV_PING, 0, 0, "?", 1);
    ex_data(&want, bin, sizeof bin);
    ex_end(&want);
    ex_start(&want, WS_OP_TEXT);
    ex_str(&want, "\xF4\x8F\xBF\xBF");
    ex_end(&want);
    ex(&want, WS_EV_CLOSE, 0, 3000, "done", 4);
    check_stream(&SERVER, &s, &want, 0);
    bytes_free(&s);
    bytes_free(&want.data);
}
END_TEST

START_TEST(after_close_everything_is_consumed)
{
    struct bytes s = { 0 };
    frame_str(&s, 1, WS_OP_CLOSE, "\x03\xE9" "x");
    struct ws_parser p;
    ws_parser_init(&p, WS_ROLE_SERVER, 0);
    struct ws_event ev;
    ck_assert_uint_eq(ws_parser_feed(&p, s.p, s.len, &ev), s.len);
    ck_assert_int_eq(ev.type, WS_EV_CLOSE);
    ck_assert_uint_eq(ev.code, 1001);
    ck_assert_uint_eq(ev.len, 1);
    ck_assert_int_eq(ev.data[0], 'x');
    uint8_t junk[] = { 0x8F, 0x00, 0x01 };
    ck_assert_uint_eq(ws_parser_feed(&p, junk, sizeof junk, &ev), sizeof junk);
    ck_assert_int_eq(ev.type, WS_EV_NONE);
    ck_assert_uint_eq(ws_parser_feed(&p, junk, 0, &ev), 0);
    ck_assert_int_eq(ev.type, WS_EV_NONE);
    bytes_free(&s);
}
END_TEST

START_TEST(compressed_message_not_validated)
{
    /* With permessage-deflate the payload is deflate data, not UTF-8:
     * RSV1 marks the first frame only, and no 1007 is raised. */
    struct cfg c = { WS_ROLE_SERVER, 0, 1 };
    struct bytes s = { 0 };
    struct trace want = { .n = 0 };
    frame_x(&s, 0x40 | WS_OP_TEXT, 0, 3, KEY, "\xFF\xC0\x00", 3);
    frame_str(&s, 1, WS_OP_PING, "");
    frame_x(&s, 0x80 | WS_OP_CONT, 0, 2, KEY, "\xED\xA0", 2);
    frame_x(&s, 0xC0 | WS_OP_BINARY, 0, 1, KEY, "\x01", 1);
    frame_str(&s, 1, WS_OP_TEXT, "plain");
    struct ws_event st = { .type = WS_EV_MESSAGE_START, .opcode = WS_OP_TEXT,
                           .compressed = 1 };
    trace_add(&want, &st);
    ex_data(&want, "\xFF\xC0\x00", 3);
    ex(&want, WS_EV_PING, 0, 0, NULL, 0);
    ex_str(&want, "\xED\xA0");
    ex_end(&want);
    st.opcode = WS_OP_BINARY;
    trace_add(&want, &st);
    ex_str(&want, "\x01");
    ex_end(&want);
    ex_start(&want, WS_OP_TEXT);
    ex_str(&want, "plain");
    ex_end(&want);
    check_stream(&c, &s, &want, 0);
    bytes_free(&s);
    bytes_free(&want.data);
}
END_TEST

START_TEST(client_role_unmasked_frames)
{
    struct bytes s = { 0 };
    struct trace want = { .n = 0 };
    uint8_t big[300];
    fill_pattern(big, sizeof big, 5);
    frame_x(&s, 0x80 | WS_OP_TEXT, 0, 2, NULL, "hi", 2);
    frame_x(&s, 0x00 | WS_OP_BINARY, 0, 150, NULL, big, 150);
    frame_x(&s, 0x80 | WS_OP_PING, 0, 1, NULL, "!", 1);
    frame_x(&s, 0x80 | WS_OP_CONT, 0, 150, NULL, big + 150, 150);
    frame_x(&s, 0x80 | WS_OP_CLOSE, 0, 2, NULL, "\x03\xE8", 2);
    ex_start(&want, WS_OP_TEXT);
    ex_str(&want, "hi");
    ex_end(&want);
    ex_start(&want, WS_OP_BINARY);
    ex_data(&want, big, 150);
    ex(&want, WS_EV_PING, 0, 0, "!", 1);
    ex_data(&want, big + 150, 150);
    ex_end(&want);
    ex(&want, WS_EV_CLOSE, 0, 1000, NULL, 0);
    check_stream(&CLIENT, &s, &want, 0);
    bytes_free(&s);
    bytes_free(&want.data);
}
END_TEST

START_TEST(message_end_needs_a_call_with_no_input)
{
    /* The documented loop keeps calling after the input is used up. */
    struct bytes s = { 0 };
    frame_str(&s, 1, WS_OP_TEXT, "ok");
    struct ws_parser p;
    ws_parser_init(&p, WS_ROLE_SERVER, 0);
    struct ws_event ev;
    size_t off = ws_parser_feed(&p, s.p, s.len, &ev);
    ck_assert_int_eq(ev.type, WS_EV_MESSAGE_START);
    off += ws_parser_feed(&p, s.p + off, s.len - off, &ev);
    ck_assert_int_eq(ev.type, WS_EV_DATA);
    ck_assert_uint_eq(off, s.len);
    ck_assert_uint_eq(ws_parser_feed(&p, s.p + off, 0, &ev), 0);
    ck_assert_int_eq(ev.type, WS_EV_MESSAGE_END);
    ck_assert_uint_eq(ws_parser_feed(&p, s.p + off, 0, &ev), 0);
    ck_assert_int_eq(ev.type, WS_EV_NONE);
    bytes_free(&s);
}
END_TEST

START_TEST(data_is_unmasked_in_place)
{
    struct bytes s = { 0 };
    frame_str(&s, 1, WS_OP_BINARY, "in place");
    struct ws_parser p;
    ws_parser_init(&p, WS_ROLE_SERVER, 0);
    struct ws_event ev;
    size_t off = ws_parser_feed(&p, s.p, s.len, &ev);
    off += ws_parser_feed(&p, s.p + off, s.len - off, &ev);
    ck_assert_int_eq(ev.type, WS_EV_DATA);
    ck_assert_ptr_eq(ev.data, s.p + 6);
    ck_assert_int_eq(memcmp(s.p + 6, "in place", 8), 0);
    bytes_free(&s);
}
END_TEST

/* ---- protocol errors (1002) ----------------------------------------------- */

START_TEST(rsv2_rsv3_rejected)
{
    static const uint8_t bits[] = { 0x20, 0x10, 0x30, 0x70 };
    struct cfg c = { WS_ROLE_SERVER, 0, 1 };
    for (size_t i = 0; i < sizeof bits; i++) {
        struct bytes s = { 0 };
        frame_x(&s, (uint8_t)(0x80 | bits[i] | WS_OP_TEXT), 0, 2, KEY, "hi", 2);
        check_fails(&c, &s, WS_CLOSE_PROTOCOL);
        check_fails(&SERVER, &s, WS_CLOSE_PROTOCOL);
        bytes_free(&s);
    }
}
END_TEST

START_TEST(rsv1_rules)
{
    struct cfg deflate = { WS_ROLE_SERVER, 0, 1 };
    struct bytes s = { 0 };

    /* Not negotiated. */
    frame_x(&s, 0xC0 | WS_OP_TEXT, 0, 2, KEY, "hi", 2);
    check_fails(&SERVER, &s, WS_CLOSE_PROTOCOL);
    s.len = 0;
    /* On control frames, even when negotiated. */
    frame_x(&s, 0xC0 | WS_OP_PING, 0, 0, KEY, "", 0);
    check_fails(&deflate, &s, WS_CLOSE_PROTOCOL);
    s.len = 0;
    frame_x(&s, 0xC0 | WS_OP_CLOSE, 0, 2, KEY, "\x03\xE8", 2);
    check_fails(&deflate, &s, WS_CLOSE_PROTOCOL);
    s.len = 0;
    /* On a continuation frame. */
    struct trace want = { .n = 0 };
    frame_x(&s, 0x40 | WS_OP_BINARY, 0, 1, KEY, "a", 1);
    frame_x(&s, 0xC0 | WS_OP_CONT, 0, 1, KEY, "b", 1);
    struct ws_event st = { .type = WS_EV_MESSAGE_START, .opcode = WS_OP_BINARY,
                           .compressed = 1 };
    trace_add(&want, &st);
    ex_str(&want, "a");
    ex_error(&want, WS_CLOSE_PROTOCOL);
    check_error(&deflate, &s, &want, 0);
    bytes_free(&want.data);
    bytes_free(&s);
}
END_TEST

START_TEST(reserved_opcodes_rejected)
{
    static const int ops[] = { 3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        struct bytes s = { 0 };
        frame_x(&s, (uint8_t)(0x80 | ops[i]), 0, 1, KEY, "x", 1);
        check_fails(&SERVER, &s, WS_CLOSE_PROTOCOL);
        bytes_free(&s);
    }
}
END_TEST

START_TEST(control_frame_rules)
{
    static const int ops[] = { WS_OP_PING, WS_OP_PONG, WS_OP_CLOSE };
    uint8_t d[126];
    memset(d, 'c', sizeof d);
    d[0] = 0x03;
    d[1] = 0xE8;
    for (size_t i = 0; i < 3; i++) {
        struct bytes s = { 0 };
        /* Over 125 bytes: with the 16-bit form (the only legal way to
         * write 126) and with 127 in the 7-bit field. */
        frame_x(&s, (uint8_t)(0x80 | ops[i]), 0, 126, KEY, d, 126);
        check_fails(&SERVER, &s, WS_CLOSE_PROTOCOL);
        s.len = 0;
        frame_x(&s, (uint8_t)(0x80 | ops[i]), 64, 126, KEY, d, 126);
        check_fails(&SERVER, &s, WS_CLOSE_PROTOCOL);
        s.len = 0;
        /* Fragmented. */
        frame_x(&s, (uint8_t)ops[i], 0, 2, KEY, d, 2);
        check_fails(&SERVER, &s, WS_CLOSE_PROTOCOL);
        bytes_free(&s);
    }
}
END_TEST

START_TEST(continuation_without_message)
{
    struct bytes s = { 0 };
    frame_str(&s, 1, WS_OP_CONT, "x");
    check_fails(&SERVER, &s, WS_CLOSE_PROTOCOL);
    s.len = 0;
    frame_str(&s, 0, WS_OP_CONT, "");
    check_fails(&SERVER, &s, WS_CLOSE_PROTOCOL);
    s.len = 0;
    /* After a complete message. */
    struct trace want = { .n = 0 };
    frame_str(&s, 1, WS_OP_TEXT, "a");
    frame_str(&s, 1, WS_OP_CONT, "b");
    ex_start(&want, WS_OP_TEXT);
    ex_str(&want, "a");
    ex_end(&want);
    ex_error(&want, WS_CLOSE_PROTOCOL);
    check_error(&SERVER, &s, &want, 0);
    bytes_free(&want.data);
    bytes_free(&s);
}
END_TEST

START_TEST(new_message_inside_fragmented_message)
{
    static const int ops[] = { WS_OP_TEXT, WS_OP_BINARY };
    for (size_t i = 0; i < 2; i++) {
        struct bytes s = { 0 };
        struct trace want = { .n = 0 };
        frame_str(&s, 0, WS_OP_BINARY, "ab");
        frame_str(&s, 1, WS_OP_PING, "");
        frame_str(&s, 1, ops[i], "c");
        ex_start(&want, WS_OP_BINARY);
        ex_str(&want, "ab");
        ex(&want, WS_EV_PING, 0, 0, NULL, 0);
        ex_error(&want, WS_CLOSE_PROTOCOL);
        check_error(&SERVER, &s, &want, 0);
        bytes_free(&want.data);
        bytes_free(&s);
    }
}
END_TEST

START_TEST(masking_must_match_role)
{
    struct bytes s = { 0 };
    frame_x(&s, 0x80 | WS_OP_TEXT, 0, 2, NULL, "hi", 2);
    check_fails(&SERVER, &s, WS_CLOSE_PROTOCOL);
    s.len = 0;
    frame_x(&s, 0x80 | WS_OP_PING, 0, 0, NULL, "", 0);
    check_fails(&SERVER, &s, WS_CLOSE_PROTOCOL);
    s.len = 0;
    frame_x(&s, 0x80 | WS_OP_TEXT, 0, 2, KEY, "hi", 2);
    check_fails(&CLIENT, &s, WS_CLOSE_PROTOCOL);
    s.len = 0;
    frame_x(&s, 0x80 | WS_OP_CLOSE, 0, 0, KEY, "", 0);
    check_fails(&CLIENT, &s, WS_CLOSE_PROTOCOL);
    bytes_free(&s);
}
END_TEST

START_TEST(non_minimal_lengths_rejected)
{
    static const struct { int form; uint64_t n; } cases[] = {
        { 16, 0 }, { 16, 5 }, { 16, 125 },
        { 64, 0 }, { 64, 125 }, { 64, 126 }, { 64, 65535 },
    };
    uint8_t d[65535];
    memset(d, 'z', sizeof d);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct bytes s = { 0 };
        frame_x(&s, 0x80 | WS_OP_BINARY, cases[i].form, cases[i].n, KEY, d,
                (size_t)cases[i].n);
        /* Only the header matters; the long ones would make every-split
         * runs slow for nothing. */
        if (s.len > 40)
            s.len = 40;
        check_fails(&SERVER, &s, WS_CLOSE_PROTOCOL);
        bytes_free(&s);
    }
}
END_TEST

START_TEST(length_top_bit_rejected)
{
    static const uint64_t lens[] = { UINT64_C(1) << 63, UINT64_MAX,
                                     (UINT64_C(1) << 63) + 65536 };
    for (size_t i = 0; i < 3; i++) {
        struct bytes s = { 0 };
        frame_x(&s, 0x80 | WS_OP_BINARY, 64, lens[i], KEY, "abc", 3);
        check_fails(&SERVER, &s, WS_CLOSE_PROTOCOL);
        check_fails(&CLIENT, &s, WS_CLOSE_PROTOCOL);
        s.len = 0;
        frame_x(&s, 0x80 | WS_OP_BINARY, 64, lens[i], NULL, "abc", 3);
        check_fails(&CLIENT, &s, WS_CLOSE_PROTOCOL);
        bytes_free(&s);
    }
    /* The largest legal length is accepted (only the header is sent). */
    struct bytes s = { 0 };
    struct trace want = { .n = 0 };
    frame_x(&s, 0x80 | WS_OP_BINARY, 64, INT64_MAX, KEY, "", 0);
    ex_start(&want, WS_OP_BINARY);
    check_stream(&SERVER, &s, &want, 0);
    bytes_free(&want.data);
    bytes_free(&s);
}
END_TEST

START_TEST(bad_close_payloads)
{
    static const unsigned bad_codes[] = { 0, 999, 1004, 1005, 1006, 1015, 1016,
                                          2999, 5000, 65535 };
    struct bytes s = { 0 };
    frame_str(&s, 1, WS_OP_CLOSE, "\x03");
    check_fails(&SERVER, &s, WS_CLOSE_PROTOCOL);
    for (size_t i = 0; i < sizeof bad_codes / sizeof bad_codes[0]; i++) {
        uint8_t p[2] = { (uint8_t)(bad_codes[i] >> 8), (uint8_t)bad_codes[i] };
        s.len = 0;
        frame(&s, 1, WS_OP_CLOSE, p, 2);
        check_fails(&SERVER, &s, WS_CLOSE_PROTOCOL);
    }
    s.len = 0;
    frame_str(&s, 1, WS_OP_CLOSE, "\x03\xE8" "ok\xED\xA0\x80");
    check_fails(&SERVER, &s, WS_CLOSE_INVALID_DATA);
    s.len = 0;
    frame_str(&s, 1, WS_OP_CLOSE, "\x03\xE8" "\xC3");
    check_fails(&SERVER, &s, WS_CLOSE_INVALID_DATA);
    bytes_free(&s);
}
END_TEST

/* ---- invalid UTF-8 (1007) ------------------------------------------------- */

START_TEST(invalid_utf8_single_frame)
{
    static const char *const bad[] = { "ab\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                                       "x\xFF", "\x80", "\xCE\xBA\xE1\xBD\xB9\xED\xA0\x80z" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct bytes s = { 0 };
        struct trace want = { .n = 0 };
        frame_str(&s, 1, WS_OP_TEXT, bad[i]);
        ex_start(&want, WS_OP_TEXT);
        ex_error(&want, WS_CLOSE_INVALID_DATA);
        check_error(&SERVER, &s, &want, 1);
        bytes_free(&want.data);
        bytes_free(&s);
    }
}
END_TEST

START_TEST(invalid_utf8_across_fragments)
{
    struct bytes s = { 0 };
    struct trace want = { .n = 0 };
    frame_str(&s, 0, WS_OP_TEXT, "a\xF4");
    frame_str(&s, 1, WS_OP_PING, "");
    frame_str(&s, 1, WS_OP_CONT, "\x90\x80\x80");
    ex_start(&want, WS_OP_TEXT);
    ex_str(&want, "a\xF4");
    ex(&want, WS_EV_PING, 0, 0, NULL, 0);
    ex_error(&want, WS_CLOSE_INVALID_DATA);
    check_error(&SERVER, &s, &want, 0);
    bytes_free(&want.data);
    bytes_free(&s);
}
END_TEST

START_TEST(text_ending_inside_a_character)
{
    struct bytes s = { 0 };
    struct trace want = { .n = 0 };
    frame_str(&s, 1, WS_OP_TEXT, "a\xE2\x82");
    ex_start(&want, WS_OP_TEXT);
    ex_error(&want, WS_CLOSE_INVALID_DATA);
    check_error(&SERVER, &s, &want, 1);
    bytes_free(&want.data);

    /* The open character is only noticed at the empty final fragment. */
    s.len = 0;
    trace_reset(&want);
    frame_str(&s, 0, WS_OP_TEXT, "\xE2\x82");
    frame_str(&s, 1, WS_OP_CONT, "");
    ex_start(&want, WS_OP_TEXT);
    ex_str(&want, "\xE2\x82");
    ex_error(&want, WS_CLOSE_INVALID_DATA);
    check_error(&SERVER, &s, &want, 0);
    bytes_free(&want.data);
    bytes_free(&s);
}
END_TEST

START_TEST(invalid_utf8_fails_before_rest_of_frame)
{
    /* The frame says 100000 bytes; only a few arrive, and the bad one is
     * enough to fail. */
    struct bytes s = { 0 };
    struct trace want = { .n = 0 };
    frame_x(&s, 0x80 | WS_OP_TEXT, 0, 100000, KEY, "ok \xF4\x90", 5);
    ex_start(&want, WS_OP_TEXT);
    ex_error(&want, WS_CLOSE_INVALID_DATA);
    check_error(&SERVER, &s, &want, 1);
    bytes_free(&want.data);
    bytes_free(&s);
}
END_TEST

/* ---- max_message (1009) --------------------------------------------------- */

START_TEST(max_message_exact_limit_ok)
{
    struct cfg c = { WS_ROLE_SERVER, 10, 0 };
    struct bytes s = { 0 };
    struct trace want = { .n = 0 };
    frame_str(&s, 1, WS_OP_TEXT, "0123456789");
    frame_str(&s, 0, WS_OP_BINARY, "012345");
    frame_str(&s, 1, WS_OP_PING, "control frames do not count");
    frame_str(&s, 1, WS_OP_CONT, "6789");
    ex_start(&want, WS_OP_TEXT);
    ex_str(&want, "0123456789");
    ex_end(&want);
    ex_start(&want, WS_OP_BINARY);
    ex_str(&want, "012345");
    ex(&want, WS_EV_PING, 0, 0, "control frames do not count", 27);
    ex_str(&want, "6789");
    ex_end(&want);
    check_stream(&c, &s, &want, 0);
    bytes_free(&want.data);
    bytes_free(&s);
}
END_TEST

START_TEST(max_message_exceeded_before_payload)
{
    struct cfg c = { WS_ROLE_SERVER, 10, 0 };
    struct bytes s = { 0 };
    /* Only the header: the error must not wait for payload. */
    frame_x(&s, 0x80 | WS_OP_TEXT, 0, 11, KEY, "", 0);
    check_fails(&c, &s, WS_CLOSE_TOO_BIG);
    s.len = 0;
    frame_x(&s, 0x80 | WS_OP_BINARY, 0, UINT64_C(1) << 40, KEY, "", 0);
    check_fails(&c, &s, WS_CLOSE_TOO_BIG);
    s.len = 0;
    frame_str(&s, 1, WS_OP_BINARY, "0123456789a");
    check_fails(&c, &s, WS_CLOSE_TOO_BIG);
    bytes_free(&s);
}
END_TEST

START_TEST(max_message_across_fragments)
{
    struct cfg c = { WS_ROLE_SERVER, 10, 0 };
    struct bytes s = { 0 };
    struct trace want = { .n = 0 };
    frame_str(&s, 0, WS_OP_TEXT, "0123456");
    frame_str(&s, 0, WS_OP_CONT, "78");
    frame_x(&s, 0x80 | WS_OP_CONT, 0, 2, KEY, "", 0);   /* header only */
    ex_start(&want, WS_OP_TEXT);
    ex_str(&want, "012345678");
    ex_error(&want, WS_CLOSE_TOO_BIG);
    check_error(&c, &s, &want, 0);
    bytes_free(&want.data);
    bytes_free(&s);
}
END_TEST

START_TEST(max_message_unlimited)
{
    struct bytes s = { 0 };
    struct trace want = { .n = 0 };
    frame_x(&s, 0x80 | WS_OP_BINARY, 0, UINT64_C(1) << 40, KEY, "abc", 3);
    ex_start(&want, WS_OP_BINARY);
    ex_str(&want, "abc");
    check_stream(&SERVER, &s, &want, 0);
    bytes_free(&want.data);
    bytes_free(&s);
}
END_TEST

START_TEST(error_is_sticky)
{
    struct bytes s = { 0 };
    frame_x(&s, 0x80 | WS_OP_TEXT, 0, 2, NULL, "hi", 2);
    struct ws_parser p;
    ws_parser_init(&p, WS_ROLE_SERVER, 0);
    struct ws_event ev;
    ws_parser_feed(&p, s.p, s.len, &ev);
    ck_assert_int_eq(ev.type, WS_EV_ERROR);
    ck_assert_uint_eq(ev.code, WS_CLOSE_PROTOCOL);
    ck_assert_ptr_nonnull(ev.error);
    s.len = 0;
    frame_str(&s, 1, WS_OP_TEXT, "valid");
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(ws_parser_feed(&p, s.p, s.len, &ev), 0);
        ck_assert_int_eq(ev.type, WS_EV_ERROR);
        ck_assert_uint_eq(ev.code, WS_CLOSE_PROTOCOL);
    }
    bytes_free(&s);
}
END_TEST

/* ---- encoder ---------------------------------------------------------------- */

START_TEST(header_encoding)
{
    static const uint8_t key[4] = { 1, 2, 3, 4 };
    static const struct {
        int fin, rsv1, op;
        uint64_t len;
        int masked;
        size_t n;
        uint8_t want[14];
    } cases[] = {
        { 1, 0, WS_OP_TEXT, 5, 0, 2, { 0x81, 0x05 } },
        { 0, 1, WS_OP_BINARY, 125, 0, 2, { 0x42, 0x7D } },
        { 1, 0, WS_OP_BINARY, 126, 0, 4, { 0x82, 0x7E, 0x00, 0x7E } },
        { 1, 0, WS_OP_BINARY, 65535, 0, 4, { 0x82, 0x7E, 0xFF, 0xFF } },
        { 1, 0, WS_OP_BINARY, 65536, 0, 10, { 0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0 } },
        { 1, 0, WS_OP_BINARY, UINT64_C(0x0102030405060708), 0, 10,
          { 0x82, 0x7F, 1, 2, 3, 4, 5, 6, 7, 8 } },
        { 0, 0, WS_OP_CONT, 0, 0, 2, { 0x00, 0x00 } },
        { 1, 0, WS_OP_CLOSE, 2, 1, 6, { 0x88, 0x82, 1, 2, 3, 4 } },
        { 1, 1, WS_OP_TEXT, 300, 1, 8, { 0xC1, 0xFE, 0x01, 0x2C, 1, 2, 3, 4 } },
        { 1, 0, WS_OP_PING, 65536, 1, 14,
          { 0x89, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4 } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t out[14];
        size_t n = ws_frame_header(out, cases[i].fin, cases[i].rsv1, cases[i].op,
                                   cases[i].len, cases[i].masked ? key : NULL);
        ck_assert_uint_eq(n, cases[i].n);
        ck_assert_int_eq(memcmp(out, cases[i].want, n), 0);
    }
}
END_TEST

START_TEST(encode_then_parse_round_trip)
{
    static const size_t lens[] = { 0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33,
                                   125, 126, 127, 1000, 65535, 65536, 70001 };
    static const uint8_t key[4] = { 0xA5, 0x00, 0x5A, 0xFF };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t n = lens[i];
        int op = i % 2 ? WS_OP_BINARY : WS_OP_TEXT;
        uint8_t *orig = malloc(n + 1), *buf = malloc(n + 14);
        ck_assert_ptr_nonnull(orig);
        ck_assert_ptr_nonnull(buf);
        for (size_t j = 0; j < n; j++)
            orig[j] = (uint8_t)('a' + j % 26);
        size_t h = ws_frame_header(buf, 1, 0, op, n, key);
        memcpy(buf + h, orig, n);
        /* Mask in two uneven pieces: the key position must carry over. */
        size_t first = n / 3;
        size_t pos = ws_mask_bytes(buf + h, first, key, 0);
        ck_assert_uint_eq(pos, first % 4);
        ck_assert_uint_eq(ws_mask_bytes(buf + h + first, n - first, key, pos), n % 4);

        struct bytes s = { buf, h + n, h + n };
        struct trace got = { .n = 0 }, want = { .n = 0 };
        ex_start(&want, op);
        if (n)
            ex_data(&want, orig, n);
        ex_end(&want);
        run_whole(&SERVER, &s, &got);
        ck_assert_msg(trace_eq(&got, &want, 0), "length %zu", n);

        /* Unmasked, for the client role. */
        h = ws_frame_header(buf, 1, 0, op, n, NULL);
        memcpy(buf + h, orig, n);
        s.len = h + n;
        run_whole(&CLIENT, &s, &got);
        ck_assert_msg(trace_eq(&got, &want, 0), "client, length %zu", n);

        bytes_free(&got.data);
        bytes_free(&want.data);
        free(buf);
        free(orig);
    }
}
END_TEST

START_TEST(mask_matches_bytewise_xor)
{
    static const uint8_t key[4] = { 0x01, 0x80, 0xFF, 0x3C };
    uint8_t raw[160], ref[160];
    for (size_t align = 0; align < 16; align++)
        for (size_t len = 0; len <= 130; len++)
            for (size_t pos = 0; pos < 4; pos++) {
                uint8_t *d = raw + align;
                for (size_t i = 0; i < len; i++)
                    d[i] = ref[i] = (uint8_t)(i * 31 + align);
                for (size_t i = 0; i < len; i++)
                    ref[i] ^= key[(pos + i) % 4];
                size_t after = ws_mask_bytes(d, len, key, pos);
                REQUIRE(after == (pos + len) % 4);
                REQUIRE(memcmp(d, ref, len) == 0);
                /* Masking is its own inverse. */
                ws_mask_bytes(d, len, key, pos);
                for (size_t i = 0; i < len; i++)
                    REQUIRE(d[i] == (uint8_t)(i * 31 + align));
            }
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("ws_frame");

    TCase *valid = tcase_create("valid");
    tcase_set_timeout(valid, 120);
    tcase_add_test(valid, text_single_frame);
    tcase_add_test(valid, binary_all_byte_values);
    tcase_add_test(valid, empty_messages);
    tcase_add_loop_test(valid, length_boundaries, 0, 4);
    tcase_add_test(valid, text_126_multibyte);
    tcase_add_test(valid, fragmented_text_with_control_frames_between);
    tcase_add_test(valid, ping_pong);
    tcase_add_test(valid, close_with_code_and_reason);
    tcase_add_test(valid, close_empty_is_1005);
    tcase_add_test(valid, close_codes_application_range);
    tcase_add_test(valid, mixed_stream_and_input_after_close_ignored);
    tcase_add_test(valid, after_close_everything_is_consumed);
    tcase_add_test(valid, compressed_message_not_validated);
    tcase_add_test(valid, client_role_unmasked_frames);
    tcase_add_test(valid, message_end_needs_a_call_with_no_input);
    tcase_add_test(valid, data_is_unmasked_in_place);
    suite_add_tcase(s, valid);

    TCase *proto = tcase_create("protocol_errors");
    tcase_set_timeout(proto, 60);
    tcase_add_test(proto, rsv2_rsv3_rejected);
    tcase_add_test(proto, rsv1_rules);
    tcase_add_test(proto, reserved_opcodes_rejected);
    tcase_add_test(proto, control_frame_rules);
    tcase_add_test(proto, continuation_without_message);
    tcase_add_test(proto, new_message_inside_fragmented_message);
    tcase_add_test(proto, masking_must_match_role);
    tcase_add_test(proto, non_minimal_lengths_rejected);
    tcase_add_test(proto, length_top_bit_rejected);
    tcase_add_test(proto, bad_close_payloads);
    tcase_add_test(proto, error_is_sticky);
    suite_add_tcase(s, proto);

    TCase *utf8 = tcase_create("utf8");
    tcase_set_timeout(utf8, 60);
    tcase_add_test(utf8, invalid_utf8_single_frame);
    tcase_add_test(utf8, invalid_utf8_across_fragments);
    tcase_add_test(utf8, text_ending_inside_a_character);
    tcase_add_test(utf8, invalid_utf8_fails_before_rest_of_frame);
    suite_add_tcase(s, utf8);

    TCase *limit = tcase_create("max_message");
    tcase_set_timeout(limit, 60);
    tcase_add_test(limit, max_message_exact_limit_ok);
    tcase_add_test(limit, max_message_exceeded_before_payload);
    tcase_add_test(limit, max_message_across_fragments);
    tcase_add_test(limit, max_message_unlimited);
    suite_add_tcase(s, limit);

    TCase *enc = tcase_create("encoder");
    tcase_set_timeout(enc, 60);
    tcase_add_test(enc, header_encoding);
    tcase_add_test(enc, encode_then_parse_round_trip);
    tcase_add_test(enc, mask_matches_bytewise_xor);
    suite_add_tcase(s, enc);

    return s;
}

UNIT_MAIN
