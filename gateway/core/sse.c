/* sse.c - EventSource framing of handler output (see sse.h). */
#include "sse.h"
#include "percent.h"

#include <stdio.h>
#include <string.h>

#include "http_request.h"

/* "data: " before each piece of a line, "\n" after it, and the blank line:
 * in lines mode every \r inside a line starts another "data: " line. */
#define DATA_PREFIX "data: "
#define DATA_PREFIX_LEN 6

void sse_reader_init(struct sse_reader *r, enum sse_input mode, size_t max_event)
{
    memset(r, 0, sizeof *r);
    r->mode = mode;
    r->max_event = max_event ? max_event : 1;
    bytebuf_init(&r->line, r->max_event);
    /* Lines mode: a line of n bytes expands to at most n * (prefix + \n)
     * plus the blank line; raw mode: a canonical event may exceed the
     * input by the added space after each colon, so allow twice. */
    size_t room = r->max_event;
    size_t mul = mode == SSE_INPUT_LINES ? DATA_PREFIX_LEN + 2 : 2;
    size_t bound = room > (SIZE_MAX - 64) / mul ? SIZE_MAX : room * mul + 64;
    bytebuf_init(&r->event, bound);
}

void sse_reader_free(struct sse_reader *r)
{
    bytebuf_free(&r->line);
    bytebuf_free(&r->event);
}

static void set_event(struct sse_reader *r, struct sse_event *ev)
{
    ev->type = SSE_EV_EVENT;
    ev->data = bytebuf_head(&r->event);
    ev->len = bytebuf_len(&r->event);
    ev->error = NULL;
    r->emitted = 1;
}

static void set_warning(struct sse_event *ev, const char *why)
{
    ev->type = SSE_EV_WARNING;
    ev->data = NULL;
    ev->len = 0;
    ev->error = why;
}

/* ---- lines mode ------------------------------------------------------- */

/* One handler line -> one event.  The bound on event makes appends that
 * cannot fail by construction; a failure would only mean memory is short,
 * and then the event is dropped rather than sent truncated. */
static void emit_line_event(struct sse_reader *r, struct sse_event *ev)
{
    const uint8_t *p = bytebuf_head(&r->line);
    size_t n = bytebuf_len(&r->line);
    if (n && p[n - 1] == '\r')
        n--;
    bytebuf_clear(&r->event);
    int bad = 0;
    for (;;) {
        const uint8_t *cr = n ? memchr(p, '\r', n) : NULL;
        size_t seg = cr ? (size_t)(cr - p) : n;
        bad |= bytebuf_append(&r->event, DATA_PREFIX, DATA_PREFIX_LEN);
        bad |= bytebuf_append(&r->event, p, seg);
        bad |= bytebuf_append(&r->event, "\n", 1);
        if (!cr)
            break;
        p += seg + 1;
        n -= seg + 1;
    }
    bad |= bytebuf_append(&r->event, "\n", 1);
    bytebuf_clear(&r->line);
    if (bad) {
        bytebuf_clear(&r->event);
        set_warning(ev, "out of memory: event dropped");
        return;
    }
    set_event(r, ev);
}

static size_t feed_lines(struct sse_reader *r, const uint8_t *p, size_t n, struct sse_event *ev)
{
    size_t off = 0;
    while (off < n) {
        const uint8_t *nl = memchr(p + off, '\n', n - off);
        size_t take = nl ? (size_t)(nl - (p + off)) : n - off;
        size_t have = bytebuf_len(&r->line);
        if (have + take > r->max_event) {
            /* Longer than the bound: what fits is one event, the rest of
             * the line continues as the next, as the WebSocket lines mode
             * does with --max-line. */
            size_t fit = r->max_event - have;
            bytebuf_append(&r->line, p + off, fit);
            emit_line_event(r, ev);
            return off + fit;
        }
        if (bytebuf_append(&r->line, p + off, take) < 0) {
            bytebuf_clear(&r->line);
            set_warning(ev, "out of memory: line dropped");
            return off + take + (nl ? 1 : 0);
        }
        off += take;
        if (nl) {
            emit_line_event(r, ev);
            return off + 1;
        }
    }
    return off;
}

/* ---- raw mode ---------------------------------------------------------- */

/* A canonical event may exceed its input by the space added after each
 * colon; the slack lets one line of max_event bytes always fit. */
static int event_fits(const struct sse_reader *r, size_t more)
{
    size_t have = bytebuf_len(&r->event);
    return more <= r->max_event + 64 && have <= r->max_event + 64 - more;
}

static int event_add(struct sse_reader *r, const void *p, size_t n)
{
    return bytebuf_append(&r->event, p, n);
}

/* Appends "name: value\n"; on overflow the whole event is dropped. */
static int add_field(struct sse_reader *r, const char *name, size_t nlen,
                     const uint8_t *value, size_t vlen, struct sse_event *ev)
{
    if (!event_fits(r, nlen + vlen + 4) ||
        event_add(r, name, nlen) < 0 || event_add(r, ": ", 2) < 0 ||
        event_add(r, value, vlen) < 0 || event_add(r, "\n", 1) < 0) {
        bytebuf_clear(&r->event);
        r->has_fields = 0;
        r->discarding = 1;
        set_warning(ev, "event larger than the limit: dropped");
        return -1;
    }
    r->has_fields = 1;
    return 0;
}

static int name_is(const uint8_t *p, size_t n, const char *name)
{
    return n == strlen(name) && memcmp(p, name, n) == 0;
}

static int all_digits(const uint8_t *p, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return 0;
    return 1;
}

/* A complete raw line (terminator removed).  Sets ev when something is to
 * be emitted or reported. */
static void raw_line(struct sse_reader *r, struct sse_event *ev)
{
    const uint8_t *p = bytebuf_head(&r->line);
    size_t n = bytebuf_len(&r->line);

    if (r->line_overflow) {
        r->line_overflow = 0;
        bytebuf_clear(&r->line);
        if (!r->discarding) {
            bytebuf_clear(&r->event);
            r->has_fields = 0;
            r->discarding = 1;
            set_warning(ev, "line longer than the event limit: event dropped");
        }
        return;
    }
    if (n == 0) {
        /* The blank line: dispatch. */
        if (r->discarding) {
            r->discarding = 0;
            bytebuf_clear(&r->event);
        } else if (r->has_fields) {
            if (event_add(r, "\n", 1) == 0)
                set_event(r, ev);
            else
                bytebuf_clear(&r->event);
        }
        r->has_fields = 0;
        return;
    }
    if (r->discarding) {
        bytebuf_clear(&r->line);
        return;
    }
    if (p[0] == ':') {
        /* A comment.  Between events it goes out at once (handlers use
         * them as their own keepalives); inside an event it stays with
         * the event. */
        int alone = !r->has_fields && bytebuf_len(&r->event) == 0;
        if (event_fits(r, n + 2) &&
            event_add(r, p, n) == 0 && event_add(r, "\n", 1) == 0) {
            if (alone)
                set_event(r, ev);
        } else {
            bytebuf_clear(&r->event);
            r->has_fields = 0;
            r->discarding = !alone;
            set_warning(ev, "comment too long: dropped");
        }
        bytebuf_clear(&r->line);
        return;
    }
    const uint8_t *colon = memchr(p, ':', n);
    size_t nlen = colon ? (size_t)(colon - p) : n;
    const uint8_t *v = colon ? colon + 1 : p + n;
    size_t vlen = colon ? n - nlen - 1 : 0;
    if (vlen && v[0] == ' ') {
        v++;
        vlen--;
    }
    const char *why = NULL;
    if (name_is(p, nlen, "data") || name_is(p, nlen, "event")) {
        /* any value: the line structure is all that matters */
    } else if (name_is(p, nlen, "id")) {
        if (memchr(v, '\0', vlen))
            why = "id containing NUL dropped";
    } else if (name_is(p, nlen, "retry")) {
        if (!all_digits(v, vlen))
            why = "retry that is not a number dropped";
    } else {
        why = "unknown field dropped";
    }
    if (why)
        set_warning(ev, why);
    else
        add_field(r, (const char *)p, nlen, v, vlen, ev);
    bytebuf_clear(&r->line);
}

static size_t feed_raw(struct sse_reader *r, const uint8_t *p, size_t n, struct sse_event *ev)
{
    size_t off = 0;
    while (off < n) {
        if (r->after_cr) {
            r->after_cr = 0;
            if (p[off] == '\n') {
                off++;
                continue;
            }
        }
        size_t i = off;
        while (i < n && p[i] != '\n' && p[i] != '\r')
            i++;
        size_t take = i - off;
        if (!r->line_overflow) {
            if (bytebuf_len(&r->line) + take > r->max_event ||
                bytebuf_append(&r->line, p + off, take) < 0) {
                r->line_overflow = 1;
                bytebuf_clear(&r->line);
            }
        }
        off = i;
        if (i == n)
            break;
        r->after_cr = p[i] == '\r';
        off++;
        raw_line(r, ev);
        if (ev->type != SSE_EV_NONE)
            return off;
    }
    return off;
}

size_t sse_reader_feed(struct sse_reader *r, const uint8_t *p, size_t n, struct sse_event *ev)
{
    ev->type = SSE_EV_NONE;
    ev->data = NULL;
    ev->len = 0;
    ev->error = NULL;
    if (r->emitted) {
        /* The previous call handed out event's bytes; they are sent now. */
        bytebuf_clear(&r->event);
        r->emitted = 0;
    }
    return r->mode == SSE_INPUT_LINES ? feed_lines(r, p, n, ev) : feed_raw(r, p, n, ev);
}

void sse_reader_finish(struct sse_reader *r, struct sse_event *ev)
{
    ev->type = SSE_EV_NONE;
    ev->data = NULL;
    ev->len = 0;
    ev->error = NULL;
    if (r->emitted) {
        bytebuf_clear(&r->event);
        r->emitted = 0;
    }
    if (r->mode == SSE_INPUT_LINES) {
        if (bytebuf_len(&r->line))
            emit_line_event(r, ev);
        return;
    }
    if ((r->has_fields || bytebuf_len(&r->line) || r->line_overflow) && !r->discarding)
        set_warning(ev, "output ended inside an event: event dropped");
    bytebuf_clear(&r->line);
    bytebuf_clear(&r->event);
    r->has_fields = r->discarding = r->line_overflow = r->after_cr = 0;
}

/* ---- request side ------------------------------------------------------ */

int sse_is_request(const struct request_env *env)
{
    const char *accept = request_env_get(env, "HTTP_ACCEPT");
    return accept && http_list_has_token(accept, strlen(accept), "text/event-stream");
}

/* An id becomes an environment variable: control characters would make it
 * ambiguous for shell handlers, so such a value counts as absent. */
static int usable_id(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return 0;
    }
    return 1;
}

int sse_last_event_id(const struct request_env *env, char *out, size_t outlen)
{
    if (outlen == 0)
        return 0;
    const char *h = request_env_get(env, "HTTP_LAST_EVENT_ID");
    if (h) {
        size_t n = strlen(h);
        if (n < outlen && usable_id(h, n)) {
            memcpy(out, h, n + 1);
            return 1;
        }
        return 0;
    }
    const char *q = request_env_get(env, "QUERY_STRING");
    static const char key[] = "lastEventId=";
    while (q && *q) {
        const char *end = q + strcspn(q, "&;");
        if ((size_t)(end - q) >= sizeof key - 1 && memcmp(q, key, sizeof key - 1) == 0) {
            long n = pct_decode(q + sizeof key - 1, (size_t)(end - q) - (sizeof key - 1), out,
                                outlen - 1, PCT_PLUS_IS_SPACE);
            if (n > 0 && usable_id(out, (size_t)n)) {
                out[n] = '\0';
                return 1;
            }
            out[0] = '\0';
            return 0;
        }
        q = *end ? end + 1 : end;
    }
    out[0] = '\0';
    return 0;
}

size_t sse_retry_field(char *out, size_t outlen, unsigned ms)
{
    int n = snprintf(out, outlen, "retry: %u\n\n", ms);
    return n > 0 && (size_t)n < outlen ? (size_t)n : 0;
}
