/* quant.h — converting rows of numbers between F32 and the stored formats.
 *
 * Quantizing is like writing a column of prices as "x 0.05 EUR" once and
 * then small whole numbers: each block of 32 (or 256) weights shares one
 * scale, and each weight keeps only 4 to 8 bits. Rounding to the nearest
 * step is safe because a weight's exact value matters much less than the
 * sum over thousands of them in a dot product, where the rounding errors,
 * positive and negative, mostly cancel.
 *
 * Two directions, one row at a time (n elements, a multiple of the type's
 * block size — see dtype_row_fits):
 *   - quant_dequantize_row: stored format -> F32. This is the scalar
 *     reference that teaches each block layout (drawn in dtype.h); the SIMD
 *     kernels must agree with it.
 *   - quant_quantize_row: F32 -> stored format, searching for the scales
 *     that give the smallest squared error (this is the offline quantizer's
 *     path: it favours accuracy over speed, ~10-40 ns per weight).
 *   - quant_quantize_row_ref: F32 -> stored format with the plain
 *     deterministic rounding that ggml's reference quantizer uses, bit for
 *     bit, for the 32-element types and the activation types (Q8_0, Q8_1,
 *     Q8_K, Q4_0, Q4_1, Q5_0, Q5_1). For the K-quants it is the same as
 *     quant_quantize_row. Used to check compatibility with files made by
 *     llama.cpp and by `localseek quantize --ref`.
 *
 * Types: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q4_K, Q5_K,
 * Q6_K, Q8_K (Q8_1 and Q8_K are activation formats: quantizing to them is
 * the reference for the kernels' own fast versions).
 *
 * Inputs must be finite (qmodel checks weights before it calls in here);
 * outputs of dequantization are finite for any block whose F16 scales are.
 *
 * Owns: nothing (pure functions, no allocation, thread-safe).
 * Does not: choose types for a model (qmodel.h) or compute dot products
 * (kernels.h).
 * Called by: qmodel (the quantizer), model loading (dequantizing small
 * tensors), kernels' tests, tests.
 */
#ifndef LS_QUANT_H
#define LS_QUANT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/dtype.h"

/* Can this type be read back to F32 (dequantized) / written from F32? */
bool quant_can_dequantize(dtype t);
bool quant_can_quantize(dtype t);

/* src: n elements of type t (n / block_elems blocks); dst: n floats.
 * t must satisfy quant_can_dequantize and n must fit the block size
 * (programmer errors, checked with assert). */
void quant_dequantize_row(dtype t, const void *src, float *dst, int64_t n);

/* src: n finite floats; dst: dtype_row_bytes(t, n) bytes. Same rules. */
void quant_quantize_row(dtype t, const float *src, void *dst, int64_t n);
void quant_quantize_row_ref(dtype t, const float *src, void *dst, int64_t n);

#endif
