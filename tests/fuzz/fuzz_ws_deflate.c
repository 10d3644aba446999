/* fuzz_ws_deflate.c - permessage-deflate (ws_deflate.c): negotiation of the
 * Sec-WebSocket-Extensions header on both sides, piecewise inflation of
 * hostile compressed messages under a small max_message, and compression
 * round trips.
 *
 * Input: three configuration bytes, then an extension header (up to the
 * first NUL), then compressed messages, each a 2-byte big-endian length and
 * that many bytes (the last one may be short).
 *   byte 0  bit 0: client_no_context_takeover (the peer resets its
 *           compressor, so we reset the inflater); bits 1-2: output buffer
 *           size; bits 3-5: how max_message comes from byte 1; bit 6:
 *           server_no_context_takeover (round trips); bit 7: our
 *           negotiation config asks for no_context_takeover
 *   byte 1  parameter (also our compressor's window bits, 9..15)
 *   byte 2  seed for the piece sizes
 *
 * Messages are inflated with the input split three ways and with three
 * output buffer sizes; the inflated bytes of every message (and where an
 * error stops it) must agree, every result must keep ws_deflate.h's
 * promises (MORE only with a full buffer, OK only with all input used, no
 * message over max_message, errors sticky), and each message's compressed
 * bytes, taken as plain text, must compress and inflate back unchanged.
 */
#include "fuzz_common.h"

#include "core/ws_deflate.h"

/* Output beyond this per run is not inflated (keeps bombs fast); the runs
 * stop after the same message, since they produce the same bytes. */
#define RUN_OUTPUT_MAX (256 * 1024)

struct config {
    struct ws_deflate_params params;
    size_t max_message;
    size_t cap;
};

struct message {
    const uint8_t *p;
    size_t n;
};

/* Inflate one piece (fin: the end of the message) completely.  Returns the
 * result that ended it (OK or an error). */
static int inflate_piece(struct ws_deflate *d, const struct config *c, const uint8_t *piece,
                         size_t len, int fin, uint8_t *out, size_t cap, size_t *msg_out,
                         struct fuzz_trace *t)
{
    size_t off = 0, calls = 0;
    for (;;) {
        size_t used = 0, produced = 0;
        int rc = ws_deflate_decompress(d, piece ? piece + off : NULL, len - off, fin, &used,
                                       out, cap, &produced);
        FUZZ_CHECK(used <= len - off);
        FUZZ_CHECK(produced <= cap);
        if (rc < 0) {
            FUZZ_CHECK(rc == WS_DEFLATE_E_TOO_BIG || rc == WS_DEFLATE_E_DATA);
            FUZZ_CHECK(ws_deflate_close_code(rc) == (rc == WS_DEFLATE_E_TOO_BIG ? 1009u : 1007u));
            /* Errors are sticky and do nothing. */
            size_t u2 = 1, p2 = 1;
            FUZZ_CHECK(ws_deflate_decompress(d, piece, len, fin, &u2, out, cap, &p2) == rc);
            FUZZ_CHECK(u2 == 0 && p2 == 0);
            /* Whatever came out before the error counts as partial data. */
            fuzz_trace_data(t, out, produced);
            *msg_out += produced;
            return rc;
        }
        FUZZ_CHECK(rc == WS_DEFLATE_OK || rc == WS_DEFLATE_MORE);
        fuzz_trace_data(t, out, produced);
        *msg_out += produced;
        FUZZ_CHECK(*msg_out <= c->max_message);
        off += used;
        if (rc == WS_DEFLATE_MORE) {
            FUZZ_CHECK(produced == cap);
        } else {
            FUZZ_CHECK(off == len);
            return rc;
        }
        /* A full buffer every time is progress; bounded by the limit. */
        FUZZ_CHECK(++calls <= c->max_message / (cap ? cap : 1) + len + 8);
    }
}

static void run(const struct config *c, const struct message *msgs, size_t nmsgs,
                enum fuzz_split mode, uint64_t seed, size_t cap, struct fuzz_trace *t)
{
    struct ws_deflate d;
    struct fuzz_splitter s;
    uint8_t *out = fuzz_malloc(cap);
    size_t total = 0;

    ws_deflate_init(&d, WS_ROLE_SERVER, &c->params, WS_DEFLATE_THRESHOLD, c->max_message);
    fuzz_splitter_init(&s, mode, seed);
    fuzz_trace_init(t);

    for (size_t m = 0; m < nmsgs && total <= RUN_OUTPUT_MAX; m++) {
        size_t off = 0, msg_out = 0;
        int rc = WS_DEFLATE_OK;
        /* Pieces as frames would bring them; then the end of message. */
        while (off < msgs[m].n && rc == WS_DEFLATE_OK) {
            size_t len = fuzz_next_chunk(&s, msgs[m].n - off);
            uint8_t *piece = fuzz_malloc(len);
            if (len)
                memcpy(piece, msgs[m].p + off, len);
            rc = inflate_piece(&d, c, piece, len, 0, out, cap, &msg_out, t);
            free(piece);
            off += len;
        }
        if (rc == WS_DEFLATE_OK)
            rc = inflate_piece(&d, c, NULL, 0, 1, out, cap, &msg_out, t);
        total += msg_out;
        if (rc < 0) {
            fuzz_trace_error(t, (uint64_t)-rc);
            break;
        }
        fuzz_trace_event(t, 'M', msg_out, 0, NULL, 0);
    }
    fuzz_trace_end(t);
    ws_deflate_free(&d);
    free(out);
}

static void check_negotiation(const char *hdr, int nct)
{
    struct ws_deflate_config on = { 1, nct }, off = { 0, 0 };
    struct ws_deflate_params sp, cp;
    char response[WS_DEFLATE_HEADER_MAX];

    FUZZ_CHECK(ws_deflate_negotiate(hdr, &off, &sp, response) == 0 && response[0] == '\0');
    int rc = ws_deflate_negotiate(hdr, &on, &sp, response);
    FUZZ_CHECK(rc >= -1 && rc <= 1);
    FUZZ_CHECK(strlen(response) < WS_DEFLATE_HEADER_MAX);
    if (rc == 1) {
        FUZZ_CHECK(strncmp(response, "permessage-deflate", 18) == 0);
        FUZZ_CHECK(sp.server_max_window_bits >= 9 && sp.server_max_window_bits <= 15);
        FUZZ_CHECK(sp.client_max_window_bits >= 8 && sp.client_max_window_bits <= 15);
        FUZZ_CHECK(!nct || sp.server_no_context_takeover);
        /* Our own client accepts what our server answered, with the same
         * parameters, unless it limits the client's window to 8. */
        struct ws_deflate_config client = { 1, 0 };
        int arc = ws_deflate_client_accept(response, &client, &cp);
        if (sp.client_max_window_bits == 8) {
            FUZZ_CHECK(arc == -1);
        } else {
            FUZZ_CHECK(arc == 1);
            FUZZ_CHECK(cp.server_no_context_takeover == sp.server_no_context_takeover);
            FUZZ_CHECK(cp.client_no_context_takeover == sp.client_no_context_takeover);
            FUZZ_CHECK(cp.server_max_window_bits == sp.server_max_window_bits);
            FUZZ_CHECK(cp.client_max_window_bits == sp.client_max_window_bits);
        }
    } else {
        FUZZ_CHECK(response[0] == '\0' || rc == -1);
    }

    /* The header as a server's answer to our offer. */
    struct ws_deflate_config client = { 1, nct };
    int arc = ws_deflate_client_accept(hdr, &client, &cp);
    FUZZ_CHECK(arc >= -1 && arc <= 1);
    if (arc == 1) {
        FUZZ_CHECK(cp.client_max_window_bits >= 9 && cp.client_max_window_bits <= 15);
        FUZZ_CHECK(cp.server_max_window_bits >= 8 && cp.server_max_window_bits <= 15);
        FUZZ_CHECK(!nct || cp.client_no_context_takeover);
    }
    FUZZ_CHECK(ws_deflate_client_accept(hdr, &off, &cp) <= 0);

    /* Our offer is one our server takes. */
    char offer[WS_DEFLATE_HEADER_MAX];
    FUZZ_CHECK(ws_deflate_client_offer(&client, offer) == strlen(offer));
    FUZZ_CHECK(ws_deflate_negotiate(offer, &on, &sp, response) == 1);
}

/* Each message's bytes as plain text: compressed by a server context and
 * inflated by a client one, message after message, they come back. */
static void check_roundtrip(const struct config *c, const struct message *msgs, size_t nmsgs,
                            int tight)
{
    struct ws_deflate def, inf;
    ws_deflate_init(&def, WS_ROLE_SERVER, &c->params, 0, 0);
    ws_deflate_init(&inf, WS_ROLE_CLIENT, &c->params, 0, 0);
    for (size_t m = 0; m < nmsgs && m < 8; m++) {
        size_t len = msgs[m].n, cap = tight ? len : len + 64, clen = 0;
        uint8_t *comp = fuzz_malloc(cap);
        int rc = ws_deflate_compress(&def, msgs[m].p, len, comp, cap, &clen);
        if (rc == WS_DEFLATE_E_SPACE) {
            /* sent uncompressed instead: the inflater never sees it */
            FUZZ_CHECK(tight || len == 0 || cap < 1);
            free(comp);
            continue;
        }
        FUZZ_CHECK(rc == WS_DEFLATE_OK);
        FUZZ_CHECK(clen <= cap && (clen + 4 < cap || (len == 0 && clen == 1)));
        uint8_t *back = fuzz_malloc(len + 1);
        size_t used = 0, produced = 0;
        rc = ws_deflate_decompress(&inf, comp, clen, 1, &used, back, len + 1, &produced);
        FUZZ_CHECK(rc == WS_DEFLATE_OK);
        FUZZ_CHECK(used == clen && produced == len);
        FUZZ_CHECK(len == 0 || memcmp(back, msgs[m].p, len) == 0);
        free(back);
        free(comp);
    }
    ws_deflate_free(&def);
    ws_deflate_free(&inf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    uint8_t b0 = fuzz_byte(&in), b1 = fuzz_byte(&in), b2 = fuzz_byte(&in);
    struct config c;

    memset(&c, 0, sizeof c);
    c.params.client_no_context_takeover = b0 & 1;
    c.params.server_no_context_takeover = (b0 >> 6) & 1;
    c.params.server_max_window_bits = 9 + (b1 % 7);
    c.params.client_max_window_bits = 15;
    static const size_t caps[] = { 1, 7, 64, 4096 };
    c.cap = caps[(b0 >> 1) & 3];
    switch ((b0 >> 3) & 7) {
    case 0: c.max_message = 65536; break;
    case 1: c.max_message = (size_t)b1 + 1; break;
    case 2: c.max_message = (size_t)b1 * 64 + 1; break;
    case 3: c.max_message = 1; break;
    case 4: c.max_message = (size_t)1 << (b1 % 17); break;
    case 5: c.max_message = 125; break;
    default: c.max_message = 4096 + b1; break;
    }

    /* The extension header, as a C string. */
    const uint8_t *nul = memchr(in.p, '\0', in.n);
    size_t hlen = nul ? (size_t)(nul - in.p) : in.n;
    char *hdr = fuzz_malloc(hlen + 1);
    memcpy(hdr, in.p, hlen);
    hdr[hlen] = '\0';
    check_negotiation(hdr, (b0 >> 7) & 1);
    free(hdr);
    if (!nul)
        return 0;
    in.p += hlen + 1;
    in.n -= hlen + 1;

    struct message msgs[64];
    size_t nmsgs = 0;
    while (in.n > 0 && nmsgs < 64) {
        size_t len = (size_t)fuzz_byte(&in) << 8;
        len |= fuzz_byte(&in);
        if (len > in.n)
            len = in.n;
        msgs[nmsgs].p = in.p;
        msgs[nmsgs].n = len;
        nmsgs++;
        in.p += len;
        in.n -= len;
    }

    /* Caps of 1 make one call per output byte: only with small limits. */
    size_t small = c.max_message <= 4096 ? 1 : 61;
    struct fuzz_trace whole, bytes, seeded;
    run(&c, msgs, nmsgs, SPLIT_WHOLE, 0, 65536, &whole);
    run(&c, msgs, nmsgs, SPLIT_BYTES, 0, c.cap < small ? small : c.cap, &bytes);
    run(&c, msgs, nmsgs, SPLIT_SEEDED, b2, small, &seeded);
    fuzz_trace_same(&whole, &bytes);
    fuzz_trace_same(&whole, &seeded);
    fuzz_trace_free(&whole);
    fuzz_trace_free(&bytes);
    fuzz_trace_free(&seeded);

    check_roundtrip(&c, msgs, nmsgs, b2 & 1);
    return 0;
}
