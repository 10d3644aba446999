#include "unit.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <zlib.h>

#include "core/ws_deflate.h"

/* ---- negotiation ---- */

static const struct ws_deflate_config cfg_on = { 1, 0 };
static const struct ws_deflate_config cfg_nct = { 1, 1 };
static const struct ws_deflate_config cfg_off = { 0, 0 };

static int negotiate(const char *offers, const struct ws_deflate_config *cfg,
                     struct ws_deflate_params *p, char resp[WS_DEFLATE_HEADER_MAX])
{
    memset(p, 0x55, sizeof *p);     /* must be overwritten on success */
    return ws_deflate_negotiate(offers, cfg, p, resp);
}

static void check_params(const struct ws_deflate_params *p, int snct, int cnct,
                         int smwb, int cmwb)
{
    ck_assert_int_eq(p->server_no_context_takeover, snct);
    ck_assert_int_eq(p->client_no_context_takeover, cnct);
    ck_assert_int_eq(p->server_max_window_bits, smwb);
    ck_assert_int_eq(p->client_max_window_bits, cmwb);
}

START_TEST(negotiate_plain_offer)
{
    struct ws_deflate_params p;
    char resp[WS_DEFLATE_HEADER_MAX];
    ck_assert_int_eq(negotiate("permessage-deflate", &cfg_on, &p, resp), 1);
    ck_assert_str_eq(resp, "permessage-deflate");
    check_params(&p, 0, 0, 15, 15);
}
END_TEST

START_TEST(negotiate_nothing)
{
    struct ws_deflate_params p;
    char resp[WS_DEFLATE_HEADER_MAX];
    ck_assert_int_eq(negotiate(NULL, &cfg_on, &p, resp), 0);
    ck_assert_str_eq(resp, "");
    ck_assert_int_eq(negotiate("", &cfg_on, &p, resp), 0);
    ck_assert_int_eq(negotiate(" , ,", &cfg_on, &p, resp), 0);
    ck_assert_int_eq(negotiate("permessage-deflate", &cfg_off, &p, resp), 0);
    ck_assert_str_eq(resp, "");
    ck_assert_int_eq(negotiate("x-webkit-deflate-frame", &cfg_on, &p, resp), 0);
    ck_assert_int_eq(negotiate("permessage-deflatex", &cfg_on, &p, resp), 0);
}
END_TEST

/* One accepted offer: its response and parameters. */
static const struct {
    const char *offer;
    const char *response;
    int snct, cnct, smwb, cmwb;
} accepted[] = {
    { "permessage-deflate; server_no_context_takeover",
      "permessage-deflate; server_no_context_takeover", 1, 0, 15, 15 },
    { "permessage-deflate; client_no_context_takeover",
      "permessage-deflate; client_no_context_takeover", 0, 1, 15, 15 },
    { "permessage-deflate; server_max_window_bits=10",
      "permessage-deflate; server_max_window_bits=10", 0, 0, 10, 15 },
    { "permessage-deflate; server_max_window_bits=9",
      "permessage-deflate; server_max_window_bits=9", 0, 0, 9, 15 },
    { "permessage-deflate; server_max_window_bits=15",
      "permessage-deflate; server_max_window_bits=15", 0, 0, 15, 15 },
    /* Without a value it only says the client could obey a limit. */
    { "permessage-deflate; client_max_window_bits", "permessage-deflate", 0, 0, 15, 15 },
    { "permessage-deflate; client_max_window_bits=9",
      "permessage-deflate; client_max_window_bits=9", 0, 0, 15, 9 },
    /* 8 for the client's compressor is its problem; we inflate anything. */
    { "permessage-deflate; client_max_window_bits=8",
      "permessage-deflate; client_max_window_bits=8", 0, 0, 15, 8 },
    { "permessage-deflate; client_max_window_bits=15; server_max_window_bits=11; "
      "client_no_context_takeover; server_no_context_takeover",
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
      "server_max_window_bits=11; client_max_window_bits=15", 1, 1, 11, 15 },
    /* Quoted values, unescaped (RFC 7692 section 7.1.2). */
    { "permessage-deflate; server_max_window_bits=\"10\"",
      "permessage-deflate; server_max_window_bits=10", 0, 0, 10, 15 },
    { "permessage-deflate; client_max_window_bits=\"1\\2\"",
      "permessage-deflate; client_max_window_bits=12", 0, 0, 15, 12 },
    /* Whitespace and case are tolerated. */
    { "  Permessage-Deflate ;\tclient_max_window_bits = 10 ,, foo",
      "permessage-deflate; client_max_window_bits=10", 0, 0, 15, 10 },
};

START_TEST(negotiate_each_parameter)
{
    struct ws_deflate_params p;
    char resp[WS_DEFLATE_HEADER_MAX];
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
        ck_assert_msg(negotiate(accepted[i].offer, &cfg_on, &p, resp) == 1,
                      "offer %s", accepted[i].offer);
        ck_assert_str_eq(resp, accepted[i].response);
        check_params(&p, accepted[i].snct, accepted[i].cnct, accepted[i].smwb,
                     accepted[i].cmwb);
    }
}
END_TEST

START_TEST(negotiate_server_wants_no_takeover)
{
    struct ws_deflate_params p;
    char resp[WS_DEFLATE_HEADER_MAX];
    ck_assert_int_eq(negotiate("permessage-deflate; client_max_window_bits", &cfg_nct, &p, resp), 1);
    ck_assert_str_eq(resp, "permessage-deflate; server_no_context_takeover");
    check_params(&p, 1, 0, 15, 15);
    /* Asked for by both: said once. */
    ck_assert_int_eq(negotiate("permessage-deflate; server_no_context_takeover", &cfg_nct, &p, resp), 1);
    ck_assert_str_eq(resp, "permessage-deflate; server_no_context_takeover");
}
END_TEST

/* Offers that must be declined without failing the handshake. */
static const char *const declined[] = {
    "permessage-deflate; server_max_window_bits",
    "permessage-deflate; server_max_window_bits=7",
    "permessage-deflate; server_max_window_bits=16",
    "permessage-deflate; server_max_window_bits=08",
    "permessage-deflate; server_max_window_bits=1a",
    "permessage-deflate; server_max_window_bits=-9",
    "permessage-deflate; server_max_window_bits=\"\"",
    "permessage-deflate; server_max_window_bits=\"1 0\"",
    "permessage-deflate; server_max_window_bits=100000000000000000010",
    /* zlib cannot compress with a 256-byte window. */
    "permessage-deflate; server_max_window_bits=8",
    "permessage-deflate; client_max_window_bits=7",
    "permessage-deflate; client_max_window_bits=16",
    "permessage-deflate; client_max_window_bits=\"\"",
    "permessage-deflate; server_no_context_takeover=1",
    "permessage-deflate; client_no_context_takeover=\"\"",
    /* duplicates */
    "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
    "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
    "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
    "permessage-deflate; client_max_window_bits=9; client_max_window_bits",
    /* unknown parameters */
    "permessage-deflate; foo",
    "permessage-deflate; max_window_bits=10",
    "permessage-deflate; client_max_window_bits; x=\"y\"",
};

START_TEST(negotiate_declines_invalid_offers)
{
    struct ws_deflate_params p;
    char resp[WS_DEFLATE_HEADER_MAX];
    for (size_t i = 0; i < sizeof declined / sizeof declined[0]; i++) {
        ck_assert_msg(negotiate(declined[i], &cfg_on, &p, resp) == 0, "offer %s", declined[i]);
        ck_assert_str_eq(resp, "");
    }
}
END_TEST

START_TEST(negotiate_falls_back_to_later_offer)
{
    struct ws_deflate_params p;
    char resp[WS_DEFLATE_HEADER_MAX];
    ck_assert_int_eq(negotiate("permessage-deflate; server_max_window_bits=8, "
                               "permessage-deflate; server_max_window_bits=9",
                               &cfg_on, &p, resp), 1);
    ck_assert_str_eq(resp, "permessage-deflate; server_max_window_bits=9");
    check_params(&p, 0, 0, 9, 15);

    ck_assert_int_eq(negotiate("permessage-deflate; foo=1, permessage-deflate; "
                               "client_max_window_bits", &cfg_on, &p, resp), 1);
    ck_assert_str_eq(resp, "permessage-deflate");

    ck_assert_int_eq(negotiate("x-webkit-deflate-frame; no_context_takeover, "
                               "permessage-deflate; server_no_context_takeover",
                               &cfg_on, &p, resp), 1);
    ck_assert_str_eq(resp, "permessage-deflate; server_no_context_takeover");

    /* The first acceptable offer wins, not the best. */
    ck_assert_int_eq(negotiate("permessage-deflate; client_no_context_takeover, "
                               "permessage-deflate", &cfg_on, &p, resp), 1);
    ck_assert_str_eq(resp, "permessage-deflate; client_no_context_takeover");

    /* Repeated headers arrive joined by ", ". */
    ck_assert_int_eq(negotiate("permessage-deflate; server_max_window_bits=8, "
                               "permessage-deflate; foo, permessage-deflate; "
                               "client_max_window_bits=12", &cfg_on, &p, resp), 1);
    ck_assert_str_eq(resp, "permessage-deflate; client_max_window_bits=12");

    ck_assert_int_eq(negotiate("permessage-deflate; server_max_window_bits=8, "
                               "permessage-deflate; foo", &cfg_on, &p, resp), 0);
}
END_TEST

START_TEST(negotiate_malformed_header)
{
    static const char *const bad[] = {
        "permessage-deflate;",
        "; server_no_context_takeover",
        "permessage-deflate; =1",
        "permessage-deflate x",
        "permessage-deflate; a=",
        "permessage-deflate; client_max_window_bits=",
        "permessage-deflate; a=b=c",
        "permessage-deflate; a=\"unterminated",
        "permessage-deflate; a=\"ctl\x01\"",
        "permessage-deflate; a=\"esc\\",
        "permessage-deflate=1",
        "\"permessage-deflate\"",
        /* Malformed after an acceptable offer: still malformed. */
        "permessage-deflate, ;",
    };
    struct ws_deflate_params p;
    char resp[WS_DEFLATE_HEADER_MAX];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(negotiate(bad[i], &cfg_on, &p, resp) == -1, "header %s", bad[i]);
    }
}
END_TEST

START_TEST(client_offer)
{
    char out[WS_DEFLATE_HEADER_MAX];
    ck_assert_uint_eq(ws_deflate_client_offer(&cfg_on, out),
                      strlen("permessage-deflate; client_max_window_bits"));
    ck_assert_str_eq(out, "permessage-deflate; client_max_window_bits");
    ws_deflate_client_offer(&cfg_nct, out);
    ck_assert_str_eq(out, "permessage-deflate; client_max_window_bits; client_no_context_takeover");
    ck_assert_uint_eq(ws_deflate_client_offer(&cfg_off, out), 0);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(client_accepts_valid_responses)
{
    struct ws_deflate_params p;
    ck_assert_int_eq(ws_deflate_client_accept(NULL, &cfg_on, &p), 0);
    ck_assert_int_eq(ws_deflate_client_accept("", &cfg_on, &p), 0);
    ck_assert_int_eq(ws_deflate_client_accept("permessage-deflate", &cfg_on, &p), 1);
    check_params(&p, 0, 0, 15, 15);
    ck_assert_int_eq(ws_deflate_client_accept("permessage-deflate", &cfg_nct, &p), 1);
    check_params(&p, 0, 1, 15, 15);
    ck_assert_int_eq(ws_deflate_client_accept("permessage-deflate; server_no_context_takeover; "
                                              "server_max_window_bits=10; "
                                              "client_max_window_bits=12", &cfg_on, &p), 1);
    check_params(&p, 1, 0, 10, 12);
    /* The server's own window of 8 is fine: we inflate with 15. */
    ck_assert_int_eq(ws_deflate_client_accept("permessage-deflate; server_max_window_bits=8",
                                              &cfg_on, &p), 1);
    check_params(&p, 0, 0, 8, 15);
}
END_TEST

START_TEST(client_rejects_invalid_responses)
{
    static const char *const bad[] = {
        "x-foo",
        "permessage-deflate, permessage-deflate",
        "permessage-deflate, x-foo",
        "permessage-deflate; client_max_window_bits",
        "permessage-deflate; client_max_window_bits=8",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; foo",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate;",
    };
    struct ws_deflate_params p;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(ws_deflate_client_accept(bad[i], &cfg_on, &p) == -1, "response %s", bad[i]);
    /* Not offered at all. */
    ck_assert_int_eq(ws_deflate_client_accept("permessage-deflate", &cfg_off, &p), -1);
}
END_TEST

START_TEST(client_and_server_agree)
{
    const struct ws_deflate_config *cfgs[] = { &cfg_on, &cfg_nct };
    for (size_t c = 0; c < 2; c++) {
        for (size_t s = 0; s < 2; s++) {
            char offer[WS_DEFLATE_HEADER_MAX], resp[WS_DEFLATE_HEADER_MAX];
            struct ws_deflate_params sp, cp;
            ws_deflate_client_offer(cfgs[c], offer);
            ck_assert_int_eq(ws_deflate_negotiate(offer, cfgs[s], &sp, resp), 1);
            ck_assert_int_eq(ws_deflate_client_accept(resp, cfgs[c], &cp), 1);
            ck_assert_mem_eq(&sp, &cp, sizeof sp);
        }
    }
}
END_TEST

/* ---- compression ---- */

static const struct ws_deflate_params takeover = { 0, 0, 15, 15 };
static const struct ws_deflate_params no_takeover = { 1, 1, 15, 15 };

/* Inflate one whole message fed in pieces of step bytes, through an output
 * buffer of outcap bytes, into result.  Returns the last result code. */
static int inflate_message(struct ws_deflate *d, const uint8_t *in, size_t len,
                           size_t step, size_t outcap,
                           uint8_t *result, size_t rescap, size_t *reslen)
{
    uint8_t out[256];
    size_t off = 0;
    int rc;

    ck_assert_uint_le(outcap, sizeof out);
    *reslen = 0;
    for (;;) {
        size_t piece = len - off < step ? len - off : step;
        int fin = off + piece == len;
        size_t poff = 0;
        do {
            size_t used, n;
            rc = ws_deflate_decompress(d, in + off + poff, piece - poff, fin, &used,
                                       out, outcap, &n);
            if (rc < 0)
                return rc;
            ck_assert_uint_le(n, outcap);
            ck_assert_uint_le(used, piece - poff);
            ck_assert_uint_le(*reslen + n, rescap);
            memcpy(result + *reslen, out, n);
            *reslen += n;
            poff += used;
        } while (rc == WS_DEFLATE_MORE || poff < piece);
        off += piece;
        if (fin)
            return rc;
    }
}

static void expect_inflates_to(struct ws_deflate *d, const uint8_t *in, size_t len,
                               const char *want)
{
    uint8_t result[256];
    size_t n;
    ck_assert_int_eq(inflate_message(d, in, len, len, 256, result, sizeof result, &n),
                     WS_DEFLATE_OK);
    ck_assert_uint_eq(n, strlen(want));
    ck_assert_mem_eq(result, want, n);
}

static const uint8_t rfc_hello[] = { 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00 };
static const uint8_t rfc_hello_again[] = { 0xf2, 0x00, 0x11, 0x00, 0x00 };

START_TEST(rfc7692_compress_hello)
{
    struct ws_deflate d;
    uint8_t out[64];
    size_t n;

    ws_deflate_init(&d, WS_ROLE_SERVER, &takeover, 0, 0);
    ck_assert_int_eq(ws_deflate_compress(&d, (const uint8_t *)"Hello", 5, out, sizeof out, &n),
                     WS_DEFLATE_OK);
    ck_assert_uint_eq(n, sizeof rfc_hello);
    ck_assert_mem_eq(out, rfc_hello, n);
    /* Section 7.2.3.2: the second one refers back to the first. */
    ck_assert_int_eq(ws_deflate_compress(&d, (const uint8_t *)"Hello", 5, out, sizeof out, &n),
                     WS_DEFLATE_OK);
    ck_assert_uint_eq(n, sizeof rfc_hello_again);
    ck_assert_mem_eq(out, rfc_hello_again, n);
    ws_deflate_free(&d);

    /* Without context takeover every message stands alone. */
    ws_deflate_init(&d, WS_ROLE_SERVER, &no_takeover, 0, 0);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(ws_deflate_compress(&d, (const uint8_t *)"Hello", 5, out, sizeof out, &n),
                         WS_DEFLATE_OK);
        ck_assert_uint_eq(n, sizeof rfc_hello);
        ck_assert_mem_eq(out, rfc_hello, n);
    }
    ws_deflate_free(&d);
}
END_TEST

START_TEST(rfc7692_decompress_examples)
{
    struct ws_deflate d;

    ws_deflate_init(&d, WS_ROLE_CLIENT, &takeover, 0, 0);
    expect_inflates_to(&d, rfc_hello, sizeof rfc_hello, "Hello");
    expect_inflates_to(&d, rfc_hello_again, sizeof rfc_hello_again, "Hello");
    /* 7.2.3.3: a stored block. */
    static const uint8_t stored[] = { 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c,
                                      0x6c, 0x6f, 0x00 };
    expect_inflates_to(&d, stored, sizeof stored, "Hello");
    /* 7.2.3.5: two blocks in one message. */
    static const uint8_t two[] = { 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff,
                                   0xca, 0xc9, 0xc9, 0x07, 0x00 };
    expect_inflates_to(&d, two, sizeof two, "Hello");
    /* 7.2.3.4: BFINAL set; the stream ends and the next message starts a
     * new one. */
    static const uint8_t final[] = { 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00 };
    expect_inflates_to(&d, final, sizeof final, "Hello");
    expect_inflates_to(&d, rfc_hello, sizeof rfc_hello, "Hello");
    expect_inflates_to(&d, final, sizeof final, "Hello");
    /* 7.2.3.6-style empty message. */
    static const uint8_t empty[] = { 0x00 };
    expect_inflates_to(&d, empty, sizeof empty, "");
    ws_deflate_free(&d);
}
END_TEST

/* Text that compresses, with repeats inside and across messages. */
static size_t sample_text(uint8_t *buf, size_t cap, unsigned seed)
{
    size_t n = 0;
    while (n + 64 < cap) {
        n += (size_t)snprintf((char *)buf + n, cap - n,
                              "{\"event\":\"tick\",\"n\":%u,\"data\":\"%08x\"} ",
                              seed, seed * 2654435761u);
        seed = seed * 1103515245u + 12345u;
    }
    return n;
}

START_TEST(decompress_split_at_every_byte)
{
    struct ws_deflate s, c;
    uint8_t msg[600], comp[700], result[700];
    size_t len = sample_text(msg, sizeof msg, 7), clen, rlen;

    ws_deflate_init(&s, WS_ROLE_SERVER, &no_takeover, 0, 0);
    ck_assert_int_eq(ws_deflate_compress(&s, msg, len, comp, sizeof comp, &clen), WS_DEFLATE_OK);
    ck_assert_uint_lt(clen, len);
    ws_deflate_init(&c, WS_ROLE_CLIENT, &no_takeover, 0, 0);
    for (size_t step = 1; step <= clen; step++) {
        for (size_t outcap = 1; outcap <= 256; outcap *= 4) {
            memset(result, 0, sizeof result);
            ck_assert_int_eq(inflate_message(&c, comp, clen, step, outcap, result,
                                             sizeof result, &rlen), WS_DEFLATE_OK);
            ck_assert_uint_eq(rlen, len);
            ck_assert_mem_eq(result, msg, len);
        }
    }
    ws_deflate_free(&s);
    ws_deflate_free(&c);
}
END_TEST

/* Compress count messages one way and inflate them the other, in order;
 * returns the total compressed size. */
static size_t round_trip(const struct ws_deflate_params *params, enum ws_role sender,
                         int count, size_t step)
{
    struct ws_deflate tx, rx;
    enum ws_role receiver = sender == WS_ROLE_SERVER ? WS_ROLE_CLIENT : WS_ROLE_SERVER;
    size_t total = 0;

    ws_deflate_init(&tx, sender, params, 0, 0);
    ws_deflate_init(&rx, receiver, params, 0, 0);
    for (int i = 0; i < count; i++) {
        uint8_t msg[2000], comp[2100], result[2100];
        size_t len = sample_text(msg, sizeof msg, (unsigned)i % 3), clen, rlen;
        ck_assert_int_eq(ws_deflate_compress(&tx, msg, len, comp, sizeof comp, &clen),
                         WS_DEFLATE_OK);
        ck_assert_int_eq(inflate_message(&rx, comp, clen, step, 100, result,
                                         sizeof result, &rlen), WS_DEFLATE_OK);
        ck_assert_uint_eq(rlen, len);
        ck_assert_mem_eq(result, msg, len);
        total += clen;
    }
    ws_deflate_free(&tx);
    ws_deflate_free(&rx);
    return total;
}

START_TEST(round_trip_with_and_without_takeover)
{
    static const struct ws_deflate_params small_windows = { 0, 0, 9, 10 };
    static const struct ws_deflate_params server_only = { 1, 0, 15, 15 };
    size_t with = round_trip(&takeover, WS_ROLE_SERVER, 12, 1000);
    size_t without = round_trip(&no_takeover, WS_ROLE_SERVER, 12, 1000);
    /* Messages repeat every third time: history must pay off. */
    ck_assert_uint_lt(with * 2, without);
    round_trip(&takeover, WS_ROLE_CLIENT, 12, 37);
    round_trip(&no_takeover, WS_ROLE_CLIENT, 12, 37);
    round_trip(&small_windows, WS_ROLE_SERVER, 12, 3);
    round_trip(&small_windows, WS_ROLE_CLIENT, 12, 3);
    round_trip(&server_only, WS_ROLE_SERVER, 12, 500);
    round_trip(&server_only, WS_ROLE_CLIENT, 12, 500);
}
END_TEST

/* A stream made for a 512-byte window must be readable by a decoder that
 * has only 512 bytes: proof the compressor keeps the negotiated limit. */
START_TEST(compressor_respects_window_bits)
{
    static const struct ws_deflate_params w9 = { 0, 0, 9, 9 };
    struct ws_deflate d;
    uint8_t msg[4000], comp[4100], result[4000];
    size_t len = 0, clen;
    /* Repeats at distance 1000, beyond a 512-byte window. */
    while (len < 3000) {
        len += sample_text(msg + len, 1000, 3);
        while (len % 1000 != 0)
            msg[len++] = ' ';
    }

    ws_deflate_init(&d, WS_ROLE_SERVER, &w9, 0, 0);
    ck_assert_int_eq(ws_deflate_compress(&d, msg, len, comp, sizeof comp - 4, &clen),
                     WS_DEFLATE_OK);
    memcpy(comp + clen, "\x00\x00\xff\xff", 4);

    /* Small output steps: within one call zlib could otherwise look back
     * into the output buffer itself, beyond its window. */
    z_stream z;
    size_t rlen = 0;
    memset(&z, 0, sizeof z);
    ck_assert_int_eq(inflateInit2(&z, -9), Z_OK);
    z.next_in = comp;
    z.avail_in = (uInt)(clen + 4);
    while (z.avail_in > 0) {
        ck_assert_uint_lt(rlen, sizeof result);
        z.next_out = result + rlen;
        z.avail_out = 16;
        ck_assert_int_eq(inflate(&z, Z_SYNC_FLUSH), Z_OK);
        rlen += 16 - z.avail_out;
    }
    ck_assert_uint_eq(rlen, len);
    ck_assert_mem_eq(result, msg, len);
    inflateEnd(&z);
    ws_deflate_free(&d);
}
END_TEST

START_TEST(no_space_keeps_contexts_in_sync)
{
    struct ws_deflate tx, rx;
    uint8_t noise[300], comp[400], result[400];
    size_t clen, rlen;
    uint32_t x = 12345;

    for (size_t i = 0; i < sizeof noise; i++) {
        x = x * 1103515245u + 12345u;
        noise[i] = (uint8_t)(x >> 16);
    }
    ws_deflate_init(&tx, WS_ROLE_SERVER, &takeover, 0, 0);
    ws_deflate_init(&rx, WS_ROLE_CLIENT, &takeover, 0, 0);

    ck_assert_int_eq(ws_deflate_compress(&tx, (const uint8_t *)"Hello", 5, comp, sizeof comp, &clen),
                     WS_DEFLATE_OK);
    expect_inflates_to(&rx, comp, clen, "Hello");
    /* Random bytes do not shrink: told to send them as they are. */
    ck_assert_int_eq(ws_deflate_compress(&tx, noise, sizeof noise, comp, sizeof noise, &clen),
                     WS_DEFLATE_E_SPACE);
    ck_assert_uint_eq(clen, 0);
    /* The receiver never saw the noise; the next message must still decode. */
    ck_assert_int_eq(ws_deflate_compress(&tx, (const uint8_t *)"Hello", 5, comp, sizeof comp, &clen),
                     WS_DEFLATE_OK);
    ck_assert_int_eq(inflate_message(&rx, comp, clen, clen, 64, result, sizeof result, &rlen),
                     WS_DEFLATE_OK);
    ck_assert_uint_eq(rlen, 5);
    ck_assert_mem_eq(result, "Hello", 5);
    /* A buffer too small by a little is refused too. */
    ck_assert_int_eq(ws_deflate_compress(&tx, (const uint8_t *)"Hello", 5, comp, 4, &clen),
                     WS_DEFLATE_E_SPACE);
    ck_assert_int_eq(ws_deflate_compress(&tx, (const uint8_t *)"", 0, comp, 0, &clen),
                     WS_DEFLATE_E_SPACE);
    ws_deflate_free(&tx);
    ws_deflate_free(&rx);
}
END_TEST

START_TEST(empty_message)
{
    struct ws_deflate tx, rx;
    uint8_t comp[16];
    size_t clen;
    ws_deflate_init(&tx, WS_ROLE_SERVER, &takeover, 0, 0);
    ws_deflate_init(&rx, WS_ROLE_CLIENT, &takeover, 0, 0);
    ck_assert_int_eq(ws_deflate_compress(&tx, NULL, 0, comp, sizeof comp, &clen), WS_DEFLATE_OK);
    ck_assert_uint_eq(clen, 1);
    ck_assert_uint_eq(comp[0], 0x00);
    expect_inflates_to(&rx, comp, clen, "");
    /* History is unaffected either way. */
    ck_assert_int_eq(ws_deflate_compress(&tx, (const uint8_t *)"Hello", 5, comp, sizeof comp, &clen),
                     WS_DEFLATE_OK);
    expect_inflates_to(&rx, comp, clen, "Hello");
    ws_deflate_free(&tx);
    ws_deflate_free(&rx);
}
END_TEST

START_TEST(max_message_exact_and_over)
{
    struct ws_deflate tx, rx;
    uint8_t msg[1000], comp[1100], result[1100];
    size_t len = sample_text(msg, sizeof msg, 1), clen, rlen;

    ws_deflate_init(&tx, WS_ROLE_SERVER, &no_takeover, 0, 0);
    ck_assert_int_eq(ws_deflate_compress(&tx, msg, len, comp, sizeof comp, &clen), WS_DEFLATE_OK);

    ws_deflate_init(&rx, WS_ROLE_CLIENT, &no_takeover, 0, len);
    ck_assert_int_eq(inflate_message(&rx, comp, clen, 5, 64, result, sizeof result, &rlen),
                     WS_DEFLATE_OK);
    ck_assert_uint_eq(rlen, len);
    /* The count restarts with each message. */
    ck_assert_int_eq(inflate_message(&rx, comp, clen, clen, 256, result, sizeof result, &rlen),
                     WS_DEFLATE_OK);
    ws_deflate_free(&rx);

    ws_deflate_init(&rx, WS_ROLE_CLIENT, &no_takeover, 0, len - 1);
    ck_assert_int_eq(inflate_message(&rx, comp, clen, 5, 64, result, sizeof result, &rlen),
                     WS_DEFLATE_E_TOO_BIG);
    ck_assert_uint_le(rlen, len - 1);
    ws_deflate_free(&rx);
    ws_deflate_free(&tx);
}
END_TEST

/* 100 MB of zeros, compressed by zlib directly in 64 KiB steps. */
#define BOMB_SIZE (100u * 1000u * 1000u)

static uint8_t *make_bomb(size_t *len)
{
    static uint8_t zeros[65536];
    size_t cap = 256 * 1024;
    uint8_t *out = malloc(cap);
    z_stream z;

    ck_assert_ptr_nonnull(out);
    memset(&z, 0, sizeof z);
    ck_assert_int_eq(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_out = out;
    z.avail_out = (uInt)cap;
    for (size_t done = 0; done < BOMB_SIZE; done += sizeof zeros) {
        size_t n = BOMB_SIZE - done < sizeof zeros ? BOMB_SIZE - done : sizeof zeros;
        z.next_in = zeros;
        z.avail_in = (uInt)n;
        ck_assert_int_eq(deflate(&z, done + n == BOMB_SIZE ? Z_SYNC_FLUSH : Z_NO_FLUSH), Z_OK);
        ck_assert_uint_eq(z.avail_in, 0);
        ck_assert_uint_gt(z.avail_out, 0);
    }
    *len = cap - z.avail_out - 4;       /* strip 00 00 ff ff */
    deflateEnd(&z);
    return out;
}

START_TEST(deflate_bomb_stopped_at_limit)
{
    const size_t limit = 1u << 20;
    struct ws_deflate d;
    uint8_t out[16384];
    size_t blen, off = 0, total = 0, used, n;
    uint8_t *bomb = make_bomb(&blen);
    int rc;

    ck_assert_uint_lt(blen, 200 * 1024);
    ws_deflate_init(&d, WS_ROLE_SERVER, &takeover, 0, limit);
    do {
        rc = ws_deflate_decompress(&d, bomb + off, blen - off, 0, &used, out, sizeof out, &n);
        off += used;
        total += n;
    } while (rc == WS_DEFLATE_MORE || (rc == WS_DEFLATE_OK && off < blen));
    ck_assert_int_eq(rc, WS_DEFLATE_E_TOO_BIG);
    ck_assert_uint_eq(ws_deflate_close_code(rc), 1009);
    ck_assert_uint_le(total, limit + 1);
    /* Stopped near the start of the input, not after inflating it all. */
    ck_assert_uint_lt(off, blen / 10);
    /* Sticky. */
    ck_assert_int_eq(ws_deflate_decompress(&d, bomb + off, blen - off, 1, &used, out,
                                           sizeof out, &n), WS_DEFLATE_E_TOO_BIG);
    ck_assert_uint_eq(used, 0);
    ck_assert_uint_eq(n, 0);
    ws_deflate_free(&d);
    free(bomb);
}
END_TEST

START_TEST(corrupt_input_is_error)
{
    struct ws_deflate d;
    uint8_t result[64];
    size_t n;
    /* Block type 11 does not exist. */
    static const uint8_t bad_type[] = { 0xff, 0xff, 0xff };
    ws_deflate_init(&d, WS_ROLE_SERVER, &takeover, 0, 0);
    ck_assert_int_eq(inflate_message(&d, bad_type, sizeof bad_type, 1, 64, result,
                                     sizeof result, &n), WS_DEFLATE_E_DATA);
    ck_assert_uint_eq(ws_deflate_close_code(WS_DEFLATE_E_DATA), 1007);
    /* Sticky: a valid message afterwards does not revive it. */
    ck_assert_int_eq(inflate_message(&d, rfc_hello, sizeof rfc_hello, 7, 64, result,
                                     sizeof result, &n), WS_DEFLATE_E_DATA);
    ws_deflate_free(&d);

    /* Stored block whose length and its complement disagree. */
    static const uint8_t bad_len[] = { 0x00, 0x05, 0x00, 0x00, 0x00, 'H' };
    ws_deflate_init(&d, WS_ROLE_SERVER, &takeover, 0, 0);
    ck_assert_int_eq(inflate_message(&d, bad_len, sizeof bad_len, 2, 64, result,
                                     sizeof result, &n), WS_DEFLATE_E_DATA);
    ws_deflate_free(&d);

    /* A distance reaching before the start of the stream. */
    static const uint8_t far_back[] = { 0xf2, 0x00, 0x11, 0x00, 0x00 };
    ws_deflate_init(&d, WS_ROLE_SERVER, &takeover, 0, 0);
    ck_assert_int_eq(inflate_message(&d, far_back, sizeof far_back, 5, 64, result,
                                     sizeof result, &n), WS_DEFLATE_E_DATA);
    ws_deflate_free(&d);

    /* With no_context_takeover the peer must not refer back either. */
    ws_deflate_init(&d, WS_ROLE_SERVER, &no_takeover, 0, 0);
    expect_inflates_to(&d, rfc_hello, sizeof rfc_hello, "Hello");
    ck_assert_int_eq(inflate_message(&d, rfc_hello_again, sizeof rfc_hello_again, 5, 64,
                                     result, sizeof result, &n), WS_DEFLATE_E_DATA);
    ws_deflate_free(&d);
}
END_TEST

/* Found by tests/fuzz (ws_deflate): "Hello" and then an invalid block
 * header.  With a limit of 4, zlib read on past the fifth byte into the bad
 * header when the buffer had room, so one piece gave E_DATA (1007) and
 * byte-sized pieces E_TOO_BIG (1009).  The limit broke first: always 1009. */
START_TEST(limit_before_corrupt_data_any_split)
{
    static const uint8_t hello_then_bad[] = {
        0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff
    };
    struct ws_deflate d;
    uint8_t result[64];
    size_t n;
    for (size_t step = 1; step <= sizeof hello_then_bad; step++) {
        for (size_t outcap = 1; outcap <= 64; outcap *= 4) {
            ws_deflate_init(&d, WS_ROLE_SERVER, &takeover, 0, 4);
            ck_assert_int_eq(inflate_message(&d, hello_then_bad, sizeof hello_then_bad, step,
                                             outcap, result, sizeof result, &n),
                             WS_DEFLATE_E_TOO_BIG);
            ws_deflate_free(&d);
            /* Within the limit the corrupt header is what fails. */
            ws_deflate_init(&d, WS_ROLE_SERVER, &takeover, 0, 5);
            ck_assert_int_eq(inflate_message(&d, hello_then_bad, sizeof hello_then_bad, step,
                                             outcap, result, sizeof result, &n),
                             WS_DEFLATE_E_DATA);
            ws_deflate_free(&d);
        }
    }
}
END_TEST

START_TEST(threshold_and_codes)
{
    struct ws_deflate d;
    ws_deflate_init(&d, WS_ROLE_SERVER, &takeover, WS_DEFLATE_THRESHOLD, 0);
    ck_assert_int_eq(ws_deflate_worth(&d, 0), 0);
    ck_assert_int_eq(ws_deflate_worth(&d, WS_DEFLATE_THRESHOLD - 1), 0);
    ck_assert_int_eq(ws_deflate_worth(&d, WS_DEFLATE_THRESHOLD), 1);
    ws_deflate_free(&d);
    ws_deflate_free(&d);    /* idempotent, and fine when zlib never started */
    ck_assert_uint_eq(ws_deflate_close_code(WS_DEFLATE_E_TOO_BIG), 1009);
    ck_assert_uint_eq(ws_deflate_close_code(WS_DEFLATE_E_MEMORY), 1011);
    ck_assert_uint_eq(ws_deflate_close_code(WS_DEFLATE_E_SPACE), 0);
    ck_assert_uint_eq(ws_deflate_close_code(WS_DEFLATE_OK), 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("ws_deflate");
    TCase *neg = tcase_create("negotiation");
    tcase_add_test(neg, negotiate_plain_offer);
    tcase_add_test(neg, negotiate_nothing);
    tcase_add_test(neg, negotiate_each_parameter);
    tcase_add_test(neg, negotiate_server_wants_no_takeover);
    tcase_add_test(neg, negotiate_declines_invalid_offers);
    tcase_add_test(neg, negotiate_falls_back_to_later_offer);
    tcase_add_test(neg, negotiate_malformed_header);
    tcase_add_test(neg, client_offer);
    tcase_add_test(neg, client_accepts_valid_responses);
    tcase_add_test(neg, client_rejects_invalid_responses);
    tcase_add_test(neg, client_and_server_agree);
    suite_add_tcase(s, neg);
    TCase *z = tcase_create("compression");
    tcase_set_timeout(z, 60);
    tcase_add_test(z, rfc7692_compress_hello);
    tcase_add_test(z, rfc7692_decompress_examples);
    tcase_add_test(z, decompress_split_at_every_byte);
    tcase_add_test(z, round_trip_with_and_without_takeover);
    tcase_add_test(z, compressor_respects_window_bits);
    tcase_add_test(z, no_space_keeps_contexts_in_sync);
    tcase_add_test(z, empty_message);
    tcase_add_test(z, max_message_exact_and_over);
    tcase_add_test(z, deflate_bomb_stopped_at_limit);
    tcase_add_test(z, corrupt_input_is_error);
    tcase_add_test(z, limit_before_corrupt_data_any_split);
    tcase_add_test(z, threshold_and_codes);
    suite_add_tcase(s, z);
    return s;
}

UNIT_MAIN
