#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "core/fcgi_record.h"

/* Parse everything in buf, fed in pieces of step bytes (0 = at once),
 * with max_data per DATA event, into a trace: "D<type>:<id>[content]" for
 * a record's content (its DATA pieces joined) and "E<type>:<len> " for its
 * end.  Every split of the input must give the same trace. */
static int trace(const uint8_t *buf, size_t len, size_t step, size_t max_data, char *out, size_t outlen)
{
    struct fcgi_parser p;
    fcgi_parser_init(&p);
    size_t o = 0, off = 0;
    int open = 0;
    out[0] = '\0';
    while (off < len) {
        size_t piece = step && len - off > step ? step : len - off;
        size_t used = 0;
        for (;;) {
            struct fcgi_event ev;
            used += fcgi_parser_feed(&p, buf + off + used, piece - used, max_data, &ev);
            if (ev.type == FCGI_EV_NONE)
                break;
            if (ev.type == FCGI_EV_ERROR)
                return -1;
            char item[128];
            int n;
            if (ev.type == FCGI_EV_DATA) {
                ck_assert_uint_le(ev.len, max_data);
                ck_assert_uint_gt(ev.len, 0);
                if (open)
                    o--;    /* reopen the bracket */
                n = open ? snprintf(item, sizeof item, "%.*s]", (int)ev.len, (const char *)ev.data)
                         : snprintf(item, sizeof item, "D%d:%u[%.*s]", ev.rec_type, ev.request_id,
                                    (int)ev.len, (const char *)ev.data);
                open = 1;
            } else {
                n = snprintf(item, sizeof item, "E%d:%zu ", ev.rec_type, ev.content_length);
                open = 0;
            }
            ck_assert_uint_lt(o + (size_t)n, outlen);
            memcpy(out + o, item, (size_t)n + 1);
            o += (size_t)n;
        }
        ck_assert_uint_eq(used, piece);
        off += piece;
    }
    return 0;
}

static size_t put_record(uint8_t *out, int type, unsigned id, const char *content, unsigned pad)
{
    size_t n = strlen(content);
    fcgi_record_header(out, type, id, n, pad);
    memcpy(out + 8, content, n);
    memset(out + 8 + n, 'P', pad);
    return 8 + n + pad;
}

START_TEST(header_layout)
{
    uint8_t h[8];
    fcgi_record_header(h, FCGI_REC_STDOUT, 0x1234, 0xabcd, 7);
    const uint8_t want[8] = { 1, 6, 0x12, 0x34, 0xab, 0xcd, 7, 0 };
    ck_assert_int_eq(memcmp(h, want, 8), 0);
}
END_TEST

START_TEST(end_request_layout)
{
    uint8_t r[16];
    fcgi_record_end_request(r, 1, 0x01020304, FCGI_REC_REQUEST_COMPLETE);
    const uint8_t want[16] = { 1, 3, 0, 1, 0, 8, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0 };
    ck_assert_int_eq(memcmp(r, want, 16), 0);
}
END_TEST

START_TEST(records_with_padding_any_split)
{
    uint8_t buf[256];
    size_t n = 0;
    n += put_record(buf + n, FCGI_REC_STDIN, 1, "hello", 3);
    n += put_record(buf + n, FCGI_REC_STDIN, 1, "", 0);
    n += put_record(buf + n, FCGI_REC_ABORT_REQUEST, 1, "", 5);
    n += put_record(buf + n, FCGI_REC_GET_VALUES, 0, "xy", 0);
    char whole[512], piece[512];
    ck_assert_int_eq(trace(buf, n, 0, 1024, whole, sizeof whole), 0);
    ck_assert_str_eq(whole, "D5:1[hello]E5:5 E5:0 E2:0 D9:0[xy]E9:2 ");
    for (size_t step = 1; step < 12; step++)
        for (size_t max = 1; max < 8; max += 3) {
            ck_assert_int_eq(trace(buf, n, step, max, piece, sizeof piece), 0);
            ck_assert_str_eq(piece, whole);
        }
}
END_TEST

START_TEST(content_reassembles_under_every_split)
{
    uint8_t buf[256];
    size_t n = put_record(buf, FCGI_REC_STDIN, 7, "abcdefghijklmnopqrstuvwxyz", 6);
    n += put_record(buf + n, FCGI_REC_STDIN, 7, "0123", 0);
    for (size_t step = 0; step < 40; step++) {
        for (size_t max = 1; max < 30; max += 7) {
            struct fcgi_parser p;
            fcgi_parser_init(&p);
            char content[64] = "";
            size_t clen = 0, ends = 0, off = 0;
            while (off < n) {
                size_t piece = step && n - off > step ? step : n - off;
                size_t used = 0;
                for (;;) {
                    struct fcgi_event ev;
                    used += fcgi_parser_feed(&p, buf + off + used, piece - used, max, &ev);
                    if (ev.type == FCGI_EV_NONE)
                        break;
                    if (ev.type == FCGI_EV_DATA) {
                        ck_assert_uint_eq(ev.request_id, 7);
                        memcpy(content + clen, ev.data, ev.len);
                        clen += ev.len;
                    } else if (ev.type == FCGI_EV_RECORD_END) {
                        ends++;
                    }
                }
                ck_assert_uint_eq(used, piece);
                off += piece;
            }
            content[clen] = '\0';
            ck_assert_str_eq(content, "abcdefghijklmnopqrstuvwxyz0123");
            ck_assert_uint_eq(ends, 2);
        }
    }
}
END_TEST

START_TEST(bad_version_fails_and_stays_failed)
{
    uint8_t buf[16] = { 2, 5, 0, 1, 0, 0, 0, 0 };
    struct fcgi_parser p;
    struct fcgi_event ev;
    fcgi_parser_init(&p);
    fcgi_parser_feed(&p, buf, 8, 100, &ev);
    ck_assert_int_eq(ev.type, FCGI_EV_ERROR);
    buf[0] = 1;
    ck_assert_uint_eq(fcgi_parser_feed(&p, buf, 8, 100, &ev), 0);
    ck_assert_int_eq(ev.type, FCGI_EV_ERROR);
}
END_TEST

START_TEST(max_length_record)
{
    static uint8_t buf[8 + 65535];
    fcgi_record_header(buf, FCGI_REC_STDIN, 1, 65535, 0);
    memset(buf + 8, 'x', 65535);
    struct fcgi_parser p;
    struct fcgi_event ev;
    fcgi_parser_init(&p);
    size_t off = 0, content = 0;
    for (;;) {
        off += fcgi_parser_feed(&p, buf + off, sizeof buf - off, 4096, &ev);
        if (ev.type == FCGI_EV_DATA)
            content += ev.len;
        else
            break;
    }
    ck_assert_int_eq(ev.type, FCGI_EV_RECORD_END);
    ck_assert_uint_eq(ev.content_length, 65535);
    ck_assert_uint_eq(content, 65535);
    ck_assert_uint_eq(off, sizeof buf);
}
END_TEST

START_TEST(name_value_round_trip)
{
    uint8_t buf[600];
    char longv[300];
    memset(longv, 'v', sizeof longv);
    size_t n = fcgi_put_name_value(buf, sizeof buf, "SHORT", 5, "x", 1);
    ck_assert_uint_eq(n, 1 + 1 + 5 + 1);
    size_t m = fcgi_put_name_value(buf + n, sizeof buf - n, "LONG", 4, longv, sizeof longv);
    ck_assert_uint_eq(m, 1 + 4 + 4 + sizeof longv);
    const uint8_t *name, *value;
    size_t nl, vl;
    ck_assert_int_eq(fcgi_name_value(buf, n + m, &name, &nl, &value, &vl), (long)n);
    ck_assert_uint_eq(nl, 5);
    ck_assert_int_eq(memcmp(name, "SHORT", 5), 0);
    ck_assert_int_eq(fcgi_name_value(buf + n, m, &name, &nl, &value, &vl), (long)m);
    ck_assert_uint_eq(vl, sizeof longv);
    /* incomplete pairs: 0 */
    for (size_t k = 0; k < m; k++)
        ck_assert_int_eq(fcgi_name_value(buf + n, k, &name, &nl, &value, &vl), 0);
    /* does not fit */
    ck_assert_uint_eq(fcgi_put_name_value(buf, 10, "LONG", 4, longv, sizeof longv), 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("fcgi_record");
    TCase *t = tcase_create("records");
    tcase_add_test(t, header_layout);
    tcase_add_test(t, end_request_layout);
    tcase_add_test(t, records_with_padding_any_split);
    tcase_add_test(t, content_reassembles_under_every_split);
    tcase_add_test(t, bad_version_fails_and_stays_failed);
    tcase_add_test(t, max_length_record);
    tcase_add_test(t, name_value_round_trip);
    suite_add_tcase(s, t);
    return s;
}

UNIT_MAIN
