/* fuzz_sse_parse.c - the EventSource stream parser (sse_parse.c), which
 * reads the text/event-stream a remote server sends pushcat.
 *
 * Input: three configuration bytes, then the stream.
 *   byte 0  bits 0-2: how max_event comes from byte 1
 *   byte 1  max_event parameter
 *   byte 2  seed for the chunk sizes
 *
 * Fed whole, byte by byte and in seeded chunks, the events (type, data, id,
 * retry, dropped) and the last event ID must agree.  Every event is within
 * max_event, its id NUL-terminated and free of NUL, its data free of CR.
 * When max_event can hold the whole input, nothing is dropped and the
 * events are exactly those of a plain reading of the HTML standard's
 * algorithm (the model below).  After sse_parser_restart the parser reads
 * the stream again as a fresh one given the same last event ID would.
 */
#include "fuzz_common.h"

#include "core/sse_parse.h"

static void on_event(const struct sse_parse_event *ev, size_t max_event, struct fuzz_trace *t,
                     size_t *dropped)
{
    switch (ev->type) {
    case SSE_PARSE_EVENT: {
        FUZZ_CHECK(ev->event && ev->event_len > 0 && ev->event_len <= max_event + 7);
        if (ev->event_field == 0)
            FUZZ_CHECK(ev->event_len == 7 && memcmp(ev->event, "message", 7) == 0);
        else if (!(ev->event_len == 7 && memcmp(ev->event, "message", 7) == 0))
            FUZZ_CHECK(ev->event_len <= max_event);
        FUZZ_CHECK(memchr(ev->event, '\n', ev->event_len) == NULL &&
                   memchr(ev->event, '\r', ev->event_len) == NULL);
        FUZZ_CHECK(ev->data && ev->data_len < max_event);
        FUZZ_CHECK(memchr(ev->data, '\r', ev->data_len) == NULL);
        FUZZ_CHECK(ev->id && ev->id_len <= max_event && ev->id[ev->id_len] == '\0');
        FUZZ_CHECK(memchr(ev->id, '\0', ev->id_len) == NULL);
        FUZZ_CHECK(memchr(ev->id, '\n', ev->id_len) == NULL &&
                   memchr(ev->id, '\r', ev->id_len) == NULL);
        fuzz_trace_event(t, 'V', (uint64_t)ev->id_field, (uint64_t)ev->event_field,
                         ev->event, ev->event_len);
        fuzz_trace_event(t, 'd', 0, 0, ev->data, ev->data_len);
        fuzz_trace_event(t, 'i', 0, 0, ev->id, ev->id_len);
        break;
    }
    case SSE_PARSE_RETRY:
        fuzz_trace_event(t, 'R', ev->retry_ms, 0, NULL, 0);
        break;
    case SSE_PARSE_TOO_BIG:
        fuzz_trace_event(t, 'T', 0, 0, NULL, 0);
        ++*dropped;
        break;
    default:
        FUZZ_CHECK(!"unknown event");
    }
}

/* Feeds src to p split as asked; returns the number of dropped events. */
static size_t feed(struct sse_parser *p, size_t max_event, const uint8_t *src, size_t n,
                   enum fuzz_split split, uint64_t seed, struct fuzz_trace *t)
{
    struct fuzz_splitter s;
    size_t off = 0, dropped = 0;
    fuzz_splitter_init(&s, split, seed);
    do {
        size_t clen = fuzz_next_chunk(&s, n - off);
        uint8_t *chunk = fuzz_malloc(clen);
        if (clen)
            memcpy(chunk, src + off, clen);
        size_t coff = 0, events = 0;
        for (;;) {
            struct sse_parse_event ev;
            size_t used = sse_parser_feed(p, chunk + coff, clen - coff, &ev);
            FUZZ_CHECK(used <= clen - coff);
            coff += used;
            if (ev.type == SSE_PARSE_NONE) {
                FUZZ_CHECK(coff == clen);
                break;
            }
            FUZZ_CHECK(used > 0);
            on_event(&ev, max_event, t, &dropped);
            FUZZ_CHECK(++events <= clen);
        }
        free(chunk);
        off += clen;
    } while (off < n);
    const char *id = sse_parser_last_id(p);
    size_t il = strlen(id);
    FUZZ_CHECK(il <= max_event);
    fuzz_trace_event(t, 'L', 0, 0, id, il);
    fuzz_trace_end(t);
    return dropped;
}

/* ---- the model: the standard's algorithm with unbounded buffers -------- */

struct model {
    uint8_t *data, *type, *id;
    size_t dlen, dcap, tlen, tcap, ilen, icap;
    int id_field, event_field;
};

static void put(uint8_t **b, size_t *len, size_t *cap, const void *p, size_t n)
{
    fuzz_grow(b, cap, *len + n + 1);
    if (n)
        memcpy(*b + *len, p, n);
    *len += n;
}

static void model_line(struct model *m, const uint8_t *l, size_t n, struct fuzz_trace *t)
{
    if (n == 0) {
        if (m->dlen == 0) {
            m->tlen = 0;
            m->id_field = m->event_field = 0;
            return;
        }
        static const char msg[] = "message";
        fuzz_trace_event(t, 'V', (uint64_t)m->id_field, (uint64_t)m->event_field,
                         m->tlen ? (const void *)m->type : msg, m->tlen ? m->tlen : 7);
        fuzz_trace_event(t, 'd', 0, 0, m->data, m->dlen - 1);
        fuzz_trace_event(t, 'i', 0, 0, m->id, m->ilen);
        m->dlen = m->tlen = 0;
        m->id_field = m->event_field = 0;
        return;
    }
    if (l[0] == ':')
        return;
    const uint8_t *colon = memchr(l, ':', n);
    size_t nl = colon ? (size_t)(colon - l) : n;
    const uint8_t *v = colon ? colon + 1 : l + n;
    size_t vl = colon ? n - nl - 1 : 0;
    if (vl && v[0] == ' ') {
        v++;
        vl--;
    }
    if (nl == 4 && memcmp(l, "data", 4) == 0) {
        put(&m->data, &m->dlen, &m->dcap, v, vl);
        put(&m->data, &m->dlen, &m->dcap, "\n", 1);
    } else if (nl == 5 && memcmp(l, "event", 5) == 0) {
        m->tlen = 0;
        put(&m->type, &m->tlen, &m->tcap, v, vl);
        m->event_field = 1;
    } else if (nl == 2 && memcmp(l, "id", 2) == 0) {
        if (!memchr(v, '\0', vl)) {
            m->ilen = 0;
            put(&m->id, &m->ilen, &m->icap, v, vl);
            m->id_field = 1;
        }
    } else if (nl == 5 && memcmp(l, "retry", 5) == 0 && vl > 0) {
        uint64_t ms = 0;
        for (size_t i = 0; i < vl; i++) {
            if (v[i] < '0' || v[i] > '9')
                return;
            if (ms <= 0xffffffffu)
                ms = ms * 10 + (uint64_t)(v[i] - '0');
        }
        fuzz_trace_event(t, 'R', ms > 0xffffffffu ? 0xffffffffu : ms, 0, NULL, 0);
    }
}

static void model_run(const uint8_t *src, size_t n, struct fuzz_trace *t)
{
    struct model m;
    memset(&m, 0, sizeof m);
    size_t i = 0;
    if (n >= 3 && memcmp(src, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    for (;;) {
        size_t j = i;
        while (j < n && src[j] != '\r' && src[j] != '\n')
            j++;
        if (j == n)
            break;  /* an unterminated last line is never processed */
        model_line(&m, src + i, j - i, t);
        if (src[j] == '\r' && j + 1 < n && src[j + 1] == '\n')
            j++;
        i = j + 1;
    }
    fuzz_trace_event(t, 'L', 0, 0, m.id, m.ilen);
    fuzz_trace_end(t);
    free(m.data);
    free(m.type);
    free(m.id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    uint8_t b0 = fuzz_byte(&in), b1 = fuzz_byte(&in), b2 = fuzz_byte(&in);
    size_t max_event;

    switch (b0 & 7) {
    case 0: max_event = 65536; break;
    case 1: max_event = b1; break;
    case 2: max_event = (size_t)b1 * 16; break;
    case 3: max_event = 1; break;
    case 4: max_event = 6 + (b1 & 7); break;
    default: max_event = 64 + b1; break;
    }

    struct fuzz_trace t[3];
    size_t dropped = 0;
    static const enum fuzz_split modes[3] = { SPLIT_WHOLE, SPLIT_BYTES, SPLIT_SEEDED };
    struct sse_parser keep;
    for (int k = 0; k < 3; k++) {
        struct sse_parser p;
        sse_parser_init(&p, max_event);
        fuzz_trace_init(&t[k]);
        size_t d = feed(&p, max_event, in.p, in.n, modes[k], b2, &t[k]);
        if (k == 0) {
            dropped = d;
            keep = p;
        } else {
            sse_parser_free(&p);
        }
    }
    fuzz_trace_same(&t[0], &t[1]);
    fuzz_trace_same(&t[0], &t[2]);

    if (max_event > in.n) {
        /* Room for everything: nothing dropped, the standard's events. */
        struct fuzz_trace mt;
        fuzz_trace_init(&mt);
        model_run(in.p, in.n, &mt);
        FUZZ_CHECK(dropped == 0);
        fuzz_trace_same(&t[0], &mt);
        fuzz_trace_free(&mt);
    }

    /* A second connection: the restarted parser and a fresh one that was
     * given the last event ID read the stream the same way. */
    const char *last = sse_parser_last_id(&keep);
    struct sse_parser fresh;
    sse_parser_init(&fresh, max_event);
    FUZZ_CHECK(sse_parser_set_last_id(&fresh, last, strlen(last)) == 0);
    sse_parser_restart(&keep);
    struct fuzz_trace a, b;
    fuzz_trace_init(&a);
    fuzz_trace_init(&b);
    feed(&keep, max_event, in.p, in.n, SPLIT_SEEDED, b2 ^ 0x5a, &a);
    feed(&fresh, max_event, in.p, in.n, SPLIT_WHOLE, 0, &b);
    fuzz_trace_same(&a, &b);
    fuzz_trace_free(&a);
    fuzz_trace_free(&b);
    sse_parser_free(&fresh);
    sse_parser_free(&keep);
    for (int k = 0; k < 3; k++)
        fuzz_trace_free(&t[k]);
    return 0;
}
