/* cli.c — the resource guard's check before a model is loaded, and the
 * chat-template helpers (see cli.h). */
#include "apps/cli.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "gguf/gguf.h"
#include "generate/engine.h"
#include "generate/guard.h"
#include "localseek.h"

void cli_print_template_names(FILE *out)
{
    fputs(ls_chat_template_names(), out);
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
    char note[400];
    tpl_family family = tpl_family_for_file(f, path, forced, note, sizeof note);
    if (note[0])
        fprintf(stderr, "localseek %s: warning: %s\n", cmd, note);
    return family;
}

void cli_print_open_warnings(const char *cmd, const engine_open_info *info)
{
    if (info->fit_warning[0])
        fprintf(stderr, "localseek %s: warning: %s\n", cmd, info->fit_warning);
    if (info->template_warning[0])
        fprintf(stderr, "localseek %s: warning: %s\n", cmd, info->template_warning);
}

