/* utf8.c - incremental UTF-8 validation.
 *
 * A DFA over bytes, in the "shift" form: the table row for a byte packs the
 * next state for every current state, each state being a bit offset into the
 * row.  Stepping is then one load indexed by the byte (off the dependency
 * chain) and one shift, instead of the two dependent loads of a classic
 * class + transition table: the loop-carried path is a single instruction.
 *
 * The states that follow E0, ED, F0 and F4 constrain the second byte, so an
 * overlong, a surrogate or a code point above U+10FFFF is rejected at the
 * first byte that makes it so (E0 80, ED A0, F0 80, F4 90), not at the end
 * of the sequence.  That is what lets a WebSocket peer fail fast on 1007.
 *
 * Runs of ASCII, the common case in text messages, skip the DFA 16 bytes at
 * a time whenever the state is at a character boundary.
 */
#include "utf8.h"

#include <string.h>

/* States are bit offsets into a 64-bit row, 6 bits apart (9 states fit).
 * ACC must be 0: it is UTF8_STATE_INIT. */
enum {
    ACC = 0,    /* at a character boundary */
    REJ = 6,    /* invalid seen; every byte keeps it here */
    C1 = 12,    /* one continuation byte (80..BF) still needed */
    C2 = 18,    /* two */
    C3 = 24,    /* three */
    E0 = 30,    /* after E0: A0..BF, else overlong */
    ED = 36,    /* after ED: 80..9F, else a surrogate */
    F0 = 42,    /* after F0: 90..BF, else overlong */
    F4 = 48     /* after F4: 80..8F, else above U+10FFFF */
};

#define T(from, to) ((uint64_t)(to) << (from))
#define ROW(acc, c1, c2, c3, e0, ed, f0, f4)                               \
    (T(ACC, acc) | T(REJ, REJ) | T(C1, c1) | T(C2, c2) | T(C3, c3) |     \
     T(E0, e0) | T(ED, ed) | T(F0, f0) | T(F4, f4))

/*                  from:  ACC  C1   C2   C3   E0   ED   F0   F4 */
#define K_ASCII ROW(ACC, REJ, REJ, REJ, REJ, REJ, REJ, REJ)
#define K_80    ROW(REJ, ACC, C1,  C2,  REJ, C1,  REJ, C2)  /* 80..8F */
#define K_90    ROW(REJ, ACC, C1,  C2,  REJ, C1,  C2,  REJ) /* 90..9F */
#define K_A0    ROW(REJ, ACC, C1,  C2,  C1,  REJ, C2,  REJ) /* A0..BF */
#define K_BAD   ROW(REJ, REJ, REJ, REJ, REJ, REJ, REJ, REJ) /* C0 C1 F5..FF */
#define K_L2    ROW(C1,  REJ, REJ, REJ, REJ, REJ, REJ, REJ) /* C2..DF */
#define K_E0    ROW(E0,  REJ, REJ, REJ, REJ, REJ, REJ, REJ)
#define K_L3    ROW(C2,  REJ, REJ, REJ, REJ, REJ, REJ, REJ) /* E1..EC EE EF */
#define K_ED    ROW(ED,  REJ, REJ, REJ, REJ, REJ, REJ, REJ)
#define K_F0    ROW(F0,  REJ, REJ, REJ, REJ, REJ, REJ, REJ)
#define K_L4    ROW(C3,  REJ, REJ, REJ, REJ, REJ, REJ, REJ) /* F1..F3 */
#define K_F4    ROW(F4,  REJ, REJ, REJ, REJ, REJ, REJ, REJ)

#define R2(x) x, x
#define R4(x) R2(x), R2(x)
#define R8(x) R4(x), R4(x)
#define R16(x) R8(x), R8(x)

static const uint64_t dfa[] = {
    R16(K_ASCII), R16(K_ASCII), R16(K_ASCII), R16(K_ASCII),     /* 00..3F */
    R16(K_ASCII), R16(K_ASCII), R16(K_ASCII), R16(K_ASCII),     /* 40..7F */
    R16(K_80), R16(K_90), R16(K_A0), R16(K_A0),                 /* 80..BF */
    R2(K_BAD), R16(K_L2), R8(K_L2), R4(K_L2), R2(K_L2),         /* C0..DF */
    K_E0, R8(K_L3), R4(K_L3), K_ED, R2(K_L3),                   /* E0..EF */
    K_F0, R2(K_L4), K_L4, K_F4, R8(K_BAD), R2(K_BAD), K_BAD     /* F0..FF */
};
_Static_assert(sizeof dfa / sizeof dfa[0] == 256, "one row per byte value");

/* Bytes run through the DFA between two looks for an ASCII run: long
 * enough to amortise the look, short enough to get back to the fast path
 * soon after a lone accented letter. */
#define DFA_RUN 16

static int ascii16(const uint8_t *p)
{
    uint64_t a, b;
    memcpy(&a, p, 8);
    memcpy(&b, p + 8, 8);
    return ((a | b) & 0x8080808080808080u) == 0;
}

enum utf8_result utf8_feed(uint32_t *state, const uint8_t *p, size_t len)
{
    uint64_t s = *state;
    size_t i = 0;

    while (i < len && s != REJ) {
        if (s == ACC)
            while (len - i >= 16 && ascii16(p + i))
                i += 16;
        size_t n = len - i < DFA_RUN ? len - i : DFA_RUN;
        const uint8_t *q = p + i, *end = q + n;
        /* Only the low 6 bits of s matter; masking once after the run
         * keeps the mask off the per-byte dependency chain (x86 shifts
         * mask their count the same way, so the "& 63" costs nothing).
         * Unrolled by hand: it lets the table loads run ahead of the
         * shifts, which nearly triples multibyte throughput at -O2. */
        for (; end - q >= 8; q += 8) {
            s = dfa[q[0]] >> (s & 63);
            s = dfa[q[1]] >> (s & 63);
            s = dfa[q[2]] >> (s & 63);
            s = dfa[q[3]] >> (s & 63);
            s = dfa[q[4]] >> (s & 63);
            s = dfa[q[5]] >> (s & 63);
            s = dfa[q[6]] >> (s & 63);
            s = dfa[q[7]] >> (s & 63);
        }
        for (; q < end; q++)
            s = dfa[*q] >> (s & 63);
        s &= 63;
        i += n;
    }
    *state = (uint32_t)s;
    if (s == ACC)
        return UTF8_OK;
    return s == REJ ? UTF8_INVALID : UTF8_PARTIAL;
}

int utf8_valid(const uint8_t *p, size_t len)
{
    uint32_t s = UTF8_STATE_INIT;
    return utf8_feed(&s, p, len) == UTF8_OK;
}
