/* cmd_run.c — `localseek run`: continue a text with a model, streaming it.
 *
 * The prompt is tokenized (BOS first when the model asks for it; special
 * token texts are NOT interpreted unless --parse-special), read in one
 * prefill, then tokens are sampled one at a time and printed as soon as they
 * form complete characters. Stops at an end-of-generation token, after -n
 * answer tokens, or when the context is full (said on stderr). Timing goes to stderr
 * so stdout holds only the generated text.
 *
 * When the model carries a chat template localseek knows (or one is named
 * with --chat-template), the text is sent as one user message in that
 * template, and the model's whole reply is printed as it comes (a reasoning
 * model's <think> part included: `chat` is the command that sets it apart).
 * With --raw, or for a model without a template (stories260K), the text is
 * continued as it is and echoed first.
 *
 * It uses the public API alone (include/localseek.h: ls_model_open,
 * ls_complete). Opening the model runs the resource guard: the model and a
 * --ctx context must fit in memory (or in --mem-budget), or it refuses with
 * the numbers before a weight is read; while generating, a watch warns once
 * if resident memory passes 80 % of that limit, and the exact peak is logged
 * at info level (LOCALSEEK_LOG=info) for the guard's tests. The generation
 * loop is the one chat uses: -n counts answer tokens, and a reasoning
 * model's thoughts have the default thinking budget (--think-budget).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/commands.h"
#include "apps/options.h"
#include "localseek.h"

/* The reply as it streams: thoughts and answer alike (`chat` is the command
 * that sets them apart), a blank line where the thoughts end. A model with
 * no template continues the text, which is shown first. */
typedef struct {
    ls_text_part part; /* of the last text */
    const char *echo;  /* a continuation's text, printed before what continues it; NULL: none */
    bool started;
} printer;

static void print_text(void *ctx, ls_text_part part, const char *text, size_t n)
{
    printer *p = ctx;
    if (!p->started && p->echo)
        fputs(p->echo, stdout);
    if (p->started && part == LS_ANSWER && p->part == LS_THINKING)
        fputs("\n\n", stdout);
    p->started = true;
    p->part = part;
    fwrite(text, 1, n, stdout);
    fflush(stdout);
}

static const char *stop_reason(const char *stop)
{
    static const char *const words[][2] = {
        { "end of turn", "end of text" },
        { "answer length limit", "length limit (-n)" },
        { "context full", "context full (use a larger --ctx)" },
        { "time limit", "time limit (--timeout)" },
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!strcmp(stop, words[i][0]))
            return words[i][1];
    return stop;
}

int cmd_run(int argc, char **argv)
{
    const char *model_path = NULL, *prompt = NULL, *template_name = NULL;
    bool raw = false, parse_special = false;
    long n_gen = 256, n_ctx = 4096, n_threads = 0, seed = 42, top_k = 40, think_budget = -1;
    double temp = 0.8, top_p = 0.95, min_p = 0.05, timeout_s = 0;
    size_t mem_budget = 0; /* 0: what the machine can give */
    const opt_def defs[] = {
        opt_model(&model_path),
        { .kind = OPT_STRING, .name = "-p", .value_name = "TEXT", .help = "the text to continue", .required = true,
          .str = &prompt },
        { .kind = OPT_INT, .name = "-n", .value_name = "N", .help = "answer tokens to generate (after the thoughts)",
          .dflt = "256", .i = &n_gen, .lo = 0, .hi = 1 << 24 },
        { .kind = OPT_INT, .name = "--think-budget", .value_name = "N", .i = &think_budget, .lo = 0, .hi = 1 << 24,
          .help = "close a reasoning model's thoughts after N tokens",
          .dflt = "4 x -n, at most half the context, at least 256" },
        opt_temp(&temp, NULL, "0.8"),
        opt_top_k(&top_k, NULL, "40"),
        opt_top_p(&top_p, NULL, "0.95"),
        opt_min_p(&min_p, NULL, "0.05"),
        opt_seed(&seed),
        opt_ctx(&n_ctx, 16),
        opt_threads(&n_threads),
        opt_timeout(&timeout_s),
        opt_mem_budget(&mem_budget),
        { .kind = OPT_FLAG, .name = "--raw", .flag = &raw,
          .help = "continue the text as it is, without the model's chat template" },
        opt_chat_template(&template_name),
        { .kind = OPT_FLAG, .name = "--parse-special", .flag = &parse_special,
          .help = "let the text contain special tokens such as <|im_end|>" },
    };
    const opt_spec spec = {
        .cmd = "run",
        .usage = "localseek run -m MODEL -p TEXT [options]",
        .intro = "Continues TEXT with the model, streaming the result; a model with a chat template gets TEXT\n"
                 "as one user message (--raw: as it is). Timing goes to stderr.\n",
        .defs = defs,
        .n_defs = OPT_COUNT(defs),
    };
    int rc = opt_parse(&spec, argc, argv);
    if (rc != OPT_GO_ON)
        return rc;

    if (template_name && !raw && !ls_chat_template_known(template_name)) {
        fprintf(stderr, "localseek run: unknown --chat-template '%s' (known: %s)\n", template_name,
                ls_chat_template_names());
        return 2;
    }

    rc = 1;
    ls_runtime *rt = NULL;
    ls_model *m = NULL;
    /* Will it fit? Opening the model decides from the file's header before
     * a weight is read. */
    ls_runtime_options ro = { .n_threads = (int)n_threads };
    ls_model_options mo = { .n_ctx = (int)n_ctx, .mem_budget_bytes = mem_budget,
                            .chat_template = raw ? NULL : template_name };
    if (ls_runtime_open(&ro, &rt) || ls_model_open(rt, model_path, &mo, &m)) {
        fprintf(stderr, "localseek run: %s\n", ls_error_msg());
        goto done;
    }
    ls_model_info info = ls_model_get_info(m);
    if (info.fit_warning[0])
        fprintf(stderr, "localseek run: warning: %s\n", info.fit_warning);

    /* -n counts answer tokens; a reasoning model's thoughts have the default
     * thinking budget unless --think-budget says otherwise. */
    ls_settings st = ls_default_settings(m);
    st.temperature = (float)temp;
    st.top_k = (int)top_k;
    st.top_p = (float)top_p;
    st.min_p = (float)min_p;
    st.repeat_penalty = 1.0f; /* penalties stay off: run has no flags for them yet */
    st.presence_penalty = st.frequency_penalty = 0.0f;
    st.seed = (uint64_t)seed;
    st.max_answer_tokens = (int)n_gen;
    st.think_budget = (int)think_budget;
    st.timeout_s = timeout_s;
    /* Templated: the model's own template, or the one named; otherwise the
     * text is continued, and shown first. */
    bool templated = !raw && info.has_template;
    printer pr = { .part = LS_ANSWER, .echo = templated ? NULL : prompt };
    ls_stream stream = { .on_text = print_text, .ctx = &pr };
    ls_answer a;
    if (ls_complete(m, prompt, raw, parse_special, &st, &stream, &a)) {
        fprintf(stderr, "%slocalseek run: %s\n", pr.started ? "\n" : "", ls_error_msg());
        goto done;
    }
    if (!pr.started)
        print_text(&pr, LS_ANSWER, "", 0); /* the echo of a continuation, even with nothing after it */
    fputc('\n', stdout);
    int n_done = a.n_thinking + a.n_answer;
    char thought[96] = "";
    if (a.n_thinking > 0)
        snprintf(thought, sizeof thought, " (%d thinking%s)", a.n_thinking, a.budget_closed ? ", budget reached" : "");
    fprintf(stderr, "\n[%d prompt tokens in %.2f s (%.1f tok/s), %d generated%s in %.2f s (%.1f tok/s); stopped: %s; "
                    "load %.2f s, peak memory %.0f MiB]\n",
            a.n_prompt, a.t_prefill_s, a.t_prefill_s > 0 ? a.n_prompt / a.t_prefill_s : 0.0, n_done, thought,
            a.t_generate_s, n_done > 0 && a.t_generate_s > 0 ? n_done / a.t_generate_s : 0.0, stop_reason(a.stop),
            info.load_s, (double)ls_peak_memory_bytes() / (1024.0 * 1024.0));
    rc = 0;
done:
    ls_model_close(m);
    ls_runtime_close(rt);
    return rc;
}
