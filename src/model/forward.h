/* forward.h — running the model: tokens in, next-token scores (logits) out.
 *
 * A runner (one per model) evaluates a batch of sequences in one pass: each
 * sequence is a run of new tokens with its own KV cache (kvcache.h), and the
 * tokens of all of them go through every layer together, so each weight
 * matrix is read once per chunk for all of them. One sequence with a long
 * prompt is the same call ("prefill": the prompt cut into chunks of n_batch
 * tokens); several sequences of one token each is a decode step of a server
 * serving several clients at once ("continuous batching"). Attention is the
 * only step that keeps sequences apart: each token looks only at its own
 * sequence's cache.
 *
 * The runner owns the scratch activations, sized once in fwd_create() for
 * n_batch tokens and caches of up to n_ctx positions, and uses a thread pool
 * that may be shared by several runners (the process's one pool: at most one
 * fwd_eval at a time on it). fwd_eval() allocates nothing.
 *
 * Owns: scratch buffers (and the pool when it made its own). Does not: own
 * the model or the KV caches (the caller keeps both alive longer than the
 * runner), tokenize or sample.
 * Called by: the engine (generate/engine.h), the generation loop, the API
 * (ls_score), bench, tests.
 */
#ifndef LS_FORWARD_H
#define LS_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "base/threadpool.h"
#include "model/kvcache.h"
#include "model/model.h"

typedef struct {
    int n_ctx;      /* the longest KV cache a sequence may bring, in positions (default 4096) */
    int n_batch;    /* tokens per chunk, all sequences together (default 512) */
    int n_threads;  /* worker threads including the caller (default: physical cores; a shared
                       pool's size wins) */
    int act_bits;   /* 16 (default): activations as two 8-bit levels, nearly exact;
                       8: one level, like llama.cpp — faster prefill, ~50x more error */
    int n_seq_max;  /* sequences one fwd_eval may take (default 1) */
} fwd_params;

typedef struct fwd_runner fwd_runner;

/* One sequence of a batch: n_tokens new tokens after what kv holds. */
typedef struct {
    kv_cache *kv;          /* its cache (of the runner's model, at most n_ctx positions) */
    const int32_t *tokens; /* [n_tokens] */
    int n_tokens;
    float *logits;         /* NULL (no output), [n_vocab] for the last token, or, when
                              all_logits, [n_tokens][n_vocab] (one row per token) */
    bool all_logits;
} fwd_seq;

/* Defaults for fields left 0. */
fwd_params fwd_default_params(void);
/* `p` with every field left 0 (or out of range) replaced the way
 * fwd_create() does it: the parameters a context will really use. */
fwd_params fwd_fill_defaults(const fwd_params *p);

/* Bytes a runner for these parameters plus one sequence's KV cache of n_ctx
 * positions allocate (what the resource guard adds to the mapped weights for
 * one conversation). */
size_t fwd_memory_bytes(const model *m, const fwd_params *p);
/* The runner's part from the shape alone, before any model is loaded
 * (generate/guard.c): activations for n_batch tokens, per-thread
 * attention scores and tiles, and, for n_seq_max > 1, one logits row per
 * sequence. fwd_create() sizes its buffers with this very formula. `p`
 * fields left 0 take the defaults. */
size_t fwd_scratch_bytes_hp(const model_hparams *hp, size_t act_row_bytes, const fwd_params *p);

/* A runner for `m` (which must outlive it). `shared` is a thread pool to use
 * (not owned; NULL: the runner makes its own of n_threads). Caller frees with
 * fwd_free(). */
ls_status fwd_create(const model *m, const fwd_params *p, pool *shared, fwd_runner **out);
void fwd_free(fwd_runner *r); /* fwd_free(NULL) is a no-op */
fwd_params fwd_get_params(const fwd_runner *r);

/* Evaluates every sequence's new tokens, in one pass through the weights
 * for all of them (in chunks of n_batch tokens), appends them to their
 * caches and writes the logits asked for. A sequence's results are the same
 * whether it is evaluated alone or beside others, up to the rounding of the
 * activations (the wide path serves chunks of 16 or more tokens). Errors,
 * with nothing processed: LS_ERR_ARG for a token id outside the vocabulary,
 * an empty sequence, a cache of another model, larger than n_ctx or given
 * twice, more than n_seq_max sequences; LS_ERR_LIMIT when a cache would
 * overflow. */
ls_status fwd_eval(fwd_runner *r, const fwd_seq *seqs, int n_seqs);
/* The same for one sequence. */
ls_status fwd_eval_one(fwd_runner *r, kv_cache *kv, const int32_t *tokens, int n_tokens, float *logits,
                       bool all_logits);

#endif
