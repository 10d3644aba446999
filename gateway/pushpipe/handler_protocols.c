#include "pushpipe/handler_protocols.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pushpipe/log.h"
#include "pushpipe/route.h"

#define SUFFIX ".protocols"

/* RFC 6455 4.1: a subprotocol name is an RFC 7230 token; anything else
 * could not be offered by a client nor echoed in a header. */
static int is_token(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("!#$%&'*+-.^_`|~", c) != NULL))
            return 0;
    }
    return 1;
}

/* Read path into hp->text; -1 when it is too long or unreadable. */
static int read_text(struct handler_protocols *hp, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, hp->text + len, sizeof hp->text - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            close(fd);
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == sizeof hp->text) {
            /* One byte over the bound: truncating could cut a name in two. */
            close(fd);
            errno = EFBIG;
            return -1;
        }
    }
    close(fd);
    hp->text[len] = '\0';
    return 0;
}

/* Cut hp->text into names in place. */
static void parse(struct handler_protocols *hp, const char *path)
{
    char *save = NULL;
    size_t n = 0;
    for (char *line = strtok_r(hp->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        while (*line == ' ' || *line == '\t')
            line++;
        char *end = line + strlen(line);
        while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
            *--end = '\0';
        if (*line == '\0' || *line == '#')
            continue;
        if (!is_token(line) || strlen(line) >= sizeof ((struct ws_handshake *)0)->protocol) {
            log_msg(LOG_WARN, "%s: '%.64s' is not a subprotocol name; skipped", path, line);
            continue;
        }
        if (n == OPT_LIST_MAX) {
            log_msg(LOG_WARN, "%s: more than %d subprotocols; the rest are ignored", path,
                    OPT_LIST_MAX);
            break;
        }
        hp->names[n++] = line;
    }
    hp->cfg.protocols = hp->names;
    hp->cfg.nprotocols = n;
}

void handler_protocols_load(struct handler_protocols *hp, const struct options *o,
                            const struct route *rt)
{
    hp->cfg.protocols = o->protocols;
    hp->cfg.nprotocols = o->nprotocols;
    if (!o->dir || !rt)
        return;

    char url[sizeof rt->script_name + sizeof SUFFIX];
    char path[PATH_MAX];
    struct stat st;
    snprintf(url, sizeof url, "%s" SUFFIX, rt->script_name);
    int n = snprintf(path, sizeof path, "%s%s", o->dir, url);
    if (n < 0 || (size_t)n >= sizeof path || lstat(path, &st) < 0)
        return;     /* no declaration: --protocol applies */

    /* From here on the handler has declared something; a declaration we
     * cannot read must not turn into --protocol's list. */
    hp->cfg.protocols = hp->names;
    hp->cfg.nprotocols = 0;
    struct route sidecar;
    if (route_resolve(o->dir, url, 0, &sidecar) != ROUTE_FILE) {
        log_msg(LOG_WARN, "%s: not a file inside %s; no subprotocol accepted", path, o->dir);
        return;
    }
    if (read_text(hp, sidecar.file) < 0) {
        log_msg(LOG_WARN, "%s: %s; no subprotocol accepted", path,
                errno == EFBIG ? "too long" : strerror(errno));
        return;
    }
    parse(hp, path);
}
