/* localseek.h — the public C API: open a model, ask it, stream the answer,
 * remember the conversation.
 *
 * Four objects, each opened and closed by the caller:
 *
 *   ls_runtime  the process's shared workers (one thread pool for every
 *               model it opens);
 *   ls_model    one model file ready to answer: the resource guard has
 *               checked it fits in memory (or in a budget) before a weight
 *               was read, and its tokenizer and chat template are loaded;
 *   ls_chat     one conversation with a model: the messages, the memory
 *               file behind them (sessions, recalled notes, the response
 *               cache, telemetry), and the settings answers are made with;
 *   ls_answer   what one answer was: sizes, times, why it stopped.
 *
 * A question goes: ls_chat_ask(chat, "...", &stream, &answer). The answer
 * streams through `stream` as complete UTF-8 characters, the model's
 * thinking (between <think> and </think>) apart from the answer proper.
 * ls_complete() is the one-shot form without a conversation (`localseek
 * run`). A second model is a second ls_model on the same runtime.
 *
 * Errors: every function that can fail returns an ls_status
 * (localseek_status.h) and leaves a sentence for the user in ls_error_msg().
 * Nothing prints, nothing exits. Threads: one call at a time per runtime
 * (the models of a runtime share its workers).
 *
 * examples/ask.c is a complete program using this header and nothing else.
 */
#ifndef LOCALSEEK_H
#define LOCALSEEK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "localseek_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ls_runtime ls_runtime;
typedef struct ls_model ls_model;
typedef struct ls_chat ls_chat;

/* ---- the runtime --------------------------------------------------------- */

typedef struct {
    int n_threads; /* worker threads, the caller's included; 0: the machine's physical cores */
} ls_runtime_options;

/* `o` may be NULL. Caller closes with ls_runtime_close() after its models. */
ls_status ls_runtime_open(const ls_runtime_options *o, ls_runtime **out);
void ls_runtime_close(ls_runtime *rt); /* NULL: no-op */

/* The most memory this process has held so far (resident), in bytes. */
size_t ls_peak_memory_bytes(void);

/* ---- models -------------------------------------------------------------- */

typedef struct {
    int n_ctx;               /* tokens a conversation may hold; 0: 4096 */
    int n_parallel;          /* conversations answered at the same time (one KV cache each); 0: 1 */
    size_t mem_budget_bytes; /* the most the process may use; 0: what the machine can give */
    const char *chat_template; /* "deepseek-r1", "chatml", "qwen2.5", "qwen3", "llama3", "llama3.0";
                                  NULL: the model's own (ChatML, with a warning, when it has none) */
    int act_bits;            /* 16 (0 too): nearly exact activations; 8: like llama.cpp */
} ls_model_options;

/* Whether `name` is a chat-template family localseek writes, and all their
 * names ("deepseek-r1, chatml, ..."), for messages. */
bool ls_chat_template_known(const char *name);
const char *ls_chat_template_names(void);

/* Opens a GGUF file. Refusals, each a sentence naming the file: LS_ERR_LIMIT
 * "FILE does not fit in memory: needs ... — use --ctx N ..." (before any
 * weight is read), LS_ERR_IO, LS_ERR_FORMAT, LS_ERR_UNSUPPORTED (an
 * architecture or tensor type localseek does not run), LS_ERR_ARG (an
 * unknown chat_template), LS_ERR_NOMEM. `o` may be NULL. Caller closes with
 * ls_model_close() before the runtime. */
ls_status ls_model_open(ls_runtime *rt, const char *path, const ls_model_options *o, ls_model **out);
void ls_model_close(ls_model *m); /* NULL: no-op */

typedef struct {
    const char *path, *name;   /* the file, and its name without folders */
    const char *architecture;  /* "qwen2", "llama", "qwen3" */
    const char *quant;         /* "Q4_K_M", ... */
    const char *chat_template; /* the family in use */
    bool has_template;         /* it is the model's own or the chosen one; false: ChatML as a guess, and
                                  ls_complete continues text as it is */
    int n_ctx, n_parallel, n_threads;
    int n_ctx_train;           /* the context the model was trained for */
    int n_vocab;               /* tokens in its vocabulary: the length of a row of scores */
    size_t file_bytes;
    double load_s;             /* seconds to open it */
    const char *fit_warning;   /* "" or a sentence: it fits, but with little room */
    const char *template_warning; /* "" or a sentence: no known template, ChatML is used */
} ls_model_info;

/* Strings point into the model. */
ls_model_info ls_model_get_info(const ls_model *m);

/* ---- how answers are made ------------------------------------------------ */

enum { LS_MAX_STOPS = 8 };

typedef struct {
    float temperature;       /* 0: always the most likely token */
    int top_k;               /* 0: off */
    float top_p, min_p;
    float repeat_penalty;    /* 1: off */
    float presence_penalty, frequency_penalty; /* 0: off */
    uint64_t seed;           /* same seed, same answers */
    int max_answer_tokens;   /* -1: no limit but the context */
    int think_budget;        /* thinking tokens before the thoughts are closed; -1: half the context, or four
                                times max_answer_tokens when set, at least 256 */
    double timeout_s;        /* 0: none; an answer cut by it is kept */
    const char *stops[LS_MAX_STOPS]; /* the answer ends before any of these texts */
    int n_stops;
} ls_settings;

/* The model family's recommended settings (DeepSeek-R1: temperature 0.6,
 * top-p 0.95), seed 42, no limits but the bounded thinking budget. */
ls_settings ls_default_settings(const ls_model *m);

/* ---- streaming and results ------------------------------------------------ */

typedef enum { LS_THINKING, LS_ANSWER } ls_text_part;

typedef struct {
    /* Text as it is written: complete UTF-8 characters, thinking or answer. */
    void (*on_text)(void *ctx, ls_text_part part, const char *text, size_t n_bytes);
    /* A sentence for the user (old turns left out, the thinking budget
     * reached, a turn not saved); NULL: ignored. */
    void (*on_note)(void *ctx, const char *sentence);
    /* Asked once per token: true stops the answer (what was written is kept). */
    bool (*cancelled)(void *ctx);
    void *ctx;
} ls_stream;

typedef struct {
    int n_prompt;            /* tokens the model read */
    int n_reused;            /* of those, kept from the previous turn (not read again) */
    int n_thinking, n_answer; /* tokens written */
    int n_dropped;           /* old messages left out to fit the context */
    int n_notes;             /* notes recalled from memory given with the question */
    int think_budget;        /* the thinking budget that applied */
    bool budget_closed;      /* the budget closed the thoughts */
    bool thought_unfinished; /* it ended while the model was still thinking */
    bool cached;             /* given from the response cache (the model did not run) */
    bool saved;              /* committed to the memory file (false without one, or when that failed) */
    const char *stop;        /* "end of turn", "answer length limit", "stop string", "context full",
                                "interrupted", "time limit", "cached" */
    double t_prefill_s, t_first_token_s, t_generate_s, t_total_s;
    double t_thinking_s;     /* from the first token to the end of the thoughts (0 without thoughts) */
    char cached_at[32];      /* when a cached answer was first given */
    char save_error[512];    /* why it was not saved, when a memory file failed */
} ls_answer;

/* ---- one-shot ------------------------------------------------------------ */

/* Writes the model's reply to `text`: as one user message of the model's
 * chat template, or, with `raw` (or a model with no template of its own),
 * as a continuation of the text itself (`parse_special`: special-token
 * texts in it count as those tokens). `s` NULL: ls_default_settings().
 * Errors: LS_ERR_LIMIT when the prompt does not fit the context (with both
 * sizes), LS_ERR_ARG (no tokens, bad settings), LS_ERR_NOMEM. */
ls_status ls_complete(ls_model *m, const char *text, bool raw, bool parse_special, const ls_settings *s,
                      const ls_stream *stream, ls_answer *out);

/* ---- scores: checking correctness ----------------------------------------- */

/* The ids of `text` as a prompt: BOS first when the model asks for it, and,
 * with parse_special, special-token texts (<|im_end|>) read as those tokens
 * (for test data; text a user typed should not). Writes at most `cap` ids
 * and the count needed to *n: LS_ERR_LIMIT when cap is too small (cap 0 and
 * ids NULL just count); LS_ERR_NOMEM. */
ls_status ls_tokenize(const ls_model *m, const char *text, bool parse_special, int32_t *ids, size_t cap, size_t *n);

/* Reads tokens[0..n) as a new sequence and writes the model's scores after
 * each of them to logits ([n][n_vocab], n_vocab from ls_model_get_info),
 * then, when n_greedy > 0, continues n_greedy tokens always taking the most
 * likely one, past end-of-text tokens too, calling on_step with each chosen
 * id and the scores it was chosen from. The context must hold n + n_greedy
 * tokens. Errors: LS_ERR_ARG (an id outside the vocabulary, no tokens),
 * LS_ERR_LIMIT (too long for the context), LS_ERR_NOMEM. */
ls_status ls_score(ls_model *m, const int32_t *tokens, int n, float *logits, int n_greedy,
                   void (*on_step)(void *ctx, int32_t id, const float *scores), void *ctx);

/* ---- converting a model file --------------------------------------------- */

/* Whether `type` names a format a model can be converted to (any case:
 * "Q4_K_M", "q8_0", ...), and all of them ("F16, BF16, Q8_0, ..."). */
bool ls_quant_type_known(const char *type);
const char *ls_quant_type_names(void);

/* One tensor's conversion: its name and shape, its type in the input file,
 * the type the rules chose and the one it got (the chosen one, or a
 * fallback when its row length is not a multiple of that type's block). */
typedef struct {
    char name[64];                  /* GGUF tensor names are at most 63 bytes */
    int n_dims;
    int64_t shape[4];
    const char *from, *wanted, *to; /* type names: "F16", "Q4_K", ... (static strings) */
    int wanted_block;               /* elements per block of `wanted` */
} ls_quant_tensor;

typedef struct {
    int64_t i_tensor, n_tensors;    /* the tensor just written, of how many */
    const ls_quant_tensor *tensor;
    uint64_t bytes_done, bytes_total; /* input tensor bytes processed so far, of all */
    double seconds;                 /* since the start */
} ls_quant_progress;

typedef struct {
    int n_threads;                  /* 0: the machine's physical cores */
    bool reference_rounding;        /* llama.cpp's plain rounding (byte-comparable files, slightly less exact) */
    void (*on_progress)(void *ctx, const ls_quant_progress *p); /* after every tensor; NULL: none */
    void *ctx;
} ls_quant_options;

typedef struct {
    const char *type;               /* the preset's name, "Q4_K_M" */
    unsigned file_type;             /* its general.file_type number */
    int n_threads;
    int64_t n_tensors;
    ls_quant_tensor *tensors;       /* [n_tensors], file order */
    int n_fallbacks;
    struct { const char *type; int64_t n; } counts[32]; /* tensors per output type, in the types' id order */
    int n_counts;
    uint64_t file_bytes_in, file_bytes_out;
    double seconds;
} ls_quant_report;

/* Converts in_path into out_path as `type` (out_path appears only once
 * complete). Errors, with nothing left at out_path: LS_ERR_ARG (an unknown
 * type), LS_ERR_IO, LS_ERR_FORMAT (a damaged input, NaN or infinite
 * weights), LS_ERR_UNSUPPORTED (a tensor type it cannot read), LS_ERR_NOMEM.
 * `o` may be NULL. On success the caller frees *out with
 * ls_quant_report_free(). */
ls_status ls_quantize(const char *in_path, const char *out_path, const char *type, const ls_quant_options *o,
                      ls_quant_report *out);
void ls_quant_report_free(ls_quant_report *r); /* NULL-safe; leaves *r zeroed */

/* ---- conversations -------------------------------------------------------- */

typedef struct {
    const char *system;      /* system text; NULL: none */
    const char *memory_path; /* the memory file (created if absent); NULL: nothing saved, recalled or cached */
    bool no_recall;          /* recall no notes from earlier conversations */
    bool no_cache;           /* never answer from the response cache */
    int memory_tokens;       /* room for recalled notes; 0: 512 */
    const char *label;       /* the command recorded in telemetry; NULL: "api" */
} ls_chat_options;

/* A new conversation answered by `m` with settings `s` (NULL: the
 * defaults). A memory file that cannot be opened is an error here
 * (LS_ERR_IO / LS_ERR_FORMAT with its sentence). Caller closes with
 * ls_chat_close() before the model. */
ls_status ls_chat_open(ls_model *m, const ls_chat_options *o, const ls_settings *s, ls_chat **out);
void ls_chat_close(ls_chat *c); /* NULL: no-op */

/* Asks one question. On success the question and the answer are part of the
 * conversation (an answer cut short too: out->stop says why). Errors, with
 * nothing added: LS_ERR_LIMIT (the message alone does not fit the context:
 * both sizes and a --ctx that would), LS_ERR_NOMEM. A memory file that
 * fails after the answer is not an error: out->saved is false and
 * out->save_error says why. */
ls_status ls_chat_ask(ls_chat *c, const char *question, const ls_stream *stream, ls_answer *out);

/* The last answer's text and thoughts ("" before the first). */
const char *ls_chat_last_answer(const ls_chat *c);
const char *ls_chat_last_thinking(const ls_chat *c);
size_t ls_chat_n_messages(const ls_chat *c);

/* The conversation's session in the memory file (0 until its first turn is
 * saved, or without a memory file). */
int64_t ls_chat_session(const ls_chat *c);
/* Continues stored session `id` (0: the latest) with its messages as
 * stored. LIMITATION: the system text stays this conversation's (the store
 * does not give back a session's yet). LS_ERR_NOT_FOUND for an unknown id
 * or an empty memory file; LS_ERR_ARG without a memory file. */
ls_status ls_chat_resume(ls_chat *c, int64_t id);
/* Starts a new session (the old one stays stored). */
void ls_chat_new_session(ls_chat *c);

/* ---- conversations: settings, messages, answering anew ------------------- */

/* Replaces the system text for the next questions (NULL: none). It takes
 * part in the response cache's key like the rest of the conversation.
 * LS_ERR_NOMEM. */
ls_status ls_chat_set_system(ls_chat *c, const char *system);

/* The thinking budget for the next answers: N tokens, or -1 for the default
 * (as ls_settings.think_budget -1). */
void ls_chat_set_think_budget(ls_chat *c, int budget);

typedef struct {
    const char *role;     /* "user" or "assistant" */
    const char *content;  /* what was said (an answer: without its thoughts) */
    const char *thinking; /* an answer's thoughts; "" when none, and for a question */
    const char *notes;    /* a question: the notes from memory given to the model with it; "" when none */
    bool interrupted;     /* an answer cut short (it did not end at the end of its turn) */
} ls_chat_message;

/* Message `i` of the conversation, oldest first (i < ls_chat_n_messages();
 * the system text is not one). Strings point into the conversation until it
 * next changes: a question, ls_chat_regenerate, ls_chat_resume,
 * ls_chat_new_session, ls_chat_forget, ls_chat_close. */
ls_chat_message ls_chat_get_message(const ls_chat *c, size_t i);

/* Answers the last question again with the model, when its answer came from
 * the response cache (`/nocache`): the cached turn leaves the conversation
 * and the memory file first, and the cache is skipped for this one question
 * (ls_chat_set_cache turns it off for good). Streams and reports as
 * ls_chat_ask. LS_ERR_ARG when the last answer was not from the cache (see
 * ls_chat_last_was_cached); other errors as ls_chat_ask's. */
ls_status ls_chat_regenerate(ls_chat *c, const ls_stream *stream, ls_answer *out);

/* ---- conversations: their memory ----------------------------------------- */

/* Answering repeated questions from the response cache, on or off for the
 * next questions (ls_chat_options.no_cache sets it at the start). */
void ls_chat_set_cache(ls_chat *c, bool on);
/* Whether the last answer was given from the response cache. */
bool ls_chat_last_was_cached(const ls_chat *c);

/* Deletes stored session `id` from the memory file: its messages and their
 * cache entries (telemetry rows stay, without the session). When it is this
 * conversation's session, the conversation starts again empty, in a new
 * session. LS_ERR_NOT_FOUND for an unknown id, LS_ERR_ARG without a memory
 * file. */
ls_status ls_chat_forget(ls_chat *c, int64_t id);

/* A note recalled from memory: an earlier stored message that shares words
 * with the question, given to the model with it. */
typedef struct {
    int64_t message_id, session_id; /* where it is stored */
    const char *role;       /* "user" or "assistant" */
    const char *created_at; /* "YYYY-MM-DD HH:MM:SS", local time */
    const char *content;    /* the stored message's words */
    double score;           /* how well it matched (BM25; higher: better) */
    int n_tokens;           /* of the memory_tokens room */
} ls_note;

/* The notes recalled for the last question (0 before it, without memory,
 * with no_recall, or when none matched), and note `i` (i < ls_chat_n_notes).
 * Strings point into the conversation until the next question or
 * ls_chat_close. */
size_t ls_chat_n_notes(const ls_chat *c);
ls_note ls_chat_get_note(const ls_chat *c, size_t i);

/* ---- the memory file ------------------------------------------------------ */

/* One SQLite file holds what the assistant remembers: the sessions and their
 * messages, the response cache and one telemetry row per request
 * (docs/memory.md). A conversation with a memory_path keeps it open; an
 * ls_memory opens it to read it on its own (`localseek history`), or is a
 * conversation's, to read while it goes on. Not thread-safe: one call at a
 * time per memory file. */
typedef struct ls_memory ls_memory;

/* The default file, $XDG_DATA_HOME/localseek/memory.db (else
 * $HOME/.local/share/localseek/memory.db), written to `buf` (at most `cap`
 * bytes). LS_ERR_NOT_FOUND when neither variable is set, LS_ERR_ARG when it
 * does not fit. */
ls_status ls_memory_default_path(char *buf, size_t cap);

/* Opens `path` (NULL: the default file), creating it and its folder when
 * absent, upgrading an older file. LIMITATION: always read-write (viewing
 * creates an absent file too). Errors, each a sentence naming the file and a
 * way out: LS_ERR_IO (cannot create or write it, in use past the wait),
 * LS_ERR_FORMAT (not a localseek memory file, damaged, from a newer
 * localseek), LS_ERR_NOT_FOUND (no default place), LS_ERR_NOMEM. Caller
 * closes with ls_memory_close(). */
ls_status ls_memory_open(const char *path, ls_memory **out);
void ls_memory_close(ls_memory *mem); /* NULL: no-op */
/* The file's path; points into `mem` until it is closed. */
const char *ls_memory_path(const ls_memory *mem);

/* The memory file conversation `c` saves to, for reading it while the
 * conversation goes on (/history, /sessions); NULL when it has none (memory
 * is off). It belongs to the conversation: valid until ls_chat_close(c),
 * and never given to ls_memory_close(). */
ls_memory *ls_chat_memory(ls_chat *c);

typedef struct {
    int64_t id;
    char *title;      /* the first question, shortened; "" before it */
    char *model;      /* the model file the session started with */
    char *created_at; /* "YYYY-MM-DD HH:MM:SS", local time */
    char *updated_at; /* its last activity, the same way */
    int n_messages;
} ls_session;

/* The sessions, the most recently active first, at most `limit` (<= 0:
 * all). Every string is the list's own copy; caller frees the list with
 * ls_session_list_free(*out, *n). */
ls_status ls_memory_list_sessions(ls_memory *mem, int limit, ls_session **out, size_t *n);
void ls_session_list_free(ls_session *list, size_t n); /* NULL: no-op */
/* Session `id`; LS_ERR_NOT_FOUND with a sentence when there is none. Caller
 * frees its strings with ls_session_clear(out). */
ls_status ls_memory_get_session(ls_memory *mem, int64_t id, ls_session *out);
void ls_session_clear(ls_session *s); /* NULL: no-op; *s is all zeros after */
/* The most recently active session; *id = 0 when there is none yet. */
ls_status ls_memory_latest_session(ls_memory *mem, int64_t *id);

typedef struct {
    int64_t id, session_id;
    char *role;            /* "user" or "assistant" */
    char *content;         /* the words (an answer: without its thoughts) */
    char *thinking;        /* an answer's thoughts; "" when none, and for a question */
    int n_tokens;          /* tokens of content; -1 unknown */
    int n_thinking_tokens;
    char *model;           /* an answer: the model that gave it; "" for a question */
    bool interrupted;      /* an answer cut short (Ctrl-C, a limit, the time limit) */
    bool cached;           /* an answer given from the response cache */
    char *created_at;      /* "YYYY-MM-DD HH:MM:SS", local time */
} ls_stored_message;

/* The last `last_n` messages of session `id` (<= 0: all), oldest first; an
 * unknown session has none. Every string is the list's own copy; caller
 * frees the list with ls_stored_message_list_free(*out, *n). */
ls_status ls_memory_messages(ls_memory *mem, int64_t id, int last_n, ls_stored_message **out, size_t *n);
void ls_stored_message_list_free(ls_stored_message *list, size_t n); /* NULL: no-op */

/* Per model, from the telemetry rows: requests, cache hits, and the median
 * and 95th percentile of the total time, the time to the first token and
 * the tokens per second (the last two over generated answers only). */
typedef struct {
    char *model;
    int n_requests, n_cache_hits, n_generated;
    double total_p50_s, total_p95_s;
    double ttft_p50_s, ttft_p95_s;
    double tokens_per_s_p50, tokens_per_s_p95;
} ls_model_stats;

/* One entry per model that answered a request. Strings are the list's own;
 * caller frees the list with ls_model_stats_list_free(*out, *n). */
ls_status ls_memory_stats(ls_memory *mem, ls_model_stats **out, size_t *n);
void ls_model_stats_list_free(ls_model_stats *list, size_t n); /* NULL: no-op */

#ifdef __cplusplus
}
#endif

#endif
