/* gguf.h — reading GGUF model files (v2 and v3), validated, by mmap.
 *
 * A GGUF file is a self-describing container: a header, a list of typed
 * key/value metadata (architecture, hyper-parameters, tokenizer), a list of
 * tensor descriptions (name, shape, type, offset), then the tensor data,
 * aligned. Layout (all integers little-endian):
 *
 *   offset 0   "GGUF" magic (4 bytes)
 *              u32 version (2 or 3; v1 used 32-bit counts and is refused)
 *              u64 n_tensors, u64 n_kv
 *   n_kv  x    string key, u32 value_type, value
 *                value types: 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32,
 *                7 bool (1 byte), 8 string, 9 array, 10 u64, 11 i64, 12 f64
 *                string = u64 length + bytes (no NUL)
 *                array  = u32 element type + u64 count + elements (no nested arrays
 *                         of arrays in practice; we refuse them)
 *   n_tensors x string name, u32 n_dims (1..4), u64 dims[n_dims] (ne0 = row length
 *                first), u32 type (see dtype.h), u64 offset (relative to data start)
 *   padding to `general.alignment` (default 32)
 *   tensor data: each tensor at data_start + offset, offset a multiple of the alignment
 *
 * gguf_open() checks every count, length, type, dimension, offset and size
 * against the file before anything uses it; any failure returns a status and
 * one sentence naming the file and the field or tensor and what was expected:
 * LS_ERR_FORMAT for a malformed file, LS_ERR_UNSUPPORTED for a well-formed one
 * we cannot read (GGUF v1, a version above 3, an unknown tensor type id).
 * Differences from ggml's reader, on purpose. Stricter: every dimension must
 * be >= 1 (ggml allows empty tensors), booleans must be 0 or 1, keys and
 * tensor names must not contain NUL bytes. More lenient: tensors may lie in
 * any order and with gaps (ggml wants them packed in order); they only must
 * not overlap. Both refuse tensor names over 63 bytes, duplicate keys or
 * names, and a `general.alignment` that is not a u32 power of two.
 * Tensor types that are known but not computable (Q2_K, IQ*) are accepted,
 * so `info` can list them; whoever computes checks dtype_get(t->type)->supported.
 * Tensor data is never copied: gguf_tensor.data points into the read-only map.
 *
 * Owns: the mapping and the parsed index (keys and tensors).
 * Does not: interpret architecture keys (model does) or write files (gguf_write.h).
 * Called by: model loading, tokenizer loading, apps (info, quantize).
 */
#ifndef LS_GGUF_H
#define LS_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/dtype.h"
#include "base/status.h"

typedef enum {
    GGUF_TYPE_U8 = 0, GGUF_TYPE_I8 = 1, GGUF_TYPE_U16 = 2, GGUF_TYPE_I16 = 3,
    GGUF_TYPE_U32 = 4, GGUF_TYPE_I32 = 5, GGUF_TYPE_F32 = 6, GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8, GGUF_TYPE_ARRAY = 9, GGUF_TYPE_U64 = 10, GGUF_TYPE_I64 = 11,
    GGUF_TYPE_F64 = 12, GGUF_TYPE_COUNT
} gguf_type;

enum { GGUF_MAX_DIMS = 4, GGUF_DEFAULT_ALIGNMENT = 32 };

/* A string inside the file: not NUL-terminated. */
typedef struct {
    const char *ptr;
    uint64_t len;
} gguf_str;

typedef struct {
    gguf_str name;              /* 1..63 bytes, no NUL, unique in the file */
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS];  /* ne[0] = elements per row; unused dims are 1 */
    dtype type;
    uint64_t offset;            /* from the start of the data section */
    size_t size_bytes;          /* validated: data + size_bytes is inside the file */
    const void *data;           /* points into the read-only map */
} gguf_tensor;

typedef struct gguf_file gguf_file;

/* Opens and validates `path`. On success *out owns the mapping; release with
 * gguf_close(). On failure *out is NULL and ls_error_msg() says what is wrong.
 * Errors: LS_ERR_NOT_FOUND/LS_ERR_IO (cannot open or map), LS_ERR_FORMAT,
 * LS_ERR_UNSUPPORTED, LS_ERR_NOMEM. The index costs about 100 bytes per key
 * and tensor plus 8 bytes per string-array element (1.2 MB for a 151k vocab). */
ls_status gguf_open(const char *path, gguf_file **out);
/* Same, over a caller-owned buffer that must outlive the result (fuzzing, tests). */
ls_status gguf_open_memory(const void *data, size_t size_bytes, const char *label, gguf_file **out);
void gguf_close(gguf_file *f); /* gguf_close(NULL) is a no-op */

uint32_t gguf_version(const gguf_file *f);
size_t gguf_file_size(const gguf_file *f);
uint32_t gguf_alignment(const gguf_file *f);
size_t gguf_data_offset(const gguf_file *f); /* byte offset of the data section */
const char *gguf_path(const gguf_file *f);   /* path or label given at open */
/* Heap bytes the open file holds for its index (entries, sorted name
 * tables, string-array offsets); the map itself is not counted. */
size_t gguf_index_bytes(const gguf_file *f);

/* ---- metadata ------------------------------------------------------------ */
int64_t gguf_n_kv(const gguf_file *f);
/* Index of `key`, or -1 (binary search over a sorted index). */
int64_t gguf_find_key(const gguf_file *f, const char *key);
gguf_str gguf_key_name(const gguf_file *f, int64_t i);
gguf_type gguf_kv_type(const gguf_file *f, int64_t i);

/* Typed getters by key. Each returns LS_OK and the value, LS_ERR_NOT_FOUND if
 * the key is absent, or LS_ERR_FORMAT (with a message naming the key, the
 * expected and the actual type) if the type differs. The integer getters
 * accept any integer type whose value fits; gguf_get_f32 accepts F32 and F64
 * (an F64 beyond the float range reads as an infinity), gguf_get_f64 both too. */
ls_status gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out);
ls_status gguf_get_i32(const gguf_file *f, const char *key, int32_t *out);
ls_status gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out);
ls_status gguf_get_i64(const gguf_file *f, const char *key, int64_t *out);
ls_status gguf_get_f32(const gguf_file *f, const char *key, float *out);
ls_status gguf_get_f64(const gguf_file *f, const char *key, double *out);
ls_status gguf_get_bool(const gguf_file *f, const char *key, bool *out);
ls_status gguf_get_str(const gguf_file *f, const char *key, gguf_str *out);

/* Arrays: element type and count, then elements. For numeric arrays the data
 * pointer is into the file (little-endian, possibly unaligned: read with
 * memcpy); elem_type must match the array's exactly (no conversion).
 * String arrays are read one element at a time, in O(1) per element; an index
 * past the end gives LS_ERR_ARG. */
ls_status gguf_get_arr_info(const gguf_file *f, const char *key, gguf_type *elem_type, uint64_t *n);
ls_status gguf_get_arr_data(const gguf_file *f, const char *key, gguf_type elem_type, const void **data, uint64_t *n);
ls_status gguf_get_arr_str(const gguf_file *f, const char *key, uint64_t i, gguf_str *out);

/* Value accessors by index for generic listings (info, the quantizer copying
 * metadata). gguf_kv_raw returns the encoded value bytes (everything after the
 * u32 value type) and their length. */
void gguf_kv_raw(const gguf_file *f, int64_t i, const void **bytes, size_t *n_bytes);
/* For an array entry: its element type and count; GGUF_TYPE_COUNT and 0 for
 * a scalar entry. */
gguf_type gguf_kv_arr_type(const gguf_file *f, int64_t i);
uint64_t gguf_kv_arr_n(const gguf_file *f, int64_t i);

/* Convenience: compares a gguf_str with a C string. */
bool gguf_str_eq(gguf_str s, const char *c);

/* ---- tensors ------------------------------------------------------------- */
int64_t gguf_n_tensors(const gguf_file *f);
const gguf_tensor *gguf_tensor_at(const gguf_file *f, int64_t i);
/* NULL if absent. */
const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name);
int64_t gguf_tensor_n_elems(const gguf_tensor *t);

const char *gguf_type_name(gguf_type t); /* "u32", "string", ... */
/* Encoded size of one scalar value of type t; 0 for string, array and unknown ids. */
size_t gguf_type_size(uint32_t t);

#endif
