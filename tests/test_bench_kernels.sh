#!/usr/bin/env bash
# test_bench_kernels.sh — `localseek bench --kernels` end to end, on the real
# binary, with a tiny matrix so it runs in seconds.
#
# What a user would notice: the command runs on every kernel path this CPU
# has (LOCALSEEK_CPU), checks its results against the scalar reference
# before timing (exit 0 means they matched), prints one key=value line per
# result with the fields the README promises, --json is one valid array
# with the same results, -m reaches the model benchmark, and bad usage
# fails with a clear sentence. No timing is asserted.
# Env: LOCALSEEK_BIN (the binary).
set -u

source "$(dirname "$0")/lib.sh"
has() { # has DESCRIPTION FILE REGEX
    if grep -Eq "$3" "$2"; then ok; else bad "$1"; cat "$2"; fi
}
small=(--kernels --quick --type Q4_K,Q8_0,Q6_K,F16 --rows 40 --cols 512 --vecs 3 -t 2)

for isa in scalar avx2 avx512; do
    LOCALSEEK_CPU=$isa LOCALSEEK_LOG=info "$BIN" bench "${small[@]}" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    if [ $rc -ne 0 ]; then bad "bench on $isa exited $rc"; cat "$TMP/err"; continue; fi
    ok
    # the path actually used is logged; a path this CPU lacks is refused with a warning
    used=$(sed -n 's/.*kernels: \([a-z0-9]*\).*/\1/p' "$TMP/err" | head -1)
    if [ "$used" = "$isa" ]; then ok
    elif grep -q "LOCALSEEK_CPU=$isa: this CPU or OS lacks" "$TMP/err"; then ok
    else bad "LOCALSEEK_CPU=$isa: log says '$used' and no refusal warning"; cat "$TMP/err"; fi
    has "$isa: machine line" "$TMP/out" "^bench=machine isa=$used "
    has "$isa: bandwidth line" "$TMP/out" "^bench=membw threads=2 buffer_mib=[0-9]+ .*gbps_best=[0-9.]+"
    for t in Q4_K Q8_0 Q6_K F16; do
        has "$isa $t decode line" "$TMP/out" "^bench=decode type=$t isa=$used threads=2 rows=40 cols=512 .*gbps=[0-9.]+ .*pct_bw=[0-9.]+"
        has "$isa $t prefill line" "$TMP/out" "^bench=prefill type=$t isa=$used threads=2 rows=40 cols=512 vecs=3 .*gops=[0-9.]+"
    done
    for t in Q4_K Q8_0 Q6_K; do # integer types also on the 16-bit prompt path
        has "$isa $t prefill16 line" "$TMP/out" "^bench=prefill16 type=$t isa=$used threads=2 rows=40 cols=512 vecs=3 .*gops=[0-9.]+"
    done
    if grep -q "^bench=prefill16 type=F16" "$TMP/out"; then bad "$isa: F16 has no wide path"; else ok; fi
    # two-level decode where the path has a two-level kernel (AVX2, AVX-512), never for float weights
    for t in Q4_K Q8_0 Q6_K; do
        if [ "$used" = scalar ]; then
            if grep -q "^bench=decode2 type=$t" "$TMP/out"; then bad "scalar has no two-level kernel"; else ok; fi
        else
            has "$isa $t decode2 line" "$TMP/out" "^bench=decode2 type=$t isa=$used threads=2 rows=40 cols=512 .*gbps=[0-9.]+ .*pct_bw=[0-9.]+"
        fi
    done
    if grep -q "^bench=decode2 type=F16" "$TMP/out"; then bad "$isa: F16 has no two-level decode"; else ok; fi
done

"$BIN" bench "${small[@]}" --json >"$TMP/json" 2>/dev/null
if [ $? -eq 0 ]; then ok; else bad "--json run failed"; fi
has "json starts an array" "$TMP/json" '^\[$'
has "json ends the array" "$TMP/json" '^\]$'
n_obj=$(grep -c '^  {"bench": ' "$TMP/json")
json_want=14 # machine, membw, int8_peak, 4 x decode + prefill, 3 x prefill16
if [ "$(LOCALSEEK_CPU= "$BIN" bench --kernels --quick --type Q4_K --rows 40 --cols 512 --vecs 3 -t 2 2>/dev/null | grep -c '^bench=decode2')" -eq 1 ]; then
    json_want=17 # and 3 x decode2 where the path has two-level kernels
fi
if [ "$n_obj" -eq "$json_want" ]; then ok; else bad "json: expected $json_want objects, got $n_obj"; fi
if command -v python3 >/dev/null; then
    if python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); assert isinstance(a,list) and all("bench" in o for o in a)' "$TMP/json"; then ok
    else bad "--json output is not a valid JSON array"; fi
fi

# -m goes to the model benchmark, which names the missing file
"$BIN" bench -m "$TMP/nonexistent.gguf" >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc -eq 1 ]; then ok; else bad "bench -m MISSING: exit $rc, expected 1"; cat "$TMP/err"; fi
has "bench -m names the missing file" "$TMP/err" "nonexistent.gguf"
# --parallel N: a decode test of N sequences in one batch, beside the single one
if [ -d "$SHARED/models" ]; then
    "$BIN" bench -m "$SHARED/models/golden-qwen2-q4_k_m.gguf" -t 1 -p 16 -n 8 -r 1 --parallel 3 --json >"$TMP/par" 2>"$TMP/err"
    if python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))
t = {o["test"]: o for o in a}
assert set(t) == {"pp16", "tg8", "tg8x3"}, t.keys()
assert t["tg8x3"]["n_parallel"] == 3 and t["tg8x3"]["avg_ts"] > 0 and t["tg8"]["n_parallel"] == 1
' "$TMP/par"; then ok; else bad "bench --parallel 3: $(cat "$TMP/par" "$TMP/err")"; fi
fi
"$BIN" bench --kernels -m "$TMP/x.gguf" >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc -eq 2 ]; then ok; else bad "bench --kernels -m: exit $rc, expected 2"; fi

"$BIN" bench >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc -eq 2 ]; then ok; else bad "bench without a target: exit $rc, expected 2"; fi
"$BIN" bench --kernels --type Q2_K >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc -eq 2 ]; then ok; else bad "bench --type Q2_K: exit $rc, expected 2"; fi
has "unsupported type named" "$TMP/err" "'Q2_K' is not a weight type"
"$BIN" bench --kernels -t 0 >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc -eq 2 ]; then ok; else bad "bench -t 0: exit $rc, expected 2"; fi
"$BIN" bench --help >"$TMP/out" 2>&1
rc=$?
if [ $rc -eq 0 ]; then ok; else bad "bench --help: exit $rc"; fi
has "help mentions LOCALSEEK_CPU" "$TMP/out" "LOCALSEEK_CPU"

finish
