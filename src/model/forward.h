/* forward.h — running the model: tokens in, next-token scores (logits) out.
 *
 * One call to fwd_eval() feeds a run of tokens through every layer and
 * appends their keys and values to the KV cache, so the next call continues
 * the same text. A long prompt is cut into chunks of n_batch tokens and each
 * chunk goes through the layers together ("prefill"): every weight matrix is
 * then read once per chunk and used for all its tokens, instead of once per
 * token. Generating text is the same call with one token at a time ("decode"),
 * where speed is set by how fast the weights stream from memory.
 *
 * The context (fwd_ctx) owns everything that changes while a conversation
 * runs: the KV cache (F16, sized for n_ctx positions), scratch activations
 * sized for n_batch tokens, and a thread pool — all allocated once in
 * fwd_create(). fwd_eval() allocates nothing.
 *
 * Owns: KV cache, scratch, the thread pool. Does not: own the model (the
 * caller keeps it alive longer than the context), tokenize or sample.
 * Called by: apps (run, logits, bench), later the chat loop.
 */
#ifndef LS_FORWARD_H
#define LS_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "model/model.h"

typedef struct {
    int n_ctx;      /* positions the KV cache holds (default 4096) */
    int n_batch;    /* tokens per prefill chunk (default 512) */
    int n_threads;  /* worker threads including the caller (default: physical cores) */
    int act_bits;   /* 16 (default): activations as two 8-bit levels, nearly exact;
                       8: one level, like llama.cpp — faster prefill, ~50x more error */
} fwd_params;

typedef struct fwd_ctx fwd_ctx;

/* Defaults for fields left 0. */
fwd_params fwd_default_params(void);
/* `p` with every field left 0 (or out of range) replaced the way
 * fwd_create() does it: the parameters a context will really use. */
fwd_params fwd_fill_defaults(const fwd_params *p);

/* Bytes fwd_create() will allocate for these parameters: the KV cache plus
 * scratch (what the resource guard adds to the mapped weights). */
size_t fwd_memory_bytes(const model *m, const fwd_params *p);
size_t fwd_kv_bytes(const model *m, int n_ctx);
/* The same two figures from the shape alone, before any model is loaded
 * (orchestrator/guard.c): the KV cache, F16 keys and values for n_ctx
 * positions of every layer, and the scratch (activations for n_batch tokens,
 * per-thread attention scores and tiles). fwd_create() sizes its buffers
 * with these very formulas. `p` fields left 0 take the defaults. */
size_t fwd_kv_bytes_hp(const model_hparams *hp, int n_ctx);
size_t fwd_scratch_bytes_hp(const model_hparams *hp, size_t act_row_bytes, const fwd_params *p);

/* Caller frees with fwd_free(); `m` must outlive the context. */
ls_status fwd_create(const model *m, const fwd_params *p, fwd_ctx **out);
void fwd_free(fwd_ctx *c); /* fwd_free(NULL) is a no-op */

/* Processes n_tokens tokens at the positions after those already cached.
 * logits: NULL (no output), or [n_vocab] for the last token, or, when
 * all_logits, [n_tokens][n_vocab] (one row per token). Returns LS_ERR_ARG for
 * a token id outside the vocabulary and LS_ERR_LIMIT when the cache would
 * overflow (nothing is processed then). */
ls_status fwd_eval(fwd_ctx *c, const int32_t *tokens, int n_tokens, float *logits, bool all_logits);

/* Positions currently in the cache. */
int fwd_n_past(const fwd_ctx *c);
int fwd_n_ctx(const fwd_ctx *c);
/* Forgets every position from n_past on (to re-use a common prefix). */
void fwd_rewind(fwd_ctx *c, int n_past);

#endif
