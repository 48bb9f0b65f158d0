#!/usr/bin/env bash
# The test command: installs what is missing, checks the format and the library graph,
# builds, runs clang-tidy over the libraries, starts the isolated test services (own ports
# and data under .local/test/, never the demo's), runs every test with ctest and prints
# ctest's summary, stops the services it started, runs the chaos suite (label `chaos`) as its
# own ctest run against the `chaos` services instance, whose servers it restarts, then builds
# and runs the unit tests under AddressSanitizer+UBSan and under ThreadSanitizer
# (scripts/sanitize.sh), and last runs each libFuzzer target for a minute (scripts/fuzz.sh).
#
#   scripts/test.sh [CTEST_ARGS...]   extra arguments go to the main ctest run (and skip the
#                                     chaos run: they select tests)
#   EARSHOT_SANITIZERS="address thread" (default) | "address" | "thread" | "" (none)
#   EARSHOT_FUZZ_SECONDS=60 (default): seconds per fuzz target; 0 skips fuzzing
#   EARSHOT_CHAOS=0                   skips the chaos run
#   EARSHOT_TEST_JOBS=4 (default)     tests the main ctest run runs at once
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SERVICES="$ROOT/scripts/services.sh"

bash scripts/install-deps.sh
bash scripts/fetch-assets.sh
# Seconds each, so they fail before a long build: every C++ file as clang-format writes it,
# and the library dependency graph of docs/architecture.md.
bash scripts/check-format.sh
bash scripts/check-deps.sh
bash scripts/build.sh
# clang-tidy (.clang-tidy's checks); a source unchanged since its last clean run is skipped.
bash scripts/check-tidy.sh

started_here=0
if ! bash "$SERVICES" --instance test status >/dev/null 2>&1; then
  started_here=1
fi
cleanup() {
  if [ "$started_here" = 1 ]; then bash "$SERVICES" --instance test stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
bash "$SERVICES" --instance test start
eval "$(bash "$SERVICES" --instance test env)"

if build/bin/earshot --help 2>/dev/null | grep -q '^  migrate'; then
  build/bin/earshot migrate
fi

# Unit tests are hermetic; integration tests use the services above with unique names, so
# both kinds can run side by side. Most tests wait on services and child processes, so four
# run at once on two cores (EARSHOT_TEST_JOBS); a `slow` test counts as two of the four.
rc=0
ctest --test-dir build --output-on-failure -j"${EARSHOT_TEST_JOBS:-4}" --timeout 600 -LE chaos "$@" 2>&1 |
  tee build/ctest-main.log || rc=$?
cleanup
started_here=0

# The chaos suite (tests/chaos, about two minutes) on its own: it stops and starts MariaDB,
# RabbitMQ and Redis, so it gets the `chaos` instance and no other test runs beside it.
logs=(build/ctest-main.log)
if [ $# -eq 0 ] && [ "${EARSHOT_CHAOS:-1}" != 0 ]; then
  chaos_started_here=0
  if ! bash "$SERVICES" --instance chaos status >/dev/null 2>&1; then chaos_started_here=1; fi
  chaos_cleanup() {
    if [ "$chaos_started_here" = 1 ]; then bash "$SERVICES" --instance chaos stop >/dev/null 2>&1 || true; fi
  }
  trap 'cleanup; chaos_cleanup' EXIT
  bash "$SERVICES" --instance chaos start
  (
    eval "$(bash "$SERVICES" --instance chaos env)"
    ctest --test-dir build --output-on-failure -L chaos --timeout 900
  ) 2>&1 | tee build/ctest-chaos.log || rc=$?
  chaos_cleanup
  chaos_started_here=0
  logs+=(build/ctest-chaos.log)
fi

# The sanitizer builds run the hermetic unit tests only; any report fails the run.
read -r -a sanitizers <<<"${EARSHOT_SANITIZERS-address thread}"
if [ ${#sanitizers[@]} -gt 0 ]; then
  bash scripts/sanitize.sh "${sanitizers[@]}" || rc=1
  for kind in "${sanitizers[@]}"; do
    case "$kind" in address) logs+=(build-asan/sanitize-ctest.log) ;; thread) logs+=(build-tsan/sanitize-ctest.log) ;; esac
  done
fi

# Last, the libFuzzer targets (scripts/fuzz.sh): EARSHOT_FUZZ_SECONDS each (default 60, two
# at a time; 0 skips), each target one test in the summary below.
fuzz_seconds="${EARSHOT_FUZZ_SECONDS:-60}"
fuzz_passed=0 fuzz_failed=0
if [ "$fuzz_seconds" != 0 ]; then
  mkdir -p build
  bash scripts/fuzz.sh "$fuzz_seconds" 2>&1 | tee build/fuzz.log || rc=1
  line=$(grep -E '^fuzz.sh: [0-9]+ passed, [0-9]+ failed' build/fuzz.log | tail -n 1 || true)
  if [ -z "$line" ]; then
    echo "test.sh: no summary from scripts/fuzz.sh in build/fuzz.log" >&2
    rc=1
    fuzz_failed=1
  else
    fuzz_passed=$(sed -E 's/^fuzz.sh: ([0-9]+) passed.*/\1/' <<<"$line")
    fuzz_failed=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
  fi
fi

# One line over every ctest run above (the main run, then each sanitizer build's) and the
# fuzz targets.
passed=0 failed=0
for log in "${logs[@]}"; do
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" 2>/dev/null | tail -n 1 || true)
  if [ -z "$line" ]; then echo "test.sh: no ctest summary in $log" >&2; rc=1; continue; fi
  total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
  fail=$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")
  echo "test.sh: $log: $line"
  passed=$((passed + total - fail))
  failed=$((failed + fail))
done
if [ "$fuzz_seconds" != 0 ]; then
  echo "test.sh: build/fuzz.log: $fuzz_passed fuzz targets passed, $fuzz_failed failed (${fuzz_seconds} s each)"
  passed=$((passed + fuzz_passed))
  failed=$((failed + fuzz_failed))
fi
echo "$passed passed, $failed failed"
if [ "$rc" -ne 0 ]; then echo "test.sh: FAILED (see above)" >&2; fi
exit "$rc"
