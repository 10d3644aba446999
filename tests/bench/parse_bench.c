/* parse_bench.c - how fast the core turns masked client frames into
 * validated text: ws_parser_feed (header parse + unmask + UTF-8 check) over
 * large masked text messages, beside memcpy of the same bytes, which is the
 * floor any relay pays anyway.  Unmasking and validation alone are timed too
 * so that a slow parse shows which half is slow.
 *
 * usage: parse_bench [--size BYTES] [--total BYTES] [--frame BYTES]
 *                    [--seconds S]
 *
 * Prints one line per payload kind:
 *   PARSE kind=ascii msg=... frame=... parse_gbps=... unmask_gbps=...
 *         utf8_gbps=... memcpy_gbps=...
 * (GB/s of payload, best of the passes made in --seconds per case: the best
 * pass is the one least disturbed by other work on a shared machine).
 * Exit status 1 if the parser's output is wrong.
 */
#include "config.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/utf8.h"
#include "core/ws_frame.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rng = 0x243F6A8885A308D3u;

static uint32_t rnd(void)
{
    /* xorshift64*: reproducible input, so runs compare */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545F4914F6CDD1Du) >> 32);
}

static size_t put_utf8(uint8_t *p, uint32_t cp)
{
    if (cp < 0x80) {
        p[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        p[0] = (uint8_t)(0xC0 | cp >> 6);
        p[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        p[0] = (uint8_t)(0xE0 | cp >> 12);
        p[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        p[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    p[0] = (uint8_t)(0xF0 | cp >> 18);
    p[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    p[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    p[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* Mixed text draws the character length at random, so a validator cannot
 * win by predicting the pattern; ASCII is the common case of JSON chatter. */
static void fill_text(uint8_t *p, size_t n, int mixed)
{
    size_t i = 0;
    while (i < n) {
        uint32_t r = rnd();
        if (!mixed || n - i < 4) {
            p[i++] = (uint8_t)(32 + r % 95);
            continue;
        }
        uint32_t kind = r % 20, v = rnd();
        uint32_t cp;
        if (kind < 8)
            cp = 32 + v % 95;                       /* 40% ASCII */
        else if (kind < 13)
            cp = 0x80 + v % (0x800 - 0x80);         /* 25% two bytes */
        else if (kind < 18) {
            cp = 0x800 + v % (0x10000 - 0x800);     /* 25% three bytes */
            if (cp >= 0xD800 && cp <= 0xDFFF)
                cp -= 0x800;                        /* no surrogates */
        } else
            cp = 0x10000 + v % (0x110000 - 0x10000); /* 10% four bytes */
        i += put_utf8(p + i, cp);
    }
}

struct input {
    uint8_t *pristine;      /* masked frames, never modified */
    uint8_t *work;          /* parsed in place */
    size_t len;
    uint8_t *payload;       /* all messages' payload, unmasked */
    size_t payload_len;
    size_t nmsgs;
};

/* Frames nmsgs messages of `size` bytes, each cut into frames of `frame`
 * bytes, masked with a fresh key per frame as a browser would. */
static void build(struct input *in, size_t size, size_t total, size_t frame,
                  int mixed)
{
    in->nmsgs = total / size ? total / size : 1;
    in->payload_len = in->nmsgs * size;
    in->payload = malloc(in->payload_len);
    size_t nframes = in->nmsgs * ((size + frame - 1) / frame);
    size_t cap = in->payload_len + nframes * 14;
    in->pristine = malloc(cap);
    in->work = malloc(cap);
    if (!in->payload || !in->pristine || !in->work) {
        perror("parse_bench: malloc");
        exit(2);
    }
    for (size_t m = 0; m < in->nmsgs; m++)
        fill_text(in->payload + m * size, size, mixed);
    size_t o = 0;
    for (size_t m = 0; m < in->nmsgs; m++) {
        const uint8_t *msg = in->payload + m * size;
        for (size_t off = 0; off < size; off += frame) {
            size_t fl = size - off < frame ? size - off : frame;
            uint8_t key[4];
            uint32_t k = rnd();
            memcpy(key, &k, 4);
            o += ws_frame_header(in->pristine + o, off + fl == size, 0,
                                 off == 0 ? WS_OP_TEXT : WS_OP_CONT, fl, key);
            /* masked here by hand, not with ws_mask_bytes, so the input
             * does not depend on the code being measured */
            for (size_t i = 0; i < fl; i++)
                in->pristine[o + i] = msg[off + i] ^ key[i & 3];
            o += fl;
        }
    }
    in->len = o;
}

/* One pass of the parser over the whole input; with `check`, verifies
 * every event against the original payload.  Returns 0 if all was right. */
static int parse_pass(struct input *in, size_t size, int check)
{
    struct ws_parser p;
    ws_parser_init(&p, WS_ROLE_SERVER, (uint64_t)size);
    size_t off = 0, starts = 0, ends = 0, got = 0;
    /* until NONE, not until the input is used up: the last MESSAGE_END
     * comes from a call with no input left */
    for (;;) {
        struct ws_event ev;
        off += ws_parser_feed(&p, in->work + off, in->len - off, &ev);
        if (ev.type == WS_EV_NONE)
            break;
        if (!check) {
            if (ev.type == WS_EV_ERROR)
                return -1;
            continue;
        }
        switch (ev.type) {
        case WS_EV_MESSAGE_START:
            if (ev.opcode != WS_OP_TEXT || ev.compressed) {
                fprintf(stderr, "parse_bench: message %zu: opcode %d\n", starts,
                        ev.opcode);
                return -1;
            }
            starts++;
            break;
        case WS_EV_DATA:
            if (got + ev.len > in->payload_len
                || memcmp(ev.data, in->payload + got, ev.len) != 0) {
                fprintf(stderr, "parse_bench: payload differs near byte %zu\n", got);
                return -1;
            }
            got += ev.len;
            break;
        case WS_EV_MESSAGE_END:
            ends++;
            if (got != ends * size) {
                fprintf(stderr, "parse_bench: message %zu ended after %zu bytes\n",
                        ends, got - (ends - 1) * size);
                return -1;
            }
            break;
        case WS_EV_ERROR:
            fprintf(stderr, "parse_bench: parser error %u: %s\n", ev.code,
                    ev.error ? ev.error : "?");
            return -1;
        default:
            fprintf(stderr, "parse_bench: unexpected event %d\n", (int)ev.type);
            return -1;
        }
    }
    if (check && (starts != in->nmsgs || ends != in->nmsgs || got != in->payload_len)) {
        fprintf(stderr, "parse_bench: %zu starts, %zu ends, %zu bytes; want %zu, %zu, %zu\n",
                starts, ends, got, in->nmsgs, in->nmsgs, in->payload_len);
        return -1;
    }
    return 0;
}

enum which { W_PARSE, W_UNMASK, W_UTF8, W_MEMCPY };

/* Best time of the passes that fit in `seconds` (at least three). */
static double best_gbps(struct input *in, size_t size, enum which w, double seconds)
{
    uint64_t best = UINT64_MAX, spent = 0;
    uint8_t key[4] = { 0x12, 0x34, 0x56, 0x78 };
    for (int pass = 0; pass < 3 || spent < (uint64_t)(seconds * 1e9); pass++) {
        if (w == W_PARSE)
            memcpy(in->work, in->pristine, in->len);    /* not timed */
        uint64_t t0 = now_ns();
        switch (w) {
        case W_PARSE:
            if (parse_pass(in, size, 0) < 0) {
                fprintf(stderr, "parse_bench: parser failed during timing\n");
                exit(1);
            }
            break;
        case W_UNMASK:
            ws_mask_bytes(in->work, in->payload_len, key, 0);
            break;
        case W_UTF8:
            /* the result is used, so the call cannot be optimised away */
            if (!utf8_valid(in->payload, in->payload_len)) {
                fprintf(stderr, "parse_bench: utf8_valid failed during timing\n");
                exit(1);
            }
            break;
        case W_MEMCPY:
            memcpy(in->work, in->payload, in->payload_len);
            break;
        }
        uint64_t dt = now_ns() - t0;
        spent += dt;
        if (dt < best)
            best = dt;
        if (pass > 10000)
            break;
    }
    return (double)in->payload_len / (double)(best ? best : 1);
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        { "size", required_argument, NULL, 's' },
        { "total", required_argument, NULL, 't' },
        { "frame", required_argument, NULL, 'f' },
        { "seconds", required_argument, NULL, 'S' },
        { NULL, 0, NULL, 0 }
    };
    size_t size = 1u << 20, total = 16u << 20, frame = 0;
    double seconds = 0.3;
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 's': size = strtoul(optarg, NULL, 0); break;
        case 't': total = strtoul(optarg, NULL, 0); break;
        case 'f': frame = strtoul(optarg, NULL, 0); break;
        case 'S': seconds = atof(optarg); break;
        default:
            fprintf(stderr, "usage: parse_bench [--size BYTES] [--total BYTES]"
                    " [--frame BYTES] [--seconds S]\n");
            return 2;
        }
    }
    if (size < 16 || total < size) {
        fprintf(stderr, "parse_bench: need --size >= 16 and --total >= --size\n");
        return 2;
    }
    if (frame == 0 || frame > size)
        frame = size;
    int rc = 0;
    for (int mixed = 0; mixed <= 1; mixed++) {
        struct input in;
        build(&in, size, total, frame, mixed);
        if (!utf8_valid(in.payload, in.payload_len)) {
            fprintf(stderr, "parse_bench: utf8_valid rejects valid %s text\n",
                    mixed ? "mixed" : "ascii");
            rc = 1;
        }
        memcpy(in.work, in.pristine, in.len);
        if (parse_pass(&in, size, 1) < 0) {
            fprintf(stderr, "parse_bench: wrong parse of %s text; no timing\n",
                    mixed ? "mixed" : "ascii");
            rc = 1;
        } else {
            double parse = best_gbps(&in, size, W_PARSE, seconds);
            double unmask = best_gbps(&in, size, W_UNMASK, seconds);
            double utf8 = best_gbps(&in, size, W_UTF8, seconds);
            double copy = best_gbps(&in, size, W_MEMCPY, seconds);
            printf("PARSE kind=%s msg=%zu frame=%zu total=%zu parse_gbps=%.2f"
                   " unmask_gbps=%.2f utf8_gbps=%.2f memcpy_gbps=%.2f\n",
                   mixed ? "mixed" : "ascii", size, frame, in.payload_len,
                   parse, unmask, utf8, copy);
        }
        free(in.payload);
        free(in.pristine);
        free(in.work);
    }
    return rc;
}
