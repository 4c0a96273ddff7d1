/* gguf_write.h — writing GGUF v3 files.
 *
 * Two steps, so that a multi-gigabyte model never has to sit in memory:
 *   1. describe: set metadata keys and declare every tensor (name, type, shape);
 *   2. stream: gguf_writer_begin() writes the header and the tensor index with
 *      final offsets, then gguf_writer_write_data() is called once per tensor,
 *      in declaration order, with exactly that tensor's bytes, and
 *      gguf_writer_finish() pads, flushes, fsyncs and renames into place.
 * The output goes to "<path>.tmp" and is renamed only when complete, so a
 * crash or full disk never leaves a half-written file under the final name.
 * Files use the layout described in gguf.h, 32-byte alignment unless
 * `general.alignment` is set, and load in other GGUF readers.
 *
 * Owns: copies of all keys, values and tensor descriptions (not tensor data).
 * Called by: the quantizer, tests that build small models.
 */
#ifndef LS_GGUF_WRITE_H
#define LS_GGUF_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "gguf/gguf.h"

typedef struct gguf_writer gguf_writer;

/* Caller frees with gguf_writer_free() (which also removes an unfinished .tmp file). */
ls_status gguf_writer_create(gguf_writer **out);
void gguf_writer_free(gguf_writer *w);

/* Setting a key that already exists replaces its value (keeping its position).
 * Keys are 1..65535 bytes; all setters copy their arguments. After
 * gguf_writer_begin() nothing can be set or added any more (LS_ERR_ARG). */
ls_status gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v);
ls_status gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v);
ls_status gguf_writer_set_u64(gguf_writer *w, const char *key, uint64_t v);
ls_status gguf_writer_set_f32(gguf_writer *w, const char *key, float v);
ls_status gguf_writer_set_bool(gguf_writer *w, const char *key, bool v);
ls_status gguf_writer_set_i64(gguf_writer *w, const char *key, int64_t v);
ls_status gguf_writer_set_f64(gguf_writer *w, const char *key, double v);
ls_status gguf_writer_set_str(gguf_writer *w, const char *key, const char *v);
/* Any scalar type (u8, i8, u16, i16, ... f64, bool): `value` points to a
 * native value of that type (bool: a C bool). LS_ERR_ARG for string/array. */
ls_status gguf_writer_set_scalar(gguf_writer *w, const char *key, gguf_type type, const void *value);
/* Numeric array: n elements of elem_type, little-endian, copied. */
ls_status gguf_writer_set_arr(gguf_writer *w, const char *key, gguf_type elem_type, const void *data, uint64_t n);
ls_status gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *strs, uint64_t n);
/* Copies key i of an open file, value and type unchanged. */
ls_status gguf_writer_copy_kv(gguf_writer *w, const gguf_file *src, int64_t i);

/* Declares a tensor. ne[0] is the row length; it must fit the type's block size.
 * Names are 1..63 bytes and unique; 1..4 dimensions, each >= 1; any type
 * dtype_get() knows (LS_ERR_ARG otherwise). */
ls_status gguf_writer_add_tensor(gguf_writer *w, const char *name, dtype type, uint32_t n_dims, const int64_t *ne);

/* Creates "<path>.tmp" and writes header, metadata and tensor index.
 * LS_ERR_IO (message names the file and the system's reason) if it cannot. */
ls_status gguf_writer_begin(gguf_writer *w, const char *path);
/* Writes the data of the next declared tensor; n_bytes must equal its size. */
ls_status gguf_writer_write_data(gguf_writer *w, const void *data, size_t n_bytes);
/* Checks every tensor was written, then flushes, fsyncs and renames onto path.
 * On any I/O error (disk full...) the .tmp file is removed, nothing appears
 * under `path`, and the writer refuses further calls. */
ls_status gguf_writer_finish(gguf_writer *w);

#endif
