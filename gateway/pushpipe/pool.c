/* pool.c - the event-loop worker: many listener connections in one process.
 *
 * Forking a worker per connection costs a fork and an exit per connection,
 * a process per open connection (its private pages, page tables and kernel
 * stack) and two extra process wake-ups per message.  A pool worker holds
 * many connections in one epoll loop instead: WebSockets (relay.c) and
 * EventSource streams (sse_relay.c), each still with a handler process of
 * its own, so handlers stay isolated from each other.  Requests that the
 * blocking per-connection code serves (the draft-75/76 handshakes, static
 * files, the console) get a child forked for that one connection.
 *
 * The supervisor passes accepted sockets over a SOCK_SEQPACKET pair, each
 * with its connection id; the worker answers with the id once the
 * connection is over, which keeps the supervisor's limits exact.
 */
#include "pushpipe/pool.h"

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/deadline_heap.h"
#include "core/http_request.h"
#include "core/ws_handshake.h"
#include "core/ws_hixie.h"
#include "io/fd_stream.h"
#include "io/net.h"
#include "pushpipe/handler.h"
#include "io/mono_clock.h"
#include "pushpipe/log.h"
#include "pushpipe/relay.h"
#include "pushpipe/request.h"
#include "pushpipe/sse_relay.h"
#include "pushpipe/worker.h"

#define MAX_EVENTS 256
#define ENV_ARENA (64 * 1024)
#define TRIM_AFTER_PEAK 64
#define DONE_BATCH 64   /* the supervisor reads up to 64 ids at a time */

enum conn_state {
    C_HEAD,     /* reading the request head */
    C_RELAY,    /* a WebSocket relayed here */
    C_SSE,      /* an EventSource stream relayed here */
    C_CLOSING,  /* relay over: lingering close, handler being finished */
    C_CHILD,    /* served by a child forked for it */
};

/* The descriptors of one connection, each registered on its own. */
enum { WC_CLIENT, WC_H_IN, WC_H_OUT, WC_H_ERR, WC_PID, WC_N };

struct watch {
    int fd;             /* registered descriptor, -1: none */
    uint32_t ev;        /* registered events; 0: not in the epoll set */
};

/* What an epoll event points to: a connection's index in the table, its
 * generation and the watch.  Relay and handler code close descriptors
 * themselves, and a child forked a moment earlier may briefly hold a copy,
 * which keeps a registration alive after our close; an event from such a
 * registration must not reach a connection that has since been freed, and
 * the generation check sees to that. */
#define EV_CHANNEL UINT64_MAX
#define EV_SIGNAL (UINT64_MAX - 1)
static uint64_t ev_key(uint32_t idx, uint32_t gen, int slot)
{
    return (uint64_t)idx | (uint64_t)gen << 24 | (uint64_t)slot << 56;
}

struct conn {
    unsigned long id;
    uint32_t idx;               /* in pool.tab */
    enum conn_state state;
    int fd;                     /* client socket; -1 once closed */
    struct stream s;
    struct request r;
    char *head;                 /* request head (and early frames) */
    size_t cap, have;
    long long head_deadline;
    struct ws_session ws;
    struct relay *relay;
    struct sse_relay *sse;
    int lingering;
    long long linger_deadline;
    int handler_done;
    long long handler_deadline;
    pid_t child;
    int child_pidfd;
    struct watch w[WC_N];
    uint32_t rev[WC_N];         /* events seen this round */
    struct deadline_node timer;
    int ready;                  /* on the ready list */
    struct conn *ready_next;
    struct conn *prev, *next;   /* every connection of this worker */
};

/* Connections by index, with a generation per index (see ev_key). */
struct conn_table {
    struct conn **v;
    uint32_t *gen;
    uint32_t *free_idx;     /* indexes to reuse */
    size_t nfree, cap;
};

struct pool {
    const struct options *o;
    int ep, chan, sigfd;
    struct conn_table tab;
    struct conn *all;
    size_t nconns;
    size_t peak;            /* most connections at once since the last trim */
    struct deadline_heap timers;
    struct conn *ready, *ready_tail;    /* first ready, first served */
    int stopping;
    sigset_t sigs;
    unsigned long done[DONE_BATCH];     /* ended this round, not yet reported */
    size_t ndone;
};

static struct conn *conn_of_timer(struct deadline_node *n)
{
    return (struct conn *)((char *)n - offsetof(struct conn, timer));
}

/* Make the epoll set say what the connection waits for in this slot.  A
 * descriptor that changed (closed by the relay or the handler code) is
 * taken out first; it may already be gone, which is fine. */
static void set_watch(struct pool *pl, struct conn *c, int slot, int fd, uint32_t ev)
{
    struct watch *w = &c->w[slot];
    if (w->fd != fd) {
        if (w->fd >= 0 && w->ev)
            epoll_ctl(pl->ep, EPOLL_CTL_DEL, w->fd, NULL);
        w->fd = fd;
        w->ev = 0;
    }
    if (fd < 0 || w->ev == ev)
        return;
    struct epoll_event e = { .events = ev, .data.u64 = ev_key(c->idx, pl->tab.gen[c->idx], slot) };
    int rc;
    if (!ev)
        rc = epoll_ctl(pl->ep, EPOLL_CTL_DEL, fd, NULL);
    else
        rc = epoll_ctl(pl->ep, w->ev ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &e);
    if (rc < 0 && ev) {
        /* Cannot happen for a valid descriptor short of kernel memory;
         * the connection's own timers still end it. */
        log_msg(LOG_ERROR, "epoll_ctl: %s", strerror(errno));
        return;
    }
    w->ev = ev;
}

/* The descriptor in this slot has been closed: closing took it out of the
 * epoll set (see ev_key for a copy held by a fresh child), so no
 * EPOLL_CTL_DEL, which would only fail. */
static void forget_watch(struct conn *c, int slot)
{
    c->w[slot].fd = -1;
    c->w[slot].ev = 0;
}

/* Forget the handler's descriptors that its code has closed meanwhile. */
static void forget_closed(struct conn *c)
{
    const struct handler *h = &c->ws.h;
    if (c->w[WC_H_IN].fd != h->in_fd)
        forget_watch(c, WC_H_IN);
    if (c->w[WC_H_OUT].fd != h->out_fd)
        forget_watch(c, WC_H_OUT);
    if (c->w[WC_H_ERR].fd != h->err_fd)
        forget_watch(c, WC_H_ERR);
    if (c->w[WC_PID].fd != h->pidfd)
        forget_watch(c, WC_PID);
}

static void set_timer(struct pool *pl, struct conn *c, long long when)
{
    if (!when)
        deadline_heap_remove(&pl->timers, &c->timer);
    else if (deadline_heap_set(&pl->timers, &c->timer, when) < 0)
        log_msg(LOG_ERROR, "out of memory for a timer");
}

static void mark_ready(struct pool *pl, struct conn *c)
{
    if (c->ready)
        return;
    c->ready = 1;
    /* In the order epoll reported them: a round over many connections
     * takes a while, and the one that became ready first should not wait
     * for all the others. */
    c->ready_next = NULL;
    if (pl->ready_tail)
        pl->ready_tail->ready_next = c;
    else
        pl->ready = c;
    pl->ready_tail = c;
}

static void set_tag(const struct conn *c)
{
    log_set_conn(c->id);
}

/* Tell the supervisor which connections are over, all that ended in one
 * round in one message.  Blocking: the supervisor reads its end in every
 * loop iteration and never blocks itself. */
static void flush_done(struct pool *pl)
{
    if (pl->ndone && pl->chan >= 0)
        while (send(pl->chan, pl->done, pl->ndone * sizeof pl->done[0], MSG_NOSIGNAL) < 0 &&
               errno == EINTR)
            ;
    pl->ndone = 0;
}

static void send_done(struct pool *pl, unsigned long id)
{
    if (pl->ndone == DONE_BATCH)
        flush_done(pl);
    pl->done[pl->ndone++] = id;
}

static void conn_free(struct pool *pl, struct conn *c)
{
    for (int i = 0; i < WC_N; i++)
        set_watch(pl, c, i, -1, 0);
    deadline_heap_remove(&pl->timers, &c->timer);
    send_done(pl, c->id);
    request_env_free(&c->r.env);
    free(c->head);
    if (c->prev)
        c->prev->next = c->next;
    else
        pl->all = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pl->nconns--;
    /* After a peak, give the heap's free pages back once nothing runs (not
     * after every short connection: the pages would fault in again). */
    if (!pl->nconns && pl->peak >= TRIM_AFTER_PEAK) {
        malloc_trim(0);
        pl->peak = 0;
    }
    pl->tab.v[c->idx] = NULL;
    pl->tab.gen[c->idx]++;
    pl->tab.free_idx[pl->tab.nfree++] = c->idx;
    free(c);
}

/* An index for a new connection: 0, or -1 when memory is short. */
static int table_take(struct conn_table *t, struct conn *c)
{
    if (!t->nfree) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        if (cap > (1u << 24))
            return -1;      /* ev_key has 24 bits for the index */
        struct conn **v = realloc(t->v, cap * sizeof *v);
        if (v)
            t->v = v;
        uint32_t *g = v ? realloc(t->gen, cap * sizeof *g) : NULL;
        if (g)
            t->gen = g;
        uint32_t *f = g ? realloc(t->free_idx, cap * sizeof *f) : NULL;
        if (!f)
            return -1;
        t->free_idx = f;
        for (size_t i = t->cap; i < cap; i++) {
            t->v[i] = NULL;
            t->gen[i] = 0;
            t->free_idx[t->nfree++] = (uint32_t)(cap - 1 - (i - t->cap));
        }
        t->cap = cap;
    }
    c->idx = t->free_idx[--t->nfree];
    t->v[c->idx] = c;
    return 0;
}

static struct conn *table_find(const struct conn_table *t, uint64_t key, int *slot)
{
    uint32_t idx = (uint32_t)(key & 0xffffff);
    uint32_t gen = (uint32_t)(key >> 24);
    *slot = (int)(key >> 56);
    if (idx >= t->cap || !t->v[idx] || (t->gen[idx] & 0xffffffff) != gen || *slot >= WC_N)
        return NULL;
    return t->v[idx];
}

static void close_client(struct pool *pl, struct conn *c)
{
    (void)pl;
    forget_watch(c, WC_CLIENT);
    if (c->fd >= 0) {
        c->s.ops->close(&c->s);
        c->fd = -1;
    }
}

/* A request answered in full (a refusal, an error): done, like the
 * per-connection worker's end. */
static void finish_plain(struct pool *pl, struct conn *c)
{
    forget_watch(c, WC_CLIENT);
    if (c->fd >= 0 && !c->r.stream_closed) {
        c->s.ops->shutdown_write(&c->s);
        c->s.ops->close(&c->s);
    }
    c->fd = -1;
    conn_free(pl, c);
}

/* ---- a child for the requests the blocking code serves ------------------ */

static void close_if_open(int fd)
{
    if (fd >= 0)
        close(fd);
}

/* In the child: it serves one connection and must hold no descriptor of
 * the others (a socket held here would outlive its connection). */
static void child_setup(struct pool *pl, struct conn *mine)
{
    prctl(PR_SET_NAME, "pushpipe");
    relay_after_fork();
    sigprocmask(SIG_UNBLOCK, &pl->sigs, NULL);
    close_if_open(pl->ep);
    close_if_open(pl->chan);
    close_if_open(pl->sigfd);
    for (struct conn *c = pl->all; c; c = c->next) {
        if (c == mine)
            continue;
        close_if_open(c->fd);
        close_if_open(c->child_pidfd);
        if (c->state == C_RELAY || c->state == C_SSE || c->state == C_CLOSING) {
            close_if_open(c->ws.h.in_fd);
            close_if_open(c->ws.h.out_fd);
            close_if_open(c->ws.h.err_fd);
            close_if_open(c->ws.h.pidfd);
        }
    }
}

static void fork_child(struct pool *pl, struct conn *c)
{
    pid_t pid = fork();
    if (pid < 0) {
        log_msg(LOG_ERROR, "fork: %s", strerror(errno));
        request_reply(&c->r, 503, "Retry-After: 1\r\n", "Try again later\n");
        finish_plain(pl, c);
        return;
    }
    if (pid == 0) {
        child_setup(pl, c);
        request_dispatch(&c->r);
        if (!c->r.stream_closed) {
            c->s.ops->shutdown_write(&c->s);
            c->s.ops->close(&c->s);
        }
        _exit(0);
    }
    /* The child holds the socket now, so closing ours would leave it in
     * our epoll set: take it out first. */
    set_watch(pl, c, WC_CLIENT, -1, 0);
    close_client(pl, c);
    request_env_free(&c->r.env);
    free(c->head);
    c->head = NULL;
    c->state = C_CHILD;
    c->child = pid;
    c->child_pidfd = handler_open_pidfd(pid);
    if (c->child_pidfd >= 0)
        set_watch(pl, c, WC_PID, c->child_pidfd, EPOLLIN);
    else
        set_timer(pl, c, now_ms() + 100);   /* no pidfd: look every 100 ms */
    if (pl->stopping)
        kill(pid, SIGTERM);
}

static void run_child(struct pool *pl, struct conn *c)
{
    int st;
    pid_t r = waitpid(c->child, &st, WNOHANG);
    if (r == c->child || (r < 0 && errno == ECHILD)) {
        forget_watch(c, WC_PID);
        close_if_open(c->child_pidfd);
        c->child_pidfd = -1;
        conn_free(pl, c);
        return;
    }
    if (c->child_pidfd < 0)
        set_timer(pl, c, now_ms() + 100);
}

/* ---- WebSocket connections ------------------------------------------------ */

static void run_closing(struct pool *pl, struct conn *c, const uint32_t *rev, long long now);

static void apply_wait(struct pool *pl, struct conn *c, const struct relay_wait *w)
{
    int cfd = w->fd[RELAY_W_CLIENT_R] >= 0 ? w->fd[RELAY_W_CLIENT_R] : w->fd[RELAY_W_CLIENT_W];
    uint32_t cev = (uint32_t)(w->events[RELAY_W_CLIENT_R] | w->events[RELAY_W_CLIENT_W]);
    forget_closed(c);
    set_watch(pl, c, WC_CLIENT, cfd >= 0 ? cfd : c->fd, cev);
    set_watch(pl, c, WC_H_IN, w->fd[RELAY_W_H_IN], (uint32_t)w->events[RELAY_W_H_IN]);
    set_watch(pl, c, WC_H_OUT, w->fd[RELAY_W_H_OUT], (uint32_t)w->events[RELAY_W_H_OUT]);
    set_watch(pl, c, WC_H_ERR, w->fd[RELAY_W_H_ERR], (uint32_t)w->events[RELAY_W_H_ERR]);
    set_watch(pl, c, WC_PID, w->fd[RELAY_W_PIDFD], (uint32_t)w->events[RELAY_W_PIDFD]);
    set_timer(pl, c, w->deadline);
}

/* A relay is over: finish the handler and close the client. */
static void begin_closing(struct pool *pl, struct conn *c, int dead, long long now)
{
    /* handler_finish_start closes stdin and stdout, which takes them out
     * of the epoll set. */
    forget_watch(c, WC_H_IN);
    forget_watch(c, WC_H_OUT);
    handler_finish_start(&c->ws.h, now, c->r.o->close_grace_ms, c->r.o->kill_grace_ms);
    /* Wait briefly for the client's EOF after our last byte, so unread
     * client bytes do not turn the close into a reset that destroys the
     * close frame before the client reads it. */
    if (!dead && c->s.ops->shutdown_write(&c->s) == 0) {
        c->lingering = 1;
        c->linger_deadline = now + RELAY_LINGER_MS;
    } else {
        close_client(pl, c);
    }
    c->state = C_CLOSING;
    static const uint32_t none[WC_N];
    run_closing(pl, c, none, now);
}

static void end_relay(struct pool *pl, struct conn *c, long long now)
{
    int dead = relay_client_gone(c->relay);
    relay_free(c->relay);
    c->relay = NULL;
    begin_closing(pl, c, dead, now);
}

/* epoll's event bits are poll's on Linux */
static void relay_events(const uint32_t *crev, short rev[RELAY_W_N])
{
    rev[RELAY_W_CLIENT_R] = (short)(crev[WC_CLIENT] & (POLLIN | POLLERR | POLLHUP));
    rev[RELAY_W_CLIENT_W] = (short)(crev[WC_CLIENT] & (POLLOUT | POLLERR | POLLHUP));
    rev[RELAY_W_H_IN] = (short)crev[WC_H_IN];
    rev[RELAY_W_H_OUT] = (short)crev[WC_H_OUT];
    rev[RELAY_W_H_ERR] = (short)crev[WC_H_ERR];
    rev[RELAY_W_PIDFD] = (short)crev[WC_PID];
    rev[RELAY_W_STOP] = 0;
}

/* One round of a WebSocket relay or an EventSource stream. */
static void run_stream(struct pool *pl, struct conn *c, const uint32_t *crev, long long now)
{
    short rev[RELAY_W_N];
    relay_events(crev, rev);
    struct relay_wait w;
    int over;
    if (c->sse) {
        sse_ready(c->sse, rev);
        over = sse_prepare(c->sse, now, &w);
    } else {
        relay_ready(c->relay, rev);
        over = relay_prepare(c->relay, now, &w);
    }
    if (!over)
        apply_wait(pl, c, &w);
    else if (c->sse)
        begin_closing(pl, c, sse_end(c->sse), now);
    else
        end_relay(pl, c, now);
}

static void run_closing(struct pool *pl, struct conn *c, const uint32_t *rev, long long now)
{
    if (c->lingering) {
        if (rev[WC_CLIENT]) {
            uint8_t junk[4096];
            ssize_t n = stream_read(&c->s, junk, sizeof junk);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                c->lingering = 0;
        }
        if (now >= c->linger_deadline)
            c->lingering = 0;
        if (!c->lingering)
            close_client(pl, c);
    }
    if (!c->handler_done)
        c->handler_done = handler_finish_step(&c->ws.h, now, &c->handler_deadline);
    forget_closed(c);
    if (!c->lingering && c->handler_done) {
        if (c->sse)
            sse_done(c->sse);   /* its log line */
        else
            request_websocket_done(&c->r, &c->ws);
        c->sse = NULL;
        conn_free(pl, c);
        return;
    }
    if (c->lingering)
        set_watch(pl, c, WC_CLIENT, c->fd, EPOLLIN);
    set_watch(pl, c, WC_H_ERR, c->handler_done ? -1 : c->ws.h.err_fd, EPOLLIN);
    set_watch(pl, c, WC_PID, c->handler_done ? -1 : c->ws.h.pidfd, EPOLLIN);
    long long t = c->lingering ? c->linger_deadline : 0;
    if (!c->handler_done && (!t || c->handler_deadline < t))
        t = c->handler_deadline;
    set_timer(pl, c, t);
}

/* ---- the request head ------------------------------------------------------ */

static void bad_head(struct pool *pl, struct conn *c, int status)
{
    char peer[64], port[16];
    net_peer(c->fd, peer, sizeof peer, port, sizeof port);
    log_msg(LOG_INFO, "%s:%s bad request head: %d %s", peer, port, status, ws_status_text(status));
    request_reply(&c->r, status, NULL, ws_status_text(status));
    finish_plain(pl, c);
}

/* The early bytes went to the relay (an EventSource has none that
 * matter): the head buffer is done with.  Then the first round. */
static void stream_started(struct pool *pl, struct conn *c, long long now)
{
    free(c->head);
    c->head = NULL;
    c->r.early = NULL;
    c->r.early_len = 0;
    static const uint32_t none[WC_N];
    run_stream(pl, c, none, now);
}

/* An EventSource stream: the handler starts and its events are relayed
 * here, like a WebSocket's messages. */
static void start_sse(struct pool *pl, struct conn *c, long long now)
{
    struct request *r = &c->r;
    c->ws.h.in_fd = c->ws.h.out_fd = c->ws.h.err_fd = c->ws.h.pidfd = -1;
    int rc = sse_open(r, &c->ws.h, &c->sse);
    if (rc != SSE_STREAM) {
        if (rc == SSE_ANSWERED)
            request_log_plain(r);
        finish_plain(pl, c);
        return;
    }
    c->state = C_SSE;
    stream_started(pl, c, now);
}

static void dispatch(struct pool *pl, struct conn *c, int n, struct http_request *req, long long now)
{
    struct request *r = &c->r;
    r->bytes_in = c->have;
    if (request_env_from_http(&r->env, req) < 0 || worker_server_vars(&r->env, c->fd) < 0) {
        request_reply(r, 400, NULL, "Bad Request\n");
        finish_plain(pl, c);
        return;
    }
    r->early = (const uint8_t *)c->head + n;
    r->early_len = c->have - (size_t)n;
    enum request_kind kind = request_kind(r);
    if (kind == REQUEST_EVENTSOURCE) {
        start_sse(pl, c, now);
        return;
    }
    if (kind != REQUEST_WEBSOCKET || ws_hixie_is_request(&r->env)) {
        fork_child(pl, c);
        return;
    }
    c->ws.h.in_fd = c->ws.h.out_fd = c->ws.h.err_fd = c->ws.h.pidfd = -1;
    if (!request_websocket_open(r, &c->ws)) {
        request_log_plain(r);
        finish_plain(pl, c);
        return;
    }
    c->state = C_RELAY;
    c->relay = relay_start(&c->s, r->early, r->early_len, &c->ws.h, &c->ws.rp, &c->ws.res);
    if (!c->relay) {
        log_msg(LOG_ERROR, "out of memory for a connection");
        close_client(pl, c);
        handler_finish(&c->ws.h, 0, c->ws.rp.kill_grace_ms);
        conn_free(pl, c);
        return;
    }
    stream_started(pl, c, now);
}

static void run_head(struct pool *pl, struct conn *c, const uint32_t *rev, long long now)
{
    if (rev[WC_CLIENT]) {
        ssize_t k = stream_read(&c->s, c->head + c->have, c->cap - c->have);
        if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            finish_plain(pl, c);    /* gone before a request */
            return;
        }
        if (k > 0)
            c->have += (size_t)k;
    }
    if (c->have) {
        struct http_request req;
        int r = http_parse_request(c->head, c->have, c->r.o->max_head, &req);
        if (r > 0) {
            dispatch(pl, c, r, &req, now);
            return;
        }
        if (r < 0) {    /* HTTP_PARSE_* errors are negative statuses */
            bad_head(pl, c, -r);
            return;
        }
    }
    if (c->have == c->cap) {
        bad_head(pl, c, 431);
        return;
    }
    if (now >= c->head_deadline) {
        bad_head(pl, c, 408);
        return;
    }
    set_watch(pl, c, WC_CLIENT, c->fd, EPOLLIN);
    set_timer(pl, c, c->head_deadline);
}

static void new_conn(struct pool *pl, int fd, unsigned long id)
{
    const struct options *o = pl->o;
    struct conn *c = calloc(1, sizeof *c);
    size_t cap = o->max_head + 16 * 1024;   /* the head plus frames right behind it */
    char *head = c ? malloc(cap) : NULL;
    if (c)
        request_init(&c->r, o, id, TRANSPORT_LISTEN, &c->s);
    if (!c || !head || request_env_init(&c->r.env, ENV_ARENA) < 0 || table_take(&pl->tab, c) < 0) {
        log_msg(LOG_ERROR, "out of memory for a connection");
        if (c)
            request_env_free(&c->r.env);
        free(head);
        free(c);
        close(fd);
        send_done(pl, id);
        return;
    }
    c->id = id;
    c->fd = fd;
    c->head = head;
    c->cap = cap;
    c->child_pidfd = -1;
    for (int i = 0; i < WC_N; i++)
        c->w[i] = (struct watch){ .fd = -1, .ev = 0 };
    worker_socket_options(fd);
    fd_stream_init(&c->s, fd, fd);
    c->state = C_HEAD;
    long long now = now_ms();
    c->head_deadline = now + o->head_timeout_ms;
    c->next = pl->all;
    if (pl->all)
        pl->all->prev = c;
    pl->all = c;
    pl->nconns++;
    if (pl->nconns > pl->peak)
        pl->peak = pl->nconns;
    /* Clients usually send the head with the connection: try at once. */
    uint32_t rev[WC_N] = { [WC_CLIENT] = EPOLLIN };
    set_tag(c);
    run_head(pl, c, rev, now);
}

/* ---- the loop -------------------------------------------------------------- */

static void start_stopping(struct pool *pl)
{
    if (pl->stopping)
        return;
    pl->stopping = 1;
    /* Every relay sees the stop at its next prepare: 1001 to each client. */
    relay_request_stop();
    sse_relay_request_stop();
    for (struct conn *c = pl->all; c; c = c->next) {
        if (c->state == C_CHILD)
            kill(c->child, SIGTERM);
        mark_ready(pl, c);
    }
}

static void read_channel(struct pool *pl)
{
    for (;;) {
        unsigned long id;
        char cbuf[CMSG_SPACE(sizeof(int))];
        struct iovec iov = { .iov_base = &id, .iov_len = sizeof id };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
                            .msg_control = cbuf, .msg_controllen = sizeof cbuf };
        ssize_t n = recvmsg(pl->chan, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            /* The supervisor is gone: finish what we hold, take nothing new. */
            epoll_ctl(pl->ep, EPOLL_CTL_DEL, pl->chan, NULL);
            close(pl->chan);
            pl->chan = -1;
            start_stopping(pl);
            return;
        }
        int fd = -1;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
        if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
            memcpy(&fd, CMSG_DATA(cm), sizeof fd);
        if (n != (ssize_t)sizeof id) {
            close_if_open(fd);
            continue;
        }
        if (fd < 0) {
            /* Out of descriptors, the kernel dropped the socket (which
             * closes it): the supervisor must still count it as ended. */
            log_msg(LOG_ERROR, "connection %lu arrived without its socket (%s)", id,
                    (m.msg_flags & MSG_CTRUNC) ? "out of descriptors" : "no descriptor");
            send_done(pl, id);
            continue;
        }
        if (pl->stopping) {
            close(fd);
            send_done(pl, id);
            continue;
        }
        new_conn(pl, fd, id);
    }
}

static void read_signals(struct pool *pl)
{
    struct signalfd_siginfo si;
    while (read(pl->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            if (log_reopen() < 0)
                log_msg(LOG_ERROR, "cannot reopen log: %s", strerror(errno));
        } else {
            start_stopping(pl);
        }
    }
}

/* May free c. */
static void run_conn(struct pool *pl, struct conn *c, long long now)
{
    uint32_t rev[WC_N];
    memcpy(rev, c->rev, sizeof rev);
    memset(c->rev, 0, sizeof c->rev);
    set_tag(c);
    switch (c->state) {
    case C_HEAD:
        if (pl->stopping)
            finish_plain(pl, c);
        else
            run_head(pl, c, rev, now);
        break;
    case C_RELAY:
    case C_SSE: run_stream(pl, c, rev, now); break;
    case C_CLOSING: run_closing(pl, c, rev, now); break;
    case C_CHILD: run_child(pl, c); break;
    }
}

static int add_special(struct pool *pl, int fd, uint64_t key)
{
    struct epoll_event e = { .events = EPOLLIN, .data.u64 = key };
    return epoll_ctl(pl->ep, EPOLL_CTL_ADD, fd, &e);
}

int pool_run(int chan, const struct options *o, atomic_uint *load)
{
    struct pool pl;
    memset(&pl, 0, sizeof pl);
    pl.o = o;
    pl.chan = chan;
    deadline_heap_init(&pl.timers);
    /* ps and top tell the event loops from per-connection processes. */
    prctl(PR_SET_NAME, POOL_PROCESS_NAME);
    /* Every connection allocates and frees the same few blocks (head,
     * variables, relay): keep freed memory mapped instead of giving it
     * back at once and faulting it in again for the next connection.
     * malloc_trim after a large peak returns it (conn_free). */
    mallopt(M_TRIM_THRESHOLD, 4 << 20);
    /* Five descriptors per connection (socket, three pipes, pidfd): the
     * usual soft limit of 1024 would stop a loop near 200 connections.
     * Raise it to the hard limit; handlers get the old one back. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        struct rlimit raised = { rl.rlim_max, rl.rlim_max };
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            handler_set_nofile(&rl);
    }
    /* Signals arrive as events like everything else; children get them
     * unblocked again (child_setup; handlers start with an empty mask). */
    sigemptyset(&pl.sigs);
    sigaddset(&pl.sigs, SIGTERM);
    sigaddset(&pl.sigs, SIGINT);
    sigaddset(&pl.sigs, SIGUSR1);
    sigaddset(&pl.sigs, SIGHUP);
    sigprocmask(SIG_BLOCK, &pl.sigs, NULL);
    pl.sigfd = signalfd(-1, &pl.sigs, SFD_CLOEXEC | SFD_NONBLOCK);
    pl.ep = epoll_create1(EPOLL_CLOEXEC);
    if (pl.sigfd < 0 || pl.ep < 0 || add_special(&pl, chan, EV_CHANNEL) < 0 ||
        add_special(&pl, pl.sigfd, EV_SIGNAL) < 0) {
        log_msg(LOG_ERROR, "event-loop worker: %s", strerror(errno));
        return 1;
    }
    struct epoll_event evs[MAX_EVENTS];
    struct load_meter meter;
    load_meter_init(&meter, load, mono_ns());
    while (!pl.stopping || pl.nconns > 0) {
        /* One clock reading before the wait and one after serve the
         * timers and the load meter alike. */
        int64_t t = mono_ns();
        int timeout = -1;
        struct deadline_node *next = deadline_heap_min(&pl.timers);
        if (next) {
            long long left = next->when - t / 1000000;
            timeout = left < 0 ? 0 : left > 60000 ? 60000 : (int)left;
        }
        load_meter_sleep(&meter, t);
        int n = epoll_wait(pl.ep, evs, MAX_EVENTS, load_meter_timeout(&meter, timeout));
        t = mono_ns();
        load_meter_wake(&meter, t);
        if (n < 0 && errno != EINTR) {
            log_msg(LOG_ERROR, "epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            uint64_t key = evs[i].data.u64;
            int slot;
            struct conn *c;
            if (key == EV_CHANNEL) {
                read_channel(&pl);
            } else if (key == EV_SIGNAL) {
                read_signals(&pl);
            } else if ((c = table_find(&pl.tab, key, &slot)) && c->w[slot].ev) {
                c->rev[slot] |= evs[i].events;
                mark_ready(&pl, c);
            }
        }
        long long now = t / 1000000;
        while ((next = deadline_heap_min(&pl.timers)) && next->when <= now) {
            struct conn *c = conn_of_timer(next);
            deadline_heap_remove(&pl.timers, next);
            mark_ready(&pl, c);
        }
        while (pl.ready) {
            struct conn *c = pl.ready;
            pl.ready = c->ready_next;
            if (!pl.ready)
                pl.ready_tail = NULL;
            c->ready = 0;
            run_conn(&pl, c, now);
        }
        flush_done(&pl);
    }
    log_set_tag(NULL);
    deadline_heap_free(&pl.timers);
    free(pl.tab.v);
    free(pl.tab.gen);
    free(pl.tab.free_idx);
    close(pl.ep);
    close(pl.sigfd);
    if (pl.chan >= 0)
        close(pl.chan);
    return 0;
}
