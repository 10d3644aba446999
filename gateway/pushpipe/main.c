/* pushpipe - WebSocket and EventSource for any web site: one process per
 * connection, bridged to a handler program over pipes. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "io/net.h"
#include "pushpipe/log.h"
#include "pushpipe/options.h"
#include "pushpipe/supervisor.h"

int main(int argc, char **argv)
{
    struct options o;
    char err[512];
    int rc = options_parse(argc, argv, &o, err, sizeof err);
    if (rc > 0)
        return 0;
    if (rc < 0) {
        fprintf(stderr, "pushpipe: %s\n", err);
        return 2;
    }
    /* A peer that goes away must show up as EPIPE where we write, not kill
     * the process. */
    signal(SIGPIPE, SIG_IGN);
    if (log_open(o.log_file, o.log_level) < 0) {
        fprintf(stderr, "pushpipe: cannot open log %s: %s\n", o.log_file, strerror(errno));
        return 2;
    }
    int fd = net_listen(o.listen, 1024, err, sizeof err);
    if (fd < 0) {
        fprintf(stderr, "pushpipe: %s\n", err);
        return 2;
    }
    char addr[64], port[16];
    net_local(fd, addr, sizeof addr, port, sizeof port);
    if (port[0])
        log_msg(LOG_INFO, "listening on %s%s%s:%s", strchr(addr, ':') ? "[" : "", addr,
                strchr(addr, ':') ? "]" : "", port);
    else
        log_msg(LOG_INFO, "listening on %s", o.listen);
    return supervisor_run(fd, &o);
}
