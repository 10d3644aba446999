/* broadcast - pushpipe's chat handler: every line a client sends reaches
 * every client connected to the same channel, the sender included, in the
 * same order for all of them.
 *
 * Each connection has its own handler process, so the processes need a
 * meeting point:
 *   - Redis pub/sub when REDIS_URL, REDIS_HOST or REDIS_PORT is set (pass
 *     them with --passenv).  pushpipe instances on several machines then
 *     share channels, and anything that can PUBLISH (redis-cli, a web app)
 *     can push to the browsers.
 *   - Otherwise a broker process on this machine: the first client of a
 *     channel starts it on a unix socket in a private directory, every
 *     client connects to it, and it exits a moment after the last client
 *     left, removing its socket.  Nothing to install or configure.
 *
 * Channel: the first argument (for use from a shell), else PATH_INFO
 * ("/broadcast/room1"), else QUERY_STRING ("channel=room1" or just "room1"),
 * else "default".  1 to 64 characters from [A-Za-z0-9._-], not starting
 * with a dot.
 *
 * Output follows pushpipe's modes: one line per message (WebSocket lines
 * mode, EventSource --sse lines) or "data: LINE" events (--sse raw).
 * When stdin ends (the client left, or a shell pipe ended) what was read is
 * still published before the handler exits, so
 *     echo 'deploy finished' | broadcast news
 * pushes a line to every browser on channel "news".
 *
 * Bounds: a message is at most MAX_MESSAGE bytes (longer lines are dropped
 * with a note on stderr); the broker queues at most MAX_QUEUE bytes for one
 * client and disconnects a client that falls further behind (Redis applies
 * its own client-output-buffer-limit for pubsub).  The handler itself never
 * blocks on a slow client: it stops reading the channel instead, so that
 * the broker (or Redis) sees it fall behind, and it notices being dropped.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_MESSAGE (1024 * 1024)
#define MAX_QUEUE (8 * 1024 * 1024)
#define MAX_CHANNEL 64
#define CONNECT_TIMEOUT_MS 5000
#define DRAIN_TIMEOUT_MS 5000
#define BROKER_LINGER_MS 2000
#define HELLO "pushpipe-broadcast 1\n"

/* ---- small helpers ------------------------------------------------------ */

static const char *prog = "broadcast";
static char channel[MAX_CHANNEL + 1];

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\n", prog, line);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int left_ms(long long deadline)
{
    long long left = deadline - now_ms();
    return left < 0 ? 0 : left > 86400000 ? 86400000 : (int)left;
}

/* A byte queue: data lives in p[off, off+len). */
struct buf {
    char *p;
    size_t off, len, cap;
};

static int buf_add(struct buf *b, const void *d, size_t n, size_t max)
{
    if (b->len + n > max)
        return -1;
    if (n == 0)
        return 0;
    if (b->off + b->len + n > b->cap) {
        if (b->off) {
            memmove(b->p, b->p + b->off, b->len);
            b->off = 0;
        }
        if (b->len + n > b->cap) {
            size_t cap = b->cap ? b->cap : 4096;
            while (cap < b->len + n)
                cap *= 2;
            char *p = realloc(b->p, cap);
            if (!p)
                return -1;
            b->p = p;
            b->cap = cap;
        }
    }
    memcpy(b->p + b->off + b->len, d, n);
    b->len += n;
    return 0;
}

static void buf_consume(struct buf *b, size_t n)
{
    b->off += n;
    b->len -= n;
    if (b->len == 0)
        b->off = 0;
}

static char *buf_head(const struct buf *b)
{
    return b->p ? b->p + b->off : "";
}

static void buf_free(struct buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* Write out as much of b as fd takes now.  -1: fd is broken. */
static int buf_flush(struct buf *b, int fd)
{
    while (b->len) {
        ssize_t n = send(fd, buf_head(b), b->len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            buf_consume(b, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        return -1;
    }
    return 0;
}

/* Lines from a byte stream: complete lines go to fn; a line longer than
 * MAX_MESSAGE is skipped up to its newline (*dropped counts them). */
struct lines {
    struct buf b;
    int skipping;
    unsigned long dropped;
};

typedef int (*line_fn)(void *ctx, const char *line, size_t len);

static int lines_feed(struct lines *l, const char *p, size_t n, line_fn fn, void *ctx)
{
    while (n) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (l->skipping) {
            /* inside an overlong line: nothing to keep */
        } else if (buf_add(&l->b, p, take, MAX_MESSAGE) < 0) {
            l->skipping = 1;
            l->dropped++;
            buf_consume(&l->b, l->b.len);
        }
        if (!nl)
            return 0;
        if (!l->skipping && fn(ctx, buf_head(&l->b), l->b.len) < 0)
            return -1;
        buf_consume(&l->b, l->b.len);
        l->skipping = 0;
        p += take + 1;
        n -= take + 1;
    }
    return 0;
}

/* The client's messages, one per line; say so when one is too long. */
static void stdin_lines(struct lines *l, const char *p, size_t n, line_fn fn, void *ctx)
{
    unsigned long before = l->dropped;
    lines_feed(l, p, n, fn, ctx);
    if (l->dropped != before)
        say("dropped a message longer than %d bytes", MAX_MESSAGE);
}

/* ---- what the client sees ------------------------------------------------ */

static int sse_raw;             /* EventSource --sse raw: write data: fields */
static int stdout_gone;         /* the client left: keep draining, stop writing */

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* What waits for stdout.  The handler never blocks writing to a slow
 * client: it stops reading the channel instead (below OUT_LOW it reads
 * again), so the broker or Redis sees it fall behind and drops it, and it
 * notices that at once because it still polls the connection. */
#define OUT_LOW (256 * 1024)
static struct buf outq;

static int deliver(void *ctx, const char *line, size_t len)
{
    (void)ctx;
    if (stdout_gone)
        return 0;
    if ((sse_raw && buf_add(&outq, "data: ", 6, 2 * MAX_QUEUE) < 0) ||
        buf_add(&outq, line, len, 2 * MAX_QUEUE) < 0 ||
        buf_add(&outq, "\n\n", sse_raw ? 2 : 1, 2 * MAX_QUEUE) < 0) {
        say("out of memory for the client's queue");
        exit(1);
    }
    return 0;
}

static int out_room(void)
{
    return outq.len < OUT_LOW;
}

static short out_events(void)
{
    return outq.len && !stdout_gone ? POLLOUT : 0;
}

/* Write what stdout takes now (all of it when blocking). */
static void out_flush(void)
{
    while (outq.len && !stdout_gone) {
        ssize_t w = write(1, buf_head(&outq), outq.len);
        if (w > 0) {
            buf_consume(&outq, (size_t)w);
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        stdout_gone = 1;        /* the client left */
        buf_consume(&outq, outq.len);
    }
}

/* Before exiting: what is queued still goes out. */
static void out_finish(void)
{
    fcntl(1, F_SETFL, fcntl(1, F_GETFL) & ~O_NONBLOCK);
    out_flush();
    buf_free(&outq);
}

/* ---- configuration -------------------------------------------------------- */

static int valid_channel(const char *s, size_t n)
{
    if (n == 0 || n > MAX_CHANNEL || s[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-", s[i]) ||
            s[i] == '\0')
            return 0;
    return 1;
}

static int set_channel(const char *s, size_t n, const char *from)
{
    if (!valid_channel(s, n)) {
        say("bad channel name in %s (1-%d characters of A-Z a-z 0-9 . _ -, no leading dot)",
            from, MAX_CHANNEL);
        return -1;
    }
    memcpy(channel, s, n);
    channel[n] = '\0';
    return 0;
}

static int choose_channel(int argc, char **argv)
{
    if (argc > 1)
        return set_channel(argv[1], strlen(argv[1]), "the argument");
    const char *pi = getenv("PATH_INFO");
    if (pi && *pi) {
        while (*pi == '/')
            pi++;
        size_t n = strlen(pi);
        while (n && pi[n - 1] == '/')
            n--;
        if (n)
            return set_channel(pi, n, "PATH_INFO");
    }
    const char *q = getenv("QUERY_STRING");
    if (q && *q) {
        if (!strchr(q, '='))
            return set_channel(q, strlen(q), "QUERY_STRING");
        for (const char *p = q; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
            if (strncmp(p, "channel=", 8) == 0) {
                const char *v = p + 8;
                return set_channel(v, strcspn(v, "&"), "QUERY_STRING");
            }
        }
    }
    strcpy(channel, "default");
    return 0;
}

/* ---- Redis ------------------------------------------------------------------ */

struct redis_cfg {
    char host[256];
    char port[16];
    char unix_path[108];
    char user[128];
    char pass[256];
};

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Copy s[0..n) percent-decoded into out; -1 when it does not fit. */
static int pct_copy(char *out, size_t outlen, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
            i += 2;
        }
        if (o + 1 >= outlen)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

/* redis://[[user]:password@]host[:port][/db], redis://[::1]:6379,
 * unix:///path/to/redis.sock; or REDIS_HOST, REDIS_PORT, REDIS_PASSWORD.
 * 1: configured, 0: no Redis, -1: bad configuration. */
static int redis_config(struct redis_cfg *c)
{
    memset(c, 0, sizeof *c);
    const char *url = getenv("REDIS_URL");
    const char *host = getenv("REDIS_HOST"), *port = getenv("REDIS_PORT");
    const char *pass = getenv("REDIS_PASSWORD");
    strcpy(c->host, "127.0.0.1");
    strcpy(c->port, "6379");
    if (url && *url) {
        const char *p;
        if (strncmp(url, "unix://", 7) == 0 || strncmp(url, "unix:", 5) == 0) {
            p = url + (url[5] == '/' && url[6] == '/' ? 7 : 5);
            if (strlen(p) >= sizeof c->unix_path || *p != '/') {
                say("REDIS_URL: unix socket path must be absolute and short");
                return -1;
            }
            strcpy(c->unix_path, p);
        } else if (strncmp(url, "redis://", 8) == 0) {
            p = url + 8;
            const char *end = p + strcspn(p, "/?#");
            const char *at = memchr(p, '@', (size_t)(end - p));
            if (at) {
                const char *colon = memchr(p, ':', (size_t)(at - p));
                const char *ue = colon ? colon : at;
                if (pct_copy(c->user, sizeof c->user, p, (size_t)(ue - p)) < 0 ||
                    (colon && pct_copy(c->pass, sizeof c->pass, colon + 1, (size_t)(at - colon - 1)) < 0)) {
                    say("REDIS_URL: user or password too long");
                    return -1;
                }
                if (!colon) {   /* redis://password@host, as some clients accept */
                    strcpy(c->pass, c->user);
                    c->user[0] = '\0';
                }
                p = at + 1;
            }
            const char *hs = p, *he;
            if (*p == '[') {
                hs = p + 1;
                he = memchr(hs, ']', (size_t)(end - hs));
                if (!he) {
                    say("REDIS_URL: unclosed [ in the host");
                    return -1;
                }
                p = he + 1;
            } else {
                he = memchr(p, ':', (size_t)(end - p));
                if (!he)
                    he = end;
                p = he;
            }
            if (he > hs) {
                if ((size_t)(he - hs) >= sizeof c->host) {
                    say("REDIS_URL: host too long");
                    return -1;
                }
                memcpy(c->host, hs, (size_t)(he - hs));
                c->host[he - hs] = '\0';
            }
            if (*p == ':' && p + 1 < end) {
                if ((size_t)(end - p - 1) >= sizeof c->port) {
                    say("REDIS_URL: bad port");
                    return -1;
                }
                memcpy(c->port, p + 1, (size_t)(end - p - 1));
                c->port[end - p - 1] = '\0';
            }
        } else {
            say("REDIS_URL must start with redis:// or unix: (rediss:// is not supported;"
                " put stunnel or a local Redis replica in front)");
            return -1;
        }
    } else if ((host && *host) || (port && *port)) {
        if (host && *host)
            snprintf(c->host, sizeof c->host, "%s", host);
        if (port && *port)
            snprintf(c->port, sizeof c->port, "%s", port);
    } else {
        return 0;
    }
    if (pass && *pass && !c->pass[0])
        snprintf(c->pass, sizeof c->pass, "%s", pass);
    return 1;
}

/* Connect within CONNECT_TIMEOUT_MS; the socket stays blocking. */
static int redis_connect(const struct redis_cfg *c)
{
    if (c->unix_path[0]) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strcpy(sa.sun_path, c->unix_path);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
            say("cannot connect to Redis at %s: %s", c->unix_path, strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        return fd;
    }
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;
    int rc = getaddrinfo(c->host, c->port, &hints, &res);
    if (rc) {
        say("Redis host %s port %s: %s", c->host, c->port, gai_strerror(rc));
        return -1;
    }
    int fd = -1, err = 0;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS) {
            struct pollfd p = { .fd = fd, .events = POLLOUT };
            socklen_t len = sizeof err;
            if (poll(&p, 1, CONNECT_TIMEOUT_MS) == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
                break;
            if (!err)
                err = ETIMEDOUT;
        } else {
            err = errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        say("cannot connect to Redis at %s:%s: %s", c->host, c->port, strerror(err));
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

/* One RESP2 command as an array of bulk strings. */
static int resp_command(struct buf *out, int argc, const char *const *argv, const size_t *lens)
{
    char head[32];
    int n = snprintf(head, sizeof head, "*%d\r\n", argc);
    if (buf_add(out, head, (size_t)n, MAX_QUEUE) < 0)
        return -1;
    for (int i = 0; i < argc; i++) {
        n = snprintf(head, sizeof head, "$%zu\r\n", lens[i]);
        if (buf_add(out, head, (size_t)n, MAX_QUEUE) < 0 ||
            buf_add(out, argv[i], lens[i], MAX_QUEUE) < 0 ||
            buf_add(out, "\r\n", 2, MAX_QUEUE) < 0)
            return -1;
    }
    return 0;
}

/* One parsed reply: a simple value, or a flat array of up to 4 of them
 * (pub/sub messages are ["message", channel, payload]). */
struct resp {
    char type;                  /* + - : $ * */
    long long num;              /* ':' value, '$' length, '*' count */
    struct { char type; const char *p; size_t len; int nil; } el[4];
    int n;
    const char *p;              /* '+', '-', '$' text */
    size_t len;
    int nil;
};

/* Find "\r\n" in p[0..n): index of '\r', or -1. */
static long crlf(const char *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (p[i] == '\r' && p[i + 1] == '\n')
            return (long)i;
    return -1;
}

static int parse_ll(const char *p, size_t n, long long *out)
{
    char tmp[24];
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    char *end;
    errno = 0;
    *out = strtoll(tmp, &end, 10);
    return errno || *end ? -1 : 0;
}

/* A non-array value at p.  Bytes consumed, 0 if incomplete, -1 if bad. */
static long resp_scalar(const char *p, size_t n, char *type, const char **s, size_t *len,
                        long long *num, int *nil)
{
    if (n < 1)
        return 0;
    long e = crlf(p, n);
    if (e < 0)
        return n > 4096 ? -1 : 0;   /* type lines and errors are short */
    *type = p[0];
    *nil = 0;
    switch (p[0]) {
    case '+':
    case '-':
        *s = p + 1;
        *len = (size_t)e - 1;
        return e + 2;
    case ':':
        if (parse_ll(p + 1, (size_t)e - 1, num) < 0)
            return -1;
        return e + 2;
    case '$':
        if (parse_ll(p + 1, (size_t)e - 1, num) < 0 || *num < -1 || *num > MAX_QUEUE / 2)
            return -1;
        if (*num == -1) {
            *nil = 1;
            *s = NULL;
            *len = 0;
            return e + 2;
        }
        if ((size_t)e + 2 + (size_t)*num + 2 > n)
            return 0;
        *s = p + e + 2;
        *len = (size_t)*num;
        return e + 2 + *num + 2;
    default:
        return -1;
    }
}

static long resp_parse(const char *p, size_t n, struct resp *r)
{
    memset(r, 0, sizeof *r);
    if (n < 1)
        return 0;
    if (p[0] != '*')
        return resp_scalar(p, n, &r->type, &r->p, &r->len, &r->num, &r->nil);
    long e = crlf(p, n);
    if (e < 0)
        return 0;
    r->type = '*';
    if (parse_ll(p + 1, (size_t)e - 1, &r->num) < 0 || r->num < -1 || r->num > 4)
        return -1;
    long off = e + 2;
    for (long long i = 0; i < r->num; i++) {
        long long num;
        long k = resp_scalar(p + off, n - (size_t)off, &r->el[i].type, &r->el[i].p,
                             &r->el[i].len, &num, &r->el[i].nil);
        if (k <= 0)
            return k;
        off += k;
        r->n++;
    }
    return off;
}

static int el_is(const struct resp *r, int i, const char *s)
{
    return i < r->n && r->el[i].len == strlen(s) && memcmp(r->el[i].p, s, r->el[i].len) == 0;
}

/* Read one reply (blocking, with the connect timeout) into in; the parsed
 * reply points into in, consumed by the caller. */
static long redis_read_reply(int fd, struct buf *in, struct resp *r)
{
    long long deadline = now_ms() + CONNECT_TIMEOUT_MS;
    for (;;) {
        long k = resp_parse(buf_head(in), in->len, r);
        if (k != 0)
            return k;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, left_ms(deadline)) <= 0)
            return -1;
        char tmp[4096];
        ssize_t got = read(fd, tmp, sizeof tmp);
        if (got <= 0 || buf_add(in, tmp, (size_t)got, MAX_QUEUE) < 0)
            return -1;
    }
}

/* Send a command and check its reply (AUTH, SUBSCRIBE). */
static int redis_call(int fd, struct buf *in, int argc, const char *const *argv,
                      const size_t *lens, struct resp *r, long *consumed)
{
    struct buf out = { 0 };
    int rc = resp_command(&out, argc, argv, lens);
    if (rc == 0)
        rc = write_all(fd, buf_head(&out), out.len);
    buf_free(&out);
    if (rc < 0)
        return -1;
    *consumed = redis_read_reply(fd, in, r);
    return *consumed > 0 ? 0 : -1;
}

static int redis_open(const struct redis_cfg *c, struct buf *in)
{
    int fd = redis_connect(c);
    if (fd < 0 || !c->pass[0])
        return fd;
    const char *argv[3] = { "AUTH", c->user, c->pass };
    size_t lens[3] = { 4, strlen(c->user), strlen(c->pass) };
    struct resp r = { 0 };
    long k;
    int argc = c->user[0] ? 3 : 2;
    if (!c->user[0]) {
        argv[1] = c->pass;
        lens[1] = lens[2];
    }
    if (redis_call(fd, in, argc, argv, lens, &r, &k) < 0 || r.type == '-') {
        say("Redis AUTH failed: %.*s", r.type == '-' ? (int)r.len : 7, r.type == '-' ? r.p : "no reply");
        close(fd);
        return -1;
    }
    buf_consume(in, (size_t)k);
    return fd;
}

struct redis_state {
    int sub, pub;
    struct buf sub_in, pub_in, pub_out;
    char rchan[MAX_CHANNEL + 128];
    size_t rchan_len;
    unsigned long pending;      /* PUBLISH replies still to come */
};

static int redis_publish(void *ctx, const char *line, size_t len)
{
    struct redis_state *s = ctx;
    const char *argv[3] = { "PUBLISH", s->rchan, line };
    size_t lens[3] = { 7, s->rchan_len, len };
    if (resp_command(&s->pub_out, 3, argv, lens) < 0) {
        say("too much unpublished input; dropping a message");
        return 0;
    }
    s->pending++;
    return 0;
}

static int redis_run(const struct redis_cfg *c)
{
    static struct redis_state s;
    const char *prefix = getenv("PUSHPIPE_BROADCAST_PREFIX");
    if (!prefix)
        prefix = "pushpipe:";
    int k0 = snprintf(s.rchan, sizeof s.rchan, "%s%s", prefix, channel);
    if (k0 < 0 || (size_t)k0 >= sizeof s.rchan) {
        say("PUSHPIPE_BROADCAST_PREFIX is too long");
        return 1;
    }
    s.rchan_len = (size_t)k0;
    s.sub = redis_open(c, &s.sub_in);
    if (s.sub < 0)
        return 1;
    s.pub = redis_open(c, &s.pub_in);
    if (s.pub < 0)
        return 1;
    /* Subscribed before reading stdin: a client's own first message
     * comes back to it, and so does everything published after. */
    const char *argv[2] = { "SUBSCRIBE", s.rchan };
    size_t lens[2] = { 9, s.rchan_len };
    struct resp r = { 0 };
    long k;
    if (redis_call(s.sub, &s.sub_in, 2, argv, lens, &r, &k) < 0 || r.type != '*' ||
        !el_is(&r, 0, "subscribe")) {
        say("Redis SUBSCRIBE %s failed%s%.*s", s.rchan, r.type == '-' ? ": " : "",
            r.type == '-' ? (int)r.len : 0, r.type == '-' ? r.p : "");
        return 1;
    }
    buf_consume(&s.sub_in, (size_t)k);
    fcntl(s.sub, F_SETFL, O_NONBLOCK);
    fcntl(s.pub, F_SETFL, O_NONBLOCK);

    static struct lines in;
    int stdin_eof = 0;
    long long drain_deadline = 0;
    char tmp[65536];
    for (;;) {
        if (stdin_eof && s.pub_out.len == 0 && s.pending == 0) {
            out_finish();
            return 0;
        }
        if (stdin_eof && !drain_deadline)
            drain_deadline = now_ms() + DRAIN_TIMEOUT_MS;
        if (drain_deadline && now_ms() >= drain_deadline) {
            say("Redis did not confirm %lu messages", s.pending);
            return 1;
        }
        struct pollfd p[4] = {
            { .fd = s.sub, .events = (out_room() ? POLLIN : 0) | POLLRDHUP },
            { .fd = s.pub, .events = POLLIN | (s.pub_out.len ? POLLOUT : 0) },
            { .fd = stdin_eof || s.pub_out.len > MAX_MESSAGE ? -1 : 0, .events = POLLIN },
            { .fd = 1, .events = out_events() },
        };
        int rc = poll(p, 4, drain_deadline ? left_ms(drain_deadline) : -1);
        if (rc < 0 && errno != EINTR) {
            say("poll: %s", strerror(errno));
            return 1;
        }
        if (rc <= 0)
            continue;
        if (p[3].revents)
            out_flush();
        if (p[2].revents) {
            ssize_t n = read(0, tmp, sizeof tmp);
            if (n > 0)
                stdin_lines(&in, tmp, (size_t)n, redis_publish, &s);
            else if (n == 0 || errno != EINTR)
                stdin_eof = 1;
        }
        if (!(p[0].events & POLLIN) && p[0].revents & (POLLHUP | POLLRDHUP | POLLERR)) {
            say("Redis closed the subscription (this client fell too far behind?)");
            return 1;
        }
        if (p[1].revents & POLLOUT && buf_flush(&s.pub_out, s.pub) < 0) {
            say("lost the Redis connection");
            return 1;
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(s.pub, tmp, sizeof tmp);
            if (n <= 0) {
                if (n < 0 && errno == EAGAIN)
                    continue;
                say("Redis closed the connection");
                return 1;
            }
            if (buf_add(&s.pub_in, tmp, (size_t)n, MAX_QUEUE) < 0)
                return 1;
            long used;
            while ((used = resp_parse(buf_head(&s.pub_in), s.pub_in.len, &r)) > 0) {
                if (r.type == '-')
                    say("Redis: %.*s", (int)r.len, r.p);
                if (s.pending)
                    s.pending--;
                buf_consume(&s.pub_in, (size_t)used);
            }
            if (used < 0) {
                say("Redis protocol error");
                return 1;
            }
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(s.sub, tmp, sizeof tmp);
            if (n <= 0) {
                if (n < 0 && errno == EAGAIN)
                    continue;
                say("Redis closed the subscription");
                return 1;
            }
            if (buf_add(&s.sub_in, tmp, (size_t)n, MAX_QUEUE) < 0)
                return 1;
            long used;
            while ((used = resp_parse(buf_head(&s.sub_in), s.sub_in.len, &r)) > 0) {
                if (r.type == '*' && r.n == 3 && el_is(&r, 0, "message"))
                    deliver(NULL, r.el[2].p, r.el[2].len);
                buf_consume(&s.sub_in, (size_t)used);
            }
            out_flush();
            if (used < 0) {
                say("Redis protocol error");
                return 1;
            }
        }
    }
}

/* ---- the local broker -------------------------------------------------------- */

/* The directory where channel sockets live: ours alone (0700, our uid), so
 * no other user can listen in or pretend to be the broker. */
static int enter_socket_dir(void)
{
    char path[4096];
    /* Not $XDG_RUNTIME_DIR: handlers do not get it, a login shell does,
     * and both must find the same sockets. */
    const char *d = getenv("PUSHPIPE_BROADCAST_DIR");
    if (d && *d)
        snprintf(path, sizeof path, "%s", d);
    else
        snprintf(path, sizeof path, "/tmp/pushpipe-broadcast-%lu", (unsigned long)geteuid());
    if (mkdir(path, 0700) < 0 && errno != EEXIST) {
        say("cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 077)) {
        say("%s must be a directory owned by uid %lu with mode 0700 (set PUSHPIPE_BROADCAST_DIR"
            " to use another)", path, (unsigned long)geteuid());
        return -1;
    }
    if (chdir(path) < 0) {
        say("cannot enter %s: %s", path, strerror(errno));
        return -1;
    }
    return open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int unix_socket_at(const char *name, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    snprintf(sa->sun_path, sizeof sa->sun_path, "%s", name);
    return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static int try_connect(const char *name)
{
    struct sockaddr_un sa;
    int fd = unix_socket_at(name, &sa);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* The broker greets every client it accepted; a connection that ends
 * without the greeting hit a broker on its way out: try again. */
static int read_hello(int fd)
{
    char want[] = HELLO, got[sizeof want];
    size_t have = 0;
    long long deadline = now_ms() + CONNECT_TIMEOUT_MS;
    while (have < sizeof want - 1) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, left_ms(deadline)) <= 0)
            return -1;
        ssize_t n = read(fd, got + have, 1);
        if (n <= 0)
            return -1;
        have++;
    }
    return memcmp(got, want, sizeof want - 1) == 0 ? 0 : -1;
}

struct client {
    int fd;
    int closing;                /* read EOF: close once out is flushed */
    int behind;                 /* its queue overflowed: drop it after this round */
    struct lines in;
    struct buf out;
};

struct broker {
    int listen_fd, dir_fd;
    dev_t dev;
    ino_t ino;                  /* the socket file we created */
    char name[MAX_CHANNEL + 8];
    struct client *c;
    size_t n, cap;
};

static volatile sig_atomic_t broker_stop;

static void on_term(int sig)
{
    (void)sig;
    broker_stop = 1;
}

static void client_drop(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    buf_free(&c->in.b);
    buf_free(&c->out);
}

/* line points into the sender's input buffer: nobody is dropped (and
 * freed) while it is being handed out, only marked. */
static int fan_out(void *ctx, const char *line, size_t len)
{
    struct broker *b = ctx;
    for (size_t i = 0; i < b->n; i++) {
        struct client *c = &b->c[i];
        if (c->fd < 0 || c->behind)
            continue;
        if (c->out.len + len + 1 > MAX_QUEUE) {
            c->behind = 1;      /* too far behind: its handler ends, the browser reconnects */
            continue;
        }
        if (buf_add(&c->out, line, len, MAX_QUEUE) < 0 || buf_add(&c->out, "\n", 1, MAX_QUEUE) < 0)
            c->behind = 1;
    }
    return 0;
}

static void broker_accept(struct broker *b)
{
    for (;;) {
        int fd = accept4(b->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            return;
        if (b->n == b->cap) {
            size_t cap = b->cap ? b->cap * 2 : 16;
            struct client *c = realloc(b->c, cap * sizeof *c);
            if (!c) {
                close(fd);
                return;
            }
            b->c = c;
            b->cap = cap;
        }
        struct client *c = &b->c[b->n++];
        memset(c, 0, sizeof *c);
        c->fd = fd;
        buf_add(&c->out, HELLO, sizeof HELLO - 1, MAX_QUEUE);
        buf_flush(&c->out, fd);
    }
}

/* Leave only if nobody is knocking: under the directory lock (which every
 * would-be broker takes) check the queue once more, then remove the socket
 * so the next client starts a new broker. */
static int broker_try_exit(struct broker *b)
{
    flock(b->dir_fd, LOCK_EX);
    broker_accept(b);
    if (b->n && !broker_stop) {
        flock(b->dir_fd, LOCK_UN);
        return 0;
    }
    struct stat st;
    if (lstat(b->name, &st) == 0 && st.st_dev == b->dev && st.st_ino == b->ino)
        unlink(b->name);
    close(b->listen_fd);
    b->listen_fd = -1;
    flock(b->dir_fd, LOCK_UN);
    return 1;
}

static void close_other_fds(int keep)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) {
        for (int fd = 3; fd < 1024; fd++)
            if (fd != keep)
                close(fd);
        return;
    }
    int dfd = dirfd(d);
    struct dirent *e;
    int fds[1024], n = 0;
    while ((e = readdir(d)) && n < 1024) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd > 2 && fd != keep && fd != dfd)
            fds[n++] = fd;
    }
    closedir(d);
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

static void broker_main(int listen_fd, const char *name, const struct stat *st)
{
    static struct broker b;
    b.listen_fd = listen_fd;
    b.dev = st->st_dev;
    b.ino = st->st_ino;
    snprintf(b.name, sizeof b.name, "%s", name);
    /* Nothing of the handler's may stay open here: pushpipe waits for its
     * pipes to close, and the connection's client would never see EOF. */
    close_other_fds(listen_fd);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (null > 2)
            close(null);
    }
    b.dir_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    prctl(PR_SET_NAME, "bcast-broker", 0, 0, 0);    /* for ps and pgrep */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    fcntl(listen_fd, F_SETFL, O_NONBLOCK);

    long long idle_since = now_ms();
    struct pollfd *p = NULL;
    size_t pcap = 0;
    char tmp[65536];
    for (;;) {
        /* Compact: forget dropped clients. */
        size_t j = 0;
        for (size_t i = 0; i < b.n; i++)
            if (b.c[i].fd >= 0)
                b.c[j++] = b.c[i];
        if (b.n && !j)
            idle_since = now_ms();
        b.n = j;
        if (broker_stop || (b.n == 0 && now_ms() - idle_since >= BROKER_LINGER_MS)) {
            if (broker_try_exit(&b))
                break;
            continue;
        }
        if (pcap < b.n + 1) {
            struct pollfd *np = realloc(p, (b.n + 16) * sizeof *p);
            if (!np) {
                sleep(1);
                continue;
            }
            p = np;
            pcap = b.n + 16;
        }
        p[0] = (struct pollfd){ .fd = b.listen_fd, .events = POLLIN };
        for (size_t i = 0; i < b.n; i++)
            p[i + 1] = (struct pollfd){ .fd = b.c[i].fd,
                                        .events = (b.c[i].closing ? 0 : POLLIN) |
                                                  (b.c[i].out.len ? POLLOUT : 0) };
        int timeout = b.n ? -1 : left_ms(idle_since + BROKER_LINGER_MS);
        int rc = poll(p, b.n + 1, timeout);
        if (rc <= 0)
            continue;
        size_t n = b.n;         /* clients accepted below are polled next round */
        for (size_t i = 0; i < n; i++) {
            struct client *c = &b.c[i];
            short re = p[i + 1].revents;
            if (c->fd < 0 || !re)
                continue;
            if (re & (POLLIN | POLLHUP | POLLERR) && !c->closing) {
                ssize_t got = read(c->fd, tmp, sizeof tmp);
                if (got > 0) {
                    unsigned long before = c->in.dropped;
                    lines_feed(&c->in, tmp, (size_t)got, fan_out, &b);
                    if (c->in.dropped != before && c->fd >= 0)
                        client_drop(c);     /* only handlers talk to us; they never send that */
                } else if (got == 0) {
                    c->closing = 1;
                } else if (errno != EAGAIN && errno != EINTR) {
                    client_drop(c);
                }
            }
            if (c->fd >= 0 && !c->behind && buf_flush(&c->out, c->fd) < 0)
                client_drop(c);
            if (c->fd >= 0 && c->closing && c->out.len == 0)
                client_drop(c);
        }
        for (size_t i = 0; i < b.n; i++)
            if (b.c[i].behind && b.c[i].fd >= 0)
                client_drop(&b.c[i]);
        if (p[0].revents & POLLIN)
            broker_accept(&b);
    }
    for (size_t i = 0; i < b.n; i++)
        client_drop(&b.c[i]);
    free(b.c);
    free(p);
    close(b.dir_fd);
}

/* Called with the directory locked and nobody listening on name. */
static int start_broker(const char *name)
{
    struct sockaddr_un sa;
    unlink(name);               /* a broker that was killed left it */
    int fd = unix_socket_at(name, &sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 128) < 0) {
        say("cannot listen on %s: %s", name, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    struct stat st;
    if (lstat(name, &st) < 0) {
        close(fd);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* Twice, so that the broker is nobody's child here and leaves the
         * handler's process group (pushpipe signals that group). */
        if (setsid() < 0 || fork() != 0)
            _exit(0);
        broker_main(fd, name, &st);
        exit(0);
    }
    close(fd);
    if (pid < 0) {
        say("fork: %s", strerror(errno));
        unlink(name);
        return -1;
    }
    waitpid(pid, NULL, 0);
    return 0;
}

static int local_connect(int dir_fd, const char *name)
{
    for (int attempt = 0; attempt < 50; attempt++) {
        int fd = try_connect(name);
        if (fd < 0 && errno != ENOENT && errno != ECONNREFUSED) {
            say("cannot connect to %s: %s", name, strerror(errno));
            return -1;
        }
        if (fd < 0) {
            if (flock(dir_fd, LOCK_EX) < 0) {
                say("cannot lock the socket directory: %s", strerror(errno));
                return -1;
            }
            fd = try_connect(name);
            if (fd < 0 && (errno == ENOENT || errno == ECONNREFUSED)) {
                int rc = start_broker(name);
                if (rc == 0)
                    fd = try_connect(name);
            }
            flock(dir_fd, LOCK_UN);
            if (fd < 0)
                continue;
        }
        if (read_hello(fd) == 0)
            return fd;
        close(fd);
        usleep(10000);
    }
    say("no broker for channel %s", channel);
    return -1;
}

struct local_state {
    int fd;
    struct buf out;
};

static int local_publish(void *ctx, const char *line, size_t len)
{
    struct local_state *s = ctx;
    if (buf_add(&s->out, line, len, MAX_QUEUE) < 0 || buf_add(&s->out, "\n", 1, MAX_QUEUE) < 0)
        say("too much unpublished input; dropping a message");
    return 0;
}

static int local_run(void)
{
    int dir_fd = enter_socket_dir();
    if (dir_fd < 0)
        return 1;
    char name[MAX_CHANNEL + 8];
    snprintf(name, sizeof name, "%s.sock", channel);
    static struct local_state s;
    s.fd = local_connect(dir_fd, name);
    close(dir_fd);
    if (s.fd < 0)
        return 1;
    fcntl(s.fd, F_SETFL, O_NONBLOCK);

    static struct lines in, from_broker;
    int stdin_eof = 0, half_closed = 0;
    long long drain_deadline = 0;
    char tmp[65536];
    for (;;) {
        if (stdin_eof && !s.out.len && !half_closed) {
            /* Published all we read: tell the broker, then take what it
             * still sends until it closes. */
            shutdown(s.fd, SHUT_WR);
            half_closed = 1;
            drain_deadline = now_ms() + DRAIN_TIMEOUT_MS;
        }
        if (drain_deadline && now_ms() >= drain_deadline) {
            out_finish();
            return 0;
        }
        struct pollfd p[3] = {
            { .fd = s.fd, .events = (out_room() ? POLLIN : 0) | (s.out.len ? POLLOUT : 0) | POLLRDHUP },
            { .fd = stdin_eof || s.out.len > MAX_MESSAGE ? -1 : 0, .events = POLLIN },
            { .fd = 1, .events = out_events() },
        };
        int rc = poll(p, 3, drain_deadline ? left_ms(drain_deadline) : -1);
        if (rc < 0 && errno != EINTR) {
            say("poll: %s", strerror(errno));
            return 1;
        }
        if (rc <= 0)
            continue;
        if (p[2].revents)
            out_flush();
        if (p[1].revents) {
            ssize_t n = read(0, tmp, sizeof tmp);
            if (n > 0)
                stdin_lines(&in, tmp, (size_t)n, local_publish, &s);
            else if (n == 0 || errno != EINTR)
                stdin_eof = 1;
        }
        if (!(p[0].events & POLLIN) && p[0].revents & (POLLHUP | POLLRDHUP | POLLERR)) {
            /* Not reading (stdout is full) and the broker hung up: it
             * dropped us for falling behind. */
            if (half_closed) {
                out_finish();
                return 0;
            }
            say("the broker dropped this client: it fell too far behind");
            return 1;
        }
        if (p[0].revents & POLLOUT && buf_flush(&s.out, s.fd) < 0) {
            say("lost the broker");
            return 1;
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR | POLLRDHUP)) {
            ssize_t n = read(s.fd, tmp, sizeof tmp);
            if (n > 0) {
                lines_feed(&from_broker, tmp, (size_t)n, deliver, NULL);
                out_flush();
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                if (half_closed) {
                    out_finish();
                    return 0;
                }
                say("the broker for channel %s went away", channel);
                return 1;
            }
        }
    }
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);   /* a client that left shows as EPIPE */
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("Usage: broadcast [CHANNEL]\n"
               "Copy stdin lines to every client of CHANNEL and print theirs (a pushpipe handler).\n"
               "Redis when REDIS_URL, REDIS_HOST or REDIS_PORT is set, else a local broker\n"
               "(sockets in PUSHPIPE_BROADCAST_DIR or /tmp/pushpipe-broadcast-UID).\n");
        return 0;
    }
    const char *proto = getenv("PUSHPIPE_PROTOCOL"), *mode = getenv("PUSHPIPE_MODE");
    if (proto && strcmp(proto, "eventsource") == 0)
        sse_raw = mode && strcmp(mode, "raw") == 0;
    else if (mode && strcmp(mode, "lines") != 0) {
        say("needs pushpipe --mode lines (the default), not %s", mode);
        return 2;
    }
    if (choose_channel(argc, argv) < 0)
        return 2;
    /* A pipe (pushpipe's, or a shell's): never block on it.  A terminal
     * is left alone (its flags are shared with the shell). */
    struct stat st;
    if (fstat(1, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
        fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);
    struct redis_cfg rc;
    int use_redis = redis_config(&rc);
    if (use_redis < 0)
        return 2;
    return use_redis ? redis_run(&rc) : local_run();
}
