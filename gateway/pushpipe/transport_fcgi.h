/* transport_fcgi.h - pushpipe as a FastCGI responder (libfcgi, fcgi2).
 *
 * External (`--fcgi HOST:PORT` or `unix:PATH`: Apache mod_proxy_fcgi,
 * nginx fastcgi_pass, lighttpd fastcgi.server with host/socket) or spawned
 * by the web server with the listening socket on fd 0 (lighttpd bin-path,
 * Apache mod_fcgid, spawn-fcgi).
 *
 * The supervisor accepts with FCGX_Accept_r, which also reads BEGIN_REQUEST
 * and PARAMS, then forks one worker per request, exactly like the
 * listener's supervisor does per connection.  The parent lets go of its
 * copy of the request with FCGX_Detach + FCGX_Free(req, 1): Detach makes
 * libfcgi close the descriptor without shutdown(), so nothing the parent
 * does ends the request (no END_REQUEST, no FIN: the child's copy of the
 * socket keeps the connection fully open).  The worker takes the
 * connection over with a non-blocking record stream (io/fcgi_stream.h).
 */
#ifndef PUSHPIPE_TRANSPORT_FCGI_H
#define PUSHPIPE_TRANSPORT_FCGI_H

#include "pushpipe/options.h"

/* 1 if fd 0 is a listening socket (we were spawned as a FastCGI program);
 * the same test as libfcgi's FCGX_IsCGI, without its side effects. */
int fcgi_spawned(void);

/* Serve FastCGI requests on listen_fd until SIGTERM/SIGINT/SIGUSR1;
 * returns the exit status. */
int fcgi_run(int listen_fd, const struct options *o);

#endif
