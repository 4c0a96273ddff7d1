/* kvcache_internal.h — the KV cache's layout, for kvcache.c and forward.c
 * only (everyone else uses kvcache.h). */
#ifndef LS_KVCACHE_INTERNAL_H
#define LS_KVCACHE_INTERNAL_H

#include "base/status.h"
#include "model/kvcache.h"
#include "base/dtype.h"

struct kv_cache {
    const model *m;
    int n_ctx;
    int n_past;
    ls_f16 *k;      /* [n_layer][n_ctx][kv_dim] */
    ls_f16 *vt;     /* [n_layer][n_head_kv][hd][n_ctx]; zero beyond n_past (read there with weight 0) */
    int32_t *ids;   /* [n_ctx] the token at each filled position */
};

#endif
