#!/usr/bin/env bash
# clang-tidy over every library and service source (libs/**/*.cpp, services/**/*.cpp) with the checks of .clang-tidy; any
# finding fails the run. Needs a configured build (scripts/build.sh; its
# compile_commands.json and dependency files).
#
# A clean result is remembered per translation unit, keyed by the contents of the source,
# of every header it includes (from the build's dependency file), of its compile flags, of
# .clang-tidy and by clang-tidy's version and arguments: an unchanged file is not analysed
# again. The cache lives in $EARSHOT_TIDY_CACHE (default ~/.cache/earshot-tidy); findings
# are never cached.
#
# clang-tidy runs with -Wno-deprecated-declarations: clang 19 reports libstdc++ 12's own use
# of the deprecated std::get_temporary_buffer (bits/stl_tempbuf.h, reached from
# std::stable_sort and std::stable_partition) as an error in that system header, in every
# file that sorts stably. Deprecated uses in our own code still fail the build: GCC warns on
# them by default and the build treats warnings as errors.
#
#   scripts/check-tidy.sh [BUILD_DIR]      (default: build)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="$(cd "${1:-build}" && pwd)"
JOBS="${EARSHOT_BUILD_JOBS:-2}"
TIDY="${EARSHOT_CLANG_TIDY:-clang-tidy-19}"
CACHE="${EARSHOT_TIDY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/earshot-tidy}"
TIDY_ARGS="--extra-arg=-Wno-deprecated-declarations"  # one argument; see the head comment

command -v "$TIDY" >/dev/null || { echo "check-tidy: $TIDY is not installed (scripts/install-deps.sh)" >&2; exit 2; }
[ -f "$BUILD/compile_commands.json" ] || { echo "check-tidy: no $BUILD/compile_commands.json (run scripts/build.sh)" >&2; exit 2; }
mkdir -p "$CACHE"
start=$(date +%s)

# source (relative to ROOT) -> its dependency file in the build tree
declare -A depfile=()
while IFS= read -r d; do
  rel="${d#"$BUILD"/}"
  src="${rel#*/CMakeFiles/*.dir/}"
  src="${src%.o.d}"
  objdir="${rel%%/CMakeFiles/*}"
  depfile["$objdir/$src"]="$d"
done < <(find "$BUILD/libs" "$BUILD/services" -name '*.cpp.o.d')

salt="$("$TIDY" --version | sha256sum | cut -c1-64) $(sha256sum .clang-tidy | cut -c1-64) $TIDY_ARGS"

# The key of one source: every file it depends on, its flags, the salt.
key_of() {
  local src="$1" d="${depfile[$1]:-}"
  [ -n "$d" ] || return 1
  local cwd="${d%%/CMakeFiles/*}"
  local target="${d#*/CMakeFiles/}"
  local flags="$cwd/CMakeFiles/${target%%/*}/flags.make"
  {
    echo "$salt $src"
    # The flags name this checkout's absolute paths: another clone of the same tree is the same key.
    sed "s|$ROOT|@ROOT@|g" "$flags" | sha256sum | cut -c1-64
    # The dependency file lists paths relative to the compiler's directory, a line each
    # after the target, continued with backslashes.
    sed -e '1s/^[^:]*://' -e 's/\\$//' "$d" | tr -s ' \t' '\n' | sed '/^$/d' |
      (cd "$cwd" && xargs -r sha256sum | cut -c1-64)
  } | sha256sum | cut -c1-64
}

todo=()
cached=0
missing=()
while IFS= read -r src; do
  if ! key=$(key_of "$src"); then
    missing+=("$src")
    continue
  fi
  if [ -f "$CACHE/$key" ]; then
    cached=$((cached + 1))
  else
    todo+=("$src $key")
  fi
done < <(git ls-files 'libs/*.cpp' 'services/*.cpp')

if [ ${#missing[@]} -gt 0 ]; then
  echo "check-tidy: not compiled in $BUILD (build it first): ${missing[*]}" >&2
  exit 2
fi

log="$BUILD/check-tidy.log"
: >"$log"
failed=0
if [ ${#todo[@]} -gt 0 ]; then
  export TIDY TIDY_ARGS BUILD CACHE log
  # One clang-tidy per source; a clean one is remembered, a finding is printed.
  # shellcheck disable=SC2016  # the script's own $0 and $1, expanded by the inner bash
  printf '%s\n' "${todo[@]}" | xargs -P "$JOBS" -L 1 bash -c '
    out=$("$TIDY" -p "$BUILD" --quiet "$TIDY_ARGS" "$0" 2>&1) && ! grep -qE "(warning|error):" <<<"$out" &&
      { touch "$CACHE/$1"; exit 0; }
    { echo "== $0"; grep -E -A3 "(warning|error):" <<<"$out"; } >>"$log"; exit 1' || failed=1
fi

total=$(( ${#todo[@]} + cached ))
if [ "$failed" = 1 ]; then
  cat "$log"
  echo "check-tidy: findings in $(grep -c '^== ' "$log") of $total sources (fix them; .clang-tidy names the checks)" >&2
  exit 1
fi
echo "check-tidy: $total library and service sources clean ($cached unchanged since their last clean run) in $(( $(date +%s) - start )) s"
