/* worker.h - one connection from the listener, in its own process: read
 * the request head, route it, and run the handshake and relay. */
#ifndef PUSHPIPE_WORKER_H
#define PUSHPIPE_WORKER_H

#include "pushpipe/options.h"

struct ssl_ctx_st;

/* TLS for every connection of this process (--tls-cert): set once in the
 * supervisor before any fork; NULL for plain HTTP. */
void worker_set_tls(struct ssl_ctx_st *ctx);

/* Shared with the event-loop worker (pool.c): socket options for a new
 * connection, and the CGI/1.1 variables that do not come from the request
 * itself (server name and port, remote address, HTTPS). */
struct request_env;
void worker_socket_options(int fd);
int worker_server_vars(struct request_env *e, int fd);

/* Serve the accepted socket fd; returns when the connection is over. */
void worker_serve_http(int fd, const struct options *o, unsigned long conn_id);

#endif
