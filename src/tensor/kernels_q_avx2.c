/* kernels_q_avx2.c — AVX2 kernels for the 32-element block formats Q8_0,
 * Q4_0, Q5_0 (activations Q8_0) and Q4_1, Q5_1 (activations Q8_1).
 *
 * One block = one YMM register of 32 bytes in element order. AVX2 has no
 * int8 dot-product instruction, so each block product is
 *     p16 = vpmaddubsw(u, a)   unsigned x signed bytes, adjacent pairs summed
 *                              into int16 (max 2 * 128 * 127 = 32512: no
 *                              saturation because |a| <= 127)
 *     p32 = vpmaddwd(p16, 1)   pairs of int16 summed into 8 int32 lanes
 * then acc += float(p32) * (d_w * d_a). Unsigned quants (Q4_1, Q5_1) are u
 * directly; signed weights w use the sign trick u = |w|, a' = sign(a, w)
 * (vpsignb), as |w| * sign(w) * a = w * a. The integer block sums equal the
 * scalar ones exactly.
 *
 * The activation's F16 header is converted with vcvtph2ps; for Q8_1 the
 * 4-byte header [d, s] converts in one go and the "+ m * s" term is one
 * 4-lane FMA with [0, m, 0, 0].
 *
 * Two-level activations (the default 16-bit mode) of the formats that read
 * Q8_0 use the pair form of kernels_internal.h: the two levels' vpmaddubsw
 * results are widened by vpmaddwd with 255 and 1 and added as integers, so
 * a block costs one float conversion and one FMA, not two.
 *
 * Tile: 1 row x V vectors (V <= 4 for 16 YMM registers): each block is
 * unpacked once per row and used for V activation rows; two accumulators
 * alternate when V = 1 (and per pair in the pair form).
 */
#include <immintrin.h>

#include "tensor/kernels_internal.h"

typedef struct {
    __m256i u;  /* unsigned operand: |w| or q */
    __m256i w;  /* signed weights, for vpsignb (signed formats only) */
    __m256 dw;  /* d_w in every lane */
    __m128 m;   /* Q4_1/Q5_1: [0, m, 0, 0] */
} wblock;

static inline bool has_min(dtype t)
{
    return t == DT_Q4_1 || t == DT_Q5_1;
}

static inline size_t wblock_bytes(dtype t)
{
    switch (t) {
    case DT_Q8_0: return sizeof(block_q8_0);
    case DT_Q4_0: return sizeof(block_q4_0);
    case DT_Q5_0: return sizeof(block_q5_0);
    case DT_Q4_1: return sizeof(block_q4_1);
    default: return sizeof(block_q5_1);
    }
}

/* 16 packed bytes -> 32 nibbles in element order. */
static inline __m256i nibbles(const uint8_t *qs)
{
    __m128i x = _mm_loadu_si128((const __m128i *)qs);
    const __m128i m4 = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(x, 4), m4), _mm_and_si128(x, m4));
}

/* The 32 bits of qh -> 32 bytes, 16 where the bit is set, else 0. */
static inline __m256i high_bits(const uint8_t *qh)
{
    uint32_t bits;
    memcpy(&bits, qh, 4);
    __m256i v = _mm256_set1_epi32((int)bits);
    /* byte k of the result looks at byte k/8 of the word, bit k%8 */
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    v = _mm256_shuffle_epi8(v, spread);
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201LL);
    v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
    return _mm256_and_si256(v, _mm256_set1_epi8(16));
}

static inline __m128 f16x2_lo(uint32_t h)
{
    return _mm_cvtph_ps(_mm_cvtsi32_si128((int)h));
}

KERN_INLINE wblock load_wblock(dtype t, const uint8_t *wb)
{
    wblock b;
    b.m = _mm_setzero_ps();
    b.w = _mm256_setzero_si256();
    if (t == DT_Q8_0) {
        const block_q8_0 *q = (const block_q8_0 *)wb;
        b.w = _mm256_loadu_si256((const __m256i *)q->qs);
        b.dw = _mm256_set1_ps(_cvtsh_ss(q->d));
    } else if (t == DT_Q4_0) {
        const block_q4_0 *q = (const block_q4_0 *)wb;
        b.w = _mm256_sub_epi8(nibbles(q->qs), _mm256_set1_epi8(8));
        b.dw = _mm256_set1_ps(_cvtsh_ss(q->d));
    } else if (t == DT_Q5_0) {
        const block_q5_0 *q = (const block_q5_0 *)wb;
        b.w = _mm256_sub_epi8(_mm256_or_si256(nibbles(q->qs), high_bits(q->qh)), _mm256_set1_epi8(16));
        b.dw = _mm256_set1_ps(_cvtsh_ss(q->d));
    } else if (t == DT_Q4_1) {
        const block_q4_1 *q = (const block_q4_1 *)wb;
        b.u = nibbles(q->qs);
        b.dw = _mm256_set1_ps(_cvtsh_ss(q->d));
        b.m = _mm_setr_ps(0.0f, _cvtsh_ss(q->m), 0.0f, 0.0f);
        return b;
    } else {
        const block_q5_1 *q = (const block_q5_1 *)wb;
        b.u = _mm256_or_si256(nibbles(q->qs), high_bits(q->qh));
        b.dw = _mm256_set1_ps(_cvtsh_ss(q->d));
        b.m = _mm_setr_ps(0.0f, _cvtsh_ss(q->m), 0.0f, 0.0f);
        return b;
    }
    b.u = _mm256_abs_epi8(b.w);
    return b;
}

KERN_INLINE void block_dot(dtype t, const wblock *b, const uint8_t *ab, __m256 *acc, __m128 *accm)
{
    const bool q81 = has_min(t);
    const size_t qoff = q81 ? offsetof(block_q8_1, qs) : offsetof(block_q8_0, qs);
    __m256i av = _mm256_loadu_si256((const __m256i *)(ab + qoff));
    if (!q81)
        av = _mm256_sign_epi8(av, b->w);
    __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(b->u, av), _mm256_set1_epi16(1));
    uint32_t h;
    memcpy(&h, ab, 4); /* Q8_0: d and two quant bytes (ignored); Q8_1: d and s */
    __m128 ds = f16x2_lo(q81 ? h : (h & 0xFFFFu));
    if (q81)
        *accm = _mm_fmadd_ps(ds, b->m, *accm);
    __m256 dd = _mm256_mul_ps(b->dw, _mm256_broadcastss_ps(ds));
    *acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), dd, *acc);
}

/* Two-level activations: the pair form (layout and bounds in
 * kernels_internal.h, above kern_dequantize2_q8_0_pair; the same bytes as
 * the AVX-512 quantizer). */
static void quantize2_q8_0(const float *x, void *vy, int64_t n)
{
    uint8_t *y = vy;
    const int64_t nb = n / QK8_0;
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256i lim = _mm256_set1_epi32(127), nlim = _mm256_set1_epi32(-127);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7); /* undoes the packs' lane interleave */
    for (int64_t u = 0; u < nb; u += 2, x += 2 * QK8_0) {
        int nbu = nb - u >= 2 ? 2 : 1;
        int8_t *hi = (int8_t *)y, *lo = hi + 32 * nbu;
        float d[2];
        for (int k = 0; k < nbu; k++) {
            __m256 v[4], mx = _mm256_setzero_ps();
            for (int i = 0; i < 4; i++) {
                v[i] = _mm256_loadu_ps(x + 32 * k + 8 * i);
                mx = _mm256_max_ps(mx, _mm256_and_ps(v[i], abs_mask));
            }
            __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
            m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
            m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
            float s = _mm_cvtss_f32(m4) / 127.0f;
            const __m256 vs = _mm256_set1_ps(s), is = _mm256_set1_ps(s != 0.0f ? 1.0f / s : 0.0f);
            const __m256 isr = _mm256_set1_ps(s != 0.0f ? (float)KERN_Q8_0_PAIR_RATIO / s : 0.0f);
            __m256i h[4], l[4];
            for (int i = 0; i < 4; i++) {
                /* MXCSR default rounding: nearest even */
                h[i] = _mm256_min_epi32(_mm256_max_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(v[i], is)), nlim), lim);
                __m256 resid = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(h[i]), vs, v[i]);
                l[i] = _mm256_min_epi32(_mm256_max_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(resid, isr)), nlim), lim);
            }
            __m256i hb = _mm256_packs_epi16(_mm256_packs_epi32(h[0], h[1]), _mm256_packs_epi32(h[2], h[3]));
            __m256i lb = _mm256_packs_epi16(_mm256_packs_epi32(l[0], l[1]), _mm256_packs_epi32(l[2], l[3]));
            _mm256_storeu_si256((__m256i *)(hi + 32 * k), _mm256_permutevar8x32_epi32(hb, order));
            _mm256_storeu_si256((__m256i *)(lo + 32 * k), _mm256_permutevar8x32_epi32(lb, order));
            d[k] = s / (float)KERN_Q8_0_PAIR_RATIO;
        }
        memcpy(lo + 32 * nbu, d, sizeof(float) * (size_t)nbu);
        y += 68 * nbu;
    }
}

/* One signed-weight block times its block of a pair (hi and lo 32 bytes,
 * d the F32 scale): acc += d_w * d * (255 S_hi + S_lo). The two levels'
 * int16 pair sums are widened with weights 255 and 1, so the levels meet
 * as one integer before the one conversion. */
KERN_INLINE void block_dot_pair(const wblock *b, const uint8_t *hi, const uint8_t *lo, const uint8_t *d,
                                __m256 *acc)
{
    __m256i h = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)hi), b->w);
    __m256i l = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)lo), b->w);
    __m256i x = _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(b->u, h),
                                                   _mm256_set1_epi16(KERN_Q8_0_PAIR_RATIO)),
                                 _mm256_madd_epi16(_mm256_maddubs_epi16(b->u, l), _mm256_set1_epi16(1)));
    float da;
    memcpy(&da, d, sizeof da);
    *acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(x), _mm256_mul_ps(b->dw, _mm256_set1_ps(da)), *acc);
}

/* Block b of the V activation rows (a: the tile's first row), the two
 * accumulator sets acc (k: which one). Pairs in the pair form where the
 * format reads Q8_0 activations (P and no min term): the pair's two rows
 * share one unit, and its second accumulator serves the odd blocks; else
 * one row at a time (Q4_1/Q5_1 pairs: the generic form's hi and lo rows). */
KERN_INLINE void block_dots(dtype t, int P, int V, const wblock *wb, const uint8_t *a, size_t a_row_bytes,
                            int64_t b, int64_t nb, int k, __m256 acc[2][4], __m128 *accm)
{
    const size_t abb = has_min(t) ? sizeof(block_q8_1) : sizeof(block_q8_0);
    const int NA = V == 1 ? 2 : 1;
    if (P && !has_min(t)) {
        int64_t u0 = b & ~(int64_t)1;
        int nbu = u0 + 2 <= nb ? 2 : 1, j = (int)(b - u0);
#pragma GCC unroll 4
        for (int v = 0; v + 1 < V; v += 2) {
            const uint8_t *unit = a + (size_t)v * a_row_bytes + 2 * abb * (size_t)u0;
            block_dot_pair(wb, unit + 32 * j, unit + 32 * (nbu + j), unit + 64 * nbu + 4 * j, &acc[0][v + (k & 1)]);
        }
        return;
    }
#pragma GCC unroll 4
    for (int v = 0; v < V; v++)
        block_dot(t, wb, a + (size_t)v * a_row_bytes + (size_t)b * abb, &acc[k % NA][v], &accm[v]);
}

static inline float hsum_ps(__m256 x)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* P = 1: two-level pairs (kern_matmul2_fn), rows v and v + 1 summed into
 * output v / 2 before the one reduction per row. */
KERN_INLINE void q0_tile_p(dtype t, int P, int V, int64_t n, const uint8_t *w, size_t w_row_bytes, int64_t n_rows,
                         const uint8_t *a, size_t a_row_bytes, float *y, int64_t y_stride)
{
    const int NA = V == 1 ? 2 : 1;
    const int64_t nb = n / 32;
    const size_t wbb = wblock_bytes(t);
    for (int64_t r = 0; r < n_rows; r++) {
        const uint8_t *wr = w + (size_t)r * w_row_bytes;
        __m256 acc[2][4];
        __m128 accm[4];
#pragma GCC unroll 4
        for (int v = 0; v < V; v++) {
            acc[0][v] = acc[1][v] = _mm256_setzero_ps();
            accm[v] = _mm_setzero_ps();
        }
        /* two blocks per step so the accumulator index is a constant */
        int64_t b = 0;
        for (; b + 2 <= nb; b += 2) {
#pragma GCC unroll 2
            for (int k = 0; k < 2; k++) {
                kern_prefetch(wr + (size_t)(b + k) * wbb, wbb);
                wblock wb = load_wblock(t, wr + (size_t)(b + k) * wbb);
                block_dots(t, P, V, &wb, a, a_row_bytes, b + k, nb, k, acc, accm);
            }
        }
        if (b < nb) {
            wblock wb = load_wblock(t, wr + (size_t)b * wbb);
            block_dots(t, P, V, &wb, a, a_row_bytes, b, nb, 0, acc, accm);
        }
        if (P) {
#pragma GCC unroll 4
            for (int v = 0; v + 1 < V; v += 2) {
                float s = hsum_ps(_mm256_add_ps(acc[0][v], acc[0][v + 1]));
                if (has_min(t)) {
                    __m128 m = _mm_add_ps(accm[v], accm[v + 1]);
                    s += _mm_cvtss_f32(_mm_shuffle_ps(m, m, 1));
                }
                y[(v / 2) * y_stride + r] = s;
            }
            continue;
        }
#pragma GCC unroll 4
        for (int v = 0; v < V; v++) {
            float s = hsum_ps(NA == 2 ? _mm256_add_ps(acc[0][v], acc[1][v]) : acc[0][v]);
            if (has_min(t))
                s += _mm_cvtss_f32(_mm_shuffle_ps(accm[v], accm[v], 1));
            y[v * y_stride + r] = s;
        }
    }
}

#define q0_tile(T, V, ...) q0_tile_p(T, 0, V, __VA_ARGS__)
#define q2_tile(T, V, ...) q0_tile_p(T, 1, V, __VA_ARGS__)

KERN_DEFINE_MATMULS(q8_0, q0_tile, q2_tile, DT_Q8_0, 4)
KERN_DEFINE_MATMULS(q4_0, q0_tile, q2_tile, DT_Q4_0, 4)
KERN_DEFINE_MATMULS(q5_0, q0_tile, q2_tile, DT_Q5_0, 4)
KERN_DEFINE_MATMULS(q4_1, q0_tile, q2_tile, DT_Q4_1, 4)
KERN_DEFINE_MATMULS(q5_1, q0_tile, q2_tile, DT_Q5_1, 4)

void kern_fill_q_avx2(kern_ops *ops)
{
    ops->matmul[DT_Q8_0] = matmul_q8_0;
    ops->matmul[DT_Q4_0] = matmul_q4_0;
    ops->matmul[DT_Q5_0] = matmul_q5_0;
    ops->matmul[DT_Q4_1] = matmul_q4_1;
    ops->matmul[DT_Q5_1] = matmul_q5_1;
    ops->matmul2[DT_Q8_0] = matmul2_q8_0;
    ops->matmul2[DT_Q4_0] = matmul2_q4_0;
    ops->matmul2[DT_Q5_0] = matmul2_q5_0;
    ops->matmul2[DT_Q4_1] = matmul2_q4_1;
    ops->matmul2[DT_Q5_1] = matmul2_q5_1;
    ops->quantize2[DT_Q8_0] = quantize2_q8_0;
    ops->dequantize2[DT_Q8_0] = kern_dequantize2_q8_0_pair;
}
