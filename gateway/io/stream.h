/* stream.h - one byte-stream interface over whatever carries the client:
 * a socket (listener), CGI's stdin/stdout pair, a TLS session or a FastCGI
 * request.  The relay loop polls rfd/wfd and calls read/write; it never
 * knows which transport it is talking to.
 *
 * read/write follow read(2)/write(2): > 0 bytes moved, 0 end of input (read
 * only), -1 with errno (EAGAIN/EWOULDBLOCK when the descriptor is not ready).
 */
#ifndef PUSHPIPE_STREAM_H
#define PUSHPIPE_STREAM_H

#include <stddef.h>
#include <sys/types.h>

struct stream;

struct stream_ops {
    ssize_t (*read)(struct stream *s, void *buf, size_t len);
    ssize_t (*write)(struct stream *s, const void *buf, size_t len);
    /* No more output will be written (half-close where supported). */
    int (*shutdown_write)(struct stream *s);
    /* Release everything; the stream is unusable afterwards. */
    void (*close)(struct stream *s);
    /* Optional (NULL: never): 1 if read would return bytes already held
     * in user space (TLS records decrypted ahead), which poll on rfd cannot
     * report; an event loop must read again before it waits. */
    int (*pending)(struct stream *s);
};

struct stream {
    const struct stream_ops *ops;
    int rfd;    /* poll for POLLIN */
    int wfd;    /* poll for POLLOUT (may equal rfd) */
    void *impl; /* transport-private state */
};

static inline ssize_t stream_read(struct stream *s, void *buf, size_t len)
{
    return s->ops->read(s, buf, len);
}

static inline int stream_pending(struct stream *s)
{
    return s->ops->pending ? s->ops->pending(s) : 0;
}

static inline ssize_t stream_write(struct stream *s, const void *buf, size_t len)
{
    return s->ops->write(s, buf, len);
}

/* Write all of buf, waiting for the descriptor up to timeout_ms in total.
 * For short blocking exchanges (an error response, a static file) outside
 * the relay loop.  Returns 0, or -1 (errno ETIMEDOUT on timeout). */
int stream_write_all(struct stream *s, const void *buf, size_t len, int timeout_ms);

#endif
