#include "pushpipe/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Process-wide logging state: this is the only module allowed globals,
 * because a log is a property of the process. */
static int log_fd = 2;
static int log_lvl = LOG_INFO;
static char log_path[4096];
static char log_tag[64];
/* An event-loop worker switches connections per event: a number is cheap
 * to set and only formatted when a line is written. */
static unsigned long log_conn;
static const char *log_prog = "pushpipe";
static int handler_raw;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int log_open(const char *path, int level)
{
    log_lvl = level;
    if (!path) {
        log_fd = 2;
        log_path[0] = '\0';
        return 0;
    }
    if (strlen(path) >= sizeof log_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    strcpy(log_path, path);
    log_fd = fd;
    return 0;
}

int log_reopen(void)
{
    if (!log_path[0])
        return 0;
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    int old = log_fd;
    log_fd = fd;
    if (old > 2)
        close(old);
    return 0;
}

void log_set_program(const char *name)
{
    log_prog = name;
}

void log_set_tag(const char *tag)
{
    snprintf(log_tag, sizeof log_tag, "%s", tag ? tag : "");
    log_conn = 0;
}

void log_set_conn(unsigned long id)
{
    log_conn = id;
}

int log_level_from_name(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

int log_enabled(int level)
{
    return level <= log_lvl;
}

static void log_write(int level, const char *msg, size_t msglen)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char conn_tag[24];
    const char *tag = log_tag;
    if (log_conn) {
        snprintf(conn_tag, sizeof conn_tag, "#%lu", log_conn);
        tag = conn_tag;
    }
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld] %s%s%s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, log_prog, (long)getpid(),
                     tag, tag[0] ? " " : "", level_names[level]);
    if (n < 0)
        return;
    size_t room = sizeof line - (size_t)n - 1;
    if (msglen > room)
        msglen = room;
    memcpy(line + n, msg, msglen);
    n += (int)msglen;
    line[n++] = '\n';
    /* One write per line keeps lines whole; a failing log has nowhere to
     * report to, so the result is deliberately ignored. */
    ssize_t w = write(log_fd, line, (size_t)n);
    (void)w;
}

void log_msg(int level, const char *fmt, ...)
{
    if (level > log_lvl)
        return;
    char msg[1800];
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof msg)
        n = sizeof msg - 1;
    log_write(level, msg, (size_t)n);
    errno = saved;
}

void log_set_handler_raw(int raw)
{
    handler_raw = raw;
}

void log_handler_line(const char *line, unsigned long len)
{
    if (handler_raw) {
        char buf[1800];
        size_t n = len < sizeof buf - 1 ? (size_t)len : sizeof buf - 1;
        memcpy(buf, line, n);
        buf[n++] = '\n';
        ssize_t w = write(log_fd, buf, n);
        (void)w;    /* as in log_write: nowhere to report a failing log */
        return;
    }
    if (LOG_WARN > log_lvl)
        return;
    char msg[1800];
    int n = snprintf(msg, sizeof msg, "handler: %.*s", (int)(len > 1700 ? 1700 : len), line);
    if (n > 0)
        log_write(LOG_WARN, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
}
