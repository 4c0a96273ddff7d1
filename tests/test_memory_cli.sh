#!/usr/bin/env bash
# End-to-end: the memory file through the real binary.
#  - a conversation survives a restart (--resume last) and a kill -9 in the
#    middle of an answer (every completed turn is there, the file is sound);
#  - `history`, `sessions`, `stats` (text and --json) show what was stored;
#  - a fact from an earlier session is recalled (/memory show, the log);
#  - a repeated question is answered from the cache and says so, /nocache
#    answers anew; --no-cache, --no-save;
#  - --log-file gets every step of a request with its duration;
#  - --timeout ends an answer cleanly; SQL in a message is stored verbatim;
#  - a memory file that is not a database: a clear message, the chat goes on.
set -u
source "$(dirname "$0")/lib.sh"
needs_shared
M="$SHARED/models/golden-qwen2-q8_0.gguf"
DB="$TMP/memory.db"
CHAT=("$BIN" chat -m "$M" --temp 0 --think-budget 4 -n 8 --ctx 512 -t 2 --db "$DB")

# 1. two turns, then a restart that resumes them
printf 'My sister Ana lives in Porto.\nShe teaches chemistry.\n' | "${CHAT[@]}" >"$TMP/out1" 2>"$TMP/err1"
[ $? = 0 ] && ok || bad "first chat: $(cat "$TMP/err1")"
"$BIN" history --db "$DB" >"$TMP/hist1"
grep -q 'My sister Ana lives in Porto.' "$TMP/hist1" && grep -q 'She teaches chemistry.' "$TMP/hist1" && ok ||
  bad "history shows the turns: $(cat "$TMP/hist1")"
printf '/history\nAnd her name?\n' | "${CHAT[@]}" --resume last >"$TMP/out2" 2>"$TMP/err2"
grep -q 'resumed session 1' "$TMP/err2" && ok || bad "--resume last: $(cat "$TMP/err2")"
grep -q 'She teaches chemistry.' "$TMP/out2" && ok || bad "/history after resuming shows the stored turns"
grep -q 'prompt [0-9]* tokens' "$TMP/err2" && ok || bad "resumed session answers"
n=$("$BIN" history --db "$DB" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 6 ] && ok || bad "the resumed turn joined session 1 ($n messages)"
"$BIN" sessions --db "$DB" | grep -q 'My sister Ana lives in Porto.' && ok || bad "sessions lists the title"

# 2. recall in a new session
printf 'Where does my sister live?\n/memory show\n' |
  "${CHAT[@]}" --log-file "$TMP/log" >"$TMP/out3" 2>"$TMP/err3"
grep -q '1 note from memory\|[0-9] notes from memory' "$TMP/err3" && ok || bad "notes reported: $(cat "$TMP/err3")"
grep -q 'note 1: message .* score' "$TMP/out3" && grep -q 'Porto' "$TMP/out3" && ok ||
  bad "/memory show names the recalled message: $(cat "$TMP/out3")"
for step in 'step retrieve' 'note: message' 'step build prompt' 'step prefill' 'step decode' 'step save'; do
  grep -q "$step" "$TMP/log" && ok || bad "log has '$step'"
done
grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+ info ' "$TMP/log" && ok || bad "log lines carry time and level"
printf 'Where does my sister live?\n' | "${CHAT[@]}" --no-memory --no-cache 2>"$TMP/err4" >/dev/null
grep -q 'notes\? from memory' "$TMP/err4" && bad "--no-memory still recalled" || ok

# 3. the response cache
printf 'Name three prime numbers.\n' | "${CHAT[@]}" >"$TMP/c1" 2>"$TMP/ce1"
printf 'name three   PRIME numbers.\n/nocache\n' | "${CHAT[@]}" >"$TMP/c2" 2>"$TMP/ce2"
grep -q 'answered from the response cache: first given 20' "$TMP/ce2" && ok || bad "cache hit marked: $(cat "$TMP/ce2")"
[ "$(head -n1 "$TMP/c1")" = "$(head -n1 "$TMP/c2")" ] && ok || bad "same answer from the cache"
grep -q 'response cache off' "$TMP/ce2" && grep -q 'answer tokens; prompt' "$TMP/ce2" && ok ||
  bad "/nocache answers anew"
printf 'Name three prime numbers.\n' | "${CHAT[@]}" --no-cache 2>"$TMP/ce3" >/dev/null
grep -q 'response cache' "$TMP/ce3" && bad "--no-cache still used the cache" || ok

# 4. stats
"$BIN" stats --db "$DB" >"$TMP/stats"
grep -q 'golden-qwen2-q8_0.gguf' "$TMP/stats" && ok || bad "stats per model: $(cat "$TMP/stats")"
"$BIN" stats --db "$DB" --json | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]
assert s["requests"] >= 8 and s["cache_hits"] >= 1, s
assert 0 < s["total_p50_s"] <= s["total_p95_s"] and s["tokens_per_s_p50"] > 0, s
' && ok || bad "stats --json has real numbers"
rows=$(sqlite3 "$DB" 'select count(*) from telemetry where peak_rss_bytes > 0 and n_prompt >= 0')
[ "$rows" -ge 8 ] && ok || bad "telemetry rows with peak RSS ($rows)"

# 5. SQL in a message is data
printf "Robert'); DROP TABLE messages; --\n" | "${CHAT[@]}" >/dev/null 2>&1
[ "$(sqlite3 "$DB" "select count(*) from messages where content = 'Robert''); DROP TABLE messages; --'")" = 1 ] && ok ||
  bad "SQL stored verbatim"

# 6. kill -9 while an answer is being written
before=$(sqlite3 "$DB" 'select count(*) from messages')
printf 'Write a very long story.\n' >"$TMP/in"
"$BIN" chat -m "$M" --temp 0.8 -n 100000 --ctx 16384 -t 1 --think show --db "$DB" <"$TMP/in" >"$TMP/long" 2>/dev/null &
pid=$!
for _ in $(seq 100); do [ -s "$TMP/long" ] && break; sleep 0.1; done
sleep 0.3
kill -9 $pid
wait $pid 2>/dev/null
[ -s "$TMP/long" ] && ok || bad "the answer had started before the kill"
[ "$(sqlite3 "$DB" 'pragma integrity_check')" = ok ] && ok || bad "the file is sound after kill -9"
after=$(sqlite3 "$DB" 'select count(*) from messages')
[ "$after" = "$before" ] && ok || bad "committed turns intact, the unfinished one absent ($before -> $after)"
"$BIN" history --db "$DB" --session 1 | grep -q 'She teaches chemistry.' && ok || bad "history after the kill"

# 7. --timeout ends an answer cleanly and keeps it
printf 'Tell me everything.\n' | "$BIN" chat -m "$M" --temp 0.8 -n 100000 --think-budget 4 --ctx 4096 --db "$DB" \
  --timeout 0.5 >/dev/null 2>"$TMP/err7"
[ $? = 0 ] && grep -q 'stopped: time limit' "$TMP/err7" && ok || bad "--timeout: $(cat "$TMP/err7")"
"$BIN" history --db "$DB" -n 1 --json | python3 -c 'import json,sys; m=json.load(sys.stdin)[0]; assert m["interrupted"]' &&
  ok || bad "the timed-out answer is stored, marked"

# 8. --no-save writes nothing; a file that is not a database
printf 'Hello\n' | XDG_DATA_HOME="$TMP/nosave" "$BIN" chat -m "$M" -n 4 --think-budget 2 --no-save >/dev/null 2>&1
[ ! -e "$TMP/nosave" ] && ok || bad "--no-save created files"
echo "just text, not a database, long enough to be read as a header .................................." >"$TMP/bad.db"
printf 'Hello\n' | "$BIN" chat -m "$M" -n 4 --think-budget 2 --db "$TMP/bad.db" >/dev/null 2>"$TMP/err8"
[ $? = 0 ] && ok || bad "the chat goes on without memory"
grep -q 'not a localseek memory file' "$TMP/err8" && grep -q 'going on without memory' "$TMP/err8" && ok ||
  bad "a bad memory file is named: $(cat "$TMP/err8")"
grep -q '^just text' "$TMP/bad.db" && ok || bad "the bad file is left alone"
"$BIN" history --db "$TMP/bad.db" >/dev/null 2>&1; [ $? = 1 ] && ok || bad "history on a bad file: exit 1"
"$BIN" history --db "$DB" --session 999 >/dev/null 2>"$TMP/err9"; [ $? = 1 ] && grep -q 'no session 999' "$TMP/err9" && ok ||
  bad "unknown session: $(cat "$TMP/err9")"
"$BIN" history --bogus >/dev/null 2>&1; [ $? = 2 ] && ok || bad "bad option: exit 2"

# 9. the retrieval benchmark runs and reports its figures
"$BIN" bench --memory --messages 2000 --queries 20 2>/dev/null | grep -Eq '^retrieve messages=2000 queries=20 p50_ms=[0-9.]+ p95_ms=' &&
  ok || bad "bench --memory prints its line"
finish
