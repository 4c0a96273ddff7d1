/* pretok.h — pre-tokenization: cutting text into the pieces that BPE works on.
 *
 * Byte-level BPE never merges across piece boundaries, so where text is cut
 * decides a large part of the result: "hello world" is cut into "hello" and
 * " world" (the space travels with the word that follows it), digits are cut
 * one by one (Qwen) or in groups of up to three (Llama 3), punctuation
 * sticks together, and runs of spaces leave their last space for the next
 * word. Each model family states its rules as one regular expression in its
 * `tokenizer.json`; `tokenizer.ggml.pre` in the GGUF names the family.
 *
 * Both supported families use the same expression except for the digit
 * group (written with \p{L} letter, \p{N} number, \s white space):
 *
 *     (?i:'s|'t|'re|'ve|'m|'ll|'d)      English contractions, ASCII letters
 *   | [^\r\n\p{L}\p{N}]?\p{L}+          a word, with one leading non-letter
 *   | \p{N}{1,K}                       K = 1 (qwen2, deepseek-r1-qwen), 3 (llama-bpe)
 *   |  ?[^\s\p{L}\p{N}]+[\r\n]*         punctuation run (one leading space), then newlines
 *   | \s*[\r\n]+                        white space up to and including the last newline
 *   | \s+(?!\S)                         white space, leaving the last one for the next word
 *   | \s+                               white space at the end
 *
 * tok_pretok_next() implements it by hand, one alternative after the other
 * with the backtracking the regex engine would do, in one forward pass and
 * without allocating; that is several times faster than a regex engine and
 * needs none. Bytes that are not valid UTF-8 count as one "other" character
 * each (neither letter, number nor space).
 *
 * Owns: nothing. Called by: the encoder (tokenizer.c), tests, the fuzzer.
 */
#ifndef LS_TOK_PRETOK_H
#define LS_TOK_PRETOK_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    TOK_PRE_NONE = 0, /* SentencePiece models: no pre-tokenizer */
    TOK_PRE_QWEN2,    /* "qwen2", "deepseek-r1-qwen": digits one by one; NFC first */
    TOK_PRE_LLAMA3,   /* "llama-bpe", "llama3", "llama-v3": digits in threes; merges ignored for whole-vocab pieces */
} tok_pre_kind;

/* The rules named `name` (not NUL-terminated, `len` bytes) in *out; returns
 * 0, or -1 if the name is unknown (the caller reports it). */
int tok_pre_from_name(const char *name, size_t len, tok_pre_kind *out);
const char *tok_pre_kind_name(tok_pre_kind pre);

/* End (exclusive) of the piece that starts at s[i], for i < n; always > i.
 * Pieces tile the text: call again from the returned position. */
size_t tok_pretok_next(tok_pre_kind pre, const uint8_t *s, size_t n, size_t i);

#endif
