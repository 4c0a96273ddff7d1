/* bench_memory.c — `localseek bench --memory [--messages N] [--queries Q]
 * [--db PATH] [--json]`: retrieval time against the size of the memory.
 *
 * How it works: a memory file is filled with N synthetic messages (unless
 * --db names an existing file to measure as it is): sentences drawn from a
 * vocabulary of 30,000 made-up words with Zipf frequencies (a few words are
 * everywhere, most are rare, as in real text), 4 to 60 words each, in
 * sessions of 20 messages. Then Q questions are looked up with
 * mem_retrieve(), each built from words of a random stored message mixed with
 * the most common words — the hard case, since a common word matches a large
 * share of the file. Filling is not timed; each lookup is, and the line
 * reports p50, p95 and the maximum in milliseconds with the hits found.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apps/bench_memory.h"
#include "apps/options.h"
#include "base/alloc.h"
#include "base/platform.h"
#include "base/stats.h"
#include "memory/retrieve.h"
#include "memory/store.h"

enum { VOCAB = 30000, WORD_MAX = 12 };

typedef struct {
    char (*words)[WORD_MAX];
    double *cdf; /* [VOCAB] cumulative Zipf probabilities */
    uint64_t rng;
} text_gen;

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double uniform(uint64_t *s)
{
    return (double)(next_rand(s) >> 11) / 9007199254740992.0;
}

static bool gen_init(text_gen *g)
{
    static const char *const syll[] = { "ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "pe", "do", "ar", "en",
                                        "il", "om", "us", "be", "ga", "fi", "zo", "qu", "ho", "ly", "tr", "st" };
    g->words = ls_malloc(sizeof *g->words * VOCAB);
    g->cdf = ls_malloc(sizeof *g->cdf * VOCAB);
    g->rng = 0x9e3779b97f4a7c15ull;
    if (!g->words || !g->cdf)
        return false;
    double sum = 0;
    for (int i = 0; i < VOCAB; i++) {
        int v = i, n = 0;
        do { /* word i spelled in base 24 syllables: all distinct */
            n += snprintf(g->words[i] + n, (size_t)(WORD_MAX - n), "%s", syll[v % 24]);
            v /= 24;
        } while (v > 0 && n < WORD_MAX - 3);
        sum += 1.0 / (i + 1);
        g->cdf[i] = sum;
    }
    for (int i = 0; i < VOCAB; i++)
        g->cdf[i] /= sum;
    return true;
}

static int pick_word(text_gen *g)
{
    double u = uniform(&g->rng);
    int lo = 0, hi = VOCAB - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (g->cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void sentence(text_gen *g, char *out, size_t cap, int n_words)
{
    size_t len = 0;
    for (int i = 0; i < n_words && len + WORD_MAX + 2 < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? " " : "", g->words[pick_word(g)]);
    out[len] = 0;
}

static ls_status fill(mem_store *s, text_gen *g, long n_messages)
{
    char user[1024], answer[1024];
    int64_t session = 0;
    double t0 = plat_now_s();
    for (long i = 0; i < n_messages; i += 2) {
        if (i % 20 == 0) {
            ls_status st = mem_session_create(s, "bench.gguf", "", &session);
            if (st)
                return st;
        }
        sentence(g, user, sizeof user, 4 + (int)(next_rand(&g->rng) % 20));
        sentence(g, answer, sizeof answer, 10 + (int)(next_rand(&g->rng) % 50));
        mem_turn t = { .user = user, .answer = answer, .thinking = "", .model = "bench.gguf" };
        ls_status st = mem_turn_save(s, session, &t, NULL, NULL);
        if (st)
            return st;
        if (i % 20000 == 0 && i)
            fprintf(stderr, "\rfilling: %ld of %ld messages (%.0f s)", i, n_messages, plat_now_s() - t0);
    }
    fprintf(stderr, "\rfilled %ld messages in %.1f s            \n", n_messages, plat_now_s() - t0);
    return LS_OK;
}

int bench_memory_main(int argc, char **argv)
{
    long n_messages = 100000, n_queries = 200;
    const char *db = NULL;
    bool json = false, memory_mode = true; /* --memory is how cmd_bench chose this run */
    opt_def defs[] = {
        { .kind = OPT_FLAG, .name = "--memory", .flag = &memory_mode, .help = "this benchmark" },
        { .kind = OPT_INT, .name = "--messages", .value_name = "N", .i = &n_messages, .lo = 2, .hi = 100000000,
          .help = "synthetic messages in a new memory file", .dflt = "100000" },
        { .kind = OPT_INT, .name = "--queries", .value_name = "Q", .i = &n_queries, .lo = 1, .hi = 1000000,
          .help = "retrievals timed", .dflt = "200" },
        opt_db(&db),
        opt_json(&json),
    };
    defs[3].help = "measure this memory file as it is, or fill it first when it has no messages (and keep it)";
    defs[3].dflt = "a new file in /tmp, removed after";
    const opt_spec spec = {
        .cmd = "bench --memory",
        .usage = "localseek bench --memory [--messages N] [--queries Q] [--db PATH] [--json]",
        .intro = "Retrieval time (FTS5, BM25) over a memory file: p50 and p95 of Q queries.\n",
        .defs = defs,
        .n_defs = OPT_COUNT(defs),
    };
    int rc = opt_parse(&spec, argc, argv);
    if (rc != OPT_GO_ON)
        return rc;

    char tmp[] = "/tmp/localseek_bench_memory_XXXXXX";
    char path[sizeof tmp + 16];
    if (!db) {
        if (!mkdtemp(tmp)) {
            perror("localseek bench: temporary folder");
            return 1;
        }
        snprintf(path, sizeof path, "%s/memory.db", tmp);
    }
    text_gen g = { 0 };
    mem_store *s = NULL;
    double *ms = ls_malloc(sizeof *ms * (size_t)n_queries);
    rc = 1;
    if (!gen_init(&g) || !ms) {
        fprintf(stderr, "localseek bench: out of memory\n");
        goto done;
    }
    if (mem_open(db ? db : path, &s)) {
        fprintf(stderr, "localseek bench: %s\n", ls_error_msg());
        goto done;
    }
    int64_t n_stored = 0;
    mem_message_count(s, &n_stored);
    if (n_stored == 0) { /* a new file (ours, or an empty one named with --db): fill it */
        /* A benchmark file: no need to survive power loss while filling. */
        mem_set_durable(s, false);
        if (fill(s, &g, n_messages)) {
            fprintf(stderr, "localseek bench: %s\n", ls_error_msg());
            goto done;
        }
    }
    mem_message_count(s, &n_stored);

    /* Questions: 3 words of a random stored message + 2 of the 20 commonest words. */
    size_t total_hits = 0;
    char q[1200], msg[1024];
    for (long k = 0; k < n_queries; k++) {
        sentence(&g, msg, sizeof msg, 3);
        snprintf(q, sizeof q, "what about %s %s and %s?", msg, g.words[next_rand(&g.rng) % 20],
                 g.words[next_rand(&g.rng) % 20]);
        mem_hit *hits;
        size_t n;
        double t0 = plat_now_s();
        ls_status st = mem_retrieve(s, q, NULL, &hits, &n);
        ms[k] = (plat_now_s() - t0) * 1e3;
        if (st) {
            fprintf(stderr, "localseek bench: %s\n", ls_error_msg());
            goto done;
        }
        total_hits += n;
        mem_hits_free(hits, n);
    }
    double p50 = ls_percentile(ms, (size_t)n_queries, 50), p95 = ls_percentile(ms, (size_t)n_queries, 95),
           max = ls_percentile(ms, (size_t)n_queries, 100);
    if (json)
        printf("{\"test\": \"retrieve\", \"messages\": %lld, \"queries\": %ld, \"p50_ms\": %.3f, \"p95_ms\": %.3f, "
               "\"max_ms\": %.3f, \"mean_hits\": %.2f}\n",
               (long long)n_stored, n_queries, p50, p95, max, (double)total_hits / (double)n_queries);
    else
        printf("retrieve messages=%lld queries=%ld p50_ms=%.3f p95_ms=%.3f max_ms=%.3f mean_hits=%.2f\n",
               (long long)n_stored, n_queries, p50, p95, max, (double)total_hits / (double)n_queries);
    rc = 0;
done:
    mem_close(s);
    ls_free(g.words);
    ls_free(g.cdf);
    ls_free(ms);
    if (!db) {
        char side[sizeof path + 8];
        for (int i = 0; i < 3; i++) {
            snprintf(side, sizeof side, "%s%s", path, (const char *[]){ "", "-wal", "-shm" }[i]);
            unlink(side);
        }
        rmdir(tmp);
    }
    return rc;
}
