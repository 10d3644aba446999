/* sse_relay.c - EventSource streams (see sse_relay.h). */
#include "pushpipe/sse_relay.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/bytebuf.h"
#include "core/sse.h"
#include "pushpipe/handler.h"
#include "io/mono_clock.h"
#include "pushpipe/log.h"
#include "pushpipe/route.h"

/* One read of handler output moves at most READ_CHUNK; reading stops while
 * HIGH_WATER bytes wait for a slow client (backpressure reaches the
 * handler as a full pipe). */
#define READ_CHUNK (64 * 1024)
#define HIGH_WATER (256 * 1024)
/* A handler that writes garbage should not flood the log: the first few
 * problems are logged, the rest only counted. */
#define MAX_WARNINGS_LOGGED 10

static volatile sig_atomic_t stop_requested;

void sse_relay_request_stop(void)
{
    stop_requested = 1;
}

struct sse_relay {
    struct request *r;
    struct stream *client;
    struct handler *h;
    const struct options *o;
    struct sse_reader reader;
    struct bytebuf out;         /* framed events for the client */
    int client_gone;
    int input_ended;            /* end of the request body (CGI, FastCGI) */
    int out_eof;                /* handler stdout closed */
    long long grace_deadline;   /* handler exited, stdout still open */
    long long last_queued;      /* when bytes were last queued: heartbeats */
    long long send_stalled;     /* output waiting and no write progress since */
    unsigned long long events, warnings;
    const char *end;
};

/* Handler output is framed as soon as it is read, so one buffer serves
 * every stream of the process (an event loop holds many). */
static uint8_t read_buf[READ_CHUNK];

static void queue(struct sse_relay *s, const void *p, size_t n)
{
    if (bytebuf_append(&s->out, p, n) < 0) {
        /* Only reachable when memory is short: the reader bounds events
         * and reading stops at HIGH_WATER. */
        log_msg(LOG_ERROR, "output queue full (%zu bytes); closing", bytebuf_len(&s->out));
        s->client_gone = 1;
        s->end = "output queue full";
        return;
    }
    s->last_queued = now_ms();
}

static void flush_client(struct sse_relay *s)
{
    while (bytebuf_len(&s->out) && !s->client_gone) {
        ssize_t n = stream_write(s->client, bytebuf_head(&s->out), bytebuf_len(&s->out));
        if (n > 0) {
            s->r->bytes_out += (uint64_t)n;
            bytebuf_consume(&s->out, (size_t)n);
            s->send_stalled = 0;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!s->send_stalled)
                s->send_stalled = now_ms();
            return;
        }
        log_msg(LOG_DEBUG, "client write: %s", n < 0 ? strerror(errno) : "closed");
        s->client_gone = 1;
        s->end = "client gone";
        bytebuf_clear(&s->out);
    }
}

static void take_event(struct sse_relay *s, const struct sse_event *ev)
{
    if (ev->type == SSE_EV_EVENT) {
        s->events++;
        queue(s, ev->data, ev->len);
    } else if (ev->type == SSE_EV_WARNING) {
        if (s->warnings++ < MAX_WARNINGS_LOGGED)
            log_msg(LOG_WARN, "handler output: %s", ev->error);
    }
}

static void on_handler_bytes(struct sse_relay *s, const uint8_t *p, size_t n)
{
    size_t off = 0;
    for (;;) {
        struct sse_event ev;
        off += sse_reader_feed(&s->reader, p + off, n - off, &ev);
        if (ev.type == SSE_EV_NONE)
            return;
        take_event(s, &ev);
    }
}

static void handler_output_ended(struct sse_relay *s)
{
    if (s->out_eof)
        return;
    s->out_eof = 1;
    handler_close_stdout(s->h);
    struct sse_event ev;
    sse_reader_finish(&s->reader, &ev);
    take_event(s, &ev);
}

static void read_handler(struct sse_relay *s)
{
    ssize_t n = read(s->h->out_fd, read_buf, sizeof read_buf);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        handler_output_ended(s);
        return;
    }
    on_handler_bytes(s, read_buf, (size_t)n);
}

/* Client input carries nothing for an event stream; it is read only to
 * see the client go (see sse_relay.h for what that looks like). */
static void read_client(struct sse_relay *s)
{
    uint8_t junk[4096];
    ssize_t n = stream_read(s->client, junk, sizeof junk);
    if (n > 0) {
        s->r->bytes_in += (uint64_t)n;
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n == 0 && s->r->transport != TRANSPORT_LISTEN) {
        s->input_ended = 1;     /* only the end of the request body */
        return;
    }
    if (n < 0 && s->r->transport == TRANSPORT_CGI) {
        s->input_ended = 1;     /* stdin unusable; stdout still tells */
        return;
    }
    s->client_gone = 1;
    s->end = n == 0 ? "client closed" : "client gone";
}

/* The earlier of two CLOCK_MONOTONIC deadlines, 0 meaning none. */
static long long min_deadline(long long a, long long b)
{
    if (!a)
        return b;
    return b && b < a ? b : a;
}

int sse_prepare(struct sse_relay *s, long long now, struct relay_wait *w)
{
    struct handler *h = s->h;
    struct stream *c = s->client;
    for (;;) {
        if (stop_requested) {
            /* A CGI program gets SIGTERM from lighttpd when its client
             * leaves; everywhere else it means pushpipe is stopping. */
            s->end = s->r->transport == TRANSPORT_CGI ? "SIGTERM: client gone" : "server shutting down";
            return 1;
        }
        if (!h->exited && handler_check_exit(h) && !s->out_eof && !s->grace_deadline)
            /* Exited, but a child of it may still hold stdout: read on for
             * a short while, then stop waiting. */
            s->grace_deadline = now + s->o->close_grace_ms;
        if (s->grace_deadline && now >= s->grace_deadline && !s->out_eof)
            handler_output_ended(s);
        flush_client(s);
        /* A client that stops reading must not hold its handler and our
         * buffer forever: dropped after --send-timeout, as a WebSocket. */
        if (s->send_stalled && s->o->send_timeout_ms && bytebuf_len(&s->out) &&
            now - s->send_stalled >= s->o->send_timeout_ms && !s->client_gone) {
            log_msg(LOG_INFO, "client read nothing for %u ms with %zu bytes waiting; dropping it",
                    s->o->send_timeout_ms, bytebuf_len(&s->out));
            s->client_gone = 1;
            s->end = "send timeout";
            bytebuf_clear(&s->out);
        }
        if (s->client_gone)
            return 1;
        if (s->out_eof && bytebuf_len(&s->out) == 0) {
            s->end = h->exited ? "handler exited" : "handler closed stdout";
            return 1;
        }
        if (s->o->heartbeat_ms && bytebuf_len(&s->out) == 0 &&
            now - s->last_queued >= (long long)s->o->heartbeat_ms) {
            queue(s, SSE_HEARTBEAT, sizeof SSE_HEARTBEAT - 1);
            continue;
        }
        break;
    }

    for (int i = 0; i < RELAY_W_N; i++) {
        w->fd[i] = -1;
        w->events[i] = 0;
    }
    /* The listener's socket and FastCGI's connection keep being read
     * after the body ended: that is where a disconnect shows. */
    if (!s->input_ended || s->r->transport == TRANSPORT_FCGI) {
        w->fd[RELAY_W_CLIENT_R] = c->rfd;
        w->events[RELAY_W_CLIENT_R] = POLLIN;
    }
    /* With nothing to write, a separate write side is polled anyway: a
     * pipe whose reader (the web server) has gone reports POLLERR. */
    if (c->wfd >= 0 && (bytebuf_len(&s->out) || c->wfd != c->rfd)) {
        w->fd[RELAY_W_CLIENT_W] = c->wfd;
        w->events[RELAY_W_CLIENT_W] = bytebuf_len(&s->out) ? POLLOUT : 0;
    }
    if (h->out_fd >= 0 && !s->out_eof && bytebuf_len(&s->out) < HIGH_WATER) {
        w->fd[RELAY_W_H_OUT] = h->out_fd;
        w->events[RELAY_W_H_OUT] = POLLIN;
    }
    relay_wait_handler(w, h);
    long long deadline = s->grace_deadline;
    if (s->send_stalled && s->o->send_timeout_ms)
        deadline = min_deadline(deadline, s->send_stalled + s->o->send_timeout_ms);
    if (s->o->heartbeat_ms && bytebuf_len(&s->out) == 0)
        deadline = min_deadline(deadline, s->last_queued + s->o->heartbeat_ms);
    if (h->pidfd < 0 && !h->exited)
        deadline = min_deadline(deadline, now + 100);   /* no pidfd: notice the exit by polling */
    w->deadline = deadline;
    return 0;
}

void sse_ready(struct sse_relay *s, const short rev[RELAY_W_N])
{
    short err = POLLERR | POLLHUP | POLLNVAL;
    int cr = s->client->rfd, cw = s->client->wfd;
    if (rev[RELAY_W_H_OUT] & (POLLIN | err))
        read_handler(s);
    if (rev[RELAY_W_CLIENT_R] & (POLLIN | err))
        read_client(s);
    if (cw != cr && (rev[RELAY_W_CLIENT_W] & err)) {
        s->client_gone = 1;
        s->end = "client gone";
    }
    if (rev[RELAY_W_CLIENT_W] & POLLOUT)
        flush_client(s);
    if (rev[RELAY_W_H_ERR] & (POLLIN | err))
        handler_drain_stderr(s->h);
    if (rev[RELAY_W_PIDFD] & POLLIN)
        handler_check_exit(s->h);
}

/* The blocking driver (CGI, FastCGI, a worker process per connection).
 * The stop signals stay blocked except inside ppoll: one that arrives
 * while the loop works is then delivered when it waits, instead of
 * slipping in between the stop_requested check and the wait and leaving
 * us asleep until the next heartbeat. */
static void run(struct sse_relay *s)
{
    sigset_t stop_sigs, orig, waiting;
    sigemptyset(&stop_sigs);
    sigaddset(&stop_sigs, SIGTERM);
    sigaddset(&stop_sigs, SIGINT);
    sigaddset(&stop_sigs, SIGUSR1);
    sigprocmask(SIG_BLOCK, &stop_sigs, &orig);
    waiting = orig;
    sigdelset(&waiting, SIGTERM);
    sigdelset(&waiting, SIGINT);
    sigdelset(&waiting, SIGUSR1);
    for (;;) {
        long long now = now_ms();
        struct relay_wait w;
        if (sse_prepare(s, now, &w))
            break;
        short rev[RELAY_W_N];
        int rc = relay_wait_poll(&w, now, &waiting, rev);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            log_msg(LOG_ERROR, "poll: %s", strerror(errno));
            s->end = "poll failed";
            break;
        }
        if (rc > 0)
            sse_ready(s, rev);
    }
    sigprocmask(SIG_SETMASK, &orig, NULL);
}

static double elapsed(const struct request *r)
{
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    return (double)(end.tv_sec - r->start.tv_sec) + (double)(end.tv_nsec - r->start.tv_nsec) / 1e9;
}

/* One line per stream, like the WebSocket one: who, how, how long, how
 * much (bytes/events), and how the handler ended. */
static void log_stream(struct request *r, const char *end, unsigned long long events,
                       unsigned long long warnings, const char *st)
{
    const char *path = request_env_get(&r->env, "SCRIPT_NAME");
    const char *addr = request_env_get(&r->env, "REMOTE_ADDR");
    const char *port = request_env_get(&r->env, "REMOTE_PORT");
    log_msg(LOG_INFO, "%s:%s %s eventsource %s (%s) %.3fs in=%llu out=%llu/%llu%s handler %s",
            addr ? addr : "-", port ? port : "-",
            transport_name(r->transport), path ? path : "/", end, elapsed(r),
            (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_out, events,
            warnings ? " (some handler output dropped)" : "", st);
}

/* PUSHPIPE_* variables for an event stream, on top of the common ones. */
static int add_vars(struct request *r)
{
    struct request_env *e = &r->env;
    if (request_handler_vars(r, "", "") < 0)
        return -1;
    request_env_unset(e, "PUSHPIPE_WS_VERSION");
    request_env_unset(e, "PUSHPIPE_WS_PROTOCOL");
    request_env_unset(e, "PUSHPIPE_WS_EXTENSIONS");
    int rc = 0;
    rc |= request_env_sets(e, "PUSHPIPE_PROTOCOL", "eventsource");
    rc |= request_env_sets(e, "PUSHPIPE_MODE", r->o->sse_mode == SSE_MODE_RAW ? "raw" : "lines");
    char id[1024];
    if (sse_last_event_id(e, id, sizeof id))
        rc |= request_env_sets(e, "LAST_EVENT_ID", id);
    return rc ? -1 : 0;
}

/* The response head: the type EventSource requires, no caching, and the
 * header that turns off nginx's response buffering (fastcgi_buffering and
 * proxy_buffering both honour it).  No Connection header through CGI or
 * FastCGI: that is the web server's business (and forbidden in HTTP/2). */
static int write_head(struct request *r)
{
    char h[4096];
    size_t len = 0;
    int k = snprintf(h, sizeof h, "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                                  "X-Accel-Buffering: no\r\n");
    if (k < 0)
        return -1;
    len = (size_t)k;
    for (size_t i = 0; i < r->o->nheaders_sse; i++) {
        k = snprintf(h + len, sizeof h - len, "%s\r\n", r->o->headers_sse[i]);
        if (k < 0 || (size_t)k >= sizeof h - len)
            return -1;
        len += (size_t)k;
    }
    return request_write_head(r, 200, h);
}

int sse_open(struct request *r, struct handler *h, struct sse_relay **out)
{
    const struct options *o = r->o;
    *out = NULL;
    const char *method = request_env_get(&r->env, "REQUEST_METHOD");
    int head_only = method && strcmp(method, "HEAD") == 0;
    if (!method || (strcmp(method, "GET") != 0 && !head_only)) {
        request_reply(r, 405, "Allow: GET, HEAD\r\n", "Method Not Allowed\n");
        return SSE_ANSWERED;
    }
    r->proto = "eventsource";

    struct route rt;
    char *argv_dir[2];
    char *const *argv = request_choose_handler(r, argv_dir, &rt);
    if (!argv)
        return SSE_ANSWERED;    /* 404 */
    if (add_vars(r) < 0) {
        log_msg(LOG_ERROR, "request environment too large");
        request_reply(r, 431, NULL, "Request too large\n");
        return SSE_ANSWERED;
    }
    if (head_only) {
        r->status = 200;
        write_head(r);
        log_stream(r, "head only", 0, 0, "not started");
        return SSE_SERVED;
    }

    /* Spawn before answering: a handler that cannot start gets an HTTP
     * error (EventSource does not reconnect after one), not an empty
     * stream the client would retry forever. */
    if (request_spawn_handler(r, h, argv) < 0)
        return SSE_ANSWERED;
    r->status = 200;
    struct sse_relay *s = calloc(1, sizeof *s);
    if (!s || write_head(r) < 0) {
        if (!s)
            log_msg(LOG_ERROR, "out of memory for a connection");
        free(s);
        handler_finish(h, 0, o->kill_grace_ms);
        char st[64];
        handler_describe_status(h->status, st, sizeof st);
        log_stream(r, "client gone before the head", 0, 0, st);
        return SSE_SERVED;
    }
    s->r = r;
    s->client = r->s;
    s->h = h;
    s->o = o;
    s->end = "?";
    sse_reader_init(&s->reader, o->sse_mode == SSE_MODE_RAW ? SSE_INPUT_RAW : SSE_INPUT_LINES,
                    o->max_line);
    /* An event may be as large as max_line (and, in lines mode, grow by
     * its data: prefixes); reading stops at HIGH_WATER. */
    size_t bound = o->max_line > ((size_t)-1 - 2 * HIGH_WATER) / 8 ? (size_t)-1
                                                                    : o->max_line * 8 + 2 * HIGH_WATER;
    bytebuf_init(&s->out, bound);
    s->last_queued = now_ms();
    if (o->sse_retry_ms >= 0) {
        char retry[48];
        size_t n = sse_retry_field(retry, sizeof retry, (unsigned)o->sse_retry_ms);
        queue(s, retry, n);
    }
    *out = s;
    return SSE_STREAM;
}

int sse_end(struct sse_relay *s)
{
    /* What the client can still take without waiting goes out. */
    if (!s->client_gone)
        flush_client(s);
    return s->client_gone;
}

void sse_done(struct sse_relay *s)
{
    if (s->warnings > MAX_WARNINGS_LOGGED)
        log_msg(LOG_WARN, "handler output: %llu problems in all", s->warnings);
    char st[64];
    handler_describe_status(s->h->status, st, sizeof st);
    s->r->stream_closed = 1;
    log_stream(s->r, s->end, s->events, s->warnings, st);
    sse_reader_free(&s->reader);
    bytebuf_free(&s->out);
    free(s);
}

int sse_serve(struct request *r)
{
    struct handler h;
    struct sse_relay *s;
    int rc = sse_open(r, &h, &s);
    if (rc != SSE_STREAM)
        return rc == SSE_SERVED;
    run(s);
    /* End the response first (through FastCGI: END_REQUEST), so the web
     * server is done while the handler is stopped; close (which may wait
     * for the web server to hang up) only after the handler is gone. */
    sse_end(s);
    r->s->ops->shutdown_write(r->s);
    handler_finish(&h, r->o->close_grace_ms, r->o->kill_grace_ms);
    r->s->ops->close(r->s);
    sse_done(s);
    return 1;
}
