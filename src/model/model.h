/* model.h — a loaded model: hyper-parameters and weights bound in place.
 *
 * Loading opens the GGUF file (mapped, never copied), finds the architecture
 * row in arch.h, reads the hyper-parameters, and binds every weight matrix to
 * its bytes inside the map after checking its shape and type. Only the small
 * 1-D tensors (norm weights, biases: a few hundred KB) are converted to F32
 * copies, so the forward pass never has to care how they were stored.
 *
 * Letter legend used here and in forward.c:
 *   n_embd  width of the hidden state (1536 for the 1.5B)
 *   n_head  query heads, n_head_kv key/value heads (GQA: n_head_kv divides n_head)
 *   hd      head_dim, numbers per head (128 for all R1 distills)
 *   n_ff    width of the feed-forward layer (8960 for the 1.5B)
 *   n_vocab tokens in the vocabulary (rows of token_embd)
 *
 * Everything the memory formulas need (hyper-parameters, byte counts) can
 * also be read without loading, from the header and tensor table alone:
 * model_read_shape(), which model_load() itself uses and the resource guard
 * calls before deciding whether a model fits.
 *
 * Owns: the gguf_file and the F32 copies. Does not: hold per-conversation
 * state (the KV cache is kvcache.h's, scratch forward.h's), tokenize, sample.
 * Called by: forward.c, kvcache.c, the engine (generate/engine.c), the API
 * and bench (model info), the resource guard (generate/guard.h:
 * model_read_shape only).
 */
#ifndef LS_MODEL_H
#define LS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/dtype.h"
#include "base/status.h"
#include "gguf/gguf.h"
#include "model/arch.h"

/* A weight matrix used in place: n_rows rows of n_cols elements of `type`. */
typedef struct {
    const void *data;   /* inside the read-only map */
    dtype type;
    int64_t n_cols;     /* elements per row (GGUF ne[0]) */
    int64_t n_rows;     /* GGUF ne[1] */
    size_t row_bytes;
} model_mat;

typedef struct {
    const float *attn_norm;            /* [n_embd] */
    model_mat wq, wk, wv, wo;          /* [n_head*hd][n_embd], [n_head_kv*hd][n_embd] x2, [n_embd][n_head*hd] */
    const float *bq, *bk, *bv;         /* [n_head*hd], [n_head_kv*hd] x2, or NULL (no bias) */
    const float *q_norm, *k_norm;      /* [hd] (qk_norm architectures) or NULL */
    const float *ffn_norm;             /* [n_embd] */
    model_mat w_gate, w_up, w_down;    /* [n_ff][n_embd] x2, [n_embd][n_ff] */
} model_layer;

typedef struct {
    int n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff;
    int n_ctx_train;      /* context length the model was trained for */
    int n_rot;            /* dimensions RoPE rotates per head (usually head_dim) */
    float rope_base;      /* RoPE frequency base (theta) */
    float norm_eps;       /* RMSNorm epsilon */
} model_hparams;

/* What a model file implies for memory, read from its metadata and tensor
 * table only: not one weight byte is touched, so this is cheap even for a
 * model far larger than the machine's memory. */
typedef struct {
    const arch_desc *arch;
    model_hparams hp;
    size_t weight_bytes;     /* data of every tensor in the file */
    size_t embd_bytes;       /* token_embd.weight alone */
    bool output_tied;        /* no output.weight: the embedding table doubles as the output matrix */
    size_t act_row_bytes;    /* widest activation row a matrix product converts to 8 bits (kern_act_row_bytes;
                                0 when every matrix is F32/F16/BF16, whose kernels read floats) */
    size_t f32_store_bytes;  /* the 1-D tensors (norms, biases), copied as F32 at load */
} model_shape;

/* Fills *out from an open file. Errors as model_load() gives for the same
 * file's metadata (unknown architecture, missing or out-of-range keys, no
 * token_embd.weight); a missing or odd weight matrix is only found by
 * model_load(). */
ls_status model_read_shape(const gguf_file *f, model_shape *out);

typedef struct model {
    gguf_file *file;
    const arch_desc *arch;
    model_hparams hp;
    model_mat tok_embd;          /* [n_vocab][n_embd] */
    model_mat output;            /* [n_vocab][n_embd]; same bytes as tok_embd when tied */
    const float *output_norm;    /* [n_embd] */
    const float *rope_freqs;     /* [n_rot/2] frequency divisors (Llama 3.1 scaling) or NULL */
    model_layer *layers;         /* [n_layer] */
    float *f32_store;            /* all 1-D tensors as F32, one block */
    size_t weight_bytes;         /* bytes of all tensors in the file */
    size_t act_row_bytes;        /* widest converted activation row (model_shape) */
    size_t matmul_bytes_per_token; /* bytes a decode step reads: every matrix once, one embedding row */
} model;

/* Loads `path`. On failure returns a status and a sentence naming the file and
 * the key or tensor that is missing or wrong. Caller frees with model_free(). */
ls_status model_load(const char *path, model **out);
void model_free(model *m); /* model_free(NULL) is a no-op */

/* "Q4_K_M"-style name of the file's dominant matrix type, for reports. */
const char *model_type_summary(const model *m);

#endif
