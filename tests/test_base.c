/* test_base.c — status messages, allocation hook, logging levels, thread pool. */
#include <stdatomic.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/platform.h"
#include "base/status.h"
#include "base/threadpool.h"
#include "check.h"

typedef struct {
    atomic_long sum;
    long n;
    int phases_ok;
    pool *p;
    int seen[2][64];
} job;

static void sum_job(void *ctx, int ith, int nth)
{
    job *j = ctx;
    long b, e, s = 0;
    pool_share(j->n, ith, nth, &b, &e);
    for (long i = b; i < e; i++)
        s += i;
    atomic_fetch_add(&j->sum, s);
}

/* Phase 1 writes one slot per thread; after the barrier every thread must
 * see every other thread's write. */
static void barrier_job(void *ctx, int ith, int nth)
{
    job *j = ctx;
    for (int round = 0; round < 100; round++) {
        __atomic_store_n(&j->seen[round & 1][ith], round + 1, __ATOMIC_RELAXED);
        pool_barrier(j->p);
        for (int k = 0; k < nth; k++)
            if (__atomic_load_n(&j->seen[round & 1][k], __ATOMIC_RELAXED) != round + 1)
                j->phases_ok = 0;
        pool_barrier(j->p);
    }
}

int main(void)
{
    /* status */
    CHECK(strcmp(ls_status_str(LS_OK), "ok") == 0, "name of LS_OK");
    CHECK(strcmp(ls_status_str((ls_status)999), "unknown status") == 0, "out-of-range status");
    ls_status s = ls_error(LS_ERR_FORMAT, "file %s: field %s", "a.gguf", "n_kv");
    CHECK(s == LS_ERR_FORMAT, "ls_error returns its status");
    CHECK(strcmp(ls_error_msg(), "file a.gguf: field n_kv") == 0, "message kept: %s", ls_error_msg());

    /* allocation hook: counting and injected failure */
    long live0 = ls_alloc_live();
    void *a = ls_malloc(10), *b = ls_calloc(3, 4), *c = ls_malloc_aligned(100, 64);
    CHECK(a && b && c, "allocations succeed");
    CHECK(((uintptr_t)c & 63) == 0, "aligned allocation is aligned");
    CHECK(ls_alloc_live() == live0 + 3, "three live blocks, got %ld", ls_alloc_live() - live0);
    ls_free(a);
    ls_free(b);
    ls_free(c);
    ls_free(NULL);
    CHECK(ls_alloc_live() == live0, "all freed");
    ls_alloc_fail_after(2);
    void *x = ls_malloc(8), *y = ls_malloc(8), *z = ls_malloc(8);
    CHECK(x != NULL && y == NULL && z != NULL, "second allocation fails, then injection is off");
    ls_free(x);
    ls_free(z);
    char *d = ls_strdup("hello");
    CHECK(d && strcmp(d, "hello") == 0, "strdup");
    ls_free(d);
    CHECK(ls_alloc_live() == live0, "no leaks after injection test");

    /* logging */
    CHECK(log_parse_level("debug") == LOG_DEBUG && log_parse_level("warn") == LOG_WARN, "level names");
    CHECK(log_parse_level("loud") == -1, "unknown level rejected");
    FILE *tmp = tmpfile();
    log_set_stream(tmp);
    log_set_level(LOG_INFO);
    log_debug("hidden %d", 1);
    log_info("shown %d", 2);
    log_set_stream(NULL);
    rewind(tmp);
    char line[256] = "";
    CHECK(fgets(line, sizeof line, tmp) != NULL, "one line written");
    CHECK(strstr(line, "info  shown 2") != NULL && line[4] == '-', "timestamped info line: %s", line);
    CHECK(fgets(line, sizeof line, tmp) == NULL, "debug line filtered");
    fclose(tmp);

    /* thread pool: many short jobs (the token-loop pattern), then barriers */
    for (int n_threads = 1; n_threads <= 4; n_threads++) {
        pool *p = NULL;
        CHECK(pool_create(n_threads, &p) == LS_OK, "pool of %d", n_threads);
        CHECK(pool_size(p) == n_threads, "size");
        int all_ok = 1;
        for (int rep = 0; rep < 2000; rep++) {
            job j = { .n = 1000 + rep };
            pool_run(p, sum_job, &j);
            if (atomic_load(&j.sum) != j.n * (j.n - 1) / 2)
                all_ok = 0;
        }
        CHECK(all_ok, "2000 jobs on %d threads all summed correctly", n_threads);
        job jb = { .phases_ok = 1, .p = p };
        pool_run(p, barrier_job, &jb);
        CHECK(jb.phases_ok, "barrier orders phases on %d threads", n_threads);
        pool_free(p);
    }
    pool_free(NULL);
    pool *bad = NULL;
    CHECK(pool_create(0, &bad) == LS_ERR_ARG && bad == NULL, "zero threads refused");
    CHECK(ls_alloc_live() == live0, "pool frees everything");

    /* platform */
    CHECK(plat_physical_cores() >= 1, "at least one core");
    CHECK(plat_rss_bytes() > 0, "rss known on Linux");
    double t0 = plat_now_s(), t1 = plat_now_s();
    CHECK(t1 >= t0, "monotonic clock");
    plat_map m;
    CHECK(plat_map_file("/nonexistent/file.gguf", &m) == LS_ERR_NOT_FOUND, "missing file");
    CHECK(strstr(ls_error_msg(), "/nonexistent/file.gguf") != NULL, "message names the file");

    /* machine limits (the cgroup cases, with a fake system root, are in test_guard.c) */
    plat_mem_limit ml;
    plat_mem_limit_read("/nonexistent/root", &ml);
    CHECK(ml.kind == PLAT_MEM_LIMIT_NONE && ml.free_bytes == 0 && !strcmp(ml.name, "unknown"),
          "unreadable root: no limit (kind %d)", ml.kind);
    plat_mem_limit_read("", &ml);
    CHECK(ml.kind != PLAT_MEM_LIMIT_NONE && ml.free_bytes > 0, "a limit is known on Linux (kind %d)", ml.kind);
    CHECK(ml.mem_available_bytes > 0, "MemAvailable read on Linux");
    CHECK(!strcmp(ml.name, plat_mem_limit_name(ml.kind)), "named: %s", ml.name);
    CHECK(!strcmp(plat_mem_limit_name(PLAT_MEM_LIMIT_CGROUP), "the cgroup memory limit") &&
              !strcmp(plat_mem_limit_name(PLAT_MEM_LIMIT_MEMAVAILABLE), "available memory (MemAvailable)"),
          "names for messages");
    return check_done();
}
