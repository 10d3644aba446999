/* sse_ceiling.c - the fastest EventSource server this machine can have: no
 * handler, no pipes, one epoll loop writing pre-built `data: LINE\n\n`
 * events whenever the client's socket has room.  pushpipe's SSE rate is read
 * against this number, so the comparison shows what the fork + pipe + line
 * splitting costs rather than how fast the client can parse.
 *
 * usage: sse_ceiling --port N [--data LINE] [--chunked] [--lifetime S]
 *
 * It prints "LISTENING port=N" once it accepts connections and exits by
 * itself after --lifetime seconds (default 600) so a forgotten one cannot
 * linger; SIGTERM/SIGINT end it at once.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 1024
#define BATCH (64 * 1024)

struct client {
    int fd;
    int streaming;          /* response head sent */
    char req[8192];         /* request head, only read to find its end */
    size_t req_len;
    size_t off;             /* position in `stream` */
    const char *pending;    /* unsent rest of the response head */
    size_t pending_len;
};

static struct client clients[MAX_CLIENTS];
static volatile sig_atomic_t stop;
static char *stream;        /* what every client gets, over and over */
static size_t stream_len;
static int chunked;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void drop(struct client *c)
{
    close(c->fd);
    c->fd = -1;
}

static const char head_close[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\n"
    "Connection: close\r\n"
    "\r\n";
static const char head_chunked[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n";

/* Writes until the socket is full or a fair share is sent.  `stream` is
 * one whole unit (events, or one chunk holding events) that repeats, so the
 * position simply wraps and no per-client buffer is needed. */
static void pump(struct client *c)
{
    while (c->pending_len > 0) {
        ssize_t n = send(c->fd, c->pending, c->pending_len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                drop(c);
            return;
        }
        c->pending += n;
        c->pending_len -= (size_t)n;
    }
    /* bounded so that one fast reader cannot starve the others */
    for (int rounds = 0; rounds < 16; rounds++) {
        ssize_t n = send(c->fd, stream + c->off, stream_len - c->off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                drop(c);
            return;
        }
        c->off = (c->off + (size_t)n) % stream_len;
    }
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        { "port", required_argument, NULL, 'p' },
        { "data", required_argument, NULL, 'd' },
        { "chunked", no_argument, NULL, 'c' },
        { "lifetime", required_argument, NULL, 'l' },
        { NULL, 0, NULL, 0 }
    };
    int port = 0, ch;
    double lifetime = 600;
    const char *data = "event";
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'p': port = atoi(optarg); break;
        case 'd': data = optarg; break;
        case 'c': chunked = 1; break;
        case 'l': lifetime = atof(optarg); break;
        default:
            fprintf(stderr, "usage: sse_ceiling --port N [--data LINE] [--chunked]"
                    " [--lifetime S]\n");
            return 2;
        }
    }
    if (port <= 0 || port > 65535 || strchr(data, '\n')) {
        fprintf(stderr, "sse_ceiling: need --port 1..65535 and a one-line --data\n");
        return 2;
    }
    /* about 64 KiB of whole events; in chunked mode wrapped as one chunk */
    size_t one = strlen(data) + 8;      /* "data: " + LINE + "\n\n" */
    size_t count = BATCH / one ? BATCH / one : 1;
    size_t events_len = count * one;
    stream = malloc(events_len + 32);
    if (!stream)
        return 2;
    size_t pos = 0;
    if (chunked)
        pos = (size_t)sprintf(stream, "%zx\r\n", events_len);
    for (size_t i = 0; i < count; i++, pos += one) {
        memcpy(stream + pos, "data: ", 6);
        memcpy(stream + pos + 6, data, one - 8);
        memcpy(stream + pos + one - 2, "\n\n", 2);
    }
    if (chunked) {
        memcpy(stream + pos, "\r\n", 2);
        pos += 2;
    }
    stream_len = pos;

    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int yes = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0
        || listen(lfd, 128) < 0) {
        perror("sse_ceiling: listen");
        return 1;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event le = { .events = EPOLLIN, .data.ptr = NULL };
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &le);
    for (int i = 0; i < MAX_CLIENTS; i++)
        clients[i].fd = -1;
    printf("LISTENING port=%d\n", port);
    fflush(stdout);

    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!stop) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((double)(t.tv_sec - t0.tv_sec) > lifetime)
            break;
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 500);
        for (int i = 0; i < n; i++) {
            struct client *c = evs[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    int k = 0;
                    while (k < MAX_CLIENTS && clients[k].fd >= 0)
                        k++;
                    if (k == MAX_CLIENTS) {
                        close(fd);
                        continue;
                    }
                    c = &clients[k];
                    memset(c, 0, sizeof *c);
                    c->fd = fd;
                    struct epoll_event ce = { .events = EPOLLIN, .data.ptr = c };
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
                }
                continue;
            }
            if (c->fd < 0)
                continue;
            if (!c->streaming) {
                ssize_t r = read(c->fd, c->req + c->req_len,
                                 sizeof c->req - 1 - c->req_len);
                if (r <= 0) {
                    if (r == 0 || (errno != EAGAIN && errno != EINTR))
                        drop(c);
                    continue;
                }
                c->req_len += (size_t)r;
                c->req[c->req_len] = 0;
                if (!strstr(c->req, "\r\n\r\n")) {
                    if (c->req_len == sizeof c->req - 1)
                        drop(c);
                    continue;
                }
                c->streaming = 1;
                c->pending = chunked ? head_chunked : head_close;
                c->pending_len = strlen(c->pending);
                /* from now on only writability matters; a hang-up shows as
                 * an error on send */
                struct epoll_event ce = { .events = EPOLLOUT, .data.ptr = c };
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ce);
            }
            pump(c);
        }
    }
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i].fd >= 0)
            close(clients[i].fd);
    close(lfd);
    close(ep);
    free(stream);
    return 0;
}
