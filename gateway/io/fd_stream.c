#include "io/fd_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

static ssize_t fd_read(struct stream *s, void *buf, size_t len)
{
    ssize_t n;
    do
        n = read(s->rfd, buf, len);
    while (n < 0 && errno == EINTR);
    return n;
}

static ssize_t fd_write(struct stream *s, const void *buf, size_t len)
{
    ssize_t n;
    do
        n = s->rfd == s->wfd ? send(s->wfd, buf, len, MSG_NOSIGNAL) : write(s->wfd, buf, len);
    while (n < 0 && errno == EINTR);
    return n;
}

static int fd_shutdown_write(struct stream *s)
{
    if (s->wfd < 0)
        return 0;
    if (s->rfd == s->wfd)
        return shutdown(s->wfd, SHUT_WR);
    int r = close(s->wfd);
    s->wfd = -1;
    return r;
}

static void fd_close(struct stream *s)
{
    if (s->wfd >= 0 && s->wfd != s->rfd)
        close(s->wfd);
    if (s->rfd >= 0)
        close(s->rfd);
    s->rfd = s->wfd = -1;
}

static const struct stream_ops fd_ops = {
    .read = fd_read,
    .write = fd_write,
    .shutdown_write = fd_shutdown_write,
    .close = fd_close,
};

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    /* already so (accept4 with SOCK_NONBLOCK): spare the second call */
    return fl & O_NONBLOCK ? 0 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int fd_stream_init(struct stream *s, int rfd, int wfd)
{
    s->ops = &fd_ops;
    s->rfd = rfd;
    s->wfd = wfd;
    s->impl = NULL;
    if (set_nonblock(rfd) < 0)
        return -1;
    if (wfd != rfd && set_nonblock(wfd) < 0)
        return -1;
    return 0;
}
