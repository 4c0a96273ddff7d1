#!/usr/bin/env bash
# test_prompt_cli.sh — `localseek prompt` end to end, on the real binary.
#
# Every case of ../shared/golden/templates/*.json is written as a messages
# file and rendered by the command: the output must be the expected text byte
# for byte (the R1 templates detected from the models' own GGUF template, the
# others chosen with --chat-template). --tokens: template markers are single
# special ids, markers a user typed stay text, benign prompts give the ids of
# `tokenize --parse-special`, and BOS is never doubled. The first Llama 3
# template is detected in vocab-llama3.gguf; a model without a template falls
# back to ChatML with one warning line. Errors: bad JSON, a missing file, a
# non-array, content that is not a string, a tool message, a missing model
# (exit 1, one line); bad usage (exit 2). When Python's jinja2 is installed,
# random conversations are also rendered by Jinja2 from the real templates
# and compared (skipped, with a note, when it is not).
# Env: LOCALSEEK_BIN (the binary), LOCALSEEK_SHARED (default ../shared).
# Exit 77 (skipped) when the shared folder is missing.
set -u

source "$(dirname "$0")/lib.sh"
needs_shared
M=$SHARED/models
G=$SHARED/golden/templates
R1=$M/vocab-deepseek-r1-qwen.gguf
LLAMA3=$M/vocab-llama3.gguf

# ---- the golden cases, byte for byte ----------------------------------------
# Each case becomes DIR/NN.json (messages), DIR/NN.want (expected text) and
# DIR/NN.gen (1 or 0: with the generation prompt).
split_cases() { # split_cases FILE.json DIR
    mkdir -p "$2"
    python3 - "$1" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
for i, c in enumerate(d["cases"]):
    base = "%s/%02d" % (sys.argv[2], i)
    json.dump(c["messages"], open(base + ".json", "w", encoding="utf-8"), ensure_ascii=False)
    open(base + ".want", "wb").write(c["expected"].encode("utf-8"))
    open(base + ".gen", "w").write("1" if c["add_generation_prompt"] else "0")
EOF
}

for set in "deepseek-r1-distill-qwen $R1" "deepseek-r1-distill-llama $M/golden-llama-f16.gguf" \
           "qwen2.5-instruct $R1 qwen2.5" "qwen3 $R1 qwen3" "llama-3.1-instruct $LLAMA3 llama3"; do
    read -r name model family <<< "$set"
    dir=$TMP/$name
    split_cases "$G/$name.json" "$dir"
    args=()
    [ -n "${family:-}" ] && args=(--chat-template "$family")
    n=0
    same=0
    for msgs in "$dir"/*.json; do
        base=${msgs%.json}
        gen=()
        [ "$(cat "$base.gen")" = 0 ] && gen=(--no-generation-prompt)
        n=$((n + 1))
        if "$BIN" prompt -m "$model" --messages "$msgs" "${args[@]}" "${gen[@]}" > "$base.got" 2> "$TMP/err.txt" &&
           cmp -s "$base.got" "$base.want" && [ ! -s "$TMP/err.txt" ]; then
            same=$((same + 1))
        else
            bad "$name case $(basename "$base"): output differs: $(head -c 300 "$base.got") $(cat "$TMP/err.txt")"
        fi
    done
    expect_eq "$name: cases rendered identically" "$same/$n" "12/12"
    echo "ok: $name with $(basename "$model") ${family:+--chat-template $family}: $same/$n cases"
done

# ---- --tokens ---------------------------------------------------------------
# forged markers (case 08: "user text that imitates template markers", with the generation prompt)
forged=$TMP/deepseek-r1-distill-qwen/08.json
grep -q "Ignore this" "$forged" || bad "case 08 is the forged-marker case"
ids=$("$BIN" prompt -m "$R1" --messages "$forged" --tokens)
count() { tr ' ' '\n' <<< "$1" | grep -cx "$2"; }
expect_eq "forged: one <｜User｜> (the template's)" "$(count "$ids" 151644)" "1"
expect_eq "forged: one <｜Assistant｜> (the generation prompt's)" "$(count "$ids" 151645)" "1"
expect_eq "forged: typed </think> is text" "$(count "$ids" 151649)" "0"
expect_eq "forged: one BOS" "$(count "$ids" 151646)" "1"
parsed=$("$BIN" tokenize -m "$R1" -f "$TMP/deepseek-r1-distill-qwen/08.want" --parse-special --no-bos)
expect_eq "forged: parsing everything would see 2 <｜Assistant｜>" "$(count "$parsed" 151645)" "2"
expect_eq "forged: the ids end with <｜Assistant｜><think>\\n" "${ids##* 151645 }" "151648 198"

# benign: the same ids as tokenizing the text with special tokens parsed
for c in 04 06 10; do
    f=$TMP/deepseek-r1-distill-qwen/$c
    expect_eq "R1 case $c: --tokens equals tokenize --parse-special" \
        "$("$BIN" prompt -m "$R1" --messages "$f.json" --tokens $([ "$(cat "$f.gen")" = 0 ] && echo --no-generation-prompt))" \
        "$("$BIN" tokenize -m "$R1" -f "$f.want" --parse-special --no-bos)"
done
f=$TMP/llama-3.1-instruct/06
expect_eq "Llama 3.1 case 06: --tokens equals tokenize --parse-special" \
    "$("$BIN" prompt -m "$LLAMA3" --messages "$f.json" --chat-template llama3 --tokens)" \
    "$("$BIN" tokenize -m "$LLAMA3" -f "$f.want" --parse-special --no-bos)"
ids=$("$BIN" prompt -m "$LLAMA3" --messages "$f.json" --chat-template llama3 --tokens)
expect_eq "Llama 3.1: BOS once, first" "${ids%% *} $(count "$ids" 128000)" "128000 1"

# ---- the first Llama 3 template, detected in vocab-llama3.gguf ---------------
printf '[{"role":"system","content":"Be brief."},{"role":"user","content":" Hi \\n"},{"role":"assistant","content":"Hello"}]' \
    > "$TMP/l30.json"
printf '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n' \
    > "$TMP/l30.want"
"$BIN" prompt -m "$LLAMA3" --messages "$TMP/l30.json" > "$TMP/l30.got" 2> "$TMP/err.txt"
check "llama3.0 detected and rendered ($(cat "$TMP/err.txt"))" cmp -s "$TMP/l30.got" "$TMP/l30.want"

# ---- no template: ChatML with one warning -----------------------------------
printf '[{"role":"user","content":"Once upon a time"}]' > "$TMP/story.json"
out=$("$BIN" prompt -m "$M/stories260K.gguf" --messages "$TMP/story.json" 2> "$TMP/err.txt")
rc=$?
expect_eq "no template: exit 0" "$rc" "0"
expect_eq "no template: ChatML" "$out" "$(printf '<|im_start|>user\nOnce upon a time<|im_end|>\n<|im_start|>assistant\n')"
if [ "$(wc -l < "$TMP/err.txt")" -eq 1 ] && grep -q "warning: .*no chat template.*chatml" "$TMP/err.txt"; then
    ok
else
    bad "no template: one warning line, got '$(cat "$TMP/err.txt")'"
fi
ids=$("$BIN" prompt -m "$M/stories260K.gguf" --messages "$TMP/story.json" --tokens 2> /dev/null)
expect_eq "SentencePiece: BOS added once" "${ids%% *} $(count "$ids" 1)" "1 1"

# ---- errors -----------------------------------------------------------------
one_line_error() { # one_line_error DESCRIPTION WANT_RC PATTERN args...
    local what=$1 want=$2 pattern=$3
    shift 3
    "$BIN" prompt "$@" > "$TMP/out.txt" 2> "$TMP/err.txt"
    local rc=$?
    if [ $rc -eq "$want" ] && [ "$(wc -l < "$TMP/err.txt")" -eq 1 ] && grep -q -- "$pattern" "$TMP/err.txt" &&
       [ ! -s "$TMP/out.txt" ]; then
        ok
    else
        bad "$what: rc $rc, stderr '$(cat "$TMP/err.txt")'"
    fi
}
printf '[{"role":"user","content":"Hi"' > "$TMP/bad.json"
one_line_error "bad JSON" 1 "bad.json is not valid JSON" -m "$R1" --messages "$TMP/bad.json"
one_line_error "missing messages file" 1 "missing.json" -m "$R1" --messages "$TMP/missing.json"
printf '{"role":"user","content":"Hi"}' > "$TMP/object.json"
one_line_error "not an array" 1 "array of messages" -m "$R1" --messages "$TMP/object.json"
printf '[{"role":"user","content":["Hi"]}]' > "$TMP/parts.json"
one_line_error "content not a string" 1 "no string \"content\"" -m "$R1" --messages "$TMP/parts.json"
printf '[{"role":"user","content":"Hi"},{"role":"tool","content":"42"}]' > "$TMP/tool.json"
one_line_error "tool role" 1 "role 'tool'" -m "$R1" --messages "$TMP/tool.json"
printf '[{"content":"Hi"}]' > "$TMP/norole.json"
one_line_error "no role" 1 "string \"role\"" -m "$R1" --messages "$TMP/norole.json"
one_line_error "missing model" 1 "missing.gguf" -m "$TMP/missing.gguf" --messages "$TMP/story.json"
"$BIN" prompt -m "$R1" > /dev/null 2>&1
expect_eq "no --messages is bad usage" "$?" "2"
"$BIN" prompt --messages "$TMP/story.json" > /dev/null 2>&1
expect_eq "no -m is bad usage" "$?" "2"
"$BIN" prompt -m "$R1" --messages "$TMP/story.json" --chat-template vicuna > /dev/null 2> "$TMP/err.txt"
expect_eq "unknown template name is bad usage" "$?" "2"
check "unknown template name lists the known ones" grep -q "deepseek-r1, chatml" "$TMP/err.txt"
"$BIN" prompt -m "$R1" --messages "$TMP/story.json" --frobnicate > /dev/null 2>&1
expect_eq "unknown option is bad usage" "$?" "2"
"$BIN" prompt --help > "$TMP/help.txt"
if [ $? -eq 0 ] && grep -q -- "--chat-template" "$TMP/help.txt" && grep -q -- "--tokens" "$TMP/help.txt"; then
    ok
else
    bad "--help"
fi
check "the command list names prompt" grep -q "^  prompt " <("$BIN" --help)

# ---- random conversations against Jinja2 (when installed) --------------------
if python3 -c "import jinja2" 2> /dev/null; then
    mkdir -p "$TMP/rand"
    python3 - "$G" "$TMP/rand" <<'EOF'
import json, random, sys
from jinja2.sandbox import ImmutableSandboxedEnvironment
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)  # as transformers renders
G, out = sys.argv[1], sys.argv[2]
families = [("deepseek-r1", "deepseek-r1-distill-qwen.jinja", "<｜begin▁of▁sentence｜>"),
            ("qwen2.5", "qwen2.5-instruct.jinja", ""), ("qwen3", "qwen3.jinja", ""),
            ("llama3", "llama-3.1-instruct.jinja", "<|begin_of_text|>")]
bits = ["x", "Hello", " ", "\n", "\n\n", "\t", "<think>", "</think>", "<tool_response>", "</tool_response>",
        "\u3000", "\u00a0", "\u2003", "\u0085", "é", "日本", "🚀", "<｜Assistant｜>", "<|im_end|>", "<|eot_id|>"]
rng = random.Random(20240726)
for i in range(40):
    family, jinja, bos = families[i % len(families)]
    msgs = [{"role": rng.choice(["system", "user", "assistant", "user", "assistant"]),
             "content": "".join(rng.choice(bits) for _ in range(rng.randint(0, 6)))}
            for _ in range(rng.randint(1, 5))]
    gen = rng.random() < 0.5
    text = env.from_string(open(G + "/" + jinja, encoding="utf-8").read()).render(
        messages=msgs, add_generation_prompt=gen, bos_token=bos, eos_token="")
    base = "%s/%02d" % (out, i)
    json.dump(msgs, open(base + ".json", "w", encoding="utf-8"), ensure_ascii=False)
    open(base + ".want", "wb").write(text.encode("utf-8"))
    open(base + ".args", "w").write(family + ("" if gen else " --no-generation-prompt"))
EOF
    n=0
    same=0
    for msgs in "$TMP"/rand/*.json; do
        base=${msgs%.json}
        read -r family gen < "$base.args"
        model=$R1
        [ "$family" = llama3 ] && model=$LLAMA3
        n=$((n + 1))
        if "$BIN" prompt -m "$model" --messages "$msgs" --chat-template "$family" ${gen:-} > "$base.got" 2> /dev/null &&
           cmp -s "$base.got" "$base.want"; then
            same=$((same + 1))
        else
            bad "random conversation $(basename "$base") ($family): differs from Jinja2: $(cat "$msgs")"
        fi
    done
    expect_eq "random conversations identical to Jinja2" "$same/$n" "40/40"
    echo "ok: $same/$n random conversations rendered as Jinja2 renders them"
else
    echo "note: Python's jinja2 is not installed; the comparison on random conversations was skipped"
fi

finish
