/* url.c - client URLs, proxy URLs and no_proxy matching (sans-I/O). */
#include "url.h"
#include "percent.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* RFC 3986 unreserved, sub-delims and the other characters a path or query
 * may carry as they are.  '%' is handled by the caller. */
static int is_target_char(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || (c != '\0' && strchr("-._~!$&'()*+,;=:@/?", c));
}

/* A registered name or IPv4 address: letters, digits, '-', '.', '_' (the
 * last for the odd intranet name).  Everything else, in particular
 * anything that could end a header line, is refused. */
static int is_host_char(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_';
}

/* Percent-decode src[0..n) into out as a C string; -1 if it does not fit,
 * or decodes to a NUL or a control character (which could end up in a
 * header line). */
static int decode_cred(const char *src, size_t n, char *out, size_t outlen)
{
    long k = pct_decode(src, n, out, outlen - 1, PCT_NO_CONTROLS);
    if (k < 0)
        return -1;
    out[k] = '\0';
    return 0;
}

static int parse_port(const char *p, size_t n, unsigned *port)
{
    if (n == 0 || n > 5)
        return -1;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit((unsigned char)p[i]))
            return -1;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    *port = v;
    return 0;
}

/* authority = [ userinfo "@" ] host [ ":" port ] */
static int parse_authority(const char *a, size_t n, struct url *u, const char **error)
{
    const char *at = NULL;
    for (size_t i = 0; i < n; i++)
        if (a[i] == '@')
            at = a + i;
    if (at) {
        const char *colon = memchr(a, ':', (size_t)(at - a));
        size_t ulen = colon ? (size_t)(colon - a) : (size_t)(at - a);
        if (decode_cred(a, ulen, u->user, sizeof u->user) < 0 ||
            decode_cred(colon ? colon + 1 : at, colon ? (size_t)(at - colon - 1) : 0,
                        u->password, sizeof u->password) < 0) {
            *error = "bad user name or password in the URL";
            return -1;
        }
        u->has_userinfo = 1;
        n -= (size_t)(at + 1 - a);
        a = at + 1;
    }
    const char *end = a + n, *hend;
    if (n && a[0] == '[') {
        const char *rb = memchr(a, ']', n);
        size_t hl = rb ? (size_t)(rb - a - 1) : 0;
        unsigned char addr[16];
        if (!rb || hl == 0 || hl >= sizeof u->host) {
            *error = "bad IPv6 address in the URL";
            return -1;
        }
        memcpy(u->host, a + 1, hl);
        u->host[hl] = '\0';
        if (inet_pton(AF_INET6, u->host, addr) != 1) {
            *error = "bad IPv6 address in the URL";
            return -1;
        }
        u->ipv6 = 1;
        hend = rb + 1;
        if (hend < end && *hend != ':') {
            *error = "junk after the IPv6 address in the URL";
            return -1;
        }
    } else {
        hend = a;
        while (hend < end && *hend != ':')
            hend++;
        size_t hl = (size_t)(hend - a);
        if (hl == 0) {
            *error = "no host in the URL";
            return -1;
        }
        if (hl >= sizeof u->host) {
            *error = "host name too long";
            return -1;
        }
        for (size_t i = 0; i < hl; i++)
            if (!is_host_char((unsigned char)a[i])) {
                *error = "bad character in the host name";
                return -1;
            }
        memcpy(u->host, a, hl);
        u->host[hl] = '\0';
    }
    /* "host:" with an empty port means the default (RFC 3986 3.2.3). */
    if (hend < end && end - hend > 1) {
        if (parse_port(hend + 1, (size_t)(end - hend - 1), &u->port) < 0) {
            *error = "bad port number in the URL";
            return -1;
        }
        u->port_given = 1;
    }
    return 0;
}

/* Path and query as a request-target: a fragment is dropped (it never goes
 * to a server), bytes a target may not carry are percent-encoded as
 * browsers do, and an empty path becomes "/". */
static int copy_target(const char *p, struct url *u, const char **error)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    char *t = u->target;
    if (*p != '/')
        t[o++] = '/';
    for (; *p && *p != '#'; p++) {
        unsigned char c = (unsigned char)*p;
        int keep = is_target_char(c) ||
                   (c == '%' && hex_value((unsigned char)p[1]) >= 0 && hex_value((unsigned char)p[2]) >= 0);
        if (o + (keep ? 1 : 3) >= sizeof u->target) {
            *error = "URL path too long";
            return -1;
        }
        if (keep) {
            t[o++] = (char)c;
        } else {
            t[o++] = '%';
            t[o++] = hex[c >> 4];
            t[o++] = hex[c & 15];
        }
    }
    t[o] = '\0';
    return 0;
}

static const struct {
    const char *name;
    enum url_scheme scheme;
    int tls;
    unsigned port;
} schemes[] = {
    { "ws", URL_WS, 0, 80 },
    { "wss", URL_WSS, 1, 443 },
    { "http", URL_HTTP, 0, 80 },
    { "https", URL_HTTPS, 1, 443 },
};

int url_parse(const char *s, struct url *u, const char **error)
{
    memset(u, 0, sizeof *u);
    const char *sep = strstr(s, "://");
    size_t i, slen = sep ? (size_t)(sep - s) : 0;
    for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (sep && strlen(schemes[i].name) == slen && strncasecmp(s, schemes[i].name, slen) == 0)
            break;
    if (i == sizeof schemes / sizeof schemes[0]) {
        *error = "the URL must start with ws://, wss://, http:// or https://";
        return -1;
    }
    u->scheme = schemes[i].scheme;
    u->tls = schemes[i].tls;
    u->port = schemes[i].port;
    const char *a = sep + 3;
    size_t alen = strcspn(a, "/?#");
    if (parse_authority(a, alen, u, error) < 0)
        return -1;
    return copy_target(a + alen, u, error);
}

int url_parse_proxy(const char *s, struct url *u, const char **error)
{
    const char *sep = strstr(s, "://");
    if (sep && !(sep - s == 4 && strncasecmp(s, "http", 4) == 0)) {
        *error = "only http:// proxies (HTTP CONNECT) are supported";
        return -1;
    }
    char buf[URL_HOST_MAX + 2 * URL_CRED_MAX + 32];
    if (snprintf(buf, sizeof buf, "http://%s", sep ? sep + 3 : s) >= (int)sizeof buf) {
        *error = "proxy URL too long";
        return -1;
    }
    if (url_parse(buf, u, error) < 0)
        return -1;
    if (strcmp(u->target, "/") != 0) {
        *error = "a proxy URL has no path";
        return -1;
    }
    if (!u->port_given)
        u->port = 1080;
    return 0;
}

size_t url_authority(const struct url *u, int with_port, char *out, size_t outlen)
{
    unsigned dflt = u->tls ? 443 : 80;
    int n;
    if (with_port || u->port != dflt)
        n = snprintf(out, outlen, u->ipv6 ? "[%s]:%u" : "%s:%u", u->host, u->port);
    else
        n = snprintf(out, outlen, u->ipv6 ? "[%s]" : "%s", u->host);
    return n > 0 && (size_t)n < outlen ? (size_t)n : 0;
}

size_t url_basic_credentials(const struct url *u, char *out, size_t outlen)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char plain[2 * URL_CRED_MAX + 1];
    if (!u->has_userinfo)
        return 0;
    int n = snprintf(plain, sizeof plain, "%s:%s", u->user, u->password);
    if (n < 0 || (size_t)n >= sizeof plain)
        return 0;
    size_t need = ((size_t)n + 2) / 3 * 4;
    if (need >= outlen)
        return 0;
    const unsigned char *p = (const unsigned char *)plain;
    size_t o = 0;
    for (size_t i = 0; i < (size_t)n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < (size_t)n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < (size_t)n)
            v |= p[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = i + 1 < (size_t)n ? b64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < (size_t)n ? b64[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

/* ---- no_proxy ------------------------------------------------------------ */

/* An address and its family from text; 0 if the text is no IP address. */
static int parse_ip(const char *s, unsigned char addr[16])
{
    if (inet_pton(AF_INET, s, addr) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, s, addr) == 1)
        return AF_INET6;
    return 0;
}

static int cidr_match(const char *entry, int family, const unsigned char host[16])
{
    char net[64];
    const char *slash = strchr(entry, '/');
    size_t nl = slash ? (size_t)(slash - entry) : strlen(entry);
    if (nl >= sizeof net)
        return 0;
    memcpy(net, entry, nl);
    net[nl] = '\0';
    unsigned char a[16];
    if (parse_ip(net, a) != family)
        return 0;
    unsigned maxbits = family == AF_INET ? 32 : 128, bits = maxbits;
    if (slash) {
        bits = 0;
        const char *p = slash + 1;
        if (!*p)
            return 0;
        for (; *p; p++) {
            if (!is_digit((unsigned char)*p) || bits > maxbits)
                return 0;
            bits = bits * 10 + (unsigned)(*p - '0');
        }
        if (bits > maxbits)
            return 0;
    }
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(a, host, whole) != 0)
        return 0;
    if (rest) {
        unsigned char m = (unsigned char)(0xff << (8 - rest));
        if ((a[whole] & m) != (host[whole] & m))
            return 0;
    }
    return 1;
}

int url_no_proxy_match(const char *no_proxy, const char *host)
{
    if (!no_proxy || !host)
        return 0;
    char h[URL_HOST_MAX];
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        host++;
        hl -= 2;
    }
    if (hl >= sizeof h)
        return 0;
    memcpy(h, host, hl);
    h[hl] = '\0';
    if (hl && h[hl - 1] == '.')
        h[--hl] = '\0';
    unsigned char addr[16];
    int family = parse_ip(h, addr);

    const char *p = no_proxy;
    for (;;) {
        p += strspn(p, ", \t");
        if (!*p)
            return 0;
        size_t tl = strcspn(p, ", \t");
        const char *tok = p;
        p += tl;
        if (tl == 1 && tok[0] == '*')
            return 1;
        if (tok[0] == '.') {
            tok++;
            tl--;
        }
        if (tl && tok[tl - 1] == '.')
            tl--;
        char e[URL_HOST_MAX];
        if (tl == 0 || tl >= sizeof e)
            continue;
        memcpy(e, tok, tl);
        e[tl] = '\0';
        if (e[0] == '[' && tl >= 2 && e[tl - 1] == ']') {
            memmove(e, e + 1, tl - 2);
            e[tl - 2] = '\0';
            tl -= 2;
        }
        if (family) {
            if (cidr_match(e, family, addr))
                return 1;
            continue;
        }
        if (tl == hl && strcasecmp(e, h) == 0)
            return 1;
        if (tl < hl && h[hl - tl - 1] == '.' && strcasecmp(h + hl - tl, e) == 0)
            return 1;
    }
}
