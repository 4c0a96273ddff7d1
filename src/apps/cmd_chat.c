/* cmd_chat.c — `localseek chat`: talk with a model in the terminal.
 *
 * Two ways in:
 *   - at a terminal: a prompt with line editing and history (libedit); the
 *     model's thinking streams dimmed (or is folded into one line with
 *     `/think hide`), then the answer, then one line of figures;
 *   - from a pipe or file (stdin not a terminal): every line is one message,
 *     answers go to stdout (thoughts only with --think show), the figures to
 *     stderr, and the program ends at the end of input — so it can be scripted.
 * In both, a line ending in a backslash continues on the next line, and a line
 * holding only """ starts or ends a block of several lines sent as one
 * message. Lines starting with '/' are commands (/help lists them).
 *
 * Ctrl-C while the model writes stops that answer (it is kept, marked as
 * interrupted) and returns to the prompt; Ctrl-D or /exit quits.
 * The conversation logic (templates, context fitting, KV cache re-use,
 * reasoning, stop rules) lives in generate/chat.c; this file is terminal I/O.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>

#include "apps/cli.h"
#include "apps/commands.h"
#include "base/alloc.h"
#include "base/log.h"
#include "base/platform.h"
#include "generate/chat.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: localseek chat -m MODEL [options]\n"
            "  -m FILE              GGUF model\n"
            "  --ctx N              context window in tokens (default 4096)\n"
            "  -t N                 threads (default: physical cores)\n"
            "  --system TEXT        system text (for DeepSeek-R1 it opens the first message, as its authors advise)\n"
            "  -n N                 answer tokens per turn (default: no limit but the context)\n"
            "  --think-budget N     close the model's thoughts after N tokens (default: no limit)\n"
            "  --think show|hide    show the thoughts (dimmed) or only a one-line summary\n"
            "                       (default: show at a terminal, hide otherwise)\n"
            "  --temp T --top-k K --top-p P --min-p P   sampling (default: the model family's values)\n"
            "  --repeat-penalty R --presence-penalty P --frequency-penalty F   penalties (default off)\n"
            "  --seed S             random seed (default 42): same seed, same answers\n"
            "  --stop TEXT          end the answer at TEXT (repeatable, up to %d)\n"
            "  --chat-template NAME deepseek-r1, chatml, qwen2.5, qwen3, llama3 or llama3.0 (default: from the model)\n"
            "  --no-color           no dimming or colors\n"
            "Input: one message per line; end a line with \\ to continue it; \"\"\" on its own line starts and\n"
            "ends a block. Commands: /help at the prompt.\n",
            CHAT_MAX_STOPS);
}

static const char help_text[] =
    "  /help                 this list\n"
    "  /exit, /quit          leave (Ctrl-D too)\n"
    "  /think show|hide      show the model's thoughts, or only a summary line\n"
    "  /think budget N|off   close the thoughts after N tokens\n"
    "  /reset                start a new conversation\n"
    "  /system TEXT          set the system text (empty: none) for the next turns\n"
    "  /thoughts             show the thoughts behind the last answer\n"
    "Ctrl-C stops the answer being written; a line ending in \\ continues; \"\"\" starts/ends a block.\n";

/* ======================================================================== */
/* Ctrl-C                                                                    */
/* ======================================================================== */

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static bool poll_cancel(void *ctx)
{
    (void)ctx;
    return interrupted != 0;
}

/* ======================================================================== */
/* Output                                                                    */
/* ======================================================================== */

typedef struct {
    bool show_thoughts;
    bool color;
    bool in_thought_shown; /* dim attribute is on */
    bool said_thinking;    /* the "thinking..." line is on screen (hidden mode) */
    bool answer_started;
} view;

#define DIM "\033[2m"
#define RESET "\033[0m"

static void on_text(void *ctx, chat_part part, const char *text, size_t n)
{
    view *v = ctx;
    if (part == CHAT_THINKING) {
        if (v->show_thoughts) {
            if (!v->in_thought_shown && v->color)
                fputs(DIM, stdout);
            v->in_thought_shown = true;
            fwrite(text, 1, n, stdout);
            fflush(stdout);
        } else if (!v->said_thinking && v->color) {
            fputs(DIM "thinking..." RESET, stderr);
            fflush(stderr);
            v->said_thinking = true;
        }
        return;
    }
    if (v->in_thought_shown) {
        fputs(v->color ? RESET "\n\n" : "\n\n", stdout);
        v->in_thought_shown = false;
    }
    if (v->said_thinking) {
        fputs("\r\033[K", stderr);
        v->said_thinking = false;
    }
    v->answer_started = true;
    fwrite(text, 1, n, stdout);
    fflush(stdout);
}

static void on_note(void *ctx, const char *sentence)
{
    view *v = ctx;
    if (v->in_thought_shown && v->color)
        fputs(RESET, stdout);
    fflush(stdout);
    fprintf(stderr, "%s[%s]%s\n", v->color ? DIM : "", sentence, v->color ? RESET : "");
    if (v->in_thought_shown && v->color)
        fputs(DIM, stdout);
}

static void print_stats(const view *v, const chat_turn_stats *st)
{
    char think[96] = "";
    if (st->n_thinking > 0)
        snprintf(think, sizeof think, "thought for %d tokens, %.1f s%s; ", st->n_thinking, st->t_thinking_s,
                 st->budget_closed ? " (budget)" : "");
    double tps = st->t_generate_s > 0 ? (st->n_thinking + st->n_answer) / st->t_generate_s : 0.0;
    fprintf(stderr, "%s[%s%d answer tokens; prompt %d tokens (%d re-used), first token %.2f s; %.1f tok/s%s%s]%s\n",
            v->color ? DIM : "", think, st->n_answer, st->n_prompt, st->n_reused, st->t_first_token_s, tps,
            st->stop == CHAT_STOP_EOG ? "" : "; stopped: ", st->stop == CHAT_STOP_EOG ? "" : chat_stop_name(st->stop),
            v->color ? RESET : "");
}

/* ======================================================================== */
/* Input                                                                     */
/* ======================================================================== */

typedef struct {
    bool tty;
    char *pending; /* a line read but not yet used */
} input;

/* One raw line without its newline (caller frees with free(): it comes from
 * libedit or getline), or NULL at end of input. At a terminal, Ctrl-C at the
 * prompt gives an empty line. */
static char *read_line(input *in, const char *prompt)
{
    if (in->tty) {
        interrupted = 0;
        char *l = readline(prompt);
        if (!l && interrupted) {
            fputc('\n', stdout);
            return strdup("");
        }
        return l;
    }
    char *l = NULL;
    size_t cap = 0;
    ssize_t n = getline(&l, &cap, stdin);
    if (n < 0) {
        free(l);
        return NULL;
    }
    while (n > 0 && (l[n - 1] == '\n' || l[n - 1] == '\r'))
        l[--n] = 0;
    return l;
}

/* One message: a line, lines joined by a trailing backslash, or a """ block.
 * Caller frees with free(); NULL at end of input. */
static char *read_message(input *in)
{
    char *first = read_line(in, ">>> ");
    if (!first)
        return NULL;
    bool block = strcmp(first, "\"\"\"") == 0;
    size_t len = block ? 0 : strlen(first);
    bool more = block || (len > 0 && first[len - 1] == '\\');
    if (!more)
        return first;
    char *msg = block ? strdup("") : first;
    if (block)
        free(first);
    else
        msg[--len] = 0;
    while (msg) {
        char *l = read_line(in, "... ");
        if (!l)
            break;
        if (block && strcmp(l, "\"\"\"") == 0) {
            free(l);
            break;
        }
        size_t ll = strlen(l);
        bool cont = !block && ll > 0 && l[ll - 1] == '\\';
        if (cont)
            l[--ll] = 0;
        char *joined = malloc(len + 1 + ll + 1);
        if (!joined) {
            free(l);
            free(msg);
            return NULL;
        }
        memcpy(joined, msg, len);
        size_t o = len;
        if (len > 0 || !block)
            joined[o++] = '\n';
        memcpy(joined + o, l, ll + 1);
        len = o + ll;
        free(msg);
        free(l);
        msg = joined;
        if (!block && !cont)
            break;
    }
    return msg;
}

/* ======================================================================== */
/* Commands                                                                  */
/* ======================================================================== */

/* Returns false to quit. */
static bool run_command(chat *c, view *v, const char *line)
{
    const char *arg = strchr(line, ' ');
    size_t n = arg ? (size_t)(arg - line) : strlen(line);
    while (arg && *arg == ' ')
        arg++;
    if (!arg)
        arg = "";
#define IS(name) (n == strlen(name) && strncmp(line, name, n) == 0)
    if (IS("/exit") || IS("/quit") || IS("/bye"))
        return false;
    if (IS("/help") || IS("/?")) {
        fputs(help_text, stdout);
    } else if (IS("/reset") || IS("/clear")) {
        chat_reset(c);
        fputs("[new conversation]\n", stderr);
    } else if (IS("/system")) {
        if (chat_set_system(c, *arg ? arg : NULL))
            fprintf(stderr, "%s\n", ls_error_msg());
        else
            fprintf(stderr, *arg ? "[system text set]\n" : "[system text removed]\n");
    } else if (IS("/thoughts")) {
        size_t k = chat_n_messages(c);
        if (k == 0 || strcmp(chat_get_message(c, k - 1).role, "assistant") != 0)
            fputs("[no answer yet]\n", stderr);
        else {
            const char *t = chat_get_message(c, k - 1).thinking;
            printf("%s%s%s\n", v->color ? DIM : "", *t ? t : "(no thoughts)", v->color ? RESET : "");
        }
    } else if (IS("/think")) {
        long budget;
        if (!strcmp(arg, "show"))
            v->show_thoughts = true;
        else if (!strcmp(arg, "hide"))
            v->show_thoughts = false;
        else if (!strcmp(arg, "budget off"))
            chat_set_think_budget(c, -1);
        else if (!strncmp(arg, "budget ", 7) && cli_int("chat", "/think budget", arg + 7, 0, 1 << 24, &budget))
            chat_set_think_budget(c, (int)budget);
        else
            fputs("usage: /think show | /think hide | /think budget N | /think budget off\n", stderr);
    } else {
        fprintf(stderr, "unknown command %.*s; /help lists them\n", (int)n, line);
    }
#undef IS
    return true;
}

/* ======================================================================== */
/* The command                                                               */
/* ======================================================================== */

typedef struct {
    const char *model_path, *system, *template_name, *think_mode;
    long n_ctx, n_threads, n_answer, think_budget, seed, top_k;
    double temp, top_p, min_p, repeat, presence, frequency;
    bool set_temp, set_top_k, set_top_p, set_min_p, set_repeat, no_color;
    const char *stops[CHAT_MAX_STOPS];
    int n_stops;
} options;

static int parse(int argc, char **argv, options *o)
{
    *o = (options){ .n_ctx = 4096, .n_answer = -1, .think_budget = -1, .seed = 42 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--no-color")) {
            o->no_color = true;
            continue;
        }
        if (!(v = cli_value("chat", argc, argv, &i)))
            return 2;
        bool ok = true;
        if (!strcmp(a, "-m"))
            o->model_path = v;
        else if (!strcmp(a, "--system"))
            o->system = v;
        else if (!strcmp(a, "--chat-template"))
            o->template_name = v;
        else if (!strcmp(a, "--think")) {
            o->think_mode = v;
            ok = !strcmp(v, "show") || !strcmp(v, "hide");
            if (!ok)
                fprintf(stderr, "localseek chat: --think takes show or hide, not '%s'\n", v);
        } else if (!strcmp(a, "--stop")) {
            ok = o->n_stops < CHAT_MAX_STOPS;
            if (ok)
                o->stops[o->n_stops++] = v;
            else
                fprintf(stderr, "localseek chat: at most %d --stop strings\n", CHAT_MAX_STOPS);
        } else if (!strcmp(a, "--ctx"))
            ok = cli_int("chat", a, v, 64, 1 << 24, &o->n_ctx);
        else if (!strcmp(a, "-t"))
            ok = cli_int("chat", a, v, 1, 1024, &o->n_threads);
        else if (!strcmp(a, "-n"))
            ok = cli_int("chat", a, v, 0, 1 << 24, &o->n_answer);
        else if (!strcmp(a, "--think-budget"))
            ok = cli_int("chat", a, v, 0, 1 << 24, &o->think_budget);
        else if (!strcmp(a, "--seed"))
            ok = cli_int("chat", a, v, 0, 0x7fffffffL, &o->seed);
        else if (!strcmp(a, "--top-k"))
            ok = (o->set_top_k = cli_int("chat", a, v, 0, 1 << 24, &o->top_k));
        else if (!strcmp(a, "--temp"))
            ok = (o->set_temp = cli_float("chat", a, v, 0.0, 100.0, &o->temp));
        else if (!strcmp(a, "--top-p"))
            ok = (o->set_top_p = cli_float("chat", a, v, 1e-6, 1.0, &o->top_p));
        else if (!strcmp(a, "--min-p"))
            ok = (o->set_min_p = cli_float("chat", a, v, 0.0, 0.999, &o->min_p));
        else if (!strcmp(a, "--repeat-penalty"))
            ok = (o->set_repeat = cli_float("chat", a, v, 0.01, 10.0, &o->repeat));
        else if (!strcmp(a, "--presence-penalty"))
            ok = cli_float("chat", a, v, -2.0, 2.0, &o->presence);
        else if (!strcmp(a, "--frequency-penalty"))
            ok = cli_float("chat", a, v, -2.0, 2.0, &o->frequency);
        else {
            fprintf(stderr, "localseek chat: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (!ok)
            return 2;
    }
    if (!o->model_path) {
        fprintf(stderr, "localseek chat: -m MODEL is required\n");
        usage(stderr);
        return 2;
    }
    return -1;
}

int cmd_chat(int argc, char **argv)
{
    options o;
    int rc = parse(argc, argv, &o);
    if (rc >= 0)
        return rc;

    tpl_family forced = TPL_UNKNOWN;
    if (o.template_name && !cli_chat_template("chat", o.template_name, &forced))
        return 2;
    model *m = NULL;
    tok_tokenizer *tok = NULL;
    chat *c = NULL;
    rc = 1;
    double t_load = plat_now_s();
    ls_status s = model_load(o.model_path, &m);
    if (!s)
        s = tok_load(m->file, &tok);
    if (s) {
        fprintf(stderr, "localseek chat: %s\n", ls_error_msg());
        goto done;
    }
    tpl_family family = cli_model_family("chat", m->file, o.model_path, forced);
    chat_params p = chat_default_params(family);
    p.n_ctx = (int)o.n_ctx;
    p.n_threads = (int)o.n_threads;
    p.n_answer_max = (int)o.n_answer;
    p.think_budget = (int)o.think_budget;
    p.system = o.system;
    p.sampling.seed = (uint64_t)o.seed;
    if (o.set_temp)
        p.sampling.temp = (float)o.temp;
    if (o.set_top_k)
        p.sampling.top_k = (int)o.top_k;
    if (o.set_top_p)
        p.sampling.top_p = (float)o.top_p;
    if (o.set_min_p)
        p.sampling.min_p = (float)o.min_p;
    if (o.set_repeat)
        p.sampling.repeat_penalty = (float)o.repeat;
    p.sampling.presence_penalty = (float)o.presence;
    p.sampling.frequency_penalty = (float)o.frequency;
    for (int i = 0; i < o.n_stops; i++)
        p.stops[i] = o.stops[i];
    p.n_stops = o.n_stops;
    if ((s = chat_create(m, tok, &p, &c))) {
        fprintf(stderr, "localseek chat: %s\n", ls_error_msg());
        goto done;
    }
    t_load = plat_now_s() - t_load;

    input in = { .tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) };
    view v = { .show_thoughts = o.think_mode ? !strcmp(o.think_mode, "show") : in.tty,
               .color = !o.no_color && isatty(STDOUT_FILENO) && isatty(STDERR_FILENO) };
    struct sigaction sa = { .sa_handler = on_sigint }; /* no SA_RESTART: a read at the prompt returns */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    if (in.tty) {
        using_history();
        fprintf(stderr, "localseek chat — %s, template %s, context %d tokens, loaded in %.1f s. /help for commands, "
                        "Ctrl-D to leave.\n", o.model_path, tpl_family_info(family)->name, p.n_ctx, t_load);
    }

    chat_callbacks cb = { .on_text = on_text, .on_note = on_note, .cancelled = poll_cancel, .ctx = &v };
    char *line;
    rc = 0;
    while ((line = read_message(&in))) {
        const char *t = line;
        while (*t == ' ' || *t == '\t')
            t++;
        if (!*t) {
            free(line);
            continue;
        }
        if (in.tty)
            add_history(line);
        if (*t == '/') {
            bool go_on = run_command(c, &v, t);
            free(line);
            if (!go_on)
                break;
            continue;
        }
        interrupted = 0;
        chat_turn_stats st;
        v.answer_started = false;
        s = chat_send(c, line, &cb, &st);
        free(line);
        if (v.in_thought_shown && v.color)
            fputs(RESET, stdout);
        v.in_thought_shown = false;
        if (v.said_thinking)
            fputs("\r\033[K", stderr);
        v.said_thinking = false;
        fputc('\n', stdout);
        fflush(stdout);
        if (s) {
            fprintf(stderr, "localseek chat: %s\n", ls_error_msg());
            if (s != LS_ERR_LIMIT) {
                rc = 1;
                break;
            }
            continue;
        }
        print_stats(&v, &st);
    }
    if (in.tty)
        fputc('\n', stdout);
done:
    chat_free(c);
    tok_free(tok);
    model_free(m);
    return rc;
}
