/* handler_codec.c - framed-mode records: "TYPE SP LENGTH LF PAYLOAD LF". */
#include "handler_codec.h"

#include <string.h>

/* Where the next input byte belongs. */
enum {
    ST_TYPE = 0,
    ST_SPACE,
    ST_LENGTH,
    ST_PAYLOAD,
    ST_TRAILER
};

/* UINT64_MAX has 20 decimal digits; anything longer cannot be a length. */
#define MAX_DIGITS 20

/* d->failed holds 1 + the index of the reason, so that every call after
 * the first error repeats the same reason without a pointer in the struct. */
enum {
    ERR_TYPE,
    ERR_SPACE,
    ERR_DIGIT,
    ERR_LEADING_ZERO,
    ERR_DIGITS,
    ERR_OVERFLOW,
    ERR_TOO_LONG,
    ERR_NO_LF
};

static const char *const rec_errors[] = {
    [ERR_TYPE] = "unknown record type",
    [ERR_SPACE] = "missing space after record type",
    [ERR_DIGIT] = "record length is not a decimal number",
    [ERR_LEADING_ZERO] = "record length has a leading zero",
    [ERR_DIGITS] = "record length has more than 20 digits",
    [ERR_OVERFLOW] = "record length overflows 64 bits",
    [ERR_TOO_LONG] = "record longer than the maximum",
    [ERR_NO_LF] = "record payload not followed by LF"
};

size_t rec_header(char out[REC_HEADER_MAX], enum rec_type type, uint64_t len)
{
    char digits[MAX_DIGITS];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + len % 10);
        len /= 10;
    } while (len);

    size_t o = 0;
    out[o++] = (char)type;
    out[o++] = ' ';
    while (n)
        out[o++] = digits[--n];
    out[o++] = '\n';
    out[o] = '\0';
    return o;
}

void rec_decoder_init(struct rec_decoder *d, uint64_t max_len)
{
    memset(d, 0, sizeof *d);
    d->max_len = max_len;
    d->state = ST_TYPE;
}

int rec_decoder_between(const struct rec_decoder *d)
{
    return d->state == ST_TYPE && !d->failed;
}

static size_t fail(struct rec_decoder *d, struct rec_event *ev, int err,
                   size_t used)
{
    d->failed = 1 + err;
    ev->type = REC_EV_ERROR;
    ev->error = rec_errors[err];
    return used;
}

/* The header is checked byte by byte rather than collected and parsed at
 * its LF (d->hdr stays unused): a handler that prints garbage fails at the
 * first bad byte instead of when some LF happens to come along. */
static int header_byte(struct rec_decoder *d, uint8_t c)
{
    switch (d->state) {
    case ST_TYPE:
        if (c != REC_TEXT && c != REC_BINARY && c != REC_CLOSE)
            return ERR_TYPE;
        d->type = (enum rec_type)c;
        d->state = ST_SPACE;
        return -1;
    case ST_SPACE:
        if (c != ' ')
            return ERR_SPACE;
        d->length = 0;
        d->hdr_len = 0;     /* counts length digits */
        d->state = ST_LENGTH;
        return -1;
    default:
        break;
    }
    if (c < '0' || c > '9')
        return ERR_DIGIT;
    if (d->hdr_len == 1 && d->length == 0)
        return ERR_LEADING_ZERO;
    if (d->hdr_len == MAX_DIGITS)
        return ERR_DIGITS;
    unsigned digit = (unsigned)(c - '0');
    if (d->length > (UINT64_MAX - digit) / 10)
        return ERR_OVERFLOW;
    d->length = d->length * 10 + digit;
    d->hdr_len++;
    /* Digits only ever make the number bigger: refuse as early as possible. */
    if (d->length > d->max_len)
        return ERR_TOO_LONG;
    return -1;
}

size_t rec_decoder_feed(struct rec_decoder *d, const uint8_t *in, size_t len,
                        struct rec_event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->type = REC_EV_NONE;
    if (d->failed)
        return fail(d, ev, d->failed - 1, 0);

    size_t i = 0;
    while (i < len) {
        if (d->state == ST_PAYLOAD) {
            size_t n = len - i;
            if (n > d->remaining)
                n = (size_t)d->remaining;
            d->remaining -= n;
            if (d->remaining == 0)
                d->state = ST_TRAILER;
            ev->type = REC_EV_DATA;
            ev->rtype = d->type;
            ev->length = d->length;
            ev->data = in + i;
            ev->len = n;
            return i + n;
        }
        if (d->state == ST_TRAILER) {
            if (in[i] != '\n')
                return fail(d, ev, ERR_NO_LF, i);
            d->state = ST_TYPE;
            ev->type = REC_EV_END;
            ev->rtype = d->type;
            ev->length = d->length;
            return i + 1;
        }
        if (d->state == ST_LENGTH && in[i] == '\n') {
            if (d->hdr_len == 0)
                return fail(d, ev, ERR_DIGIT, i);
            d->remaining = d->length;
            /* An empty record goes straight to its trailing LF, so that
             * no zero-length DATA event is ever produced. */
            d->state = d->length ? ST_PAYLOAD : ST_TRAILER;
            ev->type = REC_EV_START;
            ev->rtype = d->type;
            ev->length = d->length;
            return i + 1;
        }
        int err = header_byte(d, in[i]);
        if (err >= 0)
            return fail(d, ev, err, i);
        i++;
    }
    return i;
}

size_t rec_close_payload(char *out, size_t outlen, unsigned code,
                         const char *reason, size_t reason_len)
{
    if (code < 1000 || code > 4999)
        return 0;
    size_t need = 4 + (reason_len ? 1 + reason_len : 0);
    if (need > outlen)
        return 0;
    for (size_t k = 4; k-- > 0; code /= 10)
        out[k] = (char)('0' + code % 10);
    if (reason_len) {
        out[4] = ' ';
        memcpy(out + 5, reason, reason_len);
    }
    return need;
}

int rec_close_parse(const uint8_t *p, size_t len, unsigned *code,
                    const uint8_t **reason, size_t *reason_len)
{
    /* Exactly four digits, 1000-4999: every code a close frame may carry
     * (plus 1005/1006, which pushpipe reports to the handler) and nothing
     * that needs a sign, padding or a range check on a longer number. */
    if (len < 4 || p[0] < '1' || p[0] > '4')
        return -1;
    unsigned c = 0;
    for (size_t k = 0; k < 4; k++) {
        if (p[k] < '0' || p[k] > '9')
            return -1;
        c = c * 10 + (unsigned)(p[k] - '0');
    }
    if (len > 4 && p[4] != ' ')
        return -1;
    *code = c;
    *reason = len > 5 ? p + 5 : p + len;
    *reason_len = len > 5 ? len - 5 : 0;
    return 0;
}
