#!/usr/bin/env bash
# Checks the library dependency graph against docs/architecture.md (the Libraries table,
# column "may depend on", is the source of truth).
#
# The actual edges of library L (libs/L/) are
#   - every earshot::X named in libs/L/CMakeLists.txt (target_link_libraries, PUBLIC_DEPS,
#     PRIVATE_DEPS alike), and
#   - every #include <earshot/X/...> or "earshot/X/..." in libs/L/ (headers and sources),
# for X other than L. An edge the table does not allow fails the check (exit 1) with the
# edge and the file (and line) it comes from. So does a library directory without a row in
# the table, or a row naming a library that does not exist.
#
# Usage: scripts/check-deps.sh [--root DIR]   (DIR: a checkout; default: this one)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT="$(cd "$2" && pwd)"; shift 2 ;;
    -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "check-deps: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

DOC="$ROOT/docs/architecture.md"
[ -f "$DOC" ] || { echo "check-deps: $DOC not found" >&2; exit 2; }
[ -d "$ROOT/libs" ] || { echo "check-deps: $ROOT/libs not found" >&2; exit 2; }

# "lib dep dep ..." per documented library, from the rows of the table under "## Libraries"
# whose first cell is a `name` ("third-party only" allows no library).
allowed="$(awk -F'|' '
  /^## / { in_libs = ($0 ~ /^## Libraries/) ; next }
  in_libs && /^\| *`[a-z0-9_]+` *\|/ {
    name = $2; gsub(/[ `]/, "", name)
    deps = $(NF - 1); gsub(/`/, "", deps); gsub(/third-party only/, "", deps); gsub(/,/, " ", deps)
    gsub(/^ +| +$/, "", deps); gsub(/ +/, " ", deps)
    print name (deps == "" ? "" : " " deps)
  }' "$DOC")"
[ -n "$allowed" ] || { echo "check-deps: no Libraries table in $DOC" >&2; exit 2; }

libs=()
for d in "$ROOT"/libs/*/; do
  [ -f "$d/CMakeLists.txt" ] && libs+=("$(basename "$d")")
done

is_lib() { local x; for x in "${libs[@]}"; do [ "$x" = "$1" ] && return 0; done; return 1; }
documented() { printf '%s\n' "$allowed" | awk -v l="$1" '$1 == l { found = 1 } END { exit !found }'; }
may_depend() {
  printf '%s\n' "$allowed" | awk -v l="$1" -v x="$2" '
    $1 == l { for (i = 2; i <= NF; i++) if ($i == x) found = 1 } END { exit !found }'
}

failures=0
fail() { echo "check-deps: $*"; failures=$((failures + 1)); }

# The table names real libraries only.
while read -r name deps; do
  is_lib "$name" || fail "docs/architecture.md documents library '$name', but there is no libs/$name"
  for x in $deps; do
    is_lib "$x" || fail "docs/architecture.md: '$name' may depend on '$x', which is not a library"
  done
done <<<"$allowed"

for lib in "${libs[@]}"; do
  if ! documented "$lib"; then
    fail "libs/$lib has no row in the Libraries table of docs/architecture.md"
    continue
  fi
  # CMake: earshot::X anywhere in the library's CMakeLists.txt.
  while IFS=: read -r line dep; do
    [ "$dep" = "$lib" ] && continue
    may_depend "$lib" "$dep" ||
      fail "forbidden edge $lib -> $dep (libs/$lib/CMakeLists.txt:$line links earshot::$dep)"
  done < <(grep -noE 'earshot::[a-z0-9_]+' "$ROOT/libs/$lib/CMakeLists.txt" | sed 's/earshot:://' || true)
  # Includes of another library's public headers.
  while IFS= read -r hit; do
    file="${hit%%:*}"; rest="${hit#*:}"; line="${rest%%:*}"
    dep="$(printf '%s\n' "$rest" | sed -E 's/^[0-9]+:[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]earshot\/([a-z0-9_]+)\/.*/\1/')"
    [ "$dep" = "$lib" ] && continue
    may_depend "$lib" "$dep" ||
      fail "forbidden edge $lib -> $dep (${file#"$ROOT"/}:$line includes earshot/$dep/)"
  done < <(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]earshot/[a-z0-9_]+/' "$ROOT/libs/$lib" \
             --include='*.hpp' --include='*.h' --include='*.cpp' --include='*.cc' --include='*.in' || true)
done

if [ "$failures" -gt 0 ]; then
  echo "check-deps: $failures problem(s); allowed edges are the \"may depend on\" column of docs/architecture.md"
  exit 1
fi
echo "check-deps: ${#libs[@]} libraries, every edge allowed by docs/architecture.md"
