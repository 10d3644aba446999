/* http_request.h - parse an HTTP/1.x request head (sans-I/O).
 *
 * One pure function over a byte buffer, in the manner of picohttpparser:
 * the caller accumulates bytes and calls http_parse_request until it stops
 * returning HTTP_PARSE_INCOMPLETE.  The parsed request points into the
 * caller's buffer; nothing is allocated.
 */
#ifndef PUSHPIPE_HTTP_REQUEST_H
#define PUSHPIPE_HTTP_REQUEST_H

#include <stddef.h>

#define HTTP_MAX_HEADERS 100

struct http_header {
    const char *name;
    size_t name_len;
    const char *value;      /* leading/trailing whitespace stripped */
    size_t value_len;
};

struct http_request {
    const char *method;
    size_t method_len;
    const char *target;     /* request-target as sent ("/chat?room=1") */
    size_t target_len;
    int minor_version;      /* 0 or 1 for HTTP/1.0, HTTP/1.1 */
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t num_headers;
    size_t head_len;        /* bytes of the head, including the blank line */
};

enum {
    HTTP_PARSE_INCOMPLETE = 0,   /* need more bytes */
    HTTP_PARSE_BAD = -400,       /* malformed: answer 400 */
    HTTP_PARSE_TOO_LARGE = -431, /* head exceeds max_head or too many headers: 431 */
    HTTP_PARSE_VERSION = -505    /* not HTTP/1.x: answer 505 */
};

/* Returns the head length (> 0) once a complete head is in buf, or one of
 * the HTTP_PARSE_* values.  max_head bounds the head: if no blank line has
 * been seen within max_head bytes the result is HTTP_PARSE_TOO_LARGE.
 * Accepts bare LF line endings as well as CRLF.  Rejects obsolete line
 * folding, control characters in values, header names that are not RFC 9110
 * tokens, and whitespace before the colon. */
int http_parse_request(const char *buf, size_t len, size_t max_head,
                       struct http_request *req);

/* First header with that name (case-insensitive), or NULL. */
const struct http_header *http_find_header(const struct http_request *req,
                                           const char *name);

/* 1 if the comma-separated list `value` contains `token` (case-insensitive,
 * optional whitespace around elements, parameters after ';' ignored). */
int http_list_has_token(const char *value, size_t value_len, const char *token);

/* 1 if s[0..n) is an RFC 9110 token (non-empty, tchar only). */
int http_is_token(const char *s, size_t n);

#endif
