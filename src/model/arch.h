/* arch.h — model architectures described as data, not as copies of code.
 *
 * The DeepSeek-R1 distills, Llama 3 and Qwen3 are all the same kind of
 * machine — a stack of identical layers, each "attention, then feed-forward"
 * — and differ in a handful of switches: whether the Q/K/V projections have a
 * bias, which pairs of numbers RoPE rotates together, whether Q and K get an
 * extra per-head normalization, whether the output matrix is shared with the
 * token embeddings. One row of the table below per architecture holds those
 * switches; the forward pass reads them. Adding an architecture means adding
 * a row (and, for a genuinely new step, one `if` in forward.c).
 *
 * Owns: the table. Does not: read files (model.c applies it to a GGUF).
 * Called by: model loading, `info` (to say whether a file is supported).
 */
#ifndef LS_ARCH_H
#define LS_ARCH_H

#include <stdbool.h>

typedef enum {
    ROPE_NORM, /* rotate neighbouring pairs (x[2i], x[2i+1]) — llama */
    ROPE_NEOX, /* rotate the two halves (x[i], x[i + d/2]) — qwen2, qwen3 */
} rope_style;

typedef struct {
    const char *name;     /* general.architecture value and metadata key prefix */
    bool qkv_bias;        /* attn_q/k/v.bias tensors are present (required) */
    bool qk_norm;         /* per-head RMSNorm on Q and K after projection (qwen3) */
    rope_style rope;
    bool output_may_tie;  /* output.weight may be absent: reuse token_embd.weight */
} arch_desc;

/* The description for an architecture name, or NULL if unsupported. */
const arch_desc *arch_find(const char *name);
/* Comma-separated names of the supported architectures, for messages. */
const char *arch_supported_list(void);

#endif
