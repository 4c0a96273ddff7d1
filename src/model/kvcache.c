/* kvcache.c — allocating, measuring and rewinding a sequence's KV cache.
 *
 * The values are zeroed once at creation: attention multiplies the whole row
 * of a value up to the last position of a chunk, with weight 0 beyond what a
 * token may see, and 0 * NaN from uninitialized memory would still poison
 * the sum. Rewinding only moves n_past: stale positions are overwritten
 * before they are read again, since a token only sees positions before it.
 */
#include "model/kvcache_internal.h"

#include <string.h>

#include "base/alloc.h"

size_t kv_bytes_hp(const model_hparams *hp, int n_ctx)
{
    return 2 * (size_t)hp->n_layer * (size_t)n_ctx * (size_t)hp->n_head_kv * (size_t)hp->head_dim * sizeof(ls_f16);
}

ls_status kv_create(const model *m, int n_ctx, kv_cache **out)
{
    *out = NULL;
    if (n_ctx < 1 || n_ctx > (1 << 24))
        return ls_error(LS_ERR_ARG, "a context of %d tokens is out of range (1 to 16M)", n_ctx);
    kv_cache *kv = ls_calloc(1, sizeof *kv);
    if (!kv)
        return ls_error(LS_ERR_NOMEM, "no memory for a KV cache");
    kv->m = m;
    kv->n_ctx = n_ctx;
    size_t half = kv_bytes_hp(&m->hp, n_ctx) / 2;
    kv->k = ls_malloc_aligned(half, 64);
    kv->vt = ls_malloc_aligned(half, 64);
    kv->ids = ls_malloc(sizeof(int32_t) * (size_t)n_ctx);
    if (!kv->k || !kv->vt || !kv->ids) {
        kv_free(kv);
        return ls_error(LS_ERR_NOMEM, "no memory for a %d-token KV cache (%.1f MiB)", n_ctx,
                        (double)(2 * half) / (1024.0 * 1024.0));
    }
    memset(kv->vt, 0, half);
    *out = kv;
    return LS_OK;
}

void kv_free(kv_cache *kv)
{
    if (!kv)
        return;
    ls_free(kv->k);
    ls_free(kv->vt);
    ls_free(kv->ids);
    ls_free(kv);
}

int kv_n_past(const kv_cache *kv)
{
    return kv->n_past;
}

int kv_n_ctx(const kv_cache *kv)
{
    return kv->n_ctx;
}

const int32_t *kv_tokens(const kv_cache *kv)
{
    return kv->ids;
}

int kv_common_prefix(const kv_cache *kv, const int32_t *ids, int n)
{
    int k = 0;
    while (k < kv->n_past && k < n && kv->ids[k] == ids[k])
        k++;
    return k;
}

void kv_rewind(kv_cache *kv, int n_past)
{
    if (n_past >= 0 && n_past < kv->n_past)
        kv->n_past = n_past;
}
