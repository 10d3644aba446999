/* fuzz_sse.c - the EventSource reader (sse.c) that turns handler output
 * into text/event-stream: the raw-mode checker and lines mode.
 *
 * Input: three configuration bytes, then handler output.
 *   byte 0  bit 0: raw mode (else lines); bits 1-3: how max_event comes
 *           from byte 1
 *   byte 1  max_event parameter
 *   byte 2  seed for the chunk sizes
 *
 * Fed whole, byte by byte and in seeded chunks (then finished), the events
 * and warnings must agree.  Whatever the handler wrote, every event is
 * well formed: only \n ends lines, only data/event/id/retry fields and
 * comments, a blank line at the end, no id with NUL, no retry that is not
 * digits.  Raw mode is idempotent: its output read again by a raw reader
 * gives the same events and no warning.  Lines mode keeps every byte that
 * is not a line break, in order.
 */
#include "fuzz_common.h"

#include "core/sse.h"

static int name_is(const uint8_t *p, size_t n, const char *name)
{
    return n == strlen(name) && memcmp(p, name, n) == 0;
}

/* One emitted event (or lone comment); appends the data values to *data. */
static void check_wire(int raw, const uint8_t *p, size_t n, size_t bound, uint8_t **data,
                       size_t *dlen, size_t *dcap)
{
    FUZZ_CHECK(n >= 2 && n <= bound);
    FUZZ_CHECK(p[n - 1] == '\n');
    FUZZ_CHECK(memchr(p, '\r', n) == NULL);
    if (raw && p[0] == ':' && memchr(p, '\n', n) == p + n - 1)
        return;     /* a comment between events, sent on its own */
    FUZZ_CHECK(p[n - 2] == '\n');
    size_t i = 0, fields = 0;
    while (i < n - 1) {
        const uint8_t *nl = memchr(p + i, '\n', n - i);
        size_t len = (size_t)(nl - (p + i));
        const uint8_t *line = p + i;
        FUZZ_CHECK(len > 0);    /* the only blank line is the last */
        i += len + 1;
        if (line[0] == ':') {
            FUZZ_CHECK(raw);
            continue;
        }
        const uint8_t *colon = memchr(line, ':', len);
        FUZZ_CHECK(colon != NULL);
        size_t nlen = (size_t)(colon - line);
        /* canonical "name: value": the space is always there */
        FUZZ_CHECK(nlen + 2 <= len && line[nlen + 1] == ' ');
        const uint8_t *v = line + nlen + 2;
        size_t vlen = len - nlen - 2;
        if (name_is(line, nlen, "data")) {
            fuzz_grow(data, dcap, *dlen + vlen);
            if (vlen)
                memcpy(*data + *dlen, v, vlen);
            *dlen += vlen;
        } else {
            FUZZ_CHECK(raw);
            if (name_is(line, nlen, "id")) {
                FUZZ_CHECK(vlen == 0 || memchr(v, '\0', vlen) == NULL);
            } else if (name_is(line, nlen, "retry")) {
                FUZZ_CHECK(vlen > 0);
                for (size_t k = 0; k < vlen; k++)
                    FUZZ_CHECK(v[k] >= '0' && v[k] <= '9');
            } else {
                FUZZ_CHECK(name_is(line, nlen, "event"));
            }
        }
        fields++;
    }
    FUZZ_CHECK(i == n - 1 && fields > 0);
}

struct outcome {
    struct fuzz_trace trace;
    uint8_t *wire;          /* all events, concatenated */
    size_t wire_len, wire_cap;
    uint8_t *data;          /* all data values, concatenated */
    size_t data_len, data_cap;
    size_t warnings;
};

static void on_event(int raw, size_t bound, const struct sse_event *ev, struct outcome *o)
{
    switch (ev->type) {
    case SSE_EV_NONE:
        break;
    case SSE_EV_EVENT:
        check_wire(raw, ev->data, ev->len, bound, &o->data, &o->data_len, &o->data_cap);
        fuzz_trace_event(&o->trace, 'V', 0, 0, ev->data, ev->len);
        fuzz_grow(&o->wire, &o->wire_cap, o->wire_len + ev->len);
        memcpy(o->wire + o->wire_len, ev->data, ev->len);
        o->wire_len += ev->len;
        break;
    case SSE_EV_WARNING:
        FUZZ_CHECK(ev->error != NULL && ev->len == 0);
        fuzz_trace_event(&o->trace, 'W', 0, 0, ev->error, strlen(ev->error));
        o->warnings++;
        break;
    default:
        FUZZ_CHECK(!"unknown event");
    }
}

static void run(enum sse_input mode, size_t max_event, const uint8_t *src, size_t n,
                enum fuzz_split split, uint64_t seed, struct outcome *o)
{
    struct sse_reader r;
    struct fuzz_splitter s;
    size_t off = 0;
    int raw = mode == SSE_INPUT_RAW;
    size_t me = max_event ? max_event : 1;
    /* sse_reader_init's bound on one event */
    size_t bound = raw ? me * 2 + 64 : me * 8 + 64;

    memset(o, 0, sizeof *o);
    fuzz_trace_init(&o->trace);
    sse_reader_init(&r, mode, max_event);
    fuzz_splitter_init(&s, split, seed);
    do {
        size_t clen = fuzz_next_chunk(&s, n - off);
        uint8_t *chunk = fuzz_malloc(clen);
        if (clen)
            memcpy(chunk, src + off, clen);
        size_t coff = 0, events = 0;
        for (;;) {
            struct sse_event ev;
            size_t used = sse_reader_feed(&r, chunk + coff, clen - coff, &ev);
            FUZZ_CHECK(used <= clen - coff);
            coff += used;
            on_event(raw, bound, &ev, o);
            if (ev.type == SSE_EV_NONE) {
                FUZZ_CHECK(coff == clen);
                break;
            }
            FUZZ_CHECK(++events <= 2 * clen + 4);
        }
        free(chunk);
        off += clen;
    } while (off < n);
    struct sse_event ev;
    sse_reader_finish(&r, &ev);
    on_event(raw, bound, &ev, o);
    /* finished means empty: finishing again reports nothing */
    sse_reader_finish(&r, &ev);
    FUZZ_CHECK(ev.type == SSE_EV_NONE);
    sse_reader_free(&r);
    fuzz_trace_end(&o->trace);
}

static void outcome_free(struct outcome *o)
{
    fuzz_trace_free(&o->trace);
    free(o->wire);
    free(o->data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    uint8_t b0 = fuzz_byte(&in), b1 = fuzz_byte(&in), b2 = fuzz_byte(&in);
    enum sse_input mode = (b0 & 1) ? SSE_INPUT_RAW : SSE_INPUT_LINES;
    size_t max_event;

    switch ((b0 >> 1) & 7) {
    case 0: max_event = 65536; break;
    case 1: max_event = b1; break;             /* 0 means 1 */
    case 2: max_event = (size_t)b1 * 16; break;
    case 3: max_event = 1; break;
    case 4: max_event = 6 + (b1 & 7); break;
    default: max_event = 64 + b1; break;
    }

    struct outcome whole, bytes, seeded;
    run(mode, max_event, in.p, in.n, SPLIT_WHOLE, 0, &whole);
    run(mode, max_event, in.p, in.n, SPLIT_BYTES, 0, &bytes);
    run(mode, max_event, in.p, in.n, SPLIT_SEEDED, b2, &seeded);
    fuzz_trace_same(&whole.trace, &bytes.trace);
    fuzz_trace_same(&whole.trace, &seeded.trace);

    /* Read again by a raw reader that can hold any of it, the output is
     * the same events and no warning. */
    struct outcome again;
    size_t big = whole.wire_len + 1;
    run(SSE_INPUT_RAW, big, whole.wire, whole.wire_len, SPLIT_WHOLE, 0, &again);
    FUZZ_CHECK(again.warnings == 0);
    FUZZ_CHECK(again.wire_len == whole.wire_len &&
               (whole.wire_len == 0 || memcmp(again.wire, whole.wire, whole.wire_len) == 0));
    FUZZ_CHECK(again.data_len == whole.data_len);
    if (mode == SSE_INPUT_RAW && whole.warnings == 0)
        FUZZ_CHECK(fuzz_is_prefix(whole.trace.buf, whole.trace.len, again.trace.buf,
                                  again.trace.len) && again.trace.len == whole.trace.len);

    if (mode == SSE_INPUT_LINES) {
        /* Every byte but the line breaks arrives, in order (a \r inside a
         * line becomes a data line break; one before \n is dropped). */
        size_t k = 0;
        for (size_t i = 0; i < in.n; i++) {
            if (in.p[i] == '\n' || in.p[i] == '\r')
                continue;
            FUZZ_CHECK(k < whole.data_len && whole.data[k] == in.p[i]);
            k++;
        }
        FUZZ_CHECK(k == whole.data_len);
        FUZZ_CHECK(whole.warnings == 0);
    }
    outcome_free(&again);
    outcome_free(&whole);
    outcome_free(&bytes);
    outcome_free(&seeded);
    return 0;
}
