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
 * Every turn is saved in the memory file as it completes; notes from
 * earlier sessions are recalled and repeated questions answered from the
 * response cache. All of it is the public API's (include/localseek.h: a
 * conversation, its memory, the memory file): this file reads options,
 * calls the API and is terminal I/O. A memory file that cannot be opened is
 * said once and the chat goes on without memory.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>

#include "apps/commands.h"
#include "apps/memory_view.h"
#include "apps/options.h"
#include "localseek.h"

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

static void on_text(void *ctx, ls_text_part part, const char *text, size_t n)
{
    view *v = ctx;
    if (part == LS_THINKING) {
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

static void print_stats(const view *v, const ls_answer *st)
{
    const char *dim = v->color ? DIM : "", *reset = v->color ? RESET : "";
    if (st->cached) {
        fprintf(stderr, "%s[answered from the response cache: first given %s; %.3f s; /nocache answers anew]%s\n",
                dim, st->cached_at, st->t_total_s, reset);
        return;
    }
    char think[128] = "", notes[48] = "", stop[96] = "";
    if (st->n_notes > 0)
        snprintf(notes, sizeof notes, "; %d note%s from memory", st->n_notes, st->n_notes == 1 ? "" : "s");
    if (st->n_thinking > 0)
        snprintf(think, sizeof think, "thought for %d tokens, %.1f s%s; ", st->n_thinking, st->t_thinking_s,
                 st->budget_closed ? " (budget)" : "");
    /* When the thoughts, not the answer, used up the room, say so. */
    if (strcmp(st->stop, "end of turn") != 0)
        snprintf(stop, sizeof stop, "; stopped: %s%s", st->stop, st->thought_unfinished ? " while still thinking" : "");
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
    ls_chat *c;
    view *v;
    const ls_stream *stream;
} repl;

/* The conversation's memory file; NULL (said) with --no-save or when the
 * file could not be opened. */
static ls_memory *need_memory(const repl *r)
{
    ls_memory *mem = ls_chat_memory(r->c);
    if (!mem)
        fputs("[memory is off (--no-save, or the memory file could not be opened)]\n", stderr);
    return mem;
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
    ls_memory *mem = need_memory(r);
    if (!mem || (*arg && !opt_int_value("chat", "/history", arg, 1, 1L << 30, &last_n)))
        return;
    int64_t id = ls_chat_session(r->c);
    if (!id) {
        fputs("[nothing stored yet in this conversation]\n", stderr);
        return;
    }
    ls_stored_message *msgs;
    size_t n;
    if (ls_memory_messages(mem, id, (int)last_n, &msgs, &n)) {
        fprintf(stderr, "%s\n", ls_error_msg());
        return;
    }
    view_messages(stdout, msgs, n, false, r->v->color);
    ls_stored_message_list_free(msgs, n);
}

static void cmd_memory_show(const repl *r)
{
    size_t n = ls_chat_n_notes(r->c);
    if (n == 0) {
        fputs("[no notes from memory were used for the last question]\n", stderr);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        ls_note x = ls_chat_get_note(r->c, i);
        printf("note %zu: message %lld of session %lld (%s, %s), score %.3f, %d tokens\n  %s\n", i + 1,
               (long long)x.message_id, (long long)x.session_id, x.created_at, x.role, x.score, x.n_tokens,
               x.content);
    }
}

static ls_status ask_and_show(const repl *r, const char *text, bool regenerate);

/* Returns false to quit. */
static bool run_command(const repl *r, const char *line)
{
    ls_chat *c = r->c;
    view *v = r->v;
    ls_memory *mem;
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
        int64_t old = ls_chat_session(c);
        ls_chat_new_session(c);
        if (old)
            fprintf(stderr, "[new conversation; session %lld stays stored: /resume %lld]\n", (long long)old,
                    (long long)old);
        else
            fputs("[new conversation]\n", stderr);
    } else if (IS("/system")) {
        if (ls_chat_set_system(c, *arg ? arg : NULL))
            fprintf(stderr, "%s\n", ls_error_msg());
        else
            fprintf(stderr, *arg ? "[system text set]\n" : "[system text removed]\n");
    } else if (IS("/thoughts")) {
        size_t k = ls_chat_n_messages(c);
        if (k == 0 || strcmp(ls_chat_get_message(c, k - 1).role, "assistant") != 0)
            fputs("[no answer yet]\n", stderr);
        else {
            const char *t = ls_chat_get_message(c, k - 1).thinking;
            printf("%s%s%s\n", v->color ? DIM : "", *t ? t : "(no thoughts)", v->color ? RESET : "");
        }
    } else if (IS("/think")) {
        long budget;
        if (!strcmp(arg, "show"))
            v->show_thoughts = true;
        else if (!strcmp(arg, "hide"))
            v->show_thoughts = false;
        else if (!strcmp(arg, "budget off"))
            ls_chat_set_think_budget(c, -1);
        else if (!strncmp(arg, "budget ", 7) && opt_int_value("chat", "/think budget", arg + 7, 0, 1 << 24, &budget))
            ls_chat_set_think_budget(c, (int)budget);
        else
            fputs("usage: /think show | /think hide | /think budget N | /think budget off\n", stderr);
    } else if (IS("/history")) {
        cmd_history_here(r, arg);
    } else if (IS("/sessions")) {
        ls_session *list;
        size_t k;
        if (!(mem = need_memory(r)))
            return true;
        if (ls_memory_list_sessions(mem, 20, &list, &k)) {
            fprintf(stderr, "%s\n", ls_error_msg());
            return true;
        }
        view_sessions(stdout, list, k, ls_chat_session(c), false);
        ls_session_list_free(list, k);
    } else if (IS("/resume")) {
        if (!need_memory(r))
            return true;
        if (!session_arg("/resume", arg, &id))
            fputs("usage: /resume S (a session number from /sessions)\n", stderr);
        else if (ls_chat_resume(c, id))
            fprintf(stderr, "%s\n", ls_error_msg());
        else
            fprintf(stderr, "[resumed session %lld: %zu messages; /history shows them]\n", (long long)id,
                    ls_chat_n_messages(c));
    } else if (IS("/forget")) {
        if (!need_memory(r))
            return true;
        id = ls_chat_session(c);
        if (*arg && !session_arg("/forget", arg, &id))
            fputs("usage: /forget [S] (default: this conversation)\n", stderr);
        else if (!id)
            fputs("[nothing stored yet in this conversation]\n", stderr);
        else if (ls_chat_forget(c, id))
            fprintf(stderr, "%s\n", ls_error_msg());
        else
            fprintf(stderr, "[session %lld deleted from the memory file]\n", (long long)id);
    } else if (IS("/memory")) {
        if (!strcmp(arg, "show"))
            cmd_memory_show(r);
        else
            fputs("usage: /memory show\n", stderr);
    } else if (IS("/nocache")) {
        ls_chat_set_cache(c, false);
        fputs("[response cache off for this session]\n", stderr);
        if (ls_chat_last_was_cached(c))
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
    ls_answer a;
    v->answer_started = false;
    ls_status s = regenerate ? ls_chat_regenerate(r->c, r->stream, &a) : ls_chat_ask(r->c, text, r->stream, &a);
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
        print_stats(v, &a);
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
    const char *stops[LS_MAX_STOPS];
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
          .max = LS_MAX_STOPS, .help = "end the answer at TEXT" },
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

/* The conversation, with the memory file (--db, or the default one) unless
 * --no-save. The file is tried first on its own, so that one that cannot be
 * opened is said once and the chat goes on without memory (ls_chat_open
 * would refuse it); the conversation then opens it for itself. */
static ls_status open_chat(const options *o, ls_model *m, const ls_settings *st, ls_chat **out)
{
    char *path = NULL;
    if (!o->no_save) {
        ls_memory *probe = view_open_memory("chat", o->db);
        if (probe && !(path = strdup(ls_memory_path(probe)))) {
            ls_memory_close(probe);
            fputs("localseek chat: out of memory\n", stderr);
            return LS_ERR_NOMEM;
        }
        ls_memory_close(probe);
        if (!path)
            fputs("localseek chat: going on without memory: nothing will be saved or recalled\n", stderr);
    }
    /* --memory-tokens 0 leaves no room for notes: nothing is recalled (the
     * API reads 0 as its default room). */
    ls_chat_options co = { .system = o->system, .memory_path = path, .no_recall = o->no_memory || o->memory_tokens == 0,
                           .no_cache = o->no_cache, .memory_tokens = (int)o->memory_tokens, .label = "chat" };
    ls_status s = ls_chat_open(m, &co, st, out);
    if (s)
        fprintf(stderr, "localseek chat: %s\n", ls_error_msg());
    free(path);
    return s;
}

/* --resume S|last. Returns false (having said why) when it cannot. */
static bool resume(const options *o, ls_chat *c)
{
    if (!o->resume)
        return true;
    ls_memory *mem = ls_chat_memory(c);
    if (!mem) {
        fputs("localseek chat: --resume needs the memory file\n", stderr);
        return false;
    }
    int64_t id = 0;
    if (!strcmp(o->resume, "last")) {
        if (ls_memory_latest_session(mem, &id)) {
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
    if (ls_chat_resume(c, id)) {
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
    if (o.template_name && !ls_chat_template_known(o.template_name)) {
        fprintf(stderr, "localseek chat: unknown --chat-template '%s' (known: %s)\n", o.template_name,
                ls_chat_template_names());
        return 2;
    }

    ls_runtime *rt = NULL;
    ls_model *m = NULL;
    ls_chat *c = NULL;
    rc = 1;
    ls_runtime_options ro = { .n_threads = (int)o.n_threads };
    ls_model_options mo = { .n_ctx = (int)o.n_ctx, .mem_budget_bytes = o.mem_budget,
                            .chat_template = o.template_name };
    if (ls_runtime_open(&ro, &rt) || ls_model_open(rt, o.model_path, &mo, &m)) {
        fprintf(stderr, "localseek chat: %s\n", ls_error_msg());
        goto done;
    }
    ls_model_info info = ls_model_get_info(m);
    if (info.fit_warning[0])
        fprintf(stderr, "localseek chat: warning: %s\n", info.fit_warning);
    if (info.template_warning[0])
        fprintf(stderr, "localseek chat: warning: %s\n", info.template_warning);
    /* The model family's settings, with what the options change. */
    ls_settings st = ls_default_settings(m);
    st.max_answer_tokens = (int)o.n_answer;
    st.think_budget = (int)o.think_budget;
    st.timeout_s = o.timeout;
    st.seed = (uint64_t)o.seed;
    if (o.set_temp)
        st.temperature = (float)o.temp;
    if (o.set_top_k)
        st.top_k = (int)o.top_k;
    if (o.set_top_p)
        st.top_p = (float)o.top_p;
    if (o.set_min_p)
        st.min_p = (float)o.min_p;
    if (o.set_repeat)
        st.repeat_penalty = (float)o.repeat;
    st.presence_penalty = (float)o.presence;
    st.frequency_penalty = (float)o.frequency;
    for (int i = 0; i < o.n_stops; i++)
        st.stops[i] = o.stops[i];
    st.n_stops = o.n_stops;
    if (open_chat(&o, m, &st, &c) || !resume(&o, c))
        goto done;

    input in = { .tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) };
    view v = { .show_thoughts = o.think_mode ? !strcmp(o.think_mode, "show") : in.tty,
               .color = !o.no_color && isatty(STDOUT_FILENO) && isatty(STDERR_FILENO) };
    struct sigaction sa = { .sa_handler = on_sigint }; /* no SA_RESTART: a read at the prompt returns */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    if (in.tty) {
        using_history();
        fprintf(stderr, "localseek chat — %s, template %s, context %d tokens, loaded in %.1f s. /help for commands, "
                        "Ctrl-D to leave.\n", o.model_path, info.chat_template, (int)o.n_ctx, info.load_s);
        if (ls_chat_memory(c))
            fprintf(stderr, "Memory: %s\n", ls_memory_path(ls_chat_memory(c)));
    }

    ls_stream stream = { .on_text = on_text, .on_note = on_note, .cancelled = poll_cancel, .ctx = &v };
    repl r = { c, &v, &stream };
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
        ls_status s = ask_and_show(&r, line, false);
        free(line);
        if (s && s != LS_ERR_LIMIT) {
            rc = 1;
            break;
        }
    }
    if (in.tty)
        fputc('\n', stdout);
done:
    ls_chat_close(c);
    ls_model_close(m);
    ls_runtime_close(rt);
    return rc;
}
