/* handler_codec.h - the framed-mode record format between pushpipe and a
 * handler, in both directions (sans-I/O).
 *
 * A record is
 *
 *     TYPE SP LENGTH LF PAYLOAD LF
 *
 * TYPE is one character: 't' text message, 'b' binary message, 'c' close.
 * LENGTH is the payload length in decimal ASCII (no sign, no leading zeros
 * except "0" itself, at most 20 digits).  PAYLOAD is exactly LENGTH bytes,
 * and the record ends with one LF, which makes a stream of text records
 * readable in a terminal and lets line-oriented tools skip records.  The
 * close payload is the close code in decimal, optionally followed by one
 * space and the UTF-8 reason ("1000", "4001 kicked").  pushpipe writes a
 * close record to the handler when the client closes (1005 when the client
 * sent no code, 1006 when the connection dropped without a close frame); a
 * handler writes one to close the connection with a code of its choice.
 *
 * The same encoding both ways means `cat` is an exact echo handler.
 */
#ifndef PUSHPIPE_HANDLER_CODEC_H
#define PUSHPIPE_HANDLER_CODEC_H

#include <stddef.h>
#include <stdint.h>

enum rec_type {
    REC_TEXT = 't',
    REC_BINARY = 'b',
    REC_CLOSE = 'c'
};

#define REC_HEADER_MAX 24   /* "t " + 20 digits + "\n" + NUL */

/* Write a record header into out; returns its length. */
size_t rec_header(char out[REC_HEADER_MAX], enum rec_type type, uint64_t len);

enum rec_event_type {
    REC_EV_NONE = 0,    /* need more bytes */
    REC_EV_START,       /* type, length */
    REC_EV_DATA,        /* data, len: payload bytes */
    REC_EV_END,         /* record complete (trailing LF consumed) */
    REC_EV_ERROR        /* malformed input; error says why */
};

struct rec_event {
    enum rec_event_type type;
    enum rec_type rtype;
    uint64_t length;
    const uint8_t *data;
    size_t len;
    const char *error;
};

struct rec_decoder {
    uint64_t max_len;       /* records longer than this are an error */
    int state;
    char hdr[REC_HEADER_MAX];
    size_t hdr_len;
    enum rec_type type;
    uint64_t length;
    uint64_t remaining;
    int failed;
};

void rec_decoder_init(struct rec_decoder *d, uint64_t max_len);

/* Pull parser with the same calling convention as ws_parser_feed. */
size_t rec_decoder_feed(struct rec_decoder *d, const uint8_t *in, size_t len,
                        struct rec_event *ev);

/* Whether the decoder stands between two records (nothing of one read). */
int rec_decoder_between(const struct rec_decoder *d);

/* Close record payload helpers. */
size_t rec_close_payload(char *out, size_t outlen, unsigned code,
                         const char *reason, size_t reason_len);
/* Parse "CODE[ REASON]"; returns 0 or -1 when malformed. */
int rec_close_parse(const uint8_t *p, size_t len, unsigned *code,
                    const uint8_t **reason, size_t *reason_len);

#endif
