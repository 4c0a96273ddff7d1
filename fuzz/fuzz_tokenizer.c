/* fuzz_tokenizer.c — libFuzzer target for the tokenizer.
 *
 * The first byte of an input picks what is fuzzed, the second the flags:
 *   mode 0, 1, 2: the rest is text (any bytes: invalid UTF-8, NULs, huge
 *     runs) encoded with the DeepSeek-R1 (byte-level BPE + NFC), Llama 3
 *     (byte-level BPE, digits in threes) or stories260K (SentencePiece)
 *     vocabulary from ../shared/models;
 *   mode 3: the rest is a whole GGUF file: if it opens, its tokenizer
 *     metadata is loaded (hostile merges, ids out of range, missing or
 *     mistyped arrays) and, if accepted, used on a fixed text.
 * Invariants (a broken one calls abort(), which the fuzzer reports):
 *   - encoding never fails except for LS_ERR_LIMIT on a short array, and the
 *     count-only call agrees with the real one; every id is in the vocabulary;
 *   - without special parsing, decode(encode(x)) is exactly x (Llama 3),
 *     the NFC normalization of x (DeepSeek), or x with "▁" read as a space
 *     (SentencePiece) — for any bytes, valid UTF-8 or not;
 *   - the streaming detokenizer returns only complete, well-formed UTF-8, and
 *     when the decoded text is valid UTF-8 the stream spells exactly it.
 *
 * The vocabularies are loaded once, from LOCALSEEK_SHARED (default
 * ../shared). tests/test_tokenizer_fuzz_corpus.c includes this file and
 * replays tests/corpus/tokenizer/ through LLVMFuzzerTestOneInput() in every
 * build, so a crash found here stays fixed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "base/alloc.h"
#include "base/status.h"
#include "base/utf8.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

static tok_tokenizer *fuzz_vocab[3];
static int fuzz_loaded;

static void fuzz_load(void)
{
    if (fuzz_loaded)
        return;
    fuzz_loaded = 1;
    const char *shared = getenv("LOCALSEEK_SHARED");
    if (!shared || !*shared)
        shared = "../shared";
    static const char *const names[3] = { "vocab-deepseek-r1-qwen.gguf", "vocab-llama3.gguf", "stories260K.gguf" };
    for (int k = 0; k < 3; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/models/%s", shared, names[k]);
        if (tok_load_file(path, &fuzz_vocab[k]) != LS_OK) {
            fprintf(stderr, "fuzz_tokenizer: cannot load %s (set LOCALSEEK_SHARED): %s\n", path, ls_error_msg());
            abort();
        }
    }
}

/* x with every "▁" (E2 96 81) replaced by a space, in out (room for n bytes). */
static size_t spm_expected(const uint8_t *x, size_t n, uint8_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (i + 3 <= n && x[i] == 0xE2 && x[i + 1] == 0x96 && x[i + 2] == 0x81) {
            out[o++] = ' ';
            i += 3;
        } else {
            out[o++] = x[i++];
        }
    }
    return o;
}

enum { FUZZ_NONE, FUZZ_NFC, FUZZ_SPM };

static void fuzz_text(const tok_tokenizer *t, int expect, unsigned flags, const uint8_t *text, size_t len)
{
    size_t n_count = 0, n = 0;
    ls_status st = tok_encode(t, (const char *)text, len, flags, NULL, 0, &n_count);
    FUZZ_ASSERT(st == LS_OK || st == LS_ERR_LIMIT);
    FUZZ_ASSERT((st == LS_OK) == (n_count == 0));
    int32_t *ids = malloc((n_count ? n_count : 1) * sizeof *ids);
    st = tok_encode(t, (const char *)text, len, flags, ids, n_count, &n);
    FUZZ_ASSERT(st == LS_OK && n == n_count);
    for (size_t i = 0; i < n; i++)
        FUZZ_ASSERT(ids[i] >= 0 && ids[i] < tok_n_vocab(t));

    /* Decode: size it, then fill it. */
    unsigned dflags = flags & TOK_PARSE_SPECIAL ? TOK_DECODE_SPECIAL : 0u;
    dflags |= flags & TOK_CONTINUE;
    size_t nb = 0;
    st = tok_decode(t, ids, n, dflags, NULL, 0, &nb);
    FUZZ_ASSERT(st == LS_OK || st == LS_ERR_LIMIT);
    char *back = malloc(nb ? nb : 1);
    size_t nb2 = 0;
    FUZZ_ASSERT(tok_decode(t, ids, n, dflags, back, nb, &nb2) == LS_OK && nb2 == nb);

    if (!(flags & TOK_PARSE_SPECIAL)) {
        const uint8_t *want = text;
        size_t want_n = len;
        uint8_t *norm = NULL;
        int32_t *cps = NULL;
        size_t norm_cap = 0, cps_cap = 0;
        if (expect == FUZZ_NFC) {
            FUZZ_ASSERT(tok_uni_nfc(text, len, &norm, &norm_cap, &want_n, &cps, &cps_cap) == 0);
            want = norm;
        } else if (expect == FUZZ_SPM) {
            norm = ls_malloc(len ? len : 1);
            FUZZ_ASSERT(norm != NULL);
            want_n = spm_expected(text, len, norm);
            want = norm;
        }
        FUZZ_ASSERT(nb == want_n && (nb == 0 || memcmp(back, want, nb) == 0));
        ls_free(norm);
        ls_free(cps);
    }

    /* Stream the same ids: complete UTF-8 only; equal to decode when valid. */
    tok_stream *s = NULL;
    FUZZ_ASSERT(tok_stream_new(t, dflags, &s) == LS_OK);
    char *acc = malloc(3 * nb + 8);
    size_t na = 0;
    for (size_t i = 0; i <= n; i++) {
        size_t c;
        const char *p = i < n ? tok_stream_push(s, ids[i], &c) : tok_stream_flush(s, &c);
        FUZZ_ASSERT(utf8_valid_prefix((const uint8_t *)p, c) == c);
        FUZZ_ASSERT(na + c <= 3 * nb + 8);
        memcpy(acc + na, p, c);
        na += c;
    }
    if (utf8_valid_prefix((const uint8_t *)back, nb) == nb)
        FUZZ_ASSERT(na == nb && (nb == 0 || memcmp(acc, back, nb) == 0));
    tok_stream_free(s);
    free(acc);
    free(back);
    free(ids);
}

static void fuzz_gguf_metadata(const uint8_t *data, size_t size)
{
    gguf_file *g = NULL;
    if (gguf_open_memory(data, size, "fuzz.gguf", &g) != LS_OK)
        return;
    tok_tokenizer *t = NULL;
    ls_status st = tok_load(g, &t);
    FUZZ_ASSERT((st == LS_OK) == (t != NULL));
    FUZZ_ASSERT(st == LS_OK || ls_error_msg()[0] != 0);
    gguf_close(g); /* the tokenizer must not point into the file */
    if (t) {
        static const char text[] = "Hello world! <think>x</think> 12345 \xc3\xa9t\xc3\xa9 e\xcc\x81 \xf0\x9f\x98\x80\n\n";
        fuzz_text(t, FUZZ_NONE /* not checked with special parsing */, TOK_PARSE_SPECIAL | TOK_ADD_BOS, (const uint8_t *)text,
                  sizeof text - 1);
        tok_free(t);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned mode = data[0] % 4;
    unsigned flags = 0;
    if (data[1] & 1)
        flags |= TOK_PARSE_SPECIAL;
    if (data[1] & 2)
        flags |= TOK_ADD_BOS;
    if (data[1] & 4)
        flags |= TOK_CONTINUE;
    if (mode == 3) {
        fuzz_gguf_metadata(data + 1, size - 1);
        return 0;
    }
    fuzz_load();
    static const int expect[3] = { FUZZ_NFC, FUZZ_NONE, FUZZ_SPM };
    fuzz_text(fuzz_vocab[mode], expect[mode], flags, data + 2, size - 2);
    return 0;
}
