/* template.c — chat templates rendered natively, one function per family.
 *
 * How it works. tpl_detect() looks for substrings that only one family's
 * Jinja templates contain. tpl_render() checks every message's role, then
 * calls the family's renderer, which writes the prompt piece by piece
 * through a small writer: tmpl() for text the template itself writes,
 * content() for text copied from a message. The writer appends to the
 * caller's tpl_prompt, growing it by doubling, and extends the last span
 * when the new piece has the same kind, so neighbouring spans always differ
 * in kind. The first allocation failure is remembered in the writer
 * (w->st) and every later write does nothing, so the renderers read as
 * straight-line code and check once at the end.
 *
 * Each renderer follows its family's Jinja template line by line; the
 * comments quote the rules that are easy to miss. Jinja2's string methods
 * are reproduced exactly: Python's str.strip() (the `trim` filter) removes
 * Unicode whitespace, not only ASCII; s.split(x)[-1] is the text after the
 * LAST x, s.split(x)[0] the text before the FIRST x.
 *
 * The sampling defaults in the family table come from each model's card or
 * generation_config.json: DeepSeek-R1 ("temperature 0.5-0.7, 0.6
 * recommended", top-p 0.95, no system prompt), Qwen2.5 (0.7 / top-p 0.8 /
 * top-k 20 / repetition penalty 1.05), Qwen3 thinking mode (0.6 / 0.95 / 20 /
 * min-p 0), Llama 3 and 3.1 (0.6 / top-p 0.9). ChatML and unknown templates
 * get the sampler's own defaults (smp_default_params).
 */
#include "generate/template.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

/* ======================================================================== */
/* Families                                                                  */
/* ======================================================================== */

static const tpl_info infos[TPL_N_FAMILIES] = {
    [TPL_UNKNOWN] = { "unknown", "a template localseek does not recognise", false, false, false,
                      { 0.8f, 40, 0.95f, 0.05f, 1.0f } },
    [TPL_DEEPSEEK_R1] = { "deepseek-r1", "DeepSeek-R1 and its distills (R1-Distill-Qwen, R1-Distill-Llama)", true,
                          true, true, { 0.6f, 0, 0.95f, 0.0f, 1.0f } },
    [TPL_CHATML] = { "chatml", "ChatML models (many fine-tunes); the fallback for unknown templates", false, false,
                     false, { 0.8f, 40, 0.95f, 0.05f, 1.0f } },
    [TPL_QWEN25] = { "qwen2.5", "Qwen2.5 Instruct and Coder", false, false, false, { 0.7f, 20, 0.8f, 0.0f, 1.05f } },
    [TPL_QWEN3] = { "qwen3", "Qwen3 (thinking mode)", false, true, false, { 0.6f, 20, 0.95f, 0.0f, 1.0f } },
    [TPL_LLAMA3] = { "llama3", "Llama 3.1, 3.2 and 3.3 Instruct", false, false, false,
                     { 0.6f, 0, 0.9f, 0.0f, 1.0f } },
    [TPL_LLAMA3_0] = { "llama3.0", "Llama 3 Instruct (the first release)", false, false, false,
                       { 0.6f, 0, 0.9f, 0.0f, 1.0f } },
};

const tpl_info *tpl_family_info(tpl_family f)
{
    return (unsigned)f < TPL_N_FAMILIES ? &infos[f] : &infos[TPL_UNKNOWN];
}

tpl_family tpl_detect_file(const gguf_file *f, bool *has_template)
{
    gguf_str s = { 0 };
    bool has = gguf_get_str(f, "tokenizer.chat_template", &s) == LS_OK && s.len > 0;
    if (has_template)
        *has_template = has;
    if (!has)
        return TPL_UNKNOWN;
    char *text = ls_strndup(s.ptr, (size_t)s.len);
    tpl_family family = text ? tpl_detect(text) : TPL_UNKNOWN;
    ls_free(text);
    return family;
}

tpl_family tpl_family_for_file(const gguf_file *f, const char *path, tpl_family forced, char *note, size_t cap)
{
    if (cap)
        note[0] = 0;
    if (forced != TPL_UNKNOWN)
        return forced;
    bool has = false;
    tpl_family family = tpl_detect_file(f, &has);
    if (family != TPL_UNKNOWN)
        return family;
    if (cap)
        snprintf(note, cap, "%s %s; using %s (choose another with --chat-template NAME)", path,
                 has ? "has a chat template localseek does not know" : "has no chat template",
                 tpl_family_info(TPL_FALLBACK)->name);
    return TPL_FALLBACK;
}

tpl_family tpl_family_from_name(const char *name)
{
    for (int f = 1; name && f < TPL_N_FAMILIES; f++)
        if (strcmp(name, infos[f].name) == 0)
            return (tpl_family)f;
    return TPL_UNKNOWN;
}

static bool has(const char *text, const char *s) { return strstr(text, s) != NULL; }

tpl_family tpl_detect(const char *t)
{
    if (!t || !*t)
        return TPL_UNKNOWN;
    /* The R1 markers use U+FF5C (fullwidth vertical bar), not '|'. The Qwen-
     * and Llama-based distills ship the same template. */
    if (has(t, "<\357\275\234User\357\275\234>") && has(t, "<\357\275\234Assistant\357\275\234>"))
        return TPL_DEEPSEEK_R1;
    if (has(t, "<|start_header_id|>") && has(t, "<|end_header_id|>") && has(t, "<|eot_id|>"))
        return has(t, "Cutting Knowledge Date") ? TPL_LLAMA3 : TPL_LLAMA3_0;
    if (has(t, "<|im_start|>") && has(t, "<|im_end|>")) {
        if (has(t, "<think>") || has(t, "</think>")) {
            /* Qwen3 keeps reasoning only after the last user turn (reasoning_content,
             * last_query_index). Variants whose generation prompt opens the
             * thought (Qwen3-2507 Thinking) or that strip it differently (QwQ)
             * render otherwise: better unknown than a wrong guess. */
            if (has(t, "reasoning_content") && has(t, "last_query_index") &&
                !has(t, "<|im_start|>assistant\\n<think>"))
                return TPL_QWEN3;
            return TPL_UNKNOWN;
        }
        if (has(t, "You are Qwen, created by Alibaba Cloud."))
            return TPL_QWEN25;
        return TPL_CHATML;
    }
    return TPL_UNKNOWN;
}

/* ======================================================================== */
/* The writer                                                                */
/* ======================================================================== */

typedef struct {
    tpl_prompt *p;
    ls_status st; /* first failure; later writes do nothing */
} writer;

static bool grow(writer *w, void **buf, size_t *cap, size_t need, size_t elem_bytes)
{
    if (need <= *cap)
        return true;
    size_t c = *cap ? *cap : 64;
    while (c < need && c <= SIZE_MAX / 2 / elem_bytes)
        c *= 2;
    void *q = c >= need ? ls_realloc(*buf, c * elem_bytes) : NULL;
    if (!q) {
        w->st = ls_error(LS_ERR_NOMEM, "out of memory rendering a chat prompt of %zu bytes", w->p->n_bytes);
        return false;
    }
    *buf = q;
    *cap = c;
    return true;
}

static void put(writer *w, tpl_span_kind kind, const char *s, size_t n)
{
    tpl_prompt *p = w->p;
    if (w->st || n == 0)
        return;
    if (n >= SIZE_MAX / 2 - p->n_bytes) {
        w->st = ls_error(LS_ERR_LIMIT, "a chat prompt over %zu bytes is too large", p->n_bytes);
        return;
    }
    void *text = p->text, *spans = p->spans;
    bool ok = grow(w, &text, &p->cap_bytes, p->n_bytes + n + 1, 1);
    p->text = text;
    if (!ok)
        return;
    bool extend = p->n_spans > 0 && p->spans[p->n_spans - 1].kind == kind;
    if (!extend) {
        ok = grow(w, &spans, &p->cap_spans, p->n_spans + 1, sizeof *p->spans);
        p->spans = spans;
        if (!ok)
            return;
        p->spans[p->n_spans++] = (tpl_span){ p->n_bytes, 0, kind };
    }
    memcpy(p->text + p->n_bytes, s, n);
    p->n_bytes += n;
    p->text[p->n_bytes] = 0;
    p->spans[p->n_spans - 1].n_bytes += n;
}

static void tmpl(writer *w, const char *s) { put(w, TPL_SPAN_TEMPLATE, s, strlen(s)); }
static void content(writer *w, const char *s, size_t n) { put(w, TPL_SPAN_CONTENT, s, n); }

/* ======================================================================== */
/* String helpers (Jinja2's Python semantics)                                */
/* ======================================================================== */

typedef enum { ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT, ROLE_TOOL, ROLE_OTHER } role;

static role role_of(const char *r)
{
    if (!strcmp(r, "system"))
        return ROLE_SYSTEM;
    if (!strcmp(r, "user"))
        return ROLE_USER;
    if (!strcmp(r, "assistant"))
        return ROLE_ASSISTANT;
    if (!strcmp(r, "tool") || !strcmp(r, "ipython") || !strcmp(r, "function"))
        return ROLE_TOOL;
    return ROLE_OTHER;
}

/* Length of the whitespace character (Python's str.isspace) that starts
 * s[0..n), or 0: ASCII 9-13 and 28-32, and the Unicode spaces U+0085,
 * U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000. */
static size_t space_len(const uint8_t *s, size_t n)
{
    if (n >= 1 && ((s[0] >= 0x09 && s[0] <= 0x0D) || (s[0] >= 0x1C && s[0] <= 0x20)))
        return 1;
    if (n >= 2 && s[0] == 0xC2 && (s[1] == 0x85 || s[1] == 0xA0))
        return 2;
    if (n < 3)
        return 0;
    if ((s[0] == 0xE1 && s[1] == 0x9A && s[2] == 0x80) || (s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80))
        return 3;
    if (s[0] == 0xE2 && s[1] == 0x80 &&
        (s[2] <= 0x8A || s[2] == 0xA8 || s[2] == 0xA9 || s[2] == 0xAF) && s[2] >= 0x80)
        return 3;
    if (s[0] == 0xE2 && s[1] == 0x81 && s[2] == 0x9F)
        return 3;
    return 0;
}

/* Jinja's `trim` filter (Python str.strip()): *s, *n shrink to the text
 * without leading and trailing whitespace. */
static void trim(const char **s, size_t *n)
{
    const uint8_t *p = (const uint8_t *)*s;
    size_t len = *n, k;
    while ((k = space_len(p, len)) > 0) {
        p += k;
        len -= k;
    }
    /* From the end: a character of k bytes is a space when the last k bytes
     * are exactly one (the lead bytes 0xC2, 0xE1-0xE3 are never continuation
     * bytes, so this cannot match the middle of a longer character). */
    for (bool more = true; more;) {
        more = false;
        for (k = 1; k <= 3 && k <= len && !more; k++) {
            if (space_len(p + len - k, k) == k) {
                len -= k;
                more = true;
            }
        }
    }
    *s = (const char *)p;
    *n = len;
}

static void lstrip_newlines(const char **s, size_t *n)
{
    while (*n > 0 && **s == '\n') {
        (*s)++;
        (*n)--;
    }
}

static void rstrip_newlines(const char *s, size_t *n)
{
    while (*n > 0 && s[*n - 1] == '\n')
        (*n)--;
}

/* The last occurrence of `needle` in s[0..n), or NULL. */
static const char *find_last(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = n >= m ? n - m + 1 : 0; i-- > 0;)
        if (memcmp(s + i, needle, m) == 0)
            return s + i;
    return NULL;
}

static bool starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* ======================================================================== */
/* DeepSeek-R1                                                               */
/* ======================================================================== */

#define R1_USER "<\357\275\234User\357\275\234>"           /* <｜User｜> */
#define R1_ASSISTANT "<\357\275\234Assistant\357\275\234>" /* <｜Assistant｜> */
#define R1_EOS "<\357\275\234end\342\226\201of\342\226\201sentence\357\275\234>" /* <｜end▁of▁sentence｜> */

/*   BOS, then the LAST system message's text (no marker), then per turn
 *   <｜User｜>text  or  <｜Assistant｜>answer<｜end▁of▁sentence｜>,
 * where `answer` is what follows the last "</think>": earlier reasoning is
 * dropped (it would cost context, and the model was trained without it).
 * The generation prompt opens the thought: <｜Assistant｜><think>\n. */
static void render_r1(writer *w, const tpl_message *m, size_t n, const tpl_options *o)
{
    const char *system = NULL;
    for (size_t i = 0; i < n; i++)
        if (role_of(m[i].role) == ROLE_SYSTEM)
            system = m[i].content;
    tmpl(w, o->bos ? o->bos : "");
    if (system)
        content(w, system, strlen(system));
    for (size_t i = 0; i < n; i++) {
        const char *c = m[i].content;
        size_t len = strlen(c);
        switch (role_of(m[i].role)) {
        case ROLE_USER:
            tmpl(w, R1_USER);
            content(w, c, len);
            break;
        case ROLE_ASSISTANT: {
            const char *end_think = find_last(c, len, "</think>");
            if (end_think) {
                len -= (size_t)(end_think + 8 - c);
                c = end_think + 8;
            }
            tmpl(w, R1_ASSISTANT);
            content(w, c, len);
            tmpl(w, R1_EOS);
            break;
        }
        default: /* system: written above */
            break;
        }
    }
    if (o->add_generation_prompt)
        tmpl(w, R1_ASSISTANT "<think>\n");
}

/* ======================================================================== */
/* ChatML, Qwen2.5, Qwen3                                                    */
/* ======================================================================== */

static void chatml_turn(writer *w, const char *role_name, const char *c)
{
    tmpl(w, "<|im_start|>");
    tmpl(w, role_name);
    tmpl(w, "\n");
    content(w, c, strlen(c));
    tmpl(w, "<|im_end|>\n");
}

/* Every message as <|im_start|>role\ntext<|im_end|>\n, as is (reasoning in
 * earlier answers is kept). Qwen2.5 adds its default system turn when the
 * first message is not a system one. */
static void render_chatml(writer *w, const tpl_message *m, size_t n, const tpl_options *o,
                          const char *default_system)
{
    if (default_system && (n == 0 || role_of(m[0].role) != ROLE_SYSTEM)) {
        tmpl(w, "<|im_start|>system\n");
        tmpl(w, default_system);
        tmpl(w, "<|im_end|>\n");
    }
    for (size_t i = 0; i < n; i++)
        chatml_turn(w, m[i].role, m[i].content);
    if (o->add_generation_prompt)
        tmpl(w, "<|im_start|>assistant\n");
}

/* Qwen3: ChatML, but an assistant turn is split at "</think>" into reasoning
 * and answer. Turns before the last real user query (one that is not a
 * wrapped tool response) keep only the answer; turns after it (the model's
 * steps since that question) keep the reasoning in <think>\n…\n</think>\n\n
 * when there is some, and always for the very last message. */
static void render_qwen3(writer *w, const tpl_message *m, size_t n, const tpl_options *o)
{
    size_t last_query = n ? n - 1 : 0;
    for (size_t i = n; i-- > 0;) {
        const char *c = m[i].content;
        if (role_of(m[i].role) == ROLE_USER &&
            !(starts_with(c, "<tool_response>") && ends_with(c, "</tool_response>"))) {
            last_query = i;
            break;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (role_of(m[i].role) != ROLE_ASSISTANT) {
            chatml_turn(w, m[i].role, m[i].content);
            continue;
        }
        const char *answer = m[i].content, *reasoning = "";
        size_t n_answer = strlen(answer), n_reasoning = 0;
        const char *first_end = strstr(answer, "</think>");
        if (first_end) {
            /* reasoning: before the first </think>, newlines cut at its end,
             * after the last <think>, newlines cut at its start */
            const char *c = answer;
            size_t before = (size_t)(first_end - c);
            rstrip_newlines(c, &before);
            const char *open = find_last(c, before, "<think>");
            reasoning = open ? open + 7 : c;
            n_reasoning = before - (size_t)(reasoning - c);
            lstrip_newlines(&reasoning, &n_reasoning);
            /* answer: after the last </think>, newlines cut at its start */
            const char *last_end = find_last(c, n_answer, "</think>");
            answer = last_end + 8;
            n_answer -= (size_t)(answer - c);
            lstrip_newlines(&answer, &n_answer);
        }
        if (i > last_query && (i == n - 1 || n_reasoning > 0)) {
            lstrip_newlines(&reasoning, &n_reasoning); /* strip('\n') */
            rstrip_newlines(reasoning, &n_reasoning);
            lstrip_newlines(&answer, &n_answer);
            tmpl(w, "<|im_start|>assistant\n<think>\n");
            content(w, reasoning, n_reasoning);
            tmpl(w, "\n</think>\n\n");
        } else {
            tmpl(w, "<|im_start|>assistant\n");
        }
        content(w, answer, n_answer);
        tmpl(w, "<|im_end|>\n");
    }
    if (o->add_generation_prompt) {
        tmpl(w, "<|im_start|>assistant\n");
        if (o->no_thinking)
            tmpl(w, "<think>\n\n</think>\n\n");
    }
}

/* ======================================================================== */
/* Llama 3                                                                   */
/* ======================================================================== */

static void llama3_turn(writer *w, const char *role_name, const char *c)
{
    size_t len = strlen(c);
    trim(&c, &len); /* the template applies `| trim` to every message */
    tmpl(w, "<|start_header_id|>");
    tmpl(w, role_name);
    tmpl(w, "<|end_header_id|>\n\n");
    content(w, c, len);
    tmpl(w, "<|eot_id|>");
}

/* Llama 3.1: BOS, then always a system block with two dates (the training
 * cut-off, and "today", which the template fixes at 26 Jul 2024 unless told)
 * followed by the first message's text if that message is a system one; then
 * each turn with a header, its text trimmed of surrounding whitespace. */
static void render_llama3(writer *w, const tpl_message *m, size_t n, const tpl_options *o)
{
    tmpl(w, o->bos ? o->bos : "");
    tmpl(w, "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: ");
    tmpl(w, o->date ? o->date : "26 Jul 2024");
    tmpl(w, "\n\n");
    size_t first = 0;
    if (n > 0 && role_of(m[0].role) == ROLE_SYSTEM) {
        const char *c = m[0].content;
        size_t len = strlen(c);
        trim(&c, &len);
        content(w, c, len);
        first = 1;
    }
    tmpl(w, "<|eot_id|>");
    for (size_t i = first; i < n; i++)
        llama3_turn(w, m[i].role, m[i].content);
    if (o->add_generation_prompt)
        tmpl(w, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

/* The first Llama 3 template: BOS before the first turn only, no system
 * block. LIMITATION: that template always ends with the assistant header;
 * here add_generation_prompt decides, as in its later revisions. */
static void render_llama3_0(writer *w, const tpl_message *m, size_t n, const tpl_options *o)
{
    for (size_t i = 0; i < n; i++) {
        if (i == 0)
            tmpl(w, o->bos ? o->bos : "");
        llama3_turn(w, m[i].role, m[i].content);
    }
    if (o->add_generation_prompt)
        tmpl(w, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

/* ======================================================================== */
/* Entry points                                                              */
/* ======================================================================== */

ls_status tpl_render(tpl_family f, const tpl_message *msgs, size_t n_msgs, const tpl_options *opt,
                     tpl_prompt *out)
{
    static const tpl_options defaults = { 0 };
    const tpl_options *o = opt ? opt : &defaults;
    out->n_bytes = 0;
    out->n_spans = 0;
    if (out->text)
        out->text[0] = 0;
    if ((unsigned)f >= TPL_N_FAMILIES || f == TPL_UNKNOWN)
        return ls_error(LS_ERR_ARG, "tpl_render: %d is not a chat-template family", (int)f);
    if (!msgs && n_msgs)
        return ls_error(LS_ERR_ARG, "tpl_render: NULL messages");
    for (size_t i = 0; i < n_msgs; i++) {
        const char *r = msgs[i].role;
        if (!r)
            return ls_error(LS_ERR_ARG, "message %zu of %zu has no role", i + 1, n_msgs);
        role k = role_of(r);
        if (k == ROLE_TOOL)
            return ls_error(LS_ERR_UNSUPPORTED,
                            "message %zu of %zu has role '%s': tool calls and tool results are not supported",
                            i + 1, n_msgs, r);
        if (k == ROLE_OTHER)
            return ls_error(LS_ERR_ARG, "message %zu of %zu has role '%.40s'; expected system, user or assistant",
                            i + 1, n_msgs, r);
        if (!msgs[i].content)
            return ls_error(LS_ERR_ARG, "message %zu of %zu (%s) has no content", i + 1, n_msgs, r);
    }

    writer w = { out, LS_OK };
    switch (f) {
    case TPL_DEEPSEEK_R1:
        render_r1(&w, msgs, n_msgs, o);
        break;
    case TPL_CHATML:
        render_chatml(&w, msgs, n_msgs, o, NULL);
        break;
    case TPL_QWEN25:
        render_chatml(&w, msgs, n_msgs, o, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
        break;
    case TPL_QWEN3:
        render_qwen3(&w, msgs, n_msgs, o);
        break;
    case TPL_LLAMA3:
        render_llama3(&w, msgs, n_msgs, o);
        break;
    case TPL_LLAMA3_0:
        render_llama3_0(&w, msgs, n_msgs, o);
        break;
    default:
        break;
    }
    if (w.st) {
        out->n_bytes = 0;
        out->n_spans = 0;
        if (out->text)
            out->text[0] = 0;
        return w.st;
    }
    if (!out->text) { /* nothing was written: still hand back "" */
        void *t = out->text;
        if (!grow(&w, &t, &out->cap_bytes, 1, 1))
            return w.st;
        out->text = t;
        out->text[0] = 0;
    }
    return LS_OK;
}

void tpl_prompt_free(tpl_prompt *p)
{
    if (!p)
        return;
    ls_free(p->text);
    ls_free(p->spans);
    memset(p, 0, sizeof *p);
}

ls_status tpl_encode(const tok_tokenizer *tok, const tpl_prompt *p, int32_t **ids, size_t *n_ids)
{
    *ids = NULL;
    *n_ids = 0;
    tok_span *allowed = ls_malloc((p->n_spans ? p->n_spans : 1) * sizeof *allowed);
    if (!allowed)
        return ls_error(LS_ERR_NOMEM, "out of memory encoding a chat prompt");
    size_t n_allowed = 0;
    for (size_t i = 0; i < p->n_spans; i++)
        if (p->spans[i].kind == TPL_SPAN_TEMPLATE)
            allowed[n_allowed++] = (tok_span){ p->spans[i].offset, p->spans[i].n_bytes };

    /* ids[0] is kept free for a BOS; about one token per 2 bytes is a
     * generous first guess, corrected by one retry. */
    size_t cap = p->n_bytes / 2 + 16, n = 0;
    int32_t *buf = ls_malloc((cap + 1) * sizeof *buf);
    ls_status st = buf ? tok_encode_spans(tok, p->text, p->n_bytes, allowed, n_allowed, 0, buf + 1, cap, &n)
                       : ls_error(LS_ERR_NOMEM, "out of memory encoding a chat prompt");
    if (st == LS_ERR_LIMIT && n > cap) {
        int32_t *q = ls_realloc(buf, (n + 1) * sizeof *buf);
        if (!q) {
            st = ls_error(LS_ERR_NOMEM, "out of memory for the %zu tokens of a chat prompt", n);
        } else {
            buf = q;
            cap = n;
            st = tok_encode_spans(tok, p->text, p->n_bytes, allowed, n_allowed, 0, buf + 1, cap, &n);
        }
    }
    ls_free(allowed);
    if (st) {
        ls_free(buf);
        return st;
    }
    int32_t bos = tok_bos(tok);
    if (tok_wants_bos(tok) && (n == 0 || buf[1] != bos)) {
        buf[0] = bos;
        n++;
    } else {
        memmove(buf, buf + 1, n * sizeof *buf);
    }
    *ids = buf;
    *n_ids = n;
    return LS_OK;
}
