/* transport_fcgi.c - FastCGI responder: accept loop and per-request worker
 * (see transport_fcgi.h). */
#include "pushpipe/transport_fcgi.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "core/cgi_env.h"
#include "core/fcgi_record.h"
#include "core/ws_handshake.h"
#include "io/fcgi_stream.h"
#include "io/net.h"
#include "pushpipe/log.h"
#include "pushpipe/relay.h"
#include "pushpipe/request.h"
#include "pushpipe/sse_relay.h"

#define ENV_ARENA (64 * 1024)
/* libfcgi reads ahead at most its 8 KiB input buffer. */
#define READ_AHEAD_MAX (64 * 1024)

int fcgi_spawned(void)
{
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0)
        return listening != 0;
    return 0;
}

/* ---- what libfcgi already read ------------------------------------------ */

/* FCGX_Accept_r reads the connection in 8 KiB chunks, so its buffer may hold
 * records behind PARAMS: the empty STDIN, or a WebSocket client's first
 * frames.  They are in the private data of req->in (FCGX_Stream_Data in
 * fcgiapp.c, unchanged since fcgi 2.4.0); the unparsed raw bytes run from
 * in->rdNext to its buffStop.  The layout is checked against what must hold
 * before it is trusted; if it does not, the request is refused rather than
 * served with bytes missing. */
struct libfcgi_stream_data {
    unsigned char *buff;
    int bufflen;
    unsigned char *mBuff;
    unsigned char *buffStop;
    int type;
    int eorStop;
    int skip;
    int contentLen;
    int paddingLen;
    int isAnythingWritten;
    int rawWrite;
    FCGX_Request *reqDataPtr;
};

static int libfcgi_read_ahead(FCGX_Request *req, const uint8_t **p, size_t *n)
{
    FCGX_Stream *in = req->in;
    if (!in || !in->data || !in->isReader)
        return -1;
    const struct libfcgi_stream_data *d = in->data;
    if (d->reqDataPtr != req || d->type != FCGI_REC_STDIN || !d->buff || d->bufflen <= 0 ||
        d->bufflen > READ_AHEAD_MAX || in->rdNext < d->buff || d->buffStop < in->rdNext ||
        d->buffStop > d->buff + d->bufflen)
        return -1;
    *p = in->rdNext;
    *n = (size_t)(d->buffStop - in->rdNext);
    return 0;
}

/* ---- the worker ---------------------------------------------------------- */

static void worker(FCGX_Request *req, const struct options *o, unsigned long id)
{
    char tag[32];
    snprintf(tag, sizeof tag, "#%lu", id);
    log_set_tag(tag);

    struct request r;
    struct stream s;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.id = id;
    r.transport = TRANSPORT_FCGI;
    r.s = &s;
    r.proto = "http";
    clock_gettime(CLOCK_MONOTONIC, &r.start);

    const uint8_t *ahead = NULL;
    size_t ahead_len = 0;
    int layout_ok = libfcgi_read_ahead(req, &ahead, &ahead_len) == 0;
    uint8_t *early = malloc(READ_AHEAD_MAX);
    size_t early_len = 0;
    int env_ok = request_env_init(&r.env, ENV_ARENA) == 0 &&
                 cgi_env_from_vars(&r.env, req->envp) == 0;
    int fd = req->ipcFd;
    int role = req->role;
    if (!early || fcgi_stream_init(&s, fd, (unsigned)req->requestId, layout_ok ? ahead : NULL,
                                   layout_ok ? ahead_len : 0, early, READ_AHEAD_MAX, &early_len) < 0) {
        log_msg(LOG_ERROR, "out of memory");
        free(early);
        request_env_free(&r.env);
        close(fd);
        return;
    }
    /* Everything needed is copied: free libfcgi's copy of the request
     * (its params, buffers) without touching the connection. */
    FCGX_Free(req, 0);
    r.early = early;
    r.early_len = early_len;

    if (role != 1 /* FCGI_RESPONDER */) {
        log_msg(LOG_WARN, "FastCGI role %d: pushpipe is a responder only", role);
        fcgi_stream_end_request(&s, 0, FCGI_REC_UNKNOWN_ROLE, 2000);
    } else if (!layout_ok) {
        log_msg(LOG_ERROR, "unexpected libfcgi internals: cannot take over the request");
        request_reply(&r, 500, NULL, "pushpipe cannot use this libfcgi version\n");
    } else if (!env_ok) {
        log_msg(LOG_WARN, "request parameters too large");
        request_reply(&r, 431, NULL, "Request parameters too large\n");
    } else if (ws_is_upgrade_request(&r.env) && fcgi_stream_input_ended(&s)) {
        /* The web server ended the request body before our answer: it will
         * not switch the connection to a tunnel after a 101 (only lighttpd
         * >= 1.4.74 with "upgrade" => "enable" holds it open).  A clear
         * refusal beats a handshake that silently goes nowhere. */
        log_msg(LOG_INFO, "WebSocket upgrade over a FastCGI connection that cannot tunnel: 501");
        request_reply(&r, 501, NULL,
                      "This web server does not pass WebSocket upgrades over FastCGI; "
                      "proxy to pushpipe --listen instead (see the README)\n");
    } else {
        request_dispatch(&r);
    }
    if (!r.stream_closed) {
        s.ops->shutdown_write(&s);
        s.ops->close(&s);
    }
    request_env_free(&r.env);
    free(early);
}

/* ---- the supervisor ------------------------------------------------------ */

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

/* Interrupts a read of PARAMS that takes too long (see accept_one). */
static void on_alarm(int sig)
{
    (void)sig;
}

static void install(int sig, void (*fn)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = flags;
    sigaction(sig, &sa, NULL);
}

struct workers {
    pid_t *pid;
    size_t n, cap;
};

static int workers_add(struct workers *w, pid_t pid)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        pid_t *p = realloc(w->pid, cap * sizeof *p);
        if (!p)
            return -1;
        w->pid = p;
        w->cap = cap;
    }
    w->pid[w->n++] = pid;
    return 0;
}

static void reap(struct workers *w)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        for (size_t i = 0; i < w->n; i++)
            if (w->pid[i] == pid) {
                w->pid[i] = w->pid[--w->n];
                break;
            }
        if (WIFSIGNALED(st) && WTERMSIG(st) != SIGTERM)
            log_msg(LOG_ERROR, "worker %ld died from signal %d", (long)pid, WTERMSIG(st));
    }
}

/* A whole response written without blocking, for refusals in the
 * supervisor (which must never wait on one connection).  Best effort. */
static void refuse(FCGX_Request *req, const char *head_and_body)
{
    uint8_t buf[512];
    size_t n = strlen(head_and_body);
    if (n > sizeof buf - 2 * FCGI_REC_HEADER_LEN - FCGI_REC_END_REQUEST_LEN)
        n = sizeof buf - 2 * FCGI_REC_HEADER_LEN - FCGI_REC_END_REQUEST_LEN;
    unsigned id = (unsigned)req->requestId;
    fcgi_record_header(buf, FCGI_REC_STDOUT, id, n, 0);
    memcpy(buf + FCGI_REC_HEADER_LEN, head_and_body, n);
    size_t off = FCGI_REC_HEADER_LEN + n;
    fcgi_record_header(buf + off, FCGI_REC_STDOUT, id, 0, 0);
    off += FCGI_REC_HEADER_LEN;
    fcgi_record_end_request(buf + off, id, 0, FCGI_REC_REQUEST_COMPLETE);
    off += FCGI_REC_END_REQUEST_LEN;
    ssize_t w = send(req->ipcFd, buf, off, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)w;
    FCGX_Detach(req);
    FCGX_Free(req, 1);
}

/* Accept one request.  1: req holds a request; 0: nothing to accept now;
 * -1: out of descriptors or memory (back off). */
static int accept_one(FCGX_Request *req, int listen_fd, const struct options *o)
{
    FCGX_InitRequest(req, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
    /* The listening socket is non-blocking, so accept never waits; reading
     * BEGIN_REQUEST and PARAMS does.  A peer that connects and sends
     * nothing would hold the whole supervisor, so the read is bounded by
     * an alarm (SIGALRM without SA_RESTART: libfcgi's read fails, it drops
     * that connection and returns). */
    unsigned secs = (o->head_timeout_ms + 999) / 1000;
    /* Our other signals wait (they reach the loop through the self-pipe
     * anyway): libfcgi's poll() for the first bytes of a unix-socket
     * connection treats EINTR as a dead peer, so a worker exiting at that
     * moment would otherwise cost a request. */
    sigset_t block, orig;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &orig);
    alarm(secs ? secs : 1);
    int rc = FCGX_Accept_r(req);
    alarm(0);
    sigprocmask(SIG_SETMASK, &orig, NULL);
    if (rc == 0) {
        fcntl(req->ipcFd, F_SETFD, FD_CLOEXEC);
        return 1;
    }
    int err = -rc;
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        log_msg(LOG_WARN, "accept: %s; pausing 100 ms", strerror(err));
        return -1;
    }
    if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR)
        log_msg(LOG_DEBUG, "FastCGI accept: %s", rc < -9000 ? "libfcgi error" : strerror(err));
    return 0;
}

int fcgi_run(int listen_fd, const struct options *o)
{
    if (FCGX_Init() != 0) {
        log_msg(LOG_ERROR, "libfcgi initialisation failed");
        return 1;
    }
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        log_msg(LOG_ERROR, "pipe: %s", strerror(errno));
        return 1;
    }
    /* FCGX_Init installed handlers of its own (SIGPIPE, SIGUSR1): ours
     * replace them.  SIGUSR1 is libfcgi's "finish and exit" signal, so it
     * means the same here as SIGTERM. */
    signal(SIGPIPE, SIG_IGN);
    install(SIGCHLD, on_signal, SA_RESTART);
    install(SIGTERM, on_signal, SA_RESTART);
    install(SIGINT, on_signal, SA_RESTART);
    install(SIGUSR1, on_signal, SA_RESTART);
    install(SIGHUP, on_signal, SA_RESTART);
    install(SIGALRM, on_alarm, 0);
    fcntl(listen_fd, F_SETFD, FD_CLOEXEC);
    net_set_nonblock(listen_fd, 1);

    unsigned long next_id = 1;
    struct workers w = { NULL, 0, 0 };
    int stopping = 0, backoff_ms = 0;
    long long stop_deadline = 0;
    while (!stopping || w.n > 0) {
        struct pollfd p[2] = {
            { .fd = sig_pipe[0], .events = POLLIN },
            { .fd = stopping || backoff_ms ? -1 : listen_fd, .events = POLLIN },
        };
        int timeout = backoff_ms ? backoff_ms : -1;
        if (stopping) {
            /* As the listener does: --shutdown-timeout bounds how long
             * open requests get to end; then their workers are killed. */
            long long left = stop_deadline - mono_ms();
            if (left <= 0) {
                log_msg(LOG_WARN, "shutdown timeout: killing %zu worker(s)", w.n);
                for (size_t k = 0; k < w.n; k++)
                    kill(w.pid[k], SIGKILL);
                while (w.n > 0 && waitpid(-1, NULL, 0) > 0)
                    w.n--;
                break;
            }
            timeout = (int)left;
        }
        int rc = poll(p, 2, timeout);
        if (rc < 0 && errno != EINTR) {
            log_msg(LOG_ERROR, "poll: %s", strerror(errno));
            return 1;
        }
        backoff_ms = 0;
        if (p[0].revents & POLLIN) {
            unsigned char sigs[64];
            ssize_t n = read(sig_pipe[0], sigs, sizeof sigs);
            for (ssize_t i = 0; i < n; i++) {
                if (sigs[i] == SIGCHLD) {
                    reap(&w);
                } else if (sigs[i] == SIGHUP) {
                    if (log_reopen() < 0)
                        log_msg(LOG_ERROR, "cannot reopen log: %s", strerror(errno));
                } else if (!stopping) {
                    log_msg(LOG_INFO, "signal %d: stopping, %zu request(s) open", sigs[i], w.n);
                    stopping = 1;
                    stop_deadline = mono_ms() + (long long)o->shutdown_timeout_ms;
                    for (size_t k = 0; k < w.n; k++)
                        kill(w.pid[k], SIGTERM);
                }
            }
        }
        if (stopping || !(p[1].revents & POLLIN))
            continue;
        for (int batch = 0; batch < 64; batch++) {
            FCGX_Request req;
            int got = accept_one(&req, listen_fd, o);
            if (got < 0)
                backoff_ms = 100;
            if (got <= 0)
                break;
            if (o->max_connections && w.n >= o->max_connections) {
                log_msg(LOG_WARN, "connection limit %u reached: 503", o->max_connections);
                refuse(&req, "Status: 503 Service Unavailable\r\nRetry-After: 1\r\n"
                             "Content-Type: text/plain\r\n\r\nToo many connections\n");
                continue;
            }
            unsigned long id = next_id++;
            pid_t pid = fork();
            if (pid < 0) {
                log_msg(LOG_ERROR, "fork: %s", strerror(errno));
                refuse(&req, "Status: 503 Service Unavailable\r\nRetry-After: 1\r\n"
                             "Content-Type: text/plain\r\n\r\nTry again later\n");
                continue;
            }
            if (pid == 0) {
                /* fd 0 may be the listening socket (spawned mode); put
                 * /dev/null there so no later descriptor lands on 0. */
                int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (nul >= 0 && nul != listen_fd) {
                    dup3(nul, listen_fd, O_CLOEXEC);
                    close(nul);
                }
                close(sig_pipe[0]);
                close(sig_pipe[1]);
                signal(SIGCHLD, SIG_DFL);
                signal(SIGALRM, SIG_DFL);
                /* No SA_RESTART: the signal must interrupt the relay's poll. */
                install(SIGTERM, on_worker_term, 0);
                install(SIGUSR1, on_worker_term, 0);
                signal(SIGINT, SIG_IGN);
                signal(SIGHUP, SIG_IGN);
                worker(&req, o, id);
                _exit(0);
            }
            if (workers_add(&w, pid) < 0)
                log_msg(LOG_ERROR, "out of memory tracking worker %ld", (long)pid);
            /* Let go of the parent's copy without ending the request: with
             * detached set, libfcgi closes the descriptor without
             * shutdown() and writes nothing (FCGX_Free never flushes). */
            FCGX_Detach(&req);
            FCGX_Free(&req, 1);
        }
    }
    free(w.pid);
    log_msg(LOG_INFO, "stopped");
    return 0;
}
