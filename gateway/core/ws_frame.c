/* ws_frame.c - RFC 6455 frame parser and encoder.
 *
 * The parser copies nothing but frame headers (at most 14 bytes) and
 * control payloads (at most 125): message payload is unmasked in the
 * caller's buffer and handed back as a pointer into it, so a message of any
 * size passes through with no buffering here.
 */
#include "ws_frame.h"

#include <string.h>

#include "utf8.h"
#include "ws_close.h"

enum {
    ST_HDR_BASE,    /* reading the first two header bytes */
    ST_HDR_EXT,     /* reading extended length and masking key */
    ST_PAYLOAD,     /* reading the payload of the current frame */
    ST_CLOSED       /* a close frame was delivered; input is discarded */
};

/* Text payload is unmasked and validated in slices this big, so the
 * validator reads bytes the unmasking just wrote while they are still in
 * L1 cache instead of making a second pass over a multi-megabyte buffer. */
#define SLICE 8192

static int is_control(int opcode)
{
    return (opcode & 0x8) != 0;
}

static void fail(struct ws_parser *p, struct ws_event *ev, unsigned code,
                 const char *why)
{
    p->failed = 1;
    p->fail_code = code;
    p->fail_error = why;
    ev->type = WS_EV_ERROR;
    ev->code = code;
    ev->error = why;
}

void ws_parser_init(struct ws_parser *p, enum ws_role role, uint64_t max_message)
{
    memset(p, 0, sizeof *p);
    p->role = role;
    p->max_message = max_message;
    p->state = ST_HDR_BASE;
    p->hdr_need = 2;
    p->utf8_state = UTF8_STATE_INIT;
}

/* Everything that can be judged from the first two bytes is judged there,
 * so a bad frame fails before its length or key arrive.  Returns 0 after
 * failing the parser. */
static int check_base(struct ws_parser *p, struct ws_event *ev)
{
    uint8_t b0 = p->hdr[0], b1 = p->hdr[1];
    unsigned len7 = b1 & 0x7F;

    p->fin = b0 >> 7;
    p->rsv1 = (b0 >> 6) & 1;
    p->opcode = b0 & 0x0F;
    p->masked = b1 >> 7;

    if (b0 & 0x30) {
        fail(p, ev, WS_CLOSE_PROTOCOL, "RSV2 or RSV3 set");
        return 0;
    }
    switch (p->opcode) {
    case WS_OP_CONT: case WS_OP_TEXT: case WS_OP_BINARY:
    case WS_OP_CLOSE: case WS_OP_PING: case WS_OP_PONG:
        break;
    default:
        fail(p, ev, WS_CLOSE_PROTOCOL, "reserved opcode");
        return 0;
    }
    if (is_control(p->opcode)) {
        if (!p->fin) {
            fail(p, ev, WS_CLOSE_PROTOCOL, "fragmented control frame");
            return 0;
        }
        if (len7 > 125) {
            fail(p, ev, WS_CLOSE_PROTOCOL, "control frame payload over 125 bytes");
            return 0;
        }
        if (p->rsv1) {
            fail(p, ev, WS_CLOSE_PROTOCOL, "RSV1 set on a control frame");
            return 0;
        }
    } else if (p->opcode == WS_OP_CONT) {
        if (!p->in_message) {
            fail(p, ev, WS_CLOSE_PROTOCOL, "continuation frame outside a message");
            return 0;
        }
        /* permessage-deflate marks the message, not each fragment. */
        if (p->rsv1) {
            fail(p, ev, WS_CLOSE_PROTOCOL, "RSV1 set on a continuation frame");
            return 0;
        }
    } else {
        if (p->in_message) {
            fail(p, ev, WS_CLOSE_PROTOCOL, "new message inside a fragmented message");
            return 0;
        }
        if (p->rsv1 && !p->allow_rsv1) {
            fail(p, ev, WS_CLOSE_PROTOCOL, "RSV1 set without a negotiated extension");
            return 0;
        }
    }
    if (p->role == WS_ROLE_SERVER && !p->masked) {
        fail(p, ev, WS_CLOSE_PROTOCOL, "unmasked frame from a client");
        return 0;
    }
    if (p->role == WS_ROLE_CLIENT && p->masked) {
        fail(p, ev, WS_CLOSE_PROTOCOL, "masked frame from a server");
        return 0;
    }
    p->hdr_need = 2u + (len7 == 126 ? 2u : len7 == 127 ? 8u : 0u) + (p->masked ? 4u : 0u);
    return 1;
}

static int text_checked(const struct ws_parser *p)
{
    return p->msg_opcode == WS_OP_TEXT && !p->msg_compressed;
}

/* The current data frame's payload is complete.  Returns 0 when a text
 * message ends inside a character. */
static int data_frame_done(struct ws_parser *p)
{
    p->state = ST_HDR_BASE;
    if (!p->fin)
        return 1;
    if (text_checked(p) && p->utf8_state != UTF8_STATE_INIT)
        return 0;
    p->pending_end = 1;
    return 1;
}

/* A control frame's payload is complete (it is in p->ctl). */
static void control_done(struct ws_parser *p, struct ws_event *ev)
{
    p->state = ST_HDR_BASE;
    if (p->opcode == WS_OP_CLOSE) {
        unsigned code;
        const uint8_t *reason;
        size_t reason_len;
        if (ws_close_parse(p->ctl, p->ctl_len, &code, &reason, &reason_len) < 0) {
            fail(p, ev, code, code == WS_CLOSE_INVALID_DATA
                 ? "close reason is not UTF-8" : "invalid close payload");
            return;
        }
        ev->type = WS_EV_CLOSE;
        ev->code = code;
        /* reason points into p->ctl; taken from there to stay writable. */
        ev->data = reason_len ? p->ctl + 2 : NULL;
        ev->len = reason_len;
        p->state = ST_CLOSED;
        return;
    }
    ev->type = p->opcode == WS_OP_PING ? WS_EV_PING : WS_EV_PONG;
    ev->data = p->ctl;
    ev->len = p->ctl_len;
}

/* The header is complete: decode the length and key, enforce what needs
 * them, and produce the events a header alone can produce. */
static void start_frame(struct ws_parser *p, struct ws_event *ev)
{
    const uint8_t *h = p->hdr;
    uint64_t n = h[1] & 0x7F;
    size_t at = 2;

    if (n == 126) {
        n = (uint64_t)h[2] << 8 | h[3];
        at = 4;
        if (n < 126) {
            fail(p, ev, WS_CLOSE_PROTOCOL, "16-bit length not minimal");
            return;
        }
    } else if (n == 127) {
        n = 0;
        for (size_t i = 2; i < 10; i++)
            n = n << 8 | h[i];
        at = 10;
        if (n >> 63) {
            fail(p, ev, WS_CLOSE_PROTOCOL, "64-bit length with the top bit set");
            return;
        }
        if (n <= 0xFFFF) {
            fail(p, ev, WS_CLOSE_PROTOCOL, "64-bit length not minimal");
            return;
        }
    }
    if (p->masked)
        memcpy(p->mask, h + at, 4);
    p->mask_pos = 0;
    p->remaining = n;
    p->hdr_have = 0;
    p->hdr_need = 2;
    p->state = ST_PAYLOAD;

    if (is_control(p->opcode)) {
        p->ctl_len = 0;
        if (n == 0)
            control_done(p, ev);
        return;
    }

    int first = p->opcode != WS_OP_CONT;
    uint64_t so_far = first ? 0 : p->msg_len;
    if (p->max_message && n > p->max_message - so_far) {
        fail(p, ev, WS_CLOSE_TOO_BIG, "message exceeds the size limit");
        return;
    }
    if (first) {
        p->in_message = 1;
        p->msg_opcode = p->opcode;
        p->msg_compressed = p->rsv1;
        p->msg_len = 0;
        p->utf8_state = UTF8_STATE_INIT;
        ev->type = WS_EV_MESSAGE_START;
        ev->opcode = p->opcode;
        ev->compressed = p->rsv1;
    }
    if (n == 0 && !data_frame_done(p))
        fail(p, ev, WS_CLOSE_INVALID_DATA, "text message ends inside a character");
}

/* Unmask and, for text, validate; 0 on invalid UTF-8. */
static int take_data(struct ws_parser *p, uint8_t *d, size_t n)
{
    int check = text_checked(p);
    for (size_t i = 0; i < n; i += SLICE) {
        size_t k = n - i < SLICE ? n - i : SLICE;
        if (p->masked)
            p->mask_pos = ws_mask_bytes(d + i, k, p->mask, p->mask_pos);
        if (check && utf8_feed(&p->utf8_state, d + i, k) == UTF8_INVALID)
            return 0;
    }
    return 1;
}

size_t ws_parser_feed(struct ws_parser *p, uint8_t *in, size_t len,
                      struct ws_event *ev)
{
    size_t used = 0;

    *ev = (struct ws_event){ .type = WS_EV_NONE };
    if (p->failed) {
        fail(p, ev, p->fail_code, p->fail_error);
        return 0;
    }
    if (p->state == ST_CLOSED)
        return len;

    for (;;) {
        if (p->pending_end) {
            p->pending_end = 0;
            p->in_message = 0;
            ev->type = WS_EV_MESSAGE_END;
            return used;
        }
        size_t avail = len - used;

        if (p->state == ST_HDR_BASE || p->state == ST_HDR_EXT) {
            size_t take = p->hdr_need - p->hdr_have;
            if (take > avail)
                take = avail;
            if (take) {
                memcpy(p->hdr + p->hdr_have, in + used, take);
                p->hdr_have += take;
                used += take;
            }
            if (p->hdr_have < p->hdr_need)
                return used;
            if (p->state == ST_HDR_BASE) {
                if (!check_base(p, ev))
                    return used;
                p->state = ST_HDR_EXT;
                continue;
            }
            start_frame(p, ev);
            if (ev->type != WS_EV_NONE)
                return used;
            continue;
        }

        /* ST_PAYLOAD */
        /* remaining > 0 here: empty frames finish in start_frame(). */
        if (avail == 0)
            return used;
        size_t take = p->remaining < avail ? (size_t)p->remaining : avail;
        uint8_t *d = in + used;

        if (is_control(p->opcode)) {
            memcpy(p->ctl + p->ctl_len, d, take);
            if (p->masked)
                p->mask_pos = ws_mask_bytes(p->ctl + p->ctl_len, take,
                                            p->mask, p->mask_pos);
            p->ctl_len += take;
            p->remaining -= take;
            used += take;
            if (p->remaining == 0)
                control_done(p, ev);
            return used;
        }

        /* Invalid UTF-8 anywhere in this chunk fails it whole: the valid
         * bytes before the bad one are not delivered either. */
        if (!take_data(p, d, take)) {
            fail(p, ev, WS_CLOSE_INVALID_DATA, "text message is not UTF-8");
            return used;
        }
        p->remaining -= take;
        p->msg_len += take;
        used += take;
        if (p->remaining == 0 && !data_frame_done(p)) {
            fail(p, ev, WS_CLOSE_INVALID_DATA, "text message ends inside a character");
            return used;
        }
        ev->type = WS_EV_DATA;
        ev->data = d;
        ev->len = take;
        return used;
    }
}

/* payload_len must stay below 2^63: RFC 6455 gives the top bit no meaning
 * and peers (this parser included) reject it. */
size_t ws_frame_header(uint8_t out[14], int fin, int rsv1, int opcode,
                       uint64_t payload_len, const uint8_t *mask_key)
{
    size_t n = 0;
    uint8_t mask_bit = mask_key ? 0x80 : 0;

    out[n++] = (uint8_t)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (opcode & 0x0F));
    if (payload_len < 126) {
        out[n++] = (uint8_t)(mask_bit | payload_len);
    } else if (payload_len <= 0xFFFF) {
        out[n++] = mask_bit | 126;
        out[n++] = (uint8_t)(payload_len >> 8);
        out[n++] = (uint8_t)payload_len;
    } else {
        out[n++] = mask_bit | 127;
        for (int shift = 56; shift >= 0; shift -= 8)
            out[n++] = (uint8_t)(payload_len >> shift);
    }
    if (mask_key) {
        memcpy(out + n, mask_key, 4);
        n += 4;
    }
    return n;
}

size_t ws_mask_bytes(uint8_t *data, size_t len, const uint8_t key[4], size_t pos)
{
    size_t i = 0;

    pos &= 3;
    if (len >= 16) {
        /* The key repeats every 4 bytes, so an 8-byte word of it rotated
         * to pos stays in phase across any number of whole words; memcpy
         * makes the word loads safe at any alignment. */
        uint8_t k8[8];
        uint64_t kw, w[4];
        for (size_t j = 0; j < 8; j++)
            k8[j] = key[(pos + j) & 3];
        memcpy(&kw, k8, 8);
        for (; len - i >= 32; i += 32) {
            memcpy(w, data + i, 32);
            w[0] ^= kw;
            w[1] ^= kw;
            w[2] ^= kw;
            w[3] ^= kw;
            memcpy(data + i, w, 32);
        }
        for (; len - i >= 8; i += 8) {
            memcpy(w, data + i, 8);
            w[0] ^= kw;
            memcpy(data + i, w, 8);
        }
    }
    for (; i < len; i++)
        data[i] ^= key[(pos + i) & 3];
    return (pos + len) & 3;
}
