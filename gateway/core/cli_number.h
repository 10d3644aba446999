/* cli_number.h - numbers as users type them on a command line: sizes with
 * binary suffixes ("64M") and plain bounded counts, shared by pushpipe's
 * and pushcat's option parsers. */
#ifndef PUSHPIPE_CLI_NUMBER_H
#define PUSHPIPE_CLI_NUMBER_H

#include <stdint.h>

/* Decimal digits with an optional K, M or G suffix (powers of 1024).
 * Returns 0, or -1 for anything else or an overflow. */
int cli_parse_size(const char *s, uint64_t *out);

/* Decimal digits only, at most max.  Returns 0 or -1. */
int cli_parse_uint(const char *s, unsigned max, unsigned *out);

#endif
