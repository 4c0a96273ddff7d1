/* quantize.c — the public API's model conversion (include/localseek.h:
 * "converting a model file") over tensor/qmodel.h.
 *
 * The quantizer reports its decisions as qmodel_tensor records; the public
 * ls_quant_tensor is filled from them field by field (type names instead of
 * the internal dtype ids), once for the progress callback and once for the
 * final report, so tensor/ can change without changing the API.
 */
#include "localseek.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/dtype.h"
#include "base/platform.h"
#include "tensor/qmodel.h"

bool ls_quant_type_known(const char *type)
{
    return qmodel_preset_find(type) != NULL;
}

const char *ls_quant_type_names(void)
{
    return qmodel_preset_names();
}

static ls_quant_tensor public_tensor(const qmodel_tensor *t)
{
    ls_quant_tensor p = { .n_dims = (int)t->n_dims, .from = dtype_name(t->from), .wanted = dtype_name(t->wanted),
                          .to = dtype_name(t->to), .wanted_block = dtype_get(t->wanted)->block_elems };
    snprintf(p.name, sizeof p.name, "%s", t->name);
    for (uint32_t d = 0; d < t->n_dims && d < 4; d++)
        p.shape[d] = t->ne[d];
    return p;
}

typedef struct {
    const ls_quant_options *o;
} progress_bridge;

static void bridge_progress(void *user, const qmodel_progress *q)
{
    const ls_quant_options *o = ((progress_bridge *)user)->o;
    ls_quant_tensor t = public_tensor(q->tensor);
    ls_quant_progress p = { .i_tensor = q->i_tensor, .n_tensors = q->n_tensors, .tensor = &t,
                            .bytes_done = q->bytes_done, .bytes_total = q->bytes_total, .seconds = q->seconds };
    o->on_progress(o->ctx, &p);
}

ls_status ls_quantize(const char *in_path, const char *out_path, const char *type, const ls_quant_options *o,
                      ls_quant_report *out)
{
    memset(out, 0, sizeof *out);
    const qmodel_preset *preset = qmodel_preset_find(type);
    if (!preset)
        return ls_error(LS_ERR_ARG, "unknown type '%s' (expected one of %s)", type, qmodel_preset_names());
    ls_quant_options d = { 0 };
    if (!o)
        o = &d;
    int n_threads = o->n_threads > 0 ? o->n_threads : plat_physical_cores();
    progress_bridge b = { o };
    qmodel_params params = { n_threads, o->reference_rounding, o->on_progress ? bridge_progress : NULL, &b };
    qmodel_stats st;
    ls_status s = qmodel_quantize(in_path, out_path, preset, &params, &st);
    if (s)
        return s;
    out->tensors = ls_calloc(st.n_tensors > 0 ? (size_t)st.n_tensors : 1, sizeof *out->tensors);
    const qmodel_tensor *keep = st.tensors;
    if (!out->tensors) {
        qmodel_stats_free(&st);
        return ls_error(LS_ERR_NOMEM, "out of memory for the report (%s was written)", out_path);
    }
    for (int64_t i = 0; i < st.n_tensors; i++)
        out->tensors[i] = public_tensor(&keep[i]);
    for (int t = 0; t < DT_COUNT && out->n_counts < (int)(sizeof out->counts / sizeof out->counts[0]); t++) {
        int64_t c = 0;
        for (int64_t i = 0; i < st.n_tensors; i++)
            c += keep[i].to == (dtype)t;
        if (c) {
            out->counts[out->n_counts].type = dtype_name((uint32_t)t);
            out->counts[out->n_counts++].n = c;
        }
    }
    out->type = preset->name;
    out->file_type = preset->file_type;
    out->n_threads = n_threads;
    out->n_tensors = st.n_tensors;
    out->n_fallbacks = st.n_fallbacks;
    out->file_bytes_in = st.file_bytes_in;
    out->file_bytes_out = st.file_bytes_out;
    out->seconds = st.seconds;
    qmodel_stats_free(&st);
    return LS_OK;
}

void ls_quant_report_free(ls_quant_report *r)
{
    if (!r)
        return;
    ls_free(r->tensors);
    memset(r, 0, sizeof *r);
}
