/* kernels_wide_avx2.c — the wide path's product with AVX2.
 *
 * A 64-byte panel word is two YMM registers (lanes 0-7 and 8-15 of the
 * panel, i.e. blocks 0-7 and 8-15), handled as two half-panels. vpmaddwd
 * multiplies 16 int16 pairs and adds each pair into a 32-bit lane; vpaddd
 * accumulates, so a lane again holds one block's integer sum (layout in
 * kernels.h). Without AVX-512 there are 16 vector registers: a tile of
 * 2 weight rows x 3 activation rows keeps 6 integer and 6 float
 * accumulators. After each half-panel the integer sums are scaled per lane
 * into the float accumulators, as in the AVX-512 version.
 */
#include <immintrin.h>

#include "tensor/kernels_internal.h"

enum { TR = 2, TV = 3 };

KERN_INLINE void wide_tile(int R, int V, int64_t n_panels, const uint8_t *w, size_t w_row_bytes, const uint8_t *a,
                           size_t a_row_bytes, float *y, int64_t y_stride)
{
    __m256 facc[TR][TV];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++)
            facc[r][v] = _mm256_setzero_ps();
    for (int64_t p = 0; p < n_panels; p++) {
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
            const size_t off = (size_t)p * sizeof(kern_wide_panel) + 32 * (size_t)h;
            __m256i acc[TR][TV];
#pragma GCC unroll 4
            for (int r = 0; r < R; r++)
#pragma GCC unroll 4
                for (int v = 0; v < V; v++)
                    acc[r][v] = _mm256_setzero_si256();
#pragma GCC unroll 2
            for (int k = 0; k < 16; k++) {
                __m256i wv[TR];
#pragma GCC unroll 4
                for (int r = 0; r < R; r++)
                    wv[r] = _mm256_loadu_si256((const __m256i *)(w + r * w_row_bytes + off + 64 * k));
#pragma GCC unroll 4
                for (int v = 0; v < V; v++) {
                    __m256i av = _mm256_loadu_si256((const __m256i *)(a + v * a_row_bytes + off + 64 * k));
#pragma GCC unroll 4
                    for (int r = 0; r < R; r++)
                        acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(wv[r], av));
                }
            }
            const size_t soff = (size_t)p * sizeof(kern_wide_panel) + offsetof(kern_wide_panel, scale) + 32 * (size_t)h;
            const size_t moff = (size_t)p * sizeof(kern_wide_panel) + offsetof(kern_wide_panel, sum) + 32 * (size_t)h;
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                __m256 ws = _mm256_loadu_ps((const float *)(w + r * w_row_bytes + soff));
                __m256 wm = _mm256_loadu_ps((const float *)(w + r * w_row_bytes + moff));
#pragma GCC unroll 4
                for (int v = 0; v < V; v++) {
                    __m256 s = _mm256_mul_ps(ws, _mm256_loadu_ps((const float *)(a + v * a_row_bytes + soff)));
                    facc[r][v] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[r][v]), s, facc[r][v]);
                    facc[r][v] = _mm256_fmadd_ps(wm, _mm256_loadu_ps((const float *)(a + v * a_row_bytes + moff)),
                                                 facc[r][v]);
                }
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++) {
            __m256 s8 = facc[r][v];
            __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
            s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
            s4 = _mm_add_ss(s4, _mm_movehdup_ps(s4));
            y[v * y_stride + r] = _mm_cvtss_f32(s4);
        }
}

#define WIDE_CASE(R_, V_) \
    case (R_) * 8 + (V_): wide_tile(R_, V_, n_panels, w, w_row_bytes, a, a_row_bytes, y, y_stride); return;

static void wide_tile_any(int R, int V, int64_t n_panels, const uint8_t *w, size_t w_row_bytes, const uint8_t *a,
                          size_t a_row_bytes, float *y, int64_t y_stride)
{
    switch (R * 8 + V) {
    WIDE_CASE(1, 1) WIDE_CASE(1, 2) WIDE_CASE(1, 3)
    WIDE_CASE(2, 1) WIDE_CASE(2, 2) WIDE_CASE(2, 3)
    default: return;
    }
}

/* Vectors outermost, as in the AVX-512 version. */
static void gemm16(int64_t n_panels, const void *w, size_t w_row_bytes, int64_t n_rows, const void *a,
                   size_t a_row_bytes, int64_t n_vecs, float *y, int64_t y_stride)
{
    for (int64_t v0 = 0; v0 < n_vecs; v0 += TV) {
        int V = (int)(n_vecs - v0 < TV ? n_vecs - v0 : TV);
        for (int64_t r0 = 0; r0 < n_rows; r0 += TR) {
            int R = (int)(n_rows - r0 < TR ? n_rows - r0 : TR);
            wide_tile_any(R, V, n_panels, (const uint8_t *)w + (size_t)r0 * w_row_bytes, w_row_bytes,
                          (const uint8_t *)a + (size_t)v0 * a_row_bytes, a_row_bytes, y + v0 * y_stride + r0,
                          y_stride);
        }
    }
}

void kern_fill_wide_avx2(kern_ops *ops)
{
    ops->gemm16 = gemm16;
}
