#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "core/sse_parse.h"

/* Run input through a parser in pieces of `step`, rendering every event as
 * "type|data|id;" and retries as "retry=N;", too-big events as "BIG;". */
static void run(struct sse_parser *p, const char *in, size_t len, size_t step, char *out, size_t outlen)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t pos = 0; pos < len; pos += step) {
        size_t n = len - pos < step ? len - pos : step, off = 0;
        for (;;) {
            struct sse_parse_event ev;
            off += sse_parser_feed(p, (const uint8_t *)in + pos + off, n - off, &ev);
            if (ev.type == SSE_PARSE_NONE)
                break;
            int w = 0;
            if (ev.type == SSE_PARSE_EVENT)
                w = snprintf(out + o, outlen - o, "%.*s|%.*s|%.*s;", (int)ev.event_len, ev.event,
                             (int)ev.data_len, (const char *)ev.data, (int)ev.id_len, ev.id);
            else if (ev.type == SSE_PARSE_RETRY)
                w = snprintf(out + o, outlen - o, "retry=%u;", ev.retry_ms);
            else
                w = snprintf(out + o, outlen - o, "BIG;");
            o += (size_t)w;
        }
        ck_assert_uint_eq(off, n);
    }
}

static void expect_n(const char *in, size_t len, const char *want)
{
    for (size_t step = 1; step <= len; step++) {
        struct sse_parser p;
        char out[1024];
        sse_parser_init(&p, 64);
        run(&p, in, len, step, out, sizeof out);
        if (strcmp(out, want) != 0)
            ck_abort_msg("step %zu: %s\n got  %s\n want %s", step, in, out, want);
        sse_parser_free(&p);
    }
}

static void expect(const char *in, const char *want)
{
    expect_n(in, strlen(in), want);
}

START_TEST(html_standard_examples)
{
    /* The examples of the HTML standard, section 9.2.6. */
    expect("data: YHOO\ndata: +2\ndata: 10\n\n", "message|YHOO\n+2\n10|;");
    expect(": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n",
           "message|first event|1;message|second event|;message| third event|;");
    expect("data\n\ndata\ndata\n\ndata:", "message||;message|\n|;");
    expect("data:test\n\ndata: test\n\n", "message|test|;message|test|;");
}
END_TEST

START_TEST(fields_and_line_ends)
{
    expect("event: add\r\ndata: 73857293\r\n\r\nevent: remove\rdata: 2153\r\rdata: x\n\n",
           "add|73857293|;remove|2153|;message|x|;");
    expect("\xEF\xBB\xBF" "data: bom\n\n", "message|bom|;");
    /* A second BOM is no BOM: the field name is then "\xEF\xBB\xBFdata". */
    expect("\xEF\xBB\xBF\xEF\xBB\xBF" "data: x\n\ndata: y\n\n", "message|y|;");
    expect("retry: 1500\ndata: a\n\nretry: 1.5\nretry: x\nretry:\n\n", "retry=1500;message|a|;");
    expect("retry: 99999999999999\n", "retry=4294967295;");
    expect("id: 7\nfoo: bar\ndata\n\n", "message||7;");
    static const char nul_id[] = "id: a\0b\ndata: z\n\n";
    expect_n(nul_id, sizeof nul_id - 1, "message|z|;");
    /* The id persists; an empty id field resets it. */
    expect("id: 5\ndata: a\n\ndata: b\n\nid\ndata: c\n\n", "message|a|5;message|b|5;message|c|;");
    /* An id without data is remembered but dispatches nothing. */
    expect("id: 9\n\ndata: q\n\n", "message|q|9;");
    /* Unterminated last event: never dispatched. */
    expect("data: whole\n\ndata: cut", "message|whole|;");
}
END_TEST

START_TEST(limits)
{
    char big[200];
    memset(big, 'x', sizeof big);
    memcpy(big, "data: ", 6);
    char in[400];
    snprintf(in, sizeof in, "%.*s\n\ndata: after\n\n", (int)sizeof big, big);
    expect(in, "BIG;message|after|;");
    /* Many short lines adding up past the bound. */
    expect("data: 0123456789012345678901234567890123456789\ndata: 0123456789012345678901234567890\n\ndata: ok\n\n",
           "BIG;message|ok|;");
}
END_TEST

START_TEST(restart_and_last_id)
{
    struct sse_parser p;
    char out[256];
    sse_parser_init(&p, 1024);
    ck_assert_str_eq(sse_parser_last_id(&p), "");
    ck_assert_int_eq(sse_parser_set_last_id(&p, "41", 2), 0);
    ck_assert_str_eq(sse_parser_last_id(&p), "41");
    const char *a = "data: one\nid: 42\n\ndata: half";
    run(&p, a, strlen(a), 5, out, sizeof out);
    ck_assert_str_eq(out, "message|one|42;");
    ck_assert_str_eq(sse_parser_last_id(&p), "42");
    /* A new connection: the half event is gone, the id stays. */
    sse_parser_restart(&p);
    const char *b = "\xEF\xBB\xBF" "data: two\n\n";
    run(&p, b, strlen(b), 3, out, sizeof out);
    ck_assert_str_eq(out, "message|two|42;");
    sse_parser_free(&p);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("sse_parse");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, html_standard_examples);
    tcase_add_test(tc, fields_and_line_ends);
    tcase_add_test(tc, limits);
    tcase_add_test(tc, restart_and_last_id);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN
