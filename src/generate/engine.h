/* engine.h — one model ready to answer: the one place a model is opened.
 *
 * An engine is what every command and the server need to generate text with
 * one model file: the mapped weights (model.h), the tokenizer read from the
 * same file, the chat-template family, and a runner (forward.h) whose
 * scratch serves up to n_seq_max sequences at once. engine_open() is the only
 * door: it first runs the resource guard (guard.h) on the file's header —
 * a model that does not fit in memory, or in --mem-budget, is refused there
 * with the numbers and a way out, before a weight is read, for every caller —
 * then loads. Sequences (one per conversation, or per server slot) are KV
 * caches made with engine_new_sequence(); the generation loop
 * (generation.h) runs one of them.
 *
 * Owns: the model, the tokenizer, the runner (and, without a shared pool,
 * its threads). Does not: hold any conversation (KV caches are the caller's,
 * freed with kv_free() before the engine is closed), print anything.
 * Called by: apps (run, chat, logits, bench), later the model manager and
 * the server. A second model is a second engine, sharing the process's
 * thread pool (pass the same `shared` pool; at most one evaluation at a time
 * on it).
 */
#ifndef LS_ENGINE_H
#define LS_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/status.h"
#include "base/threadpool.h"
#include "generate/guard.h"
#include "generate/template.h"
#include "model/forward.h"
#include "model/kvcache.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

typedef struct {
    int n_ctx;               /* positions per sequence (0: 4096) */
    int n_threads;           /* 0: physical cores (a shared pool's size wins) */
    int n_batch;             /* tokens per prefill chunk (0: 512) */
    int n_seq_max;           /* sequences evaluated together (0: 1); the guard counts one KV cache each */
    int act_bits;            /* 16 (default) or 8 (forward.h) */
    size_t mem_budget_bytes; /* the most the process may use; 0: what the machine can give */
    tpl_family family;       /* TPL_UNKNOWN: the model's own template, else ChatML with a note */
    bool no_template;        /* the model is used without a chat template (family stays TPL_UNKNOWN) */
} engine_params;

/* What opening found out, for the caller to tell the user. */
typedef struct engine_open_info {
    guard_report guard;      /* the verdict it opened under */
    char fit_warning[720];   /* "" or a sentence to show: the fit is tight ("FILE fits, but with little room...") */
    char template_warning[400]; /* "" or a sentence: the file has no template localseek knows, ChatML is used */
    double t_load_s;         /* mapping the file and reading the tokenizer */
} engine_open_info;

typedef struct engine engine;

/* Opens `path`. Refusals, with a sentence that names the file: LS_ERR_LIMIT
 * "FILE does not fit in memory: ..." (the guard), the model or tokenizer
 * loader's errors (LS_ERR_IO, LS_ERR_FORMAT, LS_ERR_UNSUPPORTED),
 * LS_ERR_NOMEM. `shared` may be NULL (the engine makes its own pool).
 * `info` may be NULL. Caller closes with engine_close(). */
ls_status engine_open(const char *path, const engine_params *p, pool *shared, engine **out, engine_open_info *info);
void engine_close(engine *e); /* engine_close(NULL) is a no-op */

const model *engine_model(const engine *e);
const tok_tokenizer *engine_tokenizer(const engine *e);
fwd_runner *engine_runner(engine *e);
/* The template family in use: TPL_UNKNOWN only with no_template. */
tpl_family engine_family(const engine *e);
const engine_params *engine_get_params(const engine *e); /* defaults filled in */
const char *engine_path(const engine *e);
const char *engine_name(const engine *e);  /* the file name without its folder */
/* Resident memory against the limit the engine was judged by: poll once
 * per token (guard_watch_poll); never warns when no limit could be read. */
guard_watch *engine_watch(engine *e);

/* A KV cache of n_ctx positions for this engine's model. Caller frees with
 * kv_free() (before engine_close). LS_ERR_NOMEM. */
ls_status engine_new_sequence(engine *e, kv_cache **out);

#endif
