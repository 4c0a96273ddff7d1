/* utf8.h — reading and writing UTF-8, the one copy for the whole program.
 *
 * UTF-8 writes each character (code point) as 1 to 4 bytes: ASCII as itself,
 * everything else as a lead byte that says how many bytes follow, then that
 * many "continuation" bytes (10xxxxxx). Text from outside — model files,
 * token pieces that split a character, a user's terminal, a request — can
 * break those rules, so every reader here says what it does with bytes that
 * do not form a character: decoding reports them, the cut never splits a
 * character, and utf8_write_valid() replaces them with U+FFFD (the "�"
 * replacement character) so the result can go straight into JSON.
 *
 * "Well-formed" is the Unicode definition (table 3-7 of the standard), the
 * same one JSON parsers and terminals apply: no overlong forms (C0 AF for
 * "/"), no UTF-16 surrogates (U+D800..U+DFFF), nothing above U+10FFFF, and
 * no sequence cut short.
 *
 * Owns: nothing (no allocation, no state).
 * Does not: know Unicode categories or normalization (tokenizer/unicode.h,
 * which uses utf8proc for them).
 * Called by: tokenizer (decoding, streaming), apps (info's printers), and any
 * writer of JSON or terminal text.
 */
#ifndef LS_UTF8_H
#define LS_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The code point utf8_decode() stores for a byte that does not start a
 * well-formed sequence (not a code point: above U+10FFFF). */
#define UTF8_INVALID 0xFFFFFFFFu
/* U+FFFD REPLACEMENT CHARACTER, as UTF-8 (3 bytes). */
#define UTF8_REPLACEMENT "\xEF\xBF\xBD"

/* Decodes one character at s[0..n), n >= 1. Returns its length in bytes
 * (1..4) and stores the code point in *cp; a malformed or truncated
 * sequence, an overlong form, a surrogate or a value above U+10FFFF yields
 * length 1 and *cp = UTF8_INVALID (the byte stands for itself). */
size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);

/* Encodes cp (<= U+10FFFF, not checked) into out[0..4); returns the length. */
size_t utf8_encode(uint32_t cp, uint8_t out[4]);

/* Number of bytes at the start of s[0..n) that form complete, well-formed
 * UTF-8 (stops before the first invalid or truncated sequence). */
size_t utf8_valid_prefix(const uint8_t *s, size_t n);

/* True when all of s[0..n) is well-formed UTF-8. */
bool utf8_valid(const uint8_t *s, size_t n);

/* Where to cut s[0..n) to keep at most `max` bytes without splitting a
 * character: n when n <= max, else the largest length <= max that does not
 * end inside a well-formed character (it backs up over at most 3
 * continuation bytes). Bytes that were invalid before stay invalid. */
size_t utf8_cut(const uint8_t *s, size_t n, size_t max);

/* Length of the unfinished character at the end of s[0..n): 1..3 when the
 * last bytes are the well-formed start of a character whose remaining bytes
 * have not arrived yet (a stream should hold them back), else 0. */
size_t utf8_incomplete_tail(const uint8_t *s, size_t n);

/* Copies s[0..n) to dst, replacing each byte that is not part of a
 * well-formed character with U+FFFD, so the result is always valid UTF-8.
 * Like snprintf: writes at most `cap` bytes (whole characters only; dst may
 * be NULL when cap is 0) and returns the length the whole result needs, at
 * most 3 * n; the copy is complete when that is <= cap. No NUL is added. */
size_t utf8_write_valid(uint8_t *dst, size_t cap, const uint8_t *s, size_t n);

#endif
