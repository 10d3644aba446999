#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "core/handler_codec.h"

/* What a whole stream decoded to, in a form that is easy to compare. */
struct trace {
    char events[1024];      /* one letter per event: S D E X, NUL-ended */
    size_t nevents;
    char types[64];         /* record type of each START */
    uint64_t lengths[64];   /* length of each START */
    size_t nrecords;
    uint8_t payload[1024];  /* all DATA bytes, concatenated */
    size_t payload_len;
    const char *error;
    size_t error_at;        /* stream offset of the byte that failed */
};

/* Feed chunk by chunk with the documented pull loop; records every event. */
static void run_chunk(struct rec_decoder *d, struct trace *t,
                      const uint8_t *in, size_t len, size_t base)
{
    size_t off = 0;
    while (off < len) {
        struct rec_event ev;
        size_t used = rec_decoder_feed(d, in + off, len - off, &ev);
        ck_assert_uint_le(used, len - off);
        off += used;
        if (ev.type == REC_EV_NONE) {
            ck_assert_uint_eq(off, len);
            break;
        }
        ck_assert_uint_lt(t->nevents, sizeof t->events - 1);
        switch (ev.type) {
        case REC_EV_START:
            t->events[t->nevents++] = 'S';
            ck_assert_uint_lt(t->nrecords, 64);
            t->types[t->nrecords] = (char)ev.rtype;
            t->lengths[t->nrecords++] = ev.length;
            break;
        case REC_EV_DATA:
            t->events[t->nevents++] = 'D';
            ck_assert_uint_gt(ev.len, 0);
            ck_assert_ptr_eq(ev.data, in + off - ev.len);
            ck_assert_uint_le(t->payload_len + ev.len, sizeof t->payload);
            memcpy(t->payload + t->payload_len, ev.data, ev.len);
            t->payload_len += ev.len;
            break;
        case REC_EV_END:
            t->events[t->nevents++] = 'E';
            break;
        case REC_EV_ERROR:
            t->events[t->nevents++] = 'X';
            ck_assert_ptr_nonnull(ev.error);
            t->error = ev.error;
            t->error_at = base + off;
            return;
        default:
            ck_abort_msg("unexpected event %d", (int)ev.type);
        }
    }
}

/* Decode in as up to three chunks cut at a and b (a <= b <= len). */
static void decode_split(struct trace *t, uint64_t max_len,
                         const uint8_t *in, size_t len, size_t a, size_t b)
{
    struct rec_decoder d;
    memset(t, 0, sizeof *t);
    rec_decoder_init(&d, max_len);
    run_chunk(&d, t, in, a, 0);
    if (!t->error)
        run_chunk(&d, t, in + a, b - a, a);
    if (!t->error)
        run_chunk(&d, t, in + b, len - b, b);
}

static void decode_bytewise(struct trace *t, uint64_t max_len,
                            const uint8_t *in, size_t len)
{
    struct rec_decoder d;
    memset(t, 0, sizeof *t);
    rec_decoder_init(&d, max_len);
    for (size_t i = 0; i < len && !t->error; i++)
        run_chunk(&d, t, in + i, 1, i);
}

/* DATA events depend on how the input is cut; the rest must not. */
static void squeeze_data(struct trace *t)
{
    size_t o = 0;
    for (size_t i = 0; i < t->nevents; i++)
        if (!(t->events[i] == 'D' && o > 0 && t->events[o - 1] == 'D'))
            t->events[o++] = t->events[i];
    t->nevents = o;
    t->events[o] = '\0';
}

static void assert_same(struct trace *got, struct trace *want)
{
    squeeze_data(got);
    squeeze_data(want);
    ck_assert_uint_eq(got->nevents, want->nevents);
    ck_assert_int_eq(memcmp(got->events, want->events, want->nevents), 0);
    ck_assert_uint_eq(got->nrecords, want->nrecords);
    ck_assert_int_eq(memcmp(got->types, want->types, want->nrecords), 0);
    for (size_t i = 0; i < want->nrecords; i++)
        ck_assert_uint_eq(got->lengths[i], want->lengths[i]);
    ck_assert_uint_eq(got->payload_len, want->payload_len);
    ck_assert_int_eq(memcmp(got->payload, want->payload, want->payload_len), 0);
    if (want->error) {
        ck_assert_str_eq(got->error, want->error);
        ck_assert_uint_eq(got->error_at, want->error_at);
    } else {
        ck_assert_ptr_null(got->error);
    }
}

/* Every cut into two and three pieces, and byte by byte, decodes alike. */
static void assert_split_invariant(uint64_t max_len, const uint8_t *in,
                                   size_t len, struct trace *whole)
{
    decode_split(whole, max_len, in, len, len, len);
    for (size_t a = 0; a <= len; a++) {
        for (size_t b = a; b <= len; b++) {
            struct trace t, w = *whole;
            decode_split(&t, max_len, in, len, a, b);
            assert_same(&t, &w);
        }
    }
    struct trace t, w = *whole;
    decode_bytewise(&t, max_len, in, len);
    assert_same(&t, &w);
    squeeze_data(whole);
}

#define U8(s) ((const uint8_t *)(s))

START_TEST(header_format)
{
    char h[REC_HEADER_MAX];
    ck_assert_uint_eq(rec_header(h, REC_TEXT, 0), 4);
    ck_assert_str_eq(h, "t 0\n");
    ck_assert_uint_eq(rec_header(h, REC_BINARY, 65536), 8);
    ck_assert_str_eq(h, "b 65536\n");
    ck_assert_uint_eq(rec_header(h, REC_CLOSE, 12), 5);
    ck_assert_str_eq(h, "c 12\n");
    ck_assert_uint_eq(rec_header(h, REC_TEXT, UINT64_MAX), 23);
    ck_assert_str_eq(h, "t 18446744073709551615\n");
}
END_TEST

static const struct {
    const char *bytes;
    size_t len;
    char type;
    const char *payload;
    size_t plen;
} one_record[] = {
    { "t 5\nhello\n", 10, 't', "hello", 5 },
    { "b 6\n\0\n\0\n\n\0\n", 11, 'b', "\0\n\0\n\n\0", 6 },
    { "c 8\n1000 bye\n", 13, 'c', "1000 bye", 8 },
    { "t 0\n\n", 5, 't', "", 0 },
    { "b 0\n\n", 5, 'b', "", 0 },
    { "c 0\n\n", 5, 'c', "", 0 },
    { "t 12\nline1\nline2\n\n", 18, 't', "line1\nline2\n", 12 },
};

START_TEST(each_record_at_every_split)
{
    const char *b = one_record[_i].bytes;
    size_t len = one_record[_i].len;
    struct trace t;
    assert_split_invariant(UINT64_MAX, U8(b), len, &t);
    ck_assert_ptr_null(t.error);
    ck_assert_str_eq(t.events, one_record[_i].plen ? "SDE" : "SE");
    ck_assert_uint_eq(t.nrecords, 1);
    ck_assert_int_eq(t.types[0], one_record[_i].type);
    ck_assert_uint_eq(t.lengths[0], one_record[_i].plen);
    ck_assert_uint_eq(t.payload_len, one_record[_i].plen);
    ck_assert_int_eq(memcmp(t.payload, one_record[_i].payload,
                            one_record[_i].plen), 0);
}
END_TEST

START_TEST(stream_of_records)
{
    static const char s[] =
        "t 2\nhi\n" "b 0\n\n" "b 3\n\0\n\xff\n" "t 0\n\n" "c 4\n1000\n";
    struct trace t;
    assert_split_invariant(UINT64_MAX, U8(s), sizeof s - 1, &t);
    ck_assert_ptr_null(t.error);
    ck_assert_str_eq(t.events, "SDESESDESESDE");
    ck_assert_uint_eq(t.nrecords, 5);
    ck_assert_int_eq(memcmp(t.types, "tbbtc", 5), 0);
    ck_assert_uint_eq(t.lengths[0], 2);
    ck_assert_uint_eq(t.lengths[1], 0);
    ck_assert_uint_eq(t.lengths[2], 3);
    ck_assert_uint_eq(t.lengths[3], 0);
    ck_assert_uint_eq(t.lengths[4], 4);
    ck_assert_uint_eq(t.payload_len, 9);
    ck_assert_int_eq(memcmp(t.payload, "hi\0\n\xff" "1000", 9), 0);
}
END_TEST

START_TEST(data_points_into_input)
{
    struct rec_decoder d;
    struct rec_event ev;
    const uint8_t *in = U8("b 4\nab");
    rec_decoder_init(&d, 100);
    ck_assert_uint_eq(rec_decoder_feed(&d, in, 6, &ev), 4);
    ck_assert_int_eq(ev.type, REC_EV_START);
    ck_assert_int_eq(ev.rtype, REC_BINARY);
    ck_assert_uint_eq(ev.length, 4);
    ck_assert_uint_eq(rec_decoder_feed(&d, in + 4, 2, &ev), 2);
    ck_assert_int_eq(ev.type, REC_EV_DATA);
    ck_assert_ptr_eq(ev.data, in + 4);
    ck_assert_uint_eq(ev.len, 2);
    /* Only what belongs to the payload is taken from the next chunk. */
    ck_assert_uint_eq(rec_decoder_feed(&d, U8("cd\nt"), 4, &ev), 2);
    ck_assert_int_eq(ev.type, REC_EV_DATA);
    ck_assert_uint_eq(ev.len, 2);
    ck_assert_uint_eq(rec_decoder_feed(&d, U8("\nt"), 2, &ev), 1);
    ck_assert_int_eq(ev.type, REC_EV_END);
    ck_assert_uint_eq(rec_decoder_feed(&d, U8("t"), 1, &ev), 1);
    ck_assert_int_eq(ev.type, REC_EV_NONE);
    ck_assert_uint_eq(rec_decoder_feed(&d, in, 0, &ev), 0);
    ck_assert_int_eq(ev.type, REC_EV_NONE);
}
END_TEST

static const struct {
    const char *bytes;
    uint64_t max_len;
    size_t bad_at;          /* offset of the byte that is refused */
    const char *events;     /* events before the error, then X */
    const char *error;
} bad[] = {
    { "x 1\na\n", 100, 0, "X", "unknown record type" },
    { "T 1\na\n", 100, 0, "X", "unknown record type" },
    { "\n", 100, 0, "X", "unknown record type" },
    { "t 1\na\n\nt 1\na\n", 100, 6, "SDEX", "unknown record type" },
    { "t1\na\n", 100, 1, "X", "missing space after record type" },
    { "t  1\na\n", 100, 2, "X", "record length is not a decimal number" },
    { "t \n\n", 100, 2, "X", "record length is not a decimal number" },
    { "t 1a\n", 100, 3, "X", "record length is not a decimal number" },
    { "t -1\n", 100, 2, "X", "record length is not a decimal number" },
    { "t +1\n", 100, 2, "X", "record length is not a decimal number" },
    { "t 1 \n", 100, 3, "X", "record length is not a decimal number" },
    { "t 1\r\na\n", 100, 3, "X", "record length is not a decimal number" },
    { "t 01\na\n", 100, 3, "X", "record length has a leading zero" },
    { "t 00\n\n", 100, 3, "X", "record length has a leading zero" },
    { "t 100000000000000000000\n", UINT64_MAX, 22, "X",
      "record length has more than 20 digits" },
    { "t 000000000000000000000\n", UINT64_MAX, 3, "X",
      "record length has a leading zero" },
    { "t 18446744073709551616\n", UINT64_MAX, 21, "X",
      "record length overflows 64 bits" },
    { "t 99999999999999999999\n", UINT64_MAX, 21, "X",
      "record length overflows 64 bits" },
    { "t 11\n", 10, 3, "X", "record longer than the maximum" },
    { "b 1\n\n", 0, 2, "X", "record longer than the maximum" },
    { "t 1\nab\n", 100, 5, "SDX", "record payload not followed by LF" },
    { "t 0\nx", 100, 4, "SX", "record payload not followed by LF" },
    { "t 2\nab\r\n", 100, 6, "SDX", "record payload not followed by LF" },
};

START_TEST(errors_at_every_split)
{
    const char *b = bad[_i].bytes;
    struct trace t;
    assert_split_invariant(bad[_i].max_len, U8(b), strlen(b), &t);
    ck_assert_ptr_nonnull(t.error);
    ck_assert_str_eq(t.error, bad[_i].error);
    ck_assert_uint_eq(t.error_at, bad[_i].bad_at);
    ck_assert_uint_eq(t.nevents, strlen(bad[_i].events));
    ck_assert_int_eq(memcmp(t.events, bad[_i].events, t.nevents), 0);
}
END_TEST

START_TEST(failed_decoder_stays_failed)
{
    struct rec_decoder d;
    struct rec_event ev;
    rec_decoder_init(&d, 100);
    ck_assert_uint_eq(rec_decoder_feed(&d, U8("t 01\n"), 5, &ev), 3);
    ck_assert_int_eq(ev.type, REC_EV_ERROR);
    const char *why = ev.error;
    for (int k = 0; k < 3; k++) {
        ck_assert_uint_eq(rec_decoder_feed(&d, U8("t 1\na\n"), 6, &ev), 0);
        ck_assert_int_eq(ev.type, REC_EV_ERROR);
        ck_assert_str_eq(ev.error, why);
    }
    ck_assert_uint_eq(rec_decoder_feed(&d, U8(""), 0, &ev), 0);
    ck_assert_int_eq(ev.type, REC_EV_ERROR);
}
END_TEST

/* Between records only before a type byte: never inside a header, a
 * payload or before its trailing LF, and never after an error. */
START_TEST(between_records)
{
    struct rec_decoder d;
    struct rec_event ev;
    rec_decoder_init(&d, 100);
    ck_assert(rec_decoder_between(&d));
    const char *rec = "t 3\nabc\n";
    size_t off = 0;
    for (size_t i = 0; i < strlen(rec); i++) {
        /* one byte at a time: consumed bytes are never a whole record
         * until the trailing LF */
        while (off <= i) {
            size_t used = rec_decoder_feed(&d, U8(rec) + off, i + 1 - off, &ev);
            off += used;
            if (ev.type == REC_EV_NONE)
                break;
        }
        if (i + 1 < strlen(rec))
            ck_assert_msg(!rec_decoder_between(&d), "between after %zu bytes", i + 1);
    }
    ck_assert(rec_decoder_between(&d));
    rec_decoder_feed(&d, U8("x"), 1, &ev);
    ck_assert_int_eq(ev.type, REC_EV_ERROR);
    ck_assert(!rec_decoder_between(&d));
}
END_TEST

START_TEST(limits_are_inclusive)
{
    struct trace t;
    decode_split(&t, 10, U8("t 10\n0123456789\n"), 16, 16, 16);
    ck_assert_ptr_null(t.error);
    ck_assert_str_eq(t.events, "SDE");
    decode_split(&t, 0, U8("c 0\n\n"), 5, 5, 5);
    ck_assert_ptr_null(t.error);
    ck_assert_str_eq(t.events, "SE");
    decode_split(&t, UINT64_MAX, U8("b 18446744073709551615\n"), 23, 23, 23);
    ck_assert_ptr_null(t.error);
    ck_assert_str_eq(t.events, "S");
    ck_assert_uint_eq(t.lengths[0], UINT64_MAX);
}
END_TEST

static const uint64_t round_lengths[] = {
    0, 1, 9, 10, 99, 125, 126, 65535, 65536, 1000000007ULL,
    UINT64_MAX / 10, UINT64_MAX - 1, UINT64_MAX
};

START_TEST(header_round_trip)
{
    static const enum rec_type types[] = { REC_TEXT, REC_BINARY, REC_CLOSE };
    for (size_t k = 0; k < 3; k++) {
        char h[REC_HEADER_MAX];
        size_t n = rec_header(h, types[k], round_lengths[_i]);
        ck_assert_uint_eq(n, strlen(h));
        struct rec_decoder d;
        struct rec_event ev;
        rec_decoder_init(&d, UINT64_MAX);
        ck_assert_uint_eq(rec_decoder_feed(&d, U8(h), n, &ev), n);
        ck_assert_int_eq(ev.type, REC_EV_START);
        ck_assert_int_eq(ev.rtype, types[k]);
        ck_assert_uint_eq(ev.length, round_lengths[_i]);
        /* One less than the length must be refused. */
        if (round_lengths[_i] > 0) {
            rec_decoder_init(&d, round_lengths[_i] - 1);
            rec_decoder_feed(&d, U8(h), n, &ev);
            ck_assert_int_eq(ev.type, REC_EV_ERROR);
        }
    }
}
END_TEST

START_TEST(whole_record_round_trip)
{
    uint8_t payload[300];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7);   /* includes LF and NUL */
    uint8_t rec[REC_HEADER_MAX + sizeof payload + 1];
    size_t n = rec_header((char *)rec, REC_BINARY, sizeof payload);
    memcpy(rec + n, payload, sizeof payload);
    n += sizeof payload;
    rec[n++] = '\n';
    struct trace t;
    decode_bytewise(&t, sizeof payload, rec, n);
    ck_assert_ptr_null(t.error);
    ck_assert_uint_eq(t.nrecords, 1);
    ck_assert_int_eq(t.types[0], 'b');
    ck_assert_uint_eq(t.payload_len, sizeof payload);
    ck_assert_int_eq(memcmp(t.payload, payload, sizeof payload), 0);
    ck_assert_int_eq(t.events[t.nevents - 1], 'E');
}
END_TEST

START_TEST(close_payload_format)
{
    char out[32];
    ck_assert_uint_eq(rec_close_payload(out, sizeof out, 1000, NULL, 0), 4);
    ck_assert_int_eq(memcmp(out, "1000", 4), 0);
    ck_assert_uint_eq(rec_close_payload(out, sizeof out, 4001, "kicked", 6), 11);
    ck_assert_int_eq(memcmp(out, "4001 kicked", 11), 0);
    ck_assert_uint_eq(rec_close_payload(out, sizeof out, 1006, "", 0), 4);
    ck_assert_int_eq(memcmp(out, "1006", 4), 0);
    ck_assert_uint_eq(rec_close_payload(out, sizeof out, 4999, "a\0b", 3), 8);
    ck_assert_int_eq(memcmp(out, "4999 a\0b", 8), 0);
    /* Exact fit works, one byte less does not, and nothing is written. */
    ck_assert_uint_eq(rec_close_payload(out, 11, 3000, "kicked", 6), 11);
    memset(out, '#', sizeof out);
    ck_assert_uint_eq(rec_close_payload(out, 10, 3000, "kicked", 6), 0);
    ck_assert_uint_eq(rec_close_payload(out, 3, 1000, NULL, 0), 0);
    ck_assert_int_eq(out[0], '#');
}
END_TEST

START_TEST(close_payload_refuses_codes)
{
    static const unsigned codes[] = { 0, 1, 999, 5000, 65535, 100000 };
    char out[32];
    for (size_t k = 0; k < sizeof codes / sizeof codes[0]; k++)
        ck_assert_uint_eq(rec_close_payload(out, sizeof out, codes[k], "x", 1), 0);
}
END_TEST

START_TEST(close_parse_good)
{
    unsigned code = 0;
    const uint8_t *reason = NULL;
    size_t rlen = 99;
    ck_assert_int_eq(rec_close_parse(U8("1000"), 4, &code, &reason, &rlen), 0);
    ck_assert_uint_eq(code, 1000);
    ck_assert_uint_eq(rlen, 0);
    ck_assert_ptr_nonnull(reason);
    const uint8_t *p = U8("4001 kicked out");
    ck_assert_int_eq(rec_close_parse(p, 15, &code, &reason, &rlen), 0);
    ck_assert_uint_eq(code, 4001);
    ck_assert_ptr_eq(reason, p + 5);
    ck_assert_uint_eq(rlen, 10);
    ck_assert_int_eq(rec_close_parse(U8("1005 "), 5, &code, &reason, &rlen), 0);
    ck_assert_uint_eq(code, 1005);
    ck_assert_uint_eq(rlen, 0);
    ck_assert_int_eq(rec_close_parse(U8("4999 \n\0"), 7, &code, &reason, &rlen), 0);
    ck_assert_uint_eq(code, 4999);
    ck_assert_uint_eq(rlen, 2);
}
END_TEST

static const char *const bad_close[] = {
    "", "1", "100", "999", "0999", "5000", "9999", "10000", "1000x",
    " 1000", "+100", "-100", "1e03", "1000\n", "1000\tx", "abcd", "100 x",
};

START_TEST(close_parse_bad)
{
    unsigned code = 7;
    const uint8_t *reason = NULL;
    size_t rlen = 7;
    const char *s = bad_close[_i];
    ck_assert_int_eq(rec_close_parse(U8(s), strlen(s), &code, &reason, &rlen), -1);
    ck_assert_uint_eq(code, 7);
    ck_assert_uint_eq(rlen, 7);
}
END_TEST

START_TEST(close_round_trip)
{
    char out[200];
    for (unsigned c = 1000; c <= 4999; c++) {
        size_t n = rec_close_payload(out, sizeof out, c, "why not", c % 2 ? 7 : 0);
        ck_assert_uint_eq(n, c % 2 ? 12 : 4);
        unsigned code;
        const uint8_t *reason;
        size_t rlen;
        ck_assert_int_eq(rec_close_parse(U8(out), n, &code, &reason, &rlen), 0);
        ck_assert_uint_eq(code, c);
        ck_assert_uint_eq(rlen, c % 2 ? 7 : 0);
        if (rlen)
            ck_assert_int_eq(memcmp(reason, "why not", 7), 0);
    }
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *make_suite(void)
{
    Suite *s = suite_create("handler_codec");
    TCase *tc = tcase_create("records");
    tcase_add_test(tc, header_format);
    tcase_add_loop_test(tc, each_record_at_every_split, 0, N(one_record));
    tcase_add_test(tc, stream_of_records);
    tcase_add_test(tc, between_records);
    tcase_add_test(tc, data_points_into_input);
    tcase_add_loop_test(tc, errors_at_every_split, 0, N(bad));
    tcase_add_test(tc, failed_decoder_stays_failed);
    tcase_add_test(tc, limits_are_inclusive);
    tcase_add_loop_test(tc, header_round_trip, 0, N(round_lengths));
    tcase_add_test(tc, whole_record_round_trip);
    suite_add_tcase(s, tc);

    TCase *cl = tcase_create("close");
    tcase_add_test(cl, close_payload_format);
    tcase_add_test(cl, close_payload_refuses_codes);
    tcase_add_test(cl, close_parse_good);
    tcase_add_loop_test(cl, close_parse_bad, 0, N(bad_close));
    tcase_add_test(cl, close_round_trip);
    suite_add_tcase(s, cl);
    return s;
}

UNIT_MAIN
