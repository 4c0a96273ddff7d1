/* membw.c — the memory-read probe: first-touch, then timed parallel passes.
 *
 * Each pass is one pool_run in which thread i reads bytes [i*n/T, (i+1)*n/T)
 * of the buffer; the pass time is measured around the pool_run, so it
 * includes waking the workers (microseconds against a pass of ~10 ms). */
#include "tensor/membw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/platform.h"
#include "base/stats.h"
#include "tensor/kernels.h"

size_t membw_llc_bytes(void)
{
    size_t best = 0;
    /* Linux lists every cache of cpu0; the largest is the last level. */
    for (int idx = 0; idx < 8; idx++) {
        char path[96], buf[32];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", idx);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(buf, sizeof buf, f)) {
            char *end;
            unsigned long v = strtoul(buf, &end, 10);
            size_t mult = (*end == 'K') ? 1024 : (*end == 'M') ? 1024 * 1024 : 1;
            if (v * mult > best)
                best = v * mult;
        }
        fclose(f);
    }
    return best;
}

size_t membw_default_bytes(void)
{
    size_t llc = membw_llc_bytes();
    size_t n = (size_t)256 << 20;
    if (llc * 8 > n)
        n = llc * 8;
    return n;
}

typedef struct {
    uint8_t *buf;
    size_t n_bytes;
    const kern_ops *ops;
    uint64_t sums[256]; /* per thread, so the reads cannot be optimized away */
    int touch;
} bw_job;

static void bw_share(const bw_job *j, int ith, int nth, size_t *b, size_t *e)
{
    size_t n_lines = j->n_bytes / 64;
    *b = n_lines * (size_t)ith / (size_t)nth * 64;
    *e = n_lines * (size_t)(ith + 1) / (size_t)nth * 64;
}

static void bw_run(void *ctx, int ith, int nth)
{
    bw_job *j = ctx;
    size_t b, e;
    bw_share(j, ith, nth, &b, &e);
    if (j->touch) {
        for (size_t i = b; i < e; i++)
            j->buf[i] = (uint8_t)(i * 131u >> 3);
        return;
    }
    j->sums[ith & 255] += j->ops->read_sum(j->buf + b, e - b);
}

ls_status membw_measure(pool *p, size_t buffer_bytes, int n_passes, membw_result *out)
{
    memset(out, 0, sizeof *out);
    if (n_passes < 1)
        n_passes = 1;
    if (n_passes > 64)
        n_passes = 64;
    buffer_bytes &= ~(size_t)4095;
    bw_job j = { .n_bytes = buffer_bytes, .ops = kern_get() };
    j.buf = ls_malloc_aligned(buffer_bytes, 4096);
    if (!j.buf)
        return ls_error(LS_ERR_NOMEM, "no memory for the %zu MiB bandwidth probe buffer", buffer_bytes >> 20);
    int nth = p ? pool_size(p) : 1;
    j.touch = 1;
    if (p)
        pool_run(p, bw_run, &j);
    else
        bw_run(&j, 0, 1);
    j.touch = 0;
    double gbps[64];
    for (int k = 0; k < n_passes; k++) {
        double t0 = plat_now_s();
        if (p)
            pool_run(p, bw_run, &j);
        else
            bw_run(&j, 0, 1);
        double dt = plat_now_s() - t0;
        gbps[k] = dt > 0 ? (double)buffer_bytes / dt * 1e-9 : 0.0;
    }
    ls_free(j.buf);
    ls_sort_doubles(gbps, (size_t)n_passes);
    out->best_gbps = gbps[n_passes - 1];
    out->median_gbps = gbps[n_passes / 2];
    out->buffer_bytes = buffer_bytes;
    out->n_threads = nth;
    out->n_passes = n_passes;
    return LS_OK;
}
