#include "pushpipe/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pushpipe/log.h"
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

static int install(int sig, void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    return sigaction(sig, &sa, NULL);
}

static unsigned reap(void)
{
    unsigned n = 0;
    int st;
    while (waitpid(-1, &st, WNOHANG) > 0)
        n++;
    return n;
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
    unsigned live = 0;
    int stopping = 0;
    int backoff_ms = 0;

    while (!stopping || live > 0) {
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
                    unsigned r = reap();
                    live = r > live ? 0 : live - r;
                } else if (sigs[i] == SIGHUP) {
                    if (log_reopen() < 0)
                        log_msg(LOG_ERROR, "cannot reopen log: %s", strerror(errno));
                } else if (!stopping) {
                    log_msg(LOG_INFO, "signal %d: stopping, %u connection(s) open", sigs[i], live);
                    stopping = 1;
                    close(listen_fd);
                    /* Workers end their connections and handlers themselves. */
                    kill(0, SIGTERM);
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
            if (o->max_connections && live >= o->max_connections) {
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
                signal(SIGTERM, SIG_DFL);
                signal(SIGINT, SIG_DFL);
                signal(SIGHUP, SIG_IGN);
                worker_serve_http(fd, o, id);
                _exit(0);
            }
            live++;
            close(fd);
        }
    }
    log_msg(LOG_INFO, "stopped");
    return 0;
}
