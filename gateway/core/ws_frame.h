/* ws_frame.h - RFC 6455 framing, sans-I/O: an incremental parser (bytes in,
 * events out) and the frame encoder.
 *
 * The parser accepts its input split at any byte.  It is a pull parser:
 *
 *     size_t off = 0;
 *     for (;;) {
 *         struct ws_event ev;
 *         off += ws_parser_feed(&p, buf + off, len - off, &ev);
 *         if (ev.type == WS_EV_NONE) break;      // all input consumed
 *         ...handle ev...
 *         if (ev.type == WS_EV_ERROR) break;    // fail with ev.code
 *     }
 *
 * Call it until it returns WS_EV_NONE, even once all input is consumed:
 * the last DATA of a message (or an empty frame's MESSAGE_START) uses up
 * the input and MESSAGE_END follows on the next call, with len 0 if need be.
 * WS_EV_NONE always means every byte was consumed and nothing is pending.
 *
 * Text: a chunk that holds an invalid byte is not delivered; ERROR 1007
 * comes instead, before the rest of the message arrives (earlier chunks
 * were delivered).  A message ending inside a character fails the same way
 * at its last chunk.  After WS_EV_ERROR every call returns the same ERROR
 * and consumes nothing.  After WS_EV_CLOSE (its reason points into the
 * parser and stays valid) every call consumes all input and returns NONE:
 * nothing may follow a close frame.
 *
 * Message payload is delivered as WS_EV_DATA events that point into the
 * caller's buffer, unmasked in place (so the buffer must be writable).
 * Control frame payloads are collected in the parser (at most 125 bytes) and
 * delivered whole.  Text messages are UTF-8 validated as they arrive unless
 * they are compressed (then the inflater's output must be validated by the
 * caller).  The maximum message size is enforced from frame headers, before
 * the payload is read.
 */
#ifndef PUSHPIPE_WS_FRAME_H
#define PUSHPIPE_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA
};

enum ws_role {
    WS_ROLE_SERVER,     /* parse client frames: masking required */
    WS_ROLE_CLIENT      /* parse server frames: masking forbidden */
};

enum ws_event_type {
    WS_EV_NONE = 0,         /* input exhausted, need more bytes */
    WS_EV_MESSAGE_START,    /* opcode, compressed */
    WS_EV_DATA,             /* data, len: payload bytes of the current message */
    WS_EV_MESSAGE_END,      /* the current message is complete */
    WS_EV_PING,             /* data, len: ping payload (answer with a pong) */
    WS_EV_PONG,             /* data, len */
    WS_EV_CLOSE,            /* code (1005 if none), data/len = reason */
    WS_EV_ERROR             /* code: close code to fail the connection with */
};

struct ws_event {
    enum ws_event_type type;
    int opcode;             /* MESSAGE_START: WS_OP_TEXT or WS_OP_BINARY */
    int compressed;         /* MESSAGE_START: RSV1 was set (permessage-deflate) */
    uint8_t *data;
    size_t len;
    unsigned code;          /* CLOSE: received code; ERROR: code to send */
    const char *error;      /* ERROR: static description for the log */
};

struct ws_parser {
    /* configuration */
    enum ws_role role;
    uint64_t max_message;   /* 0 = unlimited */
    int allow_rsv1;         /* permessage-deflate negotiated */
    /* frame header being read */
    int state;
    uint8_t hdr[14];
    size_t hdr_have, hdr_need;
    /* current frame */
    int fin, rsv1, opcode;
    uint64_t remaining;     /* payload bytes left in the current frame */
    uint8_t mask[4];
    int masked;
    size_t mask_pos;
    /* current (possibly fragmented) data message */
    int in_message;         /* a data message has started and not finished */
    int msg_opcode;
    int msg_compressed;
    uint64_t msg_len;       /* payload bytes received so far */
    uint32_t utf8_state;
    int pending_end;        /* MESSAGE_END still to be emitted */
    /* control frame being collected */
    uint8_t ctl[125];
    size_t ctl_len;
    int failed;             /* after WS_EV_ERROR every call returns ERROR */
    unsigned fail_code;
    const char *fail_error;
};

void ws_parser_init(struct ws_parser *p, enum ws_role role, uint64_t max_message);

/* Consume bytes from in until one event is ready (or all input is used).
 * Returns how many bytes were consumed; *ev tells what happened. */
size_t ws_parser_feed(struct ws_parser *p, uint8_t *in, size_t len,
                      struct ws_event *ev);

/* Encode a frame header into out (at most 14 bytes); returns its length.
 * mask_key NULL means unmasked (server to client). */
size_t ws_frame_header(uint8_t out[14], int fin, int rsv1, int opcode,
                       uint64_t payload_len, const uint8_t *mask_key);

/* XOR data with the masking key, starting at key position `pos` (0..3);
 * returns the key position after the data. */
size_t ws_mask_bytes(uint8_t *data, size_t len, const uint8_t key[4], size_t pos);

#endif
