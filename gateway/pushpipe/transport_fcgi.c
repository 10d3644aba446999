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
#include <arpa/inet.h>
#include <netinet/in.h>
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
#include "pushpipe/supervisor.h"

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
    request_init(&r, o, id, TRANSPORT_FCGI, &s);

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

/* ---- the accept loop (supervisor.c) with libfcgi's accept ---------------- */

/* Interrupts a read of PARAMS that takes too long (see fcgi_accept). */
static void on_alarm(int sig)
{
    (void)sig;
}

/* A whole response written without blocking, for refusals in the
 * supervisor (which must never wait on one connection).  Best effort. */
static void fcgi_refuse(const struct acceptor *ac, struct accepted *a)
{
    (void)ac;
    FCGX_Request *req = a->req;
    static const char body[] = "Status: 503 Service Unavailable\r\nRetry-After: 1\r\n"
                               "Content-Type: text/plain\r\n\r\nToo many connections\n";
    uint8_t buf[512];
    size_t n = sizeof body - 1;
    unsigned id = (unsigned)req->requestId;
    fcgi_record_header(buf, FCGI_REC_STDOUT, id, n, 0);
    memcpy(buf + FCGI_REC_HEADER_LEN, body, n);
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

/* The client's address as the web server reports it, for --max-per-ip. */
static void peer_from_params(FCGX_Request *req, struct sockaddr_storage *ss)
{
    const char *addr = FCGX_GetParam("REMOTE_ADDR", req->envp);
    memset(ss, 0, sizeof *ss);
    ss->ss_family = AF_UNSPEC;
    if (!addr)
        return;
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1)
        ss->ss_family = AF_INET;
    else if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1)
        ss->ss_family = AF_INET6;
}

/* Accept one request: 1, 0 (nothing now), -1 (out of descriptors). */
static int fcgi_accept(const struct acceptor *ac, struct accepted *a)
{
    FCGX_Request *req = ac->ctx;
    FCGX_InitRequest(req, ac->listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
    /* The listening socket is non-blocking, so accept never waits; reading
     * BEGIN_REQUEST and PARAMS does.  A peer that connects and sends
     * nothing would hold the whole supervisor, so the read is bounded by
     * an alarm (SIGALRM without SA_RESTART: libfcgi's read fails, it drops
     * that connection and returns). */
    unsigned secs = (ac->o->head_timeout_ms + 999) / 1000;
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
        a->fd = req->ipcFd;
        a->req = req;
        peer_from_params(req, &a->peer);
        return 1;
    }
    int err = -rc;
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        errno = err;
        return -1;
    }
    if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR)
        log_msg(LOG_DEBUG, "FastCGI accept: %s", rc < -9000 ? "libfcgi error" : strerror(err));
    return 0;
}

static void fcgi_serve(const struct acceptor *ac, struct accepted *a, unsigned long id)
{
    /* fd 0 may be the listening socket (spawned mode); put /dev/null there
     * so no later descriptor lands on 0. */
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nul >= 0 && nul != ac->listen_fd) {
        dup3(nul, ac->listen_fd, O_CLOEXEC);
        close(nul);
    }
    worker(a->req, ac->o, id);
}

/* Let go of the parent's copy without ending the request: with detached
 * set, libfcgi closes the descriptor without shutdown() and writes nothing
 * (FCGX_Free never flushes). */
static void fcgi_release(const struct acceptor *ac, struct accepted *a)
{
    (void)ac;
    FCGX_Detach(a->req);
    FCGX_Free(a->req, 1);
}

int fcgi_run(int listen_fd, const struct options *o)
{
    if (FCGX_Init() != 0) {
        log_msg(LOG_ERROR, "libfcgi initialisation failed");
        return 1;
    }
    /* FCGX_Init installed handlers of its own (SIGPIPE, SIGUSR1): ours
     * replace them.  SIGUSR1 is libfcgi's "finish and exit" signal, so it
     * means the same here as SIGTERM. */
    signal(SIGPIPE, SIG_IGN);
    if (supervisor_catch_stop(SIGUSR1) < 0) {
        log_msg(LOG_ERROR, "pipe: %s", strerror(errno));
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    fcntl(listen_fd, F_SETFD, FD_CLOEXEC);
    net_set_nonblock(listen_fd, 1);

    FCGX_Request req;
    struct acceptor ac = {
        .listen_fd = listen_fd,
        .o = o,
        .ctx = &req,
        .accept = fcgi_accept,
        .refuse = fcgi_refuse,
        .serve = fcgi_serve,
        .release = fcgi_release,
    };
    return supervisor_loop(&ac);
}
