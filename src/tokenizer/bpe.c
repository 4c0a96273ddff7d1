/* bpe.c — byte-level BPE: the merge table and the encoding of one piece.
 *
 * What BPE does. A piece (" world") starts as one symbol per byte. The
 * merge list, learned at training time, is a ranked list of pairs ("Ġ w",
 * "o r", ...); repeatedly, the adjacent pair with the best (lowest) rank is
 * replaced by the token it forms, leftmost first among equals, until no
 * adjacent pair appears in the list. The remaining symbols are the ids.
 *
 * How it is fast.
 *   - Merges are stored by token ids: (left id, right id) -> (rank, result
 *     id) in an open-addressing hash table, so a candidate pair costs one
 *     multiply-and-probe, no string work.
 *   - The candidates live in a binary min-heap keyed (rank << 32 | position);
 *     symbols form a doubly linked list over an array, so a merge is O(1)
 *     plus O(log n) heap work, and a piece of n bytes costs O(n log n).
 *     A popped candidate is applied only if the two symbols are still there
 *     and still form the same merge (the same check Hugging Face does), so
 *     stale heap entries need no removal.
 *   - Text repeats: a direct-mapped cache keyed by the piece's bytes remembers
 *     the ids of recent short pieces (up to 22 bytes and 8 ids), which makes
 *     ordinary prose mostly cache hits.
 *   - With `ignore_merges` (Llama 3), a piece that is itself a vocabulary
 *     entry is taken whole, as Hugging Face does; that lookup comes first.
 * Nothing here allocates per token: the symbol array, heap and cache belong
 * to the per-call tok_work and grow only when a longer piece shows up.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/platform.h"
#include "base/threadpool.h"
#include "base/utf8.h"
#include "tokenizer/tok_internal.h"
#include "tokenizer/unicode.h"

/* ======================================================================== */
/* GPT-2's byte alphabet                                                     */
/* ======================================================================== */

/* GPT-2 writes each byte as a printable character so vocabularies stay
 * readable: bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF stand for themselves
 * (as code points), and the other 68 bytes (controls, space, 0x7F..0xA0,
 * 0xAD) become U+0100, U+0101, ... in byte order. So space (0x20, the 33rd
 * such byte) is U+0120 "Ġ" and newline is U+010A "Ċ". */
static int16_t cp_to_byte[0x144];
static pthread_once_t bytelevel_once = PTHREAD_ONCE_INIT;

static void bytelevel_fill(void)
{
    for (int i = 0; i < 0x144; i++)
        cp_to_byte[i] = -1;
    int next = 256;
    for (int b = 0; b < 256; b++) {
        int self = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        cp_to_byte[self ? b : next++] = (int16_t)b;
    }
}

static void bytelevel_init(void)
{
    pthread_once(&bytelevel_once, bytelevel_fill);
}

long tok_bytelevel_decode(const char *s, size_t n, uint8_t *out)
{
    bytelevel_init();
    /* Every character of the alphabet is below U+0144, so one or two bytes. */
    const uint8_t *u = (const uint8_t *)s;
    size_t i = 0, o = 0;
    while (i < n) {
        uint32_t cp;
        size_t l = utf8_decode(u + i, n - i, &cp);
        if (cp == UTF8_INVALID || cp >= 0x144)
            return -1;
        int b = cp_to_byte[cp];
        if (b < 0)
            return -1;
        out[o++] = (uint8_t)b;
        i += l;
    }
    return (long)o;
}

/* ======================================================================== */
/* The merge table                                                           */
/* ======================================================================== */

static inline uint64_t merge_key(int32_t a, int32_t b)
{
    return ((uint64_t)(uint32_t)(a + 1) << 32) | (uint32_t)(b + 1);
}

static inline const tok_mslot *merge_find(const tok_tokenizer *t, int32_t a, int32_t b)
{
    uint64_t key = merge_key(a, b);
    for (uint32_t i = (uint32_t)tok_mix64(key) & t->mmask;; i = (i + 1) & t->mmask) {
        const tok_mslot *e = &t->mhash[i];
        if (e->key == key)
            return e;
        if (e->key == 0)
            return NULL;
    }
}

/* Loading 280,000 merges means 840,000 vocabulary lookups and 280,000
 * table inserts, each a likely cache miss; done one after the other they
 * took 150 ms. Three remedies.
 *   - The result "AB" of a merge is found without hashing in practice (see
 *     stage 1).
 *   - The halves A and B go through in batches, in stages, with every memory
 *     access of a stage prefetched by the stage before: decode and hash
 *     (prefetch the hash slots), find the candidate slots (prefetch the token
 *     strings), verify. The misses of a batch overlap instead of queuing.
 *   - That lookup work (phase 1) only reads the vocabulary, so two threads
 *     share it, each taking half of the list and writing (key, result) per
 *     merge into an array; then one thread inserts the array into the table
 *     in rank order (phase 2), so the first (best-ranked) duplicate wins
 *     exactly as before. */
enum { BATCH = 64, MERGE_THREADS = 2, MERGES_PER_THREAD_MIN = 20000 };

typedef struct {
    bool ok;          /* both halves decoded */
    uint32_t off;     /* A then B, decoded, at buf + off */
    uint32_t len[3];  /* A, B, AB */
    uint64_t h[3];
    int32_t slot[2];  /* first slot whose tag and length match, -1 if none */
    int32_t id[3];    /* A, B, AB */
} pending_merge;

/* What phase 1 found for one merge: key 0 = unusable (a half or the result
 * is not in the vocabulary: such a merge can never apply). */
typedef struct {
    uint64_t key;
    int32_t id;
} found_merge;

typedef struct {
    const tok_tokenizer *t;
    const tok_strlist *merges;
    found_merge *found;  /* [merges->n] */
    uint8_t *buf[MERGE_THREADS]; /* [BATCH * (max_len + 1)] each */
    int64_t bad[MERGE_THREADS];  /* first merge without a separator, or -1 */
} merge_job;

static void probe_candidate(const tok_tokenizer *t, pending_merge *m, int j)
{
    uint32_t tag = (uint32_t)(m->h[j] >> 32);
    m->slot[j] = -1;
    for (uint32_t i = (uint32_t)m->h[j] & t->vmask;; i = (i + 1) & t->vmask) {
        const tok_vslot *e = &t->vhash[i];
        if (e->id < 0)
            return;
        if (e->tag == tag && e->len == m->len[j]) {
            m->slot[j] = (int32_t)i;
            __builtin_prefetch(t->text + e->off);
            return;
        }
    }
}

/* Phase 1 for merges [begin, end) of the list: runs on worker threads, so it
 * reports a malformed entry through job->bad instead of ls_error(). */
static void find_merges(void *ctx, int ith, int nth)
{
    merge_job *job = ctx;
    const tok_tokenizer *t = job->t;
    long begin, end;
    pool_share((long)job->merges->n, ith, nth, &begin, &end);
    uint8_t *buf = job->buf[ith];
    job->bad[ith] = -1;
    tok_striter it = tok_striter_begin(job->merges);
    for (long i = 0; i < begin; i++)
        tok_striter_next(&it);

    pending_merge pm[BATCH];
    int32_t last_m = -1;
    for (long base = begin; base < end; base += BATCH) {
        int nb = end - base < BATCH ? (int)(end - base) : BATCH;
        uint32_t bo = 0;
        for (int k = 0; k < nb; k++) { /* stage 1: split, decode, hash */
            gguf_str ms = tok_striter_next(&it);
            const char *s = ms.ptr;
            size_t len = (size_t)ms.len;
            /* The separator is the first space after the first byte (a token
             * is never empty, and byte-level tokens never hold a raw space). */
            const char *sp = len >= 3 ? memchr(s + 1, ' ', len - 2) : NULL;
            if (!sp) {
                job->bad[ith] = base + k;
                return;
            }
            pending_merge *m = &pm[k];
            size_t ln = (size_t)(sp - s);
            long la = tok_bytelevel_decode(s, ln, buf + bo);
            long lb = la < 0 ? -1 : tok_bytelevel_decode(sp + 1, len - ln - 1, buf + bo + la);
            m->ok = lb >= 0;
            if (!m->ok)
                continue;
            m->off = bo;
            m->len[0] = (uint32_t)la;
            m->len[1] = (uint32_t)lb;
            m->len[2] = (uint32_t)(la + lb);
            m->h[0] = tok_hash_bytes(buf + bo, (size_t)la);
            m->h[1] = tok_hash_bytes(buf + bo + la, (size_t)lb);
            for (int j = 0; j < 2; j++)
                __builtin_prefetch(&t->vhash[(uint32_t)m->h[j] & t->vmask]);
            /* Vocabularies list merge results in merge order, so the result
             * is almost always the previous merge's result or the next id:
             * check those two strings (sequential memory) before hashing. */
            m->id[2] = -1;
            for (int32_t g = last_m; g <= last_m + 1; g++) {
                if (g < 0 || g >= t->n_vocab || t->text_off[g + 1] - t->text_off[g] != m->len[2] ||
                    !(t->type[g] == TOK_TYPE_NORMAL || t->type[g] == TOK_TYPE_UNDEFINED) ||
                    memcmp(t->text + t->text_off[g], buf + bo, m->len[2]) != 0)
                    continue;
                m->id[2] = g;
                break;
            }
            if (m->id[2] < 0) {
                m->h[2] = tok_hash_bytes(buf + bo, m->len[2]);
                m->id[2] = tok_vocab_lookup_h(t, buf + bo, m->len[2], m->h[2]);
            }
            if (m->id[2] >= 0)
                last_m = m->id[2];
            bo += (uint32_t)(la + lb);
        }
        for (int k = 0; k < nb; k++) /* stage 2: candidate slots */
            if (pm[k].ok)
                for (int j = 0; j < 2; j++)
                    probe_candidate(t, &pm[k], j);
        for (int k = 0; k < nb; k++) { /* stage 3: verify, record */
            pending_merge *m = &pm[k];
            found_merge *f = &job->found[base + k];
            f->key = 0;
            if (!m->ok)
                continue;
            for (int j = 0; j < 2; j++) {
                const uint8_t *str = buf + m->off + (j ? m->len[0] : 0);
                m->id[j] = -1;
                if (m->slot[j] < 0)
                    continue;
                const tok_vslot *e = &t->vhash[m->slot[j]];
                if (memcmp(t->text + e->off, str, m->len[j]) == 0)
                    m->id[j] = e->id;
                else /* a 32-bit tag collision: do the full probe */
                    m->id[j] = tok_vocab_lookup_h(t, str, m->len[j], m->h[j]);
            }
            if (m->id[0] >= 0 && m->id[1] >= 0 && m->id[2] >= 0) {
                f->key = merge_key(m->id[0], m->id[1]);
                f->id = m->id[2];
            }
        }
    }
}

ls_status tok_bpe_build_merges(tok_tokenizer *t, const tok_strlist *merges, const char *label)
{
    int64_t n_merges = merges->n;
    if (n_merges > (1 << 28))
        return ls_error(LS_ERR_FORMAT, "%s: tokenizer.ggml.merges has %lld entries, expected at most %d", label,
                        (long long)n_merges, 1 << 28);
    uint64_t max_len = merges->max_len;
    if (max_len > (1u << 24))
        return ls_error(LS_ERR_FORMAT, "%s: tokenizer.ggml.merges holds a %llu-byte entry, expected under 16 MiB",
                        label, (unsigned long long)max_len);
    uint32_t size = tok_table_size(n_merges);
    t->mhash = tok_alloc_table((size_t)size * sizeof *t->mhash);
    if (!t->mhash)
        return ls_error(LS_ERR_NOMEM, "%s: out of memory for %lld merges", label, (long long)n_merges);
    t->mmask = size - 1;

    int nth = n_merges >= (int64_t)MERGE_THREADS * MERGES_PER_THREAD_MIN && plat_physical_cores() > 1
                  ? MERGE_THREADS : 1;
    merge_job job = { .t = t, .merges = merges };
    pool *workers = NULL;
    ls_status st = LS_OK;
    job.found = ls_malloc((size_t)(n_merges > 0 ? n_merges : 1) * sizeof *job.found);
    for (int i = 0; i < nth; i++)
        job.buf[i] = ls_malloc(BATCH * (max_len + 1));
    if (!job.found || !job.buf[0] || !job.buf[nth - 1]) {
        st = ls_error(LS_ERR_NOMEM, "%s: out of memory for %lld merges", label, (long long)n_merges);
        goto done;
    }
    if (nth > 1 && pool_create(nth, &workers) != LS_OK)
        nth = 1; /* no second thread: do it alone */
    if (workers)
        pool_run(workers, find_merges, &job);
    else
        find_merges(&job, 0, 1);
    for (int i = 0; i < nth; i++) {
        if (job.bad[i] < 0)
            continue;
        gguf_str ms = { 0 };
        tok_striter it = tok_striter_begin(merges);
        for (int64_t k = 0; k <= job.bad[i]; k++)
            ms = tok_striter_next(&it);
        st = ls_error(LS_ERR_FORMAT,
                      "%s: tokenizer.ggml.merges[%lld] is \"%.*s\", expected two tokens separated by a space",
                      label, (long long)job.bad[i], (int)(ms.len > 60 ? 60 : ms.len), ms.ptr);
        goto done;
    }

    /* Phase 2: insert in rank order, the slot of a merge AHEAD places later
     * prefetched. */
    enum { AHEAD = 16 };
    long n_unusable = 0, n_dup = 0;
    int32_t kept = 0;
    for (int64_t r = 0; r < n_merges; r++) {
        if (r + AHEAD < n_merges && job.found[r + AHEAD].key)
            __builtin_prefetch(&t->mhash[(uint32_t)tok_mix64(job.found[r + AHEAD].key) & t->mmask], 1);
        uint64_t key = job.found[r].key;
        if (!key) {
            n_unusable++; /* can never apply (a symbol is always a token), or has no result */
            continue;
        }
        uint32_t j = (uint32_t)tok_mix64(key) & t->mmask;
        while (t->mhash[j].key != 0 && t->mhash[j].key != key)
            j = (j + 1) & t->mmask;
        if (t->mhash[j].key == key) {
            n_dup++; /* the first (best-ranked) occurrence wins */
            continue;
        }
        t->mhash[j] = (tok_mslot){ .key = key, .rank = (int32_t)r, .id = job.found[r].id };
        kept++;
    }
    t->n_merges = kept;
    if (n_unusable || n_dup)
        log_warn("%s: ignored %ld merges naming tokens that are not in the vocabulary and %ld duplicates", label,
                 n_unusable, n_dup);
done:
    pool_free(workers);
    for (int i = 0; i < MERGE_THREADS; i++)
        ls_free(job.buf[i]);
    ls_free(job.found);
    return st;
}

/* ======================================================================== */
/* Encoding one piece                                                        */
/* ======================================================================== */

enum { CACHE_PIECE_MAX = 22, CACHE_IDS_MAX = 8 };

struct tok_cache_slot {
    uint64_t h;      /* hash of the piece; an empty slot has len 0 and never matches */
    uint8_t len;
    uint8_t n_ids;
    uint8_t bytes[CACHE_PIECE_MAX];
    int32_t ids[CACHE_IDS_MAX];
};
_Static_assert(sizeof(struct tok_cache_slot) == 64, "one cache line per slot");

typedef struct {
    int32_t id;   /* -1 once merged into its left neighbour */
    int32_t prev; /* -1 at the start */
    int32_t next; /* -1 at the end */
} bpe_sym;

static void heap_push(uint64_t *h, size_t *n, uint64_t v)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h[p] <= v)
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = v;
}

static uint64_t heap_pop(uint64_t *h, size_t *n)
{
    uint64_t top = h[0], v = h[--(*n)];
    size_t i = 0, m = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m)
            break;
        if (c + 1 < m && h[c + 1] < h[c])
            c++;
        if (h[c] >= v)
            break;
        h[i] = h[c];
        i = c;
    }
    if (m)
        h[i] = v;
    return top;
}

static inline void try_pair(const tok_tokenizer *t, const bpe_sym *sym, int32_t l, uint64_t *heap, size_t *nh)
{
    int32_t r = sym[l].next;
    if (r < 0)
        return;
    const tok_mslot *m = merge_find(t, sym[l].id, sym[r].id);
    if (m)
        heap_push(heap, nh, ((uint64_t)(uint32_t)m->rank << 32) | (uint32_t)l);
}

static bool cache_ready(tok_work *w)
{
    if (w->cache)
        return true;
    uint32_t n = 256;
    while (n < (1u << 15) && (size_t)n * 8 < w->text_len)
        n *= 2;
    w->cache = ls_calloc(n, sizeof *w->cache);
    if (!w->cache)
        return false; /* the cache is an optimization: work without it */
    w->cache_mask = n - 1;
    return true;
}

void tok_bpe_piece(tok_work *w, const uint8_t *p, size_t n)
{
    const tok_tokenizer *t = w->tok;
    if (n == 1) {
        int32_t id = t->byte_id[p[0]];
        if (id >= 0)
            tok_emit(w, id);
        else if (t->unk >= 0)
            tok_emit(w, t->unk);
        return;
    }
    uint64_t h = tok_hash_bytes(p, n);
    if (t->ignore_merges) {
        int32_t id = tok_vocab_lookup_h(t, p, n, h);
        if (id >= 0) {
            tok_emit(w, id);
            return;
        }
    }
    tok_cache_slot *slot = NULL;
    if (n <= CACHE_PIECE_MAX && cache_ready(w)) {
        slot = &w->cache[(uint32_t)h & w->cache_mask];
        if (slot->h == h && slot->len == n && memcmp(slot->bytes, p, n) == 0) {
            for (int k = 0; k < slot->n_ids; k++)
                tok_emit(w, slot->ids[k]);
            return;
        }
    }

    if (!tok_work_reserve(w, &w->sym, &w->sym_cap_bytes, n * sizeof(bpe_sym)) ||
        !tok_work_reserve(w, &w->heap, &w->heap_cap_bytes, (2 * n + 2) * sizeof(uint64_t)))
        return;
    bpe_sym *sym = w->sym;
    uint64_t *heap = w->heap;
    size_t nh = 0;
    int32_t ns = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = t->byte_id[p[i]];
        if (id < 0)
            id = t->unk; /* a vocabulary without this byte: <unk> if any, else drop */
        if (id < 0)
            continue;
        sym[ns].id = id;
        sym[ns].prev = ns - 1;
        sym[ns].next = ns + 1;
        ns++;
    }
    if (ns == 0)
        return;
    sym[ns - 1].next = -1;
    /* Heap size: at most n - 1 initial pairs; each applied merge pops one
     * entry and pushes at most two, and there are at most n - 1 merges, so
     * the heap never holds more than 2n - 2 entries. */
    for (int32_t i = 0; i + 1 < ns; i++)
        try_pair(t, sym, i, heap, &nh);
    while (nh) {
        uint64_t top = heap_pop(heap, &nh);
        int32_t l = (int32_t)(uint32_t)top, rank = (int32_t)(top >> 32);
        if (sym[l].id < 0 || sym[l].next < 0)
            continue;
        int32_t r = sym[l].next;
        const tok_mslot *m = merge_find(t, sym[l].id, sym[r].id);
        if (!m || m->rank != rank)
            continue;
        sym[l].id = m->id;
        sym[r].id = -1;
        sym[l].next = sym[r].next;
        if (sym[r].next >= 0)
            sym[sym[r].next].prev = l;
        if (sym[l].prev >= 0)
            try_pair(t, sym, sym[l].prev, heap, &nh);
        try_pair(t, sym, l, heap, &nh);
    }

    int n_ids = 0;
    for (int32_t i = 0; i >= 0; i = sym[i].next) {
        tok_emit(w, sym[i].id);
        n_ids++;
    }
    if (slot && n_ids <= CACHE_IDS_MAX) {
        slot->h = h;
        slot->len = (uint8_t)n;
        slot->n_ids = (uint8_t)n_ids;
        memcpy(slot->bytes, p, n);
        int k = 0;
        for (int32_t i = 0; i >= 0; i = sym[i].next)
            slot->ids[k++] = sym[i].id;
    }
}

void tok_bpe_work_free(tok_work *w)
{
    ls_free(w->cache);
    w->cache = NULL;
}
