/* kernels_wide.c — the 16-bit ("wide") prefill path: panel layout,
 * activation rounding, weight expansion, and the reference product.
 *
 * Why a second path: with many activation vectors (a prompt), the cost of a
 * quantized matrix product is the per-vector arithmetic, not the weights.
 * The 8-bit tile kernels spend two instructions per 64 weights and vector
 * (multiply, then apply the sub-block scale) and the two-level mode doubles
 * that. Here each weight row is instead expanded ONCE per chunk into plain
 * 16-bit integers (quants with offsets and, for Q6_K, the integer sub-block
 * scale already applied), and each activation is rounded once to a 16-bit
 * integer. The inner loop is then a single instruction per 32 multiply-adds
 * (vpdpwssd with AVX-512 VNNI; vpmaddwd + vpaddd with AVX2), shared by every
 * weight format, and the activation error is that of 15-bit rounding.
 *
 * Panel layout (kernels.h draws it): a row of n elements is cut into blocks
 * of 32 and the blocks are grouped 16 to a panel (512 elements; the last
 * panel is padded with zero blocks). Inside a panel the 16 blocks are
 * interleaved: 64-byte word k holds elements 2k and 2k+1 of block 0, then of
 * block 1, ... block 15. A vector multiply-add of word k of a weight panel
 * with word k of an activation panel thus adds, in 32-bit lane l, two
 * products of block l; after the 16 words lane l holds block l's whole
 * integer dot product. Each block then gets its float factors:
 *     block dot = ws[l] * da[l] * isum[l] + wm[l] * sa[l]
 * ws/wm are the weight block's scale and "min" coefficient, da the activation
 * block's scale and sa = da * (sum of its integers). The panel's 16 scales
 * and 16 sums follow its 1024 bytes of integers.
 *
 * Overflow budget: activations are rounded to |q| <= 16383 (15 bits, so the
 * widest weight integer still fits): the largest weight integer is Q6_K's
 * scale * (q - 32) = -128 * -32 = 4096; a lane sums 32 products, so
 * 32 * 4096 * 16383 = 2,147,352,576 < 2^31.
 *
 * Owns: the layout, kern_wide_quantize, kern_wide_expand, the scalar product.
 * The SIMD products are in kernels_wide_avx2.c / kernels_wide_avx512.c.
 */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "tensor/kernels_internal.h"

enum {
    WIDE_BLOCK = 32,
    WIDE_LANES = KERN_WIDE_LANES,
    WIDE_PANEL = WIDE_BLOCK * WIDE_LANES, /* elements */
    WIDE_QMAX = 16383,
};

int64_t kern_wide_panels(int64_t n)
{
    return (n + WIDE_PANEL - 1) / WIDE_PANEL;
}

size_t kern_wide_row_bytes(int64_t n)
{
    return (size_t)kern_wide_panels(n) * sizeof(kern_wide_panel);
}

bool kern_wide_supports(dtype t)
{
    switch (t) {
    case DT_Q8_0: case DT_Q4_0: case DT_Q5_0: case DT_Q4_1: case DT_Q5_1:
    case DT_Q4_K: case DT_Q5_K: case DT_Q6_K:
        return true;
    default:
        return false;
    }
}

/* Stores block b's 32 integers (q[0..31]) at its interleaved place. */
static void put_block(kern_wide_panel *panels, int64_t b, const int16_t q[WIDE_BLOCK])
{
    kern_wide_panel *p = &panels[b / WIDE_LANES];
    int lane = (int)(b % WIDE_LANES);
    for (int k = 0; k < WIDE_BLOCK / 2; k++) {
        p->q[k][lane][0] = q[2 * k];
        p->q[k][lane][1] = q[2 * k + 1];
    }
}

/* Zero from block nb to the end of its panel (padding). */
static void clear_tail(kern_wide_panel *panels, int64_t nb)
{
    static const int16_t zero[WIDE_BLOCK];
    for (int64_t b = nb; b % WIDE_LANES != 0; b++) {
        put_block(panels, b, zero);
        panels[b / WIDE_LANES].scale[b % WIDE_LANES] = 0.0f;
        panels[b / WIDE_LANES].sum[b % WIDE_LANES] = 0.0f;
    }
}

/* ======================================================================== */
/* Activations                                                               */
/* ======================================================================== */

/* One block: q = round(x / d) with d = max|x| / 16383, and the factors the
 * panel keeps for it (scale d, and d * sum(q) for the weights' "min" term). */
static void quantize_block(const float *x, int16_t q[WIDE_BLOCK], float *scale, float *sum_d)
{
    float amax = 0.0f;
    for (int j = 0; j < WIDE_BLOCK; j++) {
        float v = fabsf(x[j]);
        amax = v > amax ? v : amax;
    }
    float d = amax / (float)WIDE_QMAX, id = d != 0.0f ? (float)WIDE_QMAX / amax : 0.0f;
    int32_t sum = 0;
    for (int j = 0; j < WIDE_BLOCK; j++) {
        float r = nearbyintf(x[j] * id); /* nearest, ties to even */
        r = r > WIDE_QMAX ? WIDE_QMAX : r < -WIDE_QMAX ? -WIDE_QMAX : r;
        q[j] = (int16_t)r;
        sum += q[j];
    }
    *scale = d;
    *sum_d = d * (float)sum; /* |sum| < 2^24: exact */
}

/* Blocks b0.. of a row through the reference code, then the padding. */
static void quantize_from(const float *x, int64_t n, int64_t b0, kern_wide_panel *panels)
{
    int64_t nb = n / WIDE_BLOCK;
    for (int64_t b = b0; b < nb; b++) {
        int16_t q[WIDE_BLOCK];
        kern_wide_panel *p = &panels[b / WIDE_LANES];
        quantize_block(x + b * WIDE_BLOCK, q, &p->scale[b % WIDE_LANES], &p->sum[b % WIDE_LANES]);
        put_block(panels, b, q);
    }
    clear_tail(panels, nb);
}

void kern_wide_quantize(const float *x, int64_t n, void *dst)
{
    quantize_from(x, n, 0, dst);
}

void kern_wide_quantize_by8(kern_quantize8_fn quantize8, const float *x, int64_t n, void *dst)
{
    int64_t b = 0;
    for (; b + 8 <= n / WIDE_BLOCK; b += 8)
        quantize8(x, b, dst);
    quantize_from(x, n, b, dst);
}

/* ======================================================================== */
/* Weights                                                                   */
/* ======================================================================== */

/* One block of 32 weights as integers q with w_i = ws * q_i + wm. */
typedef struct {
    int16_t q[WIDE_BLOCK];
    float ws, wm;
} wide_block;

static uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Block j (of 32) of a row of type t. The formats are drawn in dtype.h; the
 * element orders here are those of kernels_scalar.c. */
static void weight_block(dtype t, const uint8_t *row, int64_t j, wide_block *o)
{
    o->wm = 0.0f;
    switch (t) {
    case DT_Q8_0: {
        const block_q8_0 *b = (const block_q8_0 *)row + j;
        for (int i = 0; i < 32; i++)
            o->q[i] = b->qs[i];
        o->ws = f16_to_f32(b->d);
        return;
    }
    case DT_Q4_0: case DT_Q4_1: {
        const uint8_t *qs = t == DT_Q4_0 ? ((const block_q4_0 *)row + j)->qs : ((const block_q4_1 *)row + j)->qs;
        int off = t == DT_Q4_0 ? 8 : 0;
        for (int i = 0; i < 16; i++) {
            o->q[i] = (int16_t)((qs[i] & 0xF) - off);
            o->q[i + 16] = (int16_t)((qs[i] >> 4) - off);
        }
        if (t == DT_Q4_0) {
            o->ws = f16_to_f32(((const block_q4_0 *)row + j)->d);
        } else {
            o->ws = f16_to_f32(((const block_q4_1 *)row + j)->d);
            o->wm = f16_to_f32(((const block_q4_1 *)row + j)->m);
        }
        return;
    }
    case DT_Q5_0: case DT_Q5_1: {
        const block_q5_0 *b0 = (const block_q5_0 *)row + j;
        const block_q5_1 *b1 = (const block_q5_1 *)row + j;
        const uint8_t *qs = t == DT_Q5_0 ? b0->qs : b1->qs;
        uint32_t h = load_le32(t == DT_Q5_0 ? b0->qh : b1->qh);
        int off = t == DT_Q5_0 ? 16 : 0;
        for (int i = 0; i < 16; i++) {
            o->q[i] = (int16_t)(((qs[i] & 0xF) | ((h >> i) & 1u) << 4) - off);
            o->q[i + 16] = (int16_t)(((qs[i] >> 4) | ((h >> (i + 16)) & 1u) << 4) - off);
        }
        o->ws = f16_to_f32(t == DT_Q5_0 ? b0->d : b1->d);
        if (t == DT_Q5_1)
            o->wm = f16_to_f32(b1->m);
        return;
    }
    case DT_Q4_K: case DT_Q5_K: {
        /* sub-block s of super-block j/8: weight = d * sc[s] * q - dmin * m[s] */
        size_t bb = t == DT_Q4_K ? sizeof(block_q4_k) : sizeof(block_q5_k);
        const uint8_t *sb = row + (size_t)(j / 8) * bb;
        int s = (int)(j % 8);
        const block_q4_k *hdr = (const block_q4_k *)sb; /* d, dmin, scales: same place in Q5_K */
        const uint8_t *qs = (t == DT_Q4_K ? ((const block_q4_k *)sb)->qs : ((const block_q5_k *)sb)->qs) + 32 * (s / 2);
        const uint8_t *qh = t == DT_Q5_K ? ((const block_q5_k *)sb)->qh : NULL;
        uint8_t sc[8], m[8];
        kern_unpack_k_scales(hdr->scales, sc, m);
        int shift = 4 * (s % 2);
        for (int l = 0; l < 32; l++) {
            int q = (qs[l] >> shift) & 0xF;
            if (qh)
                q |= ((qh[l] >> s) & 1) << 4;
            o->q[l] = (int16_t)q;
        }
        o->ws = f16_to_f32(hdr->d) * (float)sc[s];
        o->wm = -f16_to_f32(hdr->dmin) * (float)m[s];
        return;
    }
    case DT_Q6_K: {
        /* 32 elements = two sub-blocks of 16, whose int8 scales are applied
         * here in integers: q = scale * (q6 - 32), |q| <= 4096 */
        const block_q6_k *b = (const block_q6_k *)row + j / 8;
        int s = (int)(j % 8), half = s / 4, part = s % 4; /* part: which 32 of the 128-half */
        const uint8_t *ql = b->ql + 64 * half, *qh = b->qh + 32 * half;
        for (int l = 0; l < 32; l++) {
            int q6;
            switch (part) {
            case 0: q6 = (ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4; break;
            case 1: q6 = (ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4; break;
            case 2: q6 = (ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4; break;
            default: q6 = (ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4; break;
            }
            o->q[l] = (int16_t)(b->scales[2 * s + l / 16] * (q6 - 32));
        }
        o->ws = f16_to_f32(b->d);
        return;
    }
    default:
        memset(o, 0, sizeof *o);
        return;
    }
}

/* From block b0 on (the earlier ones already stored), padding the last panel. */
static void expand_from(dtype t, const void *w, int64_t n, int64_t b0, void *dst)
{
    kern_wide_panel *panels = dst;
    int64_t nb = n / WIDE_BLOCK;
    for (int64_t b = b0; b < nb; b++) {
        wide_block o;
        weight_block(t, w, b, &o);
        put_block(panels, b, o.q);
        panels[b / WIDE_LANES].scale[b % WIDE_LANES] = o.ws;
        panels[b / WIDE_LANES].sum[b % WIDE_LANES] = o.wm;
    }
    clear_tail(panels, nb);
}

void kern_wide_expand(dtype t, const void *w, int64_t n, void *dst)
{
    expand_from(t, w, n, 0, dst);
}

void kern_wide_expand_by8(kern_expand8_fn expand8, dtype t, const void *w, int64_t n, void *dst)
{
    int64_t b = 0;
    if (t == DT_Q4_K || t == DT_Q6_K || t == DT_Q8_0 || t == DT_Q4_0)
        for (; b + 8 <= n / WIDE_BLOCK; b += 8)
            expand8(t, w, b, dst);
    expand_from(t, w, n, b, dst);
}

void kern_wide_run_tiles(kern_wide_tile_fn tile, int tr, int tv, int64_t n_panels, const void *w,
                         size_t w_row_bytes, int64_t n_rows, const void *a, size_t a_row_bytes, int64_t n_vecs,
                         float *y, int64_t y_stride)
{
    for (int64_t v0 = 0; v0 < n_vecs; v0 += tv) {
        int V = (int)(n_vecs - v0 < tv ? n_vecs - v0 : tv);
        for (int64_t r0 = 0; r0 < n_rows; r0 += tr) {
            int R = (int)(n_rows - r0 < tr ? n_rows - r0 : tr);
            tile(R, V, n_panels, (const uint8_t *)w + (size_t)r0 * w_row_bytes, w_row_bytes,
                 (const uint8_t *)a + (size_t)v0 * a_row_bytes, a_row_bytes, y + v0 * y_stride + r0, y_stride);
        }
    }
}

void kern_wide_rows(const kern_ops *ops, dtype t, const void *w, size_t w_row_bytes, int64_t n, int64_t r0,
                    int64_t nr, const void *a, int64_t n_vecs, float *y, int64_t y_stride, void *buf,
                    size_t buf_bytes)
{
    size_t wrb = kern_wide_row_bytes(n);
    int64_t fit = (int64_t)(buf_bytes / wrb);
    if (fit >= 4)
        fit = fit / 4 * 4; /* whole register tiles */
    assert(fit >= 1);
    for (int64_t r = r0; r < r0 + nr; r += fit) {
        int64_t rows = r0 + nr - r < fit ? r0 + nr - r : fit;
        for (int64_t i = 0; i < rows; i++)
            ops->wide_expand(t, (const uint8_t *)w + (size_t)(r + i) * w_row_bytes, n, (uint8_t *)buf + i * wrb);
        ops->gemm16(kern_wide_panels(n), buf, wrb, rows, a, wrb, n_vecs, y + r, y_stride);
    }
}

/* ======================================================================== */
/* The reference product                                                     */
/* ======================================================================== */

/* y[v * y_stride + r] = sum over panels and lanes of the block dots, each
 * lane accumulated over the panels first, then the lanes added in order —
 * the order the SIMD versions use. */
static void gemm16_scalar(int64_t n_panels, const void *w, size_t w_row_bytes, int64_t n_rows, const void *a,
                          size_t a_row_bytes, int64_t n_vecs, float *y, int64_t y_stride)
{
    for (int64_t r = 0; r < n_rows; r++) {
        const kern_wide_panel *wp = (const kern_wide_panel *)((const uint8_t *)w + (size_t)r * w_row_bytes);
        for (int64_t v = 0; v < n_vecs; v++) {
            const kern_wide_panel *ap = (const kern_wide_panel *)((const uint8_t *)a + (size_t)v * a_row_bytes);
            float lane_acc[WIDE_LANES] = { 0 };
            for (int64_t p = 0; p < n_panels; p++) {
                for (int l = 0; l < WIDE_LANES; l++) {
                    int32_t isum = 0;
                    for (int k = 0; k < WIDE_BLOCK / 2; k++)
                        isum += wp[p].q[k][l][0] * ap[p].q[k][l][0] + wp[p].q[k][l][1] * ap[p].q[k][l][1];
                    lane_acc[l] += (float)isum * (wp[p].scale[l] * ap[p].scale[l]) + wp[p].sum[l] * ap[p].sum[l];
                }
            }
            float s = 0.0f;
            for (int l = 0; l < WIDE_LANES; l++)
                s += lane_acc[l];
            y[v * y_stride + r] = s;
        }
    }
}

void kern_fill_wide_scalar(kern_ops *ops)
{
    ops->gemm16 = gemm16_scalar;
    ops->wide_quantize = kern_wide_quantize;
    ops->wide_expand = kern_wide_expand;
}
