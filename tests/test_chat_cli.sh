#!/usr/bin/env bash
# End-to-end: `localseek chat` on the real binary.
#  - from a pipe: one message per line, answers on stdout, one figures line per
#    answer on stderr, the KV cache re-used from turn 2, same seed same text;
#  - backslash continuation and """ blocks make one message; /help, /think,
#    /reset, an unknown command, /exit;
#  - a message too long for --ctx is refused with a way out and the chat goes on;
#  - bad options and files: one sentence and the right exit code;
#  - at a terminal (a pseudo-terminal driven by python3): the prompt, dimmed
#    thoughts, Ctrl-C stops the answer and keeps the session, /exit leaves.
set -u
source "$(dirname "$0")/lib.sh"
needs_shared
M="$SHARED/models/golden-qwen2-q8_0.gguf"
# --no-cache: these checks are about generating (test_memory_cli.sh covers the cache)
CHAT=("$BIN" chat -m "$M" --temp 0 --think-budget 4 -n 8 --ctx 512 -t 2 --no-cache)

# 1. three messages from a pipe
printf 'Hello\nWhat is 17 * 23?\nThanks.\n' | "${CHAT[@]}" >"$TMP/out1" 2>"$TMP/err1"
rc=$?
[ $rc = 0 ] && ok || bad "piped chat exited $rc: $(cat "$TMP/err1")"
[ "$(grep -c 'answer tokens; prompt' "$TMP/err1")" = 3 ] && ok || bad "one figures line per answer: $(cat "$TMP/err1")"
[ "$(wc -l <"$TMP/out1")" -ge 3 ] && ok || bad "three answers on stdout"
grep -q '(0 re-used)' "$TMP/err1" && ok || bad "turn 1 re-uses nothing"
[ "$(grep -c '([1-9][0-9]* re-used)' "$TMP/err1")" = 2 ] && ok || bad "turns 2 and 3 re-use the cache: $(cat "$TMP/err1")"
grep -q 'thought for 4 tokens, .* (budget)' "$TMP/err1" && ok || bad "the thinking budget is reported"
printf 'Hello\nWhat is 17 * 23?\nThanks.\n' | "${CHAT[@]}" >"$TMP/out2" 2>/dev/null
cmp -s "$TMP/out1" "$TMP/out2" && ok || bad "same input and seed give the same answers"

# 2. thoughts on stdout only when asked
printf 'Hello\n' | "${CHAT[@]}" --think show >"$TMP/out3" 2>/dev/null
[ "$(wc -c <"$TMP/out3")" -gt "$(head -n1 "$TMP/out1" | wc -c)" ] && ok || bad "--think show prints the thoughts too"

# 3. multi-line input and commands
printf 'first line \\\nsecond line\n"""\nblock one\nblock two\n"""\n/help\n/think budget 2\n/bogus\n/reset\nafter reset\n/exit\nnever sent\n' |
  "${CHAT[@]}" >"$TMP/out4" 2>"$TMP/err4"
rc=$?
[ $rc = 0 ] && ok || bad "commands run exited $rc: $(cat "$TMP/err4")"
[ "$(grep -c 'answer tokens; prompt' "$TMP/err4")" = 3 ] && ok ||
  bad "continuation, block and one line are three messages, /exit stops: $(cat "$TMP/err4")"
grep -q '/think budget N' "$TMP/out4" && ok || bad "/help lists the commands"
grep -q "unknown command /bogus" "$TMP/err4" && ok || bad "an unknown command is named"
grep -q 'new conversation' "$TMP/err4" && ok || bad "/reset says so"
grep -q 'thought for 2 tokens' "$TMP/err4" && ok || bad "/think budget 2 applies to the next turn"

# 4. a message too long for the window
long=$(python3 -c 'print("word " * 400)')
printf '%s\nshort one\n' "$long" | "$BIN" chat -m "$M" --temp 0 --think-budget 2 -n 4 --ctx 128 >/dev/null 2>"$TMP/err5"
rc=$?
[ $rc = 0 ] && ok || bad "over-long message ends the chat ($rc)"
grep -q 'context window holds 128 .*--ctx' "$TMP/err5" && ok || bad "refusal gives sizes and a way out: $(cat "$TMP/err5")"
[ "$(grep -c 'answer tokens; prompt' "$TMP/err5")" = 1 ] && ok || bad "the chat goes on after a refusal"

# 5. bad usage and files
"$BIN" chat >/dev/null 2>&1; [ $? = 2 ] && ok || bad "no -m: exit 2"
"$BIN" chat -m "$M" --chat-template nonsense </dev/null >/dev/null 2>"$TMP/err6"; [ $? = 2 ] && ok || bad "bad template name: exit 2"
grep -q "unknown --chat-template 'nonsense'" "$TMP/err6" && ok || bad "bad template name is named"
"$BIN" chat -m "$TMP/missing.gguf" </dev/null >/dev/null 2>&1; [ $? = 1 ] && ok || bad "missing model: exit 1"
"$BIN" chat -m "$M" --think maybe </dev/null >/dev/null 2>&1; [ $? = 2 ] && ok || bad "--think maybe: exit 2"
printf 'Once upon a time\n' | "$BIN" chat -m "$SHARED/models/stories260K.gguf" -n 4 >/dev/null 2>"$TMP/err7"
[ $? = 0 ] && ok || bad "a model without a template still chats"
grep -q 'warning: .*chatml' "$TMP/err7" && ok || bad "with a warning naming the fallback: $(cat "$TMP/err7")"

# 6. at a terminal: Ctrl-C stops the answer, the session goes on
python3 - "$BIN" "$M" <<'PY' && ok || bad "terminal session (see above)"
import os, pty, select, sys, time
binary, model = sys.argv[1:3]
pid, fd = pty.fork()
if pid == 0:
    os.execv(binary, [binary, "chat", "-m", model, "--temp", "0", "--ctx", "4096", "-t", "1"])
out = b""
def read_until(pred, timeout):
    global out
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return pred(out)
            if not chunk:
                return pred(out)
            out += chunk
        if pred(out):
            return True
    return pred(out)
ok = read_until(lambda o: b">>> " in o, 30)
assert ok, "no prompt: %r" % out[-500:]
os.write(fd, b"Tell me a long story\r")
n0 = len(out)
ok = read_until(lambda o: len(o) > n0 + 200, 30)
assert ok, "no streaming output"
assert b"\x1b[2m" in out[n0:], "thoughts are dimmed"
os.write(fd, b"\x03")
ok = read_until(lambda o: b"stopped: interrupted" in o and o.rstrip().endswith(b">>>"), 30)
assert ok, "Ctrl-C did not stop the answer and return to the prompt: %r" % out[-800:]
os.write(fd, b"/exit\r")
_, status = os.waitpid(pid, 0)
assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, "exit status %r" % status
PY

finish
