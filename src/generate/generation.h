/* generation.h — one sequence's generation loop, written once for everyone.
 *
 * Given a prompt (token ids) and a sequence's KV cache, gen_run() does what
 * every caller — `run`, `chat`, `logits --greedy`, `bench`, later the server
 * — needs from "answer this":
 *   1. re-uses the cache: only the tokens after the longest common prefix of
 *      the prompt and what the cache holds are read (at least one, for the
 *      scores), so turn 5 of a conversation costs its new message;
 *   2. then, token by token: sample (sampler.h) -> text as complete UTF-8
 *      characters (the tokenizer's stream decoder) -> thinking or answer
 *      (reasoning.h) -> [answer only] stop strings (stop.h) -> the caller's
 *      on_text;
 *   3. between tokens it checks, in this order: cancellation, the time limit,
 *      end of generation, a stop string, the answer limit, a full context, the
 *      thinking budget (which closes the thoughts by feeding the template's
 *      closing text, so the model answers).
 *
 * Limits. n_answer_max counts answer tokens (every token when the
 * reasoning split is off); thoughts are bounded by think_budget. Left to its
 * defaults (-1 both), a generation is still bounded: the thinking budget
 * becomes gen_default_think_budget() — half the context window, or four
 * times the answer limit when one is set, at least 256 — so a model that
 * never closes its thoughts stops thinking by itself.
 *
 * Owns: the sampler, the stream decoder, the reasoning splitter, the stop
 * matcher and the text of the last generation. Does not: own the engine or
 * the KV cache (the caller's, alive longer), render templates, print.
 * Called by: generate/chat.c, apps (run, logits, bench).
 */
#ifndef LS_GENERATION_H
#define LS_GENERATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "generate/engine.h"
#include "generate/sampler.h"
#include "model/kvcache.h"

enum { GEN_MAX_STOPS = 8 };

typedef struct {
    smp_params sampling;     /* start from smp_default_params() or the family's values */
    int n_answer_max;        /* answer tokens; -1: no limit but the context */
    int think_budget;        /* thinking tokens before the thought is closed; -1: the default (see above) */
    bool split_reasoning;    /* keep <think>…</think> apart from the answer (false: all is answer) */
    bool opens_thought;      /* the prompt already opened the thought (the R1 generation prompt) */
    bool ignore_eog;         /* go on past end-of-generation tokens (reference continuations) */
    const char *stops[GEN_MAX_STOPS]; /* stop strings (answer text only; copied) */
    int n_stops;
    double timeout_s;        /* a generation ends (kept, marked) after this long; 0: no limit */
} gen_params;

/* Defaults: smp_default_params(), no limits (so the default budget), the
 * reasoning split on, no stop strings, no time limit. */
gen_params gen_default_params(void);
/* The thinking budget used when think_budget is -1 (see above). */
int gen_default_think_budget(int n_ctx, int n_answer_max);

typedef enum { GEN_THINKING, GEN_ANSWER } gen_part;

typedef struct {
    /* Text as it streams, complete UTF-8 characters only. */
    void (*on_text)(void *ctx, gen_part part, const char *text, size_t n_bytes);
    /* A sentence for the user about what happened (the thinking budget closed
     * the thought, the model did not finish thinking); NULL to ignore. */
    void (*on_note)(void *ctx, const char *sentence);
    /* Polled once per token; true ends the generation (kept, marked). */
    bool (*cancelled)(void *ctx);
    /* Before each sampled token is used: the scores it was chosen from
     * ([n_vocab]); NULL to ignore. */
    void (*on_token)(void *ctx, int32_t id, const float *logits);
    void *ctx;
} gen_callbacks;

typedef enum {
    GEN_STOP_EOG,         /* the model ended its turn */
    GEN_STOP_LENGTH,      /* n_answer_max answer tokens */
    GEN_STOP_STRING,      /* one of the stop strings */
    GEN_STOP_CONTEXT,     /* the context window is full */
    GEN_STOP_CANCELLED,   /* the caller cancelled (Ctrl-C) */
    GEN_STOP_TIMEOUT,     /* it took longer than timeout_s */
} gen_stop;

const char *gen_stop_name(gen_stop s); /* "end of turn", "answer length limit", ... */

/* Gives cb->on_note a sentence (printf-style; cut at 511 bytes); nothing
 * when cb or its on_note is NULL. */
void gen_note(const gen_callbacks *cb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef struct {
    int n_prompt;          /* tokens of the prompt */
    int n_reused;          /* of those, already in the KV cache */
    int n_thinking;        /* generated inside <think> ... </think> */
    int n_answer;          /* generated after it */
    int think_budget;      /* the budget that applied (the default, when none was given) */
    bool budget_closed;    /* the thinking budget closed the thought */
    bool thought_unfinished; /* it ended while the model was still thinking */
    gen_stop stop;
    double t_prefill_s;    /* reading the new prompt tokens */
    double t_first_token_s; /* from t_start to the first generated token */
    double t_thinking_s;   /* from the first token to the end of the thought */
    double t_generate_s;   /* all generation */
} gen_result;

typedef struct gen gen;

/* A generation loop for `e` (which must outlive it). LS_ERR_ARG (a sentence
 * naming the setting) for bad sampling values or too many stop strings,
 * LS_ERR_NOMEM. Caller frees with gen_free(). */
ls_status gen_create(engine *e, const gen_params *p, gen **out);
void gen_free(gen *g); /* gen_free(NULL) is a no-op */

/* Generates the answer to prompt ids[0..n_ids) in `kv` (see the steps
 * above). t_start: plat_now_s() when the request began (the time limit and
 * the first-token time count from it). The text generated is kept until the
 * next run (gen_answer, gen_thinking). Errors: LS_ERR_LIMIT when the prompt
 * does not fit the cache (nothing read), LS_ERR_ARG, LS_ERR_NOMEM. */
ls_status gen_run(gen *g, kv_cache *kv, const int32_t *ids, int n_ids, double t_start, const gen_callbacks *cb,
                  gen_result *out);

/* The same without reading a prompt: `kv` already holds it and `logits`
 * ([n_vocab]) are the scores after its last token (a caller that needed
 * every position's scores, like `logits`, has read it itself). */
ls_status gen_continue(gen *g, kv_cache *kv, const float *logits, double t_start, const gen_callbacks *cb,
                       gen_result *out);

const char *gen_answer(const gen *g);   /* "" before the first run */
const char *gen_thinking(const gen *g);

/* The settings in use (stop strings point into the generation). */
const gen_params *gen_get_params(const gen *g);
/* Changes the thinking budget (-1: the default) for the next runs. */
void gen_set_think_budget(gen *g, int budget);
/* Forgets the sampler's history and restarts its random generator. */
void gen_reset(gen *g);

#endif
