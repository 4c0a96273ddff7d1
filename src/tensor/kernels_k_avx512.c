/* kernels_k_avx512.c — AVX-512 kernels for the K-quants Q4_K, Q5_K, Q6_K
 * (activations Q8_K: 256 int8 values, one F32 scale, sums of each 16).
 *
 * A super-block of 256 weights is unpacked into four ZMM registers of 64
 * unsigned bytes in element order (Q4_K: low nibbles of a 32-byte chunk =
 * sub-block 2c, high nibbles = 2c+1; Q5_K adds the fifth bit from qh with a
 * byte mask; Q6_K combines the low nibbles of ql with two bits of qh).
 * Then, per activation row, per register:
 *     p = vpmaddubsw(q, a)     32 int16 lanes, each the sum of 2 products
 *                              (<= 2 * 63 * 127, no saturation)
 *     s = vpdpwssd(s, p, sc)   multiply by the sub-block scale (int16 lanes
 *                              of sc repeat each scale over its sub-block)
 *                              and add pairs into 16 int32 lanes
 * so the per-sub-block scales are applied in integers, exactly, and only one
 * float conversion per super-block and row remains: acc += s * (d_w * d_a).
 * The Q4_K/Q5_K "- dmin * m[j]" term uses the activation's bsums (one
 * vpmaddwd of bsums with the mins repeated twice); Q6_K's "- 32" offset is
 * folded into the same integer sum as sum_k sc[k] * (-32) * bsums[k] (one
 * more vpdpwssd), exactly as kernels_scalar.c writes it.
 *
 * A tile is 1 row x V vectors (V <= 8): the unpacked super-block (4 + 4
 * registers with the scale vectors) stays in registers for all V rows of
 * activations, which are plain 64-byte loads.
 */
#include <immintrin.h>

#include "tensor/kernels_internal.h"

/* Index vectors for vpermw: chunk c of Q4_K/Q5_K uses scale 2c for its first
 * 16 int16 lanes and 2c+1 for the last 16. */
static inline __m512i k4_scale_idx(int c)
{
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16((short)(2 * c))),
                              _mm256_set1_epi16((short)(2 * c + 1)), 1);
}

/* Q6_K chunk c (64 weights = 4 sub-blocks of 16): lanes 8k..8k+7 use scale 4c+k. */
static inline __m512i k6_scale_idx(int c)
{
    return _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_set_m128i(_mm_set1_epi16((short)(4 * c + 1)), _mm_set1_epi16((short)(4 * c)))),
        _mm256_set_m128i(_mm_set1_epi16((short)(4 * c + 3)), _mm_set1_epi16((short)(4 * c + 2))), 1);
}

typedef struct {
    __m512i q[4];   /* 256 unsigned quants, 64 per register, element order */
    __m512i sc[4];  /* int16 scale per lane of vpmaddubsw's output */
    __m512i corr;   /* Q6_K: -32 * scales as int16 (zero-extended ymm); Q4_K/Q5_K: mins repeated twice */
    __m512 d;       /* the super-block scale in every lane */
    __m256 ndmin;   /* -dmin in every lane (Q4_K/Q5_K) */
} wsuper;

/* 32 packed bytes -> [low nibbles | high nibbles] as 64 bytes. */
static inline __m512i nibbles32(const uint8_t *p)
{
    __m512i x = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)p));
    const __m512i shifts = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
    return _mm512_and_si512(_mm512_srlv_epi16(x, shifts), _mm512_set1_epi8(0x0F));
}

KERN_INLINE void load_wsuper(dtype t, const uint8_t *wb, wsuper *s)
{
    if (t == DT_Q6_K) {
        const block_q6_k *b = (const block_q6_k *)wb;
        for (int h = 0; h < 2; h++) {
            __m512i ql = _mm512_loadu_si512(b->ql + 64 * h);
            __m256i qh = _mm256_loadu_si256((const __m256i *)(b->qh + 32 * h));
            /* [qh | qh >> 2]: bits 0-1 feed elements 0-31, bits 2-3 elements 32-63;
             * bits 4-5 / 6-7 the next 64 (the 16-bit shifts spill bits into
             * neighbour bytes only where the masks below discard them). */
            __m512i hz = _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
            const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
            s->q[2 * h] = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(_mm512_slli_epi16(hz, 4), m30));
            s->q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4), _mm512_and_si512(hz, m30));
        }
        __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)b->scales));
        __m512i scz = _mm512_castsi256_si512(sc16);
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++)
            s->sc[c] = _mm512_permutexvar_epi16(k6_scale_idx(c), scz);
        s->corr = _mm512_zextsi256_si512(_mm256_mullo_epi16(sc16, _mm256_set1_epi16(-32)));
        s->d = _mm512_set1_ps(_cvtsh_ss(b->d));
        s->ndmin = _mm256_setzero_ps();
        return;
    }
    /* Q4_K and Q5_K share the header (d, dmin, scales) before their quants */
    const block_q4_k *b4 = (const block_q4_k *)wb;
    const block_q5_k *b5 = (const block_q5_k *)wb;
    const uint8_t *qs = t == DT_Q4_K ? b4->qs : b5->qs;
    uint64_t sc64, m64;
    kern_k_scales64(b4->scales, &sc64, &m64);
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++)
        s->q[c] = nibbles32(qs + 32 * c);
    if (t == DT_Q5_K) {
        __m512i hz = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)b5->qh));
        /* chunk c: bit 2c of qh[l] is the fifth bit of sub-block 2c (bytes
         * 0-31), bit 2c+1 that of sub-block 2c+1 (bytes 32-63) */
        __m512i sel = _mm512_inserti64x4(_mm512_set1_epi8(1), _mm256_set1_epi8(2), 1);
        const __m512i sixteen = _mm512_set1_epi8(16);
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) {
            __mmask64 hb = _mm512_test_epi8_mask(hz, sel);
            s->q[c] = _mm512_mask_add_epi8(s->q[c], hb, s->q[c], sixteen);
            sel = _mm512_slli_epi16(sel, 2); /* bytes stay below 256: 1,2 -> 4,8 -> 16,32 -> 64,128 */
        }
    }
    __m512i sc16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc64)));
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++)
        s->sc[c] = _mm512_permutexvar_epi16(k4_scale_idx(c), sc16);
    __m128i m16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)m64));
    s->corr = _mm512_zextsi256_si512(_mm256_set_m128i(_mm_unpackhi_epi16(m16, m16), _mm_unpacklo_epi16(m16, m16)));
    s->d = _mm512_set1_ps(_cvtsh_ss(b4->d));
    s->ndmin = _mm256_set1_ps(-_cvtsh_ss(b4->dmin));
}

/* One super-block of weights times one Q8_K activation block: acc gets the
 * scaled quant products, accm (8 lanes) the Q4_K/Q5_K mins term. The mins
 * use 256-bit vectors: on cores that split 512-bit work in two halves
 * (AMD Zen 4) that is half the cost, and 8 lanes are all there is. */
KERN_INLINE void super_dot(dtype t, const wsuper *s, const block_q8_k *ab, __m512 *acc, __m256 *accm)
{
    __m256i bsums = _mm256_loadu_si256((const __m256i *)ab->bsums);
    __m512i isum = t == DT_Q6_K ? _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_zextsi256_si512(bsums), s->corr)
                                : _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        __m512i p = _mm512_maddubs_epi16(s->q[c], _mm512_loadu_si512(ab->qs + 64 * c));
        isum = _mm512_dpwssd_epi32(isum, p, s->sc[c]);
    }
    /* vector multiplies with the activation's scale broadcast from memory:
     * no scalar-to-vector moves on the way */
    *acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(s->d, _mm512_set1_ps(ab->d)), *acc);
    if (t != DT_Q6_K) {
        /* - dmin * sum_j m[j] * (bsums[2j] + bsums[2j+1]) */
        __m256i mins = _mm256_madd_epi16(bsums, _mm512_castsi512_si256(s->corr));
        *accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mins), _mm256_mul_ps(s->ndmin, _mm256_set1_ps(ab->d)), *accm);
    }
}

/* P = 1: two-level pairs (kern_matmul2_fn), rows v and v + 1 summed into
 * output v / 2 before the one reduction per row. */
KERN_INLINE void k_tile_p(dtype t, int P, int V, int64_t n, const uint8_t *w, size_t w_row_bytes, int64_t n_rows,
                          const uint8_t *a, size_t a_row_bytes, float *y, int64_t y_stride)
{
    const int NA = V == 1 ? 2 : 1;
    const int64_t nb = n / QK_K;
    const size_t wbb = t == DT_Q4_K ? sizeof(block_q4_k) : t == DT_Q5_K ? sizeof(block_q5_k) : sizeof(block_q6_k);
    for (int64_t r = 0; r < n_rows; r++) {
        const uint8_t *wr = w + (size_t)r * w_row_bytes;
        __m512 acc[2][8];
        __m256 accm[8];
#pragma GCC unroll 8
        for (int v = 0; v < V; v++) {
            acc[0][v] = acc[1][v] = _mm512_setzero_ps();
            accm[v] = _mm256_setzero_ps();
        }
        /* two super-blocks per step so the accumulator index is a constant
         * (a runtime index would keep the accumulators in memory) */
        int64_t b = 0;
        for (; b + 2 <= nb; b += 2) {
#pragma GCC unroll 2
            for (int k = 0; k < 2; k++) {
                wsuper s;
                load_wsuper(t, wr + (size_t)(b + k) * wbb, &s);
#pragma GCC unroll 8
                for (int v = 0; v < V; v++)
                    super_dot(t, &s, (const block_q8_k *)(a + (size_t)v * a_row_bytes) + b + k, &acc[k % NA][v],
                              &accm[v]);
            }
        }
        if (b < nb) {
            wsuper s;
            load_wsuper(t, wr + (size_t)b * wbb, &s);
#pragma GCC unroll 8
            for (int v = 0; v < V; v++)
                super_dot(t, &s, (const block_q8_k *)(a + (size_t)v * a_row_bytes) + b, &acc[0][v], &accm[v]);
        }
        if (P) {
#pragma GCC unroll 8
            for (int v = 0; v + 1 < V; v += 2) {
                __m512 sum = _mm512_add_ps(acc[0][v], acc[0][v + 1]);
                if (t != DT_Q6_K)
                    sum = _mm512_add_ps(sum, _mm512_zextps256_ps512(_mm256_add_ps(accm[v], accm[v + 1])));
                y[(v / 2) * y_stride + r] = _mm512_reduce_add_ps(sum);
            }
            continue;
        }
#pragma GCC unroll 8
        for (int v = 0; v < V; v++) {
            __m512 sum = NA == 2 ? _mm512_add_ps(acc[0][v], acc[1][v]) : acc[0][v];
            if (t != DT_Q6_K)
                sum = _mm512_add_ps(sum, _mm512_zextps256_ps512(accm[v]));
            y[v * y_stride + r] = _mm512_reduce_add_ps(sum);
        }
    }
}

#define k_tile(T, V, ...) k_tile_p(T, 0, V, __VA_ARGS__)
#define k2_tile(T, V, ...) k_tile_p(T, 1, V, __VA_ARGS__)

KERN_DEFINE_MATMULS(q4_k, k_tile, k2_tile, DT_Q4_K, 8)
KERN_DEFINE_MATMULS(q5_k, k_tile, k2_tile, DT_Q5_K, 8)
KERN_DEFINE_MATMULS(q6_k, k_tile, k2_tile, DT_Q6_K, 8)

void kern_fill_k_avx512(kern_ops *ops)
{
    ops->matmul[DT_Q4_K] = matmul_q4_k;
    ops->matmul[DT_Q5_K] = matmul_q5_k;
    ops->matmul[DT_Q6_K] = matmul_q6_k;
    ops->matmul2[DT_Q4_K] = matmul2_q4_k;
    ops->matmul2[DT_Q5_K] = matmul2_q5_k;
    ops->matmul2[DT_Q6_K] = matmul2_q6_k;
}
