/* kernels_wide_avx512.c — the wide path's product with AVX-512 VNNI.
 *
 * One 64-byte word of a panel is one ZMM register; vpdpwssd multiplies 32
 * int16 pairs and adds each pair's sum into its 32-bit lane, which is
 * exactly one block's running integer sum (layout in kernels.h). A register
 * tile of 4 weight rows x 4 activation rows keeps 16 integer accumulators
 * and 16 float accumulators: per word, 8 loads feed 16 vpdpwssd. After each
 * panel the integer sums are scaled per lane (cvt, one multiply, one FMA,
 * one FMA for the "min" term) into the float accumulators, and reset.
 */
#include <immintrin.h>

#include "tensor/kernels_internal.h"

enum { TR = 4, TV = 4 };

KERN_INLINE void wide_tile(int R, int V, int64_t n_panels, const uint8_t *w, size_t w_row_bytes, const uint8_t *a,
                           size_t a_row_bytes, float *y, int64_t y_stride)
{
    __m512 facc[TR][TV];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++)
            facc[r][v] = _mm512_setzero_ps();
    for (int64_t p = 0; p < n_panels; p++) {
        const size_t off = (size_t)p * sizeof(kern_wide_panel);
        __m512i acc[TR][TV];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
#pragma GCC unroll 4
            for (int v = 0; v < V; v++)
                acc[r][v] = _mm512_setzero_si512();
#pragma GCC unroll 2
        for (int k = 0; k < 16; k++) {
            __m512i av[TV];
#pragma GCC unroll 4
            for (int v = 0; v < V; v++)
                av[v] = _mm512_loadu_si512(a + v * a_row_bytes + off + 64 * k);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                __m512i wv = _mm512_loadu_si512(w + r * w_row_bytes + off + 64 * k);
#pragma GCC unroll 4
                for (int v = 0; v < V; v++)
                    acc[r][v] = _mm512_dpwssd_epi32(acc[r][v], wv, av[v]);
            }
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const kern_wide_panel *wp = (const kern_wide_panel *)(w + r * w_row_bytes + off);
            __m512 ws = _mm512_loadu_ps(wp->scale), wm = _mm512_loadu_ps(wp->sum);
#pragma GCC unroll 4
            for (int v = 0; v < V; v++) {
                const kern_wide_panel *ap = (const kern_wide_panel *)(a + v * a_row_bytes + off);
                __m512 s = _mm512_mul_ps(ws, _mm512_loadu_ps(ap->scale));
                facc[r][v] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][v]), s, facc[r][v]);
                facc[r][v] = _mm512_fmadd_ps(wm, _mm512_loadu_ps(ap->sum), facc[r][v]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++)
            y[v * y_stride + r] = _mm512_reduce_add_ps(facc[r][v]);
}

#define WIDE_CASE(R_, V_) \
    case (R_) * 8 + (V_): wide_tile(R_, V_, n_panels, w, w_row_bytes, a, a_row_bytes, y, y_stride); return;

static void wide_tile_any(int R, int V, int64_t n_panels, const uint8_t *w, size_t w_row_bytes, const uint8_t *a,
                          size_t a_row_bytes, float *y, int64_t y_stride)
{
    switch (R * 8 + V) {
    WIDE_CASE(1, 1) WIDE_CASE(1, 2) WIDE_CASE(1, 3) WIDE_CASE(1, 4)
    WIDE_CASE(2, 1) WIDE_CASE(2, 2) WIDE_CASE(2, 3) WIDE_CASE(2, 4)
    WIDE_CASE(3, 1) WIDE_CASE(3, 2) WIDE_CASE(3, 3) WIDE_CASE(3, 4)
    WIDE_CASE(4, 1) WIDE_CASE(4, 2) WIDE_CASE(4, 3) WIDE_CASE(4, 4)
    default: return;
    }
}

/* Vectors outermost: one group of 4 activation rows stays in L1/L2 while
 * every weight row of the (L2-sized) expanded chunk passes by. */
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

void kern_fill_wide_avx512(kern_ops *ops)
{
    ops->gemm16 = gemm16;
}
