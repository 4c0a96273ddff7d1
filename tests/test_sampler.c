/* test_sampler.c — the sampling chain on hand-made scores with known outcomes:
 * greedy, repetition / presence / frequency penalties and their window,
 * top-k, top-p and min-p (empirical frequencies over many draws), seeds,
 * parameter checks, allocation failures, and no allocation per token. */
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "base/status.h"
#include "check.h"
#include "generate/sampler.h"

static smp *make(smp_params p, int n_vocab)
{
    smp *s = NULL;
    ls_status st = smp_create(&p, n_vocab, &s);
    CHECK(st == LS_OK, "smp_create: %s", ls_error_msg());
    return s;
}

static smp_params greedy_params(void)
{
    smp_params p = smp_default_params();
    p.temp = 0.0f;
    return p;
}

/* Draws n tokens and returns how often each of the first n_vocab came up, as fractions. */
static void frequencies(smp *s, const float *logits, int n_vocab, int n, double *freq)
{
    for (int i = 0; i < n_vocab; i++)
        freq[i] = 0.0;
    for (int t = 0; t < n; t++) {
        int32_t id = smp_sample(s, logits);
        if (id >= 0 && id < n_vocab)
            freq[id] += 1.0 / n;
    }
}

/* Scores whose softmax at temperature 1 is exactly the distribution p[]. */
static void logits_of(const double *p, int n, float *logits)
{
    for (int i = 0; i < n; i++)
        logits[i] = (float)log(p[i]);
}

static void check_freq(const char *what, const double *got, const double *want, int n, double tol)
{
    for (int i = 0; i < n; i++)
        CHECK(fabs(got[i] - want[i]) <= tol, "%s: token %d drawn %.4f of the time, expected %.4f", what, i, got[i],
              want[i]);
}

static void test_params(void)
{
    smp_params d = smp_default_params();
    CHECK(d.repeat_penalty == 1.0f && d.presence_penalty == 0.0f && d.frequency_penalty == 0.0f,
          "penalties off by default");
    CHECK(d.penalty_last_n == 64 && d.n_history_max == 4096, "default window 64, history cap 4096");

    struct {
        const char *word;
        smp_params p;
    } bad[10];
    int n = 0;
    for (int i = 0; i < 10; i++)
        bad[i].p = d;
    bad[n].word = "temperature", bad[n++].p.temp = -0.1f;
    bad[n].word = "top-k", bad[n++].p.top_k = -1;
    bad[n].word = "top-p", bad[n++].p.top_p = 0.0f;
    bad[n].word = "min-p", bad[n++].p.min_p = 1.0f;
    bad[n].word = "repeat penalty", bad[n++].p.repeat_penalty = 0.0f;
    bad[n].word = "repeat penalty", bad[n++].p.repeat_penalty = INFINITY;
    bad[n].word = "presence penalty", bad[n++].p.presence_penalty = 2.5f;
    bad[n].word = "frequency penalty", bad[n++].p.frequency_penalty = NAN;
    bad[n].word = "penalty window", bad[n++].p.penalty_last_n = -2;
    bad[n].word = "history size", bad[n].p.penalty_last_n = -1, bad[n++].p.n_history_max = 0;
    for (int i = 0; i < n; i++) {
        smp *s = (smp *)1;
        ls_error_clear();
        ls_status st = smp_create(&bad[i].p, 10, &s);
        CHECK(st == LS_ERR_ARG && s == NULL, "bad %s refused", bad[i].word);
        CHECK(strstr(ls_error_msg(), bad[i].word) != NULL, "message names the %s: '%s'", bad[i].word, ls_error_msg());
    }
    smp *s = NULL;
    CHECK(smp_create(&d, 0, &s) == LS_ERR_ARG && s == NULL, "empty vocabulary refused");
    smp_free(NULL);
}

static void test_greedy(void)
{
    smp *s = make(greedy_params(), 5);
    const float l[5] = { 0.1f, 2.0f, -3.0f, 1.9f, 2.0f };
    CHECK(smp_sample(s, l) == 1, "greedy takes the best score; a tie goes to the lower id");
    const float neg[5] = { -9.0f, -8.0f, -7.5f, -7.0f, -7.25f };
    CHECK(smp_sample(s, neg) == 3, "greedy with all scores negative");
    smp_free(s);
}

static void test_repetition(void)
{
    smp_params p = greedy_params();
    p.repeat_penalty = 1.1f;
    smp *s = make(p, 3);
    smp_accept(s, 0);
    /* 2.0 / 1.1 = 1.82: below 1.9 (flips), above 1.5 (does not) */
    const float flip[3] = { 2.0f, 1.9f, 0.0f }, keep[3] = { 2.0f, 1.5f, 0.0f };
    CHECK(smp_sample(s, flip) == 1, "repetition penalty flips 2.0 vs 1.9");
    CHECK(smp_sample(s, keep) == 0, "repetition penalty keeps 2.0 vs 1.5");
    /* negative: -1.0 × 1.1 = -1.1 < -1.05 (flips). Dividing instead would give
     * -0.91, which would wrongly make the seen token more likely. */
    const float neg[3] = { -1.0f, -1.05f, -5.0f };
    CHECK(smp_sample(s, neg) == 1, "a negative score is multiplied, moving it down");
    float l[3] = { 2.0f, -1.0f, 0.0f };
    smp_penalize(s, l);
    CHECK(l[0] == 2.0f / 1.1f && l[1] == -1.0f && l[2] == 0.0f, "only the seen token changes: %g %g %g",
          (double)l[0], (double)l[1], (double)l[2]);
    /* a penalty applies at temperature > 0 too */
    smp_free(s);
    p.temp = 0.01f;
    s = make(p, 3);
    smp_accept(s, 0);
    int n_one = 0;
    for (int t = 0; t < 200; t++)
        n_one += smp_sample(s, flip) == 1;
    CHECK(n_one == 200, "penalty before sampling at low temperature (%d of 200)", n_one);
    smp_free(s);
}

static void test_presence_frequency(void)
{
    smp_params p = greedy_params();
    p.presence_penalty = 0.5f;
    p.frequency_penalty = 0.25f;
    smp *s = make(p, 4);
    for (int i = 0; i < 3; i++)
        smp_accept(s, 0);
    smp_accept(s, 1);
    float l[4] = { 2.0f, -1.0f, 0.5f, 3.0f };
    smp_penalize(s, l);
    CHECK(l[0] == 0.75f, "2 - (0.5 + 3 × 0.25) = 0.75, got %g", (double)l[0]);
    CHECK(l[1] == -1.75f, "-1 - (0.5 + 1 × 0.25) = -1.75, got %g", (double)l[1]);
    CHECK(l[2] == 0.5f && l[3] == 3.0f, "unseen tokens unchanged");
    smp_free(s);

    p.repeat_penalty = 2.0f; /* repetition first, then presence and frequency */
    s = make(p, 4);
    for (int i = 0; i < 3; i++)
        smp_accept(s, 0);
    smp_accept(s, 1);
    float m[4] = { 2.0f, -1.0f, 0.5f, 3.0f };
    smp_penalize(s, m);
    CHECK(m[0] == -0.25f, "2 / 2 - 1.25 = -0.25, got %g", (double)m[0]);
    CHECK(m[1] == -2.75f, "-1 × 2 - 0.75 = -2.75, got %g", (double)m[1]);
    smp_free(s);

    p.repeat_penalty = 1.0f; /* negative penalties encourage repeats */
    p.presence_penalty = -1.0f;
    p.frequency_penalty = 0.0f;
    s = make(p, 2);
    smp_accept(s, 1);
    const float two[2] = { 1.0f, 0.5f };
    CHECK(smp_sample(s, two) == 1, "a negative presence penalty favours the seen token");
    smp_free(s);
}

static void test_window(void)
{
    smp_params p = greedy_params();
    p.repeat_penalty = 100.0f;
    p.penalty_last_n = 3;
    smp *s = make(p, 8);
    const float l[8] = { 1.0f, 0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f, 0.3f };
    CHECK(smp_sample(s, l) == 0, "no history, no penalty");
    smp_accept(s, 0);
    CHECK(smp_sample(s, l) == 1, "token 0 penalized after being accepted");
    smp_accept(s, 5);
    smp_accept(s, 6);
    CHECK(smp_sample(s, l) == 1, "still penalized: 0 is one of the last 3");
    smp_accept(s, 7);
    CHECK(smp_sample(s, l) == 0, "token 0 left the 3-token window");
    smp_reset(s);
    float m[8];
    memcpy(m, l, sizeof m);
    smp_penalize(s, m);
    CHECK(memcmp(m, l, sizeof m) == 0, "smp_reset forgets the history");
    smp_free(s);

    p.penalty_last_n = 0; /* 0 turns penalties off whatever their strength */
    s = make(p, 8);
    smp_accept(s, 0);
    CHECK(smp_sample(s, l) == 0, "penalty_last_n 0 disables penalties");
    smp_free(s);

    /* the incremental counts equal a recount of the last n accepted ids,
     * through many wrap-arounds, for a fixed window and for -1 (capped) */
    const int windows[2][2] = { { 5, 0 }, { -1, 7 } };
    for (int w = 0; w < 2; w++) {
        p = greedy_params();
        p.repeat_penalty = 2.0f;
        p.presence_penalty = 0.5f;
        p.frequency_penalty = 0.25f;
        p.penalty_last_n = windows[w][0];
        p.n_history_max = windows[w][1];
        int n_win = w == 0 ? 5 : 7;
        s = make(p, 16);
        int32_t hist[3000];
        uint64_t x = 12345;
        int n_bad = 0;
        for (int t = 0; t < 3000; t++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            hist[t] = (int32_t)((x >> 33) % (t % 100 < 50 ? 4 : 16)); /* runs of few and many distinct ids */
            smp_accept(s, hist[t]);
            float got[16], want[16];
            for (int i = 0; i < 16; i++)
                got[i] = want[i] = (float)(i - 8) * 0.375f;
            smp_penalize(s, got);
            int cnt[16] = { 0 };
            for (int k = t; k >= 0 && k > t - n_win; k--)
                cnt[hist[k]]++;
            for (int i = 0; i < 16; i++)
                if (cnt[i]) {
                    float v = want[i] > 0.0f ? want[i] / 2.0f : want[i] * 2.0f;
                    want[i] = v - ((float)cnt[i] * 0.25f + 0.5f);
                }
            n_bad += memcmp(got, want, sizeof got) != 0;
        }
        CHECK(n_bad == 0, "window %d: penalties equal a recount at every step (%d steps differ)", windows[w][0],
              n_bad);
        smp_free(s);
    }
}

static void test_top_k_and_temperature(void)
{
    enum { N = 1000 };
    static float l[N];
    uint64_t x = 99;
    smp_params p = smp_default_params();
    p.temp = 1.5f;
    p.top_k = 1;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    smp *k1 = make(p, N);
    p.top_k = 40;
    p.temp = 1e-3f;
    smp *cold = make(p, N);
    int n_k1 = 0, n_cold = 0;
    for (int trial = 0; trial < 200; trial++) {
        int best = 0;
        for (int i = 0; i < N; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            l[i] = (float)(x >> 40) / (float)(1 << 24) * 10.0f; /* distinct enough: steps of 6e-7 × 10 */
            if (l[i] > l[best])
                best = i;
        }
        l[best] += 0.1f; /* a clear winner for the low temperature */
        n_k1 += smp_sample(k1, l) == best;
        n_cold += smp_sample(cold, l) == best;
    }
    CHECK(n_k1 == 200, "top-k 1 equals greedy (%d of 200)", n_k1);
    CHECK(n_cold == 200, "temperature 0.001 with a 0.1 lead equals greedy (%d of 200)", n_cold);
    smp_free(k1);
    smp_free(cold);
}

static void test_distributions(void)
{
    enum { DRAWS = 20000 };
    const double prob[4] = { 0.5, 0.3, 0.15, 0.05 };
    float l[4];
    logits_of(prob, 4, l);
    double f[4];
    smp_params p = smp_default_params();
    p.temp = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    /* one draw's frequency has a standard deviation <= 0.0036 at 20000 draws; 0.015 is > 4 of them */
    const double tol = 0.015;

    smp *s = make(p, 4);
    frequencies(s, l, 4, DRAWS, f);
    check_freq("no filter", f, prob, 4, tol);
    smp_free(s);

    p.top_p = 0.75f; /* 0.5 < 0.75 <= 0.8: the nucleus is the two best */
    s = make(p, 4);
    frequencies(s, l, 4, DRAWS, f);
    check_freq("top-p 0.75", f, (const double[]){ 0.625, 0.375, 0, 0 }, 4, tol);
    CHECK(f[2] == 0.0 && f[3] == 0.0, "top-p 0.75 never draws outside the nucleus");
    smp_free(s);

    p.top_p = 0.85f; /* 0.8 < 0.85 <= 0.95: three tokens */
    s = make(p, 4);
    frequencies(s, l, 4, DRAWS, f);
    check_freq("top-p 0.85", f, (const double[]){ 0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0 }, 4, tol);
    CHECK(f[3] == 0.0, "top-p 0.85 never draws the last token");
    smp_free(s);

    p.top_p = 1.0f;
    p.min_p = 0.2f; /* floor 0.2 × 0.5 = 0.1: drops 0.05 only */
    s = make(p, 4);
    frequencies(s, l, 4, DRAWS, f);
    check_freq("min-p 0.2", f, (const double[]){ 0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0 }, 4, tol);
    CHECK(f[3] == 0.0, "min-p 0.2 cuts the 0.05 token");
    smp_free(s);

    p.min_p = 0.35f; /* floor 0.175: drops 0.15 and 0.05 */
    s = make(p, 4);
    frequencies(s, l, 4, DRAWS, f);
    check_freq("min-p 0.35", f, (const double[]){ 0.625, 0.375, 0, 0 }, 4, tol);
    smp_free(s);

    p.min_p = 0.0f;
    p.top_k = 2;
    s = make(p, 4);
    frequencies(s, l, 4, DRAWS, f);
    check_freq("top-k 2", f, (const double[]){ 0.625, 0.375, 0, 0 }, 4, tol);
    smp_free(s);

    p.top_k = 0;
    p.temp = 2.0f; /* p^(1/2), renormalized */
    s = make(p, 4);
    frequencies(s, l, 4, DRAWS, f);
    double want[4], z = 0.0;
    for (int i = 0; i < 4; i++)
        z += want[i] = sqrt(prob[i]);
    for (int i = 0; i < 4; i++)
        want[i] /= z;
    check_freq("temperature 2", f, want, 4, tol);
    smp_free(s);
}

static void test_seeds(void)
{
    enum { N = 50, DRAWS = 100 };
    float l[N];
    for (int i = 0; i < N; i++)
        l[i] = 0.01f * (float)(i % 7);
    smp_params p = smp_default_params();
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = 7;
    smp *a = make(p, N), *b = make(p, N);
    p.seed = 8;
    smp *c = make(p, N);
    int32_t sa[DRAWS];
    int n_same = 0, n_diff = 0;
    for (int t = 0; t < DRAWS; t++) {
        sa[t] = smp_sample(a, l);
        n_same += sa[t] == smp_sample(b, l);
        n_diff += sa[t] != smp_sample(c, l);
    }
    CHECK(n_same == DRAWS, "same seed, same sequence (%d of %d)", n_same, DRAWS);
    CHECK(n_diff > DRAWS / 2, "different seed, different sequence (%d of %d differ)", n_diff, DRAWS);
    smp_reset(a);
    int n_again = 0;
    for (int t = 0; t < DRAWS; t++)
        n_again += sa[t] == smp_sample(a, l);
    CHECK(n_again == DRAWS, "smp_reset restarts the sequence (%d of %d)", n_again, DRAWS);
    smp_free(a);
    smp_free(b);
    smp_free(c);
}

static void test_memory(void)
{
    smp_params p = smp_default_params();
    p.repeat_penalty = 1.1f;
    p.frequency_penalty = 0.1f;
    long live = ls_alloc_live();
    int n_ok = 0;
    for (long k = 1; k <= 8; k++) {
        smp *s = NULL;
        ls_alloc_fail_after(k);
        ls_status st = smp_create(&p, 100, &s);
        ls_alloc_fail_after(0);
        if (st == LS_OK) {
            n_ok++;
            smp_free(s);
        } else {
            CHECK(st == LS_ERR_NOMEM && s == NULL, "allocation %ld failing gives LS_ERR_NOMEM", k);
        }
        CHECK(ls_alloc_live() == live, "no leak when allocation %ld fails", k);
    }
    /* sampler, candidates, ring, distinct list, counts, index: failing any of the 6 fails the call */
    CHECK(n_ok == 2, "smp_create with penalties makes 6 allocations (succeeded %d of 8 times)", n_ok);

    /* sampling and accepting allocate nothing: an armed failure is still pending afterwards */
    smp *s = make(p, 100);
    float l[100];
    for (int i = 0; i < 100; i++)
        l[i] = (float)(i % 13);
    ls_alloc_fail_after(1);
    for (int t = 0; t < 500; t++)
        smp_accept(s, smp_sample(s, l));
    void *probe = ls_malloc(1);
    ls_alloc_fail_after(0);
    CHECK(probe == NULL, "smp_sample and smp_accept did not allocate");
    ls_free(probe);
    smp_free(s);
    CHECK(ls_alloc_live() == live, "everything freed");
}

int main(void)
{
    test_params();
    test_greedy();
    test_repetition();
    test_presence_frequency();
    test_window();
    test_top_k_and_temperature();
    test_distributions();
    test_seeds();
    test_memory();
    return check_done();
}
