#!/usr/bin/env bash
# Builds localseek with warnings as errors and runs every test (CTest).
# Usage: scripts/test.sh            normal build in build/
#        SANITIZE=address scripts/test.sh   ASan+UBSan build in build-address/
#        SANITIZE=thread  scripts/test.sh   TSan build in build-thread/
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
dir=build${SANITIZE:+-$SANITIZE}
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOCALSEEK_WERROR=ON -DLOCALSEEK_SANITIZE="${SANITIZE:-}" >/dev/null
cmake --build "$dir"
cd "$dir"
ctest --output-on-failure -j2 ${CTEST_ARGS:-}
