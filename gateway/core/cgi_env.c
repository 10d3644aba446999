/* cgi_env.c - filter a web server's CGI variables (see cgi_env.h). */
#include "cgi_env.h"

#include <string.h>

/* RFC 3875 section 4.1, then what Apache, lighttpd and nginx commonly add
 * that a handler may reasonably want (the full URI, the client's port,
 * whether TLS is on). */
static const char *const request_vars[] = {
    "AUTH_TYPE", "CONTENT_LENGTH", "CONTENT_TYPE", "GATEWAY_INTERFACE",
    "PATH_INFO", "PATH_TRANSLATED", "QUERY_STRING", "REMOTE_ADDR",
    "REMOTE_HOST", "REMOTE_IDENT", "REMOTE_USER", "REQUEST_METHOD",
    "SCRIPT_NAME", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL",
    "SERVER_SOFTWARE",
    "REQUEST_URI", "REMOTE_PORT", "HTTPS", "REQUEST_SCHEME", "SERVER_ADDR",
    "DOCUMENT_ROOT", "DOCUMENT_URI", "SCRIPT_FILENAME",
};

int cgi_env_is_request_var(const char *name, size_t n)
{
    if (n > 5 && memcmp(name, "HTTP_", 5) == 0) {
        /* A web server may pass names that are no variable names (a
         * FastCGI param "HTTP_X-Y"): skipped, not a reason to fail. */
        for (size_t i = 5; i < n; i++) {
            char c = name[i];
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
                return 0;
        }
        return !(n == 10 && memcmp(name, "HTTP_PROXY", 10) == 0);
    }
    for (size_t i = 0; i < sizeof request_vars / sizeof request_vars[0]; i++)
        if (strlen(request_vars[i]) == n && memcmp(request_vars[i], name, n) == 0)
            return 1;
    return 0;
}

int cgi_env_from_vars(struct request_env *e, char *const *vars)
{
    char name[256];
    for (size_t i = 0; vars && vars[i]; i++) {
        const char *eq = strchr(vars[i], '=');
        if (!eq)
            continue;
        size_t n = (size_t)(eq - vars[i]);
        if (n == 0 || n >= sizeof name || !cgi_env_is_request_var(vars[i], n))
            continue;
        memcpy(name, vars[i], n);
        name[n] = '\0';
        /* An invalid name was already excluded by the list; a value that
         * does not fit means the request is too large to serve. */
        if (request_env_sets(e, name, eq + 1) < 0)
            return -1;
    }
    if (!request_env_get(e, "GATEWAY_INTERFACE") &&
        request_env_sets(e, "GATEWAY_INTERFACE", "CGI/1.1") < 0)
        return -1;
    const char *uri = request_env_get(e, "REQUEST_URI");
    if (!request_env_get(e, "SCRIPT_NAME") && uri) {
        size_t n = strcspn(uri, "?");
        if (request_env_set(e, "SCRIPT_NAME", uri, n) < 0)
            return -1;
    }
    return 0;
}
