/* spm.c — SentencePiece-style BPE (the "llama" tokenizer model).
 *
 * How it differs from byte-level BPE. The vocabulary is in characters, not
 * bytes; spaces are written "▁" (U+2581) and a "▁" is put before the text so
 * the first word looks like every other word ("▁Once"); there is no merge
 * list, instead every token has a score (higher = learned earlier), and a
 * pair of adjacent symbols may merge whenever their concatenation is a token.
 * Characters that are not in the vocabulary fall back to one <0xXX> token per
 * UTF-8 byte ("byte fallback").
 *
 * How it works. The caller (tokenizer.c) has already escaped the text (the
 * "▁" prefix and spaces). We start from one symbol per character, put every
 * adjacent pair whose concatenation is a normal token in a max-heap ordered by
 * (score, then leftmost), and repeatedly merge the best pair, re-checking that
 * both symbols are unchanged (stale entries are skipped, never removed) and
 * adding the two new pairs the merge creates. Finally each symbol is its token,
 * or its bytes' <0xXX> tokens when it is a lone character outside the
 * vocabulary (merged symbols are always tokens). This is what SentencePiece's
 * BPE mode and llama.cpp compute; O(n log n) for n characters.
 *
 * LIMITATION: the whole text between two special tokens is one sequence (as
 * in llama.cpp); `remove_extra_whitespaces` and SentencePiece normalization
 * rules are not applied (Llama-family GGUFs set neither). A "▁" typed in
 * the text is indistinguishable from an escaped space, so it decodes as a
 * space (as in SentencePiece itself).
 */
#include <string.h>

#include "base/utf8.h"
#include "tokenizer/tok_internal.h"

typedef struct {
    uint32_t start, len; /* bytes in the escaped text; len 0 once merged away */
    int32_t prev, next;
} spm_sym;

typedef struct {
    float score;
    int32_t left, right;
    uint32_t size; /* bytes of the pair when it was queued */
} spm_pair;

/* a goes before b in the queue: higher score, then the leftmost. */
static inline int better(const spm_pair *a, const spm_pair *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static void heap_push(spm_pair *h, size_t *n, spm_pair v)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!better(&v, &h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = v;
}

static spm_pair heap_pop(spm_pair *h, size_t *n)
{
    spm_pair top = h[0], v = h[--(*n)];
    size_t i = 0, m = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m)
            break;
        if (c + 1 < m && better(&h[c + 1], &h[c]))
            c++;
        if (!better(&h[c], &v))
            break;
        h[i] = h[c];
        i = c;
    }
    if (m)
        h[i] = v;
    return top;
}

static inline void try_pair(const tok_tokenizer *t, const uint8_t *s, const spm_sym *sym, int32_t l, spm_pair *heap,
                            size_t *nh)
{
    if (l < 0)
        return;
    int32_t r = sym[l].next;
    if (r < 0)
        return;
    uint32_t size = sym[l].len + sym[r].len;
    if (size > t->max_text_bytes) /* no token that long: skip hashing it (keeps long runs linear) */
        return;
    int32_t id = tok_vocab_lookup(t, s + sym[l].start, size);
    if (id < 0)
        return;
    spm_pair p = { t->score[id], l, r, size };
    heap_push(heap, nh, p);
}

void tok_spm_encode(tok_work *w, const uint8_t *s, size_t n)
{
    const tok_tokenizer *t = w->tok;
    if (n == 0)
        return;
    if (!tok_work_reserve(w, &w->sym, &w->sym_cap_bytes, n * sizeof(spm_sym)) ||
        !tok_work_reserve(w, &w->heap, &w->heap_cap_bytes, (2 * n + 2) * sizeof(spm_pair)))
        return;
    spm_sym *sym = w->sym;
    spm_pair *heap = w->heap;
    size_t nh = 0;
    int32_t ns = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = utf8_decode(s + i, n - i, &cp);
        sym[ns].start = (uint32_t)i;
        sym[ns].len = (uint32_t)l;
        sym[ns].prev = ns - 1;
        sym[ns].next = ns + 1;
        ns++;
        i += l;
    }
    sym[ns - 1].next = -1;
    for (int32_t i = 0; i + 1 < ns; i++)
        try_pair(t, s, sym, i, heap, &nh);
    while (nh) {
        spm_pair p = heap_pop(heap, &nh);
        int32_t l = p.left, r = p.right;
        if (sym[l].len == 0 || sym[r].len == 0 || sym[l].next != r || sym[l].len + sym[r].len != p.size)
            continue;
        sym[l].len += sym[r].len;
        sym[r].len = 0;
        sym[l].next = sym[r].next;
        if (sym[r].next >= 0)
            sym[sym[r].next].prev = l;
        try_pair(t, s, sym, sym[l].prev, heap, &nh);
        try_pair(t, s, sym, l, heap, &nh);
    }
    for (int32_t i = 0; i >= 0; i = sym[i].next) {
        int32_t id = tok_vocab_lookup(t, s + sym[i].start, sym[i].len);
        if (id >= 0) {
            tok_emit(w, id);
            continue;
        }
        for (uint32_t k = 0; k < sym[i].len; k++) {
            int32_t b = t->byte_id[s[sym[i].start + k]];
            if (b < 0)
                b = t->unk;
            if (b >= 0)
                tok_emit(w, b);
        }
    }
}
