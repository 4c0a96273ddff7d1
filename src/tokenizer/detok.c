/* detok.c — ids back to text, whole (tok_decode) or as a stream (tok_stream).
 *
 * How it works. Every token has a precomputed decoded piece (tok_internal.h):
 * raw bytes for byte-level BPE, spaces for "▁" and the byte itself for
 * <0xXX> in SentencePiece vocabularies. Decoding concatenates pieces, with
 * three rules: control and unknown tokens print only with TOK_DECODE_SPECIAL;
 * unused (padding) tokens never print; and for SentencePiece vocabularies
 * that add a leading "▁" when encoding (at the start, unless TOK_CONTINUE,
 * and after every special token), the first text piece at those places loses
 * its leading space again, so decode(encode(x)) == x.
 *
 * The stream. One token is not always one character: byte-level BPE and
 * byte fallback split rare characters (emoji, CJK) over several tokens of one
 * byte each. tok_stream keeps the bytes of an incomplete UTF-8 sequence (at
 * most 3) until the rest arrives, and turns bytes that can never become valid
 * (a stray continuation byte, an overlong form, a surrogate) into U+FFFD, so
 * whatever it returns can go straight to a terminal or into a JSON string.
 * Its buffers are sized at creation from the longest piece of the vocabulary
 * (each byte can become 3 bytes of U+FFFD), so pushing never allocates.
 */
#include <string.h>

#include "base/alloc.h"
#include "base/utf8.h"
#include "tokenizer/tok_internal.h"

/* The bytes token `id` prints under `flags` (NULL / 0 for nothing). */
static const char *print_piece(const tok_tokenizer *t, int32_t id, unsigned flags, size_t *n)
{
    *n = 0;
    if (id < 0 || id >= t->n_vocab)
        return NULL;
    uint8_t ty = t->type[id];
    if (ty == TOK_TYPE_UNUSED)
        return NULL;
    if ((ty == TOK_TYPE_CONTROL || ty == TOK_TYPE_UNKNOWN) && !(flags & TOK_DECODE_SPECIAL))
        return NULL;
    *n = t->piece_off[id + 1] - t->piece_off[id];
    return t->piece + t->piece_off[id];
}

const char *tok_piece(const tok_tokenizer *tok, int32_t id, size_t *n_bytes)
{
    if (id < 0 || id >= tok->n_vocab) {
        *n_bytes = 0;
        return NULL;
    }
    *n_bytes = tok->piece_off[id + 1] - tok->piece_off[id];
    return tok->piece + tok->piece_off[id];
}

static bool strips_lead(const tok_tokenizer *t, unsigned flags)
{
    return t->model == TOK_MODEL_SPM && t->add_space_prefix && !(flags & TOK_CONTINUE);
}

static bool is_special_type(const tok_tokenizer *t, int32_t id)
{
    if (id < 0 || id >= t->n_vocab)
        return false;
    uint8_t ty = t->type[id];
    return ty == TOK_TYPE_CONTROL || ty == TOK_TYPE_USER_DEFINED || ty == TOK_TYPE_UNKNOWN;
}

ls_status tok_decode(const tok_tokenizer *tok, const int32_t *ids, size_t n_ids, unsigned flags, char *out,
                     size_t cap, size_t *n_bytes)
{
    *n_bytes = 0;
    if (!tok || (!ids && n_ids) || (!out && cap))
        return ls_error(LS_ERR_ARG, "tok_decode: NULL tokenizer, ids or output buffer");
    bool strip = strips_lead(tok, flags);
    size_t o = 0;
    for (size_t i = 0; i < n_ids; i++) {
        size_t n;
        const char *p = print_piece(tok, ids[i], flags, &n);
        if (is_special_type(tok, ids[i])) {
            strip = strips_lead(tok, 0); /* the encoder put a "▁" after it */
        } else if (n) {
            if (strip && p[0] == ' ') {
                p++;
                n--;
            }
            strip = false;
        }
        if (!n)
            continue;
        if (o < cap)
            memcpy(out + o, p, n <= cap - o ? n : cap - o);
        o += n;
    }
    *n_bytes = o;
    if (o > cap)
        return ls_error(LS_ERR_LIMIT, "tok_decode: the text needs %zu bytes, the buffer holds %zu", o, cap);
    return LS_OK;
}

/* ======================================================================== */
/* Streaming                                                                 */
/* ======================================================================== */

struct tok_stream {
    const tok_tokenizer *tok;
    unsigned flags;
    bool strip;       /* the next printing piece loses one leading space */
    uint8_t hold[4];  /* start of an incomplete UTF-8 sequence */
    size_t n_hold;
    uint8_t *in;      /* [max_piece_bytes + 4] hold + piece */
    char *out;        /* [3 * (max_piece_bytes + 4)] */
};

ls_status tok_stream_new(const tok_tokenizer *tok, unsigned flags, tok_stream **out)
{
    *out = NULL;
    tok_stream *s = ls_calloc(1, sizeof *s);
    size_t n_in = (size_t)tok->max_piece_bytes + 4;
    if (s) {
        s->in = ls_malloc(n_in);
        s->out = ls_malloc(3 * n_in);
    }
    if (!s || !s->in || !s->out) {
        tok_stream_free(s);
        return ls_error(LS_ERR_NOMEM, "out of memory for a detokenizer stream");
    }
    s->tok = tok;
    s->flags = flags;
    s->strip = strips_lead(tok, flags);
    *out = s;
    return LS_OK;
}

void tok_stream_free(tok_stream *s)
{
    if (!s)
        return;
    ls_free(s->in);
    ls_free(s->out);
    ls_free(s);
}

const char *tok_stream_push(tok_stream *s, int32_t id, size_t *n_bytes)
{
    size_t n;
    const char *p = print_piece(s->tok, id, s->flags, &n);
    *n_bytes = 0;
    if (is_special_type(s->tok, id)) {
        s->strip = strips_lead(s->tok, 0);
    } else if (n) {
        if (s->strip && p[0] == ' ') {
            p++;
            n--;
        }
        s->strip = false;
    }
    if (!n)
        return s->out;
    memcpy(s->in, s->hold, s->n_hold);
    memcpy(s->in + s->n_hold, p, n);
    size_t len = s->n_hold + n;
    /* An unfinished character at the end waits for the next piece; every
     * other byte that cannot be part of a character becomes U+FFFD. */
    s->n_hold = utf8_incomplete_tail(s->in, len);
    memcpy(s->hold, s->in + len - s->n_hold, s->n_hold);
    size_t out_cap = 3 * ((size_t)s->tok->max_piece_bytes + 4); /* as allocated: never short */
    *n_bytes = utf8_write_valid((uint8_t *)s->out, out_cap, s->in, len - s->n_hold);
    return s->out;
}

const char *tok_stream_flush(tok_stream *s, size_t *n_bytes)
{
    *n_bytes = 0;
    if (s->n_hold) {
        memcpy(s->out, UTF8_REPLACEMENT, 3);
        *n_bytes = 3;
    }
    s->n_hold = 0;
    s->strip = strips_lead(s->tok, s->flags);
    return s->out;
}
