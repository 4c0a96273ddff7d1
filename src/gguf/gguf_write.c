/* gguf_write.c — GGUF v3 writer: metadata and tensor index in memory, data streamed.
 *
 * How it works. Each set_* call encodes the value at once into the exact bytes
 * that follow the u32 value type in the file (wkv.value), so a key copied from
 * another file with gguf_writer_copy_kv() is just those bytes again, and
 * writing the metadata later is one fwrite per key. Tensor declarations keep
 * name, type and shape; gguf_writer_begin() gives each tensor its offset (the
 * running total, each tensor padded to the alignment as ggml does), writes
 * header, metadata, tensor index and padding to "<path>.tmp", then the caller
 * streams each tensor's bytes in declaration order. gguf_writer_finish() pads,
 * flushes, fsyncs, closes and renames onto the final path, then fsyncs the
 * directory so the rename itself survives a power cut.
 *
 * Failure handling: the first I/O error is kept (errno text and byte count),
 * the .tmp file is closed and removed at once, and every later call reports
 * the same error; nothing is ever written under the final name except by the
 * atomic rename. A writer that is freed before finish() also removes its .tmp.
 *
 * State machine: DESCRIBE (set keys, add tensors) -> begin -> STREAM
 * (write_data x n_tensors) -> finish -> DONE; any error -> FAILED.
 */
#include "gguf/gguf_write.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"

enum { MAX_KEY_BYTES = 65535, MAX_TENSOR_NAME_BYTES = 63 };

typedef struct {
    char *key;            /* NUL-terminated copy */
    gguf_type type;
    uint8_t *value;       /* encoded value [value_bytes], as stored after the u32 type */
    size_t value_bytes;
} wkv;

typedef struct {
    char *name;
    dtype type;
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    size_t size_bytes;
    uint64_t offset;      /* from the start of the data section; set by begin() */
} wtensor;

typedef enum { ST_DESCRIBE, ST_STREAM, ST_DONE, ST_FAILED } wstate;

struct gguf_writer {
    wkv *kv;              /* [n_kv], in insertion order */
    int64_t n_kv, cap_kv;
    wtensor *tensors;     /* [n_tensors], in declaration order = data order */
    int64_t n_tensors, cap_tensors;
    wstate state;
    uint32_t alignment;
    char *path;           /* final path */
    char *tmp_path;       /* path + ".tmp" */
    FILE *fp;             /* open while streaming */
    uint64_t n_written_bytes;
    int64_t next_tensor;  /* next tensor whose data write_data() expects */
};

/* ======================================================================== */
/* Little-endian encoding                                                    */
/* ======================================================================== */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* ======================================================================== */
/* Create, free                                                              */
/* ======================================================================== */

ls_status gguf_writer_create(gguf_writer **out)
{
    *out = ls_calloc(1, sizeof **out);
    if (!*out)
        return ls_error(LS_ERR_NOMEM, "gguf writer: out of memory");
    (*out)->alignment = GGUF_DEFAULT_ALIGNMENT;
    return LS_OK;
}

/* Closes and removes an unfinished .tmp file. */
static void discard_tmp(gguf_writer *w)
{
    if (w->fp) {
        fclose(w->fp);
        w->fp = NULL;
        if (w->tmp_path)
            unlink(w->tmp_path);
    }
}

void gguf_writer_free(gguf_writer *w)
{
    if (!w)
        return;
    discard_tmp(w);
    for (int64_t i = 0; i < w->n_kv; i++) {
        ls_free(w->kv[i].key);
        ls_free(w->kv[i].value);
    }
    ls_free(w->kv);
    for (int64_t i = 0; i < w->n_tensors; i++)
        ls_free(w->tensors[i].name);
    ls_free(w->tensors);
    ls_free(w->path);
    ls_free(w->tmp_path);
    ls_free(w);
}

/* ======================================================================== */
/* Metadata                                                                  */
/* ======================================================================== */

static ls_status check_describing(const gguf_writer *w, const char *what)
{
    if (w->state != ST_DESCRIBE)
        return ls_error(LS_ERR_ARG, "gguf writer: %s is not allowed after gguf_writer_begin(), expected all "
                        "metadata and tensors to be declared first", what);
    return LS_OK;
}

/* Stores key = (type, value bytes), taking ownership of `value` in all cases. */
static ls_status set_value(gguf_writer *w, const char *key, gguf_type type, uint8_t *value, size_t value_bytes)
{
    ls_status s = check_describing(w, "setting a key");
    if (!s && (!key || !*key || strlen(key) > MAX_KEY_BYTES))
        s = ls_error(LS_ERR_ARG, "gguf writer: key name is empty or longer than %d bytes, expected 1 to %d bytes",
                     MAX_KEY_BYTES, MAX_KEY_BYTES);
    if (s) {
        ls_free(value);
        return s;
    }
    for (int64_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kv[i].key, key) == 0) { /* replace in place, keeping the position */
            ls_free(w->kv[i].value);
            w->kv[i].type = type;
            w->kv[i].value = value;
            w->kv[i].value_bytes = value_bytes;
            return LS_OK;
        }
    }
    if (w->n_kv == w->cap_kv) {
        int64_t cap = w->cap_kv ? w->cap_kv * 2 : 32;
        wkv *q = ls_realloc(w->kv, (size_t)cap * sizeof *q);
        if (!q) {
            ls_free(value);
            return ls_error(LS_ERR_NOMEM, "gguf writer: out of memory adding key '%s'", key);
        }
        w->kv = q;
        w->cap_kv = cap;
    }
    char *k = ls_strdup(key);
    if (!k) {
        ls_free(value);
        return ls_error(LS_ERR_NOMEM, "gguf writer: out of memory adding key '%s'", key);
    }
    w->kv[w->n_kv++] = (wkv){ k, type, value, value_bytes };
    return LS_OK;
}

static ls_status set_scalar(gguf_writer *w, const char *key, gguf_type type, uint64_t bits)
{
    size_t n = gguf_type_size(type);
    uint8_t *v = ls_malloc(n);
    if (!v)
        return ls_error(LS_ERR_NOMEM, "gguf writer: out of memory setting key '%s'", key ? key : "");
    for (size_t i = 0; i < n; i++)
        v[i] = (uint8_t)(bits >> (8 * i));
    return set_value(w, key, type, v, n);
}

ls_status gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v)
{
    return set_scalar(w, key, GGUF_TYPE_U32, v);
}

ls_status gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v)
{
    return set_scalar(w, key, GGUF_TYPE_I32, (uint32_t)v);
}

ls_status gguf_writer_set_u64(gguf_writer *w, const char *key, uint64_t v)
{
    return set_scalar(w, key, GGUF_TYPE_U64, v);
}

ls_status gguf_writer_set_i64(gguf_writer *w, const char *key, int64_t v)
{
    return set_scalar(w, key, GGUF_TYPE_I64, (uint64_t)v);
}

ls_status gguf_writer_set_f64(gguf_writer *w, const char *key, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return set_scalar(w, key, GGUF_TYPE_F64, bits);
}

ls_status gguf_writer_set_scalar(gguf_writer *w, const char *key, gguf_type type, const void *value)
{
    uint64_t bits;
    switch (type) {
    case GGUF_TYPE_U8: bits = *(const uint8_t *)value; break;
    case GGUF_TYPE_I8: bits = (uint8_t) * (const int8_t *)value; break;
    case GGUF_TYPE_U16: bits = *(const uint16_t *)value; break;
    case GGUF_TYPE_I16: bits = (uint16_t) * (const int16_t *)value; break;
    case GGUF_TYPE_U32: bits = *(const uint32_t *)value; break;
    case GGUF_TYPE_I32: bits = (uint32_t) * (const int32_t *)value; break;
    case GGUF_TYPE_U64: bits = *(const uint64_t *)value; break;
    case GGUF_TYPE_I64: bits = (uint64_t) * (const int64_t *)value; break;
    case GGUF_TYPE_BOOL: bits = *(const bool *)value ? 1 : 0; break;
    case GGUF_TYPE_F32: {
        uint32_t u;
        memcpy(&u, value, sizeof u);
        bits = u;
        break;
    }
    case GGUF_TYPE_F64: memcpy(&bits, value, sizeof bits); break;
    default:
        return ls_error(LS_ERR_ARG, "gguf writer: key '%s': gguf_writer_set_scalar cannot store a %s, expected a "
                        "number or bool type", key ? key : "", gguf_type_name(type));
    }
    return set_scalar(w, key, type, bits);
}

ls_status gguf_writer_set_f32(gguf_writer *w, const char *key, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    return set_scalar(w, key, GGUF_TYPE_F32, bits);
}

ls_status gguf_writer_set_bool(gguf_writer *w, const char *key, bool v)
{
    return set_scalar(w, key, GGUF_TYPE_BOOL, v ? 1 : 0);
}

ls_status gguf_writer_set_str(gguf_writer *w, const char *key, const char *v)
{
    size_t len = strlen(v);
    uint8_t *buf = ls_malloc(8 + len);
    if (!buf)
        return ls_error(LS_ERR_NOMEM, "gguf writer: out of memory setting key '%s'", key ? key : "");
    put64(buf, len);
    memcpy(buf + 8, v, len);
    return set_value(w, key, GGUF_TYPE_STRING, buf, 8 + len);
}

ls_status gguf_writer_set_arr(gguf_writer *w, const char *key, gguf_type elem_type, const void *data, uint64_t n)
{
    size_t eb = gguf_type_size(elem_type);
    if (eb == 0)
        return ls_error(LS_ERR_ARG, "gguf writer: key '%s': element type %s is not numeric, expected a numeric type "
                        "(use gguf_writer_set_arr_str for strings)", key ? key : "", gguf_type_name(elem_type));
    if (n > (SIZE_MAX - 12) / eb)
        return ls_error(LS_ERR_ARG, "gguf writer: key '%s': %" PRIu64 " elements is too many, expected an array "
                        "that fits in memory", key ? key : "", n);
    size_t bytes = 12 + (size_t)n * eb;
    uint8_t *buf = ls_malloc(bytes);
    if (!buf)
        return ls_error(LS_ERR_NOMEM, "gguf writer: out of memory setting key '%s' (%zu bytes)", key ? key : "",
                        bytes);
    put32(buf, (uint32_t)elem_type);
    put64(buf + 4, n);
    if (n)
        memcpy(buf + 12, data, (size_t)n * eb);
    return set_value(w, key, GGUF_TYPE_ARRAY, buf, bytes);
}

ls_status gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *strs, uint64_t n)
{
    size_t bytes = 12;
    for (uint64_t i = 0; i < n; i++)
        bytes += 8 + strlen(strs[i]);
    uint8_t *buf = ls_malloc(bytes);
    if (!buf)
        return ls_error(LS_ERR_NOMEM, "gguf writer: out of memory setting key '%s' (%zu bytes)", key ? key : "",
                        bytes);
    put32(buf, GGUF_TYPE_STRING);
    put64(buf + 4, n);
    uint8_t *p = buf + 12;
    for (uint64_t i = 0; i < n; i++) {
        size_t len = strlen(strs[i]);
        put64(p, len);
        memcpy(p + 8, strs[i], len);
        p += 8 + len;
    }
    return set_value(w, key, GGUF_TYPE_ARRAY, buf, bytes);
}

ls_status gguf_writer_copy_kv(gguf_writer *w, const gguf_file *src, int64_t i)
{
    if (i < 0 || i >= gguf_n_kv(src))
        return ls_error(LS_ERR_ARG, "gguf writer: key index %" PRId64 " is outside %s's %" PRId64 " keys", i,
                        gguf_path(src), gguf_n_kv(src));
    gguf_str name = gguf_key_name(src, i);
    const void *bytes;
    size_t n_bytes;
    gguf_kv_raw(src, i, &bytes, &n_bytes);
    char *key = ls_strndup(name.ptr, (size_t)name.len); /* the reader guarantees no NUL inside */
    uint8_t *value = ls_malloc(n_bytes);
    if (!key || !value) {
        ls_free(key);
        ls_free(value);
        return ls_error(LS_ERR_NOMEM, "gguf writer: out of memory copying key %" PRId64 " of %s", i, gguf_path(src));
    }
    memcpy(value, bytes, n_bytes);
    ls_status s = set_value(w, key, gguf_kv_type(src, i), value, n_bytes);
    ls_free(key);
    return s;
}

/* ======================================================================== */
/* Tensors                                                                   */
/* ======================================================================== */

ls_status gguf_writer_add_tensor(gguf_writer *w, const char *name, dtype type, uint32_t n_dims, const int64_t *ne)
{
    ls_status s = check_describing(w, "adding a tensor");
    if (s)
        return s;
    size_t name_len = name ? strlen(name) : 0;
    if (name_len == 0 || name_len > MAX_TENSOR_NAME_BYTES)
        return ls_error(LS_ERR_ARG, "gguf writer: tensor name '%s' is %zu bytes long, expected 1 to %d bytes",
                        name ? name : "", name_len, MAX_TENSOR_NAME_BYTES);
    for (int64_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return ls_error(LS_ERR_ARG, "gguf writer: tensor '%s' is declared twice, expected unique names", name);
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return ls_error(LS_ERR_ARG, "gguf writer: tensor '%s' has %" PRIu32 " dimensions, expected 1 to %d", name,
                        n_dims, GGUF_MAX_DIMS);
    const dtype_info *ti = dtype_get((uint32_t)type);
    if (!ti)
        return ls_error(LS_ERR_ARG, "gguf writer: tensor '%s' has %s, expected a known type", name,
                        dtype_name((uint32_t)type));
    wtensor t = { .type = type, .n_dims = n_dims, .ne = { 1, 1, 1, 1 } };
    int64_t n_elems = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        if (ne[d] < 1 || ne[d] > INT64_MAX / n_elems)
            return ls_error(LS_ERR_ARG, "gguf writer: tensor '%s' dimension %" PRIu32 " is %" PRId64 ", expected at "
                            "least 1 and an element count below 2^63", name, d, ne[d]);
        t.ne[d] = ne[d];
        n_elems *= ne[d];
    }
    if (!dtype_row_fits(type, t.ne[0]))
        return ls_error(LS_ERR_ARG, "gguf writer: tensor '%s' has rows of %" PRId64 " elements, expected a multiple "
                        "of the %s block size %d", name, t.ne[0], ti->name, ti->block_elems);
    uint64_t n_blocks = (uint64_t)n_elems / (uint64_t)ti->block_elems;
    if (n_blocks > SIZE_MAX / (uint64_t)ti->block_bytes)
        return ls_error(LS_ERR_ARG, "gguf writer: tensor '%s' is too large, expected a byte size below 2^64", name);
    t.size_bytes = (size_t)(n_blocks * (uint64_t)ti->block_bytes);

    if (w->n_tensors == w->cap_tensors) {
        int64_t cap = w->cap_tensors ? w->cap_tensors * 2 : 64;
        wtensor *q = ls_realloc(w->tensors, (size_t)cap * sizeof *q);
        if (!q)
            return ls_error(LS_ERR_NOMEM, "gguf writer: out of memory adding tensor '%s'", name);
        w->tensors = q;
        w->cap_tensors = cap;
    }
    t.name = ls_strdup(name);
    if (!t.name)
        return ls_error(LS_ERR_NOMEM, "gguf writer: out of memory adding tensor '%s'", name);
    w->tensors[w->n_tensors++] = t;
    return LS_OK;
}

/* ======================================================================== */
/* Streaming                                                                 */
/* ======================================================================== */

/* Records an I/O failure: removes the .tmp file, keeps one message. */
static ls_status io_fail(gguf_writer *w, const char *what, int err)
{
    discard_tmp(w);
    w->state = ST_FAILED;
    return ls_error(LS_ERR_IO, "%s: %s after %" PRIu64 " bytes: %s; no file was written under that name", w->path,
                    what, w->n_written_bytes, strerror(err));
}

static ls_status put(gguf_writer *w, const void *data, size_t n)
{
    if (n && fwrite(data, 1, n, w->fp) != n)
        return io_fail(w, "write failed", errno ? errno : EIO);
    w->n_written_bytes += n;
    return LS_OK;
}

static ls_status put_pad(gguf_writer *w)
{
    static const uint8_t zeros[256];
    uint64_t pad = (w->alignment - w->n_written_bytes % w->alignment) % w->alignment;
    while (pad) {
        size_t n = pad < sizeof zeros ? (size_t)pad : sizeof zeros;
        ls_status s = put(w, zeros, n);
        if (s)
            return s;
        pad -= n;
    }
    return LS_OK;
}

static ls_status put_str(gguf_writer *w, const char *s)
{
    uint8_t len[8];
    size_t n = strlen(s);
    put64(len, n);
    ls_status st = put(w, len, 8);
    return st ? st : put(w, s, n);
}

static ls_status put_u32(gguf_writer *w, uint32_t v)
{
    uint8_t b[4];
    put32(b, v);
    return put(w, b, 4);
}

static ls_status put_u64(gguf_writer *w, uint64_t v)
{
    uint8_t b[8];
    put64(b, v);
    return put(w, b, 8);
}

/* Alignment from `general.alignment` if set, checked the way the reader will. */
static ls_status pick_alignment(gguf_writer *w)
{
    w->alignment = GGUF_DEFAULT_ALIGNMENT;
    for (int64_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kv[i].key, "general.alignment") != 0)
            continue;
        uint32_t a = 0;
        if (w->kv[i].type == GGUF_TYPE_U32)
            a = (uint32_t)w->kv[i].value[0] | (uint32_t)w->kv[i].value[1] << 8 |
                (uint32_t)w->kv[i].value[2] << 16 | (uint32_t)w->kv[i].value[3] << 24;
        if (a == 0 || (a & (a - 1)) != 0)
            return ls_error(LS_ERR_ARG, "gguf writer: key 'general.alignment' must be a u32 nonzero power of two, "
                            "expected e.g. 32");
        w->alignment = a;
    }
    return LS_OK;
}

ls_status gguf_writer_begin(gguf_writer *w, const char *path)
{
    ls_status s = check_describing(w, "a second gguf_writer_begin()");
    if (s || (s = pick_alignment(w)))
        return s;
    size_t n = strlen(path);
    ls_free(w->path); /* a begin() that ran out of memory may be retried */
    ls_free(w->tmp_path);
    w->path = ls_strdup(path);
    w->tmp_path = ls_malloc(n + 5);
    if (!w->path || !w->tmp_path)
        return ls_error(LS_ERR_NOMEM, "gguf writer: out of memory");
    memcpy(w->tmp_path, path, n);
    memcpy(w->tmp_path + n, ".tmp", 5);

    /* offsets: each tensor starts at the next multiple of the alignment */
    uint64_t off = 0;
    for (int64_t i = 0; i < w->n_tensors; i++) {
        w->tensors[i].offset = off;
        uint64_t sz = w->tensors[i].size_bytes;
        uint64_t padded = sz + (w->alignment - sz % w->alignment) % w->alignment;
        if (padded < sz || off + padded < off)
            return ls_error(LS_ERR_ARG, "gguf writer: %s: tensor data exceeds 2^64 bytes", path);
        off += padded;
    }

    w->fp = fopen(w->tmp_path, "wb");
    if (!w->fp) {
        int e = errno;
        w->state = ST_FAILED;
        return ls_error(LS_ERR_IO, "%s: cannot create the temporary output file: %s", w->tmp_path, strerror(e));
    }
    w->state = ST_STREAM;
    w->n_written_bytes = 0;

    if ((s = put(w, "GGUF", 4)) || (s = put_u32(w, 3)) || (s = put_u64(w, (uint64_t)w->n_tensors)) ||
        (s = put_u64(w, (uint64_t)w->n_kv)))
        return s;
    for (int64_t i = 0; i < w->n_kv; i++)
        if ((s = put_str(w, w->kv[i].key)) || (s = put_u32(w, w->kv[i].type)) ||
            (s = put(w, w->kv[i].value, w->kv[i].value_bytes)))
            return s;
    for (int64_t i = 0; i < w->n_tensors; i++) {
        const wtensor *t = &w->tensors[i];
        if ((s = put_str(w, t->name)) || (s = put_u32(w, t->n_dims)))
            return s;
        for (uint32_t d = 0; d < t->n_dims; d++)
            if ((s = put_u64(w, (uint64_t)t->ne[d])))
                return s;
        if ((s = put_u32(w, (uint32_t)t->type)) || (s = put_u64(w, t->offset)))
            return s;
    }
    w->next_tensor = 0;
    return put_pad(w);
}

ls_status gguf_writer_write_data(gguf_writer *w, const void *data, size_t n_bytes)
{
    if (w->state != ST_STREAM)
        return ls_error(LS_ERR_ARG, "gguf writer: write_data outside begin()..finish()%s",
                        w->state == ST_FAILED ? " (an earlier error stopped this writer)" : "");
    if (w->next_tensor >= w->n_tensors)
        return ls_error(LS_ERR_ARG, "gguf writer: %s: more tensor data than the %" PRId64 " declared tensors",
                        w->path, w->n_tensors);
    const wtensor *t = &w->tensors[w->next_tensor];
    if (n_bytes != t->size_bytes)
        return ls_error(LS_ERR_ARG, "gguf writer: %s: tensor '%s' got %zu bytes, expected %zu", w->path, t->name,
                        n_bytes, t->size_bytes);
    ls_status s = put(w, data, n_bytes);
    if (s || (s = put_pad(w)))
        return s;
    w->next_tensor++;
    return LS_OK;
}

/* Makes the rename durable; failure here is harmless to the data, so ignored. */
static void sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

ls_status gguf_writer_finish(gguf_writer *w)
{
    if (w->state != ST_STREAM)
        return ls_error(LS_ERR_ARG, "gguf writer: finish without begin()%s",
                        w->state == ST_FAILED ? " (an earlier error stopped this writer)" : "");
    if (w->next_tensor != w->n_tensors) {
        ls_status s = ls_error(LS_ERR_ARG, "gguf writer: %s: only %" PRId64 " of %" PRId64 " tensors were written, "
                               "expected all of them before finish()", w->path, w->next_tensor, w->n_tensors);
        discard_tmp(w);
        w->state = ST_FAILED;
        return s;
    }
    if (fflush(w->fp) != 0)
        return io_fail(w, "write failed", errno);
    if (fsync(fileno(w->fp)) != 0)
        return io_fail(w, "fsync failed", errno);
    FILE *fp = w->fp;
    w->fp = NULL;
    if (fclose(fp) != 0) {
        int e = errno;
        unlink(w->tmp_path);
        w->state = ST_FAILED;
        return ls_error(LS_ERR_IO, "%s: closing failed: %s; no file was written under that name", w->path,
                        strerror(e));
    }
    if (rename(w->tmp_path, w->path) != 0) {
        int e = errno;
        unlink(w->tmp_path);
        w->state = ST_FAILED;
        return ls_error(LS_ERR_IO, "%s: cannot rename %s into place: %s", w->path, w->tmp_path, strerror(e));
    }
    sync_parent_dir(w->path);
    w->state = ST_DONE;
    return LS_OK;
}
