#include "io/tls_stream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "io/mono_clock.h"

struct tls_impl {
    SSL *ssl;
    int fd;
    int fatal;          /* a fatal error happened: no close_notify may follow */
    int shut;           /* our close_notify went out (or was attempted) */
    char error[256];    /* what the fatal error was, for the caller's message */
};

static void openssl_error(const char *what, char *err, size_t errlen)
{
    unsigned long e = ERR_peek_last_error();
    char buf[256];
    if (e) {
        ERR_error_string_n(e, buf, sizeof buf);
        snprintf(err, errlen, "%s: %s", what, buf);
    } else {
        snprintf(err, errlen, "%s", what);
    }
    ERR_clear_error();
}

/* A certificate chain and its key (keyfile NULL: in the same file).
 * kind names the certificate in the error message. */
static int load_cert_key(SSL_CTX *ctx, const char *certfile, const char *keyfile, const char *kind,
                         char *err, size_t errlen)
{
    const char *key = keyfile ? keyfile : certfile;
    char what[512];
    if (SSL_CTX_use_certificate_chain_file(ctx, certfile) != 1) {
        snprintf(what, sizeof what, "cannot load the %s %s", kind, certfile);
        openssl_error(what, err, errlen);
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(what, sizeof what, "cannot use the private key %s", key);
        openssl_error(what, err, errlen);
        return -1;
    }
    return 0;
}

SSL_CTX *tls_server_ctx_new(const char *certfile, const char *keyfile, char *err, size_t errlen)
{
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        openssl_error("cannot create a TLS context", err, errlen);
        return NULL;
    }
    /* TLS 1.0 and 1.1 are deprecated (RFC 8996). */
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* Same reasons as for the client context below. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION |
                             SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (load_cert_key(ctx, certfile, keyfile, "certificate", err, errlen) < 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

SSL_CTX *tls_client_ctx_new(const struct tls_client_options *o, char *err, size_t errlen)
{
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        openssl_error("cannot create a TLS context", err, errlen);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* The relay retries a write with its queue head, which may have moved
     * (the queue compacts) and grown since; partial writes let a large
     * queue drain as the socket allows instead of all-or-nothing. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* A WebSocket has its own close handshake and an event stream its own
     * framing, so a peer that drops TCP without close_notify is reported
     * by those layers; treating it as EOF here keeps one path for "gone".
     * Renegotiation would make a read need a writable socket. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1);

    int ok = o->cafile ? SSL_CTX_load_verify_locations(ctx, o->cafile, NULL)
                       : SSL_CTX_set_default_verify_paths(ctx);
    if (!ok) {
        char what[512];
        snprintf(what, sizeof what, "cannot load CA certificates%s%s", o->cafile ? " from " : "",
                 o->cafile ? o->cafile : "");
        openssl_error(what, err, errlen);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, o->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    if (o->certfile &&
        load_cert_key(ctx, o->certfile, o->keyfile, "client certificate", err, errlen) < 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* Map an SSL result to the stream contract.  Returns what read/write
 * should return. */
static ssize_t io_result(struct tls_impl *t, int r, size_t n)
{
    if (r == 1)
        return (ssize_t)n;
    int saved = errno;
    switch (SSL_get_error(t->ssl, r)) {
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_SYSCALL:
        t->fatal = 1;
        ERR_clear_error();
        if (saved == 0)
            return 0;   /* EOF in the middle of a record: gone */
        errno = saved;
        return -1;
    default:
        t->fatal = 1;
        if (ERR_peek_last_error())
            ERR_error_string_n(ERR_peek_last_error(), t->error, sizeof t->error);
        ERR_clear_error();
        errno = EPROTO;
        return -1;
    }
}

const char *tls_stream_last_error(struct stream *s)
{
    struct tls_impl *t = s->impl;
    return t && t->error[0] ? t->error : "TLS protocol error";
}

static ssize_t tls_read(struct stream *s, void *buf, size_t len)
{
    struct tls_impl *t = s->impl;
    size_t n = 0;
    if (t->fatal) {
        errno = EPROTO;
        return -1;
    }
    ERR_clear_error();
    errno = 0;
    int r = SSL_read_ex(t->ssl, buf, len, &n);
    return io_result(t, r, n);
}

static ssize_t tls_write(struct stream *s, const void *buf, size_t len)
{
    struct tls_impl *t = s->impl;
    size_t n = 0;
    if (t->fatal || t->shut) {
        errno = EPIPE;
        return -1;
    }
    if (len == 0)
        return 0;
    ERR_clear_error();
    errno = 0;
    int r = SSL_write_ex(t->ssl, buf, len, &n);
    return io_result(t, r, n);
}

static int tls_shutdown_write(struct stream *s)
{
    struct tls_impl *t = s->impl;
    if (t->shut)
        return 0;
    t->shut = 1;
    /* close_notify, best effort: the socket has room at this point (the
     * relay shuts down only once its queue is empty), and a peer that
     * misses it sees EOF, which it must handle anyway. */
    if (!t->fatal) {
        ERR_clear_error();
        SSL_shutdown(t->ssl);
        ERR_clear_error();
    }
    return shutdown(t->fd, SHUT_WR);
}

static void tls_close(struct stream *s)
{
    struct tls_impl *t = s->impl;
    if (!t)
        return;
    SSL_free(t->ssl);
    close(t->fd);
    free(t);
    s->impl = NULL;
    s->rfd = s->wfd = -1;
}

static int tls_pending(struct stream *s)
{
    struct tls_impl *t = s->impl;
    return !t->fatal && (SSL_pending(t->ssl) > 0 || SSL_has_pending(t->ssl));
}

static const struct stream_ops tls_ops = {
    .read = tls_read,
    .write = tls_write,
    .shutdown_write = tls_shutdown_write,
    .close = tls_close,
    .pending = tls_pending,
};

int tls_stream_init(struct stream *s, int fd, SSL_CTX *ctx, enum tls_role role,
                    const char *host, char *err, size_t errlen)
{
    struct tls_impl *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    ERR_clear_error();
    t->fd = fd;
    t->ssl = SSL_new(ctx);
    if (!t->ssl || SSL_set_fd(t->ssl, fd) != 1) {
        openssl_error("cannot start TLS", err, errlen);
        SSL_free(t->ssl);
        free(t);
        return -1;
    }
    if (role == TLS_ROLE_SERVER) {
        SSL_set_accept_state(t->ssl);
    } else {
        SSL_set_connect_state(t->ssl);
        if (host) {
            unsigned char addr[16];
            int is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
            int ok = 1;
            if (is_ip) {
                ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host) == 1;
            } else {
                ok = SSL_set_tlsext_host_name(t->ssl, host) == 1 && SSL_set1_host(t->ssl, host) == 1;
                /* "*.example.com" may match "a.example.com", never
                 * "a.b.example.com" (RFC 6125 6.4.3). */
                SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            }
            if (!ok) {
                openssl_error("cannot set the TLS server name", err, errlen);
                SSL_free(t->ssl);
                free(t);
                return -1;
            }
        }
    }
    s->ops = &tls_ops;
    s->rfd = s->wfd = fd;
    s->impl = t;
    return 0;
}

int tls_stream_handshake_step(struct stream *s, short *events, char *err, size_t errlen)
{
    struct tls_impl *t = s->impl;
    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(t->ssl);
    if (r == 1)
        return 0;
    int saved = errno;
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
        *events = POLLIN;
        return 1;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        *events = POLLOUT;
        return 1;
    }
    t->fatal = 1;
    long vr = SSL_get_verify_result(t->ssl);
    if (vr != X509_V_OK && SSL_get_verify_mode(t->ssl) != SSL_VERIFY_NONE) {
        snprintf(err, errlen, "certificate verification failed: %s", X509_verify_cert_error_string(vr));
        ERR_clear_error();
    } else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
        snprintf(err, errlen, "TLS handshake failed: %s",
                 saved ? strerror(saved) : "the peer closed the connection");
    } else {
        openssl_error("TLS handshake failed", err, errlen);
    }
    return -1;
}

int tls_stream_handshake(struct stream *s, int timeout_ms, char *err, size_t errlen)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        short events = 0;
        int rc = tls_stream_handshake_step(s, &events, err, errlen);
        if (rc <= 0)
            return rc;
        long long left = deadline - now_ms();
        if (left <= 0) {
            snprintf(err, errlen, "TLS handshake timed out");
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = { .fd = s->rfd, .events = events };
        if (poll(&p, 1, (int)left) < 0) {
            int saved = errno;
            snprintf(err, errlen, "TLS handshake: %s", strerror(saved));
            errno = saved;
            return -1;
        }
    }
}

void tls_stream_describe(struct stream *s, char *out, size_t outlen)
{
    struct tls_impl *t = s->impl;
    char subject[256] = "none";
    X509 *peer = SSL_get1_peer_certificate(t->ssl);
    if (peer) {
        X509_NAME_oneline(X509_get_subject_name(peer), subject, sizeof subject);
        X509_free(peer);
    }
    const char *verified = SSL_get_verify_mode(t->ssl) == SSL_VERIFY_NONE ? "NOT verified (--insecure)"
                           : SSL_get_verify_result(t->ssl) == X509_V_OK ? "verified" : "not verified";
    snprintf(out, outlen, "%s, %s, server certificate %s (%s)", SSL_get_version(t->ssl),
             SSL_get_cipher_name(t->ssl), subject, verified);
}
