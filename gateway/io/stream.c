#include "io/stream.h"

#include <errno.h>
#include <poll.h>
#include <time.h>

#include "io/mono_clock.h"

int stream_write_all(struct stream *s, const void *buf, size_t len, int timeout_ms)
{
    const char *p = buf;
    long long deadline = now_ms() + timeout_ms;
    while (len) {
        ssize_t n = stream_write(s, p, len);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
        long long left = deadline - now_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd pfd = { .fd = s->wfd, .events = POLLOUT };
        if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
            return -1;
    }
    return 0;
}
