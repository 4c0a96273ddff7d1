/* alloc.c — malloc wrappers with a live counter and fault injection.
 *
 * Invariant: live == (successful allocations) - (frees of non-NULL blocks).
 * realloc of NULL counts as an allocation, realloc to a new block does not
 * change the count. Aligned blocks come from posix_memalign, which free()
 * releases, so one ls_free serves both. live_bytes adds and subtracts each
 * block's malloc_usable_size() (what the C library really set aside for it,
 * a little over the request), so the resource guard's tests can compare an
 * estimate with what a loader really holds. */
#include "base/alloc.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_long live;
static atomic_long live_bytes;

static void count_in(void *p)
{
    atomic_fetch_add_explicit(&live_bytes, (long)malloc_usable_size(p), memory_order_relaxed);
}
static atomic_long fail_countdown; /* 0 = off; k > 0: the k-th call fails */

/* True when this call is the one chosen to fail. */
static int inject_failure(void)
{
    long c = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    if (c <= 0)
        return 0;
    return atomic_fetch_sub(&fail_countdown, 1) == 1;
}

void *ls_malloc(size_t n_bytes)
{
    if (inject_failure())
        return NULL;
    void *p = malloc(n_bytes ? n_bytes : 1);
    if (p) {
        atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
        count_in(p);
    }
    return p;
}

void *ls_calloc(size_t n, size_t size_bytes)
{
    if (inject_failure())
        return NULL;
    void *p = calloc(n ? n : 1, size_bytes ? size_bytes : 1);
    if (p) {
        atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
        count_in(p);
    }
    return p;
}

void *ls_realloc(void *p, size_t n_bytes)
{
    if (inject_failure())
        return NULL;
    long old_bytes = p ? (long)malloc_usable_size(p) : 0;
    void *q = realloc(p, n_bytes ? n_bytes : 1);
    if (q && !p)
        atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
    if (q) {
        atomic_fetch_sub_explicit(&live_bytes, old_bytes, memory_order_relaxed);
        count_in(q);
    }
    return q;
}

void *ls_malloc_aligned(size_t n_bytes, size_t alignment)
{
    if (inject_failure())
        return NULL;
    void *p = NULL;
    if (posix_memalign(&p, alignment, n_bytes ? n_bytes : 1) != 0)
        return NULL;
    atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
    count_in(p);
    return p;
}

void ls_free(void *p)
{
    if (!p)
        return;
    atomic_fetch_sub_explicit(&live, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&live_bytes, (long)malloc_usable_size(p), memory_order_relaxed);
    free(p);
}

char *ls_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = ls_malloc(len + 1);
    if (!d)
        return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *ls_strdup(const char *s)
{
    return ls_strndup(s, strlen(s));
}

long ls_alloc_live(void)
{
    return atomic_load(&live);
}

long ls_alloc_live_bytes(void)
{
    return atomic_load(&live_bytes);
}

void ls_alloc_fail_after(long n)
{
    atomic_store(&fail_countdown, n > 0 ? n : 0);
}
