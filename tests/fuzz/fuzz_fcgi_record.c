/* fuzz_fcgi_record.c - the FastCGI record layer (fcgi_record.c), the
 * name-value pairs of PARAMS, and the request they describe (cgi_env.c and
 * the handshakes reading it).
 *
 * Input: three configuration bytes, then what the web server sends.
 *   byte 0  bits 0-1: max_data (1, byte 1, 4096, 65535); bit 2: parse the
 *           PARAMS stream and handshake the request it describes
 *   byte 1  max_data parameter
 *   byte 2  seed for the chunk sizes
 *
 * Parsed whole, byte by byte and in seeded chunks, the traces must agree.
 * Every record's DATA adds up to the content length its RECORD_END reports,
 * no DATA is longer than max_data, and each complete record re-encodes
 * (fcgi_record_header + content) to the bytes it came from, padding aside.
 */
#include "fuzz_common.h"

#include "core/cgi_env.h"
#include "core/fcgi_record.h"
#include "core/request_env.h"
#include "core/sse.h"
#include "core/ws_handshake.h"

struct model {
    int in_record;
    int rec_type;
    unsigned request_id;
    size_t got;
    size_t record_start;        /* input offset of the current record */
    int failed;
    uint8_t *content;           /* current record's content (whole run) */
    size_t content_len, content_cap;
    uint8_t *params;            /* PARAMS content so far (whole run) */
    size_t params_len, params_cap;
};

static void run(size_t max_data, const uint8_t *src, size_t n, enum fuzz_split mode,
                uint64_t seed, struct fuzz_trace *t, struct model *m, int check_bytes)
{
    struct fcgi_parser p;
    struct fuzz_splitter s;
    size_t off = 0;
    size_t eff_max = max_data ? max_data : 1;

    fcgi_parser_init(&p);
    memset(m, 0, sizeof *m);
    fuzz_splitter_init(&s, mode, seed);
    fuzz_trace_init(t);
    do {
        size_t clen = fuzz_next_chunk(&s, n - off);
        uint8_t *chunk = fuzz_malloc(clen);
        if (clen)
            memcpy(chunk, src + off, clen);
        size_t coff = 0, events = 0;
        for (;;) {
            struct fcgi_event ev;
            size_t used = fcgi_parser_feed(&p, chunk + coff, clen - coff, max_data, &ev);
            FUZZ_CHECK(used <= clen - coff);
            if (m->failed) {
                FUZZ_CHECK(ev.type == FCGI_EV_ERROR && used == 0 && ev.error != NULL);
                break;
            }
            switch (ev.type) {
            case FCGI_EV_NONE:
                FUZZ_CHECK(used == clen - coff);
                break;
            case FCGI_EV_DATA:
                FUZZ_CHECK(ev.len > 0 && ev.len <= eff_max);
                FUZZ_CHECK(ev.data + ev.len == chunk + coff + used && ev.data >= chunk + coff);
                if (m->in_record) {
                    FUZZ_CHECK(ev.rec_type == m->rec_type && ev.request_id == m->request_id);
                } else {
                    m->in_record = 1;
                    m->rec_type = ev.rec_type;
                    m->request_id = ev.request_id;
                }
                m->got += ev.len;
                FUZZ_CHECK(m->got <= FCGI_REC_MAX_CONTENT);
                fuzz_trace_data(t, ev.data, ev.len);
                if (check_bytes) {
                    fuzz_grow(&m->content, &m->content_cap, m->content_len + ev.len);
                    memcpy(m->content + m->content_len, ev.data, ev.len);
                    m->content_len += ev.len;
                }
                break;
            case FCGI_EV_RECORD_END: {
                if (m->in_record)
                    FUZZ_CHECK(ev.rec_type == m->rec_type && ev.request_id == m->request_id);
                FUZZ_CHECK(ev.content_length == m->got);
                FUZZ_CHECK(ev.rec_type >= 0 && ev.rec_type <= 255 && ev.request_id <= 0xFFFF);
                fuzz_trace_event(t, 'R', (uint64_t)ev.rec_type, ev.request_id, NULL, 0);
                fuzz_trace_u64(t, ev.content_length);
                size_t end = off + coff + used;
                if (check_bytes) {
                    /* header (reserved byte aside), content, then padding */
                    size_t total = end - m->record_start;
                    FUZZ_CHECK(total >= FCGI_REC_HEADER_LEN + ev.content_length);
                    size_t padding = total - FCGI_REC_HEADER_LEN - ev.content_length;
                    FUZZ_CHECK(padding <= 255);
                    uint8_t hdr[FCGI_REC_HEADER_LEN];
                    fcgi_record_header(hdr, ev.rec_type, ev.request_id, ev.content_length,
                                       (unsigned)padding);
                    FUZZ_CHECK(memcmp(hdr, src + m->record_start, 7) == 0);
                    FUZZ_CHECK(ev.content_length == 0 ||
                               memcmp(m->content, src + m->record_start + FCGI_REC_HEADER_LEN,
                                      ev.content_length) == 0);
                    if (ev.rec_type == FCGI_REC_PARAMS) {
                        fuzz_grow(&m->params, &m->params_cap, m->params_len + m->content_len);
                        if (m->content_len)
                            memcpy(m->params + m->params_len, m->content, m->content_len);
                        m->params_len += m->content_len;
                    }
                }
                m->record_start = end;
                m->in_record = 0;
                m->got = 0;
                m->content_len = 0;
                break;
            }
            case FCGI_EV_ERROR:
                FUZZ_CHECK(ev.error != NULL);
                m->failed = 1;
                fuzz_trace_error(t, 1);
                break;
            default:
                FUZZ_CHECK(!"unknown event");
            }
            coff += used;
            if (ev.type == FCGI_EV_NONE || ev.type == FCGI_EV_ERROR)
                break;
            FUZZ_CHECK(++events <= 2 * clen + 4);
        }
        free(chunk);
        off += clen;
    } while (off < n);
    fuzz_trace_end(t);
}

/* PARAMS as name-value pairs, re-encoded, then as the request they are. */
static void check_params(const uint8_t *p, size_t n)
{
    char *vars[64];
    size_t nvars = 0, off = 0;

    while (off < n) {
        const uint8_t *name, *value;
        size_t name_len, value_len;
        long used = fcgi_name_value(p + off, n - off, &name, &name_len, &value, &value_len);
        FUZZ_CHECK(used >= -1);
        if (used <= 0)
            break;
        FUZZ_CHECK((size_t)used <= n - off);
        FUZZ_CHECK(name == p + off + (size_t)used - name_len - value_len);
        FUZZ_CHECK(value == name + name_len);
        /* the canonical encoding is never longer than what was read */
        size_t cap = name_len + value_len + 8;
        uint8_t *enc = fuzz_malloc(cap);
        size_t elen = fcgi_put_name_value(enc, cap, (const char *)name, name_len,
                                          (const char *)value, value_len);
        FUZZ_CHECK(elen > 0 && elen <= (size_t)used);
        FUZZ_CHECK(memcmp(enc + elen - name_len - value_len, name, name_len) == 0);
        /* one byte short is refused, not overrun */
        FUZZ_CHECK(fcgi_put_name_value(enc, elen - 1, (const char *)name, name_len,
                                       (const char *)value, value_len) == 0);
        free(enc);
        off += (size_t)used;
        if (nvars < 63 && !memchr(name, '\0', name_len) && !memchr(name, '=', name_len) &&
            !memchr(value, '\0', value_len)) {
            char *v = fuzz_malloc(name_len + value_len + 2);
            memcpy(v, name, name_len);
            v[name_len] = '=';
            memcpy(v + name_len + 1, value, value_len);
            v[name_len + 1 + value_len] = '\0';
            vars[nvars++] = v;
        }
    }
    vars[nvars] = NULL;

    struct request_env env;
    if (request_env_init(&env, 8192) != 0)
        abort();
    if (cgi_env_from_vars(&env, vars) == 0) {
        FUZZ_CHECK(request_env_get(&env, "GATEWAY_INTERFACE") != NULL);
        FUZZ_CHECK(request_env_get(&env, "HTTP_PROXY") == NULL);
        FUZZ_CHECK(env.strings[env.count] == NULL);
        for (size_t i = 0; i < env.count; i++)
            FUZZ_CHECK(strchr(env.strings[i], '=') != NULL);
        static const char *const protocols[] = { "chat" };
        static const struct ws_server_config cfg = { protocols, 1 };
        struct ws_handshake hs;
        int status = ws_handshake_server(&env, &cfg, &hs);
        FUZZ_CHECK(status == 101 || status == 400 || status == 405 || status == 426);
        FUZZ_CHECK(strlen(hs.headers) == hs.headers_len);
        char id[64];
        int got = sse_last_event_id(&env, id, sizeof id);
        FUZZ_CHECK(got == 0 || (got == 1 && strlen(id) > 0 && strlen(id) < sizeof id));
        (void)sse_is_request(&env);
    }
    request_env_free(&env);
    for (size_t i = 0; i < nvars; i++)
        free(vars[i]);
}

static void model_free(struct model *m)
{
    free(m->content);
    free(m->params);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    uint8_t b0 = fuzz_byte(&in), b1 = fuzz_byte(&in), b2 = fuzz_byte(&in);
    static const size_t fixed[] = { 1, 0, 4096, 65535 };
    size_t max_data = (b0 & 3) == 1 ? b1 : fixed[b0 & 3];

    struct fuzz_trace whole, bytes, seeded;
    struct model mw, mb, ms;
    run(max_data, in.p, in.n, SPLIT_WHOLE, 0, &whole, &mw, 1);
    run(max_data, in.p, in.n, SPLIT_BYTES, 0, &bytes, &mb, 0);
    run(max_data, in.p, in.n, SPLIT_SEEDED, b2, &seeded, &ms, 0);
    fuzz_trace_same(&whole, &bytes);
    fuzz_trace_same(&whole, &seeded);
    if ((b0 >> 2) & 1)
        check_params(mw.params, mw.params_len);
    fuzz_trace_free(&whole);
    fuzz_trace_free(&bytes);
    fuzz_trace_free(&seeded);
    model_free(&mw);
    model_free(&mb);
    model_free(&ms);
    return 0;
}
