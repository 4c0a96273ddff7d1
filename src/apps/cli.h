/* cli.h — what the model-loading commands share beyond their options.
 *
 * cli_print_open_warnings() says what opening an engine found (the resource
 * guard runs inside engine_open(), generate/engine.h). The chat-template
 * helpers turn --chat-template NAME into a family and pick the family a
 * model file asks for. Options themselves (reading, checking, --help) are
 * apps/options.h.
 *
 * Called by: cmd_prompt.c, cmd_logits.c, bench_model.c (run and chat use the
 * public API: ls_chat_template_known, ls_model_info's warnings).
 */
#ifndef LS_CLI_H
#define LS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "generate/template.h"

/* The chat-template family named by --chat-template (message listing the
 * known names on failure). */
bool cli_chat_template(const char *cmd, const char *name, tpl_family *out);
void cli_print_template_names(FILE *out); /* "deepseek-r1, chatml, ..." */
/* The family to use for a model file: `forced` when set, else the model's own
 * template, else TPL_FALLBACK with a warning on stderr naming why. */
tpl_family cli_model_family(const char *cmd, const gguf_file *f, const char *path, tpl_family forced);

/* Prints the warnings opening an engine gave ("localseek CMD: warning: ...":
 * a tight fit, a guessed chat template), one line each on stderr. */
struct engine_open_info; /* generate/engine.h */
void cli_print_open_warnings(const char *cmd, const struct engine_open_info *info);

#endif
