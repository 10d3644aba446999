#include "pushpipe/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/id_index.h"
#include "io/mono_clock.h"
#include "pushpipe/log.h"
#include "pushpipe/loop_load.h"
#include "pushpipe/pool.h"
#include "pushpipe/relay.h"
#include "pushpipe/sse_relay.h"
#include "pushpipe/worker.h"

/* Signals reach the loop through a self-pipe: the handler only writes the
 * signal number, everything else happens in the loop. */
static int sig_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    ssize_t w = write(sig_pipe[1], &b, 1);
    (void)w;
    errno = saved;
}

static void on_worker_term(int sig)
{
    (void)sig;
    relay_request_stop();
    sse_relay_request_stop();
}

static int install(int sig, void (*fn)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = flags;
    return sigaction(sig, &sa, NULL);
}

static int open_sig_pipe(void)
{
    if (sig_pipe[0] >= 0)
        return 0;
    return pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK);
}

int supervisor_catch_stop(int sig)
{
    if (open_sig_pipe() < 0)
        return -1;
    return install(sig, on_signal, SA_RESTART);
}

/* Live workers, so that shutdown signals exactly them (not our own process
 * group, which may hold whoever started us). */
struct worker_slot {
    pid_t pid;                      /* its own worker; 0: in an event-loop worker */
    unsigned long id;
    int pool;                       /* that worker's index, -1 for none */
    struct sockaddr_storage peer;   /* for --max-per-ip */
};

/* Event-loop workers (--workers): each a process with a channel that
 * takes new sockets and gives back the ids of ended connections. */
#define MAX_POOLS 64
struct pool_proc {
    pid_t pid;          /* 0: not running */
    int chan;           /* our end, -1 when not running */
    unsigned nconns;
};

struct workers {
    struct worker_slot *slot;
    size_t n, cap;
    struct id_index where;      /* slot_key -> index in slot */
    struct id_index per_ip;     /* ip_key -> connections from there */
    struct pool_proc pool[MAX_POOLS];
    int npools;
    atomic_uint *load;  /* each loop's busy share (loop_load.h), or NULL */
    struct churn_meter churn;   /* connections ending in the loops */
    int spreading;              /* the churn was high at the last pick */
};

/* A connection in a loop is found by its id, one with a worker of its
 * own by the worker's pid (the low bit tells which). */
static uint64_t id_key(unsigned long id)
{
    return (uint64_t)id << 1;
}

static uint64_t pid_key(pid_t pid)
{
    return (uint64_t)pid << 1 | 1;
}

static uint64_t slot_key(const struct worker_slot *s)
{
    return s->pid > 0 ? pid_key(s->pid) : id_key(s->id);
}

/* The client address as a key for --max-per-ip (the port does not
 * matter; unix peers all count as one address, unknown ones as none: 0).
 * An IPv6 address is hashed to 62 bits: two that collide would share a
 * count, with odds of about one in 10^18 per pair. */
static uint64_t ip_key(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_UNSPEC)
        return 0;
    if (a->ss_family == AF_INET)
        return (uint64_t)ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) << 2 | 1;
    if (a->ss_family == AF_INET6) {
        const uint8_t *b = ((const struct sockaddr_in6 *)a)->sin6_addr.s6_addr;
        uint64_t hi, lo;
        memcpy(&hi, b, 8);
        memcpy(&lo, b + 8, 8);
        uint64_t h = hi * 0x9E3779B97F4A7C15ull;
        h ^= h >> 29;
        h = (h ^ lo) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
        return h << 2 | 2;
    }
    return (uint64_t)a->ss_family << 2 | 3;
}

static unsigned count_ip(const struct workers *w, const struct sockaddr_storage *peer)
{
    size_t n;
    uint64_t key = ip_key(peer);
    return key && id_index_get(&w->per_ip, key, &n) == 0 ? (unsigned)n : 0;
}

/* Count one more (step 1) or one less (-1) connection from a's address. */
static int count_ip_step(struct workers *w, const struct sockaddr_storage *a, int step)
{
    uint64_t key = ip_key(a);
    if (!key)
        return 0;
    size_t n = 0;
    id_index_get(&w->per_ip, key, &n);
    if (step > 0)
        return id_index_put(&w->per_ip, key, n + 1);
    if (n > 1)
        return id_index_put(&w->per_ip, key, n - 1);
    id_index_del(&w->per_ip, key);
    return 0;
}

static int workers_add(struct workers *w, pid_t pid, unsigned long id, int pool,
                       const struct sockaddr_storage *peer)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        struct worker_slot *p = realloc(w->slot, cap * sizeof *p);
        if (!p)
            return -1;
        w->slot = p;
        w->cap = cap;
    }
    w->slot[w->n].pid = pid;
    w->slot[w->n].id = id;
    w->slot[w->n].pool = pool;
    w->slot[w->n].peer = *peer;
    if (id_index_put(&w->where, slot_key(&w->slot[w->n]), w->n) < 0)
        return -1;
    if (count_ip_step(w, peer, 1) < 0) {
        id_index_del(&w->where, slot_key(&w->slot[w->n]));
        return -1;
    }
    w->n++;
    if (pool >= 0)
        w->pool[pool].nconns++;
    return 0;
}

static void workers_remove_at(struct workers *w, size_t i)
{
    if (w->slot[i].pool >= 0 && w->pool[w->slot[i].pool].nconns)
        w->pool[w->slot[i].pool].nconns--;
    id_index_del(&w->where, slot_key(&w->slot[i]));
    count_ip_step(w, &w->slot[i].peer, -1);
    w->slot[i] = w->slot[--w->n];
    /* the last one moved into the hole; a smaller index needs no memory */
    if (i < w->n)
        id_index_put(&w->where, slot_key(&w->slot[i]), i);
}

static void workers_remove_key(struct workers *w, uint64_t key)
{
    size_t i;
    if (id_index_get(&w->where, key, &i) == 0)
        workers_remove_at(w, i);
}

static void workers_remove_id(struct workers *w, unsigned long id)
{
    workers_remove_key(w, id_key(id));
}

static void workers_remove(struct workers *w, pid_t pid)
{
    workers_remove_key(w, pid_key(pid));
}

static void workers_free(struct workers *w)
{
    free(w->slot);
    id_index_free(&w->where);
    id_index_free(&w->per_ip);
    loop_load_free(w->load, w->npools);
}

static int pool_index(const struct workers *w, pid_t pid)
{
    for (int k = 0; k < w->npools; k++)
        if (w->pool[k].pid == pid)
            return k;
    return -1;
}

static int pools_running(const struct workers *w)
{
    int n = 0;
    for (int k = 0; k < w->npools; k++)
        n += w->pool[k].pid > 0;
    return n;
}

/* An event-loop worker ended: its connections went with it. */
static void pool_gone(struct workers *w, int k, int st, int stopping)
{
    unsigned lost = 0;
    for (size_t i = 0; i < w->n;) {
        if (w->slot[i].pool == k) {
            workers_remove_at(w, i);
            lost++;
        } else {
            i++;
        }
    }
    if (!stopping || !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        log_msg(stopping ? LOG_WARN : LOG_ERROR, "event-loop worker %ld ended (%s %d) with %u connection(s)",
                (long)w->pool[k].pid, WIFSIGNALED(st) ? "signal" : "exit",
                WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), lost);
    close(w->pool[k].chan);
    w->pool[k].chan = -1;
    w->pool[k].pid = 0;
    w->pool[k].nconns = 0;
}

static void reap(struct workers *w, int stopping)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        int k = pool_index(w, pid);
        if (k >= 0) {
            pool_gone(w, k, st, stopping);
            continue;
        }
        workers_remove(w, pid);
        if (WIFSIGNALED(st) && WTERMSIG(st) != SIGTERM)
            log_msg(LOG_ERROR, "worker %ld died from signal %d", (long)pid, WTERMSIG(st));
    }
}

/* --shutdown-timeout is up: whatever still runs is killed; a killed
 * worker's handler sees EOF on stdin. */
static void kill_all(struct workers *w)
{
    log_msg(LOG_WARN, "shutdown timeout: killing what still serves %zu connection(s)", w->n);
    for (size_t k = 0; k < w->n; k++)
        if (w->slot[k].pid > 0)
            kill(w->slot[k].pid, SIGKILL);
    for (int k = 0; k < w->npools; k++)
        if (w->pool[k].pid > 0)
            kill(w->pool[k].pid, SIGKILL);
    for (;;) {
        int st;
        pid_t pid = waitpid(-1, &st, 0);
        if (pid < 0)
            break;
        int k = pool_index(w, pid);
        if (k >= 0)
            pool_gone(w, k, st, 1);
        else
            workers_remove(w, pid);
    }
}

/* In a new worker: the supervisor's signal plumbing is not its business;
 * SIGTERM (and FastCGI's SIGUSR1) end its connection gracefully, without
 * SA_RESTART so they interrupt the relay's poll. */
static void become_worker(void)
{
    close(sig_pipe[0]);
    close(sig_pipe[1]);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGALRM, SIG_DFL);
    install(SIGTERM, on_worker_term, 0);
    install(SIGUSR1, on_worker_term, 0);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
}

/* fork() for a worker, with the signals that stop or reach one blocked
 * until the child is ready for them: a SIGTERM that came between fork
 * and the child's own setup ran the supervisor's handler in the child, or
 * the per-connection one in an event loop, which reads its signals from
 * a signalfd: lost either way, and a loop that missed its SIGTERM never
 * ended (the supervisor waited for it until --shutdown-timeout).  In the
 * child the signals stay blocked; *old is the mask to restore when it is
 * ready.  Returns what fork returns. */
static pid_t fork_worker(sigset_t *old)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGUSR1);
    sigaddset(&stop, SIGHUP);
    sigprocmask(SIG_BLOCK, &stop, old);
    pid_t pid = fork();
    if (pid != 0)
        sigprocmask(SIG_SETMASK, old, NULL);
    return pid;
}

/* Start event-loop worker k.  0, or -1 (logged). */
static int pool_start(const struct acceptor *ac, struct workers *w, int k)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        log_msg(LOG_ERROR, "socketpair: %s", strerror(errno));
        return -1;
    }
    sigset_t old;
    pid_t pid = fork_worker(&old);
    if (pid < 0) {
        log_msg(LOG_ERROR, "fork: %s", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        /* The stop signals stay blocked: the loop reads them from a
         * signalfd, which also reports any that came meanwhile. */
        become_worker();
        close(ac->listen_fd);
        close(sv[0]);
        for (int j = 0; j < w->npools; j++)
            if (w->pool[j].chan >= 0)
                close(w->pool[j].chan);
        _exit(pool_run(sv[1], ac->o, w->load ? &w->load[k] : NULL));
    }
    close(sv[1]);
    /* Our end never blocks: a worker that cannot take a socket now is
     * skipped, not waited for. */
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    w->pool[k].pid = pid;
    w->pool[k].chan = sv[0];
    w->pool[k].nconns = 0;
    loop_load_reset(w->load, k);
    return 0;
}

/* Hand a socket to event-loop worker k.  0, or -1 (its queue is full or
 * it is gone). */
static int pool_send(struct workers *w, int k, int fd, unsigned long id)
{
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = { .iov_base = &id, .iov_len = sizeof id };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = cbuf, .msg_controllen = sizeof cbuf };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    ssize_t n;
    do
        n = sendmsg(w->pool[k].chan, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof id ? 0 : -1;
}

/* The loop for a new connection, -1 if none runs: packed onto the first
 * loops (loop_load.h says why: one loop at 8 new connections at a time
 * used 30% less CPU per connection than two, and echo's p99 fell by a
 * quarter), up to --loop-pack connections each, which bounds what one
 * crashed loop takes with it and spreads a large crowd, whose messages
 * may all come at once, over every CPU; spread over all loops while
 * connections come and go quickly (loop_load.h, churn_meter). */
static int pool_pick(struct workers *w, unsigned pack)
{
    unsigned nconns[MAX_POOLS];
    for (int k = 0; k < w->npools; k++)
        nconns[k] = w->pool[k].pid > 0 ? w->pool[k].nconns : LOOP_DOWN;
    int spread = w->npools > 1 && churn_meter_high(&w->churn, mono_ns());
    if (spread != w->spreading)
        log_msg(LOG_DEBUG, spread ? "%d or more connections ended in 100 ms: spreading new ones over the loops"
                                  : "fewer than %d connections ended in 100 ms: packing new ones again",
                LOOP_CHURN_SPREAD);
    w->spreading = spread;
    return loop_pick(nconns, w->npools, w->load, pack, spread);
}

/* Ids of connections an event-loop worker has finished. */
static void pool_read_done(struct workers *w, int k)
{
    unsigned long ids[64];
    for (;;) {
        ssize_t n = recv(w->pool[k].chan, ids, sizeof ids, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;     /* EAGAIN; or it ended, which reap() handles */
        for (size_t i = 0; i < (size_t)n / sizeof ids[0]; i++)
            workers_remove_id(w, ids[i]);
        churn_meter_ended(&w->churn, (unsigned)((size_t)n / sizeof ids[0]), mono_ns());
    }
}

/* Accept what is waiting (at most a batch, so signals are not starved),
 * refuse over the limits, fork a worker for the rest.  Returns the
 * back-off in ms (0: none). */
static int accept_batch(const struct acceptor *ac, struct workers *w, unsigned long *next_id,
                        int *starved)
{
    const struct options *o = ac->o;
    for (int batch = 0; batch < 64; batch++) {
        struct accepted a;
        memset(&a, 0, sizeof a);
        a.fd = -1;
        int got = ac->accept(ac, &a);
        if (got < 0) {
            /* Out of descriptors: accepting again at once would spin; wait
             * for workers to finish.  Logged once per episode. */
            if (!*starved)
                log_msg(LOG_WARN, "accept: %s; retrying every 100 ms", strerror(errno));
            *starved = 1;
            return 100;
        }
        if (got == 0)
            return 0;
        if (*starved) {
            log_msg(LOG_INFO, "accepting again");
            *starved = 0;
        }
        if (o->max_connections && w->n >= o->max_connections) {
            log_msg(LOG_WARN, "connection limit %u reached: 503", o->max_connections);
            ac->refuse(ac, &a);
            continue;
        }
        if (o->max_per_ip && count_ip(w, &a.peer) >= o->max_per_ip) {
            log_msg(LOG_WARN, "per-address limit %u reached: 503", o->max_per_ip);
            ac->refuse(ac, &a);
            continue;
        }
        unsigned long id = (*next_id)++;
        if (w->npools) {
            int k = pool_pick(w, o->loop_pack);
            if (k < 0 || pool_send(w, k, a.fd, id) < 0) {
                log_msg(LOG_WARN, "no event-loop worker can take a connection now: 503");
                ac->refuse(ac, &a);
                continue;
            }
            if (workers_add(w, 0, id, k, &a.peer) < 0)
                log_msg(LOG_ERROR, "out of memory tracking connection %lu", id);
            ac->release(ac, &a);
            continue;
        }
        sigset_t old;
        pid_t pid = fork_worker(&old);
        if (pid < 0) {
            log_msg(LOG_ERROR, "fork: %s", strerror(errno));
            ac->refuse(ac, &a);
            continue;
        }
        if (pid == 0) {
            become_worker();
            sigprocmask(SIG_SETMASK, &old, NULL);   /* a pending stop lands now */
            ac->serve(ac, &a, id);
            _exit(0);
        }
        if (workers_add(w, pid, id, -1, &a.peer) < 0)
            log_msg(LOG_ERROR, "out of memory tracking worker %ld", (long)pid);
        ac->release(ac, &a);
    }
    return 0;
}

int supervisor_loop(const struct acceptor *ac)
{
    const struct options *o = ac->o;
    if (open_sig_pipe() < 0) {
        log_msg(LOG_ERROR, "pipe: %s", strerror(errno));
        return 1;
    }
    install(SIGCHLD, on_signal, SA_RESTART);
    install(SIGTERM, on_signal, SA_RESTART);
    install(SIGINT, on_signal, SA_RESTART);
    install(SIGHUP, on_signal, SA_RESTART);

    unsigned long next_id = 1;
    struct workers w;
    memset(&w, 0, sizeof w);
    w.npools = ac->pools > MAX_POOLS ? MAX_POOLS : ac->pools;
    w.load = loop_load_create(w.npools);
    churn_meter_init(&w.churn, mono_ns());
    /* Every channel is "not running" before the first loop starts: a
     * new loop closes the channels of the others it inherited, and a 0
     * there would be its standard input. */
    for (int k = 0; k < w.npools; k++)
        w.pool[k].chan = -1;
    for (int k = 0; k < w.npools; k++) {
        if (pool_start(ac, &w, k) < 0) {
            workers_free(&w);
            return 1;
        }
    }
    int stopping = 0, starved = 0, backoff_ms = 0;
    long long stop_deadline = 0, restart_at = 0;

    while (!stopping || w.n > 0 || pools_running(&w)) {
        struct pollfd p[2 + MAX_POOLS];
        int chan_of[2 + MAX_POOLS];
        p[0] = (struct pollfd){ .fd = sig_pipe[0], .events = POLLIN };
        p[1] = (struct pollfd){ .fd = stopping || backoff_ms ? -1 : ac->listen_fd, .events = POLLIN };
        int np = 2;
        for (int k = 0; k < w.npools; k++)
            if (w.pool[k].chan >= 0) {
                chan_of[np] = k;
                p[np++] = (struct pollfd){ .fd = w.pool[k].chan, .events = POLLIN };
            }
        int timeout = backoff_ms ? backoff_ms : -1;
        if (restart_at && !stopping) {
            long long left = restart_at - now_ms();
            if (left < 0)
                left = 0;
            if (timeout < 0 || left < timeout)
                timeout = (int)left;
        }
        if (stopping) {
            long long left = stop_deadline - now_ms();
            if (left <= 0) {
                kill_all(&w);
                break;
            }
            timeout = (int)left;
        }
        int rc = poll(p, (nfds_t)np, timeout);
        if (rc < 0 && errno != EINTR) {
            log_msg(LOG_ERROR, "poll: %s", strerror(errno));
            workers_free(&w);
            return 1;
        }
        backoff_ms = 0;
        for (int i = 2; rc > 0 && i < np; i++)
            if (p[i].revents)
                pool_read_done(&w, chan_of[i]);
        if (p[0].revents & POLLIN) {
            unsigned char sigs[64];
            ssize_t n = read(sig_pipe[0], sigs, sizeof sigs);
            for (ssize_t i = 0; i < n; i++) {
                if (sigs[i] == SIGCHLD) {
                    reap(&w, stopping);
                } else if (sigs[i] == SIGHUP) {
                    if (log_reopen() < 0)
                        log_msg(LOG_ERROR, "cannot reopen log: %s", strerror(errno));
                    /* Event-loop workers live long: they reopen too. */
                    for (int k = 0; k < w.npools; k++)
                        if (w.pool[k].pid > 0)
                            kill(w.pool[k].pid, SIGHUP);
                } else if (!stopping) {
                    log_msg(LOG_INFO, "signal %d: stopping, %zu connection(s) open", sigs[i], w.n);
                    stopping = 1;
                    stop_deadline = now_ms() + (long long)o->shutdown_timeout_ms;
                    /* Workers end their connections and handlers themselves. */
                    for (size_t k = 0; k < w.n; k++)
                        if (w.slot[k].pid > 0)
                            kill(w.slot[k].pid, SIGTERM);
                    for (int k = 0; k < w.npools; k++)
                        if (w.pool[k].pid > 0)
                            kill(w.pool[k].pid, SIGTERM);
                }
            }
        }
        /* An event-loop worker that died is replaced, at most one attempt
         * per second so that one crashing at start cannot spin us. */
        if (!stopping && pools_running(&w) < w.npools && (!restart_at || now_ms() >= restart_at)) {
            restart_at = 0;
            for (int k = 0; k < w.npools; k++)
                if (w.pool[k].pid == 0 && pool_start(ac, &w, k) < 0)
                    restart_at = now_ms() + 1000;
            if (!restart_at && pools_running(&w) < w.npools)
                restart_at = now_ms() + 1000;
        }
        if (!stopping && (p[1].revents & POLLIN))
            backoff_ms = accept_batch(ac, &w, &next_id, &starved);
    }
    for (int k = 0; k < w.npools; k++)
        if (w.pool[k].chan >= 0)
            close(w.pool[k].chan);
    workers_free(&w);
    log_msg(LOG_INFO, "stopped");
    return 0;
}

/* ---- the listener ---------------------------------------------------------- */

static int listen_accept(const struct acceptor *ac, struct accepted *a)
{
    socklen_t plen = sizeof a->peer;
    /* Non-blocking from the start: every worker makes it so anyway. */
    a->fd = accept4(ac->listen_fd, (struct sockaddr *)&a->peer, &plen, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (a->fd >= 0)
        return 1;
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        return -1;
    return 0;
}

static void listen_refuse(const struct acceptor *ac, struct accepted *a)
{
    (void)ac;
    /* Sent without reading the request: a refusal must cost the supervisor
     * nothing, and the client learns to come back (Retry-After). */
    static const char msg[] =
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain\r\n"
        "Content-Length: 20\r\nConnection: close\r\n\r\nToo many connections";
    ssize_t w = send(a->fd, msg, sizeof msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)w;
    shutdown(a->fd, SHUT_WR);
    close(a->fd);
}

static void listen_serve(const struct acceptor *ac, struct accepted *a, unsigned long id)
{
    close(ac->listen_fd);
    worker_serve_http(a->fd, ac->o, id);
}

static void listen_release(const struct acceptor *ac, struct accepted *a)
{
    (void)ac;
    close(a->fd);
}

int supervisor_run(int listen_fd, const struct options *o, int tls)
{
    struct acceptor ac = {
        .listen_fd = listen_fd,
        .o = o,
        /* TLS handshakes block: a TLS connection keeps a process of its own. */
        .pools = tls ? 0 : (int)o->workers,
        .accept = listen_accept,
        .refuse = listen_refuse,
        .serve = listen_serve,
        .release = listen_release,
    };
    return supervisor_loop(&ac);
}
