/* ws_hixie.h - the pre-RFC WebSocket drafts hixie-75 and hixie-76 (server
 * side), sans-I/O: handshake, frame parser and encoder.
 *
 * Old Safari, iOS < 6 and Flash/Java polyfills still speak these.  Only text
 * messages exist; the drafts have no ping, no close codes, no fragmentation.
 *
 * Handshake.  A hixie request is an upgrade request without
 * Sec-WebSocket-Version.  hixie-76 adds Sec-WebSocket-Key1/Key2 and 8 bytes
 * of request body (key3, with no Content-Length announcing them).  Proxies
 * may hold those 8 bytes back until they see the 101 response, so the
 * header block is built without key3 and written at once, and the 16-byte
 * challenge answer follows it when key3 has arrived:
 *
 *     if (ws_hixie_handshake(env, &cfg, ws_hixie_scheme(env), &hs) != 101) fail;
 *     write "HTTP/1.1 101 " ws_hixie_status_text(101, hs.version) + headers + "\r\n";
 *     if (hs.version == 76) {
 *         ...read exactly 8 bytes (key3); bytes after them are frames...
 *         ws_hixie_challenge(env, key3, answer);  write answer (16 bytes);
 *     }
 *
 * Messages the handler prints before the challenge is written must be held
 * back: the client treats the 16 bytes as part of the handshake.
 *
 * Framing.  A text frame is 0x00, UTF-8, 0xFF.  A type byte with the high bit
 * set starts a length-prefixed frame (length in 7-bit groups, high bit =
 * more), which no browser sends and which is skipped; 0xFF 0x00 is the
 * hixie-76 closing frame.  Other type bytes without the high bit delimit a
 * frame by 0xFF like text, and are skipped too, as the drafts say.
 *
 * The parser is the same pull parser as ws_frame.h and reports the same
 * struct ws_event, so the relay handles both protocols with one loop:
 * MESSAGE_START (opcode WS_OP_TEXT), DATA (pointing into the caller's
 * buffer), MESSAGE_END, CLOSE (code 1005: the drafts carry no code) and
 * ERROR (code 1007 bad UTF-8, 1009 too big, 1002 otherwise).  After CLOSE
 * the rest of the input is ignored; after ERROR every call returns ERROR.
 */
#ifndef PUSHPIPE_WS_HIXIE_H
#define PUSHPIPE_WS_HIXIE_H

#include <stddef.h>
#include <stdint.h>

#include "request_env.h"
#include "ws_frame.h"
#include "ws_handshake.h"

#define WS_HIXIE_KEY3_LEN 8
#define WS_HIXIE_CHALLENGE_LEN 16

/* Frame delimiters, for writing a text frame piecewise:
 * WS_HIXIE_TEXT_START, payload (valid UTF-8, never contains 0xFF),
 * WS_HIXIE_TEXT_END. */
#define WS_HIXIE_TEXT_START 0x00
#define WS_HIXIE_TEXT_END 0xFF

/* 1 if the request is a WebSocket upgrade in one of the hixie drafts: an
 * Upgrade header with the token "websocket" and no Sec-WebSocket-Version. */
int ws_hixie_is_request(const struct request_env *env);

/* 1 if it is hixie-76 (both Sec-WebSocket-Key1 and Key2 present): the
 * caller must then read 8 bytes of key3 after the request head. */
int ws_hixie_is_76(const struct request_env *env);

/* "wss" when the client reached us over TLS (HTTPS=on or 1,
 * REQUEST_SCHEME=https, or X-Forwarded-Proto: https from a proxy), else
 * "ws".  Only used to build the Location header, which the client compares
 * with the URL it opened. */
const char *ws_hixie_scheme(const struct request_env *env);

/* Validate the request and fill hs: version 76 or 75, the subprotocol (the
 * first name in the client's list that is one of cfg->protocols, or "" -
 * the drafts let the server omit it), and the header lines (Upgrade and Connection first, in
 * that order, because hixie-75 clients compare the first 85 bytes of the
 * response literally).  scheme is "ws" or "wss" (NULL: ws_hixie_scheme's
 * guess).  Returns hs->status: 101,
 * or 400 (bad keys, missing Host, unsafe header values, response too long)
 * or 405 (not GET) with hs->error set. */
int ws_hixie_handshake(const struct request_env *env,
                       const struct ws_server_config *cfg,
                       const char *scheme, struct ws_handshake *hs);

/* hixie-76 challenge answer: MD5(key1 number / spaces1 as big-endian u32,
 * same for key2, key3).  Returns 0, or -1 if the keys are invalid (cannot
 * happen after ws_hixie_handshake returned 101 for the same env). */
int ws_hixie_challenge(const struct request_env *env,
                       const uint8_t key3[WS_HIXIE_KEY3_LEN],
                       uint8_t out[WS_HIXIE_CHALLENGE_LEN]);

/* Reason phrase of the status line.  For 101 it depends on the version:
 * hixie-75 clients require "Web Socket Protocol Handshake" exactly, hixie-76
 * ones only look at the code and expect "WebSocket Protocol Handshake". */
const char *ws_hixie_status_text(int status, int version);

struct ws_hixie_parser {
    /* configuration */
    int version;            /* 75 or 76: 0xFF 0x00 closes only in 76 */
    uint64_t max_message;   /* 0 = unlimited; also bounds skipped frames */
    /* state */
    int state;
    uint8_t frame_type;
    uint64_t length;        /* length-prefixed frame: length read so far */
    unsigned length_bytes;  /* length bytes read, to stop overflow */
    uint64_t remaining;     /* bytes of a length-prefixed frame to skip */
    uint64_t msg_len;       /* text bytes of the current message */
    uint32_t utf8_state;
    int utf8_partial;       /* the text so far ends inside a character */
    unsigned fail_code;
    const char *fail_error;
};

void ws_hixie_parser_init(struct ws_hixie_parser *p, int version,
                          uint64_t max_message);

/* Consume bytes from in until one event is ready (or all input is used).
 * Returns how many bytes were consumed; *ev tells what happened (WS_EV_NONE
 * when more input is needed).  in is not modified; it is non-const only
 * because ws_event.data is. */
size_t ws_hixie_parser_feed(struct ws_hixie_parser *p, uint8_t *in, size_t len,
                            struct ws_event *ev);

/* Encode a whole text message as one frame into out[0..cap).  Returns the
 * frame length (len + 2), or 0 if it does not fit or payload is not valid
 * UTF-8 (which the drafts cannot carry: binary messages must be dropped or
 * the connection closed by the caller). */
size_t ws_hixie_text_frame(uint8_t *out, size_t cap,
                           const uint8_t *payload, size_t len);

/* The closing frame to send: 0xFF 0x00 for hixie-76 (returns 2), nothing for
 * hixie-75, which closes by closing the connection (returns 0). */
size_t ws_hixie_close_frame(int version, uint8_t out[2]);

#endif
