/* options.h — the one option parser of every `localseek` command.
 *
 * What it does: a command describes its options in a table of opt_def rows
 * (the spelling, the kind of value, where the value goes, a name and a
 * sentence for the help) and calls opt_parse() once. The parser fills the
 * command's variables, checks every value against its range or list, prints
 * `--help` (`-h`) built from the same table, and reports every mistake in one
 * sentence of the same shape in every command:
 *
 *   localseek run: -n expects a whole number from 0 to 16777216, not 'many'
 *   localseek run: unknown option '--tmp' (did you mean --temp?)
 *   localseek info: unexpected argument 'x.gguf' (to use it as the model, write -m x.gguf)
 *
 * followed by the line "Run 'localseek CMD --help' to see the options." —
 * and, when something required is missing, the usage line too.
 *
 * What it owns: nothing that outlives the call. Strings it stores point into
 * argv (or into a row's `choices`); the table and the variables are the
 * caller's.
 *
 * What it does not do: decide what the options mean. Rules between options
 * ("exactly one of -p, -f, --bench"), names checked against a model (chat
 * templates) and lists parsed further (bench --type) stay in the command,
 * which reports them with opt_usage_error() so they read like the rest.
 * --log-file and --log-level are taken out by main.c before a command runs.
 *
 * Options that several commands share (-m, -t, --ctx, sampling, --seed,
 * --mem-budget, --timeout, --chat-template, --db, --json) come from the
 * constructors at the end of this header, so their spelling, range and help
 * sentence are written once.
 *
 * Called by: every cmd_*.c and bench_*.c in src/apps/; tests/test_options.c
 * (which compiles options.c itself, as src/apps/ is not in the library).
 */
#ifndef LS_OPTIONS_H
#define LS_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum {
    OPT_FLAG,       /* --json: no value; sets *flag = true */
    OPT_INT,        /* -n N: a whole number in [lo, hi] into *i */
    OPT_FLOAT,      /* --temp T: a number in [flo, fhi] into *f */
    OPT_SIZE,       /* --mem-budget 8G: bytes into *size (guard_parse_size) */
    OPT_STRING,     /* -m FILE: the word itself into *str */
    OPT_CHOICE,     /* --think show|hide: one of `choices` into *str (the row's own string) */
    OPT_LIST,       /* --stop TEXT, repeatable: into list[*count], at most `max` times */
    OPT_POSITIONAL, /* IN.gguf: the next word that is not an option, in table order, into *str */
    OPT_SECTION,    /* not an option: `help` is a heading printed in --help at this place */
} opt_kind;

/* One row of a command's table. Only the fields of the row's kind are read;
 * designated initializers (or the constructors below) say which. */
typedef struct {
    opt_kind kind;
    const char *name;       /* "-n", "--ctx"; for OPT_POSITIONAL NULL (value_name names it) */
    const char *alias;      /* the other spelling ("--model" beside "-m"), or NULL */
    const char *value_name; /* "N", "FILE" in the help and messages; OPT_CHOICE: NULL = "a|b" */
    const char *help;       /* one sentence, wrapped to the terminal's 100 columns by the help */
    const char *dflt;       /* shown as "(default: DFLT)" at the end of the help, or NULL */
    const char *noun;       /* what a number counts ("thread count"): named in its error, or NULL */
    bool required;          /* an error when not given (positionals: all-or-nothing, see opt_parse) */

    /* Where the value goes: the one pointer that matches `kind`. */
    bool *flag;
    long *i;
    double *f;
    size_t *size;
    const char **str;  /* OPT_STRING, OPT_CHOICE, OPT_POSITIONAL */
    const char **list; /* OPT_LIST: an array of `max` entries */
    int *count;        /* OPT_LIST: how many were given */
    bool *set;         /* optional, any kind: true when the option was given */

    long lo, hi;                 /* OPT_INT range, both ends allowed */
    double flo, fhi;             /* OPT_FLOAT range, both ends allowed */
    const char *const *choices;  /* OPT_CHOICE: NULL-terminated */
    int max;                     /* OPT_LIST: most times it may be given */
} opt_def;

typedef struct {
    const char *cmd;       /* "run", "bench --chat": after "localseek " in every message */
    const char *usage;     /* "localseek run -m MODEL -p TEXT [options]" (may be several lines) */
    const char *intro;     /* help prose between the usage line and the options, or NULL */
    const char *outro;     /* help prose after the options, or NULL */
    void (*more_help)(FILE *out); /* help prose that is computed (a list of types), after outro */
    const char *help_cmd;  /* what the hint tells to run with --help (NULL: "localseek CMD") */
    const opt_def *defs;
    size_t n_defs;
    FILE *out, *err;       /* where help and errors go; NULL: stdout and stderr (tests set them) */
} opt_spec;

/* opt_parse()'s answers. The values are the exit statuses a command returns
 * when it should stop, so a command writes
 *   int rc = opt_parse(&spec, argc, argv);
 *   if (rc != OPT_GO_ON) return rc; */
enum { OPT_GO_ON = -1, OPT_HELP_SHOWN = 0, OPT_BAD_USAGE = 2 };

/* Reads argv[1..argc-1] (argv[0] is the command's name) against the table.
 * Values follow their option as the next word ("-n 5", even "--seed -1"
 * reaching its range check) or, for a long name, after '=' ("--ctx=512").
 * A word that does not start with '-' (or "-" alone, or any word after "--")
 * fills the next OPT_POSITIONAL row. An option given twice keeps the last
 * value (OPT_LIST keeps all, up to its max).
 * Returns OPT_HELP_SHOWN after printing the help on `out` for -h / --help,
 * OPT_BAD_USAGE after printing one error on `err` (an unknown option with
 * the nearest known spelling, a missing or bad value, a stray word, a
 * required option or positional missing), else OPT_GO_ON. */
int opt_parse(const opt_spec *spec, int argc, char **argv);

/* The generated help: usage line, intro, one line per row, outro. */
void opt_print_help(const opt_spec *spec, FILE *out);

/* For rules the command checks itself: prints "localseek CMD: <sentence>",
 * the usage line and the --help hint on the spec's err stream and returns
 * OPT_BAD_USAGE. */
int opt_usage_error(const opt_spec *spec, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A whole number in [lo, hi] outside the parser (chat's "/think budget N",
 * "--resume S"), with the parser's message on stderr when it is not one. */
bool opt_int_value(const char *cmd, const char *what, const char *text, long lo, long hi, long *out);

/* The number of rows of a table declared as an array. */
#define OPT_COUNT(defs) (sizeof(defs) / sizeof((defs)[0]))

/* ------------------------------------------------------------------------ */
/* Options several commands share: one spelling, range and sentence each.   */
/* ------------------------------------------------------------------------ */

/* -m, --model FILE, required. */
opt_def opt_model(const char **path);
/* -t, --threads N in [1, 1024] (default: physical cores, left to the command as 0). */
opt_def opt_threads(long *n_threads);
/* --ctx N in [lo, 2^24]: the smallest context differs by command (a chat
 * needs room for its template), the meaning and the default 4096 do not. */
opt_def opt_ctx(long *n_ctx, long lo);
/* Sampling. `set` (may be NULL) tells a value from the default, which
 * `dflt` describes for the help ("0.8", "the model family's"). */
opt_def opt_temp(double *temp, bool *set, const char *dflt);
opt_def opt_top_k(long *top_k, bool *set, const char *dflt);
opt_def opt_top_p(double *top_p, bool *set, const char *dflt);
opt_def opt_min_p(double *min_p, bool *set, const char *dflt);
/* --seed S in [0, 2^31 - 1], default 42. */
opt_def opt_seed(long *seed);
/* --mem-budget SIZE ("8G"); 0 when not given: what the machine can give. */
opt_def opt_mem_budget(size_t *bytes);
/* --timeout SECONDS in [0.001, 1e7]. */
opt_def opt_timeout(double *seconds);
/* --chat-template NAME (checked by the command with cli_chat_template(),
 * which lists the known names). */
opt_def opt_chat_template(const char **name);
/* --db PATH: the memory file. */
opt_def opt_db(const char **path);
/* --act-bits 16|8: how activations are rounded (*bits_name is "16" or "8",
 * the row's own strings; the command starts it at "16"). */
opt_def opt_act_bits(const char **bits_name);
/* --json: one JSON value instead of text. */
opt_def opt_json(bool *json);

#endif
