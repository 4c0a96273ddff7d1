/* cmd_logits.c — `localseek logits`: the model's scores for prompts, as JSON.
 *
 * Prints exactly the schema of shared/golden/README.md, so the output can be
 * compared with the reference files directly:
 *   {"model", "n_vocab", "cases": [{"prompt", "tokens",
 *     "prompt_logits": [{"lse", "top": [[id, logit] x K]} per prompt token],
 *     "greedy": [{"token", "logits": {"lse", "top": [[id, logit] x 5]}} x N]}]}
 * One prompt per line of --prompts; a literal backslash-n is a newline.
 * Prompts are tokenized with special tokens recognised (they are test data,
 * written by a person who means the markers) and BOS prepended as the model
 * asks. With --tokens each line is a list of token ids instead of text.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/commands.h"
#include "apps/options.h"
#include "localseek.h"

/* Prints a JSON string (cJSON escapes it). */
static void print_json_string(const char *s)
{
    cJSON *j = cJSON_CreateString(s);
    char *txt = j ? cJSON_PrintUnformatted(j) : NULL;
    fputs(txt ? txt : "\"\"", stdout);
    cJSON_free(txt);
    cJSON_Delete(j);
}

typedef struct {
    int32_t id;
    float v;
} scored;

static int cmp_scored(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->v != y->v)
        return x->v > y->v ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* {"lse": ..., "top": [[id, logit], ...]} for one row of logits. */
static void print_scores(const float *logits, int n_vocab, int k, scored *tmp)
{
    double mx = -INFINITY, sum = 0.0;
    for (int i = 0; i < n_vocab; i++)
        if (logits[i] > mx)
            mx = logits[i];
    for (int i = 0; i < n_vocab; i++)
        sum += exp((double)logits[i] - mx);
    for (int i = 0; i < n_vocab; i++)
        tmp[i] = (scored){ i, logits[i] };
    qsort(tmp, (size_t)n_vocab, sizeof *tmp, cmp_scored); /* LIMITATION: full sort; fine for a test tool */
    printf("{\"lse\": %.6f, \"top\": [", mx + log(sum));
    for (int i = 0; i < k && i < n_vocab; i++)
        printf("%s[%d, %.6f]", i ? ", " : "", tmp[i].id, (double)tmp[i].v);
    printf("]}");
}

/* Replaces the two characters \n by a newline, in place. */
static void unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (r[0] == '\\' && r[1] == 'n') {
            *w++ = '\n';
            r++;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/* One prompt's case: its tokens and scores, printed before its first
 * greedy step (ls_score writes the scores of the prompt, then calls back
 * for each step), then the steps: the token chosen and the top-5 scores it
 * was chosen from. */
typedef struct {
    int n_vocab, top, n_case, n_steps;
    scored *tmp;
    const char *prompt;
    const int32_t *ids;
    size_t n_ids;
    const float *logits; /* [n_ids][n_vocab] */
    bool printed_prompt;
} greedy_step;

static void print_prompt(greedy_step *g)
{
    printf("%s{\"prompt\": ", g->n_case ? ", " : "");
    print_json_string(g->prompt);
    printf(", \"tokens\": [");
    for (size_t i = 0; i < g->n_ids; i++)
        printf("%s%d", i ? ", " : "", g->ids[i]);
    printf("], \"prompt_logits\": [");
    for (size_t i = 0; i < g->n_ids; i++) {
        if (i)
            printf(", ");
        print_scores(g->logits + i * (size_t)g->n_vocab, g->n_vocab, g->top, g->tmp);
    }
    printf("], \"greedy\": [");
    g->printed_prompt = true;
}

static void print_greedy_step(void *ctx, int32_t id, const float *logits)
{
    greedy_step *g = ctx;
    if (!g->printed_prompt)
        print_prompt(g);
    printf("%s{\"token\": %d, \"logits\": ", g->n_steps++ ? ", " : "", id);
    print_scores(logits, g->n_vocab, 5, g->tmp);
    printf("}");
}

int cmd_logits(int argc, char **argv)
{
    const char *model_path = NULL, *prompts_path = NULL, *act_bits_name = "16";
    long top = 20, n_greedy = 16, n_threads = 0;
    bool ids_mode = false;
    size_t mem_budget = 0; /* 0: what the machine can give */
    const opt_def defs[] = {
        opt_model(&model_path),
        { .kind = OPT_STRING, .name = "--prompts", .value_name = "FILE", .str = &prompts_path, .required = true,
          .help = "one prompt per line (\\n in a line is a newline)" },
        { .kind = OPT_INT, .name = "--top", .value_name = "K", .i = &top, .lo = 1, .hi = 1000,
          .help = "scores listed per prompt position", .dflt = "20" },
        { .kind = OPT_INT, .name = "--greedy", .value_name = "N", .i = &n_greedy, .lo = 0, .hi = 100000,
          .help = "continue each prompt N tokens, always taking the best", .dflt = "16" },
        { .kind = OPT_FLAG, .name = "--tokens", .flag = &ids_mode,
          .help = "lines hold token ids separated by spaces instead of text" },
        opt_threads(&n_threads),
        opt_act_bits(&act_bits_name),
        opt_mem_budget(&mem_budget),
    };
    const opt_spec spec = {
        .cmd = "logits",
        .usage = "localseek logits -m MODEL --prompts FILE [--top K] [--greedy N] [-t N] [--tokens]",
        .intro = "Prints the model's next-token scores for every prompt position and a greedy continuation,\n"
                 "as one JSON object in the schema of the reference files (shared/golden/README.md).\n",
        .defs = defs,
        .n_defs = OPT_COUNT(defs),
    };
    int rc = opt_parse(&spec, argc, argv);
    if (rc != OPT_GO_ON)
        return rc;
    const long act_bits = strtol(act_bits_name, NULL, 10);
    FILE *pf = fopen(prompts_path, "r");
    if (!pf) {
        fprintf(stderr, "localseek logits: cannot open prompts file %s\n", prompts_path);
        return 1;
    }

    rc = 1;
    ls_runtime *rt = NULL;
    ls_model *m = NULL;
    float *logits = NULL;
    scored *tmp = NULL;
    int32_t *ids = NULL;
    char *line = NULL;
    size_t line_cap = 0;
    /* Each prompt gets a context of its tokens plus the greedy ones; a line
     * never has more tokens than bytes (+ BOS), so the longest line bounds
     * the context the resource guard checks. */
    size_t longest = 0;
    for (ssize_t got; (got = getline(&line, &line_cap, pf)) >= 0;)
        if ((size_t)got > longest)
            longest = (size_t)got;
    rewind(pf);
    long n_ctx_max = (long)longest + 2 + n_greedy + 1;
    ls_runtime_options ro = { .n_threads = (int)n_threads };
    ls_model_options mo = { .n_ctx = (int)(n_ctx_max < (1 << 24) ? n_ctx_max : (1 << 24)), .act_bits = (int)act_bits,
                            .mem_budget_bytes = mem_budget };
    if (ls_runtime_open(&ro, &rt) || ls_model_open(rt, model_path, &mo, &m)) {
        fprintf(stderr, "localseek logits: %s\n", ls_error_msg());
        goto done;
    }
    ls_model_info info = ls_model_get_info(m);
    if (info.fit_warning[0])
        fprintf(stderr, "localseek logits: warning: %s\n", info.fit_warning);
    int n_vocab = info.n_vocab;
    printf("{\"model\": ");
    print_json_string(info.name);
    printf(", \"n_vocab\": %d, \"cases\": [", n_vocab);

    int n_case = 0;
    ssize_t got;
    while ((got = getline(&line, &line_cap, pf)) >= 0) {
        if (got > 0 && line[got - 1] == '\n')
            line[--got] = '\0';
        if (got == 0)
            continue;
        unescape(line);
        size_t n_tok = 0, cap = strlen(line) + 2;
        free(ids);
        ids = malloc(sizeof(int32_t) * cap);
        if (!ids)
            goto oom;
        if (ids_mode) {
            char *p = line, *end;
            for (long v; (v = strtol(p, &end, 10)), end != p; p = end)
                ids[n_tok++] = (int32_t)v;
        } else if (ls_tokenize(m, line, true, ids, cap, &n_tok)) {
            fprintf(stderr, "localseek logits: %s\n", ls_error_msg());
            goto done;
        }
        if (n_tok == 0)
            continue;
        free(logits);
        logits = malloc(sizeof(float) * (size_t)n_vocab * n_tok);
        if (!tmp)
            tmp = malloc(sizeof(scored) * (size_t)n_vocab);
        if (!logits || !tmp)
            goto oom;
        /* The prompt's scores first, then the greedy steps as they come. */
        greedy_step step = { .n_vocab = n_vocab, .tmp = tmp, .prompt = line, .ids = ids, .n_ids = n_tok,
                             .logits = logits, .top = (int)top, .n_case = n_case++ };
        if (ls_score(m, ids, (int)n_tok, logits, (int)n_greedy, print_greedy_step, &step)) {
            fprintf(stderr, "localseek logits: %s\n", ls_error_msg());
            goto done;
        }
        if (!step.printed_prompt)
            print_prompt(&step);
        printf("]}");
    }
    printf("]}\n");
    rc = 0;
    goto done;
oom:
    fprintf(stderr, "localseek logits: out of memory\n");
done:
    fclose(pf);
    free(line);
    free(ids);
    free(logits);
    free(tmp);
    ls_model_close(m);
    ls_runtime_close(rt);
    return rc;
}
