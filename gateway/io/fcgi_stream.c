/* fcgi_stream.c - a non-blocking stream over one FastCGI request (see
 * fcgi_stream.h). */
#include "io/fcgi_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/fcgi_record.h"
#include "io/mono_clock.h"

/* Raw input is read at most this much at a time (and never more than the
 * caller's buffer holds, so every content byte read is delivered in the
 * same call: nothing deliverable ever waits in here unseen by poll). */
#define RAW_CAP (64 * 1024)
/* How long close waits for the web server to close its end. */
#define LINGER_MS 1000
#define END_TIMEOUT_MS 2000

struct fcgi_conn {
    int fd;
    unsigned id;
    struct fcgi_parser parser;
    uint8_t raw[RAW_CAP];
    size_t raw_off, raw_len;
    int input_ended;        /* empty STDIN seen */
    int eof_reported;       /* read has returned 0 for it */
    int aborted;            /* ABORT_REQUEST seen */
    int conn_eof;           /* the socket read EOF or failed */
    int bad;                /* not a FastCGI stream */
    /* write side: the record being written */
    uint8_t hdr[FCGI_REC_HEADER_LEN];
    size_t hdr_off;         /* header bytes already written (8: none pending) */
    size_t content_left;    /* content bytes the header announced, still owed */
    int ended;              /* END_REQUEST written */
    int write_broken;       /* a write failed: no more records */
    int shut;               /* shutdown(SHUT_WR) done */
};

/* Parse what is in raw, copying our STDIN content to out (up to room).
 * Returns the content bytes copied. */
static size_t consume_raw(struct fcgi_conn *c, uint8_t *out, size_t room)
{
    size_t got = 0;
    for (;;) {
        /* Full: leave the rest of raw for the next read.  (Raw reads are
         * bounded by the caller's room, so this only happens when a call
         * asks for less than an earlier one delivered into raw.) */
        if (got == room && c->parser.in_body && c->parser.content_left)
            return got;
        struct fcgi_event ev;
        size_t avail = c->raw_len - c->raw_off;
        size_t max = room - got;
        size_t used = fcgi_parser_feed(&c->parser, c->raw + c->raw_off, avail, max ? max : 1, &ev);
        c->raw_off += used;
        switch (ev.type) {
        case FCGI_EV_NONE:
            c->raw_off = c->raw_len = 0;
            return got;
        case FCGI_EV_ERROR:
            c->bad = 1;
            c->raw_off = c->raw_len = 0;
            return got;
        case FCGI_EV_DATA:
            /* Content of other records (PARAMS, DATA, other ids, STDIN
             * after its end) is skipped. */
            if (ev.rec_type == FCGI_REC_STDIN && ev.request_id == c->id && !c->input_ended) {
                memcpy(out + got, ev.data, ev.len);
                got += ev.len;
            }
            break;
        case FCGI_EV_RECORD_END:
            if (ev.request_id != c->id)
                break;
            if (ev.rec_type == FCGI_REC_STDIN && ev.content_length == 0)
                c->input_ended = 1;
            else if (ev.rec_type == FCGI_REC_ABORT_REQUEST)
                c->aborted = 1;
            break;
        }
    }
}

static ssize_t fc_read(struct stream *s, void *buf, size_t len)
{
    struct fcgi_conn *c = s->impl;
    uint8_t *out = buf;
    size_t got = 0;
    if (c->ended)
        return 0;   /* the request is over: nothing more is ours */
    while (got < len && !c->aborted && !c->bad) {
        if (c->raw_off < c->raw_len) {
            got += consume_raw(c, out + got, len - got);
            if (c->raw_off < c->raw_len)
                break;      /* the caller's buffer is full */
            continue;
        }
        if (c->conn_eof)
            break;
        size_t want = len - got < RAW_CAP ? len - got : RAW_CAP;
        ssize_t n = read(c->fd, c->raw, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            c->conn_eof = 1;
            break;
        }
        c->raw_off = 0;
        c->raw_len = (size_t)n;
    }
    if (got)
        return (ssize_t)got;
    if (c->aborted || c->bad) {
        errno = c->bad ? EPROTO : ECONNRESET;
        return -1;
    }
    if ((c->input_ended || c->conn_eof) && !c->eof_reported) {
        c->eof_reported = 1;
        return 0;
    }
    errno = c->conn_eof ? ECONNRESET : EAGAIN;
    return -1;
}

static ssize_t send_iov(int fd, struct iovec *iov, int n)
{
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = iov;
    m.msg_iovlen = (size_t)n;
    ssize_t w;
    do
        w = sendmsg(fd, &m, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    return w;
}

static ssize_t fc_write(struct stream *s, const void *buf, size_t len)
{
    struct fcgi_conn *c = s->impl;
    const uint8_t *p = buf;
    size_t done = 0;
    if (c->ended || c->write_broken || c->shut) {
        errno = EPIPE;
        return -1;
    }
    while (done < len) {
        if (c->content_left == 0) {
            size_t n = len - done < FCGI_REC_MAX_CONTENT ? len - done : FCGI_REC_MAX_CONTENT;
            fcgi_record_header(c->hdr, FCGI_REC_STDOUT, c->id, n, 0);
            c->hdr_off = 0;
            c->content_left = n;
        }
        struct iovec iov[2];
        int k = 0;
        size_t hdr_left = FCGI_REC_HEADER_LEN - c->hdr_off;
        if (hdr_left)
            iov[k++] = (struct iovec){ c->hdr + c->hdr_off, hdr_left };
        size_t body = len - done < c->content_left ? len - done : c->content_left;
        iov[k++] = (struct iovec){ (void *)(p + done), body };
        ssize_t w = send_iov(c->fd, iov, k);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            c->write_broken = 1;
            if (done)
                break;
            return -1;
        }
        size_t wh = (size_t)w < hdr_left ? (size_t)w : hdr_left;
        c->hdr_off += wh;
        size_t wb = (size_t)w - wh;
        c->content_left -= wb;
        done += wb;
        if ((size_t)w < hdr_left + body)
            break;  /* the socket is full */
    }
    if (done)
        return (ssize_t)done;
    errno = EAGAIN;
    return -1;
}

/* Write all of buf (whole records of our own), waiting up to the deadline. */
static int write_raw(struct fcgi_conn *c, const uint8_t *p, size_t n, long long deadline)
{
    while (n) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
        long long left = deadline - now_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
        poll(&pfd, 1, (int)left);
    }
    return 0;
}

int fcgi_stream_end_request(struct stream *s, uint32_t app_status, int protocol_status,
                            int timeout_ms)
{
    struct fcgi_conn *c = s->impl;
    if (c->ended)
        return 0;
    /* Mid-record the stream cannot be ended cleanly: the web server would
     * read our END_REQUEST as content.  Only closing remains. */
    if (c->write_broken || c->shut || c->content_left || c->hdr_off < FCGI_REC_HEADER_LEN) {
        c->write_broken = 1;
        errno = EPIPE;
        return -1;
    }
    uint8_t rec[FCGI_REC_HEADER_LEN + FCGI_REC_END_REQUEST_LEN];
    fcgi_record_header(rec, FCGI_REC_STDOUT, c->id, 0, 0);
    fcgi_record_end_request(rec + FCGI_REC_HEADER_LEN, c->id, app_status, protocol_status);
    int rc = write_raw(c, rec, sizeof rec, now_ms() + timeout_ms);
    c->ended = 1;
    if (rc < 0)
        c->write_broken = 1;
    return rc;
}

static int fc_shutdown_write(struct stream *s)
{
    struct fcgi_conn *c = s->impl;
    int rc = fcgi_stream_end_request(s, 0, FCGI_REC_REQUEST_COMPLETE, END_TIMEOUT_MS);
    if (!c->shut) {
        /* Our side is done: the web server reads EOF after END_REQUEST,
         * also if it asked to keep the connection (we never reuse it). */
        shutdown(c->fd, SHUT_WR);
        c->shut = 1;
    }
    return rc;
}

static void fc_close(struct stream *s)
{
    struct fcgi_conn *c = s->impl;
    if (!c)
        return;
    if (!c->ended && !c->conn_eof)
        fc_shutdown_write(s);
    else if (!c->shut) {
        shutdown(c->fd, SHUT_WR);
        c->shut = 1;
    }
    /* Close only once the web server has closed (or after LINGER_MS):
     * closing with unread input makes the kernel send a reset, which can
     * destroy our last records before the web server reads them. */
    long long deadline = now_ms() + LINGER_MS;
    while (!c->conn_eof) {
        long long left = deadline - now_ms();
        if (left <= 0)
            break;
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
        if (poll(&pfd, 1, (int)left) <= 0)
            break;
        ssize_t n = read(c->fd, c->raw, sizeof c->raw);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            break;
    }
    close(c->fd);
    free(c);
    s->impl = NULL;
    s->rfd = s->wfd = -1;
}

static const struct stream_ops fcgi_ops = {
    .read = fc_read,
    .write = fc_write,
    .shutdown_write = fc_shutdown_write,
    .close = fc_close,
};

int fcgi_stream_init(struct stream *s, int fd, unsigned request_id,
                     const uint8_t *read_ahead, size_t read_ahead_len,
                     uint8_t *early, size_t early_cap, size_t *early_len)
{
    *early_len = 0;
    if (read_ahead_len > RAW_CAP || read_ahead_len > early_cap) {
        errno = EINVAL;
        return -1;
    }
    struct fcgi_conn *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->fd = fd;
    c->id = request_id;
    c->hdr_off = FCGI_REC_HEADER_LEN;
    fcgi_parser_init(&c->parser);
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (read_ahead_len) {
        memcpy(c->raw, read_ahead, read_ahead_len);
        c->raw_len = read_ahead_len;
        /* Content never exceeds the raw bytes around it, so all of it
         * fits in early and raw is empty afterwards. */
        *early_len = consume_raw(c, early, early_cap);
    }
    s->ops = &fcgi_ops;
    s->rfd = s->wfd = fd;
    s->impl = c;
    return 0;
}

int fcgi_stream_input_ended(const struct stream *s)
{
    const struct fcgi_conn *c = s->impl;
    return c && c->input_ended;
}

int fcgi_stream_peer_gone(const struct stream *s)
{
    const struct fcgi_conn *c = s->impl;
    return !c || c->aborted || c->conn_eof;
}
