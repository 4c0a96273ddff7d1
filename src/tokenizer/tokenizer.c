/* tokenizer.c — loading a tokenizer from GGUF, special tokens, and encoding.
 *
 * How it works.
 * Loading (tok_load -> tok_build). The GGUF arrays are read into a tok_spec
 * (views of the file's strings), validated, and copied into arenas owned by
 * the tokenizer (see tok_internal.h): the strings as stored, the strings the
 * encoder matches (byte-level tokens decoded to raw bytes), and the strings
 * the decoder prints. Two hash tables index them (normal tokens by encoder
 * string; all tokens by stored string), bpe.c builds the merge table, and the
 * special tokens (control, user-defined, unknown) go into a small byte trie.
 *
 * Encoding (tok_encode). Text is first cut at special tokens when the caller
 * asked for it (TOK_PARSE_SPECIAL): at each position the longest special
 * text starting there wins, the leftmost position first (Hugging Face's
 * "leftmost-longest" rule); a bit set of possible first bytes makes positions
 * that cannot start one cost a single test. tok_encode_spans() does the same
 * inside given byte ranges only (the template-written parts of a chat
 * prompt). Each stretch of ordinary text in between is then, for byte-level
 * BPE, normalized to NFC when the vocabulary asks for it, cut by the
 * pre-tokenizer, and each piece handed to bpe.c; for SentencePiece, escaped
 * (spaces -> "▁", a "▁" in front of the first stretch and of each stretch
 * after a special token, as llama.cpp does) and handed to spm.c. Ids are
 * written straight into the caller's array.
 */
#include "tokenizer/tokenizer.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/platform.h"
#include "tokenizer/tok_internal.h"
#include "tokenizer/unicode.h"

/* Known end-of-turn markers (control tokens that end a generation even when
 * the GGUF names another token as EOS). */
static const char *const eog_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>",
    "<|end_of_text|>", "<|EOT|>", "<\357\275\234end\342\226\201of\342\226\201sentence\357\275\234>", /* <｜end▁of▁sentence｜> */
};

/* ======================================================================== */
/* Building                                                                  */
/* ======================================================================== */


/* Inserts token `id` (its encoder string) with hash h; a string already
 * present keeps its first id. */
static void hash_insert(tok_tokenizer *t, int32_t id, uint64_t h)
{
    uint32_t tag = (uint32_t)(h >> 32);
    uint32_t off = t->text_off[id], n = t->text_off[id + 1] - off;
    for (uint32_t i = (uint32_t)h & t->vmask;; i = (i + 1) & t->vmask) {
        tok_vslot *e = &t->vhash[i];
        if (e->id < 0) {
            *e = (tok_vslot){ .tag = tag, .id = id, .off = off, .len = n };
            return;
        }
        if (e->tag == tag && e->len == n && memcmp(t->text + e->off, t->text + off, n) == 0)
            return;
    }
}

void *tok_alloc_table(size_t n_bytes)
{
    void *p = ls_calloc(1, n_bytes);
#ifdef MADV_POPULATE_WRITE
    /* A big table is fresh memory from the kernel, and touching it page by
     * page costs one page fault per 4 KiB (2,000 faults, ~4 ms, for the 8 MiB
     * merge table of Llama 3). Asking for all pages in one call halves that.
     * (Huge pages were tried: usually faster, but now and then the kernel
     * stops to compact memory for them, adding 20-30 ms.) A hint: failure
     * changes nothing. */
    enum { PAGE = 4096 };
    if (p && n_bytes >= 16 * PAGE) {
        uintptr_t a = ((uintptr_t)p + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
        uintptr_t b = ((uintptr_t)p + n_bytes) & ~(uintptr_t)(PAGE - 1);
        madvise((void *)a, b - a, MADV_POPULATE_WRITE);
    }
#endif
    return p;
}

static tok_vslot *new_table(uint32_t size)
{
    tok_vslot *tab = tok_alloc_table((size_t)size * sizeof *tab); /* zeroed; then marked empty */
    if (tab)
        for (uint32_t i = 0; i < size; i++)
            tab[i].id = -1;
    return tab;
}

static bool is_normal(uint8_t type)
{
    return type == TOK_TYPE_NORMAL || type == TOK_TYPE_UNDEFINED;
}

static bool is_special(uint8_t type)
{
    return type == TOK_TYPE_CONTROL || type == TOK_TYPE_USER_DEFINED || type == TOK_TYPE_UNKNOWN;
}

static ls_status trie_add(tok_tokenizer *t, const char *s, size_t n, int32_t id, int32_t *cap)
{
    int32_t node = 0;
    for (size_t k = 0; k < n; k++) {
        uint8_t b = (uint8_t)s[k];
        int32_t c = t->trie[node].child;
        while (c >= 0 && t->trie[c].byte != b)
            c = t->trie[c].sibling;
        if (c < 0) {
            if (t->n_trie == *cap) {
                int32_t nc = *cap * 2;
                tok_trie_node *p = ls_realloc(t->trie, (size_t)nc * sizeof *p);
                if (!p)
                    return ls_error(LS_ERR_NOMEM, "out of memory for the special-token table");
                t->trie = p;
                *cap = nc;
            }
            c = t->n_trie++;
            t->trie[c] = (tok_trie_node){ .child = -1, .sibling = t->trie[node].child, .token = -1, .byte = b };
            t->trie[node].child = c;
        }
        node = c;
    }
    if (t->trie[node].token < 0)
        t->trie[node].token = id; /* two specials with one text: the first id */
    return LS_OK;
}

/* Length of the longest special text at s[0..n) (0 if none), its id in *id. */
static size_t trie_match(const tok_tokenizer *t, const uint8_t *s, size_t n, int32_t *id)
{
    int32_t node = 0;
    size_t best = 0;
    for (size_t k = 0; k < n; k++) {
        int32_t c = t->trie[node].child;
        while (c >= 0 && t->trie[c].byte != s[k])
            c = t->trie[c].sibling;
        if (c < 0)
            break;
        node = c;
        if (t->trie[node].token >= 0) {
            best = k + 1;
            *id = t->trie[node].token;
        }
    }
    return best;
}

static ls_status check_id(const char *label, const char *what, int64_t v, int64_t n_vocab, int32_t *out)
{
    /* -1 and 0xFFFFFFFF both mean "none" in GGUF files written by llama.cpp. */
    if (v < 0 || v == UINT32_MAX) {
        *out = -1;
        return LS_OK;
    }
    if (v >= n_vocab)
        return ls_error(LS_ERR_FORMAT, "%s: tokenizer.ggml.%s is %" PRId64 ", expected an id below the %" PRId64
                        " tokens of the vocabulary", label, what, v, n_vocab);
    *out = (int32_t)v;
    return LS_OK;
}

/* Parses "<0xAB>" into 0xAB; -1 if it is not that form. */
static int parse_byte_token(const char *s, size_t n)
{
    if (n != 6 || s[0] != '<' || s[1] != '0' || s[2] != 'x' || s[5] != '>')
        return -1;
    int v = 0;
    for (int k = 3; k < 5; k++) {
        char c = s[k];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static ls_status build_strings(tok_tokenizer *t, const tok_spec *sp, const char *label)
{
    int64_t n = sp->tokens.n;
    uint64_t total = 0;
    tok_striter it = tok_striter_begin(&sp->tokens);
    for (int64_t i = 0; i < n; i++)
        total += tok_striter_next(&it).len;
    if (total >= UINT32_MAX)
        return ls_error(LS_ERR_FORMAT, "%s: tokenizer.ggml.tokens holds %" PRIu64 " bytes of text, expected under 4 GiB",
                        label, total);
    size_t nb = (size_t)total + 1;
    t->text = ls_malloc(nb);
    t->text_off = ls_malloc((size_t)(n + 1) * sizeof(uint32_t));
    if (!t->text || !t->text_off)
        return ls_error(LS_ERR_NOMEM, "%s: out of memory for %" PRId64 " tokens", label, n);
    if (t->model == TOK_MODEL_SPM) {
        t->piece = ls_malloc(nb);
        t->piece_off = ls_malloc((size_t)(n + 1) * sizeof(uint32_t));
        if (!t->piece || !t->piece_off)
            return ls_error(LS_ERR_NOMEM, "%s: out of memory for %" PRId64 " tokens", label, n);
    }
    uint32_t to = 0, po = 0;
    long n_raw = 0;
    it = tok_striter_begin(&sp->tokens);
    for (int64_t i = 0; i < n; i++) {
        gguf_str ts = tok_striter_next(&it);
        const char *s = ts.ptr;
        size_t len = (size_t)ts.len;
        t->text_off[i] = to;
        uint8_t type = t->type[i];
        if (t->model == TOK_MODEL_BPE && is_normal(type)) {
            long d = tok_bytelevel_decode(s, len, (uint8_t *)t->text + to);
            if (d < 0) {
                n_raw++; /* not in GPT-2's alphabet: keep the text as is */
                memcpy(t->text + to, s, len);
                d = (long)len;
            }
            to += (uint32_t)d;
        } else {
            if (len)
                memcpy(t->text + to, s, len);
            to += (uint32_t)len;
        }
        if (t->model == TOK_MODEL_SPM) {
            t->piece_off[i] = po;
            int byte = type == TOK_TYPE_BYTE ? parse_byte_token(s, len) : -1;
            if (byte >= 0) {
                t->piece[po++] = (char)byte;
            } else if (is_normal(type) || type == TOK_TYPE_USER_DEFINED) {
                for (size_t k = 0; k < len;) { /* "▁" (E2 96 81) -> ' ' */
                    if (k + 3 <= len && memcmp(s + k, "\xe2\x96\x81", 3) == 0) {
                        t->piece[po++] = ' ';
                        k += 3;
                    } else {
                        t->piece[po++] = s[k++];
                    }
                }
            } else {
                if (len)
                    memcpy(t->piece + po, s, len);
                po += (uint32_t)len;
            }
        }
    }
    t->text_off[n] = to;
    if (t->model == TOK_MODEL_SPM) {
        t->piece_off[n] = po;
    } else {
        t->piece = t->text;
        t->piece_off = t->text_off;
    }
    if (n_raw)
        log_warn("%s: %ld normal tokens are not in the byte-level alphabet; they are matched as raw text", label,
                 n_raw);
    for (int64_t i = 0; i < n; i++) {
        uint32_t l = t->piece_off[i + 1] - t->piece_off[i], m = t->text_off[i + 1] - t->text_off[i];
        if (l > t->max_piece_bytes)
            t->max_piece_bytes = l;
        if (m > t->max_text_bytes)
            t->max_text_bytes = m;
    }
    return LS_OK;
}

static void tok_free_fields(tok_tokenizer *t)
{
    if (t->piece != t->text) {
        ls_free(t->piece);
        ls_free(t->piece_off);
    }
    ls_free(t->type);
    ls_free(t->score);
    ls_free(t->text);
    ls_free(t->text_off);
    ls_free(t->vhash);
    ls_free(t->mhash);
    ls_free(t->trie);
}

void tok_free(tok_tokenizer *tok)
{
    if (!tok)
        return;
    tok_free_fields(tok);
    ls_free(tok);
}

static ls_status build(tok_tokenizer *t, const tok_spec *sp, const char *label)
{
    ls_status st;
    if (gguf_str_eq(sp->model, "gpt2")) {
        t->model = TOK_MODEL_BPE;
        t->model_name = "gpt2";
    } else if (gguf_str_eq(sp->model, "llama")) {
        t->model = TOK_MODEL_SPM;
        t->model_name = "llama";
    } else {
        return ls_error(LS_ERR_UNSUPPORTED,
                        "%s: tokenizer.ggml.model is \"%.*s\", which localseek does not support (expected \"gpt2\" "
                        "or \"llama\")", label, (int)(sp->model.len > 60 ? 60 : sp->model.len), sp->model.ptr);
    }
    if (t->model == TOK_MODEL_BPE) {
        if (!sp->pre.ptr)
            return ls_error(LS_ERR_FORMAT,
                            "%s: tokenizer.ggml.pre is missing; a gpt2 tokenizer needs it to name its "
                            "pre-tokenizer (e.g. \"qwen2\", \"llama-bpe\")", label);
        if (tok_pre_from_name(sp->pre.ptr, (size_t)sp->pre.len, &t->pre) != 0)
            return ls_error(LS_ERR_UNSUPPORTED,
                            "%s: tokenizer.ggml.pre is \"%.*s\", a pre-tokenizer localseek does not know "
                            "(supported: qwen2, deepseek-r1-qwen, llama-bpe, llama3, llama-v3)", label,
                            (int)(sp->pre.len > 60 ? 60 : sp->pre.len), sp->pre.ptr);
        t->nfc = t->pre == TOK_PRE_QWEN2;
        t->ignore_merges = t->pre == TOK_PRE_LLAMA3;
    } else {
        t->pre = TOK_PRE_NONE;
    }

    int64_t n = sp->tokens.n;
    if (n < 1 || n > (1 << 28))
        return ls_error(LS_ERR_FORMAT, "%s: tokenizer.ggml.tokens has %" PRId64 " entries, expected 1 to %d", label, n,
                        1 << 28);
    t->n_vocab = (int32_t)n;
    t->type = ls_malloc((size_t)n);
    t->score = ls_calloc((size_t)n, sizeof *t->score);
    if (!t->type || !t->score)
        return ls_error(LS_ERR_NOMEM, "%s: out of memory for %" PRId64 " tokens", label, n);
    for (int64_t i = 0; i < n; i++) {
        int32_t ty = sp->types ? sp->types[i] : TOK_TYPE_NORMAL;
        if (ty < TOK_TYPE_UNDEFINED || ty > TOK_TYPE_BYTE)
            return ls_error(LS_ERR_FORMAT, "%s: tokenizer.ggml.token_type[%" PRId64 "] is %d, expected 0 to 6", label,
                            i, ty);
        t->type[i] = (uint8_t)ty;
        if (sp->scores)
            t->score[i] = sp->scores[i];
    }
    double t_start = plat_now_s();
    if ((st = build_strings(t, sp, label)))
        return st;
    double t_strings = plat_now_s();

    /* Insert with the slot of a token AHEAD positions later prefetched
     * (its hash kept in a small ring): the table does not fit in the CPU
     * caches, and overlapping the misses makes this loop several times
     * faster. */
    uint32_t size = tok_table_size(n);
    t->vhash = new_table(size);
    if (!t->vhash)
        return ls_error(LS_ERR_NOMEM, "%s: out of memory for the vocabulary index", label);
    t->vmask = size - 1;
    enum { AHEAD = 16 };
    uint64_t ring[AHEAD];
    for (int32_t i = 0; i < t->n_vocab + AHEAD; i++) {
        int32_t k = i - AHEAD; /* its ring slot is about to be reused by i */
        if (k >= 0 && is_normal(t->type[k]) && t->text_off[k + 1] > t->text_off[k])
            hash_insert(t, k, ring[k % AHEAD]);
        if (i < t->n_vocab) {
            uint32_t o = t->text_off[i];
            uint64_t h = tok_hash_bytes(t->text + o, t->text_off[i + 1] - o);
            __builtin_prefetch(&t->vhash[(uint32_t)h & t->vmask]);
            ring[i % AHEAD] = h;
        }
    }

    if ((st = check_id(label, "bos_token_id", sp->bos, n, &t->bos)) ||
        (st = check_id(label, "eos_token_id", sp->eos, n, &t->eos)) ||
        (st = check_id(label, "eot_token_id", sp->eot, n, &t->eot)) ||
        (st = check_id(label, "eom_token_id", sp->eom, n, &t->eom)) ||
        (st = check_id(label, "unknown_token_id", sp->unk, n, &t->unk)) ||
        (st = check_id(label, "padding_token_id", sp->pad, n, &t->pad)))
        return st;
    t->add_bos = sp->add_bos >= 0 ? sp->add_bos != 0 : t->model == TOK_MODEL_SPM;
    t->add_space_prefix = t->model == TOK_MODEL_SPM && (sp->add_space_prefix < 0 || sp->add_space_prefix);

    for (int b = 0; b < 256; b++)
        t->byte_id[b] = -1;
    if (t->model == TOK_MODEL_BPE) {
        for (int b = 0; b < 256; b++) {
            uint8_t c = (uint8_t)b;
            t->byte_id[b] = tok_vocab_lookup(t, &c, 1);
        }
        double t_index = plat_now_s();
        if ((st = tok_bpe_build_merges(t, &sp->merges, label)))
            return st;
        log_debug("%s: token strings %.1f ms, vocabulary index %.1f ms, merge table %.1f ms", label,
                  (t_strings - t_start) * 1e3, (t_index - t_strings) * 1e3, (plat_now_s() - t_index) * 1e3);
    } else {
        for (int32_t i = t->n_vocab - 1; i >= 0; i--) { /* backwards: the first id wins */
            if (t->type[i] != TOK_TYPE_BYTE)
                continue;
            int b = parse_byte_token(t->text + t->text_off[i], t->text_off[i + 1] - t->text_off[i]);
            if (b >= 0)
                t->byte_id[b] = i;
        }
    }

    int32_t cap = 64;
    t->trie = ls_malloc((size_t)cap * sizeof *t->trie);
    if (!t->trie)
        return ls_error(LS_ERR_NOMEM, "%s: out of memory for the special-token table", label);
    t->trie[0] = (tok_trie_node){ .child = -1, .sibling = -1, .token = -1, .byte = 0 };
    t->n_trie = 1;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        uint32_t o = t->text_off[i], l = t->text_off[i + 1] - o; /* special texts are stored as is */
        if (!is_special(t->type[i]) || l == 0)
            continue;
        if ((st = trie_add(t, t->text + o, l, i, &cap)))
            return st;
        uint8_t b0 = (uint8_t)t->text[o];
        t->trie_first[b0 >> 3] |= (uint8_t)(1u << (b0 & 7));
    }

    int32_t cand[3] = { t->eos, t->eot, t->eom };
    for (int k = 0; k < 3; k++)
        if (cand[k] >= 0 && !tok_is_eog(t, cand[k]) && t->n_eog < TOK_MAX_EOG)
            t->eog[t->n_eog++] = cand[k];
    for (size_t k = 0; k < sizeof eog_texts / sizeof eog_texts[0]; k++) {
        int32_t id = tok_find(t, eog_texts[k], strlen(eog_texts[k]));
        if (id >= 0 && (t->type[id] == TOK_TYPE_CONTROL || t->type[id] == TOK_TYPE_USER_DEFINED) &&
            !tok_is_eog(t, id) && t->n_eog < TOK_MAX_EOG)
            t->eog[t->n_eog++] = id;
    }
    return LS_OK;
}

ls_status tok_build(const tok_spec *sp, const char *label, tok_tokenizer **out)
{
    *out = NULL;
    tok_uni_init();
    tok_tokenizer *t = ls_calloc(1, sizeof *t);
    if (!t)
        return ls_error(LS_ERR_NOMEM, "%s: out of memory for a tokenizer", label);
    t->bos = t->eos = t->eot = t->eom = t->unk = t->pad = -1;
    ls_status st = build(t, sp, label);
    if (st) {
        tok_free(t);
        return st;
    }
    *out = t;
    return LS_OK;
}

/* ======================================================================== */
/* Reading the GGUF keys                                                     */
/* ======================================================================== */

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--)
        v = (v << 8) | p[k];
    return v;
}

/* The string array `key` as a packed tok_strlist (n = 0 if absent and not
 * required). Walks it once to check every length against the value's bytes. */
static ls_status read_str_array(const gguf_file *f, const char *key, bool required, tok_strlist *out)
{
    memset(out, 0, sizeof *out);
    int64_t ki = gguf_find_key(f, key);
    if (ki < 0) {
        if (required)
            return ls_error(LS_ERR_FORMAT, "%s: %s is missing, expected an array of strings", gguf_path(f), key);
        return LS_OK;
    }
    gguf_type et;
    uint64_t n;
    ls_status st = gguf_get_arr_info(f, key, &et, &n);
    if (st)
        return st;
    if (et != GGUF_TYPE_STRING)
        return ls_error(LS_ERR_FORMAT, "%s: %s is an array of %s, expected an array of strings", gguf_path(f), key,
                        gguf_type_name(et));
    const void *raw;
    size_t raw_bytes;
    gguf_kv_raw(f, ki, &raw, &raw_bytes);
    /* Layout after the value type: u32 element type, u64 count, then each
     * string as u64 length + bytes (gguf.h). gguf_open() validated it; we
     * still bound every read by raw_bytes. */
    const uint8_t *p = raw, *end = p + raw_bytes;
    if (raw_bytes < 12 || n > raw_bytes / 8 || n > INT64_MAX)
        return ls_error(LS_ERR_FORMAT, "%s: %s is truncated", gguf_path(f), key);
    p += 12;
    out->packed = p;
    out->n = (int64_t)n;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t len = 0;
        if ((size_t)(end - p) < 8 || (len = rd64(p)) > (uint64_t)(end - p) - 8)
            return ls_error(LS_ERR_FORMAT, "%s: %s[%" PRIu64 "] runs past the end of its value", gguf_path(f), key, i);
        if (len > out->max_len)
            out->max_len = len;
        p += 8 + len;
    }
    return LS_OK;
}

static ls_status read_id(const gguf_file *f, const char *key, int64_t *out)
{
    *out = -1;
    ls_status st = gguf_get_i64(f, key, out);
    if (st == LS_ERR_NOT_FOUND) {
        *out = -1;
        return LS_OK;
    }
    if (st) {
        uint64_t u; /* a u64 above INT64_MAX: certainly out of range */
        if (gguf_get_u64(f, key, &u) == LS_OK) {
            *out = INT64_MAX;
            return LS_OK;
        }
    }
    return st;
}

static ls_status read_bool(const gguf_file *f, const char *key, int *out)
{
    bool b = false;
    ls_status st = gguf_get_bool(f, key, &b);
    *out = st == LS_OK ? b : -1;
    return st == LS_ERR_NOT_FOUND ? LS_OK : st; /* absent: the model's default */
}

ls_status tok_load(const gguf_file *f, tok_tokenizer **out)
{
    *out = NULL;
    double t0 = plat_now_s();
    const char *label = gguf_path(f);
    tok_spec sp;
    memset(&sp, 0, sizeof sp);
    int32_t *types = NULL;
    float *scores = NULL;
    ls_status st = gguf_get_str(f, "tokenizer.ggml.model", &sp.model);
    if (st == LS_ERR_NOT_FOUND)
        return ls_error(LS_ERR_FORMAT, "%s: tokenizer.ggml.model is missing: this file has no tokenizer", label);
    if (st)
        return st;
    st = gguf_get_str(f, "tokenizer.ggml.pre", &sp.pre);
    if (st == LS_ERR_NOT_FOUND) {
        sp.pre.ptr = NULL;
        st = LS_OK;
    }
    if (st)
        goto done;
    if ((st = read_str_array(f, "tokenizer.ggml.tokens", true, &sp.tokens)))
        goto done;

    gguf_type et;
    uint64_t n;
    if (gguf_find_key(f, "tokenizer.ggml.token_type") >= 0) {
        const void *data;
        if ((st = gguf_get_arr_info(f, "tokenizer.ggml.token_type", &et, &n)))
            goto done;
        if (et != GGUF_TYPE_I32 && et != GGUF_TYPE_U32) {
            st = ls_error(LS_ERR_FORMAT, "%s: tokenizer.ggml.token_type is an array of %s, expected i32", label,
                          gguf_type_name(et));
            goto done;
        }
        if (n != (uint64_t)sp.tokens.n) {
            st = ls_error(LS_ERR_FORMAT, "%s: tokenizer.ggml.token_type has %" PRIu64 " entries, expected one per "
                          "token (%" PRId64 ")", label, n, sp.tokens.n);
            goto done;
        }
        if ((st = gguf_get_arr_data(f, "tokenizer.ggml.token_type", et, &data, &n)))
            goto done;
        types = ls_malloc((size_t)(n ? n : 1) * sizeof *types);
        if (!types) {
            st = ls_error(LS_ERR_NOMEM, "%s: out of memory reading token types", label);
            goto done;
        }
        for (uint64_t i = 0; i < n; i++) {
            uint32_t v;
            memcpy(&v, (const uint8_t *)data + 4 * i, 4); /* little-endian host assumed, as in the model code */
            types[i] = et == GGUF_TYPE_U32 && v > INT32_MAX ? -1 : (int32_t)v;
        }
        sp.types = types;
    }
    if (gguf_find_key(f, "tokenizer.ggml.scores") >= 0) {
        const void *data;
        if ((st = gguf_get_arr_info(f, "tokenizer.ggml.scores", &et, &n)))
            goto done;
        if (et != GGUF_TYPE_F32 || n != (uint64_t)sp.tokens.n) {
            st = ls_error(LS_ERR_FORMAT, "%s: tokenizer.ggml.scores is an array of %" PRIu64 " %s, expected %" PRId64
                          " f32 (one per token)", label, n, gguf_type_name(et), sp.tokens.n);
            goto done;
        }
        if ((st = gguf_get_arr_data(f, "tokenizer.ggml.scores", et, &data, &n)))
            goto done;
        scores = ls_malloc((size_t)(n ? n : 1) * sizeof *scores);
        if (!scores) {
            st = ls_error(LS_ERR_NOMEM, "%s: out of memory reading token scores", label);
            goto done;
        }
        memcpy(scores, data, (size_t)n * sizeof *scores);
        sp.scores = scores;
    }
    bool is_bpe = gguf_str_eq(sp.model, "gpt2");
    if ((st = read_str_array(f, "tokenizer.ggml.merges", is_bpe, &sp.merges)))
        goto done;
    if ((st = read_id(f, "tokenizer.ggml.bos_token_id", &sp.bos)) ||
        (st = read_id(f, "tokenizer.ggml.eos_token_id", &sp.eos)) ||
        (st = read_id(f, "tokenizer.ggml.eot_token_id", &sp.eot)) ||
        (st = read_id(f, "tokenizer.ggml.eom_token_id", &sp.eom)) ||
        (st = read_id(f, "tokenizer.ggml.unknown_token_id", &sp.unk)) ||
        (st = read_id(f, "tokenizer.ggml.padding_token_id", &sp.pad)) ||
        (st = read_bool(f, "tokenizer.ggml.add_bos_token", &sp.add_bos)) ||
        (st = read_bool(f, "tokenizer.ggml.add_space_prefix", &sp.add_space_prefix)))
        goto done;
    st = tok_build(&sp, label, out);
    if (!st)
        log_info("%s: tokenizer %s/%s, %d tokens, %d merges, loaded in %.1f ms", label, (*out)->model_name,
                 tok_pre_kind_name((*out)->pre), (*out)->n_vocab, (*out)->n_merges, (plat_now_s() - t0) * 1e3);
done:
    ls_free(types);
    ls_free(scores);
    return st;
}

size_t tok_memory_bytes(const gguf_file *f)
{
    /* The token list: its count, and its text (the encoded array less the
     * element type, the count and one 8-byte length per string). */
    int64_t ki = gguf_find_key(f, "tokenizer.ggml.tokens");
    if (ki < 0 || gguf_kv_arr_type(f, ki) != GGUF_TYPE_STRING)
        return 0;
    size_t n = (size_t)gguf_kv_arr_n(f, ki), raw_bytes = 0;
    const void *raw;
    gguf_kv_raw(f, ki, &raw, &raw_bytes);
    size_t text = raw_bytes > 12 + 8 * n ? raw_bytes - 12 - 8 * n : 0;
    gguf_str model;
    bool spm = gguf_get_str(f, "tokenizer.ggml.model", &model) == LS_OK && gguf_str_eq(model, "llama");
    gguf_type et;
    uint64_t n_merges = 0;
    if (spm || gguf_get_arr_info(f, "tokenizer.ggml.merges", &et, &n_merges) != LS_OK)
        n_merges = 0;
    ls_error_clear(); /* an absent key is an answer here, not an error */

    /* What build() allocates, block by block (see tok_internal.h). */
    size_t bytes = sizeof(tok_tokenizer);
    bytes += n * (sizeof(uint8_t) + sizeof(float));            /* type, score */
    bytes += (text + 1) + (n + 1) * sizeof(uint32_t);           /* text arena, text_off */
    if (spm)
        bytes += (text + 1) + (n + 1) * sizeof(uint32_t);       /* piece arena, piece_off */
    bytes += (size_t)tok_table_size((int64_t)n) * sizeof(tok_vslot);
    if (n_merges)
        bytes += (size_t)tok_table_size((int64_t)n_merges) * sizeof(tok_mslot);
    bytes += 64 * sizeof(tok_trie_node); /* special-token trie: its first block; a few KiB at most beyond */
    return bytes;
}

ls_status tok_load_file(const char *path, tok_tokenizer **out)
{
    *out = NULL;
    gguf_file *f = NULL;
    double t0 = plat_now_s();
    ls_status st = gguf_open(path, &f);
    if (st)
        return st;
    log_debug("%s: opened in %.1f ms", path, (plat_now_s() - t0) * 1e3);
    st = tok_load(f, out);
    gguf_close(f);
    return st;
}

/* ======================================================================== */
/* Encoding                                                                  */
/* ======================================================================== */

bool tok_work_reserve(tok_work *w, void **p, size_t *cap_bytes, size_t need_bytes)
{
    if (need_bytes <= *cap_bytes)
        return true;
    if (w->status)
        return false;
    size_t c = *cap_bytes ? *cap_bytes : 1024;
    while (c < need_bytes)
        c *= 2;
    void *q = ls_realloc(*p, c);
    if (!q) {
        w->status = ls_error(LS_ERR_NOMEM, "out of memory tokenizing %zu bytes of text", w->text_len);
        return false;
    }
    *p = q;
    *cap_bytes = c;
    return true;
}

/* One stretch of ordinary text (no special tokens in it). `lead` asks for
 * SentencePiece's leading "▁". */
static void encode_text(tok_work *w, const uint8_t *s, size_t n, bool lead)
{
    const tok_tokenizer *t = w->tok;
    if (t->model == TOK_MODEL_BPE) {
        if (t->nfc && !tok_uni_nfc_quick(s, n)) {
            size_t nn = 0;
            if (tok_uni_nfc(s, n, &w->buf, &w->buf_cap, &nn, &w->cps, &w->cps_cap)) {
                w->status = ls_error(LS_ERR_NOMEM, "out of memory normalizing %zu bytes of text", n);
                return;
            }
            s = w->buf;
            n = nn;
        }
        for (size_t i = 0; i < n && !w->status;) {
            size_t e = tok_pretok_next(t->pre, s, n, i);
            tok_bpe_piece(w, s + i, e - i);
            i = e;
        }
        return;
    }
    /* SentencePiece: escape into w->buf (a space becomes 3 bytes). */
    size_t need = 3 * n + 3;
    void *b = w->buf;
    if (!tok_work_reserve(w, &b, &w->buf_cap, need))
        return;
    w->buf = b;
    size_t o = 0;
    if (lead && t->add_space_prefix) {
        memcpy(w->buf, "\xe2\x96\x81", 3);
        o = 3;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') {
            memcpy(w->buf + o, "\xe2\x96\x81", 3);
            o += 3;
        } else {
            w->buf[o++] = s[i];
        }
    }
    tok_spm_encode(w, w->buf, o);
}

/* The one encoder behind tok_encode() and tok_encode_spans(). Special
 * tokens are matched only inside `allowed` (sorted, not overlapping, checked
 * by the callers; n_allowed 0 = nowhere): at each position of a range, the
 * longest special text that does not run past the range's end. Ranges that
 * touch count as one, so a caller may cut its ranges anywhere. The ordinary
 * text between matches is encoded exactly as it would be without ranges:
 * ranges change which special tokens are recognised, nothing else. */
static ls_status encode(const tok_tokenizer *tok, const char *text, size_t len, const tok_span *allowed,
                        size_t n_allowed, unsigned flags, int32_t *out_ids, size_t cap, size_t *n_out)
{
    tok_work w;
    memset(&w, 0, sizeof w);
    w.tok = tok;
    w.out = out_ids;
    w.cap = cap;
    w.text_len = len;
    if ((flags & TOK_ADD_BOS) && tok->bos >= 0)
        tok_emit(&w, tok->bos);

    const uint8_t *s = (const uint8_t *)text;
    /* A sequence that starts with BOS continues nothing: TOK_ADD_BOS wins. */
    bool lead = !(flags & TOK_CONTINUE) || (flags & TOK_ADD_BOS);
    size_t start = 0; /* first byte not yet encoded */
    for (size_t k = 0; k < n_allowed && !w.status;) {
        /* [lo, hi): one range, or several that touch */
        size_t lo = allowed[k].offset, hi = lo + allowed[k].n_bytes;
        for (k++; k < n_allowed && allowed[k].offset == hi; k++)
            hi += allowed[k].n_bytes;
        for (size_t i = lo; i < hi && !w.status;) {
            if (!(tok->trie_first[s[i] >> 3] & (1u << (s[i] & 7)))) {
                i++;
                continue;
            }
            int32_t id = -1;
            size_t m = trie_match(tok, s + i, hi - i, &id);
            if (!m) {
                i++;
                continue;
            }
            if (i > start)
                encode_text(&w, s + start, i - start, lead);
            tok_emit(&w, id);
            lead = true; /* llama.cpp: text after a special token gets the "▁" again */
            i += m;
            start = i;
        }
    }
    if (start < len && !w.status)
        encode_text(&w, s + start, len - start, lead);

    tok_bpe_work_free(&w);
    ls_free(w.buf);
    ls_free(w.cps);
    ls_free(w.sym);
    ls_free(w.heap);
    if (w.status)
        return w.status;
    *n_out = w.n;
    if (w.n > cap)
        return ls_error(LS_ERR_LIMIT, "tok_encode: the text needs %zu tokens, the output array holds %zu", w.n, cap);
    return LS_OK;
}

static ls_status check_args(const char *fn, const tok_tokenizer *tok, const char *text, size_t len,
                            const int32_t *out_ids, size_t cap)
{
    if (!tok || (!text && len) || (!out_ids && cap))
        return ls_error(LS_ERR_ARG, "%s: NULL tokenizer, text or output array", fn);
    if (len > TOK_MAX_TEXT_BYTES) /* symbol positions are 32-bit; SentencePiece escaping triples spaces */
        return ls_error(LS_ERR_LIMIT, "%s: a text of %zu bytes is over the %d MiB limit of one call", fn, len,
                        TOK_MAX_TEXT_BYTES >> 20);
    return LS_OK;
}

ls_status tok_encode(const tok_tokenizer *tok, const char *text, size_t len, unsigned flags, int32_t *out_ids,
                     size_t cap, size_t *n_out)
{
    *n_out = 0;
    ls_status st = check_args("tok_encode", tok, text, len, out_ids, cap);
    if (st)
        return st;
    tok_span all = { 0, len };
    return encode(tok, text, len, &all, (flags & TOK_PARSE_SPECIAL) ? 1 : 0, flags, out_ids, cap, n_out);
}

ls_status tok_encode_spans(const tok_tokenizer *tok, const char *text, size_t len, const tok_span *allowed,
                           size_t n_allowed, unsigned flags, int32_t *out_ids, size_t cap, size_t *n_out)
{
    *n_out = 0;
    ls_status st = check_args("tok_encode_spans", tok, text, len, out_ids, cap);
    if (st)
        return st;
    if (!allowed && n_allowed)
        return ls_error(LS_ERR_ARG, "tok_encode_spans: NULL ranges");
    size_t end = 0;
    for (size_t k = 0; k < n_allowed; k++) {
        const tok_span *r = &allowed[k];
        if (r->offset < end || r->offset > len || r->n_bytes > len - r->offset)
            return ls_error(LS_ERR_ARG,
                            "tok_encode_spans: range %zu (%zu bytes at %zu) is out of order or outside the %zu-byte text",
                            k, r->n_bytes, r->offset, len);
        end = r->offset + r->n_bytes;
    }
    return encode(tok, text, len, allowed, n_allowed, flags, out_ids, cap, n_out);
}

/* ======================================================================== */
/* Accessors                                                                 */
/* ======================================================================== */

int32_t tok_n_vocab(const tok_tokenizer *tok) { return tok->n_vocab; }
int32_t tok_bos(const tok_tokenizer *tok) { return tok->bos; }
int32_t tok_eos(const tok_tokenizer *tok) { return tok->eos; }
bool tok_wants_bos(const tok_tokenizer *tok) { return tok->add_bos && tok->bos >= 0; }
const char *tok_model_name(const tok_tokenizer *tok) { return tok->model_name; }
const char *tok_pre_name(const tok_tokenizer *tok) { return tok_pre_kind_name(tok->pre); }

tok_type tok_token_type(const tok_tokenizer *tok, int32_t id)
{
    if (id < 0 || id >= tok->n_vocab)
        return TOK_TYPE_UNUSED;
    return (tok_type)tok->type[id];
}

bool tok_is_eog(const tok_tokenizer *tok, int32_t id)
{
    for (int k = 0; k < tok->n_eog; k++)
        if (tok->eog[k] == id)
            return true;
    return false;
}

int32_t tok_find(const tok_tokenizer *tok, const char *text, size_t len)
{
    int32_t id = -1;
    if (len && trie_match(tok, (const uint8_t *)text, len, &id) == len)
        return id;
    if (tok->model == TOK_MODEL_BPE && len <= 256) { /* "Ġworld" -> " world" */
        uint8_t raw[256];
        long n = tok_bytelevel_decode(text, len, raw);
        if (n > 0 && (id = tok_vocab_lookup(tok, raw, (size_t)n)) >= 0)
            return id;
    }
    if ((id = tok_vocab_lookup(tok, text, len)) >= 0)
        return id;
    int b = tok->model == TOK_MODEL_SPM ? parse_byte_token(text, len) : -1;
    return b >= 0 ? tok->byte_id[b] : -1;
}
