/* request_env.c - CGI/1.1 meta-variables (RFC 3875) in one bounded arena.
 *
 * Strings are only ever appended to the arena.  Replacing a variable points
 * its slot at a fresh copy and leaves the old bytes behind: the waste is
 * bounded by the arena itself, and no pointer handed out earlier (or placed
 * in strings[] for execve) ever moves or changes under its user.
 */
#include "request_env.h"
#include "percent.h"

#include <stdlib.h>
#include <string.h>

/* Longest variable name built from a header ("HTTP_" + name).  Longer
 * header names are dropped rather than truncated: a truncated name could
 * collide with another header's variable. */
#define ENV_NAME_MAX 256

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Shells and most programs only handle [A-Za-z_][A-Za-z0-9_]* in the
 * environment; anything else would be unreachable or ambiguous. */
static int valid_name(const char *name, size_t n)
{
    if (n == 0 || !(is_alpha((unsigned char)name[0]) || name[0] == '_'))
        return 0;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!is_alpha(c) && !is_digit(c) && c != '_')
            return 0;
    }
    return 1;
}

static int ascii_upper(unsigned char c)
{
    return c >= 'a' && c <= 'z' ? c - ('a' - 'A') : c;
}

static int span_ieq(const char *a, size_t alen, const char *b)
{
    if (alen != strlen(b))
        return 0;
    for (size_t i = 0; i < alen; i++)
        if (ascii_upper((unsigned char)a[i]) != ascii_upper((unsigned char)b[i]))
            return 0;
    return 1;
}

/* Slot of the variable whose name is name[0..n), or e->count.  strncmp
 * (not memcmp) so that a stored string shorter than n is never overread. */
static size_t env_find(const struct request_env *e, const char *name, size_t n)
{
    for (size_t i = 0; i < e->count; i++)
        if (strncmp(e->strings[i], name, n) == 0 && e->strings[i][n] == '=')
            return i;
    return e->count;
}

/* Writes "NAME=" at the free end of the arena and returns where up to vlen
 * value bytes go, or NULL when "NAME=VALUE\0" cannot fit.  Nothing is
 * committed until env_install, so a failure leaves the env unchanged. */
static char *env_reserve(struct request_env *e, const char *name, size_t n,
                         size_t vlen)
{
    size_t room = e->cap - e->used;

    if (n > room || room - n < 2 || vlen > room - n - 2)
        return NULL;
    char *s = e->arena + e->used;
    memcpy(s, name, n);
    s[n] = '=';
    return s + n + 1;
}

/* Commits the string env_reserve started (name length n, value length
 * vlen) and points the variable's slot at it. */
static int env_install(struct request_env *e, size_t n, size_t vlen)
{
    char *s = e->arena + e->used;
    size_t i = env_find(e, s, n);

    if (i == e->count) {
        if (e->count == REQUEST_ENV_MAX)
            return -1;
        e->count++;
        e->strings[e->count] = NULL;
    }
    s[n + 1 + vlen] = '\0';
    e->strings[i] = s;
    e->used += n + 1 + vlen + 1;
    return 0;
}

int request_env_init(struct request_env *e, size_t arena_bytes)
{
    e->count = 0;
    e->strings[0] = NULL;
    e->used = 0;
    e->cap = 0;
    /* malloc(0) may return NULL; one byte keeps "no room" a size question. */
    e->arena = malloc(arena_bytes ? arena_bytes : 1);
    if (!e->arena)
        return -1;
    e->cap = arena_bytes;
    return 0;
}

void request_env_free(struct request_env *e)
{
    free(e->arena);
    e->arena = NULL;
    e->count = 0;
    e->strings[0] = NULL;
    e->used = e->cap = 0;
}

int request_env_set(struct request_env *e, const char *name,
                    const char *value, size_t len)
{
    size_t n = strlen(name);

    /* An embedded NUL would silently cut the value short in execve. */
    if (!valid_name(name, n) || (len && memchr(value, '\0', len)))
        return -1;
    char *v = env_reserve(e, name, n, len);
    if (!v)
        return -1;
    if (len)
        memcpy(v, value, len);
    return env_install(e, n, len);
}

int request_env_sets(struct request_env *e, const char *name, const char *value)
{
    return request_env_set(e, name, value, strlen(value));
}

int request_env_join(struct request_env *e, const char *name,
                     const char *value, size_t len)
{
    const char *old = request_env_get(e, name);

    if (!old)
        return request_env_set(e, name, value, len);
    if (len && memchr(value, '\0', len))
        return -1;

    /* The old string sits before the arena's free end, so copying from it
     * into the reservation cannot overlap. */
    size_t n = strlen(name), oldlen = strlen(old);
    /* "NAME=old\0" is in the arena, so cap - oldlen >= 3: no wrap here,
     * and none in oldlen + 2 + len below. */
    if (len > e->cap - oldlen - 2)
        return -1;
    char *v = env_reserve(e, name, n, oldlen + 2 + len);
    if (!v)
        return -1;
    memcpy(v, old, oldlen);
    memcpy(v + oldlen, ", ", 2);
    if (len)
        memcpy(v + oldlen + 2, value, len);
    return env_install(e, n, oldlen + 2 + len);
}

void request_env_unset(struct request_env *e, const char *name)
{
    size_t i = env_find(e, name, strlen(name));

    if (i == e->count)
        return;
    /* Keep the order: the handler sees variables as they were set. */
    memmove(&e->strings[i], &e->strings[i + 1],
            (e->count - i) * sizeof e->strings[0]);
    e->count--;
}

const char *request_env_get(const struct request_env *e, const char *name)
{
    size_t n = strlen(name);
    size_t i = env_find(e, name, n);

    return i == e->count ? NULL : e->strings[i] + n + 1;
}

/* Only [A-Za-z0-9-] survive.  Mapping '-' to '_' is not one-to-one, so a
 * header "X_Forwarded_For" would land on the same HTTP_X_FORWARDED_FOR as
 * "X-Forwarded-For" and could forge or merge with a value a proxy vouched
 * for; such names (and those with other tchars like '.' or '!', which have
 * no spelling in a variable name) are dropped.  nginx and Apache 2.4 drop
 * underscored headers for the same reason. */
int request_env_header_name(const char *name, size_t len, char *out, size_t outlen)
{
    static const char prefix[] = "HTTP_";

    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!is_alpha(c) && !is_digit(c) && c != '-')
            return -1;
    }
    /* httpoxy (CVE-2016-5385): HTTP_PROXY is read as a proxy setting by
     * many HTTP client libraries the handler may use. */
    if (span_ieq(name, len, "Proxy"))
        return -1;

    /* RFC 3875 4.1.2/4.1.3: these two have their own variables. */
    const char *special = NULL;
    if (span_ieq(name, len, "Content-Type"))
        special = "CONTENT_TYPE";
    else if (span_ieq(name, len, "Content-Length"))
        special = "CONTENT_LENGTH";
    if (special) {
        size_t sn = strlen(special);
        if (sn >= outlen)
            return -1;
        memcpy(out, special, sn + 1);
        return 0;
    }

    size_t plen = sizeof prefix - 1;
    if (len >= outlen || plen >= outlen - len)
        return -1;
    memcpy(out, prefix, plen);
    for (size_t i = 0; i < len; i++)
        out[plen + i] = name[i] == '-' ? '_' : (char)ascii_upper((unsigned char)name[i]);
    out[plen + len] = '\0';
    return 0;
}

static int set_script_name(struct request_env *e, const char *path, size_t n)
{
    static const char name[] = "SCRIPT_NAME";
    size_t nlen = sizeof name - 1;
    char *v = env_reserve(e, name, nlen, n);
    /* A malformed escape is no valid origin-form path. */
    long dlen = v ? pct_decode(path, n, v, n, 0) : -1;

    if (dlen < 0)
        return -1;
    return env_install(e, nlen, (size_t)dlen);
}

int request_env_from_http(struct request_env *e, const struct http_request *req)
{
    const char *target = req->target;
    size_t tlen = req->target_len;

    /* Origin-form only (RFC 9112 3.2.1): absolute-form is for proxies and
     * asterisk-form for server-wide OPTIONS; neither names a handler. */
    if (tlen == 0 || target[0] != '/')
        return -1;
    const char *q = memchr(target, '?', tlen);
    size_t plen = q ? (size_t)(q - target) : tlen;

    if (request_env_set(e, "REQUEST_METHOD", req->method, req->method_len) < 0 ||
        request_env_set(e, "REQUEST_URI", target, tlen) < 0 ||
        request_env_sets(e, "SERVER_PROTOCOL",
                         req->minor_version == 0 ? "HTTP/1.0" : "HTTP/1.1") < 0 ||
        request_env_set(e, "QUERY_STRING", q ? q + 1 : "",
                        q ? tlen - plen - 1 : 0) < 0 ||
        set_script_name(e, target, plen) < 0 ||
        request_env_sets(e, "PATH_INFO", "") < 0)
        return -1;

    for (size_t i = 0; i < req->num_headers; i++) {
        const struct http_header *h = &req->headers[i];
        char var[ENV_NAME_MAX];
        if (request_env_header_name(h->name, h->name_len, var, sizeof var) < 0)
            continue;
        if (request_env_join(e, var, h->value, h->value_len) < 0)
            return -1;
    }
    return 0;
}
