/* sse_session.c - an EventSource client that behaves like a browser's:
 * GET with Accept: text/event-stream, follow redirects, fail on anything
 * but 200 text/event-stream (no reconnect), stop on 204, otherwise read
 * the stream and, when it ends or the connection fails, wait the retry
 * time and reconnect with Last-Event-ID. */
#include "pushcat/sse_session.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "core/http_response.h"
#include "core/sse_parse.h"
#include "core/utf8.h"
#include "io/tls_stream.h"
#include "pushcat/dial.h"
#include "pushcat/program.h"
#include "pushcat/report.h"
#include "pushpipe/handler.h"

#define READ_BUF (64 * 1024)
#define HEAD_MAX (16 * 1024)
#define REQUEST_MAX (32 * 1024)
#define MAX_REDIRECTS 10
/* One event (its data) may be this large; a larger one is dropped with a
 * warning rather than printed cut. */
#define MAX_EVENT_CAP (64ull * 1024 * 1024)

/* Where events go: our stdout, or the program's stdin. */
struct sink {
    int fd;
    struct handler *h;      /* the program, or NULL */
    int gone;               /* the reader went away (EPIPE, program exited) */
    char buf[8192];
    size_t len;
};

struct sse_state {
    const struct pc_options *o;
    SSL_CTX *tls_ctx;
    struct sse_parser parser;
    unsigned retry_ms;
    struct sink out;
    struct handler prog;
    int have_prog;
    int last_exit;          /* outcome of the last attempt, if it is the last */
};

/* ---- output ----------------------------------------------------------------- */

/* Wait for the program's stdin, logging its stderr and noticing its exit
 * meanwhile.  Returns 0 to try again, -1 when it is gone. */
static int wait_program(struct sink *k, short events, int timeout)
{
    struct handler *h = k->h;
    struct pollfd p[4];
    int n = 0;
    if (events)
        p[n++] = (struct pollfd){ .fd = k->fd, .events = events };
    if (h->err_fd >= 0)
        p[n++] = (struct pollfd){ .fd = h->err_fd, .events = POLLIN };
    if (h->pidfd >= 0)
        p[n++] = (struct pollfd){ .fd = h->pidfd, .events = POLLIN };
    if (pc_wake_fd >= 0)
        p[n++] = (struct pollfd){ .fd = pc_wake_fd, .events = POLLIN };
    if (poll(p, (nfds_t)n, h->pidfd >= 0 ? timeout : (timeout < 0 || timeout > 100 ? 100 : timeout)) < 0 &&
        errno != EINTR)
        return -1;
    if (h->err_fd >= 0)
        handler_drain_stderr(h);
    if (handler_check_exit(h))
        return -1;
    return 0;
}

static void sink_flush(struct sink *k)
{
    size_t off = 0;
    while (off < k->len && !k->gone) {
        ssize_t n = write(k->fd, k->buf + off, k->len - off);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR && !pc_stop_signal)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (k->h) {
                if (wait_program(k, POLLOUT, -1) < 0 || pc_stop_signal)
                    k->gone = 1;
            } else {
                /* A stdout someone else made non-blocking. */
                struct pollfd p = { .fd = k->fd, .events = POLLOUT };
                if (poll(&p, 1, -1) < 0 && pc_stop_signal)
                    k->gone = 1;
            }
            continue;
        }
        k->gone = 1;    /* EPIPE: nobody reads our events any more */
    }
    k->len = 0;
}

static void put(struct sink *k, const void *p, size_t n)
{
    const char *s = p;
    while (n && !k->gone) {
        size_t room = sizeof k->buf - k->len;
        size_t take = n < room ? n : room;
        memcpy(k->buf + k->len, s, take);
        k->len += take;
        s += take;
        n -= take;
        if (k->len == sizeof k->buf)
            sink_flush(k);
    }
}

static void puts_(struct sink *k, const char *s)
{
    put(k, s, strlen(s));
}

/* A JSON string; bytes that are not UTF-8 become U+FFFD, as a browser's
 * decoder would make them. */
static void put_json_string(struct sink *k, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    put(k, "\"", 1);
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            char esc[7];
            if (c == '"' || c == '\\') {
                esc[0] = '\\';
                esc[1] = (char)c;
                put(k, esc, 2);
            } else if (c == '\n') {
                put(k, "\\n", 2);
            } else if (c == '\r') {
                put(k, "\\r", 2);
            } else if (c == '\t') {
                put(k, "\\t", 2);
            } else if (c < 0x20 || c == 0x7f) {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                put(k, esc, 6);
            } else {
                put(k, &c, 1);
            }
            i++;
            continue;
        }
        size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (len > 1 && i + len <= n && utf8_valid(p + i, len)) {
            put(k, p + i, len);
            i += len;
        } else {
            put(k, "\xEF\xBF\xBD", 3);
            i++;
        }
    }
    put(k, "\"", 1);
}

static void print_event(struct sse_state *st, const struct sse_parse_event *ev)
{
    struct sink *k = &st->out;
    switch (st->o->sse_format) {
    case SSE_FORMAT_DATA:
        put(k, ev->data, ev->data_len);
        put(k, "\n", 1);
        break;
    case SSE_FORMAT_RAW: {
        /* The event as a server would write it, one field per line. */
        if (ev->event_field) {
            puts_(k, "event: ");
            put(k, ev->event, ev->event_len);
            put(k, "\n", 1);
        }
        if (ev->id_field) {
            puts_(k, "id: ");
            put(k, ev->id, ev->id_len);
            put(k, "\n", 1);
        }
        const uint8_t *p = ev->data, *end = ev->data + ev->data_len;
        for (;;) {
            const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
            puts_(k, "data: ");
            put(k, p, nl ? (size_t)(nl - p) : (size_t)(end - p));
            put(k, "\n", 1);
            if (!nl)
                break;
            p = nl + 1;
        }
        put(k, "\n", 1);
        break;
    }
    case SSE_FORMAT_JSON:
        puts_(k, "{\"type\":");
        put_json_string(k, (const uint8_t *)ev->event, ev->event_len);
        puts_(k, ",\"data\":");
        put_json_string(k, ev->data, ev->data_len);
        puts_(k, ",\"lastEventId\":");
        put_json_string(k, (const uint8_t *)ev->id, ev->id_len);
        puts_(k, "}\n");
        break;
    }
    /* No buffering between the server and the reader: each event goes out
     * as soon as it is complete. */
    sink_flush(k);
}

/* Body bytes of the stream: events out. */
static void on_stream_bytes(struct sse_state *st, const uint8_t *p, size_t n)
{
    size_t off = 0;
    while (!st->out.gone) {
        struct sse_parse_event ev;
        off += sse_parser_feed(&st->parser, p + off, n - off, &ev);
        switch (ev.type) {
        case SSE_PARSE_NONE:
            return;
        case SSE_PARSE_EVENT:
            print_event(st, &ev);
            break;
        case SSE_PARSE_RETRY:
            st->retry_ms = ev.retry_ms;
            pc_info("retry: %u ms", ev.retry_ms);
            if (st->o->sse_format == SSE_FORMAT_RAW) {
                char line[40];
                snprintf(line, sizeof line, "retry: %u\n\n", ev.retry_ms);
                puts_(&st->out, line);
                sink_flush(&st->out);
            }
            break;
        case SSE_PARSE_TOO_BIG:
            pc_error("warning: an event larger than %llu bytes was dropped",
                     (unsigned long long)st->parser.max_event);
            break;
        }
    }
}

/* ---- one connection ----------------------------------------------------------- */

/* Read with no deadline, watching the program too.  > 0, 0 EOF, -1 error or
 * stop, -2 the program is gone. */
static ssize_t read_stream(struct sse_state *st, struct stream *s, uint8_t *buf, size_t cap)
{
    for (;;) {
        if (pc_stop_signal) {
            errno = EINTR;
            return -1;
        }
        ssize_t n = stream_read(s, buf, cap);
        if (n >= 0)
            return n;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        struct pollfd p[4];
        int np = 0;
        p[np++] = (struct pollfd){ .fd = s->rfd, .events = POLLIN };
        if (st->have_prog && st->prog.err_fd >= 0)
            p[np++] = (struct pollfd){ .fd = st->prog.err_fd, .events = POLLIN };
        if (st->have_prog && st->prog.pidfd >= 0)
            p[np++] = (struct pollfd){ .fd = st->prog.pidfd, .events = POLLIN };
        if (pc_wake_fd >= 0)
            p[np++] = (struct pollfd){ .fd = pc_wake_fd, .events = POLLIN };
        int timeout = st->have_prog && st->prog.pidfd < 0 ? 100 : -1;
        if (poll(p, (nfds_t)np, timeout) < 0 && errno != EINTR)
            return -1;
        if (st->have_prog) {
            handler_drain_stderr(&st->prog);
            if (handler_check_exit(&st->prog))
                return -2;
        }
    }
}

static size_t build_request(const struct sse_state *st, const struct url *u, char *req, size_t cap)
{
    const struct pc_options *o = st->o;
    char host[URL_HOST_MAX + 16], creds[4 * URL_CRED_MAX];
    url_authority(u, 0, host, sizeof host);
    size_t n = 0;
    int w;
#define ADD(...)                                                   \
    do {                                                           \
        w = snprintf(req + n, cap - n, __VA_ARGS__);               \
        if (w < 0 || (size_t)w >= cap - n)                         \
            return 0;                                              \
        n += (size_t)w;                                            \
    } while (0)
    int user_host = 0, user_agent = 0;
    for (size_t i = 0; i < o->nheaders; i++) {
        user_host |= http_header_line_is(o->headers[i], "Host");
        user_agent |= http_header_line_is(o->headers[i], "User-Agent");
    }
    ADD("GET %s HTTP/1.1\r\n", u->target);
    if (!user_host)
        ADD("Host: %s\r\n", host);
    ADD("Accept: text/event-stream\r\nCache-Control: no-cache\r\n");
    const char *id = sse_parser_last_id((struct sse_parser *)&st->parser);
    if (*id)
        ADD("Last-Event-ID: %s\r\n", id);
    if (o->origin)
        ADD("Origin: %s\r\n", o->origin);
    if (url_basic_credentials(u, creds, sizeof creds))
        ADD("Authorization: Basic %s\r\n", creds);
    if (!user_agent)
        ADD("User-Agent: pushcat/%s\r\n", PACKAGE_VERSION);
    for (size_t i = 0; i < o->nheaders; i++)
        ADD("%s\r\n", o->headers[i]);
    ADD("\r\n");
#undef ADD
    return n;
}

/* A Location to follow: an absolute http(s) URL or an absolute path on the
 * same server.  Returns 0, or -1. */
static int redirect_target(const struct url *cur, const char *loc, struct url *next)
{
    const char *why;
    if (loc[0] == '/' && loc[1] != '/') {
        char full[URL_HOST_MAX + URL_TARGET_MAX + 32], host[URL_HOST_MAX + 16];
        url_authority(cur, 1, host, sizeof host);
        snprintf(full, sizeof full, "%s://%s%s", cur->tls ? "https" : "http", host, loc);
        if (url_parse(full, next, &why) < 0)
            return -1;
        /* Keep credentials only on the same server. */
        memcpy(next->user, cur->user, sizeof next->user);
        memcpy(next->password, cur->password, sizeof next->password);
        next->has_userinfo = cur->has_userinfo;
        return 0;
    }
    if (url_parse(loc, next, &why) < 0)
        return -1;
    return next->scheme == URL_HTTP || next->scheme == URL_HTTPS ? 0 : -1;
}

enum { RECONNECT = -1 };

static int one_connection(struct sse_state *st, uint8_t *buf)
{
    const struct pc_options *o = st->o;
    struct url u = o->url;
    char err[1024];
    for (int redirects = 0;; redirects++) {
        struct stream s;
        long long deadline = now_ms() + o->connect_timeout_ms;
        int rc = pc_dial(o, &u, st->tls_ctx, deadline, &s, err, sizeof err);
        if (rc != PC_EXIT_OK) {
            pc_error("%s", err);
            /* A network error: a browser tries again.  A certificate it
             * rejects is no network error, and neither is a bad proxy. */
            if (rc == PC_EXIT_CONNECT) {
                st->last_exit = rc;
                return RECONNECT;
            }
            return rc;
        }
        char *req = malloc(REQUEST_MAX);
        if (!req) {
            s.ops->close(&s);
            pc_error("out of memory");
            return PC_EXIT_ERROR;
        }
        size_t n = build_request(st, &u, req, REQUEST_MAX);
        if (n == 0) {
            free(req);
            s.ops->close(&s);
            pc_error("the request head would be larger than %d bytes", REQUEST_MAX);
            return PC_EXIT_USAGE;
        }
        pc_head('>', req, n);
        int wr = pc_write_all(&s, req, n, deadline);
        free(req);
        struct http_response res;
        size_t have = 0;
        int hl = 0;
        while (wr == 0 && hl == 0) {
            ssize_t r = pc_read(&s, buf + have, READ_BUF - have, deadline);
            if (r <= 0)
                break;
            have += (size_t)r;
            hl = http_parse_response((const char *)buf, have, HEAD_MAX, &res);
        }
        if (hl <= 0) {
            int saved = errno;
            char tls_why[256] = "";
            if (saved == EPROTO && u.tls)
                snprintf(tls_why, sizeof tls_why, "%s", tls_stream_last_error(&s));
            s.ops->close(&s);
            if (pc_stop_signal)
                return 128 + pc_stop_signal;
            if (hl < 0) {
                pc_error("the server's response is not HTTP/1.1");
                return PC_EXIT_HANDSHAKE;
            }
            if (tls_why[0]) {
                pc_error("TLS: %s", tls_why);
                return PC_EXIT_TLS;
            }
            pc_error("no response: %s", wr < 0 || have ? strerror(saved) : "connection closed");
            st->last_exit = PC_EXIT_CONNECT;
            return RECONNECT;
        }
        pc_head('<', (const char *)buf, (size_t)hl);

        if (res.status == 204) {
            /* The HTML standard: 204 means "stop reconnecting". */
            pc_info("204 No Content: the server ended the stream for good");
            s.ops->close(&s);
            return PC_EXIT_OK;
        }
        if (res.status == 301 || res.status == 302 || res.status == 303 || res.status == 307 ||
            res.status == 308) {
            char loc[URL_TARGET_MAX];
            struct url next;
            s.ops->close(&s);
            if (redirects == MAX_REDIRECTS ||
                http_response_header_value(&res, "Location", loc, sizeof loc) != 1 ||
                redirect_target(&u, loc, &next) < 0) {
                pc_error("cannot follow the redirect (%d) %s", res.status,
                         redirects == MAX_REDIRECTS ? "(too many)" : "");
                return PC_EXIT_HANDSHAKE;
            }
            pc_info("following %d to %s", res.status, loc);
            u = next;
            continue;
        }
        char ctype[256];
        int ct = http_response_header_value(&res, "Content-Type", ctype, sizeof ctype);
        if (res.status != 200 || ct != 1 || !http_media_type_is(ctype, strlen(ctype), "text/event-stream")) {
            /* "Fail the connection": no reconnect, as in browsers. */
            if (res.status != 200)
                pc_error("refused: HTTP %d %.*s", res.status, (int)res.reason_len, res.reason);
            else
                pc_error("not an event stream: Content-Type %s", ct == 1 ? ctype : "missing");
            s.ops->close(&s);
            return PC_EXIT_HANDSHAKE;
        }
        struct http_body body;
        if (http_body_init(&body, &res) < 0) {
            pc_error("the response's body framing is invalid");
            s.ops->close(&s);
            return PC_EXIT_HANDSHAKE;
        }
        pc_info("connected: reading events");
        st->last_exit = PC_EXIT_OK;
        sse_parser_restart(&st->parser);

        /* Feed the body decoder what followed the head, then the rest. */
        size_t off = (size_t)hl;
        int ended = 0;
        for (;;) {
            /* Also with nothing left: the end of a Content-Length body
             * is reported by a call after its last bytes. */
            while (!ended && !st->out.gone) {
                const uint8_t *d;
                size_t dl;
                enum http_body_event bev;
                off += http_body_feed(&body, buf + off, have - off, &d, &dl, &bev);
                if (bev == HTTP_BODY_EV_DATA)
                    on_stream_bytes(st, d, dl);
                else if (bev == HTTP_BODY_EV_END)
                    ended = 1;
                else if (bev == HTTP_BODY_EV_ERROR) {
                    pc_error("bad chunked encoding: %s", body.error);
                    ended = 1;
                } else
                    break;
            }
            if (ended || st->out.gone)
                break;
            ssize_t r = read_stream(st, &s, buf, READ_BUF);
            if (r == -2) {
                s.ops->close(&s);
                return PC_EXIT_OK;  /* the program ended: its status decides */
            }
            if (r <= 0) {
                if (r < 0 && !pc_stop_signal)
                    pc_info("stream ended: %s", strerror(errno));
                break;
            }
            off = 0;
            have = (size_t)r;
        }
        s.ops->close(&s);
        if (pc_stop_signal)
            return 128 + pc_stop_signal;
        if (st->out.gone)
            return PC_EXIT_OK;
        pc_info("the stream ended");
        return RECONNECT;
    }
}

/* Sleep the retry time; a stop signal or the program's exit cuts it short.
 * Returns 0, or -1 to stop. */
static int pause_retry(struct sse_state *st)
{
    long long end = now_ms() + st->retry_ms;
    for (;;) {
        if (pc_stop_signal)
            return -1;
        long long left = end - now_ms();
        if (left <= 0)
            return 0;
        if (st->have_prog) {
            if (wait_program(&st->out, 0, (int)left) < 0)
                return -1;
        } else {
            struct pollfd p = { .fd = pc_wake_fd, .events = POLLIN };
            poll(&p, pc_wake_fd >= 0 ? 1 : 0, (int)left);
        }
    }
}

int pc_eventsource(const struct pc_options *o, SSL_CTX *tls_ctx)
{
    struct sse_state *st = calloc(1, sizeof *st);
    uint8_t *buf = malloc(READ_BUF);
    if (!st || !buf) {
        free(st);
        free(buf);
        pc_error("out of memory");
        return PC_EXIT_ERROR;
    }
    st->o = o;
    st->tls_ctx = tls_ctx;
    st->retry_ms = o->retry_ms;
    st->out.fd = 1;
    sse_parser_init(&st->parser, o->max_message < MAX_EVENT_CAP ? (size_t)o->max_message : MAX_EVENT_CAP);
    if (o->last_event_id)
        sse_parser_set_last_id(&st->parser, o->last_event_id, strlen(o->last_event_id));

    int code = PC_EXIT_OK;
    if (o->exec_shell || o->exec_argv) {
        char v_url[8192], v_fmt[48];
        snprintf(v_url, sizeof v_url, "PUSHPIPE_URL=%s", o->url_text);
        snprintf(v_fmt, sizeof v_fmt, "PUSHPIPE_SSE_FORMAT=%s",
                 o->sse_format == SSE_FORMAT_DATA ? "data" : o->sse_format == SSE_FORMAT_RAW ? "raw" : "json");
        const char *vars[] = { "PUSHPIPE_PROTOCOL=eventsource", "PUSHPIPE_TRANSPORT=client", v_url, v_fmt, NULL };
        int rc = pc_spawn(o, &st->prog, vars);
        if (rc != 0) {
            pc_error("cannot run %s: %s", pc_program_name(o), strerror(rc));
            code = PC_EXIT_HANDLER;
            goto out;
        }
        st->have_prog = 1;
        st->out.fd = st->prog.in_fd;
        st->out.h = &st->prog;
    }

    for (int reconnects = 0;; reconnects++) {
        code = one_connection(st, buf);
        if (code != RECONNECT)
            break;
        code = st->last_exit;
        if (o->max_reconnects >= 0 && reconnects >= o->max_reconnects) {
            pc_info("giving up after %d reconnections", reconnects);
            break;
        }
        pc_info("reconnecting in %u ms%s%s", st->retry_ms,
                *sse_parser_last_id(&st->parser) ? " with Last-Event-ID " : "",
                sse_parser_last_id(&st->parser));
        if (pause_retry(st) < 0) {
            code = pc_stop_signal ? 128 + pc_stop_signal : PC_EXIT_OK;
            break;
        }
    }
    if (st->have_prog) {
        handler_finish(&st->prog, 1000, 1000);
        if (pc_program_failed(&st->prog) && code == PC_EXIT_OK) {
            char status[64];
            handler_describe_status(st->prog.status, status, sizeof status);
            pc_error("%s ended with %s", pc_program_name(o), status);
            code = PC_EXIT_HANDLER;
        }
    }
out:
    sse_parser_free(&st->parser);
    free(st);
    free(buf);
    return code;
}
