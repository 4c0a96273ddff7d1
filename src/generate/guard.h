/* guard.h — the resource guard: will this model fit, before it is loaded?
 *
 * Loading a model that does not fit in memory does not fail cleanly: the
 * machine starts swapping, everything slows to a crawl, and then the kernel
 * kills a process (often not ours). So before any load, localseek adds up
 * what the model will need, compares it with what the machine can give, and
 * refuses in one sentence with the numbers and a way out, like a removal
 * company that measures the staircase before carrying the piano up.
 *
 * What is added up (guard_estimate), all from the file's header and tensor
 * table — not one weight byte is read, so even a 70 GB file is judged in
 * milliseconds:
 *   weights  every tensor's bytes: the file is mapped, and generating reads
 *            every matrix once per token, so all of it ends up in memory;
 *   KV cache F16 keys and values for --ctx positions (model/kvcache.h),
 *            once per sequence served at the same time;
 *   scratch  activations for one prefill chunk, per-thread attention scores;
 *   tables   the file's metadata (mapped and read at open) and its index,
 *            the tokenizer's tables, F32 copies of the small 1-D tensors,
 *            and per-vocabulary arrays (logits, sampler);
 *   program  code, libraries and thread stacks: a fixed figure measured on
 *            the real binary (see GUARD_PROGRAM_BYTES in guard.c).
 *
 * What the machine can give (guard_limit): MemAvailable from /proc/meminfo,
 * or less when this process sits in a cgroup with a memory limit (v2
 * memory.max − memory.current, v1 memory.limit_in_bytes − usage, the
 * tightest of the cgroup and its parents); --mem-budget SIZE replaces both.
 * base/platform does the reading (plat_mem_limit_read); its /proc and /sys
 * reads go through a "system root" folder (empty = the real one; tests point
 * it at a fake tree, or set LOCALSEEK_SYSROOT).
 *
 * The verdict (guard_judge): TOO_BIG when the need exceeds the limit
 * (refuse), TIGHT when less than 15 % of the limit would be left spare
 * (warn), FITS otherwise, with a sentence naming the numbers and, when the
 * context is what is too big, the largest power-of-two --ctx that fits with
 * 15 % spare.
 *
 * While running, a guard_watch polls the resident memory cheaply and warns
 * once when it passes 80 % of the limit.
 *
 * Owns: nothing allocated (every struct is the caller's, by value).
 * Does not: load the model, print (log_warn aside), or exit.
 * Called by: the engine (engine_open, before model_load), apps (info's
 * report).
 */
#ifndef LS_GUARD_H
#define LS_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "base/status.h"
#include "gguf/gguf.h"
#include "model/model.h"

/* ---- sizes ------------------------------------------------------------- */

/* Parses a memory size: "123456" (bytes), "512M", "8G", "8GiB", "8GB",
 * "1.5g", "64k", "1T" — units are powers of 1024, any case, an optional
 * "B" or "iB" after the letter. Errors (LS_ERR_ARG, with a sentence): empty,
 * not a number, negative or zero, a fraction of a byte, an unknown unit, or
 * more than 2^62 bytes. */
ls_status guard_parse_size(const char *text, size_t *out_bytes);

/* "7.9 GiB", "312.4 MiB", "12.0 KiB", "512 bytes": one decimal. */
void guard_format_bytes(char *buf, size_t cap, size_t bytes);

/* ---- the estimate ------------------------------------------------------ */

/* Everything the estimate needs from one model file (guard_read_model), so
 * other --ctx values can be tried without the file. */
typedef struct {
    model_shape shape;       /* hyper-parameters and byte counts (model.h) */
    size_t header_bytes;     /* metadata at the front of the file: mapped and read when opened */
    size_t index_bytes;      /* the open file's index (gguf_index_bytes) */
    size_t tokenizer_bytes;  /* tok_memory_bytes */
} guard_model;

/* Reads an open GGUF's metadata and tensor table. Errors as model_read_shape
 * (not a model localseek can run: ls_error_msg() says why). */
ls_status guard_read_model(const gguf_file *f, guard_model *out);

typedef struct {
    int n_ctx;      /* KV cache positions; 0 = 4096, localseek's default */
    int n_batch;    /* tokens per prefill chunk; 0 = the engine's default */
    int n_threads;  /* worker threads; 0 = physical cores */
    int n_seq;      /* sequences served at once, each with its own KV cache; 0 = 1 */
} guard_params;

typedef struct {
    int n_ctx, n_batch, n_threads, n_seq; /* as used, defaults filled in */
    size_t weights_bytes;  /* mapped tensor data */
    size_t kv_bytes;       /* KV caches: n_seq of n_ctx positions */
    size_t scratch_bytes;  /* activations and per-thread buffers */
    size_t tables_bytes;   /* metadata, index, tokenizer, F32 copies, per-vocabulary arrays */
    size_t program_bytes;  /* code, libraries, thread stacks */
    size_t total_bytes;    /* the sum: the resident memory a full context reaches */
} guard_estimate;

void guard_estimate_model(const guard_model *gm, const guard_params *p, guard_estimate *out);

/* ---- the limit --------------------------------------------------------- */

typedef enum {
    GUARD_LIMIT_NONE = 0,     /* nothing could be read: no verdict */
    GUARD_LIMIT_MEMAVAILABLE, /* "available memory (MemAvailable)" */
    GUARD_LIMIT_CGROUP,       /* "the cgroup memory limit" */
    GUARD_LIMIT_BUDGET,       /* "--mem-budget" */
} guard_limit_kind;

typedef struct {
    guard_limit_kind kind;    /* which figure applies (the smallest) */
    size_t bytes;             /* the most this process may hold in all: the free figure plus what it holds now
                                 (a --mem-budget is taken as it is) */
    size_t free_bytes;        /* the figure as read: MemAvailable, cgroup room, or the budget */
    size_t held_bytes;        /* this process's resident memory when the limit was read */
    size_t mem_available_bytes; /* /proc/meminfo MemAvailable; 0 if unreadable */
    int cgroup_version;       /* 1 or 2 when a cgroup memory limit is set, else 0 */
    size_t cgroup_max_bytes;  /* the binding cgroup's limit */
    size_t cgroup_used_bytes; /* and its current usage */
} guard_limit;

/* The limit's name for sentences: "available memory (MemAvailable)", "the
 * cgroup memory limit", "--mem-budget", "unknown". */
const char *guard_limit_name(guard_limit_kind kind);

/* Reads what the machine can give. `sysroot`: folder holding proc/ and sys/
 * (NULL = $LOCALSEEK_SYSROOT, else the real root). Never fails: what cannot
 * be read is left out (kind NONE when nothing could). */
void guard_machine_limit(const char *sysroot, guard_limit *out);
/* A user budget: the whole process may hold `budget_bytes`. */
void guard_budget_limit(size_t budget_bytes, guard_limit *out);

/* ---- the verdict ------------------------------------------------------- */

typedef enum {
    GUARD_FITS = 0,  /* at least 15 % of the limit left spare */
    GUARD_TIGHT,     /* fits, less than 15 % spare: warn */
    GUARD_TOO_BIG,   /* does not fit: refuse before loading */
    GUARD_UNKNOWN,   /* no limit could be read: no verdict */
} guard_verdict;

enum {
    GUARD_SPARE_PERCENT = 15, /* below this share of the limit left over: TIGHT */
    GUARD_MIN_CTX = 256,      /* the smallest --ctx the guard suggests */
    GUARD_WATCH_PERCENT = 80, /* the running watch warns past this share */
};

typedef struct {
    guard_verdict verdict;
    guard_estimate need;       /* at the requested n_ctx */
    guard_limit limit;
    int spare_percent;         /* of the limit left over (negative: short by) */
    int suggest_ctx;           /* largest power of two in [256, n_ctx] that fits with 15 % spare; 0 if none */
    size_t suggest_bytes;      /* what the model needs at suggest_ctx */
    size_t min_ctx_bytes;      /* what it needs at --ctx 256 (or n_ctx, if smaller) */
    char sentence[640];        /* the plain-words verdict, numbers and way out; no trailing newline */
} guard_report;

const char *guard_verdict_name(guard_verdict v); /* "fits", "tight", "too big", "unknown" */

/* Estimates `gm` at p->n_ctx, compares with `lim`, and writes the report. */
void guard_judge(const guard_model *gm, const guard_params *p, const guard_limit *lim, guard_report *out);

/* ---- while running ----------------------------------------------------- */

/* Polls resident memory against the limit and warns once past 80 %. Cheap:
 * the first poll reads /proc/self/statm (one short read), later ones only
 * every `every_n` polls or when half a second has passed since the last
 * read, whichever comes first. A watch with limit 0 never warns. */
typedef struct guard_watch {
    size_t limit_bytes;   /* the limit the run was judged against */
    size_t warn_bytes;    /* 80 % of it */
    unsigned every_n;     /* polls between reads (16 by default) */
    unsigned calls;       /* polls since the last read */
    double last_read_s;   /* plat_now_s() of the last read */
    size_t rss_bytes;     /* resident memory at the last read */
    bool warned;          /* the warning has been given */
} guard_watch;

void guard_watch_init(guard_watch *w, size_t limit_bytes);
/* True exactly once: on the poll that first finds resident memory past 80 %
 * of the limit (it also logs a warning then). Call it once per generated
 * token, or per any unit of work. */
bool guard_watch_poll(guard_watch *w);

#endif
