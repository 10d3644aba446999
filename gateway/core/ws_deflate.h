/* ws_deflate.h - permessage-deflate (RFC 7692), sans-I/O: negotiation of the
 * extension in the opening handshake (server and client side) and the
 * per-connection compression context.
 *
 * Negotiation.  The server takes the first permessage-deflate offer in the
 * client's Sec-WebSocket-Extensions that it can honour; an offer with an
 * unknown or repeated parameter or an invalid value is declined and the
 * next one tried, as RFC 7692 section 5 says.  Nothing acceptable means no
 * extension, never a failed handshake.
 *
 * Window bits.  zlib cannot make a raw deflate stream with an 8-bit window
 * (since 1.2.9 it quietly uses 9), so an offer that limits our compressor to
 * 8 (server_max_window_bits=8) is declined, and a client refuses a response
 * that limits its compressor to 8.  Inflating always uses a 15-bit window,
 * which reads streams made with any smaller one.
 *
 * Compression.  One struct ws_deflate per connection holds a compressor for
 * our messages and a decompressor for the peer's; zlib's state is allocated
 * on first use, so connections that never compress pay nothing (about
 * 256 KiB for the compressor, 40 KiB for the decompressor otherwise).
 * Outgoing messages are compressed whole into a caller buffer.  Incoming
 * messages are inflated piecewise as their frames arrive, into a caller
 * buffer, with a hard limit on the inflated size of one message checked
 * while inflating: a deflate bomb fails after at most limit + 1 bytes of
 * output, in the caller's buffer, whatever it would expand to.
 *
 *     on MESSAGE_START with ev.compressed: remember it
 *     on DATA:        off = 0;
 *                     do {
 *                         rc = ws_deflate_decompress(&d, ev.data + off, ev.len - off, 0,
 *                                                    &used, buf, sizeof buf, &n);
 *                         if (rc < 0) fail with ws_deflate_close_code(rc);
 *                         off += used;  deliver buf[0..n);
 *                     } while (rc == WS_DEFLATE_MORE || off < ev.len);
 *     on MESSAGE_END: the same loop with NULL, 0, fin = 1
 *
 * The inflated output of a text message must then be UTF-8 validated by the
 * caller (ws_frame does not see it).
 */
#ifndef PUSHPIPE_WS_DEFLATE_H
#define PUSHPIPE_WS_DEFLATE_H

#include <stddef.h>
#include <stdint.h>

#include <zlib.h>

#include "ws_frame.h"

/* Room for the longest Sec-WebSocket-Extensions value we produce (all four
 * parameters, with values) and its NUL. */
#define WS_DEFLATE_HEADER_MAX 160

/* Messages shorter than this are not worth compressing: deflate's own
 * overhead (about 5 bytes plus the Huffman block header) eats most of what
 * a short message could save, and each call costs CPU. */
#define WS_DEFLATE_THRESHOLD 64

enum ws_deflate_result {
    WS_DEFLATE_OK = 0,
    WS_DEFLATE_MORE = 1,            /* decompress: out is full, call again */
    WS_DEFLATE_E_TOO_BIG = -1,      /* inflated message over the limit: close 1009 */
    WS_DEFLATE_E_DATA = -2,         /* corrupt compressed data: close 1007 */
    WS_DEFLATE_E_SPACE = -3,        /* compress: result does not fit; send uncompressed */
    WS_DEFLATE_E_MEMORY = -4        /* zlib could not allocate its state: close 1011 */
};

/* What this endpoint wants; the same struct serves server and client. */
struct ws_deflate_config {
    int enabled;
    /* Start our compressor afresh with every message (server_no_context_
     * takeover for a server, client_no_context_takeover for a client): worse
     * compression, but no message can be guessed from how well a later one
     * compresses (CRIME-style). */
    int no_context_takeover;
};

/* The agreed parameters (RFC 7692 section 7.1). */
struct ws_deflate_params {
    int server_no_context_takeover;
    int client_no_context_takeover;
    int server_max_window_bits;     /* window of the server's compressor, 8..15 */
    int client_max_window_bits;     /* window of the client's compressor, 8..15 */
};

/* Server side.  offers is the Sec-WebSocket-Extensions request header (NULL
 * if absent).  Returns 1 and fills params and response (the value of the
 * Sec-WebSocket-Extensions response header) when an offer was accepted; 0
 * when the extension is disabled or no offer is acceptable; -1 when the
 * header does not parse (RFC 6455 grammar), which the caller may answer with
 * 400 or, more leniently, treat as 0. */
int ws_deflate_negotiate(const char *offers, const struct ws_deflate_config *cfg,
                         struct ws_deflate_params *params,
                         char response[WS_DEFLATE_HEADER_MAX]);

/* Client side: the Sec-WebSocket-Extensions value to send.  Returns its
 * length (0 and "" when disabled). */
size_t ws_deflate_client_offer(const struct ws_deflate_config *cfg,
                               char out[WS_DEFLATE_HEADER_MAX]);

/* Client side: check the server's Sec-WebSocket-Extensions (NULL if absent)
 * against the offer made with cfg.  Returns 1 with params filled when the
 * server accepted permessage-deflate, 0 when it did not use any extension,
 * -1 when the response is not one we can accept (another extension, more
 * than one, unknown or repeated parameters, a window of 8 for us): the
 * client must then fail the connection (RFC 6455 section 4.1). */
int ws_deflate_client_accept(const char *response, const struct ws_deflate_config *cfg,
                             struct ws_deflate_params *params);

struct ws_deflate {
    z_stream def;           /* our messages; valid when def_ready */
    z_stream inf;           /* the peer's messages; valid when inf_ready */
    int def_ready, inf_ready;
    int def_window_bits;    /* 9..15 */
    int def_reset;          /* our no_context_takeover */
    int inf_reset;          /* the peer's no_context_takeover */
    size_t threshold;
    size_t max_message;     /* bound on one inflated message, 0 = none */
    size_t inflated;        /* inflated bytes of the current message */
    unsigned tail_used;     /* bytes of the 00 00 FF FF tail fed so far */
    int inf_error;          /* after a decompress error every call repeats it */
};

/* Set up the context for role (which side of params is ours).  threshold:
 * messages shorter than this are sent uncompressed (WS_DEFLATE_THRESHOLD is
 * a sane default).  max_message: limit on one inflated message, 0 = none. */
void ws_deflate_init(struct ws_deflate *d, enum ws_role role,
                     const struct ws_deflate_params *params,
                     size_t threshold, size_t max_message);
void ws_deflate_free(struct ws_deflate *d);

/* 1 if a message of len bytes should be compressed. */
int ws_deflate_worth(const struct ws_deflate *d, size_t len);

/* Compress msg[0..len) as one message into out[0..cap): the payload of a
 * frame with RSV1 set, the 00 00 FF FF flush marker already removed.
 * Returns WS_DEFLATE_OK with *out_len set, or WS_DEFLATE_E_SPACE when the
 * result plus the 4-byte marker does not fit with a byte to spare (so with
 * cap = len compression is only used when it saves at least 5 bytes); the
 * compressor is then reset so the message can be sent uncompressed without
 * the two sides' contexts disagreeing.  WS_DEFLATE_E_MEMORY if zlib cannot
 * start. */
int ws_deflate_compress(struct ws_deflate *d, const uint8_t *msg, size_t len,
                        uint8_t *out, size_t cap, size_t *out_len);

/* Inflate the next piece in[0..len) of a compressed message into
 * out[0..cap).  fin = 1 marks the end of the message (with or without a
 * last piece of data), so the 00 00 FF FF tail is added.  Sets *used (input
 * consumed) and *produced (bytes written to out).  Returns:
 *   WS_DEFLATE_OK    all input consumed and all its output delivered (with
 *                    fin: the message is complete, the next call starts a
 *                    new one);
 *   WS_DEFLATE_MORE  out was filled: call again with in + *used (possibly
 *                    nothing left) and the same fin;
 *   WS_DEFLATE_E_TOO_BIG, E_DATA, E_MEMORY: fail the connection; the error
 *                    is sticky. */
int ws_deflate_decompress(struct ws_deflate *d, const uint8_t *in, size_t len,
                          int fin, size_t *used,
                          uint8_t *out, size_t cap, size_t *produced);

/* Close code for a negative result (0 for WS_DEFLATE_E_SPACE, which is not
 * a reason to close). */
unsigned ws_deflate_close_code(int result);

#endif
