/* test_guard.c — the resource guard (generate/guard.h), piece by piece.
 *
 *  1. memory sizes: what --mem-budget accepts and the sentence it refuses with;
 *  2. the estimate's arithmetic on the DeepSeek-R1-Distill-Qwen-7B shape (the
 *     KV cache figures the README states), and the verdict's boundaries;
 *  3. the suggested --ctx: a power of two, the largest that leaves 15 % spare;
 *  4. the sentence names the numbers a user needs;
 *  5. the limit from a fake system root: MemAvailable, cgroup v2 (own limit,
 *     a parent's, none, a container's root), cgroup v1 (limited, unlimited);
 *  6. the running watch warns once;
 *  7. with ../shared: the estimate's parts against what the loaders really
 *     allocate (model, tokenizer, file index, forward context).
 */
#include <math.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/platform.h"
#include "check.h"
#include "gguf/gguf.h"
#include "model/forward.h"
#include "model/model.h"
#include "generate/guard.h"
#include "tensor/kernels.h"
#include "tokenizer/tokenizer.h"

static const size_t MiB = 1024 * 1024;
static const size_t GiB = (size_t)1024 * 1024 * 1024;

/* ======================================================================== */
/* 1. Sizes                                                                  */
/* ======================================================================== */

static void test_parse_size(void)
{
    static const struct {
        const char *text;
        size_t bytes;
    } good[] = {
        { "123456", 123456 },
        { "512M", 512 * MiB },
        { "8G", 8 * GiB },
        { "8GiB", 8 * GiB },
        { "8gib", 8 * GiB },
        { "8GB", 8 * GiB },
        { "1.5g", 3 * GiB / 2 },
        { "64k", 64 * 1024 },
        { "64KB", 64 * 1024 },
        { "1T", 1024 * GiB },
        { "4096B", 4096 },
        { "0.5M", 512 * 1024 },
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        size_t b = 0;
        ls_status s = guard_parse_size(good[i].text, &b);
        CHECK(s == LS_OK && b == good[i].bytes, "'%s' -> %zu (status %d, got %zu)", good[i].text, good[i].bytes, s,
              b);
    }
    static const struct {
        const char *text;
        const char *says; /* a word the message must contain */
    } bad[] = {
        { "", "empty" },          { "abc", "not a memory size" }, { "-1G", "not a memory size" },
        { "1.5", "fraction" },    { "8X", "unknown unit" },       { "8 G", "unknown unit" },
        { "0", "at least one" },  { "0G", "at least one" },       { "1e9", "unknown unit" },
        { "1..5G", "not a memory size" }, { "99999999T", "too large" }, { " 8G", "not a memory size" },
        { "8Gi", "unknown unit" }, { "0x10M", "unknown unit" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t b = 7;
        ls_error_clear();
        ls_status s = guard_parse_size(bad[i].text, &b);
        CHECK(s == LS_ERR_ARG && b == 0, "'%s' is refused (status %d)", bad[i].text, s);
        CHECK(strstr(ls_error_msg(), bad[i].says) != NULL, "'%s': message says '%s': %s", bad[i].text, bad[i].says,
              ls_error_msg());
        CHECK(strlen(bad[i].text) == 0 || strstr(ls_error_msg(), bad[i].text) != NULL,
              "'%s': message quotes the input: %s", bad[i].text, ls_error_msg());
    }
    char buf[32];
    guard_format_bytes(buf, sizeof buf, 512);
    CHECK(!strcmp(buf, "512 bytes"), "512 bytes: %s", buf);
    guard_format_bytes(buf, sizeof buf, 3 * GiB / 2);
    CHECK(!strcmp(buf, "1.5 GiB"), "1.5 GiB: %s", buf);
    guard_format_bytes(buf, sizeof buf, 300 * MiB);
    CHECK(!strcmp(buf, "300.0 MiB"), "300.0 MiB: %s", buf);
}

/* ======================================================================== */
/* 2-4. The estimate, the verdict, the suggestion, the sentence              */
/* ======================================================================== */

/* DeepSeek-R1-Distill-Qwen-7B as a Q4_K_M file describes itself. */
static guard_model r1_7b(void)
{
    guard_model gm;
    memset(&gm, 0, sizeof gm);
    model_hparams *hp = &gm.shape.hp;
    hp->n_vocab = 152064;
    hp->n_embd = 3584;
    hp->n_layer = 28;
    hp->n_head = 28;
    hp->n_head_kv = 4;
    hp->head_dim = 128;
    hp->n_ff = 18944;
    hp->n_rot = 128;
    hp->n_ctx_train = 131072;
    gm.shape.weight_bytes = (size_t)(4.36 * (double)GiB);
    gm.shape.act_row_bytes = kern_act_row_bytes(DT_Q4_K, 18944); /* ffn_down's input, the widest */
    gm.shape.f32_store_bytes = 200 * 1024;
    gm.header_bytes = 6 * MiB;
    gm.index_bytes = 2 * MiB;
    gm.tokenizer_bytes = 11 * MiB;
    return gm;
}

static size_t need_at(const guard_model *gm, int n_ctx)
{
    guard_params p = { .n_ctx = n_ctx, .n_threads = 4 };
    guard_estimate e;
    guard_estimate_model(gm, &p, &e);
    return e.total_bytes;
}

/* The sentence contains `bytes` written as guard_format_bytes writes it. */
static bool says_bytes(const char *sentence, size_t bytes)
{
    char b[32];
    guard_format_bytes(b, sizeof b, bytes);
    return strstr(sentence, b) != NULL;
}

static bool contains(const char *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool contains(const char *s, const char *fmt, ...)
{
    char want[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(want, sizeof want, fmt, ap);
    va_end(ap);
    return strstr(s, want) != NULL;
}

static void test_estimate(void)
{
    guard_model gm = r1_7b();
    guard_params p = { .n_ctx = 4096, .n_threads = 4 };
    guard_estimate e;
    guard_estimate_model(&gm, &p, &e);
    /* README: 28 layers x 2 x 4 heads x 128 x 2 bytes = 56 KiB per token. */
    CHECK(e.kv_bytes == 224 * MiB, "KV cache at 4096 tokens is 224 MiB, got %zu", e.kv_bytes);
    CHECK(e.n_ctx == 4096 && e.n_batch == 512 && e.n_threads == 4, "parameters as used: %d %d %d", e.n_ctx, e.n_batch,
          e.n_threads);
    CHECK(e.weights_bytes == gm.shape.weight_bytes, "weights are every tensor byte");
    CHECK(e.total_bytes == e.weights_bytes + e.kv_bytes + e.scratch_bytes + e.tables_bytes + e.program_bytes,
          "total is the sum of the parts");
    CHECK(e.tables_bytes >= gm.header_bytes + gm.index_bytes + gm.tokenizer_bytes + gm.shape.f32_store_bytes,
          "tables hold metadata, index, tokenizer, F32 copies");
    CHECK(e.program_bytes > 2 * MiB && e.program_bytes < 8 * MiB, "program is a few MiB: %zu", e.program_bytes);
    /* scratch is the engine's own formula */
    fwd_params fp = { .n_ctx = 4096, .n_threads = 4 };
    CHECK(e.scratch_bytes == fwd_scratch_bytes_hp(&gm.shape.hp, gm.shape.act_row_bytes, &fp), "scratch formula");
    guard_params big = { .n_ctx = 131072, .n_threads = 4 };
    guard_estimate_model(&gm, &big, &e);
    CHECK(e.kv_bytes == 7 * GiB, "KV cache at 131072 tokens is 7 GiB, got %zu", e.kv_bytes);
    /* defaults: 0 means 4096 tokens and physical cores */
    guard_params zero = { 0 };
    guard_estimate_model(&gm, &zero, &e);
    CHECK(e.n_ctx == 4096 && e.n_threads == plat_physical_cores(), "defaults: ctx %d, threads %d", e.n_ctx,
          e.n_threads);
    /* the batch never exceeds the context */
    guard_params small = { .n_ctx = 100, .n_threads = 1 };
    guard_estimate_model(&gm, &small, &e);
    CHECK(e.n_batch == 100, "batch capped at the context: %d", e.n_batch);
}

static void test_verdict(void)
{
    guard_model gm = r1_7b();
    guard_params p = { .n_ctx = 4096, .n_threads = 4 };
    size_t need = need_at(&gm, 4096);
    guard_limit lim;
    guard_report r;

    /* exactly enough: fits, but 0 % spare is TIGHT */
    guard_budget_limit(need, &lim);
    guard_judge(&gm, &p, &lim, &r);
    CHECK(r.verdict == GUARD_TIGHT && r.spare_percent == 0, "need == limit: tight, 0%% (%d, %d)", r.verdict,
          r.spare_percent);
    /* one byte short: TOO_BIG */
    guard_budget_limit(need - 1, &lim);
    guard_judge(&gm, &p, &lim, &r);
    CHECK(r.verdict == GUARD_TOO_BIG, "one byte short: too big (%d)", r.verdict);
    /* just over 15 % spare: FITS; just under: TIGHT */
    size_t at15 = (size_t)ceil((double)need / 0.85);
    guard_budget_limit(at15 + 4096, &lim);
    guard_judge(&gm, &p, &lim, &r);
    CHECK(r.verdict == GUARD_FITS && r.spare_percent >= 15, "15%% spare: fits (%d, %d%%)", r.verdict,
          r.spare_percent);
    guard_budget_limit(at15 - 4096, &lim);
    guard_judge(&gm, &p, &lim, &r);
    CHECK(r.verdict == GUARD_TIGHT && r.spare_percent == 14, "14%% spare: tight (%d, %d%%)", r.verdict,
          r.spare_percent);
    CHECK(contains(r.sentence, "only 14%% spare"), "tight sentence gives the spare share: %s", r.sentence);
    /* no limit known: no verdict */
    memset(&lim, 0, sizeof lim);
    guard_judge(&gm, &p, &lim, &r);
    CHECK(r.verdict == GUARD_UNKNOWN && contains(r.sentence, "could not be read"), "unknown limit: %s", r.sentence);
    CHECK(!strcmp(guard_verdict_name(GUARD_TOO_BIG), "too big") && !strcmp(guard_verdict_name(GUARD_FITS), "fits"),
          "verdict names");
}

static void test_suggestion(void)
{
    guard_model gm = r1_7b();
    guard_params p = { .n_ctx = 131072, .n_threads = 4 };
    guard_limit lim;
    guard_report r;

    /* The example: the full 131072-token window on a small machine
     * (6.5 GiB: at 5.2 GiB not even --ctx 256 leaves 15 % spare). */
    size_t limit = (size_t)(6.5 * (double)GiB);
    guard_budget_limit(limit, &lim);
    guard_judge(&gm, &p, &lim, &r);
    CHECK(r.verdict == GUARD_TOO_BIG, "7B at 131072 tokens in 6.5 GiB: too big");
    int c = r.suggest_ctx;
    CHECK(c >= 256 && c <= 131072 && (c & (c - 1)) == 0, "suggestion is a power of two in range: %d", c);
    CHECK(r.suggest_bytes == need_at(&gm, c), "suggest_bytes is the need at that context");
    CHECK((double)r.suggest_bytes <= 0.85 * (double)limit, "the suggestion leaves 15%% spare");
    CHECK((double)need_at(&gm, 2 * c) > 0.85 * (double)limit, "and is the largest that does (%d)", c);
    /* 4. the sentence names every number and the way out */
    const char *s = r.sentence;
    CHECK(says_bytes(s, r.need.total_bytes), "names the need: %s", s);
    CHECK(contains(s, "%.1f GiB of weights", (double)r.need.weights_bytes / (double)GiB), "names the weights: %s", s);
    CHECK(contains(s, "7.0 GiB for a 131072-token KV cache"), "names the KV cache and its context: %s", s);
    CHECK(contains(s, "6.5 GiB allowed by --mem-budget"), "names the limit and where it comes from: %s", s);
    CHECK(c == 16384, "4.4 GiB of weights + 56 KiB per token in 85%% of 6.5 GiB: --ctx 16384 (%d)", c);
    CHECK(contains(s, "use --ctx %d (needs ", c) && says_bytes(s, r.suggest_bytes), "names the way out: %s", s);
    CHECK(contains(s, "or a smaller model"), "and the other way out: %s", s);

    /* 5.2 GiB: --ctx 256 would fit, but not with 15 % to spare. */
    guard_budget_limit((size_t)(5.2 * (double)GiB), &lim);
    guard_judge(&gm, &p, &lim, &r);
    CHECK(r.verdict == GUARD_TOO_BIG && r.suggest_ctx == 0 && contains(r.sentence, "too close to the limit"),
          "5.2 GiB: only a context with less than 15%% spare: %s", r.sentence);

    /* A limit below the weights alone: no context helps. */
    guard_budget_limit(3 * GiB, &lim);
    guard_judge(&gm, &p, &lim, &r);
    CHECK(r.verdict == GUARD_TOO_BIG && r.suggest_ctx == 0, "3 GiB: too big, no --ctx helps");
    CHECK(contains(r.sentence, "model itself is too big") && contains(r.sentence, "smaller quantization"),
          "says the model is too big: %s", r.sentence);
    CHECK(contains(r.sentence, "even --ctx 256 needs") && says_bytes(r.sentence, need_at(&gm, 256)),
          "with the need at the smallest context: %s", r.sentence);

    /* A context under 256 gets no smaller suggestion. */
    guard_params tiny = { .n_ctx = 128, .n_threads = 4 };
    guard_judge(&gm, &tiny, &lim, &r);
    CHECK(r.verdict == GUARD_TOO_BIG && r.suggest_ctx == 0 && contains(r.sentence, "model itself is too big"),
          "ctx 128: no suggestion: %s", r.sentence);

    /* TIGHT with a way to more room. */
    size_t need = need_at(&gm, 32768);
    guard_params mid = { .n_ctx = 32768, .n_threads = 4 };
    guard_budget_limit(need + need / 20, &lim); /* ~5 % spare */
    guard_judge(&gm, &mid, &lim, &r);
    CHECK(r.verdict == GUARD_TIGHT && r.suggest_ctx > 0 && r.suggest_ctx < 32768, "tight 32768: suggests %d",
          r.suggest_ctx);
    CHECK(contains(r.sentence, "little room") && contains(r.sentence, "--ctx %d", r.suggest_ctx),
          "tight sentence: %s", r.sentence);

    /* Units: a small model's sentence is in MiB. */
    guard_model small = gm;
    small.shape.weight_bytes = 10 * MiB;
    guard_params sp = { .n_ctx = 256, .n_threads = 1 };
    guard_budget_limit(5 * MiB, &lim);
    guard_judge(&small, &sp, &lim, &r);
    CHECK(contains(r.sentence, "10.0 MiB of weights") && contains(r.sentence, "5.0 MiB allowed by --mem-budget"),
          "MiB sentence: %s", r.sentence);
}

/* ======================================================================== */
/* 5. The limit, from a fake system root                                     */
/* ======================================================================== */

static char root[256];

/* Writes root/rel with `text`, making the folders on the way. */
static void put(const char *rel, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "write %s", path);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void fresh_root(const char *name)
{
    snprintf(root, sizeof root, "/tmp/localseek_guard_%d_%s", (int)getpid(), name);
    mkdir(root, 0755);
}

static void remove_tree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "remove %s", dir);
}

static const char *MEMINFO = "MemTotal:       16000000 kB\nMemFree:         1000000 kB\n"
                             "MemAvailable:    8388608 kB\nBuffers:           10000 kB\n";

static void test_limits(void)
{
    guard_limit l;

    /* a: cgroup v2 with its own limit: 2 GiB, 512 MiB used -> 1.5 GiB of room (< 8 GiB available) */
    fresh_root("v2");
    put("proc/meminfo", MEMINFO);
    put("proc/self/cgroup", "0::/user.slice/app.scope\n");
    put("sys/fs/cgroup/user.slice/app.scope/memory.max", "2147483648\n");
    put("sys/fs/cgroup/user.slice/app.scope/memory.current", "536870912\n");
    put("sys/fs/cgroup/user.slice/memory.max", "max\n");
    guard_machine_limit(root, &l);
    CHECK(l.mem_available_bytes == 8 * GiB, "MemAvailable read: %zu", l.mem_available_bytes);
    CHECK(l.kind == GUARD_LIMIT_CGROUP && l.cgroup_version == 2, "v2 limit applies (kind %d, v%d)", l.kind,
          l.cgroup_version);
    CHECK(l.free_bytes == 3 * GiB / 2 && l.cgroup_max_bytes == 2 * GiB && l.cgroup_used_bytes == GiB / 2,
          "v2 room 1.5 GiB: %zu", l.free_bytes);
    CHECK(l.held_bytes > 0 && l.bytes == l.free_bytes + l.held_bytes, "limit adds what the process holds");
    CHECK(!strcmp(guard_limit_name(l.kind), "the cgroup memory limit"), "named");

    /* b: the leaf has no limit, its parent does: the parent binds */
    put("sys/fs/cgroup/user.slice/app.scope/memory.max", "max\n");
    put("sys/fs/cgroup/user.slice/memory.max", "1073741824\n");
    put("sys/fs/cgroup/user.slice/memory.current", "268435456\n");
    guard_machine_limit(root, &l);
    CHECK(l.kind == GUARD_LIMIT_CGROUP && l.free_bytes == 768 * MiB, "parent's limit binds: %zu", l.free_bytes);

    /* c: no limit anywhere: MemAvailable */
    put("sys/fs/cgroup/user.slice/memory.max", "max\n");
    guard_machine_limit(root, &l);
    CHECK(l.kind == GUARD_LIMIT_MEMAVAILABLE && l.free_bytes == 8 * GiB && l.cgroup_version == 0,
          "no cgroup limit: MemAvailable (kind %d)", l.kind);
    CHECK(!strcmp(guard_limit_name(l.kind), "available memory (MemAvailable)"), "named");

    /* d: a cgroup limit larger than MemAvailable: the machine binds */
    put("sys/fs/cgroup/user.slice/memory.max", "34359738368\n");
    guard_machine_limit(root, &l);
    CHECK(l.kind == GUARD_LIMIT_MEMAVAILABLE && l.cgroup_version == 2 && l.cgroup_max_bytes == 32 * GiB,
          "a loose cgroup limit is read but MemAvailable binds (kind %d)", l.kind);

    /* e: a usage above the limit leaves no room, not a wrapped-around huge number */
    put("sys/fs/cgroup/user.slice/memory.max", "1073741824\n");
    put("sys/fs/cgroup/user.slice/memory.current", "2147483648\n");
    guard_machine_limit(root, &l);
    CHECK(l.kind == GUARD_LIMIT_CGROUP && l.free_bytes == 0, "over the limit: no room (%zu)", l.free_bytes);
    remove_tree(root);

    /* f: a container: the cgroup namespace shows "/" and the limit sits at the mount root */
    fresh_root("ns");
    put("proc/meminfo", MEMINFO);
    put("proc/self/cgroup", "0::/\n");
    put("sys/fs/cgroup/memory.max", "4294967296\n");
    put("sys/fs/cgroup/memory.current", "1073741824\n");
    guard_machine_limit(root, &l);
    CHECK(l.kind == GUARD_LIMIT_CGROUP && l.free_bytes == 3 * GiB, "container root limit: %zu", l.free_bytes);
    /* ... and a path the container cannot see falls back to the mount root too */
    put("proc/self/cgroup", "0::/../../outside.slice\n");
    guard_machine_limit(root, &l);
    CHECK(l.kind == GUARD_LIMIT_CGROUP && l.free_bytes == 3 * GiB, "invisible path: mount root (%zu)",
          l.free_bytes);
    remove_tree(root);

    /* g: cgroup v1, memory among other controllers, limited to 1 GiB with 100 MiB used */
    fresh_root("v1");
    put("proc/meminfo", MEMINFO);
    put("proc/self/cgroup", "12:cpu,cpuacct:/docker/abc\n5:blkio,memory:/docker/abc\n0::/docker/abc\n");
    put("sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "1073741824\n");
    put("sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes", "104857600\n");
    put("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
    guard_machine_limit(root, &l);
    CHECK(l.kind == GUARD_LIMIT_CGROUP && l.cgroup_version == 1 && l.free_bytes == 924 * MiB,
          "v1 limit: kind %d v%d room %zu", l.kind, l.cgroup_version, l.free_bytes);
    /* h: v1 "unlimited" (2^63 rounded down to a page) is no limit */
    put("sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "9223372036854771712\n");
    guard_machine_limit(root, &l);
    CHECK(l.kind == GUARD_LIMIT_MEMAVAILABLE && l.cgroup_version == 0, "v1 unlimited: MemAvailable (kind %d)",
          l.kind);
    /* i: garbage in a limit file is ignored, not misread */
    put("sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "12abc\n");
    guard_machine_limit(root, &l);
    CHECK(l.kind == GUARD_LIMIT_MEMAVAILABLE, "garbage limit ignored (kind %d)", l.kind);
    remove_tree(root);

    /* j: nothing readable: no limit, and the environment variable is honoured */
    fresh_root("none");
    guard_machine_limit(root, &l);
    CHECK(l.kind == GUARD_LIMIT_NONE && l.bytes == 0, "empty root: no limit (kind %d)", l.kind);
    put("proc/meminfo", "MemAvailable:    1048576 kB\n");
    setenv("LOCALSEEK_SYSROOT", root, 1);
    guard_machine_limit(NULL, &l);
    unsetenv("LOCALSEEK_SYSROOT");
    CHECK(l.kind == GUARD_LIMIT_MEMAVAILABLE && l.free_bytes == GiB, "LOCALSEEK_SYSROOT read: %zu", l.free_bytes);
    remove_tree(root);

    /* the real machine: something is known on Linux */
    guard_machine_limit("", &l);
    CHECK(l.kind != GUARD_LIMIT_NONE && l.bytes > 0, "this machine has a limit (kind %d)", l.kind);

    guard_budget_limit(123456789, &l);
    CHECK(l.kind == GUARD_LIMIT_BUDGET && l.bytes == 123456789 && l.free_bytes == 123456789 &&
              !strcmp(guard_limit_name(l.kind), "--mem-budget"),
          "a budget is taken as it is");
}

/* ======================================================================== */
/* 6. The watch                                                              */
/* ======================================================================== */

static void test_watch(void)
{
    log_set_level(LOG_ERROR); /* the warning itself is not the point here */
    guard_watch w;
    guard_watch_init(&w, 1); /* a 1-byte limit: any process is past 80 % */
    w.every_n = 1;
    CHECK(guard_watch_poll(&w), "first poll past the limit warns");
    CHECK(w.warned && w.rss_bytes > 0, "warned, with the figure read");
    int again = 0;
    for (int i = 0; i < 100; i++)
        again += guard_watch_poll(&w);
    CHECK(again == 0, "and never again (%d)", again);

    guard_watch_init(&w, (size_t)1 << 60);
    w.every_n = 1;
    int any = 0;
    for (int i = 0; i < 10; i++)
        any += guard_watch_poll(&w);
    CHECK(any == 0 && w.rss_bytes > 0, "a huge limit never warns");

    guard_watch_init(&w, 0);
    CHECK(!guard_watch_poll(&w), "no limit: never warns");

    /* cheap: the first poll reads; after it, with every_n 16, the next 15
     * quick polls do not, and the 16th does */
    guard_watch_init(&w, (size_t)1 << 60);
    CHECK(!guard_watch_poll(&w) && w.rss_bytes > 0, "the first poll reads");
    w.limit_bytes = 1; /* from now on any reading is past 80 % */
    w.warn_bytes = 0;
    int early = 0;
    for (int i = 0; i < 15; i++)
        early += guard_watch_poll(&w);
    CHECK(early == 0, "the 15 polls after a read read nothing (%d warned)", early);
    CHECK(guard_watch_poll(&w), "the 16th poll reads and warns");
    guard_watch_init(&w, 1);
    CHECK(w.warn_bytes == 0 && w.every_n == 16, "80%% of 1 byte is 0; 16 polls per read");
    log_set_level(LOG_WARN);
}

/* ======================================================================== */
/* 7. The estimate against what the loaders allocate (needs ../shared)       */
/* ======================================================================== */

static void test_against_loaders(const char *shared)
{
    static const char *const models[] = { "golden-qwen2-q8_0", "golden-qwen2-f16", "golden-llama-q4_k_m",
                                          "stories260K" };
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/models/%s.gguf", shared, models[i]);
        long b0 = ls_alloc_live_bytes();
        gguf_file *f = NULL;
        if (gguf_open(path, &f) != LS_OK) {
            CHECK(0, "open %s: %s", path, ls_error_msg());
            continue;
        }
        long index_real = ls_alloc_live_bytes() - b0;
        guard_model gm;
        CHECK(guard_read_model(f, &gm) == LS_OK, "%s: read", models[i]);
        CHECK(fabs((double)gm.index_bytes - (double)index_real) <= 0.15 * (double)index_real,
              "%s: index estimate %zu vs allocated %ld", models[i], gm.index_bytes, index_real);
        CHECK(gm.header_bytes == gguf_data_offset(f), "%s: header is the metadata", models[i]);
        /* the tokenizer: estimate vs what tok_load keeps */
        long t0 = ls_alloc_live_bytes();
        tok_tokenizer *tok = NULL;
        CHECK(tok_load(f, &tok) == LS_OK, "%s: tokenizer", models[i]);
        long tok_real = ls_alloc_live_bytes() - t0;
        CHECK(fabs((double)gm.tokenizer_bytes - (double)tok_real) <= 0.05 * (double)tok_real + 4096,
              "%s: tokenizer estimate %zu vs allocated %ld", models[i], gm.tokenizer_bytes, tok_real);
        tok_free(tok);

        /* the model: the shape equals what model_load binds */
        model *m = NULL;
        CHECK(model_load(path, &m) == LS_OK, "%s: load", models[i]);
        if (m) {
            CHECK(m->weight_bytes == gm.shape.weight_bytes, "%s: weight bytes", models[i]);
            CHECK(m->act_row_bytes == gm.shape.act_row_bytes, "%s: activation rows", models[i]);
            CHECK(memcmp(&m->hp, &gm.shape.hp, sizeof m->hp) == 0, "%s: hyper-parameters", models[i]);
            /* a runner and one sequence's cache allocate exactly KV + scratch */
            guard_params gp = { .n_ctx = 512, .n_threads = 2 };
            guard_estimate e;
            guard_estimate_model(&gm, &gp, &e);
            fwd_params fp = { .n_ctx = 512, .n_threads = 2 };
            CHECK(fwd_memory_bytes(m, &fp) == e.kv_bytes + e.scratch_bytes, "%s: fwd_memory_bytes agrees",
                  models[i]);
            long c0 = ls_alloc_live_bytes();
            fwd_runner *c = NULL;
            kv_cache *kv = NULL;
            CHECK(fwd_create(m, &fp, NULL, &c) == LS_OK && kv_create(m, 512, &kv) == LS_OK, "%s: context",
                  models[i]);
            long ctx_real = ls_alloc_live_bytes() - c0;
            CHECK((double)ctx_real >= (double)(e.kv_bytes + e.scratch_bytes) &&
                      (double)ctx_real <= 1.02 * (double)(e.kv_bytes + e.scratch_bytes) + 65536,
                  "%s: context allocates %ld for KV %zu + scratch %zu", models[i], ctx_real, e.kv_bytes,
                  e.scratch_bytes);
            kv_free(kv);
            fwd_free(c);
        }
        model_free(m);
        gguf_close(f);
    }
    /* the full-size tokenizers, from the vocabulary-only files */
    static const char *const vocabs[] = { "vocab-deepseek-r1-qwen", "vocab-llama3" };
    for (size_t i = 0; i < sizeof vocabs / sizeof vocabs[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/models/%s.gguf", shared, vocabs[i]);
        gguf_file *f = NULL;
        if (gguf_open(path, &f) != LS_OK) {
            CHECK(0, "open %s", path);
            continue;
        }
        size_t est = tok_memory_bytes(f);
        long t0 = ls_alloc_live_bytes();
        tok_tokenizer *tok = NULL;
        CHECK(tok_load(f, &tok) == LS_OK, "%s: tokenizer", vocabs[i]);
        long real = ls_alloc_live_bytes() - t0;
        CHECK(fabs((double)est - (double)real) <= 0.02 * (double)real, "%s: tokenizer estimate %zu vs allocated %ld",
              vocabs[i], est, real);
        guard_model gm;
        CHECK(guard_read_model(f, &gm) != LS_OK && strstr(ls_error_msg(), "token_embd") != NULL,
              "%s: a vocabulary-only file is not a model: %s", vocabs[i], ls_error_msg());
        tok_free(tok);
        gguf_close(f);
    }
}

int main(void)
{
    test_parse_size();
    test_estimate();
    test_verdict();
    test_suggestion();
    test_limits();
    test_watch();
    const char *shared = getenv("LOCALSEEK_SHARED");
    struct stat st;
    if (shared && stat(shared, &st) == 0 && S_ISDIR(st.st_mode))
        test_against_loaders(shared);
    else
        printf("note: LOCALSEEK_SHARED not found: the checks against the real loaders were not run\n");
    return check_done();
}
