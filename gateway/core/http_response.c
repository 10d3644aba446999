/* http_response.c - HTTP/1.1 response heads and bodies for the client side
 * (RFC 9112), sans-I/O.
 *
 * The head parser rescans from the start on each call, like the request
 * parser: stateless, and bounded by max_head.  The body decoder is
 * incremental because bodies (an event stream) have no end in sight.
 */
#include "http_response.h"
#include "http_grammar.h"
#include "percent.h"

#include <string.h>
#include <strings.h>

/* A chunk-size line (size and extensions) or trailer line longer than this
 * is not from a sane server; bounding it bounds what we scan. */
#define CHUNK_LINE_MAX 4096

/* HTTP-version SP 3DIGIT SP reason-phrase.  The SP before an empty reason
 * is required by RFC 9112 4 but some servers omit it; accepting that is
 * harmless on the client side. */
static int parse_status_line(const char **pp, const char *end, struct http_response *res)
{
    static const char pattern[] = "HTTP/d.d ddd";
    const char *p = *pp;
    const char *start = p;
    for (size_t i = 0; i < sizeof pattern - 1; i++, p++) {
        if (p == end)
            return HTTP_PARSE_INCOMPLETE;
        int ok = pattern[i] == 'd' ? (*p >= '0' && *p <= '9') : *p == pattern[i];
        if (!ok)
            return HTTP_PARSE_BAD;
    }
    if (start[5] != '1')
        return HTTP_PARSE_VERSION;
    res->minor_version = start[7] == '0' ? 0 : 1;
    res->status = (start[9] - '0') * 100 + (start[10] - '0') * 10 + (start[11] - '0');
    if (res->status < 100)
        return HTTP_PARSE_BAD;
    if (p < end && *p == ' ')
        p++;
    res->reason = p;
    while (p < end && http_is_value_char((unsigned char)*p))
        p++;
    res->reason_len = (size_t)(p - res->reason);
    int rc = http_parse_eol(&p, end);
    if (rc != HTTP_STEP_OK)
        return rc;
    *pp = p;
    return HTTP_STEP_OK;
}

static int parse_header_line(const char **pp, const char *end, struct http_response *res)
{
    if (res->num_headers == HTTP_MAX_HEADERS)
        return HTTP_PARSE_TOO_LARGE;
    int rc = http_parse_field_line(pp, end, &res->headers[res->num_headers]);
    if (rc == HTTP_STEP_OK)
        res->num_headers++;
    return rc;
}

int http_parse_response(const char *buf, size_t len, size_t max_head, struct http_response *res)
{
    memset(res, 0, sizeof *res);
    size_t scan = len < max_head ? len : max_head;
    const char *p = buf, *end = buf + scan;
    int rc = parse_status_line(&p, end, res);
    for (;;) {
        if (rc == HTTP_PARSE_INCOMPLETE)
            return scan == max_head ? HTTP_PARSE_TOO_LARGE : HTTP_PARSE_INCOMPLETE;
        if (rc != HTTP_STEP_OK)
            return rc;
        if (p == end)
            return scan == max_head ? HTTP_PARSE_TOO_LARGE : HTTP_PARSE_INCOMPLETE;
        if (*p == '\r' || *p == '\n') {
            rc = http_parse_eol(&p, end);
            if (rc == HTTP_STEP_OK)
                break;
            continue;
        }
        rc = parse_header_line(&p, end, res);
    }
    res->head_len = (size_t)(p - buf);
    return (int)res->head_len;
}

static int name_eq(const struct http_header *h, const char *name)
{
    return strlen(name) == h->name_len && strncasecmp(h->name, name, h->name_len) == 0;
}

const struct http_header *http_response_header(const struct http_response *res, const char *name)
{
    for (size_t i = 0; i < res->num_headers; i++)
        if (name_eq(&res->headers[i], name))
            return &res->headers[i];
    return NULL;
}

int http_response_header_value(const struct http_response *res, const char *name,
                               char *out, size_t outlen)
{
    size_t o = 0;
    int found = 0;
    if (outlen)
        out[0] = '\0';
    for (size_t i = 0; i < res->num_headers; i++) {
        const struct http_header *h = &res->headers[i];
        if (!name_eq(h, name))
            continue;
        size_t need = h->value_len + (found ? 2 : 0);
        if (o + need + 1 > outlen)
            return -1;
        if (found) {
            memcpy(out + o, ", ", 2);
            o += 2;
        }
        memcpy(out + o, h->value, h->value_len);
        o += h->value_len;
        out[o] = '\0';
        found = 1;
    }
    return found;
}

int http_media_type_is(const char *value, size_t len, const char *type)
{
    size_t tl = strlen(type), i = 0;
    while (i < len && http_is_ows(value[i]))
        i++;
    if (len - i < tl || strncasecmp(value + i, type, tl) != 0)
        return 0;
    i += tl;
    while (i < len && http_is_ows(value[i]))
        i++;
    return i == len || value[i] == ';';
}

int http_header_line_check(const char *line)
{
    const char *colon = strchr(line, ':');
    if (!colon || colon == line)
        return -1;
    for (const char *p = line; p < colon; p++)
        if (!http_is_tchar((unsigned char)*p))
            return -1;
    for (const char *p = colon + 1; *p; p++)
        if (!http_is_value_char((unsigned char)*p))
            return -1;
    return 0;
}

int http_header_line_is(const char *line, const char *name)
{
    size_t n = strlen(name);
    return strncasecmp(line, name, n) == 0 && line[n] == ':';
}

/* ---- body ---------------------------------------------------------------- */

enum {
    CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER, CH_TRAILER_LF
};

/* Content-Length: digits, or a list of identical values (RFC 9110 8.6). */
static int content_length(const char *v, size_t n, uint64_t *out)
{
    int have = 0;
    uint64_t first = 0;
    size_t i = 0;
    for (;;) {
        while (i < n && http_is_ows(v[i]))
            i++;
        uint64_t x = 0;
        size_t digits = 0;
        while (i < n && v[i] >= '0' && v[i] <= '9') {
            if (++digits > 18)
                return -1;
            x = x * 10 + (uint64_t)(v[i++] - '0');
        }
        if (!digits)
            return -1;
        if (have && x != first)
            return -1;
        first = x;
        have = 1;
        while (i < n && http_is_ows(v[i]))
            i++;
        if (i == n)
            break;
        if (v[i++] != ',')
            return -1;
    }
    *out = first;
    return 0;
}

int http_body_init(struct http_body *b, const struct http_response *res)
{
    memset(b, 0, sizeof *b);
    if (res->status < 200 || res->status == 204 || res->status == 304) {
        b->mode = HTTP_BODY_NONE;
        return 0;
    }
    const struct http_header *te = NULL, *cl = NULL;
    for (size_t i = 0; i < res->num_headers; i++) {
        const struct http_header *h = &res->headers[i];
        if (name_eq(h, "Transfer-Encoding"))
            te = h;     /* the last one carries the final coding */
        else if (name_eq(h, "Content-Length")) {
            if (cl)
                return -1;
            cl = h;
        }
    }
    if (te) {
        /* RFC 9112 6.3: chunked must be the final coding; a response whose
         * final coding is something else runs until close. */
        const char *v = te->value;
        size_t n = te->value_len, s = n;
        while (s > 0 && v[s - 1] != ',')
            s--;
        size_t k = s;
        while (k < n && http_is_ows(v[k]))
            k++;
        if (n - k == 7 && strncasecmp(v + k, "chunked", 7) == 0) {
            b->mode = HTTP_BODY_CHUNKED;
            b->state = CH_SIZE;
        } else {
            b->mode = HTTP_BODY_CLOSE;
        }
        return 0;
    }
    if (cl) {
        if (content_length(cl->value, cl->value_len, &b->remaining) < 0)
            return -1;
        b->mode = HTTP_BODY_LENGTH;
        return 0;
    }
    b->mode = HTTP_BODY_CLOSE;
    return 0;
}

static size_t body_error(struct http_body *b, const char *why, enum http_body_event *ev)
{
    b->failed = 1;
    b->error = why;
    *ev = HTTP_BODY_EV_ERROR;
    return 0;
}

static size_t chunked_feed(struct http_body *b, const uint8_t *in, size_t len,
                           const uint8_t **data, size_t *data_len, enum http_body_event *ev)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = in[i];
        switch (b->state) {
        case CH_SIZE: {
            int d = hex_value(c);
            if (d >= 0) {
                /* 15 hex digits are far beyond any chunk we could hold and
                 * keep the arithmetic from overflowing. */
                if (++b->line_digits > 15)
                    return body_error(b, "chunk size too large", ev);
                b->remaining = b->remaining * 16 + (uint64_t)d;
                i++;
                break;
            }
            if (!b->line_digits)
                return body_error(b, "bad chunk size", ev);
            if (c == ';' || c == ' ' || c == '\t')
                b->state = CH_EXT;
            else if (c == '\r')
                b->state = CH_SIZE_LF;
            else if (c == '\n')
                goto size_done;
            else
                return body_error(b, "bad chunk size", ev);
            i++;
            break;
        }
        case CH_EXT:
            /* Chunk extensions carry nothing we use; skip them, bounded. */
            if (++b->line_len > CHUNK_LINE_MAX)
                return body_error(b, "chunk extension too long", ev);
            if (c == '\n')
                goto size_done;
            i++;
            break;
        case CH_SIZE_LF:
            if (c != '\n')
                return body_error(b, "bad chunk size line", ev);
        size_done:
            i++;
            b->line_len = 0;
            b->line_digits = 0;
            if (b->remaining == 0) {
                b->state = CH_TRAILER;
            } else {
                b->state = CH_DATA;
            }
            break;
        case CH_DATA: {
            size_t take = len - i;
            if (take > b->remaining)
                take = (size_t)b->remaining;
            b->remaining -= take;
            if (b->remaining == 0)
                b->state = CH_DATA_CR;
            *data = in + i;
            *data_len = take;
            *ev = HTTP_BODY_EV_DATA;
            return i + take;
        }
        case CH_DATA_CR:
        case CH_DATA_LF:
            /* CRLF after the data; a bare LF is taken too, leniently. */
            if (c == '\r' && b->state == CH_DATA_CR) {
                b->state = CH_DATA_LF;
                i++;
                break;
            }
            if (c != '\n')
                return body_error(b, "chunk not followed by CRLF", ev);
            i++;
            b->state = CH_SIZE;
            break;
        case CH_TRAILER:
            if (c == '\n') {
                i++;
                if (b->line_len == 0) {
                    b->done = 1;
                    *ev = HTTP_BODY_EV_END;
                    return i;
                }
                b->line_len = 0;
                break;
            }
            if (c != '\r' && ++b->line_len > CHUNK_LINE_MAX)
                return body_error(b, "trailer line too long", ev);
            i++;
            break;
        default:
            break;
        }
    }
    *ev = HTTP_BODY_EV_NONE;
    return i;
}

size_t http_body_feed(struct http_body *b, const uint8_t *in, size_t len,
                      const uint8_t **data, size_t *data_len, enum http_body_event *ev)
{
    *data = NULL;
    *data_len = 0;
    if (b->failed) {
        *ev = HTTP_BODY_EV_ERROR;
        return 0;
    }
    if (b->done) {
        *ev = HTTP_BODY_EV_NONE;
        return 0;
    }
    switch (b->mode) {
    case HTTP_BODY_NONE:
        b->done = 1;
        *ev = HTTP_BODY_EV_END;
        return 0;
    case HTTP_BODY_CLOSE:
        *ev = len ? HTTP_BODY_EV_DATA : HTTP_BODY_EV_NONE;
        *data = in;
        *data_len = len;
        return len;
    case HTTP_BODY_LENGTH: {
        if (b->remaining == 0) {
            b->done = 1;
            *ev = HTTP_BODY_EV_END;
            return 0;
        }
        size_t take = len < b->remaining ? len : (size_t)b->remaining;
        if (take == 0) {
            *ev = HTTP_BODY_EV_NONE;
            return 0;
        }
        b->remaining -= take;
        *data = in;
        *data_len = take;
        *ev = HTTP_BODY_EV_DATA;
        return take;
    }
    case HTTP_BODY_CHUNKED:
        return chunked_feed(b, in, len, data, data_len, ev);
    }
    *ev = HTTP_BODY_EV_NONE;
    return 0;
}

int http_body_eof(const struct http_body *b)
{
    if (b->failed)
        return 0;
    return b->done || b->mode == HTTP_BODY_CLOSE || b->mode == HTTP_BODY_NONE ||
           (b->mode == HTTP_BODY_LENGTH && b->remaining == 0);
}
