/* cli.h — small helpers the subcommands share for reading options.
 *
 * Each parser prints one sentence naming the option and the accepted range
 * on failure and returns false; commands then exit with status 2 (usage).
 * The resource guard runs inside engine_open() (generate/engine.h) for every
 * command that loads a model; cli_print_open_warnings() says what it found.
 */
#ifndef LS_CLI_H
#define LS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "generate/template.h"

struct guard_watch; /* generate/guard.h */

/* Integer option value in [lo, hi]. */
bool cli_int(const char *cmd, const char *opt, const char *val, long lo, long hi, long *out);
/* Floating option value in [lo, hi]. */
bool cli_float(const char *cmd, const char *opt, const char *val, double lo, double hi, double *out);
/* A memory size ("8G", "512M", "1.5GiB", "123456" bytes: guard_parse_size in
 * generate/guard.h). */
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

/* Prints the warnings opening an engine gave ("localseek CMD: warning: ...":
 * a tight fit, a guessed chat template), one line each on stderr. */
struct engine_open_info; /* generate/engine.h */
void cli_print_open_warnings(const char *cmd, const struct engine_open_info *info);

#endif
