/* transport_cgi.c - one request as a CGI program (see transport_cgi.h). */
#include "pushpipe/transport_cgi.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/cgi_env.h"
#include "core/ws_handshake.h"
#include "io/fd_stream.h"
#include "pushpipe/log.h"
#include "pushpipe/relay.h"
#include "pushpipe/request.h"
#include "pushpipe/sse_relay.h"

extern char **environ;

#define ENV_ARENA (64 * 1024)
/* A CGI script of options is a few lines; anything larger is a mistake
 * (pointing --cgi-script at the wrong file). */
#define SCRIPT_MAX (64 * 1024)
#define SCRIPT_ARGS_MAX 256
/* After a WebSocket request, how long to look for stdin's EOF that shows
 * the server will not tunnel (Apache closes it right after the body). */
#define TUNNEL_PROBE_MS 50
#define EARLY_MAX (16 * 1024)

int cgi_detected(void)
{
    return getenv("GATEWAY_INTERFACE") != NULL;
}

void cgi_fail(const char *message)
{
    char buf[1024];
    int n = snprintf(buf, sizeof buf,
                     "Status: 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "\r\npushpipe: %s\n", message);
    if (n > 0) {
        size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
        ssize_t w = write(1, buf, len);
        (void)w;
    }
}

/* ---- options from a script ---------------------------------------------- */

/* Split one line into words, in place: whitespace separates, '...' quotes
 * literally, "..." quotes with \" and \\ escapes.  Returns the number of
 * words added, or -1 (unterminated quote, too many words). */
static int split_line(char *line, char **words, int *nwords, int max)
{
    char *p = line, *out;
    int added = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r')
            p++;
        if (!*p)
            return added;
        if (*nwords == max)
            return -1;
        words[(*nwords)++] = out = p;
        added++;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r') {
            if (*p == '\'') {
                char *end = strchr(p + 1, '\'');
                if (!end)
                    return -1;
                size_t n = (size_t)(end - p - 1);
                memmove(out, p + 1, n);
                out += n;
                p = end + 1;
            } else if (*p == '"') {
                p++;
                while (*p && *p != '"') {
                    if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                        p++;
                    *out++ = *p++;
                }
                if (*p != '"')
                    return -1;
                p++;
            } else {
                *out++ = *p++;
            }
        }
        if (*p)
            p++;
        *out = '\0';
    }
}

static char *read_script(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(SCRIPT_MAX + 1);
    size_t have = 0;
    ssize_t n = 0;
    while (buf && have < SCRIPT_MAX + 1 && (n = read(fd, buf + have, SCRIPT_MAX + 1 - have)) > 0)
        have += (size_t)n;
    close(fd);
    if (!buf || n < 0 || have > SCRIPT_MAX) {
        snprintf(err, errlen, "cannot read %s: %s", path,
                 !buf ? "out of memory" : n < 0 ? strerror(errno) : "larger than 64K");
        free(buf);
        return NULL;
    }
    buf[have] = '\0';
    if (memchr(buf, '\0', have)) {
        snprintf(err, errlen, "%s is not a text file", path);
        free(buf);
        return NULL;
    }
    return buf;
}

int cgi_script_args(int argc, char **argv, int *nargc, char ***nargv, char *err, size_t errlen)
{
    static const char opt[] = "--cgi-script";
    if (argc < 2 || strncmp(argv[1], opt, sizeof opt - 1) != 0)
        return 0;
    char *rest = argv[1] + sizeof opt - 1;
    const char *file;
    char **words = calloc(SCRIPT_ARGS_MAX + 2, sizeof *words);
    int n = 0;
    if (!words) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    words[n++] = argv[0];
    if (*rest == '=') {
        file = rest + 1;
    } else if (*rest == '\0' || *rest == ' ' || *rest == '\t') {
        /* "#!/usr/bin/pushpipe --cgi-script --sse raw" arrives as one word. */
        if (split_line(rest, words, &n, SCRIPT_ARGS_MAX) < 0) {
            snprintf(err, errlen, "--cgi-script: bad quoting or too many words on the #! line");
            return -1;
        }
        if (argc < 3) {
            snprintf(err, errlen, "--cgi-script needs the script file");
            return -1;
        }
        file = argv[2];
    } else {
        return 0;   /* some other option that starts with the same letters */
    }
    if (!*file) {
        snprintf(err, errlen, "--cgi-script needs the script file");
        return -1;
    }
    char *text = read_script(file, err, errlen);
    if (!text)
        return -1;
    char *save = NULL;
    int lineno = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (line[0] == '#' && line[1] == '!')
            continue;
        const char *q = line + strspn(line, " \t\r");
        if (*q == '#' || *q == '\0')
            continue;
        if (split_line(line, words, &n, SCRIPT_ARGS_MAX) < 0) {
            snprintf(err, errlen, "%s line %d: bad quoting or too many words", file, lineno);
            return -1;
        }
    }
    words[n] = NULL;
    /* Relative handler paths name files next to the script, wherever the
     * web server started us. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", file);
    char *slash = strrchr(dir, '/');
    if (slash) {
        if (slash == dir)
            slash[1] = '\0';
        else
            *slash = '\0';
        if (chdir(dir) < 0) {
            snprintf(err, errlen, "cannot change into %s: %s", dir, strerror(errno));
            return -1;
        }
    }
    *nargc = n;
    *nargv = words;
    return 1;
}

/* ---- serving -------------------------------------------------------------- */

static void on_term(int sig)
{
    (void)sig;
    relay_request_stop();
    sse_relay_request_stop();
}

/* A WebSocket request through CGI only works where the server keeps stdin
 * open as the client's side of a tunnel.  Returns 1 if stdin reached EOF
 * (no tunnel), 0 otherwise; client bytes that already arrived go to early. */
static int stdin_closed(uint8_t *early, size_t cap, size_t *early_len)
{
    struct pollfd p = { .fd = 0, .events = POLLIN };
    if (poll(&p, 1, TUNNEL_PROBE_MS) <= 0)
        return 0;
    ssize_t n = read(0, early, cap);
    if (n > 0) {
        *early_len = (size_t)n;
        return 0;
    }
    return n == 0 || (errno != EAGAIN && errno != EINTR);
}

int cgi_run(const struct options *o)
{
    struct request r;
    struct stream s;
    request_init(&r, o, (unsigned long)getpid(), TRANSPORT_CGI, &s);
    char tag[32];
    snprintf(tag, sizeof tag, "#%lu", r.id);
    log_set_tag(tag);

    /* lighttpd signals a client that went away with SIGTERM.  Without
     * SA_RESTART it interrupts the relay's poll, which then closes the
     * connection and finishes the handler like any disconnect. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGHUP, SIG_IGN);

    if (fcntl(0, F_GETFL) < 0 || fcntl(1, F_GETFL) < 0) {
        log_msg(LOG_ERROR, "CGI without stdin or stdout");
        return 1;
    }
    if (request_env_init(&r.env, ENV_ARENA) < 0) {
        cgi_fail("out of memory");
        return 1;
    }
    uint8_t early[EARLY_MAX];
    size_t early_len = 0;
    int env_ok = cgi_env_from_vars(&r.env, environ) == 0;
    if (fd_stream_init(&s, 0, 1) < 0) {
        log_msg(LOG_ERROR, "stdin/stdout: %s", strerror(errno));
        request_env_free(&r.env);
        return 1;
    }
    if (!env_ok) {
        request_reply(&r, 431, NULL, "Request too large\n");
    } else if (ws_is_upgrade_request(&r.env) && stdin_closed(early, sizeof early, &early_len)) {
        log_msg(LOG_INFO, "WebSocket upgrade through CGI without a tunnel: 501");
        request_reply(&r, 501, NULL,
                      "This web server does not hand WebSocket connections to CGI programs "
                      "(lighttpd does with cgi.upgrade = \"enable\"); see the README\n");
    } else {
        r.early = early;
        r.early_len = early_len;
        request_dispatch(&r);
    }
    if (!r.stream_closed) {
        s.ops->shutdown_write(&s);
        s.ops->close(&s);
    }
    request_env_free(&r.env);
    return 0;
}
