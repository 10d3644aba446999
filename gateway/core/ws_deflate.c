#include "ws_deflate.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define EXTENSION_NAME "permessage-deflate"

/* Longest parameter value we keep; every valid one ("8".."15") is shorter,
 * so a longer value is simply invalid. */
#define VALUE_MAX 8

/* Memory level for deflateInit2: zlib's default, 128 KiB of hash tables. */
#define DEFLATE_MEM_LEVEL 8

/* The end of a sync flush, stripped by the sender and restored by the
 * receiver (RFC 7692 section 7.2.1 and 7.2.2). */
static const uint8_t flush_tail[4] = { 0x00, 0x00, 0xFF, 0xFF };

/* One extension of a Sec-WebSocket-Extensions list, with the
 * permessage-deflate parameters it carried.  Window bits: -1 absent, 0
 * present without a value, else the value. */
struct offer {
    const char *name;
    size_t name_len;
    int valid;
    int server_no_context_takeover;
    int client_no_context_takeover;
    int server_max_window_bits;
    int client_max_window_bits;
};

static int is_tchar(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int is_ows(int c)
{
    return c == ' ' || c == '\t';
}

static const char *skip_ows(const char *p)
{
    while (is_ows(*p))
        p++;
    return p;
}

static int ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int name_is(const char *s, size_t len, const char *want)
{
    if (strlen(want) != len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (ascii_lower((unsigned char)s[i]) != want[i])
            return 0;
    return 1;
}

/* "8".."15", no sign, no leading zero (RFC 7692 section 7.1.2).  -1 if
 * not. */
static int window_bits(const char *v, size_t len)
{
    if (len == 1 && (v[0] == '8' || v[0] == '9'))
        return v[0] - '0';
    if (len == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5')
        return 10 + (v[1] - '0');
    return -1;
}

/* A parameter with a value that cannot be right, or one seen twice, makes
 * the whole offer unacceptable; it does not make the header malformed. */
static void apply_param(struct offer *o, const char *name, size_t name_len,
                        int has_value, const char *value, size_t value_len)
{
    int bits = has_value ? window_bits(value, value_len) : -1;

    if (name_is(name, name_len, "server_no_context_takeover")) {
        if (o->server_no_context_takeover || has_value)
            o->valid = 0;
        o->server_no_context_takeover = 1;
    } else if (name_is(name, name_len, "client_no_context_takeover")) {
        if (o->client_no_context_takeover || has_value)
            o->valid = 0;
        o->client_no_context_takeover = 1;
    } else if (name_is(name, name_len, "server_max_window_bits")) {
        if (o->server_max_window_bits != -1 || bits < 0)
            o->valid = 0;
        o->server_max_window_bits = bits < 0 ? 0 : bits;
    } else if (name_is(name, name_len, "client_max_window_bits")) {
        if (o->client_max_window_bits != -1 || (has_value && bits < 0))
            o->valid = 0;
        o->client_max_window_bits = bits < 0 ? 0 : bits;
    } else {
        o->valid = 0;
    }
}

/* A parameter value: token or quoted-string, unescaped into value (at most
 * VALUE_MAX bytes kept; *len may exceed that, marking the value too long).
 * Returns the position after it, or NULL on a syntax error. */
static const char *parse_value(const char *p, char value[VALUE_MAX], size_t *len)
{
    *len = 0;
    if (*p != '"') {
        while (is_tchar((unsigned char)*p)) {
            if (*len < VALUE_MAX)
                value[*len] = *p;
            (*len)++;
            p++;
        }
        return *len > 0 ? p : NULL;
    }
    for (p++; *p != '"'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\\') {
            c = (unsigned char)*++p;
            if (c == '\0')
                return NULL;
        } else if (c == '\0' || (c < 0x20 && c != '\t') || c == 0x7F) {
            return NULL;
        }
        if (*len < VALUE_MAX)
            value[*len] = (char)c;
        (*len)++;
    }
    return p + 1;
}

/* Parse the next extension of the list at *pos into o.  Returns 1 when one
 * was parsed, 0 at the end of the list, -1 on a syntax error.  Empty list
 * elements are skipped, as RFC 7230's #rule allows. */
static int next_extension(const char **pos, struct offer *o)
{
    const char *p = *pos;

    memset(o, 0, sizeof *o);
    o->valid = 1;
    o->server_max_window_bits = -1;
    o->client_max_window_bits = -1;

    while (is_ows(*p) || *p == ',')
        p++;
    if (*p == '\0')
        return 0;
    o->name = p;
    while (is_tchar((unsigned char)*p))
        p++;
    o->name_len = (size_t)(p - o->name);
    if (o->name_len == 0)
        return -1;

    for (;;) {
        p = skip_ows(p);
        if (*p == ',' || *p == '\0')
            break;
        if (*p != ';')
            return -1;
        p = skip_ows(p + 1);
        const char *name = p;
        while (is_tchar((unsigned char)*p))
            p++;
        size_t name_len = (size_t)(p - name);
        if (name_len == 0)
            return -1;
        p = skip_ows(p);
        char value[VALUE_MAX];
        size_t value_len = 0;
        int has_value = *p == '=';
        if (has_value) {
            p = parse_value(skip_ows(p + 1), value, &value_len);
            if (p == NULL)
                return -1;
        }
        if (value_len > VALUE_MAX)
            o->valid = 0;
        else
            apply_param(o, name, name_len, has_value, value, value_len);
    }
    *pos = p;
    return 1;
}

static int is_ours(const struct offer *o)
{
    return name_is(o->name, o->name_len, EXTENSION_NAME);
}

int ws_deflate_negotiate(const char *offers, const struct ws_deflate_config *cfg,
                         struct ws_deflate_params *params,
                         char response[WS_DEFLATE_HEADER_MAX])
{
    const char *pos = offers;
    struct offer o, chosen;
    int found = 0, rc;

    memset(&chosen, 0, sizeof chosen);
    response[0] = '\0';
    if (offers == NULL || !cfg->enabled)
        return 0;
    /* The whole header is parsed even after a match, so that a malformed
     * header is reported the same whatever its order. */
    while ((rc = next_extension(&pos, &o)) == 1) {
        if (found || !is_ours(&o) || !o.valid || o.server_max_window_bits == 8)
            continue;
        chosen = o;
        found = 1;
    }
    if (rc < 0)
        return -1;
    if (!found)
        return 0;

    params->server_no_context_takeover =
        chosen.server_no_context_takeover || cfg->no_context_takeover;
    params->client_no_context_takeover = chosen.client_no_context_takeover;
    params->server_max_window_bits =
        chosen.server_max_window_bits > 0 ? chosen.server_max_window_bits : 15;
    params->client_max_window_bits =
        chosen.client_max_window_bits > 0 ? chosen.client_max_window_bits : 15;

    /* A limit the client put on our window must be confirmed (section
     * 7.1.2.1); its own limit is echoed only when it gave a value: our
     * decompressor reads any window, so we never ask for less. */
    char smwb[48] = "", cmwb[48] = "";
    if (chosen.server_max_window_bits > 0)
        snprintf(smwb, sizeof smwb, "; server_max_window_bits=%d",
                 chosen.server_max_window_bits);
    if (chosen.client_max_window_bits > 0)
        snprintf(cmwb, sizeof cmwb, "; client_max_window_bits=%d",
                 chosen.client_max_window_bits);
    int n = snprintf(response, WS_DEFLATE_HEADER_MAX, "%s%s%s%s%s", EXTENSION_NAME,
                     params->server_no_context_takeover ? "; server_no_context_takeover" : "",
                     params->client_no_context_takeover ? "; client_no_context_takeover" : "",
                     smwb, cmwb);
    return n > 0 && n < WS_DEFLATE_HEADER_MAX ? 1 : -1;
}

size_t ws_deflate_client_offer(const struct ws_deflate_config *cfg,
                               char out[WS_DEFLATE_HEADER_MAX])
{
    out[0] = '\0';
    if (!cfg->enabled)
        return 0;
    /* client_max_window_bits without a value tells the server it may limit
     * our window; most servers expect it, as browsers send it. */
    int n = snprintf(out, WS_DEFLATE_HEADER_MAX, "%s; client_max_window_bits%s",
                     EXTENSION_NAME,
                     cfg->no_context_takeover ? "; client_no_context_takeover" : "");
    return n > 0 ? (size_t)n : 0;
}

int ws_deflate_client_accept(const char *response, const struct ws_deflate_config *cfg,
                             struct ws_deflate_params *params)
{
    const char *pos = response;
    struct offer o;
    int count = 0, rc;

    if (response == NULL)
        return 0;
    while ((rc = next_extension(&pos, &o)) == 1) {
        /* We offered one thing; anything else, or it twice, is a server
         * error we must not paper over. */
        if (!cfg->enabled || !is_ours(&o) || ++count > 1 || !o.valid)
            return -1;
        if (o.client_max_window_bits == 0 || o.client_max_window_bits == 8)
            return -1;
        params->server_no_context_takeover = o.server_no_context_takeover;
        params->client_no_context_takeover =
            o.client_no_context_takeover || cfg->no_context_takeover;
        params->server_max_window_bits =
            o.server_max_window_bits > 0 ? o.server_max_window_bits : 15;
        params->client_max_window_bits =
            o.client_max_window_bits > 0 ? o.client_max_window_bits : 15;
    }
    if (rc < 0)
        return -1;
    return count;
}

void ws_deflate_init(struct ws_deflate *d, enum ws_role role,
                     const struct ws_deflate_params *params,
                     size_t threshold, size_t max_message)
{
    int server = role == WS_ROLE_SERVER;
    int bits = server ? params->server_max_window_bits : params->client_max_window_bits;

    memset(d, 0, sizeof *d);
    /* Negotiation never agrees to 8 for our side; 9 stays within any limit
     * a peer could set if it ever did. */
    d->def_window_bits = bits < 9 ? 9 : bits > 15 ? 15 : bits;
    d->def_reset = server ? params->server_no_context_takeover
                          : params->client_no_context_takeover;
    d->inf_reset = server ? params->client_no_context_takeover
                          : params->server_no_context_takeover;
    d->threshold = threshold;
    d->max_message = max_message;
}

void ws_deflate_free(struct ws_deflate *d)
{
    if (d->def_ready)
        deflateEnd(&d->def);
    if (d->inf_ready)
        inflateEnd(&d->inf);
    d->def_ready = d->inf_ready = 0;
}

int ws_deflate_worth(const struct ws_deflate *d, size_t len)
{
    return len >= d->threshold;
}

int ws_deflate_compress(struct ws_deflate *d, const uint8_t *msg, size_t len,
                        uint8_t *out, size_t cap, size_t *out_len)
{
    *out_len = 0;
    /* An empty message is one empty stored block minus the stripped
     * marker; it needs no compressor and leaves no history. */
    if (len == 0) {
        if (cap < 1)
            return WS_DEFLATE_E_SPACE;
        out[0] = 0x00;
        *out_len = 1;
        return WS_DEFLATE_OK;
    }
    if (len > UINT_MAX)
        return WS_DEFLATE_E_SPACE;
    if (cap > UINT_MAX)
        cap = UINT_MAX;
    if (!d->def_ready) {
        if (deflateInit2(&d->def, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
                         -d->def_window_bits, DEFLATE_MEM_LEVEL,
                         Z_DEFAULT_STRATEGY) != Z_OK)
            return WS_DEFLATE_E_MEMORY;
        d->def_ready = 1;
    }

    d->def.next_in = (Bytef *)(uintptr_t)msg;   /* zlib's API is not const */
    d->def.avail_in = (uInt)len;
    d->def.next_out = out;
    d->def.avail_out = (uInt)cap;
    int rc = deflate(&d->def, Z_SYNC_FLUSH);
    size_t n = cap - d->def.avail_out;

    /* With output space left over, deflate has flushed everything; with
     * none, more may be pending and we cannot tell. */
    if (rc != Z_OK || d->def.avail_in != 0 || d->def.avail_out == 0 ||
        n < sizeof flush_tail || memcmp(out + n - sizeof flush_tail, flush_tail,
                                        sizeof flush_tail) != 0) {
        /* Our compressor has seen a message the peer will not: start a new
         * stream, which refers to nothing before it. */
        deflateReset(&d->def);
        return WS_DEFLATE_E_SPACE;
    }
    if (d->def_reset)
        deflateReset(&d->def);
    *out_len = n - sizeof flush_tail;
    return WS_DEFLATE_OK;
}

static int inflate_fail(struct ws_deflate *d, int err)
{
    d->inf_error = err;
    return err;
}

int ws_deflate_decompress(struct ws_deflate *d, const uint8_t *in, size_t len,
                          int fin, size_t *used,
                          uint8_t *out, size_t cap, size_t *produced)
{
    *used = 0;
    *produced = 0;
    if (d->inf_error != 0)
        return d->inf_error;
    if (!d->inf_ready) {
        if (inflateInit2(&d->inf, -15) != Z_OK)
            return inflate_fail(d, WS_DEFLATE_E_MEMORY);
        d->inf_ready = 1;
    }

    /* Never let zlib write more than one byte past the limit: that byte is
     * what proves the message too big, and the rest is never produced. */
    size_t avail = cap;
    if (d->max_message != 0) {
        size_t left = d->max_message - d->inflated;
        if (left < avail)
            avail = left + 1;
    }
    if (avail > UINT_MAX)
        avail = UINT_MAX;
    d->inf.next_out = out;
    d->inf.avail_out = (uInt)avail;

    for (;;) {
        const uint8_t *src = NULL;
        size_t src_len = 0;
        int from_tail = 0;
        if (*used < len) {
            src = in + *used;
            src_len = len - *used;
        } else if (fin && d->tail_used < sizeof flush_tail) {
            src = flush_tail + d->tail_used;
            src_len = sizeof flush_tail - d->tail_used;
            from_tail = 1;
        }
        if (src_len > UINT_MAX)
            src_len = UINT_MAX;
        /* Called with no input too: output held back by a full buffer last
         * time comes out now. */
        d->inf.next_in = (Bytef *)(uintptr_t)src;
        d->inf.avail_in = (uInt)src_len;
        int rc = inflate(&d->inf, Z_SYNC_FLUSH);
        size_t took = src_len - d->inf.avail_in;
        if (from_tail)
            d->tail_used += (unsigned)took;
        else
            *used += took;

        if (rc == Z_STREAM_END) {
            /* The peer ended its stream with a BFINAL block (RFC 7692
             * 7.2.3.4); whatever follows, the tail included, begins a new
             * one. */
            inflateReset(&d->inf);
        } else if (rc == Z_MEM_ERROR) {
            return inflate_fail(d, WS_DEFLATE_E_MEMORY);
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            /* zlib reads on after filling the buffer (the end of a block,
             * the next header), so corrupt data can turn up after the byte
             * that broke the limit: that byte came first, and the code must
             * not depend on how the message was cut into pieces. */
            if (d->max_message != 0 &&
                d->inflated + (avail - d->inf.avail_out) > d->max_message)
                return inflate_fail(d, WS_DEFLATE_E_TOO_BIG);
            return inflate_fail(d, WS_DEFLATE_E_DATA);
        }
        if (d->inf.avail_out == 0 || src_len == 0)
            break;
        /* Input and room for output, yet no progress: zlib would spin. */
        if (rc == Z_BUF_ERROR)
            return inflate_fail(d, WS_DEFLATE_E_DATA);
    }

    *produced = avail - d->inf.avail_out;
    d->inflated += *produced;
    if (d->max_message != 0 && d->inflated > d->max_message)
        return inflate_fail(d, WS_DEFLATE_E_TOO_BIG);
    if (d->inf.avail_out == 0)
        return WS_DEFLATE_MORE;
    if (fin && d->tail_used == sizeof flush_tail) {
        d->tail_used = 0;
        d->inflated = 0;
        if (d->inf_reset)
            inflateReset(&d->inf);
    }
    return WS_DEFLATE_OK;
}

unsigned ws_deflate_close_code(int result)
{
    switch (result) {
    case WS_DEFLATE_E_TOO_BIG:
        return 1009;
    case WS_DEFLATE_E_DATA:
        return 1007;
    case WS_DEFLATE_E_MEMORY:
        return 1011;
    default:
        return 0;
    }
}
