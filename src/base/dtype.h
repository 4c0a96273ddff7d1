/* dtype.h — the numeric formats a tensor can be stored in, and their block layouts.
 *
 * A quantized format stores numbers in small blocks that share a scale: like
 * writing a column of prices as "× 0.01 €" once and then small integers. Each
 * block below is drawn byte by byte, with a _Static_assert on its size, and
 * matches the layouts used across the GGUF ecosystem (ggml), so files written
 * by other tools load here and ours load there.
 *
 * Type ids are the ones stored in GGUF files (ggml's numbering). Known ids we
 * cannot compute with yet (Q2_K, Q3_K, IQ*) still have names, so errors can
 * say "tensor blk.0.ffn_up.weight is Q2_K, which localseek does not support".
 *
 * Owns: the type table, block structs, F16/BF16 <-> F32 conversion.
 * Does not: quantize or compute (see tensor/quant.h and tensor/kernels.h).
 * Called by: gguf (sizes), tensor (quant, kernels), model, apps.
 *
 * It lives in base, below gguf, because the file format needs the sizes of
 * the types it stores; nothing here depends on the tensor layer (no function
 * pointers, no kernels), so the whole table moved as one piece.
 */
#ifndef LS_DTYPE_H
#define LS_DTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum {
    DT_F32 = 0,
    DT_F16 = 1,
    DT_Q4_0 = 2,
    DT_Q4_1 = 3,
    DT_Q5_0 = 6,
    DT_Q5_1 = 7,
    DT_Q8_0 = 8,
    DT_Q8_1 = 9,
    DT_Q2_K = 10,
    DT_Q3_K = 11,
    DT_Q4_K = 12,
    DT_Q5_K = 13,
    DT_Q6_K = 14,
    DT_Q8_K = 15,
    DT_IQ2_XXS = 16,
    DT_IQ2_XS = 17,
    DT_IQ3_XXS = 18,
    DT_IQ1_S = 19,
    DT_IQ4_NL = 20,
    DT_IQ3_S = 21,
    DT_IQ2_S = 22,
    DT_IQ4_XS = 23,
    DT_I8 = 24,
    DT_I16 = 25,
    DT_I32 = 26,
    DT_I64 = 27,
    DT_F64 = 28,
    DT_IQ1_M = 29,
    DT_BF16 = 30,
    DT_TQ1_0 = 34,
    DT_TQ2_0 = 35,
    DT_COUNT = 40 /* one past the largest id we know the name of */
} dtype;

typedef struct {
    const char *name;   /* "Q4_K"; NULL for ids that were never assigned */
    int block_elems;    /* elements per block: 1 (float types), 32, or 256 (K-quants) */
    int block_bytes;    /* bytes per block */
    bool supported;     /* localseek can dequantize and compute with it */
    dtype dot_type;     /* format activations are converted to before a dot product with
                           a weight row of this type (F32 for float weights, Q8_0/Q8_1/Q8_K
                           for quantized ones); meaningful only when supported */
} dtype_info;

/* The table row for a type id read from a file; NULL if the id is unknown. */
const dtype_info *dtype_get(uint32_t id);
/* Name for messages: "Q4_K", or "unknown type 77". Never NULL (the unknown
 * form uses a per-thread buffer). */
const char *dtype_name(uint32_t id);
/* Looks a name up (case-insensitive, e.g. "q8_0"); returns -1 if unknown. */
int dtype_from_name(const char *name);
/* Bytes for one row of n_elems elements; n_elems must be a multiple of the
 * block size (check with dtype_row_fits first). */
size_t dtype_row_bytes(dtype t, int64_t n_elems);
bool dtype_row_fits(dtype t, int64_t n_elems);

/* ======================================================================== */
/* Half-precision helpers                                                    */
/* ======================================================================== */
/* IEEE binary16 (F16: 1 sign, 5 exponent, 10 mantissa bits) and bfloat16
 * (BF16: the top 16 bits of an F32 — same range, 8 mantissa bits). Stored as
 * raw uint16_t so that no compiler extension is needed. */
typedef uint16_t ls_f16;
typedef uint16_t ls_bf16;

float f16_to_f32(ls_f16 h);
ls_f16 f32_to_f16(float f);                /* round to nearest even; overflow -> inf */

static inline float bf16_to_f32(ls_bf16 b)
{
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline ls_bf16 f32_to_bf16(float f)     /* round to nearest even; NaN stays NaN */
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (ls_bf16)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (ls_bf16)(u >> 16);
}

/* ======================================================================== */
/* Block layouts                                                             */
/* ======================================================================== */
/* "d" is a scale, "m"/"dmin" a minimum (offset), "qs" the packed small
 * integers, "qh" their high bits. Value of element i = d * q_i (- or + ...)
 * as described per block. */

enum { QK4_0 = 32, QK4_1 = 32, QK5_0 = 32, QK5_1 = 32, QK8_0 = 32, QK8_1 = 32, QK_K = 256, K_SCALE_SIZE = 12 };

/* Q4_0 — 32 weights in 18 bytes (4.5 bits each).
 *   bytes 0-1  : d (F16)
 *   bytes 2-17 : qs[16]; element j (j<16) is the low nibble of qs[j],
 *                element j+16 the high nibble of qs[j]
 *   x = d * (q - 8),  q in 0..15 */
typedef struct {
    ls_f16 d;
    uint8_t qs[QK4_0 / 2];
} block_q4_0;
_Static_assert(sizeof(block_q4_0) == 18, "block_q4_0 size");

/* Q4_1 — 32 weights in 20 bytes (5 bits each): nibbles as Q4_0,
 *   x = d * q + m,  q in 0..15 */
typedef struct {
    ls_f16 d;
    ls_f16 m;
    uint8_t qs[QK4_1 / 2];
} block_q4_1;
_Static_assert(sizeof(block_q4_1) == 20, "block_q4_1 size");

/* Q5_0 — 32 weights in 22 bytes (5.5 bits each).
 *   bytes 0-1  : d (F16)
 *   bytes 2-5  : qh, a little-endian uint32; bit j is the 5th bit of element j
 *   bytes 6-21 : qs[16], low 4 bits as in Q4_0
 *   x = d * (q - 16),  q in 0..31 */
typedef struct {
    ls_f16 d;
    uint8_t qh[4];
    uint8_t qs[QK5_0 / 2];
} block_q5_0;
_Static_assert(sizeof(block_q5_0) == 22, "block_q5_0 size");

/* Q5_1 — 32 weights in 24 bytes: bits as Q5_0,  x = d * q + m */
typedef struct {
    ls_f16 d;
    ls_f16 m;
    uint8_t qh[4];
    uint8_t qs[QK5_1 / 2];
} block_q5_1;
_Static_assert(sizeof(block_q5_1) == 24, "block_q5_1 size");

/* Q8_0 — 32 weights in 34 bytes (8.5 bits each): x = d * q, q in -127..127 */
typedef struct {
    ls_f16 d;
    int8_t qs[QK8_0];
} block_q8_0;
_Static_assert(sizeof(block_q8_0) == 34, "block_q8_0 size");

/* Q8_1 — activations for Q4_1/Q5_1 dots: Q8_0 plus s = d * sum(qs), so the
 * weight's "+ m" term costs one multiply per block. 36 bytes. */
typedef struct {
    ls_f16 d;
    ls_f16 s;
    int8_t qs[QK8_1];
} block_q8_1;
_Static_assert(sizeof(block_q8_1) == 36, "block_q8_1 size");

/* ---- K-quants: super-blocks of 256 weights = 8 (or 16) sub-blocks ------- */

/* Q4_K — 256 weights in 144 bytes (4.5 bits each).
 *   bytes 0-1    : d    (F16) super-scale for the sub-block scales
 *   bytes 2-3    : dmin (F16) super-scale for the sub-block minimums
 *   bytes 4-15   : scales[12]: eight 6-bit scales sc[j] and eight 6-bit mins m[j]:
 *                  j < 4: sc = scales[j] & 63,            m = scales[j+4] & 63
 *                  j >= 4: sc = (scales[j+4] & 0xF) | ((scales[j-4] >> 6) << 4),
 *                          m  = (scales[j+4] >> 4)  | ((scales[j]   >> 6) << 4)
 *   bytes 16-143 : qs[128]: 4 chunks of 32 bytes; chunk c holds sub-block 2c in
 *                  the low nibbles and sub-block 2c+1 in the high nibbles
 *   x = d * sc[j] * q - dmin * m[j],  sub-block j = 32 weights */
typedef struct {
    ls_f16 d;
    ls_f16 dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qs[QK_K / 2];
} block_q4_k;
_Static_assert(sizeof(block_q4_k) == 144, "block_q4_k size");

/* Q5_K — 256 weights in 176 bytes (5.5 bits each): as Q4_K plus
 *   bytes 16-47  : qh[32]: bit (2c) of qh[l] is the 5th bit of weight l of
 *                  sub-block 2c, bit (2c+1) that of sub-block 2c+1
 *   bytes 48-175 : qs[128] as in Q4_K
 *   x = d * sc[j] * q - dmin * m[j],  q in 0..31 */
typedef struct {
    ls_f16 d;
    ls_f16 dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
} block_q5_k;
_Static_assert(sizeof(block_q5_k) == 176, "block_q5_k size");

/* Q6_K — 256 weights in 210 bytes (6.5625 bits each), 16 sub-blocks of 16.
 *   bytes 0-127   : ql[128]: low 4 bits
 *   bytes 128-191 : qh[64]:  high 2 bits
 *   bytes 192-207 : scales[16], signed 8-bit sub-block scales
 *   bytes 208-209 : d (F16)
 *   Per half of 128 weights (ql += 64, qh += 32, scales += 8), for l in 0..31:
 *     q[l]      = (ql[l]    & 0xF) | ((qh[l] >> 0) & 3) << 4
 *     q[l + 32] = (ql[l+32] & 0xF) | ((qh[l] >> 2) & 3) << 4
 *     q[l + 64] = (ql[l]    >> 4)  | ((qh[l] >> 4) & 3) << 4
 *     q[l + 96] = (ql[l+32] >> 4)  | ((qh[l] >> 6) & 3) << 4
 *   x = d * scales[i / 16] * (q - 32) */
typedef struct {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    ls_f16 d;
} block_q6_k;
_Static_assert(sizeof(block_q6_k) == 210, "block_q6_k size");

/* Q8_K — activations for K-quant dots: 256 values, an F32 scale, and the sum
 * of each group of 16 (bsums) so the "- min" terms of Q4_K/Q5_K need no
 * second pass. 292 bytes. x = d * q */
typedef struct {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16];
} block_q8_k;
_Static_assert(sizeof(block_q8_k) == 292, "block_q8_k size");

/* Q2_K and Q3_K are known (sizes only) so that files using them can be
 * listed by `info`; computing with them is a LIMITATION for later. */
enum { BLOCK_Q2_K_BYTES = 84, BLOCK_Q3_K_BYTES = 110 };

/* Unpacks the 6-bit (scale, min) pair j (0..7) of a Q4_K/Q5_K block. */
static inline void q4k_scale_min(int j, const uint8_t *scales, uint8_t *sc, uint8_t *m)
{
    if (j < 4) {
        *sc = scales[j] & 63;
        *m = scales[j + 4] & 63;
    } else {
        *sc = (uint8_t)((scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4));
        *m = (uint8_t)((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
    }
}

#endif
