/* unicode.c — character classes and NFC for the tokenizer (UTF-8 itself: base/utf8.c).
 *
 * How it works. tok_uni_bmp[cp] holds the TOK_UNI_* flags of every BMP code
 * point, computed once from utf8proc (pthread_once). Above the BMP we ask
 * utf8proc each time (same function, so both paths agree by construction).
 *
 * Why "inert" makes NFC cheap. NFC = canonical decomposition, canonical
 * reordering of combining marks, then canonical composition. A character X
 * with combining class 0, no canonical decomposition, and which never
 * appears as the second element of a composition, is untouched by all three
 * steps and stops them at its left edge: nothing after X can reorder before
 * it, and X cannot merge into what precedes it. (It can still absorb marks
 * that follow it: e + U+0301 -> é.) So text splits into independent chunks
 * at inert characters: a chunk is "the inert character just before a run of
 * non-inert ones, plus that run", and only such chunks go through utf8proc.
 * Composition seconds are combining marks (category M*) or Hangul vowel and
 * trailing jamo; the unit test re-derives this claim from utf8proc's own
 * decompositions for every code point, so a future Unicode version that
 * breaks it fails the test instead of silently mis-normalizing.
 */
#include "tokenizer/unicode.h"

#include <pthread.h>
#include <string.h>
#include <utf8proc.h>

#include "base/alloc.h"

uint8_t tok_uni_bmp[65536];
static pthread_once_t uni_once = PTHREAD_ONCE_INIT;

static int is_white_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

static unsigned compute_class(uint32_t c)
{
    if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    unsigned f = 0;
    const utf8proc_property_t *p = utf8proc_get_property((utf8proc_int32_t)c);
    switch (p->category) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
        f |= TOK_UNI_L;
        break;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        f |= TOK_UNI_N;
        break;
    default:
        break;
    }
    if (is_white_space(c))
        f |= TOK_UNI_WS;
    if (c == '\r' || c == '\n')
        f |= TOK_UNI_CRLF;
    /* decomp_type 0 with a sequence = a canonical decomposition (others are
     * compatibility ones, which NFC ignores). */
    int canon_decomp = p->decomp_seqindex != UINT16_MAX && p->decomp_type == 0;
    int mark = p->category == UTF8PROC_CATEGORY_MN || p->category == UTF8PROC_CATEGORY_MC ||
               p->category == UTF8PROC_CATEGORY_ME;
    int jamo_second = (c >= 0x1161 && c <= 0x1175) || (c >= 0x11A8 && c <= 0x11C2);
    if (p->combining_class == 0 && !canon_decomp && !mark && !jamo_second)
        f |= TOK_UNI_INERT;
    return f;
}

static void fill_table(void)
{
    for (uint32_t c = 0; c < 65536; c++)
        tok_uni_bmp[c] = (uint8_t)compute_class(c);
}

void tok_uni_init(void)
{
    pthread_once(&uni_once, fill_table);
}

unsigned tok_uni_class(uint32_t cp)
{
    tok_uni_init();
    if (cp < 65536)
        return tok_uni_bmp[cp];
    return compute_class(cp);
}

/* ======================================================================== */
/* NFC                                                                       */
/* ======================================================================== */

/* Flags of the character at s[0..n): its length in *len; invalid bytes get
 * 0 (not inert, but callers treat them as barriers separately). */
static inline unsigned class_at(const uint8_t *s, size_t n, size_t *len, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *len = 1;
        *cp = s[0];
        return tok_uni_bmp[s[0]];
    }
    *len = utf8_decode(s, n, cp);
    if (*cp == UTF8_INVALID)
        return 0;
    return *cp < 65536 ? tok_uni_bmp[*cp] : tok_uni_class(*cp);
}

int tok_uni_nfc_quick(const uint8_t *src, size_t n)
{
    tok_uni_init();
    size_t i = 0;
    while (i < n) {
        if (src[i] < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        unsigned f = class_at(src + i, n - i, &len, &cp);
        if (cp != UTF8_INVALID && !(f & TOK_UNI_INERT))
            return 0;
        i += len;
    }
    return 1;
}

static int reserve_bytes(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    uint8_t *p = ls_realloc(*buf, c);
    if (!p)
        return -1;
    *buf = p;
    *cap = c;
    return 0;
}

static int reserve_cps(int32_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    int32_t *p = ls_realloc(*buf, c * sizeof *p);
    if (!p)
        return -1;
    *buf = p;
    *cap = c;
    return 0;
}

static unsigned ccc(int32_t cp)
{
    return utf8proc_get_property(cp)->combining_class;
}

/* Canonical ordering: each run of marks (combining class > 0) sorted by
 * class, stably. Runs are short in real text (insertion sort); a long run
 * gets a counting sort through `scratch` (room for n), so the cost stays
 * linear whatever the input. */
static void canonical_order(int32_t *cp, size_t n, int32_t *scratch)
{
    for (size_t a = 0; a < n;) {
        if (ccc(cp[a]) == 0) {
            a++;
            continue;
        }
        size_t b = a + 1;
        while (b < n && ccc(cp[b]) != 0)
            b++;
        if (b - a <= 16) {
            for (size_t k = a + 1; k < b; k++) {
                int32_t v = cp[k];
                unsigned cv = ccc(v);
                size_t x = k;
                while (x > a && ccc(cp[x - 1]) > cv) {
                    cp[x] = cp[x - 1];
                    x--;
                }
                cp[x] = v;
            }
        } else {
            size_t start[257] = { 0 };
            for (size_t k = a; k < b; k++)
                start[ccc(cp[k]) + 1]++;
            for (int c = 1; c <= 256; c++)
                start[c] += start[c - 1];
            for (size_t k = a; k < b; k++)
                scratch[start[ccc(cp[k])]++] = cp[k];
            memcpy(cp + a, scratch, (b - a) * sizeof *cp);
        }
        a = b;
    }
}

int tok_uni_nfc(const uint8_t *src, size_t n, uint8_t **dst, size_t *dst_cap, size_t *n_out,
                int32_t **work, size_t *work_cap)
{
    tok_uni_init();
    size_t o = 0;
    size_t i = 0;
    /* Start of the last inert, valid character copied (the anchor that may
     * absorb following marks), or SIZE_MAX if the previous thing was an
     * invalid byte or the start of text. */
    size_t anchor = SIZE_MAX, anchor_out = 0;
    while (i < n) {
        size_t len;
        uint32_t cp;
        unsigned f = class_at(src + i, n - i, &len, &cp);
        if (cp == UTF8_INVALID || (f & TOK_UNI_INERT)) {
            if (reserve_bytes(dst, dst_cap, o + len))
                return -1;
            if (cp == UTF8_INVALID) {
                anchor = SIZE_MAX;
            } else {
                anchor = i;
                anchor_out = o;
            }
            memcpy(*dst + o, src + i, len);
            o += len;
            i += len;
            continue;
        }
        /* A non-inert run starts at i: extend it to the next inert character
         * or invalid byte, then normalize anchor + run together. */
        size_t start = anchor == SIZE_MAX ? i : anchor;
        if (anchor != SIZE_MAX)
            o = anchor_out; /* the anchor is re-emitted by utf8proc */
        size_t j = i + len;
        while (j < n) {
            unsigned g = class_at(src + j, n - j, &len, &cp);
            if (cp == UTF8_INVALID || (g & TOK_UNI_INERT))
                break;
            j += len;
        }
        /* Decompose character by character, order each run of combining
         * marks, then let utf8proc compose and re-encode. (utf8proc's own
         * string decomposition orders marks with an insertion sort, which is
         * quadratic on a long run of marks: 200 KB of them took 20 s.) One
         * character decomposes to at most 4 code points (U+1FAF, the most);
         * the second half of the buffer is the sort's scratch. */
        size_t max_cps = 4 * (j - start) + 1;
        if (reserve_cps(work, work_cap, 2 * max_cps))
            return -1;
        int32_t *buf = *work;
        size_t m = 0;
        for (size_t k = start; k < j;) {
            uint32_t c;
            size_t l = utf8_decode(src + k, j - k, &c);
            utf8proc_ssize_t r = utf8proc_decompose_char((utf8proc_int32_t)c, buf + m, 4,
                                                         UTF8PROC_STABLE | UTF8PROC_COMPOSE, NULL);
            if (r < 1 || r > 4) { /* cannot happen for a valid code point; keep it */
                buf[m] = (int32_t)c;
                r = 1;
            }
            m += (size_t)r;
            k += l;
        }
        canonical_order(buf, m, buf + max_cps);
        utf8proc_ssize_t nb = utf8proc_reencode(buf, (utf8proc_ssize_t)m, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        if (nb < 0)
            nb = 0;
        if (reserve_bytes(dst, dst_cap, o + (size_t)nb))
            return -1;
        memcpy(*dst + o, *work, (size_t)nb);
        o += (size_t)nb;
        anchor = SIZE_MAX;
        i = j;
    }
    *n_out = o;
    return 0;
}
