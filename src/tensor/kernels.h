/* kernels.h — the compute kernels: weight rows times activation vectors.
 *
 * Almost all of an LLM's time goes into one operation: a weight matrix
 * (thousands of rows, stored in a compact format such as Q4_K) multiplied by
 * activation vectors. Generating one token multiplies every matrix by ONE
 * vector ("decode": each weight byte is read once and used once, so speed is
 * set by memory bandwidth); reading a prompt multiplies by MANY vectors
 * ("prefill": each weight is reused for every token, so speed is set by
 * arithmetic). This module provides both, for every supported weight type,
 * in three versions chosen once at start-up:
 *   - scalar  (kernels_scalar.c): plain C, the teaching reference;
 *   - avx2    (kernels_*avx2.c):  AVX2 + FMA + F16C, any x86-64 laptop since ~2015;
 *   - avx512  (kernels_*avx512.c): AVX-512 F/BW/DQ/VL + VNNI (int8 dot products).
 * LOCALSEEK_CPU=scalar|avx2|avx512 forces a path (a path this CPU lacks is
 * refused with a warning and the best available one is used). The choice is
 * logged at info level: "kernels: avx512 (AVX-512 F/BW/DQ/VL + VNNI)".
 *
 * Activations are converted once per matrix product. For a weight type t the
 * activation row is stored in dtype_get(t)->dot_type:
 *   Q8_0, Q4_0, Q5_0 weights -> Q8_0 activations (blocks of 32, one F16 scale)
 *   Q4_1, Q5_1               -> Q8_1 (Q8_0 plus s = d * sum(q))
 *   Q4_K, Q5_K, Q6_K         -> Q8_K (blocks of 256, F32 scale, sums of 16)
 *   F32, F16, BF16           -> F32 (the weights are widened to F32 inside the
 *                               kernel, which is more accurate than rounding
 *                               the activations to 16 bits)
 * so that every product inside a block is an exact small-integer product,
 * which the SIMD units do 32 to 64 at a time.
 *
 * Why rounding activations to 8 bits is safe: within a block of 32 (or 256)
 * values the step is d = max|x| / 127, so each value moves by at most d/2,
 * i.e. by at most 1/254 of the block's largest value. These errors are
 * independent and of both signs, so over a dot product of n = 1536..18944
 * terms they mostly cancel: the error grows like sqrt(n) while the result
 * grows like n. llama.cpp does the same; ../shared/golden/README.md lists
 * the resulting logit error of its CPU path (for example max 0.18, mean 0.035
 * on golden-qwen2-q4_k_m), which the engine's tests compare ours against.
 * Our quantizers round with the scale as actually stored (the F16-rounded d
 * for Q8_0/Q8_1), so the stored value is always the nearest representable.
 *
 * Exactness contract: for the integer formats every path computes the same
 * integer sums within each block (integer addition is exact in any order);
 * only the order of the float scalings differs, so SIMD results match the
 * scalar reference to about 1e-6 of sum|w*x|. The activation quantizers give
 * bit-identical bytes on every path. The two-level forms of the default
 * 16-bit mode (kern_quantize2) are the exception: a path may have its own
 * (AVX-512 for the K-quants; AVX2 and AVX-512 share one for Q8_0, byte for
 * byte), with a second level about as fine as the generic one's,
 * so paths agree there to the activations' rounding (~1/65000 of a block's
 * largest value), and each path's products are exact on its own form.
 *
 * Owns: the kernel tables and the CPU detection. Does not: allocate (the
 * caller owns every buffer, including the scratch for converted activations),
 * create threads (kern_matmul_pool uses the caller's pool), or decide which
 * type a tensor should have.
 * Called by: the model's forward pass (kern_matmul_pool), the quantizer's
 * self-checks, `localseek bench --kernels`, tests.
 */
#ifndef LS_KERNELS_H
#define LS_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/dtype.h"
#include "base/threadpool.h"

typedef enum {
    KERN_SCALAR = 0,
    KERN_AVX2 = 1,
    KERN_AVX512 = 2,
    KERN_ISA_COUNT
} kern_isa;

/* Converts n floats (a multiple of the activation type's block size) into one
 * activation row; y holds dtype_row_bytes(act_type, n) bytes. Round to
 * nearest (ties to even), values in -127..127. */
typedef void (*kern_quantize_fn)(const float *x, void *y, int64_t n);

/* The matrix product, single-threaded over the rows it is given:
 *   y[v * y_stride + r] = dot(weight row r, activation row v)
 * for r < n_rows, v < n_vecs. Weight row r starts at w + r * w_row_bytes and
 * holds n elements of the weight type; activation row v starts at
 * a + v * a_row_bytes and holds n elements of the type's dot_type (floats for
 * F32/F16/BF16 weights). n must fit the weight type's block size.
 * Callers that split the rows across threads offset w and y themselves. */
typedef void (*kern_matmul_fn)(int64_t n, const void *w, size_t w_row_bytes, int64_t n_rows,
                               const void *a, size_t a_row_bytes, int64_t n_vecs,
                               float *y, int64_t y_stride);

/* The 16-bit ("wide") path's product over expanded rows (kernels_wide.c):
 *   y[v * y_stride + r] = dot(weight row r, activation row v)
 * for r < n_rows, v < n_vecs, each row being n_panels kern_wide_panel, weight
 * rows w_row_bytes apart, activation rows a_row_bytes apart. */
typedef void (*kern_gemm16_fn)(int64_t n_panels, const void *w, size_t w_row_bytes, int64_t n_rows,
                               const void *a, size_t a_row_bytes, int64_t n_vecs, float *y, int64_t y_stride);

typedef struct {
    kern_isa isa;
    const char *name;        /* as LOCALSEEK_CPU spells it: "scalar", "avx2", "avx512" */
    const char *features;    /* for people: "AVX-512 F/BW/DQ/VL + VNNI" */
    kern_quantize_fn quantize[DT_COUNT]; /* indexed by activation type: Q8_0, Q8_1, Q8_K */
    kern_matmul_fn matmul[DT_COUNT];     /* indexed by weight type; NULL if unsupported */
    /* Two-level activations (see kern_quantize2): the n_vecs activation rows
     * come in pairs, each pair one vector as kern_quantize2 wrote it, and y
     * row v/2 gets its product with all of the pair, summed before the final
     * reduction. NULL where a path has none (the caller then uses matmul on
     * both rows of the generic form and adds). */
    kern_matmul_fn matmul2[DT_COUNT];
    /* A path's own two-level form for an activation type, indexed like
     * quantize; NULL = the generic form. quantize2 writes n floats into the
     * 2 * dtype_row_bytes(act_type, n) bytes of a pair, dequantize2 reads
     * them back as the values the products use (for tests). */
    kern_quantize_fn quantize2[DT_COUNT];
    void (*dequantize2[DT_COUNT])(const void *src, float *y, int64_t n);
    /* Benchmark probes. read_sum streams n_bytes (a multiple of 64, 64-byte
     * aligned) with the widest loads of this path and returns a checksum, so
     * the memory-bandwidth figure uses the same loads as the kernels.
     * int8_spin runs n_iters rounds of this path's best int8 multiply-add
     * sequence on registers and returns how many multiply-adds that was
     * (0 for scalar): the compute ceiling prefill is measured against. */
    kern_gemm16_fn gemm16;               /* the wide path's product (every path has one) */
    void (*wide_expand)(dtype t, const void *w, int64_t n, void *dst); /* kern_wide_expand, faster */
    void (*wide_quantize)(const float *x, int64_t n, void *dst);      /* kern_wide_quantize, faster */
    uint64_t (*read_sum)(const void *p, size_t n_bytes);
    uint64_t (*int8_spin)(int64_t n_iters);
} kern_ops;

/* The table chosen for this CPU (and LOCALSEEK_CPU), picked on first use and
 * logged once. Thread-safe. Never NULL. */
const kern_ops *kern_get(void);
/* The table of one path, or NULL when this CPU (or OS) cannot run it. Tests
 * and benchmarks use it to compare paths. */
const kern_ops *kern_get_isa(kern_isa isa);
/* What kern_get() would choose for a LOCALSEEK_CPU value (NULL or "" = best
 * available). Unknown names and paths this CPU lacks give the best available
 * path; *note (if not NULL) then points to a sentence saying why, else NULL. */
kern_isa kern_choose(const char *request, const char **note);
/* "scalar", "avx2", "avx512"; "?" otherwise. */
const char *kern_isa_name(kern_isa isa);

/* True when every path has kernels for weight type t. */
bool kern_supports(dtype t);

/* One weight row (n elements of type t) dotted with one activation row in
 * t's dot_type. */
static inline float kern_dot(const kern_ops *ops, dtype t, int64_t n, const void *w, const void *a)
{
    float y;
    ops->matmul[t](n, w, 0, 1, a, 0, 1, &y, 0);
    return y;
}

/* The two-level form of n floats (a multiple of the activation type at's
 * block size) at dst, 2 * dtype_row_bytes(at, n) bytes, as ops->matmul2 reads
 * it. Rounding activations to 8 bits is where almost all of the arithmetic
 * error of a quantized model comes from, so the default (16-bit) mode keeps
 * what the first rounding missed as a second 8-bit level: w.x = w.hi + w.lo.
 * The generic form is a row of hi = round8(x) followed by a row of
 * lo = round8(x - hi), whose step is ~254 times finer, both ordinary rows of
 * type at; a path may have its own form (ops->quantize2). */
void kern_quantize2(const kern_ops *ops, dtype at, const float *x, int64_t n, void *dst);
/* What kern_quantize2 wrote, back as floats (hi + lo). */
void kern_dequantize2(const kern_ops *ops, dtype at, const void *src, int64_t n, float *y);

/* Bytes of one converted activation row for weight type t and n elements
 * (n * 4 for float weights, whose activations need no conversion). */
size_t kern_act_row_bytes(dtype t, int64_t n);

/* The whole matrix product on a thread pool, as the forward pass calls it:
 *   y[v * y_stride + r] = sum_i W[r][i] * x[v * x_stride + i]
 * for r < n_rows, v < n_vecs, where W has n_rows rows of n elements of type t,
 * row_bytes apart. The float activations x are first converted (in parallel)
 * into scratch, which must hold n_vecs * kern_act_row_bytes(t, n) bytes for
 * quantized t (float types read x directly; scratch may then be NULL), then
 * each thread computes its share of the rows for all vectors. p may be NULL
 * (run on the calling thread). Uses kern_get(). Allocates nothing. */
void kern_matmul_pool(pool *p, dtype t, const void *w, size_t w_row_bytes, int64_t n_rows, int64_t n,
                      const float *x, int64_t x_stride, int64_t n_vecs,
                      float *y, int64_t y_stride, void *scratch, size_t scratch_bytes);

/* ------------------------------------------------------------------------
 * The wide path: 16-bit activations for prefill (kernels_wide.c explains).
 *
 * A row of n elements (a multiple of 32) is stored as kern_wide_panels(n)
 * panels of 16 blocks of 32 (the last one padded with zero blocks):
 *
 *   word k (64 bytes) = [ block 0: e2k e2k+1 | block 1: e2k e2k+1 | ... | block 15 ]
 *   k = 0..15, each e an int16; then scale[16] and sum[16] (floats)
 *
 * Activations: e = round(x / scale) with scale = max|x| / 16383 per block,
 * sum = scale * (sum of the block's e). Weights: e the format's integers
 * (offsets applied; Q6_K also times its int8 sub-block scales), scale the
 * float factor of the block, sum the "min" coefficient (Q4_1/Q5_1: m;
 * Q4_K/Q5_K: -dmin * m[j]; else 0). Then for every block
 *   sum_i w_i x_i = w.scale * a.scale * sum_i e_w,i e_a,i + w.sum * a.sum.
 * ------------------------------------------------------------------------ */
enum { KERN_WIDE_LANES = 16 };

typedef struct {
    int16_t q[16][KERN_WIDE_LANES][2];
    float scale[KERN_WIDE_LANES];
    float sum[KERN_WIDE_LANES];
} kern_wide_panel;

/* Panels in a row of n elements, and their bytes. */
int64_t kern_wide_panels(int64_t n);
size_t kern_wide_row_bytes(int64_t n);
/* True for the integer weight types the wide path can expand. */
bool kern_wide_supports(dtype t);
/* n floats (a multiple of 32) -> one wide activation row at dst. */
void kern_wide_quantize(const float *x, int64_t n, void *dst);
/* One weight row of type t (kern_wide_supports) -> one wide row at dst: the
 * reference; kern_ops.wide_expand gives the same bytes faster. */
void kern_wide_expand(dtype t, const void *w, int64_t n, void *dst);

/* Rows [r0, r0 + nr) of a weight matrix of type t (kern_wide_supports)
 * times n_vecs wide activation rows a (kern_wide_row_bytes(n) apart):
 *   y[v * y_stride + r] for r0 <= r < r0 + nr,
 * expanding the rows a chunk at a time into buf (buf_bytes, at least one
 * expanded row; a few hundred KiB keeps a chunk in L2). Single-threaded:
 * callers split the rows. */
void kern_wide_rows(const kern_ops *ops, dtype t, const void *w, size_t w_row_bytes, int64_t n, int64_t r0,
                    int64_t nr, const void *a, int64_t n_vecs, float *y, int64_t y_stride, void *buf,
                    size_t buf_bytes);

/* Fills one row (n elements of type t) with random but valid data — finite
 * F16 scales of a realistic size, arbitrary quants — from the xorshift state
 * *seed (non-zero). For tests and benchmarks, which need weights without a
 * quantizer in the loop. */
void kern_fill_random_row(dtype t, void *row, int64_t n, uint64_t *seed);

#endif
