/* sse_relay.h - EventSource: answer a text/event-stream request and run
 * its stream, whatever transport brought it.
 *
 * Much simpler than the WebSocket relay: data flows one way (handler stdout
 * -> events -> client), so the loop only frames the handler's output
 * (core/sse.c), sends heartbeats while idle, logs the handler's stderr and
 * watches for the client going away.  Every event is written to the client
 * stream the moment it is complete: there is no buffer in pushpipe that
 * waits for more (the FastCGI stream writes each piece as its own record).
 *
 * How a vanished client shows, per transport:
 *   listen  the socket reads EOF or fails;
 *   FastCGI the web server closes the connection or sends ABORT_REQUEST
 *           (the stream's read fails; end of FCGI_STDIN is only the end of
 *           the request body);
 *   CGI     the web server closes our stdout (poll reports POLLERR on it)
 *           or sends SIGTERM (lighttpd); EOF on stdin is only the end of
 *           the request body.
 * Writes fail in all three, so at the latest the next heartbeat notices.
 */
#ifndef PUSHPIPE_SSE_RELAY_H
#define PUSHPIPE_SSE_RELAY_H

#include "pushpipe/request.h"

/* Serve r, a GET or HEAD, as an EventSource stream (HEAD gets the head
 * only).  Returns 1 when it served the stream and wrote its access log
 * line; 0 when it answered with an error instead (404 from --dir, 500 when
 * the handler cannot start ...), which the caller logs. */
int sse_serve(struct request *r);

/* The same in steps, for the event loop (pool.c).  sse_open answers the
 * request: SSE_ANSWERED (an error; the caller logs it), SSE_SERVED (done
 * and logged: HEAD, or the client went before the head), or SSE_STREAM:
 * the handler runs in *h, the head is out, and *out streams.  Then, as
 * long as sse_prepare returns 0, wait for what it asks and pass what
 * happened to sse_ready.  When it returns 1: sse_end (the last bytes
 * that fit; 1 if the client is gone), shut the client's write side,
 * finish the handler, close the client, and sse_done (the log line; frees
 * the stream). */
enum { SSE_ANSWERED, SSE_SERVED, SSE_STREAM };
struct sse_relay;
int sse_open(struct request *r, struct handler *h, struct sse_relay **out);
int sse_prepare(struct sse_relay *s, long long now, struct relay_wait *w);
void sse_ready(struct sse_relay *s, const short rev[RELAY_W_N]);
int sse_end(struct sse_relay *s);
void sse_done(struct sse_relay *s);

/* End the stream of this process and finish its handler: async-signal-safe,
 * for SIGTERM (pushpipe shutting down, or lighttpd's CGI client gone). */
void sse_relay_request_stop(void);

#endif
