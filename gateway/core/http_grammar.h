/* http_grammar.h - the pieces of HTTP/1.1 syntax (RFC 9110, RFC 9112) that
 * the request parser and the response parser share: character classes,
 * line ends and field lines.  Internal to gateway/core. */
#ifndef PUSHPIPE_HTTP_GRAMMAR_H
#define PUSHPIPE_HTTP_GRAMMAR_H

#include "http_request.h"

/* A parsing step succeeded; the other results are the HTTP_PARSE_* codes. */
#define HTTP_STEP_OK 1

int http_is_tchar(unsigned char c);
/* field-vchar, SP and HTAB (obs-text allowed). */
int http_is_value_char(unsigned char c);
int http_is_ows(char c);

/* CRLF or a bare LF at *pp: HTTP_STEP_OK (and *pp past it),
 * HTTP_PARSE_INCOMPLETE or HTTP_PARSE_BAD. */
int http_parse_eol(const char **pp, const char *end);

/* One field line "name: value" and its line end into h (the value without
 * surrounding whitespace).  Refuses obs-fold and whitespace before the
 * colon (RFC 9112 5.1, 5.2).  Returns as http_parse_eol does. */
int http_parse_field_line(const char **pp, const char *end, struct http_header *h);

#endif
