#!/usr/bin/env bash
# test_examples.sh — the example programs, built against include/localseek.h
# alone, run on a real model: examples/ask.c holds a two-turn conversation
# (the second turn re-uses the first's tokens), and refuses a missing model
# and a model too big for its memory with the library's sentence.
. "$(dirname "$0")/lib.sh"
needs_shared
ASK="$LOCALSEEK_BUILD/example_ask"
[ -x "$ASK" ] || { bad "example_ask was not built ($ASK)"; finish; }
M="$SHARED/models/golden-qwen2-q8_0.gguf"

"$ASK" "$M" "Hello there" "And a second question" >"$TMP/out" 2>"$TMP/err"
[ $? = 0 ] && ok || bad "ask exited non-zero: $(cat "$TMP/err")"
grep -q "golden-qwen2-q8_0.gguf: qwen2 Q8_0, template deepseek-r1, 2048 tokens of context" "$TMP/err" && ok \
  || bad "the model line: $(head -1 "$TMP/err")"
grep -q "^\[turn 1: prompt [0-9]* tokens, 0 re-used;" "$TMP/err" && ok || bad "turn 1 re-uses nothing: $(cat "$TMP/err")"
reused=$(sed -n 's/^\[turn 2: prompt [0-9]* tokens, \([0-9]*\) re-used;.*/\1/p' "$TMP/err")
[ -n "$reused" ] && [ "$reused" -gt 0 ] && ok || bad "turn 2 re-uses the first turn's tokens: $(cat "$TMP/err")"
# 32 answer tokens at most, thoughts bounded by the default budget (4 x 32 = 128; at least 256)
grep -q "thinking budget of 256 tokens reached" "$TMP/err" && ok || bad "the default thinking budget closed the thoughts"
[ "$(wc -l <"$TMP/out")" -ge 2 ] && ok || bad "two answers on stdout: $(cat "$TMP/out")"

"$ASK" "$TMP/none.gguf" "hi" >/dev/null 2>"$TMP/err"
[ $? = 1 ] && grep -q "none.gguf" "$TMP/err" && ok || bad "a missing model is named: $(cat "$TMP/err")"
"$ASK" "$M" >/dev/null 2>&1; [ $? = 2 ] && ok || bad "no question: usage, exit 2"
finish
