/* ws_handshake.h - the server side of the WebSocket opening handshake
 * (RFC 6455 and hybi-07/08), sans-I/O.
 *
 * Input is the request as CGI meta-variables (request_env), so the same code
 * serves the listener, CGI and FastCGI.  Output is a status code and the
 * response header lines; the transport writes the status line itself
 * ("HTTP/1.1 101 ..." on a socket, "Status: 101 ..." through CGI/FastCGI).
 */
#ifndef PUSHPIPE_WS_HANDSHAKE_H
#define PUSHPIPE_WS_HANDSHAKE_H

#include <stddef.h>

#include "request_env.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct ws_server_config {
    const char *const *protocols;   /* subprotocols we support, in order */
    size_t nprotocols;
};

struct ws_handshake {
    int status;             /* 101 on success; 400, 426, 405 otherwise */
    int version;            /* 13, 8 or 7 once accepted */
    char protocol[256];     /* selected subprotocol, "" when none */
    char headers[2048];     /* "Name: value\r\n" lines, no blank line */
    size_t headers_len;
    const char *error;      /* static description for the log when status != 101 */
};

/* 1 if the request asks for a WebSocket upgrade at all (an Upgrade header
 * containing the token "websocket"); such a request is then answered by
 * ws_handshake_server even if it is malformed. */
int ws_is_upgrade_request(const struct request_env *env);

/* Validate the request and fill hs.  Returns hs->status. */
int ws_handshake_server(const struct request_env *env,
                        const struct ws_server_config *cfg,
                        struct ws_handshake *hs);

/* The subprotocol to answer a client's comma-separated offer with: the
 * first it lists that cfg supports (the client's preference decides), as
 * a pointer into cfg; NULL for none.  The drafts' handshakes share it. */
const char *ws_select_protocol(const char *offer, const struct ws_server_config *cfg);

/* Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)), 28 chars + NUL. */
void ws_accept_for_key(const char *key, size_t key_len, char out[29]);

/* Reason phrase for the statuses a handshake can produce. */
const char *ws_status_text(int status);

#endif
