#!/usr/bin/env bash
# test_info.sh — `localseek info` end to end, on the real binary.
#
# For every ../shared/models/*.gguf: exit 0, the key lines a user looks for,
# and --json output that parses and agrees with the text. Then the failure
# paths a user meets: a truncated copy and a missing file (exit 1, one line
# naming the file), bad usage (exit 2 with a usage line), --help (exit 0).
# Env: LOCALSEEK_BIN (the binary), LOCALSEEK_SHARED (default ../shared).
# Exit 77 (skipped) when the shared folder is missing.
set -u

source "$(dirname "$0")/lib.sh"
needs_shared

n_models=0
for model in "$SHARED"/models/*.gguf; do
    name=$(basename "$model")
    n_models=$((n_models + 1))
    out="$TMP/out.txt"
    "$BIN" info -m "$model" >"$out" 2>"$TMP/err.txt"
    rc=$?
    check "$name: exit 0 (got $rc: $(head -c 300 "$TMP/err.txt"))" test "$rc" -eq 0
    for line in "file size:" "format:        GGUF version 3" "architecture:" "parameters:" "vocabulary:" \
        "tokenizer:" "chat template:"; do
        check "$name: line '$line'" grep -q "^$line" "$out"
    done
    # qwen3moe (mixture of experts) is recognised as planned and refused by
    # run/chat until the engine issue adds it; every other file is runnable
    case $name in
    golden-qwen3moe-*) want="qwen3moe (not supported by localseek yet: planned)"; status=planned ;;
    *) want="\(llama\|qwen2\|qwen3\) (supported by localseek)"; status=supported ;;
    esac
    check "$name: architecture $status" grep -q "^architecture:  $want" "$out"
    check "$name: human size in MiB" grep -Eq "^file size: +[0-9.]+ MiB" "$out"
    "$BIN" info -m "$model" --json >"$TMP/out.json" 2>"$TMP/err.txt"
    check "$name: --json exit 0" test $? -eq 0
    check "$name: --json parses" python3 -c 'import json,sys; json.load(sys.stdin)' <"$TMP/out.json"
    check "$name: --json is one line" test "$(wc -l <"$TMP/out.json")" -eq 1
    # the JSON agrees with the text and with the file
    check "$name: --json values" python3 - "$TMP/out.json" "$model" "$status" <<'EOF'
import json, os, sys
d = json.load(open(sys.argv[1]))
assert d["file_size_bytes"] == os.path.getsize(sys.argv[2]), "size"
assert d["gguf_version"] == 3 and d["architecture"] in ("llama", "qwen2", "qwen3", "qwen3moe"), "arch"
assert d["architecture_status"] == sys.argv[3], "status"
assert d["architecture_supported"] is (sys.argv[3] == "supported") and d["all_tensor_types_supported"] is True, "support"
assert d["hyperparameters"]["embedding_length"] > 0 and d["hyperparameters"]["block_count"] > 0, "hp"
assert d["vocab_size"] > 0 and d["tokenizer"]["model"] in ("gpt2", "llama"), "tokenizer"
assert sum(t["n_tensors"] for t in d["tensor_types"]) == d["n_tensors"], "type counts"
EOF
done
check "found the shared models ($n_models)" test "$n_models" -ge 13

# spot checks a person would read
q="$SHARED/models/golden-qwen2-q4_k_m.gguf"
"$BIN" info -m "$q" >"$TMP/q.txt"
check "qwen2: embedding length 512" grep -Eq "^  embedding length +512$" "$TMP/q.txt"
check "qwen2: 2 layers" grep -Eq "^  layers \(block count\) +2$" "$TMP/q.txt"
check "qwen2: eps 1e-06" grep -Eq "^  RMS norm epsilon +1e-06$" "$TMP/q.txt"
check "qwen2: 4096 tokens" grep -q "^vocabulary:    4096 tokens" "$TMP/q.txt"
check "qwen2: Q4_K row" grep -Eq "^  Q4_K +13 tensors" "$TMP/q.txt"
check "qwen2: parameters in M" grep -q "^parameters:    10.49 M" "$TMP/q.txt"
check "qwen2: tokenizer line" grep -q "^tokenizer:     gpt2 (pre-tokenizer: deepseek-r1-qwen)" "$TMP/q.txt"
check "qwen2: chat template present" grep -q "^chat template: present" "$TMP/q.txt"
s="$SHARED/models/stories260K.gguf"
"$BIN" info -m "$s" >"$TMP/s.txt"
check "stories: 48 F32" grep -Eq "^  F32 +48 tensors" "$TMP/s.txt"
check "stories: no template" grep -q "^chat template: absent" "$TMP/s.txt"
check "stories: llama tokenizer" grep -q "^tokenizer:     llama$" "$TMP/s.txt"
"$BIN" info -m "$SHARED/models/vocab-deepseek-r1-qwen.gguf" >"$TMP/v.txt"
check "vocab-only file says so" grep -q "vocabulary-only" "$TMP/v.txt"

# a file localseek cannot run: unknown architecture, a Q2_K tensor, a name that needs JSON escaping
python3 - "$TMP/odd.gguf" <<'EOF'
import struct, sys
def s(b): return struct.pack("<Q", len(b)) + b
kv = [(b"general.architecture", 8, s(b"phi3")),
      (b"general.name", 8, s(b'quote" back\\ tab\t nl\n bad\xff\xc3 end')),
      (b"phi3.block_count", 4, struct.pack("<I", 3))]
out = b"GGUF" + struct.pack("<IQQ", 3, 2, len(kv))
for k, t, v in kv:
    out += s(k) + struct.pack("<I", t) + v
out += s(b"blk.0.q2k") + struct.pack("<IQQIQ", 2, 256, 2, 10, 0)   # Q2_K [256, 2] at offset 0
out += s(b"norm") + struct.pack("<IQIQ", 1, 8, 0, 192)            # F32 [8] at offset 192
out += b"\0" * (-len(out) % 32) + b"\0" * (192 + 32)
open(sys.argv[1], "wb").write(out)
EOF
"$BIN" info -m "$TMP/odd.gguf" >"$TMP/odd.txt" 2>"$TMP/err.txt"
check "odd: exit 0 ($(cat "$TMP/err.txt"))" test $? -eq 0
check "odd: arch not supported" grep -q "^architecture:  phi3 (not supported by localseek)" "$TMP/odd.txt"
check "odd: Q2_K flagged" grep -Eq "^  Q2_K +1 tensor .*not supported" "$TMP/odd.txt"
check "odd: unsupported list" grep -q "^tensor support: NOT all supported; unsupported types: Q2_K$" "$TMP/odd.txt"
check "odd: block count" grep -Eq "^  layers \(block count\) +3$" "$TMP/odd.txt"
check "odd: control bytes and bad UTF-8 shown as ?" grep -qxF 'name:          quote" back\ tab? nl? bad?? end' "$TMP/odd.txt"
"$BIN" info -m "$TMP/odd.gguf" --json >"$TMP/odd.json"
check "odd: --json values" python3 - "$TMP/odd.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["architecture"] == "phi3" and d["architecture_supported"] is False, "arch"
assert d["architecture_status"] == "unsupported", "status"
assert d["all_tensor_types_supported"] is False and d["unsupported_tensor_types"] == ["Q2_K"], "types"
assert d["name"] == 'quote" back\\ tab\t nl\n bad\ufffd\ufffd end', repr(d["name"])
assert d["hyperparameters"]["block_count"] == 3 and d["hyperparameters"]["embedding_length"] is None, "hp"
assert d["n_params"] == 256 * 2 + 8 and d["vocab_size"] is None, "params"
EOF

# a truncated copy: exit 1, one line, names the file
head -c 5000 "$s" >"$TMP/cut.gguf"
"$BIN" info -m "$TMP/cut.gguf" >"$TMP/out.txt" 2>"$TMP/err.txt"
rc=$?
check "truncated: exit 1 (got $rc)" test "$rc" -eq 1
check "truncated: one line on stderr" test "$(wc -l <"$TMP/err.txt")" -eq 1
check "truncated: names the file" grep -q "^localseek info: $TMP/cut.gguf: " "$TMP/err.txt"
check "truncated: says truncated" grep -q "truncated" "$TMP/err.txt"
check "truncated: nothing on stdout" test ! -s "$TMP/out.txt"
echo "  truncated -> $(cat "$TMP/err.txt")"

# not a GGUF file
echo "hello" >"$TMP/text.gguf"
"$BIN" info -m "$TMP/text.gguf" 2>"$TMP/err.txt" >/dev/null
check "text file: exit 1" test $? -eq 1
check "text file: says expected GGUF" grep -q "expected 'GGUF'" "$TMP/err.txt"

# a missing file
"$BIN" info -m "$TMP/missing.gguf" >/dev/null 2>"$TMP/err.txt"
rc=$?
check "missing: exit 1 (got $rc)" test "$rc" -eq 1
check "missing: one line naming the file" grep -q "^localseek info: $TMP/missing.gguf: " "$TMP/err.txt"
check "missing: one line" test "$(wc -l <"$TMP/err.txt")" -eq 1
echo "  missing -> $(cat "$TMP/err.txt")"

# usage
"$BIN" info >/dev/null 2>"$TMP/err.txt"
check "no -m: exit 2" test $? -eq 2
check "no -m: usage line" grep -q "^usage: localseek info -m FILE" "$TMP/err.txt"
"$BIN" info -m >/dev/null 2>"$TMP/err.txt"
check "-m without value: exit 2" test $? -eq 2
"$BIN" info -m "$s" --bogus >/dev/null 2>"$TMP/err.txt"
check "unknown option: exit 2" test $? -eq 2
check "unknown option: named" grep -q "unknown option '--bogus'" "$TMP/err.txt"
"$BIN" info --help >"$TMP/out.txt" 2>&1
check "--help: exit 0" test $? -eq 0
check "--help: usage on stdout" grep -q "^usage: localseek info" "$TMP/out.txt"

finish
