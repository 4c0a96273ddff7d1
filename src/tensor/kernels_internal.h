/* kernels_internal.h — what the per-ISA kernel files share with kernels.c.
 *
 * Each ISA file fills its part of one kern_ops table; kernels.c owns the
 * tables' assembly, the CPU detection and the loop that walks a matrix
 * product tile by tile (kern_run_tiles), so that every ISA file only has to
 * write "one row chunk times V vectors" for each fixed V.
 *
 * Owns: nothing. Not for use outside src/tensor/kernels*.c.
 */
#ifndef LS_KERNELS_INTERNAL_H
#define LS_KERNELS_INTERNAL_H

#include "tensor/kernels.h"

/* Computes y[v * y_stride + r] for r < n_rows and v < V, the prefill
 * kernel's register tile: each weight block is unpacked once and used for
 * all V activation rows while it sits in registers. 1 <= V <= the v_max the
 * type's matmul passes to kern_run_tiles. */
typedef void (*kern_tile_fn)(int V, int64_t n, const uint8_t *w, size_t w_row_bytes, int64_t n_rows,
                             const uint8_t *a, size_t a_row_bytes, float *y, int64_t y_stride);

/* The matrix product from a tile function. Walks the rows in chunks whose
 * weights fit in the L2 cache and, for each chunk, all vectors in groups of
 * v_max, so that weights are read from memory once per call even when
 * n_vecs is large. */
void kern_run_tiles(kern_tile_fn tile, int v_max, int64_t n, const void *w, size_t w_row_bytes,
                    int64_t n_rows, const void *a, size_t a_row_bytes, int64_t n_vecs, float *y,
                    int64_t y_stride);
/* The same for a two-level tile (kern_matmul2_fn): activation rows come in
 * (hi, lo) pairs and output row v/2 gets their sum; v_max and n_vecs even. */
void kern_run_tiles2(kern_tile_fn tile, int v_max, int64_t n, const void *w, size_t w_row_bytes,
                     int64_t n_rows, const void *a, size_t a_row_bytes, int64_t n_vecs, float *y,
                     int64_t y_stride);

/* For the ISA files. A tile body is an always-inline function
 * body(T, V, n, w, w_row_bytes, n_rows, a, a_row_bytes, y, y_stride) with a
 * compile-time type T and width V; KERN_TILE_SWITCH gives every V its own
 * compiled copy (so V-indexed accumulator arrays are unrolled into
 * registers), KERN_DEFINE_MATMUL wraps a tile function as a kern_matmul_fn. */
#define KERN_TILE_CASE(body, T, V_) \
    case V_: body(T, V_, n, w, w_row_bytes, n_rows, a, a_row_bytes, y, y_stride); return;
#define KERN_TILE_SWITCH_4(body, T) \
    switch (V) { KERN_TILE_CASE(body, T, 1) KERN_TILE_CASE(body, T, 2) KERN_TILE_CASE(body, T, 3) \
                 KERN_TILE_CASE(body, T, 4) default: return; }
#define KERN_TILE_SWITCH_8(body, T) \
    switch (V) { KERN_TILE_CASE(body, T, 1) KERN_TILE_CASE(body, T, 2) KERN_TILE_CASE(body, T, 3) \
                 KERN_TILE_CASE(body, T, 4) KERN_TILE_CASE(body, T, 5) KERN_TILE_CASE(body, T, 6) \
                 KERN_TILE_CASE(body, T, 7) KERN_TILE_CASE(body, T, 8) default: return; }
#define KERN_DEFINE_TILE(name, body, T, width)                                                     \
    static void name(int V, int64_t n, const uint8_t *w, size_t w_row_bytes, int64_t n_rows,       \
                     const uint8_t *a, size_t a_row_bytes, float *y, int64_t y_stride)              \
    {                                                                                               \
        KERN_TILE_SWITCH_##width(body, T)                                                           \
    }
#define KERN_DEFINE_MATMUL(name, tile, v_max)                                                       \
    static void name(int64_t n, const void *w, size_t w_row_bytes, int64_t n_rows, const void *a,  \
                     size_t a_row_bytes, int64_t n_vecs, float *y, int64_t y_stride)                \
    {                                                                                               \
        kern_run_tiles(tile, v_max, n, w, w_row_bytes, n_rows, a, a_row_bytes, n_vecs, y, y_stride); \
    }

#define KERN_DEFINE_MATMUL2(name, tile, v_max)                                                      \
    static void name(int64_t n, const void *w, size_t w_row_bytes, int64_t n_rows, const void *a,  \
                     size_t a_row_bytes, int64_t n_vecs, float *y, int64_t y_stride)                \
    {                                                                                               \
        kern_run_tiles2(tile, v_max, n, w, w_row_bytes, n_rows, a, a_row_bytes, n_vecs, y, y_stride); \
    }

/* A type's single and two-level tiles and products in one line: tile_SFX,
 * tile2_SFX, matmul_SFX, matmul2_SFX, width V <= width. */
#define KERN_DEFINE_MATMULS(sfx, body, body2, T, width)                                            \
    KERN_DEFINE_TILE(tile_##sfx, body, T, width)                                                    \
    KERN_DEFINE_TILE(tile2_##sfx, body2, T, width)                                                  \
    KERN_DEFINE_MATMUL(matmul_##sfx, tile_##sfx, width)                                             \
    KERN_DEFINE_MATMUL2(matmul2_##sfx, tile2_##sfx, width)

/* Software prefetch of the weight stream, KERN_PREFETCH_AHEAD bytes ahead
 * of the block a tile is about to unpack (n_bytes: that block's size). In
 * decode a thread does little work per weight byte, and asking for the
 * bytes early keeps more of them in flight than the hardware prefetcher
 * alone: tg128 of the 1.5B Q4_K_M shape went from ~22.6 to ~25.7 tokens/s
 * (2048 bytes ahead; 1024 gave ~25.5, 4096 the same as 2048 within the
 * noise). A prefetch never faults, so reading past a matrix's end is fine. */
enum { KERN_PREFETCH_AHEAD = 2048 };
static inline void kern_prefetch(const uint8_t *block, size_t n_bytes)
{
    for (size_t o = 0; o < n_bytes; o += 64)
        __builtin_prefetch(block + KERN_PREFETCH_AHEAD + o, 0, 3);
}

/* Forces inlining of tile bodies (their V-sized arrays must be unrolled). */
#define KERN_INLINE static inline __attribute__((always_inline))

/* Per-ISA table fillers (each sets the entries it implements). */
void kern_fill_scalar(kern_ops *ops);
void kern_fill_avx2(kern_ops *ops);
void kern_fill_avx512(kern_ops *ops);
/* Split files of the same ISA (type-0 blocks, K-quants). */
void kern_fill_q_avx2(kern_ops *ops);
void kern_fill_k_avx2(kern_ops *ops);
void kern_fill_q_avx512(kern_ops *ops);
void kern_fill_k_avx512(kern_ops *ops);
void kern_fill_wide_scalar(kern_ops *ops);
/* The wide path's register tile: rows R <= tr of expanded weights times
 * V <= tv wide activation rows (layout in kernels.h). */
typedef void (*kern_wide_tile_fn)(int R, int V, int64_t n_panels, const uint8_t *w, size_t w_row_bytes,
                                  const uint8_t *a, size_t a_row_bytes, float *y, int64_t y_stride);
/* The wide product from a tile function: vectors outermost, so one group of
 * tv activation rows stays in L1/L2 while every weight row of the (L2-sized)
 * expanded chunk passes by. */
void kern_wide_run_tiles(kern_wide_tile_fn tile, int tr, int tv, int64_t n_panels, const void *w,
                         size_t w_row_bytes, int64_t n_rows, const void *a, size_t a_row_bytes, int64_t n_vecs,
                         float *y, int64_t y_stride);
/* A SIMD expander's core: eight blocks (256 weights) of a Q4_K, Q6_K, Q8_0
 * or Q4_0 row from block b0 (a multiple of 8) into their half panel. */
typedef void (*kern_expand8_fn)(dtype t, const uint8_t *row, int64_t b0, kern_wide_panel *panels);
/* kern_wide_expand with expand8 for the types it handles and the whole
 * groups of eight blocks; the rest (other types, a row's last blocks)
 * through the reference code. */
void kern_wide_expand_by8(kern_expand8_fn expand8, dtype t, const void *w, int64_t n, void *dst);
/* A SIMD activation rounder's core: blocks b0 .. b0+7 (b0 a multiple of 8)
 * of a float row into their half panel, the same bytes as
 * kern_wide_quantize. kern_wide_quantize_by8 runs it over the whole groups
 * of eight and the reference code over the rest. */
typedef void (*kern_quantize8_fn)(const float *x, int64_t b0, kern_wide_panel *panels);
void kern_wide_quantize_by8(kern_quantize8_fn quantize8, const float *x, int64_t n, void *dst);
void kern_fill_wide_avx2(kern_ops *ops);
void kern_fill_wide_avx512(kern_ops *ops);

/* The pair form of Q8_0 activations for the default 16-bit mode (AVX2 and
 * AVX-512; the K-quants have their own, kernels_k_avx512.c). Each block of
 * 32 activations is kept in two levels with steps in a fixed ratio:
 *     s = max|x| / 127,  hi = round(x / s),  lo = round((x - s * hi) / (s / 255))
 * so x ~ (255 * hi + lo) * (s / 255) to within s / 510. The ratio is 255,
 * not 256, because the kernels' sign trick negates lo, which must therefore
 * stay within -127..127 (|residual| <= s/2 gives |lo| <= 127.5: only an exact
 * tie is clamped). The scale is kept as an F32 s / 255 (the generic form's
 * F16 scales lose the lo level of blocks with tiny values). Per unit of two
 * blocks, 136 bytes = the two Q8_0 rows it replaces:
 *     hi[64] | lo[64] | d[2]
 * and a row's odd last block is a unit of its own, hi[32] | lo[32] | d; so
 * block b's unit starts at byte 68 * (b & ~1). The kernels add the levels'
 * integer sums, 255 * hi + lo, before the one conversion to float: per
 * 32-bit lane at most 4 products, 4 * 128 * 127 * 256 < 2^24, so the
 * conversion is exact. The SIMD quantizers write identical bytes. */
enum { KERN_Q8_0_PAIR_RATIO = 255 };
void kern_dequantize2_q8_0_pair(const void *src, float *y, int64_t n);

/* Round-to-nearest-even of an activation value already scaled into
 * [-127.06, 127.06], clamped to the symmetric int8 range. The scalar
 * quantizers use it; the SIMD ones use the CPU's default rounding
 * (also nearest-even), so all paths give the same bytes. */
int kern_round_q8(float v);

/* Unpacks the eight 6-bit scales and eight 6-bit mins of a Q4_K/Q5_K block
 * (layout in dtype.h) four at a time with 32-bit masks: byte j of *sc is
 * sc[j], byte j of *m is m[j]. Little-endian. */
static inline void kern_k_scales64(const uint8_t *scales, uint64_t *sc, uint64_t *m)
{
    uint64_t lo; /* bytes 0-7 */
    uint32_t u2; /* bytes 8-11 (two loads keep everything in registers) */
    memcpy(&lo, scales, 8);
    memcpy(&u2, scales + 8, 4);
    uint32_t u0 = (uint32_t)lo, u1 = (uint32_t)(lo >> 32);
    uint32_t sc_lo = u0 & 0x3f3f3f3fu;
    uint32_t m_lo = u1 & 0x3f3f3f3fu;
    uint32_t sc_hi = (u2 & 0x0f0f0f0fu) | (((u0 >> 6) & 0x03030303u) << 4);
    uint32_t m_hi = ((u2 >> 4) & 0x0f0f0f0fu) | (((u1 >> 6) & 0x03030303u) << 4);
    *sc = (uint64_t)sc_hi << 32 | sc_lo;
    *m = (uint64_t)m_hi << 32 | m_lo;
}

/* The same as byte arrays sc[0..7], m[0..7]. */
static inline void kern_unpack_k_scales(const uint8_t *scales, uint8_t sc[8], uint8_t m[8])
{
    uint64_t s64, m64;
    kern_k_scales64(scales, &s64, &m64);
    memcpy(sc, &s64, 8);
    memcpy(m, &m64, 8);
}

#endif
