/* reasoning.c — a four-state machine over bytes.
 *
 *   START ──"<think>"──▶ THINK ──"</think>" or injected close──▶ AFTER_CLOSE
 *     │  (whitespace dropped)     (text is THINKING)               (whitespace dropped)
 *     └──anything else──▶ ANSWER ◀──first other character──────────┘
 *
 * START exists only when not starting in thought. In START and THINK,
 * `matched` counts the bytes of the awaited tag seen so far and not yet
 * delivered (OPEN_TAG in START, CLOSE_TAG in THINK). Held bytes are exactly
 * the first `matched` bytes of that tag, so releasing them re-emits the
 * constant: no text buffer. Neither tag repeats its first character '<', so
 * when a held prefix meets a wrong byte, the only place a new tag can begin
 * is that byte itself: release the held bytes, then look at the byte afresh.
 * In THINK, text up to the next '<' goes out in one callback.
 *
 * Tokens that arrive in START wait in n_waiting, because until START is left
 * nobody knows whether they belong to the thoughts or the answer.
 */
#include "generate/reasoning.h"

#include "base/alloc.h"

typedef enum { ST_START, ST_THINK, ST_AFTER_CLOSE, ST_ANSWER } rsn_stage;

#define OPEN_LEN (sizeof RSN_OPEN_TAG - 1)
#define CLOSE_LEN (sizeof RSN_CLOSE_TAG - 1)

struct rsn {
    rsn_emit_fn emit;
    void *ctx;
    rsn_stage st;
    size_t matched;  /* bytes of the awaited tag held back */
    int n_waiting;   /* tokens pushed in START, not yet counted */
    rsn_state s;     /* what rsn_get_state reports, in_thought derived from st */
};

ls_status rsn_create(bool starts_in_thought, rsn_emit_fn emit, void *ctx, rsn **out)
{
    *out = NULL;
    if (!emit)
        return ls_error(LS_ERR_ARG, "the reasoning splitter needs an output callback");
    rsn *r = ls_calloc(1, sizeof *r);
    if (!r)
        return ls_error(LS_ERR_NOMEM, "no memory for the reasoning splitter");
    r->emit = emit;
    r->ctx = ctx;
    rsn_reset(r, starts_in_thought);
    *out = r;
    return LS_OK;
}

void rsn_free(rsn *r)
{
    ls_free(r);
}

void rsn_reset(rsn *r, bool starts_in_thought)
{
    r->st = starts_in_thought ? ST_THINK : ST_START;
    r->matched = 0;
    r->n_waiting = 0;
    r->s = (rsn_state){ .thought = starts_in_thought };
}

rsn_state rsn_get_state(const rsn *r)
{
    rsn_state s = r->s;
    s.in_thought = r->st == ST_THINK;
    return s;
}

static void emit(rsn *r, rsn_part part, const char *text, size_t n)
{
    if (n > 0)
        r->emit(r->ctx, part, text, n);
}

/* Leaving START: the waiting tokens now know their part. */
static void leave_start(rsn *r, rsn_stage to)
{
    r->st = to;
    if (to == ST_THINK) {
        r->s.thought = true;
        r->s.n_thinking_tokens += r->n_waiting;
    } else {
        r->s.n_answer_tokens += r->n_waiting;
    }
    r->n_waiting = 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static void feed(rsn *r, const char *t, size_t n)
{
    size_t i = 0;
    while (i < n) {
        switch (r->st) {
        case ST_START:
            if (r->matched == 0 && is_space(t[i])) {
                i++;
            } else if (t[i] == RSN_OPEN_TAG[r->matched]) {
                i++;
                if (++r->matched == OPEN_LEN) {
                    r->matched = 0;
                    leave_start(r, ST_THINK);
                }
            } else { /* no thoughts: the held bytes and the rest are the answer */
                emit(r, RSN_ANSWER, RSN_OPEN_TAG, r->matched);
                r->matched = 0;
                leave_start(r, ST_ANSWER);
            }
            break;
        case ST_THINK:
            if (r->matched == 0) {
                size_t j = i;
                while (j < n && t[j] != '<')
                    j++;
                emit(r, RSN_THINKING, t + i, j - i);
                if (j < n)
                    r->matched = 1;
                i = j + (j < n);
            } else if (t[i] == RSN_CLOSE_TAG[r->matched]) {
                i++;
                if (++r->matched == CLOSE_LEN) {
                    r->matched = 0;
                    r->st = ST_AFTER_CLOSE;
                    r->s.closed = true;
                }
            } else { /* not the tag after all: the held bytes were thoughts */
                emit(r, RSN_THINKING, RSN_CLOSE_TAG, r->matched);
                r->matched = 0;
            }
            break;
        case ST_AFTER_CLOSE:
            while (i < n && is_space(t[i]))
                i++;
            if (i < n)
                r->st = ST_ANSWER;
            break;
        case ST_ANSWER:
            emit(r, RSN_ANSWER, t + i, n - i);
            i = n;
            break;
        }
    }
}

void rsn_push(rsn *r, const char *text, size_t n)
{
    if (r->st == ST_START)
        r->n_waiting++;
    else if (r->st == ST_THINK)
        r->s.n_thinking_tokens++;
    else
        r->s.n_answer_tokens++;
    feed(r, text, n);
}

void rsn_push_text(rsn *r, const char *text, size_t n)
{
    feed(r, text, n);
}

bool rsn_budget_reached(const rsn *r, int budget)
{
    return budget >= 0 && r->st == ST_THINK && r->s.n_thinking_tokens >= budget;
}

void rsn_close_injected(rsn *r)
{
    if (r->st != ST_THINK)
        return;
    emit(r, RSN_THINKING, RSN_CLOSE_TAG, r->matched);
    r->matched = 0;
    r->st = ST_AFTER_CLOSE;
    r->s.closed = true;
    r->s.close_injected = true;
}

void rsn_flush(rsn *r)
{
    if (r->st == ST_START) {
        emit(r, RSN_ANSWER, RSN_OPEN_TAG, r->matched);
        r->matched = 0;
        leave_start(r, ST_ANSWER);
    } else if (r->st == ST_THINK) {
        emit(r, RSN_THINKING, RSN_CLOSE_TAG, r->matched);
        r->matched = 0;
    }
}
