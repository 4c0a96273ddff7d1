/* kernels_k_avx2.c — AVX2 kernels for the K-quants Q4_K, Q5_K, Q6_K
 * (activations Q8_K).
 *
 * Work goes 32 weights (one YMM of unsigned quants, element order) at a
 * time. Per activation row:
 *     p = vpmaddubsw(q, a)      16 int16 lanes (sums of 2 products, <= 16002)
 *     s += vpmaddwd(p, sc)      times the sub-block scale, pairs into int32
 * so the sub-block scales are applied exactly in integers, and a super-block
 * needs one float conversion per row: acc += s * (d_w * d_a). The Q4_K/Q5_K
 * mins use the activation's bsums (one vpmaddwd with the mins repeated
 * twice); Q6_K's -32 offset is sum_k (-32 * sc[k]) * bsums[k], added to the
 * same integer sum (see kernels_scalar.c for the arithmetic).
 *
 * Tile: 1 row x V vectors (V <= 4). With 16 YMM registers the super-block
 * cannot stay unpacked for all V at once, so the loop goes chunk by chunk
 * (64 weights for Q4_K/Q5_K, 128 for Q6_K): unpack a chunk once, use it for
 * the V activation rows, keeping one int32 sum per row until the end of the
 * super-block.
 */
#include <immintrin.h>

#include "tensor/kernels_internal.h"

static inline size_t k_block_bytes(dtype t)
{
    return t == DT_Q4_K ? sizeof(block_q4_k) : t == DT_Q5_K ? sizeof(block_q5_k) : sizeof(block_q6_k);
}

/* Fifth bits of sub-block j as 0/16 bytes: bit j of each qh byte, moved to bit 4. */
KERN_INLINE __m256i q5k_high(__m256i qh, int j)
{
    __m256i h = _mm256_and_si256(qh, _mm256_set1_epi8((char)(1 << j)));
    /* a lone bit moved within its byte: no 16-bit lane crossing */
    if (j < 4)
        return _mm256_slli_epi16(h, 4 - j);
    return _mm256_srli_epi16(h, j - 4);
}

static inline float hsum_ps(__m256 x)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Q4_K and Q5_K: 4 chunks of 64 weights (sub-blocks 2c and 2c+1). */
KERN_INLINE void k45_super(dtype t, int V, const uint8_t *wb, const block_q8_k *const *ab, __m256 *acc)
{
    const block_q4_k *b4 = (const block_q4_k *)wb;
    const block_q5_k *b5 = (const block_q5_k *)wb;
    const uint8_t *qs = t == DT_Q4_K ? b4->qs : b5->qs;
    uint64_t sc64, m64;
    kern_k_scales64(b4->scales, &sc64, &m64);
    __m256i isum[4];
#pragma GCC unroll 4
    for (int v = 0; v < V; v++)
        isum[v] = _mm256_setzero_si256();
    __m256i qh = t == DT_Q5_K ? _mm256_loadu_si256((const __m256i *)b5->qh) : _mm256_setzero_si256();
    const __m256i m4 = _mm256_set1_epi8(0x0F);
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
        __m256i q0 = _mm256_and_si256(x, m4), q1 = _mm256_and_si256(_mm256_srli_epi16(x, 4), m4);
        if (t == DT_Q5_K) {
            q0 = _mm256_or_si256(q0, q5k_high(qh, 2 * c));
            q1 = _mm256_or_si256(q1, q5k_high(qh, 2 * c + 1));
        }
        __m256i s0 = _mm256_set1_epi16((short)((sc64 >> (16 * c)) & 0xFF));
        __m256i s1 = _mm256_set1_epi16((short)((sc64 >> (16 * c + 8)) & 0xFF));
#pragma GCC unroll 4
        for (int v = 0; v < V; v++) {
            __m256i p0 = _mm256_maddubs_epi16(q0, _mm256_loadu_si256((const __m256i *)(ab[v]->qs + 64 * c)));
            __m256i p1 = _mm256_maddubs_epi16(q1, _mm256_loadu_si256((const __m256i *)(ab[v]->qs + 64 * c + 32)));
            isum[v] = _mm256_add_epi32(isum[v], _mm256_add_epi32(_mm256_madd_epi16(p0, s0), _mm256_madd_epi16(p1, s1)));
        }
    }
    __m128i m16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)m64));
    __m256i mins = _mm256_set_m128i(_mm_unpackhi_epi16(m16, m16), _mm_unpacklo_epi16(m16, m16));
    float d = _cvtsh_ss(b4->d), dmin = _cvtsh_ss(b4->dmin);
#pragma GCC unroll 4
    for (int v = 0; v < V; v++) {
        __m256i mn = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)ab[v]->bsums), mins);
        acc[v] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[v]), _mm256_set1_ps(d * ab[v]->d), acc[v]);
        acc[v] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mn), _mm256_set1_ps(-(dmin * ab[v]->d)), acc[v]);
    }
}

/* Q6_K: two halves of 128 weights, each 4 chunks of 32 (sub-blocks 2g, 2g+1). */
KERN_INLINE void k6_super(int V, const uint8_t *wb, const block_q8_k *const *ab, __m256 *acc)
{
    const block_q6_k *b = (const block_q6_k *)wb;
    __m128i sc8 = _mm_loadu_si128((const __m128i *)b->scales);
    __m256i corr = _mm256_mullo_epi16(_mm256_cvtepi8_epi16(sc8), _mm256_set1_epi16(-32));
    __m256i isum[4];
#pragma GCC unroll 4
    for (int v = 0; v < V; v++)
        isum[v] = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)ab[v]->bsums), corr);
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    /* byte indices [2g x8, 2g+1 x8] pick the scales of chunk g */
    const __m128i pick0 = _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        __m256i ql0 = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * h));
        __m256i ql1 = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * h + 32));
        __m256i qh = _mm256_loadu_si256((const __m256i *)(b->qh + 32 * h));
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            __m256i q;
            if (k == 0)
                q = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
            else if (k == 1)
                q = _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
            else if (k == 2)
                q = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m30));
            else
                q = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                    _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
            const int g = 4 * h + k; /* weights 32g .. 32g+31 */
            __m256i sv = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, _mm_add_epi8(pick0, _mm_set1_epi8((char)(2 * g)))));
#pragma GCC unroll 4
            for (int v = 0; v < V; v++) {
                __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)(ab[v]->qs + 32 * g)));
                isum[v] = _mm256_add_epi32(isum[v], _mm256_madd_epi16(p, sv));
            }
        }
    }
    float d = _cvtsh_ss(b->d);
#pragma GCC unroll 4
    for (int v = 0; v < V; v++)
        acc[v] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[v]), _mm256_set1_ps(d * ab[v]->d), acc[v]);
}

/* P = 1: two-level pairs (kern_matmul2_fn), rows v and v + 1 summed into
 * output v / 2 before the one reduction per row. */
KERN_INLINE void k_tile_p(dtype t, int P, int V, int64_t n, const uint8_t *w, size_t w_row_bytes, int64_t n_rows,
                          const uint8_t *a, size_t a_row_bytes, float *y, int64_t y_stride)
{
    const int64_t nb = n / QK_K;
    const size_t wbb = k_block_bytes(t);
    for (int64_t r = 0; r < n_rows; r++) {
        const uint8_t *wr = w + (size_t)r * w_row_bytes;
        __m256 acc[4];
#pragma GCC unroll 4
        for (int v = 0; v < V; v++)
            acc[v] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const block_q8_k *ab[4];
#pragma GCC unroll 4
            for (int v = 0; v < V; v++)
                ab[v] = (const block_q8_k *)(a + (size_t)v * a_row_bytes) + b;
            kern_prefetch(wr + (size_t)b * wbb, wbb);
            if (t == DT_Q6_K)
                k6_super(V, wr + (size_t)b * wbb, ab, acc);
            else
                k45_super(t, V, wr + (size_t)b * wbb, ab, acc);
        }
        if (P) {
#pragma GCC unroll 4
            for (int v = 0; v + 1 < V; v += 2)
                y[(v / 2) * y_stride + r] = hsum_ps(_mm256_add_ps(acc[v], acc[v + 1]));
            continue;
        }
#pragma GCC unroll 4
        for (int v = 0; v < V; v++)
            y[v * y_stride + r] = hsum_ps(acc[v]);
    }
}

#define k_tile(T, V, ...) k_tile_p(T, 0, V, __VA_ARGS__)
#define k2_tile(T, V, ...) k_tile_p(T, 1, V, __VA_ARGS__)

KERN_DEFINE_MATMULS(q4_k, k_tile, k2_tile, DT_Q4_K, 4)
KERN_DEFINE_MATMULS(q5_k, k_tile, k2_tile, DT_Q5_K, 4)
KERN_DEFINE_MATMULS(q6_k, k_tile, k2_tile, DT_Q6_K, 4)

void kern_fill_k_avx2(kern_ops *ops)
{
    ops->matmul[DT_Q4_K] = matmul_q4_k;
    ops->matmul[DT_Q5_K] = matmul_q5_k;
    ops->matmul[DT_Q6_K] = matmul_q6_k;
    ops->matmul2[DT_Q4_K] = matmul2_q4_k;
    ops->matmul2[DT_Q5_K] = matmul2_q5_k;
    ops->matmul2[DT_Q6_K] = matmul2_q6_k;
}
