#!/usr/bin/env bash
# Configures and builds everything into build/ (executables in build/bin/).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${EARSHOT_BUILD_DIR:-$ROOT/build}"
JOBS="${EARSHOT_BUILD_JOBS:-2}"
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
# Progress lines are hidden; warnings and errors show. pipefail makes cmake's status decide.
cmake --build "$BUILD_DIR" -j"$JOBS" 2>&1 | { grep -vE '^\[ *[0-9]+%\] (Building|Linking|Built)|^-- ' || true; }
