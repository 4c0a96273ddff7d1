#!/usr/bin/env bash
# Installs the Debian packages localseek needs and builds it into build/.
# The program is then build/localseek.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build
