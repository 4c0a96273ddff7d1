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
 *
 * Every turn is saved in the memory file (memory/store.h) as it completes;
 * notes from earlier sessions are recalled and repeated questions answered
 * from the response cache (orchestrator/conversation.h). The conversation
 * logic (templates, context fitting, KV cache re-use, reasoning, stop rules)
 * lives in generate/chat.c; this file is terminal I/O.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>

#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/memory_view.h"
#include "apps/options.h"
#include "base/alloc.h"
#include "base/log.h"
#include "base/platform.h"
#include "generate/chat.h"
#include "generate/engine.h"
#include "orchestrator/conversation.h"

static const char help_text[] =
    "  /help                 this list\n"
    "  /exit, /quit          leave (Ctrl-D too)\n"
    "  /think show|hide      show the model's thoughts, or only a summary line\n"
    "  /think budget N|off   close the thoughts after N tokens\n"
    "  /reset                start a new conversation (the old one stays stored)\n"
    "  /system TEXT          set the system text (empty: none) for the next turns\n"
    "  /thoughts             show the thoughts behind the last answer\n"
    "  /history [N]          this conversation as stored (the last N messages)\n"
    "  /sessions             the stored conversations\n"
    "  /resume S             continue stored conversation S\n"
    "  /forget [S]           delete conversation S (default: this one) from the memory file\n"
    "  /memory show          the notes recalled from memory for the last question\n"
    "  /nocache              answer the last question anew if it came from the cache; no cache from now on\n"
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

/* Polled once per generated token (the generation loop polls the memory
 * watch itself). */
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

static void on_text(void *ctx, gen_part part, const char *text, size_t n)
{
    view *v = ctx;
    if (part == GEN_THINKING) {
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

static void print_stats(const view *v, const conv_turn *t)
{
    const char *dim = v->color ? DIM : "", *reset = v->color ? RESET : "";
    if (t->cached) {
        fprintf(stderr, "%s[answered from the response cache: first given %s; %.3f s; /nocache answers anew]%s\n",
                dim, t->cached_at, t->t_total_s, reset);
        return;
    }
    const gen_result *st = &t->chat.gen;
    char think[128] = "", notes[48] = "", stop[96] = "";
    if (t->n_notes > 0)
        snprintf(notes, sizeof notes, "; %d note%s from memory", t->n_notes, t->n_notes == 1 ? "" : "s");
    if (st->n_thinking > 0)
        snprintf(think, sizeof think, "thought for %d tokens, %.1f s%s; ", st->n_thinking, st->t_thinking_s,
                 st->budget_closed ? " (budget)" : "");
    /* When the thoughts, not the answer, used up the room, say so. */
    if (st->stop != GEN_STOP_EOG)
        snprintf(stop, sizeof stop, "; stopped: %s%s", gen_stop_name(st->stop),
                 st->thought_unfinished ? " while still thinking" : "");
    double tps = st->t_generate_s > 0 ? (st->n_thinking + st->n_answer) / st->t_generate_s : 0.0;
    fprintf(stderr, "%s[%s%d answer tokens; prompt %d tokens (%d re-used%s), first token %.2f s; %.1f tok/s%s]%s\n",
            dim, think, st->n_answer, st->n_prompt, st->n_reused, notes, st->t_first_token_s, tps, stop, reset);
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

/* What the commands act on. */
typedef struct {
    chat *c;          /* the conversation's messages (conv_chat) */
    chat_seat *seat;  /* the model's place at it */
    conv *cv;
    mem_store *store; /* NULL with --no-save or when the file could not be opened */
    view *v;
    const gen_callbacks *cb;
} repl;

static bool need_store(const repl *r)
{
    if (!r->store)
        fputs("[memory is off (--no-save, or the memory file could not be opened)]\n", stderr);
    return r->store != NULL;
}

/* "/resume 12", "/forget 12": the session number in arg; false if absent or bad. */
static bool session_arg(const char *cmd, const char *arg, int64_t *id)
{
    long val;
    if (!*arg || !opt_int_value("chat", cmd, arg, 1, LONG_MAX, &val))
        return false;
    *id = val;
    return true;
}

static void cmd_history_here(const repl *r, const char *arg)
{
    long last_n = 0;
    if (!need_store(r) || (*arg && !opt_int_value("chat", "/history", arg, 1, 1L << 30, &last_n)))
        return;
    int64_t id = conv_session(r->cv);
    if (!id) {
        fputs("[nothing stored yet in this conversation]\n", stderr);
        return;
    }
    mem_message *msgs;
    size_t n;
    if (mem_messages(r->store, id, (int)last_n, &msgs, &n)) {
        fprintf(stderr, "%s\n", ls_error_msg());
        return;
    }
    view_messages(stdout, msgs, n, false, r->v->color);
    mem_messages_free(msgs, n);
}

static void cmd_memory_show(const repl *r)
{
    size_t n = conv_n_notes(r->cv);
    if (n == 0) {
        fputs("[no notes from memory were used for the last question]\n", stderr);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        conv_note x = conv_get_note(r->cv, i);
        printf("note %zu: message %lld of session %lld (%s, %s), score %.3f, %d tokens\n  %s\n", i + 1,
               (long long)x.message_id, (long long)x.session_id, x.created_at, x.role, x.score, x.n_tokens,
               x.content);
    }
}

static ls_status ask_and_show(const repl *r, const char *text, bool regenerate);

/* Returns false to quit. */
static bool run_command(const repl *r, const char *line)
{
    chat *c = r->c;
    view *v = r->v;
    const char *arg = strchr(line, ' ');
    size_t n = arg ? (size_t)(arg - line) : strlen(line);
    while (arg && *arg == ' ')
        arg++;
    if (!arg)
        arg = "";
    int64_t id;
#define IS(name) (n == strlen(name) && strncmp(line, name, n) == 0)
    if (IS("/exit") || IS("/quit") || IS("/bye"))
        return false;
    if (IS("/help") || IS("/?")) {
        fputs(help_text, stdout);
    } else if (IS("/reset") || IS("/clear")) {
        int64_t old = conv_session(r->cv);
        conv_new_session(r->cv);
        chat_seat_reset(r->seat);
        if (old)
            fprintf(stderr, "[new conversation; session %lld stays stored: /resume %lld]\n", (long long)old,
                    (long long)old);
        else
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
            chat_seat_set_think_budget(r->seat, -1);
        else if (!strncmp(arg, "budget ", 7) && opt_int_value("chat", "/think budget", arg + 7, 0, 1 << 24, &budget))
            chat_seat_set_think_budget(r->seat, (int)budget);
        else
            fputs("usage: /think show | /think hide | /think budget N | /think budget off\n", stderr);
    } else if (IS("/history")) {
        cmd_history_here(r, arg);
    } else if (IS("/sessions")) {
        mem_session *list;
        size_t k;
        if (!need_store(r))
            return true;
        if (mem_session_list(r->store, 20, &list, &k)) {
            fprintf(stderr, "%s\n", ls_error_msg());
            return true;
        }
        view_sessions(stdout, list, k, conv_session(r->cv), false);
        mem_session_list_free(list, k);
    } else if (IS("/resume")) {
        if (!need_store(r))
            return true;
        if (!session_arg("/resume", arg, &id))
            fputs("usage: /resume S (a session number from /sessions)\n", stderr);
        else if (conv_resume(r->cv, id))
            fprintf(stderr, "%s\n", ls_error_msg());
        else
            fprintf(stderr, "[resumed session %lld: %zu messages; /history shows them]\n", (long long)id,
                    chat_n_messages(c));
    } else if (IS("/forget")) {
        if (!need_store(r))
            return true;
        id = conv_session(r->cv);
        if (*arg && !session_arg("/forget", arg, &id))
            fputs("usage: /forget [S] (default: this conversation)\n", stderr);
        else if (!id)
            fputs("[nothing stored yet in this conversation]\n", stderr);
        else if (conv_forget(r->cv, id))
            fprintf(stderr, "%s\n", ls_error_msg());
        else
            fprintf(stderr, "[session %lld deleted from the memory file]\n", (long long)id);
    } else if (IS("/memory")) {
        if (!strcmp(arg, "show"))
            cmd_memory_show(r);
        else
            fputs("usage: /memory show\n", stderr);
    } else if (IS("/nocache")) {
        conv_set_cache(r->cv, false);
        fputs("[response cache off for this session]\n", stderr);
        if (conv_last_was_cached(r->cv))
            ask_and_show(r, NULL, true);
    } else {
        fprintf(stderr, "unknown command %.*s; /help lists them\n", (int)n, line);
    }
#undef IS
    return true;
}

/* Sends a message (or, with regenerate, the last question again) and shows
 * the answer and its figures. */
static ls_status ask_and_show(const repl *r, const char *text, bool regenerate)
{
    view *v = r->v;
    interrupted = 0;
    conv_turn t;
    v->answer_started = false;
    ls_status s = regenerate ? conv_regenerate(r->cv, r->seat, r->cb, &t) : conv_ask(r->cv, r->seat, text, r->cb, &t);
    if (v->in_thought_shown && v->color)
        fputs(RESET, stdout);
    v->in_thought_shown = false;
    if (v->said_thinking)
        fputs("\r\033[K", stderr);
    v->said_thinking = false;
    fputc('\n', stdout);
    fflush(stdout);
    if (s)
        fprintf(stderr, "localseek chat: %s\n", ls_error_msg());
    else
        print_stats(v, &t);
    return s;
}

/* ======================================================================== */
/* The command                                                               */
/* ======================================================================== */

typedef struct {
    const char *model_path, *system, *template_name, *think_mode, *db, *resume;
    size_t mem_budget;
    long n_ctx, n_threads, n_answer, think_budget, seed, top_k, memory_tokens;
    double temp, top_p, min_p, repeat, presence, frequency, timeout;
    bool set_temp, set_top_k, set_top_p, set_min_p, set_repeat, no_color, no_memory, no_cache, no_save;
    const char *stops[GEN_MAX_STOPS];
    int n_stops;
} options;

static const char *const think_modes[] = { "show", "hide", NULL };

/* Fills *o from the command line; returns opt_parse()'s answer. */
static int parse(int argc, char **argv, options *o)
{
    *o = (options){ .n_ctx = 4096, .n_answer = -1, .think_budget = -1, .seed = 42, .memory_tokens = 512 };
    const opt_def defs[] = {
        opt_model(&o->model_path),
        opt_ctx(&o->n_ctx, 64),
        opt_threads(&o->n_threads),
        { .kind = OPT_STRING, .name = "--system", .value_name = "TEXT", .str = &o->system,
          .help = "system text (for DeepSeek-R1 it opens the first message, as its authors advise)" },
        { .kind = OPT_INT, .name = "-n", .value_name = "N", .help = "answer tokens per turn",
          .dflt = "no limit but the context", .i = &o->n_answer, .lo = 0, .hi = 1 << 24 },
        { .kind = OPT_INT, .name = "--think-budget", .value_name = "N", .i = &o->think_budget, .lo = 0,
          .hi = 1 << 24, .help = "close the model's thoughts after N tokens", .dflt = "no limit" },
        { .kind = OPT_CHOICE, .name = "--think", .choices = think_modes, .str = &o->think_mode,
          .help = "show the thoughts (dimmed) or only a one-line summary",
          .dflt = "show at a terminal, hide otherwise" },
        opt_temp(&o->temp, &o->set_temp, "the model family's"),
        opt_top_k(&o->top_k, &o->set_top_k, "the model family's"),
        opt_top_p(&o->top_p, &o->set_top_p, "the model family's"),
        opt_min_p(&o->min_p, &o->set_min_p, "the model family's"),
        { .kind = OPT_FLOAT, .name = "--repeat-penalty", .value_name = "R", .f = &o->repeat,
          .set = &o->set_repeat, .flo = 0.01, .fhi = 10.0,
          .help = "make the last 64 tokens less likely to come again (1 = off)", .dflt = "the model family's" },
        { .kind = OPT_FLOAT, .name = "--presence-penalty", .value_name = "P", .f = &o->presence, .flo = -2.0,
          .fhi = 2.0, .help = "subtract P from tokens that appeared at all", .dflt = "0, off" },
        { .kind = OPT_FLOAT, .name = "--frequency-penalty", .value_name = "F", .f = &o->frequency, .flo = -2.0,
          .fhi = 2.0, .help = "subtract F for every time a token appeared", .dflt = "0, off" },
        opt_seed(&o->seed),
        { .kind = OPT_LIST, .name = "--stop", .value_name = "TEXT", .list = o->stops, .count = &o->n_stops,
          .max = GEN_MAX_STOPS, .help = "end the answer at TEXT" },
        opt_chat_template(&o->template_name),
        { .kind = OPT_FLAG, .name = "--no-color", .flag = &o->no_color, .help = "no dimming or colors" },
        opt_timeout(&o->timeout),
        opt_mem_budget(&o->mem_budget),
        { .kind = OPT_SECTION, .help = "Memory (one SQLite file; see docs/memory.md):" },
        opt_db(&o->db),
        { .kind = OPT_STRING, .name = "--resume", .value_name = "S|last", .str = &o->resume,
          .help = "continue stored session S, or the last one" },
        { .kind = OPT_FLAG, .name = "--no-memory", .flag = &o->no_memory,
          .help = "recall no notes from earlier conversations (turns are still saved)" },
        { .kind = OPT_INT, .name = "--memory-tokens", .value_name = "N", .i = &o->memory_tokens, .lo = 0,
          .hi = 1 << 20, .help = "room for recalled notes in the prompt", .dflt = "512" },
        { .kind = OPT_FLAG, .name = "--no-cache", .flag = &o->no_cache,
          .help = "never answer from the response cache" },
        { .kind = OPT_FLAG, .name = "--no-save", .flag = &o->no_save,
          .help = "keep nothing on disk (no memory file at all)" },
    };
    const opt_spec spec = {
        .cmd = "chat",
        .usage = "localseek chat -m MODEL [options]",
        .intro = "Talks with the model: its thoughts shown apart, every turn saved in the memory file.\n",
        .outro = "Input: one message per line; end a line with \\ to continue it; \"\"\" on its own line starts and\n"
                 "ends a block. Commands: /help at the prompt.\n",
        .defs = defs,
        .n_defs = OPT_COUNT(defs),
    };
    return opt_parse(&spec, argc, argv);
}

/* The memory file and the conversation. A file that cannot be opened is
 * reported and the chat goes on without memory. */
static ls_status open_memory(const options *o, mem_store **store, conv **cv)
{
    *store = NULL;
    if (!o->no_save && !(*store = view_open_store("chat", o->db)))
        fputs("localseek chat: going on without memory: nothing will be saved or recalled\n", stderr);
    conv_options co = conv_default_options(); /* the model's name, size and type come from the seat */
    co.recall = !o->no_memory;
    co.memory_tokens = (int)o->memory_tokens;
    co.cache = !o->no_cache;
    return conv_create(o->system, *store, &co, cv);
}

/* --resume S|last. Returns false (having said why) when it cannot. */
static bool resume(const options *o, mem_store *store, conv *cv)
{
    if (!o->resume)
        return true;
    if (!store) {
        fputs("localseek chat: --resume needs the memory file\n", stderr);
        return false;
    }
    int64_t id = 0;
    if (!strcmp(o->resume, "last")) {
        if (mem_session_latest(store, &id)) {
            fprintf(stderr, "localseek chat: %s\n", ls_error_msg());
            return false;
        }
        if (!id) {
            fputs("localseek chat: no stored conversation to resume yet; starting a new one\n", stderr);
            return true;
        }
    } else {
        long val;
        if (!opt_int_value("chat", "--resume", o->resume, 1, LONG_MAX, &val))
            return false;
        id = val;
    }
    if (conv_resume(cv, id)) {
        fprintf(stderr, "localseek chat: %s\n", ls_error_msg());
        return false;
    }
    fprintf(stderr, "[resumed session %lld]\n", (long long)id);
    return true;
}

int cmd_chat(int argc, char **argv)
{
    options o;
    int rc = parse(argc, argv, &o);
    if (rc != OPT_GO_ON)
        return rc;
    if (o.resume && o.no_save) {
        fputs("localseek chat: --resume reads the memory file, which --no-save turns off\n", stderr);
        return 2;
    }

    tpl_family forced = TPL_UNKNOWN;
    if (o.template_name && !cli_chat_template("chat", o.template_name, &forced))
        return 2;
    engine *e = NULL;
    chat_seat *seat = NULL;
    mem_store *store = NULL;
    conv *cv = NULL;
    rc = 1;
    engine_params ep = { .n_ctx = (int)o.n_ctx, .n_threads = (int)o.n_threads, .mem_budget_bytes = o.mem_budget,
                         .family = forced };
    engine_open_info info;
    ls_status s = engine_open(o.model_path, &ep, NULL, &e, &info);
    if (s) {
        fprintf(stderr, "localseek chat: %s\n", ls_error_msg());
        goto done;
    }
    cli_print_open_warnings("chat", &info);
    tpl_family family = engine_family(e);
    chat_params p = chat_default_params(family);
    gen_params *g = &p.gen;
    g->n_answer_max = (int)o.n_answer;
    g->think_budget = (int)o.think_budget;
    g->timeout_s = o.timeout;
    g->sampling.seed = (uint64_t)o.seed;
    if (o.set_temp)
        g->sampling.temp = (float)o.temp;
    if (o.set_top_k)
        g->sampling.top_k = (int)o.top_k;
    if (o.set_top_p)
        g->sampling.top_p = (float)o.top_p;
    if (o.set_min_p)
        g->sampling.min_p = (float)o.min_p;
    if (o.set_repeat)
        g->sampling.repeat_penalty = (float)o.repeat;
    g->sampling.presence_penalty = (float)o.presence;
    g->sampling.frequency_penalty = (float)o.frequency;
    for (int i = 0; i < o.n_stops; i++)
        g->stops[i] = o.stops[i];
    g->n_stops = o.n_stops;
    if ((s = chat_seat_create(e, &p, &seat)) || (s = open_memory(&o, &store, &cv))) {
        fprintf(stderr, "localseek chat: %s\n", ls_error_msg());
        goto done;
    }
    if (!resume(&o, store, cv))
        goto done;
    double t_load = info.t_load_s;

    input in = { .tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) };
    view v = { .show_thoughts = o.think_mode ? !strcmp(o.think_mode, "show") : in.tty,
               .color = !o.no_color && isatty(STDOUT_FILENO) && isatty(STDERR_FILENO) };
    struct sigaction sa = { .sa_handler = on_sigint }; /* no SA_RESTART: a read at the prompt returns */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    if (in.tty) {
        using_history();
        fprintf(stderr, "localseek chat — %s, template %s, context %d tokens, loaded in %.1f s. /help for commands, "
                        "Ctrl-D to leave.\n", o.model_path, tpl_family_info(family)->name, (int)o.n_ctx, t_load);
        if (store)
            fprintf(stderr, "Memory: %s\n", mem_path(store));
    }

    gen_callbacks cb = { .on_text = on_text, .on_note = on_note, .cancelled = poll_cancel, .ctx = &v };
    repl r = { conv_chat(cv), seat, cv, store, &v, &cb };
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
            bool go_on = run_command(&r, t);
            free(line);
            if (!go_on)
                break;
            continue;
        }
        s = ask_and_show(&r, line, false);
        free(line);
        if (s && s != LS_ERR_LIMIT) {
            rc = 1;
            break;
        }
    }
    if (in.tty)
        fputc('\n', stdout);
done:
    conv_free(cv);
    mem_close(store);
    chat_seat_free(seat);
    engine_close(e);
    return rc;
}
