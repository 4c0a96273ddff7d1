/* sampler.c — top-k by quickselect, then sort, softmax, min-p, top-p, draw.
 *
 * Cost per token: O(n_vocab) for the selection plus O(k log k) for sorting
 * the survivors (k = 40 by default; with top_k = 0 the whole vocabulary is
 * sorted, ~10 ms for 151k tokens). The generator is SplitMix64 (small, well
 * distributed, reproducible across platforms). */
#include "generate/sampler.h"

#include <math.h>
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
};

smp_params smp_default_params(void)
{
    return (smp_params){ .temp = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f, .seed = 42 };
}

ls_status smp_create(const smp_params *p, int n_vocab, smp **out)
{
    *out = NULL;
    if (!(p->temp >= 0.0f) || p->top_k < 0 || !(p->top_p > 0.0f && p->top_p <= 1.0f) ||
        !(p->min_p >= 0.0f && p->min_p < 1.0f))
        return ls_error(LS_ERR_ARG, "sampling settings out of range: temperature must be >= 0, top-k >= 0, "
                                    "top-p in (0, 1], min-p in [0, 1)");
    if (n_vocab <= 0)
        return ls_error(LS_ERR_ARG, "empty vocabulary");
    smp *s = ls_calloc(1, sizeof *s);
    if (!s || !(s->c = ls_malloc(sizeof(cand) * (size_t)n_vocab))) {
        ls_free(s);
        return ls_error(LS_ERR_NOMEM, "no memory for the sampler");
    }
    s->p = *p;
    s->n_vocab = n_vocab;
    s->rng = p->seed;
    *out = s;
    return LS_OK;
}

void smp_free(smp *s)
{
    if (!s)
        return;
    ls_free(s->c);
    ls_free(s);
}

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
    if (s->p.temp <= 0.0f) {
        int best = 0;
        for (int i = 1; i < n; i++)
            if (logits[i] > logits[best])
                best = i;
        return best;
    }
    cand *c = s->c;
    for (int i = 0; i < n; i++)
        c[i] = (cand){ i, logits[i], 0.0f };
    int k = s->p.top_k > 0 && s->p.top_k < n ? s->p.top_k : n;
    if (k < n)
        select_top(c, n, k);
    qsort(c, (size_t)k, sizeof *c, cmp_cand);

    /* softmax with temperature, relative to the best (c[0]) for stability */
    for (int i = 0; i < k; i++)
        c[i].p = expf((c[i].logit - c[0].logit) / s->p.temp);
    /* min-p: relative to the best token's probability, which is c[0].p / sum */
    int keep = k;
    if (s->p.min_p > 0.0f) {
        float floor_p = s->p.min_p * c[0].p;
        for (int i = 1; i < keep; i++)
            if (c[i].p < floor_p) {
                keep = i;
                break;
            }
    }
    /* top-p: smallest prefix reaching top_p of the remaining mass */
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
    double r = rand_unit(&s->rng) * mass;
    for (int i = 0; i < keep; i++) {
        r -= c[i].p;
        if (r < 0.0)
            return c[i].id;
    }
    return c[keep - 1].id;
}
