/* sampler.h — choosing the next token from the model's scores (logits).
 *
 * The model gives every token in the vocabulary a score; the sampler turns
 * scores into a choice. It follows a short, readable chain:
 *   1. penalties: tokens generated recently (the last `penalty_last_n`
 *      accepted with smp_accept) have their scores lowered, so the model is
 *      less tempted to loop:
 *        repetition (llama.cpp): a positive score is divided by
 *          repeat_penalty, a negative one multiplied by it (both move down);
 *        presence and frequency (OpenAI): score -= presence_penalty (once,
 *          if the token was seen) + frequency_penalty × times it was seen;
 *   2. temperature 0: take the best remaining score (greedy, deterministic);
 *      otherwise go on:
 *   3. top-k:  keep the k best tokens (0 = all);
 *   4. temperature: divide scores by T and turn them into probabilities
 *      (softmax) — below 1 sharpens the choice, above 1 flattens it;
 *   5. min-p:  drop tokens less likely than min_p × the best one;
 *   6. top-p:  keep the smallest set of best tokens whose probabilities add
 *      up to top_p ("nucleus");
 *   7. draw one token at random in proportion to what is left.
 * The random generator is seeded, so the same seed gives the same text.
 *
 * Penalties come before greedy on purpose: llama.cpp does the same, so
 * `--temp 0 --repeat-penalty 1.3` still avoids repeats instead of silently
 * ignoring the penalty. Penalties are off by default (repeat 1, presence
 * and frequency 0), which leaves plain greedy decoding bit-exact.
 *
 * History. The caller reports every token it keeps with smp_accept() —
 * generated ones, and prompt tokens too if they should count (llama.cpp's
 * command line feeds the prompt as well). The sampler remembers the last
 * `penalty_last_n` of them in a ring buffer with a count per token, both
 * sized at create time, so accepting and sampling never allocate.
 *
 * Owns: a candidate buffer sized for the vocabulary, and (only when some
 * penalty is on) the history ring and per-token counts. All allocated once.
 * Does not: apply stop strings (stop.h) or split thoughts (reasoning.h);
 * know about tokens' text (no "never penalize newline" lists).
 * Called by: apps (run), later the chat loop.
 */
#ifndef LS_SAMPLER_H
#define LS_SAMPLER_H

#include <stdint.h>

#include "base/status.h"

/* Longest history the sampler keeps, in tokens: the upper bound for
 * penalty_last_n and n_history_max (a ring of 4 MiB at most). */
#define SMP_HISTORY_LIMIT (1 << 20)

typedef struct {
    float temp;     /* 0 = greedy */
    int top_k;      /* 0 = no limit */
    float top_p;    /* 1 = no limit */
    float min_p;    /* 0 = no limit */
    uint64_t seed;
    /* step 1 — penalties on recently accepted tokens */
    float repeat_penalty;    /* 1 = off; > 0; 1.1 is a common mild setting */
    float presence_penalty;  /* 0 = off; in [-2, 2] like OpenAI's API */
    float frequency_penalty; /* 0 = off; in [-2, 2] like OpenAI's API */
    int penalty_last_n;      /* window in tokens: 64; 0 = no penalties;
                                -1 = everything accepted, up to n_history_max */
    int n_history_max;       /* window used when penalty_last_n = -1; the chat
                                loop passes its context size */
} smp_params;

typedef struct smp smp;

/* temp 0.8, top_k 40, top_p 0.95, min_p 0.05, seed 42; penalties off
 * (repeat 1, presence 0, frequency 0) with penalty_last_n 64, n_history_max 4096. */
smp_params smp_default_params(void);

/* Caller frees with smp_free(). LS_ERR_ARG, with a sentence naming the
 * setting, for out-of-range parameters; LS_ERR_NOMEM. */
ls_status smp_create(const smp_params *p, int n_vocab, smp **out);
void smp_free(smp *s); /* smp_free(NULL) is a no-op */

/* Picks a token from logits[n_vocab] (left unchanged). Never allocates. */
int32_t smp_sample(smp *s, const float *logits);

/* Records a token the caller kept (0 <= id < n_vocab), so later penalties
 * see it. O(1), never allocates; does nothing when penalties are off. */
void smp_accept(smp *s, int32_t id);

/* Forgets the history (a new conversation) and restarts the random
 * generator from the seed, so the sampler behaves as if just created. */
void smp_reset(smp *s);

/* Applies step 1 alone to logits[n_vocab] in place (for `logits`-style
 * tools and tests). Never allocates. */
void smp_penalize(const smp *s, float *logits);

#endif
