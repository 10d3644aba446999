/* The FastCGI stream over a socketpair: what the relay sees when reading
 * (STDIN content, end of body, abort, a vanished web server, records it
 * must skip, bytes libfcgi read ahead) and what the web server receives
 * when pushpipe writes faster than it reads (records stay whole). */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/fcgi_record.h"
#include "io/fcgi_stream.h"

static size_t rec(uint8_t *out, int type, unsigned id, const void *content, size_t n)
{
    fcgi_record_header(out, type, id, n, 0);
    if (n)
        memcpy(out + FCGI_REC_HEADER_LEN, content, n);
    return FCGI_REC_HEADER_LEN + n;
}

static void pair(int sv[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static void put(int fd, const void *p, size_t n)
{
    ck_assert_int_eq(write(fd, p, n), (ssize_t)n);
}

START_TEST(stdin_content_then_end_then_eagain)
{
    int sv[2];
    pair(sv);
    struct stream s;
    uint8_t early[64];
    size_t early_len;
    ck_assert_int_eq(fcgi_stream_init(&s, sv[0], 1, NULL, 0, early, sizeof early, &early_len), 0);
    uint8_t buf[256];
    size_t n = rec(buf, FCGI_REC_STDIN, 1, "hello", 5);
    n += rec(buf + n, FCGI_REC_STDIN, 2, "other id", 8);        /* skipped */
    n += rec(buf + n, FCGI_REC_GET_VALUES, 0, "", 0);           /* skipped */
    n += rec(buf + n, FCGI_REC_STDIN, 1, " world", 6);
    n += rec(buf + n, FCGI_REC_STDIN, 1, "", 0);                /* end of body */
    put(sv[1], buf, n);
    char got[64];
    ck_assert_int_eq(stream_read(&s, got, sizeof got), 11);
    ck_assert_int_eq(memcmp(got, "hello world", 11), 0);
    ck_assert_int_eq(fcgi_stream_input_ended(&s), 1);
    ck_assert_int_eq(stream_read(&s, got, sizeof got), 0);
    errno = 0;
    ck_assert_int_eq(stream_read(&s, got, sizeof got), -1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_int_eq(fcgi_stream_peer_gone(&s), 0);
    /* then the web server hangs up: a failure, not another EOF */
    close(sv[1]);
    ck_assert_int_eq(stream_read(&s, got, sizeof got), -1);
    ck_assert_int_eq(errno, ECONNRESET);
    ck_assert_int_eq(fcgi_stream_peer_gone(&s), 1);
    s.ops->close(&s);
}
END_TEST

START_TEST(abort_reads_as_reset)
{
    int sv[2];
    pair(sv);
    struct stream s;
    uint8_t early[8];
    size_t early_len;
    ck_assert_int_eq(fcgi_stream_init(&s, sv[0], 3, NULL, 0, early, sizeof early, &early_len), 0);
    uint8_t buf[64];
    size_t n = rec(buf, FCGI_REC_STDIN, 3, "ab", 2);
    n += rec(buf + n, FCGI_REC_ABORT_REQUEST, 3, "", 0);
    put(sv[1], buf, n);
    char got[16];
    ck_assert_int_eq(stream_read(&s, got, sizeof got), 2);
    ck_assert_int_eq(stream_read(&s, got, sizeof got), -1);
    ck_assert_int_eq(errno, ECONNRESET);
    ck_assert_int_eq(fcgi_stream_peer_gone(&s), 1);
    /* close still answers the abort with END_REQUEST */
    s.ops->close(&s);
    uint8_t reply[64];
    ssize_t r = read(sv[1], reply, sizeof reply);
    ck_assert_int_eq(r, FCGI_REC_HEADER_LEN + FCGI_REC_END_REQUEST_LEN);
    ck_assert_int_eq(reply[1], FCGI_REC_STDOUT);
    ck_assert_int_eq(reply[FCGI_REC_HEADER_LEN + 1], FCGI_REC_END_REQUEST);
    ck_assert_int_eq(reply[FCGI_REC_HEADER_LEN + 3], 3);    /* our id */
    close(sv[1]);
}
END_TEST

START_TEST(eof_before_end_of_body_reads_zero_first)
{
    int sv[2];
    pair(sv);
    struct stream s;
    uint8_t early[8];
    size_t early_len;
    ck_assert_int_eq(fcgi_stream_init(&s, sv[0], 1, NULL, 0, early, sizeof early, &early_len), 0);
    close(sv[1]);
    char got[16];
    ck_assert_int_eq(stream_read(&s, got, sizeof got), 0);
    ck_assert_int_eq(stream_read(&s, got, sizeof got), -1);
    ck_assert_int_eq(errno, ECONNRESET);
    s.ops->close(&s);
}
END_TEST

START_TEST(read_ahead_goes_to_early)
{
    /* What libfcgi read behind PARAMS: content and a half record. */
    uint8_t ahead[128];
    size_t n = rec(ahead, FCGI_REC_STDIN, 1, "frame1", 6);
    n += rec(ahead + n, FCGI_REC_STDIN, 1, "frame2", 6);
    uint8_t tail[32];
    size_t tn = rec(tail, FCGI_REC_STDIN, 1, "frame3", 6);
    memcpy(ahead + n, tail, 5);         /* 5 header bytes read ahead */
    int sv[2];
    pair(sv);
    struct stream s;
    uint8_t early[128];
    size_t early_len;
    ck_assert_int_eq(fcgi_stream_init(&s, sv[0], 1, ahead, n + 5, early, sizeof early, &early_len), 0);
    ck_assert_uint_eq(early_len, 12);
    ck_assert_int_eq(memcmp(early, "frame1frame2", 12), 0);
    put(sv[1], tail + 5, tn - 5);
    char got[16];
    ck_assert_int_eq(stream_read(&s, got, sizeof got), 6);
    ck_assert_int_eq(memcmp(got, "frame3", 6), 0);
    ck_assert_int_eq(fcgi_stream_input_ended(&s), 0);
    s.ops->close(&s);
    close(sv[1]);
}
END_TEST

START_TEST(small_reader_buffers_lose_nothing)
{
    int sv[2];
    pair(sv);
    struct stream s;
    uint8_t early[8];
    size_t early_len;
    ck_assert_int_eq(fcgi_stream_init(&s, sv[0], 1, NULL, 0, early, sizeof early, &early_len), 0);
    uint8_t buf[4096];
    size_t n = 0;
    char want[1000];
    for (int i = 0; i < 1000; i++)
        want[i] = (char)('a' + i % 26);
    for (int off = 0; off < 1000; off += 100)
        n += rec(buf + n, FCGI_REC_STDIN, 1, want + off, 100);
    n += rec(buf + n, FCGI_REC_STDIN, 1, "", 0);
    put(sv[1], buf, n);
    char got[1000];
    size_t have = 0;
    for (int spins = 0; spins < 10000 && have < 1000; spins++) {
        ssize_t r = stream_read(&s, got + have, 7);
        if (r > 0)
            have += (size_t)r;
    }
    ck_assert_uint_eq(have, 1000);
    ck_assert_int_eq(memcmp(got, want, 1000), 0);
    ck_assert_int_eq(stream_read(&s, got, 7), 0);
    s.ops->close(&s);
    close(sv[1]);
}
END_TEST

/* The web server reads slowly while pushpipe writes a lot: writes are
 * partial, records must still be whole and the content exact, and the
 * request must end with an empty STDOUT and END_REQUEST. */
START_TEST(partial_writes_keep_records_whole)
{
    int sv[2];
    pair(sv);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct stream s;
    uint8_t early[8];
    size_t early_len;
    ck_assert_int_eq(fcgi_stream_init(&s, sv[0], 9, NULL, 0, early, sizeof early, &early_len), 0);
    size_t total = 1 << 20;
    uint8_t *data = malloc(total);
    for (size_t i = 0; i < total; i++)
        data[i] = (uint8_t)(i * 7 + i / 251);
    uint8_t *got = malloc(total);
    size_t sent = 0, received = 0;
    int ended = 0, stdout_end = 0, shut = 0;
    struct fcgi_parser p;
    fcgi_parser_init(&p);
    uint8_t rbuf[3000];
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    while (!ended) {
        if (sent < total) {
            /* offer varying amounts, as a relay's queue would */
            size_t want = total - sent < 70000 ? total - sent : 70000 - (sent % 13);
            ssize_t w = stream_write(&s, data + sent, want);
            if (w > 0)
                sent += (size_t)w;
            else
                ck_assert(errno == EAGAIN);
        } else if (!shut) {
            /* the socket may be full: keep reading below until it fits */
            struct pollfd pw = { .fd = sv[0], .events = POLLOUT };
            if (poll(&pw, 1, 0) == 1) {
                ck_assert_int_eq(s.ops->shutdown_write(&s), 0);
                shut = 1;
            }
        }
        ssize_t r = read(sv[1], rbuf, sizeof rbuf);
        if (r <= 0)
            continue;
        size_t off = 0;
        for (;;) {
            struct fcgi_event ev;
            off += fcgi_parser_feed(&p, rbuf + off, (size_t)r - off, sizeof rbuf, &ev);
            if (ev.type == FCGI_EV_NONE)
                break;
            ck_assert_int_ne(ev.type, FCGI_EV_ERROR);
            ck_assert_uint_eq(ev.request_id, 9);
            if (ev.type == FCGI_EV_DATA && ev.rec_type == FCGI_REC_STDOUT) {
                ck_assert_uint_le(received + ev.len, total);
                memcpy(got + received, ev.data, ev.len);
                received += ev.len;
            } else if (ev.type == FCGI_EV_RECORD_END && ev.rec_type == FCGI_REC_STDOUT &&
                       ev.content_length == 0) {
                stdout_end = 1;
            } else if (ev.type == FCGI_EV_RECORD_END && ev.rec_type == FCGI_REC_END_REQUEST) {
                ended = 1;
            }
        }
    }
    ck_assert_int_eq(stdout_end, 1);
    ck_assert_uint_eq(received, total);
    ck_assert_int_eq(memcmp(got, data, total), 0);
    /* nothing more may be written after the end */
    ck_assert_int_eq(stream_write(&s, "x", 1), -1);
    close(sv[1]);
    s.ops->close(&s);
    free(data);
    free(got);
}
END_TEST

START_TEST(end_refused_mid_record)
{
    int sv[2];
    pair(sv);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    struct stream s;
    uint8_t early[8];
    size_t early_len;
    ck_assert_int_eq(fcgi_stream_init(&s, sv[0], 1, NULL, 0, early, sizeof early, &early_len), 0);
    static uint8_t big[65535];
    ssize_t w = stream_write(&s, big, sizeof big);
    ck_assert_int_gt(w, 0);
    ck_assert_int_lt(w, (ssize_t)sizeof big);  /* the record is half out */
    /* the caller gives up on the rest: END_REQUEST would corrupt it */
    ck_assert_int_eq(fcgi_stream_end_request(&s, 0, FCGI_REC_REQUEST_COMPLETE, 100), -1);
    close(sv[1]);
    s.ops->close(&s);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("fcgi_stream");
    TCase *t = tcase_create("stream");
    tcase_set_timeout(t, 20);
    tcase_add_test(t, stdin_content_then_end_then_eagain);
    tcase_add_test(t, abort_reads_as_reset);
    tcase_add_test(t, eof_before_end_of_body_reads_zero_first);
    tcase_add_test(t, read_ahead_goes_to_early);
    tcase_add_test(t, small_reader_buffers_lose_nothing);
    tcase_add_test(t, partial_writes_keep_records_whole);
    tcase_add_test(t, end_refused_mid_record);
    suite_add_tcase(s, t);
    return s;
}

UNIT_MAIN
