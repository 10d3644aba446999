/* fcgi_stream.h - a non-blocking stream over one FastCGI request.
 *
 * libfcgi's own streams block and buffer (FCGX_PutStr holds output until
 * 8 KiB or FCGX_FFlush), which a relay cannot use.  So once libfcgi has
 * accepted the connection and read BEGIN_REQUEST and PARAMS, this stream
 * takes over the connection (and whatever libfcgi had already read ahead)
 * and speaks the record layer itself, with core/fcgi_record:
 *
 *   read   delivers the content of FCGI_STDIN records for our request id.
 *          The empty FCGI_STDIN record (end of the request body) reads as
 *          0 once; after that a read fails with ECONNRESET when the web
 *          server aborts the request (FCGI_ABORT_REQUEST) or closes the
 *          connection, and with EAGAIN otherwise.  A connection that closes
 *          before the body ended also reads 0 first.  Records of other ids
 *          and management records are skipped (we never multiplex).
 *   write  wraps the bytes in FCGI_STDOUT records and writes them at once:
 *          nothing is held back, so every event reaches the web server the
 *          moment it is written.  Like a socket it may accept only part;
 *          the caller offers the rest again later (a record whose header
 *          is on the wire continues with those bytes).
 *   shutdown_write  ends the response: empty FCGI_STDOUT, FCGI_END_REQUEST.
 *   close  sends FCGI_END_REQUEST if not yet done (also after an abort,
 *          as the specification asks), waits briefly for the web server to
 *          close so unread input cannot turn our close into a reset, and
 *          closes the connection (also with FCGI_KEEP_CONN: one connection
 *          serves one request).
 */
#ifndef PUSHPIPE_FCGI_STREAM_H
#define PUSHPIPE_FCGI_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "io/stream.h"

/* Take over connection fd for request_id.  read_ahead holds raw record bytes
 * already read from fd (libfcgi's buffer); STDIN content among them is
 * copied to early (early_cap must be >= read_ahead_len) with its length in
 * *early_len.  fd is made non-blocking and close-on-exec.  Returns 0, or -1
 * when memory is short. */
int fcgi_stream_init(struct stream *s, int fd, unsigned request_id,
                     const uint8_t *read_ahead, size_t read_ahead_len,
                     uint8_t *early, size_t early_cap, size_t *early_len);

/* 1 once the end of the request body (empty FCGI_STDIN) has been seen. */
int fcgi_stream_input_ended(const struct stream *s);

/* 1 once the web server aborted the request or closed the connection. */
int fcgi_stream_peer_gone(const struct stream *s);

/* End the request with FCGI_END_REQUEST carrying these statuses (after an
 * empty FCGI_STDOUT); waits up to timeout_ms for the socket.  Returns 0, or
 * -1 when it cannot be sent (connection gone, or a record is half-written
 * because the caller stopped offering its bytes). */
int fcgi_stream_end_request(struct stream *s, uint32_t app_status, int protocol_status,
                            int timeout_ms);

#endif
