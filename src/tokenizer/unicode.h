/* unicode.h — the few Unicode facts the tokenizer needs: character classes
 * for the pre-tokenizer, and NFC normalization. (UTF-8 decoding itself is
 * base/utf8.h, shared with the rest of the program.)
 *
 * The pre-tokenizer rules (pretok.h) only ask four questions of a character:
 * is it a letter (\p{L}), a number (\p{N}), white space (\s), or CR/LF. The
 * NFC normalizer asks a fifth: can this character be left alone by NFC no
 * matter what surrounds it ("inert")? This module answers them from one byte
 * of flags per code point.
 *
 * Where the facts come from. utf8proc (a Debian package, Unicode 15 in
 * utf8proc 2.8) is the source; at first use we copy what we need for the
 * Basic Multilingual Plane into a 64 KiB table (about 0.3 ms), because
 * looking one byte up is several times faster than utf8proc's two-level
 * property lookup, and almost all text lives in the BMP. Code points above
 * U+FFFF (emoji, rare scripts) ask utf8proc directly. Generating our own
 * compressed tables offline would save the 64 KiB but would be a second copy
 * of the Unicode database to keep current; utf8proc already is one.
 *
 * "White space" is Unicode's White_Space property (what Hugging Face's Rust
 * tokenizers, tiktoken and llama.cpp use for \s): TAB..CR, SPACE, U+0085,
 * U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
 * (JavaScript's \s differs on U+0085 and U+FEFF; no vector depends on it.)
 *
 * Owns: one static table, filled once (thread-safe, pthread_once).
 * Does not: allocate, except tok_uni_nfc() which writes into buffers the
 * caller grows. Called by: the pre-tokenizer, the encoder, tests.
 */
#ifndef LS_TOK_UNICODE_H
#define LS_TOK_UNICODE_H

#include <stddef.h>
#include <stdint.h>

#include "base/utf8.h"

enum {
    TOK_UNI_L = 1u << 0,     /* letter: general category L* */
    TOK_UNI_N = 1u << 1,     /* number: general category Nd, Nl, No */
    TOK_UNI_WS = 1u << 2,    /* White_Space property */
    TOK_UNI_CRLF = 1u << 3,  /* exactly U+000D or U+000A (also has TOK_UNI_WS) */
    TOK_UNI_INERT = 1u << 4, /* NFC never changes it, nor merges it with what precedes */
};

/* Fills the table once (thread-safe). The functions below call it; code
 * that reads tok_uni_bmp directly must call it first. */
void tok_uni_init(void);

/* The TOK_UNI_* flags of a code point (0 for UTF8_INVALID, see base/utf8.h). */
unsigned tok_uni_class(uint32_t cp);

/* The table itself, for inlined lookups of BMP code points after tok_uni_init(). */
extern uint8_t tok_uni_bmp[65536];

/* NFC of src[0..n). Writes the result to *dst (grown with ls_realloc as
 * needed; *dst_cap is its capacity in bytes) and its length to *n_out, using
 * *work / *work_cap (code points) as scratch, also grown as needed. Bytes
 * that are not valid UTF-8 are copied unchanged and act as barriers.
 * Returns 0, or -1 when an allocation failed (the buffers stay valid; the
 * caller frees them with ls_free). Only the stretches around non-inert
 * characters are normalized (utf8proc decomposes and composes, we order the
 * marks); everything else is copied. Linear time in n for any input. */
int tok_uni_nfc(const uint8_t *src, size_t n, uint8_t **dst, size_t *dst_cap, size_t *n_out,
                int32_t **work, size_t *work_cap);

/* 1 if NFC(src) == src for sure (every character inert), else 0. Lets the
 * encoder skip the copy for the common case. */
int tok_uni_nfc_quick(const uint8_t *src, size_t n);

#endif
