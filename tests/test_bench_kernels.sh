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

BIN=${LOCALSEEK_BIN:-./build/localseek}
if [ ! -x "$BIN" ]; then
    echo "FAIL: binary '$BIN' not found (set LOCALSEEK_BIN)"
    exit 1
fi

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
has() { # has DESCRIPTION FILE REGEX
    if grep -Eq "$3" "$2"; then ok; else bad "$1"; cat "$2"; fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
small=(--kernels --quick --type Q4_K,Q8_0,Q6_K,F16 --rows 40 --cols 512 --vecs 3 -t 2)

for isa in scalar avx2 avx512; do
    LOCALSEEK_CPU=$isa LOCALSEEK_LOG=info "$BIN" bench "${small[@]}" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -ne 0 ]; then bad "bench on $isa exited $rc"; cat "$tmp/err"; continue; fi
    ok
    # the path actually used is logged; a path this CPU lacks is refused with a warning
    used=$(sed -n 's/.*kernels: \([a-z0-9]*\).*/\1/p' "$tmp/err" | head -1)
    if [ "$used" = "$isa" ]; then ok
    elif grep -q "LOCALSEEK_CPU=$isa: this CPU or OS lacks" "$tmp/err"; then ok
    else bad "LOCALSEEK_CPU=$isa: log says '$used' and no refusal warning"; cat "$tmp/err"; fi
    has "$isa: machine line" "$tmp/out" "^bench=machine isa=$used "
    has "$isa: bandwidth line" "$tmp/out" "^bench=membw threads=2 buffer_mib=[0-9]+ .*gbps_best=[0-9.]+"
    for t in Q4_K Q8_0 Q6_K F16; do
        has "$isa $t decode line" "$tmp/out" "^bench=decode type=$t isa=$used threads=2 rows=40 cols=512 .*gbps=[0-9.]+ .*pct_bw=[0-9.]+"
        has "$isa $t prefill line" "$tmp/out" "^bench=prefill type=$t isa=$used threads=2 rows=40 cols=512 vecs=3 .*gops=[0-9.]+"
    done
done

"$BIN" bench "${small[@]}" --json >"$tmp/json" 2>/dev/null
if [ $? -eq 0 ]; then ok; else bad "--json run failed"; fi
has "json starts an array" "$tmp/json" '^\[$'
has "json ends the array" "$tmp/json" '^\]$'
n_obj=$(grep -c '^  {"bench": ' "$tmp/json")
if [ "$n_obj" -eq 11 ]; then ok; else bad "json: expected 11 objects (machine, membw, int8_peak, 4 x decode + prefill), got $n_obj"; fi
if command -v python3 >/dev/null; then
    if python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); assert isinstance(a,list) and all("bench" in o for o in a)' "$tmp/json"; then ok
    else bad "--json output is not a valid JSON array"; fi
fi

# -m goes to the model benchmark, which names the missing file
"$BIN" bench -m "$tmp/nonexistent.gguf" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ]; then ok; else bad "bench -m MISSING: exit $rc, expected 1"; cat "$tmp/err"; fi
has "bench -m names the missing file" "$tmp/err" "nonexistent.gguf"
"$BIN" bench --kernels -m "$tmp/x.gguf" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 2 ]; then ok; else bad "bench --kernels -m: exit $rc, expected 2"; fi

"$BIN" bench >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 2 ]; then ok; else bad "bench without a target: exit $rc, expected 2"; fi
"$BIN" bench --kernels --type Q2_K >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 2 ]; then ok; else bad "bench --type Q2_K: exit $rc, expected 2"; fi
has "unsupported type named" "$tmp/err" "'Q2_K' is not a weight type"
"$BIN" bench --kernels -t 0 >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 2 ]; then ok; else bad "bench -t 0: exit $rc, expected 2"; fi
"$BIN" bench --help >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 0 ]; then ok; else bad "bench --help: exit $rc"; fi
has "help mentions LOCALSEEK_CPU" "$tmp/out" "LOCALSEEK_CPU"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
