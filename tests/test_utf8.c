/* test_utf8.c — base/utf8: what counts as a character, and what each helper
 * does with bytes that are not one.
 *
 *  1. decoding: valid sequences of every length and at every length's
 *     bounds, overlong forms, surrogates, values above U+10FFFF, truncated
 *     sequences, stray continuation bytes; encode/decode round trip of every
 *     code point;
 *  2. utf8_valid_prefix / utf8_valid, against utf8proc's decoder on random
 *     bytes (an independent definition of well-formed);
 *  3. utf8_cut: never splits a character, never cuts more than it must;
 *  4. utf8_incomplete_tail: what a stream holds back;
 *  5. utf8_write_valid: U+FFFD for every bad byte, whole characters only
 *     when the buffer is short, always valid output.
 */
#include <stdint.h>
#include <string.h>
#include <utf8proc.h>

#include "base/utf8.h"
#include "check.h"

#define U(s) ((const uint8_t *)(s))

/* Decodes s (its strlen) and checks the length and code point. */
static void expect_decode(const char *s, size_t want_len, uint32_t want_cp, const char *what)
{
    uint32_t cp = 0;
    size_t l = utf8_decode(U(s), strlen(s), &cp);
    CHECK(l == want_len && cp == want_cp, "%s: length %zu code point %#x", what, l, cp);
}

static void test_decode(void)
{
    expect_decode("a", 1, 'a', "ASCII");
    expect_decode("\x7f", 1, 0x7F, "last 1-byte value");
    expect_decode("\xc2\x80", 2, 0x80, "first 2-byte value");
    expect_decode("\xc3\xa9", 2, 0xE9, "é");
    expect_decode("\xdf\xbf", 2, 0x7FF, "last 2-byte value");
    expect_decode("\xe0\xa0\x80", 3, 0x800, "first 3-byte value");
    expect_decode("\xe2\x82\xac", 3, 0x20AC, "€");
    expect_decode("\xed\x9f\xbf", 3, 0xD7FF, "just below the surrogates");
    expect_decode("\xee\x80\x80", 3, 0xE000, "just above the surrogates");
    expect_decode("\xef\xbf\xbf", 3, 0xFFFF, "last 3-byte value");
    expect_decode("\xf0\x90\x80\x80", 4, 0x10000, "first 4-byte value");
    expect_decode("\xf0\x9f\x98\x80", 4, 0x1F600, "emoji");
    expect_decode("\xf4\x8f\xbf\xbf", 4, 0x10FFFF, "U+10FFFF");

    /* overlong: a longer spelling of a smaller value */
    expect_decode("\xc0\xaf", 1, UTF8_INVALID, "overlong '/' in 2 bytes");
    expect_decode("\xc1\xbf", 1, UTF8_INVALID, "overlong U+007F");
    expect_decode("\xe0\x80\xaf", 1, UTF8_INVALID, "overlong '/' in 3 bytes");
    expect_decode("\xe0\x9f\xbf", 1, UTF8_INVALID, "overlong U+07FF");
    expect_decode("\xf0\x8f\xbf\xbf", 1, UTF8_INVALID, "overlong U+FFFF");
    /* surrogates (UTF-16 halves, never characters) */
    expect_decode("\xed\xa0\x80", 1, UTF8_INVALID, "U+D800");
    expect_decode("\xed\xbf\xbf", 1, UTF8_INVALID, "U+DFFF");
    /* beyond Unicode */
    expect_decode("\xf4\x90\x80\x80", 1, UTF8_INVALID, "U+110000");
    expect_decode("\xf5\x80\x80\x80", 1, UTF8_INVALID, "F5 lead");
    expect_decode("\xff", 1, UTF8_INVALID, "FF");
    /* stray continuation, and a continuation missing mid-sequence */
    expect_decode("\x80", 1, UTF8_INVALID, "lone continuation");
    expect_decode("\xe2\x28\xac", 1, UTF8_INVALID, "ASCII where a continuation belongs");

    /* truncated: the sequence is cut by the end of the buffer */
    uint32_t cp;
    CHECK(utf8_decode(U("\xe2\x82\xac"), 2, &cp) == 1 && cp == UTF8_INVALID, "€ missing its last byte");
    CHECK(utf8_decode(U("\xf0\x9f\x98\x80"), 3, &cp) == 1 && cp == UTF8_INVALID, "emoji missing its last byte");
    CHECK(utf8_decode(U("\xc3\xa9"), 1, &cp) == 1 && cp == UTF8_INVALID, "é missing its last byte");

    /* every code point survives encode then decode, with the right length */
    int bad = 0;
    for (uint32_t c = 0; c <= 0x10FFFF; c++) {
        if (c >= 0xD800 && c <= 0xDFFF)
            continue;
        uint8_t b[4];
        size_t l = utf8_encode(c, b), want = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        uint32_t back;
        if (l != want || utf8_decode(b, l, &back) != l || back != c)
            bad++;
    }
    CHECK(bad == 0, "%d code points failed the round trip", bad);
}

/* Well-formed prefix by utf8proc's decoder (which refuses overlong forms,
 * surrogates and values above U+10FFFF itself). */
static size_t utf8proc_prefix(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        utf8proc_int32_t c;
        utf8proc_ssize_t l = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &c);
        if (l <= 0)
            break;
        i += (size_t)l;
    }
    return i;
}

static void test_valid(void)
{
    CHECK(utf8_valid_prefix(U("ab\xc3\xa9\xff"), 5) == 4, "valid prefix stops at 0xFF");
    CHECK(utf8_valid_prefix(U("ab\xe2\x82"), 4) == 2, "valid prefix stops before a truncated character");
    CHECK(utf8_valid(U(""), 0) && utf8_valid(U("h\xc3\xa9llo \xf0\x9f\x98\x80"), 11), "valid text");
    CHECK(!utf8_valid(U("a\xed\xa0\x80"), 4) && !utf8_valid(U("\xc0\xaf"), 2), "surrogate, overlong refused");

    /* random bytes, mostly high ones and continuations so that every branch is hit */
    uint64_t state = 0x9E3779B97F4A7C15u;
    static const uint8_t pick[] = { 'a', 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0,
                                    0xE2, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF };
    int disagree = 0;
    for (int t = 0; t < 200000; t++) {
        uint8_t s[8];
        size_t n = (size_t)(t % 8) + 1;
        for (size_t i = 0; i < n; i++) {
            state = state * 6364136223846793005u + 1442695040888963407u;
            uint32_t r = (uint32_t)(state >> 33);
            s[i] = (r & 1) ? pick[(r >> 1) % sizeof pick] : (uint8_t)(r >> 8);
        }
        if (utf8_valid_prefix(s, n) != utf8proc_prefix(s, n))
            disagree++;
    }
    CHECK(disagree == 0, "utf8_valid_prefix disagrees with utf8proc on %d of 200000 inputs", disagree);
}

static void test_cut(void)
{
    const uint8_t *ae = U("a\xc3\xa9"); /* "aé": 1 + 2 bytes */
    CHECK(utf8_cut(ae, 3, 3) == 3 && utf8_cut(ae, 3, 10) == 3, "short enough: kept whole");
    CHECK(utf8_cut(ae, 3, 2) == 1, "inside é: cut before it");
    CHECK(utf8_cut(ae, 3, 1) == 1, "on the boundary: as asked");
    const uint8_t *emoji = U("\xf0\x9f\x98\x80z");
    CHECK(utf8_cut(emoji, 5, 1) == 0 && utf8_cut(emoji, 5, 2) == 0 && utf8_cut(emoji, 5, 3) == 0,
          "inside a 4-byte character: all of it goes");
    CHECK(utf8_cut(emoji, 5, 4) == 4, "after the emoji");
    CHECK(utf8_cut(U("ab\x80\x80\x80\x80\x80"), 7, 4) == 4, "stray continuations: no character to protect");
    CHECK(utf8_cut(U("a\xe2\x82" "b"), 4, 2) == 2, "a broken sequence is not backed over");
    /* every cut of a mixed string ends on a boundary and is the longest such */
    const uint8_t *mix = U("x\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80y");
    size_t n = 11;
    int bad = 0;
    for (size_t max = 0; max <= n; max++) {
        size_t k = utf8_cut(mix, n, max);
        if (k > max || !utf8_valid(mix, k) || (k < max && utf8_valid(mix, k + 1)))
            bad++;
    }
    CHECK(bad == 0, "%d cuts of a mixed string were wrong", bad);
}

static void test_incomplete_tail(void)
{
    CHECK(utf8_incomplete_tail(U(""), 0) == 0 && utf8_incomplete_tail(U("abc"), 3) == 0, "nothing unfinished");
    CHECK(utf8_incomplete_tail(U("ab\xe2"), 3) == 1, "a 3-byte lead alone");
    CHECK(utf8_incomplete_tail(U("ab\xe2\x82"), 4) == 2, "two bytes of €");
    CHECK(utf8_incomplete_tail(U("\xf0\x9f\x98"), 3) == 3, "three bytes of an emoji");
    CHECK(utf8_incomplete_tail(U("\xe2\x82\xac"), 3) == 0, "€ complete");
    CHECK(utf8_incomplete_tail(U("\xed\xa0"), 2) == 0, "a surrogate can never complete");
    CHECK(utf8_incomplete_tail(U("\xe0\x80"), 2) == 0 && utf8_incomplete_tail(U("\xf4\x90"), 2) == 0,
          "an overlong or too-large start can never complete");
    CHECK(utf8_incomplete_tail(U("\xc0"), 1) == 0 && utf8_incomplete_tail(U("\xff"), 1) == 0, "never a lead byte");
    CHECK(utf8_incomplete_tail(U("a\x80"), 2) == 0 && utf8_incomplete_tail(U("\x80\x80\x80"), 3) == 0,
          "stray continuations");
    CHECK(utf8_incomplete_tail(U("\xe2\x82\xac\xe2"), 4) == 1, "a new start after a complete character");
}

static void test_write_valid(void)
{
    uint8_t out[64];
    size_t n = utf8_write_valid(out, sizeof out, U("h\xc3\xa9llo"), 6);
    CHECK(n == 6 && memcmp(out, "h\xc3\xa9llo", 6) == 0, "valid text copied unchanged");
    n = utf8_write_valid(out, sizeof out, U("a\xff" "b"), 3);
    CHECK(n == 5 && memcmp(out, "a" UTF8_REPLACEMENT "b", 5) == 0, "a bad byte becomes U+FFFD");
    n = utf8_write_valid(out, sizeof out, U("\xe2\x82" "x"), 3);
    CHECK(n == 7 && memcmp(out, UTF8_REPLACEMENT UTF8_REPLACEMENT "x", 7) == 0,
          "a truncated sequence: one U+FFFD per byte");
    n = utf8_write_valid(out, sizeof out, U("\xed\xa0\x80"), 3);
    CHECK(n == 9 && utf8_valid(out, n), "a surrogate: three U+FFFD");
    n = utf8_write_valid(out, sizeof out, U("\xc0\xaf"), 2);
    CHECK(n == 6 && utf8_valid(out, n), "an overlong form: two U+FFFD");

    /* a short buffer: whole characters only, and the full length returned */
    memset(out, '#', sizeof out);
    n = utf8_write_valid(out, 2, U("a\xc3\xa9z"), 4);
    CHECK(n == 4 && out[0] == 'a' && out[1] == '#', "é does not fit in 2 bytes: only 'a' written (%zu)", n);
    n = utf8_write_valid(out, 3, U("a\xff" "b"), 3);
    CHECK(n == 5 && out[0] == 'a' && out[1] == '#', "U+FFFD does not fit: not half-written");
    CHECK(utf8_write_valid(NULL, 0, U("\xff\xff"), 2) == 6, "measuring with no buffer");

    /* whatever goes in, what comes out is valid */
    uint64_t state = 12345;
    int bad = 0;
    for (int t = 0; t < 20000; t++) {
        uint8_t s[16];
        for (size_t i = 0; i < sizeof s; i++) {
            state = state * 6364136223846793005u + 1442695040888963407u;
            s[i] = (uint8_t)(state >> 56);
        }
        n = utf8_write_valid(out, sizeof out, s, sizeof s);
        if (n > 3 * sizeof s || !utf8_valid(out, n))
            bad++;
    }
    CHECK(bad == 0, "%d random inputs gave invalid output", bad);
}

int main(void)
{
    test_decode();
    test_valid();
    test_cut();
    test_incomplete_tail();
    test_write_valid();
    return check_done();
}
