/* http_response.h - the client side of HTTP/1.1, sans-I/O: parse a response
 * head (a WebSocket 101, a proxy's answer to CONNECT, an EventSource
 * stream), take its body apart (chunked, Content-Length or until close),
 * and check header lines a user wants to send.
 *
 * Like http_request.h: one pure function over the caller's bytes for the
 * head, nothing allocated, results point into the caller's buffer.
 */
#ifndef PUSHPIPE_HTTP_RESPONSE_H
#define PUSHPIPE_HTTP_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include "http_request.h"

struct http_response {
    int minor_version;
    int status;             /* 100..999 */
    const char *reason;     /* reason phrase as sent (may be empty) */
    size_t reason_len;
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t num_headers;
    size_t head_len;        /* bytes of the head, including the blank line */
};

/* Returns the head length (> 0) once a complete head is in buf, or
 * HTTP_PARSE_INCOMPLETE / HTTP_PARSE_BAD / HTTP_PARSE_TOO_LARGE (no blank
 * line within max_head bytes, or too many headers) / HTTP_PARSE_VERSION
 * (not HTTP/1.x).  Bare LF line endings are accepted. */
int http_parse_response(const char *buf, size_t len, size_t max_head,
                        struct http_response *res);

/* First header with that name (case-insensitive), or NULL. */
const struct http_header *http_response_header(const struct http_response *res,
                                               const char *name);

/* Copy every value of the header name into out, joined by ", " as RFC 9110
 * 5.3 allows.  Returns 1 when present, 0 when absent (out = ""), -1 when it
 * does not fit (then it must be treated as unusable, not truncated). */
int http_response_header_value(const struct http_response *res, const char *name,
                               char *out, size_t outlen);

/* 1 if the media type of a Content-Type value is type (case-insensitive,
 * parameters ignored): "text/event-stream; charset=utf-8". */
int http_media_type_is(const char *value, size_t len, const char *type);

/* 0 if line is "Name: value" with a token name and a value free of control
 * characters (so it cannot split a request), -1 otherwise. */
int http_header_line_check(const char *line);

/* 1 if line's name is name (case-insensitive). */
int http_header_line_is(const char *line, const char *name);

/* ---- the body ------------------------------------------------------------ */

enum http_body_mode {
    HTTP_BODY_NONE,         /* no body (1xx, 204, 304) */
    HTTP_BODY_LENGTH,       /* Content-Length */
    HTTP_BODY_CHUNKED,      /* Transfer-Encoding: chunked */
    HTTP_BODY_CLOSE         /* until the connection closes */
};

enum http_body_event {
    HTTP_BODY_EV_NONE = 0,  /* all input consumed, need more */
    HTTP_BODY_EV_DATA,      /* data/len: body bytes (pointing into the input) */
    HTTP_BODY_EV_END,       /* the body is complete; later input is not body */
    HTTP_BODY_EV_ERROR      /* malformed framing; error says why */
};

struct http_body {
    enum http_body_mode mode;
    uint64_t remaining;     /* LENGTH: bytes left; CHUNKED: of the chunk */
    int state;
    size_t line_len;        /* CHUNKED: bytes of the size/trailer line so far */
    int line_digits;
    int done, failed;
    const char *error;
};

/* How the body of res is framed (RFC 9112 6.3).  Returns 0, or -1 for
 * framing we must not guess at (a Transfer-Encoding that does not end in
 * chunked, a bad or conflicting Content-Length). */
int http_body_init(struct http_body *b, const struct http_response *res);

/* Pull decoder, like ws_parser_feed: call until HTTP_BODY_EV_NONE.  Returns
 * the bytes consumed. */
size_t http_body_feed(struct http_body *b, const uint8_t *in, size_t len,
                      const uint8_t **data, size_t *data_len, enum http_body_event *ev);

/* The connection ended: 1 if that completes the body (until-close bodies,
 * or one already complete), 0 if the body was cut short. */
int http_body_eof(const struct http_body *b);

#endif
