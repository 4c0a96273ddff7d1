/* engine.c — opening a model: guard, load, tokenizer, template, runner.
 *
 * The order matters: the guard reads only the header and tensor table, so a
 * model that cannot fit is refused in milliseconds and nothing is mapped;
 * only then is the file mapped (model_load), the tokenizer read from the
 * same map, the template family chosen and the runner's scratch allocated.
 * A failure at any step undoes the earlier ones.
 */
#include "generate/engine.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/platform.h"

struct engine {
    engine_params p;
    char *path;
    const char *name;   /* inside path */
    model *m;
    tok_tokenizer *tok;
    fwd_runner *runner;
    tpl_family family;
    guard_watch watch;
};

/* The guard on the file's header: LS_ERR_LIMIT with the sentence when it
 * does not fit; a tight fit is returned as a warning in info. */
static ls_status check_fits(const char *path, const char *name, const engine_params *p, engine_open_info *info,
                            guard_watch *watch)
{
    gguf_file *f = NULL;
    guard_model gm;
    ls_status st = gguf_open(path, &f);
    if (!st)
        st = guard_read_model(f, &gm);
    gguf_close(f);
    if (st)
        return st;
    guard_limit lim;
    if (p->mem_budget_bytes)
        guard_budget_limit(p->mem_budget_bytes, &lim);
    else
        guard_machine_limit(NULL, &lim);
    guard_params gp = { .n_ctx = p->n_ctx, .n_batch = p->n_batch, .n_threads = p->n_threads, .n_seq = p->n_seq_max };
    guard_report *r = &info->guard;
    guard_judge(&gm, &gp, &lim, r);
    guard_watch_init(watch, r->verdict == GUARD_UNKNOWN ? 0 : lim.bytes);
    switch (r->verdict) {
    case GUARD_TOO_BIG:
        return ls_error(LS_ERR_LIMIT, "%s does not fit in memory: %s", name, r->sentence);
    case GUARD_TIGHT:
        snprintf(info->fit_warning, sizeof info->fit_warning, "%s %s", name, r->sentence);
        break;
    case GUARD_FITS:
    case GUARD_UNKNOWN:
        log_info("%s: %s", name, r->sentence);
        break;
    }
    return LS_OK;
}

ls_status engine_open(const char *path, const engine_params *p, pool *shared, engine **out, engine_open_info *info)
{
    *out = NULL;
    engine_open_info scratch;
    if (!info)
        info = &scratch;
    memset(info, 0, sizeof *info);
    engine *e = ls_calloc(1, sizeof *e);
    if (!e || !(e->path = ls_strdup(path))) {
        ls_free(e);
        return ls_error(LS_ERR_NOMEM, "out of memory opening %s", path);
    }
    e->p = *p;
    fwd_params fp = { .n_ctx = p->n_ctx, .n_batch = p->n_batch, .n_threads = p->n_threads,
                      .act_bits = p->act_bits, .n_seq_max = p->n_seq_max };
    fp = fwd_fill_defaults(&fp);
    if (shared)
        fp.n_threads = pool_size(shared);
    e->p.n_ctx = fp.n_ctx;
    e->p.n_batch = fp.n_batch;
    e->p.n_threads = fp.n_threads;
    e->p.n_seq_max = fp.n_seq_max;
    e->p.act_bits = fp.act_bits;
    const char *slash = strrchr(e->path, '/');
    e->name = slash ? slash + 1 : e->path;

    double t0 = plat_now_s();
    ls_status st = check_fits(path, e->name, &e->p, info, &e->watch);
    if (!st)
        st = model_load(path, &e->m);
    if (!st)
        st = tok_load(e->m->file, &e->tok);
    if (!st)
        st = fwd_create(e->m, &fp, shared, &e->runner);
    if (st) {
        engine_close(e);
        return st;
    }
    e->family = p->no_template ? TPL_UNKNOWN
                               : tpl_family_for_file(e->m->file, e->path, p->family, info->template_warning,
                                                     sizeof info->template_warning);
    info->t_load_s = plat_now_s() - t0;
    log_info("engine: %s, template %s, %d positions per sequence, up to %d sequences, loaded in %.2f s", e->name,
             e->family == TPL_UNKNOWN ? "none" : tpl_family_info(e->family)->name, e->p.n_ctx, e->p.n_seq_max,
             info->t_load_s);
    *out = e;
    return LS_OK;
}

void engine_close(engine *e)
{
    if (!e)
        return;
    fwd_free(e->runner);
    tok_free(e->tok);
    model_free(e->m);
    ls_free(e->path);
    ls_free(e);
}

const model *engine_model(const engine *e)
{
    return e->m;
}

const tok_tokenizer *engine_tokenizer(const engine *e)
{
    return e->tok;
}

fwd_runner *engine_runner(engine *e)
{
    return e->runner;
}

tpl_family engine_family(const engine *e)
{
    return e->family;
}

const engine_params *engine_get_params(const engine *e)
{
    return &e->p;
}

const char *engine_path(const engine *e)
{
    return e->path;
}

const char *engine_name(const engine *e)
{
    return e->name;
}

guard_watch *engine_watch(engine *e)
{
    return &e->watch;
}

ls_status engine_new_sequence(engine *e, kv_cache **out)
{
    return kv_create(e->m, e->p.n_ctx, out);
}
