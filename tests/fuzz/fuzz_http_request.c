/* fuzz_http_request.c - the request head parser (http_request.c), the CGI
 * variables made from it (request_env.c) and what reads them: the RFC 6455
 * and hixie handshakes, EventSource detection and Last-Event-ID, the
 * permessage-deflate offer.
 *
 * Input: three configuration bytes, then the bytes a client sends.
 *   byte 0  bits 0-1: max_head (8 KiB, byte 1 + 1, byte 1 * 16 + 1, no
 *           limit); bit 2: HTTPS=on; bits 3-4: Last-Event-ID buffer size
 *   byte 1  max_head parameter
 *   byte 2  arena of the request_env (0: 16 KiB, else byte 2 * 32)
 *
 * The parser is stateless and rescans; "split" here means prefixes: the
 * results over growing prefixes of one input are INCOMPLETE until they
 * settle on one value that no longer changes.  A parsed head is checked
 * field by field against RFC 9112's grammar, and every later stage against
 * its header's promises.
 */
#include "fuzz_common.h"

#include <limits.h>
#include <strings.h>

#include "core/http_request.h"
#include "core/request_env.h"
#include "core/sse.h"
#include "core/ws_deflate.h"
#include "core/ws_handshake.h"
#include "core/ws_hixie.h"

static const char *const protocols[] = { "chat", "superchat", "v2.pushpipe" };
static const struct ws_server_config server_cfg = { protocols, 3 };

static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int within(const char *p, size_t n, const char *buf, size_t len)
{
    return p >= buf && n <= len && (size_t)(p - buf) <= len - n;
}

static int parse(const uint8_t *data, size_t len, size_t max_head, struct http_request *req)
{
    /* An exact-size copy: ASan catches a read past len. */
    char *buf = fuzz_malloc(len);
    if (len)
        memcpy(buf, data, len);
    int rc = http_parse_request(buf, len, max_head, req);
    free(buf);
    return rc;
}

static void check_prefixes(const uint8_t *data, size_t n, size_t max_head, int final)
{
    struct http_request *req = fuzz_malloc(sizeof *req);
    size_t points[24], np = 0;

    if (n <= 200) {
        for (size_t k = 0; k <= n && np < 24; k += 1 + n / 24)
            points[np++] = k;
    } else {
        uint64_t st = n;
        for (np = 0; np < 20; np++)
            points[np] = (size_t)(fuzz_rand(&st) % (n + 1));
    }
    if (final > 0 && np < 24)
        points[np++] = (size_t)final - 1;
    /* sort */
    for (size_t i = 1; i < np; i++)
        for (size_t j = i; j > 0 && points[j - 1] > points[j]; j--) {
            size_t t = points[j];
            points[j] = points[j - 1];
            points[j - 1] = t;
        }
    int settled = HTTP_PARSE_INCOMPLETE;
    for (size_t i = 0; i < np; i++) {
        int r = parse(data, points[i], max_head, req);
        if (settled != HTTP_PARSE_INCOMPLETE)
            FUZZ_CHECK(r == settled);
        else if (r != HTTP_PARSE_INCOMPLETE)
            FUZZ_CHECK(r == final);
        settled = r;
        if (final > 0 && points[i] < (size_t)final)
            FUZZ_CHECK(r == HTTP_PARSE_INCOMPLETE);
    }
    free(req);
}

static void check_head(const struct http_request *req, const char *buf, size_t head)
{
    FUZZ_CHECK(req->head_len == head);
    FUZZ_CHECK(req->method_len > 0 && within(req->method, req->method_len, buf, head));
    for (size_t i = 0; i < req->method_len; i++)
        FUZZ_CHECK(is_tchar((unsigned char)req->method[i]));
    FUZZ_CHECK(req->target_len > 0 && within(req->target, req->target_len, buf, head));
    for (size_t i = 0; i < req->target_len; i++) {
        unsigned char c = (unsigned char)req->target[i];
        FUZZ_CHECK(c > 0x20 && c != 0x7f);
    }
    FUZZ_CHECK(req->minor_version == 0 || req->minor_version == 1);
    FUZZ_CHECK(req->num_headers <= HTTP_MAX_HEADERS);
    for (size_t i = 0; i < req->num_headers; i++) {
        const struct http_header *h = &req->headers[i];
        FUZZ_CHECK(h->name_len > 0 && within(h->name, h->name_len, buf, head));
        FUZZ_CHECK(http_is_token(h->name, h->name_len));
        FUZZ_CHECK(within(h->value, h->value_len, buf, head));
        for (size_t k = 0; k < h->value_len; k++) {
            unsigned char c = (unsigned char)h->value[k];
            FUZZ_CHECK(c == '\t' || (c >= 0x20 && c != 0x7f));
        }
        if (h->value_len)
            FUZZ_CHECK(!is_ows(h->value[0]) && !is_ows(h->value[h->value_len - 1]));

        /* http_find_header finds the first header of that name. */
        char name[64];
        if (h->name_len < sizeof name) {
            memcpy(name, h->name, h->name_len);
            name[h->name_len] = '\0';
            const struct http_header *f = http_find_header(req, name);
            FUZZ_CHECK(f != NULL && f <= h);
            FUZZ_CHECK(f->name_len == h->name_len);
            FUZZ_CHECK(strncasecmp(f->name, h->name, h->name_len) == 0);
        }
        /* The first list element is in the list. */
        size_t e = 0;
        while (e < h->value_len && h->value[e] != ',' && h->value[e] != ';')
            e++;
        size_t s = 0;
        while (s < e && is_ows(h->value[s]))
            s++;
        while (e > s && is_ows(h->value[e - 1]))
            e--;
        if (e > s && e - s < 64) {
            char tok[64];
            memcpy(tok, h->value + s, e - s);
            tok[e - s] = '\0';
            if (strlen(tok) == e - s)
                FUZZ_CHECK(http_list_has_token(h->value, h->value_len, tok) == 1);
        }
    }
}

static int valid_var_name(const char *s, size_t n)
{
    if (n == 0 || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return 0;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

static void check_env(const struct request_env *env, const struct http_request *req)
{
    FUZZ_CHECK(env->count <= REQUEST_ENV_MAX);
    FUZZ_CHECK(env->strings[env->count] == NULL);
    FUZZ_CHECK(env->used <= env->cap);
    for (size_t i = 0; i < env->count; i++) {
        const char *s = env->strings[i];
        FUZZ_CHECK(s >= env->arena && s < env->arena + env->cap);
        size_t len = strlen(s);
        FUZZ_CHECK((size_t)(s - env->arena) + len < env->cap);
        const char *eq = strchr(s, '=');
        FUZZ_CHECK(eq != NULL && valid_var_name(s, (size_t)(eq - s)));
        FUZZ_CHECK(strncmp(s, "HTTP_PROXY=", 11) != 0);
        for (size_t j = 0; j < i; j++) {
            const char *o = env->strings[j];
            FUZZ_CHECK(!(strncmp(o, s, (size_t)(eq - s) + 1) == 0));
        }
    }
    const char *m = request_env_get(env, "REQUEST_METHOD");
    FUZZ_CHECK(m && strlen(m) == req->method_len && memcmp(m, req->method, req->method_len) == 0);
    const char *u = request_env_get(env, "REQUEST_URI");
    FUZZ_CHECK(u && strlen(u) == req->target_len && memcmp(u, req->target, req->target_len) == 0);
    const char *sn = request_env_get(env, "SCRIPT_NAME");
    FUZZ_CHECK(sn != NULL);

    /* Each header that may become a variable did; the last of a repeated
     * header ends the joined value. */
    for (size_t i = 0; i < req->num_headers; i++) {
        const struct http_header *h = &req->headers[i];
        char var[256];     /* ENV_NAME_MAX of request_env.c: longer names are dropped */
        if (request_env_header_name(h->name, h->name_len, var, sizeof var) < 0)
            continue;
        FUZZ_CHECK(valid_var_name(var, strlen(var)));
        const char *v = request_env_get(env, var);
        FUZZ_CHECK(v != NULL);
        size_t vl = strlen(v);
        int last = 1;
        for (size_t j = i + 1; j < req->num_headers && last; j++) {
            char var2[256];
            if (request_env_header_name(req->headers[j].name, req->headers[j].name_len,
                                        var2, sizeof var2) == 0 &&
                strcmp(var, var2) == 0)
                last = 0;
        }
        if (last)
            FUZZ_CHECK(vl >= h->value_len &&
                       memcmp(v + vl - h->value_len, h->value, h->value_len) == 0);
    }
}

static int safe_headers(const char *h, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c == '\r') {
            if (i + 1 >= len || h[i + 1] != '\n')
                return 0;
            i++;
        } else if (c == '\n' || (c < 0x20 && c != '\t') || c == 0x7F) {
            return 0;
        }
    }
    return len == 0 || (len >= 2 && h[len - 2] == '\r' && h[len - 1] == '\n');
}

static void check_handshakes(const struct request_env *env, size_t id_room)
{
    struct ws_handshake hs;
    int upgrade = ws_is_upgrade_request(env);
    int status = ws_handshake_server(env, &server_cfg, &hs);
    FUZZ_CHECK(status == hs.status);
    FUZZ_CHECK(status == 101 || status == 400 || status == 405 || status == 426);
    FUZZ_CHECK(strcmp(ws_status_text(status), "Unknown") != 0);
    FUZZ_CHECK(hs.headers_len < sizeof hs.headers && strlen(hs.headers) == hs.headers_len);
    FUZZ_CHECK(safe_headers(hs.headers, hs.headers_len));
    if (status == 101) {
        FUZZ_CHECK(upgrade);
        FUZZ_CHECK(hs.version == 13 || hs.version == 8 || hs.version == 7);
        const char *key = request_env_get(env, "HTTP_SEC_WEBSOCKET_KEY");
        FUZZ_CHECK(key != NULL && strlen(key) == 24);
        char accept[29], line[64];
        ws_accept_for_key(key, strlen(key), accept);
        FUZZ_CHECK(strlen(accept) == 28);
        snprintf(line, sizeof line, "Sec-WebSocket-Accept: %s\r\n", accept);
        FUZZ_CHECK(strstr(hs.headers, line) != NULL);
        FUZZ_CHECK(hs.protocol[0] == '\0' || strcmp(hs.protocol, protocols[0]) == 0 ||
                   strcmp(hs.protocol, protocols[1]) == 0 || strcmp(hs.protocol, protocols[2]) == 0);
    } else {
        FUZZ_CHECK(hs.error != NULL && hs.version == 0 && hs.protocol[0] == '\0');
    }

    struct ws_handshake hx;
    int hstatus = ws_hixie_handshake(env, &server_cfg, NULL, &hx);
    FUZZ_CHECK(hstatus == 101 || hstatus == 400 || hstatus == 405);
    FUZZ_CHECK(strlen(hx.headers) == hx.headers_len && safe_headers(hx.headers, hx.headers_len));
    FUZZ_CHECK(!(hstatus == 101 && status == 101));

    /* permessage-deflate offer: whatever the header, no crash, and an
     * accepted offer yields a response our own client accepts. */
    const char *ext = request_env_get(env, "HTTP_SEC_WEBSOCKET_EXTENSIONS");
    struct ws_deflate_config dc = { 1, 0 };
    struct ws_deflate_params params;
    char response[WS_DEFLATE_HEADER_MAX];
    int drc = ws_deflate_negotiate(ext, &dc, &params, response);
    FUZZ_CHECK(drc >= -1 && drc <= 1);
    FUZZ_CHECK(strlen(response) < WS_DEFLATE_HEADER_MAX);

    /* EventSource */
    int sse = sse_is_request(env);
    FUZZ_CHECK(sse == 0 || sse == 1);
    char *id = fuzz_malloc(id_room);
    int got = sse_last_event_id(env, id, id_room);
    FUZZ_CHECK(got == 0 || got == 1);
    if (got) {
        size_t n = strnlen(id, id_room);
        FUZZ_CHECK(n > 0 && n < id_room);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK((unsigned char)id[i] >= 0x20 && id[i] != 0x7f);
    }
    free(id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    uint8_t b0 = fuzz_byte(&in), b1 = fuzz_byte(&in), b2 = fuzz_byte(&in);
    size_t max_head;

    switch (b0 & 3) {
    case 0: max_head = 8192; break;
    case 1: max_head = (size_t)b1 + 1; break;
    case 2: max_head = (size_t)b1 * 16 + 1; break;
    default: max_head = SIZE_MAX; break;
    }
    int https = (b0 >> 2) & 1;
    static const size_t id_rooms[] = { 256, 1, 8, 33 };
    size_t id_room = id_rooms[(b0 >> 3) & 3];
    size_t arena = b2 ? (size_t)b2 * 32 : 16384;

    /* The request stays in one exact-size buffer for the later stages,
     * which keep pointers into it. */
    char *buf = fuzz_malloc(in.n);
    if (in.n)
        memcpy(buf, in.p, in.n);
    struct http_request *req = fuzz_malloc(sizeof *req);
    int rc = http_parse_request(buf, in.n, max_head, req);
    FUZZ_CHECK(rc >= 0 || rc == HTTP_PARSE_BAD || rc == HTTP_PARSE_TOO_LARGE ||
               rc == HTTP_PARSE_VERSION);
    check_prefixes(in.p, in.n, max_head, rc);
    if (rc > 0) {
        FUZZ_CHECK((size_t)rc <= in.n && (size_t)rc <= max_head);
        check_head(req, buf, (size_t)rc);

        struct request_env env;
        if (request_env_init(&env, arena) != 0)
            abort();
        int erc = request_env_from_http(&env, req);
        FUZZ_CHECK(erc == 0 || erc == -1);
        if (erc == 0) {
            FUZZ_CHECK(req->target[0] == '/');
            check_env(&env, req);
            if (https)
                (void)request_env_sets(&env, "HTTPS", "on");
            check_handshakes(&env, id_room);
        }
        request_env_free(&env);
    }
    free(req);
    free(buf);
    return 0;
}
