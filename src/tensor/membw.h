/* membw.h — how fast this machine can stream memory into the CPU.
 *
 * Generating a token reads every weight once, so memory read bandwidth is
 * the speed limit of decode: a 1 GB model on a 20 GB/s laptop cannot exceed
 * about 20 tokens/s. Benchmarks print this figure beside each kernel's
 * GB/s so a reader sees how close to the limit the kernel gets.
 *
 * The probe allocates a buffer several times the last-level cache (so the
 * caches cannot help), has each thread touch its share first (so pages sit
 * near the thread that reads them), then streams it with the selected
 * kernel path's widest loads (kern_ops.read_sum) on all threads, and keeps
 * the best of a few passes (the least disturbed by other programs).
 *
 * Owns: the buffer during one call. Does not: measure write or latency.
 * Called by: `localseek bench`.
 */
#ifndef LS_MEMBW_H
#define LS_MEMBW_H

#include <stddef.h>

#include "base/status.h"
#include "base/threadpool.h"

typedef struct {
    double best_gbps;     /* best pass, 1e9 bytes per second */
    double median_gbps;   /* median pass */
    size_t buffer_bytes;  /* bytes read per pass */
    int n_threads;
    int n_passes;
} membw_result;

/* Size of the last-level cache in bytes (0 if the system does not say). */
size_t membw_llc_bytes(void);

/* A buffer size that is honest (>= 8 x LLC, at least 256 MiB) yet quick. */
size_t membw_default_bytes(void);

/* Measures read bandwidth over buffer_bytes with every thread of p (p may be
 * NULL: one thread), n_passes >= 1. Fails only if the buffer cannot be
 * allocated (LS_ERR_NOMEM). */
ls_status membw_measure(pool *p, size_t buffer_bytes, int n_passes, membw_result *out);

#endif
