/* kernels_wide_simd.h — what the AVX2 and AVX-512 wide expanders share: the
 * float factors of eight blocks (half a panel), written with AVX2 + F16C
 * instructions, which both files are compiled with. The integers differ
 * per instruction set and stay in each file.
 *
 * Include only from kernels_wide_avx2.c and kernels_wide_avx512.c.
 */
#ifndef LS_KERNELS_WIDE_SIMD_H
#define LS_KERNELS_WIDE_SIMD_H

#include <immintrin.h>

#include "tensor/kernels_internal.h"

/* Scale and min coefficient of blocks b0 .. b0+7 of a Q4_K, Q6_K, Q8_0 or
 * Q4_0 row (b0 a multiple of 8) into half h of panel p — the values
 * kern_wide_expand writes, computed the same way. */
static inline void wide_store_factors8(dtype t, const uint8_t *row, int64_t b0, kern_wide_panel *p, int h)
{
    __m256 ws, wm = _mm256_setzero_ps();
    if (t == DT_Q4_K) {
        const block_q4_k *sb = (const block_q4_k *)row + b0 / 8;
        uint64_t sc, m;
        kern_k_scales64(sb->scales, &sc, &m);
        __m256 scf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)sc)));
        __m256 mf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)m)));
        ws = _mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(sb->d)), scf);
        wm = _mm256_mul_ps(_mm256_set1_ps(-_cvtsh_ss(sb->dmin)), mf);
    } else if (t == DT_Q6_K) {
        ws = _mm256_set1_ps(_cvtsh_ss(((const block_q6_k *)row + b0 / 8)->d));
    } else {
        float d[8];
        for (int s = 0; s < 8; s++)
            d[s] = _cvtsh_ss(t == DT_Q8_0 ? ((const block_q8_0 *)row + b0 + s)->d
                                          : ((const block_q4_0 *)row + b0 + s)->d);
        ws = _mm256_loadu_ps(d);
    }
    _mm256_storeu_ps(p->scale + 8 * h, ws);
    _mm256_storeu_ps(p->sum + 8 * h, wm);
}

#endif
