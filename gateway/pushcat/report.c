#include "pushcat/report.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int verbosity;

void pc_report_init(int verbose)
{
    verbosity = verbose;
}

int pc_verbose(void)
{
    return verbosity;
}

static void emit(const char *prefix, const char *fmt, va_list ap)
{
    char line[2048];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0)
        return;
    /* One fprintf per line so that lines from a --exec program's stderr
     * (which shares ours through the log) do not cut into them. */
    fprintf(stderr, "%s%s\n", prefix, line);
    fflush(stderr);
}

void pc_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit("pushcat: ", fmt, ap);
    va_end(ap);
}

void pc_info(const char *fmt, ...)
{
    if (!verbosity)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit("* ", fmt, ap);
    va_end(ap);
}

static int secret_header(const char *line, size_t len)
{
    static const char *const names[] = { "Authorization:", "Proxy-Authorization:" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = strlen(names[i]);
        if (len >= n && strncasecmp(line, names[i], n) == 0)
            return (int)n;
    }
    return 0;
}

void pc_head(char dir, const char *head, size_t len)
{
    if (!verbosity)
        return;
    const char *p = head, *end = head + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        size_t shown = l;
        if (shown && p[shown - 1] == '\r')
            shown--;
        if (shown == 0)
            break;  /* the blank line that ends the head */
        int secret = secret_header(p, shown);
        if (secret)
            fprintf(stderr, "%c %.*s <hidden>\n", dir, secret, p);
        else
            fprintf(stderr, "%c %.*s\n", dir, (int)shown, p);
        p += l + 1;
    }
    fflush(stderr);
}
