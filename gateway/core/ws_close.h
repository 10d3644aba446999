/* ws_close.h - WebSocket close codes and close frame payloads (RFC 6455
 * section 7.4). */
#ifndef PUSHPIPE_WS_CLOSE_H
#define PUSHPIPE_WS_CLOSE_H

#include <stddef.h>
#include <stdint.h>

enum {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL = 1002,
    WS_CLOSE_UNSUPPORTED = 1003,
    WS_CLOSE_NO_STATUS = 1005,      /* never sent: "no code in the close" */
    WS_CLOSE_ABNORMAL = 1006,       /* never sent: "no close frame at all" */
    WS_CLOSE_INVALID_DATA = 1007,
    WS_CLOSE_POLICY = 1008,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_EXTENSION = 1010,
    WS_CLOSE_INTERNAL = 1011,
    WS_CLOSE_TRY_AGAIN = 1013
};

/* 1 if a peer may send this code in a close frame: 1000-1003, 1007-1011,
 * 1012-1014 (registered later by IANA), 3000-4999. */
int ws_close_code_valid(unsigned code);

/* Parse a received close payload.  Returns 0 and sets *code (1005 when the
 * payload is empty), *reason and *reason_len; returns -1 for a payload that
 * is invalid (1 byte, a code that may not be sent, a reason that is not
 * UTF-8): the connection must then be failed with 1002 (or 1007 for bad
 * UTF-8, returned in *code). */
int ws_close_parse(const uint8_t *payload, size_t len, unsigned *code,
                   const uint8_t **reason, size_t *reason_len);

/* Build a close payload (at most 125 bytes: the reason is cut at a UTF-8
 * boundary to fit).  code 0 or 1005 produces an empty payload.  Returns the
 * length written to out. */
size_t ws_close_build(uint8_t out[125], unsigned code, const char *reason,
                      size_t reason_len);

#endif
