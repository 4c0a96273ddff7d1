/* fuzz_template.c — libFuzzer target for chat templates and span-aware encoding.
 *
 * An input is read as a conversation: the first byte picks the family (low
 * three bits) and whether to add the generation prompt (top bit); the rest
 * is cut at 0x00 bytes into messages, each one's first byte picking the role
 * (system, user, assistant) and the remaining bytes its content (any bytes:
 * invalid UTF-8, forged markers, Unicode spaces). The whole input is also
 * handed to tpl_detect() as a template text.
 * Invariants (a broken one calls abort(), which the fuzzer reports):
 *   - rendering succeeds; the spans tile the text, none empty, neighbours of
 *     different kinds, each content span a piece of some message;
 *   - tpl_encode() with the DeepSeek-R1 vocabulary succeeds, every id is in
 *     the vocabulary, BOS comes first exactly once;
 *   - special ids come only from template spans: their number equals the
 *     sum, over template spans, of the special ids in that span's text
 *     encoded alone with every special token parsed.
 * The vocabulary is loaded once from LOCALSEEK_SHARED (default ../shared).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "base/alloc.h"
#include "base/status.h"
#include "generate/template.h"
#include "tokenizer/tokenizer.h"

static tok_tokenizer *vocab;

static void load_vocab(void)
{
    if (vocab)
        return;
    const char *shared = getenv("LOCALSEEK_SHARED");
    char path[1024];
    snprintf(path, sizeof path, "%s/models/vocab-deepseek-r1-qwen.gguf", shared && *shared ? shared : "../shared");
    if (tok_load_file(path, &vocab) != LS_OK) {
        fprintf(stderr, "fuzz_template: cannot load %s (set LOCALSEEK_SHARED): %s\n", path, ls_error_msg());
        abort();
    }
}

static bool is_special(int32_t id)
{
    tok_type t = tok_token_type(vocab, id);
    return t == TOK_TYPE_CONTROL || t == TOK_TYPE_USER_DEFINED || t == TOK_TYPE_UNKNOWN;
}

static size_t count_special(const char *text, size_t len)
{
    size_t n = 0, n_ids = 0;
    FUZZ_ASSERT(tok_encode(vocab, text, len, TOK_PARSE_SPECIAL, NULL, 0, &n) == (n ? LS_ERR_LIMIT : LS_OK));
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    FUZZ_ASSERT(ids && tok_encode(vocab, text, len, TOK_PARSE_SPECIAL, ids, n, &n_ids) == LS_OK);
    size_t c = 0;
    for (size_t i = 0; i < n_ids; i++)
        c += is_special(ids[i]);
    free(ids);
    return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 16)
        return 0;
    load_vocab();

    char *detect_text = malloc(size + 1);
    memcpy(detect_text, data, size);
    detect_text[size] = 0;
    tpl_family detected = tpl_detect(detect_text);
    FUZZ_ASSERT((unsigned)detected < TPL_N_FAMILIES);
    free(detect_text);

    static const char *const roles[3] = { "system", "user", "assistant" };
    tpl_family family = (tpl_family)(1 + data[0] % (TPL_N_FAMILIES - 1));
    tpl_options opt = { .add_generation_prompt = (data[0] & 0x80) != 0,
                        .bos = "<\357\275\234begin\342\226\201of\342\226\201sentence\357\275\234>",
                        .no_thinking = (data[0] & 0x40) != 0 };

    /* messages: pieces between 0x00 bytes (copied so each is NUL-terminated) */
    size_t n_msgs = 0, cap = 8;
    tpl_message *m = malloc(cap * sizeof *m);
    for (size_t i = 1; i < size;) {
        size_t e = i;
        while (e < size && data[e] != 0)
            e++;
        if (e > i) {
            if (n_msgs == cap)
                m = realloc(m, (cap *= 2) * sizeof *m);
            char *c = malloc(e - i);
            memcpy(c, data + i + 1, e - i - 1);
            c[e - i - 1] = 0;
            m[n_msgs++] = (tpl_message){ roles[data[i] % 3], c };
        }
        i = e + 1;
    }

    tpl_prompt p = { 0 };
    FUZZ_ASSERT(tpl_render(family, m, n_msgs, &opt, &p) == LS_OK);
    FUZZ_ASSERT(p.text && strlen(p.text) == p.n_bytes);
    size_t off = 0, want_special = 0;
    for (size_t i = 0; i < p.n_spans; i++) {
        const tpl_span *s = &p.spans[i];
        FUZZ_ASSERT(s->offset == off && s->n_bytes > 0);
        FUZZ_ASSERT(i == 0 || s->kind != p.spans[i - 1].kind);
        if (s->kind == TPL_SPAN_CONTENT) {
            char *piece = ls_strndup(p.text + s->offset, s->n_bytes);
            bool found = false;
            for (size_t k = 0; k < n_msgs && !found; k++)
                found = strstr(m[k].content, piece) != NULL;
            FUZZ_ASSERT(found);
            ls_free(piece);
        } else {
            want_special += count_special(p.text + s->offset, s->n_bytes);
        }
        off += s->n_bytes;
    }
    FUZZ_ASSERT(off == p.n_bytes);

    int32_t *ids = NULL;
    size_t n_ids = 0;
    FUZZ_ASSERT(tpl_encode(vocab, &p, &ids, &n_ids) == LS_OK);
    int32_t bos = tok_bos(vocab);
    FUZZ_ASSERT(n_ids >= 1 && ids[0] == bos && (n_ids < 2 || ids[1] != bos));
    size_t got_special = 0;
    for (size_t i = 0; i < n_ids; i++) {
        FUZZ_ASSERT(ids[i] >= 0 && ids[i] < tok_n_vocab(vocab));
        got_special += is_special(ids[i]);
    }
    /* a BOS added by tpl_encode (the family writes none) is one more */
    bool added_bos = p.n_bytes == 0 || strncmp(p.text, opt.bos, strlen(opt.bos)) != 0;
    FUZZ_ASSERT(got_special == want_special + (added_bos ? 1 : 0));

    ls_free(ids);
    tpl_prompt_free(&p);
    for (size_t k = 0; k < n_msgs; k++)
        free((char *)(uintptr_t)m[k].content);
    free(m);
    return 0;
}
