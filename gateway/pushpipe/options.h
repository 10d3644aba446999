/* options.h - pushpipe's command line. */
#ifndef PUSHPIPE_OPTIONS_H
#define PUSHPIPE_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum msg_mode { MODE_LINES, MODE_BINARY, MODE_FRAMED };
enum sse_mode { SSE_MODE_LINES, SSE_MODE_RAW };

#define OPT_LIST_MAX 32

struct options {
    const char *listen;             /* --listen HOST:PORT | unix:PATH */
    const char *fcgi;               /* --fcgi HOST:PORT | unix:PATH (FastCGI) */
    enum sse_mode sse_mode;         /* --sse lines|raw */
    int sse_retry_ms;               /* --sse-retry; -1: send no retry field */
    unsigned heartbeat_ms;          /* --heartbeat, seconds on the command line; 0: none */
    enum msg_mode mode;             /* --mode */
    const char *dir;                /* --dir: path -> executable in DIR */
    const char *static_dir;         /* --static: plain files */
    int console;                    /* --console: GET /console serves the test console */
    char **command;                 /* COMMAND [ARGS...] after -- */
    uint64_t max_message;           /* --max-message, bytes */
    size_t max_head;                /* --max-head, bytes of a request head */
    unsigned head_timeout_ms;       /* --head-timeout, seconds on the command line */
    unsigned close_grace_ms;        /* --close-grace: stdin EOF -> SIGTERM */
    unsigned kill_grace_ms;         /* SIGTERM -> SIGKILL */
    unsigned close_timeout_ms;      /* wait for the peer's close frame */
    size_t max_line;                /* --max-line: lines mode */
    unsigned max_connections;       /* --max-connections, 0 = unlimited */
    unsigned max_per_ip;            /* --max-per-ip, 0 = unlimited */
    unsigned workers;               /* --workers: event-loop workers; 0: one process per connection */
    unsigned loop_pack;             /* --loop-pack: connections a loop takes before the next */
    unsigned shutdown_timeout_ms;   /* --shutdown-timeout */
    unsigned send_timeout_ms;       /* --send-timeout: client not reading */
    const char *origins[OPT_LIST_MAX];     /* --origin, allowed Origin values */
    size_t norigins;
    int same_origin;                /* --same-origin */
    const char *protocols[OPT_LIST_MAX];   /* --protocol, repeatable */
    size_t nprotocols;
    const char *passenv[OPT_LIST_MAX];     /* --passenv NAME[,NAME...] */
    size_t npassenv;
    int no_deflate;                 /* --no-deflate */
    unsigned ping_interval_ms;      /* --ping-interval, seconds on the command line */
    unsigned ping_timeout_ms;       /* --ping-timeout */
    const char *headers[OPT_LIST_MAX];     /* --header: every response */
    size_t nheaders;
    const char *headers_ws[OPT_LIST_MAX];  /* --header-ws: WebSocket handshakes */
    size_t nheaders_ws;
    const char *headers_sse[OPT_LIST_MAX]; /* --header-sse: EventSource responses */
    size_t nheaders_sse;
    const char *tls_cert;           /* --tls-cert: TLS on the listener */
    const char *tls_key;            /* --tls-key (default: in the cert file) */
    const char *user;               /* --user: drop to this user after binding */
    const char *group;              /* --group */
    int allow_root;                 /* --allow-root: handlers may run as root */
    unsigned long long rlimit_as, rlimit_nofile, rlimit_cpu;   /* --handler-rlimit */
    const char *log_file;           /* --log */
    int log_level;                  /* --log-level */
};

/* 0: run; 1: --help/--version was handled (exit 0); -1: error, message in err. */
int options_parse(int argc, char **argv, struct options *o, char *err, size_t errlen);
void options_usage(FILE *out);

#endif
