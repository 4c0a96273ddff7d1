/* cli.c — the resource guard's check before a model is loaded, and the
 * chat-template helpers (see cli.h). */
#include "apps/cli.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "gguf/gguf.h"
#include "orchestrator/guard.h"

void cli_print_template_names(FILE *out)
{
    for (int f = 1; f < TPL_N_FAMILIES; f++)
        fprintf(out, "%s%s", f > 1 ? ", " : "", tpl_family_info((tpl_family)f)->name);
}

bool cli_chat_template(const char *cmd, const char *name, tpl_family *out)
{
    *out = tpl_family_from_name(name);
    if (*out != TPL_UNKNOWN)
        return true;
    fprintf(stderr, "localseek %s: unknown --chat-template '%s' (known: ", cmd, name);
    cli_print_template_names(stderr);
    fprintf(stderr, ")\n");
    return false;
}

tpl_family cli_model_family(const char *cmd, const gguf_file *f, const char *path, tpl_family forced)
{
    if (forced != TPL_UNKNOWN)
        return forced;
    bool has = false;
    tpl_family family = tpl_detect_file(f, &has);
    if (family == TPL_UNKNOWN)
        fprintf(stderr, "localseek %s: warning: %s %s; using %s (choose another with --chat-template NAME)\n", cmd,
                path, has ? "has a chat template localseek does not know" : "has no chat template",
                tpl_family_info(TPL_FALLBACK)->name);
    return family == TPL_UNKNOWN ? TPL_FALLBACK : family;
}

bool cli_check_fits(const char *cmd, const char *model_path, int n_ctx, int n_threads, size_t mem_budget_bytes,
                    struct guard_watch *watch)
{
    if (watch)
        guard_watch_init(watch, 0);
    /* 1. The file's header and tensor table (the weights stay on disk). */
    gguf_file *f = NULL;
    guard_model gm;
    if (gguf_open(model_path, &f) != LS_OK || guard_read_model(f, &gm) != LS_OK) {
        fprintf(stderr, "localseek %s: %s\n", cmd, ls_error_msg());
        gguf_close(f);
        return false;
    }
    gguf_close(f);

    /* 2. What may be used: the user's budget, else the machine's figure. */
    guard_limit lim;
    if (mem_budget_bytes)
        guard_budget_limit(mem_budget_bytes, &lim);
    else
        guard_machine_limit(NULL, &lim);

    /* 3. The verdict, said once. */
    guard_params gp = { .n_ctx = n_ctx, .n_threads = n_threads };
    guard_report r;
    guard_judge(&gm, &gp, &lim, &r);
    const char *base = strrchr(model_path, '/');
    base = base ? base + 1 : model_path;
    switch (r.verdict) {
    case GUARD_TOO_BIG:
        fprintf(stderr, "localseek %s: %s does not fit in memory: %s\n", cmd, base, r.sentence);
        return false;
    case GUARD_TIGHT:
        fprintf(stderr, "localseek %s: warning: %s %s\n", cmd, base, r.sentence);
        break;
    case GUARD_FITS:
    case GUARD_UNKNOWN:
        log_info("%s: %s", base, r.sentence);
        break;
    }
    if (watch && r.verdict != GUARD_UNKNOWN)
        guard_watch_init(watch, lim.bytes);
    return true;
}
