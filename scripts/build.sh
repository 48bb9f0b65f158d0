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
# Progress shows as "build: N%" every tenth; warnings and errors show in full. pipefail
# makes cmake's status decide.
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$BUILD_DIR" -j"$JOBS" "${targets[@]}" 2>&1 | awk '
  /^\[ *[0-9]+%\] (Building|Linking|Built)/ {
    pct = substr($0, 2, index($0, "%") - 2) + 0
    if (pct >= shown + 10) { shown = pct - pct % 10; printf "build: %d%%\n", shown; fflush() }
    next
  }
  /^-- / { next }
  { print; fflush() }'

# The dashboard (web/ into web/dist), when the whole tree is built and its sources changed
# since the last build. Needs web/node_modules (scripts/install-deps.sh: npm ci).
if [ $# -eq 0 ] && [ -f "$ROOT/web/package.json" ]; then
  WEB="$ROOT/web"
  if [ ! -d "$WEB/node_modules" ]; then
    echo "build: web/node_modules is missing: run scripts/install-deps.sh (npm ci) to build the dashboard" >&2
    exit 1
  fi
  if [ ! -f "$WEB/dist/index.html" ] ||
    [ -n "$(find "$WEB/src" "$WEB/index.html" "$WEB/package-lock.json" "$WEB"/vite.config.* "$WEB"/tsconfig*.json \
      -newer "$WEB/dist/index.html" -print -quit 2>/dev/null)" ]; then
    echo "build: the dashboard (web/dist)"
    (cd "$WEB" && npm run --silent build >/dev/null) || { echo "build: the dashboard failed (cd web && npm run build)" >&2; exit 1; }
  fi
fi
