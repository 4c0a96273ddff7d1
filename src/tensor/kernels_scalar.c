/* kernels_scalar.c — the reference kernels in plain C: read these first.
 *
 * One function per format, written the way the SIMD versions compute:
 *   - within a block, the products of small integers are summed exactly in
 *     int32 (weights' quants times activations' quants, with the format's
 *     offset applied in integers: (q - 8), or via the activation's sums);
 *   - each block's integer sum is then scaled once by d_weight * d_act (F32)
 *     and added to a float total.
 * The SIMD files sum the same integers (in a different but exact order) and
 * differ only in how the float scalings are added up, so they agree with
 * these functions to about 1e-6 of sum|w*x| (tests/test_kernels.c).
 *
 * Float weights (F32/F16/BF16) are widened to float and multiplied with the
 * float activations; the sum is kept in double here so that the reference
 * itself contributes no visible rounding error.
 *
 * Overflow budget of the int32 block sums (worst case, |a| <= 127):
 *   Q8_0 block: 32 * 128 * 127 = 520,192; Q4_K super-block: 8 sub-blocks *
 *   63 (scale) * 32 * 31 * 127 = 63.5 M; Q6_K: 16 * 128 * 16 * 63 * 127 =
 *   262 M — all far below 2^31.
 */
#include <math.h>
#include <stddef.h>

#include "tensor/kernels_internal.h"

int kern_round_q8(float v)
{
    float r = nearbyintf(v); /* the current rounding mode: nearest, ties to even */
    if (r > 127.0f)
        r = 127.0f;
    if (r < -127.0f)
        r = -127.0f;
    return (int)r;
}

/* ======================================================================== */
/* Activation quantizers                                                     */
/* ======================================================================== */

/* Largest |x| over a block. */
static float block_amax(const float *x, int n)
{
    float amax = 0.0f;
    for (int j = 0; j < n; j++) {
        float v = fabsf(x[j]);
        amax = v > amax ? v : amax;
    }
    return amax;
}

/* Q8_0: d = max|x| / 127 rounded to F16; each q = round(x / d) with the
 * F16-rounded d, so d * q is the nearest value the block can hold. */
static void quantize_q8_0(const float *x, void *vy, int64_t n)
{
    block_q8_0 *y = vy;
    for (int64_t b = 0; b < n / QK8_0; b++, x += QK8_0) {
        ls_f16 d16 = f32_to_f16(block_amax(x, QK8_0) / 127.0f);
        float d = f16_to_f32(d16);
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = d16;
        for (int j = 0; j < QK8_0; j++)
            y[b].qs[j] = (int8_t)kern_round_q8(x[j] * id);
    }
}

/* Q8_1: as Q8_0, plus s = d * sum(q) for the "+ m" term of Q4_1/Q5_1 weights. */
static void quantize_q8_1(const float *x, void *vy, int64_t n)
{
    block_q8_1 *y = vy;
    for (int64_t b = 0; b < n / QK8_1; b++, x += QK8_1) {
        ls_f16 d16 = f32_to_f16(block_amax(x, QK8_1) / 127.0f);
        float d = f16_to_f32(d16);
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < QK8_1; j++) {
            int q = kern_round_q8(x[j] * id);
            y[b].qs[j] = (int8_t)q;
            sum += q;
        }
        y[b].d = d16;
        y[b].s = f32_to_f16(d * (float)sum);
    }
}

/* Q8_K: one F32 scale per 256 values, plus the sum of each 16 (bsums). */
static void quantize_q8_k(const float *x, void *vy, int64_t n)
{
    block_q8_k *y = vy;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        float d = block_amax(x, QK_K) / 127.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = d;
        for (int g = 0; g < QK_K / 16; g++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) {
                int q = kern_round_q8(x[16 * g + j] * id);
                y[b].qs[16 * g + j] = (int8_t)q;
                sum += q;
            }
            y[b].bsums[g] = (int16_t)sum;
        }
    }
}

/* ======================================================================== */
/* Float weights                                                             */
/* ======================================================================== */

static float dot_f32(int64_t n, const void *vw, const float *a)
{
    const float *w = vw;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)w[i] * a[i];
    return (float)sum;
}

static float dot_f16(int64_t n, const void *vw, const float *a)
{
    const ls_f16 *w = vw;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)f16_to_f32(w[i]) * a[i];
    return (float)sum;
}

static float dot_bf16(int64_t n, const void *vw, const float *a)
{
    const ls_bf16 *w = vw;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)bf16_to_f32(w[i]) * a[i];
    return (float)sum;
}

/* ======================================================================== */
/* 32-element blocks                                                         */
/* ======================================================================== */

/* Q8_0 x Q8_0: sum_b d_w * d_a * sum_j w_j a_j */
static float dot_q8_0(int64_t n, const void *vw, const void *va)
{
    const block_q8_0 *w = vw;
    const block_q8_0 *a = va;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK8_0; b++) {
        int32_t isum = 0;
        for (int j = 0; j < QK8_0; j++)
            isum += w[b].qs[j] * a[b].qs[j];
        sum += f16_to_f32(w[b].d) * f16_to_f32(a[b].d) * (float)isum;
    }
    return sum;
}

/* Q4_0 x Q8_0: weights are (q - 8) * d with q a nibble; element j < 16 is the
 * low nibble of qs[j], element j + 16 its high nibble. */
static float dot_q4_0(int64_t n, const void *vw, const void *va)
{
    const block_q4_0 *w = vw;
    const block_q8_0 *a = va;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK4_0; b++) {
        int32_t isum = 0;
        for (int j = 0; j < QK4_0 / 2; j++) {
            isum += ((w[b].qs[j] & 0xF) - 8) * a[b].qs[j];
            isum += ((w[b].qs[j] >> 4) - 8) * a[b].qs[j + 16];
        }
        sum += f16_to_f32(w[b].d) * f16_to_f32(a[b].d) * (float)isum;
    }
    return sum;
}

/* Q4_1 x Q8_1: weights are d * q + m, so
 *   sum_j (d q_j + m) * d_a a_j = d d_a sum_j q_j a_j + m * (d_a sum_j a_j)
 * and the last factor is the activation block's precomputed s. */
static float dot_q4_1(int64_t n, const void *vw, const void *va)
{
    const block_q4_1 *w = vw;
    const block_q8_1 *a = va;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK4_1; b++) {
        int32_t isum = 0;
        for (int j = 0; j < QK4_1 / 2; j++) {
            isum += (w[b].qs[j] & 0xF) * a[b].qs[j];
            isum += (w[b].qs[j] >> 4) * a[b].qs[j + 16];
        }
        sum += f16_to_f32(w[b].d) * f16_to_f32(a[b].d) * (float)isum + f16_to_f32(w[b].m) * f16_to_f32(a[b].s);
    }
    return sum;
}

/* The fifth bits of a Q5_0/Q5_1 block as one little-endian word: bit j
 * belongs to element j. */
static inline uint32_t q5_bits(const uint8_t qh[4])
{
    return (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
}

/* The fifth bit of element j, as 0 or 16. */
static inline int q5_high(uint32_t h, int j)
{
    return (int)((h >> j) & 1u) << 4;
}

/* Q5_0 x Q8_0: weights are (q - 16) * d, q = nibble | fifth bit << 4. */
static float dot_q5_0(int64_t n, const void *vw, const void *va)
{
    const block_q5_0 *w = vw;
    const block_q8_0 *a = va;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK5_0; b++) {
        int32_t isum = 0;
        uint32_t h = q5_bits(w[b].qh);
        for (int j = 0; j < QK5_0 / 2; j++) {
            int q_lo = (w[b].qs[j] & 0xF) | q5_high(h, j);
            int q_hi = (w[b].qs[j] >> 4) | q5_high(h, j + 16);
            isum += (q_lo - 16) * a[b].qs[j] + (q_hi - 16) * a[b].qs[j + 16];
        }
        sum += f16_to_f32(w[b].d) * f16_to_f32(a[b].d) * (float)isum;
    }
    return sum;
}

/* Q5_1 x Q8_1: as Q4_1 with 5-bit q. */
static float dot_q5_1(int64_t n, const void *vw, const void *va)
{
    const block_q5_1 *w = vw;
    const block_q8_1 *a = va;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK5_1; b++) {
        int32_t isum = 0;
        uint32_t h = q5_bits(w[b].qh);
        for (int j = 0; j < QK5_1 / 2; j++) {
            int q_lo = (w[b].qs[j] & 0xF) | q5_high(h, j);
            int q_hi = (w[b].qs[j] >> 4) | q5_high(h, j + 16);
            isum += q_lo * a[b].qs[j] + q_hi * a[b].qs[j + 16];
        }
        sum += f16_to_f32(w[b].d) * f16_to_f32(a[b].d) * (float)isum + f16_to_f32(w[b].m) * f16_to_f32(a[b].s);
    }
    return sum;
}

/* ======================================================================== */
/* K-quants (super-blocks of 256, activations Q8_K)                          */
/* ======================================================================== */

/* Q4_K: weight = d * sc[j] * q - dmin * m[j] for sub-block j of 32, so
 *   dot = d_a * ( d * sum_j sc[j] * sum_{i in j} q_i a_i
 *               - dmin * sum_j m[j] * sum_{i in j} a_i )
 * and sum_{i in j} a_i is bsums[2j] + bsums[2j+1]: the mins cost 8 products
 * per 256 weights instead of 256.
 * Q5_K is the same block with a fifth bit: bit j of qh[l] belongs to weight
 * l of sub-block j. Both share d, dmin and scales at the start of the block,
 * so one function serves both: qh is NULL for Q4_K. */
static float dot_q45_k(int64_t n, const uint8_t *w, size_t block_bytes, size_t qs_offset, size_t qh_offset,
                       const block_q8_k *a)
{
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_K; b++, w += block_bytes) {
        const block_q4_k *hdr = (const block_q4_k *)w; /* d, dmin, scales: same place in Q5_K */
        const uint8_t *qs_all = w + qs_offset, *qh = qh_offset ? w + qh_offset : NULL;
        uint8_t sc[8], m[8];
        kern_unpack_k_scales(hdr->scales, sc, m);
        int32_t isum = 0, imin = 0;
        for (int j = 0; j < 8; j++) {
            const uint8_t *qs = qs_all + 32 * (j / 2);
            const int8_t *q8 = a[b].qs + 32 * j;
            int shift = 4 * (j % 2); /* even sub-blocks: low nibbles, odd: high */
            int32_t s = 0;
            for (int l = 0; l < 32; l++) {
                int q = (qs[l] >> shift) & 0xF;
                if (qh)
                    q |= ((qh[l] >> j) & 1) << 4;
                s += q * q8[l];
            }
            isum += sc[j] * s;
            imin += m[j] * (a[b].bsums[2 * j] + a[b].bsums[2 * j + 1]);
        }
        sum += a[b].d * f16_to_f32(hdr->d) * (float)isum - a[b].d * f16_to_f32(hdr->dmin) * (float)imin;
    }
    return sum;
}

static float dot_q4_k(int64_t n, const void *vw, const void *va)
{
    return dot_q45_k(n, vw, sizeof(block_q4_k), offsetof(block_q4_k, qs), 0, va);
}

static float dot_q5_k(int64_t n, const void *vw, const void *va)
{
    return dot_q45_k(n, vw, sizeof(block_q5_k), offsetof(block_q5_k, qs), offsetof(block_q5_k, qh), va);
}

/* Q6_K: weight = d * scales[k] * (q - 32), sixteen sub-blocks k of 16.
 * The -32 offset is applied with the activation's sums of 16 (bsums[k]),
 * exactly like the SIMD versions, which multiply unsigned q:
 *   sum_i (q_i - 32) a_i = sum_i q_i a_i - 32 * bsums[k]. */
static float dot_q6_k(int64_t n, const void *vw, const void *va)
{
    const block_q6_k *w = vw;
    const block_q8_k *a = va;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_K; b++) {
        int q[QK_K];
        for (int half = 0; half < 2; half++) {
            const uint8_t *ql = w[b].ql + 64 * half;
            const uint8_t *qh = w[b].qh + 32 * half;
            int *qo = q + 128 * half;
            for (int l = 0; l < 32; l++) {
                qo[l] = (ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4;
                qo[l + 32] = (ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4;
                qo[l + 64] = (ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4;
                qo[l + 96] = (ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4;
            }
        }
        int32_t isum = 0;
        for (int k = 0; k < QK_K / 16; k++) {
            int32_t s = 0;
            for (int l = 0; l < 16; l++)
                s += q[16 * k + l] * a[b].qs[16 * k + l];
            isum += w[b].scales[k] * (s - 32 * a[b].bsums[k]);
        }
        sum += a[b].d * f16_to_f32(w[b].d) * (float)isum;
    }
    return sum;
}

/* ======================================================================== */
/* Matrix products: the plain double loop                                    */
/* ======================================================================== */

typedef float (*dot_fn)(int64_t n, const void *w, const void *a);

static void matmul_rows(dot_fn dot, int64_t n, const void *w, size_t w_row_bytes, int64_t n_rows,
                        const void *a, size_t a_row_bytes, int64_t n_vecs, float *y, int64_t y_stride)
{
    const uint8_t *wb = w, *ab = a;
    for (int64_t v = 0; v < n_vecs; v++)
        for (int64_t r = 0; r < n_rows; r++)
            y[v * y_stride + r] = dot(n, wb + (size_t)r * w_row_bytes, ab + (size_t)v * a_row_bytes);
}

/* One wrapper per type gives each table entry the kern_matmul_fn signature. */
#define SCALAR_MATMUL(name, dotf)                                                                  \
    static void name(int64_t n, const void *w, size_t w_row_bytes, int64_t n_rows, const void *a, \
                     size_t a_row_bytes, int64_t n_vecs, float *y, int64_t y_stride)               \
    {                                                                                              \
        matmul_rows(dotf, n, w, w_row_bytes, n_rows, a, a_row_bytes, n_vecs, y, y_stride);         \
    }

/* The float dots take a float pointer; adapt them to the common shape. */
static float dot_f32_v(int64_t n, const void *w, const void *a) { return dot_f32(n, w, a); }
static float dot_f16_v(int64_t n, const void *w, const void *a) { return dot_f16(n, w, a); }
static float dot_bf16_v(int64_t n, const void *w, const void *a) { return dot_bf16(n, w, a); }

SCALAR_MATMUL(matmul_f32, dot_f32_v)
SCALAR_MATMUL(matmul_f16, dot_f16_v)
SCALAR_MATMUL(matmul_bf16, dot_bf16_v)
SCALAR_MATMUL(matmul_q8_0, dot_q8_0)
SCALAR_MATMUL(matmul_q4_0, dot_q4_0)
SCALAR_MATMUL(matmul_q4_1, dot_q4_1)
SCALAR_MATMUL(matmul_q5_0, dot_q5_0)
SCALAR_MATMUL(matmul_q5_1, dot_q5_1)
SCALAR_MATMUL(matmul_q4_k, dot_q4_k)
SCALAR_MATMUL(matmul_q5_k, dot_q5_k)
SCALAR_MATMUL(matmul_q6_k, dot_q6_k)

/* ======================================================================== */
/* Benchmark probes                                                          */
/* ======================================================================== */

static uint64_t read_sum_scalar(const void *p, size_t n_bytes)
{
    const uint64_t *u = p;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0; /* four chains so loads overlap */
    for (size_t i = 0; i < n_bytes / 8; i += 4) {
        s0 ^= u[i];
        s1 ^= u[i + 1];
        s2 ^= u[i + 2];
        s3 ^= u[i + 3];
    }
    return s0 ^ s1 ^ s2 ^ s3;
}

static uint64_t int8_spin_scalar(int64_t n_iters)
{
    (void)n_iters;
    return 0; /* no meaningful int8 ceiling for plain C */
}

void kern_fill_scalar(kern_ops *ops)
{
    ops->quantize[DT_Q8_0] = quantize_q8_0;
    ops->quantize[DT_Q8_1] = quantize_q8_1;
    ops->quantize[DT_Q8_K] = quantize_q8_k;
    ops->matmul[DT_F32] = matmul_f32;
    ops->matmul[DT_F16] = matmul_f16;
    ops->matmul[DT_BF16] = matmul_bf16;
    ops->matmul[DT_Q8_0] = matmul_q8_0;
    ops->matmul[DT_Q4_0] = matmul_q4_0;
    ops->matmul[DT_Q4_1] = matmul_q4_1;
    ops->matmul[DT_Q5_0] = matmul_q5_0;
    ops->matmul[DT_Q5_1] = matmul_q5_1;
    ops->matmul[DT_Q4_K] = matmul_q4_k;
    ops->matmul[DT_Q5_K] = matmul_q5_k;
    ops->matmul[DT_Q6_K] = matmul_q6_k;
    ops->read_sum = read_sum_scalar;
    ops->int8_spin = int8_spin_scalar;
}
