/* http_request.c - HTTP/1.x request head parser (RFC 9112), sans-I/O.
 *
 * The parser rescans the buffer from the start on every call.  That keeps it
 * stateless (the caller owns nothing but its bytes) and costs at most
 * max_head bytes per call, which the caller bounds.
 *
 * Every byte is judged as soon as it arrives: a peer that speaks something
 * else entirely (a TLS ClientHello on a plain port, a stray binary protocol)
 * gets HTTP_PARSE_BAD at once instead of holding the connection until the
 * head limit or a timeout.
 */
#include "http_request.h"
#include "http_grammar.h"

#include <limits.h>
#include <string.h>

/* The request-target grammar is wide (RFC 3986); what matters here is that
 * it cannot smuggle a separator or a control character into the
 * environment or the log. */
static int is_target_char(unsigned char c)
{
    return c > 0x20 && c != 0x7f;
}

static int ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int span_ieq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++)
        if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* method SP request-target SP HTTP-version.  Exactly one SP between the
 * parts: the lenient whitespace rules of RFC 9112 3 are a MAY, and strict
 * parsing leaves no room for a proxy and us to split a line differently. */
static int parse_request_line(const char **pp, const char *end,
                              struct http_request *req)
{
    static const char pattern[] = "HTTP/d.d";
    const char *p = *pp;

    req->method = p;
    while (p < end && http_is_tchar((unsigned char)*p))
        p++;
    if (p == end)
        return HTTP_PARSE_INCOMPLETE;
    if (*p != ' ' || p == req->method)
        return HTTP_PARSE_BAD;
    req->method_len = (size_t)(p - req->method);

    req->target = ++p;
    while (p < end && is_target_char((unsigned char)*p))
        p++;
    if (p == end)
        return HTTP_PARSE_INCOMPLETE;
    if (*p != ' ' || p == req->target)
        return HTTP_PARSE_BAD;
    req->target_len = (size_t)(p - req->target);

    const char *version = ++p;
    for (size_t i = 0; i < sizeof pattern - 1; i++, p++) {
        if (p == end)
            return HTTP_PARSE_INCOMPLETE;
        int ok = pattern[i] == 'd' ? (*p >= '0' && *p <= '9') : *p == pattern[i];
        if (!ok)
            return HTTP_PARSE_BAD;
    }
    int rc = http_parse_eol(&p, end);
    if (rc != HTTP_STEP_OK)
        return rc;
    if (version[5] != '1')
        return HTTP_PARSE_VERSION;
    /* RFC 9110 2.5: a higher minor version is processed as the highest
     * minor version we implement. */
    req->minor_version = version[7] == '0' ? 0 : 1;
    *pp = p;
    return HTTP_STEP_OK;
}

static int parse_header_line(const char **pp, const char *end, struct http_request *req)
{
    if (req->num_headers == HTTP_MAX_HEADERS)
        return HTTP_PARSE_TOO_LARGE;
    int rc = http_parse_field_line(pp, end, &req->headers[req->num_headers]);
    if (rc == HTTP_STEP_OK)
        req->num_headers++;
    return rc;
}

static int parse_head(const char *buf, const char *end, struct http_request *req)
{
    const char *p = buf;
    int rc;

    req->num_headers = 0;
    req->head_len = 0;

    /* RFC 9112 2.2: ignore empty lines before the request-line; clients
     * have been known to send a CRLF after a POST body. */
    while (p < end && (*p == '\r' || *p == '\n'))
        if ((rc = http_parse_eol(&p, end)) != HTTP_STEP_OK)
            return rc;
    if (p == end)
        return HTTP_PARSE_INCOMPLETE;

    if ((rc = parse_request_line(&p, end, req)) != HTTP_STEP_OK)
        return rc;

    for (;;) {
        if (p == end)
            return HTTP_PARSE_INCOMPLETE;
        if (*p == '\r' || *p == '\n') {
            if ((rc = http_parse_eol(&p, end)) != HTTP_STEP_OK)
                return rc;
            req->head_len = (size_t)(p - buf);
            return (int)req->head_len;
        }
        if ((rc = parse_header_line(&p, end, req)) != HTTP_STEP_OK)
            return rc;
    }
}

int http_parse_request(const char *buf, size_t len, size_t max_head,
                       struct http_request *req)
{
    /* The head length is returned as an int. */
    if (max_head > INT_MAX)
        max_head = INT_MAX;

    size_t n = len < max_head ? len : max_head;
    int rc = parse_head(buf, buf + n, req);

    /* With max_head bytes in hand and still no blank line, more input can
     * only make the head longer than allowed. */
    if (rc == HTTP_PARSE_INCOMPLETE && len >= max_head)
        return HTTP_PARSE_TOO_LARGE;
    return rc;
}

const struct http_header *http_find_header(const struct http_request *req,
                                           const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < req->num_headers; i++) {
        const struct http_header *h = &req->headers[i];
        if (span_ieq(h->name, h->name_len, name, n))
            return h;
    }
    return NULL;
}

int http_list_has_token(const char *value, size_t value_len, const char *token)
{
    size_t tlen = strlen(token);

    if (!value || tlen == 0)
        return 0;

    const char *p = value, *end = value + value_len;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *elem_end = comma ? comma : end;
        const char *semi = memchr(p, ';', (size_t)(elem_end - p));
        const char *e = semi ? semi : elem_end;

        while (p < e && http_is_ows(*p))
            p++;
        while (e > p && http_is_ows(e[-1]))
            e--;
        if (span_ieq(p, (size_t)(e - p), token, tlen))
            return 1;
        p = comma ? comma + 1 : end;
    }
    return 0;
}

int http_is_token(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!http_is_tchar((unsigned char)s[i]))
            return 0;
    return 1;
}
