/* threadpool.c — generation counter + done counter + sense-reversing barrier.
 *
 * Publishing a job: the caller stores fn/ctx, zeroes n_done, then increments
 * `generation` with release order (under the mutex, followed by a broadcast
 * for sleepers). A worker that sees a new generation with acquire order is
 * guaranteed to see fn/ctx. Each worker bumps n_done (release) when it is
 * finished; the caller waits until n_done == nth-1 (acquire).
 *
 * Waiting: spin with a pause instruction for SPIN_ROUNDS checks (a few tens
 * of microseconds: jobs in a token loop arrive back to back), then sleep on
 * the condition variable. Barriers and the caller's wait spin the same way,
 * then yield the core. Shutdown is a generation bump with `stop` set. */
#include "base/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "base/alloc.h"

enum { SPIN_ROUNDS = 1 << 14 };

typedef struct {
    pool *p;
    int ith;
} worker_arg;

struct pool {
    int n_threads;
    pthread_t *threads;  /* [n_threads - 1] */
    worker_arg *args;    /* [n_threads - 1] */
    pool_fn fn;
    void *ctx;
    atomic_uint generation;
    atomic_int n_done;
    atomic_bool stop;
    atomic_int barrier_count;
    atomic_uint barrier_phase;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Waiting for other threads: spin (cheapest when every thread has its own
 * core), then give the core away with sched_yield() so that a machine with
 * more runnable threads than cores still makes progress. */
static inline void wait_step(int *spins)
{
    if (++*spins < SPIN_ROUNDS)
        cpu_relax();
    else
        sched_yield();
}

static void *worker_main(void *argp)
{
    worker_arg *a = argp;
    pool *p = a->p;
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen) {
            if (++spins < SPIN_ROUNDS) {
                cpu_relax();
                continue;
            }
            pthread_mutex_lock(&p->mu);
            while (atomic_load_explicit(&p->generation, memory_order_acquire) == seen)
                pthread_cond_wait(&p->cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        seen = g;
        if (atomic_load_explicit(&p->stop, memory_order_acquire))
            break;
        p->fn(p->ctx, a->ith, p->n_threads);
        atomic_fetch_add_explicit(&p->n_done, 1, memory_order_release);
    }
    return NULL;
}

ls_status pool_create(int n_threads, pool **out)
{
    *out = NULL;
    if (n_threads < 1 || n_threads > 1024)
        return ls_error(LS_ERR_ARG, "thread count %d is outside 1..1024", n_threads);
    pool *p = ls_calloc(1, sizeof *p);
    if (!p)
        return ls_error(LS_ERR_NOMEM, "no memory for a thread pool");
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    int n_workers = n_threads - 1;
    if (n_workers > 0) {
        p->threads = ls_calloc((size_t)n_workers, sizeof *p->threads);
        p->args = ls_calloc((size_t)n_workers, sizeof *p->args);
        if (!p->threads || !p->args) {
            p->n_threads = 1; /* nothing started yet */
            pool_free(p);
            return ls_error(LS_ERR_NOMEM, "no memory for a thread pool");
        }
    }
    for (int i = 0; i < n_workers; i++) {
        p->args[i] = (worker_arg){ p, i + 1 };
        if (pthread_create(&p->threads[i], NULL, worker_main, &p->args[i]) != 0) {
            p->n_threads = i + 1; /* join only those started */
            pool_free(p);
            return ls_error(LS_ERR_INTERNAL, "could not start worker thread %d of %d", i + 1, n_workers);
        }
    }
    *out = p;
    return LS_OK;
}

void pool_free(pool *p)
{
    if (!p)
        return;
    if (p->n_threads > 1) {
        atomic_store_explicit(&p->stop, true, memory_order_release);
        pthread_mutex_lock(&p->mu);
        atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        for (int i = 0; i < p->n_threads - 1; i++)
            pthread_join(p->threads[i], NULL);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    ls_free(p->threads);
    ls_free(p->args);
    ls_free(p);
}

int pool_size(const pool *p)
{
    return p->n_threads;
}

void pool_run(pool *p, pool_fn fn, void *ctx)
{
    if (p->n_threads == 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->n_done, 0, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);

    fn(ctx, 0, p->n_threads);

    int want = p->n_threads - 1, spins = 0;
    while (atomic_load_explicit(&p->n_done, memory_order_acquire) < want)
        wait_step(&spins);
}

void pool_barrier(pool *p)
{
    int n = p->n_threads;
    if (n == 1)
        return;
    unsigned phase = atomic_load_explicit(&p->barrier_phase, memory_order_acquire);
    if (atomic_fetch_add_explicit(&p->barrier_count, 1, memory_order_acq_rel) == n - 1) {
        atomic_store_explicit(&p->barrier_count, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&p->barrier_phase, 1, memory_order_release);
    } else {
        int spins = 0;
        while (atomic_load_explicit(&p->barrier_phase, memory_order_acquire) == phase)
            wait_step(&spins);
    }
}
