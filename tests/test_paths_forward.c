/* test_paths_forward.c — batched prefill equals token-by-token decode; a full
 * context is an error, not corruption; bad token ids are refused.
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
        fwd_ctx *a = NULL, *b = NULL;
        CHECK(fwd_create(m, &p, &a) == LS_OK && fwd_create(m, &p, &b) == LS_OK, "contexts");
        CHECK(fwd_eval(a, toks, L, batched, true) == LS_OK, "batched eval: %s", ls_error_msg());
        for (int i = 0; i < L; i++)
            fwd_eval(b, toks + i, 1, single + (size_t)i * V, false);
        double d = max_diff(batched, single, (size_t)L * V), scale = 0.0;
        for (size_t i = 0; i < (size_t)L * V; i++)
            scale = fmax(scale, fabs(batched[i]));
        printf("%s path=%s len=%d max|batched-single|=%.2e max|logit|=%.1f\n", label, kern_get()->name, L, d, scale);
        CHECK(d < 4e-4 * scale, "%s: prompt of %d tokens: batched and single-token logits differ by %.3e", label, L, d);
        CHECK(fwd_n_past(a) == L && fwd_n_past(b) == L, "positions counted");

        /* Re-use a prefix: rewind to half and redo the rest — same logits. */
        if (L > 2) {
            fwd_rewind(a, L / 2);
            float *again = ls_malloc(sizeof(float) * (size_t)(L - L / 2) * V);
            CHECK(fwd_eval(a, toks + L / 2, L - L / 2, again, true) == LS_OK, "eval after rewind");
            double d2 = max_diff(again, batched + (size_t)(L / 2) * V, (size_t)(L - L / 2) * V);
            CHECK(d2 < 4e-4 * scale, "%s: rewind then re-evaluate differs by %.3e", label, d2);
            ls_free(again);
        }
        fwd_free(a);
        fwd_free(b);
        ls_free(batched);
        ls_free(single);
        ls_free(toks);
    }

    /* Context full: refused, nothing processed, the context still works. */
    fwd_params p = fwd_default_params();
    p.n_ctx = 32;
    fwd_ctx *c = NULL;
    CHECK(fwd_create(m, &p, &c) == LS_OK, "small context");
    int32_t toks[40] = { 0 };
    for (int i = 0; i < 40; i++)
        toks[i] = i + 10;
    float *lg = ls_malloc(sizeof(float) * (size_t)V);
    CHECK(fwd_eval(c, toks, 30, lg, false) == LS_OK, "30 of 32 positions");
    ls_status s = fwd_eval(c, toks, 5, lg, false);
    CHECK(s == LS_ERR_LIMIT, "overflow refused (got %d)", (int)s);
    CHECK(strstr(ls_error_msg(), "context is full") != NULL, "message: %s", ls_error_msg());
    CHECK(fwd_n_past(c) == 30, "nothing processed on overflow");
    CHECK(fwd_eval(c, toks, 2, lg, false) == LS_OK, "the last two positions still work");
    int32_t bad = V;
    fwd_rewind(c, 0);
    CHECK(fwd_eval(c, &bad, 1, lg, false) == LS_ERR_ARG, "token id outside the vocabulary refused");
    ls_free(lg);
    fwd_free(c);
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
    CHECK(ls_alloc_live() == live0, "no leaks (%ld blocks)", ls_alloc_live() - live0);
    return check_done();
}
