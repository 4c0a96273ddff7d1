/* fuzz_gguf.c — libFuzzer target for the GGUF reader.
 *
 * Each input is handed to gguf_open_memory() as a whole file. Whatever the
 * bytes, the reader must either refuse them with a status and a one-sentence
 * message that names the input, or accept them — and then everything it
 * hands out must be usable: every key found again by name, every getter
 * answering consistently with the key's type, every string and array element
 * readable, every tensor's data inside the input. The walk touches the first
 * and last byte of everything the reader points at, so AddressSanitizer
 * catches any pointer outside the input (libFuzzer's buffer is exactly the
 * input's size). A broken invariant calls abort(), which the fuzzer reports.
 *
 * The same entry point serves the regression test: tests/test_fuzz_gguf_corpus.c
 * includes this file and calls LLVMFuzzerTestOneInput() on every file of
 * tests/corpus/gguf/, so the replay runs exactly the code that was fuzzed,
 * in the normal build and under ASan, without needing clang or libFuzzer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "base/status.h"
#include "gguf/gguf.h"

/* Reads the first and last byte of [p, p+n) so ASan checks both ends. */
static unsigned fuzz_touch(const void *p, uint64_t n)
{
    if (n == 0)
        return 0;
    const volatile uint8_t *b = p;
    return (unsigned)b[0] + b[n - 1];
}

static bool fuzz_inside(const uint8_t *base, size_t size, const void *p, uint64_t n)
{
    const uint8_t *q = p;
    return q >= base && (size_t)(q - base) <= size && n <= size - (size_t)(q - base);
}

static void fuzz_walk_key(const gguf_file *f, const uint8_t *data, size_t size, int64_t i, char *key)
{
    gguf_str name = gguf_key_name(f, i);
    FUZZ_ASSERT(name.len >= 1 && name.len <= 65535 && fuzz_inside(data, size, name.ptr, name.len));
    memcpy(key, name.ptr, (size_t)name.len);
    key[name.len] = '\0';
    FUZZ_ASSERT(strlen(key) == name.len); /* the reader refuses NUL inside keys */
    FUZZ_ASSERT(gguf_find_key(f, key) == i);
    FUZZ_ASSERT(gguf_str_eq(name, key));

    gguf_type t = gguf_kv_type(f, i);
    FUZZ_ASSERT((unsigned)t < GGUF_TYPE_COUNT);
    const void *raw;
    size_t raw_bytes;
    gguf_kv_raw(f, i, &raw, &raw_bytes);
    FUZZ_ASSERT(raw_bytes >= 1 && fuzz_inside(data, size, raw, raw_bytes));
    fuzz_touch(raw, raw_bytes);

    bool is_int = t == GGUF_TYPE_U8 || t == GGUF_TYPE_I8 || t == GGUF_TYPE_U16 || t == GGUF_TYPE_I16 ||
                  t == GGUF_TYPE_U32 || t == GGUF_TYPE_I32 || t == GGUF_TYPE_U64 || t == GGUF_TYPE_I64;
    uint32_t u32;
    int32_t i32;
    uint64_t u64;
    int64_t i64;
    float f32;
    double f64;
    bool b;
    gguf_str s;
    ls_status st;
    /* integer getters: OK only for integer keys, and then the value round-trips between getters */
    st = gguf_get_u32(f, key, &u32);
    FUZZ_ASSERT(st == LS_OK ? is_int : st == LS_ERR_FORMAT);
    st = gguf_get_i32(f, key, &i32);
    FUZZ_ASSERT(st == LS_OK ? is_int : st == LS_ERR_FORMAT);
    st = gguf_get_i64(f, key, &i64);
    FUZZ_ASSERT(st == LS_OK ? is_int : st == LS_ERR_FORMAT);
    if (gguf_get_u64(f, key, &u64) == LS_OK) {
        FUZZ_ASSERT(is_int);
        if (gguf_get_u32(f, key, &u32) == LS_OK)
            FUZZ_ASSERT(u32 == u64);
        else
            FUZZ_ASSERT(u64 > UINT32_MAX);
    }
    bool is_float = t == GGUF_TYPE_F32 || t == GGUF_TYPE_F64;
    FUZZ_ASSERT((gguf_get_f32(f, key, &f32) == LS_OK) == is_float);
    FUZZ_ASSERT((gguf_get_f64(f, key, &f64) == LS_OK) == is_float);
    FUZZ_ASSERT((gguf_get_bool(f, key, &b) == LS_OK) == (t == GGUF_TYPE_BOOL));
    st = gguf_get_str(f, key, &s);
    FUZZ_ASSERT((st == LS_OK) == (t == GGUF_TYPE_STRING));
    if (st == LS_OK) {
        FUZZ_ASSERT(fuzz_inside(data, size, s.ptr, s.len));
        fuzz_touch(s.ptr, s.len);
    }

    gguf_type et;
    uint64_t n;
    st = gguf_get_arr_info(f, key, &et, &n);
    FUZZ_ASSERT((st == LS_OK) == (t == GGUF_TYPE_ARRAY));
    if (st != LS_OK) {
        FUZZ_ASSERT(gguf_kv_arr_type(f, i) == GGUF_TYPE_COUNT && gguf_kv_arr_n(f, i) == 0);
        return;
    }
    FUZZ_ASSERT(et != GGUF_TYPE_ARRAY && (unsigned)et < GGUF_TYPE_COUNT);
    FUZZ_ASSERT(gguf_kv_arr_type(f, i) == et && gguf_kv_arr_n(f, i) == n);
    if (et == GGUF_TYPE_STRING) {
        for (uint64_t j = 0; j < n; j++) {
            FUZZ_ASSERT(gguf_get_arr_str(f, key, j, &s) == LS_OK);
            FUZZ_ASSERT(fuzz_inside(data, size, s.ptr, s.len));
            fuzz_touch(s.ptr, s.len);
        }
        FUZZ_ASSERT(gguf_get_arr_str(f, key, n, &s) == LS_ERR_ARG);
    } else {
        const void *p;
        uint64_t m;
        FUZZ_ASSERT(gguf_get_arr_data(f, key, et, &p, &m) == LS_OK && m == n);
        static const uint8_t elem_bytes[GGUF_TYPE_COUNT] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };
        FUZZ_ASSERT(fuzz_inside(data, size, p, n * elem_bytes[et]));
        fuzz_touch(p, n * elem_bytes[et]);
        FUZZ_ASSERT(gguf_get_arr_data(f, key, et == GGUF_TYPE_U8 ? GGUF_TYPE_I8 : GGUF_TYPE_U8, &p, &m) ==
                    LS_ERR_FORMAT);
        FUZZ_ASSERT(gguf_get_arr_str(f, key, 0, &s) == LS_ERR_FORMAT);
    }
}

static void fuzz_walk_tensor(const gguf_file *f, const uint8_t *data, size_t size, int64_t i)
{
    const gguf_tensor *t = gguf_tensor_at(f, i);
    char name[64];
    FUZZ_ASSERT(t->name.len >= 1 && t->name.len < sizeof name);
    memcpy(name, t->name.ptr, (size_t)t->name.len);
    name[t->name.len] = '\0';
    FUZZ_ASSERT(gguf_find_tensor(f, name) == t);
    FUZZ_ASSERT(t->n_dims >= 1 && t->n_dims <= GGUF_MAX_DIMS);
    const dtype_info *ti = dtype_get((uint32_t)t->type);
    FUZZ_ASSERT(ti != NULL);
    int64_t n = gguf_tensor_n_elems(t);
    FUZZ_ASSERT(n >= 1 && t->ne[0] % ti->block_elems == 0);
    FUZZ_ASSERT((uint64_t)t->size_bytes == (uint64_t)(n / ti->block_elems) * (uint64_t)ti->block_bytes);
    FUZZ_ASSERT(t->offset % gguf_alignment(f) == 0);
    FUZZ_ASSERT((const uint8_t *)t->data == data + gguf_data_offset(f) + t->offset);
    FUZZ_ASSERT(fuzz_inside(data, size, t->data, t->size_bytes));
    fuzz_touch(t->data, t->size_bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char label[] = "fuzz.gguf";
    gguf_file *f = NULL;
    ls_error_clear();
    ls_status st = gguf_open_memory(data, size, label, &f);
    if (st != LS_OK) {
        const char *msg = ls_error_msg();
        FUZZ_ASSERT(f == NULL);
        FUZZ_ASSERT(st == LS_ERR_FORMAT || st == LS_ERR_UNSUPPORTED || st == LS_ERR_NOMEM);
        FUZZ_ASSERT(strncmp(msg, "fuzz.gguf: ", strlen("fuzz.gguf: ")) == 0); /* names the input */
        FUZZ_ASSERT(strchr(msg, '\n') == NULL);                          /* one line */
        return 0;
    }
    FUZZ_ASSERT(gguf_version(f) == 2 || gguf_version(f) == 3);
    FUZZ_ASSERT(gguf_file_size(f) == size);
    uint32_t a = gguf_alignment(f);
    FUZZ_ASSERT(a != 0 && (a & (a - 1)) == 0 && gguf_data_offset(f) % a == 0);
    FUZZ_ASSERT(strcmp(gguf_path(f), label) == 0);

    static char key[65536]; /* keys are at most 65535 bytes */
    for (int64_t i = 0; i < gguf_n_kv(f); i++)
        fuzz_walk_key(f, data, size, i, key);
    /* an absent key: the fuzzer can put any name in a file (it once made this
       very one), so probe with a name and check whichever answer is right */
    static const char probe[] = "no.such.key.in.any.file";
    uint32_t u;
    int64_t k = gguf_find_key(f, probe);
    FUZZ_ASSERT(k < 0 ? gguf_get_u32(f, probe, &u) == LS_ERR_NOT_FOUND : gguf_str_eq(gguf_key_name(f, k), probe));

    for (int64_t i = 0; i < gguf_n_tensors(f); i++)
        fuzz_walk_tensor(f, data, size, i);
    const gguf_tensor *t = gguf_find_tensor(f, "no.such.tensor");
    FUZZ_ASSERT(t == NULL || gguf_str_eq(t->name, "no.such.tensor"));
    gguf_close(f);
    return 0;
}
