#!/usr/bin/env bash
# test_quantize.sh — `localseek quantize` end to end, on the real binary.
#
# golden-qwen2-f16.gguf to every TYPE: exit 0, a summary, an output that
# `localseek info` reads with the expected tensor types, sizes in the
# expected order and equal to llama.cpp's files of the same type. Then:
# -v lists every tensor, one thread and two give identical files, the
# fallbacks of a model with odd row lengths (stories260K) are reported,
# and the failure paths a user meets: missing or corrupt input, bad type,
# bad options, unwritable output (exit 1 with one sentence, or 2 with usage).
# Env: LOCALSEEK_BIN (the binary), LOCALSEEK_SHARED (default ../shared).
# Exit 77 (skipped) when the shared folder is missing.
set -u

source "$(dirname "$0")/lib.sh"
needs_shared
size_of() { stat -c %s "$1"; }
SRC="$SHARED/models/golden-qwen2-f16.gguf"
SRC_SIZE=$(size_of "$SRC")

# ---- every type ------------------------------------------------------------
# TYPE  expected tensor types (besides F32)  llama.cpp's file of that type (or -)
while read -r type types golden; do
    out="$TMP/out-$type.gguf"
    "$BIN" quantize -t 2 "$SRC" "$out" "$type" >"$TMP/stdout.txt" 2>"$TMP/stderr.txt"
    rc=$?
    check "$type: exit 0 (got $rc: $(tail -c 300 "$TMP/stderr.txt"))" test "$rc" -eq 0
    [ "$rc" -eq 0 ] || continue
    check "$type: summary names the type" grep -q "^quantized .* as $type " "$TMP/stdout.txt"
    check "$type: summary has MB/s" grep -Eq "^  time: +[0-9.]+ s, [0-9.]+ MB/s of input" "$TMP/stdout.txt"
    check "$type: summary lists fallbacks" grep -q "^  fallbacks: none" "$TMP/stdout.txt"
    check "$type: progress reaches 100%" grep -q "100%" "$TMP/stderr.txt"
    check "$type: no per-tensor lines without -v" test "$(grep -c "weight" "$TMP/stdout.txt")" -eq 0
    check "$type: no .tmp file left" test ! -e "$out.tmp"
    "$BIN" info -m "$out" --json >"$TMP/info.json" 2>"$TMP/err.txt"
    check "$type: info reads the output (exit $?: $(head -c 200 "$TMP/err.txt"))" test -s "$TMP/info.json"
    check "$type: tensor types, keys and file type" python3 - "$TMP/info.json" "$types" "$type" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
want = set(sys.argv[2].split(",")) | {"F32"}
got = {t["type"] for t in d["tensor_types"]}
assert got == want, f"types {got}, expected {want}"
assert d["n_tensors"] == 27, d["n_tensors"]
assert d["n_kv"] == 24, f"{d['n_kv']} keys (23 copied + quantization_version expected)"
assert d["architecture"] == "qwen2" and d["all_tensor_types_supported"], "arch/support"
EOF
    size=$(size_of "$out")
    eval "size_$type=$size"
    if [ "$golden" != "-" ]; then
        check "$type: same size as llama.cpp's $golden ($size vs $(size_of "$SHARED/models/$golden"))" \
            test "$size" -eq "$(size_of "$SHARED/models/$golden")"
    fi
done <<'LIST'
F16 F16 -
BF16 BF16 -
Q8_0 Q8_0 golden-qwen2-q8_0.gguf
Q4_0 Q4_0,Q6_K golden-qwen2-q4_0.gguf
Q4_1 Q4_1,Q6_K -
Q5_0 Q5_0,Q6_K -
Q5_1 Q5_1,Q6_K -
Q4_K_M Q4_K,Q6_K golden-qwen2-q4_k_m.gguf
Q5_K_M Q5_K,Q6_K golden-qwen2-q5_k_m.gguf
Q6_K Q6_K golden-qwen2-q6_k.gguf
LIST

# sizes in the order of bits per weight, all below the F16 source
lt() { test "${!1:-0}" -gt 0 && test "${!2:-0}" -gt 0 && test "${!1}" -lt "${!2}"; }
for pair in "size_Q4_0 size_Q4_K_M" "size_Q4_K_M size_Q4_1" "size_Q4_1 size_Q5_0" "size_Q5_0 size_Q5_K_M" \
    "size_Q5_K_M size_Q5_1" "size_Q5_1 size_Q6_K" "size_Q6_K size_Q8_0" "size_Q8_0 size_F16"; do
    set -- $pair
    check "size order: $1 (${!1:-?}) < $2 (${!2:-?})" lt "$1" "$2"
done
# F16 -> F16 copies the data; only general.quantization_version is added
check "F16 output the size of the F16 input (+ one key)" test "$((${size_F16:-0} - SRC_SIZE))" -ge 0 -a "$((${size_F16:-0} - SRC_SIZE))" -le 64
check "Q4_K_M under a third of F16" test "$((${size_Q4_K_M:-SRC_SIZE} * 3))" -lt "$SRC_SIZE"

# ---- options ---------------------------------------------------------------
"$BIN" quantize -v -t 1 "$SRC" "$TMP/v.gguf" q4_k_m >"$TMP/stdout.txt" 2>/dev/null
check "-v, lower-case type: exit 0" test $? -eq 0
check "-v lists all 27 tensors" test "$(grep -Ec "^[a-z_.0-9]+ +\[[0-9, ]+\] +[A-Z0-9_]+ -> [A-Z0-9_]+$" "$TMP/stdout.txt")" -eq 27
check "-v shows a decision" grep -Eq "^blk.1.ffn_down.weight +\[1536, 512\] +F16 -> Q6_K$" "$TMP/stdout.txt"
check "one thread and two give the same file" cmp -s "$TMP/v.gguf" "$TMP/out-Q4_K_M.gguf"
"$BIN" quantize --ref "$SRC" "$TMP/ref.gguf" Q4_0 >/dev/null 2>&1
check "--ref: exit 0" test $? -eq 0
check "--ref differs from the searched rounding" test -e "$TMP/ref.gguf" -a -e "$TMP/out-Q4_0.gguf"
if [ -e "$TMP/ref.gguf" ]; then
    check "--ref differs from the searched rounding" bash -c "! cmp -s '$TMP/ref.gguf' '$TMP/out-Q4_0.gguf'"
    check "--ref is the size of llama.cpp's Q4_0" test "$(size_of "$TMP/ref.gguf")" -eq \
        "$(size_of "$SHARED/models/golden-qwen2-q4_0.gguf")"
fi
"$BIN" quantize "$TMP/out-Q8_0.gguf" "$TMP/re.gguf" Q4_K_M >/dev/null 2>&1
check "requantizing a Q8_0 file works" test $? -eq 0 -a -s "$TMP/re.gguf"

# ---- fallbacks: stories260K has rows of 64 and 172 -------------------------
"$BIN" quantize "$SHARED/models/stories260K.gguf" "$TMP/st.gguf" Q4_K_M >"$TMP/stdout.txt" 2>&1
check "stories260K Q4_K_M: exit 0" test $? -eq 0
check "fallback to Q5_0 reported" grep -Eq "blk.0.attn_q.weight: row length 64 is not a multiple of 256 \(Q4_K\), using Q5_0" "$TMP/stdout.txt"
check "fallback to F16 reported" grep -Eq "blk.0.ffn_down.weight: row length 172 is not a multiple of 256 \(Q4_K\), using F16" "$TMP/stdout.txt"
check "fallback count in the summary" grep -Eq "^  fallbacks: [0-9]+ " "$TMP/stdout.txt"
"$BIN" info -m "$TMP/st.gguf" >/dev/null 2>&1
check "info reads the fallback file" test $? -eq 0

# ---- failure paths ---------------------------------------------------------
expect() { # expect CODE PATTERN DESCRIPTION ARGS...
    local code=$1 pattern=$2 what=$3
    shift 3
    "$BIN" quantize "$@" >"$TMP/o.txt" 2>"$TMP/e.txt"
    local rc=$?
    check "$what: exit $code (got $rc)" test "$rc" -eq "$code"
    check "$what: message matches '$pattern' (got: $(head -c 200 "$TMP/e.txt"))" grep -Eq "$pattern" "$TMP/e.txt"
}
expect 1 "no-such-file.gguf" "missing input" "$TMP/no-such-file.gguf" "$TMP/x.gguf" Q4_0
check "missing input: no output" test ! -e "$TMP/x.gguf"
head -c 100000 "$SRC" >"$TMP/truncated.gguf"
expect 1 "truncated.gguf" "truncated input" "$TMP/truncated.gguf" "$TMP/x.gguf" Q4_0
check "truncated input: no output, no .tmp" test ! -e "$TMP/x.gguf" -a ! -e "$TMP/x.gguf.tmp"
expect 1 "no-such-dir" "unwritable output" "$SRC" "$TMP/no-such-dir/x.gguf" Q4_0
expect 2 "unknown type 'Q3_K_S'" "bad type" "$SRC" "$TMP/x.gguf" Q3_K_S
expect 2 "^usage: localseek quantize" "bad type shows usage" "$SRC" "$TMP/x.gguf" Q3_K_S
expect 2 "expected IN.gguf OUT.gguf TYPE" "missing arguments" "$SRC" "$TMP/x.gguf"
expect 2 "unknown option '--fast'" "unknown option" --fast "$SRC" "$TMP/x.gguf" Q4_0
expect 2 "thread count 'zero'" "bad thread count" -t zero "$SRC" "$TMP/x.gguf" Q4_0
expect 2 "needs a number" "-t without a number" "$SRC" "$TMP/x.gguf" Q4_0 -t
"$BIN" quantize --help >"$TMP/o.txt" 2>&1
check "--help: exit 0" test $? -eq 0
check "--help lists the types" grep -q "Q4_K_M" "$TMP/o.txt"

finish
