# lib.sh — what every tests/test_*.sh shares: the binary under test, the
# shared reference folder, counting checks, a temporary folder removed at
# exit (also holding the memory file), and the closing "N passed, N failed" line.
#
#   source "$(dirname "$0")/lib.sh"
#   needs_shared                  # exit 77 (CTest: skipped) without ../shared
#   check "what" cmd args...      # or: something && ok || bad "what"
#   expect_eq "what" "$got" "$want"
#   finish                        # prints the counts; fails unless all passed
BIN=${LOCALSEEK_BIN:-./build/localseek}
SHARED=${LOCALSEEK_SHARED:-../shared}
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect_eq() { # expect_eq DESCRIPTION GOT WANT
    if [ "$2" == "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi
}
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then ok; else bad "$what"; fi
}
needs_shared() {
    if [ ! -d "$SHARED/models" ]; then
        echo "SKIPPED: shared folder '$SHARED/models' not found (set LOCALSEEK_SHARED)"
        exit 77
    fi
}
finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
    exit $?
}
if [ ! -x "$BIN" ]; then
    echo "FAIL: binary '$BIN' not found (set LOCALSEEK_BIN)"
    exit 1
fi
TMP=$(mktemp -d /tmp/localseek_test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
# The memory file (chat saves every turn) goes to this test's folder, never
# to the user's ~/.local/share.
export XDG_DATA_HOME="$TMP/data"
