/* alloc.h — the one door every heap allocation goes through.
 *
 * All code in localseek allocates with ls_malloc/ls_calloc/ls_realloc and
 * releases with ls_free. Behind that door sit two test hooks:
 *   - live-allocation counters (blocks and bytes), so a test can assert it
 *     freed everything, or compare a size estimate with what was allocated;
 *   - fault injection: "make the N-th allocation from now fail", so a test
 *     can walk every failure path of a function and check it cleans up and
 *     reports LS_ERR_NOMEM instead of crashing.
 * The counters are atomic; the hooks cost one relaxed atomic add per call.
 *
 * Owns: nothing but two counters. Does not: pool or cache memory (hot paths
 * allocate nothing at all: buffers are sized at load time).
 * Called by: every layer. ls_free(NULL) is a no-op.
 */
#ifndef LS_ALLOC_H
#define LS_ALLOC_H

#include <stddef.h>

void *ls_malloc(size_t n_bytes);
void *ls_calloc(size_t n, size_t size_bytes);
void *ls_realloc(void *p, size_t n_bytes); /* on failure returns NULL and leaves p valid */
void ls_free(void *p);
char *ls_strdup(const char *s);              /* caller frees with ls_free() */
char *ls_strndup(const char *s, size_t n);   /* at most n bytes, always NUL-terminated */

/* Aligned allocation for SIMD buffers (alignment a power of two, >= sizeof(void*)).
 * Release with ls_free() like any other block. */
void *ls_malloc_aligned(size_t n_bytes, size_t alignment);

/* ---- test hooks ---- */
/* Number of blocks allocated and not yet freed, process-wide. */
long ls_alloc_live(void);
/* Their bytes, as the C library sized them (a little over each request). */
long ls_alloc_live_bytes(void);
/* Make the n-th allocation call from now fail (1 = the next one); 0 turns
 * injection off. After the injected failure, injection turns itself off. */
void ls_alloc_fail_after(long n);

#endif
