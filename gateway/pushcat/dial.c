#include "pushcat/dial.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "core/http_response.h"
#include "io/fd_stream.h"
#include "io/net_connect.h"
#include "io/tls_stream.h"
#include "pushcat/report.h"

volatile int pc_stop_signal;
int pc_wake_fd = -1;

static int left_ms(long long deadline)
{
    long long left = deadline - now_ms();
    return left < 0 ? 0 : left > 0x7fffffff ? 0x7fffffff : (int)left;
}

/* 1 ready, 0 timed out, -1 error or stop signal (errno EINTR). */
static int wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        if (pc_stop_signal) {
            errno = EINTR;
            return -1;
        }
        int left = left_ms(deadline);
        if (left == 0)
            return 0;
        struct pollfd p[2] = { { .fd = fd, .events = events }, { .fd = pc_wake_fd, .events = POLLIN } };
        int rc = poll(p, pc_wake_fd >= 0 ? 2 : 1, left);
        if (rc > 0 && p[0].revents)
            return 1;
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

ssize_t pc_read(struct stream *s, void *buf, size_t cap, long long deadline)
{
    for (;;) {
        /* Try first: TLS may hold bytes poll cannot see. */
        ssize_t n = stream_read(s, buf, cap);
        if (n >= 0)
            return n;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        int rc = wait_fd(s->rfd, POLLIN, deadline);
        if (rc == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (rc < 0)
            return -1;
    }
}

int pc_write_all(struct stream *s, const void *buf, size_t len, long long deadline)
{
    const char *p = buf;
    while (len) {
        ssize_t n = stream_write(s, p, len);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        int rc = wait_fd(s->wfd, POLLOUT, deadline);
        if (rc == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- proxy selection ------------------------------------------------------ */

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int pc_proxy_for(const struct pc_options *o, const struct url *target, struct url *proxy,
                 const char **source, char *err, size_t errlen)
{
    const char *spec = NULL;
    *source = NULL;
    if (o->proxy) {
        spec = *o->proxy ? o->proxy : NULL;
        *source = "--proxy";
    } else if (target->tls) {
        if ((spec = env_nonempty("https_proxy")))
            *source = "https_proxy";
        else if ((spec = env_nonempty("HTTPS_PROXY")))
            *source = "HTTPS_PROXY";
    } else {
        /* Lower case only, as curl: HTTP_PROXY can be set by a web server
         * from a request's Proxy header (httpoxy). */
        if ((spec = env_nonempty("http_proxy")))
            *source = "http_proxy";
    }
    if (!spec && !o->proxy) {
        if ((spec = env_nonempty("all_proxy")))
            *source = "all_proxy";
        else if ((spec = env_nonempty("ALL_PROXY")))
            *source = "ALL_PROXY";
    }
    if (!spec)
        return 0;
    const char *np = o->noproxy;
    if (!np && !(np = getenv("no_proxy")))
        np = getenv("NO_PROXY");
    if (url_no_proxy_match(np, target->host)) {
        pc_info("not using the proxy from %s for %s (no_proxy)", *source, target->host);
        return 0;
    }
    const char *why;
    if (url_parse_proxy(spec, proxy, &why) < 0) {
        snprintf(err, errlen, "proxy '%s' from %s: %s", spec, *source, why);
        return -1;
    }
    return 1;
}

/* HTTP CONNECT through the proxy on fd. */
static int proxy_connect(int fd, const struct url *proxy, const struct url *target,
                         long long deadline, char *err, size_t errlen)
{
    char authority[URL_HOST_MAX + 16], req[2048], creds[4 * URL_CRED_MAX];
    url_authority(target, 1, authority, sizeof authority);
    int n = snprintf(req, sizeof req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: pushcat/%s\r\n",
                     authority, authority, PACKAGE_VERSION);
    if (url_basic_credentials(proxy, creds, sizeof creds))
        n += snprintf(req + n, sizeof req - (size_t)n, "Proxy-Authorization: Basic %s\r\n", creds);
    n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    pc_head('>', req, (size_t)n);

    struct stream raw;
    if (fd_stream_init(&raw, fd, fd) < 0 || pc_write_all(&raw, req, (size_t)n, deadline) < 0) {
        snprintf(err, errlen, "proxy %s: cannot send CONNECT: %s", proxy->host, strerror(errno));
        return -1;
    }
    /* Byte by byte: whatever follows the proxy's head belongs to the tunnel
     * (and to TLS), so not one byte more may be taken.  Heads are short. */
    char head[8192];
    size_t have = 0;
    struct http_response res;
    for (;;) {
        ssize_t r = pc_read(&raw, head + have, 1, deadline);
        if (r <= 0) {
            snprintf(err, errlen, "proxy %s: %s before its answer to CONNECT", proxy->host,
                     r == 0 ? "connection closed" : errno == ETIMEDOUT ? "timed out" : strerror(errno));
            return -1;
        }
        have++;
        int rc = http_parse_response(head, have, sizeof head, &res);
        if (rc > 0)
            break;
        if (rc < 0) {
            snprintf(err, errlen, "proxy %s: malformed answer to CONNECT", proxy->host);
            return -1;
        }
    }
    pc_head('<', head, have);
    if (res.status < 200 || res.status > 299) {
        snprintf(err, errlen, "proxy %s refused CONNECT to %s: %d %.*s", proxy->host, authority,
                 res.status, (int)res.reason_len, res.reason);
        return -1;
    }
    return 0;
}

int pc_dial(const struct pc_options *o, const struct url *target, SSL_CTX *tls_ctx,
            long long deadline, struct stream *s, char *err, size_t errlen)
{
    struct url proxy;
    const char *source;
    int use_proxy = pc_proxy_for(o, target, &proxy, &source, err, errlen);
    if (use_proxy < 0)
        return PC_EXIT_USAGE;
    const struct url *hop = use_proxy ? &proxy : target;
    if (use_proxy)
        pc_info("using proxy %s:%u (from %s)", proxy.host, proxy.port, source);
    int fd = net_connect(hop->host, hop->port, left_ms(deadline), err, errlen);
    if (fd < 0)
        return PC_EXIT_CONNECT;
    pc_info("connected to %s port %u", hop->host, hop->port);
    if (use_proxy && proxy_connect(fd, &proxy, target, deadline, err, errlen) < 0) {
        close(fd);
        return PC_EXIT_CONNECT;
    }
    if (!target->tls) {
        if (fd_stream_init(s, fd, fd) < 0) {
            snprintf(err, errlen, "cannot set up the socket: %s", strerror(errno));
            close(fd);
            return PC_EXIT_CONNECT;
        }
        return PC_EXIT_OK;
    }
    if (tls_stream_init(s, fd, tls_ctx, TLS_ROLE_CLIENT, target->host, err, errlen) < 0) {
        close(fd);
        return PC_EXIT_TLS;
    }
    char tls_err[512];
    if (tls_stream_handshake(s, left_ms(deadline), tls_err, sizeof tls_err) < 0) {
        snprintf(err, errlen, "%s:%u: %s", target->host, target->port, tls_err);
        s->ops->close(s);
        return PC_EXIT_TLS;
    }
    if (pc_verbose()) {
        char desc[512];
        tls_stream_describe(s, desc, sizeof desc);
        pc_info("TLS: %s", desc);
    }
    return PC_EXIT_OK;
}
