/* pushcat - a WebSocket and EventSource client for the command line, on
 * pushpipe's protocol core and relay: netcat for ws://, wss:// and event
 * streams, and a way to run a handler program against a remote server. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "io/tls_stream.h"
#include "pushcat/dial.h"
#include "pushcat/options.h"
#include "pushcat/program.h"
#include "pushcat/report.h"
#include "pushcat/sse_session.h"
#include "pushcat/ws_session.h"
#include "pushpipe/handler.h"
#include "pushpipe/log.h"
#include "pushpipe/relay.h"

/* The first SIGINT/SIGTERM closes politely (WebSocket 1001, going away);
 * a second one does not wait any more. */
static int wake_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
    if (pc_stop_signal) {
        pc_stdio_restore();
        _exit(128 + sig);
    }
    pc_stop_signal = sig;
    relay_request_stop();
    if (wake_pipe[1] >= 0) {
        int saved = errno;
        ssize_t w = write(wake_pipe[1], "", 1);
        (void)w;
        errno = saved;
    }
}

static void install_signals(void)
{
    if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) == 0)
        pc_wake_fd = wake_pipe[0];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a blocked connect or read must notice at once. */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* A peer (or a reader of our stdout) that goes away must show up as
     * EPIPE where we write, not kill us. */
    signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
    struct pc_options o;
    char err[1024];
    int rc = pc_options_parse(argc, argv, &o, err, sizeof err);
    if (rc > 0)
        return PC_EXIT_OK;
    if (rc < 0) {
        fprintf(stderr, "pushcat: %s\n", err);
        return PC_EXIT_USAGE;
    }
    pc_report_init(o.verbose);
    /* The relay and handler code log through pushpipe's log: warnings by
     * default, the relay's own account with -v, everything with -vv. */
    log_set_program("pushcat");
    log_open(NULL, o.verbose >= 2 ? LOG_DEBUG : o.verbose ? LOG_INFO : LOG_WARN);
    log_set_handler_raw(1);
    /* --exec runs a program for the user, like a shell would: what we
     * inherited (3>file) is the user's to hand on. */
    handler_keep_inherited();
    install_signals();

    SSL_CTX *ctx = NULL;
    /* An event stream may be redirected to https, so it gets a context
     * too. */
    if (o.url.tls || o.sse) {
        struct tls_client_options to = {
            .cafile = o.cacert, .certfile = o.cert, .keyfile = o.key, .insecure = o.insecure,
        };
        ctx = tls_client_ctx_new(&to, err, sizeof err);
        if (!ctx) {
            pc_error("%s", err);
            return PC_EXIT_TLS;
        }
        if (o.insecure)
            pc_error("warning: --insecure: the server's certificate and name are not verified");
    }
    rc = o.sse ? pc_eventsource(&o, ctx) : pc_websocket(&o, ctx);
    SSL_CTX_free(ctx);
    pc_stdio_restore();
    return rc;
}
