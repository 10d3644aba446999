#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "core/sse.h"

/* Everything a reader emits for `in`, fed in pieces of `step` bytes (0 =
 * all at once), followed by finish: events concatenated into out, each
 * event also terminated by '|' in marks so event boundaries are visible. */
struct collected {
    char out[8192];
    size_t out_len;
    char marks[8192];
    size_t marks_len;
    int events;
    int warnings;
    const char *last_warning;
};

static void take(struct collected *c, const struct sse_event *ev)
{
    if (ev->type == SSE_EV_EVENT) {
        ck_assert_uint_lt(c->out_len + ev->len, sizeof c->out);
        memcpy(c->out + c->out_len, ev->data, ev->len);
        c->out_len += ev->len;
        memcpy(c->marks + c->marks_len, ev->data, ev->len);
        c->marks_len += ev->len;
        c->marks[c->marks_len++] = '|';
        c->events++;
    } else if (ev->type == SSE_EV_WARNING) {
        c->warnings++;
        c->last_warning = ev->error;
    }
    c->out[c->out_len] = '\0';
    c->marks[c->marks_len] = '\0';
}

static void run(enum sse_input mode, size_t max, const char *in, size_t len, size_t step,
                struct collected *c)
{
    struct sse_reader r;
    memset(c, 0, sizeof *c);
    sse_reader_init(&r, mode, max);
    size_t off = 0;
    while (off < len) {
        size_t piece = step ? (len - off < step ? len - off : step) : len - off;
        const uint8_t *p = (const uint8_t *)in + off;
        size_t used = 0;
        for (;;) {
            struct sse_event ev;
            size_t k = sse_reader_feed(&r, p + used, piece - used, &ev);
            used += k;
            take(c, &ev);
            if (ev.type == SSE_EV_NONE)
                break;
            ck_assert_uint_le(used, piece);
        }
        ck_assert_uint_eq(used, piece);
        off += piece;
    }
    struct sse_event ev;
    sse_reader_finish(&r, &ev);
    take(c, &ev);
    sse_reader_free(&r);
}

#define RUN(mode, in, c) run(mode, 1024, in, strlen(in), 0, c)

START_TEST(lines_each_line_is_an_event)
{
    struct collected c;
    RUN(SSE_INPUT_LINES, "hello\nworld\n", &c);
    ck_assert_str_eq(c.marks, "data: hello\n\n|data: world\n\n|");
    ck_assert_int_eq(c.events, 2);
    ck_assert_int_eq(c.warnings, 0);
}
END_TEST

START_TEST(lines_same_result_byte_by_byte)
{
    const char *in = "one\r\ntwo\nthree";
    struct collected whole, bytes;
    run(SSE_INPUT_LINES, 1024, in, strlen(in), 0, &whole);
    run(SSE_INPUT_LINES, 1024, in, strlen(in), 1, &bytes);
    ck_assert_str_eq(whole.marks, bytes.marks);
    ck_assert_str_eq(whole.marks, "data: one\n\n|data: two\n\n|data: three\n\n|");
}
END_TEST

START_TEST(lines_empty_line_is_an_empty_event)
{
    struct collected c;
    RUN(SSE_INPUT_LINES, "\n\r\n", &c);
    ck_assert_str_eq(c.marks, "data: \n\n|data: \n\n|");
}
END_TEST

START_TEST(lines_inner_cr_cannot_break_framing)
{
    /* A bare CR ends a line for a browser: it must become a data line
     * break, never an empty line that would dispatch early or a field. */
    struct collected c;
    RUN(SSE_INPUT_LINES, "a\rid: 7\r\rb\n", &c);
    ck_assert_str_eq(c.marks, "data: a\ndata: id: 7\ndata: \ndata: b\n\n|");
    ck_assert_int_eq(c.events, 1);
}
END_TEST

START_TEST(lines_leading_space_and_colon_survive)
{
    struct collected c;
    RUN(SSE_INPUT_LINES, "  two spaces\n:not a comment\n", &c);
    ck_assert_str_eq(c.marks, "data:   two spaces\n\n|data: :not a comment\n\n|");
}
END_TEST

START_TEST(lines_overlong_line_is_split)
{
    struct collected c;
    run(SSE_INPUT_LINES, 4, "abcdefghij\n", 11, 0, &c);
    ck_assert_str_eq(c.marks, "data: abcd\n\n|data: efgh\n\n|data: ij\n\n|");
}
END_TEST

START_TEST(lines_overlong_line_split_byte_by_byte)
{
    struct collected c;
    run(SSE_INPUT_LINES, 4, "abcdefghij\n", 11, 1, &c);
    ck_assert_str_eq(c.marks, "data: abcd\n\n|data: efgh\n\n|data: ij\n\n|");
}
END_TEST

START_TEST(raw_event_is_canonical)
{
    struct collected c;
    RUN(SSE_INPUT_RAW, "event:tick\ndata:  x\nid: 5\nretry: 100\ndata\n\n", &c);
    ck_assert_str_eq(c.marks, "event: tick\ndata:  x\nid: 5\nretry: 100\ndata: \n\n|");
    ck_assert_int_eq(c.warnings, 0);
}
END_TEST

START_TEST(raw_event_waits_for_blank_line)
{
    struct sse_reader r;
    struct sse_event ev;
    sse_reader_init(&r, SSE_INPUT_RAW, 1024);
    const char *a = "data: one\n";
    ck_assert_uint_eq(sse_reader_feed(&r, (const uint8_t *)a, strlen(a), &ev), strlen(a));
    ck_assert_int_eq(ev.type, SSE_EV_NONE);
    ck_assert_uint_eq(sse_reader_feed(&r, (const uint8_t *)"\n", 1, &ev), 1);
    ck_assert_int_eq(ev.type, SSE_EV_EVENT);
    ck_assert_uint_eq(ev.len, strlen("data: one\n\n"));
    ck_assert_int_eq(memcmp(ev.data, "data: one\n\n", ev.len), 0);
    sse_reader_free(&r);
}
END_TEST

START_TEST(raw_all_line_endings)
{
    const char *in = "data: a\r\ndata: b\rdata: c\n\r\n\rdata: d\r\r";
    struct collected whole, bytes;
    run(SSE_INPUT_RAW, 1024, in, strlen(in), 0, &whole);
    run(SSE_INPUT_RAW, 1024, in, strlen(in), 1, &bytes);
    ck_assert_str_eq(whole.marks, "data: a\ndata: b\ndata: c\n\n|data: d\n\n|");
    ck_assert_str_eq(whole.marks, bytes.marks);
}
END_TEST

START_TEST(raw_cr_then_lf_in_next_feed)
{
    /* \r at the end of one read and \n at the start of the next are one
     * line ending, not a blank line that would dispatch. */
    struct sse_reader r;
    struct sse_event ev;
    sse_reader_init(&r, SSE_INPUT_RAW, 1024);
    sse_reader_feed(&r, (const uint8_t *)"data: a\r", 8, &ev);
    ck_assert_int_eq(ev.type, SSE_EV_NONE);
    sse_reader_feed(&r, (const uint8_t *)"\ndata: b\n", 9, &ev);
    ck_assert_int_eq(ev.type, SSE_EV_NONE);
    sse_reader_feed(&r, (const uint8_t *)"\n", 1, &ev);
    ck_assert_int_eq(ev.type, SSE_EV_EVENT);
    ck_assert_int_eq(memcmp(ev.data, "data: a\ndata: b\n\n", ev.len), 0);
    sse_reader_free(&r);
}
END_TEST

START_TEST(raw_unknown_field_dropped_with_warning)
{
    struct collected c;
    RUN(SSE_INPUT_RAW, "foo: bar\ndata: x\nDATA: y\n\n", &c);
    ck_assert_str_eq(c.marks, "data: x\n\n|");
    ck_assert_int_eq(c.warnings, 2);
    ck_assert_str_eq(c.last_warning, "unknown field dropped");
}
END_TEST

START_TEST(raw_bad_retry_and_nul_id_dropped)
{
    const char in[] = "retry: 10s\nid: a\0b\nretry:\ndata: x\n\n";
    struct collected c;
    run(SSE_INPUT_RAW, 1024, in, sizeof in - 1, 0, &c);
    ck_assert_str_eq(c.marks, "data: x\n\n|");
    ck_assert_int_eq(c.warnings, 3);
}
END_TEST

START_TEST(raw_blank_lines_alone_emit_nothing)
{
    struct collected c;
    RUN(SSE_INPUT_RAW, "\n\n\r\n", &c);
    ck_assert_int_eq(c.events, 0);
    ck_assert_int_eq(c.warnings, 0);
}
END_TEST

START_TEST(raw_comment_between_events_goes_out_at_once)
{
    struct collected c;
    RUN(SSE_INPUT_RAW, ": keepalive\ndata: x\n: inside\n\n", &c);
    ck_assert_str_eq(c.marks, ": keepalive\n|data: x\n: inside\n\n|");
}
END_TEST

START_TEST(raw_field_only_event_without_data)
{
    /* retry alone is legal: it sets the reconnection time. */
    struct collected c;
    RUN(SSE_INPUT_RAW, "retry: 2000\n\n", &c);
    ck_assert_str_eq(c.marks, "retry: 2000\n\n|");
}
END_TEST

START_TEST(raw_overlong_event_dropped_whole)
{
    struct collected c;
    /* max 16: the second event's two lines together exceed the limit + slack
     * only with a long line, so use one line over the line limit. */
    run(SSE_INPUT_RAW, 16, "data: ok\n\ndata: 0123456789abcdefXYZ\ndata: more\n\ndata: next\n\n",
        strlen("data: ok\n\ndata: 0123456789abcdefXYZ\ndata: more\n\ndata: next\n\n"), 0, &c);
    ck_assert_str_eq(c.marks, "data: ok\n\n|data: next\n\n|");
    ck_assert_int_eq(c.warnings, 1);
}
END_TEST

START_TEST(raw_overlong_event_byte_by_byte)
{
    const char *in = "data: ok\n\ndata: 0123456789abcdefXYZ\ndata: more\n\ndata: next\n\n";
    struct collected c;
    run(SSE_INPUT_RAW, 16, in, strlen(in), 1, &c);
    ck_assert_str_eq(c.marks, "data: ok\n\n|data: next\n\n|");
    ck_assert_int_eq(c.warnings, 1);
}
END_TEST

START_TEST(raw_many_lines_exceed_event_limit)
{
    /* Each line fits but together they do not: dropped whole. */
    char in[2048] = "";
    for (int i = 0; i < 40; i++)
        strcat(in, "data: 0123456789\n");
    strcat(in, "\ndata: after\n\n");
    struct collected c;
    run(SSE_INPUT_RAW, 256, in, strlen(in), 0, &c);
    ck_assert_str_eq(c.marks, "data: after\n\n|");
    ck_assert_int_eq(c.warnings, 1);
}
END_TEST

START_TEST(raw_incomplete_event_at_end_dropped)
{
    struct collected c;
    RUN(SSE_INPUT_RAW, "data: done\n\ndata: half", &c);
    ck_assert_str_eq(c.marks, "data: done\n\n|");
    ck_assert_int_eq(c.warnings, 1);
    RUN(SSE_INPUT_RAW, "data: done\n\ndata: half\n", &c);
    ck_assert_str_eq(c.marks, "data: done\n\n|");
    ck_assert_int_eq(c.warnings, 1);
}
END_TEST

START_TEST(raw_output_is_always_well_framed)
{
    /* Whatever bytes a handler writes, the output consists of complete
     * lines ending in \n, without \r, and ends at an event boundary. */
    unsigned seed = 12345;
    const char alphabet[] = "data:event:id:retry: x\r\n\n:\0";
    for (int round = 0; round < 200; round++) {
        char in[512];
        for (size_t i = 0; i < sizeof in; i++) {
            seed = seed * 1103515245u + 12345u;
            in[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
        }
        struct collected c;
        run(SSE_INPUT_RAW, 64, in, sizeof in, (size_t)(round % 7), &c);
        ck_assert_ptr_null(memchr(c.out, '\r', c.out_len));
        if (c.out_len)
            ck_assert_int_eq(c.out[c.out_len - 1], '\n');
        /* every emitted unit is an event ending in a blank line or a
         * single comment line */
        const char *p = c.marks, *end = c.marks + c.marks_len;
        while (p < end) {
            const char *bar = memchr(p, '|', (size_t)(end - p));
            ck_assert_ptr_nonnull(bar);
            size_t n = (size_t)(bar - p);
            int blank_end = n >= 2 && p[n - 1] == '\n' && p[n - 2] == '\n';
            int comment = n >= 2 && p[0] == ':' && memchr(p, '\n', n) == p + n - 1;
            ck_assert(blank_end || comment);
            p = bar + 1;
        }
    }
}
END_TEST

static void env_with(struct request_env *e, const char *accept, const char *leid, const char *query)
{
    ck_assert_int_eq(request_env_init(e, 4096), 0);
    if (accept)
        request_env_sets(e, "HTTP_ACCEPT", accept);
    if (leid)
        request_env_sets(e, "HTTP_LAST_EVENT_ID", leid);
    if (query)
        request_env_sets(e, "QUERY_STRING", query);
}

START_TEST(is_request_by_accept)
{
    struct request_env e;
    env_with(&e, "text/event-stream", NULL, NULL);
    ck_assert_int_eq(sse_is_request(&e), 1);
    request_env_free(&e);
    env_with(&e, "text/html, Text/Event-Stream;q=0.9", NULL, NULL);
    ck_assert_int_eq(sse_is_request(&e), 1);
    request_env_free(&e);
    env_with(&e, "*/*", NULL, NULL);
    ck_assert_int_eq(sse_is_request(&e), 0);
    request_env_free(&e);
    env_with(&e, NULL, NULL, NULL);
    ck_assert_int_eq(sse_is_request(&e), 0);
    request_env_free(&e);
}
END_TEST

START_TEST(last_event_id_header_wins)
{
    struct request_env e;
    char id[64];
    env_with(&e, NULL, "42", "lastEventId=7");
    ck_assert_int_eq(sse_last_event_id(&e, id, sizeof id), 1);
    ck_assert_str_eq(id, "42");
    request_env_free(&e);
}
END_TEST

START_TEST(last_event_id_from_query)
{
    struct request_env e;
    char id[64];
    env_with(&e, NULL, NULL, "a=1&lastEventId=ab%20c%2B+d&b=2");
    ck_assert_int_eq(sse_last_event_id(&e, id, sizeof id), 1);
    ck_assert_str_eq(id, "ab c+ d");
    request_env_free(&e);
    env_with(&e, NULL, NULL, "lastEventIdX=1;lastEventId=9");
    ck_assert_int_eq(sse_last_event_id(&e, id, sizeof id), 1);
    ck_assert_str_eq(id, "9");
    request_env_free(&e);
}
END_TEST

START_TEST(last_event_id_rejects_bad_values)
{
    struct request_env e;
    char id[8];
    env_with(&e, NULL, NULL, "lastEventId=a%0Ab");
    ck_assert_int_eq(sse_last_event_id(&e, id, sizeof id), 0);
    request_env_free(&e);
    env_with(&e, NULL, NULL, "lastEventId=%zz");
    ck_assert_int_eq(sse_last_event_id(&e, id, sizeof id), 0);
    request_env_free(&e);
    env_with(&e, NULL, NULL, "lastEventId=%4");
    ck_assert_int_eq(sse_last_event_id(&e, id, sizeof id), 0);
    request_env_free(&e);
    env_with(&e, NULL, NULL, "lastEventId=");
    ck_assert_int_eq(sse_last_event_id(&e, id, sizeof id), 0);
    request_env_free(&e);
    env_with(&e, NULL, NULL, "lastEventId=123456789");   /* longer than out */
    ck_assert_int_eq(sse_last_event_id(&e, id, sizeof id), 0);
    request_env_free(&e);
    env_with(&e, NULL, "12345678", NULL);
    ck_assert_int_eq(sse_last_event_id(&e, id, sizeof id), 0);
    request_env_free(&e);
    env_with(&e, NULL, NULL, NULL);
    ck_assert_int_eq(sse_last_event_id(&e, id, sizeof id), 0);
    request_env_free(&e);
}
END_TEST

START_TEST(retry_field)
{
    char b[32];
    ck_assert_uint_eq(sse_retry_field(b, sizeof b, 3000), strlen("retry: 3000\n\n"));
    ck_assert_str_eq(b, "retry: 3000\n\n");
    ck_assert_uint_eq(sse_retry_field(b, 5, 3000), 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("sse");
    TCase *t = tcase_create("lines");
    tcase_add_test(t, lines_each_line_is_an_event);
    tcase_add_test(t, lines_same_result_byte_by_byte);
    tcase_add_test(t, lines_empty_line_is_an_empty_event);
    tcase_add_test(t, lines_inner_cr_cannot_break_framing);
    tcase_add_test(t, lines_leading_space_and_colon_survive);
    tcase_add_test(t, lines_overlong_line_is_split);
    tcase_add_test(t, lines_overlong_line_split_byte_by_byte);
    suite_add_tcase(s, t);
    t = tcase_create("raw");
    tcase_add_test(t, raw_event_is_canonical);
    tcase_add_test(t, raw_event_waits_for_blank_line);
    tcase_add_test(t, raw_all_line_endings);
    tcase_add_test(t, raw_cr_then_lf_in_next_feed);
    tcase_add_test(t, raw_unknown_field_dropped_with_warning);
    tcase_add_test(t, raw_bad_retry_and_nul_id_dropped);
    tcase_add_test(t, raw_blank_lines_alone_emit_nothing);
    tcase_add_test(t, raw_comment_between_events_goes_out_at_once);
    tcase_add_test(t, raw_field_only_event_without_data);
    tcase_add_test(t, raw_overlong_event_dropped_whole);
    tcase_add_test(t, raw_overlong_event_byte_by_byte);
    tcase_add_test(t, raw_many_lines_exceed_event_limit);
    tcase_add_test(t, raw_incomplete_event_at_end_dropped);
    tcase_add_test(t, raw_output_is_always_well_framed);
    suite_add_tcase(s, t);
    t = tcase_create("request");
    tcase_add_test(t, is_request_by_accept);
    tcase_add_test(t, last_event_id_header_wins);
    tcase_add_test(t, last_event_id_from_query);
    tcase_add_test(t, last_event_id_rejects_bad_values);
    tcase_add_test(t, retry_field);
    suite_add_tcase(s, t);
    return s;
}

UNIT_MAIN
