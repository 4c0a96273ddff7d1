/* tokenizer.h — text to token ids and back, exactly as the model was trained.
 *
 * A language model does not read characters: it reads token ids, numbers
 * that each stand for a piece of text ("Hello" = 9707, " world" = 1879). The
 * tokenizer must cut text exactly the way the model's own tokenizer did at
 * training time; an id that differs is text the model has never seen in that
 * form, and every answer quietly gets worse. So this module reproduces the
 * Hugging Face `tokenizers` results bit for bit (see docs/tokenizer.md and
 * the golden vectors in ../shared/golden/tokenizer).
 *
 * Two families are supported, named by `tokenizer.ggml.model` in the GGUF:
 *   - "gpt2": byte-level BPE (Qwen 2, DeepSeek-R1-Distill, Llama 3), with the
 *     pre-tokenizer named by `tokenizer.ggml.pre` (pretok.h) and, for
 *     qwen2 / deepseek-r1-qwen, NFC normalization first;
 *   - "llama": SentencePiece-style BPE with scores and byte fallback
 *     (Llama 2 family, TinyStories).
 * Anything else is refused at load with an error naming it.
 *
 * Special tokens. Control tokens (<｜User｜>, <|eot_id|>) and user-defined
 * ones (<think>) steer the model. They are recognised in text only when the
 * caller passes TOK_PARSE_SPECIAL, which is meant for text the program itself
 * wrote (chat-template text). The default is the opposite: text typed by a
 * user is always plain text, so a user who types "</think>" gets those nine
 * characters, never the control token. A prompt that mixes both is encoded
 * in one call with tok_encode_spans(), which recognises special tokens only
 * in the ranges the program wrote (encoding the parts one by one would cut
 * the text differently where they meet).
 *
 * Thread safety. A loaded tok_tokenizer is immutable: any number of threads
 * may encode and decode with it at once. tok_encode() keeps its scratch
 * (normalized text, BPE work arrays, a cache of recently seen pieces) in
 * memory it allocates at the start of the call and frees at the end, sized
 * to the text: a handful of allocations per call, none per token.
 * A tok_stream belongs to one thread at a time.
 *
 * Owns: copies of the vocabulary, merges, scores and special-token table
 * (nothing points into the GGUF file after tok_load() returns).
 * Does not: render chat templates (generate/), sample, or know the model.
 * Called by: the engine (prompt encoding, streaming output), apps (tokenize).
 */
#ifndef LS_TOKENIZER_H
#define LS_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "gguf/gguf.h"

typedef struct tok_tokenizer tok_tokenizer;

/* Token kinds, as stored in `tokenizer.ggml.token_type` (llama.cpp's values). */
typedef enum {
    TOK_TYPE_UNDEFINED = 0, /* treated as NORMAL */
    TOK_TYPE_NORMAL = 1,
    TOK_TYPE_UNKNOWN = 2,   /* <unk> */
    TOK_TYPE_CONTROL = 3,   /* <s>, <|eot_id|>, <｜end▁of▁sentence｜>: steer the model */
    TOK_TYPE_USER_DEFINED = 4, /* <think>, <｜User｜>: added words, shown as text */
    TOK_TYPE_UNUSED = 5,    /* padding rows: never produced, never shown */
    TOK_TYPE_BYTE = 6,      /* <0x41>: one raw byte (SentencePiece byte fallback) */
} tok_type;

enum {
    /* encode: recognise control / user-defined / unknown token texts in the
     * input. Only for program-written text; NEVER for what a user typed. */
    TOK_PARSE_SPECIAL = 1u << 0,
    /* encode: put the BOS token first (when the vocabulary has one). Whether
     * the model wants it is tok_wants_bos(). */
    TOK_ADD_BOS = 1u << 1,
    /* encode: this text continues text encoded by an earlier call, so no
     * SentencePiece leading space is added (ignored with TOK_ADD_BOS: a
     * sequence that starts with BOS continues nothing); decode / stream: the
     * ids continue earlier output, so the first piece keeps its leading
     * space. Byte-level BPE models ignore it. */
    TOK_CONTINUE = 1u << 2,
    /* decode / stream: show the text of control and unknown tokens (<s>,
     * <|eot_id|>). Without it they produce no text. User-defined tokens
     * (<think>) are always shown; unused (padding) ones never. */
    TOK_DECODE_SPECIAL = 1u << 3,
};

/* Builds the tokenizer described by the `tokenizer.ggml.*` keys of `f`. On
 * success the caller owns *out and frees it with tok_free(); `f` may be
 * closed right away. On failure *out is NULL and ls_error_msg() names the key
 * and what was wrong (unknown model or pre-tokenizer, missing or mismatched
 * arrays, ids out of range, merges that cannot be parsed). */
ls_status tok_load(const gguf_file *f, tok_tokenizer **out);
/* Same, opening and closing `path` (any GGUF: a model or a vocab-only file). */
ls_status tok_load_file(const char *path, tok_tokenizer **out);
/* Bytes tok_load() would keep allocated for `f`'s tokenizer (string arenas,
 * per-token arrays, the vocabulary and merge hash tables), worked out from
 * the token count, their total text and the merge count without building
 * anything; 0 when `f` has no token list. The resource guard adds it to a
 * model's memory estimate. */
size_t tok_memory_bytes(const gguf_file *f);
void tok_free(tok_tokenizer *tok); /* tok_free(NULL) is a no-op */

enum { TOK_MAX_TEXT_BYTES = 1 << 29 }; /* 512 MiB per tok_encode() call */

/* Encodes text[0..len) (UTF-8; invalid bytes are kept and encoded as bytes).
 * Writes up to `cap` ids to out_ids and the total count to *n_out. If cap is
 * too small, the first `cap` ids are written, *n_out is the count needed, and
 * the result is LS_ERR_LIMIT, so a caller can size a buffer and retry (cap 0
 * and out_ids NULL just count). Other failures: LS_ERR_NOMEM, LS_ERR_ARG, and
 * LS_ERR_LIMIT with *n_out = 0 for a text over TOK_MAX_TEXT_BYTES. */
ls_status tok_encode(const tok_tokenizer *tok, const char *text, size_t len, unsigned flags, int32_t *out_ids,
                     size_t cap, size_t *n_out);

/* A byte range text[offset .. offset + n_bytes). */
typedef struct {
    size_t offset;
    size_t n_bytes;
} tok_span;

/* Like tok_encode() with TOK_PARSE_SPECIAL, except that a special token is
 * recognised only where its text lies entirely inside the `allowed` ranges
 * (sorted by offset, not overlapping; ranges that touch count as one);
 * elsewhere special-token texts are plain characters. The text is still cut
 * and encoded as one text, so the ordinary tokens are the same as tok_encode()
 * gives for the whole text: "user\n" allowed followed by "\nHi" gives the ids
 * of "user\n\nHi", the two newlines in one token. This is how a chat prompt
 * is encoded (generate/template.h, tpl_encode): the ranges the template
 * wrote are allowed, what a user typed is not, so typing "<|im_end|>" cannot
 * end a turn. Other flags as for tok_encode (TOK_PARSE_SPECIAL is implied).
 * LS_ERR_ARG for ranges out of order or outside the text. */
ls_status tok_encode_spans(const tok_tokenizer *tok, const char *text, size_t len, const tok_span *allowed,
                           size_t n_allowed, unsigned flags, int32_t *out_ids, size_t cap, size_t *n_out);

/* Decodes ids to text in out[0..cap) and its length to *n_bytes (no NUL is
 * added). Ids outside the vocabulary produce nothing. The result is the raw
 * bytes of the pieces, so for any input bytes (valid UTF-8 or not) encoded
 * without TOK_PARSE_SPECIAL, decode(encode(text)) == text for Llama 3,
 * == NFC(text) for Qwen / DeepSeek, and == text with each "▁" (U+2581)
 * turned into a space for SentencePiece vocabularies (which use that
 * character for spaces). Too small a buffer: like tok_encode (LS_ERR_LIMIT,
 * *n_bytes = needed, out holds the first cap bytes). */
ls_status tok_decode(const tok_tokenizer *tok, const int32_t *ids, size_t n_ids, unsigned flags, char *out,
                     size_t cap, size_t *n_bytes);

/* ---- the vocabulary ------------------------------------------------------ */
int32_t tok_n_vocab(const tok_tokenizer *tok);
tok_type tok_token_type(const tok_tokenizer *tok, int32_t id); /* TOK_TYPE_UNUSED if out of range */
/* The bytes token `id` stands for in decoded text (a space for "Ġ" or "▁",
 * the byte itself for <0x41>, the token's text for special tokens), or NULL
 * if `id` is out of range. Points into `tok`; valid until tok_free(). */
const char *tok_piece(const tok_tokenizer *tok, int32_t id, size_t *n_bytes);
/* The id of the token written text[0..len), or -1: a special token by its
 * text (tok_find(tok, "<think>", 7)), a normal token by its vocabulary text
 * ("Ġworld") or by the bytes it stands for (" world"), a SentencePiece byte
 * token by "<0x0A>". Unused (padding) tokens are not found. */
int32_t tok_find(const tok_tokenizer *tok, const char *text, size_t len);

int32_t tok_bos(const tok_tokenizer *tok); /* -1 if none */
int32_t tok_eos(const tok_tokenizer *tok); /* -1 if none */
/* `tokenizer.ggml.add_bos_token` (default: true for "llama", false for "gpt2"). */
bool tok_wants_bos(const tok_tokenizer *tok);
/* True for ids that end a generation: EOS, EOT, EOM as declared, and control
 * tokens whose text is one of the known end-of-turn markers (<|im_end|>,
 * <|eot_id|>, <|end_of_text|>, <|endoftext|>, <|eom_id|>, <|end|>,
 * <end_of_turn>, <|EOT|>, <｜end▁of▁sentence｜>). */
bool tok_is_eog(const tok_tokenizer *tok, int32_t id);

const char *tok_model_name(const tok_tokenizer *tok); /* "gpt2" or "llama" */
const char *tok_pre_name(const tok_tokenizer *tok);   /* "qwen2", "llama-bpe", or "none" */

/* ---- streaming detokenization -------------------------------------------- */
/* Turns ids arriving one at a time into text that is always safe to print:
 * every chunk returned is complete, well-formed UTF-8. A character split over
 * several byte tokens (an emoji is often 4 tokens of one byte each) is held
 * back until it is complete. Bytes that can never become valid UTF-8 come out
 * as U+FFFD, so the concatenated stream equals tok_decode() whenever that is
 * valid UTF-8. */
typedef struct tok_stream tok_stream;

/* `flags`: TOK_DECODE_SPECIAL, TOK_CONTINUE (see above). The caller owns
 * *out and frees it with tok_stream_free(); `tok` must outlive it. */
ls_status tok_stream_new(const tok_tokenizer *tok, unsigned flags, tok_stream **out);
/* Adds one id; returns the text that became printable (possibly empty) and
 * its length in *n_bytes. The pointer is owned by the stream and valid until
 * the next call on it. Never allocates. */
const char *tok_stream_push(tok_stream *s, int32_t id, size_t *n_bytes);
/* Ends the stream: returns held-back bytes (an incomplete character) as
 * U+FFFD, and starts over as if new. */
const char *tok_stream_flush(tok_stream *s, size_t *n_bytes);
void tok_stream_free(tok_stream *s); /* tok_stream_free(NULL) is a no-op */

#endif
