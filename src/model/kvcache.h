/* kvcache.h — one sequence's memory of what the model has read: the KV cache.
 *
 * Each layer turns every token it reads into a key and a value; later tokens
 * look back at all of them (attention). Keeping them means a new token costs
 * one step instead of re-reading the whole text. A cache belongs to one
 * sequence — one conversation, one server slot — and remembers, besides the
 * keys and values, the token id at each position, so a caller can see how
 * much of a new prompt it already holds (kv_common_prefix) and rewind to that
 * point instead of starting over.
 *
 * Layout (F16, in kvcache_internal.h): K as [layer][pos][n_head_kv*hd] — a
 * head's keys are rows the score kernel streams; V transposed as
 * [layer][kv_head][hd][pos] — so "weights times values" is again rows times
 * a vector.
 *
 * Owns: the keys, values and token ids of its positions. Does not: compute
 * anything (forward.h's fwd_eval writes it), own the model (which must
 * outlive the cache).
 * Called by: forward.c (writes and reads it), the generation loop and the
 * engine (one cache per sequence), tests.
 */
#ifndef LS_KVCACHE_H
#define LS_KVCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "model/model.h"

typedef struct kv_cache kv_cache;

/* Bytes of keys and values for n_ctx positions of a model of this shape
 * (2 x n_layer x n_ctx x n_head_kv x hd x 2 bytes): the figure the resource
 * guard adds per sequence. The token ids (4 bytes a position, under 0.01 % of
 * the keys and values of any supported model) are not counted. */
size_t kv_bytes_hp(const model_hparams *hp, int n_ctx);

/* A cache of n_ctx positions for `m` (which must outlive it). Caller frees
 * with kv_free(). LS_ERR_ARG for n_ctx < 1 or above 16M, LS_ERR_NOMEM. */
ls_status kv_create(const model *m, int n_ctx, kv_cache **out);
void kv_free(kv_cache *kv); /* kv_free(NULL) is a no-op */

int kv_n_past(const kv_cache *kv);   /* positions filled */
int kv_n_ctx(const kv_cache *kv);    /* positions it can hold */
/* The token id at each filled position, [kv_n_past()]. */
const int32_t *kv_tokens(const kv_cache *kv);
/* How many of ids[0..n) the cache already holds at the same positions. */
int kv_common_prefix(const kv_cache *kv, const int32_t *ids, int n);
/* Forgets every position from n_past on (n_past >= the current count: no
 * change); the next tokens go there. */
void kv_rewind(kv_cache *kv, int n_past);

#endif
