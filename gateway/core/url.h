/* url.h - the URLs a client dials (ws, wss, http, https), proxy URLs, and
 * curl's no_proxy rules, sans-I/O.
 *
 * Parsing is strict where a sloppy reading could smuggle something into a
 * request line or a Host header (host names are checked character by
 * character, no CR/LF anywhere) and lenient where browsers are: bytes a
 * request-target may not carry (space, non-ASCII ...) are percent-encoded
 * rather than refused, and a fragment is dropped.
 */
#ifndef PUSHPIPE_URL_H
#define PUSHPIPE_URL_H

#include <stddef.h>

enum url_scheme { URL_WS, URL_WSS, URL_HTTP, URL_HTTPS };

#define URL_HOST_MAX 256
#define URL_TARGET_MAX 4096
#define URL_CRED_MAX 256

struct url {
    enum url_scheme scheme;
    int tls;                        /* wss or https */
    char host[URL_HOST_MAX];        /* IPv6 literals without their brackets */
    int ipv6;                       /* host is an IPv6 literal */
    unsigned port;                  /* as given, or the scheme's default */
    int port_given;
    char target[URL_TARGET_MAX];    /* origin-form path and query; "/" at least */
    int has_userinfo;
    char user[URL_CRED_MAX];        /* percent-decoded */
    char password[URL_CRED_MAX];
};

/* Parse an absolute ws/wss/http/https URL.  Returns 0, or -1 with a static
 * description in *error. */
int url_parse(const char *s, struct url *u, const char **error);

/* Parse a proxy URL as curl takes it: "http://[user:pass@]HOST[:PORT]" or
 * a bare "HOST[:PORT]" (http implied); the port defaults to 1080 as in
 * curl.  Other schemes (https, socks) are refused with -1: only plain HTTP
 * CONNECT proxies are supported. */
int url_parse_proxy(const char *s, struct url *u, const char **error);

/* "host", "host:port" when the port is not the scheme's default, IPv6 in
 * brackets: the Host header.  with_port forces the port (CONNECT's
 * authority-form).  Returns the length, 0 if out is too small. */
size_t url_authority(const struct url *u, int with_port, char *out, size_t outlen);

/* "user:password" base64-encoded, for a Basic Authorization or
 * Proxy-Authorization header.  Returns the length, 0 if out is too small or
 * the URL has no userinfo. */
size_t url_basic_credentials(const struct url *u, char *out, size_t outlen);

/* 1 if host is exempt from proxying by a no_proxy value, read as curl
 * reads it: entries separated by commas or white space; "*" alone matches
 * every host; a name matches itself and its subdomains ("example.com" and
 * ".example.com" both match "www.example.com", not "badexample.com"),
 * case-insensitively, ignoring a trailing dot; an IP address matches the
 * same address or a CIDR range ("10.0.0.0/8", "::1/128"). */
int url_no_proxy_match(const char *no_proxy, const char *host);

#endif
