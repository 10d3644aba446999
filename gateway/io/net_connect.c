#include "io/net_connect.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "io/mono_clock.h"

/* One address: 0 connected, -1 failed (errno set). */
static int try_connect(int fd, const struct addrinfo *ai, long long deadline)
{
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return 0;
    if (errno != EINPROGRESS)
        return -1;
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int rc = poll(&p, 1, (int)left);
        if (rc < 0)
            return -1;  /* EINTR included: the caller was asked to stop */
        if (rc == 0)
            continue;
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            return -1;
        if (soerr) {
            errno = soerr;
            return -1;
        }
        return 0;
    }
}

int net_connect(const char *host, unsigned port, int timeout_ms, char *err, size_t errlen)
{
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%u", port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
    int rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc == EAI_BADFLAGS || (rc == EAI_NONAME && strchr(host, ':'))) {
        /* AI_ADDRCONFIG hides ::1 on hosts with no IPv6 address but
         * loopback; try again without it. */
        hints.ai_flags = AI_NUMERICSERV;
        rc = getaddrinfo(host, portstr, &hints, &res);
    }
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", host,
                 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    long long deadline = now_ms() + timeout_ms;
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        if (try_connect(fd, ai, deadline) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
        if (saved == EINTR || saved == ETIMEDOUT)
            break;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "cannot connect to %s port %u: %s", host, port,
                 saved == ETIMEDOUT ? "timed out" : strerror(saved));
        errno = saved;
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}
