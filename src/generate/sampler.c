/* sampler.c — penalties, then top-k by quickselect, sort, softmax, min-p,
 * top-p, draw.
 *
 * Cost per token: O(n_vocab) to copy the scores into the candidate buffer
 * (indexed by token id at that point, which is what lets step 1 patch
 * penalized tokens in place), O(distinct tokens in the window) for the
 * penalties, O(n_vocab) for the selection, and O(k log k) for sorting the
 * survivors (k = 40 by default; with top_k = 0 the whole vocabulary is
 * sorted, ~10 ms for 151k tokens). The generator is SplitMix64 (small, well
 * distributed, reproducible across platforms).
 *
 * History invariants (only when a penalty is on; otherwise n_window = 0 and
 * the arrays are NULL):
 *   ring[]      holds the last n_hist accepted ids, n_hist <= n_window; when
 *               full, the oldest is at `head`, which is also the next slot;
 *   count[id]   is how many times id occurs in ring[];
 *   distinct[]  lists exactly the ids with count > 0 (n_distinct of them, in
 *               no order), and where[id] is an id's index in it, so an id
 *               whose count falls to 0 is removed in O(1) by moving the last
 *               entry into its place.
 * Step 1 walks distinct[], so its cost follows the window, not the vocabulary. */
#include "generate/sampler.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "base/alloc.h"

typedef struct {
    int32_t id;
    float logit;
    float p;
} cand;

struct smp {
    smp_params p;
    int n_vocab;
    uint64_t rng;
    cand *c; /* [n_vocab] */

    int n_window;       /* ring capacity in tokens; 0 = penalties off */
    int n_hist;         /* ids in the ring */
    int head;           /* next slot to write */
    int32_t *ring;      /* [n_window] accepted ids */
    int32_t *distinct;  /* [n_window] ids with count > 0 */
    int n_distinct;
    int32_t *count;     /* [n_vocab] occurrences in the ring */
    int32_t *where;     /* [n_vocab] index in distinct[], valid while count > 0 */
};

smp_params smp_default_params(void)
{
    return (smp_params){ .temp = 0.8f,
                         .top_k = 40,
                         .top_p = 0.95f,
                         .min_p = 0.05f,
                         .seed = 42,
                         .repeat_penalty = 1.0f,
                         .presence_penalty = 0.0f,
                         .frequency_penalty = 0.0f,
                         .penalty_last_n = 64,
                         .n_history_max = 4096 };
}

/* One sentence per setting, naming the value, so a user sees which flag to fix. */
static ls_status check_params(const smp_params *p, int n_vocab)
{
    if (!(p->temp >= 0.0f))
        return ls_error(LS_ERR_ARG, "temperature must be >= 0 (got %g)", (double)p->temp);
    if (p->top_k < 0)
        return ls_error(LS_ERR_ARG, "top-k must be >= 0, 0 meaning no limit (got %d)", p->top_k);
    if (!(p->top_p > 0.0f && p->top_p <= 1.0f))
        return ls_error(LS_ERR_ARG, "top-p must be in (0, 1], 1 meaning no limit (got %g)", (double)p->top_p);
    if (!(p->min_p >= 0.0f && p->min_p < 1.0f))
        return ls_error(LS_ERR_ARG, "min-p must be in [0, 1), 0 meaning no limit (got %g)", (double)p->min_p);
    if (!(p->repeat_penalty > 0.0f) || !isfinite(p->repeat_penalty))
        return ls_error(LS_ERR_ARG, "repeat penalty must be a finite number > 0, 1 meaning off (got %g)",
                        (double)p->repeat_penalty);
    if (!(p->presence_penalty >= -2.0f && p->presence_penalty <= 2.0f))
        return ls_error(LS_ERR_ARG, "presence penalty must be in [-2, 2], 0 meaning off (got %g)",
                        (double)p->presence_penalty);
    if (!(p->frequency_penalty >= -2.0f && p->frequency_penalty <= 2.0f))
        return ls_error(LS_ERR_ARG, "frequency penalty must be in [-2, 2], 0 meaning off (got %g)",
                        (double)p->frequency_penalty);
    if (p->penalty_last_n < -1 || p->penalty_last_n > SMP_HISTORY_LIMIT)
        return ls_error(LS_ERR_ARG, "penalty window must be -1 (whole history), 0 (off) or up to %d tokens (got %d)",
                        SMP_HISTORY_LIMIT, p->penalty_last_n);
    if (p->penalty_last_n == -1 && (p->n_history_max < 1 || p->n_history_max > SMP_HISTORY_LIMIT))
        return ls_error(LS_ERR_ARG, "history size for a penalty window of -1 must be in [1, %d] tokens (got %d)",
                        SMP_HISTORY_LIMIT, p->n_history_max);
    if (n_vocab <= 0)
        return ls_error(LS_ERR_ARG, "empty vocabulary");
    return LS_OK;
}

ls_status smp_create(const smp_params *p, int n_vocab, smp **out)
{
    *out = NULL;
    ls_status st = check_params(p, n_vocab);
    if (st)
        return st;
    bool penalties_on = p->repeat_penalty != 1.0f || p->presence_penalty != 0.0f || p->frequency_penalty != 0.0f;
    int n_window = !penalties_on ? 0 : p->penalty_last_n == -1 ? p->n_history_max : p->penalty_last_n;

    smp *s = ls_calloc(1, sizeof *s);
    if (!s)
        return ls_error(LS_ERR_NOMEM, "no memory for the sampler");
    s->p = *p;
    s->n_vocab = n_vocab;
    s->rng = p->seed;
    s->n_window = n_window;
    bool ok = (s->c = ls_malloc(sizeof(cand) * (size_t)n_vocab)) != NULL;
    if (ok && n_window > 0)
        ok = (s->ring = ls_malloc(sizeof(int32_t) * (size_t)n_window)) &&
             (s->distinct = ls_malloc(sizeof(int32_t) * (size_t)n_window)) &&
             (s->count = ls_calloc((size_t)n_vocab, sizeof(int32_t))) &&
             (s->where = ls_malloc(sizeof(int32_t) * (size_t)n_vocab));
    if (!ok) {
        smp_free(s);
        return ls_error(LS_ERR_NOMEM, "no memory for the sampler (vocabulary of %d tokens, window of %d)", n_vocab,
                        n_window);
    }
    *out = s;
    return LS_OK;
}

void smp_free(smp *s)
{
    if (!s)
        return;
    ls_free(s->c);
    ls_free(s->ring);
    ls_free(s->distinct);
    ls_free(s->count);
    ls_free(s->where);
    ls_free(s);
}

/* ---- history ------------------------------------------------------------- */

void smp_accept(smp *s, int32_t id)
{
    assert(id >= 0 && id < s->n_vocab);
    if (s->n_window == 0)
        return;
    if (s->n_hist == s->n_window) { /* full: the oldest id leaves the window */
        int32_t old = s->ring[s->head];
        if (--s->count[old] == 0) {
            int32_t last = s->distinct[--s->n_distinct];
            s->distinct[s->where[old]] = last;
            s->where[last] = s->where[old];
        }
    } else {
        s->n_hist++;
    }
    s->ring[s->head] = id;
    s->head = s->head + 1 == s->n_window ? 0 : s->head + 1;
    if (s->count[id]++ == 0) {
        s->where[id] = s->n_distinct;
        s->distinct[s->n_distinct++] = id;
    }
}

void smp_reset(smp *s)
{
    for (int j = 0; j < s->n_distinct; j++)
        s->count[s->distinct[j]] = 0;
    s->n_distinct = 0;
    s->n_hist = 0;
    s->head = 0;
    s->rng = s->p.seed;
}

/* Step 1 for one token seen `count` (> 0) times. */
static float penalized(const smp_params *p, float logit, int32_t count)
{
    logit = logit > 0.0f ? logit / p->repeat_penalty : logit * p->repeat_penalty;
    return logit - ((float)count * p->frequency_penalty + p->presence_penalty);
}

void smp_penalize(const smp *s, float *logits)
{
    for (int j = 0; j < s->n_distinct; j++) {
        int32_t id = s->distinct[j];
        logits[id] = penalized(&s->p, logits[id], s->count[id]);
    }
}

/* ---- sampling ------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rand_unit(uint64_t *state)
{
    return (double)(splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* Higher logit first; ties by lower id so results never depend on sort order. */
static int cmp_cand(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->logit != y->logit)
        return x->logit > y->logit ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Moves the k best candidates to c[0..k) (unordered): Hoare quickselect. */
static void select_top(cand *c, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        cand pivot = c[(lo + hi) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (cmp_cand(&c[i], &pivot) < 0)
                i++;
            while (cmp_cand(&c[j], &pivot) > 0)
                j--;
            if (i <= j) {
                cand t = c[i];
                c[i] = c[j];
                c[j] = t;
                i++;
                j--;
            }
        }
        if (k - 1 <= j)
            hi = j;
        else if (k - 1 >= i)
            lo = i;
        else
            break;
    }
}

int32_t smp_sample(smp *s, const float *logits)
{
    int n = s->n_vocab;
    cand *c = s->c;
    /* 1. penalties, on the copy (c[i] is token i until step 3 reorders it) */
    for (int i = 0; i < n; i++)
        c[i] = (cand){ i, logits[i], 0.0f };
    for (int j = 0; j < s->n_distinct; j++) {
        int32_t id = s->distinct[j];
        c[id].logit = penalized(&s->p, c[id].logit, s->count[id]);
    }
    /* 2. greedy: the first best score, so ties go to the lower id */
    if (s->p.temp <= 0.0f) {
        int best = 0;
        for (int i = 1; i < n; i++)
            if (c[i].logit > c[best].logit)
                best = i;
        return best;
    }
    /* 3. top-k */
    int k = s->p.top_k > 0 && s->p.top_k < n ? s->p.top_k : n;
    if (k < n)
        select_top(c, n, k);
    qsort(c, (size_t)k, sizeof *c, cmp_cand);

    /* 4. softmax with temperature, relative to the best (c[0]) for stability */
    for (int i = 0; i < k; i++)
        c[i].p = expf((c[i].logit - c[0].logit) / s->p.temp);
    /* 5. min-p: relative to the best token's probability, which is c[0].p / sum */
    int keep = k;
    if (s->p.min_p > 0.0f) {
        float floor_p = s->p.min_p * c[0].p;
        for (int i = 1; i < keep; i++)
            if (c[i].p < floor_p) {
                keep = i;
                break;
            }
    }
    /* 6. top-p: smallest prefix reaching top_p of the remaining mass */
    double mass = 0.0;
    for (int i = 0; i < keep; i++)
        mass += c[i].p;
    if (s->p.top_p < 1.0f) {
        double acc = 0.0;
        for (int i = 0; i < keep; i++) {
            acc += c[i].p;
            if (acc >= s->p.top_p * mass) {
                keep = i + 1;
                break;
            }
        }
        mass = 0.0;
        for (int i = 0; i < keep; i++)
            mass += c[i].p;
    }
    /* 7. draw */
    double r = rand_unit(&s->rng) * mass;
    for (int i = 0; i < keep; i++) {
        r -= c[i].p;
        if (r < 0.0)
            return c[i].id;
    }
    return c[keep - 1].id;
}
