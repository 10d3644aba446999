/* options.h - pushcat's command line and exit codes. */
#ifndef PUSHCAT_OPTIONS_H
#define PUSHCAT_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/url.h"
#include "pushpipe/options.h"   /* enum msg_mode, shared with pushpipe's handlers */

/* Exit codes, documented in pushcat(1).  Distinct per stage, so a script
 * can tell "could not reach it" from "it said no" from "it broke". */
enum pc_exit {
    PC_EXIT_OK = 0,         /* normal close (1000, 1001, 1005) / stream done */
    PC_EXIT_ERROR = 1,      /* anything else: out of memory, cannot spawn --exec ... */
    PC_EXIT_USAGE = 2,      /* bad command line */
    PC_EXIT_CONNECT = 3,    /* DNS, TCP, or the proxy refused CONNECT */
    PC_EXIT_TLS = 4,        /* TLS handshake or certificate verification */
    PC_EXIT_HANDSHAKE = 5,  /* HTTP status other than 101/200, or a bad 101 */
    PC_EXIT_PROTOCOL = 6,   /* the server broke the protocol; we failed the connection */
    PC_EXIT_ABNORMAL = 7,   /* no close handshake: dropped (1006), timeouts */
    PC_EXIT_PEER_CLOSE = 8, /* the server closed with a code other than 1000/1001/1005 */
    PC_EXIT_HANDLER = 9     /* the --exec handler exited non-zero or was killed */
};

enum sse_format { SSE_FORMAT_DATA, SSE_FORMAT_RAW, SSE_FORMAT_JSON };

#define PC_LIST_MAX 32

struct pc_options {
    const char *url_text;
    struct url url;
    int sse;                        /* --sse, or an http(s) URL */
    enum msg_mode mode;             /* --binary, --framed, --mode */
    int verbose;                    /* -v, repeatable */
    unsigned close_code;            /* --close-code (sent on input EOF) */
    const char *close_reason;       /* --close-reason */
    const char *cacert, *cert, *key;
    int insecure;                   /* -k, --insecure */
    const char *headers[PC_LIST_MAX];   /* -H, --header */
    size_t nheaders;
    const char *origin;             /* --origin */
    const char *protocols[PC_LIST_MAX]; /* --protocol */
    size_t nprotocols;
    int no_deflate;
    unsigned ping_interval_ms, ping_timeout_ms;
    uint64_t max_message;
    const char *proxy;              /* --proxy; "" disables proxies */
    const char *noproxy;            /* --noproxy: overrides no_proxy */
    const char *exec_shell;         /* --exec 'COMMAND LINE' (run by /bin/sh -c) */
    char **exec_argv;               /* -- COMMAND ARGS... */
    enum sse_format sse_format;
    int max_reconnects;             /* -1: no limit */
    unsigned retry_ms;              /* initial reconnection time */
    const char *last_event_id;      /* --last-event-id */
    unsigned connect_timeout_ms;
    unsigned close_timeout_ms;
    unsigned linger_ms;             /* --linger: quiet time before our close */
};

/* 0: run; 1: --help/--version printed (exit 0); -1: usage error, message in
 * err. */
int pc_options_parse(int argc, char **argv, struct pc_options *o, char *err, size_t errlen);
void pc_usage(FILE *out);

#endif
