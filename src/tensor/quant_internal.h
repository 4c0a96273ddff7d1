/* quant_internal.h — what quant.c and quant_k.c share; not for other modules.
 *
 * quant.c holds the dispatch, the float formats and the 32-element block
 * types; quant_k.c holds the 256-element K-quants. Both use the rounding
 * helpers and the two scale searches declared here.
 */
#ifndef LS_QUANT_INTERNAL_H
#define LS_QUANT_INTERNAL_H

#include <stdint.h>
#include <string.h>

/* Nearest integer, ties to even, for |v| < 2^22: adding 1.5 * 2^23 pushes
 * every fraction bit out of the float's mantissa, so the FPU's own
 * round-to-nearest-even does the rounding and the integer can be read from
 * the low mantissa bits. No libm call, no float->int conversion (so no
 * undefined behaviour even for garbage input), and it vectorizes. */
static inline int quant_nearest(float v)
{
    float y = v + 12582912.0f;
    int32_t i;
    memcpy(&i, &y, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* Nearest integer clamped to [lo, hi]; NaN gives lo. */
static inline int quant_round_clamp(float v, int lo, int hi)
{
    if (!(v > (float)lo))
        return lo;
    if (v > (float)hi)
        return hi;
    return quant_nearest(v);
}

enum {
    QUANT_FIT_MAX_N = 64, /* longest group the fits accept */
    /* Candidate scales a fit tries before refining. Measured on golden-qwen2's
     * weights: 7 come within 0.7 % of the error of an exhaustive sweep over
     * the same range (one that visits every distinct rounding) at under half
     * its cost. At 6 bits and more, 3 lose only 0.2 %. */
    QUANT_FIT_CANDIDATES = 7,
    QUANT_FIT_CANDIDATES_FINE = 3,
};

/* The same in float arithmetic, without branches: both comparisons compile
 * to min/max instructions (NaN becomes lo), and adding and subtracting
 * 1.5 * 2^23 rounds to the nearest whole number. This is the form the
 * searches' inner loops use: a mispredicted branch costs more than the
 * whole element. */
static inline float quant_round_clamp_f(float v, float lo, float hi)
{
    v = v > lo ? v : lo;
    v = v < hi ? v : hi;
    return (v + 12582912.0f) - 12582912.0f;
}

/* Symmetric fit: x[i] ~ d * L[i] with L in [-nmax, nmax-1] (the grid has one
 * more step on the negative side, where the largest |x| goes). Tries scales
 * that put the largest |x| between nmax - 1 and nmax + 1 steps from zero,
 * keeps the one whose least-squares d leaves the least error, then
 * alternates "best L for d" / "best d for L" until nothing improves. Minimizes sum w[i] (x[i] - d L[i])^2 (w NULL: all 1).
 * n_cand (>= 2) candidates are tried, evenly spaced over that range.
 * n even, <= QUANT_FIT_MAX_N. Returns d; L holds the integers (not offset).
 * All-zero input gives d = 0. */
float quant_fit_symmetric(const float *x, int n, int nmax, const float *w, int n_cand, int8_t *L);

/* Affine fit: x[i] ~ d * L[i] + m with L in [0, nmax], d >= 0. With
 * m_nonpositive the offset is kept <= 0 (the K-quants store it as
 * "- dmin * unsigned code"). Tries grids anchored at the minimum whose
 * scale puts the maximum between nmax + rlo and nmax + rhi steps up,
 * fitting d and m by least squares for each, then alternates as above. n <= QUANT_FIT_MAX_N. Returns d and sets *m. */
float quant_fit_affine(const float *x, int n, int nmax, const float *w, int m_nonpositive, float rlo, float rhi,
                       int n_cand, uint8_t *L, float *m);

/* K-quants (quant_k.c). n is a multiple of 256. */
void quant_dequantize_q4_k(const void *src, float *dst, int64_t n);
void quant_dequantize_q5_k(const void *src, float *dst, int64_t n);
void quant_dequantize_q6_k(const void *src, float *dst, int64_t n);
void quant_dequantize_q8_k(const void *src, float *dst, int64_t n);
void quant_quantize_q4_k(const float *src, void *dst, int64_t n);
void quant_quantize_q5_k(const float *src, void *dst, int64_t n);
void quant_quantize_q6_k(const float *src, void *dst, int64_t n);
void quant_quantize_q8_k(const float *src, void *dst, int64_t n);

#endif
