/* request_env.h - the CGI/1.1 meta-variables of one request.
 *
 * Every transport reduces its request to the same form: a list of
 * "NAME=VALUE" strings, exactly what the handler receives as its
 * environment.  The listener builds it from the parsed HTTP head
 * (request_env_from_http), CGI from its own environment and FastCGI from the
 * params record.  Protocol code (handshakes, EventSource) then reads request
 * headers as HTTP_* variables the same way in every transport.
 *
 * Storage: one arena with a hard bound given at init, plus a bounded array
 * of pointers; the strings array stays NULL-terminated so it can be passed to
 * execve directly.
 */
#ifndef PUSHPIPE_REQUEST_ENV_H
#define PUSHPIPE_REQUEST_ENV_H

#include <stddef.h>

#include "http_request.h"

#define REQUEST_ENV_MAX 160

struct request_env {
    char *strings[REQUEST_ENV_MAX + 1];   /* "NAME=VALUE", NULL-terminated */
    size_t count;
    char *arena;                          /* owned */
    size_t used, cap;
};

int request_env_init(struct request_env *e, size_t arena_bytes);
void request_env_free(struct request_env *e);

/* Set NAME to value[0..len) (replacing an earlier value).  -1 when the arena
 * or the pointer array is full, or name is not a valid variable name. */
int request_env_set(struct request_env *e, const char *name,
                    const char *value, size_t len);
/* Convenience for NUL-terminated values. */
int request_env_sets(struct request_env *e, const char *name, const char *value);
/* Append ", value" to an existing variable (for repeated headers), or set it. */
int request_env_join(struct request_env *e, const char *name,
                     const char *value, size_t len);
/* Remove NAME if present. */
void request_env_unset(struct request_env *e, const char *name);
/* Value of NAME or NULL. */
const char *request_env_get(const struct request_env *e, const char *name);

/* Header "Sec-WebSocket-Key" -> variable "HTTP_SEC_WEBSOCKET_KEY".  Returns
 * -1 when the header name is not a token or the result would not fit in out
 * (so it must not become a variable), and for headers that must never reach
 * a handler (Proxy: httpoxy). */
int request_env_header_name(const char *name, size_t len, char *out, size_t outlen);

/* Fill the request-line and header variables from a parsed HTTP head:
 * REQUEST_METHOD, REQUEST_URI, SERVER_PROTOCOL, QUERY_STRING, PATH_INFO-free
 * SCRIPT_NAME (the decoded path), HTTP_* (repeated headers joined by ", ";
 * Content-Type/Content-Length become CONTENT_TYPE/CONTENT_LENGTH).  Returns 0,
 * or -1 if the arena is full or the target is not an origin-form path. */
int request_env_from_http(struct request_env *e, const struct http_request *req);

#endif
