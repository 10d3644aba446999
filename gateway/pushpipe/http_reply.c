#include "pushpipe/http_reply.h"

#include <stdio.h>
#include <string.h>

#include "core/ws_handshake.h"

int http_reply_simple(struct stream *s, int status, const char *extra_headers,
                      const char *body, uint64_t *bytes)
{
    char buf[2048];
    int n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n%s\r\n%s",
                     status, ws_status_text(status), strlen(body),
                     extra_headers ? extra_headers : "", body);
    if (n < 0 || (size_t)n >= sizeof buf)
        return status;
    /* A refusal is best effort: the peer may already be gone. */
    if (stream_write_all(s, buf, (size_t)n, 5000) == 0 && bytes)
        *bytes += (uint64_t)n;
    return status;
}
