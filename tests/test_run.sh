#!/usr/bin/env bash
# End-to-end: `localseek run` and `localseek logits` on the real binary.
#  - stories260K (real trained weights) greedy continues "Once upon a time"
#    exactly as the golden reference does;
#  - `logits` output has the golden schema, and its tokens and greedy chains
#    equal the exact reference for every golden model;
#  - bad arguments and bad files give a one-line message and the right exit code.
set -u
source "$(dirname "$0")/lib.sh"
needs_shared

# 1. real text from real weights
out=$("$BIN" run -m "$SHARED/models/stories260K.gguf" -p "Once upon a time" --temp 0 -n 32 2>"$TMP/err")
rc=$?
[ $rc = 0 ] && ok || bad "run exited $rc: $(cat "$TMP/err")"
case "$out" in
  "Once upon a time, there was a little girl named Lily"*) ok ;;
  *) bad "stories260K greedy text: $out" ;;
esac
grep -q "prompt tokens" "$TMP/err" && ok || bad "run prints its timing line on stderr"

# 2. logits against the exact reference, every model
for m in golden-qwen2-f16 golden-qwen2-q8_0 golden-qwen2-q4_0 golden-qwen2-q4_k_m golden-qwen2-q5_k_m \
         golden-qwen2-q6_k golden-llama-f16 golden-llama-bf16 golden-llama-q8_0 golden-llama-q4_k_m \
         golden-qwen3-f16 golden-qwen3-q8_0 golden-qwen3-q4_k_m stories260K; do
  prompts="$SHARED/golden/logits/prompts.txt"; greedy=16
  [ $m = stories260K ] && { prompts="$SHARED/golden/logits/stories-prompts.txt"; greedy=32; }
  case $m in golden-qwen3-*) prompts="$SHARED/golden/logits/prompts-qwen3.txt" ;; esac
  if ! "$BIN" logits -m "$SHARED/models/$m.gguf" --prompts "$prompts" --greedy $greedy >"$TMP/$m.json" 2>"$TMP/err"; then
    bad "logits $m: $(cat "$TMP/err")"; continue
  fi
  if python3 - "$TMP/$m.json" "$SHARED/golden/logits/exact/$m.json" <<'PY'
import json, sys
ours, ref = (json.load(open(p)) for p in sys.argv[1:3])
assert ours["n_vocab"] == ref["n_vocab"], "n_vocab"
assert len(ours["cases"]) == len(ref["cases"]), "case count"
for a, b in zip(ours["cases"], ref["cases"]):
    # the qwen3 references keep the prompt line as written (a literal \n)
    assert a["prompt"] in (b["prompt"], b["prompt"].replace("\\n", "\n")), "prompt text"
    assert a["tokens"] == b["tokens"], f"tokens {a['tokens']} != {b['tokens']}"
    assert len(a["prompt_logits"]) == len(a["tokens"]) and len(a["prompt_logits"][0]["top"]) == 20, "schema"
    assert [g["token"] for g in a["greedy"]] == [g["token"] for g in b["greedy"]], "greedy chain"
PY
  then ok; else bad "logits $m differs from the exact reference"; fi
done

# 3. errors
"$BIN" run -m "$SHARED/models/stories260K.gguf" >/dev/null 2>"$TMP/err"; [ $? = 2 ] && ok || bad "missing -p is a usage error"
"$BIN" run -m "$SHARED/models/stories260K.gguf" -p hi -n many >/dev/null 2>"$TMP/err"; [ $? = 2 ] && ok || bad "bad -n"
grep -q "expects a whole number" "$TMP/err" && ok || bad "bad -n message: $(cat "$TMP/err")"
"$BIN" run -m "$TMP/none.gguf" -p hi >/dev/null 2>"$TMP/err"; [ $? = 1 ] && ok || bad "missing model exit code"
grep -q "none.gguf" "$TMP/err" && ok || bad "missing model message names the file"
"$BIN" run -m "$SHARED/models/vocab-llama3.gguf" -p hi >/dev/null 2>"$TMP/err"; [ $? = 1 ] && ok || bad "vocab-only file refused"
[ "$(wc -l < "$TMP/err")" = 1 ] && ok || bad "one-line message: $(cat "$TMP/err")"
long=$(printf 'Once upon a time %.0s' $(seq 1 40))
"$BIN" run -m "$SHARED/models/stories260K.gguf" -p "$long" --ctx 64 >/dev/null 2>"$TMP/err"; [ $? = 1 ] && ok || bad "over-long prompt refused"
grep -q "use --ctx" "$TMP/err" && ok || bad "over-long prompt message suggests --ctx: $(cat "$TMP/err")"

# 4. the chat template: a model that carries one gets the text as a user turn
#    (R1: <BOS><｜User｜>H i<｜Assistant｜><think> \n = 7 tokens), no echo;
#    --raw continues the text as it is and echoes it first
G="$SHARED/models/golden-qwen2-q8_0.gguf"
out=$("$BIN" run -m "$G" -p "Hi" --temp 0 -n 4 2>"$TMP/err")
grep -q "^\[7 prompt tokens" "$TMP/err" && ok || bad "templated prompt is 7 tokens: $(cat "$TMP/err")"
case "$out" in Hi*) bad "templated run does not echo the prompt: $out" ;; *) ok ;; esac
out=$("$BIN" run -m "$G" -p "Hi" --raw --temp 0 -n 4 2>"$TMP/err")
grep -q "^\[3 prompt tokens" "$TMP/err" && ok || bad "raw prompt is BOS H i: $(cat "$TMP/err")"
case "$out" in Hi*) ok ;; *) bad "raw run echoes the prompt: $out" ;; esac
"$BIN" run -m "$G" -p "Hi" --chat-template nope >/dev/null 2>&1; [ $? = 2 ] && ok || bad "unknown template name: exit 2"

# --timeout ends the generation cleanly, with what it has
"$BIN" run -m "$SHARED/models/golden-qwen2-q8_0.gguf" -p "Tell me" -n 100000 --ctx 16384 --timeout 0.3 \
  >"$TMP/timeout.out" 2>"$TMP/timeout.err"
[ $? = 0 ] && grep -q 'stopped: time limit (--timeout)' "$TMP/timeout.err" && [ -s "$TMP/timeout.out" ] && ok ||
  bad "--timeout: $(cat "$TMP/timeout.err")"
finish
