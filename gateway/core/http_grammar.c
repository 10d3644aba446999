#include "http_grammar.h"

#include <string.h>

/* RFC 9110 5.6.2 tchar. */
int http_is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-value: VCHAR, SP, HTAB and obs-text (RFC 9110 5.5).  CR, LF, NUL
 * and other controls end a scan; the caller then decides. */
int http_is_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

int http_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* CRLF or, leniently (RFC 9112 2.2), a bare LF.  A CR followed by anything
 * else is a bare CR, which RFC 9112 says to reject or replace; rejecting
 * is the safe choice behind proxies that may read it differently. */
int http_parse_eol(const char **pp, const char *end)
{
    const char *p = *pp;
    if (p == end)
        return HTTP_PARSE_INCOMPLETE;
    if (*p == '\r' && ++p == end)
        return HTTP_PARSE_INCOMPLETE;
    if (*p != '\n')
        return HTTP_PARSE_BAD;
    *pp = p + 1;
    return HTTP_STEP_OK;
}

int http_parse_field_line(const char **pp, const char *end, struct http_header *h)
{
    const char *p = *pp;
    /* obs-fold (RFC 9112 5.2).  Unfolding would be legal too, but a proxy
     * in front of us might not agree on where the value ends. */
    if (http_is_ows(*p))
        return HTTP_PARSE_BAD;
    h->name = p;
    while (p < end && http_is_tchar((unsigned char)*p))
        p++;
    if (p == end)
        return HTTP_PARSE_INCOMPLETE;
    /* Whitespace before the colon lands here too: RFC 9112 5.1 requires a
     * 400 because some agents strip it and others keep it in the name. */
    if (*p != ':' || p == h->name)
        return HTTP_PARSE_BAD;
    h->name_len = (size_t)(p - h->name);
    p++;
    while (p < end && http_is_ows(*p))
        p++;
    h->value = p;
    while (p < end && http_is_value_char((unsigned char)*p))
        p++;
    if (p == end)
        return HTTP_PARSE_INCOMPLETE;
    const char *vend = p;
    while (vend > h->value && http_is_ows(vend[-1]))
        vend--;
    h->value_len = (size_t)(vend - h->value);
    int rc = http_parse_eol(&p, end);
    if (rc != HTTP_STEP_OK)
        return rc;
    *pp = p;
    return HTTP_STEP_OK;
}
