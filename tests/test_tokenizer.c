/* test_tokenizer.c — the tokenizer's logic on small vocabularies built in memory.
 *
 * Needs nothing from ../shared (test_tokenizer_golden.c checks the real
 * vocabularies). Covers:
 *   1. The Unicode classes (UTF-8 decoding itself: test_utf8.c); the "inert" shortcut of NFC,
 *      re-derived for every code point from utf8proc's decompositions; NFC
 *      results against utf8proc's own NFC.
 *   2. The pre-tokenizer on hand-checked cuts (contractions, words with a
 *      leading space or punctuation, digit groups, newline and space runs).
 *   3. Byte-level BPE: merge order by rank, leftmost first on ties, Llama 3's
 *      "whole vocabulary entry wins", the piece cache giving the same ids.
 *   4. SentencePiece: scores, the leading "▁", byte fallback, decoding.
 *   5. Special tokens: plain text by default, matched on request, longest wins.
 *   6. Streaming: held-back partial characters, U+FFFD for hopeless bytes.
 *   7. Hostile metadata: unknown model / pre-tokenizer, missing pre, ids out
 *      of range, bad token types, unparseable merges, via tok_build() and via
 *      real GGUF files written here; each error names what is wrong.
 *   8. Output-buffer limits, and allocation failures injected at every
 *      allocation of load, encode and stream: LS_ERR_NOMEM, nothing leaked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utf8proc.h>

#include "base/alloc.h"
#include "base/utf8.h"
#include "check.h"
#include "gguf/gguf_write.h"
#include "tokenizer/pretok.h"
#include "tokenizer/tok_internal.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

/* ======================================================================== */
/* Helpers                                                                   */
/* ======================================================================== */

/* GPT-2's printable form of byte b (UTF-8 of one code point) in out; returns its length. */
static size_t byte_char(int b, char out[4])
{
    int next = 256, cp = -1;
    for (int x = 0; x < 256; x++) {
        int self = (x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF);
        int c = self ? x : next++;
        if (x == b)
            cp = c;
    }
    return utf8_encode((uint32_t)cp, (uint8_t *)out);
}

/* Encodes and compares with the expected ids. */
static int ids_are(const tok_tokenizer *t, const char *text, unsigned flags, const int32_t *want, size_t n_want)
{
    int32_t got[256];
    size_t n = 0;
    ls_status st = tok_encode(t, text, strlen(text), flags, got, 256, &n);
    if (st || n != n_want) {
        fprintf(stderr, "  '%s': status %d, %zu ids (want %zu):", text, st, n, n_want);
        for (size_t i = 0; i < n && i < 256; i++)
            fprintf(stderr, " %d", got[i]);
        fputc('\n', stderr);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i]) {
            fprintf(stderr, "  '%s': id %zu is %d, want %d\n", text, i, got[i], want[i]);
            return 0;
        }
    return 1;
}

static int decodes_to(const tok_tokenizer *t, const char *text, unsigned enc_flags, unsigned dec_flags,
                      const char *want)
{
    int32_t ids[256];
    size_t n = 0, nb = 0;
    char out[1024];
    if (tok_encode(t, text, strlen(text), enc_flags, ids, 256, &n) || tok_decode(t, ids, n, dec_flags, out, sizeof out, &nb))
        return 0;
    if (nb != strlen(want) || memcmp(out, want, nb) != 0) {
        fprintf(stderr, "  decode('%s') = '%.*s', want '%s'\n", text, (int)nb, out, want);
        return 0;
    }
    return 1;
}

/* ---- a toy byte-level BPE vocabulary ----------------------------------- */
/* ids 0..255: the bytes; then merge results; then specials. */
enum { T_AB = 256, T_BC, T_ABC, T_AA, T_GA, T_CD, T_IM_END, T_THINK, T_THINK_LONG, T_PAD, T_NTOK };

typedef struct {
    char byte_text[256][4];
    gguf_str tokens[T_NTOK];
    int32_t types[T_NTOK];
    gguf_str merges[8];
    tok_spec spec;
} toy_bpe;

static gguf_str gs(const char *s)
{
    gguf_str g = { s, strlen(s) };
    return g;
}

/* merges_order: the merge strings in rank order. */
static void toy_bpe_init(toy_bpe *v, const char *pre, const char *const *merges, int n_merges)
{
    memset(v, 0, sizeof *v);
    for (int b = 0; b < 256; b++) {
        size_t l = byte_char(b, v->byte_text[b]);
        v->tokens[b].ptr = v->byte_text[b];
        v->tokens[b].len = l;
        v->types[b] = TOK_TYPE_NORMAL;
    }
    static const char *const rest[] = { "ab", "bc", "abc", "aa", "\xc4\xa0" "a", "cd", "<|im_end|>", "<think>",
                                        "<think>x", "[PAD]" };
    static const int32_t rest_type[] = { 1, 1, 1, 1, 1, 1, TOK_TYPE_CONTROL, TOK_TYPE_USER_DEFINED,
                                         TOK_TYPE_USER_DEFINED, TOK_TYPE_UNUSED };
    for (int k = 0; k < T_NTOK - 256; k++) {
        v->tokens[256 + k] = gs(rest[k]);
        v->types[256 + k] = rest_type[k];
    }
    for (int k = 0; k < n_merges; k++)
        v->merges[k] = gs(merges[k]);
    v->spec.model = gs("gpt2");
    v->spec.pre = pre ? gs(pre) : (gguf_str){ NULL, 0 };
    v->spec.tokens = tok_strlist_from_array(v->tokens, T_NTOK);
    v->spec.types = v->types;
    v->spec.merges = tok_strlist_from_array(v->merges, n_merges);
    v->spec.bos = v->spec.eot = v->spec.eom = v->spec.unk = v->spec.pad = -1;
    v->spec.eos = T_IM_END;
    v->spec.add_bos = v->spec.add_space_prefix = -1;
}

/* ---- a toy SentencePiece vocabulary ------------------------------------ */
enum { S_UNK = 0, S_BOS, S_EOS, S_BYTE0, S_SP = S_BYTE0 + 256, S_A, S_B, S_SPA, S_AB, S_SPAB, S_BB, S_NTOK };

typedef struct {
    char byte_text[256][8];
    gguf_str tokens[S_NTOK];
    int32_t types[S_NTOK];
    float scores[S_NTOK];
    tok_spec spec;
} toy_spm;

static void toy_spm_init(toy_spm *v)
{
    memset(v, 0, sizeof *v);
    v->tokens[S_UNK] = gs("<unk>");
    v->types[S_UNK] = TOK_TYPE_UNKNOWN;
    v->tokens[S_BOS] = gs("<s>");
    v->types[S_BOS] = TOK_TYPE_CONTROL;
    v->tokens[S_EOS] = gs("</s>");
    v->types[S_EOS] = TOK_TYPE_CONTROL;
    for (int b = 0; b < 256; b++) {
        snprintf(v->byte_text[b], sizeof v->byte_text[b], "<0x%02X>", b);
        v->tokens[S_BYTE0 + b] = gs(v->byte_text[b]);
        v->types[S_BYTE0 + b] = TOK_TYPE_BYTE;
    }
    static const char *const rest[] = { "\xe2\x96\x81", "a", "b", "\xe2\x96\x81" "a", "ab", "\xe2\x96\x81" "ab",
                                        "bb" };
    /* "▁a" outranks "ab", so "▁ab" forms as (▁a)(b) -> ▁ab; "bb" is weak. */
    static const float score[] = { -1, -2, -3, -4, -5, -6, -20 };
    for (int k = 0; k < S_NTOK - S_SP; k++) {
        v->tokens[S_SP + k] = gs(rest[k]);
        v->types[S_SP + k] = TOK_TYPE_NORMAL;
        v->scores[S_SP + k] = score[k];
    }
    v->spec.model = gs("llama");
    v->spec.tokens = tok_strlist_from_array(v->tokens, S_NTOK);
    v->spec.types = v->types;
    v->spec.scores = v->scores;
    v->spec.bos = S_BOS;
    v->spec.eos = S_EOS;
    v->spec.unk = S_UNK;
    v->spec.eot = v->spec.eom = v->spec.pad = -1;
    v->spec.add_bos = v->spec.add_space_prefix = -1;
}

/* ======================================================================== */
/* 1. Unicode                                                                */
/* ======================================================================== */

static void test_unicode(void)
{
    CHECK(tok_uni_class('a') & TOK_UNI_L, "a is a letter");
    CHECK(tok_uni_class(0x4E2D) & TOK_UNI_L, "中 is a letter");
    CHECK(tok_uni_class('7') & TOK_UNI_N, "7 is a number");
    CHECK(tok_uni_class(0x2167) & TOK_UNI_N, "Roman numeral VIII (Nl) is a number");
    CHECK(tok_uni_class(0xBD) & TOK_UNI_N, "½ (No) is a number");
    CHECK(tok_uni_class(0x3000) & TOK_UNI_WS, "ideographic space is white space");
    CHECK(tok_uni_class(0x85) & TOK_UNI_WS, "NEL is white space (Unicode White_Space)");
    CHECK(!(tok_uni_class(0xFEFF) & TOK_UNI_WS), "BOM is not white space");
    CHECK((tok_uni_class('\n') & (TOK_UNI_WS | TOK_UNI_CRLF)) == (TOK_UNI_WS | TOK_UNI_CRLF), "LF is CR/LF");
    CHECK(!(tok_uni_class(0x301) & (TOK_UNI_L | TOK_UNI_N | TOK_UNI_WS)), "a combining mark is 'other'");
    CHECK(tok_uni_class(0x1F600) == TOK_UNI_INERT, "emoji: other, inert");

    /* The inert shortcut: every non-first element of every canonical
     * decomposition (the composition "seconds") must be non-inert, and an
     * inert character must be its own NFC. */
    int n_bad = 0;
    for (int32_t c = 0; c <= 0x10FFFF; c++) {
        if (c >= 0xD800 && c <= 0xDFFF)
            continue;
        utf8proc_int32_t dec[32];
        utf8proc_ssize_t n = utf8proc_decompose_char(c, dec, 32, UTF8PROC_DECOMPOSE, NULL);
        for (utf8proc_ssize_t k = 1; k < n && k < 32; k++)
            if (tok_uni_class((uint32_t)dec[k]) & TOK_UNI_INERT) {
                if (n_bad++ < 5)
                    fprintf(stderr, "  U+%04X decomposes with inert second U+%04X\n", c, dec[k]);
            }
        if ((tok_uni_class((uint32_t)c) & TOK_UNI_INERT) && (n != 1 || dec[0] != c)) {
            /* Decomposes (Hangul syllables do, algorithmically): then NFC
             * must rebuild exactly this character. */
            uint8_t one[5] = { 0 };
            utf8_encode((uint32_t)c, one);
            utf8proc_uint8_t *nfc = utf8proc_NFC(one);
            if (!nfc || strcmp((char *)nfc, (char *)one) != 0) {
                if (n_bad++ < 5)
                    fprintf(stderr, "  U+%04X is inert but NFC changes it\n", c);
            }
            free(nfc);
        }
    }
    CHECK(n_bad == 0, "NFC's inert shortcut holds for every code point (%d exceptions)", n_bad);

    /* tok_uni_nfc against utf8proc's own NFC on tricky strings. */
    static const char *const cases[] = {
        "e\xcc\x81", "caf\xc3\xa9", "a\xcc\x81\xcc\xa8", "\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8", /* jamo L V T */
        "\xe2\x84\xab", "\xef\xa4\x80", "x\xcc\x81y\xcc\x81z", "\xcc\x81start", "A\xcc\x8a\xcc\x81",
        "\xe0\xa4\x95\xe0\xa4\xbc", "o\xcc\x88\xcc\x84 plain ascii", "",
    };
    uint8_t *dst = NULL;
    int32_t *work = NULL;
    size_t dst_cap = 0, work_cap = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t n = 0;
        int r = tok_uni_nfc((const uint8_t *)cases[k], strlen(cases[k]), &dst, &dst_cap, &n, &work, &work_cap);
        utf8proc_uint8_t *ref = utf8proc_NFC((const utf8proc_uint8_t *)cases[k]);
        CHECK(r == 0 && ref && n == strlen((char *)ref) && memcmp(dst, ref, n) == 0, "NFC of case %zu", k);
        free(ref);
    }
    /* A long run of marks in reverse canonical order (the linear-time sort path). */
    char marks[3 * 3 * 300 + 2] = "a";
    size_t nm = 1;
    for (int k = 0; k < 300; k++) {
        memcpy(marks + nm, "\xcc\x81\xcc\x96\xcc\xa8", 6); /* U+0301 (230), U+0316 (220), U+0328 (202) */
        nm += 6;
    }
    marks[nm] = 0;
    size_t n = 0;
    tok_uni_nfc((const uint8_t *)marks, nm, &dst, &dst_cap, &n, &work, &work_cap);
    utf8proc_uint8_t *ref = utf8proc_NFC((const utf8proc_uint8_t *)marks);
    CHECK(ref && n == strlen((char *)ref) && memcmp(dst, ref, n) == 0, "NFC of 900 marks in reverse order");
    free(ref);
    /* Invalid bytes pass through untouched and block composition. */
    tok_uni_nfc((const uint8_t *)"e\xff\xcc\x81", 4, &dst, &dst_cap, &n, &work, &work_cap);
    CHECK(n == 4 && memcmp(dst, "e\xff\xcc\x81", 4) == 0, "invalid byte kept, no composition across it");
    CHECK(tok_uni_nfc_quick((const uint8_t *)"plain caf\xc3\xa9", 10), "NFC text passes the quick check");
    CHECK(!tok_uni_nfc_quick((const uint8_t *)"e\xcc\x81", 3), "a combining mark fails the quick check");
    ls_free(dst);
    ls_free(work);
}

/* ======================================================================== */
/* 2. Pre-tokenizer                                                          */
/* ======================================================================== */

/* Pieces of `text`, joined with '|'. */
static const char *cut(tok_pre_kind pre, const char *text)
{
    static char out[512];
    size_t n = strlen(text), o = 0;
    for (size_t i = 0; i < n;) {
        size_t e = tok_pretok_next(pre, (const uint8_t *)text, n, i);
        if (i)
            out[o++] = '|';
        memcpy(out + o, text + i, e - i);
        o += e - i;
        i = e;
    }
    out[o] = 0;
    return out;
}

static void test_pretok(void)
{
    static const struct {
        const char *in, *qwen, *llama3;
    } cases[] = {
        { "Hello world", "Hello| world", NULL },
        { "I'm here, they'LL go", "I|'m| here|,| they|'LL| go", NULL },
        { "12345 abc", "1|2|3|4|5| abc", "123|45| abc" },
        { "x  y", "x| | y", NULL },
        { "a   ", "a|   ", NULL },
        { "def f():\n    return 1\n", "def| f|():\n|   | return| |1|\n", NULL },
        { "a\n\n  \n b", "a|\n\n  \n| b", NULL },
        { "\tfoo .bar", "\tfoo| .|bar", NULL },
        { "...hello", "...|hello", NULL },
        { ".hello", ".hello", NULL },
        { "\xe4\xb8\xad\xe6\x96\x87 text", "\xe4\xb8\xad\xe6\x96\x87| text", NULL },
        { "x\xffy", "x|\xffy", NULL }, /* an invalid byte is "other": it may lead a word */
        { "x\xff\xfey", "x|\xff\xfe|y", NULL },
        { "'", "'", NULL },
        { "'sx", "'s|x", NULL },
        { "3.14", "3|.|1|4", "3|.|14" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *q = cut(TOK_PRE_QWEN2, cases[k].in);
        CHECK(strcmp(q, cases[k].qwen) == 0, "qwen2 cuts '%s' as '%s', want '%s'", cases[k].in, q, cases[k].qwen);
        const char *want3 = cases[k].llama3 ? cases[k].llama3 : cases[k].qwen;
        const char *l = cut(TOK_PRE_LLAMA3, cases[k].in);
        CHECK(strcmp(l, want3) == 0, "llama3 cuts '%s' as '%s', want '%s'", cases[k].in, l, want3);
    }
    tok_pre_kind k;
    CHECK(tok_pre_from_name("deepseek-r1-qwen", 16, &k) == 0 && k == TOK_PRE_QWEN2, "deepseek-r1-qwen = qwen2 rules");
    CHECK(tok_pre_from_name("llama-bpe", 9, &k) == 0 && k == TOK_PRE_LLAMA3, "llama-bpe = llama3 rules");
    CHECK(tok_pre_from_name("gpt-4o", 6, &k) != 0, "unknown pre-tokenizer refused");
}

/* ======================================================================== */
/* 3. Byte-level BPE                                                         */
/* ======================================================================== */

static void test_bpe(void)
{
    toy_bpe v;
    tok_tokenizer *t = NULL;
    /* "b c" outranks "a b": abc -> a + bc, and "a bc" is no merge. */
    static const char *const m1[] = { "b c", "a b", "ab c", "a a", "\xc4\xa0 a" };
    toy_bpe_init(&v, "qwen2", m1, 5);
    CHECK(tok_build(&v.spec, "toy", &t) == LS_OK, "toy BPE builds: %s", ls_error_msg());
    if (!t)
        return;
    CHECK(ids_are(t, "abc", 0, (int32_t[]){ 'a', T_BC }, 2), "best rank merges first");
    CHECK(ids_are(t, "aaa", 0, (int32_t[]){ T_AA, 'a' }, 2), "equal ranks: leftmost first");
    CHECK(ids_are(t, "aaaa", 0, (int32_t[]){ T_AA, T_AA }, 2), "aaaa = aa aa");
    CHECK(ids_are(t, " a", 0, (int32_t[]){ T_GA }, 1), "space travels with the word (Ġa)");
    CHECK(ids_are(t, "a a", 0, (int32_t[]){ 'a', T_GA }, 2), "a + Ġa");
    /* The cache must give the same answer the second time in one call. */
    CHECK(ids_are(t, "abc abc abc", 0, (int32_t[]){ 'a', T_BC, T_GA, T_BC, T_GA, T_BC }, 6),
          "repeated pieces (cache hits) give the same ids");
    CHECK(tok_n_vocab(t) == T_NTOK && tok_eos(t) == T_IM_END && tok_bos(t) == -1, "accessors");
    CHECK(tok_is_eog(t, T_IM_END) && !tok_is_eog(t, 'a'), "EOS ends a generation");
    CHECK(tok_find(t, "<think>", 7) == T_THINK && tok_find(t, "\xc4\xa0" "a", 3) == T_GA &&
          tok_find(t, " a", 2) == T_GA && tok_find(t, "[PAD]", 5) == -1 && tok_find(t, "zz", 2) == -1,
          "tok_find: special, stored form, byte form, unused, absent");
    CHECK(decodes_to(t, "abc \xc3\xa9\n", 0, 0, "abc \xc3\xa9\n"), "decode(encode(x)) == x");
    tok_free(t);

    /* Swap the ranks: now abc -> ab + c -> abc. */
    static const char *const m2[] = { "a b", "b c", "ab c" };
    toy_bpe_init(&v, "qwen2", m2, 3);
    CHECK(tok_build(&v.spec, "toy", &t) == LS_OK, "toy BPE builds");
    CHECK(ids_are(t, "abc", 0, (int32_t[]){ T_ABC }, 1), "a b then ab c");
    tok_free(t);

    /* "cd" is in the vocabulary but no merge makes it: Llama 3 takes the
     * whole piece, Qwen does not. */
    toy_bpe_init(&v, "llama-bpe", m2, 3);
    CHECK(tok_build(&v.spec, "toy", &t) == LS_OK, "toy llama-bpe builds");
    CHECK(ids_are(t, "cd", 0, (int32_t[]){ T_CD }, 1), "llama-bpe: a vocabulary piece is taken whole");
    tok_free(t);
    toy_bpe_init(&v, "qwen2", m2, 3);
    tok_build(&v.spec, "toy", &t);
    CHECK(ids_are(t, "cd", 0, (int32_t[]){ 'c', 'd' }, 2), "qwen2: only merges make tokens");
    /* NFC: e + combining acute is the same text as é. */
    int32_t a[8], b[8];
    size_t na = 0, nb = 0;
    tok_encode(t, "e\xcc\x81", 3, 0, a, 8, &na);
    tok_encode(t, "\xc3\xa9", 2, 0, b, 8, &nb);
    CHECK(na == nb && na == 2 && a[0] == b[0] && a[1] == b[1], "qwen2 normalizes to NFC before encoding");
    tok_free(t);
}

/* ======================================================================== */
/* 4. SentencePiece                                                          */
/* ======================================================================== */

static void test_spm(void)
{
    toy_spm v;
    toy_spm_init(&v);
    tok_tokenizer *t = NULL;
    CHECK(tok_build(&v.spec, "toy-spm", &t) == LS_OK, "toy SPM builds: %s", ls_error_msg());
    if (!t)
        return;
    CHECK(tok_wants_bos(t) && tok_bos(t) == S_BOS, "SentencePiece adds BOS by default");
    CHECK(ids_are(t, "ab", TOK_ADD_BOS, (int32_t[]){ S_BOS, S_SPAB }, 2), "▁ab via ▁a + b");
    CHECK(ids_are(t, "ab b", 0, (int32_t[]){ S_SPAB, S_SP, S_B }, 3), "second word");
    CHECK(ids_are(t, "ab", TOK_CONTINUE, (int32_t[]){ S_AB }, 1), "TOK_CONTINUE: no leading ▁");
    CHECK(ids_are(t, "a\xc3\xa9", 0, (int32_t[]){ S_SPA, S_BYTE0 + 0xC3, S_BYTE0 + 0xA9 }, 3),
          "é is not in the vocabulary: byte fallback");
    CHECK(decodes_to(t, "ab \xc3\xa9 b", 0, 0, "ab \xc3\xa9 b"), "decode strips the added space, joins bytes");
    CHECK(decodes_to(t, "ab", TOK_ADD_BOS, TOK_DECODE_SPECIAL, "<s>ab"), "BOS shown with TOK_DECODE_SPECIAL");
    CHECK(decodes_to(t, "ab", TOK_ADD_BOS, 0, "ab"), "BOS hidden by default");
    CHECK(decodes_to(t, "</s>ab b", TOK_PARSE_SPECIAL, TOK_DECODE_SPECIAL, "</s>ab b"),
          "the space added after a special token is removed again");
    CHECK(tok_find(t, "<0x0A>", 6) == S_BYTE0 + 10, "tok_find finds byte tokens");
    CHECK(tok_is_eog(t, S_EOS), "</s> ends a generation");
    /* After a special token the text gets its "▁" again (llama.cpp). */
    CHECK(ids_are(t, "</s>ab", TOK_PARSE_SPECIAL, (int32_t[]){ S_EOS, S_SPAB }, 2), "▁ after a special token");
    tok_free(t);
}

/* ======================================================================== */
/* 5. Special tokens                                                         */
/* ======================================================================== */

static void test_special(void)
{
    toy_bpe v;
    static const char *const m[] = { "a b" };
    toy_bpe_init(&v, "qwen2", m, 1);
    tok_tokenizer *t = NULL;
    if (tok_build(&v.spec, "toy", &t) != LS_OK)
        return;
    int32_t ids[64];
    size_t n = 0;
    const char *typed = "<think>ab<|im_end|>";
    tok_encode(t, typed, strlen(typed), 0, ids, 64, &n);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        found |= ids[i] == T_THINK || ids[i] == T_IM_END || ids[i] == T_THINK_LONG;
    CHECK(!found && n > 4, "user text never yields special tokens (got %zu ids)", n);
    CHECK(decodes_to(t, typed, 0, 0, typed), "typed special text decodes back to the same characters");
    CHECK(ids_are(t, typed, TOK_PARSE_SPECIAL, (int32_t[]){ T_THINK, T_AB, T_IM_END }, 3),
          "TOK_PARSE_SPECIAL matches them");
    CHECK(ids_are(t, "<think>x", TOK_PARSE_SPECIAL, (int32_t[]){ T_THINK_LONG }, 1), "longest special wins");
    CHECK(ids_are(t, "<thin", TOK_PARSE_SPECIAL, (int32_t[]){ '<', 't', 'h', 'i', 'n' }, 5),
          "a prefix of a special is text");
    /* Control tokens print only when asked; user-defined ones always. */
    int32_t seq[] = { T_THINK, 'a', T_IM_END, T_PAD };
    char out[64];
    size_t nb = 0;
    tok_decode(t, seq, 4, 0, out, sizeof out, &nb);
    CHECK(nb == 8 && memcmp(out, "<think>a", 8) == 0, "control and unused tokens hidden by default");
    tok_decode(t, seq, 4, TOK_DECODE_SPECIAL, out, sizeof out, &nb);
    CHECK(nb == 18 && memcmp(out, "<think>a<|im_end|>", 18) == 0, "control shown with TOK_DECODE_SPECIAL");
    tok_free(t);
}

/* ======================================================================== */
/* 6. Streaming                                                              */
/* ======================================================================== */

static void test_stream(void)
{
    toy_bpe v;
    toy_bpe_init(&v, "qwen2", NULL, 0);
    tok_tokenizer *t = NULL;
    if (tok_build(&v.spec, "toy", &t) != LS_OK)
        return;
    tok_stream *s = NULL;
    CHECK(tok_stream_new(t, 0, &s) == LS_OK, "stream created");
    size_t n;
    const char *p = tok_stream_push(s, 0xF0, &n);
    CHECK(n == 0, "first byte of an emoji is held");
    p = tok_stream_push(s, 0x9F, &n);
    p = tok_stream_push(s, 0x98, &n);
    CHECK(n == 0, "still incomplete");
    p = tok_stream_push(s, 0x80, &n);
    CHECK(n == 4 && memcmp(p, "\xf0\x9f\x98\x80", 4) == 0, "complete emoji released whole");
    p = tok_stream_push(s, 'a', &n);
    CHECK(n == 1 && p[0] == 'a', "ASCII passes at once");
    p = tok_stream_push(s, 0xFF, &n);
    CHECK(n == 3 && memcmp(p, "\xef\xbf\xbd", 3) == 0, "a hopeless byte becomes U+FFFD");
    p = tok_stream_push(s, 0xC3, &n);
    p = tok_stream_push(s, 'x', &n);
    CHECK(n == 4 && memcmp(p, "\xef\xbf\xbdx", 4) == 0, "a broken sequence becomes U+FFFD, the rest survives");
    p = tok_stream_push(s, 0xE2, &n);
    p = tok_stream_flush(s, &n);
    CHECK(n == 3 && memcmp(p, "\xef\xbf\xbd", 3) == 0, "flush turns a held partial character into U+FFFD");
    p = tok_stream_flush(s, &n);
    CHECK(n == 0, "second flush is empty");
    p = tok_stream_push(s, -5, &n);
    CHECK(n == 0 && p != NULL, "an id out of range prints nothing");
    tok_stream_free(s);
    tok_stream_free(NULL);
    tok_free(t);
}

/* ======================================================================== */
/* 7. Hostile metadata                                                       */
/* ======================================================================== */

static int fails_with(const tok_spec *sp, ls_status want, const char *needle)
{
    tok_tokenizer *t = NULL;
    ls_error_clear();
    ls_status st = tok_build(sp, "bad.gguf", &t);
    tok_free(t);
    if (st != want || t != NULL || !strstr(ls_error_msg(), needle)) {
        fprintf(stderr, "  status %d (want %d), message '%s' (want it to contain '%s')\n", st, want, ls_error_msg(),
                needle);
        return 0;
    }
    return 1;
}

static void test_hostile(void)
{
    toy_bpe v;
    static const char *const m[] = { "a b", "b c" };
    toy_bpe_init(&v, "qwen2", m, 2);

    tok_spec sp = v.spec;
    sp.model = gs("wordpiece");
    CHECK(fails_with(&sp, LS_ERR_UNSUPPORTED, "wordpiece"), "unknown model named");
    sp = v.spec;
    sp.pre = gs("falcon");
    CHECK(fails_with(&sp, LS_ERR_UNSUPPORTED, "falcon"), "unknown pre-tokenizer named");
    sp = v.spec;
    sp.pre.ptr = NULL;
    CHECK(fails_with(&sp, LS_ERR_FORMAT, "tokenizer.ggml.pre"), "missing pre-tokenizer is an error, not a fallback");
    sp = v.spec;
    sp.bos = 100000;
    CHECK(fails_with(&sp, LS_ERR_FORMAT, "bos_token_id"), "BOS id out of range");
    sp = v.spec;
    sp.eos = T_NTOK;
    CHECK(fails_with(&sp, LS_ERR_FORMAT, "eos_token_id"), "EOS id just past the end");
    sp = v.spec;
    sp.bos = UINT32_MAX;
    tok_tokenizer *t = NULL;
    CHECK(tok_build(&sp, "x", &t) == LS_OK && tok_bos(t) == -1, "id 0xFFFFFFFF means none");
    tok_free(t);
    int32_t types[T_NTOK];
    memcpy(types, v.types, sizeof types);
    types[7] = 42;
    sp = v.spec;
    sp.types = types;
    CHECK(fails_with(&sp, LS_ERR_FORMAT, "token_type[7]"), "bad token type named with its index");
    sp = v.spec;
    sp.tokens.n = 0;
    CHECK(fails_with(&sp, LS_ERR_FORMAT, "tokenizer.ggml.tokens"), "empty vocabulary");
    gguf_str bad_merges[3] = { gs("a b"), gs("nospace"), gs("b c") };
    sp = v.spec;
    sp.merges = tok_strlist_from_array(bad_merges, 3);
    CHECK(fails_with(&sp, LS_ERR_FORMAT, "merges[1]"), "merge without a separator named");
    gguf_str odd_merges[4] = { gs("a b"), gs("q \xe4\xb8\xad"), gs("zz yy"), gs("a b") };
    sp = v.spec;
    sp.merges = tok_strlist_from_array(odd_merges, 4);
    CHECK(tok_build(&sp, "x", &t) == LS_OK && t->n_merges == 1,
          "merges naming unknown tokens and duplicates are skipped");
    tok_free(t);
    /* Duplicate token strings: the first id keeps the string. */
    gguf_str toks[T_NTOK];
    memcpy(toks, v.tokens, sizeof toks);
    toks[T_BC] = gs("ab");
    sp = v.spec;
    sp.tokens = tok_strlist_from_array(toks, T_NTOK);
    CHECK(tok_build(&sp, "x", &t) == LS_OK && tok_find(t, "ab", 2) == T_AB, "duplicate strings: first id wins");
    tok_free(t);
    /* A byte-level vocabulary missing a byte: that byte maps to nothing, no crash. */
    memcpy(toks, v.tokens, sizeof toks);
    toks['z'] = gs("\xe4\xb8\xad\xe4\xb8\xad");
    sp = v.spec;
    sp.tokens = tok_strlist_from_array(toks, T_NTOK);
    CHECK(tok_build(&sp, "x", &t) == LS_OK && ids_are(t, "zaz", 0, (int32_t[]){ 'a' }, 1),
          "a missing byte token is dropped (no <unk> declared)");
    tok_free(t);
}

/* The same checks through real GGUF files: missing and mistyped keys. */
static char tmp_dir[64];

static ls_status load_gguf(const char *name, void (*fill)(gguf_writer *), tok_tokenizer **t)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    gguf_writer *w = NULL;
    gguf_writer_create(&w);
    fill(w);
    ls_status st = gguf_writer_begin(w, path);
    if (!st)
        st = gguf_writer_finish(w);
    gguf_writer_free(w);
    if (st)
        return st;
    st = tok_load_file(path, t);
    unlink(path);
    return st;
}

static const char *const g_tokens[] = { "a", "b", "ab", "<s>" };

static void fill_good(gguf_writer *w)
{
    int32_t types[] = { 1, 1, 1, 3 };
    const char *merges[] = { "a b" };
    gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2");
    gguf_writer_set_str(w, "tokenizer.ggml.pre", "qwen2");
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", g_tokens, 4);
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_I32, types, 4);
    gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", merges, 1);
    gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 3);
    gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", true);
}
static void fill_no_model(gguf_writer *w) { gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", g_tokens, 4); }
static void fill_no_tokens(gguf_writer *w) { gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2"); }
static void fill_bad_model(gguf_writer *w)
{
    fill_good(w);
    gguf_writer_set_str(w, "tokenizer.ggml.model", "bert");
}
static void fill_short_types(gguf_writer *w)
{
    int32_t types[] = { 1, 1 };
    fill_good(w);
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_I32, types, 2);
}
static void fill_typed_tokens(gguf_writer *w)
{
    uint32_t nums[] = { 1, 2 };
    fill_good(w);
    gguf_writer_set_arr(w, "tokenizer.ggml.tokens", GGUF_TYPE_U32, nums, 2);
}
static void fill_bad_bos(gguf_writer *w)
{
    fill_good(w);
    gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 4);
}
static void fill_no_merges(gguf_writer *w)
{
    fill_good(w);
    gguf_writer_set_str(w, "tokenizer.ggml.merges", "a b");
}

static void test_gguf_files(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/ls-tok-XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        CHECK(0, "cannot make a temporary folder");
        return;
    }
    tok_tokenizer *t = NULL;
    ls_status st = load_gguf("good.gguf", fill_good, &t);
    CHECK(st == LS_OK && t && tok_bos(t) == 3 && tok_wants_bos(t), "a small GGUF tokenizer loads: %s",
          ls_error_msg());
    if (t)
        CHECK(ids_are(t, "ab<s>", TOK_ADD_BOS | TOK_PARSE_SPECIAL, (int32_t[]){ 3, 2, 3 }, 3), "and encodes");
    tok_free(t);
    static const struct {
        const char *name;
        void (*fill)(gguf_writer *);
        const char *needle;
    } bad[] = {
        { "no-model.gguf", fill_no_model, "tokenizer.ggml.model is missing" },
        { "no-tokens.gguf", fill_no_tokens, "tokenizer.ggml.tokens" },
        { "bad-model.gguf", fill_bad_model, "\"bert\"" },
        { "short-types.gguf", fill_short_types, "token_type has 2 entries" },
        { "typed-tokens.gguf", fill_typed_tokens, "expected an array of strings" },
        { "bad-bos.gguf", fill_bad_bos, "bos_token_id is 4" },
        { "no-merges.gguf", fill_no_merges, "tokenizer.ggml.merges" },
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        t = NULL;
        ls_error_clear();
        st = load_gguf(bad[k].name, bad[k].fill, &t);
        CHECK(st != LS_OK && t == NULL && strstr(ls_error_msg(), bad[k].needle), "%s refused: '%s'", bad[k].name,
              ls_error_msg());
    }
    rmdir(tmp_dir);
}

/* ======================================================================== */
/* 8. Limits and allocation failures                                         */
/* ======================================================================== */

static void test_limits_and_nomem(void)
{
    toy_bpe v;
    static const char *const m[] = { "a b", "b c", "ab c" };
    toy_bpe_init(&v, "qwen2", m, 3);
    tok_tokenizer *t = NULL;
    if (tok_build(&v.spec, "toy", &t) != LS_OK)
        return;
    int32_t ids[4];
    size_t n = 0;
    const char *text = "abc xyz e\xcc\x81 123";
    ls_status st = tok_encode(t, text, strlen(text), 0, ids, 2, &n);
    int32_t full[64];
    size_t nf = 0;
    tok_encode(t, text, strlen(text), 0, full, 64, &nf);
    CHECK(st == LS_ERR_LIMIT && n == nf && ids[0] == full[0] && ids[1] == full[1],
          "a short array: LS_ERR_LIMIT, the count needed, the first ids written");
    CHECK(tok_encode(t, text, strlen(text), 0, NULL, 0, &n) == LS_ERR_LIMIT && n == nf, "counting only");
    CHECK(tok_encode(t, "", 0, 0, NULL, 0, &n) == LS_OK && n == 0, "empty text, no ids");
    CHECK(tok_encode(t, NULL, 5, 0, ids, 4, &n) == LS_ERR_ARG, "NULL text refused");
    CHECK(tok_encode(t, text, (size_t)TOK_MAX_TEXT_BYTES + 1, 0, ids, 4, &n) == LS_ERR_LIMIT && n == 0 &&
              strstr(ls_error_msg(), "MiB"),
          "a text over the per-call limit is refused before it is read");
    char out[4];
    size_t nb = 0;
    CHECK(tok_decode(t, full, nf, 0, out, 4, &nb) == LS_ERR_LIMIT && nb > 4, "decode: short buffer reported");

    /* Every allocation of encode and stream fails in turn. (The piece
     * cache is optional: when it cannot be allocated, encoding goes on
     * without it, so success is also a right answer.) */
    long live = ls_alloc_live();
    int nomem_ok = 1, n_nomem = 0;
    for (long k = 1; k < 20; k++) {
        ls_alloc_fail_after(k);
        st = tok_encode(t, text, strlen(text), 0, full, 64, &n);
        ls_alloc_fail_after(0);
        n_nomem += st == LS_ERR_NOMEM;
        if ((st != LS_OK && st != LS_ERR_NOMEM) || (st == LS_OK && n != nf))
            nomem_ok = 0;
        if (ls_alloc_live() != live)
            nomem_ok = 0;
    }
    CHECK(nomem_ok && n_nomem > 0, "tok_encode: NOMEM (%d times) or the right ids at every injected failure, "
          "nothing leaked", n_nomem);
    nomem_ok = 1;
    for (long k = 1; k < 10; k++) {
        tok_stream *s = NULL;
        ls_alloc_fail_after(k);
        st = tok_stream_new(t, 0, &s);
        ls_alloc_fail_after(0);
        if ((st == LS_OK) != (s != NULL) || (st != LS_OK && st != LS_ERR_NOMEM))
            nomem_ok = 0;
        tok_stream_free(s);
        if (ls_alloc_live() != live)
            nomem_ok = 0;
        if (st == LS_OK)
            break;
    }
    CHECK(nomem_ok, "tok_stream_new: clean NOMEM at every injected failure");
    tok_free(t);

    live = ls_alloc_live();
    nomem_ok = 1;
    int reached = 0;
    for (long k = 1; k < 200; k++) {
        t = NULL;
        ls_alloc_fail_after(k);
        st = tok_build(&v.spec, "toy", &t);
        ls_alloc_fail_after(0);
        if ((st == LS_OK) != (t != NULL) || (st != LS_OK && st != LS_ERR_NOMEM))
            nomem_ok = 0;
        tok_free(t);
        if (ls_alloc_live() != live)
            nomem_ok = 0;
        if (st == LS_OK) {
            reached = 1;
            break;
        }
    }
    CHECK(nomem_ok && reached, "tok_build: clean NOMEM at every injected failure, nothing leaked");
    tok_free(NULL);
}

int main(void)
{
    test_unicode();
    test_pretok();
    test_bpe();
    test_spm();
    test_special();
    test_stream();
    test_hostile();
    test_gguf_files();
    test_limits_and_nomem();
    return check_done();
}
