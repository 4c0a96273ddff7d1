/* test_gguf_corrupt.c — hand-made hostile GGUF files, one defect each.
 *
 * Every case builds a file byte by byte (bad magic, versions 1 and 4, huge
 * counts and lengths, nested arrays, bad dimensions, unknown types,
 * misaligned / out-of-file / overlapping tensor data, duplicates...), copies
 * it into a buffer of exactly its size (so ASan sees any read past the end),
 * opens it, and checks three things a user would notice: the status, that
 * the message starts with the file's name, and that it names the field at
 * fault. A few well-formed edge cases (v2, no tensors, Q2_K, 4 dimensions,
 * tensors out of offset order) must open. Needs nothing from ../shared.
 * With LOCALSEEK_GGUF_SEED_DIR set, each case is also saved there as a
 * fuzzing seed (see fuzz/README.md).
 */
#include <stdint.h>
#include <string.h>

#include "base/alloc.h"
#include "check.h"
#include "gguf/gguf.h"

/* ======================================================================== */
/* A tiny byte builder                                                       */
/* ======================================================================== */

typedef struct {
    uint8_t p[4096];
    size_t n;
} bld;

static void put(bld *b, const void *d, size_t n)
{
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void u32(bld *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b->p[b->n++] = (uint8_t)(v >> (8 * i));
}
static void u64(bld *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b->p[b->n++] = (uint8_t)(v >> (8 * i));
}
static void str(bld *b, const char *s)
{
    u64(b, strlen(s));
    put(b, s, strlen(s));
}
static void header(bld *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
    b->n = 0;
    put(b, "GGUF", 4);
    u32(b, version);
    u64(b, n_tensors);
    u64(b, n_kv);
}
static void kv_u32(bld *b, const char *key, uint32_t v)
{
    str(b, key);
    u32(b, GGUF_TYPE_U32);
    u32(b, v);
}
static void kv_str(bld *b, const char *key, const char *v)
{
    str(b, key);
    u32(b, GGUF_TYPE_STRING);
    str(b, v);
}
static void tensor(bld *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t offset)
{
    str(b, name);
    u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++)
        u64(b, ne[d]);
    u32(b, type);
    u64(b, offset);
}
static void pad(bld *b, size_t align)
{
    while (b->n % align)
        b->p[b->n++] = 0;
}
static void zeros(bld *b, size_t n)
{
    memset(b->p + b->n, 0, n);
    b->n += n;
}

/* ======================================================================== */
/* Checking one case                                                         */
/* ======================================================================== */

/* Opens b's bytes; expects status `want` and, on failure, a message starting
 * with the label and containing both fragments (NULL = no check). */
static void expect(const bld *b, ls_status want, const char *frag1, const char *frag2, const char *what)
{
    static int n_case;
    const char *seeds = getenv("LOCALSEEK_GGUF_SEED_DIR"); /* keep the cases as fuzzing seeds */
    if (seeds && *seeds) {
        char path[512];
        snprintf(path, sizeof path, "%s/crafted-%02d.gguf", seeds, n_case);
        FILE *out = fopen(path, "wb");
        CHECK(out && fwrite(b->p, 1, b->n, out) == b->n && fclose(out) == 0, "write seed %s", path);
    }
    n_case++;
    uint8_t *copy = ls_malloc(b->n ? b->n : 1);
    memcpy(copy, b->p, b->n);
    gguf_file *f = NULL;
    ls_error_clear();
    ls_status s = gguf_open_memory(copy, b->n, "crafted.gguf", &f);
    const char *msg = ls_error_msg();
    CHECK(s == want, "%s: got %s, expected %s (%s)", what, ls_status_str(s), ls_status_str(want), msg);
    if (want != LS_OK && s != LS_OK) {
        CHECK(strncmp(msg, "crafted.gguf: ", 14) == 0, "%s: message names the file: %s", what, msg);
        CHECK(!frag1 || strstr(msg, frag1), "%s: message lacks '%s': %s", what, frag1, msg);
        CHECK(!frag2 || strstr(msg, frag2), "%s: message lacks '%s': %s", what, frag2, msg);
        CHECK(strchr(msg, '\n') == NULL && strlen(msg) < 400, "%s: one short sentence: %s", what, msg);
        CHECK(f == NULL, "%s: no file on failure", what);
        printf("  %-28s -> %s\n", what, msg);
    }
    if (s == LS_OK)
        gguf_close(f);
    ls_free(copy);
}

/* A valid file: 2 keys, 2 F32 tensors of 8 elements (32 bytes each). */
static void valid(bld *b)
{
    header(b, 3, 2, 2);
    kv_str(b, "general.architecture", "llama");
    kv_u32(b, "llama.block_count", 1);
    tensor(b, "a", 1, (const uint64_t[]){ 8 }, 0, 0);
    tensor(b, "b", 1, (const uint64_t[]){ 8 }, 0, 32);
    pad(b, 32);
    zeros(b, 64);
}

int main(void)
{
    bld b;
    long base = ls_alloc_live();

    /* ---- well-formed edge cases ---- */
    valid(&b);
    expect(&b, LS_OK, NULL, NULL, "valid file");
    header(&b, 2, 0, 0);
    expect(&b, LS_OK, NULL, NULL, "v2, empty");
    header(&b, 3, 0, 1);
    kv_str(&b, "k", "");
    expect(&b, LS_OK, NULL, NULL, "no tensors, data offset past end");
    header(&b, 3, 2, 0);
    tensor(&b, "late", 4, (const uint64_t[]){ 256, 1, 1, 1 }, 10 /* Q2_K */, 96);
    tensor(&b, "early", 2, (const uint64_t[]){ 32, 2 }, 8 /* Q8_0 */, 0);
    pad(&b, 32);
    zeros(&b, 96 + 84);
    expect(&b, LS_OK, NULL, NULL, "Q2_K, 4 dims, out of order");

    /* ---- header ---- */
    b.n = 0;
    expect(&b, LS_ERR_FORMAT, "header", "expected at least 24", "empty file");
    valid(&b);
    memcpy(b.p, "GGML", 4);
    expect(&b, LS_ERR_FORMAT, "magic", "expected 'GGUF'", "bad magic");
    valid(&b);
    b.n = 10;
    expect(&b, LS_ERR_FORMAT, "the tensor count needs 8 bytes", "truncated", "truncated header");
    header(&b, 1, 0, 0);
    expect(&b, LS_ERR_UNSUPPORTED, "version 1", "expected version 2 or 3", "version 1");
    header(&b, 4, 0, 0);
    expect(&b, LS_ERR_UNSUPPORTED, "version 4", "expected 2 or 3", "version 4");
    header(&b, 0x03000000u, 0, 0);
    expect(&b, LS_ERR_FORMAT, "version", "big-endian", "byte-swapped version");
    header(&b, 3, 0, UINT64_MAX);
    expect(&b, LS_ERR_FORMAT, "n_kv", "expected at most 0", "huge n_kv");
    header(&b, 3, 1ull << 40, 0);
    zeros(&b, 100);
    expect(&b, LS_ERR_FORMAT, "n_tensors", "expected at most 3", "huge n_tensors");

    /* ---- keys and values ---- */
    header(&b, 3, 0, 1);
    u64(&b, UINT64_MAX);
    zeros(&b, 20);
    expect(&b, LS_ERR_FORMAT, "key #0", "key name has length 18446744073709551615", "huge key length");
    header(&b, 3, 0, 1);
    str(&b, "");
    u32(&b, GGUF_TYPE_U8);
    zeros(&b, 8);
    expect(&b, LS_ERR_FORMAT, "key #0", "0 bytes long", "empty key");
    header(&b, 3, 0, 1);
    u64(&b, 3);
    put(&b, "a\0b", 3);
    u32(&b, GGUF_TYPE_U8);
    zeros(&b, 8);
    expect(&b, LS_ERR_FORMAT, "key #0", "NUL", "NUL in key");
    header(&b, 3, 0, 1);
    str(&b, "general.name");
    u32(&b, GGUF_TYPE_STRING);
    u64(&b, 1ull << 62);
    zeros(&b, 8);
    expect(&b, LS_ERR_FORMAT, "key 'general.name'", "length 4611686018427387904", "huge string value");
    header(&b, 3, 0, 1);
    str(&b, "x");
    u32(&b, 13);
    zeros(&b, 8);
    expect(&b, LS_ERR_FORMAT, "key 'x'", "value type 13", "unknown value type");
    header(&b, 3, 0, 1);
    str(&b, "flag");
    u32(&b, GGUF_TYPE_BOOL);
    b.p[b.n++] = 2;
    expect(&b, LS_ERR_FORMAT, "key 'flag'", "expected 0 or 1", "bool 2");
    header(&b, 3, 0, 1);
    str(&b, "x");
    u32(&b, GGUF_TYPE_U64);
    u32(&b, 0);
    expect(&b, LS_ERR_FORMAT, "key 'x'", "u64 value", "truncated scalar");
    header(&b, 3, 0, 1);
    str(&b, "tokenizer.ggml.scores");
    u32(&b, GGUF_TYPE_ARRAY);
    u32(&b, GGUF_TYPE_F32);
    u64(&b, 1ull << 61);
    zeros(&b, 16);
    expect(&b, LS_ERR_FORMAT, "key 'tokenizer.ggml.scores'", "array of 2305843009213693952 f32", "huge array count");
    header(&b, 3, 0, 1);
    str(&b, "tokenizer.ggml.tokens");
    u32(&b, GGUF_TYPE_ARRAY);
    u32(&b, GGUF_TYPE_STRING);
    u64(&b, UINT64_MAX / 2);
    zeros(&b, 16);
    expect(&b, LS_ERR_FORMAT, "key 'tokenizer.ggml.tokens'", "strings cannot fit", "huge string-array count");
    header(&b, 3, 0, 1);
    str(&b, "tokenizer.ggml.tokens");
    u32(&b, GGUF_TYPE_ARRAY);
    u32(&b, GGUF_TYPE_STRING);
    u64(&b, 3);
    str(&b, "a");
    u64(&b, 1000);
    zeros(&b, 16);
    expect(&b, LS_ERR_FORMAT, "key 'tokenizer.ggml.tokens'", "string element 1 has length 1000", "bad array string");
    header(&b, 3, 0, 1);
    str(&b, "nest");
    u32(&b, GGUF_TYPE_ARRAY);
    u32(&b, GGUF_TYPE_ARRAY);
    u64(&b, 1);
    zeros(&b, 16);
    expect(&b, LS_ERR_FORMAT, "key 'nest'", "array of arrays", "nested array");
    header(&b, 3, 0, 1);
    str(&b, "e");
    u32(&b, GGUF_TYPE_ARRAY);
    u32(&b, 77);
    u64(&b, 0);
    expect(&b, LS_ERR_FORMAT, "key 'e'", "element type 77", "unknown element type");
    header(&b, 3, 0, 1);
    str(&b, "bools");
    u32(&b, GGUF_TYPE_ARRAY);
    u32(&b, GGUF_TYPE_BOOL);
    u64(&b, 3);
    put(&b, "\x01\x00\x07", 3);
    expect(&b, LS_ERR_FORMAT, "key 'bools'", "boolean element 2 is 7", "bool array element 7");
    header(&b, 3, 0, 2);
    kv_u32(&b, "dup", 1);
    kv_u32(&b, "dup", 2);
    expect(&b, LS_ERR_FORMAT, "key 'dup'", "appears twice", "duplicate key");
    header(&b, 3, 0, 1);
    str(&b, "general.alignment");
    u32(&b, GGUF_TYPE_I32);
    u32(&b, 32);
    expect(&b, LS_ERR_FORMAT, "general.alignment", "has type i32, expected u32", "alignment as i32");
    header(&b, 3, 0, 1);
    kv_u32(&b, "general.alignment", 0);
    expect(&b, LS_ERR_FORMAT, "general.alignment", "nonzero power of two", "alignment 0");
    header(&b, 3, 0, 1);
    kv_u32(&b, "general.alignment", 48);
    expect(&b, LS_ERR_FORMAT, "general.alignment", "is 48", "alignment 48");

    /* ---- tensors ---- */
#define TENSOR_CASE(name_, n_dims_, ne_, type_, off_, extra_, want_, f1_, f2_, what_)                              \
    do {                                                                                                            \
        header(&b, 3, 1, 0);                                                                                        \
        tensor(&b, name_, n_dims_, ne_, type_, off_);                                                               \
        pad(&b, 32);                                                                                                \
        zeros(&b, extra_);                                                                                          \
        expect(&b, want_, f1_, f2_, what_);                                                                         \
    } while (0)
    const uint64_t ne8[4] = { 8, 1, 1, 1 };
    TENSOR_CASE("t", 1, ne8, 0, 0, 32, LS_OK, NULL, NULL, "one tensor");
    TENSOR_CASE("t", 0, ne8, 0, 0, 32, LS_ERR_FORMAT, "tensor 't'", "n_dims is 0", "n_dims 0");
    TENSOR_CASE("t", 5, ((const uint64_t[]){ 8, 1, 1, 1, 1 }), 0, 0, 32, LS_ERR_FORMAT, "tensor 't'",
                "n_dims is 5, expected 1 to 4", "n_dims 5");
    TENSOR_CASE("t", 2, ((const uint64_t[]){ 8, 0 }), 0, 0, 32, LS_ERR_FORMAT, "tensor 't'", "dimension 1 is 0",
                "zero dimension");
    TENSOR_CASE("t", 2, ((const uint64_t[]){ 1ull << 62, 4 }), 0, 0, 32, LS_ERR_FORMAT, "tensor 't'", "overflow",
                "element count overflow");
    TENSOR_CASE("t", 1, ((const uint64_t[]){ UINT64_MAX }), 0, 0, 32, LS_ERR_FORMAT, "tensor 't'", "dimension 0",
                "dimension 2^64-1");
    TENSOR_CASE("t", 1, ((const uint64_t[]){ 1ull << 62 }), 28 /* F64 */, 0, 32, LS_ERR_FORMAT, "tensor 't'",
                "overflow a byte size", "byte size overflow");
    TENSOR_CASE("t", 1, ne8, 99, 0, 32, LS_ERR_UNSUPPORTED, "tensor 't'", "type id 99", "type id 99");
    TENSOR_CASE("t", 1, ne8, 4 /* removed Q4_2 */, 0, 32, LS_ERR_UNSUPPORTED, "tensor 't'", "type id 4", "type id 4");
    TENSOR_CASE("t", 1, ((const uint64_t[]){ 100 }), 12 /* Q4_K */, 0, 1024, LS_ERR_FORMAT, "tensor 't'",
                "multiple of 256", "row not a whole block");
    TENSOR_CASE("t", 1, ne8, 0, 64, 32, LS_ERR_FORMAT, "tensor 't'", "runs past the end", "offset outside file");
    TENSOR_CASE("t", 1, ne8, 0, UINT64_MAX - 31, 32, LS_ERR_FORMAT, "tensor 't'", "runs past the end",
                "offset near 2^64");
    TENSOR_CASE("t", 1, ne8, 0, 0, 31, LS_ERR_FORMAT, "tensor 't'", "runs past the end", "data one byte short");
    TENSOR_CASE("t", 1, ne8, 0, 8, 64, LS_ERR_FORMAT, "tensor 't'", "not a multiple of the alignment 32",
                "misaligned offset");
    TENSOR_CASE("0123456789012345678901234567890123456789012345678901234567890123", 1, ne8, 0, 0, 32, LS_ERR_FORMAT,
                "tensor #0", "64 bytes long", "64-byte tensor name");
    TENSOR_CASE("", 1, ne8, 0, 0, 32, LS_ERR_FORMAT, "tensor #0", "0 bytes long", "empty tensor name");
#undef TENSOR_CASE

    header(&b, 3, 1, 0);
    str(&b, "t");
    u32(&b, 4);
    u64(&b, 8), u64(&b, 1), u64(&b, 1); /* the fourth dimension is missing */
    expect(&b, LS_ERR_FORMAT, "tensor 't'", "a dimension needs 8 bytes", "truncated tensor info");

    header(&b, 3, 2, 0);
    tensor(&b, "a", 1, ne8, 0, 0);
    tensor(&b, "b", 1, (const uint64_t[]){ 16 }, 0, 0);
    pad(&b, 32);
    zeros(&b, 64);
    expect(&b, LS_ERR_FORMAT, "overlaps tensor", "expected disjoint", "overlap at same offset");
    header(&b, 3, 2, 0);
    tensor(&b, "a", 1, (const uint64_t[]){ 16 }, 0, 0);
    tensor(&b, "b", 1, ne8, 0, 32);
    pad(&b, 32);
    zeros(&b, 96);
    expect(&b, LS_ERR_FORMAT, "tensor 'b'", "overlaps tensor 'a'", "partial overlap");
    header(&b, 3, 2, 0);
    tensor(&b, "same", 1, ne8, 0, 0);
    tensor(&b, "same", 1, ne8, 0, 32);
    pad(&b, 32);
    zeros(&b, 64);
    expect(&b, LS_ERR_FORMAT, "tensor 'same'", "appears twice", "duplicate tensor name");
    header(&b, 3, 1, 1);
    kv_u32(&b, "general.alignment", 64);
    tensor(&b, "t", 1, ne8, 0, 32);
    pad(&b, 64);
    zeros(&b, 128);
    expect(&b, LS_ERR_FORMAT, "tensor 't'", "alignment 64", "offset misaligned for 64");

    CHECK(ls_alloc_live() == base, "leaked %ld blocks", ls_alloc_live() - base);
    return check_done();
}
