#include "pushpipe/options.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "core/cli_number.h"
#include "pushpipe/log.h"

enum {
    OPT_LISTEN = 256, OPT_MODE, OPT_DIR, OPT_STATIC, OPT_CONSOLE, OPT_MAX_MESSAGE, OPT_MAX_HEAD,
    OPT_HEAD_TIMEOUT, OPT_CLOSE_GRACE, OPT_MAX_LINE, OPT_MAX_CONN, OPT_PROTOCOL,
    OPT_PASSENV, OPT_LOG, OPT_LOG_LEVEL, OPT_VERSION,
    OPT_FCGI, OPT_SSE, OPT_SSE_RETRY, OPT_HEARTBEAT,
    OPT_USER, OPT_GROUP, OPT_ALLOW_ROOT, OPT_RLIMIT, OPT_TLS_CERT, OPT_TLS_KEY,
    OPT_MAX_PER_IP, OPT_SHUTDOWN_TIMEOUT, OPT_SEND_TIMEOUT, OPT_ORIGIN, OPT_SAME_ORIGIN,
    OPT_NO_DEFLATE, OPT_PING_INTERVAL, OPT_PING_TIMEOUT, OPT_HEADER, OPT_HEADER_WS, OPT_HEADER_SSE,
    OPT_WORKERS,
    OPT_LOOP_PACK
};

static const struct option longopts[] = {
    { "listen", required_argument, NULL, OPT_LISTEN },
    { "fcgi", required_argument, NULL, OPT_FCGI },
    { "sse", required_argument, NULL, OPT_SSE },
    { "sse-retry", required_argument, NULL, OPT_SSE_RETRY },
    { "heartbeat", required_argument, NULL, OPT_HEARTBEAT },
    { "mode", required_argument, NULL, OPT_MODE },
    { "dir", required_argument, NULL, OPT_DIR },
    { "static", required_argument, NULL, OPT_STATIC },
    { "console", no_argument, NULL, OPT_CONSOLE },
    { "max-message", required_argument, NULL, OPT_MAX_MESSAGE },
    { "max-head", required_argument, NULL, OPT_MAX_HEAD },
    { "head-timeout", required_argument, NULL, OPT_HEAD_TIMEOUT },
    { "close-grace", required_argument, NULL, OPT_CLOSE_GRACE },
    { "max-line", required_argument, NULL, OPT_MAX_LINE },
    { "max-connections", required_argument, NULL, OPT_MAX_CONN },
    { "workers", required_argument, NULL, OPT_WORKERS },
    { "loop-pack", required_argument, NULL, OPT_LOOP_PACK },
    { "protocol", required_argument, NULL, OPT_PROTOCOL },
    { "passenv", required_argument, NULL, OPT_PASSENV },
    { "log", required_argument, NULL, OPT_LOG },
    { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
    { "tls-cert", required_argument, NULL, OPT_TLS_CERT },
    { "tls-key", required_argument, NULL, OPT_TLS_KEY },
    { "user", required_argument, NULL, OPT_USER },
    { "group", required_argument, NULL, OPT_GROUP },
    { "allow-root", no_argument, NULL, OPT_ALLOW_ROOT },
    { "handler-rlimit", required_argument, NULL, OPT_RLIMIT },
    { "max-per-ip", required_argument, NULL, OPT_MAX_PER_IP },
    { "shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT },
    { "send-timeout", required_argument, NULL, OPT_SEND_TIMEOUT },
    { "origin", required_argument, NULL, OPT_ORIGIN },
    { "same-origin", no_argument, NULL, OPT_SAME_ORIGIN },
    { "no-deflate", no_argument, NULL, OPT_NO_DEFLATE },
    { "ping-interval", required_argument, NULL, OPT_PING_INTERVAL },
    { "ping-timeout", required_argument, NULL, OPT_PING_TIMEOUT },
    { "header", required_argument, NULL, OPT_HEADER },
    { "header-ws", required_argument, NULL, OPT_HEADER_WS },
    { "header-sse", required_argument, NULL, OPT_HEADER_SSE },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 }
};

void options_usage(FILE *out)
{
    fputs(
"Usage: pushpipe [OPTIONS] -- COMMAND [ARGS...]\n"
"       pushpipe [OPTIONS] --dir DIR\n"
"Bridge WebSocket connections to a handler program, one process per connection:\n"
"what the client sends arrives on the handler's stdin, what it prints goes to\n"
"the client.\n"
"\n"
"Where to listen:\n"
"  --listen ADDR          HTTP/1.1 listener on HOST:PORT, [V6]:PORT or unix:PATH\n"
"  --fcgi ADDR            FastCGI responder on HOST:PORT or unix:PATH\n"
"  (neither)              FastCGI if fd 0 is a listening socket (spawned by the\n"
"                         web server), else CGI (GATEWAY_INTERFACE is set)\n"
"  --cgi-script FILE      (first option only) read options from FILE's lines:\n"
"                         for '#!/path/to/pushpipe --cgi-script' CGI scripts\n"
"\n"
"What to run:\n"
"  -- COMMAND [ARGS...]   the handler for every request path\n"
"  --dir DIR              map /NAME to the executable DIR/NAME (nothing outside DIR)\n"
"  --static DIR           serve plain files from DIR for ordinary GET requests\n"
"  --console              serve a test console at GET /console: connect to any\n"
"                         handler path, send messages and watch the answers\n"
"  --mode MODE            lines (default): one line = one text message;\n"
"                         binary: stdout bytes become binary messages as they arrive;\n"
"                         framed: 'TYPE LENGTH\\nPAYLOAD\\n' records both ways\n"
"  --protocol NAME        a subprotocol to accept (repeatable; the client's order\n"
"                         of preference picks one)\n"
"  --origin LIST          accept WebSocket handshakes only from these origins\n"
"                         (comma-separated, e.g. https://example.com); else 403\n"
"  --same-origin          accept only handshakes whose Origin matches the Host\n"
"  --no-deflate           do not negotiate permessage-deflate compression\n"
"  --ping-interval SECS   send a ping every SECS seconds (default: never)\n"
"  --ping-timeout SECS    no pong within SECS after a ping drops the connection\n"
"                         (default: 2 x the interval)\n"
"  --header 'N: V'        add a header to every response (repeatable)\n"
"  --header-ws 'N: V'     ...to WebSocket handshake responses only\n"
"  --header-sse 'N: V'    ...to EventSource responses only\n"
"  --sse MODE             EventSource (Accept: text/event-stream): lines (default):\n"
"                         each line is one event's data; raw: the handler writes\n"
"                         event:/id:/retry:/data: lines and blank lines (checked)\n"
"  --sse-retry MS         send 'retry: MS' first (client reconnection delay)\n"
"  --heartbeat SECS       EventSource comment line after SECS idle (default 15;\n"
"                         0: none)\n"
"  --passenv NAMES        pass these variables (comma-separated) from pushpipe's\n"
"                         environment to handlers; nothing else is passed\n"
"\n"
"Limits:\n"
"  --max-message BYTES    largest message accepted (default 64M); larger: close 1009\n"
"  --max-line BYTES       longest handler output line in lines mode (default: the\n"
"                         --max-message size); a longer line is sent as several\n"
"                         messages\n"
"  --max-head BYTES       largest request head (default 8K); larger: 431\n"
"  --head-timeout SECS    time allowed for a complete request head (default 10)\n"
"  --max-connections N    concurrent connections (default 0 = unlimited); over: 503\n"
"  --max-per-ip N         concurrent connections from one address (default 0 =\n"
"                         unlimited); over: 503\n"
"  --send-timeout SECS    a client that reads nothing for SECS while output waits\n"
"                         is disconnected (default 30)\n"
"  --shutdown-timeout SECS  on SIGTERM, how long connections get to close before\n"
"                         they are killed (default 10)\n"
"  --close-grace MS       after the client leaves, how long the handler may run on\n"
"                         with stdin at EOF before SIGTERM (default 1000), and then\n"
"                         before SIGKILL\n"
"\n"
"Processes (listener only):\n"
"  --workers N            event-loop worker processes that hold the WebSocket\n"
"                         connections, each many (default: one per CPU); every\n"
"                         connection still gets its own handler process.  0: a\n"
"                         worker process per connection instead (also with TLS)\n"
"  --loop-pack N          new connections go to the first event loop that holds\n"
"                         fewer than N and is busy less than half the time, then\n"
"                         to the next (default 256); 1 spreads them evenly\n"
"\n"
"TLS (listener only):\n"
"  --tls-cert FILE        serve https:// and wss:// with this certificate chain (PEM)\n"
"  --tls-key FILE         its private key (default: in the --tls-cert file)\n"
"\n"
"Privileges:\n"
"  --user USER            after binding, run as USER (when started as root)\n"
"  --group GROUP          ...and as GROUP (default: USER's primary group)\n"
"  --allow-root           let handlers run as root (refused otherwise)\n"
"  --handler-rlimit LIST  limits for handlers: as=BYTES,nofile=N,cpu=SECONDS\n"
"\n"
"Logging:\n"
"  --log FILE             log to FILE instead of stderr (reopened on SIGHUP)\n"
"  --log-level LEVEL      error, warn, info (default) or debug\n"
"\n"
"  -h, --help             this text\n"
"  --version              print the version\n"
"\n"
"BYTES take an optional K, M or G suffix (powers of 1024).\n", out);
}

/* A header must be "Name: value" with a token name and no line breaks, or
 * it could split the response. */
static int check_header(const char *h)
{
    const char *colon = strchr(h, ':');
    if (!colon || colon == h)
        return -1;
    for (const char *p = h; p < colon; p++)
        if (!strchr("!#$%&'*+-.^_`|~", *p) && !(*p >= '0' && *p <= '9') &&
            !(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z'))
            return -1;
    for (const char *p = colon; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t')
            return -1;
    return 0;
}

static void defaults(struct options *o)
{
    memset(o, 0, sizeof *o);
    o->mode = MODE_LINES;
    o->max_message = 64ull * 1024 * 1024;
    o->max_head = 8192;
    o->head_timeout_ms = 10000;
    o->close_grace_ms = 1000;
    o->kill_grace_ms = 1000;
    o->close_timeout_ms = 2000;
    o->shutdown_timeout_ms = 10000;     /* as --help says */
    o->send_timeout_ms = 30000;
    o->max_line = 0;    /* same as max_message, set after parsing */
    o->log_level = LOG_INFO;
    o->sse_mode = SSE_MODE_LINES;
    /* One event loop per CPU: each can keep one busy. */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    o->workers = ncpu < 1 ? 1 : ncpu > 64 ? 64 : (unsigned)ncpu;
    o->loop_pack = 256;
    o->sse_retry_ms = -1;
    /* What the HTML standard suggests: proxies keep the stream open, and
     * a vanished client is noticed at the latest after this long. */
    o->heartbeat_ms = 15000;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

int options_parse(int argc, char **argv, struct options *o, char *err, size_t errlen)
{
    defaults(o);
    optind = 1;
    opterr = 0;
    int c;
    uint64_t v;
    unsigned u;
    while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_LISTEN: o->listen = optarg; break;
        case OPT_FCGI: o->fcgi = optarg; break;
        case OPT_SSE:
            if (strcmp(optarg, "lines") == 0) o->sse_mode = SSE_MODE_LINES;
            else if (strcmp(optarg, "raw") == 0) o->sse_mode = SSE_MODE_RAW;
            else FAIL("--sse must be lines or raw, not '%s'", optarg);
            break;
        case OPT_SSE_RETRY:
            if (cli_parse_uint(optarg, 86400000, &u) < 0)
                FAIL("--sse-retry needs milliseconds (0 to 86400000), not '%s'", optarg);
            o->sse_retry_ms = (int)u;
            break;
        case OPT_HEARTBEAT:
            if (cli_parse_uint(optarg, 86400, &u) < 0)
                FAIL("--heartbeat needs seconds (0 to 86400; 0: none), not '%s'", optarg);
            o->heartbeat_ms = u * 1000;
            break;
        case OPT_MODE:
            if (strcmp(optarg, "lines") == 0) o->mode = MODE_LINES;
            else if (strcmp(optarg, "binary") == 0) o->mode = MODE_BINARY;
            else if (strcmp(optarg, "framed") == 0) o->mode = MODE_FRAMED;
            else FAIL("--mode must be lines, binary or framed, not '%s'", optarg);
            break;
        case OPT_DIR: o->dir = optarg; break;
        case OPT_STATIC: o->static_dir = optarg; break;
        case OPT_CONSOLE: o->console = 1; break;
        case OPT_MAX_MESSAGE:
            if (cli_parse_size(optarg, &o->max_message) < 0 || o->max_message == 0)
                FAIL("--max-message needs a positive size, not '%s'", optarg);
            break;
        case OPT_MAX_HEAD:
            if (cli_parse_size(optarg, &v) < 0 || v < 256 || v > 1024 * 1024)
                FAIL("--max-head must be between 256 and 1M, not '%s'", optarg);
            o->max_head = (size_t)v;
            break;
        case OPT_HEAD_TIMEOUT:
            if (cli_parse_uint(optarg, 3600, &u) < 0 || u == 0)
                FAIL("--head-timeout needs 1 to 3600 seconds, not '%s'", optarg);
            o->head_timeout_ms = u * 1000;
            break;
        case OPT_CLOSE_GRACE:
            if (cli_parse_uint(optarg, 600000, &u) < 0)
                FAIL("--close-grace needs milliseconds (0 to 600000), not '%s'", optarg);
            o->close_grace_ms = o->kill_grace_ms = u;
            break;
        case OPT_MAX_LINE:
            if (cli_parse_size(optarg, &v) < 0 || v == 0 || v > (1u << 30))
                FAIL("--max-line needs a size from 1 to 1G, not '%s'", optarg);
            o->max_line = (size_t)v;
            break;
        case OPT_WORKERS:
            if (cli_parse_uint(optarg, 64, &o->workers) < 0)
                FAIL("--workers needs a number from 0 to 64, not '%s'", optarg);
            break;
        case OPT_LOOP_PACK:
            if (cli_parse_uint(optarg, 1000000, &o->loop_pack) < 0 || o->loop_pack == 0)
                FAIL("--loop-pack needs a number from 1 to 1000000, not '%s'", optarg);
            break;
        case OPT_MAX_CONN:
            if (cli_parse_uint(optarg, 1000000, &o->max_connections) < 0)
                FAIL("--max-connections needs a number, not '%s'", optarg);
            break;
        case OPT_PROTOCOL:
            if (o->nprotocols == OPT_LIST_MAX)
                FAIL("too many --protocol options (at most %d)", OPT_LIST_MAX);
            o->protocols[o->nprotocols++] = optarg;
            break;
        case OPT_PASSENV: {
            /* Split in place: argv strings are ours to modify. */
            char *save = NULL;
            for (char *t = strtok_r(optarg, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (o->npassenv == OPT_LIST_MAX)
                    FAIL("too many --passenv names (at most %d)", OPT_LIST_MAX);
                o->passenv[o->npassenv++] = t;
            }
            break;
        }
        case OPT_TLS_CERT: o->tls_cert = optarg; break;
        case OPT_TLS_KEY: o->tls_key = optarg; break;
        case OPT_USER: o->user = optarg; break;
        case OPT_GROUP: o->group = optarg; break;
        case OPT_ALLOW_ROOT: o->allow_root = 1; break;
        case OPT_RLIMIT: {
            char *save = NULL;
            for (char *t = strtok_r(optarg, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(t, '=');
                if (!eq || cli_parse_size(eq + 1, &v) < 0 || v == 0)
                    FAIL("--handler-rlimit takes as=BYTES,nofile=N,cpu=SECONDS, not '%s'", t);
                *eq = '\0';
                if (strcmp(t, "as") == 0) o->rlimit_as = v;
                else if (strcmp(t, "nofile") == 0) o->rlimit_nofile = v;
                else if (strcmp(t, "cpu") == 0) o->rlimit_cpu = v;
                else FAIL("--handler-rlimit knows as, nofile and cpu, not '%s'", t);
            }
            break;
        }
        case OPT_MAX_PER_IP:
            if (cli_parse_uint(optarg, 1000000, &o->max_per_ip) < 0)
                FAIL("--max-per-ip needs a number, not '%s'", optarg);
            break;
        case OPT_SHUTDOWN_TIMEOUT:
            if (cli_parse_uint(optarg, 3600, &u) < 0)
                FAIL("--shutdown-timeout needs 0 to 3600 seconds, not '%s'", optarg);
            o->shutdown_timeout_ms = u * 1000;
            break;
        case OPT_SEND_TIMEOUT:
            if (cli_parse_uint(optarg, 86400, &u) < 0 || u == 0)
                FAIL("--send-timeout needs 1 to 86400 seconds, not '%s'", optarg);
            o->send_timeout_ms = u * 1000;
            break;
        case OPT_ORIGIN: {
            char *save = NULL;
            for (char *t = strtok_r(optarg, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                while (*t == ' ')
                    t++;
                if (o->norigins == OPT_LIST_MAX)
                    FAIL("too many --origin values (at most %d)", OPT_LIST_MAX);
                o->origins[o->norigins++] = t;
            }
            break;
        }
        case OPT_SAME_ORIGIN: o->same_origin = 1; break;
        case OPT_NO_DEFLATE: o->no_deflate = 1; break;
        case OPT_PING_INTERVAL:
            if (cli_parse_uint(optarg, 86400, &u) < 0 || u == 0)
                FAIL("--ping-interval needs 1 to 86400 seconds, not '%s'", optarg);
            o->ping_interval_ms = u * 1000;
            break;
        case OPT_PING_TIMEOUT:
            if (cli_parse_uint(optarg, 86400, &u) < 0 || u == 0)
                FAIL("--ping-timeout needs 1 to 86400 seconds, not '%s'", optarg);
            o->ping_timeout_ms = u * 1000;
            break;
        case OPT_HEADER:
        case OPT_HEADER_WS:
        case OPT_HEADER_SSE: {
            if (check_header(optarg) < 0)
                FAIL("'%s' is not a header line 'Name: value'", optarg);
            const char **list = c == OPT_HEADER ? o->headers : c == OPT_HEADER_WS ? o->headers_ws : o->headers_sse;
            size_t *n = c == OPT_HEADER ? &o->nheaders : c == OPT_HEADER_WS ? &o->nheaders_ws : &o->nheaders_sse;
            if (*n == OPT_LIST_MAX)
                FAIL("too many header options (at most %d of each)", OPT_LIST_MAX);
            list[(*n)++] = optarg;
            break;
        }
        case OPT_LOG: o->log_file = optarg; break;
        case OPT_LOG_LEVEL:
            if ((o->log_level = log_level_from_name(optarg)) < 0)
                FAIL("--log-level must be error, warn, info or debug, not '%s'", optarg);
            break;
        case 'h':
            options_usage(stdout);
            return 1;
        case OPT_VERSION:
            printf("pushpipe %s\n", PACKAGE_VERSION);
            return 1;
        case '?':
        default:
            if (optopt && optopt < 256)
                FAIL("unknown option '-%c' (see --help)", optopt);
            FAIL("unknown option or missing argument: '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (o->tls_key && !o->tls_cert)
        FAIL("--tls-key needs --tls-cert");
    if (o->tls_cert && !o->listen)
        FAIL("--tls-cert is for --listen; behind a web server, the web server does TLS");
    /* The test suite runs as root in CI; it says so once, in the
     * environment, instead of on every command line. */
    const char *ar = getenv("PUSHPIPE_ALLOW_ROOT");
    if (ar && strcmp(ar, "1") == 0)
        o->allow_root = 1;
    if (o->ping_interval_ms && !o->ping_timeout_ms)
        o->ping_timeout_ms = 2 * o->ping_interval_ms;
    /* websocketd delivers a line of any length as one message; so do we, up
     * to the largest message we would accept from a client. */
    if (o->max_line == 0)
        o->max_line = o->max_message > (1u << 30) ? (1u << 30) : (size_t)o->max_message;
    if (optind < argc)
        o->command = argv + optind;
    if (!o->command && !o->dir)
        FAIL("no handler: give -- COMMAND [ARGS...] or --dir DIR (see --help)");
    if (o->command && o->dir)
        FAIL("give either -- COMMAND or --dir DIR, not both");
    if (o->listen && o->fcgi)
        FAIL("give either --listen or --fcgi, not both");
    /* Neither: main decides between spawned FastCGI and CGI from the
     * environment, as libfcgi's FCGX_IsCGI does. */
    return 0;
}
