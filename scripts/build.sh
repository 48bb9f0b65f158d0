#!/usr/bin/env bash
# Configures and builds into build/ (executables in build/bin/): everything, or only the
# targets named as arguments (scripts/build.sh earshot earshot-stt).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${EARSHOT_BUILD_DIR:-$ROOT/build}"
JOBS="${EARSHOT_BUILD_JOBS:-2}"
source "$ROOT/scripts/ccache-env.sh"
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${EARSHOT_LAUNCHER[@]}" >/dev/null
fi
# Progress lines are hidden; warnings and errors show. pipefail makes cmake's status decide.
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$BUILD_DIR" -j"$JOBS" "${targets[@]}" 2>&1 | { grep -vE '^\[ *[0-9]+%\] (Building|Linking|Built)|^-- ' || true; }
