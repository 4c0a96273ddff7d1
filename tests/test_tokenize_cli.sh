#!/usr/bin/env bash
# test_tokenize_cli.sh — `localseek tokenize` end to end, on the real binary.
#
# --test-file must print exactly the reference .out files of
# ../shared/golden/tokenizer (all four: 46 + 46 + 388 + 388 strings); -p gives
# the ids a user expects (BOS by default, --no-bos, --escape, --pieces);
# special-token text typed with -p stays plain text unless --parse-special;
# --bench checks its round trip and prints its figures (no timing asserted);
# errors: a missing model file (exit 1, one line naming it), bad usage (2).
# Env: LOCALSEEK_BIN (the binary), LOCALSEEK_SHARED (default ../shared).
# Exit 77 (skipped) when the shared folder is missing.
set -u

source "$(dirname "$0")/lib.sh"
needs_shared
M=$SHARED/models
G=$SHARED/golden/tokenizer
QWEN=$M/vocab-deepseek-r1-qwen.gguf
LLAMA3=$M/vocab-llama3.gguf

# ---- the reference vectors, byte for byte -----------------------------------
for set in "deepseek-r1-qwen.inp $QWEN deepseek-r1-qwen.out" "llama-bpe.inp $LLAMA3 llama-bpe.out" \
           "corpus.inp $QWEN corpus.deepseek-r1-qwen.out" "corpus.inp $LLAMA3 corpus.llama3.out"; do
    read -r inp model out <<< "$set"
    if "$BIN" tokenize -m "$model" --test-file "$G/$inp" > "$TMP/got.out" 2> "$TMP/err.txt"; then
        if cmp -s "$TMP/got.out" "$G/$out"; then
            ok
            echo "ok: $inp with $(basename "$model"): $(wc -l < "$G/$out") lines identical to $out"
        else
            n=$(diff "$TMP/got.out" "$G/$out" | grep -c '^<')
            bad "$inp with $(basename "$model"): $n lines differ from $out"
        fi
    else
        bad "--test-file $inp failed: $(cat "$TMP/err.txt")"
    fi
done

# ---- plain use --------------------------------------------------------------
expect_eq "BOS by default" "$("$BIN" tokenize -m "$QWEN" -p "Hello world")" "151646 9707 1879"
expect_eq "--no-bos" "$("$BIN" tokenize -m "$QWEN" -p "Hello world" --no-bos)" "9707 1879"
expect_eq "--escape" "$("$BIN" tokenize -m "$QWEN" -p 'a\nb' --escape --no-bos)" "64 198 65"
expect_eq "Llama 3 digits in threes" "$("$BIN" tokenize -m "$LLAMA3" -p "1234567" --no-bos)" "4513 10961 22"
expect_eq "SentencePiece (stories260K)" "$("$BIN" tokenize -m "$M/stories260K.gguf" -p "Once upon a time")" \
    "1 403 407 261 378"
pieces=$("$BIN" tokenize -m "$QWEN" -p "Hello world" --no-bos --pieces)
if grep -q "^  1879 ' world'$" <<< "$pieces"; then ok; else bad "--pieces shows ' world': $pieces"; fi
printf 'line one\nline two' > "$TMP/prompt.txt"
expect_eq "-f FILE" "$("$BIN" tokenize -m "$QWEN" -f "$TMP/prompt.txt" --no-bos | wc -w)" \
    "$("$BIN" tokenize -m "$QWEN" -p "$(cat "$TMP/prompt.txt")" --no-bos | wc -w)"

# ---- special tokens: typed text stays text ----------------------------------
plain=$("$BIN" tokenize -m "$QWEN" -p "<think>hi</think>" --no-bos)
special=$("$BIN" tokenize -m "$QWEN" -p "<think>hi</think>" --no-bos --parse-special)
if grep -qE '(^| )15164[89]( |$)' <<< "$plain"; then bad "typed <think> became a special token: $plain"; else ok; fi
expect_eq "--parse-special matches <think>" "$special" "151648 6023 151649"

# ---- bench ------------------------------------------------------------------
cat "$G/corpus.inp" "$G/llama-bpe.inp" > "$TMP/bench.txt"
if "$BIN" tokenize -m "$LLAMA3" --bench "$TMP/bench.txt" --seconds 0.2 > "$TMP/bench.out" 2>&1; then
    if grep -q "^round_trip=ok$" "$TMP/bench.out" && grep -q "^encode_mb_per_s=" "$TMP/bench.out" &&
       grep -q "^load_ms=" "$TMP/bench.out"; then ok; else bad "--bench output: $(cat "$TMP/bench.out")"; fi
else
    bad "--bench failed: $(cat "$TMP/bench.out")"
fi

# ---- errors -----------------------------------------------------------------
"$BIN" tokenize -m "$TMP/missing.gguf" -p hi > /dev/null 2> "$TMP/err.txt"
rc=$?
if [ $rc -eq 1 ] && grep -q "missing.gguf" "$TMP/err.txt" && [ "$(wc -l < "$TMP/err.txt")" -eq 1 ]; then
    ok
else
    bad "missing model: rc $rc, '$(cat "$TMP/err.txt")'"
fi
"$BIN" tokenize -p hi > /dev/null 2>&1
expect_eq "no -m is bad usage" "$?" "2"
"$BIN" tokenize -m "$QWEN" -p hi --frobnicate > /dev/null 2>&1
expect_eq "unknown option is bad usage" "$?" "2"
"$BIN" tokenize --help > "$TMP/help.txt"
if [ $? -eq 0 ] && grep -q -- "--parse-special" "$TMP/help.txt"; then ok; else bad "--help"; fi

finish
