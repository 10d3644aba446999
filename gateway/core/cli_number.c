#include "core/cli_number.h"

#include <errno.h>
#include <stdlib.h>

int cli_parse_size(const char *s, uint64_t *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    uint64_t mul = 1;
    if (*end == 'K' || *end == 'k')
        mul = 1024, end++;
    else if (*end == 'M' || *end == 'm')
        mul = 1024 * 1024, end++;
    else if (*end == 'G' || *end == 'g')
        mul = 1024ull * 1024 * 1024, end++;
    if (*end != '\0' || (v && mul > UINT64_MAX / v))
        return -1;
    *out = v * mul;
    return 0;
}

int cli_parse_uint(const char *s, unsigned max, unsigned *out)
{
    uint64_t v;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    if (cli_parse_size(s, &v) < 0 || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}
