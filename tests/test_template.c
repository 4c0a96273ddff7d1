/* test_template.c — chat templates (generate/template.h) and the span-aware
 * encoder under them (tok_encode_spans).
 *
 * 1. Golden: every case of the .json files in ../shared/golden/templates (what
 *    Jinja2 renders for the real templates) is rendered natively, as the
 *    family tpl_detect() finds in the matching .jinja, and compared byte for
 *    byte. Prints "<file>: N/N cases".
 * 2. Spans: they tile the text, neighbours differ in kind, content spans are
 *    pieces of the messages, and text a user typed that imitates markers lies
 *    in content spans.
 * 3. Rules the golden cases do not reach (Qwen3 reasoning after the last
 *    query, R1's last system message, Unicode trimming in Llama 3.1, the
 *    first Llama 3 template), detection of unknown templates, family names,
 *    role errors, and every allocation failure.
 * 4. Encoding: markers become single special ids, forged markers in content
 *    stay plain text, benign prompts give exactly tok_encode(text,
 *    TOK_PARSE_SPECIAL), BOS is never doubled, and ranges that cut through a
 *    special token or across ordinary text behave as documented.
 */
#include <cjson/cJSON.h>

#include "base/alloc.h"
#include "check.h"
#include "generate/template.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

#define R1_BOS "<\357\275\234begin\342\226\201of\342\226\201sentence\357\275\234>"
#define R1_EOS "<\357\275\234end\342\226\201of\342\226\201sentence\357\275\234>"
#define R1_USER "<\357\275\234User\357\275\234>"
#define R1_ASSISTANT "<\357\275\234Assistant\357\275\234>"

static const struct {
    const char *file;
    tpl_family family;
} goldens[] = {
    { "deepseek-r1-distill-qwen", TPL_DEEPSEEK_R1 },
    { "deepseek-r1-distill-llama", TPL_DEEPSEEK_R1 },
    { "qwen2.5-instruct", TPL_QWEN25 },
    { "qwen3", TPL_QWEN3 },
    { "llama-3.1-instruct", TPL_LLAMA3 },
};
enum { N_GOLDEN = sizeof goldens / sizeof goldens[0] };

static const char *shared;

static char *read_text(const char *dir_rel, const char *name, const char *ext)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s%s", shared, dir_rel, name, ext);
    size_t n;
    char *t = (char *)check_read_file(path, &n);
    CHECK(t != NULL, "read %s", path);
    return t;
}

/* The spans tile the text, none is empty, neighbours differ in kind, and
 * each content span is a piece of some message's content. */
static bool spans_ok(const tpl_prompt *p, const tpl_message *m, size_t n_msgs)
{
    size_t off = 0;
    for (size_t i = 0; i < p->n_spans; i++) {
        const tpl_span *s = &p->spans[i];
        if (s->offset != off || s->n_bytes == 0 || (i > 0 && s->kind == p->spans[i - 1].kind))
            return false;
        if (s->kind == TPL_SPAN_CONTENT) {
            bool found = false;
            char *piece = ls_strndup(p->text + s->offset, s->n_bytes);
            for (size_t k = 0; piece && k < n_msgs && !found; k++)
                found = strstr(m[k].content, piece) != NULL;
            ls_free(piece);
            if (!found)
                return false;
        }
        off += s->n_bytes;
    }
    return off == p->n_bytes && p->text && strlen(p->text) == p->n_bytes;
}

/* The kind of the span holding byte `at`. */
static tpl_span_kind kind_at(const tpl_prompt *p, size_t at)
{
    for (size_t i = 0; i < p->n_spans; i++)
        if (at >= p->spans[i].offset && at < p->spans[i].offset + p->spans[i].n_bytes)
            return p->spans[i].kind;
    return TPL_SPAN_TEMPLATE;
}

/* A golden case's messages as tpl_message views into the cJSON tree. */
static size_t case_messages(const cJSON *c, tpl_message *m, size_t cap)
{
    size_t n = 0;
    const cJSON *msg;
    cJSON_ArrayForEach(msg, cJSON_GetObjectItemCaseSensitive(c, "messages")) {
        if (n == cap)
            break;
        m[n].role = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "role"));
        m[n].content = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "content"));
        n++;
    }
    return n;
}

/* ======================================================================== */
/* 1-2. Golden files                                                         */
/* ======================================================================== */

static void test_golden(void)
{
    int total = 0, total_ok = 0;
    for (int g = 0; g < N_GOLDEN; g++) {
        char *json = read_text("golden/templates", goldens[g].file, ".json");
        char *jinja = read_text("golden/templates", goldens[g].file, ".jinja");
        cJSON *root = json ? cJSON_Parse(json) : NULL;
        CHECK(root != NULL, "%s.json parses", goldens[g].file);
        if (!root || !jinja) {
            free(json);
            free(jinja);
            cJSON_Delete(root);
            continue;
        }
        /* "template" names the .jinja file the cases were rendered from */
        const char *template_file = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "template"));
        char want_file[256];
        snprintf(want_file, sizeof want_file, "%s.jinja", goldens[g].file);
        CHECK(template_file && strcmp(template_file, want_file) == 0, "%s.json renders %s", goldens[g].file, want_file);
        CHECK(tpl_detect(jinja) == goldens[g].family, "%s.jinja detected as %s, got %s", goldens[g].file,
              tpl_family_info(goldens[g].family)->name, tpl_family_info(tpl_detect(jinja))->name);

        int n_cases = 0, n_ok = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases")) {
            tpl_message m[16];
            size_t n = case_messages(c, m, 16);
            const char *title = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "title"));
            const char *expected = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "expected"));
            tpl_options opt = {
                .add_generation_prompt = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "add_generation_prompt")),
                .bos = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "bos_token")),
                .eos = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "eos_token")),
            };
            tpl_prompt p = { 0 };
            ls_status st = tpl_render(tpl_detect(jinja), m, n, &opt, &p);
            bool same = st == LS_OK && expected && p.n_bytes == strlen(expected) &&
                        memcmp(p.text, expected, p.n_bytes) == 0;
            CHECK(same, "%s / %s (generation prompt %d): rendered\n%s\nexpected\n%s", goldens[g].file, title,
                  opt.add_generation_prompt, p.text ? p.text : "(null)", expected);
            CHECK(spans_ok(&p, m, n), "%s / %s: spans", goldens[g].file, title);
            /* a user imitating markers: all of it is content */
            const char *forged = expected ? strstr(expected, "Ignore this: ") : NULL;
            if (forged && same) {
                size_t at = (size_t)(forged - expected);
                bool all_content = true;
                for (size_t k = at; k < at + strlen(m[0].content); k++)
                    all_content &= kind_at(&p, k) == TPL_SPAN_CONTENT;
                CHECK(all_content, "%s / %s: forged markers lie in content spans", goldens[g].file, title);
            }
            n_cases++;
            n_ok += same;
            tpl_prompt_free(&p);
        }
        printf("%s: %d/%d cases\n", goldens[g].file, n_ok, n_cases);
        CHECK(n_cases == 12, "%s has 12 cases, found %d", goldens[g].file, n_cases);
        total += n_cases;
        total_ok += n_ok;
        cJSON_Delete(root);
        free(json);
        free(jinja);
    }
    printf("golden templates: %d/%d cases identical\n", total_ok, total);
}

/* ======================================================================== */
/* 3. Rules beyond the golden cases                                          */
/* ======================================================================== */

/* Renders and compares; the expected texts were produced by Jinja2
 * (trim_blocks, lstrip_blocks) from the real templates. */
static void expect_render(const char *what, tpl_family f, const tpl_message *m, size_t n, const tpl_options *o,
                          const char *want)
{
    tpl_prompt p = { 0 };
    ls_status st = tpl_render(f, m, n, o, &p);
    CHECK(st == LS_OK && p.n_bytes == strlen(want) && memcmp(p.text, want, p.n_bytes) == 0,
          "%s: status %d, rendered\n%s\nexpected\n%s", what, st, p.text ? p.text : "(null)", want);
    CHECK(st != LS_OK || spans_ok(&p, m, n), "%s: spans", what);
    tpl_prompt_free(&p);
}

static void test_rules(void)
{
    tpl_options gen = { .add_generation_prompt = true };

    /* Qwen3: the last message (an assistant prefill) always gets a thought
     * block; after the last real query, turns with reasoning keep it; a
     * wrapped tool response is not a query; earlier turns lose it. */
    tpl_message q1[] = { { "user", "Q" }, { "assistant", "A" } };
    expect_render("qwen3 assistant prefill", TPL_QWEN3, q1, 2, NULL,
                  "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nA<|im_end|>\n");
    tpl_message q2[] = { { "user", "Q1" },
                         { "assistant", "<think>r1</think>a1" },
                         { "user", "Q2" },
                         { "assistant", "<think>\nr2\n</think>\n\na2" },
                         { "user", "<tool_response>\n42\n</tool_response>" },
                         { "assistant", "plain" } };
    expect_render("qwen3 reasoning after the last query", TPL_QWEN3, q2, 6, &gen,
                  "<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\na1<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n"
                  "<|im_start|>assistant\n<think>\nr2\n</think>\n\na2<|im_end|>\n<|im_start|>user\n<tool_response>\n42\n"
                  "</tool_response><|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nplain<|im_end|>\n"
                  "<|im_start|>assistant\n");
    tpl_options no_think = { .add_generation_prompt = true, .no_thinking = true };
    expect_render("qwen3 enable_thinking=false", TPL_QWEN3, q1, 1, &no_think,
                  "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");

    /* DeepSeek-R1: only the last system message counts, placed after BOS;
     * an answer keeps what follows the LAST </think>. */
    tpl_message r1[] = { { "system", "S1" }, { "user", "U" }, { "system", "S2" }, { "assistant", "a</think>b</think>c" } };
    tpl_options r1_opt = { .add_generation_prompt = true, .bos = "<BOS>" };
    expect_render("r1 last system, last </think>", TPL_DEEPSEEK_R1, r1, 4, &r1_opt,
                  "<BOS>S2" R1_USER "U" R1_ASSISTANT "c" R1_EOS R1_ASSISTANT "<think>\n");

    /* Llama 3.1: `trim` is Python's str.strip(), Unicode spaces included;
     * the date can be given. */
    tpl_message l31[] = { { "system", "\343\200\200 Be brief.\302\240" }, { "user", "\342\200\203Hi\302\205\n" } };
    tpl_options l31_opt = { .add_generation_prompt = true, .bos = "<|begin_of_text|>", .date = "1 Jan 2026" };
    expect_render("llama3 unicode trim and date", TPL_LLAMA3, l31, 2, &l31_opt,
                  "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December "
                  "2023\nToday Date: 1 Jan 2026\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n"
                  "Hi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");

    /* The first Llama 3 template: no system block, BOS before the first turn. */
    tpl_message l30[] = { { "system", "Be brief." }, { "user", " Hi \n" }, { "assistant", "Hello" } };
    tpl_options l30_opt = { .add_generation_prompt = true, .bos = "<|begin_of_text|>" };
    expect_render("llama3.0", TPL_LLAMA3_0, l30, 3, &l30_opt,
                  "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>"
                  "user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello<|eot_id|>"
                  "<|start_header_id|>assistant<|end_header_id|>\n\n");

    /* Plain ChatML: no default system turn, reasoning kept as is. */
    tpl_message cm[] = { { "user", "Hi" }, { "assistant", "<think>x</think>y" } };
    expect_render("chatml", TPL_CHATML, cm, 2, &gen,
                  "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>x</think>y<|im_end|>\n"
                  "<|im_start|>assistant\n");

    /* No messages: what the template writes around them; text is "" not NULL. */
    tpl_prompt p = { 0 };
    CHECK(tpl_render(TPL_CHATML, NULL, 0, NULL, &p) == LS_OK && p.text && p.n_bytes == 0 && p.n_spans == 0,
          "empty ChatML prompt is \"\"");
    tpl_prompt_free(&p);
    expect_render("r1 no messages", TPL_DEEPSEEK_R1, NULL, 0, &r1_opt, "<BOS>" R1_ASSISTANT "<think>\n");

    /* Reusing one tpl_prompt replaces its text. */
    CHECK(tpl_render(TPL_CHATML, cm, 2, &gen, &p) == LS_OK && tpl_render(TPL_CHATML, cm, 1, NULL, &p) == LS_OK &&
              strcmp(p.text, "<|im_start|>user\nHi<|im_end|>\n") == 0 && spans_ok(&p, cm, 1),
          "a reused prompt holds only the last rendering: %s", p.text);
    tpl_prompt_free(&p);
    tpl_prompt_free(&p); /* twice: it was reset to {0} */
    tpl_prompt_free(NULL);
}

static void test_detect_and_names(void)
{
    CHECK(tpl_detect(NULL) == TPL_UNKNOWN, "NULL template");
    CHECK(tpl_detect("") == TPL_UNKNOWN, "empty template");
    CHECK(tpl_detect("{% for m in messages %}{{ m.content }}{% endfor %}") == TPL_UNKNOWN, "template without markers");
    CHECK(tpl_detect("[INST] {{ messages[0].content }} [/INST]") == TPL_UNKNOWN, "Mistral-style template");
    const char *chatml = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
                         " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>"
                         "assistant\\n' }}{% endif %}";
    CHECK(tpl_detect(chatml) == TPL_CHATML, "plain ChatML template");
    /* QwQ-like: ChatML that strips reasoning in its own way -> unknown, not a guess */
    const char *qwq = "{%- for message in messages %}{%- set content = message.content.split('</think>')[-1] %}"
                      "{{ '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>\\n' }}{%- endfor %}"
                      "{{ '<|im_start|>assistant\\n<think>\\n' }}";
    CHECK(tpl_detect(qwq) == TPL_UNKNOWN, "QwQ-like template is unknown");

    /* Qwen3 whose generation prompt opens the thought (2507 Thinking) -> unknown */
    char *q3 = read_text("golden/templates", "qwen3", ".jinja");
    if (q3) {
        const char *gp = "{{- '<|im_start|>assistant\\n' }}";
        char *at = strstr(q3, gp);
        CHECK(at != NULL, "qwen3.jinja has its generation prompt line");
        if (at) {
            size_t head = (size_t)(at - q3), n = strlen(q3);
            char *variant = ls_malloc(n + 32);
            if (variant) {
                snprintf(variant, n + 32, "%.*s{{- '<|im_start|>assistant\\n<think>\\n' }}%s", (int)head, q3,
                         at + strlen(gp));
                CHECK(tpl_detect(variant) == TPL_UNKNOWN, "Qwen3 thinking-only variant is unknown");
                ls_free(variant);
            }
        }
        free(q3);
    }

    /* the template inside vocab-llama3.gguf is the first Llama 3 one */
    char path[1024];
    snprintf(path, sizeof path, "%s/models/vocab-llama3.gguf", shared);
    gguf_file *f = NULL;
    gguf_str s = { 0 };
    if (gguf_open(path, &f) == LS_OK && gguf_get_str(f, "tokenizer.chat_template", &s) == LS_OK) {
        char *t = ls_strndup(s.ptr, s.len);
        CHECK(t && tpl_detect(t) == TPL_LLAMA3_0, "vocab-llama3.gguf template is llama3.0");
        ls_free(t);
    } else {
        CHECK(0, "read tokenizer.chat_template of %s", path);
    }
    gguf_close(f);

    for (int k = 1; k < TPL_N_FAMILIES; k++) {
        const tpl_info *in = tpl_family_info((tpl_family)k);
        CHECK(tpl_family_from_name(in->name) == (tpl_family)k, "name '%s' round trip", in->name);
        CHECK(in->sampling.temp > 0 && in->sampling.top_p > 0 && in->sampling.top_p <= 1 &&
                  in->sampling.repeat_penalty >= 1,
              "%s: sampling defaults in range", in->name);
    }
    CHECK(tpl_family_from_name("bogus") == TPL_UNKNOWN && tpl_family_from_name(NULL) == TPL_UNKNOWN &&
              tpl_family_from_name("unknown") == TPL_UNKNOWN,
          "unknown names");
    CHECK(strcmp(tpl_family_info(TPL_UNKNOWN)->name, "unknown") == 0 &&
              strcmp(tpl_family_info((tpl_family)99)->name, "unknown") == 0,
          "out-of-range family info");
    CHECK(TPL_FALLBACK == TPL_CHATML, "fallback is ChatML");
    const tpl_info *r1 = tpl_family_info(TPL_DEEPSEEK_R1);
    CHECK(r1->opens_thought && r1->reasons && r1->system_in_user && r1->sampling.temp == 0.6f &&
              r1->sampling.top_p == 0.95f,
          "deepseek-r1 facts");
    const tpl_info *q25 = tpl_family_info(TPL_QWEN25), *qw3 = tpl_family_info(TPL_QWEN3);
    CHECK(q25->sampling.temp == 0.7f && q25->sampling.top_p == 0.8f && q25->sampling.top_k == 20 &&
              q25->sampling.repeat_penalty == 1.05f && !q25->opens_thought,
          "qwen2.5 facts");
    CHECK(qw3->sampling.temp == 0.6f && qw3->sampling.top_p == 0.95f && qw3->sampling.top_k == 20 &&
              qw3->sampling.min_p == 0.0f && qw3->reasons && !qw3->opens_thought && !qw3->system_in_user,
          "qwen3 facts");
    const tpl_info *l3 = tpl_family_info(TPL_LLAMA3);
    CHECK(l3->sampling.temp == 0.6f && l3->sampling.top_p == 0.9f && !l3->reasons, "llama3 facts");
}

static void test_errors(void)
{
    tpl_prompt p = { 0 };
    tpl_message tool[] = { { "user", "Hi" }, { "tool", "42" } };
    ls_error_clear();
    CHECK(tpl_render(TPL_QWEN3, tool, 2, NULL, &p) == LS_ERR_UNSUPPORTED && strstr(ls_error_msg(), "'tool'") &&
              strstr(ls_error_msg(), "message 2"),
          "tool role refused: %s", ls_error_msg());
    CHECK(p.n_bytes == 0 && p.n_spans == 0, "nothing rendered on error");
    tpl_message bogus[] = { { "narrator", "Hi" } };
    CHECK(tpl_render(TPL_CHATML, bogus, 1, NULL, &p) == LS_ERR_ARG && strstr(ls_error_msg(), "narrator"),
          "unknown role: %s", ls_error_msg());
    tpl_message no_content[] = { { "user", NULL } };
    CHECK(tpl_render(TPL_LLAMA3, no_content, 1, NULL, &p) == LS_ERR_ARG, "NULL content");
    tpl_message no_role[] = { { NULL, "Hi" } };
    CHECK(tpl_render(TPL_LLAMA3, no_role, 1, NULL, &p) == LS_ERR_ARG, "NULL role");
    tpl_message ok[] = { { "user", "Hi" } };
    CHECK(tpl_render(TPL_UNKNOWN, ok, 1, NULL, &p) == LS_ERR_ARG, "TPL_UNKNOWN is not renderable");
    CHECK(tpl_render((tpl_family)42, ok, 1, NULL, &p) == LS_ERR_ARG, "out-of-range family");
    CHECK(tpl_render(TPL_CHATML, NULL, 1, NULL, &p) == LS_ERR_ARG, "NULL messages");
    /* an earlier good rendering is cleared by a failing one */
    CHECK(tpl_render(TPL_CHATML, ok, 1, NULL, &p) == LS_OK && p.n_bytes > 0, "render");
    CHECK(tpl_render(TPL_CHATML, tool, 2, NULL, &p) != LS_OK && p.n_bytes == 0 && p.text[0] == 0,
          "failure empties a reused prompt");
    tpl_prompt_free(&p);
}

/* Every allocation of a rendering fails in turn: LS_ERR_NOMEM each time,
 * nothing leaked, and the first run that gets all its memory is correct. */
static void test_alloc_failures(void)
{
    tpl_message m[] = { { "system", "Be brief." }, { "user", "Hi" }, { "assistant", "<think>r</think>Hello" },
                        { "user", "Again" } };
    tpl_options o = { .add_generation_prompt = true, .bos = "<|begin_of_text|>" };
    tpl_prompt ref = { 0 };
    CHECK(tpl_render(TPL_LLAMA3, m, 4, &o, &ref) == LS_OK, "reference rendering");
    long live = ls_alloc_live();
    int n_failed = 0;
    for (long k = 1; k < 100; k++) {
        tpl_prompt p = { 0 };
        ls_alloc_fail_after(k);
        ls_status st = tpl_render(TPL_LLAMA3, m, 4, &o, &p);
        ls_alloc_fail_after(0);
        bool done = st == LS_OK;
        CHECK(done || st == LS_ERR_NOMEM, "failure %ld: status %d", k, st);
        if (done)
            CHECK(p.n_bytes == ref.n_bytes && memcmp(p.text, ref.text, p.n_bytes) == 0, "result after %ld", k);
        else
            n_failed++;
        tpl_prompt_free(&p);
        CHECK(ls_alloc_live() == live, "no leak after failure %ld", k);
        if (done)
            break;
    }
    CHECK(n_failed >= 2, "the rendering allocates (text and spans): %d failures walked", n_failed);
    tpl_prompt_free(&ref);
}

/* ======================================================================== */
/* 4. Encoding                                                               */
/* ======================================================================== */

static tok_tokenizer *load_vocab(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/models/%s", shared, name);
    tok_tokenizer *tok = NULL;
    ls_status st = tok_load_file(path, &tok);
    CHECK(st == LS_OK, "load %s: %s", path, ls_error_msg());
    return tok;
}

static int32_t *encode_whole(const tok_tokenizer *tok, const char *text, unsigned flags, size_t *n)
{
    size_t len = strlen(text), cap = len + 8;
    int32_t *ids = ls_malloc(cap * sizeof *ids);
    if (!ids || tok_encode(tok, text, len, flags, ids, cap, n) != LS_OK) {
        ls_free(ids);
        *n = 0;
        return NULL;
    }
    return ids;
}

static size_t count_id(const int32_t *ids, size_t n, int32_t id)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ids[i] == id;
    return c;
}

static bool same_ids(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

/* Renders every golden case of `file` with `tok`'s BOS text and checks the
 * ids against a whole-text encoding with special tokens parsed everywhere. */
static void encode_golden(const tok_tokenizer *tok, const char *file, tpl_family f, const char *const *forged_specials,
                          int n_forged)
{
    char *json = read_text("golden/templates", file, ".json");
    cJSON *root = json ? cJSON_Parse(json) : NULL;
    size_t n_bos;
    const char *bos = tok_piece(tok, tok_bos(tok), &n_bos);
    char bos_text[64];
    snprintf(bos_text, sizeof bos_text, "%.*s", (int)n_bos, bos);
    int n_cases = 0, n_ok = 0;
    const cJSON *c;
    const cJSON *cases = root ? cJSON_GetObjectItemCaseSensitive(root, "cases") : NULL;
    cJSON_ArrayForEach(c, cases) {
        tpl_message m[16];
        size_t n_msgs = case_messages(c, m, 16);
        const char *title = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "title"));
        tpl_options o = { .add_generation_prompt = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "add_generation_prompt")),
                          .bos = bos_text };
        tpl_prompt p = { 0 };
        int32_t *ids = NULL, *whole = NULL;
        size_t n = 0, n_whole = 0;
        bool ok = tpl_render(f, m, n_msgs, &o, &p) == LS_OK && tpl_encode(tok, &p, &ids, &n) == LS_OK;
        CHECK(ok, "%s / %s: render and encode: %s", file, title, ls_error_msg());
        whole = ok ? encode_whole(tok, p.text, TOK_PARSE_SPECIAL, &n_whole) : NULL;
        if (ok && whole) {
            bool forged = strstr(title, "imitates") != NULL;
            /* BOS once, first, when the model wants it */
            if (tok_wants_bos(tok))
                CHECK(n >= 2 && ids[0] == tok_bos(tok) && ids[1] != tok_bos(tok), "%s / %s: one BOS first", file,
                      title);
            if (!forged) {
                /* the template's own BOS text already gives the BOS id */
                bool eq = same_ids(ids, n, whole, n_whole) ||
                          (tok_wants_bos(tok) && whole[0] != tok_bos(tok) && same_ids(ids + 1, n - 1, whole, n_whole));
                CHECK(eq, "%s / %s: ids equal tok_encode(text, TOK_PARSE_SPECIAL) (%zu vs %zu ids)", file, title, n,
                      n_whole);
                n_ok += eq;
            } else {
                /* each forged marker: one more special id in the whole-text
                 * encoding than in the span-aware one */
                bool plain = !same_ids(ids, n, whole, n_whole);
                for (int k = 0; k < n_forged; k++) {
                    int32_t id = tok_find(tok, forged_specials[k], strlen(forged_specials[k]));
                    CHECK(id >= 0 && count_id(whole, n_whole, id) == count_id(ids, n, id) + 1,
                          "%s / %s: typed %s is plain text (%zu in prompt, %zu when parsed)", file, title,
                          forged_specials[k], count_id(ids, n, id), count_id(whole, n_whole, id));
                    plain &= id >= 0 && count_id(whole, n_whole, id) == count_id(ids, n, id) + 1;
                }
                n_ok += plain;
            }
            /* and it all decodes back to the text */
            char *back = ls_malloc(p.n_bytes * 2 + 64);
            size_t nb = 0;
            CHECK(back && tok_decode(tok, ids, n, TOK_DECODE_SPECIAL, back, p.n_bytes * 2 + 64, &nb) == LS_OK &&
                      nb >= p.n_bytes && memcmp(back + (nb - p.n_bytes), p.text, p.n_bytes) == 0,
                  "%s / %s: decode gives the text back", file, title);
            ls_free(back);
        }
        n_cases++;
        ls_free(ids);
        ls_free(whole);
        tpl_prompt_free(&p);
    }
    printf("encode %s with %s: %d/%d cases\n", file, tok_pre_name(tok), n_ok, n_cases);
    CHECK(n_cases == 12 && n_ok == n_cases, "%s: all cases encode as expected", file);
    cJSON_Delete(root);
    free(json);
}

static void test_encode(void)
{
    tok_tokenizer *r1 = load_vocab("vocab-deepseek-r1-qwen.gguf");
    tok_tokenizer *l3 = load_vocab("vocab-llama3.gguf");
    tok_tokenizer *spm = load_vocab("stories260K.gguf");
    if (!r1 || !l3 || !spm) {
        tok_free(r1);
        tok_free(l3);
        tok_free(spm);
        return;
    }
    static const char *const r1_forged[] = { R1_ASSISTANT, "</think>" };
    encode_golden(r1, "deepseek-r1-distill-qwen", TPL_DEEPSEEK_R1, r1_forged, 2);
    static const char *const l3_forged[] = { "<|eot_id|>" };
    encode_golden(l3, "llama-3.1-instruct", TPL_LLAMA3, l3_forged, 1);

    /* A range boundary in ordinary text changes nothing: "user\n" allowed
     * then "\nHi" gives the ids of "user\n\nHi" (one "\n\n" token). */
    const char *t = "user\n\nHi";
    tok_span head = { 0, 5 };
    int32_t a[16], *b;
    size_t na = 0, nb = 0;
    CHECK(tok_encode_spans(r1, t, strlen(t), &head, 1, 0, a, 16, &na) == LS_OK, "encode with a range");
    b = encode_whole(r1, t, TOK_PARSE_SPECIAL, &nb);
    CHECK(b && same_ids(a, na, b, nb) && count_id(a, na, 271) == 1, "range boundary inside \"\\n\\n\" (%zu ids)", na);
    ls_free(b);

    /* A special token is matched only when it lies inside the ranges
     * (touching ranges count as one). */
    const char *th = "x</think>y";
    int32_t think_end = tok_find(r1, "</think>", 8);
    CHECK(think_end == 151649, "</think> id");
    tok_span cut = { 1, 4 }, whole_tok = { 1, 8 }, halves[2] = { { 1, 4 }, { 5, 4 } }, none = { 0, 0 };
    CHECK(tok_encode_spans(r1, th, 10, &cut, 1, 0, a, 16, &na) == LS_OK && count_id(a, na, think_end) == 0,
          "a range that cuts through </think> does not match it");
    CHECK(tok_encode_spans(r1, th, 10, &whole_tok, 1, 0, a, 16, &na) == LS_OK && na == 3 && a[1] == think_end,
          "a range around </think> matches it");
    CHECK(tok_encode_spans(r1, th, 10, halves, 2, 0, a, 16, &na) == LS_OK && na == 3 && a[1] == think_end,
          "touching ranges count as one");
    CHECK(tok_encode_spans(r1, th, 10, NULL, 0, 0, a, 16, &na) == LS_OK && count_id(a, na, think_end) == 0,
          "no ranges: no special tokens");
    b = encode_whole(r1, th, 0, &nb);
    CHECK(tok_encode_spans(r1, th, 10, &none, 1, 0, a, 16, &na) == LS_OK && b && same_ids(a, na, b, nb),
          "an empty range is like no range");
    ls_free(b);
    tok_span overlap[2] = { { 0, 5 }, { 3, 2 } }, outside = { 8, 5 };
    CHECK(tok_encode_spans(r1, th, 10, overlap, 2, 0, a, 16, &na) == LS_ERR_ARG, "overlapping ranges refused");
    CHECK(tok_encode_spans(r1, th, 10, &outside, 1, 0, a, 16, &na) == LS_ERR_ARG, "range past the text refused");
    CHECK(tok_encode_spans(r1, th, 10, NULL, 1, 0, a, 16, &na) == LS_ERR_ARG, "NULL ranges refused");
    /* counting: a short array gives LS_ERR_LIMIT and the count needed */
    CHECK(tok_encode_spans(r1, th, 10, &whole_tok, 1, 0, a, 1, &na) == LS_ERR_LIMIT && na == 3, "count on a short array");

    /* SentencePiece (stories260K, no chat template: the ChatML fallback):
     * BOS is added because the text does not start with it, "<s>" typed by
     * the user stays text, and benign text equals tok_encode with BOS. */
    tpl_message sm[] = { { "user", "Once upon a <s> time" } };
    tpl_prompt p = { 0 };
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK(tpl_render(TPL_CHATML, sm, 1, &(tpl_options){ .add_generation_prompt = true }, &p) == LS_OK &&
              tpl_encode(spm, &p, &ids, &n) == LS_OK,
          "stories260K prompt");
    CHECK(ids && n > 2 && ids[0] == tok_bos(spm) && count_id(ids, n, tok_bos(spm)) == 1,
          "SentencePiece: BOS added once, typed <s> is text");
    b = encode_whole(spm, p.text, TOK_PARSE_SPECIAL | TOK_ADD_BOS, &nb);
    CHECK(b && count_id(b, nb, tok_bos(spm)) == 2, "parsing specials everywhere would turn typed <s> into BOS");
    ls_free(b);
    ls_free(ids);
    ids = NULL;
    sm[0].content = "Once upon a time";
    CHECK(tpl_render(TPL_CHATML, sm, 1, NULL, &p) == LS_OK && tpl_encode(spm, &p, &ids, &n) == LS_OK, "benign");
    b = encode_whole(spm, p.text, TOK_PARSE_SPECIAL | TOK_ADD_BOS, &nb);
    CHECK(ids && b && same_ids(ids, n, b, nb), "SentencePiece: benign prompt equals tok_encode with BOS");
    ls_free(b);
    ls_free(ids);

    /* allocation failures in tpl_encode: NOMEM, no leak */
    CHECK(tpl_render(TPL_DEEPSEEK_R1, sm, 1, &(tpl_options){ .bos = R1_BOS }, &p) == LS_OK, "r1 prompt");
    long live = ls_alloc_live();
    bool finished = false;
    for (long k = 1; k < 64 && !finished; k++) {
        ids = NULL;
        ls_alloc_fail_after(k);
        ls_status st = tpl_encode(r1, &p, &ids, &n);
        ls_alloc_fail_after(0);
        CHECK(st == LS_OK || st == LS_ERR_NOMEM, "encode failure %ld: status %d", k, st);
        CHECK(st == LS_OK || ids == NULL, "no ids on failure");
        finished = st == LS_OK;
        if (finished)
            CHECK(n >= 3 && ids[0] == 151646 && ids[1] == 151644, "encode after %ld failures", k - 1);
        ls_free(ids);
        CHECK(ls_alloc_live() == live, "no leak after encode failure %ld", k);
    }
    CHECK(finished, "tpl_encode eventually succeeds");
    tpl_prompt_free(&p);

    tok_free(r1);
    tok_free(l3);
    tok_free(spm);
}

int main(void)
{
    shared = check_shared_dir();
    test_golden();
    test_rules();
    test_detect_and_names();
    test_errors();
    test_alloc_failures();
    test_encode();
    return check_done();
}
