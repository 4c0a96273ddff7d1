/* quant_k.c — the K-quants: super-blocks of 256 weights with two levels of scales.
 *
 * A K-quant block stores, for each sub-block (8 of 32 weights, or for Q6_K
 * 16 of 16), its own small scale as a 6- or 8-bit integer, and one F16
 * "scale of the scales" for the whole block. So a weight costs
 * d * sc[j] * q (- dmin * m[j]) to decode: two multiplies, while the scale
 * overhead per weight stays tiny (Q4_K: 4.5 bits per weight).
 *
 * Quantizing is a search at both levels:
 *   1. each sub-block gets its best float scale (and minimum) with the
 *      least-squares searches of quant.c;
 *   2. the super-scale d is set so the largest sub-scale is code 63 (127 /
 *      -128 for Q6_K), each sub-scale is rounded to a code, and then each
 *      sub-block tries its neighbouring codes (one up, one down) and keeps
 *      whichever leaves the smallest error with its integers recomputed;
 *   3. with all integers and codes fixed, d (and dmin) are re-fitted by least
 *      squares over the whole block, rounded to F16, and the integers
 *      recomputed; the refit is kept only if it lowers the error.
 * The error minimized is the plain sum of squared differences, the
 * quantity the quality test measures.
 *
 * LIMITATION: quantizing values that are already on a K-quant grid does not
 * always find the same codes again (the refit in step 3 can leave the
 * largest code below 63, and step 2 assumes it is 63), so such values move
 * by a fraction of a step. The 32-element types do not have this problem.
 * LIMITATION: no importance weights (imatrix) yet; quant_fit_* accept them.
 */
#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "base/dtype.h"
#include "tensor/quant_internal.h"

/* ======================================================================== */
/* Dequantization                                                           */
/* ======================================================================== */

/* Q4_K: for each pair of sub-blocks (2c, 2c+1), 32 bytes of qs hold the
 * first in the low nibbles and the second in the high nibbles.
 * Q5_K: the same, with the fifth bit of weight l of sub-block j in bit j of
 * qh[l]. The two blocks start with the same d, dmin and scales, so one loop
 * serves both (qh_offset 0 for Q4_K). */
static void dequantize_q45_k(const uint8_t *blk, size_t block_bytes, size_t qs_offset, size_t qh_offset, float *y,
                             int64_t n)
{
    for (int64_t i = 0; i < n / QK_K; i++, blk += block_bytes) {
        const block_q4_k *hdr = (const block_q4_k *)blk;
        const uint8_t *q = blk + qs_offset, *qh = qh_offset ? blk + qh_offset : NULL;
        float d = f16_to_f32(hdr->d), dmin = f16_to_f32(hdr->dmin);
        for (int c = 0; c < 4; c++, q += 32) {
            uint8_t sc0, m0, sc1, m1;
            q4k_scale_min(2 * c, hdr->scales, &sc0, &m0);
            q4k_scale_min(2 * c + 1, hdr->scales, &sc1, &m1);
            float d0 = d * sc0, o0 = dmin * m0, d1 = d * sc1, o1 = dmin * m1;
            for (int l = 0; l < 32; l++)
                *y++ = d0 * (float)((q[l] & 0xF) | (qh ? ((qh[l] >> (2 * c)) & 1) << 4 : 0)) - o0;
            for (int l = 0; l < 32; l++)
                *y++ = d1 * (float)((q[l] >> 4) | (qh ? ((qh[l] >> (2 * c + 1)) & 1) << 4 : 0)) - o1;
        }
    }
}

void quant_dequantize_q4_k(const void *src, float *y, int64_t n)
{
    dequantize_q45_k(src, sizeof(block_q4_k), offsetof(block_q4_k, qs), 0, y, n);
}

void quant_dequantize_q5_k(const void *src, float *y, int64_t n)
{
    dequantize_q45_k(src, sizeof(block_q5_k), offsetof(block_q5_k, qs), offsetof(block_q5_k, qh), y, n);
}

/* Q6_K: per half of 128 weights, ql[0..63] carry the low 4 bits of weights
 * 0-63 (low nibbles) and 64-127 (high nibbles); qh[0..31] carry the top 2
 * bits of weights l, l+32, l+64, l+96 in bit pairs 0-1, 2-3, 4-5, 6-7. */
void quant_dequantize_q6_k(const void *src, float *y, int64_t n)
{
    const block_q6_k *b = src;
    for (int64_t i = 0; i < n / QK_K; i++, b++) {
        float d = f16_to_f32(b->d);
        for (int h = 0; h < 2; h++, y += 128) {
            const uint8_t *ql = b->ql + 64 * h, *qh = b->qh + 32 * h;
            const int8_t *sc = b->scales + 8 * h;
            for (int l = 0; l < 32; l++) {
                int q0 = (ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4;
                int q1 = (ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4;
                int q2 = (ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4;
                int q3 = (ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4;
                int s = l / 16; /* sub-blocks of 16 */
                y[l] = d * (float)sc[s] * (float)(q0 - 32);
                y[l + 32] = d * (float)sc[s + 2] * (float)(q1 - 32);
                y[l + 64] = d * (float)sc[s + 4] * (float)(q2 - 32);
                y[l + 96] = d * (float)sc[s + 6] * (float)(q3 - 32);
            }
        }
    }
}

void quant_dequantize_q8_k(const void *src, float *y, int64_t n)
{
    const block_q8_k *b = src;
    for (int64_t i = 0; i < n / QK_K; i++, b++)
        for (int j = 0; j < QK_K; j++)
            *y++ = b->d * (float)b->qs[j];
}

/* ======================================================================== */
/* Q4_K / Q5_K: affine sub-blocks of 32 with 6-bit scale and min codes      */
/* ======================================================================== */

/* Integers for x ~ s * L - o (L in 0..nmax), and the squared error (two
 * partial sums so the additions overlap). */
static float affine_requant(const float *x, float s, float o, int nmax, uint8_t *L)
{
    float e0 = 0, e1 = 0;
    if (s == 0) {
        for (int i = 0; i < 32; i++) {
            L[i] = 0;
            e0 += (x[i] + o) * (x[i] + o);
        }
        return e0;
    }
    float is = 1.0f / s, hi = (float)nmax;
    for (int i = 0; i < 32; i += 2) {
        float l0 = quant_round_clamp_f((x[i] + o) * is, 0, hi);
        float l1 = quant_round_clamp_f((x[i + 1] + o) * is, 0, hi);
        float r0 = s * l0 - o - x[i], r1 = s * l1 - o - x[i + 1];
        L[i] = (uint8_t)l0;
        L[i + 1] = (uint8_t)l1;
        e0 += r0 * r0;
        e1 += r1 * r1;
    }
    return e0 + e1;
}

/* The codes just below and just above v / step, within 0..63. */
static void code_pair(float v, float step, int *lo, int *hi)
{
    if (!(step > 0)) {
        *lo = *hi = 0;
        return;
    }
    float q = v / step;
    int f = q < 0 ? 0 : q > 63 ? 63 : (int)q; /* floor for q >= 0 */
    *lo = f;
    *hi = f < 63 ? f + 1 : 63;
}

/* Sub-block x has the float fit (scale, min); with the block's steps d and
 * dmin, tries the codes just below and above each (four pairs at most) and
 * keeps the pair that leaves the least error; L gets its integers and the
 * error is returned. The four trials run in one loop (four independent sums
 * keep the adder busy); only the winner's integers are written. When the
 * block's values are so small that d rounded to zero in F16, only the
 * offset is left: its code is chosen for the sub-block's mean instead. */
static float affine_best_codes(const float *x, float scale, float min, float d, float dmin, int nmax, uint8_t *sc,
                               uint8_t *mc, uint8_t *L)
{
    int s_code[2], m_code[2];
    code_pair(scale, d, &s_code[0], &s_code[1]);
    if (d == 0) {
        float mean = 0;
        for (int i = 0; i < 32; i++)
            mean += x[i];
        min = -mean / 32;
    }
    code_pair(min, dmin, &m_code[0], &m_code[1]);
    float s0 = d * (float)s_code[0], s1 = d * (float)s_code[1];
    float o0 = dmin * (float)m_code[0], o1 = dmin * (float)m_code[1];
    float i0 = s0 > 0 ? 1.0f / s0 : 0.0f, i1 = s1 > 0 ? 1.0f / s1 : 0.0f, hi = (float)nmax;
    float e00 = 0, e01 = 0, e10 = 0, e11 = 0; /* e<scale code><min code> */
    for (int i = 0; i < 32; i++) {
        float a0 = x[i] + o0, a1 = x[i] + o1;
        float r00 = s0 * quant_round_clamp_f(a0 * i0, 0, hi) - a0;
        float r01 = s0 * quant_round_clamp_f(a1 * i0, 0, hi) - a1;
        float r10 = s1 * quant_round_clamp_f(a0 * i1, 0, hi) - a0;
        float r11 = s1 * quant_round_clamp_f(a1 * i1, 0, hi) - a1;
        e00 += r00 * r00;
        e01 += r01 * r01;
        e10 += r10 * r10;
        e11 += r11 * r11;
    }
    float e[4] = { e00, e01, e10, e11 }, best = e00;
    int k_best = 0;
    for (int k = 1; k < 4; k++)
        if (e[k] < best) {
            best = e[k];
            k_best = k;
        }
    int bs = k_best >> 1, bm = k_best & 1;
    *sc = (uint8_t)s_code[bs];
    *mc = (uint8_t)m_code[bm];
    affine_requant(x, bs ? s1 : s0, bm ? o1 : o0, nmax, L);
    return best;
}

/* Writes the eight 6-bit (scale, min) code pairs into the 12-byte field
 * (see the drawing in dtype.h and q4k_scale_min, its inverse). */
static void pack_scale_min(const uint8_t *sc, const uint8_t *mc, uint8_t *scales)
{
    for (int j = 0; j < 4; j++) {
        scales[j] = (uint8_t)((sc[j] & 63) | (sc[j + 4] >> 4) << 6);
        scales[j + 4] = (uint8_t)((mc[j] & 63) | (mc[j + 4] >> 4) << 6);
        scales[j + 8] = (uint8_t)((sc[j + 4] & 0xF) | (mc[j + 4] & 0xF) << 4);
    }
}

/* One super-block of Q4_K (nmax 15) or Q5_K (nmax 31): fills the F16
 * scales, the codes and the integers L[256] (0..nmax). */
static void affine_superblock(const float *x, int nmax, ls_f16 *d_out, ls_f16 *dmin_out, uint8_t *sc,
                              uint8_t *mc, uint8_t *L)
{
    float scale[8], min[8], max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; j++) {
        float m;
        scale[j] = quant_fit_affine(x + 32 * j, 32, nmax, NULL, 1, -1.0f, 1.0f, QUANT_FIT_CANDIDATES, L + 32 * j, &m);
        min[j] = -m; /* >= 0 */
        if (scale[j] > max_scale)
            max_scale = scale[j];
        if (min[j] > max_min)
            max_min = min[j];
    }
    ls_f16 dh = f32_to_f16(max_scale / 63.0f), mh = f32_to_f16(max_min / 63.0f);
    float d = f16_to_f32(dh), dmin = f16_to_f32(mh);
    float err = 0;
    for (int j = 0; j < 8; j++)
        err += affine_best_codes(x + 32 * j, scale[j], min[j], d, dmin, nmax, &sc[j], &mc[j], L + 32 * j);

    /* Refit (d, dmin) over the block: minimize sum (d a_i - dmin b_i - x_i)^2
     * with a_i = sc[j] L_i, b_i = mc[j]: a 2x2 linear system. Then choose
     * the codes again for the new steps; keep it all only if it helps. */
    double saa = 0, sab = 0, sbb = 0, sax = 0, sbx = 0;
    for (int j = 0; j < 8; j++) {
        double la = 0, lx = 0, l2 = 0, xs = 0;
        for (int i = 0; i < 32; i++) {
            double l = L[32 * j + i], xv = x[32 * j + i];
            la += l;
            l2 += l * l;
            lx += l * xv;
            xs += xv;
        }
        saa += (double)sc[j] * sc[j] * l2;
        sab += (double)sc[j] * mc[j] * la;
        sbb += 32.0 * mc[j] * mc[j];
        sax += (double)sc[j] * lx;
        sbx += (double)mc[j] * xs;
    }
    /* d saa - dmin sab = sax,  d sab - dmin sbb = sbx */
    double det = sab * sab - saa * sbb;
    double nd = -1, ndmin = -1;
    if (sbb == 0 && saa > 0) { /* no minimums in use: one unknown */
        nd = sax / saa;
        ndmin = dmin;
    } else if (det != 0) {
        nd = (sab * sbx - sbb * sax) / det;
        ndmin = (saa * sbx - sab * sax) / det;
    }
    if (nd >= 0 && ndmin >= 0) {
        ls_f16 ndh = f32_to_f16((float)nd), nmh = f32_to_f16((float)ndmin);
        float dd = f16_to_f32(ndh), dm = f16_to_f32(nmh), nerr = 0;
        uint8_t nsc[8], nmc[8], nL[QK_K];
        for (int j = 0; j < 8; j++)
            nerr += affine_best_codes(x + 32 * j, scale[j], min[j], dd, dm, nmax, &nsc[j], &nmc[j], nL + 32 * j);
        if (nerr < err) {
            dh = ndh;
            mh = nmh;
            memcpy(sc, nsc, 8);
            memcpy(mc, nmc, 8);
            memcpy(L, nL, QK_K);
        }
    }
    *d_out = dh;
    *dmin_out = mh;
}

void quant_quantize_q4_k(const float *x, void *dst, int64_t n)
{
    block_q4_k *b = dst;
    for (int64_t i = 0; i < n / QK_K; i++, b++, x += QK_K) {
        uint8_t sc[8], mc[8], L[QK_K];
        affine_superblock(x, 15, &b->d, &b->dmin, sc, mc, L);
        pack_scale_min(sc, mc, b->scales);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++)
                b->qs[32 * c + l] = (uint8_t)(L[64 * c + l] | L[64 * c + 32 + l] << 4);
    }
}

void quant_quantize_q5_k(const float *x, void *dst, int64_t n)
{
    block_q5_k *b = dst;
    for (int64_t i = 0; i < n / QK_K; i++, b++, x += QK_K) {
        uint8_t sc[8], mc[8], L[QK_K];
        affine_superblock(x, 31, &b->d, &b->dmin, sc, mc, L);
        pack_scale_min(sc, mc, b->scales);
        memset(b->qh, 0, sizeof b->qh);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++) {
                int lo = L[64 * c + l], hi = L[64 * c + 32 + l];
                b->qs[32 * c + l] = (uint8_t)((lo & 0xF) | (hi & 0xF) << 4);
                b->qh[l] |= (uint8_t)(((lo >> 4) & 1) << (2 * c) | ((hi >> 4) & 1) << (2 * c + 1));
            }
    }
}

/* ======================================================================== */
/* Q6_K: symmetric sub-blocks of 16 with signed 8-bit scale codes           */
/* ======================================================================== */

/* Integers for x ~ s * L (L in -32..31) and the squared error. */
static float sym16_requant(const float *x, float s, int8_t *L)
{
    float e0 = 0, e1 = 0;
    if (s == 0) {
        for (int i = 0; i < 16; i++) {
            L[i] = 0;
            e0 += x[i] * x[i];
        }
        return e0;
    }
    float is = 1.0f / s;
    for (int i = 0; i < 16; i += 2) {
        float l0 = quant_round_clamp_f(x[i] * is, -32, 31), l1 = quant_round_clamp_f(x[i + 1] * is, -32, 31);
        float r0 = s * l0 - x[i], r1 = s * l1 - x[i + 1];
        L[i] = (int8_t)l0;
        L[i + 1] = (int8_t)l1;
        e0 += r0 * r0;
        e1 += r1 * r1;
    }
    return e0 + e1;
}

/* Sub-block x has the float scale `scale`; with the block's step d, tries
 * the code nearest scale / d and its two neighbours in one loop, keeps the
 * best (its integers in L) and returns its error. */
static float sym16_best_code(const float *x, float scale, float d, int8_t *code, int8_t *L)
{
    int c[3] = { 0, 0, 0 };
    if (d != 0) {
        int r = quant_round_clamp(scale / d, -128, 127);
        c[0] = r > -128 ? r - 1 : r;
        c[1] = r;
        c[2] = r < 127 ? r + 1 : r;
    }
    float s[3], is[3], e[3] = { 0, 0, 0 };
    for (int k = 0; k < 3; k++) {
        s[k] = d * (float)c[k];
        is[k] = s[k] != 0 ? 1.0f / s[k] : 0.0f;
    }
    for (int i = 0; i < 16; i++) {
        float r0 = s[0] * quant_round_clamp_f(x[i] * is[0], -32, 31) - x[i];
        float r1 = s[1] * quant_round_clamp_f(x[i] * is[1], -32, 31) - x[i];
        float r2 = s[2] * quant_round_clamp_f(x[i] * is[2], -32, 31) - x[i];
        e[0] += r0 * r0;
        e[1] += r1 * r1;
        e[2] += r2 * r2;
    }
    int k = 1; /* the rounded code wins ties */
    if (e[0] < e[k])
        k = 0;
    if (e[2] < e[k])
        k = 2;
    *code = (int8_t)c[k];
    sym16_requant(x, s[k], L);
    return e[k];
}

void quant_quantize_q6_k(const float *x, void *dst, int64_t n)
{
    block_q6_k *b = dst;
    for (int64_t i = 0; i < n / QK_K; i++, b++, x += QK_K) {
        int8_t L[QK_K], code[16];
        float scale[16], max_scale = 0, amax = 0;
        for (int j = 0; j < 16; j++) {
            scale[j] = quant_fit_symmetric(x + 16 * j, 16, 32, NULL, QUANT_FIT_CANDIDATES_FINE, L + 16 * j);
            if (fabsf(scale[j]) > amax) {
                amax = fabsf(scale[j]);
                max_scale = scale[j];
            }
        }
        if (amax < 1e-30f) {
            memset(b, 0, sizeof *b);
            continue;
        }
        /* The largest sub-scale becomes code -128 (the long end of int8). */
        ls_f16 dh = f32_to_f16(max_scale / -128.0f);
        float d = f16_to_f32(dh), err = 0;
        for (int j = 0; j < 16; j++)
            err += sym16_best_code(x + 16 * j, scale[j], d, &code[j], L + 16 * j);
        /* Refit d by least squares over the block with codes and integers
         * fixed, choose the codes again, keep it if it helps (a second round
         * gains under 0.1 %). */
        double saa = 0, sax = 0;
        for (int j = 0; j < 16; j++)
            for (int k = 0; k < 16; k++) {
                double a = (double)code[j] * L[16 * j + k];
                saa += a * a;
                sax += a * x[16 * j + k];
            }
        if (saa > 0) {
            ls_f16 ndh = f32_to_f16((float)(sax / saa));
            float nd = f16_to_f32(ndh), nerr = 0;
            int8_t ncode[16], nL[QK_K];
            for (int j = 0; j < 16; j++)
                nerr += sym16_best_code(x + 16 * j, scale[j], nd, &ncode[j], nL + 16 * j);
            if (nerr < err) {
                dh = ndh;
                memcpy(code, ncode, 16);
                memcpy(L, nL, QK_K);
            }
        }
        b->d = dh;
        memcpy(b->scales, code, 16);
        for (int h = 0; h < 2; h++) {
            uint8_t *ql = b->ql + 64 * h, *qh = b->qh + 32 * h;
            const int8_t *Lh = L + 128 * h;
            for (int l = 0; l < 32; l++) {
                int q0 = Lh[l] + 32, q1 = Lh[l + 32] + 32, q2 = Lh[l + 64] + 32, q3 = Lh[l + 96] + 32;
                ql[l] = (uint8_t)((q0 & 0xF) | (q2 & 0xF) << 4);
                ql[l + 32] = (uint8_t)((q1 & 0xF) | (q3 & 0xF) << 4);
                qh[l] = (uint8_t)((q0 >> 4) | (q1 >> 4) << 2 | (q2 >> 4) << 4 | (q3 >> 4) << 6);
            }
        }
    }
}

/* ======================================================================== */
/* Q8_K: the activation format for K-quant dot products (reference rounding) */
/* ======================================================================== */

void quant_quantize_q8_k(const float *x, void *dst, int64_t n)
{
    block_q8_k *b = dst;
    for (int64_t i = 0; i < n / QK_K; i++, b++, x += QK_K) {
        float amax = 0, max = 0;
        for (int j = 0; j < QK_K; j++)
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        if (amax == 0) {
            memset(b, 0, sizeof *b);
            continue;
        }
        /* -127 (not -128) keeps every integer's negation in range, which the
         * SIMD dot kernels rely on. */
        float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; j++) {
            int v = quant_nearest(iscale * x[j]);
            b->qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int g = 0; g < QK_K / 16; g++) {
            int s = 0;
            for (int k = 0; k < 16; k++)
                s += b->qs[16 * g + k];
            b->bsums[g] = (int16_t)s;
        }
        b->d = 1.0f / iscale;
    }
}
