/* fuzz_http_response.c - the client side of HTTP/1.1 (http_response.c): the
 * response head parser and the body decoder (chunked, Content-Length,
 * until close), i.e. what pushcat reads from a server.
 *
 * Input: three configuration bytes, then what the server sent.
 *   byte 0  bits 0-1: max_head (0: 8192, 1: byte 1 * 4, 2: 64 + byte 1,
 *           3: 65536)
 *   byte 1  max_head parameter
 *   byte 2  seed for the chunk sizes
 *
 * The head: parsed whole, and again as a client does, reparsing a growing
 * buffer after every chunk (whole, byte by byte, seeded), the first answer
 * that is not INCOMPLETE must be the same.  A parsed head lies inside the
 * input and within max_head, ends with a blank line, and every header is a
 * token name and a trimmed value without control characters.
 *
 * The body (the bytes after the head): decoded whole, byte by byte and in
 * seeded chunks, the traces (data, where the body ended, the error, EOF)
 * must agree; data always points into the chunk given, never past what was
 * consumed; the decoded bytes are never more than the input; an error is
 * sticky; Content-Length and until-close bodies deliver exactly their bytes.
 */
#include "fuzz_common.h"

#include <strings.h>

#include "core/http_response.h"

static int tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int vchar(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static void check_head(const char *buf, size_t len, size_t max_head, int rc,
                       const struct http_response *res)
{
    FUZZ_CHECK(rc > 0 && (size_t)rc == res->head_len);
    FUZZ_CHECK(res->head_len <= len && res->head_len <= max_head);
    FUZZ_CHECK(res->head_len >= 2 && buf[res->head_len - 1] == '\n');
    FUZZ_CHECK(buf[res->head_len - 2] == '\n' ||
               (res->head_len >= 3 && buf[res->head_len - 2] == '\r' &&
                buf[res->head_len - 3] == '\n'));
    FUZZ_CHECK(memcmp(buf, "HTTP/1.", 7) == 0);
    FUZZ_CHECK(res->minor_version == 0 || res->minor_version == 1);
    FUZZ_CHECK(res->status >= 100 && res->status <= 999);
    FUZZ_CHECK(res->reason >= buf && res->reason + res->reason_len <= buf + res->head_len);
    for (size_t i = 0; i < res->reason_len; i++)
        FUZZ_CHECK(vchar((unsigned char)res->reason[i]));
    FUZZ_CHECK(res->num_headers <= HTTP_MAX_HEADERS);
    for (size_t i = 0; i < res->num_headers; i++) {
        const struct http_header *h = &res->headers[i];
        FUZZ_CHECK(h->name > buf && h->name + h->name_len < buf + res->head_len);
        FUZZ_CHECK(h->name_len > 0 && h->name[h->name_len] == ':');
        for (size_t k = 0; k < h->name_len; k++)
            FUZZ_CHECK(tchar((unsigned char)h->name[k]));
        FUZZ_CHECK(h->value >= h->name + h->name_len + 1);
        FUZZ_CHECK(h->value + h->value_len <= buf + res->head_len);
        for (size_t k = 0; k < h->value_len; k++)
            FUZZ_CHECK(vchar((unsigned char)h->value[k]));
        if (h->value_len)
            FUZZ_CHECK(h->value[0] != ' ' && h->value[0] != '\t' &&
                       h->value[h->value_len - 1] != ' ' &&
                       h->value[h->value_len - 1] != '\t');
        if (i > 0)
            FUZZ_CHECK(h->name > res->headers[i - 1].value);
    }
}

/* http_response_header / _value against a plain scan. */
static void check_lookup(const struct http_response *res, const char *name)
{
    const struct http_header *first = NULL;
    size_t joined = 0, count = 0;
    for (size_t i = 0; i < res->num_headers; i++) {
        const struct http_header *h = &res->headers[i];
        if (h->name_len != strlen(name) || strncasecmp(h->name, name, h->name_len) != 0)
            continue;
        if (!first)
            first = h;
        joined += h->value_len + (count ? 2 : 0);
        count++;
    }
    FUZZ_CHECK(http_response_header(res, name) == first);
    char out[600];
    for (size_t outlen = 0; outlen <= sizeof out; outlen += outlen < 8 ? 1 : 97) {
        memset(out, 'x', sizeof out);
        int rc = http_response_header_value(res, name, out, outlen);
        if (!count) {
            FUZZ_CHECK(rc == 0 && (outlen == 0 || out[0] == '\0'));
        } else if (joined + 1 > outlen) {
            FUZZ_CHECK(rc == -1);
        } else {
            FUZZ_CHECK(rc == 1 && strlen(out) <= joined && out[joined] == '\0');
            FUZZ_CHECK(memcmp(out, first->value, first->value_len) == 0);
        }
        if (outlen < sizeof out)
            for (size_t k = outlen; k < sizeof out; k++)
                FUZZ_CHECK(out[k] == 'x');
    }
    if (first)
        (void)http_media_type_is(first->value, first->value_len, "text/event-stream");
}

/* The client's loop: append each chunk, reparse from the start. */
static void head_split(const char *buf, size_t len, size_t max_head, enum fuzz_split split,
                       uint64_t seed, int want_rc)
{
    struct fuzz_splitter s;
    struct http_response res;
    size_t have = 0;
    int rc = HTTP_PARSE_INCOMPLETE;
    fuzz_splitter_init(&s, split, seed);
    do {
        have += fuzz_next_chunk(&s, len - have);
        /* An exact-size copy: no reading past what has arrived. */
        char *copy = fuzz_malloc(have);
        if (have)
            memcpy(copy, buf, have);
        rc = http_parse_response(copy, have, max_head, &res);
        if (rc > 0)
            FUZZ_CHECK((size_t)rc <= have);
        free(copy);
    } while (rc == HTTP_PARSE_INCOMPLETE && have < len);
    FUZZ_CHECK(rc == want_rc);
}

/* ---- body ---------------------------------------------------------------- */

struct outcome {
    struct fuzz_trace trace;
    uint64_t decoded;
    int ended, failed;
    size_t end_at;
};

static void body_run(const struct http_body *init, const uint8_t *src, size_t n,
                     enum fuzz_split split, uint64_t seed, struct outcome *o)
{
    struct http_body b = *init;
    struct fuzz_splitter s;
    size_t off = 0;

    memset(o, 0, sizeof *o);
    fuzz_trace_init(&o->trace);
    fuzz_splitter_init(&s, split, seed);
    do {
        size_t clen = fuzz_next_chunk(&s, n - off);
        uint8_t *chunk = fuzz_malloc(clen);
        if (clen)
            memcpy(chunk, src + off, clen);
        size_t coff = 0, events = 0;
        while (!o->ended && !o->failed) {
            const uint8_t *data = (const uint8_t *)"junk";
            size_t dlen = 12345;
            enum http_body_event ev = (enum http_body_event)-1;
            size_t used = http_body_feed(&b, chunk + coff, clen - coff, &data, &dlen, &ev);
            FUZZ_CHECK(used <= clen - coff);
            if (ev == HTTP_BODY_EV_DATA) {
                FUZZ_CHECK(dlen > 0 && data >= chunk + coff &&
                           data + dlen <= chunk + coff + used);
                fuzz_trace_data(&o->trace, data, dlen);
                o->decoded += dlen;
            } else {
                FUZZ_CHECK(dlen == 0);  /* data means nothing then */
            }
            coff += used;
            if (ev == HTTP_BODY_EV_NONE) {
                FUZZ_CHECK(coff == clen);
                break;
            } else if (ev == HTTP_BODY_EV_END) {
                o->ended = 1;
                o->end_at = off + coff;
                fuzz_trace_event(&o->trace, 'N', o->end_at, 0, NULL, 0);
                FUZZ_CHECK(b.done && !b.failed);
            } else if (ev == HTTP_BODY_EV_ERROR) {
                o->failed = 1;
                FUZZ_CHECK(b.failed && b.error != NULL);
                fuzz_trace_error(&o->trace, 0);
                fuzz_trace_event(&o->trace, 'e', 0, 0, b.error, strlen(b.error));
            } else {
                FUZZ_CHECK(ev == HTTP_BODY_EV_DATA);
            }
            FUZZ_CHECK(++events <= 2 * clen + 4);
        }
        if (o->ended || o->failed) {
            /* Sticky: more input changes nothing. */
            const uint8_t *data;
            size_t dlen;
            enum http_body_event ev;
            size_t used = http_body_feed(&b, chunk, clen, &data, &dlen, &ev);
            FUZZ_CHECK(used == 0 && dlen == 0);
            FUZZ_CHECK(ev == (o->failed ? HTTP_BODY_EV_ERROR : HTTP_BODY_EV_NONE));
        }
        free(chunk);
        off += clen;
    } while (off < n);
    int eof = http_body_eof(&b);
    if (o->failed)
        FUZZ_CHECK(eof == 0);
    if (o->ended)
        FUZZ_CHECK(eof == 1);
    fuzz_trace_event(&o->trace, 'F', (uint64_t)eof, 0, NULL, 0);
    fuzz_trace_end(&o->trace);
    FUZZ_CHECK(o->decoded <= n);
}

static void body_check(const struct http_response *res, const uint8_t *src, size_t n,
                       uint64_t seed)
{
    struct http_body b;
    if (http_body_init(&b, res) < 0)
        return;
    FUZZ_CHECK(!b.done && !b.failed);
    if (res->status < 200 || res->status == 204 || res->status == 304)
        FUZZ_CHECK(b.mode == HTTP_BODY_NONE);
    uint64_t cl = b.remaining;
    struct outcome whole, bytes, seeded;
    body_run(&b, src, n, SPLIT_WHOLE, 0, &whole);
    body_run(&b, src, n, SPLIT_BYTES, 0, &bytes);
    body_run(&b, src, n, SPLIT_SEEDED, seed, &seeded);
    fuzz_trace_same(&whole.trace, &bytes.trace);
    fuzz_trace_same(&whole.trace, &seeded.trace);
    switch (b.mode) {
    case HTTP_BODY_NONE:
        FUZZ_CHECK(whole.ended && whole.end_at == 0 && whole.decoded == 0);
        break;
    case HTTP_BODY_LENGTH:
        FUZZ_CHECK(!whole.failed);
        FUZZ_CHECK(whole.decoded == (cl < n ? cl : n));
        FUZZ_CHECK(whole.ended == (cl <= n));
        if (whole.ended)
            FUZZ_CHECK(whole.end_at == cl);
        if (whole.decoded)
            FUZZ_CHECK(memcmp(whole.trace.buf + 9, src, whole.decoded) == 0);
        break;
    case HTTP_BODY_CLOSE:
        FUZZ_CHECK(!whole.failed && !whole.ended && whole.decoded == n);
        if (n)
            FUZZ_CHECK(memcmp(whole.trace.buf + 9, src, n) == 0);
        break;
    case HTTP_BODY_CHUNKED:
        /* "0\n\n" at least, and the data comes with its framing. */
        if (whole.ended)
            FUZZ_CHECK(whole.end_at >= 3 && whole.decoded + 3 <= whole.end_at);
        break;
    }
    fuzz_trace_free(&whole.trace);
    fuzz_trace_free(&bytes.trace);
    fuzz_trace_free(&seeded.trace);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    uint8_t b0 = fuzz_byte(&in), b1 = fuzz_byte(&in), b2 = fuzz_byte(&in);
    size_t max_head;
    switch (b0 & 3) {
    case 0: max_head = 8192; break;
    case 1: max_head = (size_t)b1 * 4; break;
    case 2: max_head = 64 + b1; break;
    default: max_head = 65536; break;
    }

    const char *buf = (const char *)in.p;
    struct http_response res;
    int rc = http_parse_response(buf, in.n, max_head, &res);
    FUZZ_CHECK(rc > 0 || rc == HTTP_PARSE_INCOMPLETE || rc == HTTP_PARSE_BAD ||
               rc == HTTP_PARSE_TOO_LARGE || rc == HTTP_PARSE_VERSION);
    if (rc == HTTP_PARSE_INCOMPLETE)
        FUZZ_CHECK(in.n < max_head);

    head_split(buf, in.n, max_head, SPLIT_WHOLE, 0, rc);
    head_split(buf, in.n, max_head, SPLIT_BYTES, 0, rc);
    head_split(buf, in.n, max_head, SPLIT_SEEDED, b2, rc);

    if (rc > 0) {
        check_head(buf, in.n, max_head, rc, &res);
        static const char *const names[] = {
            "Content-Length", "Transfer-Encoding", "Content-Type", "Upgrade",
            "Connection", "Sec-WebSocket-Accept", "X"
        };
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            check_lookup(&res, names[i]);
        body_check(&res, in.p + rc, in.n - (size_t)rc, b2);
    }

    /* The header-line checker, on the input as one C string. */
    size_t sl = in.n < 512 ? in.n : 512;
    char *line = fuzz_malloc(sl + 1);
    if (sl)
        memcpy(line, in.p, sl);
    line[sl] = '\0';
    if (http_header_line_check(line) == 0) {
        FUZZ_CHECK(strchr(line, '\r') == NULL && strchr(line, '\n') == NULL);
        const char *colon = strchr(line, ':');
        FUZZ_CHECK(colon && colon > line);
        char name[512];
        memcpy(name, line, (size_t)(colon - line));
        name[colon - line] = '\0';
        FUZZ_CHECK(http_header_line_is(line, name) == 1);
    }
    free(line);
    return 0;
}
