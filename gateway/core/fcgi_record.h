/* fcgi_record.h - FastCGI records (FastCGI 1.0 specification), sans-I/O.
 *
 * libfcgi accepts the connection and reads BEGIN_REQUEST and PARAMS; after
 * that pushpipe's worker speaks the record layer itself, because libfcgi's
 * streams block and a relay needs a non-blocking stream.  This module is that
 * record layer: a streaming parser (bytes in, record events out, no
 * allocation) and the few encoders a responder needs.
 *
 * Names carry an FCGI_REC_ prefix so they never clash with libfcgi's
 * fastcgi.h.
 */
#ifndef PUSHPIPE_FCGI_RECORD_H
#define PUSHPIPE_FCGI_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define FCGI_REC_HEADER_LEN 8
#define FCGI_REC_VERSION 1
#define FCGI_REC_MAX_CONTENT 65535

enum fcgi_rec_type {
    FCGI_REC_BEGIN_REQUEST = 1,
    FCGI_REC_ABORT_REQUEST = 2,
    FCGI_REC_END_REQUEST = 3,
    FCGI_REC_PARAMS = 4,
    FCGI_REC_STDIN = 5,
    FCGI_REC_STDOUT = 6,
    FCGI_REC_STDERR = 7,
    FCGI_REC_DATA = 8,
    FCGI_REC_GET_VALUES = 9,
    FCGI_REC_GET_VALUES_RESULT = 10,
    FCGI_REC_UNKNOWN_TYPE = 11
};

/* protocolStatus of END_REQUEST */
enum {
    FCGI_REC_REQUEST_COMPLETE = 0,
    FCGI_REC_CANT_MPX_CONN = 1,
    FCGI_REC_OVERLOADED = 2,
    FCGI_REC_UNKNOWN_ROLE = 3
};

/* BEGIN_REQUEST flags */
#define FCGI_REC_KEEP_CONN 1

enum fcgi_ev_type {
    FCGI_EV_NONE = 0,       /* need more bytes */
    FCGI_EV_DATA,           /* data/len: a piece of a record's content */
    FCGI_EV_RECORD_END,     /* the record (content and padding) is complete */
    FCGI_EV_ERROR           /* not a FastCGI 1 stream; the parser stays failed */
};

struct fcgi_event {
    enum fcgi_ev_type type;
    int rec_type;               /* enum fcgi_rec_type or any other value */
    unsigned request_id;
    const uint8_t *data;        /* FCGI_EV_DATA: points into the input */
    size_t len;
    size_t content_length;      /* FCGI_EV_RECORD_END: the record's content length */
    const char *error;
};

struct fcgi_parser {
    uint8_t hdr[FCGI_REC_HEADER_LEN];
    size_t hdr_have;
    int in_body;                /* header parsed; content/padding pending */
    int rec_type;
    unsigned request_id;
    size_t content_length;
    size_t content_left;
    size_t padding_left;
    int failed;
};

void fcgi_parser_init(struct fcgi_parser *p);

/* Consume bytes; returns how many were used and sets ev.  Content arrives
 * as FCGI_EV_DATA events of at most max_data bytes each (so the caller
 * can bound what one call hands out); every record ends with exactly one
 * FCGI_EV_RECORD_END, also for records with no content (the empty STDIN
 * that ends a request body).  Call again while ev->type != FCGI_EV_NONE:
 * an event can be pending when all input has been consumed. */
size_t fcgi_parser_feed(struct fcgi_parser *p, const uint8_t *in, size_t len,
                        size_t max_data, struct fcgi_event *ev);

/* An 8-byte record header.  content_length must be <= FCGI_REC_MAX_CONTENT. */
void fcgi_record_header(uint8_t out[FCGI_REC_HEADER_LEN], int type, unsigned request_id,
                        size_t content_length, unsigned padding);

/* A complete END_REQUEST record (header and body, 16 bytes). */
#define FCGI_REC_END_REQUEST_LEN 16
void fcgi_record_end_request(uint8_t out[FCGI_REC_END_REQUEST_LEN], unsigned request_id,
                             uint32_t app_status, int protocol_status);

/* One name-value pair of PARAMS or GET_VALUES content.  Returns the bytes
 * the pair occupies, 0 if in[0..len) holds only part of one, or -1 if a
 * length is malformed (over 2^31-1). */
long fcgi_name_value(const uint8_t *in, size_t len, const uint8_t **name, size_t *name_len,
                     const uint8_t **value, size_t *value_len);

/* Encode one name-value pair into out; returns its length, or 0 if it does
 * not fit in outlen. */
size_t fcgi_put_name_value(uint8_t *out, size_t outlen, const char *name, size_t name_len,
                           const char *value, size_t value_len);

#endif
