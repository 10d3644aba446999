/* sse.h - EventSource (text/event-stream) framing, sans-I/O.
 *
 * The handler's stdout becomes a stream of events.  Whatever the handler
 * writes, what leaves pushpipe is well-formed: every event ends with a blank
 * line, only \n ends lines, and only the fields the HTML standard defines
 * (data, event, id, retry) and comments appear.  So a handler can never
 * break the stream's framing, and pushpipe can insert its own lines
 * (retry, heartbeat comments) between events safely.
 *
 * Two input modes:
 *   SSE_INPUT_LINES  each line the handler prints (ended by \n) is the data
 *                    of one event; a \r inside a line becomes a line break
 *                    in the data (as a browser would read it), a \r before
 *                    the \n is dropped.  A line longer than max_event is
 *                    sent as several events.
 *   SSE_INPUT_RAW    the handler writes fields and blank-line boundaries
 *                    itself.  Lines end at \n, \r\n or \r, as browsers read
 *                    them.  Each event is checked and re-emitted in canonical
 *                    form ("name: value\n"), whole, once its blank line
 *                    arrives: unknown fields, a retry that is not digits and
 *                    an id containing NUL are dropped (browsers would ignore
 *                    them too) with a warning; an event larger than
 *                    max_event is dropped whole.
 *
 * Memory: the reader holds at most one line and one event, both bounded by
 * max_event (plus the expansion of data: prefixes in lines mode).
 */
#ifndef PUSHPIPE_SSE_H
#define PUSHPIPE_SSE_H

#include <stddef.h>
#include <stdint.h>

#include "bytebuf.h"
#include "request_env.h"

enum sse_input { SSE_INPUT_LINES, SSE_INPUT_RAW };

enum sse_event_type {
    SSE_EV_NONE = 0,    /* all input consumed, nothing to emit */
    SSE_EV_EVENT,       /* data/len: wire bytes of one event (or one comment line) */
    SSE_EV_WARNING      /* error: something the handler wrote was dropped */
};

struct sse_event {
    enum sse_event_type type;
    const uint8_t *data;    /* valid until the next call on the reader */
    size_t len;
    const char *error;      /* static text, for SSE_EV_WARNING */
};

struct sse_reader {
    enum sse_input mode;
    size_t max_event;
    struct bytebuf line;    /* the line being read, without its terminator */
    struct bytebuf event;   /* raw: the event being checked; both: output */
    int emitted;            /* event holds output returned last call */
    int after_cr;           /* raw: last line ended with \r; skip one \n */
    int line_overflow;      /* raw: current line exceeded max_event */
    int discarding;         /* raw: current event is being dropped */
    int has_fields;         /* raw: event holds at least one field */
};

void sse_reader_init(struct sse_reader *r, enum sse_input mode, size_t max_event);
void sse_reader_free(struct sse_reader *r);

/* Consume handler output.  Returns how many bytes of p were consumed; call
 * again with the rest while ev->type != SSE_EV_NONE (like ws_parser_feed,
 * one event per call). */
size_t sse_reader_feed(struct sse_reader *r, const uint8_t *p, size_t n, struct sse_event *ev);

/* The handler's output ended.  Lines mode: a last line without \n is one
 * more event.  Raw mode: an event without its blank line is dropped (a
 * warning), as a browser would never dispatch it. */
void sse_reader_finish(struct sse_reader *r, struct sse_event *ev);

/* 1 if the request accepts text/event-stream (its Accept header lists it). */
int sse_is_request(const struct request_env *env);

/* The id the client last saw: the Last-Event-ID header, or for polyfills
 * that cannot set headers the lastEventId query parameter (percent-decoded).
 * Returns 1 and fills out when present and usable (non-empty, no control
 * characters, fits in outlen), 0 otherwise. */
int sse_last_event_id(const struct request_env *env, char *out, size_t outlen);

/* "retry: MS\n\n" into out; returns its length (0 if it does not fit). */
size_t sse_retry_field(char *out, size_t outlen, unsigned ms);

/* A comment line: keeps proxies from timing out an idle stream and makes a
 * vanished client show up as a write error. */
#define SSE_HEARTBEAT ":\n"

#endif
