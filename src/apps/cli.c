/* cli.c — option value parsing with clear messages, and the resource
 * guard's check before a model is loaded. */
#include "apps/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "gguf/gguf.h"
#include "generate/engine.h"
#include "generate/guard.h"

bool cli_int(const char *cmd, const char *opt, const char *val, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (errno || end == val || *end || v < lo || v > hi) {
        fprintf(stderr, "localseek %s: %s expects a whole number from %ld to %ld, got '%s'\n", cmd, opt, lo, hi, val);
        return false;
    }
    *out = v;
    return true;
}

bool cli_float(const char *cmd, const char *opt, const char *val, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(val, &end);
    if (errno || end == val || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "localseek %s: %s expects a number from %g to %g, got '%s'\n", cmd, opt, lo, hi, val);
        return false;
    }
    *out = v;
    return true;
}

bool cli_size(const char *cmd, const char *opt, const char *val, size_t *out_bytes)
{
    if (guard_parse_size(val, out_bytes) == LS_OK)
        return true;
    fprintf(stderr, "localseek %s: %s: %s\n", cmd, opt, ls_error_msg());
    return false;
}

const char *cli_value(const char *cmd, int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "localseek %s: %s needs a value\n", cmd, argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

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

