/* fuzz_common.h - what the fuzz targets share: invariant checks that abort,
 * a reader for the configuration bytes at the front of an input, the ways
 * an input is split into chunks, and an event trace for comparing runs.
 *
 * Every target is a plain LLVMFuzzerTestOneInput.  libFuzzer drives it in
 * `make fuzz` (run-fuzz.sh, built with clang); replay.c drives the same
 * function over the committed corpus and regressions in `make check`.
 *
 * Chunks: each run copies the bytes of a chunk into their own allocation of
 * exactly that size, so a parser reading one byte past what it was given
 * is caught by AddressSanitizer even in the middle of the input.
 */
#ifndef PUSHPIPE_FUZZ_COMMON_H
#define PUSHPIPE_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A violated invariant is a crash, so libFuzzer saves the input. */
#define FUZZ_CHECK(cond)                                                      \
    do {                                                                      \
        if (!(cond))                                                          \
            fuzz_fail(__FILE__, __LINE__, #cond);                             \
    } while (0)

static inline void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "fuzz invariant violated at %s:%d: %s\n", file, line, what);
    abort();
}

static inline void *fuzz_malloc(size_t n)
{
    /* malloc(0) yields a unique pointer with no accessible bytes under
     * ASan; ask for one byte where a libc might return NULL. */
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

/* ---- configuration bytes --------------------------------------------- */

struct fuzz_input {
    const uint8_t *p;
    size_t n;
};

/* The next byte (0 once the input is exhausted). */
static inline uint8_t fuzz_byte(struct fuzz_input *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

/* ---- splitting --------------------------------------------------------- */

enum fuzz_split {
    SPLIT_WHOLE,    /* one chunk */
    SPLIT_BYTES,    /* one byte per chunk (the first 1024; then as SEEDED) */
    SPLIT_SEEDED    /* sizes from a generator seeded by the input, 0 included */
};

struct fuzz_splitter {
    enum fuzz_split mode;
    uint64_t state;
    size_t calls;
};

static inline void fuzz_splitter_init(struct fuzz_splitter *s, enum fuzz_split mode,
                                      uint64_t seed)
{
    s->mode = mode;
    s->state = seed * 0x9E3779B97F4A7C15u + 1;
    s->calls = 0;
}

/* splitmix64 */
static inline uint64_t fuzz_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* Size of the next chunk, at most left.  Seeded sizes favour the small
 * ones that land inside headers and characters, and sometimes give an
 * empty chunk, which every parser must accept.  Byte-sized chunks stop
 * after 1 KiB: long inputs would cost a call per byte for little gain. */
static inline size_t fuzz_next_chunk(struct fuzz_splitter *s, size_t left)
{
    size_t n;
    if (s->mode == SPLIT_BYTES && s->calls++ < 1024)
        return left ? 1 : 0;
    switch (s->mode) {
    case SPLIT_WHOLE:
        return left;
    default: {
        uint64_t r = fuzz_rand(&s->state);
        switch (r & 3) {
        case 0: n = (size_t)(r >> 8) % 4; break;       /* 0..3 */
        case 1: n = (size_t)(r >> 8) % 17; break;      /* 0..16 */
        case 2: n = (size_t)(r >> 8) % 300; break;
        default: n = left; break;
        }
        return n < left ? n : left;
    }
    }
}

/* ---- traces ------------------------------------------------------------ */

/* A run's events, serialized, with the DATA of one message merged into one
 * record: two runs over the same input split differently must produce
 * identical traces.  The exception is data delivered before an ERROR:
 * parsers may deliver more or less of the failing message depending on
 * where the chunks end, so that part is kept aside (partial) and the runs
 * need only agree that one is a prefix of the other. */
struct fuzz_trace {
    uint8_t *buf;
    size_t len, cap;
    uint8_t *pend;          /* DATA not yet closed by another event */
    size_t plen, pcap;
    uint8_t *partial;       /* pend at the time of an ERROR */
    size_t partial_len;
};

static inline void fuzz_trace_init(struct fuzz_trace *t)
{
    memset(t, 0, sizeof *t);
}

static inline void fuzz_trace_free(struct fuzz_trace *t)
{
    free(t->buf);
    free(t->pend);
    free(t->partial);
    memset(t, 0, sizeof *t);
}

static inline void fuzz_grow(uint8_t **b, size_t *cap, size_t need)
{
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    uint8_t *nb = realloc(*b, c);
    if (!nb)
        abort();
    *b = nb;
    *cap = c;
}

static inline void fuzz_trace_raw(struct fuzz_trace *t, const void *p, size_t n)
{
    fuzz_grow(&t->buf, &t->cap, t->len + n);
    if (n)
        memcpy(t->buf + t->len, p, n);
    t->len += n;
}

static inline void fuzz_trace_u64(struct fuzz_trace *t, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    fuzz_trace_raw(t, b, 8);
}

static inline void fuzz_trace_flush(struct fuzz_trace *t)
{
    if (t->plen == 0)
        return;
    fuzz_trace_raw(t, "D", 1);
    fuzz_trace_u64(t, t->plen);
    fuzz_trace_raw(t, t->pend, t->plen);
    t->plen = 0;
}

/* Payload bytes of the current message. */
static inline void fuzz_trace_data(struct fuzz_trace *t, const void *p, size_t n)
{
    fuzz_grow(&t->pend, &t->pcap, t->plen + n);
    if (n)
        memcpy(t->pend + t->plen, p, n);
    t->plen += n;
}

/* Any other event: a tag, two numbers and optionally bytes. */
static inline void fuzz_trace_event(struct fuzz_trace *t, char tag, uint64_t a,
                                    uint64_t b, const void *p, size_t n)
{
    fuzz_trace_flush(t);
    fuzz_trace_raw(t, &tag, 1);
    fuzz_trace_u64(t, a);
    fuzz_trace_u64(t, b);
    fuzz_trace_u64(t, n);
    fuzz_trace_raw(t, p, n);
}

/* The ERROR event: pending data is set aside instead of recorded. */
static inline void fuzz_trace_error(struct fuzz_trace *t, uint64_t code)
{
    free(t->partial);
    t->partial = t->pend;
    t->partial_len = t->plen;
    t->pend = NULL;
    t->plen = t->pcap = 0;
    fuzz_trace_event(t, 'E', code, 0, NULL, 0);
}

static inline void fuzz_trace_end(struct fuzz_trace *t)
{
    fuzz_trace_flush(t);
}

static inline int fuzz_is_prefix(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    return n == 0 || memcmp(a, b, n) == 0;
}

/* Abort unless two finished traces agree. */
static inline void fuzz_trace_same(const struct fuzz_trace *a, const struct fuzz_trace *b)
{
    if (a->len != b->len || (a->len && memcmp(a->buf, b->buf, a->len) != 0)) {
        size_t i = 0;
        while (i < a->len && i < b->len && a->buf[i] == b->buf[i])
            i++;
        fprintf(stderr, "traces differ at byte %zu (lengths %zu and %zu)\n",
                i, a->len, b->len);
        size_t from = i > 32 ? i - 32 : 0;
        for (int k = 0; k < 2; k++) {
            const struct fuzz_trace *x = k ? b : a;
            fprintf(stderr, "  %c @%zu:", k ? 'b' : 'a', from);
            for (size_t j = from; j < x->len && j < from + 64; j++)
                fprintf(stderr, " %02x", x->buf[j]);
            fprintf(stderr, "\n");
        }
        fuzz_fail(__FILE__, __LINE__, "split runs produce the same events");
    }
    FUZZ_CHECK(fuzz_is_prefix(a->partial, a->partial_len, b->partial, b->partial_len));
}

#endif
