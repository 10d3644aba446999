/* ws_session.c - one WebSocket connection: dial, opening handshake, then
 * pushpipe's relay in the client role between the server and our stdio (or
 * a program), and an exit code from how it ended. */
#include "pushcat/ws_session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "config.h"
#include "core/http_response.h"
#include "core/ws_client.h"
#include "core/ws_close.h"
#include "core/ws_frame.h"
#include "io/tls_stream.h"
#include "pushcat/dial.h"
#include "pushcat/program.h"
#include "pushcat/report.h"
#include "pushpipe/relay.h"

/* The response head and whatever frames came with it.  Smaller than the
 * relay's read buffer, which takes these bytes over. */
#define RESPONSE_MAX (32 * 1024)
#define HEAD_MAX (16 * 1024)
#define REQUEST_MAX (32 * 1024)

static const char *mode_name(enum msg_mode m)
{
    return m == MODE_LINES ? "lines" : m == MODE_BINARY ? "binary" : "framed";
}

static int normal_code(unsigned code)
{
    return code == WS_CLOSE_NORMAL || code == WS_CLOSE_GOING_AWAY || code == WS_CLOSE_NO_STATUS;
}

static void random_bytes(uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            /* Only on kernels without getrandom; the key need not be
             * secret, only fresh. */
            for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t)rand();
            return;
        }
        p += r;
        n -= (size_t)r;
    }
}

/* A masked close frame for the cases that end before the relay runs. */
static void send_close_now(struct stream *s, unsigned code, long long deadline)
{
    uint8_t frame[14 + 125], key[4], payload[125];
    size_t pl = ws_close_build(payload, code, NULL, 0);
    random_bytes(key, sizeof key);
    size_t hl = ws_frame_header(frame, 1, 0, WS_OP_CLOSE, pl, key);
    memcpy(frame + hl, payload, pl);
    ws_mask_bytes(frame + hl, pl, key, 0);
    pc_write_all(s, frame, hl + pl, deadline);
}

/* Send the request, read and judge the response (into buf, RESPONSE_MAX
 * bytes).  On success buf[*early_off, *have) are the bytes that followed
 * the head: frames the server sent at once, for the relay. */
static int handshake(const struct pc_options *o, struct stream *s, long long deadline,
                     struct ws_client_result *hs, char *buf, size_t *early_off, size_t *have)
{
    struct ws_deflate_config dcfg = { !o->no_deflate, 0 };
    const char *headers[PC_LIST_MAX + 1];
    size_t nh = 0;
    char auth[4 * URL_CRED_MAX + 32];
    for (size_t i = 0; i < o->nheaders; i++)
        headers[nh++] = o->headers[i];
    /* ws://user:pass@host/ : Basic credentials, as curl does with them. */
    char creds[4 * URL_CRED_MAX];
    if (url_basic_credentials(&o->url, creds, sizeof creds)) {
        snprintf(auth, sizeof auth, "Authorization: Basic %s", creds);
        headers[nh++] = auth;
    }
    char host[URL_HOST_MAX + 16];
    url_authority(&o->url, 0, host, sizeof host);
    struct ws_client_request rq = {
        .host = host,
        .target = o->url.target,
        .origin = o->origin,
        .protocols = o->protocols,
        .nprotocols = o->nprotocols,
        .deflate = &dcfg,
        .headers = headers,
        .nheaders = nh,
        .user_agent = "pushcat/" PACKAGE_VERSION,
    };
    uint8_t nonce[16];
    random_bytes(nonce, sizeof nonce);
    ws_client_key(&rq, nonce);

    char *req = malloc(REQUEST_MAX);
    if (!req) {
        pc_error("out of memory");
        return PC_EXIT_ERROR;
    }
    size_t n = ws_client_build_request(&rq, req, REQUEST_MAX);
    if (n == 0) {
        free(req);
        pc_error("the request head would be larger than %d bytes", REQUEST_MAX);
        return PC_EXIT_USAGE;
    }
    pc_head('>', req, n);
    int wr = pc_write_all(s, req, n, deadline);
    free(req);
    if (wr < 0) {
        pc_error("cannot send the handshake: %s", strerror(errno));
        return PC_EXIT_HANDSHAKE;
    }

    struct http_response res;
    int rc = 0;
    *have = 0;
    while (rc == 0) {
        ssize_t r = pc_read(s, buf + *have, RESPONSE_MAX - *have, deadline);
        if (r < 0 && errno == EPROTO && o->url.tls) {
            pc_error("TLS: %s", tls_stream_last_error(s));
            return PC_EXIT_TLS;
        }
        if (r <= 0) {
            pc_error("no handshake response: %s",
                     r == 0 ? "the server closed the connection"
                            : errno == ETIMEDOUT ? "timed out" : strerror(errno));
            return PC_EXIT_HANDSHAKE;
        }
        *have += (size_t)r;
        rc = http_parse_response(buf, *have, HEAD_MAX, &res);
        if (rc < 0) {
            pc_error("the server's response is not HTTP/1.1%s",
                     rc == HTTP_PARSE_TOO_LARGE ? " (head too large)" : "");
            return PC_EXIT_HANDSHAKE;
        }
    }
    pc_head('<', buf, (size_t)rc);
    *early_off = (size_t)rc;

    int ck = ws_client_check_response(&rq, &res, hs);
    if (ck == WS_CLIENT_REFUSED) {
        pc_error("handshake refused: HTTP %d %.*s", res.status, (int)res.reason_len, res.reason);
        return PC_EXIT_HANDSHAKE;
    }
    if (ck != WS_CLIENT_OK) {
        pc_error("invalid handshake response: %s", hs->error);
        /* RFC 6455 4.1: fail the WebSocket connection. */
        send_close_now(s, WS_CLOSE_PROTOCOL, deadline);
        return PC_EXIT_HANDSHAKE;
    }
    if (o->nprotocols || hs->protocol[0])
        pc_info("subprotocol: %s", hs->protocol[0] ? hs->protocol : "(none chosen by the server)");
    pc_info("extensions: %s", hs->extensions[0] ? hs->extensions : "(none)");
    return PC_EXIT_OK;
}

static int start_program(const struct pc_options *o, const struct ws_client_result *hs,
                         struct handler *h)
{
    if (!o->exec_shell && !o->exec_argv) {
        if (pc_stdio_handler(h) < 0) {
            pc_error("cannot use stdin/stdout: %s", strerror(errno));
            return PC_EXIT_ERROR;
        }
        return PC_EXIT_OK;
    }
    char v_proto[WS_CLIENT_PROTOCOL_MAX + 32], v_ext[sizeof hs->extensions + 32], v_mode[48];
    char v_url[8192];
    snprintf(v_proto, sizeof v_proto, "PUSHPIPE_WS_PROTOCOL=%s", hs->protocol);
    snprintf(v_ext, sizeof v_ext, "PUSHPIPE_WS_EXTENSIONS=%s", hs->extensions);
    snprintf(v_mode, sizeof v_mode, "PUSHPIPE_MODE=%s", mode_name(o->mode));
    snprintf(v_url, sizeof v_url, "PUSHPIPE_URL=%s", o->url_text);
    const char *vars[] = {
        "PUSHPIPE_PROTOCOL=websocket", "PUSHPIPE_WS_VERSION=13", v_proto, v_ext, v_mode,
        "PUSHPIPE_TRANSPORT=client", v_url, NULL
    };
    int rc = pc_spawn(o, h, vars);
    if (rc != 0) {
        pc_error("cannot run %s: %s", pc_program_name(o), strerror(rc));
        return PC_EXIT_HANDLER;
    }
    return PC_EXIT_OK;
}

static int outcome(const struct pc_options *o, const struct relay_result *res,
                   const struct handler *h)
{
    if (res->peer_code)
        pc_info("%s: %u%s%s", res->peer_closed_first ? "server closed" : "server answered our close",
                res->peer_code, res->peer_reason[0] ? " " : "", res->peer_reason);
    pc_info("%s; sent %llu messages (%llu bytes), received %llu messages (%llu bytes)",
            res->end ? res->end : "ended", (unsigned long long)res->msgs_out,
            (unsigned long long)res->bytes_out, (unsigned long long)res->msgs_in,
            (unsigned long long)res->bytes_in);
    if (pc_stop_signal)
        return 128 + pc_stop_signal;
    if (res->failed_code) {
        pc_error("the server broke the protocol (%s); closed with %u", res->end, res->failed_code);
        return PC_EXIT_PROTOCOL;
    }
    if (!res->peer_code) {
        pc_error("connection closed without a close handshake (%s)", res->end ? res->end : "?");
        return PC_EXIT_ABNORMAL;
    }
    if (res->peer_closed_first && !normal_code(res->peer_code)) {
        pc_error("the server closed the connection with %u%s%s", res->peer_code,
                 res->peer_reason[0] ? ": " : "", res->peer_reason);
        return PC_EXIT_PEER_CLOSE;
    }
    if (o->exec_shell || o->exec_argv) {
        if (pc_program_failed(h)) {
            char st[64];
            handler_describe_status(h->status, st, sizeof st);
            pc_error("%s ended with %s", pc_program_name(o), st);
            return PC_EXIT_HANDLER;
        }
    } else if (!res->peer_closed_first && res->close_code == WS_CLOSE_INTERNAL) {
        /* We closed with 1011 on our own: our input was unusable (a bad
         * framed record) or memory ran out. */
        pc_error("closed with 1011: %s", res->end ? res->end : "internal error");
        return PC_EXIT_ERROR;
    }
    return PC_EXIT_OK;
}

int pc_websocket(const struct pc_options *o, SSL_CTX *tls_ctx)
{
    char err[1024];
    struct stream s;
    long long deadline = now_ms() + o->connect_timeout_ms;
    int rc = pc_dial(o, &o->url, tls_ctx, deadline, &s, err, sizeof err);
    if (rc != PC_EXIT_OK) {
        pc_error("%s", err);
        return rc;
    }
    char *buf = malloc(RESPONSE_MAX);
    if (!buf) {
        s.ops->close(&s);
        pc_error("out of memory");
        return PC_EXIT_ERROR;
    }
    struct ws_client_result hs;
    size_t early_off = 0, have = 0;
    rc = handshake(o, &s, deadline, &hs, buf, &early_off, &have);
    struct handler h;
    if (rc == PC_EXIT_OK)
        rc = start_program(o, &hs, &h);
    if (rc != PC_EXIT_OK) {
        if (rc == PC_EXIT_HANDLER || rc == PC_EXIT_ERROR)
            send_close_now(&s, WS_CLOSE_INTERNAL, now_ms() + 1000);
        s.ops->close(&s);
        free(buf);
        return rc;
    }

    struct relay_params p;
    memset(&p, 0, sizeof p);
    p.role = WS_ROLE_CLIENT;
    p.mode = o->mode;
    p.max_message = o->max_message;
    /* A line of any length is one message, up to what we would accept. */
    p.max_line = o->max_message > (1u << 30) ? (1u << 30) : (size_t)o->max_message;
    p.close_grace_ms = 1000;
    p.kill_grace_ms = 1000;
    p.close_timeout_ms = o->close_timeout_ms;
    p.ping_interval_ms = o->ping_interval_ms;
    p.ping_timeout_ms = o->ping_timeout_ms;
    p.deflate = hs.deflate ? &hs.deflate_params : NULL;
    p.eof_close_code = o->close_code;
    p.eof_close_reason = o->close_reason;
    p.eof_linger_ms = o->linger_ms;

    struct relay_result res;
    relay_websocket(&s, (const uint8_t *)buf + early_off, have - early_off, &h, &p, &res);
    free(buf);
    pc_stdio_restore();
    return outcome(o, &res, &h);
}
