#!/usr/bin/env bash
# The fuzzing gate: builds the libFuzzer targets of tests/fuzz (one per family of parsers of
# outside input) with clang-19 under AddressSanitizer + UndefinedBehaviorSanitizer into
# build-fuzz/ (-DEARSHOT_FUZZ=ON, through ccache), then runs each for SECONDS, two at a time,
# from a scratch copy of its seed corpus (tests/fuzz/corpus/<target>/, never grown by a run),
# with its dictionary (tests/fuzz/<target>.dict) when there is one. Prints per target the runs,
# the coverage, the speed and the result; any crash, sanitizer report, leak or timeout fails
# the script, and the input that caused it is kept in build-fuzz/crashes/<target>/ (replay it
# with build-fuzz/bin/fuzz_<target> FILE). scripts/test.sh runs it last.
#
#   scripts/fuzz.sh [SECONDS]     default 60; 0 skips
#   scripts/fuzz.sh 300 rules     only the targets named
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECONDS_EACH="${1:-60}"
shift || true
DIR="$ROOT/build-fuzz"
JOBS="${EARSHOT_BUILD_JOBS:-2}"

if [ "$SECONDS_EACH" = 0 ]; then
  echo "fuzz.sh: skipped (0 seconds)"
  exit 0
fi
for tool in clang++-19 clang-19; do
  command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool is missing: run scripts/install-deps.sh" >&2; exit 2; }
done

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/*.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi

# shellcheck source=scripts/ccache-env.sh
source "$ROOT/scripts/ccache-env.sh"
start=$(date +%s)
if [ ! -f "$DIR/CMakeCache.txt" ]; then
  cmake -S "$ROOT" -B "$DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-19 -DEARSHOT_FUZZ=ON \
    -DEARSHOT_BUILD_TESTS=OFF -DEARSHOT_BUILD_BENCH=OFF "${EARSHOT_LAUNCHER[@]}" >/dev/null
fi
build_targets=()
for t in "${targets[@]}"; do build_targets+=(--target "fuzz_$t"); done
cmake --build "$DIR" -j"$JOBS" "${build_targets[@]}" 2>&1 | { grep -vE '^\[ *[0-9]+%\] (Building|Linking|Built)|^-- ' || true; }
echo "fuzz.sh: built in $(($(date +%s) - start)) s; ${#targets[@]} targets, ${SECONDS_EACH} s each, two at a time"

symbolizer="$(command -v llvm-symbolizer-19 || command -v llvm-symbolizer || true)"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1:symbolize=1${symbolizer:+:external_symbolizer_path=$symbolizer}"
export LSAN_OPTIONS="suppressions=$ROOT/tests/fuzz/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

run_one() {
  local t="$1" work="$DIR/work/$1" crashes="$DIR/crashes/$1" log="$DIR/logs/$1.log"
  rm -rf "$work"
  mkdir -p "$work" "$crashes" "$DIR/logs"
  touch "$DIR/logs/$t.start"
  cp "tests/fuzz/corpus/$t/"* "$work/"
  local dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  local rc=0
  # -close_fd_mask=2: the code under test writes to a closed stderr. libmpg123 (inside
  # libsndfile) prints a line for every bad bit it reads, and an hour of audio_decode wrote
  # 26 GB of them; libFuzzer's own output and the sanitizers' reports go to a copy of stderr.
  "$DIR/bin/fuzz_$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -close_fd_mask=2 -artifact_prefix="$crashes/" "${dict[@]}" "$work" >"$log" 2>&1 || rc=$?
  echo "$rc" >"$DIR/logs/$t.rc"
}

rm -f "$DIR"/logs/*.rc
i=0
while [ $i -lt ${#targets[@]} ]; do
  run_one "${targets[$i]}" &
  if [ $((i + 1)) -lt ${#targets[@]} ]; then run_one "${targets[$((i + 1))]}" & fi
  wait
  i=$((i + 2))
done

passed=0 failed=0
printf '%-16s %12s %8s %8s %9s  %s\n' target runs execs/s cov corpus result
for t in "${targets[@]}"; do
  log="$DIR/logs/$t.log"
  rc=$(cat "$DIR/logs/$t.rc" 2>/dev/null || echo 1)
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
  speed=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -n 1)
  cov=$(grep -oE ' cov: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+' || true)
  corpus=$(find "$DIR/work/$t" -type f | wc -l)
  artifact=$(find "$DIR/crashes/$t" -type f -newer "$DIR/logs/$t.start" 2>/dev/null | head -n 1)
  if [ "$rc" = 0 ]; then
    result=ok
    passed=$((passed + 1))
  else
    result="FAILED ($(grep -m1 -oE 'ERROR: [A-Za-z]+Sanitizer: [a-z-]+|runtime error: .*|ERROR: libFuzzer: [a-z-]+' "$log" | head -c 120 || echo "exit $rc"); input: ${artifact:-none}; log: $log)"
    failed=$((failed + 1))
  fi
  printf '%-16s %12s %8s %8s %9s  %s\n' "$t" "${runs:--}" "${speed:--}" "${cov:--}" "$corpus" "$result"
  rmdir "$DIR/crashes/$t" 2>/dev/null || true
done
echo "fuzz.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
