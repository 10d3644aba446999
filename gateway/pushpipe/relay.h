/* relay.h - the worker's event loop for one WebSocket connection: client
 * stream <-> protocol <-> handler pipes.
 *
 * One poll loop over the client's descriptors, the handler's stdin, stdout
 * and stderr, its exit (pidfd) and a timer.  Every queue is a bounded
 * bytebuf; a full queue stops reading from the side that feeds it, so a
 * handler that never reads or a client that never reads slows the other
 * side instead of growing memory.
 */
#ifndef PUSHPIPE_RELAY_H
#define PUSHPIPE_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "io/stream.h"
#include "pushpipe/handler.h"
#include "pushpipe/options.h"

struct relay_result {
    unsigned close_code;        /* code sent or received; 1006 if none */
    const char *end;            /* why it ended, for the access log */
    uint64_t bytes_in, bytes_out;
    uint64_t msgs_in, msgs_out;
};

/* Ask every relay in this process to close its connection with 1001
 * (going away) and finish its handler: async-signal-safe, for SIGTERM. */
void relay_request_stop(void);

/* Run a WebSocket connection whose handshake has been answered.  early holds
 * client bytes read together with the request head (frames sent right after
 * it).  Returns when the connection is over; the handler has then been
 * finished and reaped, and the client stream closed. */
void relay_websocket(struct stream *client, const uint8_t *early, size_t early_len,
                     struct handler *h, const struct options *o,
                     struct relay_result *res);

#endif
