/* tok_internal.h — the tokenizer's private layout, shared by its .c files.
 *
 * Nothing outside src/tokenizer/ includes this. tokenizer.c builds a
 * tok_tokenizer (loading, hash tables, special tokens) and drives encoding;
 * bpe.c and spm.c turn one piece of text into ids; detok.c turns ids back.
 *
 * Vocabulary storage. All token strings live in one arena (`text`), token i
 * at text[text_off[i] .. text_off[i+1]). For byte-level BPE the stored GGUF
 * strings use GPT-2's "bytes as printable characters" alphabet (space = "Ġ");
 * we decode normal tokens to the raw bytes they stand for at load, so the
 * encoder works on raw bytes and never maps characters. `piece` is what
 * decoding prints: the same arena for BPE; for SentencePiece a second arena
 * where "▁" became a space and <0x41> became the byte 'A'. Special tokens
 * keep their text as stored in both. (The stored form of a byte-level
 * normal token, "Ġworld", is not kept: nothing needs it after loading.)
 */
#ifndef LS_TOK_INTERNAL_H
#define LS_TOK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/status.h"
#include "tokenizer/pretok.h"
#include "tokenizer/tokenizer.h"

typedef enum { TOK_MODEL_BPE, TOK_MODEL_SPM } tok_model_kind;

/* Hash tables are sized to a power of two at least 1.5 times the entries
 * (load at most 2/3: short linear-probe runs, tables half the size of 2x). */
static inline uint32_t tok_table_size(int64_t n)
{
    uint32_t size = 16;
    while ((int64_t)size * 2 < n * 3)
        size *= 2;
    return size;
}

/* Open-addressing hash slot for the vocabulary: id -1 = empty. The
 * string's place in the arena is copied into the slot so a probe costs one
 * memory access, not two (the table is larger than the CPU caches). */
typedef struct {
    uint32_t tag; /* high half of the string's hash, to skip most compares */
    int32_t id;
    uint32_t off; /* text[off .. off + len) */
    uint32_t len;
} tok_vslot;

/* Merge table slot: (left id, right id) -> rank and result. key 0 = empty
 * (ids are stored +1 so that the pair (0,0) is not the empty key). */
typedef struct {
    uint64_t key;
    int32_t rank;
    int32_t id;
} tok_mslot;

/* Special-token trie node (first-child / next-sibling). */
typedef struct {
    int32_t child;   /* first child node, -1 if none */
    int32_t sibling; /* next sibling node, -1 if none */
    int32_t token;   /* token ending here, -1 if none */
    uint8_t byte;
} tok_trie_node;

enum { TOK_MAX_EOG = 16 };

struct tok_tokenizer {
    tok_model_kind model;
    tok_pre_kind pre;
    bool nfc;           /* normalize text to NFC before pre-tokenizing */
    bool ignore_merges; /* a piece that is a whole vocabulary entry is taken as is */
    bool add_bos;       /* tokenizer.ggml.add_bos_token */
    bool add_space_prefix; /* SentencePiece: "▁" before the first word */

    int32_t n_vocab;
    uint8_t *type;       /* [n_vocab] tok_type */
    float *score;        /* [n_vocab] SentencePiece scores (0 if absent) */
    uint32_t *text_off;  /* [n_vocab + 1] into text */
    char *text;          /* encoder strings (raw bytes for BPE normal tokens) */
    uint32_t *piece_off; /* [n_vocab + 1] into piece */
    char *piece;         /* decoder strings */

    tok_vslot *vhash;    /* encoder strings of normal tokens -> id */
    uint32_t vmask;
    tok_mslot *mhash;    /* BPE merges */
    uint32_t mmask;
    int32_t n_merges;    /* merges kept (ranks are their positions in the file) */

    int32_t byte_id[256]; /* token for each raw byte, -1 if none */

    tok_trie_node *trie; /* node 0 = root; special-token texts */
    int32_t n_trie;
    uint8_t trie_first[32]; /* bit set of first bytes of special texts */

    int32_t bos, eos, eot, eom, unk, pad;
    int32_t eog[TOK_MAX_EOG];
    int n_eog;
    uint32_t max_piece_bytes; /* longest decoded piece */
    uint32_t max_text_bytes;  /* longest encoder string */
    const char *model_name;
};

/* A list of strings, either an array of views (tests) or GGUF's packed
 * string-array encoding (u64 length + bytes, repeated; already validated
 * by the loader) walked in order, which spares the loader building an
 * array of 280,000 views (and the page faults of fresh memory). */
typedef struct {
    int64_t n;
    const gguf_str *v;      /* [n], or NULL when `packed` is used */
    const uint8_t *packed;  /* first length field */
    uint64_t max_len;       /* longest string, in bytes */
} tok_strlist;

static inline tok_strlist tok_strlist_from_array(const gguf_str *v, int64_t n)
{
    tok_strlist l = { n, v, NULL, 0 };
    for (int64_t i = 0; i < n; i++)
        if (v[i].len > l.max_len)
            l.max_len = v[i].len;
    return l;
}

typedef struct {
    const tok_strlist *l;
    const uint8_t *p;
    int64_t i;
} tok_striter;

static inline tok_striter tok_striter_begin(const tok_strlist *l)
{
    tok_striter it = { l, l->packed, 0 };
    return it;
}

/* The next string (call exactly l->n times). */
static inline gguf_str tok_striter_next(tok_striter *it)
{
    if (it->l->v)
        return it->l->v[it->i++];
    uint64_t n = 0;
    for (int k = 7; k >= 0; k--)
        n = (n << 8) | it->p[k];
    gguf_str s = { (const char *)it->p + 8, n };
    it->p += 8 + n;
    it->i++;
    return s;
}

/* What tok_build() needs, as views into a GGUF file or a test's arrays.
 * tok_load() fills one from the `tokenizer.ggml.*` keys; unit tests build
 * small tokenizers (and hostile ones) from arrays directly. */
typedef struct {
    gguf_str model;          /* "gpt2" or "llama" */
    gguf_str pre;            /* ptr NULL if absent */
    tok_strlist tokens;
    const int32_t *types;    /* [tokens.n] or NULL (all normal) */
    const float *scores;     /* [tokens.n] or NULL (all 0) */
    tok_strlist merges;      /* n = 0 for SentencePiece */
    int64_t bos, eos, eot, eom, unk, pad; /* -1: none */
    int add_bos;             /* 0, 1, or -1 for the model's default */
    int add_space_prefix;    /* same */
} tok_spec;

/* Validates `sp` and builds a tokenizer that owns copies of everything;
 * `label` (a file name) starts every error message. */
ls_status tok_build(const tok_spec *sp, const char *label, tok_tokenizer **out);

/* ---- hashing ------------------------------------------------------------- */
static inline uint64_t tok_mix64(uint64_t h)
{
    h ^= h >> 31;
    h *= 0x7fb5d329728ea185ull;
    h ^= h >> 27;
    h *= 0x81dadef4bc2dd44dull;
    h ^= h >> 33;
    return h;
}

/* A fast hash of short byte strings, eight bytes at a time. */
static inline uint64_t tok_hash_bytes(const void *p, size_t n)
{
    const uint8_t *s = p;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xbf58476d1ce4e5b9ull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0x94d049bb133111ebull;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    if (n) {
        uint64_t w = 0;
        memcpy(&w, s, n);
        h = (h ^ w) * 0x94d049bb133111ebull;
    }
    return tok_mix64(h);
}

/* The normal token whose encoder string is s[0..n), or -1. `h` is
 * tok_hash_bytes(s, n). */
static inline int32_t tok_vocab_lookup_h(const tok_tokenizer *t, const void *s, size_t n, uint64_t h)
{
    uint32_t tag = (uint32_t)(h >> 32);
    for (uint32_t i = (uint32_t)h & t->vmask;; i = (i + 1) & t->vmask) {
        const tok_vslot *e = &t->vhash[i];
        if (e->id < 0)
            return -1;
        if (e->tag == tag && e->len == n && memcmp(t->text + e->off, s, n) == 0)
            return e->id;
    }
}

static inline int32_t tok_vocab_lookup(const tok_tokenizer *t, const void *s, size_t n)
{
    return tok_vocab_lookup_h(t, s, n, tok_hash_bytes(s, n));
}

/* ---- the per-call encoder workspace -------------------------------------- */
typedef struct tok_cache_slot tok_cache_slot;

typedef struct {
    const tok_tokenizer *tok;
    int32_t *out; /* [cap] caller's array */
    size_t cap;
    size_t n;     /* ids produced so far (may exceed cap) */
    ls_status status;

    uint8_t *buf; size_t buf_cap;       /* normalized or escaped text */
    int32_t *cps; size_t cps_cap;       /* utf8proc scratch (code points) */
    void *sym; size_t sym_cap_bytes;    /* BPE / SPM symbols */
    void *heap; size_t heap_cap_bytes;  /* BPE / SPM priority queue */
    tok_cache_slot *cache; uint32_t cache_mask; /* BPE piece cache */
    size_t text_len;                    /* length of the whole input (sizes the cache) */
} tok_work;

static inline void tok_emit(tok_work *w, int32_t id)
{
    if (w->n < w->cap)
        w->out[w->n] = id;
    w->n++;
}

/* Grows *p to hold at least `need_bytes`; on failure sets w->status and returns false. */
bool tok_work_reserve(tok_work *w, void **p, size_t *cap_bytes, size_t need_bytes);

/* Zeroed memory for a large hash table, freed with ls_free(); the pages of
 * a big one are mapped in one system call rather than one fault at a time. */
void *tok_alloc_table(size_t n_bytes);

/* bpe.c */
ls_status tok_bpe_build_merges(tok_tokenizer *t, const tok_strlist *merges, const char *label);
void tok_bpe_piece(tok_work *w, const uint8_t *p, size_t n);
void tok_bpe_work_free(tok_work *w);

/* spm.c */
void tok_spm_encode(tok_work *w, const uint8_t *s, size_t n);

/* Decodes one GPT-2 byte-level string (UTF-8 of the printable alphabet) to
 * raw bytes in out (room for n bytes); returns the length, or -1 if a
 * character is outside the alphabet. */
long tok_bytelevel_decode(const char *s, size_t n, uint8_t *out);

#endif
