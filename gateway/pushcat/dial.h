/* dial.h - reaching the server: the proxy (--proxy or the environment, as
 * curl reads it), TCP, HTTP CONNECT, TLS.  The result is one struct stream,
 * whatever was in between, for the WebSocket and EventSource sessions. */
#ifndef PUSHCAT_DIAL_H
#define PUSHCAT_DIAL_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "core/url.h"
#include "io/stream.h"
#include "io/mono_clock.h"
#include "pushcat/options.h"

/* Set from pushcat's signal handler: a wait in progress gives up.  The
 * handler also writes to pc_wake_fd's pipe, which every wait polls, so that
 * a signal landing between a check of the flag and poll() is not missed. */
extern volatile int pc_stop_signal;
extern int pc_wake_fd;      /* read end, -1 if none */

/* The proxy for target: 1 and *proxy filled (source names where it came
 * from: "--proxy", "https_proxy" ...), 0 for a direct connection, -1 for a
 * proxy URL that cannot be used (err says why). */
int pc_proxy_for(const struct pc_options *o, const struct url *target, struct url *proxy,
                 const char **source, char *err, size_t errlen);

/* Connect to target by deadline (CLOCK_MONOTONIC ms, io/mono_clock.h now_ms).
 * tls_ctx is needed for wss/https.  Returns PC_EXIT_OK with *s ready, or
 * PC_EXIT_USAGE (bad proxy URL), PC_EXIT_CONNECT or PC_EXIT_TLS with err
 * filled. */
int pc_dial(const struct pc_options *o, const struct url *target, SSL_CTX *tls_ctx,
            long long deadline, struct stream *s, char *err, size_t errlen);

/* Read what is there, waiting for it until deadline: > 0 bytes, 0 EOF, -1
 * error (errno ETIMEDOUT, EINTR on a stop signal, or the read's). */
ssize_t pc_read(struct stream *s, void *buf, size_t cap, long long deadline);

/* Write all of buf by deadline: 0, or -1 (errno). */
int pc_write_all(struct stream *s, const void *buf, size_t len, long long deadline);

#endif
