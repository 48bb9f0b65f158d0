#!/usr/bin/env bash
# The sanitizer gate: builds the hermetic unit tests (ctest label `unit`) with
# AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/) and with ThreadSanitizer
# (build-tsan/), and runs them; any report fails the run. scripts/test.sh calls it after
# the main ctest run (EARSHOT_SANITIZERS chooses which); `scripts/sanitize.sh address` or
# `scripts/sanitize.sh thread` runs one of the two.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
JOBS="${EARSHOT_BUILD_JOBS:-2}"
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(address thread)

source "$ROOT/scripts/ccache-env.sh"

for kind in "${kinds[@]}"; do
  case "$kind" in
    address) dir="$ROOT/build-asan" ;;
    thread) dir="$ROOT/build-tsan" ;;
    *) echo "sanitize.sh: unknown sanitizer '$kind' (address or thread)" >&2; exit 2 ;;
  esac
  start=$(date +%s)
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEARSHOT_SANITIZE="$kind" \
      -DEARSHOT_BUILD_BENCH=OFF "${EARSHOT_LAUNCHER[@]}" >/dev/null
  fi
  cmake --build "$dir" -j"$JOBS" --target unit_tests 2>&1 | { grep -vE '^\[ *[0-9]+%\] (Building|Linking|Built)|^-- ' || true; }
  built=$(date +%s)
  # Reports fail the test that produced them; suppressions: tests/tsan.supp.
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:strict_string_checks=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$ROOT/tests/tsan.supp" \
    ctest --test-dir "$dir" -L unit --output-on-failure -j"$JOBS" --timeout 600 >"$dir/sanitize-ctest.log" 2>&1 ||
    { tail -n 25 "$dir/sanitize-ctest.log"; echo "sanitize.sh: $kind: failed; the reports are in $dir/sanitize-ctest.log" >&2; exit 1; }
  tail -n 6 "$dir/sanitize-ctest.log"
  echo "sanitize.sh: $kind: built in $((built - start)) s, ran in $(( $(date +%s) - built )) s"
done
