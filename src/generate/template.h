/* template.h — chat templates: turning a conversation into the one text a model reads.
 *
 * A chat model never sees "messages". It reads a single text in which each
 * turn is wrapped in markers it learned during training, a little like a
 * form whose boxes are labelled "user" and "assistant". ChatML, for example:
 *
 *     <|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n
 *
 * The text ends where the model should start writing (the "generation
 * prompt"). Each model family uses its own markers and rules (where the
 * system text goes, what is dropped from earlier answers), and ships them as
 * a small Jinja program in the GGUF key `tokenizer.chat_template`. A prompt
 * that is one byte off (a missing newline) is text the model never saw in
 * training, and its answers get quietly worse.
 *
 * This module does not interpret Jinja. tpl_detect() recognises which family
 * a template belongs to from substrings only that family's templates contain,
 * and tpl_render() applies that family's rules, written in C. The rules are
 * checked byte for byte against what Hugging Face transformers (Jinja2)
 * renders for the real templates (tests/test_template.c, with the cases in
 * ../shared/golden/templates). A template that is not recognised is reported
 * as TPL_UNKNOWN; callers then fall back to TPL_FALLBACK (plain ChatML) with a
 * warning, and the user can name the family (`--chat-template NAME`).
 *
 * Spans. Beside the text, tpl_render() records which byte ranges the
 * template wrote (markers, role names, a default system text) and which were
 * copied from message content. Only template-written ranges may turn into
 * special tokens: tpl_encode() passes them to tok_encode_spans(), so a user
 * who types "<|im_end|>" or "</think>" gets those characters, not a control
 * token that would end their turn or fake the model's reasoning.
 *
 * Owns: nothing between calls; a tpl_prompt belongs to its caller.
 * Does not: tool calls (a "tool" role is refused with an error), images,
 *   truncation to a context budget (the orchestrator), or Jinja itself.
 * Called by: apps (`localseek prompt`), later the chat loop and the server.
 */
#ifndef LS_TEMPLATE_H
#define LS_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

/* ---- families ------------------------------------------------------------ */
typedef enum {
    TPL_UNKNOWN = 0,
    TPL_DEEPSEEK_R1, /* "deepseek-r1": R1 distills (Qwen- and Llama-based), <｜User｜>…<｜Assistant｜> */
    TPL_CHATML,      /* "chatml": <|im_start|>role\n…<|im_end|>\n, nothing else (the fallback) */
    TPL_QWEN25,      /* "qwen2.5": ChatML with Qwen's default system text when none is given */
    TPL_QWEN3,       /* "qwen3": ChatML; reasoning kept only after the last user turn */
    TPL_LLAMA3,      /* "llama3": Llama 3.1 and later, a system block with knowledge and today's dates */
    TPL_LLAMA3_0,    /* "llama3.0": the first Llama 3 template, no system block */
    TPL_N_FAMILIES
} tpl_family;

/* What an unknown (or missing) template is rendered as. */
#define TPL_FALLBACK TPL_CHATML

/* The family whose template `template_text` is (NUL-terminated; NULL or ""
 * give TPL_UNKNOWN). Matching looks for markers and phrases particular to
 * each family; a ChatML template that handles <think> in a way this module
 * does not know (QwQ, for one) is TPL_UNKNOWN rather than a wrong guess. */
tpl_family tpl_detect(const char *template_text);

/* The family of the template a GGUF file carries (`tokenizer.chat_template`):
 * TPL_UNKNOWN when it has none (*has_template false) or one this module does
 * not know (*has_template true). has_template may be NULL. */
tpl_family tpl_detect_file(const gguf_file *f, bool *has_template);

/* The family to use for a model file: `forced` when set, else the file's own
 * template, else TPL_FALLBACK with a sentence in note[0..cap) saying why
 * ("PATH has no chat template; using chatml (choose another with
 * --chat-template NAME)"); note is "" otherwise. */
tpl_family tpl_family_for_file(const gguf_file *f, const char *path, tpl_family forced, char *note, size_t cap);

/* The family called `name` ("deepseek-r1", "chatml", "qwen2.5", "qwen3",
 * "llama3", "llama3.0"), or TPL_UNKNOWN. */
tpl_family tpl_family_from_name(const char *name);

/* ---- what the chat loop needs to know about a family --------------------- */
/* Sampling settings the model's authors recommend, in the sampler's terms
 * (generate/sampler.h: top_k 0, top_p 1 and min_p 0 mean "no limit";
 * repeat_penalty 1 means off). */
typedef struct {
    float temp;
    int top_k;
    float top_p;
    float min_p;
    float repeat_penalty;
} tpl_sampling;

typedef struct {
    const char *name;        /* for --chat-template and logs; "unknown" for TPL_UNKNOWN */
    const char *models;      /* which models use it, for people */
    bool opens_thought;      /* the generation prompt ends inside "<think>\n": the
                                answer starts with reasoning, its "</think>" to come */
    bool reasons;            /* answers carry <think>…</think> reasoning to split off */
    bool system_in_user;     /* the authors advise against a system prompt: the
                                chat loop puts system text into the first user turn */
    tpl_sampling sampling;
} tpl_info;

/* Facts about family `f`. Never NULL: TPL_UNKNOWN and out-of-range values
 * give a row named "unknown" with the sampler's generic defaults. */
const tpl_info *tpl_family_info(tpl_family f);

/* ---- rendering ----------------------------------------------------------- */
typedef struct {
    const char *role;    /* "system", "user" or "assistant" */
    const char *content; /* UTF-8, NUL-terminated; an assistant turn may hold <think>…</think> */
} tpl_message;

typedef struct {
    bool add_generation_prompt; /* end with the opening of the assistant's turn */
    /* The BOS and EOS token texts (tok_piece of tok_bos / tok_eos); NULL = "".
     * Templates write bos_token themselves (DeepSeek-R1, Llama 3), which is
     * why tpl_encode adds no second BOS. No supported family writes eos_token:
     * each writes its own end-of-turn marker literally, as its template does. */
    const char *bos;
    const char *eos;
    const char *date;  /* Llama 3.1 "Today Date: …"; NULL = "26 Jul 2024", the template's default */
    bool no_thinking;  /* Qwen3 enable_thinking=false: the generation prompt closes an empty thought */
} tpl_options;

typedef enum {
    TPL_SPAN_TEMPLATE, /* written by the template: may hold special tokens */
    TPL_SPAN_CONTENT,  /* copied from a message: always plain text */
} tpl_span_kind;

typedef struct {
    size_t offset;  /* into tpl_prompt.text */
    size_t n_bytes;
    tpl_span_kind kind;
} tpl_span;

/* A rendered prompt. The spans cover text[0..n_bytes) in order, without gaps
 * and without empty spans; two neighbours never have the same kind (they are
 * merged). Start from `tpl_prompt p = {0};`, pass it to tpl_render() as often
 * as needed (it reuses its buffers), and free with tpl_prompt_free(). */
typedef struct {
    char *text;       /* NUL-terminated (the NUL is not counted) */
    size_t n_bytes;
    tpl_span *spans;  /* [n_spans] */
    size_t n_spans;
    size_t cap_bytes; /* allocated sizes: private to template.c */
    size_t cap_spans;
} tpl_prompt;

/* Renders msgs[0..n_msgs) as family `f` into *out (its previous text is
 * replaced; out->text is "" for an empty result). `opt` NULL = all defaults.
 * No messages renders what the family writes around them (BOS, a system
 * block, the generation prompt), where some real templates raise an error.
 * Errors, each with a sentence naming the message: LS_ERR_UNSUPPORTED for a
 * "tool" (or "ipython", "function") role; LS_ERR_ARG for another unknown role,
 * a NULL role or content, or f not a family; LS_ERR_NOMEM. On error
 * out->n_bytes and out->n_spans are 0, and *out must still be freed. */
ls_status tpl_render(tpl_family f, const tpl_message *msgs, size_t n_msgs, const tpl_options *opt,
                     tpl_prompt *out);

/* Frees p's buffers and leaves it as {0}. tpl_prompt_free(NULL) is a no-op. */
void tpl_prompt_free(tpl_prompt *p);

/* Encodes a rendered prompt to token ids: special tokens are recognised only
 * in TPL_SPAN_TEMPLATE ranges (tok_encode_spans), and the BOS token is put
 * first when the tokenizer wants one (tok_wants_bos) and the text does not
 * already start with it (the template wrote it), as llama.cpp does, so BOS is
 * never doubled. On success the caller owns *ids (*n_ids of them) and frees
 * it with ls_free(). Errors as tok_encode (LS_ERR_NOMEM, LS_ERR_LIMIT). */
ls_status tpl_encode(const tok_tokenizer *tok, const tpl_prompt *p, int32_t **ids, size_t *n_ids);

#endif
