/* dtype.c — the type table and portable F16 conversion.
 *
 * F16 conversion is done with integer bit manipulation so the scalar path
 * needs no F16C; SIMD kernels use the hardware instructions instead. */
#include "base/dtype.h"

#include <stdio.h>
#include <strings.h>

/* name, elements per block, bytes per block, supported, activation format */
static const dtype_info table[DT_COUNT] = {
    [DT_F32] = { "F32", 1, 4, true, DT_F32 },
    [DT_F16] = { "F16", 1, 2, true, DT_F32 },
    [DT_BF16] = { "BF16", 1, 2, true, DT_F32 },
    [DT_Q4_0] = { "Q4_0", QK4_0, sizeof(block_q4_0), true, DT_Q8_0 },
    [DT_Q4_1] = { "Q4_1", QK4_1, sizeof(block_q4_1), true, DT_Q8_1 },
    [DT_Q5_0] = { "Q5_0", QK5_0, sizeof(block_q5_0), true, DT_Q8_0 },
    [DT_Q5_1] = { "Q5_1", QK5_1, sizeof(block_q5_1), true, DT_Q8_1 },
    [DT_Q8_0] = { "Q8_0", QK8_0, sizeof(block_q8_0), true, DT_Q8_0 },
    [DT_Q8_1] = { "Q8_1", QK8_1, sizeof(block_q8_1), true, DT_Q8_1 },
    [DT_Q4_K] = { "Q4_K", QK_K, sizeof(block_q4_k), true, DT_Q8_K },
    [DT_Q5_K] = { "Q5_K", QK_K, sizeof(block_q5_k), true, DT_Q8_K },
    [DT_Q6_K] = { "Q6_K", QK_K, sizeof(block_q6_k), true, DT_Q8_K },
    [DT_Q8_K] = { "Q8_K", QK_K, sizeof(block_q8_k), true, DT_Q8_K },
    /* Known, not supported: sizes are right so that `info` can list them. */
    [DT_Q2_K] = { "Q2_K", QK_K, BLOCK_Q2_K_BYTES, false, DT_Q8_K },
    [DT_Q3_K] = { "Q3_K", QK_K, BLOCK_Q3_K_BYTES, false, DT_Q8_K },
    [DT_IQ2_XXS] = { "IQ2_XXS", QK_K, 66, false, DT_Q8_K },
    [DT_IQ2_XS] = { "IQ2_XS", QK_K, 74, false, DT_Q8_K },
    [DT_IQ3_XXS] = { "IQ3_XXS", QK_K, 98, false, DT_Q8_K },
    [DT_IQ1_S] = { "IQ1_S", QK_K, 50, false, DT_Q8_K },
    [DT_IQ4_NL] = { "IQ4_NL", 32, 18, false, DT_Q8_0 },
    [DT_IQ3_S] = { "IQ3_S", QK_K, 110, false, DT_Q8_K },
    [DT_IQ2_S] = { "IQ2_S", QK_K, 82, false, DT_Q8_K },
    [DT_IQ4_XS] = { "IQ4_XS", QK_K, 136, false, DT_Q8_K },
    [DT_I8] = { "I8", 1, 1, false, DT_F32 },
    [DT_I16] = { "I16", 1, 2, false, DT_F32 },
    [DT_I32] = { "I32", 1, 4, false, DT_F32 },
    [DT_I64] = { "I64", 1, 8, false, DT_F32 },
    [DT_F64] = { "F64", 1, 8, false, DT_F32 },
    [DT_IQ1_M] = { "IQ1_M", QK_K, 56, false, DT_Q8_K },
    [DT_TQ1_0] = { "TQ1_0", QK_K, 54, false, DT_Q8_K },
    [DT_TQ2_0] = { "TQ2_0", QK_K, 66, false, DT_Q8_K },
};

const dtype_info *dtype_get(uint32_t id)
{
    if (id >= DT_COUNT || !table[id].name)
        return NULL;
    return &table[id];
}

const char *dtype_name(uint32_t id)
{
    static _Thread_local char buf[32];
    const dtype_info *ti = dtype_get(id);
    if (ti)
        return ti->name;
    snprintf(buf, sizeof buf, "unknown type %u", id);
    return buf;
}

int dtype_from_name(const char *name)
{
    for (int i = 0; i < DT_COUNT; i++)
        if (table[i].name && strcasecmp(table[i].name, name) == 0)
            return i;
    return -1;
}

bool dtype_row_fits(dtype t, int64_t n_elems)
{
    const dtype_info *ti = dtype_get((uint32_t)t);
    return ti && n_elems >= 0 && n_elems % ti->block_elems == 0;
}

size_t dtype_row_bytes(dtype t, int64_t n_elems)
{
    const dtype_info *ti = dtype_get((uint32_t)t);
    return (size_t)(n_elems / ti->block_elems) * (size_t)ti->block_bytes;
}

float f16_to_f32(ls_f16 h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t u;
    if (exp == 0x1f) {                 /* inf or NaN */
        u = sign | 0x7f800000u | (man << 13);
    } else if (exp != 0) {             /* normal: rebias 15 -> 127 */
        u = sign | ((exp + 112u) << 23) | (man << 13);
    } else if (man == 0) {             /* signed zero */
        u = sign;
    } else {                           /* subnormal: value = man * 2^-24 */
        float f = (float)man * (1.0f / 16777216.0f);
        memcpy(&u, &f, sizeof u);
        u |= sign;
    }
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

ls_f16 f32_to_f16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t abs = u & 0x7fffffffu;
    if (abs > 0x7f800000u)                       /* NaN: keep it a (quiet) NaN */
        return (ls_f16)(sign | 0x7e00u);
    if (abs >= 0x477ff000u)                      /* rounds to >= 65520: infinity */
        return (ls_f16)(sign | 0x7c00u);
    if (abs < 0x38800000u) {                     /* below the smallest normal 2^-14 */
        /* subnormal or zero: value / 2^-24, rounded to nearest even */
        float a;
        memcpy(&a, &abs, sizeof a);
        float scaled = a * 16777216.0f;          /* exact: a power-of-two scaling */
        uint32_t q = (uint32_t)scaled;
        float rem = scaled - (float)q;
        if (rem > 0.5f || (rem == 0.5f && (q & 1u)))
            q++;
        return (ls_f16)(sign | q);               /* q == 0x400 becomes the smallest normal */
    }
    /* normal: drop 13 mantissa bits with round-to-nearest-even */
    uint32_t r = abs + 0xfffu + ((abs >> 13) & 1u);
    return (ls_f16)(sign | ((r - 0x38000000u) >> 13));
}
