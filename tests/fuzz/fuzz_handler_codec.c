/* fuzz_handler_codec.c - the framed-mode record decoder (handler_codec.c),
 * which reads what a handler prints: "TYPE SP LENGTH LF PAYLOAD LF".
 *
 * Input: three configuration bytes, then handler output.
 *   byte 0  bits 0-2: how max_len comes from byte 1
 *   byte 1  max_len parameter
 *   byte 2  seed for the chunk sizes
 *
 * Decoded whole, byte by byte and in seeded chunks, the traces must agree.
 * The format has one spelling per record, so the records decoded before
 * the input ended (or failed) must re-encode (rec_header + payload + LF) to
 * exactly the bytes they came from.  Close payloads that parse re-encode
 * the same way with rec_close_payload.
 */
#include "fuzz_common.h"

#include "core/handler_codec.h"

struct model {
    int in_record;
    enum rec_type type;
    uint64_t length, got;
    int failed;
    const char *fail_error;
    /* re-encoding of the complete records so far (whole run only) */
    uint8_t *enc;
    size_t enc_len, enc_cap;
    size_t consumed_at_end;     /* input bytes up to the last END */
    uint8_t *payload;           /* the current record's payload */
    size_t payload_len, payload_cap;
};

static void append(uint8_t **b, size_t *len, size_t *cap, const void *p, size_t n)
{
    fuzz_grow(b, cap, *len + n);
    if (n)
        memcpy(*b + *len, p, n);
    *len += n;
}

static void check_close(const uint8_t *p, size_t len)
{
    unsigned code = 0;
    const uint8_t *reason = NULL;
    size_t reason_len = 0;
    if (rec_close_parse(p, len, &code, &reason, &reason_len) != 0)
        return;
    FUZZ_CHECK(code >= 1000 && code <= 4999);
    FUZZ_CHECK(reason >= p && reason_len <= len && (size_t)(reason - p) + reason_len == len);
    char *out = fuzz_malloc(len + 1);
    size_t n = rec_close_payload(out, len + 1, code, (const char *)reason, reason_len);
    if (len != 5) /* "1000 " parses as 1000 with no reason; it re-encodes as "1000" */
        FUZZ_CHECK(n == len && memcmp(out, p, len) == 0);
    free(out);
}

static void run(uint64_t max_len, const uint8_t *src, size_t n, enum fuzz_split mode,
                uint64_t seed, struct fuzz_trace *t, int reencode)
{
    struct rec_decoder d;
    struct model m;
    struct fuzz_splitter s;
    size_t off = 0;

    rec_decoder_init(&d, max_len);
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
            struct rec_event ev;
            size_t used = rec_decoder_feed(&d, chunk + coff, clen - coff, &ev);
            FUZZ_CHECK(used <= clen - coff);
            if (m.failed) {
                FUZZ_CHECK(ev.type == REC_EV_ERROR && used == 0);
                FUZZ_CHECK(ev.error != NULL && strcmp(ev.error, m.fail_error) == 0);
                break;
            }
            switch (ev.type) {
            case REC_EV_NONE:
                FUZZ_CHECK(used == clen - coff);
                break;
            case REC_EV_START:
                FUZZ_CHECK(!m.in_record);
                FUZZ_CHECK(ev.rtype == REC_TEXT || ev.rtype == REC_BINARY || ev.rtype == REC_CLOSE);
                FUZZ_CHECK(ev.length <= max_len);
                FUZZ_CHECK(used > 0 && chunk[coff + used - 1] == '\n');
                m.in_record = 1;
                m.type = ev.rtype;
                m.length = ev.length;
                m.got = 0;
                m.payload_len = 0;
                fuzz_trace_event(t, 'S', (uint64_t)ev.rtype, ev.length, NULL, 0);
                break;
            case REC_EV_DATA:
                FUZZ_CHECK(m.in_record);
                FUZZ_CHECK(ev.len > 0 && ev.rtype == m.type && ev.length == m.length);
                FUZZ_CHECK(ev.data == chunk + coff && ev.len == used);
                m.got += ev.len;
                FUZZ_CHECK(m.got <= m.length);
                append(&m.payload, &m.payload_len, &m.payload_cap, ev.data, ev.len);
                fuzz_trace_data(t, ev.data, ev.len);
                break;
            case REC_EV_END: {
                FUZZ_CHECK(m.in_record);
                FUZZ_CHECK(ev.rtype == m.type && ev.length == m.length && m.got == m.length);
                FUZZ_CHECK(used > 0 && chunk[coff + used - 1] == '\n');
                m.in_record = 0;
                fuzz_trace_event(t, 'E', 0, 0, NULL, 0);
                if (reencode) {
                    char hdr[REC_HEADER_MAX];
                    size_t hl = rec_header(hdr, m.type, m.length);
                    FUZZ_CHECK(hl < REC_HEADER_MAX && strlen(hdr) == hl);
                    append(&m.enc, &m.enc_len, &m.enc_cap, hdr, hl);
                    append(&m.enc, &m.enc_len, &m.enc_cap, m.payload, m.payload_len);
                    append(&m.enc, &m.enc_len, &m.enc_cap, "\n", 1);
                    m.consumed_at_end = off + coff + used;
                    FUZZ_CHECK(m.enc_len == m.consumed_at_end);
                    FUZZ_CHECK(memcmp(m.enc, src, m.enc_len) == 0);
                    if (m.type == REC_CLOSE)
                        check_close(m.payload, m.payload_len);
                }
                break;
            }
            case REC_EV_ERROR:
                FUZZ_CHECK(ev.error != NULL);
                m.failed = 1;
                m.fail_error = ev.error;
                fuzz_trace_error(t, 0);
                fuzz_trace_raw(t, ev.error, strlen(ev.error));
                /* the error is judged at the offending byte: nothing
                 * before it in this call was refused */
                break;
            default:
                FUZZ_CHECK(!"unknown event");
            }
            coff += used;
            if (ev.type == REC_EV_NONE || ev.type == REC_EV_ERROR)
                break;
            FUZZ_CHECK(++events <= 2 * clen + 4);
        }
        free(chunk);
        off += clen;
    } while (off < n);
    fuzz_trace_end(t);
    free(m.enc);
    free(m.payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    uint8_t b0 = fuzz_byte(&in), b1 = fuzz_byte(&in), b2 = fuzz_byte(&in);
    uint64_t max_len;

    switch (b0 & 7) {
    case 0: max_len = UINT64_MAX; break;
    case 1: max_len = b1; break;
    case 2: max_len = (uint64_t)b1 * 100; break;
    case 3: max_len = UINT64_MAX - b1; break;
    case 4: max_len = (uint64_t)1 << (b1 % 64); break;
    case 5: max_len = 0; break;
    case 6: max_len = 9999999999999999999u + b1 % 2; break;
    default: max_len = 16 * 1024 * 1024; break;
    }

    struct fuzz_trace whole, bytes, seeded;
    run(max_len, in.p, in.n, SPLIT_WHOLE, 0, &whole, 1);
    run(max_len, in.p, in.n, SPLIT_BYTES, 0, &bytes, 0);
    run(max_len, in.p, in.n, SPLIT_SEEDED, b2, &seeded, 0);
    fuzz_trace_same(&whole, &bytes);
    fuzz_trace_same(&whole, &seeded);
    fuzz_trace_free(&whole);
    fuzz_trace_free(&bytes);
    fuzz_trace_free(&seeded);

    /* Headers for the configured lengths decode to themselves. */
    uint64_t lens[3] = { max_len, max_len / 3, (uint64_t)b1 };
    for (int i = 0; i < 3; i++) {
        char hdr[REC_HEADER_MAX];
        size_t hl = rec_header(hdr, REC_BINARY, lens[i]);
        struct rec_decoder d;
        struct rec_event ev;
        rec_decoder_init(&d, UINT64_MAX);
        FUZZ_CHECK(rec_decoder_feed(&d, (const uint8_t *)hdr, hl, &ev) == hl);
        FUZZ_CHECK(ev.type == REC_EV_START && ev.rtype == REC_BINARY && ev.length == lens[i]);
    }
    return 0;
}
