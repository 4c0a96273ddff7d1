/* cmd_run.c — `localseek run`: continue a text with a model, streaming it.
 *
 * The prompt is tokenized (BOS first when the model asks for it; special
 * token texts are NOT interpreted unless --parse-special), read in one
 * prefill, then tokens are sampled one at a time and printed as soon as they
 * form complete characters. Stops at an end-of-generation token, after -n
 * tokens, or when the context is full (said on stderr). Timing goes to stderr
 * so stdout holds only the generated text.
 *
 * When the model carries a chat template localseek knows (or one is named
 * with --chat-template), the text is sent as one user message in that
 * template, and the model's whole reply is printed as it comes (a reasoning
 * model's <think> part included: `chat` is the command that sets it apart).
 * With --raw, or for a model without a template (stories260K), the text is
 * continued as it is and echoed first.
 *
 * Opening the engine runs the resource guard: the model and a --ctx context
 * must fit in memory (or in --mem-budget), or it refuses with the numbers
 * before a weight is read; while generating, a watch warns once if resident
 * memory passes 80 % of that limit. The exact peak is logged at info level
 * (LOCALSEEK_LOG=info) for the guard's tests. The generation loop is the one
 * chat uses (generate/generation.h): -n counts answer tokens, and a
 * reasoning model's thoughts have the default thinking budget.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/options.h"
#include "base/alloc.h"
#include "base/log.h"
#include "base/platform.h"
#include "generate/chat.h"
#include "generate/engine.h"
#include "generate/generation.h"
#include "generate/template.h"
#include "tokenizer/tokenizer.h"

/* The reply as it streams: thoughts and answer alike (`chat` is the command
 * that sets them apart), a blank line where the thoughts end. */
static void print_text(void *ctx, gen_part part, const char *text, size_t n)
{
    gen_part *last = ctx;
    if (part == GEN_ANSWER && *last == GEN_THINKING)
        fputs("\n\n", stdout);
    *last = part;
    fwrite(text, 1, n, stdout);
    fflush(stdout);
}

static const char *stop_reason(gen_stop s)
{
    switch (s) {
    case GEN_STOP_EOG: return "end of text";
    case GEN_STOP_LENGTH: return "length limit (-n)";
    case GEN_STOP_CONTEXT: return "context full (use a larger --ctx)";
    case GEN_STOP_TIMEOUT: return "time limit (--timeout)";
    case GEN_STOP_STRING:
    case GEN_STOP_CANCELLED: break;
    }
    return gen_stop_name(s);
}

int cmd_run(int argc, char **argv)
{
    const char *model_path = NULL, *prompt = NULL, *template_name = NULL;
    bool raw = false, parse_special = false;
    long n_gen = 256, n_ctx = 4096, n_threads = 0, seed = 42, top_k = 40;
    double temp = 0.8, top_p = 0.95, min_p = 0.05, timeout_s = 0;
    size_t mem_budget = 0; /* 0: what the machine can give */
    const opt_def defs[] = {
        opt_model(&model_path),
        { .kind = OPT_STRING, .name = "-p", .value_name = "TEXT", .help = "the text to continue", .required = true,
          .str = &prompt },
        { .kind = OPT_INT, .name = "-n", .value_name = "N", .help = "tokens to generate", .dflt = "256",
          .i = &n_gen, .lo = 0, .hi = 1 << 24 },
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

    tpl_family family = TPL_UNKNOWN;
    if (template_name && !raw && !cli_chat_template("run", template_name, &family))
        return 2;

    rc = 1;
    engine *e = NULL;
    gen *g = NULL;
    kv_cache *kv = NULL;
    int32_t *ids = NULL;
    /* Will it fit? engine_open decides from the file's header before a
     * weight is read. */
    engine_params ep = { .n_ctx = (int)n_ctx, .n_threads = (int)n_threads, .mem_budget_bytes = mem_budget,
                         .family = family };
    engine_open_info info;
    ls_status s = engine_open(model_path, &ep, NULL, &e, &info);
    if (s) {
        fprintf(stderr, "localseek run: %s\n", ls_error_msg());
        goto done;
    }
    if (info.fit_warning[0])
        fprintf(stderr, "localseek run: warning: %s\n", info.fit_warning);
    /* A model without a template of its own is continued as it is (no
     * ChatML guess here, unlike chat: `run` is also the raw-text tool). */
    bool templated = !raw && (family != TPL_UNKNOWN || tpl_detect_file(engine_model(e)->file, NULL) != TPL_UNKNOWN);
    if (templated)
        family = engine_family(e);
    const tok_tokenizer *tok = engine_tokenizer(e);
    size_t n_prompt = 0, len = strlen(prompt);
    if (templated) {
        s = chat_encode_single(tok, family, prompt, &ids, &n_prompt);
        log_info("run: prompt in the %s chat template (--raw to continue the text as it is)",
                 tpl_family_info(family)->name);
    } else {
        unsigned flags = (tok_wants_bos(tok) ? TOK_ADD_BOS : 0) | (parse_special ? TOK_PARSE_SPECIAL : 0);
        tok_encode(tok, prompt, len, flags, NULL, 0, &n_prompt);
        ids = ls_malloc(sizeof(int32_t) * (n_prompt + 1));
        s = ids ? tok_encode(tok, prompt, len, flags, ids, n_prompt + 1, &n_prompt) : LS_ERR_NOMEM;
    }
    if (!ids) {
        fprintf(stderr, "localseek run: out of memory\n");
        goto done;
    }
    if (s) {
        fprintf(stderr, "localseek run: %s\n", ls_error_msg());
        goto done;
    }
    if (n_prompt == 0) {
        fprintf(stderr, "localseek run: the prompt has no tokens\n");
        goto done;
    }
    if ((long)n_prompt >= n_ctx) {
        fprintf(stderr, "localseek run: the prompt is %zu tokens but the context holds %ld; use --ctx %zu or more\n",
                n_prompt, n_ctx, n_prompt + (size_t)n_gen);
        goto done;
    }

    /* The settings: -n counts answer tokens, thoughts (of a template that
     * opens them) have the default thinking budget (generation.h). */
    gen_params gp = gen_default_params(); /* penalties stay off: run has no flags for them yet */
    gp.sampling.temp = (float)temp;
    gp.sampling.top_k = (int)top_k;
    gp.sampling.top_p = (float)top_p;
    gp.sampling.min_p = (float)min_p;
    gp.sampling.seed = (uint64_t)seed;
    gp.n_answer_max = (int)n_gen;
    gp.timeout_s = timeout_s;
    gp.split_reasoning = templated;
    gp.opens_thought = templated && tpl_family_info(family)->opens_thought;
    if ((s = gen_create(e, &gp, &g)) || (s = engine_new_sequence(e, &kv))) {
        fprintf(stderr, "localseek run: %s\n", ls_error_msg());
        goto done;
    }
    if (!templated)
        fputs(prompt, stdout); /* a continuation: show what it continues */
    fflush(stdout);
    double t0 = plat_now_s();
    gen_result r;
    gen_callbacks cb = { .on_text = print_text, .ctx = &(gen_part){ GEN_ANSWER } };
    if (gp.opens_thought)
        *(gen_part *)cb.ctx = GEN_THINKING;
    if ((s = gen_run(g, kv, ids, (int)n_prompt, t0, &cb, &r))) {
        fprintf(stderr, "\nlocalseek run: %s\n", ls_error_msg());
        goto done;
    }
    fputc('\n', stdout);
    int n_done = r.n_thinking + r.n_answer;
    double t_prompt = r.t_prefill_s;
    char thought[96] = "";
    if (r.n_thinking > 0)
        snprintf(thought, sizeof thought, " (%d thinking%s)", r.n_thinking, r.budget_closed ? ", budget reached" : "");
    fprintf(stderr, "\n[%zu prompt tokens in %.2f s (%.1f tok/s), %d generated%s in %.2f s (%.1f tok/s); stopped: %s; "
                    "load %.2f s, peak memory %.0f MiB]\n",
            n_prompt, t_prompt, (double)n_prompt / t_prompt, n_done, thought, r.t_generate_s,
            n_done > 0 ? (double)n_done / r.t_generate_s : 0.0, stop_reason(r.stop), info.t_load_s,
            (double)plat_peak_rss_bytes() / (1024.0 * 1024.0));
    log_info("run: peak resident memory %zu bytes", plat_peak_rss_bytes());
    rc = 0;
done:
    kv_free(kv);
    gen_free(g);
    engine_close(e);
    ls_free(ids);
    return rc;
}
