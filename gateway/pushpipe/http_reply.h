/* http_reply.h - short complete HTTP responses written by the listener
 * (errors, refusals, redirects). */
#ifndef PUSHPIPE_HTTP_REPLY_H
#define PUSHPIPE_HTTP_REPLY_H

#include <stdint.h>

#include "io/stream.h"

/* Write "HTTP/1.1 STATUS TEXT" with extra_headers ("Name: v\r\n" lines or
 * NULL), a text/plain body and Connection: close.  Returns status. */
int http_reply_simple(struct stream *s, int status, const char *extra_headers,
                      const char *body, uint64_t *bytes);

#endif
