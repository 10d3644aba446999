#include "pushpipe/worker.h"

#include <errno.h>
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
#include "pushpipe/handler.h"
#include "pushpipe/http_reply.h"
#include "pushpipe/log.h"
#include "pushpipe/relay.h"
#include "pushpipe/route.h"
#include "pushpipe/static_files.h"

#define ENV_ARENA (64 * 1024)
#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

struct conn {
    const struct options *o;
    unsigned long id;
    struct stream s;
    char peer[64], peer_port[16], local[64], local_port[16];
    char *head;                 /* request head buffer, max_head + extra */
    size_t head_cap, have;
    struct http_request req;
    struct request_env env;
    struct timespec start;
    /* access log fields */
    int status;
    const char *proto;
    uint64_t bytes_in, bytes_out;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read until a complete head is parsed.  Returns the head length, or a
 * negative HTTP status to answer with (0 when the client went away). */
static int read_head(struct conn *c)
{
    long long deadline = now_ms() + c->o->head_timeout_ms;
    for (;;) {
        if (c->have) {
            int r = http_parse_request(c->head, c->have, c->o->max_head, &c->req);
            if (r > 0)
                return r;
            if (r == HTTP_PARSE_BAD)
                return -400;
            if (r == HTTP_PARSE_TOO_LARGE)
                return -431;
            if (r == HTTP_PARSE_VERSION)
                return -505;
        }
        if (c->have == c->head_cap)
            return -431;
        long long left = deadline - now_ms();
        if (left <= 0)
            return -408;
        struct pollfd p = { .fd = c->s.rfd, .events = POLLIN };
        int pr = poll(&p, 1, (int)left);
        if (pr < 0 && errno != EINTR)
            return 0;
        if (pr <= 0)
            continue;
        ssize_t n = stream_read(&c->s, c->head + c->have, c->head_cap - c->have);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            return 0;
        }
        c->have += (size_t)n;
        c->bytes_in += (uint64_t)n;
    }
}

/* The CGI/1.1 variables that do not come from the request itself. */
static int add_server_vars(struct conn *c)
{
    struct request_env *e = &c->env;
    char name[256] = "";
    const char *host = request_env_get(e, "HTTP_HOST");
    if (host) {
        /* SERVER_NAME is the Host header without its port. */
        size_t n = strlen(host);
        const char *end = host + n;
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
        snprintf(name, sizeof name, "%s", c->local);
    int rc = 0;
    rc |= request_env_sets(e, "GATEWAY_INTERFACE", "CGI/1.1");
    rc |= request_env_sets(e, "SERVER_SOFTWARE", "pushpipe/" PACKAGE_VERSION);
    rc |= request_env_sets(e, "SERVER_NAME", name);
    rc |= request_env_sets(e, "SERVER_PORT", c->local_port);
    rc |= request_env_sets(e, "REMOTE_ADDR", c->peer);
    rc |= request_env_sets(e, "REMOTE_PORT", c->peer_port);
    return rc ? -1 : 0;
}

/* Handlers get a clean environment: the request's variables, PATH (so
 * scripts find their tools) and what --passenv names. */
static int add_handler_vars(struct conn *c, const char *version, const char *subprotocol)
{
    struct request_env *e = &c->env;
    const struct options *o = c->o;
    int rc = 0;
    rc |= request_env_sets(e, "PUSHPIPE_PROTOCOL", "websocket");
    rc |= request_env_sets(e, "PUSHPIPE_WS_VERSION", version);
    rc |= request_env_sets(e, "PUSHPIPE_WS_PROTOCOL", subprotocol);
    rc |= request_env_sets(e, "PUSHPIPE_MODE",
                           o->mode == MODE_LINES ? "lines" : o->mode == MODE_BINARY ? "binary" : "framed");
    char id[32];
    snprintf(id, sizeof id, "%lu", c->id);
    rc |= request_env_sets(e, "PUSHPIPE_CONNECTION_ID", id);
    rc |= request_env_sets(e, "PATH", DEFAULT_PATH);
    for (size_t i = 0; i < o->npassenv; i++) {
        const char *v = getenv(o->passenv[i]);
        if (v)
            rc |= request_env_sets(e, o->passenv[i], v);
    }
    return rc ? -1 : 0;
}

static void serve_websocket(struct conn *c, size_t head_len)
{
    const struct options *o = c->o;
    struct route rt;
    char *argv_dir[2];
    char *const *argv = o->command;
    const char *path = request_env_get(&c->env, "SCRIPT_NAME");

    c->proto = "websocket";
    if (o->dir) {
        if (route_resolve(o->dir, path ? path : "/", 1, &rt) != ROUTE_FILE) {
            c->status = http_reply_simple(&c->s, 404, NULL, "No handler for this path\n", &c->bytes_out);
            return;
        }
        request_env_sets(&c->env, "SCRIPT_NAME", rt.script_name);
        request_env_sets(&c->env, "PATH_INFO", rt.path_info);
        argv_dir[0] = rt.file;
        argv_dir[1] = NULL;
        argv = argv_dir;
    }

    struct ws_server_config cfg = { .protocols = o->protocols, .nprotocols = o->nprotocols };
    struct ws_handshake hs;
    if (ws_handshake_server(&c->env, &cfg, &hs) != 101) {
        log_msg(LOG_INFO, "handshake refused (%d): %s", hs.status, hs.error ? hs.error : "");
        char extra[2100];
        snprintf(extra, sizeof extra, "%.*s", (int)hs.headers_len, hs.headers);
        c->status = http_reply_simple(&c->s, hs.status, extra, ws_status_text(hs.status), &c->bytes_out);
        return;
    }
    char version[8];
    snprintf(version, sizeof version, "%d", hs.version);
    if (add_handler_vars(c, version, hs.protocol) < 0) {
        log_msg(LOG_ERROR, "request environment too large");
        c->status = http_reply_simple(&c->s, 431, NULL, "Request too large\n", &c->bytes_out);
        return;
    }

    /* Spawn before answering: a handler that cannot start gets an HTTP
     * error the client can see, not a WebSocket that closes at once. */
    struct handler h;
    int err = handler_spawn(&h, argv, c->env.strings);
    if (err) {
        log_msg(LOG_ERROR, "cannot start handler %s: %s", argv[0], strerror(err));
        if (err == EAGAIN)
            c->status = http_reply_simple(&c->s, 503, "Retry-After: 1\r\n", "Try again later\n", &c->bytes_out);
        else
            c->status = http_reply_simple(&c->s, 500, NULL, "Handler failed to start\n", &c->bytes_out);
        return;
    }

    char resp[2600];
    int n = snprintf(resp, sizeof resp, "HTTP/1.1 101 Switching Protocols\r\n%.*s\r\n",
                     (int)hs.headers_len, hs.headers);
    if (stream_write_all(&c->s, resp, (size_t)n, 10000) < 0) {
        handler_finish(&h, 0, o->kill_grace_ms);
        c->status = 101;
        return;
    }
    c->status = 101;
    c->bytes_out += (uint64_t)n;

    struct relay_result res;
    relay_websocket(&c->s, (const uint8_t *)c->head + head_len, c->have - head_len, &h, o, &res);
    c->bytes_in += res.bytes_in;
    c->bytes_out += res.bytes_out;

    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    double secs = (double)(end.tv_sec - c->start.tv_sec) + (double)(end.tv_nsec - c->start.tv_nsec) / 1e9;
    char st[64];
    handler_describe_status(h.status, st, sizeof st);
    log_msg(LOG_INFO, "%s:%s websocket/%d %s%s%s %s close=%u %s; %.3fs in=%llu/%llu out=%llu/%llu (bytes/msgs) handler %s",
            c->peer, c->peer_port, hs.version, path ? path : "/", hs.protocol[0] ? " protocol=" : "",
            hs.protocol, "listen", res.close_code, res.end, secs,
            (unsigned long long)c->bytes_in, (unsigned long long)res.msgs_in,
            (unsigned long long)c->bytes_out, (unsigned long long)res.msgs_out, st);
    c->s.rfd = c->s.wfd = -1;   /* relay closed it */
}

static void log_plain(struct conn *c)
{
    const char *m = request_env_get(&c->env, "REQUEST_METHOD");
    const char *u = request_env_get(&c->env, "REQUEST_URI");
    log_msg(LOG_INFO, "%s:%s %s %s %d %s out=%llu", c->peer, c->peer_port, m ? m : "-",
            u ? u : "-", c->status, c->proto, (unsigned long long)c->bytes_out);
}

void worker_serve_http(int fd, const struct options *o, unsigned long conn_id)
{
    struct conn c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.id = conn_id;
    c.proto = "http";
    clock_gettime(CLOCK_MONOTONIC, &c.start);
    char tag[32];
    snprintf(tag, sizeof tag, "#%lu", conn_id);
    log_set_tag(tag);
    net_peer(fd, c.peer, sizeof c.peer, c.peer_port, sizeof c.peer_port);
    net_local(fd, c.local, sizeof c.local, c.local_port, sizeof c.local_port);
    if (fd_stream_init(&c.s, fd, fd) < 0) {
        close(fd);
        return;
    }
    /* Room for the head plus frames a client sends right behind it. */
    c.head_cap = o->max_head + 16 * 1024;
    c.head = malloc(c.head_cap);
    if (!c.head || request_env_init(&c.env, ENV_ARENA) < 0) {
        log_msg(LOG_ERROR, "out of memory");
        free(c.head);
        c.s.ops->close(&c.s);
        return;
    }

    int r = read_head(&c);
    if (r <= 0) {
        if (r < 0) {
            c.status = http_reply_simple(&c.s, -r, NULL, ws_status_text(-r), &c.bytes_out);
            log_msg(LOG_INFO, "%s:%s bad request head: %d", c.peer, c.peer_port, -r);
        }
        goto done;
    }
    if (request_env_from_http(&c.env, &c.req) < 0 || add_server_vars(&c) < 0) {
        c.status = http_reply_simple(&c.s, 400, NULL, "Bad Request\n", &c.bytes_out);
        log_plain(&c);
        goto done;
    }

    const char *method = request_env_get(&c.env, "REQUEST_METHOD");
    const char *path = request_env_get(&c.env, "SCRIPT_NAME");
    if (ws_is_upgrade_request(&c.env)) {
        serve_websocket(&c, (size_t)r);
        if (c.status != 101)
            log_plain(&c);
    } else if (o->static_dir && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)) {
        c.proto = "static";
        c.status = static_serve(&c.s, o->static_dir, path ? path : "/", method[0] == 'H', &c.bytes_out);
        log_plain(&c);
    } else if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
        c.status = http_reply_simple(&c.s, 404, NULL,
                                     "Not Found: this address serves WebSocket connections\n", &c.bytes_out);
        log_plain(&c);
    } else {
        c.status = http_reply_simple(&c.s, 405, "Allow: GET, HEAD\r\n", "Method Not Allowed\n", &c.bytes_out);
        log_plain(&c);
    }

done:
    if (c.s.rfd >= 0) {
        c.s.ops->shutdown_write(&c.s);
        c.s.ops->close(&c.s);
    }
    request_env_free(&c.env);
    free(c.head);
}
