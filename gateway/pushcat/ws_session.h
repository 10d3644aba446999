/* ws_session.h - pushcat's WebSocket client. */
#ifndef PUSHCAT_WS_SESSION_H
#define PUSHCAT_WS_SESSION_H

#include <openssl/ssl.h>

#include "pushcat/options.h"

/* Connect, handshake, relay until the connection ends.  Returns the exit
 * code (enum pc_exit, or 128 + signal when interrupted). */
int pc_websocket(const struct pc_options *o, SSL_CTX *tls_ctx);

#endif
