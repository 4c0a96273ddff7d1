/* test_quantizer_quality.c — quantization error on real model shapes, and our
 * dequantizers against files made by llama.cpp.
 *
 * 1. Quality bar: every 2-D matrix of golden-qwen2-f16.gguf is quantized in
 *    memory with quant_quantize_row and read back; the relative RMSE
 *    sqrt(sum (q - w)^2 / sum w^2) over all matrices must be no worse than
 *    what llama.cpp's reference quantizer reaches on the same weights.
 * 2. Every tensor of every models/ file (*.gguf) dequantizes to finite values.
 * 3. The golden-qwen2-q* files (quantized by llama.cpp from the same weights)
 *    decode close to the F16 weights: this cross-checks our dequantizers'
 *    reading of each layout against an independent writer.
 * 4. Byte comparison: our reference rounding (quant_quantize_row_ref) of the
 *    F16 weights against llama.cpp's Q8_0 and Q4_0 files.
 * 5. Type choices: qmodel_plan on the F16 files gives exactly the per-tensor
 *    types llama.cpp chose in every golden quantized file.
 * 6. A whole file through qmodel_quantize: it opens, keeps every metadata
 *    key, sets general.file_type / quantization_version, and each tensor's
 *    bytes are exactly what quant_quantize_row makes of the source rows
 *    (so the threads split and write rows correctly).
 * 7. Failure paths: every allocation failure is reported as LS_ERR_NOMEM
 *    without leaks or a half-written file; NaN weights are refused with the
 *    tensor's name.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "gguf/gguf.h"
#include "gguf/gguf_write.h"
#include "tensor/qmodel.h"
#include "tensor/quant.h"
#include "check.h"

static char shared_path[1024];

static const char *model_path(const char *shared, const char *name)
{
    snprintf(shared_path, sizeof shared_path, "%s/models/%s", shared, name);
    return shared_path;
}

static bool is_matrix(const gguf_tensor *t)
{
    return t->n_dims == 2 && t->ne[1] > 1;
}

static void name_of(const gguf_tensor *t, char *buf, size_t n)
{
    snprintf(buf, n, "%.*s", (int)t->name.len, t->name.ptr);
}

/* Dequantizes a whole tensor into a new float array [n_rows][ne0]. */
static float *tensor_to_f32(const gguf_tensor *t)
{
    int64_t n = gguf_tensor_n_elems(t), ne0 = t->ne[0], n_rows = n / ne0;
    float *out = ls_malloc((size_t)n * sizeof(float));
    size_t row_bytes = dtype_row_bytes(t->type, ne0);
    for (int64_t r = 0; r < n_rows; r++)
        quant_dequantize_row(t->type, (const uint8_t *)t->data + r * row_bytes, out + r * ne0, ne0);
    return out;
}

/* ---- 1. quality bar ------------------------------------------------------ */

typedef struct {
    dtype type;
    double bar; /* llama.cpp's reference figure; 0 = no bar, just print */
} quality_case;

static void quality_bars(gguf_file *f)
{
    static const quality_case cases[] = {
        { DT_Q8_0, 0.00535 }, { DT_Q4_0, 0.0859 }, { DT_Q4_K, 0.0713 }, { DT_Q5_K, 0.0361 },
        { DT_Q6_K, 0.0177 },  { DT_Q4_1, 0 },      { DT_Q5_0, 0 },      { DT_Q5_1, 0 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dtype type = cases[c].type;
        double se = 0, sw = 0, se_ref = 0;
        int n_mats = 0;
        for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
            const gguf_tensor *t = gguf_tensor_at(f, i);
            if (!is_matrix(t) || !dtype_row_fits(type, t->ne[0]))
                continue;
            int64_t ne0 = t->ne[0], n_rows = gguf_tensor_n_elems(t) / ne0;
            float *w = tensor_to_f32(t), *back = ls_malloc((size_t)ne0 * sizeof(float));
            void *q = ls_malloc(dtype_row_bytes(type, ne0));
            for (int64_t r = 0; r < n_rows; r++) {
                const float *wr = w + r * ne0;
                quant_quantize_row(type, wr, q, ne0);
                quant_dequantize_row(type, q, back, ne0);
                for (int64_t k = 0; k < ne0; k++) {
                    double e = (double)back[k] - wr[k];
                    se += e * e;
                    sw += (double)wr[k] * wr[k];
                }
                quant_quantize_row_ref(type, wr, q, ne0);
                quant_dequantize_row(type, q, back, ne0);
                for (int64_t k = 0; k < ne0; k++) {
                    double e = (double)back[k] - wr[k];
                    se_ref += e * e;
                }
            }
            n_mats++;
            ls_free(w);
            ls_free(back);
            ls_free(q);
        }
        double rmse = sqrt(se / sw), rmse_ref = sqrt(se_ref / sw);
        printf("quality type=%s matrices=%d rel_rmse=%.5f ref_rounding=%.5f llama_cpp_bar=%.5f\n", dtype_name(type),
               n_mats, rmse, rmse_ref, cases[c].bar);
        CHECK(n_mats >= 14, "%s: only %d matrices quantized", dtype_name(type), n_mats);
        /* the bars are llama.cpp's figures rounded to 5 decimals: a tie passes */
        if (cases[c].bar > 0)
            CHECK(rmse < cases[c].bar + 0.000005, "%s: relative RMSE %.5f is worse than llama.cpp's %.5f", dtype_name(type),
                  rmse, cases[c].bar);
        /* the search must never lose to plain rounding */
        CHECK(rmse <= rmse_ref * 1.0001, "%s: searched %.5f worse than reference rounding %.5f", dtype_name(type),
              rmse, rmse_ref);
    }
}

/* ---- 2. every model dequantizes to finite values ------------------------- */

static void all_models_finite(const char *shared)
{
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/models", shared);
    DIR *d = opendir(dir);
    CHECK(d != NULL, "cannot list %s", dir);
    if (!d)
        return;
    struct dirent *e;
    int n_models = 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 5, ".gguf") != 0)
            continue;
        gguf_file *f = NULL;
        ls_status s = gguf_open(model_path(shared, e->d_name), &f);
        CHECK(s == LS_OK, "open %s: %s", e->d_name, ls_error_msg());
        if (s != LS_OK)
            continue;
        n_models++;
        int64_t n_values = 0, n_bad = 0, n_tensors = 0;
        for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
            const gguf_tensor *t = gguf_tensor_at(f, i);
            char name[96];
            name_of(t, name, sizeof name);
            CHECK(quant_can_dequantize(t->type), "%s: tensor %s has type %s we cannot read", e->d_name, name,
                  dtype_name(t->type));
            if (!quant_can_dequantize(t->type))
                continue;
            float *v = tensor_to_f32(t);
            int64_t n = gguf_tensor_n_elems(t);
            for (int64_t k = 0; k < n; k++)
                if (!isfinite(v[k]))
                    n_bad++;
            n_values += n;
            n_tensors++;
            ls_free(v);
        }
        printf("dequantize model=%s tensors=%lld values=%lld non_finite=%lld\n", e->d_name, (long long)n_tensors,
               (long long)n_values, (long long)n_bad);
        CHECK(n_bad == 0, "%s: %lld non-finite values after dequantization", e->d_name, (long long)n_bad);
        gguf_close(f);
    }
    closedir(d);
    CHECK(n_models >= 5, "found only %d models", n_models);
}

/* ---- 3. llama.cpp's files decode close to the F16 source ----------------- */

/* Largest acceptable relative RMSE of a llama.cpp-quantized tensor against
 * the F16 weights it was made from (about 1.5x what the format reaches on
 * these weights: a misread layout gives ~1.0 or more). */
static double decode_bound(dtype t)
{
    switch (t) {
    case DT_Q8_0: return 0.008;
    case DT_Q6_K: return 0.027;
    case DT_Q5_K: case DT_Q5_0: case DT_Q5_1: return 0.06;
    case DT_Q4_K: case DT_Q4_0: case DT_Q4_1: return 0.1;
    case DT_F16: case DT_BF16: return 0.005;
    default: return 0.001;
    }
}

static void compare_with_source(const char *shared, const char *quant_name, gguf_file *src)
{
    gguf_file *f = NULL;
    ls_status s = gguf_open(model_path(shared, quant_name), &f);
    CHECK(s == LS_OK, "open %s: %s", quant_name, ls_error_msg());
    if (s != LS_OK)
        return;
    int n_checked = 0;
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        char name[96];
        name_of(t, name, sizeof name);
        const gguf_tensor *o = gguf_find_tensor(src, name);
        CHECK(o != NULL && gguf_tensor_n_elems(o) == gguf_tensor_n_elems(t), "%s: %s missing in source", quant_name,
              name);
        if (!o || gguf_tensor_n_elems(o) != gguf_tensor_n_elems(t))
            continue;
        float *a = tensor_to_f32(t), *b = tensor_to_f32(o);
        double se = 0, sw = 0;
        for (int64_t k = 0; k < gguf_tensor_n_elems(t); k++) {
            double e = (double)a[k] - b[k];
            se += e * e;
            sw += (double)b[k] * b[k];
        }
        double rel = sw > 0 ? sqrt(se / sw) : sqrt(se);
        CHECK(rel < decode_bound(t->type), "%s: %s (%s) decodes with relative RMSE %.5f vs F16 (bound %.4f)",
              quant_name, name, dtype_name(t->type), rel, decode_bound(t->type));
        n_checked++;
        ls_free(a);
        ls_free(b);
    }
    printf("cross_check file=%s tensors=%d\n", quant_name, n_checked);
    gguf_close(f);
}

/* ---- 4. byte comparison with llama.cpp's reference rounding -------------- */
/* llama.cpp made its files from the F32 weights that golden-qwen2-f16 was
 * rounded from (their general.name says "-f32"), so a few roundings land on
 * the other side of a half: expect a small fraction of differing bytes, but
 * never a scale more than one F16 step away nor an integer off by more than 1
 * -- except where two values of opposite sign tie for the largest magnitude:
 * Q4_0 puts the largest one on -8, so such a block may come out mirrored
 * (scale negated, every integer q -> 16 - q); those must be rare. */

/* The 32 integers of a Q8_0 or Q4_0 block (Q4_0 without its offset of 8). */
static void block_ints(dtype type, const uint8_t *blk, int *q)
{
    for (int j = 0; j < 32; j++) {
        if (type == DT_Q8_0)
            q[j] = (int8_t)blk[2 + j];
        else
            q[j] = j < 16 ? (blk[2 + j] & 0xF) : (blk[2 + j - 16] >> 4);
    }
}

static void compare_bytes(const char *shared, const char *quant_name, gguf_file *src, dtype type, double max_frac)
{
    gguf_file *f = NULL;
    ls_status s = gguf_open(model_path(shared, quant_name), &f);
    CHECK(s == LS_OK, "open %s: %s", quant_name, ls_error_msg());
    if (s != LS_OK)
        return;
    size_t n_bytes = 0, n_diff = 0, n_blocks = 0, n_diff_blocks = 0, n_diff_scale = 0, n_mirrored = 0;
    int max_scale_ulps = 0, max_int_diff = 0;
    const size_t block_bytes = (size_t)dtype_get(type)->block_bytes;
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        char name[96];
        name_of(t, name, sizeof name);
        const gguf_tensor *o = gguf_find_tensor(src, name);
        if (t->type != type || !o)
            continue;
        float *w = tensor_to_f32(o);
        uint8_t *mine = ls_malloc(t->size_bytes);
        int64_t ne0 = t->ne[0], n_rows = gguf_tensor_n_elems(t) / ne0;
        size_t row_bytes = dtype_row_bytes(type, ne0);
        for (int64_t r = 0; r < n_rows; r++)
            quant_quantize_row_ref(type, w + r * ne0, mine + r * row_bytes, ne0);
        const uint8_t *theirs = t->data;
        for (size_t k = 0; k < t->size_bytes; k++)
            n_diff += mine[k] != theirs[k];
        for (size_t k = 0; k < t->size_bytes; k += block_bytes, n_blocks++) {
            if (memcmp(mine + k, theirs + k, block_bytes) == 0)
                continue;
            n_diff_blocks++;
            int a = mine[k] | mine[k + 1] << 8, b = theirs[k] | theirs[k + 1] << 8;
            n_diff_scale += a != b;
            if ((a ^ b) == 0x8000) {
                n_mirrored++;
                continue;
            }
            if (abs(a - b) > max_scale_ulps)
                max_scale_ulps = abs(a - b);
            int qa[32], qb[32];
            block_ints(type, mine + k, qa);
            block_ints(type, theirs + k, qb);
            for (int j = 0; j < 32; j++)
                if (abs(qa[j] - qb[j]) > max_int_diff)
                    max_int_diff = abs(qa[j] - qb[j]);
        }
        n_bytes += t->size_bytes;
        ls_free(w);
        ls_free(mine);
    }
    double frac = n_bytes ? (double)n_diff / (double)n_bytes : 1;
    printf("byte_compare file=%s type=%s bytes=%zu differing_bytes=%zu (%.4f%%) blocks=%zu differing_blocks=%zu "
           "differing_scales=%zu mirrored=%zu max_scale_diff_f16_ulps=%d max_int_diff=%d\n",
           quant_name, dtype_name(type), n_bytes, n_diff, 100 * frac, n_blocks, n_diff_blocks, n_diff_scale,
           n_mirrored, max_scale_ulps, max_int_diff);
    CHECK(n_bytes > 0, "%s: no %s tensors compared", quant_name, dtype_name(type));
    CHECK(frac <= max_frac, "%s: %.4f%% of bytes differ from llama.cpp's (allowed %.4f%%)", quant_name, 100 * frac,
          100 * max_frac);
    CHECK(max_scale_ulps <= 1, "%s: a block scale differs by %d F16 steps", quant_name, max_scale_ulps);
    CHECK(n_mirrored * 1000 <= n_blocks, "%s: %zu mirrored blocks", quant_name, n_mirrored);
    CHECK(max_int_diff <= 1, "%s: an integer differs by %d", quant_name, max_int_diff);
    gguf_close(f);
}

/* ---- 5. type choices match llama.cpp's ---------------------------------- */

static void compare_plan(const char *shared, const char *src_name, const char *quant_name, const char *preset_name)
{
    gguf_file *src = NULL, *ref = NULL;
    CHECK(gguf_open(model_path(shared, src_name), &src) == LS_OK, "open %s: %s", src_name, ls_error_msg());
    CHECK(gguf_open(model_path(shared, quant_name), &ref) == LS_OK, "open %s: %s", quant_name, ls_error_msg());
    const qmodel_preset *preset = qmodel_preset_find(preset_name);
    CHECK(preset != NULL, "preset %s", preset_name);
    qmodel_tensor *plan = NULL;
    if (src && ref && preset && qmodel_plan(src, preset, &plan) == LS_OK) {
        int n_same = 0;
        for (int64_t i = 0; i < gguf_n_tensors(src); i++) {
            const gguf_tensor *o = gguf_find_tensor(ref, plan[i].name);
            CHECK(o != NULL, "%s: tensor %s missing", quant_name, plan[i].name);
            if (!o)
                continue;
            CHECK(o->type == plan[i].to, "%s: %s is %s in llama.cpp's file, we chose %s", quant_name, plan[i].name,
                  dtype_name(o->type), dtype_name(plan[i].to));
            n_same += o->type == plan[i].to;
        }
        uint32_t ft = 0;
        CHECK(gguf_get_u32(ref, "general.file_type", &ft) == LS_OK && ft == preset->file_type,
              "%s: general.file_type %u, preset %s says %u", quant_name, ft, preset_name, preset->file_type);
        CHECK(gguf_n_tensors(ref) == gguf_n_tensors(src), "%s: tensor count", quant_name);
        printf("plan preset=%s file=%s tensors=%lld same_type=%d\n", preset_name, quant_name,
               (long long)gguf_n_tensors(src), n_same);
    } else {
        CHECK(0, "plan %s for %s: %s", preset_name, src_name, ls_error_msg());
    }
    ls_free(plan);
    gguf_close(src);
    gguf_close(ref);
}

/* ---- 6. a whole file ----------------------------------------------------- */

static void whole_file(const char *shared, const char *preset_name, bool reference_rounding)
{
    char out[256];
    snprintf(out, sizeof out, "/tmp/localseek-test-quant-%d-%s.gguf", (int)getpid(), preset_name);
    const qmodel_preset *preset = qmodel_preset_find(preset_name);
    qmodel_params params = { 2, reference_rounding, NULL, NULL };
    qmodel_stats st;
    ls_status s = qmodel_quantize(model_path(shared, "golden-qwen2-f16.gguf"), out, preset, &params, &st);
    CHECK(s == LS_OK, "qmodel_quantize %s: %s", preset_name, ls_error_msg());
    if (s != LS_OK)
        return;
    gguf_file *src = NULL, *q = NULL;
    CHECK(gguf_open(model_path(shared, "golden-qwen2-f16.gguf"), &src) == LS_OK, "reopen source");
    s = gguf_open(out, &q);
    CHECK(s == LS_OK, "our %s file does not open: %s", preset_name, ls_error_msg());
    if (s == LS_OK && src) {
        /* every source key is there, plus general.quantization_version */
        CHECK(gguf_n_kv(q) == gguf_n_kv(src) + (gguf_find_key(src, "general.quantization_version") < 0),
              "%s: %lld keys, source has %lld", preset_name, (long long)gguf_n_kv(q), (long long)gguf_n_kv(src));
        for (int64_t i = 0; i < gguf_n_kv(src); i++) {
            gguf_str k = gguf_key_name(src, i);
            char key[256];
            snprintf(key, sizeof key, "%.*s", (int)k.len, k.ptr);
            CHECK(gguf_find_key(q, key) >= 0, "%s: key %s not copied", preset_name, key);
        }
        uint32_t ft = 0, qv = 0;
        CHECK(gguf_get_u32(q, "general.file_type", &ft) == LS_OK && ft == preset->file_type, "%s: file_type %u",
              preset_name, ft);
        CHECK(gguf_get_u32(q, "general.quantization_version", &qv) == LS_OK && qv == 2, "%s: quantization_version",
              preset_name);
        int n_exact = 0;
        for (int64_t i = 0; i < gguf_n_tensors(src); i++) {
            const gguf_tensor *a = gguf_tensor_at(src, i);
            char name[96];
            name_of(a, name, sizeof name);
            const gguf_tensor *b = gguf_find_tensor(q, name);
            CHECK(b != NULL && b->type == st.tensors[i].to, "%s: tensor %s missing or wrong type", preset_name, name);
            if (!b)
                continue;
            float *w = tensor_to_f32(a);
            int64_t ne0 = a->ne[0], n_rows = gguf_tensor_n_elems(a) / ne0;
            size_t row_bytes = dtype_row_bytes(b->type, ne0);
            uint8_t *mine = ls_malloc(row_bytes * (size_t)n_rows);
            for (int64_t r = 0; r < n_rows; r++) {
                if (reference_rounding)
                    quant_quantize_row_ref(b->type, w + r * ne0, mine + r * row_bytes, ne0);
                else
                    quant_quantize_row(b->type, w + r * ne0, mine + r * row_bytes, ne0);
            }
            bool same = b->size_bytes == row_bytes * (size_t)n_rows && memcmp(mine, b->data, b->size_bytes) == 0;
            CHECK(same, "%s: tensor %s bytes differ from quant_quantize_row's", preset_name, name);
            n_exact += same;
            ls_free(w);
            ls_free(mine);
        }
        printf("whole_file preset=%s%s tensors=%lld exact=%d bytes_in=%llu bytes_out=%llu\n", preset_name,
               reference_rounding ? " (reference rounding)" : "", (long long)st.n_tensors, n_exact,
               (unsigned long long)st.file_bytes_in, (unsigned long long)st.file_bytes_out);
    }
    gguf_close(q);
    gguf_close(src);
    qmodel_stats_free(&st);
    unlink(out);
}

/* ---- 7. failure paths ---------------------------------------------------- */

static bool file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static void alloc_failures(const char *shared)
{
    char out[256], tmp[300];
    snprintf(out, sizeof out, "/tmp/localseek-test-quant-%d-nomem.gguf", (int)getpid());
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    const qmodel_preset *preset = qmodel_preset_find("Q4_K_M");
    qmodel_params params = { 2, false, NULL, NULL };
    int n_failures = 0, n_bad = 0;
    bool succeeded = false;
    for (long k = 1; k < 5000 && !succeeded; k++) {
        long live = ls_alloc_live();
        qmodel_stats st;
        ls_alloc_fail_after(k);
        ls_status s = qmodel_quantize(model_path(shared, "stories260K.gguf"), out, preset, &params, &st);
        ls_alloc_fail_after(0);
        if (s == LS_OK) {
            succeeded = true;
            qmodel_stats_free(&st);
        } else {
            n_failures++;
            if (s != LS_ERR_NOMEM || file_exists(out) || file_exists(tmp)) {
                if (n_bad++ < 3)
                    fprintf(stderr, "allocation %ld failing gave %s (%s), output left: %d\n", k, ls_status_str(s),
                            ls_error_msg(), file_exists(out) || file_exists(tmp));
            }
        }
        CHECK(ls_alloc_live() == live, "allocation %ld failing leaks %ld blocks", k, ls_alloc_live() - live);
        unlink(out);
    }
    printf("alloc_failures injected=%d bad=%d then_succeeded=%d\n", n_failures, n_bad, succeeded);
    CHECK(succeeded && n_failures > 10, "injection walk did not finish (%d failures)", n_failures);
    CHECK(n_bad == 0, "%d injected failures were not reported as LS_ERR_NOMEM with nothing written", n_bad);
}

static void nan_weights(void)
{
    char in[256], out[256];
    snprintf(in, sizeof in, "/tmp/localseek-test-quant-%d-nan-in.gguf", (int)getpid());
    snprintf(out, sizeof out, "/tmp/localseek-test-quant-%d-nan-out.gguf", (int)getpid());
    float w[4][256];
    for (int r = 0; r < 4; r++)
        for (int k = 0; k < 256; k++)
            w[r][k] = 0.01f * (float)((r * 256 + k) % 17) - 0.08f;
    w[2][100] = NAN;
    gguf_writer *gw = NULL;
    int64_t ne[2] = { 256, 4 };
    ls_status s = gguf_writer_create(&gw);
    if (s == LS_OK)
        s = gguf_writer_set_str(gw, "general.architecture", "llama");
    if (s == LS_OK)
        s = gguf_writer_add_tensor(gw, "blk.0.ffn_up.weight", DT_F32, 2, ne);
    if (s == LS_OK)
        s = gguf_writer_begin(gw, in);
    if (s == LS_OK)
        s = gguf_writer_write_data(gw, w, sizeof w);
    if (s == LS_OK)
        s = gguf_writer_finish(gw);
    gguf_writer_free(gw);
    CHECK(s == LS_OK, "writing the NaN model: %s", ls_error_msg());
    qmodel_params params = { 1, false, NULL, NULL };
    qmodel_stats st;
    s = qmodel_quantize(in, out, qmodel_preset_find("Q8_0"), &params, &st);
    CHECK(s == LS_ERR_FORMAT, "NaN weights: status %s", ls_status_str(s));
    CHECK(strstr(ls_error_msg(), "blk.0.ffn_up.weight") && strstr(ls_error_msg(), "row 2"),
          "NaN weights: message names tensor and row: %s", ls_error_msg());
    CHECK(!file_exists(out), "NaN weights: an output file was left");
    if (s == LS_OK)
        qmodel_stats_free(&st);
    unlink(in);
    unlink(out);
}

int main(void)
{
    const char *shared = check_shared_dir();
    gguf_file *src = NULL;
    ls_status s = gguf_open(model_path(shared, "golden-qwen2-f16.gguf"), &src);
    CHECK(s == LS_OK, "open golden-qwen2-f16.gguf: %s", ls_error_msg());
    if (s != LS_OK)
        return check_done();

    quality_bars(src);
    all_models_finite(shared);
    static const char *quantized[] = { "golden-qwen2-q8_0.gguf", "golden-qwen2-q4_0.gguf",
                                       "golden-qwen2-q4_k_m.gguf", "golden-qwen2-q5_k_m.gguf",
                                       "golden-qwen2-q6_k.gguf" };
    for (size_t i = 0; i < sizeof quantized / sizeof quantized[0]; i++)
        compare_with_source(shared, quantized[i], src);
    compare_bytes(shared, "golden-qwen2-q8_0.gguf", src, DT_Q8_0, 0.03);
    compare_bytes(shared, "golden-qwen2-q4_0.gguf", src, DT_Q4_0, 0.01);

    gguf_close(src);

    compare_plan(shared, "golden-qwen2-f16.gguf", "golden-qwen2-q4_k_m.gguf", "Q4_K_M");
    compare_plan(shared, "golden-qwen2-f16.gguf", "golden-qwen2-q5_k_m.gguf", "Q5_K_M");
    compare_plan(shared, "golden-qwen2-f16.gguf", "golden-qwen2-q6_k.gguf", "Q6_K");
    compare_plan(shared, "golden-qwen2-f16.gguf", "golden-qwen2-q8_0.gguf", "Q8_0");
    compare_plan(shared, "golden-qwen2-f16.gguf", "golden-qwen2-q4_0.gguf", "Q4_0");
    compare_plan(shared, "golden-llama-f16.gguf", "golden-llama-q4_k_m.gguf", "Q4_K_M"); /* tied embeddings */
    compare_plan(shared, "golden-llama-f16.gguf", "golden-llama-q8_0.gguf", "Q8_0");
    compare_plan(shared, "golden-llama-f16.gguf", "golden-llama-bf16.gguf", "BF16");

    whole_file(shared, "Q4_K_M", false);
    whole_file(shared, "Q4_0", true);
    alloc_failures(shared);
    nan_weights();
    return check_done();
}
