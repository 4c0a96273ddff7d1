/* test_paths_forward.c — batched prefill equals token-by-token decode; three
 * sequences in one batch equal each alone; a full context is an error, not
 * corruption; bad token ids and bad batches are refused.
 *
 * Prefill (many tokens per matrix product, attention in chunks) and decode
 * (one token, attention grouped by key/value head) are different code paths
 * that must compute the same function. They differ in the order of float
 * additions (the prefill path sums attention over a whole chunk's key range,
 * later keys with weight zero), ~1e-7 relative per step, and, for quantized
 * weights and 16 or more tokens, in how activations are rounded: prefill
 * takes the wide path (16-bit integers, step max|block| / 16383), decode two
 * 8-bit levels (step ~max|block| / 32000) — two roundings of ~1/30000 of a
 * block's largest value. Through the random-weight golden models that grows
 * to ~2.5e-4 of the largest logit (measured: 0 up to 7 tokens; 64 and 513
 * tokens: 2.4e-4 of 10.2 for golden-qwen2-q4_k_m, 1.4e-4 of 85 for
 * golden-llama-q8_0). Bound: 4e-4 of the largest logit — 0.004 on logits of
 * 10, still 45 times below llama.cpp's error on these models
 * (shared/golden/README.md) and far below what a batching bug (a wrong
 * position, mask or chunk) produces. */
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "check.h"
#include "model/forward.h"
#include "model/model.h"
#include "tensor/kernels.h"

static double max_diff(const float *a, const float *b, size_t n)
{
    double d = 0.0;
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs((double)a[i] - b[i]));
    return d;
}

static void batch_vs_single(const char *path, const char *label)
{
    model *m = NULL;
    CHECK(model_load(path, &m) == LS_OK, "%s loads: %s", label, ls_error_msg());
    if (!m)
        return;
    const int lengths[] = { 1, 7, 64, 513 };
    int V = m->hp.n_vocab;
    uint64_t seed = 12345;
    for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
        int L = lengths[li];
        int32_t *toks = ls_malloc(sizeof(int32_t) * (size_t)L);
        for (int i = 0; i < L; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            toks[i] = (int32_t)((seed >> 33) % (uint64_t)V);
        }
        float *batched = ls_malloc(sizeof(float) * (size_t)L * V), *single = ls_malloc(sizeof(float) * (size_t)L * V);
        fwd_params p = fwd_default_params();
        p.n_ctx = 600;
        p.n_batch = 100; /* 513 tokens cross five chunk boundaries */
        fwd_runner *r = NULL;
        kv_cache *a = NULL, *b = NULL;
        CHECK(fwd_create(m, &p, NULL, &r) == LS_OK && kv_create(m, 600, &a) == LS_OK && kv_create(m, 600, &b) == LS_OK,
              "runner and caches");
        CHECK(fwd_eval_one(r, a, toks, L, batched, true) == LS_OK, "batched eval: %s", ls_error_msg());
        for (int i = 0; i < L; i++)
            fwd_eval_one(r, b, toks + i, 1, single + (size_t)i * V, false);
        double d = max_diff(batched, single, (size_t)L * V), scale = 0.0;
        for (size_t i = 0; i < (size_t)L * V; i++)
            scale = fmax(scale, fabs(batched[i]));
        printf("%s path=%s len=%d max|batched-single|=%.2e max|logit|=%.1f\n", label, kern_get()->name, L, d, scale);
        CHECK(d < 4e-4 * scale, "%s: prompt of %d tokens: batched and single-token logits differ by %.3e", label, L, d);
        CHECK(kv_n_past(a) == L && kv_n_past(b) == L, "positions counted");
        CHECK(memcmp(kv_tokens(a), toks, sizeof(int32_t) * (size_t)L) == 0, "the cache knows its tokens");

        /* Re-use a prefix: rewind to half and redo the rest — same logits. */
        if (L > 2) {
            kv_rewind(a, L / 2);
            CHECK(kv_common_prefix(a, toks, L) == L / 2, "common prefix after the rewind");
            float *again = ls_malloc(sizeof(float) * (size_t)(L - L / 2) * V);
            CHECK(fwd_eval_one(r, a, toks + L / 2, L - L / 2, again, true) == LS_OK, "eval after rewind");
            double d2 = max_diff(again, batched + (size_t)(L / 2) * V, (size_t)(L - L / 2) * V);
            CHECK(d2 < 4e-4 * scale, "%s: rewind then re-evaluate differs by %.3e", label, d2);
            ls_free(again);
        }
        kv_free(a);
        kv_free(b);
        fwd_free(r);
        ls_free(batched);
        ls_free(single);
        ls_free(toks);
    }

    /* Context full: refused, nothing processed, the context still works. */
    fwd_params p = fwd_default_params();
    p.n_ctx = 32;
    fwd_runner *r = NULL;
    kv_cache *c = NULL;
    CHECK(fwd_create(m, &p, NULL, &r) == LS_OK && kv_create(m, 32, &c) == LS_OK, "small context");
    int32_t toks[40] = { 0 };
    for (int i = 0; i < 40; i++)
        toks[i] = i + 10;
    float *lg = ls_malloc(sizeof(float) * (size_t)V);
    CHECK(fwd_eval_one(r, c, toks, 30, lg, false) == LS_OK, "30 of 32 positions");
    ls_status s = fwd_eval_one(r, c, toks, 5, lg, false);
    CHECK(s == LS_ERR_LIMIT, "overflow refused (got %d)", (int)s);
    CHECK(strstr(ls_error_msg(), "context is full") != NULL, "message: %s", ls_error_msg());
    CHECK(kv_n_past(c) == 30, "nothing processed on overflow");
    CHECK(fwd_eval_one(r, c, toks, 2, lg, false) == LS_OK, "the last two positions still work");
    int32_t bad = V;
    kv_rewind(c, 0);
    CHECK(fwd_eval_one(r, c, &bad, 1, lg, false) == LS_ERR_ARG, "token id outside the vocabulary refused");
    kv_cache *big = NULL;
    CHECK(kv_create(m, 64, &big) == LS_OK, "a 64-position cache");
    CHECK(fwd_eval_one(r, big, toks, 1, lg, false) == LS_ERR_ARG, "a cache longer than the runner serves refused");
    kv_free(big);
    ls_free(lg);
    kv_free(c);
    fwd_free(r);
    model_free(m);
}

/* Three sequences in one batch give the logits each gives alone: first
 * three prompts of different lengths read together (5, 23 and 1 tokens in
 * chunks of 16, so one prompt spans two chunks and the first chunk takes the
 * wide path where alone some do not: the bound of the header applies), then,
 * from caches filled alike, decode steps of one token each, where every row
 * takes the same kernels as alone and the logits must be identical. A bad
 * batch is refused whole. */
static void three_sequences(const char *path, const char *label)
{
    model *m = NULL;
    CHECK(model_load(path, &m) == LS_OK, "%s loads: %s", label, ls_error_msg());
    if (!m)
        return;
    int V = m->hp.n_vocab;
    enum { N = 3, STEPS = 4 };
    const int len[N] = { 5, 23, 1 };
    fwd_params p = fwd_default_params();
    p.n_ctx = 64;
    p.n_batch = 16;
    p.n_seq_max = 4;
    fwd_runner *r = NULL;
    CHECK(fwd_create(m, &p, NULL, &r) == LS_OK, "runner: %s", ls_error_msg());
    kv_cache *together[N] = { 0 }, *alone[N] = { 0 };
    int32_t toks[N][32];
    uint64_t seed = 777;
    for (int s = 0; s < N; s++) {
        CHECK(kv_create(m, 64, &together[s]) == LS_OK && kv_create(m, 64, &alone[s]) == LS_OK, "caches");
        for (int i = 0; i < 32; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            toks[s][i] = (int32_t)((seed >> 33) % (uint64_t)V);
        }
    }
    /* sequence 1 asks for every position's logits, the others for the last */
    float *lt = ls_malloc(sizeof(float) * (size_t)(2 + 23) * V), *la = ls_malloc(sizeof(float) * (size_t)(2 + 23) * V);
    float *out_t[N] = { lt, lt + (size_t)V, lt + (size_t)24 * V }, *out_a[N] = { la, la + (size_t)V, la + (size_t)24 * V };
    fwd_seq batch[N];
    for (int s = 0; s < N; s++)
        batch[s] = (fwd_seq){ together[s], toks[s], len[s], out_t[s], s == 1 };
    CHECK(fwd_eval(r, batch, N) == LS_OK, "%s: three prompts in one batch: %s", label, ls_error_msg());
    for (int s = 0; s < N; s++)
        CHECK(fwd_eval_one(r, alone[s], toks[s], len[s], out_a[s], s == 1) == LS_OK, "alone");
    double scale = 0.0;
    for (size_t i = 0; i < (size_t)25 * V; i++)
        scale = fmax(scale, fabs(la[i]));
    double d = max_diff(lt, la, (size_t)25 * V);
    printf("%s path=%s three prompts (5, 23, 1 tokens) together vs alone: max diff %.2e of max|logit| %.1f\n", label,
           kern_get()->name, d, scale);
    CHECK(d < 4e-4 * scale, "%s: prompts read together differ from alone by %.3e", label, d);

    /* Decode from caches filled the same way (each prompt read alone, so the
     * prompt's own rounding is the same on both sides). */
    for (int s = 0; s < N; s++) {
        kv_rewind(together[s], 0);
        kv_rewind(alone[s], 0);
        CHECK(fwd_eval_one(r, together[s], toks[s], len[s], NULL, false) == LS_OK &&
                  fwd_eval_one(r, alone[s], toks[s], len[s], NULL, false) == LS_OK,
              "prompts read alone");
    }
    double d_dec = 0.0;
    for (int step = 0; step < STEPS; step++) {
        for (int s = 0; s < N; s++)
            batch[s] = (fwd_seq){ together[s], &toks[s][len[s] + step], 1, out_t[s], false };
        CHECK(fwd_eval(r, batch, N) == LS_OK, "decode step %d together: %s", step, ls_error_msg());
        for (int s = 0; s < N; s++) {
            CHECK(fwd_eval_one(r, alone[s], &toks[s][len[s] + step], 1, out_a[s], false) == LS_OK, "alone");
            d_dec = fmax(d_dec, max_diff(out_t[s], out_a[s], (size_t)V));
        }
    }
    printf("%s path=%s %d decode steps of three sequences together vs alone: max diff %.2e\n", label,
           kern_get()->name, STEPS, d_dec);
    CHECK(d_dec == 0.0, "%s: decode beside others differs from alone by %.3e", label, d_dec);
    for (int s = 0; s < N; s++)
        CHECK(kv_n_past(together[s]) == len[s] + STEPS &&
                  memcmp(kv_tokens(together[s]), toks[s], sizeof(int32_t) * (size_t)(len[s] + STEPS)) == 0,
              "sequence %d holds its own tokens", s);

    /* refused whole: a cache twice, too many sequences, one that overflows */
    int n_before = kv_n_past(together[0]);
    fwd_seq twice[2] = { { together[0], toks[0], 1, NULL, false }, { together[0], toks[0], 1, NULL, false } };
    CHECK(fwd_eval(r, twice, 2) == LS_ERR_ARG, "the same cache twice is refused");
    fwd_seq five[5];
    for (int s = 0; s < 5; s++)
        five[s] = (fwd_seq){ together[s % N], toks[0], 1, NULL, false };
    CHECK(fwd_eval(r, five, 5) == LS_ERR_ARG, "more than n_seq_max sequences refused");
    fwd_seq over[2] = { { together[0], toks[0], 1, NULL, false }, { together[1], toks[1], 60, NULL, false } };
    CHECK(fwd_eval(r, over, 2) == LS_ERR_LIMIT, "a sequence that would overflow refuses the batch");
    CHECK(kv_n_past(together[0]) == n_before, "nothing processed for the others either");

    for (int s = 0; s < N; s++) {
        kv_free(together[s]);
        kv_free(alone[s]);
    }
    ls_free(lt);
    ls_free(la);
    fwd_free(r);
    model_free(m);
}

int main(void)
{
    const char *shared = check_shared_dir();
    check_kernel_path(kern_get()->name);
    long live0 = ls_alloc_live();
    char path[512];
    snprintf(path, sizeof path, "%s/models/golden-qwen2-q4_k_m.gguf", shared);
    batch_vs_single(path, "golden-qwen2-q4_k_m");
    snprintf(path, sizeof path, "%s/models/golden-llama-q8_0.gguf", shared);
    batch_vs_single(path, "golden-llama-q8_0");
    three_sequences(path, "golden-llama-q8_0");
    snprintf(path, sizeof path, "%s/models/golden-qwen2-q4_k_m.gguf", shared);
    three_sequences(path, "golden-qwen2-q4_k_m");
    snprintf(path, sizeof path, "%s/models/golden-qwen3-q4_k_m.gguf", shared);
    three_sequences(path, "golden-qwen3-q4_k_m");
    CHECK(ls_alloc_live() == live0, "no leaks (%ld blocks)", ls_alloc_live() - live0);
    return check_done();
}
