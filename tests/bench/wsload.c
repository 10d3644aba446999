/* wsload.c - load generator for pushpipe's benchmarks (issue 7).
 *
 * One process, one thread, one epoll loop: on a 2-core machine the generator
 * competes with the server it measures, so it must stay cheap and
 * predictable.  It carries its own small RFC 6455 client and EventSource
 * reader instead of pushpipe's core, so that a bug in the code under test
 * cannot hide by agreeing with itself.
 *
 * Every scenario is bounded by --warmup + --duration (plus a short drain),
 * verifies what comes back, counts errors, and ends with one line
 *
 *     RESULT scenario=... key=value ...
 *
 * on stdout for scripts.  Exit status: 0 ok, 1 errors were counted, 2 usage,
 * 3 the server never accepted a connection.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

/* ------------------------------------------------------------------ */
/* time and randomness                                                 */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Masking keys must be unpredictable (RFC 6455 10.3), so they come from the
 * kernel's CSPRNG; a pool keeps that to one syscall per thousand frames. */
static uint8_t rnd_pool[4096];
static size_t rnd_left;

static void rnd_bytes(uint8_t *out, size_t n)
{
    while (n > 0) {
        if (rnd_left == 0) {
            size_t got = 0;
            while (got < sizeof rnd_pool) {
                ssize_t r = getrandom(rnd_pool + got, sizeof rnd_pool - got, 0);
                if (r < 0) {
                    if (errno == EINTR)
                        continue;
                    perror("wsload: getrandom");
                    exit(2);
                }
                got += (size_t)r;
            }
            rnd_left = sizeof rnd_pool;
        }
        size_t take = n < rnd_left ? n : rnd_left;
        memcpy(out, rnd_pool + sizeof rnd_pool - rnd_left, take);
        rnd_left -= take;
        out += take;
        n -= take;
    }
}

/* Payloads are a pure function of (connection, sequence number), so the
 * expected echo can be regenerated instead of stored, and a reordered,
 * duplicated or truncated message cannot match by accident. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static void make_payload(uint8_t *out, size_t n, uint32_t conn, uint64_t seq,
                         int binary)
{
    uint64_t x = ((uint64_t)conn << 40) ^ seq;
    size_t i = 0;
    while (i < n) {
        uint64_t r = splitmix64(&x);
        for (int k = 0; k < 8 && i < n; k++, i++, r >>= 8) {
            uint8_t b = (uint8_t)r;
            /* Text must survive the lines mode of both servers: printable
             * ASCII, so no newline can split it and it is valid UTF-8. */
            out[i] = binary ? b : (uint8_t)(33 + b % 94);
        }
    }
}

/* ------------------------------------------------------------------ */
/* log histogram: 64 sub-buckets per power of two (<1.6% error), values
 * below 128 exact; fixed size so the hot path never allocates.          */

#define H_SUB_BITS 6
#define H_SUB (1u << H_SUB_BITS)
#define H_BUCKETS (2 * H_SUB + (64 - H_SUB_BITS - 1) * H_SUB)

struct hist {
    uint64_t count[H_BUCKETS];
    uint64_t n, max;
};

static unsigned h_bucket(uint64_t v)
{
    if (v < 2 * H_SUB)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    unsigned top = (unsigned)(v >> (e - H_SUB_BITS));
    return 2 * H_SUB + (e - H_SUB_BITS - 1) * H_SUB + (top - H_SUB);
}

static uint64_t h_value(unsigned b)
{
    if (b < 2 * H_SUB)
        return b;
    unsigned k = (b - 2 * H_SUB) / H_SUB, sub = (b - 2 * H_SUB) % H_SUB;
    unsigned shift = k + 1;
    uint64_t lo = (uint64_t)(sub + H_SUB) << shift;
    return lo + ((uint64_t)1 << shift) / 2;     /* middle of the bucket */
}

static void h_add(struct hist *h, uint64_t v)
{
    h->count[h_bucket(v)]++;
    h->n++;
    if (v > h->max)
        h->max = v;
}

static uint64_t h_pct(const struct hist *h, double p)
{
    if (h->n == 0)
        return 0;
    uint64_t want = (uint64_t)(p * (double)h->n + 0.999999);
    if (want < 1)
        want = 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < H_BUCKETS; b++) {
        seen += h->count[b];
        if (seen >= want) {
            uint64_t v = h_value(b);
            return v > h->max ? h->max : v;
        }
    }
    return h->max;
}

/* ------------------------------------------------------------------ */
/* options                                                             */

enum scenario { SC_ECHO, SC_PIPELINE, SC_CONNRATE, SC_IDLE, SC_SSE, SC_LISTEN };

static struct {
    const char *host;
    int port;
    const char *path;
    enum scenario sc;
    const char *sc_name;
    int conns;
    int window;
    size_t size;
    int binary;
    double duration, warmup, timeout, wait_listen;
    pid_t server_pid;
    const char *label;
    const char *sse_expect;
    int verbose;
    int no_fin_wait;
} opt = {
    .host = "127.0.0.1", .path = "/", .sc = SC_ECHO, .sc_name = "echo",
    .conns = -1, .window = -1, .size = 32, .duration = 5, .warmup = 1,
    .timeout = 5, .label = "-",
};

static struct sockaddr_in server_addr;

/* ------------------------------------------------------------------ */
/* statistics                                                          */

enum phase { PH_WARMUP, PH_MEASURE, PH_DRAIN, PH_DONE };
static enum phase phase;
static uint64_t t_begin, t_measure, t_end_measure;
/* CPU this process used in the window: near 100% of a core means the
 * generator, not the server, set the rate */
static uint64_t cpu_measure, cpu_end_measure;

static uint64_t cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u
        + ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

enum err_kind { E_CONNECT, E_HANDSHAKE, E_MISMATCH, E_PROTOCOL, E_CLOSED,
                E_TIMEOUT, E_NKINDS };
static const char *const err_names[E_NKINDS] = {
    "connect", "handshake", "mismatch", "protocol", "closed", "timeout"
};

static struct {
    uint64_t msgs, bytes;       /* echoed inside the measurement window */
    uint64_t events;            /* SSE events inside the window */
    uint64_t cycles;            /* connrate: full cycles inside the window */
    uint64_t err[E_NKINDS], errors;
    uint64_t close_timeouts;    /* server never closed TCP after close frames */
    uint64_t abrupt_closes;     /* server closed TCP without a close frame */
    uint64_t pings, comments;
    struct hist lat, hs, ttfe;
    struct hist close, fin;     /* connrate: our close frame -> the server's; -> its FIN */
} st;

/* ------------------------------------------------------------------ */
/* connections                                                         */

enum cstate {
    C_FREE,         /* no socket */
    C_CONNECTING,   /* connect() in progress */
    C_HEAD,         /* request sent, reading the response head */
    C_OPEN,         /* WebSocket open / SSE streaming */
    C_CLOSING,      /* our close frame sent, waiting for the server's */
    C_CLOSE_WAIT    /* close frames exchanged, waiting for the server's FIN */
};

/* Frame parser for server-to-client frames (never masked). */
struct fparse {
    uint8_t h[14];
    size_t hlen, hneed;
    int in_payload;
    uint64_t remaining;
    int opcode, fin;
    int in_msg;             /* a fragmented data message is in progress */
    uint8_t ctl[125];
    size_t ctl_len;
};

/* Chunked transfer decoding for SSE responses. */
enum { CH_SIZE, CH_EXT, CH_DATA, CH_DATA_END, CH_TRAILER, CH_DONE };

struct conn {
    int fd;
    uint32_t id;
    enum cstate st;
    uint32_t events;            /* what epoll watches now */
    uint64_t t_start;           /* connect() began */
    uint64_t t_close;           /* connrate: our close frame went out, then the server's came */
    uint64_t deadline;          /* 0 = none */
    char accept[32];            /* expected Sec-WebSocket-Accept */
    char head[8192];
    size_t head_len;
    /* pending output; bounded by the window times the frame size */
    uint8_t *out;
    size_t out_off, out_len, out_cap;
    /* WebSocket */
    struct fparse fp;
    uint64_t send_seq, recv_seq;    /* next message to send / to receive */
    size_t recv_pos;                /* bytes of recv_seq matched so far */
    uint8_t *expect;                /* payload of recv_seq */
    uint64_t *sent_at;              /* ring of window send times */
    int ready;                      /* idle: handshake and one echo done */
    /* SSE */
    int chunked, ch_state;
    uint64_t ch_left;
    char line[4096];
    size_t line_len;
    int line_long;
    int ev_data_lines, ev_bad;
    int got_event;
    /* messages or events completed inside the measurement window: a
     * connection that stalls (a handler that buffers its output, say) must
     * show up as an error, not just as a lower rate */
    uint64_t window_done;
};

static struct conn *conns;
static int nconns;
static int ep;
static uint8_t rbuf[256 * 1024];

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);         /* also leaves the epoll set */
    c->fd = -1;
    c->st = C_FREE;
    c->deadline = 0;
    c->out_off = c->out_len = 0;
}

static void conn_error(struct conn *c, enum err_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void conn_error(struct conn *c, enum err_kind kind, const char *fmt, ...)
{
    /* Errors while draining are the server hanging up on us as we leave;
     * they are not the server's fault and not what is measured. */
    if (phase < PH_DRAIN) {
        st.err[kind]++;
        st.errors++;
        if (st.errors <= 10 || opt.verbose) {
            va_list ap;
            va_start(ap, fmt);
            fprintf(stderr, "wsload: conn %" PRIu32 ": %s error: ", c->id,
                    err_names[kind]);
            vfprintf(stderr, fmt, ap);
            fputc('\n', stderr);
            va_end(ap);
        }
    }
    conn_close(c);
}

static void set_events(struct conn *c, uint32_t ev)
{
    if (c->fd < 0 || ev == c->events)
        return;
    struct epoll_event e = { .events = ev, .data.ptr = c };
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
    c->events = ev;
}

static uint8_t *out_reserve(struct conn *c, size_t n)
{
    if (c->out_off > 0 && c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n)
            cap *= 2;
        uint8_t *p = realloc(c->out, cap);
        if (!p) {
            perror("wsload: realloc");
            exit(2);
        }
        c->out = p;
        c->out_cap = cap;
    }
    uint8_t *p = c->out + c->out_len;
    c->out_len += n;
    return p;
}

/* Returns -1 if the connection died. */
static int flush(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                set_events(c, EPOLLIN | EPOLLOUT);
                return 0;
            }
            conn_error(c, E_CLOSED, "send: %s", strerror(errno));
            return -1;
        }
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    set_events(c, EPOLLIN);
    return 0;
}

/* A masked client frame with a fresh key; the payload is copied in. */
static uint8_t *queue_frame(struct conn *c, int opcode, size_t len)
{
    size_t hl = 2 + (len < 126 ? 0 : len < 65536 ? 2 : 8) + 4;
    uint8_t *p = out_reserve(c, hl + len);
    p[0] = (uint8_t)(0x80 | opcode);
    size_t i = 2;
    if (len < 126) {
        p[1] = (uint8_t)(0x80 | len);
    } else if (len < 65536) {
        p[1] = 0x80 | 126;
        p[2] = (uint8_t)(len >> 8);
        p[3] = (uint8_t)len;
        i = 4;
    } else {
        p[1] = 0x80 | 127;
        for (int k = 0; k < 8; k++)
            p[2 + k] = (uint8_t)((uint64_t)len >> (56 - 8 * k));
        i = 10;
    }
    rnd_bytes(p + i, 4);
    return p + i;           /* key; the payload follows it */
}

static void mask_in_place(uint8_t *key_then_payload, size_t len)
{
    const uint8_t *key = key_then_payload;
    uint8_t *d = key_then_payload + 4;
    for (size_t i = 0; i < len; i++)
        d[i] ^= key[i & 3];
}

static void send_control(struct conn *c, int opcode, const uint8_t *data,
                         size_t len)
{
    uint8_t *k = queue_frame(c, opcode, len);
    memcpy(k + 4, data, len);
    mask_in_place(k, len);
}

static void send_close(struct conn *c)
{
    static const uint8_t normal[2] = { 1000 >> 8, 1000 & 0xff };
    send_control(c, 0x8, normal, 2);
    c->st = C_CLOSING;
    c->t_close = now_ns();
    c->deadline = now_ns() + (uint64_t)(opt.timeout * 1e9);
}

static void send_message(struct conn *c)
{
    uint8_t *k = queue_frame(c, opt.binary ? 0x2 : 0x1, opt.size);
    make_payload(k + 4, opt.size, c->id, c->send_seq, opt.binary);
    mask_in_place(k, opt.size);
    c->sent_at[c->send_seq % (uint64_t)opt.window] = now_ns();
    c->send_seq++;
}

/* Keep the window full; in the echo scenario the window is 1. */
static void fill_window(struct conn *c)
{
    if (phase >= PH_DRAIN || c->st != C_OPEN)
        return;
    while (c->send_seq - c->recv_seq < (uint64_t)opt.window)
        send_message(c);
}

/* ------------------------------------------------------------------ */
/* starting a connection                                               */

static void conn_start(struct conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        conn_error(c, E_CONNECT, "socket: %s", strerror(errno));
        return;
    }
    /* A WebSocket client sends each message at once; Nagle would turn the
     * echo latency into a measure of delayed ACKs. */
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->t_start = now_ns();
    c->deadline = c->t_start + (uint64_t)(opt.timeout * 1e9);
    c->st = C_CONNECTING;
    c->head_len = 0;
    c->out_off = c->out_len = 0;
    memset(&c->fp, 0, sizeof c->fp);
    c->fp.hneed = 2;
    c->send_seq = c->recv_seq = 0;
    c->recv_pos = 0;
    c->ready = 0;
    c->chunked = 0;
    c->ch_state = CH_SIZE;
    c->ch_left = 0;
    c->line_len = 0;
    c->line_long = 0;
    c->ev_data_lines = c->ev_bad = 0;
    c->got_event = 0;
    c->window_done = 0;
    c->events = EPOLLOUT;
    struct epoll_event e = { .events = EPOLLOUT, .data.ptr = c };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e) < 0) {
        perror("wsload: epoll_ctl");
        exit(2);
    }
    if (connect(c->fd, (struct sockaddr *)&server_addr, sizeof server_addr) < 0
        && errno != EINPROGRESS)
        conn_error(c, E_CONNECT, "connect: %s", strerror(errno));
}

static void send_request(struct conn *c)
{
    char req[1024];
    int n;
    if (opt.sc == SC_SSE) {
        n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s:%d\r\n"
                     "Accept: text/event-stream\r\n"
                     "Cache-Control: no-cache\r\n"
                     "\r\n", opt.path, opt.host, opt.port);
    } else {
        uint8_t raw[16];
        char key[32];
        unsigned char sha[SHA_DIGEST_LENGTH];
        char cat[128];
        rnd_bytes(raw, sizeof raw);
        EVP_EncodeBlock((unsigned char *)key, raw, sizeof raw);
        snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
        SHA1((const unsigned char *)cat, strlen(cat), sha);
        EVP_EncodeBlock((unsigned char *)c->accept, sha, sizeof sha);
        n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s:%d\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "\r\n", opt.path, opt.host, opt.port, key);
    }
    memcpy(out_reserve(c, (size_t)n), req, (size_t)n);
    c->st = C_HEAD;
    flush(c);
}

/* ------------------------------------------------------------------ */
/* HTTP response head                                                  */

/* Finds header `name` in a response head; the value is trimmed. */
static int head_get(const char *h, size_t len, const char *name,
                    const char **val, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *p = memchr(h, '\n', len), *end = h + len;
    while (p && p < end) {
        const char *line = p + 1;
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            break;
        if ((size_t)(eol - line) > nl && line[nl] == ':'
            && strncasecmp(line, name, nl) == 0) {
            const char *v = line + nl + 1, *ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            *val = v;
            *vlen = (size_t)(ve - v);
            return 1;
        }
        p = eol;
    }
    return 0;
}

/* Does a comma-separated header value contain `tok` (case-insensitive)? */
static int has_token(const char *v, size_t len, const char *tok)
{
    size_t tl = strlen(tok);
    size_t i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == ',' || v[i] == '\t'))
            i++;
        size_t s = i;
        while (i < len && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
            return 1;
    }
    return 0;
}

static int head_status(const char *h, size_t len)
{
    if (len < 12 || strncmp(h, "HTTP/1.", 7) != 0 || h[8] != ' ')
        return -1;
    if (!isdigit((unsigned char)h[9]) || !isdigit((unsigned char)h[10])
        || !isdigit((unsigned char)h[11]))
        return -1;
    return (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
}

static void on_ws_open(struct conn *c);
static void on_sse_open(struct conn *c);
static int body_input(struct conn *c, uint8_t *p, size_t n);

/* Checks the head; returns -1 if the connection was failed. */
static int check_head(struct conn *c)
{
    const char *h = c->head, *v;
    size_t len = c->head_len, vl;
    int status = head_status(h, len);
    if (opt.sc == SC_SSE) {
        if (status != 200) {
            conn_error(c, E_HANDSHAKE, "status %d, want 200", status);
            return -1;
        }
        if (!head_get(h, len, "Content-Type", &v, &vl) || vl < 17
            || strncasecmp(v, "text/event-stream", 17) != 0) {
            conn_error(c, E_HANDSHAKE, "Content-Type is not text/event-stream");
            return -1;
        }
        if (head_get(h, len, "Transfer-Encoding", &v, &vl))
            c->chunked = has_token(v, vl, "chunked");
        if (!c->chunked && head_get(h, len, "Content-Length", &v, &vl)) {
            conn_error(c, E_HANDSHAKE, "a stream must not have Content-Length");
            return -1;
        }
        on_sse_open(c);
        return 0;
    }
    if (status != 101) {
        conn_error(c, E_HANDSHAKE, "status %d, want 101", status);
        return -1;
    }
    if (!head_get(h, len, "Upgrade", &v, &vl) || !has_token(v, vl, "websocket")) {
        conn_error(c, E_HANDSHAKE, "no Upgrade: websocket");
        return -1;
    }
    if (!head_get(h, len, "Connection", &v, &vl) || !has_token(v, vl, "upgrade")) {
        conn_error(c, E_HANDSHAKE, "no Connection: upgrade");
        return -1;
    }
    if (!head_get(h, len, "Sec-WebSocket-Accept", &v, &vl)
        || vl != strlen(c->accept) || memcmp(v, c->accept, vl) != 0) {
        conn_error(c, E_HANDSHAKE, "wrong Sec-WebSocket-Accept");
        return -1;
    }
    if (head_get(h, len, "Sec-WebSocket-Extensions", &v, &vl) && vl > 0) {
        conn_error(c, E_HANDSHAKE, "extension negotiated that was not offered");
        return -1;
    }
    if (phase == PH_MEASURE)
        h_add(&st.hs, now_ns() - c->t_start);
    on_ws_open(c);
    return 0;
}

static int head_input(struct conn *c, uint8_t *p, size_t n)
{
    size_t old = c->head_len;
    size_t take = sizeof c->head - 1 - old;
    if (take > n)
        take = n;
    memcpy(c->head + old, p, take);
    c->head_len += take;
    c->head[c->head_len] = 0;
    size_t from = old >= 3 ? old - 3 : 0;
    char *e = strstr(c->head + from, "\r\n\r\n");
    if (!e) {
        if (c->head_len == sizeof c->head - 1) {
            conn_error(c, E_HANDSHAKE, "response head too large");
            return -1;
        }
        return 0;
    }
    size_t head_end = (size_t)(e - c->head) + 4;
    c->head_len = head_end;
    if (check_head(c) < 0)
        return -1;
    size_t used = head_end - old;
    if (used < n)
        return body_input(c, p + used, n - used);
    return 0;
}

/* ------------------------------------------------------------------ */
/* WebSocket                                                           */

static void on_ws_open(struct conn *c)
{
    c->st = C_OPEN;
    c->deadline = 0;
    if (opt.sc == SC_ECHO || opt.sc == SC_PIPELINE) {
        fill_window(c);
    } else {        /* connrate, idle: one message */
        send_message(c);
    }
    if (c->send_seq > c->recv_seq)
        c->deadline = now_ns() + (uint64_t)(opt.timeout * 1e9);
}

/* A whole expected message has come back. */
static void message_done(struct conn *c)
{
    uint64_t now = now_ns();
    if (phase == PH_MEASURE) {
        c->window_done++;
        st.msgs++;
        st.bytes += opt.size;
        h_add(&st.lat, now - c->sent_at[c->recv_seq % (uint64_t)opt.window]);
    }
    c->recv_seq++;
    c->recv_pos = 0;
    c->deadline = c->send_seq > c->recv_seq
        ? now + (uint64_t)(opt.timeout * 1e9) : 0;
    if (c->st != C_OPEN)
        return;     /* echoes still in flight after our close frame */
    switch (opt.sc) {
    case SC_ECHO:
    case SC_PIPELINE:
        fill_window(c);
        break;
    case SC_CONNRATE:
        send_close(c);
        break;
    case SC_IDLE:
        c->ready = 1;
        break;
    default:
        break;
    }
}

static int msg_data(struct conn *c, const uint8_t *p, size_t n)
{
    while (n > 0) {
        if (c->recv_seq >= c->send_seq) {
            conn_error(c, E_MISMATCH, "data for a message never sent");
            return -1;
        }
        if (c->recv_pos == 0)
            make_payload(c->expect, opt.size, c->id, c->recv_seq, opt.binary);
        size_t want = opt.size - c->recv_pos;
        if (want == 0) {
            /* lines mode: a message longer than what was sent */
            conn_error(c, E_MISMATCH, "message %" PRIu64 " too long", c->recv_seq);
            return -1;
        }
        size_t take = n < want ? n : want;
        if (memcmp(p, c->expect + c->recv_pos, take) != 0) {
            conn_error(c, E_MISMATCH, "message %" PRIu64 " differs from what was sent",
                       c->recv_seq);
            return -1;
        }
        c->recv_pos += take;
        p += take;
        n -= take;
        /* In binary mode the handler's output is a byte stream that either
         * server may cut anywhere, so messages are counted by bytes. */
        if (opt.binary && c->recv_pos == opt.size)
            message_done(c);
    }
    return 0;
}

static int msg_end(struct conn *c)
{
    if (opt.binary)
        return 0;
    if (c->recv_pos != opt.size) {
        conn_error(c, E_MISMATCH, "message %" PRIu64 ": %zu bytes, sent %zu",
                   c->recv_seq, c->recv_pos, opt.size);
        return -1;
    }
    message_done(c);
    return 0;
}

static int on_control(struct conn *c, int opcode, const uint8_t *p, size_t n)
{
    if (opcode == 0x9) {            /* ping: answer, even while closing */
        st.pings++;
        if (c->st == C_OPEN)
            send_control(c, 0xA, p, n);
        return 0;
    }
    if (opcode == 0xA)
        return 0;
    /* close */
    if (n == 1) {
        conn_error(c, E_PROTOCOL, "close frame with a 1-byte payload");
        return -1;
    }
    if (c->st == C_OPEN) {
        if (phase < PH_DRAIN) {
            unsigned code = n >= 2 ? (unsigned)(p[0] << 8 | p[1]) : 1005;
            conn_error(c, E_CLOSED, "server sent close (code %u)", code);
            return -1;
        }
        send_close(c);              /* answer it */
    }
    c->st = C_CLOSE_WAIT;
    if (opt.sc == SC_CONNRATE && phase == PH_MEASURE) {
        st.cycles++;
        uint64_t now = now_ns();
        h_add(&st.close, now - c->t_close);
        c->t_close = now;
    }
    if (opt.no_fin_wait && c->out_len == c->out_off) {
        /* Like many clients: done once the close frames are exchanged,
         * without waiting for the server to close TCP. */
        conn_close(c);
        return -1;
    }
    /* RFC 6455 7.1.1: the server closes TCP first, so TIME_WAIT lands on
     * the server and not on the client; wait a bounded time for that. */
    c->deadline = now_ns() + 1000000000u;
    return 0;
}

static int ws_input(struct conn *c, uint8_t *p, size_t n)
{
    struct fparse *f = &c->fp;
    while (n > 0) {
        if (!f->in_payload) {
            size_t take = f->hneed - f->hlen;
            if (take > n)
                take = n;
            memcpy(f->h + f->hlen, p, take);
            f->hlen += take;
            p += take;
            n -= take;
            if (f->hlen < f->hneed)
                return 0;
            if (f->hlen == 2) {
                if (f->h[1] & 0x80) {
                    conn_error(c, E_PROTOCOL, "server frame is masked");
                    return -1;
                }
                unsigned l7 = f->h[1] & 0x7f;
                f->hneed = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0);
                if (f->hneed > 2)
                    continue;
            }
            f->fin = f->h[0] >> 7;
            f->opcode = f->h[0] & 0x0f;
            unsigned l7 = f->h[1] & 0x7f;
            uint64_t len = l7;
            if (l7 == 126)
                len = (uint64_t)f->h[2] << 8 | f->h[3];
            else if (l7 == 127)
                for (int k = 0; k < 8; k++)
                    len = (len << 8) | f->h[2 + k];
            if (f->h[0] & 0x70) {
                conn_error(c, E_PROTOCOL, "RSV bits set without an extension");
                return -1;
            }
            if (f->opcode >= 0x8) {
                if (f->opcode > 0xA || !f->fin || len > 125) {
                    conn_error(c, E_PROTOCOL, "bad control frame");
                    return -1;
                }
                f->ctl_len = 0;
            } else if (f->opcode == 0) {
                if (!f->in_msg) {
                    conn_error(c, E_PROTOCOL, "continuation without a message");
                    return -1;
                }
            } else if (f->opcode <= 2) {
                if (f->in_msg) {
                    conn_error(c, E_PROTOCOL, "new message inside a fragmented one");
                    return -1;
                }
                if (f->opcode != (opt.binary ? 2 : 1)) {
                    conn_error(c, E_MISMATCH, "%s message, sent %s",
                               f->opcode == 1 ? "text" : "binary",
                               opt.binary ? "binary" : "text");
                    return -1;
                }
                f->in_msg = 1;
            } else {
                conn_error(c, E_PROTOCOL, "reserved opcode %d", f->opcode);
                return -1;
            }
            f->remaining = len;
            f->in_payload = 1;
        }
        size_t take = f->remaining < n ? (size_t)f->remaining : n;
        if (f->opcode >= 0x8) {
            memcpy(f->ctl + f->ctl_len, p, take);
            f->ctl_len += take;
        } else if (take > 0 && msg_data(c, p, take) < 0) {
            return -1;
        }
        p += take;
        n -= take;
        f->remaining -= take;
        if (f->remaining > 0)
            return 0;
        /* frame complete */
        f->in_payload = 0;
        f->hlen = 0;
        f->hneed = 2;
        if (f->opcode >= 0x8) {
            if (on_control(c, f->opcode, f->ctl, f->ctl_len) < 0)
                return -1;
        } else if (f->fin) {
            f->in_msg = 0;
            if (msg_end(c) < 0)
                return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* EventSource                                                         */

static void on_sse_open(struct conn *c)
{
    c->st = C_OPEN;
    /* the deadline stays: the first event must come within --timeout */
}

/* Returns -1 if the connection was failed. */
static int sse_line(struct conn *c, const char *s, size_t n)
{
    if (n > 0 && s[n - 1] == '\r')
        n--;
    if (n == 0) {                   /* blank line: dispatch */
        if (c->ev_data_lines > 0) {
            uint64_t now = now_ns();
            if (!c->got_event) {
                c->got_event = 1;
                c->deadline = 0;
                h_add(&st.ttfe, now - c->t_start);
            }
            if (c->ev_bad) {
                conn_error(c, E_MISMATCH, "event data is not \"%s\"",
                           opt.sse_expect);
                return -1;
            }
            if (phase == PH_MEASURE) {
                c->window_done++;
                st.events++;
            }
        }
        c->ev_data_lines = 0;
        c->ev_bad = 0;
        return 0;
    }
    if (s[0] == ':') {
        st.comments++;
        return 0;
    }
    if (n >= 4 && memcmp(s, "data", 4) == 0 && (n == 4 || s[4] == ':')) {
        const char *v = n == 4 ? s + 4 : s + 5;     /* "data" alone: empty */
        size_t vl = n == 4 ? 0 : n - 5;
        if (vl > 0 && *v == ' ') {
            v++;
            vl--;
        }
        c->ev_data_lines++;
        if (opt.sse_expect && (c->ev_data_lines > 1 || vl != strlen(opt.sse_expect)
                               || memcmp(v, opt.sse_expect, vl) != 0))
            c->ev_bad = 1;
    }
    /* event:, id:, retry: are not what is measured */
    return 0;
}

static int sse_bytes(struct conn *c, const uint8_t *p, size_t n)
{
    if (phase == PH_MEASURE)
        st.bytes += n;
    while (n > 0) {
        const uint8_t *nl = memchr(p, '\n', n);
        if (!nl) {
            size_t room = sizeof c->line - c->line_len;
            size_t take = n < room ? n : room;
            memcpy(c->line + c->line_len, p, take);
            c->line_len += take;
            if (take < n)
                c->line_long = 1;
            return 0;
        }
        size_t len = (size_t)(nl - p);
        if (c->line_len == 0 && !c->line_long) {
            if (sse_line(c, (const char *)p, len) < 0)    /* common: no copy */
                return -1;
        } else {
            size_t room = sizeof c->line - c->line_len;
            size_t take = len < room ? len : room;
            memcpy(c->line + c->line_len, p, take);
            c->line_len += take;
            if (c->line_long || take < len) {
                /* longer than any line we send or expect */
                if (opt.sse_expect)
                    c->ev_bad = 1;
                c->ev_data_lines++;
            } else if (sse_line(c, c->line, c->line_len) < 0) {
                return -1;
            }
            c->line_len = 0;
            c->line_long = 0;
        }
        p = nl + 1;
        n -= len + 1;
    }
    return 0;
}

static int sse_input(struct conn *c, uint8_t *p, size_t n)
{
    if (!c->chunked)
        return sse_bytes(c, p, n);
    while (n > 0) {
        switch (c->ch_state) {
        case CH_SIZE:
            if (isxdigit(*p)) {
                if (c->ch_left >> 56) {
                    conn_error(c, E_PROTOCOL, "chunk size overflow");
                    return -1;
                }
                int d = isdigit(*p) ? *p - '0' : (tolower(*p) - 'a' + 10);
                c->ch_left = c->ch_left * 16 + (uint64_t)d;
            } else if (*p == '\n') {
                c->ch_state = c->ch_left ? CH_DATA : CH_TRAILER;
            } else if (*p == ';' || *p == ' ' || *p == '\t') {
                c->ch_state = CH_EXT;
            } else if (*p != '\r') {
                conn_error(c, E_PROTOCOL, "bad chunk size line");
                return -1;
            }
            p++;
            n--;
            break;
        case CH_EXT:                    /* chunk extensions: ignored */
            if (*p == '\n')
                c->ch_state = c->ch_left ? CH_DATA : CH_TRAILER;
            p++;
            n--;
            break;
        case CH_DATA: {
            size_t take = c->ch_left < n ? (size_t)c->ch_left : n;
            if (sse_bytes(c, p, take) < 0)
                return -1;
            p += take;
            n -= take;
            c->ch_left -= take;
            if (c->ch_left == 0)
                c->ch_state = CH_DATA_END;
            break;
        }
        case CH_DATA_END:               /* the CRLF after the chunk data */
            if (*p == '\n')
                c->ch_state = CH_SIZE;
            else if (*p != '\r') {
                conn_error(c, E_PROTOCOL, "chunk data not followed by CRLF");
                return -1;
            }
            p++;
            n--;
            break;
        case CH_TRAILER:
            /* last-chunk: the stream is over; the trailer is not read */
            c->ch_state = CH_DONE;
            return 0;
        default:
            return 0;
        }
    }
    return 0;
}

static int body_input(struct conn *c, uint8_t *p, size_t n)
{
    return opt.sc == SC_SSE ? sse_input(c, p, n) : ws_input(c, p, n);
}

/* ------------------------------------------------------------------ */
/* event handling                                                      */

static void on_eof(struct conn *c)
{
    if (c->st == C_CLOSE_WAIT) {            /* the normal end */
        if (opt.sc == SC_CONNRATE && phase == PH_MEASURE)
            h_add(&st.fin, now_ns() - c->t_close);
        conn_close(c);
        return;
    }
    if (opt.sc != SC_SSE && (c->st == C_CLOSING || phase >= PH_DRAIN)) {
        st.abrupt_closes++;
        conn_close(c);
        return;
    }
    if (opt.sc == SC_SSE && c->chunked && c->ch_state == CH_DONE) {
        conn_error(c, E_CLOSED, "stream ended (last chunk)");
        return;
    }
    conn_error(c, E_CLOSED, "server closed the connection%s",
               c->st == C_HEAD ? " before answering" : "");
}

static void on_readable(struct conn *c)
{
    ssize_t n = read(c->fd, rbuf, sizeof rbuf);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        if (c->st == C_CLOSE_WAIT || c->st == C_CLOSING || phase >= PH_DRAIN) {
            st.abrupt_closes++;
            conn_close(c);
        } else {
            conn_error(c, E_CLOSED, "read: %s", strerror(errno));
        }
        return;
    }
    if (n == 0) {
        on_eof(c);
        return;
    }
    int r;
    if (c->st == C_HEAD)
        r = head_input(c, rbuf, (size_t)n);
    else if (c->st == C_CLOSE_WAIT && opt.sc != SC_SSE)
        r = 0;                  /* nothing may follow a close frame */
    else
        r = body_input(c, rbuf, (size_t)n);
    if (r == 0 && c->fd >= 0 && c->out_len > c->out_off)
        flush(c);
}

static void on_event(struct conn *c, uint32_t ev)
{
    if (c->st == C_CONNECTING) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) {
            conn_error(c, E_CONNECT, "connect: %s", strerror(err));
            return;
        }
        send_request(c);
        return;
    }
    if ((ev & EPOLLOUT) && flush(c) < 0)
        return;
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
        on_readable(c);
}

static void check_deadlines(uint64_t now)
{
    for (int i = 0; i < nconns; i++) {
        struct conn *c = &conns[i];
        if (c->fd < 0 || c->deadline == 0 || now < c->deadline)
            continue;
        if (c->st == C_CLOSE_WAIT || c->st == C_CLOSING) {
            st.close_timeouts++;
            conn_close(c);
        } else {
            const char *what = c->st == C_CONNECTING ? "connecting"
                : c->st == C_HEAD ? "waiting for the response head"
                : opt.sc == SC_SSE ? "waiting for the first event"
                : "waiting for an echo";
            conn_error(c, E_TIMEOUT, "%s", what);
        }
    }
}

/* ------------------------------------------------------------------ */
/* server memory, seen from outside (idle scenario)                    */

/* Per command name, so a per-connection cost can be pinned on the worker
 * or on the handler. */
#define MAX_COMMS 8
struct memsnap {
    uint64_t pss_kb;
    int procs;
    uint64_t kernel_kb;
    struct { char name[16]; int procs; uint64_t pss_kb; } comm[MAX_COMMS];
    int ncomm;
};

/* The fields of /proc/PID/stat after the command name (which may contain
 * spaces and parentheses: they follow the last ')'), in buf; NULL if the
 * process is gone. */
static const char *stat_fields(pid_t pid, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return p ? p + 1 : NULL;
}

static long read_ppid(pid_t pid)
{
    char buf[1024];
    const char *p = stat_fields(pid, buf, sizeof buf);
    char state;
    long ppid;
    if (!p || sscanf(p, " %c %ld", &state, &ppid) != 2)
        return -1;
    return ppid;
}

/* The command name, without characters that would break a RESULT line. */
static void read_comm(pid_t pid, char name[16])
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    strcpy(name, "?");
    FILE *f = fopen(path, "r");
    if (f) {
        if (fgets(name, 16, f))
            name[strcspn(name, "\n ,:=")] = 0;
        fclose(f);
    }
}

/* The server's process tree.  /proc/PID/task/TID/children needs
 * CONFIG_PROC_CHILDREN, which not every kernel has, so fall back to reading
 * every process's parent from /proc/N/stat. */
static int proc_tree(pid_t root, pid_t *out, int max)
{
    int n = 0;
    out[n++] = root;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)root, (int)root);
    if (access(path, R_OK) == 0) {
        for (int i = 0; i < n && n < max; i++) {
            char tdir[64];
            snprintf(tdir, sizeof tdir, "/proc/%d/task", (int)out[i]);
            DIR *d = opendir(tdir);
            if (!d)
                continue;
            struct dirent *de;
            while ((de = readdir(d)) != NULL && n < max) {
                if (de->d_name[0] == '.')
                    continue;
                char cpath[384];   /* task dir + any d_name */
                snprintf(cpath, sizeof cpath, "%s/%s/children", tdir, de->d_name);
                FILE *f = fopen(cpath, "r");
                if (!f)
                    continue;
                long pid;
                while (n < max && fscanf(f, "%ld", &pid) == 1)
                    out[n++] = (pid_t)pid;
                fclose(f);
            }
            closedir(d);
        }
        return n;
    }
    /* fallback: one pass collecting (pid, ppid), then a breadth-first walk */
    size_t cap = 4096, np = 0;
    long (*pairs)[2] = malloc(cap * sizeof *pairs);
    DIR *d = opendir("/proc");
    if (!d || !pairs) {
        free(pairs);
        if (d)
            closedir(d);
        return n;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        long pid = strtol(de->d_name, NULL, 10);
        long ppid = read_ppid((pid_t)pid);
        if (ppid < 0)
            continue;
        if (np == cap) {
            cap *= 2;
            long (*np2)[2] = realloc(pairs, cap * sizeof *pairs);
            if (!np2)
                break;
            pairs = np2;
        }
        pairs[np][0] = pid;
        pairs[np][1] = ppid;
        np++;
    }
    closedir(d);
    for (int i = 0; i < n && n < max; i++)
        for (size_t k = 0; k < np && n < max; k++)
            if (pairs[k][1] == out[i])
                out[n++] = (pid_t)pairs[k][0];
    free(pairs);
    return n;
}

static uint64_t read_kb_field(const char *path, const char *field)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[256];
    size_t fl = strlen(field);
    uint64_t v = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
            v = strtoull(line + fl + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static void mem_snapshot(struct memsnap *m)
{
    static pid_t pids[65536];
    int n = proc_tree(opt.server_pid, pids, (int)(sizeof pids / sizeof pids[0]));
    m->pss_kb = 0;
    m->procs = 0;
    m->ncomm = 0;
    for (int i = 0; i < n; i++) {
        char path[64], name[16];
        snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pids[i]);
        if (access(path, R_OK) != 0)
            continue;           /* exited meanwhile */
        uint64_t pss = read_kb_field(path, "Pss");
        m->pss_kb += pss;
        m->procs++;
        read_comm(pids[i], name);
        int k = 0;
        while (k < m->ncomm && strcmp(m->comm[k].name, name) != 0)
            k++;
        if (k == m->ncomm) {
            if (k == MAX_COMMS)
                continue;
            m->ncomm++;
            memcpy(m->comm[k].name, name, sizeof name);
            m->comm[k].procs = 0;
            m->comm[k].pss_kb = 0;
        }
        m->comm[k].procs++;
        m->comm[k].pss_kb += pss;
    }
    m->kernel_kb = read_kb_field("/proc/meminfo", "KernelStack")
        + read_kb_field("/proc/meminfo", "PageTables")
        + read_kb_field("/proc/meminfo", "Slab");
}

/* CPU the server's process tree used, in ns, split into the
 * server's own processes (the root, and those named after it:
 * pushpipe-loop) and the rest, its handlers: those alive, plus those the
 * server's processes have reaped (their cutime and cstime), so that
 * connrate's short-lived handlers count too.  With the client's own CPU
 * this shows where each message's or connection's cost goes, and what
 * the handlers and the client alone leave for any server on this
 * machine. */
struct cpusplit { uint64_t server_ns, handlers_ns; int ok; };
static struct cpusplit tree_measure, tree_end_measure;

/* The process's own CPU time and that of the children it reaped, in ns.
 * Own time comes from the scheduler's per-thread runtime where the kernel
 * shows it (/proc/PID/task/TID/sched, CONFIG_SCHED_DEBUG): the clock ticks
 * of /proc/PID/stat are counted per process, and 50 handlers started
 * together with the same work cross each 10 ms step together, so a
 * window of a few seconds could see none or all 50 steps.  (Threads that
 * have exited are missing from the sum; the servers measured keep theirs.)
 * Reaped time is summed in the kernel before rounding, so ticks serve
 * there. */
static uint64_t sched_runtime_ns(pid_t pid, int *found)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
    DIR *d = opendir(dir);
    uint64_t ns = 0;
    *found = 0;
    if (!d)
        return 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[384], line[256];
        snprintf(path, sizeof path, "%s/%s/sched", dir, de->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        while (fgets(line, sizeof line, f)) {
            const char *colon = strchr(line, ':');
            double ms;      /* the kernel prints milliseconds */
            if (strncmp(line, "se.sum_exec_runtime", 19) == 0 && colon
                && sscanf(colon + 1, "%lf", &ms) == 1) {
                ns += (uint64_t)(ms * 1e6);
                *found = 1;
                break;
            }
        }
        fclose(f);
    }
    closedir(d);
    return ns;
}

static int read_cpu_ns(pid_t pid, uint64_t *own, uint64_t *reaped)
{
    char buf[1024];
    const char *p = stat_fields(pid, buf, sizeof buf);
    unsigned long long ut, st_, cut, cst;     /* fields 14 to 17 */
    if (!p || sscanf(p, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu",
                     &ut, &st_, &cut, &cst) != 4)
        return -1;
    double tick_ns = 1e9 / (double)sysconf(_SC_CLK_TCK);
    int found;
    uint64_t sched = sched_runtime_ns(pid, &found);
    *own = found ? sched : (uint64_t)((double)(ut + st_) * tick_ns);
    *reaped = (uint64_t)((double)(cut + cst) * tick_ns);
    return 0;
}

static void cpu_tree(struct cpusplit *s)
{
    static pid_t pids[65536];
    memset(s, 0, sizeof *s);
    if (opt.server_pid <= 0)
        return;
    int n = proc_tree(opt.server_pid, pids, (int)(sizeof pids / sizeof pids[0]));
    char root[16], name[16];
    read_comm(opt.server_pid, root);
    size_t rl = strlen(root);
    for (int i = 0; i < n; i++) {
        uint64_t t, reaped;
        if (read_cpu_ns(pids[i], &t, &reaped) < 0)
            continue;
        read_comm(pids[i], name);
        if (i == 0 || (strncmp(name, root, rl) == 0 && (name[rl] == 0 || name[rl] == '-'))) {
            s->server_ns += t;
            s->handlers_ns += reaped;
        } else {
            s->handlers_ns += t + reaped;
        }
        s->ok = 1;
    }
}

/* Forked handlers may still be starting after the last echo (or exiting
 * after a probe); wait until the tree's size holds still. */
static int settle_procs(double max_s)
{
    uint64_t until = now_ns() + (uint64_t)(max_s * 1e9);
    static pid_t pids[65536];
    int last = -1, stable = 0;
    while (now_ns() < until) {
        int n = proc_tree(opt.server_pid, pids, (int)(sizeof pids / sizeof pids[0]));
        if (n == last) {
            if (++stable >= 5)
                return n;
        } else {
            stable = 0;
            last = n;
        }
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    return last;
}

/* ------------------------------------------------------------------ */
/* main loop                                                           */

static int wait_listen(void)
{
    uint64_t until = now_ns() + (uint64_t)(opt.wait_listen * 1e9);
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        int r = connect(fd, (struct sockaddr *)&server_addr, sizeof server_addr);
        close(fd);
        if (r == 0)
            return 0;
        if (now_ns() >= until)
            return -1;
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
}

static int live_conns(void)
{
    int n = 0;
    for (int i = 0; i < nconns; i++)
        n += conns[i].fd >= 0;
    return n;
}

static int ready_conns(void)
{
    int n = 0;
    for (int i = 0; i < nconns; i++)
        n += conns[i].fd >= 0 && conns[i].ready;
    return n;
}

static void start_drain(void)
{
    if (phase == PH_MEASURE && opt.sc != SC_CONNRATE)
        for (int i = 0; i < nconns; i++)
            if (conns[i].fd >= 0 && conns[i].window_done == 0)
                conn_error(&conns[i], E_TIMEOUT, "nothing came back during the"
                           " measurement window");
    if (phase == PH_MEASURE && opt.sc == SC_CONNRATE && st.cycles == 0) {
        st.err[E_TIMEOUT]++;
        st.errors++;
        fprintf(stderr, "wsload: no connection completed its cycle during the"
                " measurement window\n");
    }
    phase = PH_DRAIN;
    t_end_measure = now_ns();
    cpu_end_measure = cpu_ns();
    cpu_tree(&tree_end_measure);
    uint64_t dl = t_end_measure + 2000000000u;
    for (int i = 0; i < nconns; i++) {
        struct conn *c = &conns[i];
        if (c->fd < 0)
            continue;
        if (opt.sc != SC_SSE && c->st == C_OPEN) {
            send_close(c);
            c->deadline = dl;
            flush(c);
        } else if (c->st != C_CLOSING && c->st != C_CLOSE_WAIT) {
            conn_close(c);      /* half-open or SSE: just hang up */
        }
    }
}

/* Runs the loop until `stop` says so; returns when all is done. */
static void loop_once(int timeout_ms)
{
    struct epoll_event evs[256];
    int n = epoll_wait(ep, evs, 256, timeout_ms);
    for (int i = 0; i < n; i++) {
        struct conn *c = evs[i].data.ptr;
        if (c->fd < 0)
            continue;
        on_event(c, evs[i].events);
    }
    uint64_t now = now_ns();
    static uint64_t last_check;
    if (now - last_check > 50000000u) {
        last_check = now;
        check_deadlines(now);
    }
    if (opt.sc == SC_CONNRATE && phase < PH_DRAIN)
        for (int i = 0; i < nconns; i++)
            if (conns[i].fd < 0)
                conn_start(&conns[i]);     /* the next cycle of this loop */
}

static int ms_until(uint64_t t)
{
    uint64_t now = now_ns();
    if (t <= now)
        return 0;
    uint64_t ms = (t - now + 999999) / 1000000;
    return ms > 50 ? 50 : (int)ms;
}

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

static void print_errors(void)
{
    printf(" errors=%" PRIu64, st.errors);
    for (int k = 0; k < E_NKINDS; k++)
        if (st.err[k])
            printf(" err_%s=%" PRIu64, err_names[k], st.err[k]);
}

static int run_idle(void)
{
    struct memsnap before, after;
    settle_procs(3);
    mem_snapshot(&before);
    for (int i = 0; i < nconns; i++)
        conn_start(&conns[i]);
    uint64_t until = now_ns() + (uint64_t)(opt.timeout * 1e9) + (uint64_t)nconns * 10000000u;
    while (ready_conns() + (int)st.errors < nconns && now_ns() < until)
        loop_once(ms_until(until));
    int ready = ready_conns();
    if (ready < nconns && st.errors == 0) {
        st.err[E_TIMEOUT] += (uint64_t)(nconns - ready);
        st.errors += (uint64_t)(nconns - ready);
    }
    /* let forks finish and lazily allocated memory appear before measuring;
     * keep serving the sockets meanwhile so pings are answered */
    uint64_t settle = now_ns() + (uint64_t)(opt.warmup * 1e9);
    while (now_ns() < settle)
        loop_once(ms_until(settle));
    settle_procs(3);
    mem_snapshot(&after);
    int alive = live_conns();
    start_drain();
    while (live_conns() > 0)
        loop_once(50);
    double n = ready > 0 ? ready : 1;
    printf("RESULT scenario=idle label=%s conns=%d ready=%d alive=%d"
           " pss_before_kb=%" PRIu64 " pss_after_kb=%" PRIu64
           " pss_per_conn_b=%.0f"
           " kernel_before_kb=%" PRIu64 " kernel_after_kb=%" PRIu64
           " kernel_per_conn_b=%.0f"
           " procs_before=%d procs_after=%d procs_per_conn=%.2f",
           opt.label, nconns, ready, alive,
           before.pss_kb, after.pss_kb,
           ((double)after.pss_kb - (double)before.pss_kb) * 1024.0 / n,
           before.kernel_kb, after.kernel_kb,
           ((double)after.kernel_kb - (double)before.kernel_kb) * 1024.0 / n,
           before.procs, after.procs,
           (double)(after.procs - before.procs) / n);
    /* name:processes:PSS kB of each command in the tree, after */
    printf(" tree=");
    for (int k = 0; k < after.ncomm; k++)
        printf("%s%s:%d:%" PRIu64, k ? "," : "", after.comm[k].name,
               after.comm[k].procs, after.comm[k].pss_kb);
    print_errors();
    printf("\n");
    return st.errors ? 1 : 0;
}

/* Microseconds of CPU per message (echo, pipeline) or per connection
 * (connrate): the server's own, its handlers', this client's. */
static void print_cpu_split(uint64_t units)
{
    if (!tree_measure.ok || !tree_end_measure.ok || units == 0)
        return;
    double per = 1e-3 / (double)units;     /* ns -> us per unit */
    printf(" server_cpu_us=%.2f handlers_cpu_us=%.2f client_cpu_us=%.2f",
           (double)(tree_end_measure.server_ns - tree_measure.server_ns) * per,
           (double)(tree_end_measure.handlers_ns - tree_measure.handlers_ns) * per,
           (double)(cpu_end_measure - cpu_measure) / 1e3 / (double)units);
}

static int run_timed(void)
{
    t_begin = now_ns();
    t_measure = t_begin + (uint64_t)(opt.warmup * 1e9);
    uint64_t t_stop = t_measure + (uint64_t)(opt.duration * 1e9);
    phase = PH_WARMUP;
    for (int i = 0; i < nconns; i++)
        conn_start(&conns[i]);
    while (phase < PH_DRAIN) {
        uint64_t now = now_ns();
        if (phase == PH_WARMUP && now >= t_measure) {
            phase = PH_MEASURE;
            cpu_tree(&tree_measure);
            t_measure = now_ns();
            cpu_measure = cpu_ns();
        }
        if (phase == PH_MEASURE && now >= t_stop) {
            start_drain();
            break;
        }
        loop_once(ms_until(phase == PH_WARMUP ? t_measure : t_stop));
    }
    while (live_conns() > 0)
        loop_once(50);
    phase = PH_DONE;

    double secs = (double)(t_end_measure - t_measure) / 1e9;
    const char *sc = opt.sc_name;
    switch (opt.sc) {
    case SC_ECHO:
    case SC_PIPELINE:
        printf("RESULT scenario=%s label=%s conns=%d window=%d size=%zu binary=%d"
               " secs=%.2f msgs=%" PRIu64 " msgs_per_s=%.0f mb_per_s=%.3f"
               " p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f",
               sc, opt.label, nconns, opt.window, opt.size, opt.binary, secs,
               st.msgs, (double)st.msgs / secs, (double)st.bytes / secs / 1e6,
               us(h_pct(&st.lat, .50)), us(h_pct(&st.lat, .90)),
               us(h_pct(&st.lat, .99)), us(st.lat.max));
        print_cpu_split(st.msgs);
        break;
    case SC_CONNRATE:
        printf("RESULT scenario=connrate label=%s loops=%d secs=%.2f cycles=%" PRIu64
               " conns_per_s=%.1f hs_p50_us=%.1f hs_p90_us=%.1f hs_p99_us=%.1f"
               " hs_max_us=%.1f echo_p50_us=%.1f close_p50_us=%.1f fin_p50_us=%.1f",
               opt.label, nconns, secs, st.cycles, (double)st.cycles / secs,
               us(h_pct(&st.hs, .50)), us(h_pct(&st.hs, .90)),
               us(h_pct(&st.hs, .99)), us(st.hs.max), us(h_pct(&st.lat, .50)),
               us(h_pct(&st.close, .50)), us(h_pct(&st.fin, .50)));
        print_cpu_split(st.cycles);
        break;
    case SC_SSE:
        printf("RESULT scenario=sse label=%s conns=%d secs=%.2f events=%" PRIu64
               " events_per_s=%.0f mb_per_s=%.3f ttfe_p50_us=%.1f ttfe_max_us=%.1f"
               " comments=%" PRIu64,
               opt.label, nconns, secs, st.events, (double)st.events / secs,
               (double)st.bytes / secs / 1e6, us(h_pct(&st.ttfe, .50)),
               us(st.ttfe.max), st.comments);
        break;
    default:
        break;
    }
    printf(" close_timeouts=%" PRIu64 " abrupt_closes=%" PRIu64 " pings=%" PRIu64
           " client_cpu_pct=%.0f",
           st.close_timeouts, st.abrupt_closes, st.pings,
           100.0 * (double)(cpu_end_measure - cpu_measure)
           / (double)(t_end_measure - t_measure));
    print_errors();
    printf("\n");
    return st.errors ? 1 : 0;
}

static void usage(FILE *f)
{
    fprintf(f,
"usage: wsload --port N [options]\n"
"  --scenario echo|pipeline|connrate|idle|sse|listen   (default echo)\n"
"  --host ADDR (127.0.0.1)  --port N  --path /PATH\n"
"  --conns C      connections (echo 50, pipeline 10, connrate 8 loops, idle 100, sse 1)\n"
"  --window W     pipeline: messages in flight per connection (32)\n"
"  --size BYTES   message payload size (32)\n"
"  --binary       binary frames; the echo is checked as a byte stream\n"
"  --duration S   measured seconds (5)   --warmup S  unmeasured seconds first (1)\n"
"  --timeout S    per-step timeout (5)\n"
"  --server-pid P idle: the server whose process tree is measured;\n"
"                 echo, pipeline, connrate: also CPU per message or per\n"
"                 connection of the server, its handlers and this client\n"
"                 (server_cpu_us= ...)\n"
"  --expect STR   sse: every event's data must be STR\n"
"  --wait-listen S  first wait up to S seconds for the port to accept\n"
"  --label NAME   copied into the RESULT line\n"
"  --free-port    print a free loopback TCP port and exit\n"
"  --no-fin-wait  connrate: close our socket once the close frames are\n"
"                 exchanged instead of waiting for the server's FIN\n"
"  --verbose      report every error, not only the first ten\n");
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0
        || getsockname(fd, (struct sockaddr *)&a, &l) < 0) {
        perror("wsload: free port");
        return 2;
    }
    printf("%d\n", ntohs(a.sin_port));
    close(fd);
    return 0;
}

static double num_arg(const char *s, const char *name)
{
    char *end;
    double v = strtod(s, &end);
    if (*s == 0 || *end != 0 || v < 0) {
        fprintf(stderr, "wsload: bad value for --%s: %s\n", name, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        { "scenario", required_argument, NULL, 's' },
        { "host", required_argument, NULL, 'H' },
        { "port", required_argument, NULL, 'p' },
        { "path", required_argument, NULL, 'P' },
        { "conns", required_argument, NULL, 'c' },
        { "window", required_argument, NULL, 'w' },
        { "size", required_argument, NULL, 'z' },
        { "binary", no_argument, NULL, 'b' },
        { "duration", required_argument, NULL, 'd' },
        { "warmup", required_argument, NULL, 'W' },
        { "timeout", required_argument, NULL, 't' },
        { "server-pid", required_argument, NULL, 'S' },
        { "expect", required_argument, NULL, 'e' },
        { "wait-listen", required_argument, NULL, 'L' },
        { "label", required_argument, NULL, 'l' },
        { "free-port", no_argument, NULL, 'F' },
        { "verbose", no_argument, NULL, 'v' },
        { "no-fin-wait", no_argument, NULL, 'N' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 's':
            opt.sc_name = optarg;
            if (!strcmp(optarg, "echo")) opt.sc = SC_ECHO;
            else if (!strcmp(optarg, "pipeline")) opt.sc = SC_PIPELINE;
            else if (!strcmp(optarg, "connrate")) opt.sc = SC_CONNRATE;
            else if (!strcmp(optarg, "idle")) opt.sc = SC_IDLE;
            else if (!strcmp(optarg, "sse")) opt.sc = SC_SSE;
            else if (!strcmp(optarg, "listen")) opt.sc = SC_LISTEN;
            else {
                fprintf(stderr, "wsload: unknown scenario %s\n", optarg);
                return 2;
            }
            break;
        case 'H': opt.host = optarg; break;
        case 'p': opt.port = (int)num_arg(optarg, "port"); break;
        case 'P': opt.path = optarg; break;
        case 'c': opt.conns = (int)num_arg(optarg, "conns"); break;
        case 'w': opt.window = (int)num_arg(optarg, "window"); break;
        case 'z': opt.size = (size_t)num_arg(optarg, "size"); break;
        case 'b': opt.binary = 1; break;
        case 'd': opt.duration = num_arg(optarg, "duration"); break;
        case 'W': opt.warmup = num_arg(optarg, "warmup"); break;
        case 't': opt.timeout = num_arg(optarg, "timeout"); break;
        case 'S': opt.server_pid = (pid_t)num_arg(optarg, "server-pid"); break;
        case 'e': opt.sse_expect = optarg; break;
        case 'L': opt.wait_listen = num_arg(optarg, "wait-listen"); break;
        case 'l': opt.label = optarg; break;
        case 'F': return free_port();
        case 'v': opt.verbose = 1; break;
        case 'N': opt.no_fin_wait = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || opt.port <= 0 || opt.port > 65535) {
        usage(stderr);
        return 2;
    }
    if (opt.sc == SC_IDLE && opt.server_pid <= 0) {
        fprintf(stderr, "wsload: the idle scenario needs --server-pid\n");
        return 2;
    }
    if (opt.sc == SC_SSE && opt.binary) {
        fprintf(stderr, "wsload: --binary makes no sense for sse\n");
        return 2;
    }
    if (opt.size == 0 || opt.size > (64u << 20)) {
        fprintf(stderr, "wsload: --size must be 1..64M\n");
        return 2;
    }
    if (opt.conns < 0)
        opt.conns = opt.sc == SC_ECHO ? 50 : opt.sc == SC_PIPELINE ? 10
            : opt.sc == SC_CONNRATE ? 8 : opt.sc == SC_IDLE ? 100 : 1;
    if (opt.window < 0)
        opt.window = opt.sc == SC_PIPELINE ? 32 : 1;
    if (opt.sc != SC_PIPELINE)
        opt.window = 1;
    if (opt.conns < 1 || opt.window < 1) {
        fprintf(stderr, "wsload: --conns and --window must be at least 1\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    server_addr.sin_family = AF_INET;
    server_addr.sin_port = htons((uint16_t)opt.port);
    if (inet_pton(AF_INET, opt.host, &server_addr.sin_addr) != 1) {
        fprintf(stderr, "wsload: --host must be an IPv4 address: %s\n", opt.host);
        return 2;
    }
    if (opt.sc == SC_LISTEN && opt.wait_listen == 0)
        opt.wait_listen = opt.timeout;
    if (opt.wait_listen > 0 && wait_listen() < 0) {
        fprintf(stderr, "wsload: nothing accepts connections on %s:%d after %.1f s\n",
                opt.host, opt.port, opt.wait_listen);
        return 3;
    }
    if (opt.sc == SC_LISTEN)
        return 0;

    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        perror("wsload: epoll_create1");
        return 2;
    }
    nconns = opt.conns;
    conns = calloc((size_t)nconns, sizeof *conns);
    if (!conns) {
        perror("wsload: calloc");
        return 2;
    }
    for (int i = 0; i < nconns; i++) {
        conns[i].fd = -1;
        conns[i].id = (uint32_t)i;
        conns[i].expect = malloc(opt.size);
        conns[i].sent_at = calloc((size_t)opt.window, sizeof(uint64_t));
        if (!conns[i].expect || !conns[i].sent_at) {
            perror("wsload: malloc");
            return 2;
        }
    }
    int rc = opt.sc == SC_IDLE ? run_idle() : run_timed();
    for (int i = 0; i < nconns; i++) {
        free(conns[i].out);
        free(conns[i].expect);
        free(conns[i].sent_at);
    }
    free(conns);
    close(ep);
    return rc;
}
