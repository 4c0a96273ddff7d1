/* sampler.h — choosing the next token from the model's scores (logits).
 *
 * The model gives every token in the vocabulary a score; the sampler turns
 * scores into a choice. At temperature 0 it takes the best-scored token
 * (greedy: deterministic). Otherwise it follows a short, readable chain:
 *   1. top-k:  keep the k best tokens (0 = all);
 *   2. temperature: divide scores by T and turn them into probabilities
 *      (softmax) — below 1 sharpens the choice, above 1 flattens it;
 *   3. min-p:  drop tokens less likely than min_p × the best one;
 *   4. top-p:  keep the smallest set of best tokens whose probabilities add
 *      up to top_p ("nucleus");
 *   5. draw one token at random in proportion to what is left.
 * The random generator is seeded, so the same seed gives the same text.
 *
 * Owns: a candidate buffer sized for the vocabulary (allocated once).
 * Does not: apply repetition penalties or stop rules (the chat issue adds them).
 * Called by: apps (run), later the chat loop.
 */
#ifndef LS_SAMPLER_H
#define LS_SAMPLER_H

#include <stdint.h>

#include "base/status.h"

typedef struct {
    float temp;     /* 0 = greedy */
    int top_k;      /* 0 = no limit */
    float top_p;    /* 1 = no limit */
    float min_p;    /* 0 = no limit */
    uint64_t seed;
} smp_params;

typedef struct smp smp;

smp_params smp_default_params(void); /* temp 0.8, top_k 40, top_p 0.95, min_p 0.05, seed 42 */

/* Caller frees with smp_free(). LS_ERR_ARG for out-of-range parameters. */
ls_status smp_create(const smp_params *p, int n_vocab, smp **out);
void smp_free(smp *s); /* smp_free(NULL) is a no-op */

/* Picks a token from logits[n_vocab]. Never allocates. */
int32_t smp_sample(smp *s, const float *logits);

#endif
