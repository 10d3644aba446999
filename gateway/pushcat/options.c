#include "pushcat/options.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/cli_number.h"
#include "core/http_response.h"
#include "core/utf8.h"
#include "core/ws_client.h"
#include "core/ws_close.h"

enum {
    OPT_BINARY = 'b', OPT_HEADER = 'H', OPT_INSECURE = 'k', OPT_VERBOSE = 'v',
    OPT_FRAMED = 256, OPT_MODE, OPT_CLOSE_CODE, OPT_CLOSE_REASON, OPT_CACERT, OPT_CERT,
    OPT_KEY, OPT_ORIGIN, OPT_PROTOCOL, OPT_NO_DEFLATE, OPT_PING_INTERVAL, OPT_PING_TIMEOUT,
    OPT_MAX_MESSAGE, OPT_PROXY, OPT_NOPROXY, OPT_EXEC, OPT_SSE, OPT_SSE_FORMAT,
    OPT_MAX_RECONNECTS, OPT_RETRY, OPT_LAST_EVENT_ID, OPT_CONNECT_TIMEOUT, OPT_CLOSE_TIMEOUT,
    OPT_VERSION, OPT_LINES, OPT_LINGER
};

static const struct option longopts[] = {
    { "binary", no_argument, NULL, OPT_BINARY },
    { "framed", no_argument, NULL, OPT_FRAMED },
    { "lines", no_argument, NULL, OPT_LINES },
    { "mode", required_argument, NULL, OPT_MODE },
    { "header", required_argument, NULL, OPT_HEADER },
    { "insecure", no_argument, NULL, OPT_INSECURE },
    { "verbose", no_argument, NULL, OPT_VERBOSE },
    { "close-code", required_argument, NULL, OPT_CLOSE_CODE },
    { "close-reason", required_argument, NULL, OPT_CLOSE_REASON },
    { "cacert", required_argument, NULL, OPT_CACERT },
    { "cert", required_argument, NULL, OPT_CERT },
    { "key", required_argument, NULL, OPT_KEY },
    { "origin", required_argument, NULL, OPT_ORIGIN },
    { "protocol", required_argument, NULL, OPT_PROTOCOL },
    { "no-deflate", no_argument, NULL, OPT_NO_DEFLATE },
    { "ping-interval", required_argument, NULL, OPT_PING_INTERVAL },
    { "ping-timeout", required_argument, NULL, OPT_PING_TIMEOUT },
    { "max-message", required_argument, NULL, OPT_MAX_MESSAGE },
    { "proxy", required_argument, NULL, OPT_PROXY },
    { "noproxy", required_argument, NULL, OPT_NOPROXY },
    { "exec", required_argument, NULL, OPT_EXEC },
    { "sse", no_argument, NULL, OPT_SSE },
    { "sse-format", required_argument, NULL, OPT_SSE_FORMAT },
    { "max-reconnects", required_argument, NULL, OPT_MAX_RECONNECTS },
    { "retry", required_argument, NULL, OPT_RETRY },
    { "last-event-id", required_argument, NULL, OPT_LAST_EVENT_ID },
    { "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
    { "close-timeout", required_argument, NULL, OPT_CLOSE_TIMEOUT },
    { "linger", required_argument, NULL, OPT_LINGER },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 }
};

void pc_usage(FILE *out)
{
    fputs(
"Usage: pushcat [OPTIONS] ws[s]://HOST[:PORT]/PATH [-- COMMAND [ARGS...]]\n"
"       pushcat [OPTIONS] [--sse] http[s]://HOST[:PORT]/PATH\n"
"A WebSocket and EventSource client for the command line: stdin lines become\n"
"messages, messages received are printed one per line.\n"
"\n"
"Messages:\n"
"  --lines                one stdin line = one text message; one message\n"
"                         received = one line (default)\n"
"  -b, --binary           stdin bytes become binary messages as they arrive;\n"
"                         payloads received are written out as they are\n"
"  --framed               'TYPE LENGTH\\nPAYLOAD\\n' records both ways (as\n"
"                         pushpipe --mode framed); close records included\n"
"  --mode MODE            lines, binary or framed\n"
"  --close-code CODE      close code sent when stdin ends (default 1000)\n"
"  --close-reason TEXT    close reason sent with it\n"
"  --max-message BYTES    largest message accepted (default 64M); larger: 1009\n"
"  --ping-interval SECS   send a ping every SECS seconds (default: never)\n"
"  --ping-timeout SECS    no pong within SECS drops the connection (default 2x\n"
"                         the interval)\n"
"  --linger MS            when stdin ends, close once the server has been quiet\n"
"                         for MS milliseconds (default 250; 0: at once)\n"
"  --close-timeout SECS   wait this long for the server's close (default 5)\n"
"\n"
"Handshake:\n"
"  -H, --header 'N: V'    add a request header (repeatable)\n"
"  --origin ORIGIN        send Origin: ORIGIN\n"
"  --protocol NAME        offer a subprotocol (repeatable, in preference order)\n"
"  --no-deflate           do not offer permessage-deflate compression\n"
"\n"
"Connection:\n"
"  --connect-timeout SECS  for DNS, TCP, proxy, TLS and handshake (default 30)\n"
"  --proxy URL            HTTP CONNECT proxy http://[USER:PASS@]HOST:PORT; ''\n"
"                         for none (default: https_proxy for wss/https,\n"
"                         http_proxy for ws/http, then all_proxy)\n"
"  --noproxy LIST         hosts not to proxy (overrides no_proxy; '*': all)\n"
"  --cacert FILE          trust the CA certificates in FILE (PEM) instead of\n"
"                         the system store\n"
"  --cert FILE            client certificate (PEM)\n"
"  --key FILE             its private key (default: in --cert)\n"
"  -k, --insecure         do not verify the server's certificate (warns)\n"
"\n"
"Programs:\n"
"  -- COMMAND [ARGS...]   run COMMAND with the WebSocket on its stdin/stdout\n"
"                         (pushpipe's handler contract, client side)\n"
"  --exec 'COMMAND LINE'  the same, run by /bin/sh -c\n"
"\n"
"EventSource (http:// and https:// URLs, or --sse):\n"
"  --sse                  EventSource client\n"
"  --sse-format FORMAT    data: each event's data (default); raw: event:/id:/\n"
"                         data: lines and a blank line; json: one object a line\n"
"  --retry MS             reconnection delay until the server sends retry:\n"
"                         (default 3000)\n"
"  --max-reconnects N     give up after N reconnections (default: never)\n"
"  --last-event-id ID     send Last-Event-ID: ID on the first connection\n"
"\n"
"  -v, --verbose          handshake, TLS, subprotocol, extensions and close\n"
"                         codes on stderr (-vv: debug log)\n"
"  -h, --help             this text\n"
"  --version              print the version\n"
"\n"
"Exit status: 0 normal close, 1 error, 2 usage, 3 connect/DNS/proxy, 4 TLS,\n"
"5 handshake refused, 6 protocol error, 7 abnormal close, 8 server closed with\n"
"an error code, 9 the program failed.  See pushcat(1).\n", out);
}

static void defaults(struct pc_options *o)
{
    memset(o, 0, sizeof *o);
    o->mode = MODE_LINES;
    o->close_code = WS_CLOSE_NORMAL;
    o->max_message = 64ull * 1024 * 1024;
    o->max_reconnects = -1;
    /* A few seconds, as browsers use; the server may change it. */
    o->retry_ms = 3000;
    o->connect_timeout_ms = 30000;
    o->close_timeout_ms = 5000;
    /* Long enough for a server that answers from another process
     * (websocketd, pushpipe) to answer the last line; short enough not to
     * be noticed. */
    o->linger_ms = 250;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

int pc_options_parse(int argc, char **argv, struct pc_options *o, char *err, size_t errlen)
{
    defaults(o);
    optind = 1;
    opterr = 0;
    unsigned u;
    int sse_format_given = 0;
    /* "+": stop at the first operand, so that the URL may come before
     * options and "--" is seen exactly where it stands. */
    for (;;) {
        int before = optind;
        int c = getopt_long(argc, argv, "+bH:kvh", longopts, NULL);
        if (c == -1) {
            if (optind < argc && optind == before && strcmp(argv[optind], "--") != 0) {
                /* An operand: the URL; options may follow it. */
                if (o->url_text)
                    FAIL("unexpected argument '%s' (a command to run goes after --)", argv[optind]);
                o->url_text = argv[optind++];
                continue;
            }
            if (optind > 0 && optind <= argc && strcmp(argv[optind - 1], "--") == 0 && optind - 1 >= before)
                o->exec_argv = optind < argc ? argv + optind : NULL;
            break;
        }
        switch (c) {
        case OPT_BINARY: o->mode = MODE_BINARY; break;
        case OPT_FRAMED: o->mode = MODE_FRAMED; break;
        case OPT_LINES: o->mode = MODE_LINES; break;
        case OPT_MODE:
            if (strcmp(optarg, "lines") == 0) o->mode = MODE_LINES;
            else if (strcmp(optarg, "binary") == 0) o->mode = MODE_BINARY;
            else if (strcmp(optarg, "framed") == 0) o->mode = MODE_FRAMED;
            else FAIL("--mode must be lines, binary or framed, not '%s'", optarg);
            break;
        case OPT_HEADER:
            if (o->nheaders == PC_LIST_MAX)
                FAIL("too many --header options (at most %d)", PC_LIST_MAX);
            o->headers[o->nheaders++] = optarg;
            break;
        case OPT_INSECURE: o->insecure = 1; break;
        case OPT_VERBOSE: o->verbose++; break;
        case OPT_CLOSE_CODE:
            if (cli_parse_uint(optarg, 4999, &u) < 0 || !ws_close_code_valid(u))
                FAIL("--close-code needs a code that may be sent (1000-1003, 1007-1014, "
                     "3000-4999), not '%s'", optarg);
            o->close_code = u;
            break;
        case OPT_CLOSE_REASON:
            /* 125 bytes of close payload, 2 of them the code. */
            if (strlen(optarg) > 123 || !utf8_valid((const uint8_t *)optarg, strlen(optarg)))
                FAIL("--close-reason must be UTF-8 of at most 123 bytes");
            o->close_reason = optarg;
            break;
        case OPT_CACERT: o->cacert = optarg; break;
        case OPT_CERT: o->cert = optarg; break;
        case OPT_KEY: o->key = optarg; break;
        case OPT_ORIGIN:
            for (const char *p = optarg; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                    FAIL("--origin must not contain control characters");
            o->origin = optarg;
            break;
        case OPT_PROTOCOL:
            if (!ws_client_protocol_valid(optarg))
                FAIL("--protocol needs a token (letters, digits, !#$%%&'*+-.^_`|~), not '%s'", optarg);
            if (o->nprotocols == PC_LIST_MAX)
                FAIL("too many --protocol options (at most %d)", PC_LIST_MAX);
            o->protocols[o->nprotocols++] = optarg;
            break;
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
        case OPT_MAX_MESSAGE:
            if (cli_parse_size(optarg, &o->max_message) < 0 || o->max_message == 0 ||
                o->max_message > (1ull << 32))
                FAIL("--max-message needs a size from 1 to 4G, not '%s'", optarg);
            break;
        case OPT_PROXY: o->proxy = optarg; break;
        case OPT_NOPROXY: o->noproxy = optarg; break;
        case OPT_EXEC: o->exec_shell = optarg; break;
        case OPT_SSE: o->sse = 1; break;
        case OPT_SSE_FORMAT:
            if (strcmp(optarg, "data") == 0) o->sse_format = SSE_FORMAT_DATA;
            else if (strcmp(optarg, "raw") == 0) o->sse_format = SSE_FORMAT_RAW;
            else if (strcmp(optarg, "json") == 0) o->sse_format = SSE_FORMAT_JSON;
            else FAIL("--sse-format must be data, raw or json, not '%s'", optarg);
            sse_format_given = 1;
            break;
        case OPT_MAX_RECONNECTS:
            if (cli_parse_uint(optarg, 1000000000, &u) < 0)
                FAIL("--max-reconnects needs a number, not '%s'", optarg);
            o->max_reconnects = (int)u;
            break;
        case OPT_RETRY:
            if (cli_parse_uint(optarg, 86400000, &u) < 0)
                FAIL("--retry needs milliseconds, not '%s'", optarg);
            o->retry_ms = u;
            break;
        case OPT_LAST_EVENT_ID:
            for (const char *p = optarg; *p; p++)
                if ((unsigned char)*p < 0x20)
                    FAIL("--last-event-id must not contain control characters");
            o->last_event_id = optarg;
            break;
        case OPT_CONNECT_TIMEOUT:
            if (cli_parse_uint(optarg, 86400, &u) < 0 || u == 0)
                FAIL("--connect-timeout needs 1 to 86400 seconds, not '%s'", optarg);
            o->connect_timeout_ms = u * 1000;
            break;
        case OPT_CLOSE_TIMEOUT:
            if (cli_parse_uint(optarg, 86400, &u) < 0 || u == 0)
                FAIL("--close-timeout needs 1 to 86400 seconds, not '%s'", optarg);
            o->close_timeout_ms = u * 1000;
            break;
        case OPT_LINGER:
            if (cli_parse_uint(optarg, 3600000, &u) < 0)
                FAIL("--linger needs milliseconds, not '%s'", optarg);
            o->linger_ms = u;
            break;
        case 'h':
            pc_usage(stdout);
            return 1;
        case OPT_VERSION:
            printf("pushcat %s\n", PACKAGE_VERSION);
            return 1;
        case '?':
        default:
            if (optopt && optopt < 256)
                FAIL("unknown option '-%c' or missing argument (see --help)", optopt);
            FAIL("unknown option or missing argument: '%s' (see --help)", argv[optind - 1]);
        }
    }

    if (!o->url_text)
        FAIL("no URL (see --help)");
    const char *uerr;
    if (url_parse(o->url_text, &o->url, &uerr) < 0)
        FAIL("%s: %s", o->url_text, uerr);
    int http = o->url.scheme == URL_HTTP || o->url.scheme == URL_HTTPS;
    if (o->sse && !http)
        FAIL("--sse needs an http:// or https:// URL");
    o->sse = http;
    if (sse_format_given && !o->sse)
        FAIL("--sse-format is for EventSource (http:// and https:// URLs)");
    if (o->exec_shell && o->exec_argv)
        FAIL("give either --exec or -- COMMAND, not both");
    for (size_t i = 0; i < o->nheaders; i++) {
        const char *why;
        int rc = o->sse ? (http_header_line_check(o->headers[i]) < 0 ? -1 : 0)
                        : ws_client_header_check(o->headers[i], &why);
        if (rc == -1)
            FAIL("--header '%s' is not a header line 'Name: value'", o->headers[i]);
        if (rc < 0)
            FAIL("--header '%s': %s", o->headers[i], why);
    }
    if (o->key && !o->cert)
        FAIL("--key needs --cert");
    if (o->ping_interval_ms && !o->ping_timeout_ms)
        o->ping_timeout_ms = 2 * o->ping_interval_ms;
    return 0;
}
