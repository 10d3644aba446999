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
    unsigned long long events, warnings;
    const char *end;
    uint8_t buf[READ_CHUNK];
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
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
    ssize_t n = read(s->h->out_fd, s->buf, sizeof s->buf);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        handler_output_ended(s);
        return;
    }
    on_handler_bytes(s, s->buf, (size_t)n);
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

static int min_timeout(long long now, long long deadline, int cur)
{
    if (!deadline)
        return cur;
    long long left = deadline - now;
    if (left < 0)
        left = 0;
    if (left > 86400000)
        left = 86400000;
    if (cur < 0 || left < cur)
        return (int)left;
    return cur;
}

static void run(struct sse_relay *s)
{
    struct handler *h = s->h;
    struct stream *c = s->client;
    /* The stop signals stay blocked except inside ppoll: one that arrives
     * while the loop works is then delivered when it waits, instead of
     * slipping in between the stop_requested check and the wait and
     * leaving us asleep until the next heartbeat. */
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
    s->last_queued = now_ms();
    if (s->o->sse_retry_ms >= 0) {
        char retry[48];
        size_t n = sse_retry_field(retry, sizeof retry, (unsigned)s->o->sse_retry_ms);
        queue(s, retry, n);
    }
    for (;;) {
        long long now = now_ms();
        if (stop_requested) {
            /* A CGI program gets SIGTERM from lighttpd when its client
             * leaves; everywhere else it means pushpipe is stopping. */
            s->end = s->r->transport == TRANSPORT_CGI ? "SIGTERM: client gone" : "server shutting down";
            break;
        }
        if (!h->exited && handler_check_exit(h) && !s->out_eof && !s->grace_deadline)
            /* Exited, but a child of it may still hold stdout: read on for
             * a short while, then stop waiting. */
            s->grace_deadline = now + s->o->close_grace_ms;
        if (s->grace_deadline && now >= s->grace_deadline && !s->out_eof)
            handler_output_ended(s);
        flush_client(s);
        if (s->client_gone)
            break;
        if (s->out_eof && bytebuf_len(&s->out) == 0) {
            s->end = h->exited ? "handler exited" : "handler closed stdout";
            break;
        }
        if (s->o->heartbeat_ms && bytebuf_len(&s->out) == 0 &&
            now - s->last_queued >= (long long)s->o->heartbeat_ms) {
            queue(s, SSE_HEARTBEAT, sizeof SSE_HEARTBEAT - 1);
            continue;
        }

        struct pollfd p[6];
        int n = 0, icr = -1, icw = -1, ihout = -1, iherr = -1, ipid = -1;
        /* The listener's socket and FastCGI's connection keep being read
         * after the body ended: that is where a disconnect shows. */
        if (!s->input_ended || s->r->transport == TRANSPORT_FCGI) {
            icr = n;
            p[n++] = (struct pollfd){ .fd = c->rfd, .events = POLLIN };
        }
        if (icr >= 0 && c->wfd == c->rfd) {
            icw = icr;
            if (bytebuf_len(&s->out))
                p[icw].events |= POLLOUT;
        } else if (c->wfd >= 0) {
            /* With nothing to write, poll anyway: a pipe whose reader
             * (the web server) has gone reports POLLERR. */
            icw = n;
            p[n++] = (struct pollfd){ .fd = c->wfd, .events = bytebuf_len(&s->out) ? POLLOUT : 0 };
        }
        if (h->out_fd >= 0 && !s->out_eof && bytebuf_len(&s->out) < HIGH_WATER) {
            ihout = n;
            p[n++] = (struct pollfd){ .fd = h->out_fd, .events = POLLIN };
        }
        if (h->err_fd >= 0) {
            iherr = n;
            p[n++] = (struct pollfd){ .fd = h->err_fd, .events = POLLIN };
        }
        if (h->pidfd >= 0 && !h->exited) {
            ipid = n;
            p[n++] = (struct pollfd){ .fd = h->pidfd, .events = POLLIN };
        }
        int timeout = -1;
        timeout = min_timeout(now, s->grace_deadline, timeout);
        if (s->o->heartbeat_ms && bytebuf_len(&s->out) == 0)
            timeout = min_timeout(now, s->last_queued + s->o->heartbeat_ms, timeout);
        if (h->pidfd < 0 && !h->exited && (timeout < 0 || timeout > 100))
            timeout = 100;  /* no pidfd: notice the exit by polling */

        struct timespec ts = { timeout / 1000, (long)(timeout % 1000) * 1000000L };
        int rc = ppoll(p, (nfds_t)n, timeout < 0 ? NULL : &ts, &waiting);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            log_msg(LOG_ERROR, "poll: %s", strerror(errno));
            s->end = "poll failed";
            break;
        }
        if (rc == 0)
            continue;
        short err = POLLERR | POLLHUP | POLLNVAL;
        if (ihout >= 0 && (p[ihout].revents & (POLLIN | err)))
            read_handler(s);
        if (icr >= 0 && (p[icr].revents & (POLLIN | err)))
            read_client(s);
        if (icw >= 0 && icw != icr && (p[icw].revents & err)) {
            s->client_gone = 1;
            s->end = "client gone";
        }
        if (icw >= 0 && (p[icw].revents & POLLOUT))
            flush_client(s);
        if (iherr >= 0 && (p[iherr].revents & (POLLIN | err)))
            handler_drain_stderr(h);
        if (ipid >= 0 && (p[ipid].revents & POLLIN))
            handler_check_exit(h);
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

int sse_serve(struct request *r)
{
    const struct options *o = r->o;
    const char *method = request_env_get(&r->env, "REQUEST_METHOD");
    int head_only = method && strcmp(method, "HEAD") == 0;
    if (!method || (strcmp(method, "GET") != 0 && !head_only)) {
        request_reply(r, 405, "Allow: GET, HEAD\r\n", "Method Not Allowed\n");
        return 0;
    }
    r->proto = "eventsource";

    struct route rt;
    char *argv_dir[2];
    char *const *argv = request_choose_handler(r, argv_dir, &rt);
    if (!argv)
        return 0;   /* 404 answered; the caller logs it */
    if (add_vars(r) < 0) {
        log_msg(LOG_ERROR, "request environment too large");
        request_reply(r, 431, NULL, "Request too large\n");
        return 0;
    }
    if (head_only) {
        r->status = 200;
        write_head(r);
        log_stream(r, "head only", 0, 0, "not started");
        return 1;
    }

    /* Spawn before answering: a handler that cannot start gets an HTTP
     * error (EventSource does not reconnect after one), not an empty
     * stream the client would retry forever. */
    struct handler h;
    if (request_spawn_handler(r, &h, argv) < 0)
        return 0;
    r->status = 200;
    struct sse_relay *s = calloc(1, sizeof *s);
    if (!s || write_head(r) < 0) {
        if (!s)
            log_msg(LOG_ERROR, "out of memory for a connection");
        free(s);
        handler_finish(&h, 0, o->kill_grace_ms);
        char st[64];
        handler_describe_status(h.status, st, sizeof st);
        log_stream(r, "client gone before the head", 0, 0, st);
        return 1;
    }
    s->r = r;
    s->client = r->s;
    s->h = &h;
    s->o = o;
    s->end = "?";
    sse_reader_init(&s->reader, o->sse_mode == SSE_MODE_RAW ? SSE_INPUT_RAW : SSE_INPUT_LINES,
                    o->max_line);
    /* An event may be as large as max_line (and, in lines mode, grow by
     * its data: prefixes); reading stops at HIGH_WATER. */
    size_t bound = o->max_line > ((size_t)-1 - 2 * HIGH_WATER) / 8 ? (size_t)-1
                                                                    : o->max_line * 8 + 2 * HIGH_WATER;
    bytebuf_init(&s->out, bound);

    run(s);

    /* End the response first (through FastCGI: END_REQUEST), so the web
     * server is done while the handler is stopped; close (which may wait
     * for the web server to hang up) only after the handler is gone. */
    if (!s->client_gone)
        flush_client(s);
    r->s->ops->shutdown_write(r->s);
    handler_finish(&h, o->close_grace_ms, o->kill_grace_ms);
    r->s->ops->close(r->s);
    r->stream_closed = 1;
    if (s->warnings > MAX_WARNINGS_LOGGED)
        log_msg(LOG_WARN, "handler output: %llu problems in all", s->warnings);

    char st[64];
    handler_describe_status(h.status, st, sizeof st);
    log_stream(r, s->end, s->events, s->warnings, st);
    sse_reader_free(&s->reader);
    bytebuf_free(&s->out);
    free(s);
    return 1;
}
