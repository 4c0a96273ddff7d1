/* test_gguf.c — GGUF writer and reader on files this test makes itself.
 *
 * 1. Round trip: a file with every metadata kind (13 scalar types, arrays of
 *    every element type, empty arrays and strings) and tensors of 1 to 4
 *    dimensions in six types (one known but unsupported) is written, read
 *    back and compared value by value and byte by byte; a second file made
 *    from the first with gguf_writer_copy_kv() must be byte-identical.
 * 2. Getters: integer conversions, range errors, wrong types, missing keys.
 * 3. Writer errors: bad declarations, wrong call order, a directory that does
 *    not exist, a write that fails half-way (RLIMIT_FSIZE stands in for a full
 *    disk): a clear message, and no file under the final name.
 * 4. Allocation failures injected at every allocation of open and of write:
 *    LS_ERR_NOMEM and nothing leaked.
 * Needs nothing from ../shared. With LOCALSEEK_GGUF_SEED_DIR set it also
 * leaves its small files there as fuzzing seeds (see fuzz/README.md).
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/alloc.h"
#include "check.h"
#include "gguf/gguf.h"
#include "gguf/gguf_write.h"

static char tmp_dir[64];

static void path_in_tmp(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", tmp_dir, name);
}

static bool file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* Whole file into a malloc'd buffer (caller frees). */
static uint8_t *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
    *n = fread(buf, 1, (size_t)len, f);
    fclose(f);
    return buf;
}

/* ======================================================================== */
/* The round-trip file                                                       */
/* ======================================================================== */

static const uint8_t a_u8[] = { 0, 1, 255 };
static const int8_t a_i8[] = { -128, 0, 127 };
static const uint16_t a_u16[] = { 0, 65535 };
static const int16_t a_i16[] = { -32768, 32767, -1 };
static const uint32_t a_u32[] = { 4000000000u, 7 };
static const int32_t a_i32[] = { INT32_MIN, INT32_MAX };
static const float a_f32[] = { 1.5f, -0.0f, 3.25e-20f };
static const uint8_t a_bool[] = { 1, 0, 1, 1 };
static const uint64_t a_u64[] = { UINT64_MAX, 0 };
static const int64_t a_i64[] = { INT64_MIN, INT64_MAX, -5 };
static const double a_f64[] = { 1e300, -2.5 };
static const char *const a_str[] = { "a", "", "h\xc3\xa9llo", "tokens can be long: 0123456789abcdef" };

typedef struct {
    const char *key;
    gguf_type elem;
    const void *data;
    uint64_t n;
    size_t elem_bytes;
} arr_case;

static const arr_case arr_cases[] = {
    { "a.u8", GGUF_TYPE_U8, a_u8, 3, 1 },       { "a.i8", GGUF_TYPE_I8, a_i8, 3, 1 },
    { "a.u16", GGUF_TYPE_U16, a_u16, 2, 2 },    { "a.i16", GGUF_TYPE_I16, a_i16, 3, 2 },
    { "a.u32", GGUF_TYPE_U32, a_u32, 2, 4 },    { "a.i32", GGUF_TYPE_I32, a_i32, 2, 4 },
    { "a.f32", GGUF_TYPE_F32, a_f32, 3, 4 },    { "a.bool", GGUF_TYPE_BOOL, a_bool, 4, 1 },
    { "a.u64", GGUF_TYPE_U64, a_u64, 2, 8 },    { "a.i64", GGUF_TYPE_I64, a_i64, 3, 8 },
    { "a.f64", GGUF_TYPE_F64, a_f64, 2, 8 },    { "a.empty", GGUF_TYPE_U32, a_u32, 0, 4 },
};
enum { N_ARR = sizeof arr_cases / sizeof arr_cases[0] };

typedef struct {
    const char *name;
    dtype type;
    uint32_t n_dims;
    int64_t ne[4];
} tensor_case;

static const tensor_case tensor_cases[] = {
    { "f32.1d", DT_F32, 1, { 5, 1, 1, 1 } },
    { "f16.2d", DT_F16, 2, { 4, 3, 1, 1 } },
    { "blk.0.q8_0", DT_Q8_0, 2, { 64, 2, 1, 1 } },
    { "q4_k.3d", DT_Q4_K, 3, { 256, 1, 2, 1 } },
    { "bf16.4d", DT_BF16, 4, { 2, 1, 3, 2 } },
    { "q2_k.known.but.unsupported", DT_Q2_K, 1, { 256, 1, 1, 1 } },
};
enum { N_TENSORS = sizeof tensor_cases / sizeof tensor_cases[0] };

static size_t tensor_bytes(const tensor_case *t)
{
    const dtype_info *ti = dtype_get(t->type);
    int64_t n = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
    return (size_t)(n / ti->block_elems) * (size_t)ti->block_bytes;
}

/* Deterministic content for tensor k. */
static void fill_tensor(uint8_t *buf, size_t n, int k)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(i * 31u + (unsigned)k * 7u + 1u);
}

/* Writes the round-trip file; returns the first failing status (the writer is always freed). */
static ls_status build_roundtrip(const char *path, uint32_t alignment)
{
    gguf_writer *w;
    ls_status s = gguf_writer_create(&w);
    if (s)
        return s;
    uint8_t u8 = 200;
    int8_t i8 = -100;
    uint16_t u16 = 60000;
    int16_t i16 = -30000;
    bool bt = true;
    uint8_t *buf = NULL;
    if ((s = gguf_writer_set_u32(w, "t.u32", 1)) ||  /* replaced below, keeps position 0 */
        (s = gguf_writer_set_str(w, "general.architecture", "llama")) ||
        (s = gguf_writer_set_str(w, "general.name", "round trip \xe2\x9c\x93")) ||
        (s = gguf_writer_set_scalar(w, "t.u8", GGUF_TYPE_U8, &u8)) ||
        (s = gguf_writer_set_scalar(w, "t.i8", GGUF_TYPE_I8, &i8)) ||
        (s = gguf_writer_set_scalar(w, "t.u16", GGUF_TYPE_U16, &u16)) ||
        (s = gguf_writer_set_scalar(w, "t.i16", GGUF_TYPE_I16, &i16)) ||
        (s = gguf_writer_set_i32(w, "t.i32", -2000000000)) || (s = gguf_writer_set_f32(w, "t.f32", 1.5f)) ||
        (s = gguf_writer_set_scalar(w, "t.bool", GGUF_TYPE_BOOL, &bt)) ||
        (s = gguf_writer_set_bool(w, "t.false", false)) || (s = gguf_writer_set_str(w, "t.str", "")) ||
        (s = gguf_writer_set_u64(w, "t.u64", (1ull << 63) + 5)) ||
        (s = gguf_writer_set_i64(w, "t.i64", INT64_MIN)) || (s = gguf_writer_set_f64(w, "t.f64", -1e300)) ||
        (s = gguf_writer_set_u32(w, "t.u32", 4000000000u)))
        goto done;
    for (int i = 0; i < N_ARR; i++)
        if ((s = gguf_writer_set_arr(w, arr_cases[i].key, arr_cases[i].elem, arr_cases[i].data, arr_cases[i].n)))
            goto done;
    if ((s = gguf_writer_set_arr_str(w, "a.str", a_str, 4)) || (s = gguf_writer_set_arr_str(w, "a.str0", a_str, 0)))
        goto done;
    if (alignment && (s = gguf_writer_set_u32(w, "general.alignment", alignment)))
        goto done;
    for (int k = 0; k < N_TENSORS; k++)
        if ((s = gguf_writer_add_tensor(w, tensor_cases[k].name, tensor_cases[k].type, tensor_cases[k].n_dims,
                                        tensor_cases[k].ne)))
            goto done;
    if ((s = gguf_writer_begin(w, path)))
        goto done;
    buf = malloc(1 << 16);
    for (int k = 0; k < N_TENSORS; k++) {
        size_t n = tensor_bytes(&tensor_cases[k]);
        fill_tensor(buf, n, k);
        if ((s = gguf_writer_write_data(w, buf, n)))
            goto done;
    }
    s = gguf_writer_finish(w);
done:
    free(buf);
    gguf_writer_free(w);
    return s;
}

static void check_roundtrip_file(const char *path, uint32_t alignment)
{
    gguf_file *f;
    ls_status s = gguf_open(path, &f);
    CHECK(s == LS_OK, "open %s: %s", path, ls_error_msg());
    if (s)
        return;
    uint32_t align = alignment ? alignment : 32;
    CHECK(gguf_version(f) == 3, "version %u", gguf_version(f));
    CHECK(gguf_alignment(f) == align, "alignment %u", gguf_alignment(f));
    CHECK(gguf_data_offset(f) % align == 0, "data offset %zu", gguf_data_offset(f));
    CHECK(gguf_n_kv(f) == 15 + N_ARR + 2 + (alignment ? 1 : 0), "n_kv %lld", (long long)gguf_n_kv(f));
    CHECK(gguf_key_name(f, 0).len == 5 && gguf_str_eq(gguf_key_name(f, 0), "t.u32"), "replaced key kept position 0");
    CHECK(gguf_kv_type(f, 0) == GGUF_TYPE_U32, "t.u32 type");
    const void *raw;
    size_t raw_n;
    gguf_kv_raw(f, 0, &raw, &raw_n);
    CHECK(raw_n == 4 && memcmp(raw, "\x00\x28\x6b\xee", 4) == 0, "t.u32 raw bytes are 4000000000 little-endian");

    /* scalars through every getter */
    uint32_t u32 = 0;
    int32_t i32 = 0;
    uint64_t u64 = 0;
    int64_t i64 = 0;
    float f32 = 0;
    double f64 = 0;
    bool b = false;
    gguf_str str;
    CHECK(gguf_get_u32(f, "t.u8", &u32) == LS_OK && u32 == 200, "u8 -> u32");
    CHECK(gguf_get_i32(f, "t.i8", &i32) == LS_OK && i32 == -100, "i8 -> i32");
    CHECK(gguf_get_u32(f, "t.u16", &u32) == LS_OK && u32 == 60000, "u16");
    CHECK(gguf_get_i64(f, "t.i16", &i64) == LS_OK && i64 == -30000, "i16 -> i64");
    CHECK(gguf_get_u32(f, "t.u32", &u32) == LS_OK && u32 == 4000000000u, "u32");
    CHECK(gguf_get_i32(f, "t.i32", &i32) == LS_OK && i32 == -2000000000, "i32");
    CHECK(gguf_get_u64(f, "t.u64", &u64) == LS_OK && u64 == (1ull << 63) + 5, "u64");
    CHECK(gguf_get_i64(f, "t.i64", &i64) == LS_OK && i64 == INT64_MIN, "i64 min");
    CHECK(gguf_get_f32(f, "t.f32", &f32) == LS_OK && f32 == 1.5f, "f32");
    CHECK(gguf_get_f64(f, "t.f32", &f64) == LS_OK && f64 == 1.5, "f32 -> f64");
    CHECK(gguf_get_f64(f, "t.f64", &f64) == LS_OK && f64 == -1e300, "f64");
    CHECK(gguf_get_f32(f, "t.f64", &f32) == LS_OK && isinf(f32) && f32 < 0, "f64 beyond float range -> -inf");
    CHECK(gguf_get_bool(f, "t.bool", &b) == LS_OK && b, "bool true");
    CHECK(gguf_get_bool(f, "t.false", &b) == LS_OK && !b, "bool false");
    CHECK(gguf_get_str(f, "t.str", &str) == LS_OK && str.len == 0, "empty string");
    CHECK(gguf_get_str(f, "general.name", &str) == LS_OK && gguf_str_eq(str, "round trip \xe2\x9c\x93"), "utf-8 string");

    /* conversions that must be refused, with the key and the types named */
    s = gguf_get_i32(f, "t.u32", &i32);
    CHECK(s == LS_ERR_FORMAT && strstr(ls_error_msg(), "'t.u32'") && strstr(ls_error_msg(), "does not fit i32"),
          "u32 4e9 -> i32: %s", ls_error_msg());
    s = gguf_get_u64(f, "t.i8", &u64);
    CHECK(s == LS_ERR_FORMAT && strstr(ls_error_msg(), "-100"), "negative -> u64: %s", ls_error_msg());
    CHECK(gguf_get_i64(f, "t.u64", &i64) == LS_ERR_FORMAT, "u64 2^63+5 -> i64 refused");
    s = gguf_get_str(f, "t.u8", &str);
    CHECK(s == LS_ERR_FORMAT && strstr(ls_error_msg(), "'t.u8' has type u8, expected string"), "u8 as string: %s",
          ls_error_msg());
    s = gguf_get_u32(f, "t.f32", &u32);
    CHECK(s == LS_ERR_FORMAT && strstr(ls_error_msg(), "has type f32, expected an integer"), "f32 as int: %s",
          ls_error_msg());
    CHECK(gguf_get_u32(f, "t.bool", &u32) == LS_ERR_FORMAT, "bool is not an integer");
    CHECK(gguf_get_f32(f, "t.u32", &f32) == LS_ERR_FORMAT, "int is not a float");
    s = gguf_get_u32(f, "a.u32", &u32);
    CHECK(s == LS_ERR_FORMAT && strstr(ls_error_msg(), "is an array of u32"), "array as scalar: %s", ls_error_msg());
    s = gguf_get_u32(f, "no.such.key", &u32);
    CHECK(s == LS_ERR_NOT_FOUND && strstr(ls_error_msg(), "'no.such.key' is missing"), "missing: %s",
          ls_error_msg());
    CHECK(gguf_find_key(f, "t.u3") < 0 && gguf_find_key(f, "t.u32x") < 0 && gguf_find_key(f, "") < 0,
          "no prefix matches");

    /* arrays: every element type, byte for byte */
    for (int i = 0; i < N_ARR; i++) {
        const arr_case *a = &arr_cases[i];
        gguf_type et;
        uint64_t n;
        const void *p;
        CHECK(gguf_get_arr_info(f, a->key, &et, &n) == LS_OK && et == a->elem && n == a->n, "%s info", a->key);
        s = gguf_get_arr_data(f, a->key, a->elem, &p, &n);
        CHECK(s == LS_OK && n == a->n && (n == 0 || memcmp(p, a->data, (size_t)n * a->elem_bytes) == 0),
              "%s data", a->key);
        int64_t k = gguf_find_key(f, a->key);
        CHECK(k >= 0 && gguf_kv_arr_type(f, k) == a->elem && gguf_kv_arr_n(f, k) == a->n, "%s by index", a->key);
    }
    const void *p;
    uint64_t n;
    s = gguf_get_arr_data(f, "a.u32", GGUF_TYPE_I32, &p, &n);
    CHECK(s == LS_ERR_FORMAT && strstr(ls_error_msg(), "expected an array of i32"), "elem type mismatch: %s",
          ls_error_msg());
    CHECK(gguf_get_arr_data(f, "a.str", GGUF_TYPE_STRING, &p, &n) == LS_ERR_ARG, "string arrays via arr_str only");
    for (uint64_t i = 0; i < 4; i++)
        CHECK(gguf_get_arr_str(f, "a.str", i, &str) == LS_OK && gguf_str_eq(str, a_str[i]), "a.str[%d]", (int)i);
    s = gguf_get_arr_str(f, "a.str", 4, &str);
    CHECK(s == LS_ERR_ARG && strstr(ls_error_msg(), "index 4"), "index past end: %s", ls_error_msg());
    gguf_type et;
    CHECK(gguf_get_arr_info(f, "a.str0", &et, &n) == LS_OK && et == GGUF_TYPE_STRING && n == 0, "empty str array");
    CHECK(gguf_get_arr_str(f, "a.u8", 0, &str) == LS_ERR_FORMAT, "numeric array via arr_str refused");
    CHECK(gguf_kv_arr_type(f, 0) == GGUF_TYPE_COUNT && gguf_kv_arr_n(f, 0) == 0, "scalar has no array info");

    /* tensors */
    CHECK(gguf_n_tensors(f) == N_TENSORS, "n_tensors %lld", (long long)gguf_n_tensors(f));
    uint8_t expect[1 << 16];
    size_t data_end = 0;
    for (int k = 0; k < N_TENSORS && k < gguf_n_tensors(f); k++) {
        const tensor_case *tc = &tensor_cases[k];
        const gguf_tensor *t = gguf_tensor_at(f, k);
        size_t nb = tensor_bytes(tc);
        fill_tensor(expect, nb, k);
        CHECK(gguf_str_eq(t->name, tc->name), "tensor %d name", k);
        CHECK(gguf_find_tensor(f, tc->name) == t, "find %s", tc->name);
        CHECK(t->type == tc->type && t->n_dims == tc->n_dims, "%s type/dims", tc->name);
        CHECK(memcmp(t->ne, tc->ne, sizeof t->ne) == 0, "%s shape", tc->name);
        CHECK(t->size_bytes == nb && t->offset % align == 0, "%s size %zu offset %llu", tc->name, t->size_bytes,
              (unsigned long long)t->offset);
        CHECK(memcmp(t->data, expect, nb) == 0, "%s data byte for byte", tc->name);
        CHECK(gguf_tensor_n_elems(t) == tc->ne[0] * tc->ne[1] * tc->ne[2] * tc->ne[3], "%s n_elems", tc->name);
        size_t end = (size_t)t->offset + nb;
        end = (end + align - 1) / align * align;
        if (end > data_end)
            data_end = end;
    }
    CHECK(gguf_find_tensor(f, "f32") == NULL && gguf_find_tensor(f, "nope") == NULL, "absent tensors");
    CHECK(gguf_file_size(f) == gguf_data_offset(f) + data_end, "file size %zu = data offset %zu + padded data %zu",
          gguf_file_size(f), gguf_data_offset(f), data_end);
    CHECK(!dtype_get(gguf_find_tensor(f, "q2_k.known.but.unsupported")->type)->supported,
          "Q2_K is read but flagged unsupported");
    gguf_close(f);
}

/* Writes `dst` from the open file at `src` with copy_kv and the tensor data; files must match byte for byte. */
static void check_copy(const char *src, const char *dst)
{
    gguf_file *f;
    gguf_writer *w;
    CHECK(gguf_open(src, &f) == LS_OK, "open %s", src);
    CHECK(gguf_writer_create(&w) == LS_OK, "create");
    for (int64_t i = 0; i < gguf_n_kv(f); i++)
        CHECK(gguf_writer_copy_kv(w, f, i) == LS_OK, "copy kv %lld", (long long)i);
    CHECK(gguf_writer_copy_kv(w, f, gguf_n_kv(f)) == LS_ERR_ARG, "copy kv past the end refused");
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
        CHECK(gguf_writer_add_tensor(w, name, t->type, t->n_dims, t->ne) == LS_OK, "add %s", name);
    }
    CHECK(gguf_writer_begin(w, dst) == LS_OK, "begin %s: %s", dst, ls_error_msg());
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        CHECK(gguf_writer_write_data(w, t->data, t->size_bytes) == LS_OK, "write %lld", (long long)i);
    }
    CHECK(gguf_writer_finish(w) == LS_OK, "finish: %s", ls_error_msg());
    gguf_writer_free(w);
    gguf_close(f);
    size_t na = 0, nb = 0;
    uint8_t *a = read_all(src, &na), *b = read_all(dst, &nb);
    CHECK(a && b && na == nb && memcmp(a, b, na) == 0, "copy of %s is byte-identical (%zu vs %zu bytes)", src, na,
          nb);
    free(a);
    free(b);
}

/* ======================================================================== */
/* Writer errors                                                             */
/* ======================================================================== */

static void check_writer_errors(void)
{
    gguf_writer *w;
    char path[128], tmp[140];
    CHECK(gguf_writer_create(&w) == LS_OK, "create");
    int64_t ne[4] = { 32, 2, 1, 1 };
    CHECK(gguf_writer_add_tensor(w, "ok", DT_Q8_0, 2, ne) == LS_OK, "valid tensor");
    CHECK(gguf_writer_add_tensor(w, "ok", DT_F32, 1, ne) == LS_ERR_ARG && strstr(ls_error_msg(), "twice"),
          "duplicate name: %s", ls_error_msg());
    CHECK(gguf_writer_add_tensor(w, "d0", DT_F32, 0, ne) == LS_ERR_ARG, "0 dims");
    CHECK(gguf_writer_add_tensor(w, "d5", DT_F32, 5, ne) == LS_ERR_ARG, "5 dims");
    int64_t zero[2] = { 4, 0 };
    CHECK(gguf_writer_add_tensor(w, "z", DT_F32, 2, zero) == LS_ERR_ARG && strstr(ls_error_msg(), "dimension 1"),
          "zero dim: %s", ls_error_msg());
    int64_t row100[1] = { 100 };
    CHECK(gguf_writer_add_tensor(w, "r", DT_Q4_K, 1, row100) == LS_ERR_ARG && strstr(ls_error_msg(), "256"),
          "row not a multiple of the block: %s", ls_error_msg());
    CHECK(gguf_writer_add_tensor(w, "u", (dtype)99, 1, ne) == LS_ERR_ARG, "unknown type");
    char long_name[80];
    memset(long_name, 'x', 64);
    long_name[64] = '\0';
    CHECK(gguf_writer_add_tensor(w, long_name, DT_F32, 1, ne) == LS_ERR_ARG, "64-byte name");
    CHECK(gguf_writer_add_tensor(w, "", DT_F32, 1, ne) == LS_ERR_ARG, "empty name");
    CHECK(gguf_writer_set_u32(w, "", 1) == LS_ERR_ARG, "empty key");
    CHECK(gguf_writer_set_arr(w, "k", GGUF_TYPE_STRING, a_str, 1) == LS_ERR_ARG, "set_arr with strings");
    CHECK(gguf_writer_set_scalar(w, "k", GGUF_TYPE_ARRAY, &ne) == LS_ERR_ARG, "set_scalar with array");

    /* a directory that does not exist */
    snprintf(path, sizeof path, "%s/no/such/dir/model.gguf", tmp_dir);
    ls_status s = gguf_writer_begin(w, path);
    CHECK(s == LS_ERR_IO && strstr(ls_error_msg(), "no/such/dir/model.gguf.tmp") &&
              strstr(ls_error_msg(), strerror(ENOENT)),
          "missing directory: %s", ls_error_msg());
    CHECK(!file_exists(path), "nothing under the final name");
    CHECK(gguf_writer_write_data(w, ne, 8) == LS_ERR_ARG, "write after failed begin refused");
    gguf_writer_free(w);

    /* call order and sizes */
    path_in_tmp(path, sizeof path, "order.gguf");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(gguf_writer_create(&w) == LS_OK, "create");
    CHECK(gguf_writer_finish(w) == LS_ERR_ARG, "finish before begin");
    CHECK(gguf_writer_add_tensor(w, "a", DT_F32, 1, ne) == LS_OK && gguf_writer_add_tensor(w, "b", DT_F32, 1, ne) == 0,
          "two tensors");
    CHECK(gguf_writer_begin(w, path) == LS_OK, "begin: %s", ls_error_msg());
    CHECK(file_exists(tmp) && !file_exists(path), "writes go to .tmp");
    CHECK(gguf_writer_set_u32(w, "late", 1) == LS_ERR_ARG, "set after begin");
    CHECK(gguf_writer_add_tensor(w, "c", DT_F32, 1, ne) == LS_ERR_ARG, "add after begin");
    float data[32] = { 0 };
    s = gguf_writer_write_data(w, data, 12);
    CHECK(s == LS_ERR_ARG && strstr(ls_error_msg(), "expected 128"), "wrong size: %s", ls_error_msg());
    CHECK(gguf_writer_write_data(w, data, sizeof data) == LS_OK, "first tensor");
    s = gguf_writer_finish(w);
    CHECK(s == LS_ERR_ARG && strstr(ls_error_msg(), "only 1 of 2"), "finish too early: %s", ls_error_msg());
    CHECK(!file_exists(tmp) && !file_exists(path), "early finish leaves no file");
    gguf_writer_free(w);

    /* freed before finish: the .tmp goes away */
    CHECK(gguf_writer_create(&w) == LS_OK, "create");
    CHECK(gguf_writer_begin(w, path) == LS_OK, "begin");
    CHECK(file_exists(tmp), ".tmp exists while writing");
    gguf_writer_free(w);
    CHECK(!file_exists(tmp) && !file_exists(path), "free removes the unfinished .tmp");

    /* bad general.alignment */
    CHECK(gguf_writer_create(&w) == LS_OK, "create");
    CHECK(gguf_writer_set_u32(w, "general.alignment", 48) == LS_OK, "set 48");
    CHECK(gguf_writer_begin(w, path) == LS_ERR_ARG && strstr(ls_error_msg(), "power of two"), "alignment 48: %s",
          ls_error_msg());
    gguf_writer_free(w);

    /* a write that fails half-way, as on a full disk: the file-size limit makes write() fail with EFBIG */
    struct rlimit old;
    getrlimit(RLIMIT_FSIZE, &old);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = { 16384, old.rlim_max };
    path_in_tmp(path, sizeof path, "full.gguf");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0, "setrlimit");
    CHECK(gguf_writer_create(&w) == LS_OK, "create");
    int64_t big[1] = { 65536 };
    CHECK(gguf_writer_add_tensor(w, "big", DT_F32, 1, big) == LS_OK, "add 256 KiB tensor");
    uint8_t *buf = calloc(1, 65536 * 4);
    s = gguf_writer_begin(w, path);
    if (s == LS_OK)
        s = gguf_writer_write_data(w, buf, 65536 * 4);
    if (s == LS_OK)
        s = gguf_writer_finish(w);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_handler);
    CHECK(s == LS_ERR_IO && strstr(ls_error_msg(), "full.gguf") && strstr(ls_error_msg(), "failed") &&
              strstr(ls_error_msg(), "no file was written"),
          "write error: %s", ls_error_msg());
    CHECK(!file_exists(path) && !file_exists(tmp), "a failed write leaves neither the file nor the .tmp");
    CHECK(gguf_writer_finish(w) == LS_ERR_ARG, "the failed writer refuses to finish");
    gguf_writer_free(w);
    free(buf);
}

/* ======================================================================== */
/* Allocation failures                                                       */
/* ======================================================================== */

static void check_alloc_failures(const char *good)
{
    long base = ls_alloc_live();
    int k, n_fail = 0;
    for (k = 1; k < 1000; k++) {
        gguf_file *f = (gguf_file *)&k; /* must be reset to NULL on failure */
        ls_alloc_fail_after(k);
        ls_status s = gguf_open(good, &f);
        ls_alloc_fail_after(0);
        if (s == LS_OK) {
            gguf_close(f);
            break;
        }
        n_fail++;
        CHECK(s == LS_ERR_NOMEM && f == NULL, "open with allocation %d failing: %s (%s)", k, ls_status_str(s),
              ls_error_msg());
        CHECK(ls_alloc_live() == base, "open leaked after allocation %d failed: %ld live", k, ls_alloc_live() - base);
    }
    CHECK(n_fail >= 5, "open made %d allocations, expected several", n_fail);
    printf("open: %d allocation failures handled\n", n_fail);

    char path[128];
    path_in_tmp(path, sizeof path, "nomem.gguf");
    n_fail = 0;
    for (k = 1; k < 1000; k++) {
        ls_alloc_fail_after(k);
        ls_status s = build_roundtrip(path, 0);
        ls_alloc_fail_after(0);
        if (s == LS_OK)
            break;
        n_fail++;
        CHECK(s == LS_ERR_NOMEM, "write with allocation %d failing: %s (%s)", k, ls_status_str(s), ls_error_msg());
        CHECK(ls_alloc_live() == base, "write leaked after allocation %d failed", k);
        CHECK(!file_exists(path), "no file after a failed write");
    }
    CHECK(n_fail >= 20, "writing made %d allocations, expected many", n_fail);
    printf("write: %d allocation failures handled\n", n_fail);
    check_roundtrip_file(path, 0);
    CHECK(ls_alloc_live() == base, "no leak overall");
}

int main(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/ls_test_gguf_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        printf("cannot create a temporary directory\n");
        return 1;
    }
    char a[128], b[128], c[128], d[128];
    path_in_tmp(a, sizeof a, "roundtrip.gguf");
    path_in_tmp(b, sizeof b, "copy.gguf");
    path_in_tmp(c, sizeof c, "align64.gguf");
    path_in_tmp(d, sizeof d, "align64-copy.gguf");

    long base = ls_alloc_live();
    CHECK(build_roundtrip(a, 0) == LS_OK, "write %s: %s", a, ls_error_msg());
    check_roundtrip_file(a, 0);
    check_copy(a, b);
    CHECK(build_roundtrip(c, 64) == LS_OK, "write %s: %s", c, ls_error_msg());
    check_roundtrip_file(c, 64);
    check_copy(c, d);
    CHECK(ls_alloc_live() == base, "round trips leaked %ld blocks", ls_alloc_live() - base);
    check_writer_errors();
    CHECK(ls_alloc_live() == base, "writer errors leaked %ld blocks", ls_alloc_live() - base);
    check_alloc_failures(a);

    const char *seeds = getenv("LOCALSEEK_GGUF_SEED_DIR");
    if (seeds && *seeds) {
        char dst[512];
        snprintf(dst, sizeof dst, "%s/seed-roundtrip.gguf", seeds);
        CHECK(build_roundtrip(dst, 0) == LS_OK, "seed %s", dst);
        snprintf(dst, sizeof dst, "%s/seed-align64.gguf", seeds);
        CHECK(build_roundtrip(dst, 64) == LS_OK, "seed %s", dst);
    }

    const char *names[] = { "roundtrip.gguf", "copy.gguf", "align64.gguf", "align64-copy.gguf", "nomem.gguf" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[128];
        path_in_tmp(p, sizeof p, names[i]);
        unlink(p);
    }
    rmdir(tmp_dir);
    return check_done();
}
