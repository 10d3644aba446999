#include "pushpipe/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pushpipe/log.h"
#include "pushpipe/relay.h"
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
}

static int install(int sig, void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    return sigaction(sig, &sa, NULL);
}

/* Live workers, so that shutdown signals exactly them (not our own process
 * group, which may hold whoever started us). */
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

static void workers_remove(struct workers *w, pid_t pid)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->pid[i] == pid) {
            w->pid[i] = w->pid[--w->n];
            return;
        }
}

static void reap(struct workers *w)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        workers_remove(w, pid);
        if (WIFSIGNALED(st) && WTERMSIG(st) != SIGTERM)
            log_msg(LOG_ERROR, "worker %ld died from signal %d", (long)pid, WTERMSIG(st));
    }
}

static void refuse_busy(int fd)
{
    static const char msg[] =
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain\r\n"
        "Content-Length: 20\r\nConnection: close\r\n\r\nToo many connections";
    ssize_t w = send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)w;
    shutdown(fd, SHUT_WR);
    close(fd);
}

int supervisor_run(int listen_fd, const struct options *o)
{
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        log_msg(LOG_ERROR, "pipe: %s", strerror(errno));
        return 1;
    }
    install(SIGCHLD, on_signal);
    install(SIGTERM, on_signal);
    install(SIGINT, on_signal);
    install(SIGHUP, on_signal);

    unsigned long next_id = 1;
    struct workers w = { NULL, 0, 0 };
    int stopping = 0;
    int backoff_ms = 0;

    while (!stopping || w.n > 0) {
        struct pollfd p[2] = {
            { .fd = sig_pipe[0], .events = POLLIN },
            { .fd = stopping || backoff_ms ? -1 : listen_fd, .events = POLLIN },
        };
        int rc = poll(p, 2, backoff_ms ? backoff_ms : -1);
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
                    log_msg(LOG_INFO, "signal %d: stopping, %zu connection(s) open", sigs[i], w.n);
                    stopping = 1;
                    close(listen_fd);
                    /* Workers end their connections and handlers themselves. */
                    for (size_t k = 0; k < w.n; k++)
                        kill(w.pid[k], SIGTERM);
                }
            }
        }
        if (stopping || !(p[1].revents & POLLIN))
            continue;
        for (int batch = 0; batch < 64; batch++) {
            int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                    /* Out of descriptors: accepting again at once would
                     * spin; wait for workers to finish. */
                    log_msg(LOG_WARN, "accept: %s; pausing 100 ms", strerror(errno));
                    backoff_ms = 100;
                }
                break;
            }
            if (o->max_connections && w.n >= o->max_connections) {
                log_msg(LOG_WARN, "connection limit %u reached: 503", o->max_connections);
                refuse_busy(fd);
                continue;
            }
            unsigned long id = next_id++;
            pid_t pid = fork();
            if (pid < 0) {
                log_msg(LOG_ERROR, "fork: %s", strerror(errno));
                refuse_busy(fd);
                continue;
            }
            if (pid == 0) {
                close(listen_fd);
                close(sig_pipe[0]);
                close(sig_pipe[1]);
                signal(SIGCHLD, SIG_DFL);
                /* No SA_RESTART: the signal must interrupt the relay's poll. */
                struct sigaction sa;
                memset(&sa, 0, sizeof sa);
                sa.sa_handler = on_worker_term;
                sigemptyset(&sa.sa_mask);
                sigaction(SIGTERM, &sa, NULL);
                signal(SIGINT, SIG_IGN);
                signal(SIGHUP, SIG_IGN);
                worker_serve_http(fd, o, id);
                _exit(0);
            }
            if (workers_add(&w, pid) < 0)
                log_msg(LOG_ERROR, "out of memory tracking worker %ld", (long)pid);
            close(fd);
        }
    }
    free(w.pid);
    log_msg(LOG_INFO, "stopped");
    return 0;
}
