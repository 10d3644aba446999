/* utf8.h - incremental UTF-8 validation (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), usable across arbitrary splits of the
 * input so text messages can be checked fragment by fragment and fail fast. */
#ifndef PUSHPIPE_UTF8_H
#define PUSHPIPE_UTF8_H

#include <stddef.h>
#include <stdint.h>

enum utf8_result {
    UTF8_OK = 0,        /* valid, and ends on a character boundary */
    UTF8_PARTIAL = 1,   /* valid so far, but ends inside a character */
    UTF8_INVALID = -1   /* invalid; the state is stuck at invalid */
};

/* state starts at 0 (UTF8_STATE_INIT) and carries over between calls. */
#define UTF8_STATE_INIT 0u

enum utf8_result utf8_feed(uint32_t *state, const uint8_t *p, size_t len);

/* Whole-buffer check: 1 valid, 0 not. */
int utf8_valid(const uint8_t *p, size_t len);

#endif
