/* supervisor.h - the accept loop: accepts, checks limits, hands each
 * connection to an event-loop worker (or forks a worker for it), reaps
 * workers, and handles signals.  It never parses a
 * byte of a request, so a crash in one connection cannot touch another.
 *
 * The loop is shared by the listener and the FastCGI responder; what
 * differs (how a connection is accepted, refused and served) comes in a
 * struct acceptor. */
#ifndef PUSHPIPE_SUPERVISOR_H
#define PUSHPIPE_SUPERVISOR_H

#include <sys/socket.h>

#include "pushpipe/options.h"

struct accepted {
    int fd;                         /* the connection's descriptor */
    struct sockaddr_storage peer;   /* for --max-per-ip; AF_UNSPEC if unknown */
    void *req;                      /* transport state (FastCGI's request) */
};

struct acceptor {
    int listen_fd;
    const struct options *o;
    /* > 0: this many event-loop workers (pool.c) serve the connections;
     * 0: a worker process is forked for each. */
    int pools;
    void *ctx;
    /* 1: *a holds a connection; 0: nothing to accept now; -1 with errno:
     * out of descriptors or memory (the loop backs off and retries). */
    int (*accept)(const struct acceptor *ac, struct accepted *a);
    /* Answer 503 without blocking and let the connection go. */
    void (*refuse)(const struct acceptor *ac, struct accepted *a);
    /* In the worker process: serve the connection (returns when done). */
    void (*serve)(const struct acceptor *ac, struct accepted *a, unsigned long id);
    /* In the supervisor after fork: drop its copy of the connection. */
    void (*release)(const struct acceptor *ac, struct accepted *a);
};

/* Route sig to the loop as a stop request, like SIGTERM (FastCGI's
 * SIGUSR1).  Call before supervisor_loop. */
int supervisor_catch_stop(int sig);

/* Run the loop until SIGTERM/SIGINT and every worker has ended (or been
 * killed after --shutdown-timeout).  Returns the process exit status. */
int supervisor_loop(const struct acceptor *ac);

/* The listener: accept4 on listen_fd; the connections go to --workers
 * event-loop workers, or (--workers 0, or tls) to a worker_serve_http
 * process each. */
int supervisor_run(int listen_fd, const struct options *o, int tls);

#endif
