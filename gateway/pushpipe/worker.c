#include "pushpipe/worker.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "core/http_request.h"
#include "core/request_env.h"
#include "core/ws_handshake.h"
#include "io/fd_stream.h"
#include "io/net.h"
#include "io/tls_stream.h"
#include "io/mono_clock.h"
#include "pushpipe/log.h"
#include "pushpipe/request.h"

#define ENV_ARENA (64 * 1024)

static SSL_CTX *tls_ctx;

void worker_set_tls(struct ssl_ctx_st *ctx)
{
    tls_ctx = ctx;
}

/* Read until a complete head is parsed.  Returns the head length, or a
 * negative HTTP status to answer with (0 when the client went away). */
static int read_head(struct stream *s, char *buf, size_t cap, size_t *have,
                     const struct options *o, struct http_request *req)
{
    long long deadline = now_ms() + o->head_timeout_ms;
    for (;;) {
        if (*have) {
            /* HTTP_PARSE_* errors are negative statuses already */
            int r = http_parse_request(buf, *have, o->max_head, req);
            if (r != HTTP_PARSE_INCOMPLETE)
                return r;
        }
        if (*have == cap)
            return -431;
        long long left = deadline - now_ms();
        if (left <= 0)
            return -408;
        struct pollfd p = { .fd = s->rfd, .events = POLLIN };
        int pr = poll(&p, 1, (int)left);
        if (pr < 0 && errno != EINTR)
            return 0;
        if (pr <= 0)
            continue;
        ssize_t n = stream_read(s, buf + *have, cap - *have);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            return 0;
        }
        *have += (size_t)n;
    }
}

/* The CGI/1.1 variables that do not come from the request itself. */
int worker_server_vars(struct request_env *e, int fd)
{
    char peer[64], peer_port[16], local[64], local_port[16];
    net_peer(fd, peer, sizeof peer, peer_port, sizeof peer_port);
    net_local(fd, local, sizeof local, local_port, sizeof local_port);
    char name[256] = "";
    const char *host = request_env_get(e, "HTTP_HOST");
    if (host) {
        /* SERVER_NAME is the Host header without its port. */
        const char *end = host + strlen(host);
        if (host[0] == '[') {
            const char *rb = strchr(host, ']');
            if (rb)
                end = rb + 1;
        } else {
            const char *colon = strrchr(host, ':');
            if (colon)
                end = colon;
        }
        snprintf(name, sizeof name, "%.*s", (int)(end - host), host);
    }
    if (!name[0])
        snprintf(name, sizeof name, "%s", local);
    int rc = 0;
    rc |= request_env_sets(e, "GATEWAY_INTERFACE", "CGI/1.1");
    rc |= request_env_sets(e, "SERVER_SOFTWARE", "pushpipe/" PACKAGE_VERSION);
    rc |= request_env_sets(e, "SERVER_NAME", name);
    rc |= request_env_sets(e, "SERVER_PORT", local_port);
    rc |= request_env_sets(e, "REMOTE_ADDR", peer);
    rc |= request_env_sets(e, "REMOTE_PORT", peer_port);
    if (tls_ctx)
        rc |= request_env_sets(e, "HTTPS", "on");
    return rc ? -1 : 0;
}

void worker_socket_options(int fd)
{
    /* Every write carries whole frames (or whole events), so Nagle's delay
     * only adds latency; fails harmlessly on unix sockets. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void worker_serve_http(int fd, const struct options *o, unsigned long conn_id)
{
    struct stream s;
    struct request r;
    struct http_request req;
    request_init(&r, o, conn_id, TRANSPORT_LISTEN, &s);
    char tag[32];
    snprintf(tag, sizeof tag, "#%lu", conn_id);
    log_set_tag(tag);
    worker_socket_options(fd);
    if (tls_ctx) {
        /* The handshake is part of the request head's time budget. */
        char err[256];
        if (tls_stream_init(&s, fd, tls_ctx, TLS_ROLE_SERVER, NULL, err, sizeof err) < 0) {
            log_msg(LOG_ERROR, "TLS: %s", err);
            close(fd);
            return;
        }
        if (tls_stream_handshake(&s, (int)o->head_timeout_ms, err, sizeof err) < 0) {
            char peer[64], port[16];
            net_peer(fd, peer, sizeof peer, port, sizeof port);
            log_msg(LOG_INFO, "%s:%s %s", peer, port, err);
            s.ops->close(&s);
            return;
        }
    } else if (fd_stream_init(&s, fd, fd) < 0) {
        close(fd);
        return;
    }
    /* Room for the head plus frames a client sends right behind it. */
    size_t cap = o->max_head + 16 * 1024, have = 0;
    char *head = malloc(cap);
    if (!head || request_env_init(&r.env, ENV_ARENA) < 0) {
        log_msg(LOG_ERROR, "out of memory");
        free(head);
        s.ops->close(&s);
        return;
    }

    int n = read_head(&s, head, cap, &have, o, &req);
    r.bytes_in = have;
    if (n <= 0) {
        if (n < 0) {
            char peer[64], port[16];
            net_peer(fd, peer, sizeof peer, port, sizeof port);
            log_msg(LOG_INFO, "%s:%s bad request head: %d %s", peer, port, -n, ws_status_text(-n));
            request_reply(&r, -n, NULL, ws_status_text(-n));
        }
    } else if (request_env_from_http(&r.env, &req) < 0 || worker_server_vars(&r.env, fd) < 0) {
        request_reply(&r, 400, NULL, "Bad Request\n");
    } else {
        r.early = (const uint8_t *)head + n;
        r.early_len = have - (size_t)n;
        request_dispatch(&r);
    }
    if (!r.stream_closed) {
        s.ops->shutdown_write(&s);
        s.ops->close(&s);
    }
    request_env_free(&r.env);
    free(head);
}
