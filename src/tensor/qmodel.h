/* qmodel.h — quantizing a whole GGUF model file into another one.
 *
 * A "preset" names the result the user wants (Q4_K_M, Q8_0, F16...). Not
 * every tensor gets the preset's base type: as in llama.cpp, whose files
 * people already use, the rules are
 *   - 1-D tensors (norms, biases) and tensors that are not weights stay as
 *     they are (F32): they are tiny and sensitive;
 *   - output.weight (and token_embd.weight when the model ties the two)
 *     gets Q6_K, unless the preset is Q8_0 (kept) or F16/BF16;
 *   - the _M ("mixed") presets give attn_v.weight and ffn_down.weight Q6_K
 *     in the layers that matter most: the first and last eighth of the
 *     layers and every third layer in between
 *     (i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2);
 *   - a row length the chosen type's block does not divide falls back to a
 *     32-element type of similar size: Q4_K -> Q5_0, Q5_K -> Q5_1,
 *     Q6_K -> Q8_0, and F16 if 32 does not divide it either (llama.cpp
 *     gives up on a file whose rows do not fit a 32-element preset such as
 *     Q8_0; we keep such tensors in F16 and say so).
 * qmodel_plan() applies these rules without touching tensor data, so tests
 * can compare decisions with files made by llama.cpp.
 *
 * qmodel_quantize() streams: it reads the input by mmap, converts one tensor
 * at a time (rows split across the thread pool) into one buffer the size of
 * that tensor's output, and hands it to gguf_writer, which writes to
 * "<out>.tmp" and renames at the end. Peak memory is about the largest
 * output tensor plus what the kernel pages in. All metadata is copied;
 * general.file_type (llama.cpp's LLAMA_FTYPE number) and
 * general.quantization_version = 2 are set.
 *
 * Owns: the plan and statistics it returns (free with qmodel_stats_free /
 * ls_free). Does not: print (progress goes to a callback) or pick presets
 * for the user.
 * Called by: `localseek quantize` (apps/cmd_quantize.c), tests.
 *
 * LIMITATION: no importance matrix (imatrix) and no MoE/70B-specific rules
 * (llama.cpp bumps attn_v for 8-expert and 70B models).
 */
#ifndef LS_QMODEL_H
#define LS_QMODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/dtype.h"
#include "base/status.h"
#include "gguf/gguf.h"

typedef struct {
    const char *name;   /* "Q4_K_M", as the user types it (any case) */
    uint32_t file_type; /* general.file_type: llama.cpp's LLAMA_FTYPE_* number */
    dtype base;         /* the type most matrices get */
    bool mixed;         /* _M: more bits for attn_v / ffn_down in some layers */
} qmodel_preset;

/* The preset called `name` (case-insensitive), or NULL. */
const qmodel_preset *qmodel_preset_find(const char *name);
/* "F16, BF16, Q8_0, ..." for usage messages. */
const char *qmodel_preset_names(void);

/* One tensor's decision. */
typedef struct {
    char name[64];        /* GGUF tensor names are at most 63 bytes */
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    dtype from;           /* type in the input file */
    dtype wanted;         /* what the rules chose for this tensor */
    dtype to;             /* what it gets: `wanted`, or a fallback if the row length does not fit */
    uint64_t bytes_in, bytes_out;
} qmodel_tensor;

static inline bool qmodel_is_fallback(const qmodel_tensor *t)
{
    return t->to != t->wanted;
}

/* Decides every tensor's type. *out gets gguf_n_tensors(f) entries in file
 * order (caller frees with ls_free). Fails with LS_ERR_UNSUPPORTED if a
 * tensor that must be converted has a type we cannot read. */
ls_status qmodel_plan(const gguf_file *f, const qmodel_preset *preset, qmodel_tensor **out);

typedef struct {
    int64_t i_tensor;           /* index of the tensor just written */
    int64_t n_tensors;
    const qmodel_tensor *tensor;
    uint64_t bytes_done;        /* input tensor bytes processed so far */
    uint64_t bytes_total;
    double seconds;             /* since the start */
} qmodel_progress;

typedef void (*qmodel_progress_fn)(void *user, const qmodel_progress *p);

typedef struct {
    int n_threads;              /* >= 1 */
    bool reference_rounding;    /* ggml's plain rounding instead of the scale search
                                   (byte-comparable with llama.cpp, slightly larger error) */
    qmodel_progress_fn progress; /* may be NULL; called after every tensor */
    void *progress_user;
} qmodel_params;

typedef struct {
    int64_t n_tensors;
    qmodel_tensor *tensors;     /* [n_tensors], file order */
    int n_fallbacks;
    uint64_t file_bytes_in, file_bytes_out;
    uint64_t tensor_bytes_in, tensor_bytes_out;
    double seconds;
} qmodel_stats;

/* Quantizes in_path into out_path. On success fills *stats (release with
 * qmodel_stats_free); on failure nothing is left under out_path and
 * ls_error_msg() names the file or tensor. Inputs with NaN or infinite
 * weights are refused (LS_ERR_FORMAT). */
ls_status qmodel_quantize(const char *in_path, const char *out_path, const qmodel_preset *preset,
                          const qmodel_params *params, qmodel_stats *stats);
void qmodel_stats_free(qmodel_stats *s); /* NULL-safe; leaves *s zeroed */

#endif
