/* tls_stream.h - a TLS session (OpenSSL) as a struct stream, non-blocking.
 *
 * The stream wraps a connected socket; the SSL_CTX is the caller's (one per
 * process, shared by every stream; each SSL holds its own reference), so
 * the same code serves pushcat's client side and, later, a TLS listener:
 * only the role and the context differ.
 *
 * read/write keep the stream contract (EAGAIN when the socket is not
 * ready).  TLS may hold decrypted bytes that poll cannot see; the pending op
 * tells the event loop to read again before it polls.  Renegotiation is
 * refused, so a read never needs the socket to be writable except for a
 * TLS 1.3 KeyUpdate answer, which OpenSSL queues and sends with the next
 * write.
 */
#ifndef PUSHPIPE_TLS_STREAM_H
#define PUSHPIPE_TLS_STREAM_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "io/stream.h"

enum tls_role { TLS_ROLE_CLIENT, TLS_ROLE_SERVER };

struct tls_client_options {
    const char *cafile;     /* trust only these CAs; NULL: the system store */
    const char *certfile;   /* client certificate chain (PEM), or NULL */
    const char *keyfile;    /* its private key; NULL: in certfile */
    int insecure;           /* skip verification of the server (and its name) */
};

/* A client context: TLS 1.2 at least (1.3 preferred), the server's
 * certificate verified against cafile or the system store unless insecure,
 * ALPN http/1.1.  Returns NULL with a message in err. */
SSL_CTX *tls_client_ctx_new(const struct tls_client_options *o, char *err, size_t errlen);

/* A server context for the listener (--tls-cert, --tls-key): TLS 1.2 at
 * least, the certificate chain and its key loaded and checked against each
 * other.  keyfile NULL: the key is in certfile.  Returns NULL with a message
 * in err. */
SSL_CTX *tls_server_ctx_new(const char *certfile, const char *keyfile, char *err, size_t errlen);

/* Wrap the connected socket fd.  Client role: host is the server's name or
 * address, sent as SNI (names only, RFC 6066) and checked against the
 * certificate (names and IP addresses) when ctx verifies peers.  On success
 * the stream owns fd; on failure (-1, message in err) the caller still
 * does. */
int tls_stream_init(struct stream *s, int fd, SSL_CTX *ctx, enum tls_role role,
                    const char *host, char *err, size_t errlen);

/* One handshake step without blocking: 0 done; 1 not yet: wait until the
 * socket is ready for *events (POLLIN or POLLOUT) and call again; -1 failed,
 * with the reason (certificate verification included) in err. */
int tls_stream_handshake_step(struct stream *s, short *events, char *err, size_t errlen);

/* The whole handshake, waiting up to timeout_ms.  Returns 0, or -1 with err
 * set (errno ETIMEDOUT on timeout, EINTR when a signal interrupted it). */
int tls_stream_handshake(struct stream *s, int timeout_ms, char *err, size_t errlen);

/* After read or write failed with EPROTO: OpenSSL's reason (with TLS 1.3
 * a server that refuses our client certificate says so only now, in an
 * alert, after the handshake looked complete). */
const char *tls_stream_last_error(struct stream *s);

/* "TLSv1.3, TLS_AES_256_GCM_SHA384, certificate: CN=..." for -v output. */
void tls_stream_describe(struct stream *s, char *out, size_t outlen);

#endif
