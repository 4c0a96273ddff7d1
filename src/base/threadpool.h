/* threadpool.h — a fixed team of worker threads that run one job at a time.
 *
 * Think of a kitchen brigade: the cooks are hired once (pool_create), and for
 * each dish the chef calls out one recipe that every cook runs on their own
 * share (pool_run). Nobody is hired or fired per dish — creating threads
 * costs tens of microseconds, which would dominate a 20 ms token.
 *
 * pool_run(p, fn, ctx) calls fn(ctx, ith, nth) once on every thread,
 * ith = 0..nth-1 (the calling thread is ith 0 and does its share too), and
 * returns when all have finished: the return is a full barrier, and all
 * writes made inside fn are visible to the caller afterwards. Inside fn,
 * pool_barrier(p) makes every thread wait for the others (for jobs with
 * several phases). Idle workers spin briefly, then sleep on a condition
 * variable, so an idle program costs no CPU.
 *
 * Owns: its threads. Does not: split work (fn decides its share from ith/nth),
 * allow nested or concurrent pool_run calls on the same pool.
 * Called by: the tensor kernels' callers (model, quantizer, benchmarks).
 */
#ifndef LS_THREADPOOL_H
#define LS_THREADPOOL_H

#include "base/status.h"

typedef struct pool pool;
typedef void (*pool_fn)(void *ctx, int ith, int nth);

/* Starts n_threads-1 workers (n_threads >= 1). Caller frees with pool_free(). */
ls_status pool_create(int n_threads, pool **out);
/* Stops and joins the workers; pool_free(NULL) is a no-op. */
void pool_free(pool *p);
int pool_size(const pool *p);
/* Runs fn on all threads and waits for all of them. */
void pool_run(pool *p, pool_fn fn, void *ctx);
/* Called by all nth threads inside one pool_run: none returns until all arrive. */
void pool_barrier(pool *p);

/* Helper for splitting n items: thread ith takes [*begin, *end). Shares differ
 * by at most one item. */
static inline void pool_share(long n, int ith, int nth, long *begin, long *end)
{
    long q = n / nth, r = n % nth;
    *begin = ith * q + (ith < r ? ith : r);
    *end = *begin + q + (ith < r ? 1 : 0);
}

#endif
