#include "io/net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int listen_unix(const char *path, int backlog, char *err, size_t errlen)
{
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sun.sun_path) {
        snprintf(err, errlen, "unix socket path too long: %s", path);
        return -1;
    }
    strcpy(sun.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    /* A stale socket file from an earlier run would make bind fail; remove
     * it, but only if it really is a socket. */
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
    if (bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 || listen(fd, backlog) < 0) {
        snprintf(err, errlen, "cannot listen on unix:%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int net_listen(const char *spec, int backlog, char *err, size_t errlen)
{
    if (strncmp(spec, "unix:", 5) == 0)
        return listen_unix(spec + 5, backlog, err, errlen);

    char host[256];
    const char *port;
    const char *colon = strrchr(spec, ':');
    if (!colon) {
        snprintf(err, errlen, "listen address must be HOST:PORT or unix:PATH, not '%s'", spec);
        return -1;
    }
    size_t hlen = (size_t)(colon - spec);
    if (hlen >= sizeof host) {
        snprintf(err, errlen, "host name too long in '%s'", spec);
        return -1;
    }
    memcpy(host, spec, hlen);
    host[hlen] = '\0';
    port = colon + 1;
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
        memmove(host, host + 1, hlen - 2);
        host[hlen - 2] = '\0';
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve '%s': %s", spec, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0)
            break;
        snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static void name_of(const struct sockaddr_storage *ss, socklen_t len, char *addr,
                    size_t addrlen, char *port, size_t portlen)
{
    if (ss->ss_family == AF_UNIX || len == 0) {
        snprintf(addr, addrlen, "unix");
        if (portlen)
            port[0] = '\0';
        return;
    }
    if (getnameinfo((const struct sockaddr *)ss, len, addr, (socklen_t)addrlen, port,
                    (socklen_t)portlen, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(addr, addrlen, "unknown");
        if (portlen)
            port[0] = '\0';
        return;
    }
    /* Present v4-mapped peers as plain IPv4, as web servers do. */
    if (strncmp(addr, "::ffff:", 7) == 0 && strchr(addr + 7, '.'))
        memmove(addr, addr + 7, strlen(addr + 7) + 1);
}

void net_peer(int fd, char *addr, size_t addrlen, char *port, size_t portlen)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    memset(&ss, 0, sizeof ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
        len = 0;
    name_of(&ss, len, addr, addrlen, port, portlen);
}

void net_local(int fd, char *addr, size_t addrlen, char *port, size_t portlen)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    memset(&ss, 0, sizeof ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        len = 0;
    name_of(&ss, len, addr, addrlen, port, portlen);
}

int net_set_nonblock(int fd, int nonblock)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    fl = nonblock ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    return fcntl(fd, F_SETFL, fl);
}
