/* pretok.c — the pre-tokenizer regular expression, written out by hand.
 *
 * How it works. tok_pretok_next() tries the alternatives of the expression
 * in pretok.h in order at position i, exactly as a backtracking regex engine
 * would, but with the backtracking worked out in advance:
 *
 *   - `[^\r\n\p{L}\p{N}]?\p{L}+` matches iff the first character is a
 *     letter, or it is neither CR/LF nor letter nor number and the second one
 *     is a letter; then it takes every following letter.
 *   - ` ?[^\s\p{L}\p{N}]+[\r\n]*`: the optional space is only useful when a
 *     punctuation character follows it.
 *   - the three white-space alternatives look at the maximal run of white
 *     space starting at i: `\s*[\r\n]+` ends just after the last CR/LF in the
 *     run (if there is one); otherwise `\s+(?!\S)` takes the whole run at the
 *     end of the text, or the run minus its last character when the run is
 *     longer than one; otherwise `\s+` takes the single character.
 *
 * Every character falls into exactly one of letter / number / white space /
 * other ("P" below), and each class starts some alternative, so a piece is
 * never empty. Each character is classified a bounded number of times, so
 * the whole pass is linear in the text length.
 */
#include "tokenizer/pretok.h"

#include <string.h>

#include "base/utf8.h"
#include "tokenizer/unicode.h"

int tok_pre_from_name(const char *name, size_t len, tok_pre_kind *out)
{
    static const struct {
        const char *name;
        tok_pre_kind kind;
    } names[] = {
        { "qwen2", TOK_PRE_QWEN2 },
        { "deepseek-r1-qwen", TOK_PRE_QWEN2 },
        { "llama-bpe", TOK_PRE_LLAMA3 },
        { "llama3", TOK_PRE_LLAMA3 },
        { "llama-v3", TOK_PRE_LLAMA3 },
    };
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        if (strlen(names[k].name) == len && memcmp(names[k].name, name, len) == 0) {
            *out = names[k].kind;
            return 0;
        }
    }
    return -1;
}

const char *tok_pre_kind_name(tok_pre_kind pre)
{
    switch (pre) {
    case TOK_PRE_QWEN2: return "qwen2";
    case TOK_PRE_LLAMA3: return "llama-bpe";
    case TOK_PRE_NONE: break;
    }
    return "none";
}

/* Classes of characters; P = "other" (punctuation, symbols, marks, controls
 * other than white space, and bytes that are not valid UTF-8). */
#define C_L TOK_UNI_L
#define C_N TOK_UNI_N
#define C_WS TOK_UNI_WS
#define C_CRLF TOK_UNI_CRLF
#define IS_P(c) (((c) & (C_L | C_N | C_WS)) == 0)

static inline unsigned cls(const uint8_t *s, size_t n, size_t i, size_t *len)
{
    uint8_t b = s[i];
    if (b < 0x80) {
        *len = 1;
        return tok_uni_bmp[b];
    }
    uint32_t cp;
    *len = utf8_decode(s + i, n - i, &cp);
    if (cp == UTF8_INVALID)
        return 0;
    return cp < 65536 ? tok_uni_bmp[cp] : tok_uni_class(cp);
}

/* End of the run of characters having any of `want` from position j. */
static inline size_t scan_run(const uint8_t *s, size_t n, size_t j, unsigned want)
{
    while (j < n) {
        if (s[j] < 0x80) {
            if (!(tok_uni_bmp[s[j]] & want))
                break;
            j++;
            continue;
        }
        size_t l;
        if (!(cls(s, n, j, &l) & want))
            break;
        j += l;
    }
    return j;
}

static inline size_t scan_punct(const uint8_t *s, size_t n, size_t j)
{
    while (j < n) {
        size_t l;
        if (!IS_P(cls(s, n, j, &l)))
            break;
        j += l;
    }
    return j;
}

size_t tok_pretok_next(tok_pre_kind pre, const uint8_t *s, size_t n, size_t i)
{
    tok_uni_init();
    /* (?i:'s|'t|'re|'ve|'m|'ll|'d): ASCII case-insensitive ((x | 0x20) maps
     * only 'S' and 's' to 's', and so on for each letter used here). */
    if (s[i] == '\'' && i + 1 < n) {
        unsigned a = s[i + 1] | 0x20u;
        if (a == 's' || a == 't' || a == 'm' || a == 'd')
            return i + 2;
        if (i + 2 < n) {
            unsigned b = s[i + 2] | 0x20u;
            if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
                return i + 3;
        }
    }

    size_t l0, l1 = 0;
    unsigned c0 = cls(s, n, i, &l0);
    if (c0 & C_L)
        return scan_run(s, n, i + l0, C_L);
    int has1 = i + l0 < n;
    unsigned c1 = has1 ? cls(s, n, i + l0, &l1) : 0;
    if (has1 && !(c0 & (C_CRLF | C_L | C_N)) && (c1 & C_L))
        return scan_run(s, n, i + l0 + l1, C_L);

    if (c0 & C_N) {
        int max_digits = pre == TOK_PRE_LLAMA3 ? 3 : 1;
        size_t j = i + l0;
        for (int k = 1; k < max_digits && j < n; k++) {
            size_t l;
            if (!(cls(s, n, j, &l) & C_N))
                break;
            j += l;
        }
        return j;
    }

    size_t j = 0;
    if (s[i] == ' ' && has1 && IS_P(c1))
        j = scan_punct(s, n, i + 1 + l1);
    else if (IS_P(c0))
        j = scan_punct(s, n, i + l0);
    if (j) {
        while (j < n && (s[j] == '\r' || s[j] == '\n'))
            j++;
        return j;
    }

    /* c0 is white space. */
    size_t last_start = i, nl_end = 0;
    j = i;
    while (j < n) {
        size_t l;
        unsigned c = cls(s, n, j, &l);
        if (!(c & C_WS))
            break;
        if (c & C_CRLF)
            nl_end = j + l;
        last_start = j;
        j += l;
    }
    if (nl_end)
        return nl_end;
    if (j == n)
        return j;
    if (last_start > i)
        return last_start;
    return j;
}
