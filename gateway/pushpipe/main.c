/* pushpipe - WebSocket and EventSource for any web site: one process per
 * connection, bridged to a handler program over pipes. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "core/ws_handshake.h"
#include "io/net.h"
#include "io/tls_stream.h"
#include "pushpipe/log.h"
#include "pushpipe/handler.h"
#include "pushpipe/options.h"
#include "pushpipe/privileges.h"
#include "pushpipe/supervisor.h"
#include "pushpipe/transport_cgi.h"
#include "pushpipe/transport_fcgi.h"
#include "pushpipe/worker.h"

/* Without --listen: a FastCGI responder (--fcgi, or spawned by the web
 * server with the listening socket on fd 0), else a CGI program.  The
 * same order as libfcgi's FCGX_IsCGI: a listening socket on fd 0 wins. */
static int serve_gateway(const struct options *o)
{
    char err[512];
    int fd = -1;
    if (o->fcgi) {
        fd = net_listen(o->fcgi, 1024, err, sizeof err);
        if (fd < 0) {
            fprintf(stderr, "pushpipe: %s\n", err);
            return 2;
        }
    } else if (fcgi_spawned()) {
        fd = 0;
    } else if (!cgi_detected()) {
        fprintf(stderr, "pushpipe: nothing to serve: give --listen or --fcgi, or run pushpipe "
                        "as a CGI or FastCGI program (see --help)\n");
        return 2;
    }
    if (privileges_drop(o, err, sizeof err) < 0) {
        if (fd < 0)
            cgi_fail(err);
        fprintf(stderr, "pushpipe: %s\n", err);
        return 2;
    }
    struct handler_limits lim = { o->rlimit_as, o->rlimit_nofile, o->rlimit_cpu };
    handler_set_limits(&lim);
    if (fd < 0)
        return cgi_run(o);
    if (o->fcgi)
        log_msg(LOG_INFO, "FastCGI on %s", o->fcgi);
    return fcgi_run(fd, o);
}

/* Started with 0, 1 or 2 closed, the next pipe or socket would get that
 * number, and giving a handler its stdin, stdout and stderr would then
 * clobber one end with another: fill the gaps with /dev/null first. */
static void ensure_std_fds(void)
{
    for (;;) {
        int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd < 0)
            return;
        if (fd > 2) {
            close(fd);
            return;
        }
    }
}

int main(int argc, char **argv)
{
    ensure_std_fds();
    struct options o;
    char err[512];
    /* "#!/usr/bin/pushpipe --cgi-script": the options are in the script. */
    int sc = cgi_script_args(argc, argv, &argc, &argv, err, sizeof err);
    int rc = sc < 0 ? -1 : options_parse(argc, argv, &o, err, sizeof err);
    if (rc > 0)
        return 0;
    if (rc < 0) {
        if (cgi_detected() && !fcgi_spawned())
            cgi_fail(err);
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
    /* Work every worker would otherwise repeat after fork: OpenSSL loads
     * its configuration and providers on first use (milliseconds), and a
     * bare command name would be searched in PATH on every spawn. */
    char accept_warmup[29];
    ws_accept_for_key("warm-up", 7, accept_warmup);
    if (o.command) {
        int e = handler_resolve_command(o.command);
        if (e) {
            fprintf(stderr, "pushpipe: handler %s: %s\n", o.command[0], strerror(e));
            return 2;
        }
    }
    if (!o.listen)
        return serve_gateway(&o);
    int fd = net_listen(o.listen, 1024, err, sizeof err);
    if (fd < 0) {
        fprintf(stderr, "pushpipe: %s\n", err);
        return 2;
    }
    if (o.tls_cert) {
        /* Loaded before dropping privileges: key files are often root's. */
        SSL_CTX *ctx = tls_server_ctx_new(o.tls_cert, o.tls_key, err, sizeof err);
        if (!ctx) {
            fprintf(stderr, "pushpipe: %s\n", err);
            return 2;
        }
        worker_set_tls(ctx);
    }
    if (privileges_drop(&o, err, sizeof err) < 0) {
        fprintf(stderr, "pushpipe: %s\n", err);
        return 2;
    }
    struct handler_limits lim = { o.rlimit_as, o.rlimit_nofile, o.rlimit_cpu };
    handler_set_limits(&lim);
    char addr[64], port[16];
    net_local(fd, addr, sizeof addr, port, sizeof port);
    if (port[0])
        log_msg(LOG_INFO, "listening on %s%s%s:%s", strchr(addr, ':') ? "[" : "", addr,
                strchr(addr, ':') ? "]" : "", port);
    else
        log_msg(LOG_INFO, "listening on %s", o.listen);
    return supervisor_run(fd, &o, o.tls_cert != NULL);
}
