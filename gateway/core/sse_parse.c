/* sse_parse.c - the EventSource stream parser (HTML standard 9.2.6). */
#include "sse_parse.h"

#include <string.h>

static const uint8_t bom[3] = { 0xEF, 0xBB, 0xBF };

void sse_parser_init(struct sse_parser *p, size_t max_event)
{
    memset(p, 0, sizeof *p);
    p->max_event = max_event;
    bytebuf_init(&p->line, max_event);
    bytebuf_init(&p->data, max_event);
    bytebuf_init(&p->type, max_event);
    /* +1 for the NUL sse_parser_last_id adds. */
    bytebuf_init(&p->last_id, max_event + 1);
    p->at_start = 1;
}

void sse_parser_free(struct sse_parser *p)
{
    bytebuf_free(&p->line);
    bytebuf_free(&p->data);
    bytebuf_free(&p->type);
    bytebuf_free(&p->last_id);
}

static void clear_event(struct sse_parser *p)
{
    bytebuf_clear(&p->data);
    bytebuf_clear(&p->type);
    p->dropping = 0;
    p->id_field = p->event_field = 0;
}

void sse_parser_restart(struct sse_parser *p)
{
    bytebuf_clear(&p->line);
    clear_event(p);
    p->at_start = 1;
    p->bom_seen = 0;
    p->after_cr = 0;
    p->line_overflow = 0;
    p->reset_pending = 0;
}

const char *sse_parser_last_id(struct sse_parser *p)
{
    /* Keep a NUL after the id without counting it. */
    if (bytebuf_append(&p->last_id, "", 1) == 0)
        p->last_id.len--;
    else if (!p->last_id.data)
        return "";
    return (const char *)bytebuf_head(&p->last_id);
}

int sse_parser_set_last_id(struct sse_parser *p, const char *id, size_t len)
{
    bytebuf_clear(&p->last_id);
    return len > p->max_event ? -1 : bytebuf_append(&p->last_id, id, len);
}

static int field_is(const uint8_t *name, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(name, want, n) == 0;
}

static int all_digits(const uint8_t *v, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] < '0' || v[i] > '9')
            return 0;
    return 1;
}

/* One complete line.  Returns 1 when it produced an event for the caller. */
static int process_line(struct sse_parser *p, struct sse_parse_event *ev)
{
    const uint8_t *l = bytebuf_head(&p->line);
    size_t n = bytebuf_len(&p->line);
    if (p->line_overflow) {
        /* The line was too long to hold: whatever it was, the event it
         * belonged to can no longer be delivered faithfully. */
        p->line_overflow = 0;
        p->dropping = 1;
        return 0;
    }
    if (n == 0) {
        /* Dispatch. */
        if (p->dropping) {
            clear_event(p);
            ev->type = SSE_PARSE_TOO_BIG;
            return 1;
        }
        if (bytebuf_len(&p->data) == 0) {
            clear_event(p);
            return 0;
        }
        ev->type = SSE_PARSE_EVENT;
        ev->data = bytebuf_head(&p->data);
        ev->data_len = bytebuf_len(&p->data) - 1;   /* the final LF */
        if (bytebuf_len(&p->type)) {
            ev->event = (const char *)bytebuf_head(&p->type);
            ev->event_len = bytebuf_len(&p->type);
        } else {
            ev->event = "message";
            ev->event_len = 7;
        }
        ev->id = sse_parser_last_id(p);
        ev->id_len = bytebuf_len(&p->last_id);
        ev->id_field = p->id_field;
        ev->event_field = p->event_field;
        p->reset_pending = 1;
        return 1;
    }
    if (l[0] == ':')
        return 0;   /* comment */
    const uint8_t *colon = memchr(l, ':', n);
    size_t nl = colon ? (size_t)(colon - l) : n;
    const uint8_t *v = colon ? colon + 1 : l + n;
    size_t vl = colon ? n - nl - 1 : 0;
    if (vl && v[0] == ' ') {
        v++;
        vl--;
    }
    if (field_is(l, nl, "data")) {
        if (!p->dropping && (bytebuf_append(&p->data, v, vl) < 0 || bytebuf_append(&p->data, "\n", 1) < 0))
            p->dropping = 1;
    } else if (field_is(l, nl, "event")) {
        bytebuf_clear(&p->type);
        if (bytebuf_append(&p->type, v, vl) < 0)
            p->dropping = 1;
        p->event_field = 1;
    } else if (field_is(l, nl, "id")) {
        if (!memchr(v, '\0', vl)) {
            bytebuf_clear(&p->last_id);
            if (bytebuf_append(&p->last_id, v, vl) < 0)
                p->dropping = 1;
            p->id_field = 1;
        }
    } else if (field_is(l, nl, "retry")) {
        if (all_digits(v, vl)) {
            /* Saturate instead of wrapping: a huge value means "very long". */
            unsigned long long ms = 0;
            for (size_t i = 0; i < vl && ms <= 0xffffffffull; i++)
                ms = ms * 10 + (unsigned)(v[i] - '0');
            ev->type = SSE_PARSE_RETRY;
            ev->retry_ms = ms > 0xffffffffull ? 0xffffffffu : (unsigned)ms;
            return 1;
        }
    }
    /* Other fields are ignored, as the standard says. */
    return 0;
}

size_t sse_parser_feed(struct sse_parser *p, const uint8_t *in, size_t len,
                       struct sse_parse_event *ev)
{
    memset(ev, 0, sizeof *ev);
    if (p->reset_pending) {
        p->reset_pending = 0;
        clear_event(p);
    }
    size_t i = 0;
    while (i < len) {
        uint8_t c = in[i];
        if (p->at_start) {
            /* A BOM split across reads is still a BOM; anything else ends
             * the chance of one, and the bytes matched so far were data. */
            if (c == bom[p->bom_seen]) {
                i++;
                if (++p->bom_seen == sizeof bom)
                    p->at_start = 0;
                continue;
            }
            p->at_start = 0;
            if (p->bom_seen && bytebuf_append(&p->line, bom, p->bom_seen) < 0)
                p->line_overflow = 1;
        }
        if (p->after_cr) {
            p->after_cr = 0;
            if (c == '\n') {
                i++;
                continue;
            }
        }
        if (c == '\n' || c == '\r') {
            i++;
            p->after_cr = c == '\r';
            int got = process_line(p, ev);
            bytebuf_clear(&p->line);
            if (got)
                return i;
            continue;
        }
        /* The rest of the line up to the next terminator in one copy. */
        size_t j = i;
        while (j < len && in[j] != '\n' && in[j] != '\r')
            j++;
        if (!p->line_overflow && bytebuf_append(&p->line, in + i, j - i) < 0) {
            p->line_overflow = 1;
            bytebuf_clear(&p->line);
        }
        i = j;
    }
    ev->type = SSE_PARSE_NONE;
    return i;
}
