#include "pushpipe/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/bytebuf.h"
#include "core/handler_codec.h"
#include "core/utf8.h"
#include "core/ws_close.h"
#include "core/ws_hixie.h"
#include "io/mono_clock.h"
#include "pushpipe/log.h"

/* One read from either side moves at most this much; a full queue stops
 * reading at HIGH_WATER.  Together they bound what one connection holds
 * besides the one message being assembled (itself bounded by
 * --max-message). */
#define READ_CHUNK (64 * 1024)
#define HIGH_WATER (256 * 1024)
/* How long a handler may take to flush its answers to the messages that
 * came before a protocol violation. */
#define FAIL_WAIT_MS 500
#define INFLATE_CHUNK (64 * 1024)

/* Set from a signal handler; a process runs one relay at a time. */
static volatile sig_atomic_t stop_requested;
/* The flag alone is missed when the signal lands between the loop's check
 * and poll(), which may then wait forever: relay_request_stop also writes a
 * byte here, and the loop polls the other end. */
static int stop_pipe[2] = { -1, -1 };

void relay_request_stop(void)
{
    stop_requested = 1;
    if (stop_pipe[1] >= 0) {
        int saved = errno;
        ssize_t w = write(stop_pipe[1], "", 1);
        (void)w;    /* full pipe: a wakeup is pending anyway */
        errno = saved;
    }
}

void relay_params_from_options(struct relay_params *p, const struct options *o)
{
    memset(p, 0, sizeof *p);
    p->role = WS_ROLE_SERVER;
    p->mode = o->mode;
    p->max_message = o->max_message;
    p->max_line = o->max_line;
    p->close_grace_ms = o->close_grace_ms;
    p->kill_grace_ms = o->kill_grace_ms;
    p->close_timeout_ms = o->close_timeout_ms;
    p->send_timeout_ms = o->send_timeout_ms;
    p->key3_timeout_ms = o->head_timeout_ms;
    p->ping_interval_ms = o->ping_interval_ms;
    p->ping_timeout_ms = o->ping_timeout_ms;
    p->eof_close_code = WS_CLOSE_NORMAL;
}

struct relay {
    struct stream *client;
    struct handler *h;
    const struct relay_params *p;
    struct relay_result *res;

    struct ws_parser parser;
    struct ws_hixie_parser hparser;
    struct ws_deflate deflate;
    int deflating;

    struct bytebuf out;         /* encoded frames for the client */
    struct bytebuf to_h;        /* bytes for the handler's stdin */
    struct bytebuf msg;         /* client message being assembled */
    struct bytebuf scratch;     /* compressed outgoing message */
    int msg_opcode;
    int msg_compressed;
    uint32_t msg_utf8;          /* validation of inflated text */
    struct bytebuf line;        /* lines mode: handler line in progress */
    struct rec_decoder rec;     /* framed mode: handler records */
    struct bytebuf rec_msg;
    enum rec_type rec_type;

    int hold_output;            /* draft-76: key3 not seen yet */
    long long key3_deadline;
    uint8_t key3[8];
    size_t key3_len;

    int client_eof;             /* no more input from the client */
    int client_dead;            /* writing to the client failed */
    int close_received;
    int close_sent;
    int told_closed;            /* the handler was told the connection ended */
    long long eof_at;           /* when the handler's output ended */
    long long last_input;       /* when the peer last sent something */
    int out_eof;                /* no more output from the handler */
    long long grace_deadline;   /* handler half-finished: when to stop waiting */
    long long close_deadline;   /* after our close: when to stop waiting */
    /* A close is due (the peer closed, or broke the protocol) but waits
     * until the handler has answered what came before it, or the deadline. */
    int pending;
    unsigned pending_code;      /* code to send; 0: empty close payload */
    long long pending_deadline;
    /* What the handler was given (messages, not close records) and what
     * it printed, in bytes, and whether its output came after its last
     * input: see answered(). */
    uint64_t given, printed;
    int printed_last;
    long long send_stalled;     /* output waiting and no write progress since */
    long long next_ping;        /* keepalive: when to send the next ping */
    long long pong_deadline;    /* a ping is out: its pong is due by then */
    unsigned ping_seq;

    uint8_t rnd[256];           /* masking keys (client role) */
    size_t rnd_left;

    int buffered;               /* the client stream holds bytes poll cannot see */
};

/* Read and inflate buffers: every use is over before the relay returns to
 * its event loop, so all relays of a process (an event-loop worker runs
 * many) share one set instead of each holding 192 KiB. */
static struct {
    uint8_t in[READ_CHUNK];
    uint8_t hbuf[READ_CHUNK];
    uint8_t inflated[INFLATE_CHUNK];
} scratch;

static int no_process(const struct relay *r)
{
    return r->h->pid <= 0;
}

/* ---- towards the client ------------------------------------------------ */

/* RFC 6455 10.3: masking keys must be unpredictable; a buffer of getrandom
 * output keeps that cheap. */
static void mask_key(struct relay *r, uint8_t key[4])
{
    if (r->rnd_left < 4) {
        if (getrandom(r->rnd, sizeof r->rnd, 0) != (ssize_t)sizeof r->rnd) {
            /* getrandom on Linux does not fail for 256 bytes once the pool
             * is ready; fall back to the clock rather than to zero keys. */
            long long t = now_ms();
            memcpy(r->rnd, &t, sizeof t);
        }
        r->rnd_left = sizeof r->rnd;
    }
    r->rnd_left -= 4;
    memcpy(key, r->rnd + r->rnd_left, 4);
}

static int out_full(struct relay *r)
{
    /* Flow control keeps us far below the bound; reaching it means memory
     * is short.  Dropping the connection is the honest answer. */
    log_msg(LOG_ERROR, "output queue full (%zu bytes); closing", bytebuf_len(&r->out));
    r->client_dead = 1;
    return -1;
}

static int queue_rfc_frame(struct relay *r, int opcode, int rsv1, const uint8_t *data, size_t len)
{
    uint8_t hdr[14], key[4];
    int client = r->p->role == WS_ROLE_CLIENT;
    if (client)
        mask_key(r, key);
    size_t hl = ws_frame_header(hdr, 1, rsv1, opcode, len, client ? key : NULL);
    uint8_t *dst = bytebuf_reserve(&r->out, hl + len);
    if (!dst)
        return out_full(r);
    memcpy(dst, hdr, hl);
    if (len)
        memcpy(dst + hl, data, len);
    if (client)
        ws_mask_bytes(dst + hl, len, key, 0);
    bytebuf_commit(&r->out, hl + len);
    return 0;
}

static int queue_frame(struct relay *r, int opcode, const uint8_t *data, size_t len)
{
    if (!r->p->hixie)
        return queue_rfc_frame(r, opcode, 0, data, len);
    if (opcode == WS_OP_CLOSE) {
        uint8_t b[2];
        size_t n = ws_hixie_close_frame(r->p->hixie, b);
        return bytebuf_append(&r->out, b, n) < 0 ? out_full(r) : 0;
    }
    if (opcode != WS_OP_TEXT)
        return 0;   /* the drafts have no binary, ping or pong frames */
    uint8_t *dst = bytebuf_reserve(&r->out, len + 2);
    if (!dst)
        return out_full(r);
    size_t n = ws_hixie_text_frame(dst, len + 2, data, len);
    bytebuf_commit(&r->out, n);
    return 0;
}

static void send_message(struct relay *r, int opcode, const uint8_t *data, size_t len)
{
    if (r->close_sent)
        return;
    if (r->p->hixie && opcode != WS_OP_TEXT) {
        log_msg(LOG_WARN, "dropping a binary message: draft-%d has no binary frames", r->p->hixie);
        return;
    }
    int rc;
    if (r->deflating && ws_deflate_worth(&r->deflate, len)) {
        uint8_t *z = bytebuf_reserve(&r->scratch, len);
        size_t zlen;
        int zr = z ? ws_deflate_compress(&r->deflate, data, len, z, len, &zlen) : WS_DEFLATE_E_SPACE;
        if (zr == WS_DEFLATE_OK)
            rc = queue_rfc_frame(r, opcode, 1, z, zlen);
        else if (zr == WS_DEFLATE_E_SPACE)
            rc = queue_rfc_frame(r, opcode, 0, data, len);
        else {
            log_msg(LOG_ERROR, "deflate: cannot compress (out of memory)");
            r->client_dead = 1;
            return;
        }
    } else {
        rc = queue_frame(r, opcode, data, len);
    }
    if (rc == 0)
        r->res->msgs_out++;
}

static void send_close(struct relay *r, unsigned code, const char *reason)
{
    if (r->close_sent)
        return;
    uint8_t payload[125];
    size_t n = ws_close_build(payload, code, reason, reason ? strlen(reason) : 0);
    queue_frame(r, WS_OP_CLOSE, payload, n);
    r->close_sent = 1;
    r->res->close_code = code ? code : WS_CLOSE_NO_STATUS;
    r->close_deadline = now_ms() + r->p->close_timeout_ms;
}

static void flush_client(struct relay *r)
{
    while (bytebuf_len(&r->out) && !r->client_dead && !r->hold_output) {
        ssize_t n = stream_write(r->client, bytebuf_head(&r->out), bytebuf_len(&r->out));
        if (n > 0) {
            r->res->bytes_out += (uint64_t)n;
            bytebuf_consume(&r->out, (size_t)n);
            r->send_stalled = 0;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!r->send_stalled)
                r->send_stalled = now_ms();
            return;
        }
        log_msg(LOG_DEBUG, "client write: %s", n < 0 ? strerror(errno) : "closed");
        r->client_dead = 1;
        r->client_eof = 1;
        bytebuf_clear(&r->out);
    }
}

/* ---- towards the handler ----------------------------------------------- */

static void queue_to_handler(struct relay *r, const void *p, size_t n)
{
    if (r->h->in_fd < 0)
        return;     /* the handler closed its stdin: nothing to deliver to */
    if (!r->told_closed) {
        r->given += n;
        r->printed_last = 0;
    }
    if (bytebuf_append(&r->to_h, p, n) < 0) {
        log_msg(LOG_ERROR, "handler input queue full; closing");
        send_close(r, WS_CLOSE_INTERNAL, NULL);
    }
}

static void queue_record(struct relay *r, enum rec_type t, const void *p, size_t n)
{
    char hdr[REC_HEADER_MAX];
    size_t hl = rec_header(hdr, t, n);
    queue_to_handler(r, hdr, hl);
    queue_to_handler(r, p, n);
    queue_to_handler(r, "\n", 1);
}

static void tell_handler_closed(struct relay *r, unsigned code, const uint8_t *reason, size_t rlen)
{
    r->told_closed = 1;
    if (r->p->mode != MODE_FRAMED)
        return;
    char payload[160];
    size_t n = rec_close_payload(payload, sizeof payload, code, (const char *)reason, rlen);
    if (n)
        queue_record(r, REC_CLOSE, payload, n);
}

static void flush_handler(struct relay *r)
{
    while (bytebuf_len(&r->to_h) && r->h->in_fd >= 0) {
        ssize_t n = write(r->h->in_fd, bytebuf_head(&r->to_h), bytebuf_len(&r->to_h));
        if (n > 0) {
            bytebuf_consume(&r->to_h, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        /* EPIPE: the handler stopped reading.  It may still be writing,
         * so the connection stays up; what it would have read is dropped. */
        log_msg(LOG_DEBUG, "handler stdin closed: %s", strerror(errno));
        handler_close_stdin(r->h);
        bytebuf_clear(&r->to_h);
    }
}

/* ---- client input -------------------------------------------------------- */

static void fail(struct relay *r, unsigned code, const char *why)
{
    if (r->pending || r->close_sent)
        return;
    /* Fail the connection, but first let the handler answer the messages
     * that preceded the violation: it sees EOF (or a close record) now,
     * and the close goes out once its output ends or after FAIL_WAIT_MS,
     * whichever comes first. */
    log_msg(LOG_INFO, "protocol error from %s: %s (closing with %u)",
            r->p->role == WS_ROLE_CLIENT ? "server" : "client", why ? why : "?", code);
    tell_handler_closed(r, code, NULL, 0);
    r->pending = 1;
    r->pending_code = code;
    r->res->failed_code = code;
    r->pending_deadline = now_ms() + FAIL_WAIT_MS;
    r->res->end = "protocol error";
    r->client_eof = 1;
}

static void deliver_message(struct relay *r)
{
    r->res->msgs_in++;
    switch (r->p->mode) {
    case MODE_LINES:
        queue_to_handler(r, bytebuf_head(&r->msg), bytebuf_len(&r->msg));
        queue_to_handler(r, "\n", 1);
        break;
    case MODE_FRAMED:
        queue_record(r, r->msg_opcode == WS_OP_TEXT ? REC_TEXT : REC_BINARY,
                     bytebuf_head(&r->msg), bytebuf_len(&r->msg));
        break;
    case MODE_BINARY:
        break;  /* already streamed */
    }
    bytebuf_clear(&r->msg);
}

static void message_bytes(struct relay *r, const uint8_t *data, size_t len)
{
    if (r->p->mode == MODE_BINARY)
        queue_to_handler(r, data, len);
    else if (bytebuf_append(&r->msg, data, len) < 0)
        fail(r, WS_CLOSE_TOO_BIG, "message too big");
}

/* Inflate a piece of a compressed message (fin: the message ends) and pass
 * the output on, validating text as it comes. */
static void inflate_bytes(struct relay *r, const uint8_t *data, size_t len, int fin)
{
    size_t off = 0;
    for (;;) {
        size_t used, produced;
        int rc = ws_deflate_decompress(&r->deflate, data + off, len - off, fin, &used,
                                       scratch.inflated, sizeof scratch.inflated, &produced);
        if (rc < 0) {
            fail(r, ws_deflate_close_code(rc), rc == WS_DEFLATE_E_TOO_BIG ? "inflated message too big"
                                                                            : "bad compressed data");
            return;
        }
        off += used;
        if (produced) {
            if (r->msg_opcode == WS_OP_TEXT &&
                utf8_feed(&r->msg_utf8, scratch.inflated, produced) == UTF8_INVALID) {
                fail(r, WS_CLOSE_INVALID_DATA, "invalid UTF-8 in compressed text");
                return;
            }
            message_bytes(r, scratch.inflated, produced);
        }
        if (rc == WS_DEFLATE_OK && off >= len)
            return;
    }
}

static int parse_next(struct relay *r, uint8_t *buf, size_t len, struct ws_event *ev)
{
    if (r->p->hixie)
        return (int)ws_hixie_parser_feed(&r->hparser, buf, len, ev);
    return (int)ws_parser_feed(&r->parser, buf, len, ev);
}

/* Once our close is out, a server's handler is done with messages.  A
 * client still delivers what the server sent before it saw that close
 * (RFC 6455 1.4: the peer may send until it answers): `printf hi | pushcat`
 * closes at once, and the echo must still be printed.  Nothing follows a
 * close record, though. */
static int delivering(const struct relay *r)
{
    if (!r->close_sent)
        return 1;
    return r->p->role == WS_ROLE_CLIENT && !r->told_closed;
}

static void on_client_bytes(struct relay *r, uint8_t *buf, size_t len)
{
    size_t off = 0;
    /* Call until the parser has nothing more: an event such as MESSAGE_END
     * can be pending after the last input byte was consumed. */
    while (!r->close_received && !r->pending) {
        struct ws_event ev;
        off += (size_t)parse_next(r, buf + off, len - off, &ev);
        switch (ev.type) {
        case WS_EV_NONE:
            return;
        case WS_EV_MESSAGE_START:
            r->msg_opcode = ev.opcode;
            r->msg_compressed = ev.compressed;
            r->msg_utf8 = UTF8_STATE_INIT;
            bytebuf_clear(&r->msg);
            break;
        case WS_EV_DATA:
            if (!delivering(r))
                break;
            if (r->msg_compressed)
                inflate_bytes(r, ev.data, ev.len, 0);
            else
                message_bytes(r, ev.data, ev.len);
            break;
        case WS_EV_MESSAGE_END:
            if (!delivering(r))
                break;
            if (r->msg_compressed) {
                inflate_bytes(r, NULL, 0, 1);
                if (r->pending)
                    return;
                if (r->msg_opcode == WS_OP_TEXT && r->msg_utf8 != UTF8_STATE_INIT &&
                    utf8_feed(&r->msg_utf8, NULL, 0) != UTF8_OK) {
                    fail(r, WS_CLOSE_INVALID_DATA, "compressed text ends inside a character");
                    return;
                }
            }
            deliver_message(r);
            break;
        case WS_EV_PING:
            if (!r->close_sent)
                queue_frame(r, WS_OP_PONG, ev.data, ev.len);
            break;
        case WS_EV_PONG:
            r->pong_deadline = 0;
            break;
        case WS_EV_CLOSE:
            r->close_received = 1;
            r->client_eof = 1;
            r->res->peer_code = ev.code;
            {
                size_t k = ev.len < sizeof r->res->peer_reason - 1 ? ev.len : sizeof r->res->peer_reason - 1;
                if (k)
                    memcpy(r->res->peer_reason, ev.data, k);
                r->res->peer_reason[k] = '\0';
            }
            if (!r->close_sent) {
                /* Echo the peer's code, as RFC 6455 5.5.1 asks, once the
                 * handler has answered the messages before the close
                 * (advance, answered) or its output ended: `echo hi |
                 * client` must get its echo.  A relay without a handler
                 * process answers at once. */
                r->res->peer_closed_first = 1;
                tell_handler_closed(r, ev.code, ev.data, ev.len);
                r->pending = 1;
                r->pending_code = ev.code == WS_CLOSE_NO_STATUS ? 0 : ev.code;
                r->pending_deadline = no_process(r) ? now_ms() : now_ms() + FAIL_WAIT_MS;
                r->res->close_code = ev.code;
                r->res->end = "peer closed";
            }
            return;
        case WS_EV_ERROR:
            fail(r, ev.code, ev.error);
            return;
        }
    }
}

/* draft-76: the 8 bytes after the head are key3; the 16-byte answer must
 * reach the client before any frame. */
static size_t take_key3(struct relay *r, const uint8_t *buf, size_t len)
{
    size_t k = 8 - r->key3_len;
    if (k > len)
        k = len;
    memcpy(r->key3 + r->key3_len, buf, k);
    r->key3_len += k;
    if (r->key3_len < 8)
        return k;
    uint8_t answer[16];
    if (ws_hixie_challenge(r->p->env, r->key3, answer) < 0) {
        log_msg(LOG_INFO, "draft-76: invalid keys");
        r->client_dead = 1;
        return k;
    }
    struct bytebuf held = r->out;
    bytebuf_init(&r->out, held.max);
    if (bytebuf_append(&r->out, answer, sizeof answer) < 0 ||
        bytebuf_append(&r->out, bytebuf_head(&held), bytebuf_len(&held)) < 0)
        out_full(r);
    bytebuf_free(&held);
    r->hold_output = 0;
    return k;
}

static void client_input(struct relay *r, uint8_t *buf, size_t len)
{
    if (r->hold_output && r->p->await_key3) {
        size_t k = take_key3(r, buf, len);
        buf += k;
        len -= k;
        if (r->hold_output)
            return;
    }
    on_client_bytes(r, buf, len);
}

static void read_client(struct relay *r)
{
    ssize_t n = stream_read(r->client, scratch.in, sizeof scratch.in);
    if (n > 0) {
        r->last_input = now_ms();
        r->res->bytes_in += (uint64_t)n;
        client_input(r, scratch.in, (size_t)n);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    r->client_eof = 1;
    if (!r->close_sent && !r->close_received && !r->pending) {
        /* Gone without a close frame: nothing can be sent any more. */
        r->res->close_code = WS_CLOSE_ABNORMAL;
        r->res->end = "peer disconnected";
        r->client_dead = 1;
        bytebuf_clear(&r->out);
        tell_handler_closed(r, WS_CLOSE_ABNORMAL, NULL, 0);
    }
}

/* ---- handler output ------------------------------------------------------ */

/* A line that is not UTF-8 cannot be a text message; sending it as binary
 * delivers it intact instead of making the client fail the connection. */
static void send_line(struct relay *r, const uint8_t *p, size_t n)
{
    if (n && p[n - 1] == '\r')
        n--;
    send_message(r, utf8_valid(p, n) ? WS_OP_TEXT : WS_OP_BINARY, p, n);
}

static void on_lines(struct relay *r, const uint8_t *p, size_t n)
{
    while (n) {
        const uint8_t *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        size_t have = bytebuf_len(&r->line);
        if (have + take > r->p->max_line) {
            /* Longer than --max-line: send what fits as one message and go
             * on with the rest of the line as the next one. */
            size_t fit = r->p->max_line - have;
            bytebuf_append(&r->line, p, fit);
            send_line(r, bytebuf_head(&r->line), bytebuf_len(&r->line));
            bytebuf_clear(&r->line);
            p += fit;
            n -= fit;
            continue;
        }
        if (!nl) {
            bytebuf_append(&r->line, p, n);
            return;
        }
        if (have) {
            bytebuf_append(&r->line, p, take);
            send_line(r, bytebuf_head(&r->line), bytebuf_len(&r->line));
            bytebuf_clear(&r->line);
        } else {
            send_line(r, p, take);
        }
        p += take + 1;
        n -= take + 1;
    }
}

static void handler_failed(struct relay *r, const char *why)
{
    log_msg(LOG_WARN, "handler output: %s; closing with 1011", why);
    send_close(r, WS_CLOSE_INTERNAL, NULL);
    r->res->end = "bad handler output";
    r->out_eof = 1;
}

static void on_record_end(struct relay *r)
{
    const uint8_t *p = bytebuf_head(&r->rec_msg);
    size_t n = bytebuf_len(&r->rec_msg);
    switch (r->rec_type) {
    case REC_TEXT:
        if (!utf8_valid(p, n)) {
            handler_failed(r, "text record is not UTF-8");
            return;
        }
        send_message(r, WS_OP_TEXT, p, n);
        break;
    case REC_BINARY:
        send_message(r, WS_OP_BINARY, p, n);
        break;
    case REC_CLOSE: {
        unsigned code;
        const uint8_t *reason;
        size_t rlen;
        if (r->pending) {
            /* The peer closed (or failed) first: its code is the answer,
             * whatever the handler echoes. */
            send_close(r, r->pending_code, NULL);
            break;
        }
        if (rec_close_parse(p, n, &code, &reason, &rlen) == 0 && code == WS_CLOSE_NO_STATUS) {
            send_close(r, 0, NULL);     /* "no code": an empty close payload */
            r->res->end = "handler closed";
            break;
        }
        if (rec_close_parse(p, n, &code, &reason, &rlen) < 0 || !ws_close_code_valid(code) ||
            !utf8_valid(reason, rlen)) {
            handler_failed(r, "malformed close record");
            return;
        }
        char rbuf[124];
        size_t k = rlen < sizeof rbuf - 1 ? rlen : sizeof rbuf - 1;
        memcpy(rbuf, reason, k);
        rbuf[k] = '\0';
        send_close(r, code, rbuf);
        r->res->end = "handler closed";
        break;
    }
    }
    bytebuf_clear(&r->rec_msg);
}

static void on_records(struct relay *r, const uint8_t *p, size_t n)
{
    size_t off = 0;
    while (!r->close_sent) {
        struct rec_event ev;
        off += rec_decoder_feed(&r->rec, p + off, n - off, &ev);
        switch (ev.type) {
        case REC_EV_NONE:
            return;
        case REC_EV_START:
            r->rec_type = ev.rtype;
            bytebuf_clear(&r->rec_msg);
            break;
        case REC_EV_DATA:
            if (bytebuf_append(&r->rec_msg, ev.data, ev.len) < 0) {
                handler_failed(r, "record larger than --max-message");
                return;
            }
            break;
        case REC_EV_END:
            on_record_end(r);
            break;
        case REC_EV_ERROR:
            handler_failed(r, ev.error ? ev.error : "malformed record");
            return;
        }
    }
}

static void handler_output_ended(struct relay *r)
{
    if (r->out_eof)
        return;
    r->out_eof = 1;
    r->eof_at = now_ms();
    if (r->p->mode == MODE_LINES && bytebuf_len(&r->line)) {
        send_line(r, bytebuf_head(&r->line), bytebuf_len(&r->line));
        bytebuf_clear(&r->line);
    }
    if (!no_process(r) && !r->h->exited && !r->grace_deadline)
        r->grace_deadline = now_ms() + r->p->close_grace_ms;
}

static void read_handler(struct relay *r)
{
    ssize_t n = read(r->h->out_fd, scratch.hbuf, sizeof scratch.hbuf);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        handler_close_stdout(r->h);
        handler_output_ended(r);
        return;
    }
    r->printed += (uint64_t)n;
    r->printed_last = 1;
    if (r->close_sent)
        return;
    switch (r->p->mode) {
    case MODE_LINES: on_lines(r, scratch.hbuf, (size_t)n); break;
    case MODE_BINARY: send_message(r, WS_OP_BINARY, scratch.hbuf, (size_t)n); break;
    case MODE_FRAMED: on_records(r, scratch.hbuf, (size_t)n); break;
    }
}

/* ---- the loop -------------------------------------------------------------- */

/* A client that stops reading must not hold a worker and its buffers
 * forever: after --send-timeout without progress the connection is dropped
 * (there is no way to deliver a close frame to it either). */
static void check_send_timeout(struct relay *r, long long now)
{
    if (r->send_stalled && r->p->send_timeout_ms && bytebuf_len(&r->out) &&
        now - r->send_stalled >= r->p->send_timeout_ms) {
        log_msg(LOG_INFO, "client read nothing for %u ms with %zu bytes waiting; dropping it",
                r->p->send_timeout_ms, bytebuf_len(&r->out));
        r->res->close_code = WS_CLOSE_ABNORMAL;
        r->res->end = "send timeout";
        r->client_dead = 1;
        tell_handler_closed(r, WS_CLOSE_ABNORMAL, NULL, 0);
    }
}

static void keepalive(struct relay *r, long long now)
{
    if (!r->p->ping_interval_ms || r->p->hixie || r->close_sent || r->pending)
        return;
    if (r->pong_deadline && now >= r->pong_deadline) {
        log_msg(LOG_INFO, "no pong within %u ms; dropping the connection", r->p->ping_timeout_ms);
        r->res->close_code = WS_CLOSE_ABNORMAL;
        r->res->end = "ping timeout";
        r->client_dead = 1;
        tell_handler_closed(r, WS_CLOSE_ABNORMAL, NULL, 0);
        return;
    }
    if (now >= r->next_ping) {
        char payload[16];
        int n = snprintf(payload, sizeof payload, "%u", ++r->ping_seq);
        queue_frame(r, WS_OP_PING, (const uint8_t *)payload, (size_t)n);
        r->next_ping = now + r->p->ping_interval_ms;
        if (!r->pong_deadline && r->p->ping_timeout_ms)
            r->pong_deadline = now + r->p->ping_timeout_ms;
    }
}

/* Decide what follows from the handler's state; called every iteration. */
/* When the close may follow the end of our input (0: at once); see
 * eof_linger_ms. */
static long long linger_deadline(const struct relay *r)
{
    if (!r->p->eof_linger_ms || !no_process(r) || !r->out_eof)
        return 0;
    long long quiet = (r->last_input > r->eof_at ? r->last_input : r->eof_at) + r->p->eof_linger_ms;
    long long cap = r->eof_at + r->p->close_timeout_ms;
    return quiet < cap ? quiet : cap;
}

/* A close that waits on the handler (see `pending`) need not wait for its
 * exit once the handler has answered everything it was given: it printed
 * at least as many bytes as it was given, the last of them after the last
 * input, and no line or record of it is left half read.  An echo handler
 * (`cat`, in any mode) then has echoed every byte, so the close goes out
 * at once, as RFC 6455 5.5.1 asks ("as soon as practical"); waiting for
 * the exit instead put a process exit into every close handshake.  Bytes,
 * not messages: a long echo arrives in several reads, and a banner printed
 * before the input must not count as its answer.  A handler whose answers
 * are shorter than its input is waited for as before. */
static int answered(const struct relay *r)
{
    if (!r->given)
        return 1;
    if (r->printed < r->given || !r->printed_last)
        return 0;
    if (r->p->mode == MODE_LINES)
        return bytebuf_len(&r->line) == 0;
    if (r->p->mode == MODE_FRAMED)
        return rec_decoder_between(&r->rec);
    return 1;
}

static void advance(struct relay *r, long long now)
{
    /* With a pidfd the loop learns of the exit from poll; without one, ask
     * (the loop then wakes every 100 ms). */
    if (!no_process(r) && !r->h->exited && r->h->pidfd < 0)
        handler_check_exit(r->h);
    if (!no_process(r) && r->h->exited && !r->out_eof && !r->grace_deadline)
        /* Exited, but something (a child of it) may still hold stdout open:
         * read on for a short while, then stop waiting. */
        r->grace_deadline = now + r->p->close_grace_ms;

    if (r->grace_deadline && now >= r->grace_deadline && !r->out_eof)
        handler_output_ended(r);

    if (r->pending && !r->close_sent && (r->out_eof || answered(r) || now >= r->pending_deadline)) {
        send_close(r, r->pending_code, NULL);
        return;
    }
    if (r->close_sent || !r->out_eof)
        return;
    if (no_process(r)) {
        if (now < linger_deadline(r))
            return;
        send_close(r, r->p->eof_close_code, r->p->eof_close_reason);
        r->res->end = "input ended";
    } else if (r->h->exited) {
        int ok = WIFEXITED(r->h->status) && WEXITSTATUS(r->h->status) == 0;
        send_close(r, ok ? r->p->eof_close_code : WS_CLOSE_INTERNAL, ok ? r->p->eof_close_reason : NULL);
        r->res->end = ok ? "handler exited" : "handler failed";
    } else if (r->grace_deadline && now >= r->grace_deadline) {
        /* stdout closed and the handler lingers: its output is complete,
         * so the close is normal; handler_finish will stop it. */
        send_close(r, r->p->eof_close_code, r->p->eof_close_reason);
        r->res->end = "handler closed stdout";
    }
}

static int finished(struct relay *r, long long now)
{
    if (r->client_dead)
        return 1;
    if (r->client_eof && !r->close_sent && !r->pending)
        return 1;
    if (!r->close_sent)
        return 0;
    if (bytebuf_len(&r->out))
        /* Held for a draft-76 key3 that never came: it can never be sent,
         * and waiting on would spin (the close deadline has passed). */
        return r->hold_output && now >= r->close_deadline;
    /* Our close is on the wire.  After the peer's close (or its EOF) the
     * exchange is complete; otherwise wait for its answer a bounded time.
     * draft-75 has no closing frame: closing the socket is the close. */
    if (r->p->hixie == 75)
        return 1;
    if (r->close_received || r->client_eof)
        return bytebuf_len(&r->to_h) == 0 || r->h->in_fd < 0 || now >= r->close_deadline;
    return now >= r->close_deadline;
}

static int min_timeout(long long now, long long deadline, int cur)
{
    if (!deadline)
        return cur;
    long long left = deadline - now;
    if (left < 0)
        left = 0;
    if (cur < 0 || left < cur)
        return (int)left;
    return cur;
}

/* What the connection waits for next; the body of an event loop iteration
 * before its wait.  Returns 1 when the connection is over. */
int relay_prepare(struct relay *r, long long now, struct relay_wait *w)
{
    struct handler *h = r->h;
    struct stream *client = r->client;
    if (stop_requested && !r->close_sent && !r->client_dead) {
        tell_handler_closed(r, WS_CLOSE_GOING_AWAY, NULL, 0);
        send_close(r, WS_CLOSE_GOING_AWAY, NULL);
        r->res->end = "shutting down";
    }
    if (r->hold_output && r->key3_deadline && now >= r->key3_deadline) {
        log_msg(LOG_INFO, "draft-76: key3 did not arrive within %u ms", r->p->key3_timeout_ms);
        r->res->end = "no key3";
        r->client_dead = 1;
    }
    keepalive(r, now);
    check_send_timeout(r, now);
    advance(r, now);
    flush_handler(r);
    flush_client(r);
    if (finished(r, now))
        return 1;
    if ((r->close_received || r->client_eof) && bytebuf_len(&r->to_h) == 0)
        handler_close_stdin(h);

    for (int i = 0; i < RELAY_W_N; i++) {
        w->fd[i] = -1;
        w->events[i] = 0;
    }
    /* Output held for draft-76's key3 cannot drain, so it must not stop
     * us reading the very bytes that release it. */
    int want_read = !r->client_eof && (r->hold_output || (bytebuf_len(&r->out) < HIGH_WATER &&
                                                          bytebuf_len(&r->to_h) < HIGH_WATER));
    if (want_read) {
        w->fd[RELAY_W_CLIENT_R] = client->rfd;
        w->events[RELAY_W_CLIENT_R] = POLLIN;
    }
    if (bytebuf_len(&r->out) > 0 && !r->hold_output) {
        w->fd[RELAY_W_CLIENT_W] = client->wfd;
        w->events[RELAY_W_CLIENT_W] = POLLOUT;
    }
    if (h->in_fd >= 0 && bytebuf_len(&r->to_h)) {
        w->fd[RELAY_W_H_IN] = h->in_fd;
        w->events[RELAY_W_H_IN] = POLLOUT;
    }
    if (h->out_fd >= 0 && !r->out_eof && bytebuf_len(&r->out) < HIGH_WATER) {
        w->fd[RELAY_W_H_OUT] = h->out_fd;
        w->events[RELAY_W_H_OUT] = POLLIN;
    }
    relay_wait_handler(w, h);
    /* Until our close is out, a stop that comes while we wait (or just
     * after the check at the top) must wake us; after it, a stop has
     * nothing left to do, and the pipe, never drained, stays quiet. */
    if (stop_pipe[0] >= 0 && !r->close_sent) {
        w->fd[RELAY_W_STOP] = stop_pipe[0];
        w->events[RELAY_W_STOP] = POLLIN;
    }
    int timeout = -1;
    /* The grace deadline only matters until our close is out; once
     * past, it would make every wait return at once (a busy loop while
     * the client's close is awaited). */
    if (!r->close_sent)
        timeout = min_timeout(now, r->grace_deadline, timeout);
    if (r->close_sent)
        timeout = min_timeout(now, r->close_deadline, timeout);
    else if (r->pending)
        timeout = min_timeout(now, r->pending_deadline, timeout);
    if (r->hold_output)
        timeout = min_timeout(now, r->key3_deadline, timeout);
    if (r->send_stalled && r->p->send_timeout_ms)
        timeout = min_timeout(now, r->send_stalled + r->p->send_timeout_ms, timeout);
    if (!r->close_sent)
        timeout = min_timeout(now, linger_deadline(r), timeout);
    if (r->p->ping_interval_ms && !r->close_sent && !r->pending) {
        timeout = min_timeout(now, r->next_ping, timeout);
        timeout = min_timeout(now, r->pong_deadline, timeout);
    }
    if (!no_process(r) && h->pidfd < 0 && !h->exited && (timeout < 0 || timeout > 100))
        timeout = 100;  /* no pidfd: notice the exit by polling */
    /* TLS may hold decrypted bytes that poll cannot see: read on. */
    r->buffered = want_read && stream_pending(client);
    if (r->buffered)
        timeout = 0;
    w->deadline = timeout < 0 ? 0 : now + timeout;
    return 0;
}

void relay_ready(struct relay *r, const short revents[RELAY_W_N])
{
    short err = POLLERR | POLLHUP | POLLNVAL;
    if (revents[RELAY_W_H_OUT] & (POLLIN | err))
        read_handler(r);
    if (r->buffered || (revents[RELAY_W_CLIENT_R] & (POLLIN | err)))
        read_client(r);
    if (revents[RELAY_W_CLIENT_W] & (POLLOUT | err))
        flush_client(r);
    if (revents[RELAY_W_H_IN] & (POLLOUT | err))
        flush_handler(r);
    if (revents[RELAY_W_H_ERR] & (POLLIN | err))
        handler_drain_stderr(r->h);
    if (revents[RELAY_W_PIDFD] & POLLIN)
        handler_check_exit(r->h);
}

struct relay *relay_start(struct stream *client, const uint8_t *early, size_t early_len,
                          struct handler *h, const struct relay_params *p,
                          struct relay_result *res)
{
    memset(res, 0, sizeof *res);
    res->close_code = WS_CLOSE_ABNORMAL;
    res->end = "?";
    struct relay *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->client = client;
    r->h = h;
    r->p = p;
    r->res = res;
    ws_parser_init(&r->parser, p->role, p->max_message);
    if (p->hixie)
        ws_hixie_parser_init(&r->hparser, p->hixie, p->max_message);
    if (p->deflate && !p->hixie) {
        ws_deflate_init(&r->deflate, p->role, p->deflate, WS_DEFLATE_THRESHOLD, (size_t)p->max_message);
        r->parser.allow_rsv1 = 1;
        r->deflating = 1;
    }
    bytebuf_init(&r->out, p->max_message + 2 * HIGH_WATER);
    bytebuf_init(&r->to_h, p->max_message + 2 * HIGH_WATER);
    bytebuf_init(&r->msg, p->max_message);
    bytebuf_init(&r->scratch, p->max_message);
    bytebuf_init(&r->line, p->max_line);
    bytebuf_init(&r->rec_msg, p->max_message);
    rec_decoder_init(&r->rec, p->max_message);
    r->hold_output = p->await_key3;
    if (p->await_key3 && p->key3_timeout_ms)
        r->key3_deadline = now_ms() + p->key3_timeout_ms;
    /* The drafts have no ping frame: an armed timer keepalive() never
     * advances would make every poll return at once. */
    if (p->ping_interval_ms && !p->hixie)
        r->next_ping = now_ms() + p->ping_interval_ms;
    else if (p->ping_interval_ms)
        log_msg(LOG_DEBUG, "draft-%d has no ping frame: --ping-interval does not apply", p->hixie);

    /* With a large --max-head, more than one read chunk may have come in
     * behind the head; all of it is the client's stream. */
    for (size_t off = 0; off < early_len;) {
        size_t k = early_len - off < sizeof scratch.in ? early_len - off : sizeof scratch.in;
        memcpy(scratch.in, early + off, k);
        res->bytes_in += k;
        client_input(r, scratch.in, k);
        off += k;
    }
    return r;
}

void relay_after_fork(void)
{
    /* A child of an event-loop worker must not share its stop pipe: a
     * SIGTERM meant for the child would wake (not stop) the parent. */
    if (stop_pipe[0] >= 0) {
        close(stop_pipe[0]);
        close(stop_pipe[1]);
        stop_pipe[0] = stop_pipe[1] = -1;
    }
    stop_requested = 0;
}

int relay_client_gone(const struct relay *r)
{
    return r->client_dead;
}

void relay_free(struct relay *r)
{
    flush_handler(r);
    if (r->deflating)
        ws_deflate_free(&r->deflate);
    bytebuf_free(&r->out);
    bytebuf_free(&r->to_h);
    bytebuf_free(&r->msg);
    bytebuf_free(&r->scratch);
    bytebuf_free(&r->line);
    bytebuf_free(&r->rec_msg);
    free(r);
}

/* After our last byte, wait briefly for the client's EOF before closing, so
 * unread client bytes do not turn our close into a reset that could destroy
 * the close frame before the client reads it. */
static void lingering_close(struct stream *client, int dead)
{
    if (!dead && client->ops->shutdown_write(client) == 0) {
        long long deadline = now_ms() + RELAY_LINGER_MS;
        uint8_t junk[4096];
        for (;;) {
            long long left = deadline - now_ms();
            if (left <= 0)
                break;
            struct pollfd p = { .fd = client->rfd, .events = POLLIN };
            if (poll(&p, 1, (int)left) <= 0)
                break;
            ssize_t n = stream_read(client, junk, sizeof junk);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                break;
        }
    }
    client->ops->close(client);
}

void relay_wait_handler(struct relay_wait *w, const struct handler *h)
{
    if (h->err_fd >= 0) {
        w->fd[RELAY_W_H_ERR] = h->err_fd;
        w->events[RELAY_W_H_ERR] = POLLIN;
    }
    if (h->pidfd >= 0 && !h->exited) {
        w->fd[RELAY_W_PIDFD] = h->pidfd;
        w->events[RELAY_W_PIDFD] = POLLIN;
    }
}

int relay_wait_poll(const struct relay_wait *w, long long now, const sigset_t *mask,
                    short rev[RELAY_W_N])
{
    /* One pollfd per descriptor: the client socket is usually both the
     * read and the write side. */
    struct pollfd pf[RELAY_W_N];
    int slot_of[RELAY_W_N], n = 0;
    for (int i = 0; i < RELAY_W_N; i++) {
        slot_of[i] = -1;
        rev[i] = 0;
        if (w->fd[i] < 0)
            continue;
        for (int k = 0; k < n; k++)
            if (pf[k].fd == w->fd[i])
                slot_of[i] = k;
        if (slot_of[i] < 0) {
            slot_of[i] = n;
            pf[n++] = (struct pollfd){ .fd = w->fd[i], .events = 0 };
        }
        pf[slot_of[i]].events |= w->events[i];
    }
    long long left = -1;
    if (w->deadline)
        left = w->deadline - now < 0 ? 0 : w->deadline - now;
    int rc;
    if (mask) {
        struct timespec ts = { (time_t)(left / 1000), (long)(left % 1000) * 1000000L };
        rc = ppoll(pf, (nfds_t)n, left < 0 ? NULL : &ts, mask);
    } else {
        rc = poll(pf, (nfds_t)n, left < 0 ? -1 : left > INT_MAX ? INT_MAX : (int)left);
    }
    if (rc > 0)
        for (int i = 0; i < RELAY_W_N; i++)
            if (slot_of[i] >= 0)
                rev[i] = (short)(pf[slot_of[i]].revents & (w->events[i] | POLLERR | POLLHUP | POLLNVAL));
    return rc;
}

void relay_websocket(struct stream *client, const uint8_t *early, size_t early_len,
                     struct handler *h, const struct relay_params *p,
                     struct relay_result *res)
{
    /* Once per process, for this blocking loop only (an event loop learns
     * of a stop directly): the pipe lives as long as the process. */
    if (stop_pipe[0] < 0 && pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        stop_pipe[0] = stop_pipe[1] = -1;
    struct relay *r = relay_start(client, early, early_len, h, p, res);
    if (!r) {
        log_msg(LOG_ERROR, "out of memory for a connection");
        client->ops->close(client);
        handler_finish(h, 0, p->kill_grace_ms);
        return;
    }
    for (;;) {
        long long now = now_ms();
        struct relay_wait w;
        if (relay_prepare(r, now, &w))
            break;
        short rev[RELAY_W_N];
        int rc = relay_wait_poll(&w, now, NULL, rev);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            log_msg(LOG_ERROR, "poll: %s", strerror(errno));
            break;
        }
        if (rc == 0 && !r->buffered)
            continue;
        relay_ready(r, rev);
    }
    int dead = relay_client_gone(r);
    relay_free(r);
    lingering_close(client, dead);
    handler_finish(h, p->close_grace_ms, p->kill_grace_ms);
}
