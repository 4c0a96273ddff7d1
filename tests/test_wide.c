/* test_wide.c — the 16-bit ("wide") prefill path: activation rounding,
 * weight expansion, and the product on every kernel path.
 *
 * What a user would notice if these failed: wrong prompt logits on one CPU
 * but not another, or only for prompts long enough to take the wide path.
 *
 * Checks, for every integer weight type and shapes that are not multiples of
 * any tile or panel (padding included):
 *   - expansion is exact: the expanded integers times the block factors give
 *     back quant_dequantize_row's weights (to float rounding of the factors),
 *     and every path's expander writes the reference's bytes;
 *   - activation rounding: each value within half a step (max|block| / 16383
 *     / 2, plus the F32 rounding of x / step) of the float, the stored sums
 *     equal scale * sum of the integers;
 *   - every SIMD path equals the scalar product up to the order of the float
 *     additions: |diff| <= (4 * panels * 16 + 64) * 2u * S, S = sum|w * a|
 *     (each block adds two scaled terms; lanes are reduced at the end);
 *   - the scalar product against a double-precision dot product of the
 *     dequantized weights and the float activations: within the rounding of
 *     the activations, sum_i |w_i| * step_i / 2, plus the float summation;
 *   - the worst case of the overflow budget (Q6_K's largest integers times
 *     the largest activation integers everywhere) gives the exact result.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "check.h"
#include "tensor/kernels.h"
#include "tensor/quant.h"

static const dtype types[] = { DT_Q8_0, DT_Q4_0, DT_Q5_0, DT_Q4_1, DT_Q5_1, DT_Q4_K, DT_Q5_K, DT_Q6_K };
enum { N_TYPES = sizeof types / sizeof types[0] };
static const double U = 1.0 / 16777216.0;

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static double urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* Activations with an outlier now and then, as real ones have. */
static void fill_acts(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        double v = (urand() - 0.5) * 4.0;
        if (urand() < 0.01)
            v *= 40.0;
        x[i] = (float)v;
    }
}

static int block_of(int64_t i)
{
    return (int)(i / 32);
}

static const kern_wide_panel *panel_of(const void *row, int64_t i)
{
    return (const kern_wide_panel *)row + i / 512;
}

static int element(const void *row, int64_t i)
{
    const kern_wide_panel *p = panel_of(row, i);
    int lane = block_of(i) % KERN_WIDE_LANES, e = (int)(i % 32);
    return p->q[e / 2][lane][e % 2];
}

static void test_quantize(void)
{
    const int64_t sizes[] = { 32, 96, 512, 1536, 1568 };
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int64_t n = sizes[s];
        float *x = ls_malloc((size_t)n * sizeof(float));
        void *row = ls_malloc(kern_wide_row_bytes(n));
        fill_acts(x, n);
        x[5] = 0.0f;
        if (n >= 64)
            for (int j = 32; j < 64; j++)
                x[j] = 0.0f; /* an all-zero block */
        kern_wide_quantize(x, n, row);
        int bad_step = 0, bad_sum = 0, bad_pad = 0;
        for (int64_t b = 0; b < n / 32; b++) {
            const kern_wide_panel *p = panel_of(row, b * 32);
            int lane = (int)(b % KERN_WIDE_LANES);
            float amax = 0.0f;
            int32_t sum = 0;
            for (int j = 0; j < 32; j++)
                amax = fmaxf(amax, fabsf(x[b * 32 + j]));
            for (int j = 0; j < 32; j++) {
                int e = element(row, b * 32 + j);
                sum += e;
                double err = fabs((double)p->scale[lane] * e - x[b * 32 + j]);
                /* half a step, plus the F32 rounding of x / scale (relative 2^-24 of |e|) */
                double step = amax / 16383.0;
                if (abs(e) > 16383 || err > (0.5 + 4 * U * abs(e)) * step + 1e-30)
                    bad_step++;
            }
            if (p->sum[lane] != p->scale[lane] * (float)sum)
                bad_sum++;
        }
        int64_t padded = kern_wide_panels(n) * 512;
        for (int64_t i = n; i < padded; i++)
            if (element(row, i) != 0 || panel_of(row, i)->scale[block_of(i) % 16] != 0.0f)
                bad_pad++;
        CHECK(bad_step == 0, "n=%lld: %d values off by more than half a step", (long long)n, bad_step);
        CHECK(bad_sum == 0, "n=%lld: %d block sums differ", (long long)n, bad_sum);
        CHECK(bad_pad == 0, "n=%lld: %d padding values not zero", (long long)n, bad_pad);
        /* every path's rounder: the same bytes */
        void *row2 = ls_malloc(kern_wide_row_bytes(n));
        for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
            const kern_ops *ops = kern_get_isa((kern_isa)isa);
            if (!ops)
                continue;
            memset(row2, 0x5A, kern_wide_row_bytes(n));
            ops->wide_quantize(x, n, row2);
            CHECK(memcmp(row, row2, kern_wide_row_bytes(n)) == 0, "%s wide_quantize n=%lld: bytes differ from the "
                  "reference", ops->name, (long long)n);
        }
        ls_free(row2);
        ls_free(x);
        ls_free(row);
    }
}

static void test_expand(void)
{
    for (int ti = 0; ti < N_TYPES; ti++) {
        dtype t = types[ti];
        int64_t n = dtype_get(t)->block_elems == 256 ? 1280 : 800; /* padding in the last panel */
        size_t rb = dtype_row_bytes(t, n);
        void *w = ls_malloc(rb), *row = ls_malloc(kern_wide_row_bytes(n));
        float *deq = ls_malloc((size_t)n * sizeof(float));
        kern_fill_random_row(t, w, n, &rng);
        quant_dequantize_row(t, w, deq, n);
        kern_wide_expand(t, w, n, row);
        int bad = 0;
        double worst = 0.0;
        for (int64_t i = 0; i < n; i++) {
            const kern_wide_panel *p = panel_of(row, i);
            int lane = block_of(i) % 16;
            double back = (double)p->scale[lane] * element(row, i) + p->sum[lane];
            double err = fabs(back - deq[i]), tol = 4 * U * (fabs((double)p->scale[lane] * element(row, i)) +
                                                              fabs((double)p->sum[lane])) + 1e-30;
            if (err > tol)
                bad++;
            worst = fmax(worst, err / tol);
        }
        CHECK(bad == 0, "%s: %d of %lld expanded weights differ from the dequantized ones (worst %.2f x tol)",
              dtype_get(t)->name, bad, (long long)n, worst);
        /* every path's expander writes the same bytes as the reference */
        void *row2 = ls_malloc(kern_wide_row_bytes(n));
        for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
            const kern_ops *ops = kern_get_isa((kern_isa)isa);
            if (!ops)
                continue;
            memset(row2, 0xA5, kern_wide_row_bytes(n));
            ops->wide_expand(t, w, n, row2);
            CHECK(memcmp(row, row2, kern_wide_row_bytes(n)) == 0, "%s %s: expansion differs from the reference",
                  ops->name, dtype_get(t)->name);
        }
        ls_free(row2);
        ls_free(w);
        ls_free(row);
        ls_free(deq);
    }
}

static void test_products(void)
{
    const int shapes[][2] = { { 1, 1 }, { 5, 3 }, { 7, 9 }, { 17, 6 } };
    for (int ti = 0; ti < N_TYPES; ti++) {
        dtype t = types[ti];
        int64_t n = dtype_get(t)->block_elems == 256 ? 1792 : 1056;
        int64_t np = kern_wide_panels(n);
        size_t rb = dtype_row_bytes(t, n), wr = kern_wide_row_bytes(n);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            int rows = shapes[s][0], vecs = shapes[s][1];
            uint8_t *w = ls_malloc(rb * rows), *we = ls_malloc(wr * rows), *ae = ls_malloc(wr * vecs);
            float *x = ls_malloc((size_t)n * vecs * sizeof(float)), *deq = ls_malloc((size_t)n * sizeof(float));
            float *y_ref = ls_malloc((size_t)rows * vecs * sizeof(float));
            float *y = ls_malloc((size_t)rows * vecs * sizeof(float));
            for (int r = 0; r < rows; r++) {
                kern_fill_random_row(t, w + r * rb, n, &rng);
                kern_wide_expand(t, w + r * rb, n, we + r * wr);
            }
            fill_acts(x, n * vecs);
            for (int v = 0; v < vecs; v++)
                kern_wide_quantize(x + v * n, n, ae + v * wr);
            const kern_ops *scalar = kern_get_isa(KERN_SCALAR);
            scalar->gemm16(np, we, wr, rows, ae, wr, vecs, y_ref, rows);

            /* the scalar product against double precision on the float activations */
            int bad_exact = 0;
            for (int r = 0; r < rows; r++) {
                quant_dequantize_row(t, w + r * rb, deq, n);
                for (int v = 0; v < vecs; v++) {
                    const float *xv = x + v * n;
                    double exact = 0.0, S = 0.0, round = 0.0;
                    for (int64_t b = 0; b < n / 32; b++) {
                        float amax = 0.0f;
                        for (int j = 0; j < 32; j++)
                            amax = fmaxf(amax, fabsf(xv[b * 32 + j]));
                        for (int j = 0; j < 32; j++) {
                            double wi = deq[b * 32 + j];
                            exact += wi * xv[b * 32 + j];
                            S += fabs(wi * xv[b * 32 + j]);
                            round += fabs(wi) * 0.5 * amax / 16383.0;
                        }
                    }
                    double tol = round * (1 + 1e-4) + (4.0 * np * 16 + 64) * 2 * U * (S + round) + 1e-30;
                    if (fabs(y_ref[v * rows + r] - exact) > tol)
                        bad_exact++;
                }
            }
            CHECK(bad_exact == 0, "%s %dx%d: %d scalar results beyond the activation rounding bound",
                  dtype_get(t)->name, rows, vecs, bad_exact);

            for (int isa = KERN_AVX2; isa < KERN_ISA_COUNT; isa++) {
                const kern_ops *ops = kern_get_isa((kern_isa)isa);
                if (!ops)
                    continue;
                ops->gemm16(np, we, wr, rows, ae, wr, vecs, y, rows);
                int bad = 0;
                for (int r = 0; r < rows; r++) {
                    quant_dequantize_row(t, w + r * rb, deq, n);
                    for (int v = 0; v < vecs; v++) {
                        double S = 0.0;
                        for (int64_t i = 0; i < n; i++)
                            S += fabs((double)deq[i] * x[v * n + i]);
                        double tol = (4.0 * np * 16 + 64) * 2 * U * S * 1.01 + 1e-30;
                        if (fabs((double)y[v * rows + r] - y_ref[v * rows + r]) > tol)
                            bad++;
                    }
                }
                CHECK(bad == 0, "%s %s %dx%d: %d results differ from scalar", ops->name, dtype_get(t)->name,
                      rows, vecs, bad);
            }
            ls_free(w);
            ls_free(we);
            ls_free(ae);
            ls_free(x);
            ls_free(deq);
            ls_free(y_ref);
            ls_free(y);
        }
    }
}

/* Q6_K with every integer at its largest (scale -128, q6 = 0: -128 * -32 =
 * 4096) against activations that all round to 16383: a lane's sum is
 * 32 * 4096 * 16383, just under 2^31. */
static void test_overflow(void)
{
    int64_t n = 512;
    block_q6_k blk[2];
    memset(blk, 0, sizeof blk);
    for (int b = 0; b < 2; b++) {
        memset(blk[b].scales, 0x80, sizeof blk[b].scales); /* -128 */
        blk[b].d = f32_to_f16(1.0f);
    }
    uint8_t *we = ls_malloc(kern_wide_row_bytes(n)), *ae = ls_malloc(kern_wide_row_bytes(n));
    float *x = ls_malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++)
        x[i] = 16383.0f;
    kern_wide_expand(DT_Q6_K, blk, n, we);
    kern_wide_quantize(x, n, ae);
    CHECK(element(we, 0) == 4096 && element(ae, 0) == 16383, "worst-case integers %d, %d", element(we, 0),
          element(ae, 0));
    double exact = 4096.0 * 16383.0 * (double)n;
    for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
        const kern_ops *ops = kern_get_isa((kern_isa)isa);
        if (!ops)
            continue;
        float y = 0.0f;
        ops->gemm16(1, we, 0, 1, ae, 0, 1, &y, 1);
        CHECK(fabs(y - exact) <= 1e-6 * exact, "%s: worst case %.9g, exact %.9g", ops->name, y, exact);
    }
    ls_free(we);
    ls_free(ae);
    ls_free(x);
}

int main(void)
{
    long live0 = ls_alloc_live();
    test_quantize();
    test_expand();
    test_products();
    test_overflow();
    CHECK(ls_alloc_live() == live0, "leaked %ld blocks", ls_alloc_live() - live0);
    return check_done();
}
