/* sse_session.h - pushcat's EventSource client. */
#ifndef PUSHCAT_SSE_SESSION_H
#define PUSHCAT_SSE_SESSION_H

#include <openssl/ssl.h>

#include "pushcat/options.h"

/* Read the event stream, reconnecting as a browser would, until the server
 * answers 204, refuses, or --max-reconnects is used up.  Returns the exit
 * code. */
int pc_eventsource(const struct pc_options *o, SSL_CTX *tls_ctx);

#endif
