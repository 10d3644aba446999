/* request.h - one request, whatever transport brought it.
 *
 * Each transport (the listener's worker, CGI, FastCGI) reduces its request
 * to this: a client stream, the CGI variables, and any client bytes that
 * arrived behind the head.  request_dispatch then decides what it is
 * (WebSocket, EventSource, a static file, an error) the same way for all.
 * Only how a response head is written differs: a socket gets a status line,
 * CGI and FastCGI a "Status:" header for the web server.
 */
#ifndef PUSHPIPE_REQUEST_H
#define PUSHPIPE_REQUEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/request_env.h"
#include "core/ws_deflate.h"
#include "io/stream.h"
#include "pushpipe/handler.h"
#include "pushpipe/options.h"
#include "pushpipe/relay.h"

enum transport { TRANSPORT_LISTEN, TRANSPORT_CGI, TRANSPORT_FCGI };

struct request {
    const struct options *o;
    unsigned long id;
    enum transport transport;
    struct stream *s;
    struct request_env env;
    const uint8_t *early;       /* client bytes read behind the head */
    size_t early_len;
    int stream_closed;          /* the relay closed s */
    /* for the access log */
    struct timespec start;
    int status;
    const char *proto;
    uint64_t bytes_in, bytes_out;
};

const char *transport_name(enum transport t);

/* A new request on stream s (its env still to be set up by the caller);
 * its clock starts now. */
void request_init(struct request *r, const struct options *o, unsigned long id,
                  enum transport t, struct stream *s);

/* Write a response head: status line (or Status header), the header lines
 * in `headers` ("Name: v\r\n"..., may be NULL), every --header, and the
 * blank line. */
int request_write_head(struct request *r, int status, const char *headers);
/* The same with a reason phrase of the caller's (the drafts' handshakes
 * need their own). */
int request_write_head_reason(struct request *r, int status, const char *reason,
                              const char *headers);

/* A complete short response with a text/plain body; returns status. */
int request_reply(struct request *r, int status, const char *headers, const char *body);

/* Steps the WebSocket and EventSource paths share: the handler's
 * environment (PUSHPIPE_* on top of the request's variables, PATH,
 * --passenv) and its argv (COMMAND, or the file --dir maps the path to;
 * NULL when a 404 was answered). */
struct route;
int request_handler_vars(struct request *r, const char *version, const char *subprotocol);
char *const *request_choose_handler(struct request *r, char *argv_dir[2], struct route *rt);

/* Start the handler with the request's environment; -1 when it could not
 * be started, after answering 503 (out of processes) or 500 and logging
 * why. */
int request_spawn_handler(struct request *r, struct handler *h, char *const *argv);

/* --origin / --same-origin check; 0 means answer 403. */
int request_origin_allowed(struct request *r);

/* A WebSocket request in two halves, for an event loop that relays many
 * connections: open checks the origin, routes, answers the handshake and
 * spawns the handler; 1 means ws is ready for relay_start(r->s, r->early,
 * r->early_len, &ws->h, &ws->rp, &ws->res), 0 that a refusal was answered
 * (r->status).  done writes the access log line once the relay has ended,
 * the client is closed and the handler finished. */
struct ws_session {
    struct handler h;
    struct relay_params rp;
    struct ws_deflate_params dp;
    struct relay_result res;
    int version;
    int deflate;
    char protocol[256];
};
int request_websocket_open(struct request *r, struct ws_session *ws);
void request_websocket_done(struct request *r, struct ws_session *ws);

/* The access log line of a request that was not a WebSocket. */
void request_log_plain(struct request *r);

/* Serve the request (WebSocket, EventSource, static file or refusal), log it. */
void request_dispatch(struct request *r);

/* What a request asks for, as request_dispatch and the event loop both
 * route it: a WebSocket upgrade, an EventSource stream (GET or HEAD with
 * Accept: text/event-stream), or anything else. */
enum request_kind { REQUEST_WEBSOCKET, REQUEST_EVENTSOURCE, REQUEST_OTHER };
enum request_kind request_kind(const struct request *r);

#endif
