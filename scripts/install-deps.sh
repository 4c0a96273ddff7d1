#!/usr/bin/env bash
# Installs every Debian package localseek's build and tests need (Debian 12).
# Safe to run again: apt-get skips what is already there.
#   build-essential cmake ninja-build  the C compiler and the build
#   clang libclang-rt-14-dev           libFuzzer and sanitizer runtimes (fuzz targets, TSan/ASan builds)
#   pkg-config libutf8proc-dev         Unicode categories and NFC for the tokenizer
#   libcjson-dev                       JSON parsing (golden reference files, chat messages)
#   libedit-dev                        line editing and input history in `localseek chat`
#   libsqlite3-dev sqlite3             the memory store (conversations, FTS5 retrieval, cache, telemetry); the
#                                      sqlite3 shell for tests that inspect or damage the database file
#   python3                            small helper scripts in tests
#   python3-jinja2                     the reference renderer of chat templates, for random-conversation tests
set -euo pipefail
PACKAGES="build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev libutf8proc-dev libcjson-dev libedit-dev libsqlite3-dev sqlite3 python3 python3-jinja2"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
else
  echo "all build dependencies are installed"
fi
