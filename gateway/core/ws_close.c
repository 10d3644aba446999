/* ws_close.c - close codes and close frame payloads (RFC 6455 7.4). */
#include "ws_close.h"

#include <string.h>

#include "utf8.h"

/* A control frame payload is at most 125 bytes; the code takes 2. */
#define CLOSE_MAX 125
#define REASON_MAX (CLOSE_MAX - 2)

int ws_close_code_valid(unsigned code)
{
    /* 1004 is reserved, 1005/1006/1015 are "never on the wire" markers,
     * 1016-2999 are unassigned protocol codes, 3000-4999 belong to
     * libraries and applications (RFC 6455 7.4.2 and the IANA registry). */
    return (code >= 1000 && code <= 1003) ||
           (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

int ws_close_parse(const uint8_t *payload, size_t len, unsigned *code,
                   const uint8_t **reason, size_t *reason_len)
{
    *reason = NULL;
    *reason_len = 0;
    if (len == 0) {
        *code = WS_CLOSE_NO_STATUS;
        return 0;
    }
    /* Longer than a control frame may be: only reachable by a caller that
     * did not get the payload from the frame parser; refuse it the same. */
    if (len == 1 || len > CLOSE_MAX) {
        *code = WS_CLOSE_PROTOCOL;
        return -1;
    }
    unsigned c = (unsigned)payload[0] << 8 | payload[1];
    if (!ws_close_code_valid(c)) {
        *code = WS_CLOSE_PROTOCOL;
        return -1;
    }
    if (!utf8_valid(payload + 2, len - 2)) {
        *code = WS_CLOSE_INVALID_DATA;
        return -1;
    }
    *code = c;
    *reason = payload + 2;
    *reason_len = len - 2;
    return 0;
}

size_t ws_close_build(uint8_t out[125], unsigned code, const char *reason,
                      size_t reason_len)
{
    if (code == 0 || code == WS_CLOSE_NO_STATUS)
        return 0;
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;
    if (reason == NULL)
        reason_len = 0;
    if (reason_len > REASON_MAX) {
        /* Step back over continuation bytes so the cut never splits a
         * character: the peer would fail the connection with 1007. */
        reason_len = REASON_MAX;
        while (reason_len > 0 && ((uint8_t)reason[reason_len] & 0xC0) == 0x80)
            reason_len--;
    }
    if (reason_len)
        memcpy(out + 2, reason, reason_len);
    return 2 + reason_len;
}
