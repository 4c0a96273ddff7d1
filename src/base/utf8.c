/* utf8.c — decoding by the lead byte, then checking every continuation.
 *
 * The lead byte gives the length and the smallest value that length may
 * hold (so an overlong form, a longer spelling of a smaller value, is caught
 * after decoding); surrogates and values above U+10FFFF are refused on the
 * decoded value. C0, C1 and F5..FF never lead a well-formed sequence. Every
 * other function here is a loop over utf8_decode(), so there is one
 * definition of "well-formed".
 */
#include "base/utf8.h"

#include <string.h>

size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint8_t b0 = s[0];
    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }
    size_t len;
    uint32_t c, min;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2; c = b0 & 0x1F; min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3; c = b0 & 0x0F; min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4; c = b0 & 0x07; min = 0x10000;
    } else {
        *cp = UTF8_INVALID;
        return 1;
    }
    if (n < len) {
        *cp = UTF8_INVALID;
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = UTF8_INVALID;
            return 1;
        }
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        *cp = UTF8_INVALID;
        return 1;
    }
    *cp = c;
    return len;
}

size_t utf8_encode(uint32_t cp, uint8_t out[4])
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

size_t utf8_valid_prefix(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t l = utf8_decode(s + i, n - i, &cp);
        if (cp == UTF8_INVALID)
            break;
        i += l;
    }
    return i;
}

bool utf8_valid(const uint8_t *s, size_t n)
{
    return utf8_valid_prefix(s, n) == n;
}

size_t utf8_cut(const uint8_t *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    /* s[max] is the first byte left out. If it continues a character, that
     * character began at most 3 bytes earlier: cut before its lead byte. */
    size_t k = max;
    while (k > 0 && max - k < 3 && (s[k] & 0xC0) == 0x80)
        k--;
    if (k < max) {
        uint32_t cp;
        size_t l = utf8_decode(s + k, n - k, &cp);
        if (cp != UTF8_INVALID && k + l > max)
            return k;
    }
    return max; /* no well-formed character straddles the cut */
}

size_t utf8_incomplete_tail(const uint8_t *s, size_t n)
{
    /* The last byte that is not a continuation, within the last 3. */
    size_t j = n;
    while (j > 0 && n - j < 3 && (s[j - 1] & 0xC0) == 0x80)
        j--;
    if (j == 0 || (s[j - 1] & 0xC0) == 0x80)
        return 0;
    size_t start = j - 1, have = n - start;
    uint8_t b0 = s[start];
    size_t want = b0 >= 0xC2 && b0 <= 0xDF ? 2 : b0 >= 0xE0 && b0 <= 0xEF ? 3 : b0 >= 0xF0 && b0 <= 0xF4 ? 4 : 0;
    if (want == 0 || have >= want)
        return 0; /* ASCII, a byte that never leads, or a sequence already complete (valid or not) */
    if (have >= 2) { /* the second byte carries the overlong / surrogate / range limits */
        uint8_t lo = 0x80, hi = 0xBF, b1 = s[start + 1];
        if (b0 == 0xE0) lo = 0xA0;
        if (b0 == 0xED) hi = 0x9F;
        if (b0 == 0xF0) lo = 0x90;
        if (b0 == 0xF4) hi = 0x8F;
        if (b1 < lo || b1 > hi)
            return 0;
    }
    return have;
}

size_t utf8_write_valid(uint8_t *dst, size_t cap, const uint8_t *s, size_t n)
{
    size_t need = 0;
    bool fits = true; /* stays false after the first character that did not fit */
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = utf8_decode(s + i, n - i, &cp);
        const uint8_t *src = s + i, *repl = (const uint8_t *)UTF8_REPLACEMENT;
        size_t out_len = l;
        if (cp == UTF8_INVALID) {
            src = repl;
            out_len = 3;
        }
        if (fits && need + out_len <= cap)
            memcpy(dst + need, src, out_len);
        else
            fits = false;
        need += out_len;
        i += l;
    }
    return need;
}
