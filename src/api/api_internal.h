/* api_internal.h — what the public API's own files share: the layouts
 * behind the handles of include/localseek.h.
 *
 * The public header names its objects only (typedef struct ls_chat
 * ls_chat); their layouts live here, so that localseek.c (runtime, models,
 * one-shot, conversations) and memory.c (the memory file, a conversation's
 * memory) can both reach inside them, and nothing else can: a program using
 * localseek.h never sees these fields.
 *
 * Owns: nothing itself; each struct says what its object owns.
 * Does not: declare functions (every API function is in localseek.h).
 * Included by: src/api/localseek.c, src/api/memory.c.
 */
#ifndef LS_API_INTERNAL_H
#define LS_API_INTERNAL_H

#include <stdbool.h>

#include "base/threadpool.h"
#include "generate/chat.h"
#include "generate/engine.h"
#include "localseek.h"
#include "memory/store.h"
#include "orchestrator/conversation.h"

struct ls_runtime {
    pool *pool;
};

struct ls_model {
    ls_runtime *rt;
    engine *e;
    engine_open_info info;
};

/* A memory file. One opened with ls_memory_open() owns its store; the one
 * ls_chat_memory() gives is a view of the conversation's store (borrowed:
 * closing it is a programmer's error, caught by an assertion). */
struct ls_memory {
    mem_store *store;
    bool borrowed;
};

struct ls_chat {
    ls_model *m;
    mem_store *store;      /* owned; NULL without a memory file */
    conv *v;
    chat_seat *seat;
    ls_memory memory;      /* `store` as an ls_memory, filled by ls_chat_memory() */
};

#endif
