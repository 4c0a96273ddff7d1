/* bench_model.c — llama-bench-style model benchmark.
 *
 * Two tests, each repeated -r times after one untimed warm-up:
 *   pp<P>: one prefill of P tokens from an empty context (tokens/s);
 *   tg<N>: N tokens decoded one at a time from an empty context (tokens/s).
 * Tokens are random ids (tokenization and sampling are not part of it).
 * Beside the figures: bytes of weights a decode step reads, the read
 * bandwidth measured with the same threads just before, and tg as a
 * percentage of the roofline bandwidth / bytes-per-token. Before timing,
 * the results are checked: logits must be finite, and a short prompt
 * evaluated in one batch must match the same prompt token by token.
 */
#include "apps/bench_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/cli.h"
#include "apps/options.h"
#include "base/alloc.h"
#include "base/platform.h"
#include "base/threadpool.h"
#include "generate/engine.h"
#include "tensor/kernels.h"
#include "tensor/membw.h"

typedef struct {
    double mean, stddev;
} stats;

static stats mean_std(const double *v, int n)
{
    double s = 0.0, ss = 0.0;
    for (int i = 0; i < n; i++)
        s += v[i];
    double mean = s / n;
    for (int i = 0; i < n; i++)
        ss += (v[i] - mean) * (v[i] - mean);
    return (stats){ mean, n > 1 ? sqrt(ss / (n - 1)) : 0.0 };
}

/* Finite logits, and batch == token-by-token on a short prompt. */
static bool self_check(fwd_runner *c, kv_cache *kv, const model *m, int bits, float *buf_a, float *buf_b)
{
    int32_t toks[8];
    for (int i = 0; i < 8; i++)
        toks[i] = (int32_t)((i * 7919 + 13) % m->hp.n_vocab);
    kv_rewind(kv, 0);
    if (fwd_eval_one(c, kv, toks, 8, buf_a, false))
        return false;
    kv_rewind(kv, 0);
    for (int i = 0; i < 8; i++)
        if (fwd_eval_one(c, kv, toks + i, 1, buf_b, false))
            return false;
    double d = 0.0, mx = 0.0;
    for (int i = 0; i < m->hp.n_vocab; i++) {
        if (!isfinite(buf_a[i]) || !isfinite(buf_b[i]))
            return false;
        d = fmax(d, fabs((double)buf_a[i] - buf_b[i]));
        mx = fmax(mx, fabs((double)buf_a[i]));
    }
    kv_rewind(kv, 0);
    /* With two-level activations the paths agree to float rounding. With
     * --act-bits 8 a different float order can flip a single 8-bit rounding,
     * and through 28 layers of random weights that grows to a few percent
     * (measured 2.7 % on the r1-1.5b shape), so only gross errors are caught. */
    double tol = bits == 8 ? 5e-2 : 1e-3;
    return d <= tol * fmax(1.0, mx);
}

/* Decode n steps of n_seq sequences together (each gets its own tokens and
 * logits row), reps times; tokens/s counts the tokens of all of them. */
static stats decode_together(fwd_runner *c, kv_cache **kvs, int n_seq, const int32_t *toks, long n, float *logits,
                             int V, double *times, int reps)
{
    fwd_seq seqs[64];
    for (int r = -1; r < reps; r++) { /* r = -1: a warm-up of 4 steps, untimed */
        for (int s = 0; s < n_seq; s++)
            kv_rewind(kvs[s], 0);
        long steps = r < 0 ? 4 : n;
        double ts = plat_now_s();
        for (long i = 0; i < steps; i++) {
            for (int s = 0; s < n_seq; s++)
                seqs[s] = (fwd_seq){ kvs[s], toks + i + s, 1, logits + (size_t)s * (size_t)V, false };
            fwd_eval(c, seqs, n_seq);
        }
        if (r >= 0)
            times[r] = (double)(n * n_seq) / (plat_now_s() - ts);
    }
    return mean_std(times, reps);
}

int bench_model_main(int argc, char **argv)
{
    const char *path = NULL, *act_bits_name = "16";
    long n_threads = plat_physical_cores(), n_prompt = 512, n_gen = 128, reps = 3, n_par = 1;
    bool json = false;
    size_t mem_budget = 0; /* 0: what the machine can give */
    const opt_def defs[] = {
        opt_model(&path),
        opt_threads(&n_threads),
        { .kind = OPT_INT, .name = "-p", .value_name = "N", .i = &n_prompt, .lo = 0, .hi = 1 << 20,
          .help = "prompt tokens for the prefill test; 0 skips it", .dflt = "512" },
        { .kind = OPT_INT, .name = "-n", .value_name = "N", .i = &n_gen, .lo = 0, .hi = 1 << 20,
          .help = "tokens generated for the decode test; 0 skips it", .dflt = "128" },
        { .kind = OPT_INT, .name = "-r", .value_name = "N", .i = &reps, .lo = 1, .hi = 1000,
          .help = "repetitions (mean and standard deviation are reported)", .dflt = "3" },
        { .kind = OPT_INT, .name = "--parallel", .value_name = "N", .i = &n_par, .lo = 1, .hi = 64,
          .help = "also decode N sequences together, one batch a step (tokens/s of all of them)", .dflt = "1" },
        opt_json(&json),
        opt_act_bits(&act_bits_name),
        opt_mem_budget(&mem_budget),
    };
    const opt_spec spec = {
        .cmd = "bench",
        .help_cmd = "localseek bench -m MODEL",
        .usage = "localseek bench -m MODEL [-t N] [-p 512] [-n 128] [-r 3] [--parallel N] [--json] [--act-bits 8|16]",
        .intro = "Prefill (pp) and decode (tg) speed in tokens/s, beside the memory bandwidth measured in the\n"
                 "same run and the share of it a decode step reaches.\n",
        .defs = defs,
        .n_defs = OPT_COUNT(defs),
    };
    int rc = opt_parse(&spec, argc, argv);
    if (rc != OPT_GO_ON)
        return rc;
    const long act_bits = strtol(act_bits_name, NULL, 10);

    /* The context below holds the longer test plus 16: check that it fits first. */
    int n_ctx = (int)(n_prompt > n_gen ? n_prompt : n_gen) + 16;
    engine_params ep = { .n_ctx = n_ctx, .n_threads = (int)n_threads,
                         .n_batch = n_prompt > 0 && n_prompt < 512 ? (int)n_prompt : 512, .act_bits = (int)act_bits,
                         .n_seq_max = (int)n_par, .mem_budget_bytes = mem_budget, .no_template = true };
    engine *e = NULL;
    engine_open_info info;
    if (engine_open(path, &ep, NULL, &e, &info)) {
        fprintf(stderr, "localseek bench: %s\n", ls_error_msg());
        return 1;
    }
    if (info.fit_warning[0])
        fprintf(stderr, "localseek bench: warning: %s\n", info.fit_warning);
    double t_load = info.t_load_s;
    const model *m = engine_model(e);
    fwd_runner *c = engine_runner(e);
    fwd_params fp = fwd_get_params(c);
    kv_cache *kv = NULL, *par_kv[64] = { 0 };
    rc = 1;
    int V = m->hp.n_vocab;
    float *la = ls_malloc(sizeof(float) * (size_t)V), *lb = ls_malloc(sizeof(float) * (size_t)V);
    float *lpar = ls_malloc(sizeof(float) * (size_t)V * (size_t)n_par); /* [n_par][V] */
    int32_t *toks = ls_malloc(sizeof(int32_t) * (size_t)(n_prompt + n_gen + n_par + 1));
    double *times = ls_malloc(sizeof(double) * (size_t)reps);
    bool made = la && lb && lpar && toks && times && !engine_new_sequence(e, &kv);
    for (long s = 0; made && n_par > 1 && s < n_par; s++)
        made = !engine_new_sequence(e, &par_kv[s]);
    if (!made) {
        fprintf(stderr, "localseek bench: %s\n", ls_error_msg()[0] ? ls_error_msg() : "out of memory");
        goto done;
    }
    /* First touch of every weight page happens here, outside the timings. */
    if (!self_check(c, kv, m, (int)act_bits, la, lb)) {
        fprintf(stderr, "localseek bench: self-check failed (non-finite logits or batch/single mismatch); "
                        "not timing a wrong computation\n");
        goto done;
    }
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (long i = 0; i < n_prompt + n_gen + n_par + 1; i++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        toks[i] = (int32_t)(seed % (uint64_t)V);
    }

    /* Timings first, then the bandwidth probe (its buffer would otherwise
     * count in the peak memory figure); both use n_threads threads, and the
     * model's pool is idle (sleeping) while the probe runs. */
    stats res[3] = { { 0, 0 }, { 0, 0 }, { 0, 0 } };
    for (int test = 0; test < 3; test++) {
        long n = test == 0 ? n_prompt : n_gen;
        if (n == 0 || (test == 2 && n_par == 1))
            continue;
        if (test == 2) { /* n_par sequences, each one token a step, in one batch through the weights */
            res[2] = decode_together(c, par_kv, (int)n_par, toks, n, lpar, V, times, (int)reps);
            continue;
        }
        kv_rewind(kv, 0); /* warm-up, untimed */
        if (test == 0)
            fwd_eval_one(c, kv, toks, (int)(n < 32 ? n : 32), la, false);
        else
            for (int i = 0; i < 4; i++)
                fwd_eval_one(c, kv, toks + i, 1, la, false);
        for (long r = 0; r < reps; r++) {
            kv_rewind(kv, 0);
            double ts = plat_now_s();
            if (test == 0) {
                fwd_eval_one(c, kv, toks, (int)n, la, false);
            } else {
                for (long i = 0; i < n; i++)
                    fwd_eval_one(c, kv, toks + i, 1, la, false);
            }
            times[r] = (double)n / (plat_now_s() - ts);
        }
        res[test] = mean_std(times, (int)reps);
    }
    size_t peak_rss = plat_peak_rss_bytes();
    membw_result bw = { 0 };
    pool *bp = NULL;
    if (pool_create((int)n_threads, &bp) || membw_measure(bp, membw_default_bytes(), 3, &bw)) {
        fprintf(stderr, "localseek bench: %s\n", ls_error_msg());
        pool_free(bp);
        goto done;
    }
    pool_free(bp);

    const char *isa = kern_get()->name;
    double per_tok_gb = (double)m->matmul_bytes_per_token / 1e9;
    if (!json)
        printf("model: %s (%s, %.2f GiB in the file, %.3f GB read per generated token)\n"
               "threads: %ld, kernels: %s, activations: %ld-bit, memory read bandwidth: %.1f GB/s "
               "(decode roofline %.1f tokens/s)\nload: %.3f s\n\n%-8s %12s %10s %10s\n",
               path, model_type_summary(m), (double)m->weight_bytes / (1024.0 * 1024 * 1024), per_tok_gb,
               n_threads, isa, act_bits, bw.best_gbps, bw.best_gbps / per_tok_gb, t_load, "test", "tokens/s", "+/-",
               "roofline");
    else
        printf("[");
    int n_out = 0;
    for (int test = 0; test < 3; test++) {
        long n = test == 0 ? n_prompt : n_gen;
        if (n == 0 || (test == 2 && n_par == 1))
            continue;
        stats st = res[test];
        /* the share of the bandwidth a decode step uses: a batched step reads the weights once for n_par tokens */
        double steps_per_s = test == 2 ? st.mean / (double)n_par : st.mean;
        double roof = test >= 1 ? 100.0 * steps_per_s * per_tok_gb / bw.best_gbps : 0.0;
        char name[32];
        if (test == 2)
            snprintf(name, sizeof name, "tg%ldx%ld", n, n_par);
        else
            snprintf(name, sizeof name, "%s%ld", test == 0 ? "pp" : "tg", n);
        if (json)
            printf("%s\n  {\"test\": \"%s\", \"n_prompt\": %ld, \"n_gen\": %ld, \"avg_ts\": %.3f, \"stddev_ts\": %.3f, "
                   "\"threads\": %ld, \"cpu_path\": \"%s\", \"act_bits\": %ld, \"model_bytes\": %zu, "
                   "\"bytes_per_token\": %zu, \"bandwidth_gbs\": %.2f, \"roofline_pct\": %.1f, "
                   "\"load_s\": %.3f, \"peak_rss_bytes\": %zu, \"n_parallel\": %ld}",
                   n_out++ ? "," : "", name, test == 0 ? n : 0, test >= 1 ? n : 0, st.mean, st.stddev, n_threads,
                   isa, act_bits, m->weight_bytes, m->matmul_bytes_per_token, bw.best_gbps,
                   test >= 1 ? roof : 0.0, t_load, peak_rss, test == 2 ? n_par : 1);
        else if (test >= 1)
            printf("%-8s %12.2f %10.2f %9.1f%%\n", name, st.mean, st.stddev, roof);
        else
            printf("%-8s %12.2f %10.2f %10s\n", name, st.mean, st.stddev, "-");
        fflush(stdout);
    }
    if (json)
        printf("\n]\n");
    else
        printf("\npeak resident memory: %.0f MiB (weights mapped %.0f MiB + KV cache and scratch %.0f MiB)\n",
               (double)peak_rss / (1024.0 * 1024), (double)m->weight_bytes / (1024.0 * 1024),
               (double)fwd_memory_bytes(m, &fp) / (1024.0 * 1024));
    rc = 0;
done:
    kv_free(kv);
    for (long s = 0; s < n_par && s < 64; s++)
        kv_free(par_kv[s]);
    engine_close(e);
    ls_free(lpar);
    ls_free(la);
    ls_free(lb);
    ls_free(toks);
    ls_free(times);
    return rc;
}
