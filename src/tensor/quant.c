/* quant.c — row conversion for the float formats and the 32-element blocks.
 *
 * Every block type has three functions here: a dequantizer that follows the
 * layout drawn in dtype.h element by element, a reference quantizer that
 * reproduces ggml's deterministic rounding bit for bit (so our files can be
 * compared byte by byte with llama.cpp's), and a quality quantizer that
 * searches the block scale for the least squared error.
 *
 * The search (quant_fit_symmetric / quant_fit_affine, also used by the
 * K-quants in quant_k.c) works like this: a block's integers L depend on
 * the scale d, and for fixed L the best d is a least-squares formula
 * (d = sum x L / sum L^2). So we try a few candidate scales around "largest
 * value on the end of the grid", keep the one whose least-squares fit
 * leaves the smallest error, then alternate "best L for d" / "best d for
 * L" until it settles. Finally d is rounded to F16 (what the file stores)
 * and L recomputed for the rounded d, so what we write is exactly what we
 * measured. The inner loops are branch-free (quant_round_clamp_f) and keep
 * two partial sums, which matters more for speed than anything else here.
 *
 * Q8_0, Q8_1 and Q8_K keep the reference rounding in both paths: at 8 bits
 * a scale search gains about 1 %, and byte-identical files are worth more.
 */
#include "tensor/quant.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "tensor/quant_internal.h"

/* ======================================================================== */
/* Scale searches shared with quant_k.c                                     */
/* ======================================================================== */

/* Sum of squared residuals for x ~ d L + m, from the sums a least-squares
 * fit uses anyway (saves a pass); double because it is a difference of
 * nearly equal terms. */
static double affine_error(double sw, double sx, double sx2, double sl, double sl2, double sxl, double d, double m)
{
    return sx2 - 2 * d * sxl - 2 * m * sx + d * d * sl2 + 2 * d * m * sl + m * m * sw;
}

static const float ones[QUANT_FIT_MAX_N] = {
#define ONE8 1, 1, 1, 1, 1, 1, 1, 1
    ONE8, ONE8, ONE8, ONE8, ONE8, ONE8, ONE8, ONE8
#undef ONE8
};

/* One symmetric pass: L = round(iscale x) on [-nmax, nmax-1] and the sums
 * sum w x L, sum w L^2 (two partial sums each so the additions overlap). */
static void sym_pass(const float *x, const float *w, int n, float iscale, int nmax, int8_t *L, float *sxl,
                     float *sl2)
{
    float lo = (float)-nmax, hi = (float)(nmax - 1), a0 = 0, a1 = 0, b0 = 0, b1 = 0;
    if (w == ones) { /* the common case, without the multiplications by 1 */
        for (int i = 0; i < n; i += 2) {
            float l0 = quant_round_clamp_f(iscale * x[i], lo, hi), l1 = quant_round_clamp_f(iscale * x[i + 1], lo, hi);
            L[i] = (int8_t)l0;
            L[i + 1] = (int8_t)l1;
            a0 += x[i] * l0;
            a1 += x[i + 1] * l1;
            b0 += l0 * l0;
            b1 += l1 * l1;
        }
        *sxl = a0 + a1;
        *sl2 = b0 + b1;
        return;
    }
    for (int i = 0; i < n; i += 2) {
        float l0 = quant_round_clamp_f(iscale * x[i], lo, hi), l1 = quant_round_clamp_f(iscale * x[i + 1], lo, hi);
        L[i] = (int8_t)l0;
        L[i + 1] = (int8_t)l1;
        a0 += w[i] * x[i] * l0;
        a1 += w[i + 1] * x[i + 1] * l1;
        b0 += w[i] * l0 * l0;
        b1 += w[i + 1] * l1 * l1;
    }
    *sxl = a0 + a1;
    *sl2 = b0 + b1;
}

/* How many refinement rounds a fit does at most (more than 4 never helped
 * on golden-qwen2's weights). */
enum { MAX_REFINE = 4 };

float quant_fit_symmetric(const float *x, int n, int nmax, const float *w, int n_cand, int8_t *L)
{
    assert(n <= QUANT_FIT_MAX_N && n % 2 == 0 && n_cand >= 2);
    if (!w)
        w = ones;
    float amax = 0, max = 0;
    for (int i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        if (a > amax) {
            amax = a;
            max = x[i];
        }
    }
    if (amax < 1e-30f) {
        memset(L, 0, (size_t)n);
        return 0;
    }
    /* Candidates put the largest |x| on the long end of the grid (-nmax),
     * from one step inside (wastes a step, rounds the rest finer) to one
     * step beyond (clips it). The gain of a fit, (sum w x L)^2 / sum w L^2,
     * is what it removes from sum w x^2; it is kept as a fraction and
     * compared by cross-multiplying. */
    int8_t tmp[QUANT_FIT_MAX_N];
    float best_num = -1, best_den = 1, d = 0;
    for (int c = 0; c < n_cand; c++) {
        float r = 2.0f * (float)c / (float)(n_cand - 1) - 1.0f;
        float sxl, sl2;
        sym_pass(x, w, n, -((float)nmax + r) / max, nmax, tmp, &sxl, &sl2);
        if (sl2 > 0 && sxl * sxl * best_den > best_num * sl2) {
            best_num = sxl * sxl;
            best_den = sl2;
            d = sxl / sl2;
            memcpy(L, tmp, (size_t)n);
        }
    }
    /* Alternate "best L for d" and "best d for L" (d = sum w x L / sum w L^2):
     * neither step can raise the error, so stop when it stops falling. */
    for (int iter = 0; iter < MAX_REFINE && d != 0; iter++) {
        float sxl, sl2;
        sym_pass(x, w, n, 1.0f / d, nmax, tmp, &sxl, &sl2);
        if (!(sl2 > 0 && sxl * sxl * best_den > best_num * sl2 * (1 + 1e-6f)))
            break;
        best_num = sxl * sxl;
        best_den = sl2;
        d = sxl / sl2;
        memcpy(L, tmp, (size_t)n);
    }
    return d;
}

/* Least-squares (d, m) for fixed integers, from the sums; returns the error,
 * or DBL_MAX if these integers cannot give a storable fit. When every L is
 * the same the system is singular: then d = 0 and m = the mean, or (offset
 * kept <= 0) m = 0 and d = sum w x L / sum w L^2. */
static double affine_solve(double sw, double sx, double sx2, double sl, double sl2, double sxl, int m_nonpositive,
                           float *d, float *m)
{
    double D = sw * sl2 - sl * sl, dd, mm;
    if (D > 1e-9 * sw * sl2) {
        double iD = 1 / D; /* one division: this runs for every candidate */
        dd = (sw * sxl - sx * sl) * iD;
        mm = (sl2 * sx - sl * sxl) * iD;
    } else {
        dd = 0;
        mm = sw > 0 ? sx / sw : 0;
    }
    if (m_nonpositive && mm > 0) {
        if (!(sl2 > 0))
            return DBL_MAX;
        mm = 0;
        dd = sxl / sl2;
    }
    if (dd < 0) /* a negative step is not storable in the K-quants, and never wins */
        return DBL_MAX;
    *d = (float)dd;
    *m = (float)mm;
    return affine_error(sw, sx, sx2, sl, sl2, sxl, dd, mm);
}

/* One affine pass: L = round(iscale (x - origin)) on [0, nmax] and the sums
 * sum w L, sum w L^2, sum w x L. */
static void affine_pass(const float *x, const float *w, int n, float iscale, float origin, int nmax, uint8_t *L,
                        float *sl, float *sl2, float *sxl)
{
    float hi = (float)nmax, a0 = 0, a1 = 0, b0 = 0, b1 = 0, c0 = 0, c1 = 0;
    if (w == ones) { /* the common case, without the multiplications by 1 */
        for (int i = 0; i < n; i += 2) {
            float l0 = quant_round_clamp_f(iscale * (x[i] - origin), 0, hi);
            float l1 = quant_round_clamp_f(iscale * (x[i + 1] - origin), 0, hi);
            L[i] = (uint8_t)l0;
            L[i + 1] = (uint8_t)l1;
            a0 += l0;
            a1 += l1;
            b0 += l0 * l0;
            b1 += l1 * l1;
            c0 += l0 * x[i];
            c1 += l1 * x[i + 1];
        }
        *sl = a0 + a1;
        *sl2 = b0 + b1;
        *sxl = c0 + c1;
        return;
    }
    for (int i = 0; i < n; i += 2) {
        float l0 = quant_round_clamp_f(iscale * (x[i] - origin), 0, hi);
        float l1 = quant_round_clamp_f(iscale * (x[i + 1] - origin), 0, hi);
        float wl0 = w[i] * l0, wl1 = w[i + 1] * l1;
        L[i] = (uint8_t)l0;
        L[i + 1] = (uint8_t)l1;
        a0 += wl0;
        a1 += wl1;
        b0 += wl0 * l0;
        b1 += wl1 * l1;
        c0 += wl0 * x[i];
        c1 += wl1 * x[i + 1];
    }
    *sl = a0 + a1;
    *sl2 = b0 + b1;
    *sxl = c0 + c1;
}

float quant_fit_affine(const float *x, int n, int nmax, const float *w, int m_nonpositive, float rlo, float rhi,
                       int n_cand, uint8_t *L, float *m_out)
{
    assert(n <= QUANT_FIT_MAX_N && n % 2 == 0 && rlo > -nmax && rhi >= rlo && n_cand >= 2);
    if (!w)
        w = ones;
    float min = x[0], max = x[0];
    double sw = 0, sx = 0, sx2 = 0;
    for (int i = 0; i < n; i++) {
        if (x[i] < min)
            min = x[i];
        if (x[i] > max)
            max = x[i];
        sw += w[i];
        sx += w[i] * x[i];
        sx2 += (double)w[i] * x[i] * x[i];
    }
    if (m_nonpositive && min > 0)
        min = 0;
    if (max <= min) { /* constant block (and, if constrained, <= 0): exact with d = 0 */
        memset(L, 0, (size_t)n);
        *m_out = min;
        return 0;
    }
    /* Candidate grids anchored at min whose top step lands from nmax + rlo
     * to nmax + rhi steps up; (d, m) are refitted by least squares for each,
     * so the anchor is only a starting point. Then refinement rounds as in
     * the symmetric fit. */
    uint8_t tmp[QUANT_FIT_MAX_N];
    double best_err = DBL_MAX;
    float best_d = 0, best_m = min;
    const int nc = n_cand;
    for (int c = 0; c < nc + MAX_REFINE; c++) {
        float sl, sl2, sxl;
        if (c < nc) {
            float r = rlo + (rhi - rlo) * (float)c / (float)(nc - 1);
            affine_pass(x, w, n, ((float)nmax + r) / (max - min), min, nmax, tmp, &sl, &sl2, &sxl);
        } else {
            if (!(best_d > 0))
                break;
            affine_pass(x, w, n, 1.0f / best_d, best_m, nmax, tmp, &sl, &sl2, &sxl);
        }
        float d = 0, m = 0;
        double err = affine_solve(sw, sx, sx2, sl, sl2, sxl, m_nonpositive, &d, &m);
        if (err < best_err * (c < nc ? 1 : 1 - 1e-9)) {
            best_err = err;
            best_d = d;
            best_m = m;
            memcpy(L, tmp, (size_t)n);
        } else if (c >= nc) {
            break;
        }
    }
    if (best_err == DBL_MAX) {
        memset(L, 0, (size_t)n);
        *m_out = min;
        return 0;
    }
    *m_out = best_m;
    return best_d;
}

/* ======================================================================== */
/* Float formats                                                            */
/* ======================================================================== */

static void row_from_f16(const ls_f16 *x, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = f16_to_f32(x[i]);
}

static void row_to_f16(const float *x, ls_f16 *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = f32_to_f16(x[i]);
}

static void row_from_bf16(const ls_bf16 *x, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = bf16_to_f32(x[i]);
}

static void row_to_bf16(const float *x, ls_bf16 *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = f32_to_bf16(x[i]);
}

/* ======================================================================== */
/* Packing of the 32-element blocks                                         */
/* ======================================================================== */
/* Nibbles: element j (j < 16) in the low half of qs[j], element j + 16 in the
 * high half. 5-bit types add bit 4 of element j as bit j of qh (a
 * little-endian uint32). Inputs are already offset to 0..15 / 0..31. */

static void pack_nibbles(const uint8_t *q, uint8_t *qs)
{
    for (int j = 0; j < 16; j++)
        qs[j] = (uint8_t)((q[j] & 0xF) | ((q[j + 16] & 0xF) << 4));
}

static void pack_fifth_bits(const uint8_t *q, uint8_t qh[4])
{
    uint32_t h = 0;
    for (int j = 0; j < 32; j++)
        h |= (uint32_t)((q[j] >> 4) & 1) << j;
    for (int k = 0; k < 4; k++)
        qh[k] = (uint8_t)(h >> (8 * k));
}

static uint32_t load_u32le(const uint8_t b[4])
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* ======================================================================== */
/* Dequantization: x = d * (q - offset)  or  x = d * q + m                  */
/* ======================================================================== */

static void dequantize_q4_0(const block_q4_0 *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b++, y += 32) {
        float d = f16_to_f32(b->d);
        for (int j = 0; j < 16; j++) {
            y[j] = d * (float)((b->qs[j] & 0xF) - 8);
            y[j + 16] = d * (float)((b->qs[j] >> 4) - 8);
        }
    }
}

static void dequantize_q4_1(const block_q4_1 *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b++, y += 32) {
        float d = f16_to_f32(b->d), m = f16_to_f32(b->m);
        for (int j = 0; j < 16; j++) {
            y[j] = d * (float)(b->qs[j] & 0xF) + m;
            y[j + 16] = d * (float)(b->qs[j] >> 4) + m;
        }
    }
}

static void dequantize_q5_0(const block_q5_0 *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b++, y += 32) {
        float d = f16_to_f32(b->d);
        uint32_t qh = load_u32le(b->qh);
        for (int j = 0; j < 16; j++) {
            int lo = (b->qs[j] & 0xF) | (int)((qh >> j) & 1) << 4;
            int hi = (b->qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            y[j] = d * (float)(lo - 16);
            y[j + 16] = d * (float)(hi - 16);
        }
    }
}

static void dequantize_q5_1(const block_q5_1 *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b++, y += 32) {
        float d = f16_to_f32(b->d), m = f16_to_f32(b->m);
        uint32_t qh = load_u32le(b->qh);
        for (int j = 0; j < 16; j++) {
            int lo = (b->qs[j] & 0xF) | (int)((qh >> j) & 1) << 4;
            int hi = (b->qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            y[j] = d * (float)lo + m;
            y[j + 16] = d * (float)hi + m;
        }
    }
}

static void dequantize_q8_0(const block_q8_0 *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b++, y += 32) {
        float d = f16_to_f32(b->d);
        for (int j = 0; j < 32; j++)
            y[j] = d * (float)b->qs[j];
    }
}

static void dequantize_q8_1(const block_q8_1 *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b++, y += 32) {
        float d = f16_to_f32(b->d);
        for (int j = 0; j < 32; j++)
            y[j] = d * (float)b->qs[j];
    }
}

/* ======================================================================== */
/* Reference quantizers: ggml's deterministic rounding, bit for bit         */
/* ======================================================================== */
/* Note the quirks kept on purpose: the integers are computed with the
 * unrounded scale (F32), and the 4/5-bit types truncate (x + offset + 0.5)
 * toward zero, while Q8 uses roundf (halves away from zero). */

/* The value with the largest magnitude, sign kept (the first one on ties). */
static float signed_absmax(const float *x, int n)
{
    float amax = 0, max = 0;
    for (int j = 0; j < n; j++)
        if (fabsf(x[j]) > amax) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    return max;
}

static void ref_q4_0(const float *x, block_q4_0 *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b++, x += 32) {
        float d = signed_absmax(x, 32) / -8.0f, id = d != 0 ? 1.0f / d : 0.0f;
        uint8_t q[32];
        for (int j = 0; j < 32; j++) {
            int v = (int)(x[j] * id + 8.5f);
            q[j] = (uint8_t)(v < 15 ? v : 15);
        }
        b->d = f32_to_f16(d);
        pack_nibbles(q, b->qs);
    }
}

static void ref_q5_0(const float *x, block_q5_0 *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b++, x += 32) {
        float d = signed_absmax(x, 32) / -16.0f, id = d != 0 ? 1.0f / d : 0.0f;
        uint8_t q[32];
        for (int j = 0; j < 32; j++) {
            int v = (int)(x[j] * id + 16.5f);
            q[j] = (uint8_t)(v < 31 ? v : 31);
        }
        b->d = f32_to_f16(d);
        pack_nibbles(q, b->qs);
        pack_fifth_bits(q, b->qh);
    }
}

static void min_max(const float *x, int n, float *mn, float *mx)
{
    *mn = FLT_MAX;
    *mx = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < *mn)
            *mn = x[j];
        if (x[j] > *mx)
            *mx = x[j];
    }
}

static void ref_q4_1(const float *x, block_q4_1 *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b++, x += 32) {
        float mn, mx;
        min_max(x, 32, &mn, &mx);
        float d = (mx - mn) / 15.0f, id = d != 0 ? 1.0f / d : 0.0f;
        uint8_t q[32];
        for (int j = 0; j < 32; j++) {
            int v = (int)((x[j] - mn) * id + 0.5f);
            q[j] = (uint8_t)(v < 15 ? v : 15);
        }
        b->d = f32_to_f16(d);
        b->m = f32_to_f16(mn);
        pack_nibbles(q, b->qs);
    }
}

static void ref_q5_1(const float *x, block_q5_1 *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b++, x += 32) {
        float mn, mx;
        min_max(x, 32, &mn, &mx);
        float d = (mx - mn) / 31.0f, id = d != 0 ? 1.0f / d : 0.0f;
        uint8_t q[32];
        for (int j = 0; j < 32; j++) {
            int v = (int)((x[j] - mn) * id + 0.5f);
            q[j] = (uint8_t)(v < 31 ? v : 31); /* ggml relies on v <= 31; we clamp to be safe */
        }
        b->d = f32_to_f16(d);
        b->m = f32_to_f16(mn);
        pack_nibbles(q, b->qs);
        pack_fifth_bits(q, b->qh);
    }
}

static float absmax(const float *x, int n)
{
    float amax = 0;
    for (int j = 0; j < n; j++)
        amax = fmaxf(amax, fabsf(x[j]));
    return amax;
}

static void ref_q8_0(const float *x, block_q8_0 *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b++, x += 32) {
        float d = absmax(x, 32) / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
        for (int j = 0; j < 32; j++)
            b->qs[j] = (int8_t)roundf(x[j] * id);
        b->d = f32_to_f16(d);
    }
}

/* Q8_1 also stores s = d * sum(q), the term a Q4_1/Q5_1 dot needs for "+ m". */
static void ref_q8_1(const float *x, block_q8_1 *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b++, x += 32) {
        float d = absmax(x, 32) / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            b->qs[j] = (int8_t)roundf(x[j] * id);
            sum += b->qs[j];
        }
        b->d = f32_to_f16(d);
        b->s = f32_to_f16((float)sum * d);
    }
}

/* ======================================================================== */
/* Quality quantizers (least squared error)                                 */
/* ======================================================================== */

/* Rounds d to F16 and recomputes the integers for exactly that step, so the
 * block decodes to the best values the stored scale allows. */
static ls_f16 settle_symmetric(const float *x, int nmax, float d, uint8_t *q)
{
    ls_f16 dh = f32_to_f16(d);
    float ds = f16_to_f32(dh), id = ds != 0 ? 1.0f / ds : 0.0f;
    for (int j = 0; j < 32; j++)
        q[j] = (uint8_t)(quant_round_clamp(x[j] * id, -nmax, nmax - 1) + nmax);
    return dh;
}

static void quality_q4_0(const float *x, block_q4_0 *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b++, x += 32) {
        int8_t L[32];
        uint8_t q[32];
        float d = quant_fit_symmetric(x, 32, 8, NULL, QUANT_FIT_CANDIDATES, L);
        b->d = settle_symmetric(x, 8, d, q);
        pack_nibbles(q, b->qs);
    }
}

static void quality_q5_0(const float *x, block_q5_0 *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b++, x += 32) {
        int8_t L[32];
        uint8_t q[32];
        float d = quant_fit_symmetric(x, 32, 16, NULL, QUANT_FIT_CANDIDATES, L);
        b->d = settle_symmetric(x, 16, d, q);
        pack_nibbles(q, b->qs);
        pack_fifth_bits(q, b->qh);
    }
}

/* Affine blocks: fit (d, m), round both to F16, recompute the integers. */
static void settle_affine(const float *x, int nmax, float d, float m, ls_f16 *dh, ls_f16 *mh, uint8_t *q)
{
    *dh = f32_to_f16(d);
    *mh = f32_to_f16(m);
    float ds = f16_to_f32(*dh), ms = f16_to_f32(*mh), id = ds != 0 ? 1.0f / ds : 0.0f;
    for (int j = 0; j < 32; j++)
        q[j] = (uint8_t)quant_round_clamp((x[j] - ms) * id, 0, nmax);
}

static void quality_q4_1(const float *x, block_q4_1 *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b++, x += 32) {
        uint8_t L[32], q[32];
        float m;
        float d = quant_fit_affine(x, 32, 15, NULL, 0, -1.0f, 1.0f, QUANT_FIT_CANDIDATES, L, &m);
        settle_affine(x, 15, d, m, &b->d, &b->m, q);
        pack_nibbles(q, b->qs);
    }
}

static void quality_q5_1(const float *x, block_q5_1 *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b++, x += 32) {
        uint8_t L[32], q[32];
        float m;
        float d = quant_fit_affine(x, 32, 31, NULL, 0, -1.0f, 1.0f, QUANT_FIT_CANDIDATES, L, &m);
        settle_affine(x, 31, d, m, &b->d, &b->m, q);
        pack_nibbles(q, b->qs);
        pack_fifth_bits(q, b->qh);
    }
}

/* ======================================================================== */
/* Dispatch                                                                 */
/* ======================================================================== */

bool quant_can_dequantize(dtype t)
{
    switch (t) {
    case DT_F32: case DT_F16: case DT_BF16:
    case DT_Q4_0: case DT_Q4_1: case DT_Q5_0: case DT_Q5_1: case DT_Q8_0: case DT_Q8_1:
    case DT_Q4_K: case DT_Q5_K: case DT_Q6_K: case DT_Q8_K:
        return true;
    default:
        return false;
    }
}

bool quant_can_quantize(dtype t)
{
    return quant_can_dequantize(t);
}

void quant_dequantize_row(dtype t, const void *src, float *dst, int64_t n)
{
    assert(quant_can_dequantize(t) && dtype_row_fits(t, n));
    int64_t nb = n / dtype_get((uint32_t)t)->block_elems;
    switch (t) {
    case DT_F32: memcpy(dst, src, (size_t)n * sizeof(float)); break;
    case DT_F16: row_from_f16(src, dst, n); break;
    case DT_BF16: row_from_bf16(src, dst, n); break;
    case DT_Q4_0: dequantize_q4_0(src, dst, nb); break;
    case DT_Q4_1: dequantize_q4_1(src, dst, nb); break;
    case DT_Q5_0: dequantize_q5_0(src, dst, nb); break;
    case DT_Q5_1: dequantize_q5_1(src, dst, nb); break;
    case DT_Q8_0: dequantize_q8_0(src, dst, nb); break;
    case DT_Q8_1: dequantize_q8_1(src, dst, nb); break;
    case DT_Q4_K: quant_dequantize_q4_k(src, dst, n); break;
    case DT_Q5_K: quant_dequantize_q5_k(src, dst, n); break;
    case DT_Q6_K: quant_dequantize_q6_k(src, dst, n); break;
    case DT_Q8_K: quant_dequantize_q8_k(src, dst, n); break;
    default: assert(0 && "unsupported type");
    }
}

/* Shared by both quantize entry points: the types whose two paths agree. */
static bool quantize_common(dtype t, const float *src, void *dst, int64_t n, int64_t nb)
{
    switch (t) {
    case DT_F32: memcpy(dst, src, (size_t)n * sizeof(float)); return true;
    case DT_F16: row_to_f16(src, dst, n); return true;
    case DT_BF16: row_to_bf16(src, dst, n); return true;
    case DT_Q8_0: ref_q8_0(src, dst, nb); return true;
    case DT_Q8_1: ref_q8_1(src, dst, nb); return true;
    case DT_Q4_K: quant_quantize_q4_k(src, dst, n); return true;
    case DT_Q5_K: quant_quantize_q5_k(src, dst, n); return true;
    case DT_Q6_K: quant_quantize_q6_k(src, dst, n); return true;
    case DT_Q8_K: quant_quantize_q8_k(src, dst, n); return true;
    default: return false;
    }
}

void quant_quantize_row(dtype t, const float *src, void *dst, int64_t n)
{
    assert(quant_can_quantize(t) && dtype_row_fits(t, n));
    int64_t nb = n / dtype_get((uint32_t)t)->block_elems;
    if (quantize_common(t, src, dst, n, nb))
        return;
    switch (t) {
    case DT_Q4_0: quality_q4_0(src, dst, nb); break;
    case DT_Q4_1: quality_q4_1(src, dst, nb); break;
    case DT_Q5_0: quality_q5_0(src, dst, nb); break;
    case DT_Q5_1: quality_q5_1(src, dst, nb); break;
    default: assert(0 && "unsupported type");
    }
}

void quant_quantize_row_ref(dtype t, const float *src, void *dst, int64_t n)
{
    assert(quant_can_quantize(t) && dtype_row_fits(t, n));
    int64_t nb = n / dtype_get((uint32_t)t)->block_elems;
    if (quantize_common(t, src, dst, n, nb))
        return;
    switch (t) {
    case DT_Q4_0: ref_q4_0(src, dst, nb); break;
    case DT_Q4_1: ref_q4_1(src, dst, nb); break;
    case DT_Q5_0: ref_q5_0(src, dst, nb); break;
    case DT_Q5_1: ref_q5_1(src, dst, nb); break;
    default: assert(0 && "unsupported type");
    }
}
