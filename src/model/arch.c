/* arch.c — the architecture table. */
#include "model/arch.h"

#include <string.h>

static const arch_desc archs[] = {
    /* name     qkv_bias qk_norm rope       output_may_tie */
    { "llama", false, false, ROPE_NORM, true },
    { "qwen2", true, false, ROPE_NEOX, true },
    { "qwen3", false, true, ROPE_NEOX, true },
    /* qwen3moe (Qwen3-Coder-30B-A3B) has the qwen3 attention and a mixture of
     * experts in place of the feed-forward layer: not supported yet. LIMITATION. */
};

const arch_desc *arch_find(const char *name)
{
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
        if (strcmp(archs[i].name, name) == 0)
            return &archs[i];
    return NULL;
}

const char *arch_supported_list(void)
{
    return "llama, qwen2, qwen3";
}
