/* relay.h - the event loop of one WebSocket connection: client stream <->
 * protocol <-> handler pipes.
 *
 * One poll loop over the client's descriptors, the handler's stdin, stdout
 * and stderr, its exit (pidfd) and a timer.  Every queue is a bounded
 * bytebuf; a full queue stops reading from the side that feeds it, so a
 * handler that never reads or a client that never reads slows the other
 * side instead of growing memory.
 *
 * The same loop serves both ends of a WebSocket: pushpipe (server role,
 * a spawned handler) and pushcat (client role: its frames are masked, and
 * the "handler" may be its own stdin/stdout, a struct handler with no pid).
 */
#ifndef PUSHPIPE_RELAY_H
#define PUSHPIPE_RELAY_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "core/request_env.h"
#include "core/ws_deflate.h"
#include "core/ws_frame.h"
#include "io/stream.h"
#include "pushpipe/handler.h"
#include "pushpipe/options.h"

struct relay_params {
    enum ws_role role;
    enum msg_mode mode;
    int hixie;                  /* 0: RFC 6455 framing; 75 or 76: the old drafts */
    uint64_t max_message;
    size_t max_line;
    unsigned close_grace_ms;    /* handler output ended: wait for its exit */
    unsigned kill_grace_ms;
    unsigned close_timeout_ms;  /* our close sent: wait for the peer's */
    unsigned send_timeout_ms;   /* output waiting this long without progress: drop */
    unsigned ping_interval_ms;  /* 0: no keepalive pings */
    unsigned ping_timeout_ms;   /* no pong within this: drop the connection */
    const struct ws_deflate_params *deflate;    /* NULL: not negotiated */
    unsigned eof_close_code;    /* handler output ended normally (1000) */
    const char *eof_close_reason;
    /* No process (pushcat's stdin): once the input ended, close only after
     * the peer has sent nothing for this long (at most close_timeout_ms),
     * so that answers to the last messages are not cut off by our close.
     * 0: close at once. */
    unsigned eof_linger_ms;
    /* draft-76: the first 8 client bytes are key3; the challenge answer
     * goes out before anything else, and handler output waits for it. */
    int await_key3;
    unsigned key3_timeout_ms;   /* ...for at most this long */
    const struct request_env *env;  /* for the challenge */
};

struct relay_result {
    unsigned close_code;        /* code sent or received; 1006 if none */
    unsigned peer_code;         /* code in the peer's close frame, 0 if none came */
    char peer_reason[124];
    int peer_closed_first;      /* the peer started the close handshake */
    unsigned failed_code;       /* we failed the connection (the peer broke
                                 * the protocol) with this code; 0 if not */
    const char *end;            /* why it ended, for the access log */
    uint64_t bytes_in, bytes_out;
    uint64_t msgs_in, msgs_out;
};

/* Defaults from pushpipe's options (server role, RFC 6455, no deflate). */
void relay_params_from_options(struct relay_params *p, const struct options *o);

/* Ask every relay in this process to close its connection with 1001
 * (going away) and finish its handler: async-signal-safe, for SIGTERM. */
void relay_request_stop(void);

/* Run a connection whose handshake has been answered.  early holds client
 * bytes read together with the request head (frames sent right after it).
 * Returns when the connection is over; the handler has then been finished
 * and reaped, and the client stream closed. */
void relay_websocket(struct stream *client, const uint8_t *early, size_t early_len,
                     struct handler *h, const struct relay_params *p,
                     struct relay_result *res);

/* The same loop, driven from outside: an event-loop worker runs many
 * relays at once.  relay_start feeds the early bytes; then, as long as
 * relay_prepare returns 0, wait for what it asks (each slot's fd for its
 * events, until deadline) and pass what happened to relay_ready.  When it
 * returns 1, relay_free; the caller then closes the client (after a
 * lingering wait, RELAY_LINGER_MS, unless relay_client_gone) and finishes
 * the handler -- which relay_websocket does in one blocking call. */
enum relay_slot {
    RELAY_W_CLIENT_R, RELAY_W_CLIENT_W,     /* often the same descriptor */
    RELAY_W_H_IN, RELAY_W_H_OUT, RELAY_W_H_ERR, RELAY_W_PIDFD,
    RELAY_W_STOP,                           /* the process's stop pipe */
    RELAY_W_N
};
struct relay_wait {
    int fd[RELAY_W_N];          /* -1: nothing to wait for in this slot */
    short events[RELAY_W_N];    /* POLLIN or POLLOUT */
    long long deadline;         /* CLOCK_MONOTONIC ms; 0: none */
};
#define RELAY_LINGER_MS 1000

struct relay;
/* NULL: out of memory (nothing was taken over). */
struct relay *relay_start(struct stream *client, const uint8_t *early, size_t early_len,
                          struct handler *h, const struct relay_params *p,
                          struct relay_result *res);
int relay_prepare(struct relay *r, long long now_ms, struct relay_wait *w);
void relay_ready(struct relay *r, const short revents[RELAY_W_N]);
int relay_client_gone(const struct relay *r);
void relay_free(struct relay *r);

/* Wait for the handler's stderr and its exit (pidfd), as long as there
 * is one: both relays watch them the same way. */
void relay_wait_handler(struct relay_wait *w, const struct handler *h);

/* The blocking drivers' wait: poll (or, with mask, ppoll with that signal
 * mask) for what w asks, until its deadline, and give each slot what
 * happened (0 where nothing did).  poll's result: -1 with errno, 0 when
 * the deadline passed. */
int relay_wait_poll(const struct relay_wait *w, long long now, const sigset_t *mask,
                    short rev[RELAY_W_N]);

/* In a child forked by a process that runs relays: forget the parent's
 * stop pipe and stop request. */
void relay_after_fork(void);

#endif
