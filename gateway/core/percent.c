#include "percent.h"

int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long pct_decode(const char *src, size_t n, char *dst, size_t cap, unsigned flags)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '%') {
            if (n - i < 3)
                return -1;
            int hi = hex_value((unsigned char)src[i + 1]);
            int lo = hex_value((unsigned char)src[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && (flags & PCT_PLUS_IS_SPACE)) {
            c = ' ';
        }
        if ((flags & PCT_NO_CONTROLS) && (c < 0x20 || c == 0x7f))
            return -1;
        if (o == cap)
            return -1;
        dst[o++] = (char)c;
    }
    return (long)o;
}
