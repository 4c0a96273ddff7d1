/* cli.h — small helpers the subcommands share for reading options.
 *
 * Each parser prints one sentence naming the option and the accepted range
 * on failure and returns false; commands then exit with status 2 (usage).
 * cli_check_fits() is the resource guard's door for the commands: every
 * command that loads a model calls it first.
 */
#ifndef LS_CLI_H
#define LS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "generate/template.h"

struct guard_watch; /* orchestrator/guard.h */

/* Integer option value in [lo, hi]. */
bool cli_int(const char *cmd, const char *opt, const char *val, long lo, long hi, long *out);
/* Floating option value in [lo, hi]. */
bool cli_float(const char *cmd, const char *opt, const char *val, double lo, double hi, double *out);
/* A memory size ("8G", "512M", "1.5GiB", "123456" bytes: guard_parse_size in
 * orchestrator/guard.h). */
bool cli_size(const char *cmd, const char *opt, const char *val, size_t *out_bytes);
/* For "-x VALUE" options: the value after argv[*i], advancing *i; NULL (with a
 * message) when the option is the last argument. */
const char *cli_value(const char *cmd, int argc, char **argv, int *i);

/* The chat-template family named by --chat-template (message listing the
 * known names on failure). */
bool cli_chat_template(const char *cmd, const char *name, tpl_family *out);
void cli_print_template_names(FILE *out); /* "deepseek-r1, chatml, ..." */
/* The family to use for a model file: `forced` when set, else the model's own
 * template, else TPL_FALLBACK with a warning on stderr naming why. */
tpl_family cli_model_family(const char *cmd, const gguf_file *f, const char *path, tpl_family forced);

/* The usage line every model-loading command shows for --mem-budget. */
#define CLI_MEM_BUDGET_HELP \
    "  --mem-budget SIZE  memory this run may use, e.g. 8G or 512M (default: what the machine can give)\n"

/* The resource guard, before model_load(): reads `model_path`'s header and
 * tensor table only (no weights), estimates what a context of n_ctx tokens
 * on n_threads threads needs (0 = the defaults), and compares it with
 * mem_budget_bytes, or, when that is 0, with what the machine can give
 * (MemAvailable, a cgroup limit). Too big: prints "localseek CMD: FILE does
 * not fit in memory: needs ... — use --ctx N ..." on stderr and returns false
 * (the caller exits 1); a file that cannot be read is reported the same way.
 * Tight (< 15 % spare): one warning line on stderr, returns true. Otherwise
 * returns true silently (the sentence is logged at info level).
 * `watch` (may be NULL) is set up with the limit the run was judged
 * against, for guard_watch_poll() during generation (a limit that could not
 * be read leaves a watch that never warns). */
bool cli_check_fits(const char *cmd, const char *model_path, int n_ctx, int n_threads, size_t mem_budget_bytes,
                    struct guard_watch *watch);

#endif
