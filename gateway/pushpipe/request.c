#include "pushpipe/request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "core/ws_deflate.h"
#include "core/sse.h"
#include "core/ws_handshake.h"
#include "core/ws_hixie.h"
#include "pushpipe/console.h"
#include "pushpipe/handler.h"
#include "pushpipe/handler_protocols.h"
#include "pushpipe/log.h"
#include "pushpipe/relay.h"
#include "pushpipe/route.h"
#include "pushpipe/sse_relay.h"
#include "pushpipe/static_files.h"

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define HEAD_TIMEOUT_MS 10000

const char *transport_name(enum transport t)
{
    switch (t) {
    case TRANSPORT_LISTEN: return "listen";
    case TRANSPORT_CGI: return "cgi";
    case TRANSPORT_FCGI: return "fcgi";
    }
    return "?";
}

void request_init(struct request *r, const struct options *o, unsigned long id,
                  enum transport t, struct stream *s)
{
    memset(r, 0, sizeof *r);
    r->o = o;
    r->id = id;
    r->transport = t;
    r->s = s;
    r->proto = "http";
    clock_gettime(CLOCK_MONOTONIC, &r->start);
}

/* Append "Name: value\r\n" for each line of list. */
static int add_header_lines(char *buf, size_t cap, size_t *len, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int k = snprintf(buf + *len, cap - *len, "%s\r\n", list[i]);
        if (k < 0 || (size_t)k >= cap - *len)
            return -1;
        *len += (size_t)k;
    }
    return 0;
}

int request_write_head_reason(struct request *r, int status, const char *reason,
                              const char *headers)
{
    char buf[8192];
    int n;
    /* Through CGI and FastCGI the web server owns the status line and the
     * connection headers; it only reads our Status header. */
    if (r->transport == TRANSPORT_LISTEN)
        n = snprintf(buf, sizeof buf, "HTTP/1.1 %d %s\r\n%s%s", status, reason,
                     status == 101 ? "" : "Connection: close\r\n", headers ? headers : "");
    else
        n = snprintf(buf, sizeof buf, "Status: %d %s\r\n%s", status, reason, headers ? headers : "");
    if (n < 0 || (size_t)n >= sizeof buf - 2)
        return -1;
    size_t len = (size_t)n;
    if (add_header_lines(buf, sizeof buf - 2, &len, r->o->headers, r->o->nheaders) < 0)
        return -1;
    memcpy(buf + len, "\r\n", 2);
    n = (int)len + 2;
    if (stream_write_all(r->s, buf, (size_t)n, HEAD_TIMEOUT_MS) < 0)
        return -1;
    r->bytes_out += (uint64_t)n;
    return 0;
}

int request_write_head(struct request *r, int status, const char *headers)
{
    return request_write_head_reason(r, status, ws_status_text(status), headers);
}

int request_reply(struct request *r, int status, const char *headers, const char *body)
{
    char h[2300];
    snprintf(h, sizeof h, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n%s",
             strlen(body), headers ? headers : "");
    /* A refusal is best effort: the peer may already be gone. */
    if (request_write_head(r, status, h) == 0 &&
        stream_write_all(r->s, body, strlen(body), HEAD_TIMEOUT_MS) == 0)
        r->bytes_out += strlen(body);
    r->status = status;
    return status;
}

/* Handlers get a clean environment: the request's variables, PATH (so
 * scripts find their tools) and what --passenv names. */
static int add_handler_vars(struct request *r, const char *version, const char *subprotocol)
{
    struct request_env *e = &r->env;
    const struct options *o = r->o;
    int rc = 0;
    rc |= request_env_sets(e, "PUSHPIPE_PROTOCOL", "websocket");
    rc |= request_env_sets(e, "PUSHPIPE_WS_VERSION", version);
    rc |= request_env_sets(e, "PUSHPIPE_WS_PROTOCOL", subprotocol);
    rc |= request_env_sets(e, "PUSHPIPE_MODE",
                           o->mode == MODE_LINES ? "lines" : o->mode == MODE_BINARY ? "binary" : "framed");
    rc |= request_env_sets(e, "PUSHPIPE_TRANSPORT", transport_name(r->transport));
    char id[32];
    snprintf(id, sizeof id, "%lu", r->id);
    rc |= request_env_sets(e, "PUSHPIPE_CONNECTION_ID", id);
    rc |= request_env_sets(e, "PATH", DEFAULT_PATH);
    for (size_t i = 0; i < o->npassenv; i++) {
        const char *v = getenv(o->passenv[i]);
        if (v)
            rc |= request_env_sets(e, o->passenv[i], v);
    }
    return rc ? -1 : 0;
}

/* The argv of the handler for this request: the one COMMAND, or the
 * executable that --dir maps the path to.  NULL: 404 was answered. */
static char *const *choose_handler(struct request *r, char *argv_dir[2], struct route *rt)
{
    const struct options *o = r->o;
    if (!o->dir)
        return o->command;
    const char *path = request_env_get(&r->env, "SCRIPT_NAME");
    if (route_resolve(o->dir, path ? path : "/", 1, rt) != ROUTE_FILE) {
        request_reply(r, 404, NULL, "No handler for this path\n");
        return NULL;
    }
    request_env_sets(&r->env, "SCRIPT_NAME", rt->script_name);
    request_env_sets(&r->env, "PATH_INFO", rt->path_info);
    argv_dir[0] = rt->file;
    argv_dir[1] = NULL;
    return argv_dir;
}

int request_spawn_handler(struct request *r, struct handler *h, char *const *argv)
{
    int err = handler_spawn(h, argv, r->env.strings);
    if (!err)
        return 0;
    log_msg(LOG_ERROR, "cannot start handler %s: %s", argv[0], strerror(err));
    if (err == EAGAIN)
        request_reply(r, 503, "Retry-After: 1\r\n", "Try again later\n");
    else
        request_reply(r, 500, NULL, "Handler failed to start\n");
    return -1;
}

/* The EventSource path (sse_relay.c) takes the same two steps. */
int request_handler_vars(struct request *r, const char *version, const char *subprotocol)
{
    return add_handler_vars(r, version, subprotocol);
}

char *const *request_choose_handler(struct request *r, char *argv_dir[2], struct route *rt)
{
    return choose_handler(r, argv_dir, rt);
}

static double elapsed(const struct request *r)
{
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    return (double)(end.tv_sec - r->start.tv_sec) + (double)(end.tv_nsec - r->start.tv_nsec) / 1e9;
}

/* "https://example.com:443" and Host "example.com" are the same origin. */
static int origin_matches_host(const char *origin, const char *host)
{
    const char *p = strstr(origin, "://");
    if (!p || !host)
        return 0;
    int https = strncasecmp(origin, "https", 5) == 0 || strncasecmp(origin, "wss", 3) == 0;
    p += 3;
    size_t olen = strlen(p), hlen = strlen(host);
    if (olen == hlen && strncasecmp(p, host, olen) == 0)
        return 1;
    const char *dflt = https ? ":443" : ":80";
    size_t dl = strlen(dflt);
    if (olen == hlen + dl && strncasecmp(p, host, hlen) == 0 && strcmp(p + hlen, dflt) == 0)
        return 1;
    if (hlen == olen + dl && strncasecmp(p, host, olen) == 0 && strcmp(host + olen, dflt) == 0)
        return 1;
    return 0;
}

/* --origin / --same-origin: browsers always send Origin, so checking it
 * stops other sites' pages from opening connections with the user's
 * cookies (cross-site WebSocket hijacking).  Clients that send no Origin
 * are not browsers and are let through. */
int request_origin_allowed(struct request *r)
{
    const struct options *o = r->o;
    if (!o->norigins && !o->same_origin)
        return 1;
    const char *origin = request_env_get(&r->env, "HTTP_ORIGIN");
    if (!origin)
        origin = request_env_get(&r->env, "HTTP_SEC_WEBSOCKET_ORIGIN");
    if (!origin)
        return 1;
    if (o->same_origin && origin_matches_host(origin, request_env_get(&r->env, "HTTP_HOST")))
        return 1;
    for (size_t i = 0; i < o->norigins; i++)
        if (strcasecmp(origin, o->origins[i]) == 0 || strcmp(o->origins[i], "*") == 0)
            return 1;
    log_msg(LOG_INFO, "origin %s not allowed: 403", origin);
    return 0;
}

/* The handshake for whichever protocol version the client speaks: the
 * RFC 6455 family (13, 8, 7) or the old drafts (76, 75).  Returns the
 * status; on 101, hs holds the response headers. */
static int handshake(struct request *r, const struct ws_server_config *cfg, struct ws_handshake *hs,
                     struct ws_deflate_params *dp, int *deflate)
{
    const struct options *o = r->o;
    *deflate = 0;
    if (ws_hixie_is_request(&r->env)) {
        if (ws_hixie_handshake(&r->env, cfg, NULL, hs) != 101)
            return hs->status;
        if (o->mode == MODE_BINARY) {
            /* The drafts carry only UTF-8 text: binary mode would lose
             * everything.  Framed mode works: text records both ways. */
            hs->status = 400;
            hs->headers_len = 0;
            hs->headers[0] = '\0';
            hs->error = "draft-75/76 clients cannot use --mode binary";
        }
        return hs->status;
    }
    if (ws_handshake_server(&r->env, cfg, hs) != 101)
        return hs->status;
    struct ws_deflate_config dc = { .enabled = !o->no_deflate, .no_context_takeover = 0 };
    char ext[WS_DEFLATE_HEADER_MAX];
    if (ws_deflate_negotiate(request_env_get(&r->env, "HTTP_SEC_WEBSOCKET_EXTENSIONS"), &dc, dp, ext) == 1) {
        int k = snprintf(hs->headers + hs->headers_len, sizeof hs->headers - hs->headers_len,
                         "Sec-WebSocket-Extensions: %s\r\n", ext);
        if (k > 0 && (size_t)k < sizeof hs->headers - hs->headers_len) {
            hs->headers_len += (size_t)k;
            *deflate = 1;
        }
    }
    return 101;
}

int request_websocket_open(struct request *r, struct ws_session *ws)
{
    const struct options *o = r->o;
    struct route rt;
    char *argv_dir[2];
    r->proto = "websocket";
    if (!request_origin_allowed(r)) {
        request_reply(r, 403, NULL, "Forbidden: origin not allowed\n");
        return 0;
    }
    char *const *argv = choose_handler(r, argv_dir, &rt);
    if (!argv)
        return 0;

    struct ws_handshake hs;
    struct handler_protocols hp;
    handler_protocols_load(&hp, o, o->dir ? &rt : NULL);
    if (handshake(r, &hp.cfg, &hs, &ws->dp, &ws->deflate) != 101) {
        log_msg(LOG_INFO, "handshake refused (%d): %s", hs.status, hs.error ? hs.error : "");
        char extra[2100];
        snprintf(extra, sizeof extra, "%.*s", (int)hs.headers_len, hs.headers);
        char body[160];
        snprintf(body, sizeof body, "%s: %s\n", ws_status_text(hs.status), hs.error ? hs.error : "");
        request_reply(r, hs.status, extra, body);
        return 0;
    }
    ws->version = hs.version;
    snprintf(ws->protocol, sizeof ws->protocol, "%s", hs.protocol);
    char version[8];
    snprintf(version, sizeof version, "%d", hs.version);
    if (add_handler_vars(r, version, hs.protocol) < 0 ||
        request_env_sets(&r->env, "PUSHPIPE_WS_EXTENSIONS", ws->deflate ? "permessage-deflate" : "") < 0) {
        log_msg(LOG_ERROR, "request environment too large");
        request_reply(r, 431, NULL, "Request too large\n");
        return 0;
    }

    /* Spawn before answering: a handler that cannot start gets an HTTP
     * error the client can see, not a WebSocket that closes at once. */
    if (request_spawn_handler(r, &ws->h, argv) < 0)
        return 0;
    char head[4200];
    size_t hl = (size_t)snprintf(head, sizeof head, "%.*s", (int)hs.headers_len, hs.headers);
    if (add_header_lines(head, sizeof head, &hl, o->headers_ws, o->nheaders_ws) < 0)
        log_msg(LOG_WARN, "--header-ws lines do not fit; some were left out");
    r->status = 101;
    int hixie = hs.version == 75 || hs.version == 76 ? hs.version : 0;
    const char *reason = hixie ? ws_hixie_status_text(101, hixie) : ws_status_text(101);
    if (request_write_head_reason(r, 101, reason, head) < 0) {
        handler_finish(&ws->h, 0, o->kill_grace_ms);
        return 0;
    }

    relay_params_from_options(&ws->rp, o);
    ws->rp.hixie = hixie;
    ws->rp.deflate = ws->deflate ? &ws->dp : NULL;
    ws->rp.await_key3 = hixie == 76;
    ws->rp.env = &r->env;
    return 1;
}

void request_websocket_done(struct request *r, struct ws_session *ws)
{
    const struct relay_result *res = &ws->res;
    r->stream_closed = 1;
    r->bytes_in += res->bytes_in;
    r->bytes_out += res->bytes_out;
    const char *path = request_env_get(&r->env, "SCRIPT_NAME");
    char st[64];
    handler_describe_status(ws->h.status, st, sizeof st);
    log_msg(LOG_INFO, "%s:%s %s websocket/%d%s %s%s%s close=%u (%s) %.3fs in=%llu/%llu out=%llu/%llu handler %s",
            request_env_get(&r->env, "REMOTE_ADDR"), request_env_get(&r->env, "REMOTE_PORT"),
            transport_name(r->transport), ws->version, ws->deflate ? "+deflate" : "", path ? path : "/",
            ws->protocol[0] ? " protocol=" : "", ws->protocol, res->close_code, res->end, elapsed(r),
            (unsigned long long)r->bytes_in, (unsigned long long)res->msgs_in,
            (unsigned long long)r->bytes_out, (unsigned long long)res->msgs_out, st);
}

static void serve_websocket(struct request *r)
{
    struct ws_session ws;
    memset(&ws, 0, sizeof ws);
    if (!request_websocket_open(r, &ws))
        return;
    relay_websocket(r->s, r->early, r->early_len, &ws.h, &ws.rp, &ws.res);
    request_websocket_done(r, &ws);
}

void request_log_plain(struct request *r)
{
    const char *m = request_env_get(&r->env, "REQUEST_METHOD");
    const char *u = request_env_get(&r->env, "REQUEST_URI");
    log_msg(LOG_INFO, "%s:%s %s %s %s %d %s %.3fs out=%llu",
            request_env_get(&r->env, "REMOTE_ADDR"), request_env_get(&r->env, "REMOTE_PORT"),
            transport_name(r->transport), m ? m : "-", u ? u : "-", r->status, r->proto,
            elapsed(r), (unsigned long long)r->bytes_out);
}

static int method_is_get(const struct request *r)
{
    const char *method = request_env_get(&r->env, "REQUEST_METHOD");
    return method && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0);
}

enum request_kind request_kind(const struct request *r)
{
    if (ws_is_upgrade_request(&r->env))
        return REQUEST_WEBSOCKET;
    if (method_is_get(r) && sse_is_request(&r->env))
        return REQUEST_EVENTSOURCE;
    return REQUEST_OTHER;
}

void request_dispatch(struct request *r)
{
    const struct options *o = r->o;
    const char *method = request_env_get(&r->env, "REQUEST_METHOD");
    const char *path = request_env_get(&r->env, "SCRIPT_NAME");
    int is_get = method_is_get(r);
    enum request_kind kind = request_kind(r);
    r->proto = "http";
    if (kind == REQUEST_WEBSOCKET) {
        serve_websocket(r);
        if (r->status == 101)
            return;
    } else if (kind == REQUEST_EVENTSOURCE) {
        if (sse_serve(r))
            return;
    } else if (o->console && is_get && console_is_path(path)) {
        r->proto = "console";
        r->status = console_serve(r, method[0] == 'H');
    } else if (o->static_dir && is_get && r->transport == TRANSPORT_LISTEN) {
        r->proto = "static";
        r->status = static_serve(r, o->static_dir, path ? path : "/", method[0] == 'H');
    } else if (is_get) {
        request_reply(r, 404, NULL, "Not Found: this address serves WebSocket and EventSource (Accept: text/event-stream) connections\n");
    } else {
        request_reply(r, 405, "Allow: GET, HEAD\r\n", "Method Not Allowed\n");
    }
    request_log_plain(r);
}
