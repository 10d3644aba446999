/* fcgi_record.c - FastCGI record layer (see fcgi_record.h). */
#include "fcgi_record.h"

#include <string.h>

void fcgi_parser_init(struct fcgi_parser *p)
{
    memset(p, 0, sizeof *p);
}

static void ev_clear(struct fcgi_event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->type = FCGI_EV_NONE;
}

size_t fcgi_parser_feed(struct fcgi_parser *p, const uint8_t *in, size_t len,
                        size_t max_data, struct fcgi_event *ev)
{
    size_t off = 0;
    ev_clear(ev);
    if (p->failed) {
        ev->type = FCGI_EV_ERROR;
        ev->error = "not a FastCGI stream";
        return 0;
    }
    if (max_data == 0)
        max_data = 1;
    for (;;) {
        if (!p->in_body) {
            size_t want = FCGI_REC_HEADER_LEN - p->hdr_have;
            size_t take = len - off < want ? len - off : want;
            memcpy(p->hdr + p->hdr_have, in + off, take);
            p->hdr_have += take;
            off += take;
            if (p->hdr_have < FCGI_REC_HEADER_LEN)
                return off;
            if (p->hdr[0] != FCGI_REC_VERSION) {
                p->failed = 1;
                ev->type = FCGI_EV_ERROR;
                ev->error = "unsupported FastCGI version";
                return off;
            }
            p->rec_type = p->hdr[1];
            p->request_id = (unsigned)p->hdr[2] << 8 | p->hdr[3];
            p->content_length = (size_t)p->hdr[4] << 8 | p->hdr[5];
            p->content_left = p->content_length;
            p->padding_left = p->hdr[6];
            p->hdr_have = 0;
            p->in_body = 1;
        }
        if (p->content_left) {
            size_t avail = len - off;
            if (avail == 0)
                return off;
            size_t take = avail < p->content_left ? avail : p->content_left;
            if (take > max_data)
                take = max_data;
            ev->type = FCGI_EV_DATA;
            ev->rec_type = p->rec_type;
            ev->request_id = p->request_id;
            ev->data = in + off;
            ev->len = take;
            p->content_left -= take;
            return off + take;
        }
        if (p->padding_left) {
            size_t avail = len - off;
            size_t take = avail < p->padding_left ? avail : p->padding_left;
            p->padding_left -= take;
            off += take;
            if (p->padding_left)
                return off;
        }
        p->in_body = 0;
        ev->type = FCGI_EV_RECORD_END;
        ev->rec_type = p->rec_type;
        ev->request_id = p->request_id;
        ev->content_length = p->content_length;
        return off;
    }
}

void fcgi_record_header(uint8_t out[FCGI_REC_HEADER_LEN], int type, unsigned request_id,
                        size_t content_length, unsigned padding)
{
    out[0] = FCGI_REC_VERSION;
    out[1] = (uint8_t)type;
    out[2] = (uint8_t)(request_id >> 8);
    out[3] = (uint8_t)request_id;
    out[4] = (uint8_t)(content_length >> 8);
    out[5] = (uint8_t)content_length;
    out[6] = (uint8_t)padding;
    out[7] = 0;
}

void fcgi_record_end_request(uint8_t out[FCGI_REC_END_REQUEST_LEN], unsigned request_id,
                             uint32_t app_status, int protocol_status)
{
    fcgi_record_header(out, FCGI_REC_END_REQUEST, request_id, 8, 0);
    out[8] = (uint8_t)(app_status >> 24);
    out[9] = (uint8_t)(app_status >> 16);
    out[10] = (uint8_t)(app_status >> 8);
    out[11] = (uint8_t)app_status;
    out[12] = (uint8_t)protocol_status;
    out[13] = out[14] = out[15] = 0;
}

/* A length is one byte (< 128) or four with the top bit set. */
static long get_length(const uint8_t *in, size_t len, size_t *used)
{
    if (len < 1)
        return -2;
    if (!(in[0] & 0x80)) {
        *used = 1;
        return in[0];
    }
    if (len < 4)
        return -2;
    *used = 4;
    return (long)((uint32_t)(in[0] & 0x7f) << 24 | (uint32_t)in[1] << 16 |
                  (uint32_t)in[2] << 8 | in[3]);
}

long fcgi_name_value(const uint8_t *in, size_t len, const uint8_t **name, size_t *name_len,
                     const uint8_t **value, size_t *value_len)
{
    size_t u1, u2;
    long nl = get_length(in, len, &u1);
    if (nl == -2)
        return 0;
    long vl = get_length(in + u1, len - u1, &u2);
    if (vl == -2)
        return 0;
    size_t head = u1 + u2;
    if ((size_t)nl > len - head || (size_t)vl > len - head - (size_t)nl)
        return 0;
    *name = in + head;
    *name_len = (size_t)nl;
    *value = in + head + (size_t)nl;
    *value_len = (size_t)vl;
    return (long)(head + (size_t)nl + (size_t)vl);
}

static size_t put_length(uint8_t *out, size_t n)
{
    if (n < 128) {
        out[0] = (uint8_t)n;
        return 1;
    }
    out[0] = (uint8_t)(0x80 | (n >> 24));
    out[1] = (uint8_t)(n >> 16);
    out[2] = (uint8_t)(n >> 8);
    out[3] = (uint8_t)n;
    return 4;
}

size_t fcgi_put_name_value(uint8_t *out, size_t outlen, const char *name, size_t name_len,
                           const char *value, size_t value_len)
{
    if (name_len > 0x7fffffff || value_len > 0x7fffffff)
        return 0;
    size_t need = (name_len < 128 ? 1 : 4) + (value_len < 128 ? 1 : 4);
    if (need > outlen || name_len > outlen - need || value_len > outlen - need - name_len)
        return 0;
    size_t o = put_length(out, name_len);
    o += put_length(out + o, value_len);
    memcpy(out + o, name, name_len);
    o += name_len;
    memcpy(out + o, value, value_len);
    return o + value_len;
}
