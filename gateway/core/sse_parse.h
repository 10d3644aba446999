/* sse_parse.h - reading a text/event-stream as a browser's EventSource does
 * (HTML standard, "Interpreting an event stream"), sans-I/O.
 *
 * The client-side counterpart of sse.h.  Bytes in, events out: lines end at
 * CRLF, LF or CR (split anywhere across calls); a BOM at the very start is
 * skipped; ':' lines are comments; the fields are event, data, id (ignored
 * when it contains NUL) and retry (digits only); a blank line dispatches the
 * event unless its data is empty; an event cut off by the end of the stream
 * is never dispatched.  The last event ID outlives a connection: call
 * sse_parser_restart for the next one and send it as Last-Event-ID.
 *
 * Memory: one line, one event's data and type and the last id, each bounded
 * by max_event.  A longer line or event is dropped whole (SSE_PARSE_TOO_BIG)
 * instead of delivered cut.
 */
#ifndef PUSHPIPE_SSE_PARSE_H
#define PUSHPIPE_SSE_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "bytebuf.h"

enum sse_parse_type {
    SSE_PARSE_NONE = 0,     /* all input consumed */
    SSE_PARSE_EVENT,        /* an event was dispatched */
    SSE_PARSE_RETRY,        /* a retry field: retry_ms is the new reconnection time */
    SSE_PARSE_TOO_BIG       /* an event over max_event was dropped */
};

struct sse_parse_event {
    enum sse_parse_type type;
    /* EVENT: valid until the next call on the parser */
    const char *event;          /* the type, "message" when none was given */
    size_t event_len;
    const uint8_t *data;        /* the data lines joined by LF, without a final LF */
    size_t data_len;
    const char *id;             /* the last event ID at dispatch ("" if none) */
    size_t id_len;
    int id_field;               /* this event carried an id field itself */
    int event_field;            /* ...an event field */
    unsigned retry_ms;          /* RETRY */
};

struct sse_parser {
    size_t max_event;
    struct bytebuf line;
    struct bytebuf data;
    struct bytebuf type;
    struct bytebuf last_id;
    int at_start;           /* no byte of this stream seen yet: a BOM may come */
    size_t bom_seen;        /* bytes of the BOM matched so far */
    int after_cr;           /* the last line ended with CR: skip one LF */
    int line_overflow;      /* the current line is too long: skip to its end */
    int dropping;           /* the current event went over max_event */
    int id_field, event_field;
    int reset_pending;      /* the event returned last call is to be cleared */
};

void sse_parser_init(struct sse_parser *p, size_t max_event);
void sse_parser_free(struct sse_parser *p);

/* A new connection: forget the partial line and event, keep the last
 * event ID. */
void sse_parser_restart(struct sse_parser *p);

/* Pull parser with the calling convention of ws_parser_feed: returns the
 * bytes consumed; call again with the rest until SSE_PARSE_NONE. */
size_t sse_parser_feed(struct sse_parser *p, const uint8_t *in, size_t len,
                       struct sse_parse_event *ev);

/* The last event ID (for Last-Event-ID); NUL-terminated. */
const char *sse_parser_last_id(struct sse_parser *p);

/* Start with this last event ID (a client resuming where an earlier run
 * stopped).  Returns 0, or -1 if it is longer than max_event. */
int sse_parser_set_last_id(struct sse_parser *p, const char *id, size_t len);

#endif
