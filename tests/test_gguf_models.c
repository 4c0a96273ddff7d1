/* test_gguf_models.c — the GGUF reader on the real files in ../shared/models.
 *
 * 1. Every .gguf file in models/ opens and passes the fuzz target's invariant walk
 *    (every key re-found, every getter consistent, every tensor inside the file).
 * 2. Spot checks against values read with an independent parser (a 40-line
 *    Python script during development): shapes, offsets, types, counts, tokens.
 * 3. Each model's metadata copied with gguf_writer_copy_kv() into a small
 *    file (same tensor names and types, tiny shapes) reads back identical,
 *    key by key and byte by byte — the quantizer's way of carrying metadata.
 * 4. Truncation: every prefix of stories260K's header region (and samples
 *    after it, and in two more files) fails cleanly with a message naming the
 *    file, exactly when a byte the file needs is missing.
 * 5. Bit flips: one flipped bit at every header byte of stories260K (and at
 *    sampled bytes of two larger files) either opens cleanly or fails with a
 *    message, never crashes (CI runs this under ASan + UBSan).
 * 6. Allocation failure injected at every allocation of gguf_open().
 * Exits 77 (skipped) without ../shared. With LOCALSEEK_GGUF_SEED_DIR set it
 * also writes a trimmed copy of each model there as a fuzzing seed.
 */
#include <dirent.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "../fuzz/fuzz_gguf.c" /* LLVMFuzzerTestOneInput: the invariant walk */
#include "base/alloc.h"
#include "base/platform.h"
#include "check.h"
#include "gguf/gguf_write.h"

static char models[512];
static char tmp_dir[64];

static gguf_file *open_model(const char *name)
{
    char path[768];
    snprintf(path, sizeof path, "%s/%s", models, name);
    gguf_file *f = NULL;
    ls_status s = gguf_open(path, &f);
    CHECK(s == LS_OK, "open %s: %s", path, ls_error_msg());
    return f;
}

static uint32_t get_u32(const gguf_file *f, const char *key)
{
    uint32_t v = 0xdeadbeef;
    CHECK(gguf_get_u32(f, key, &v) == LS_OK, "%s: %s", key, ls_error_msg());
    return v;
}

static bool str_is(const gguf_file *f, const char *key, const char *want)
{
    gguf_str s;
    return gguf_get_str(f, key, &s) == LS_OK && gguf_str_eq(s, want);
}

static bool token_is(const gguf_file *f, uint64_t i, const char *want)
{
    gguf_str s;
    return gguf_get_arr_str(f, "tokenizer.ggml.tokens", i, &s) == LS_OK && gguf_str_eq(s, want);
}

static void check_tensor(const gguf_file *f, const char *name, dtype type, int64_t ne0, int64_t ne1, uint64_t offset)
{
    const gguf_tensor *t = gguf_find_tensor(f, name);
    CHECK(t != NULL, "tensor %s exists", name);
    if (!t)
        return;
    CHECK(t->type == type && t->ne[0] == ne0 && t->ne[1] == ne1 && t->offset == offset,
          "%s: type %s ne [%lld, %lld] offset %llu", name, dtype_name(t->type), (long long)t->ne[0],
          (long long)t->ne[1], (unsigned long long)t->offset);
}

/* ======================================================================== */
/* 2. Spot checks                                                            */
/* ======================================================================== */

static void spot_checks(void)
{
    gguf_file *f = open_model("golden-qwen2-f16.gguf");
    if (f) {
        CHECK(str_is(f, "general.architecture", "qwen2"), "qwen2 arch");
        CHECK(gguf_n_kv(f) == 23 && gguf_n_tensors(f) == 27, "qwen2: 23 keys, 27 tensors");
        CHECK(get_u32(f, "qwen2.embedding_length") == 512, "embedding_length");
        CHECK(get_u32(f, "qwen2.block_count") == 2, "block_count");
        CHECK(get_u32(f, "qwen2.feed_forward_length") == 1536, "feed_forward_length");
        CHECK(get_u32(f, "qwen2.attention.head_count") == 4, "head_count");
        CHECK(get_u32(f, "qwen2.attention.head_count_kv") == 2, "head_count_kv");
        CHECK(get_u32(f, "qwen2.context_length") == 4096, "context_length");
        CHECK(get_u32(f, "tokenizer.ggml.bos_token_id") == 4003, "bos");
        float eps = 0, base = 0;
        CHECK(gguf_get_f32(f, "qwen2.attention.layer_norm_rms_epsilon", &eps) == LS_OK && eps == 1e-6f, "eps");
        CHECK(gguf_get_f32(f, "qwen2.rope.freq_base", &base) == LS_OK && base == 10000.0f, "rope base");
        bool add_bos = false;
        CHECK(gguf_get_bool(f, "tokenizer.ggml.add_bos_token", &add_bos) == LS_OK && add_bos, "add_bos_token");
        CHECK(str_is(f, "tokenizer.ggml.model", "gpt2") && str_is(f, "tokenizer.ggml.pre", "deepseek-r1-qwen"),
              "tokenizer kind");
        gguf_type et;
        uint64_t n = 0;
        CHECK(gguf_get_arr_info(f, "tokenizer.ggml.tokens", &et, &n) == LS_OK && et == GGUF_TYPE_STRING && n == 4096,
              "4096 tokens");
        CHECK(token_is(f, 0, "!") && token_is(f, 4095, "[PAD4095]"), "first and last token");
        gguf_str m;
        CHECK(gguf_get_arr_str(f, "tokenizer.ggml.merges", 0, &m) == LS_OK && gguf_str_eq(m, "\xc4\xa0 \xc4\xa0"),
              "first merge");
        CHECK(gguf_get_arr_info(f, "tokenizer.ggml.merges", &et, &n) == LS_OK && n == 3744, "3744 merges");
        check_tensor(f, "token_embd.weight", DT_F16, 512, 4096, 0);
        check_tensor(f, "blk.0.attn_norm.weight", DT_F32, 512, 1, 4194304);
        check_tensor(f, "blk.0.attn_q.weight", DT_F16, 512, 512, 4196352);
        check_tensor(f, "output.weight", DT_F16, 512, 4096, 16795648);
        const gguf_tensor *t = gguf_find_tensor(f, "output.weight");
        CHECK(t && gguf_data_offset(f) + t->offset + t->size_bytes == gguf_file_size(f), "output.weight ends the file");
        CHECK(t && gguf_find_tensor(f, "token_embd.weight")->n_dims == 2 && t->size_bytes == 512 * 4096 * 2,
              "F16 sizes");
        gguf_close(f);
    }

    f = open_model("stories260K.gguf");
    if (f) {
        CHECK(str_is(f, "tokenizer.ggml.model", "llama") && str_is(f, "general.architecture", "llama"),
              "stories tokenizer llama");
        CHECK(gguf_n_tensors(f) == 48 && gguf_n_kv(f) == 19, "stories: 48 tensors, 19 keys");
        int n_f32 = 0;
        for (int64_t i = 0; i < gguf_n_tensors(f); i++)
            n_f32 += gguf_tensor_at(f, i)->type == DT_F32;
        CHECK(n_f32 == 48, "48 F32 tensors (%d)", n_f32);
        CHECK(token_is(f, 0, "<unk>") && token_is(f, 1, "<s>") && token_is(f, 3, "<0x00>"), "sentencepiece tokens");
        const void *p;
        uint64_t n;
        CHECK(gguf_get_arr_data(f, "tokenizer.ggml.scores", GGUF_TYPE_F32, &p, &n) == LS_OK && n == 512, "scores");
        CHECK(get_u32(f, "llama.block_count") == 5 && get_u32(f, "llama.rope.dimension_count") == 8, "stories dims");
        CHECK(get_u32(f, "tokenizer.ggml.seperator_token_id") == 4294967295u, "u32 max");
        int32_t i32;
        CHECK(gguf_get_i32(f, "tokenizer.ggml.seperator_token_id", &i32) == LS_ERR_FORMAT, "u32 max is not an i32");
        check_tensor(f, "token_embd.weight", DT_F32, 64, 512, 0);
        check_tensor(f, "blk.4.ffn_norm.weight", DT_F32, 64, 1, 1170944);
        CHECK(gguf_data_offset(f) == 14176, "data section at 14176 (%zu)", gguf_data_offset(f));
        gguf_close(f);
    }

    f = open_model("vocab-deepseek-r1-qwen.gguf");
    if (f) {
        gguf_type et;
        uint64_t n = 0;
        CHECK(gguf_n_tensors(f) == 0, "vocab-only: no tensors");
        CHECK(gguf_get_arr_info(f, "tokenizer.ggml.tokens", &et, &n) == LS_OK && n == 151936,
              "151936 token rows (151665 real, padded): %llu", (unsigned long long)n);
        CHECK(token_is(f, 151643, "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"), "eos token");
        CHECK(token_is(f, 151646, "<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"),
              "bos token");
        CHECK(token_is(f, 151935, "[PAD151935]"), "last row");
        CHECK(get_u32(f, "tokenizer.ggml.bos_token_id") == 151646, "bos id");
        const void *p;
        CHECK(gguf_get_arr_data(f, "tokenizer.ggml.token_type", GGUF_TYPE_I32, &p, &n) == LS_OK && n == 151936,
              "token types");
        int32_t tt = 0;
        if (n == 151936)
            memcpy(&tt, (const uint8_t *)p + 4 * 151643, 4);
        CHECK(tt == 3, "eos is a control token (%d)", tt);
        gguf_close(f);
    }

    f = open_model("vocab-llama3.gguf");
    if (f) {
        gguf_type et;
        uint64_t n = 0;
        CHECK(str_is(f, "tokenizer.ggml.pre", "llama-bpe"), "llama-bpe");
        CHECK(get_u32(f, "tokenizer.ggml.bos_token_id") == 128000, "llama3 bos");
        CHECK(gguf_get_arr_info(f, "tokenizer.ggml.merges", &et, &n) == LS_OK && n == 280147, "280147 merges");
        gguf_close(f);
    }

    f = open_model("golden-llama-q4_k_m.gguf");
    if (f) {
        check_tensor(f, "output_norm.weight", DT_F32, 256, 1, 0);
        check_tensor(f, "token_embd.weight", DT_Q6_K, 256, 4096, 1024);
        check_tensor(f, "blk.0.attn_k.weight", DT_Q4_K, 256, 64, 861184);
        check_tensor(f, "blk.1.attn_v.weight", DT_Q6_K, 256, 64, 1371136);
        CHECK(gguf_find_tensor(f, "output.weight") == NULL, "tied embeddings: no output.weight");
        gguf_close(f);
    }
}

/* ======================================================================== */
/* 1 + 3. Every model: invariant walk, metadata copy                         */
/* ======================================================================== */

/* Copies all of f's metadata (arrays cut to max_arr elements if max_arr > 0)
 * and tiny tensors of the same names and types into path. */
static ls_status write_mini(const gguf_file *f, const char *path, uint64_t max_arr)
{
    gguf_writer *w;
    ls_status s = gguf_writer_create(&w);
    for (int64_t i = 0; !s && i < gguf_n_kv(f); i++) {
        gguf_str k = gguf_key_name(f, i);
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)k.len, k.ptr);
        uint64_t n = gguf_kv_arr_n(f, i);
        if (max_arr == 0 || gguf_kv_type(f, i) != GGUF_TYPE_ARRAY || n <= max_arr) {
            s = gguf_writer_copy_kv(w, f, i);
        } else if (gguf_kv_arr_type(f, i) == GGUF_TYPE_STRING) {
            char *strs[64];
            for (uint64_t j = 0; j < max_arr; j++) {
                gguf_str e;
                gguf_get_arr_str(f, key, j, &e);
                strs[j] = ls_strndup(e.ptr, (size_t)e.len);
            }
            s = gguf_writer_set_arr_str(w, key, (const char *const *)strs, max_arr);
            for (uint64_t j = 0; j < max_arr; j++)
                ls_free(strs[j]);
        } else {
            const void *p;
            gguf_type et = gguf_kv_arr_type(f, i);
            gguf_get_arr_data(f, key, et, &p, &n);
            s = gguf_writer_set_arr(w, key, et, p, max_arr);
        }
    }
    for (int64_t i = 0; !s && i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
        int64_t ne[4] = { dtype_get(t->type)->block_elems, t->n_dims > 1 ? 2 : 1, 1, 1 };
        s = gguf_writer_add_tensor(w, name, t->type, t->n_dims, ne);
    }
    if (!s)
        s = gguf_writer_begin(w, path);
    static uint8_t zero[4096];
    for (int64_t i = 0; !s && i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        size_t n = dtype_row_bytes(t->type, dtype_get(t->type)->block_elems) * (t->n_dims > 1 ? 2 : 1);
        s = gguf_writer_write_data(w, n <= (size_t)t->size_bytes ? t->data : zero, n);
    }
    if (!s)
        s = gguf_writer_finish(w);
    gguf_writer_free(w);
    return s;
}

static void check_model(const char *name)
{
    char path[768];
    snprintf(path, sizeof path, "%s/%s", models, name);
    plat_map m;
    CHECK(plat_map_file(path, &m) == LS_OK, "map %s", path);
    LLVMFuzzerTestOneInput(m.data, m.size_bytes); /* aborts on a broken invariant */
    gguf_file *f = NULL;
    CHECK(gguf_open_memory(m.data, m.size_bytes, name, &f) == LS_OK, "%s opens: %s", name, ls_error_msg());
    if (!f) {
        plat_unmap(&m);
        return;
    }

    char mini[128];
    snprintf(mini, sizeof mini, "%s/mini.gguf", tmp_dir);
    CHECK(write_mini(f, mini, 0) == LS_OK, "%s: copy metadata: %s", name, ls_error_msg());
    gguf_file *g = NULL;
    CHECK(gguf_open(mini, &g) == LS_OK, "%s: copy opens: %s", name, ls_error_msg());
    if (g) {
        CHECK(gguf_n_kv(g) == gguf_n_kv(f) && gguf_n_tensors(g) == gguf_n_tensors(f), "%s: copy counts", name);
        int n_same = 0;
        for (int64_t i = 0; i < gguf_n_kv(f) && i < gguf_n_kv(g); i++) {
            const void *a, *b;
            size_t na, nb;
            gguf_kv_raw(f, i, &a, &na);
            gguf_kv_raw(g, i, &b, &nb);
            gguf_str ka = gguf_key_name(f, i), kb = gguf_key_name(g, i);
            n_same += ka.len == kb.len && memcmp(ka.ptr, kb.ptr, (size_t)ka.len) == 0 &&
                      gguf_kv_type(f, i) == gguf_kv_type(g, i) && na == nb && memcmp(a, b, na) == 0;
        }
        CHECK(n_same == gguf_n_kv(f), "%s: %d of %lld keys copied byte for byte", name, n_same,
              (long long)gguf_n_kv(f));
        for (int64_t i = 0; i < gguf_n_tensors(f) && i < gguf_n_tensors(g); i++)
            CHECK(gguf_str_eq(gguf_tensor_at(g, i)->name, "") == false &&
                      gguf_tensor_at(g, i)->type == gguf_tensor_at(f, i)->type,
                  "%s: tensor %lld type", name, (long long)i);
        gguf_close(g);
    }
    unlink(mini);

    const char *seeds = getenv("LOCALSEEK_GGUF_SEED_DIR");
    if (seeds && *seeds) {
        char seed[768];
        snprintf(seed, sizeof seed, "%s/seed-%s", seeds, name);
        CHECK(write_mini(f, seed, 24) == LS_OK, "seed %s: %s", seed, ls_error_msg());
    }
    gguf_close(f);
    plat_unmap(&m);
}

/* ======================================================================== */
/* 4 + 5. Truncation and bit flips                                           */
/* ======================================================================== */

/* Bytes a file needs: the end of its last tensor or of its metadata. */
static size_t needed_bytes(const gguf_file *f, const uint8_t *base)
{
    size_t end = 0;
    for (int64_t i = 0; i < gguf_n_kv(f); i++) {
        const void *p;
        size_t n;
        gguf_kv_raw(f, i, &p, &n);
        size_t e = (size_t)((const uint8_t *)p - base) + n;
        if (e > end)
            end = e;
    }
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        size_t e = gguf_data_offset(f) + (size_t)t->offset + t->size_bytes;
        if (e > end)
            end = e;
    }
    return end;
}

/* Opens the first n bytes of data from an exact-size copy (so ASan sees over-reads). */
static ls_status open_prefix(const uint8_t *data, size_t n, const char *label, bool copy)
{
    uint8_t *buf = NULL;
    if (copy && n) {
        buf = ls_malloc(n);
        memcpy(buf, data, n);
    }
    gguf_file *f = NULL;
    ls_status s = gguf_open_memory(copy ? buf : data, n, label, &f);
    gguf_close(f);
    ls_free(buf);
    return s;
}

static void check_truncation(const char *name, size_t n_exhaustive, int n_sampled)
{
    char path[768];
    snprintf(path, sizeof path, "%s/%s", models, name);
    plat_map m;
    if (plat_map_file(path, &m) != LS_OK) {
        CHECK(0, "map %s", path);
        return;
    }
    gguf_file *f = NULL;
    CHECK(gguf_open_memory(m.data, m.size_bytes, name, &f) == LS_OK, "open %s", name);
    size_t need = f ? needed_bytes(f, m.data) : m.size_bytes;
    size_t header_end = f ? gguf_data_offset(f) : 0;
    if (header_end > m.size_bytes)
        header_end = m.size_bytes;
    gguf_close(f);

    int n_bad = 0, n_tried = 0, n_named = 0;
    size_t limit = n_exhaustive < header_end ? n_exhaustive : header_end;
    for (size_t n = 0; n < limit; n++) {
        ls_status s = open_prefix(m.data, n, name, true);
        n_tried++;
        n_bad += s != LS_ERR_FORMAT;
        n_named += strncmp(ls_error_msg(), name, strlen(name)) == 0;
    }
    /* sampled lengths across the rest of the file (no copy: the reader never touches tensor data) */
    for (int i = 0; i < n_sampled; i++) {
        size_t n = limit + (size_t)((double)(m.size_bytes - 1 - limit) * i / (n_sampled > 1 ? n_sampled - 1 : 1));
        ls_status s = open_prefix(m.data, n, name, n < header_end + 64);
        if (n >= need) { /* only padding is missing: the file is still whole */
            CHECK(s == LS_OK, "%s: %zu of %zu bytes (all it needs) must open: %s", name, n, m.size_bytes,
                  ls_error_msg());
            continue;
        }
        n_tried++;
        n_bad += s != LS_ERR_FORMAT;
        n_named += strncmp(ls_error_msg(), name, strlen(name)) == 0;
    }
    CHECK(n_bad == 0, "%s: %d of %d truncated copies did not fail with LS_ERR_FORMAT", name, n_bad, n_tried);
    CHECK(n_named == n_tried, "%s: %d of %d messages name the file", name, n_named, n_tried);
    CHECK(open_prefix(m.data, m.size_bytes, name, false) == LS_OK, "%s: the whole file opens", name);
    printf("truncation %s: %d prefixes refused cleanly (every length below %zu, then sampled)\n", name, n_tried,
           limit);
    plat_unmap(&m);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Flips one bit at each chosen header byte of an exact-size copy of the file. */
static void check_bit_flips(const char *name, int stride, int max_flips)
{
    char path[768];
    snprintf(path, sizeof path, "%s/%s", models, name);
    plat_map m;
    if (plat_map_file(path, &m) != LS_OK) {
        CHECK(0, "map %s", path);
        return;
    }
    gguf_file *f = NULL;
    gguf_open_memory(m.data, m.size_bytes, name, &f);
    size_t header_end = f ? gguf_data_offset(f) : 0;
    if (header_end > m.size_bytes)
        header_end = m.size_bytes;
    gguf_close(f);
    uint8_t *buf = ls_malloc(m.size_bytes);
    memcpy(buf, m.data, m.size_bytes);
    int n_ok = 0, n_err = 0, n_bad_msg = 0, n = 0;
    for (size_t pos = 0; pos < header_end && n < max_flips; n++) {
        uint8_t bit = (uint8_t)(1u << (rng() % 8));
        buf[pos] ^= bit;
        ls_status s = gguf_open_memory(buf, m.size_bytes, name, &f);
        if (s == LS_OK) {
            n_ok++;
            gguf_close(f);
            LLVMFuzzerTestOneInput(buf, m.size_bytes); /* aborts on a broken invariant */
        } else {
            n_err++;
            n_bad_msg += strncmp(ls_error_msg(), name, strlen(name)) != 0;
        }
        buf[pos] ^= bit;
        pos += stride > 0 ? (size_t)stride : 1 + rng() % (size_t)(-stride);
    }
    CHECK(n_bad_msg == 0, "%s: %d failures without a message naming the file", name, n_bad_msg);
    CHECK(n_err > 0, "%s: some flips must be detected", name);
    printf("bit flips %s: %d flips, %d still open (a value changed), %d refused with a message\n", name, n, n_ok,
           n_err);
    ls_free(buf);
    plat_unmap(&m);
}

/* ======================================================================== */
/* 6. Allocation failures                                                    */
/* ======================================================================== */

static void check_alloc_failures(const char *name)
{
    char path[768];
    snprintf(path, sizeof path, "%s/%s", models, name);
    long base = ls_alloc_live();
    int n_fail = 0;
    for (int k = 1; k < 10000; k++) {
        gguf_file *f = NULL;
        ls_alloc_fail_after(k);
        ls_status s = gguf_open(path, &f);
        ls_alloc_fail_after(0);
        if (s == LS_OK) {
            gguf_close(f);
            break;
        }
        n_fail++;
        CHECK(s == LS_ERR_NOMEM && f == NULL, "%s: allocation %d failing gave %s: %s", name, k, ls_status_str(s),
              ls_error_msg());
        CHECK(ls_alloc_live() == base, "%s: leak after allocation %d failed", name, k);
    }
    CHECK(n_fail >= 5, "%s: %d allocation points", name, n_fail);
    printf("allocation failures %s: %d handled\n", name, n_fail);
}

int main(void)
{
    const char *shared = check_shared_dir();
    snprintf(models, sizeof models, "%s/models", shared);
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/ls_test_gguf_models_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        printf("cannot create a temporary directory\n");
        return 1;
    }
    long base = ls_alloc_live();

    double tm = plat_now_s();
    DIR *d = opendir(models);
    CHECK(d != NULL, "open %s", models);
    int n_models = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".gguf") == 0) {
            check_model(e->d_name);
            n_models++;
        }
    }
    if (d)
        closedir(d);
    CHECK(n_models >= 13, "found %d models", n_models);
    printf("%d models open, pass the invariant walk and copy their metadata exactly (%.2f s)\n", n_models, plat_now_s() - tm);

    double t0 = plat_now_s();
    spot_checks();
    check_truncation("stories260K.gguf", 1 << 20, 300);
    check_truncation("golden-qwen2-q4_k_m.gguf", 2048, 200);
    check_truncation("vocab-llama3.gguf", 1024, 60);
    double t1 = plat_now_s();
    check_bit_flips("stories260K.gguf", 1, 1 << 20);
    double t2 = plat_now_s();
    check_bit_flips("golden-qwen2-q4_k_m.gguf", -120, 1000);
    double t3 = plat_now_s();
    check_bit_flips("vocab-deepseek-r1-qwen.gguf", -250000, 24);
    double t4 = plat_now_s();
    check_alloc_failures("stories260K.gguf");
    check_alloc_failures("vocab-deepseek-r1-qwen.gguf");
    printf("time: trunc %.2f flips %.2f %.2f %.2f alloc %.2f\n", t1 - t0, t2 - t1, t3 - t2, t4 - t3, plat_now_s() - t4);

    CHECK(ls_alloc_live() == base, "leaked %ld blocks", ls_alloc_live() - base);
    rmdir(tmp_dir);
    return check_done();
}
