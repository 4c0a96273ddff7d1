#!/usr/bin/env bash
# End-to-end: the option parser as every command meets it (src/apps/options.h).
#  - `-h` and `--help` work for every command of src/apps/main.c (and every
#    bench mode): exit 0, the help on stdout, nothing on stderr;
#  - an unknown option is named as unknown — also at the end of the line,
#    where the old loops said "needs a value" — with the nearest spelling;
#  - a stray word is "unexpected", with the -m hint when it looks like a model;
#  - a bad value is one sentence naming the command, the option and the value.
# Needs no model: every line here fails (or helps) before a file is opened.
set -u
source "$(dirname "$0")/lib.sh"

# The commands, from main.c's table (the source of the command list), else
# from `localseek --help`, which prints that table.
if [ -n "${LOCALSEEK_SRC:-}" ] && [ -f "$LOCALSEEK_SRC/src/apps/main.c" ]; then
    cmds=$(sed -n 's/^ *{ "\([a-z]*\)", cmd_.*/\1/p' "$LOCALSEEK_SRC/src/apps/main.c")
else
    cmds=$("$BIN" --help | sed -n '/^commands:/,/^$/s/^  \([a-z]*\) .*/\1/p')
fi
n_cmds=$(echo "$cmds" | wc -w)
[ "$n_cmds" -ge 11 ] && ok || bad "found only $n_cmds commands: $cmds"

# 1. help for every command and bench mode
help_ok() { # help_ok WHAT ARGS...: exit 0, "usage: localseek" and -h on stdout, stderr empty
    local what=$1
    shift
    "$BIN" "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    if [ $rc -eq 0 ] && grep -q "^usage: localseek " "$TMP/out" && grep -q -- "-h, --help" "$TMP/out" &&
       [ ! -s "$TMP/err" ]; then
        ok
    else
        bad "$what: rc $rc, stdout '$(head -c 200 "$TMP/out")', stderr '$(cat "$TMP/err")'"
    fi
}
for c in $cmds; do
    help_ok "$c -h" "$c" -h
    help_ok "$c --help" "$c" --help
    grep -q "^usage: localseek $c" "$TMP/out" && ok || bad "$c --help starts with its own usage line"
done
help_ok "bench --chat -h" bench --chat -h
help_ok "bench --memory -h" bench --memory -h
help_ok "bench -m MODEL -h" bench -m "$TMP/none.gguf" -h
grep -q -- "--act-bits" "$TMP/out" && ok || bad "bench -m -h is the model benchmark's help"

# 2. unknown options, for every command, at the end of the line too
for c in $cmds; do
    "$BIN" "$c" --bogus-option >"$TMP/out" 2>"$TMP/err"
    rc=$?
    [ $rc -eq 2 ] && grep -q "^localseek $c: unknown option '--bogus-option'" "$TMP/err" &&
        grep -q "localseek $c --help" "$TMP/err" && ok || bad "$c --bogus-option: rc $rc, '$(cat "$TMP/err")'"
done
"$BIN" run -m "$TMP/x.gguf" -p hi --tmp >"$TMP/out" 2>"$TMP/err"
[ $? -eq 2 ] && ok || bad "run ... --tmp: exit 2"
grep -q "^localseek run: unknown option '--tmp' (did you mean --temp?)$" "$TMP/err" && ok ||
    bad "an unknown option at the end is named, with a suggestion: $(cat "$TMP/err")"
grep -q "needs a value" "$TMP/err" && bad "an unknown option is not 'missing a value'" || ok
"$BIN" chat -m "$TMP/x.gguf" --no-colour 2>"$TMP/err" </dev/null
grep -q "unknown option '--no-colour' (did you mean --no-color?)" "$TMP/err" && ok || bad "chat --no-colour: $(cat "$TMP/err")"
"$BIN" tokenize -m "$TMP/x.gguf" -p hi --peices 2>"$TMP/err"
grep -q "(did you mean --pieces?)" "$TMP/err" && ok || bad "tokenize --peices: $(cat "$TMP/err")"
"$BIN" quantize --thread 2 a b Q4_0 2>"$TMP/err"
grep -q "(did you mean --threads?)" "$TMP/err" && ok || bad "quantize --thread: $(cat "$TMP/err")"

# 3. stray words
"$BIN" run -p hi extra >"$TMP/out" 2>"$TMP/err"
[ $? -eq 2 ] && grep -q "^localseek run: unexpected argument 'extra'$" "$TMP/err" && ok ||
    bad "run stray word: $(cat "$TMP/err")"
"$BIN" info my-model.gguf >"$TMP/out" 2>"$TMP/err"
[ $? -eq 2 ] && grep -q "unexpected argument 'my-model.gguf' (to use it as the model, write -m my-model.gguf)" \
    "$TMP/err" && ok || bad "info with a model path but no -m: $(cat "$TMP/err")"
echo "not a model" >"$TMP/weights.bin"
"$BIN" chat "$TMP/weights.bin" </dev/null >"$TMP/out" 2>"$TMP/err"
grep -q "(to use it as the model, write -m $TMP/weights.bin)" "$TMP/err" && ok ||
    bad "an existing file gets the -m hint: $(cat "$TMP/err")"
"$BIN" run -m "$TMP/x.gguf" -p hi other.gguf 2>"$TMP/err"
grep -q "unexpected argument 'other.gguf'$" "$TMP/err" && ok || bad "no -m hint when -m is given: $(cat "$TMP/err")"
"$BIN" sessions extra 2>"$TMP/err"
[ $? -eq 2 ] && grep -q "^localseek sessions: unexpected argument 'extra'$" "$TMP/err" && ok ||
    bad "sessions stray word: $(cat "$TMP/err")"
"$BIN" quantize a b Q4_0 d 2>"$TMP/err"
grep -q "unexpected argument 'd' (expected only IN.gguf OUT.gguf TYPE)" "$TMP/err" && ok ||
    bad "quantize, one word too many: $(cat "$TMP/err")"

# 4. one sentence for a bad value, the same in every command that has the option
for c in run chat info; do
    "$BIN" "$c" -t many -m "$TMP/x.gguf" </dev/null >"$TMP/out" 2>"$TMP/err"
    rc=$?
    [ $rc -eq 2 ] && grep -q "^localseek $c: -t expects a whole number from 1 to 1024; thread count 'many' is not one$" \
        "$TMP/err" && ok || bad "$c -t many: rc $rc, '$(cat "$TMP/err")'"
done
"$BIN" run -m "$TMP/x.gguf" -p hi --top-p 2 2>"$TMP/err"
grep -q "^localseek run: --top-p expects a number from 1e-06 to 1, not '2'$" "$TMP/err" && ok ||
    bad "run --top-p 2: $(cat "$TMP/err")"
"$BIN" chat -m "$TMP/x.gguf" --think maybe </dev/null 2>"$TMP/err"
grep -q "^localseek chat: --think expects show or hide, not 'maybe'$" "$TMP/err" && ok || bad "chat --think maybe: $(cat "$TMP/err")"
stops=()
for i in 1 2 3 4 5 6 7 8 9; do stops+=(--stop "s$i"); done
"$BIN" chat -m "$TMP/x.gguf" "${stops[@]}" </dev/null 2>"$TMP/err"
[ $? -eq 2 ] && grep -q "^localseek chat: --stop can be given at most 8 times$" "$TMP/err" && ok ||
    bad "nine --stop: $(cat "$TMP/err")"
"$BIN" run -p hi >"$TMP/out" 2>"$TMP/err"
[ $? -eq 2 ] && grep -q "^localseek run: -m FILE is required$" "$TMP/err" && grep -q "^usage: localseek run" "$TMP/err" &&
    ok || bad "run without -m: $(cat "$TMP/err")"

finish
