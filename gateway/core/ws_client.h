/* ws_client.h - the client side of the RFC 6455 opening handshake,
 * sans-I/O: build the request, then judge the server's response (status,
 * Upgrade/Connection, Sec-WebSocket-Accept, the subprotocol and the
 * extensions it chose).
 *
 * The caller supplies the 16 random bytes of the key (no I/O here, not even
 * getrandom) and the I/O around it.
 */
#ifndef PUSHPIPE_WS_CLIENT_H
#define PUSHPIPE_WS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "http_response.h"
#include "ws_deflate.h"

#define WS_CLIENT_KEY_LEN 24
#define WS_CLIENT_PROTOCOL_MAX 256

struct ws_client_request {
    const char *host;               /* Host header value */
    const char *target;             /* request-target: "/path?query" */
    char key[WS_CLIENT_KEY_LEN + 1];/* set by ws_client_key */
    const char *origin;             /* NULL: no Origin header */
    const char *const *protocols;   /* offered subprotocols, in preference order */
    size_t nprotocols;
    const struct ws_deflate_config *deflate;    /* NULL or !enabled: no offer */
    /* Extra "Name: value" lines (checked with ws_client_header_check).  A
     * Host or Origin line here replaces the one made from the URL or
     * origin above. */
    const char *const *headers;
    size_t nheaders;
    const char *user_agent;         /* NULL: none */
};

/* The key: 16 random bytes in base64. */
void ws_client_key(struct ws_client_request *rq, const uint8_t nonce[16]);

/* Write the request head into out.  Returns its length, or 0 if it does not
 * fit. */
size_t ws_client_build_request(const struct ws_client_request *rq, char *out, size_t outlen);

/* A header a user asked to add: 0 if fine, -1 if it is not "Name: value"
 * (error says why), -2 if the handshake owns it (Upgrade, Connection,
 * Sec-WebSocket-Key/-Version/-Protocol/-Extensions: use the options that
 * set them). */
int ws_client_header_check(const char *line, const char **error);

/* 1 if name may be offered as a subprotocol (an RFC 9110 token). */
int ws_client_protocol_valid(const char *name);

enum ws_client_result_code {
    WS_CLIENT_OK = 0,
    WS_CLIENT_REFUSED = -1,     /* status other than 101: the server said no */
    WS_CLIENT_INVALID = -2      /* a 101 we must not accept (RFC 6455 4.1) */
};

struct ws_client_result {
    char protocol[WS_CLIENT_PROTOCOL_MAX];  /* the server's choice, "" if none */
    char extensions[WS_DEFLATE_HEADER_MAX * 2]; /* as the server sent it, "" if none */
    int deflate;                            /* permessage-deflate agreed */
    struct ws_deflate_params deflate_params;
    const char *error;                      /* static text when not OK */
};

/* Judge the response to rq.  Returns a ws_client_result_code. */
int ws_client_check_response(const struct ws_client_request *rq,
                             const struct http_response *res,
                             struct ws_client_result *out);

#endif
