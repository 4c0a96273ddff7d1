/* gguf.c — the GGUF reader: one validating pass over the bytes, then an index.
 *
 * How it works. gguf_open() maps the file read-only (gguf_open_memory() takes
 * a caller's buffer instead) and parse() walks it once with a bounds-checked
 * cursor: every read first asks cur_need() whether that many bytes remain, so
 * no count or length taken from the file is ever used before it has been
 * compared with the bytes actually there. The walk records, for each key, where
 * its value lies (kv_entry) and, for each tensor, a filled gguf_tensor whose
 * `data` points into the map. Nothing is copied: keys, strings and tensor data
 * are all (pointer, length) views of the file, valid until gguf_close().
 *
 * Invariants once gguf_open() has returned LS_OK:
 *   - every kv_entry's value bytes, and every element of every array, lie
 *     inside the buffer; string-array elements can be reached in O(1) through
 *     str_offs (an offset table built during the walk, 8 bytes per string);
 *   - keys are unique and non-empty with no NUL byte; kv_index holds them
 *     sorted (byte order, then length) for binary search;
 *   - tensor names are unique, 1..63 bytes (ggml's GGML_MAX_NAME - 1), no NUL;
 *     n_dims is 1..4, every dimension >= 1 (strict: ggml accepts 0, but an
 *     empty tensor is never meaningful in a model file and 0 would make the
 *     overflow and overlap arguments below special cases), the element count
 *     fits in int64, the type id is known to dtype_get() (known-but-unsupported
 *     types such as Q2_K are accepted so `info` can list them), ne[0] is a
 *     multiple of the type's block size, the offset is a multiple of the
 *     alignment, data + size_bytes lies inside the buffer, and no two tensors'
 *     byte ranges overlap (checked after sorting by offset).
 *
 * Counts from the header are bounded before any allocation: a key/value pair
 * takes at least MIN_KV_BYTES and a tensor description MIN_TENSOR_BYTES, so a
 * file of S bytes cannot describe more than S / MIN_* of them. Arrays grow by
 * doubling as entries are actually parsed, so a lying count runs into the end
 * of the file long before it can cost memory.
 *
 * Integers are assembled byte by byte from little-endian, so the reader also
 * works on a big-endian host; array data handed out by gguf_get_arr_data()
 * is still little-endian (documented in gguf.h).
 */
#include "gguf/gguf.h"

#include <assert.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/platform.h"

enum {
    HEADER_BYTES = 24,          /* magic, version, n_tensors, n_kv */
    MIN_KV_BYTES = 8 + 1 + 4 + 1,          /* key length, 1-byte key, type, 1-byte value */
    MIN_TENSOR_BYTES = 8 + 1 + 4 + 8 + 4 + 8, /* name length, 1-byte name, n_dims, one dim, type, offset */
    MAX_KEY_BYTES = 65535,      /* the GGUF spec's limit on key length */
    MAX_TENSOR_NAME_BYTES = 63, /* ggml's GGML_MAX_NAME (64) minus the NUL */
};

/* One metadata entry, as positions in the buffer. */
typedef struct {
    gguf_str key;
    gguf_type type;       /* value type; GGUF_TYPE_ARRAY for arrays */
    size_t value_off;     /* buffer offset of the value (just after the u32 type) */
    size_t value_bytes;   /* encoded value length */
    gguf_type elem_type;  /* arrays: element type */
    uint64_t n_elems;     /* arrays: element count */
    size_t elems_off;     /* arrays: buffer offset of the first element */
    uint64_t *str_offs;   /* string arrays: buffer offset of each element's u64 length [n_elems] */
} kv_entry;

/* A name and the entry it belongs to, for sorting and binary search. */
typedef struct {
    const char *ptr;
    uint64_t len;
    int64_t idx;
} name_ref;

struct gguf_file {
    plat_map map;          /* zeroed when opened from memory */
    const uint8_t *base;   /* first byte of the file */
    size_t size_bytes;
    char *path;            /* path or label, for messages */
    uint32_t version;
    uint32_t alignment;
    size_t data_offset;    /* may exceed size_bytes in a file with no tensors */
    int64_t n_kv;
    kv_entry *kv;          /* [n_kv] in file order */
    name_ref *kv_index;    /* [n_kv] sorted by key */
    int64_t n_tensors;
    gguf_tensor *tensors;  /* [n_tensors] in file order */
    name_ref *tensor_index; /* [n_tensors] sorted by name */
};

/* ======================================================================== */
/* Little-endian reads and the bounds-checked cursor                         */
/* ======================================================================== */

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32); }

typedef struct {
    const uint8_t *base;
    size_t size;
    size_t pos;         /* next byte to read; always <= size */
    const char *label;  /* file name for messages */
    char where[112];    /* the item being read: "header", "key #3", "tensor 'x'" */
} parser;

/* Records "<label>: <where>: <message>" and returns s. */
static ls_status fail(const parser *p, ls_status s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static ls_status fail(const parser *p, ls_status s, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ls_error(s, "%s: %s: %s", p->label, p->where, msg);
}

/* Fails with a truncation message unless n more bytes are there. */
static ls_status need(const parser *p, uint64_t n, const char *field)
{
    if (n <= p->size - p->pos)
        return LS_OK;
    return fail(p, LS_ERR_FORMAT,
                "%s needs %" PRIu64 " bytes at offset %zu but the file is %zu bytes long, "
                "expected a complete file (truncated?)",
                field, n, p->pos, p->size);
}

static ls_status rd_u32(parser *p, const char *field, uint32_t *v)
{
    ls_status s = need(p, 4, field);
    if (s)
        return s;
    *v = le32(p->base + p->pos);
    p->pos += 4;
    return LS_OK;
}

static ls_status rd_u64(parser *p, const char *field, uint64_t *v)
{
    ls_status s = need(p, 8, field);
    if (s)
        return s;
    *v = le64(p->base + p->pos);
    p->pos += 8;
    return LS_OK;
}

/* Reads a GGUF string (u64 length + bytes) as a view into the buffer. */
static ls_status rd_str(parser *p, const char *field, gguf_str *out)
{
    uint64_t len;
    ls_status s = rd_u64(p, field, &len);
    if (s)
        return s;
    if (len > p->size - p->pos)
        return fail(p, LS_ERR_FORMAT,
                    "%s has length %" PRIu64 " but only %zu bytes remain in the file, "
                    "expected a length inside the file",
                    field, len, p->size - p->pos);
    out->ptr = (const char *)(p->base + p->pos);
    out->len = len;
    p->pos += (size_t)len;
    return LS_OK;
}

/* Writes a printable, shortened copy of a name into buf for messages. */
static void printable(char *buf, size_t buf_bytes, gguf_str s)
{
    size_t max = buf_bytes - 4, n = 0;
    for (uint64_t i = 0; i < s.len && n < max; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        buf[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (s.len > max)
        memcpy(buf + n, "...", 3), n += 3;
    buf[n] = '\0';
}

/* ======================================================================== */
/* Value types                                                               */
/* ======================================================================== */

size_t gguf_type_size(uint32_t t)
{
    switch (t) {
    case GGUF_TYPE_U8: case GGUF_TYPE_I8: case GGUF_TYPE_BOOL: return 1;
    case GGUF_TYPE_U16: case GGUF_TYPE_I16: return 2;
    case GGUF_TYPE_U32: case GGUF_TYPE_I32: case GGUF_TYPE_F32: return 4;
    case GGUF_TYPE_U64: case GGUF_TYPE_I64: case GGUF_TYPE_F64: return 8;
    default: return 0;
    }
}

const char *gguf_type_name(gguf_type t)
{
    static const char *const names[GGUF_TYPE_COUNT] = {
        "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64",
    };
    return (unsigned)t < GGUF_TYPE_COUNT ? names[t] : "unknown";
}

/* ======================================================================== */
/* Sorting helpers                                                           */
/* ======================================================================== */

static int cmp_bytes(const char *a, uint64_t a_len, const char *b, uint64_t b_len)
{
    uint64_t n = a_len < b_len ? a_len : b_len;
    int c = n ? memcmp(a, b, (size_t)n) : 0;
    if (c)
        return c;
    return a_len < b_len ? -1 : a_len > b_len;
}

static int cmp_name_ref(const void *x, const void *y)
{
    const name_ref *a = x, *b = y;
    int c = cmp_bytes(a->ptr, a->len, b->ptr, b->len);
    if (c)
        return c;
    return a->idx < b->idx ? -1 : a->idx > b->idx; /* stable: first occurrence first */
}

static int64_t index_find(const name_ref *index, int64_t n, const char *name)
{
    size_t name_len = strlen(name);
    int64_t lo = 0, hi = n; /* search [lo, hi) */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = cmp_bytes(index[mid].ptr, index[mid].len, name, name_len);
        if (c == 0)
            return index[mid].idx;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Grows *arr (elements of elem_bytes) so that index `need_n - 1` fits. */
static ls_status grow(void **arr, int64_t *cap, int64_t need_n, size_t elem_bytes, int64_t max_n)
{
    if (need_n <= *cap)
        return LS_OK;
    int64_t new_cap = *cap ? *cap * 2 : 16;
    if (new_cap > max_n)
        new_cap = max_n;
    void *q = ls_realloc(*arr, (size_t)new_cap * elem_bytes);
    if (!q)
        return ls_error(LS_ERR_NOMEM, "out of memory while indexing a GGUF file (%" PRId64 " entries)", new_cap);
    *arr = q;
    *cap = new_cap;
    return LS_OK;
}

/* ======================================================================== */
/* Parsing                                                                   */
/* ======================================================================== */

static ls_status parse_header(parser *p, gguf_file *f, uint64_t *n_tensors, uint64_t *n_kv)
{
    snprintf(p->where, sizeof p->where, "header");
    if (p->size < 4)
        return fail(p, LS_ERR_FORMAT, "file is %zu bytes long, expected at least %d (a GGUF header)", p->size,
                    HEADER_BYTES);
    if (memcmp(p->base, "GGUF", 4) != 0) {
        char m[5];
        for (int i = 0; i < 4; i++)
            m[i] = (p->base[i] >= 0x20 && p->base[i] < 0x7f) ? (char)p->base[i] : '?';
        m[4] = '\0';
        snprintf(p->where, sizeof p->where, "magic");
        return fail(p, LS_ERR_FORMAT, "file starts with '%s', expected 'GGUF' (is this a GGUF model file?)", m);
    }
    p->pos = 4;
    snprintf(p->where, sizeof p->where, "version");
    ls_status s = rd_u32(p, "the version number", &f->version);
    if (s)
        return s;
    if (f->version == 1)
        return fail(p, LS_ERR_UNSUPPORTED,
                    "GGUF version 1 is obsolete and not supported, expected version 2 or 3 (re-convert the model)");
    if (f->version == 0 || (f->version & 0xffffu) == 0)
        return fail(p, LS_ERR_FORMAT,
                    "version field is %" PRIu32 " (0x%08" PRIx32 "), expected 2 or 3 "
                    "(a big-endian file or a corrupt header?)",
                    f->version, f->version);
    if (f->version > 3)
        return fail(p, LS_ERR_UNSUPPORTED, "GGUF version %" PRIu32 " is newer than this reader, expected 2 or 3",
                    f->version);

    snprintf(p->where, sizeof p->where, "header");
    if ((s = rd_u64(p, "the tensor count", n_tensors)) || (s = rd_u64(p, "the key/value count", n_kv)))
        return s;
    size_t rest = p->size - p->pos;
    if (*n_kv > rest / MIN_KV_BYTES) {
        snprintf(p->where, sizeof p->where, "n_kv");
        return fail(p, LS_ERR_FORMAT,
                    "%" PRIu64 " key/value pairs cannot fit in the %zu bytes after the header, "
                    "expected at most %zu",
                    *n_kv, rest, rest / MIN_KV_BYTES);
    }
    if (*n_tensors > rest / MIN_TENSOR_BYTES ||
        *n_tensors * MIN_TENSOR_BYTES > rest - *n_kv * MIN_KV_BYTES) {
        snprintf(p->where, sizeof p->where, "n_tensors");
        return fail(p, LS_ERR_FORMAT,
                    "%" PRIu64 " tensor descriptions and %" PRIu64 " key/value pairs cannot fit in the %zu bytes "
                    "after the header, expected at most %zu tensors",
                    *n_tensors, *n_kv, rest, (rest - *n_kv * MIN_KV_BYTES) / MIN_TENSOR_BYTES);
    }
    return LS_OK;
}

/* Parses the value of e (its type already read), recording its position. */
static ls_status parse_value(parser *p, kv_entry *e)
{
    ls_status s;
    e->value_off = p->pos;
    if (e->type == GGUF_TYPE_STRING) {
        gguf_str v;
        if ((s = rd_str(p, "the string value", &v)))
            return s;
    } else if (e->type == GGUF_TYPE_ARRAY) {
        uint32_t et;
        if ((s = rd_u32(p, "the array element type", &et)))
            return s;
        if (et == GGUF_TYPE_ARRAY)
            return fail(p, LS_ERR_FORMAT,
                        "array of arrays is not supported, expected an array of numbers, booleans or strings");
        if (et >= GGUF_TYPE_COUNT)
            return fail(p, LS_ERR_FORMAT, "array element type %" PRIu32 " is not a GGUF type, expected 0 to %d",
                        et, GGUF_TYPE_COUNT - 1);
        e->elem_type = (gguf_type)et;
        if ((s = rd_u64(p, "the array length", &e->n_elems)))
            return s;
        e->elems_off = p->pos;
        size_t rest = p->size - p->pos;
        if (et == GGUF_TYPE_STRING) {
            /* each string takes at least its 8-byte length */
            if (e->n_elems > rest / 8)
                return fail(p, LS_ERR_FORMAT,
                            "array of %" PRIu64 " strings cannot fit in the %zu bytes that remain (each takes at "
                            "least 8), expected a count that fits in the file",
                            e->n_elems, rest);
            e->str_offs = ls_malloc((size_t)(e->n_elems ? e->n_elems : 1) * sizeof *e->str_offs);
            if (!e->str_offs)
                return ls_error(LS_ERR_NOMEM, "%s: out of memory indexing an array of %" PRIu64 " strings",
                                p->label, e->n_elems);
            for (uint64_t i = 0; i < e->n_elems; i++) {
                /* inlined rd_str, so that a failure can name the element without
                   formatting a description for each of 150,000 tokens */
                size_t left = p->size - p->pos;
                if (left < 8)
                    return fail(p, LS_ERR_FORMAT,
                                "string element %" PRIu64 " needs 8 bytes for its length at offset %zu but the file "
                                "is %zu bytes long, expected a complete file (truncated?)",
                                i, p->pos, p->size);
                uint64_t len = le64(p->base + p->pos);
                if (len > left - 8)
                    return fail(p, LS_ERR_FORMAT,
                                "string element %" PRIu64 " has length %" PRIu64 " but only %zu bytes remain in the "
                                "file, expected a length inside the file",
                                i, len, left - 8);
                e->str_offs[i] = p->pos;
                p->pos += 8 + (size_t)len;
            }
        } else {
            size_t eb = gguf_type_size(et);
            if (e->n_elems > rest / eb)
                return fail(p, LS_ERR_FORMAT,
                            "array of %" PRIu64 " %s elements needs more than the %zu bytes that remain, "
                            "expected a count that fits in the file",
                            e->n_elems, gguf_type_name(e->elem_type), rest);
            if (et == GGUF_TYPE_BOOL)
                for (uint64_t i = 0; i < e->n_elems; i++)
                    if (p->base[p->pos + i] > 1)
                        return fail(p, LS_ERR_FORMAT, "boolean element %" PRIu64 " is %u, expected 0 or 1", i,
                                    p->base[p->pos + i]);
            p->pos += (size_t)(e->n_elems * eb);
        }
    } else {
        size_t eb = gguf_type_size(e->type);
        char field[32];
        snprintf(field, sizeof field, "the %s value", gguf_type_name(e->type));
        if ((s = need(p, eb, field)))
            return s;
        if (e->type == GGUF_TYPE_BOOL && p->base[p->pos] > 1)
            return fail(p, LS_ERR_FORMAT, "boolean value is %u, expected 0 or 1", p->base[p->pos]);
        e->n_elems = 1;
        p->pos += eb;
    }
    e->value_bytes = p->pos - e->value_off;
    return LS_OK;
}

static ls_status parse_kvs(parser *p, gguf_file *f, uint64_t n_kv)
{
    int64_t cap = 0;
    ls_status s;
    for (uint64_t i = 0; i < n_kv; i++) {
        if ((s = grow((void **)&f->kv, &cap, (int64_t)i + 1, sizeof *f->kv, (int64_t)n_kv)))
            return s;
        kv_entry *e = &f->kv[i];
        memset(e, 0, sizeof *e);
        f->n_kv = (int64_t)i + 1; /* counted before anything can fail, so close() frees str_offs */

        snprintf(p->where, sizeof p->where, "key #%" PRIu64, i);
        if ((s = rd_str(p, "the key name", &e->key)))
            return s;
        if (e->key.len == 0 || e->key.len > MAX_KEY_BYTES)
            return fail(p, LS_ERR_FORMAT, "key name is %" PRIu64 " bytes long, expected 1 to %d bytes", e->key.len,
                        MAX_KEY_BYTES);
        if (memchr(e->key.ptr, '\0', (size_t)e->key.len))
            return fail(p, LS_ERR_FORMAT, "key name contains a NUL byte, expected a printable name");
        char name[72];
        printable(name, sizeof name, e->key);
        snprintf(p->where, sizeof p->where, "key '%s'", name);

        uint32_t t;
        if ((s = rd_u32(p, "the value type", &t)))
            return s;
        if (t >= GGUF_TYPE_COUNT)
            return fail(p, LS_ERR_FORMAT, "value type %" PRIu32 " is not a GGUF type, expected 0 to %d", t,
                        GGUF_TYPE_COUNT - 1);
        e->type = (gguf_type)t;
        if ((s = parse_value(p, e)))
            return s;
    }

    /* sorted index; equal neighbours are duplicates */
    f->kv_index = ls_malloc((size_t)(f->n_kv ? f->n_kv : 1) * sizeof *f->kv_index);
    if (!f->kv_index)
        return ls_error(LS_ERR_NOMEM, "%s: out of memory indexing %" PRId64 " keys", p->label, f->n_kv);
    for (int64_t i = 0; i < f->n_kv; i++)
        f->kv_index[i] = (name_ref){ f->kv[i].key.ptr, f->kv[i].key.len, i };
    qsort(f->kv_index, (size_t)f->n_kv, sizeof *f->kv_index, cmp_name_ref);
    for (int64_t i = 1; i < f->n_kv; i++) {
        const name_ref *a = &f->kv_index[i - 1], *b = &f->kv_index[i];
        if (cmp_bytes(a->ptr, a->len, b->ptr, b->len) == 0) {
            char name[72];
            printable(name, sizeof name, f->kv[b->idx].key);
            snprintf(p->where, sizeof p->where, "key '%s'", name);
            return fail(p, LS_ERR_FORMAT, "appears twice (entries #%" PRId64 " and #%" PRId64 "), expected unique keys",
                        a->idx, b->idx);
        }
    }
    return LS_OK;
}

static ls_status parse_alignment(parser *p, gguf_file *f)
{
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    int64_t i = gguf_find_key(f, "general.alignment");
    if (i < 0)
        return LS_OK;
    const kv_entry *e = &f->kv[i];
    snprintf(p->where, sizeof p->where, "key 'general.alignment'");
    if (e->type != GGUF_TYPE_U32)
        return fail(p, LS_ERR_FORMAT, "has type %s, expected u32", gguf_type_name(e->type));
    uint32_t a = le32(p->base + e->value_off);
    if (a == 0 || (a & (a - 1)) != 0)
        return fail(p, LS_ERR_FORMAT, "is %" PRIu32 ", expected a nonzero power of two", a);
    f->alignment = a;
    return LS_OK;
}

/* Reads one tensor description (not yet checked against the data section). */
static ls_status parse_tensor_info(parser *p, gguf_tensor *t, uint64_t i)
{
    ls_status s;
    snprintf(p->where, sizeof p->where, "tensor #%" PRIu64, i);
    if ((s = rd_str(p, "the tensor name", &t->name)))
        return s;
    if (t->name.len == 0 || t->name.len > MAX_TENSOR_NAME_BYTES)
        return fail(p, LS_ERR_FORMAT, "name is %" PRIu64 " bytes long, expected 1 to %d bytes", t->name.len,
                    MAX_TENSOR_NAME_BYTES);
    if (memchr(t->name.ptr, '\0', (size_t)t->name.len))
        return fail(p, LS_ERR_FORMAT, "name contains a NUL byte, expected a printable name");
    char name[72];
    printable(name, sizeof name, t->name);
    snprintf(p->where, sizeof p->where, "tensor '%s'", name);

    if ((s = rd_u32(p, "n_dims", &t->n_dims)))
        return s;
    if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS)
        return fail(p, LS_ERR_FORMAT, "n_dims is %" PRIu32 ", expected 1 to %d", t->n_dims, GGUF_MAX_DIMS);
    uint64_t n_elems = 1;
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
        uint64_t ne = 1;
        if (d < t->n_dims && (s = rd_u64(p, "a dimension", &ne)))
            return s;
        if (ne == 0)
            return fail(p, LS_ERR_FORMAT, "dimension %" PRIu32 " is 0, expected at least 1", d);
        if (ne > (uint64_t)INT64_MAX / n_elems)
            return fail(p, LS_ERR_FORMAT,
                        "dimension %" PRIu32 " (%" PRIu64 ") makes the element count overflow, "
                        "expected at most 2^63-1 elements",
                        d, ne);
        n_elems *= ne;
        t->ne[d] = (int64_t)ne;
    }

    uint32_t type;
    if ((s = rd_u32(p, "the tensor type", &type)))
        return s;
    const dtype_info *ti = dtype_get(type);
    if (!ti)
        return fail(p, LS_ERR_UNSUPPORTED, "type id %" PRIu32 " is unknown, expected a ggml type id known to "
                    "localseek (a newer format?)", type);
    t->type = (dtype)type;
    if (t->ne[0] % ti->block_elems != 0)
        return fail(p, LS_ERR_FORMAT,
                    "rows of %" PRId64 " elements do not fill whole %s blocks, expected ne[0] to be a multiple of %d",
                    t->ne[0], ti->name, ti->block_elems);
    uint64_t n_blocks = n_elems / (uint64_t)ti->block_elems;
    if (n_blocks > SIZE_MAX / (uint64_t)ti->block_bytes)
        return fail(p, LS_ERR_FORMAT, "%" PRIu64 " %s blocks overflow a byte size, expected a smaller shape",
                    n_blocks, ti->name);
    t->size_bytes = (size_t)(n_blocks * (uint64_t)ti->block_bytes);

    return rd_u64(p, "the data offset", &t->offset);
}

static int cmp_offset_ref(const void *x, const void *y)
{
    const gguf_tensor *const *a = x, *const *b = y;
    return (*a)->offset < (*b)->offset ? -1 : (*a)->offset > (*b)->offset;
}

static ls_status parse_tensors(parser *p, gguf_file *f, uint64_t n_tensors)
{
    int64_t cap = 0;
    ls_status s;
    for (uint64_t i = 0; i < n_tensors; i++) {
        if ((s = grow((void **)&f->tensors, &cap, (int64_t)i + 1, sizeof *f->tensors, (int64_t)n_tensors)))
            return s;
        gguf_tensor *t = &f->tensors[i];
        memset(t, 0, sizeof *t);
        f->n_tensors = (int64_t)i + 1;
        if ((s = parse_tensor_info(p, t, i)))
            return s;
    }

    /* the data section starts at the next multiple of the alignment */
    uint64_t start = ((uint64_t)p->pos + f->alignment - 1) / f->alignment * f->alignment;
    f->data_offset = (size_t)start;
    for (int64_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        char name[72];
        printable(name, sizeof name, t->name);
        snprintf(p->where, sizeof p->where, "tensor '%s'", name);
        if (t->offset % f->alignment != 0)
            return fail(p, LS_ERR_FORMAT, "data offset %" PRIu64 " is not a multiple of the alignment %" PRIu32
                        ", expected an aligned offset", t->offset, f->alignment);
        if (start > p->size || t->offset > p->size - start || t->size_bytes > p->size - start - t->offset)
            return fail(p, LS_ERR_FORMAT,
                        "data (%zu bytes at offset %" PRIu64 " of the data section at byte %" PRIu64 ") "
                        "runs past the end of the file (%zu bytes), expected it inside the file (truncated?)",
                        t->size_bytes, t->offset, start, p->size);
        t->data = p->base + start + t->offset;
    }

    f->tensor_index = ls_malloc((size_t)(f->n_tensors ? f->n_tensors : 1) * sizeof *f->tensor_index);
    if (!f->tensor_index)
        return ls_error(LS_ERR_NOMEM, "%s: out of memory indexing %" PRId64 " tensors", p->label, f->n_tensors);
    for (int64_t i = 0; i < f->n_tensors; i++)
        f->tensor_index[i] = (name_ref){ f->tensors[i].name.ptr, f->tensors[i].name.len, i };
    qsort(f->tensor_index, (size_t)f->n_tensors, sizeof *f->tensor_index, cmp_name_ref);
    for (int64_t i = 1; i < f->n_tensors; i++) {
        const name_ref *a = &f->tensor_index[i - 1], *b = &f->tensor_index[i];
        if (cmp_bytes(a->ptr, a->len, b->ptr, b->len) == 0) {
            char name[72];
            printable(name, sizeof name, f->tensors[b->idx].name);
            snprintf(p->where, sizeof p->where, "tensor '%s'", name);
            return fail(p, LS_ERR_FORMAT,
                        "name appears twice (tensors #%" PRId64 " and #%" PRId64 "), expected unique tensor names",
                        a->idx, b->idx);
        }
    }

    /* overlap: after sorting by offset each tensor must end before the next begins */
    if (f->n_tensors > 1) {
        const gguf_tensor **by_off = ls_malloc((size_t)f->n_tensors * sizeof *by_off);
        if (!by_off)
            return ls_error(LS_ERR_NOMEM, "%s: out of memory sorting %" PRId64 " tensors", p->label, f->n_tensors);
        for (int64_t i = 0; i < f->n_tensors; i++)
            by_off[i] = &f->tensors[i];
        qsort(by_off, (size_t)f->n_tensors, sizeof *by_off, cmp_offset_ref);
        for (int64_t i = 1; i < f->n_tensors; i++) {
            const gguf_tensor *a = by_off[i - 1], *b = by_off[i];
            if (a->offset + a->size_bytes > b->offset) { /* no overflow: both lie inside the file */
                char na[72], nb[72];
                printable(na, sizeof na, a->name);
                printable(nb, sizeof nb, b->name);
                snprintf(p->where, sizeof p->where, "tensor '%s'", nb);
                s = fail(p, LS_ERR_FORMAT,
                         "data at offset %" PRIu64 " overlaps tensor '%s' (offset %" PRIu64 ", %zu bytes), "
                         "expected disjoint tensor data",
                         b->offset, na, a->offset, a->size_bytes);
                ls_free(by_off);
                return s;
            }
        }
        ls_free(by_off);
    }
    return LS_OK;
}

static ls_status parse(gguf_file *f)
{
    parser p = { .base = f->base, .size = f->size_bytes, .pos = 0, .label = f->path };
    uint64_t n_tensors, n_kv;
    ls_status s;
    if ((s = parse_header(&p, f, &n_tensors, &n_kv)))
        return s;
    if ((s = parse_kvs(&p, f, n_kv)))
        return s;
    if ((s = parse_alignment(&p, f)))
        return s;
    return parse_tensors(&p, f, n_tensors);
}

/* ======================================================================== */
/* Open and close                                                            */
/* ======================================================================== */

static ls_status open_common(gguf_file *f, gguf_file **out)
{
    ls_status s = parse(f);
    if (s) {
        gguf_close(f);
        return s;
    }
    *out = f;
    return LS_OK;
}

ls_status gguf_open(const char *path, gguf_file **out)
{
    *out = NULL;
    gguf_file *f = ls_calloc(1, sizeof *f);
    if (!f)
        return ls_error(LS_ERR_NOMEM, "%s: out of memory opening the file", path);
    f->path = ls_strdup(path);
    if (!f->path) {
        ls_free(f);
        return ls_error(LS_ERR_NOMEM, "%s: out of memory opening the file", path);
    }
    ls_status s = plat_map_file(path, &f->map);
    if (s) {
        gguf_close(f);
        return s;
    }
    f->base = f->map.data;
    f->size_bytes = f->map.size_bytes;
    return open_common(f, out);
}

ls_status gguf_open_memory(const void *data, size_t size_bytes, const char *label, gguf_file **out)
{
    *out = NULL;
    if (!label)
        label = "<memory>";
    gguf_file *f = ls_calloc(1, sizeof *f);
    if (!f)
        return ls_error(LS_ERR_NOMEM, "%s: out of memory opening the buffer", label);
    f->path = ls_strdup(label);
    if (!f->path) {
        ls_free(f);
        return ls_error(LS_ERR_NOMEM, "%s: out of memory opening the buffer", label);
    }
    f->base = data;
    f->size_bytes = data ? size_bytes : 0;
    return open_common(f, out);
}

void gguf_close(gguf_file *f)
{
    if (!f)
        return;
    for (int64_t i = 0; i < f->n_kv; i++)
        ls_free(f->kv[i].str_offs);
    ls_free(f->kv);
    ls_free(f->kv_index);
    ls_free(f->tensors);
    ls_free(f->tensor_index);
    plat_unmap(&f->map);
    ls_free(f->path);
    ls_free(f);
}

uint32_t gguf_version(const gguf_file *f) { return f->version; }
size_t gguf_file_size(const gguf_file *f) { return f->size_bytes; }
uint32_t gguf_alignment(const gguf_file *f) { return f->alignment; }
size_t gguf_data_offset(const gguf_file *f) { return f->data_offset; }
const char *gguf_path(const gguf_file *f) { return f->path; }

size_t gguf_index_bytes(const gguf_file *f)
{
    size_t b = sizeof *f + strlen(f->path) + 1;
    b += (size_t)f->n_kv * (sizeof(kv_entry) + sizeof(name_ref));
    b += (size_t)f->n_tensors * (sizeof(gguf_tensor) + sizeof(name_ref));
    for (int64_t i = 0; i < f->n_kv; i++)
        if (f->kv[i].str_offs)
            b += (size_t)f->kv[i].n_elems * sizeof(uint64_t);
    return b;
}

/* ======================================================================== */
/* Metadata                                                                  */
/* ======================================================================== */

int64_t gguf_n_kv(const gguf_file *f) { return f->n_kv; }

int64_t gguf_find_key(const gguf_file *f, const char *key)
{
    return f->kv_index ? index_find(f->kv_index, f->n_kv, key) : -1;
}

gguf_str gguf_key_name(const gguf_file *f, int64_t i)
{
    assert(i >= 0 && i < f->n_kv);
    return f->kv[i].key;
}

gguf_type gguf_kv_type(const gguf_file *f, int64_t i)
{
    assert(i >= 0 && i < f->n_kv);
    return f->kv[i].type;
}

gguf_type gguf_kv_arr_type(const gguf_file *f, int64_t i)
{
    assert(i >= 0 && i < f->n_kv);
    return f->kv[i].type == GGUF_TYPE_ARRAY ? f->kv[i].elem_type : GGUF_TYPE_COUNT;
}

uint64_t gguf_kv_arr_n(const gguf_file *f, int64_t i)
{
    assert(i >= 0 && i < f->n_kv);
    return f->kv[i].type == GGUF_TYPE_ARRAY ? f->kv[i].n_elems : 0;
}

void gguf_kv_raw(const gguf_file *f, int64_t i, const void **bytes, size_t *n_bytes)
{
    assert(i >= 0 && i < f->n_kv);
    *bytes = f->base + f->kv[i].value_off;
    *n_bytes = f->kv[i].value_bytes;
}

bool gguf_str_eq(gguf_str s, const char *c)
{
    size_t n = strlen(c);
    return s.len == n && (n == 0 || memcmp(s.ptr, c, n) == 0);
}

/* Looks key up; LS_ERR_NOT_FOUND (with a message) when absent. */
static ls_status lookup(const gguf_file *f, const char *key, const kv_entry **out)
{
    int64_t i = gguf_find_key(f, key);
    if (i < 0)
        return ls_error(LS_ERR_NOT_FOUND, "%s: key '%s' is missing, expected it in the metadata", f->path, key);
    *out = &f->kv[i];
    return LS_OK;
}

static ls_status wrong_type(const gguf_file *f, const char *key, const kv_entry *e, const char *expected)
{
    if (e->type == GGUF_TYPE_ARRAY)
        return ls_error(LS_ERR_FORMAT, "%s: key '%s' is an array of %s, expected %s", f->path, key,
                        gguf_type_name(e->elem_type), expected);
    return ls_error(LS_ERR_FORMAT, "%s: key '%s' has type %s, expected %s", f->path, key, gguf_type_name(e->type),
                    expected);
}

/* An integer value as sign + magnitude, so every integer type compares exactly. */
typedef struct {
    bool negative;
    uint64_t mag; /* |value| (for negative values, computed without overflow) */
} int_value;

static bool read_int(const gguf_file *f, const kv_entry *e, int_value *v)
{
    const uint8_t *p = f->base + e->value_off;
    int64_t sv;
    switch (e->type) {
    case GGUF_TYPE_U8: *v = (int_value){ false, p[0] }; return true;
    case GGUF_TYPE_U16: *v = (int_value){ false, le16(p) }; return true;
    case GGUF_TYPE_U32: *v = (int_value){ false, le32(p) }; return true;
    case GGUF_TYPE_U64: *v = (int_value){ false, le64(p) }; return true;
    case GGUF_TYPE_I8: sv = (int8_t)p[0]; break;
    case GGUF_TYPE_I16: sv = (int16_t)le16(p); break;
    case GGUF_TYPE_I32: sv = (int32_t)le32(p); break;
    case GGUF_TYPE_I64: sv = (int64_t)le64(p); break;
    default: return false;
    }
    v->negative = sv < 0;
    v->mag = sv < 0 ? (uint64_t)0 - (uint64_t)sv : (uint64_t)sv;
    return true;
}

/* Fetches an integer that must lie in [-neg_max, pos_max]. */
static ls_status get_int(const gguf_file *f, const char *key, const char *want, uint64_t neg_max, uint64_t pos_max,
                         int_value *v)
{
    const kv_entry *e = NULL;
    ls_status s = lookup(f, key, &e);
    if (s)
        return s;
    char expected[48];
    snprintf(expected, sizeof expected, "an integer (%s)", want);
    if (!read_int(f, e, v))
        return wrong_type(f, key, e, expected);
    if (v->negative ? v->mag > neg_max : v->mag > pos_max)
        return ls_error(LS_ERR_FORMAT, "%s: key '%s' is %s%" PRIu64 ", which does not fit %s, expected a value in range",
                        f->path, key, v->negative ? "-" : "", v->mag, want);
    return LS_OK;
}

ls_status gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out)
{
    int_value v;
    ls_status s = get_int(f, key, "u32", 0, UINT32_MAX, &v);
    if (!s)
        *out = (uint32_t)v.mag;
    return s;
}

ls_status gguf_get_i32(const gguf_file *f, const char *key, int32_t *out)
{
    int_value v;
    ls_status s = get_int(f, key, "i32", (uint64_t)INT32_MAX + 1, INT32_MAX, &v);
    if (!s)
        *out = v.negative ? (int32_t)(-(int64_t)v.mag) : (int32_t)v.mag;
    return s;
}

ls_status gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out)
{
    int_value v;
    ls_status s = get_int(f, key, "u64", 0, UINT64_MAX, &v);
    if (!s)
        *out = v.mag;
    return s;
}

ls_status gguf_get_i64(const gguf_file *f, const char *key, int64_t *out)
{
    int_value v;
    ls_status s = get_int(f, key, "i64", (uint64_t)INT64_MAX + 1, INT64_MAX, &v);
    if (!s)
        /* -(2^63) has no positive counterpart: build it from INT64_MIN */
        *out = !v.negative ? (int64_t)v.mag : v.mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v.mag;
    return s;
}

/* F32 or F64 as a double. */
static ls_status get_float(const gguf_file *f, const char *key, const char *want, double *out)
{
    const kv_entry *e = NULL;
    ls_status s = lookup(f, key, &e);
    if (s)
        return s;
    const uint8_t *p = f->base + e->value_off;
    if (e->type == GGUF_TYPE_F32) {
        uint32_t u = le32(p);
        float x;
        memcpy(&x, &u, sizeof x);
        *out = x;
    } else if (e->type == GGUF_TYPE_F64) {
        uint64_t u = le64(p);
        memcpy(out, &u, sizeof *out);
    } else {
        return wrong_type(f, key, e, want);
    }
    return LS_OK;
}

ls_status gguf_get_f32(const gguf_file *f, const char *key, float *out)
{
    double d;
    ls_status s = get_float(f, key, "a float (f32 or f64)", &d);
    if (!s) /* an F64 beyond the float range becomes an infinity (a plain cast would be undefined) */
        *out = d > FLT_MAX ? INFINITY : d < -FLT_MAX ? -INFINITY : (float)d;
    return s;
}

ls_status gguf_get_f64(const gguf_file *f, const char *key, double *out)
{
    return get_float(f, key, "a float (f64 or f32)", out);
}

ls_status gguf_get_bool(const gguf_file *f, const char *key, bool *out)
{
    const kv_entry *e = NULL;
    ls_status s = lookup(f, key, &e);
    if (s)
        return s;
    if (e->type != GGUF_TYPE_BOOL)
        return wrong_type(f, key, e, "bool");
    *out = f->base[e->value_off] != 0;
    return LS_OK;
}

ls_status gguf_get_str(const gguf_file *f, const char *key, gguf_str *out)
{
    const kv_entry *e = NULL;
    ls_status s = lookup(f, key, &e);
    if (s)
        return s;
    if (e->type != GGUF_TYPE_STRING)
        return wrong_type(f, key, e, "string");
    out->len = le64(f->base + e->value_off);
    out->ptr = (const char *)(f->base + e->value_off + 8);
    return LS_OK;
}

ls_status gguf_get_arr_info(const gguf_file *f, const char *key, gguf_type *elem_type, uint64_t *n)
{
    const kv_entry *e = NULL;
    ls_status s = lookup(f, key, &e);
    if (s)
        return s;
    if (e->type != GGUF_TYPE_ARRAY)
        return wrong_type(f, key, e, "an array");
    *elem_type = e->elem_type;
    *n = e->n_elems;
    return LS_OK;
}

ls_status gguf_get_arr_data(const gguf_file *f, const char *key, gguf_type elem_type, const void **data, uint64_t *n)
{
    const kv_entry *e = NULL;
    ls_status s = lookup(f, key, &e);
    if (s)
        return s;
    if (elem_type == GGUF_TYPE_STRING || elem_type == GGUF_TYPE_ARRAY || (unsigned)elem_type >= GGUF_TYPE_COUNT)
        return ls_error(LS_ERR_ARG, "%s: key '%s': gguf_get_arr_data reads numeric arrays only, not %s", f->path,
                        key, gguf_type_name(elem_type));
    if (e->type != GGUF_TYPE_ARRAY || e->elem_type != elem_type) {
        char expected[40];
        snprintf(expected, sizeof expected, "an array of %s", gguf_type_name(elem_type));
        return wrong_type(f, key, e, expected);
    }
    *data = f->base + e->elems_off;
    *n = e->n_elems;
    return LS_OK;
}

ls_status gguf_get_arr_str(const gguf_file *f, const char *key, uint64_t i, gguf_str *out)
{
    const kv_entry *e = NULL;
    ls_status s = lookup(f, key, &e);
    if (s)
        return s;
    if (e->type != GGUF_TYPE_ARRAY || e->elem_type != GGUF_TYPE_STRING)
        return wrong_type(f, key, e, "an array of string");
    if (i >= e->n_elems)
        return ls_error(LS_ERR_ARG, "%s: key '%s': index %" PRIu64 " is past the end of the array of %" PRIu64
                        " strings, expected an index below %" PRIu64, f->path, key, i, e->n_elems, e->n_elems);
    const uint8_t *p = f->base + e->str_offs[i];
    out->len = le64(p);
    out->ptr = (const char *)(p + 8);
    return LS_OK;
}

/* ======================================================================== */
/* Tensors                                                                   */
/* ======================================================================== */

int64_t gguf_n_tensors(const gguf_file *f) { return f->n_tensors; }

const gguf_tensor *gguf_tensor_at(const gguf_file *f, int64_t i)
{
    assert(i >= 0 && i < f->n_tensors);
    return &f->tensors[i];
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name)
{
    int64_t i = f->tensor_index ? index_find(f->tensor_index, f->n_tensors, name) : -1;
    return i < 0 ? NULL : &f->tensors[i];
}

int64_t gguf_tensor_n_elems(const gguf_tensor *t)
{
    int64_t n = 1;
    for (int d = 0; d < GGUF_MAX_DIMS; d++)
        n *= t->ne[d]; /* validated at open: the product fits */
    return n;
}
