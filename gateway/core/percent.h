/* percent.h - percent-decoding (RFC 3986 2.1), shared by the request path
 * (SCRIPT_NAME), EventSource's lastEventId query parameter and proxy
 * credentials in URLs, each with its own policy flags. */
#ifndef PUSHPIPE_PERCENT_H
#define PUSHPIPE_PERCENT_H

#include <stddef.h>

/* The value of a hexadecimal digit (either case), -1 for anything else. */
int hex_value(unsigned char c);

enum {
    PCT_PLUS_IS_SPACE = 1,  /* '+' decodes to a space (HTML form encoding) */
    PCT_NO_CONTROLS = 2,    /* refuse control characters, literal or decoded */
};

/* Decode src[0..n) into dst (room for cap bytes; decoding only shrinks, so
 * cap >= n always suffices; nothing is terminated).  Returns the decoded
 * length, or -1 for a malformed escape, %00 (it would cut the value short
 * for every C consumer), a refused character or output longer than cap. */
long pct_decode(const char *src, size_t n, char *dst, size_t cap, unsigned flags);

#endif
