/* commands.h — the subcommands of the `localseek` program.
 *
 * main.c reads the first argument and hands the rest to one of these. Each
 * returns the process exit status (0 ok, 1 error, 2 bad usage) and prints its
 * own errors as one sentence on stderr. Nothing below apps/ prints or exits.
 */
#ifndef LS_COMMANDS_H
#define LS_COMMANDS_H

int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_prompt(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_sessions(int argc, char **argv);
int cmd_stats(int argc, char **argv);

#endif
