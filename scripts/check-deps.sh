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

# The actual edges, one "lib dep where" line each, from two greps over every library:
# CMake names (earshot::X) and includes of public headers (earshot/X/...).
edges="$(
  cd "$ROOT"
  grep -noE 'earshot::[a-z0-9_]+' libs/*/CMakeLists.txt |
    awk -F: '{ split($1, p, "/"); print p[2], $NF, $1 ":" $2 " links earshot::" $NF }'
  grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]earshot/[a-z0-9_]+/' libs \
      --include='*.hpp' --include='*.h' --include='*.cpp' --include='*.cc' --include='*.in' |
    awk -F: '{ split($1, p, "/"); dep = $0; sub(/^[^<"]*[<"]earshot\//, "", dep); sub(/\/.*/, "", dep)
               print p[2], dep, $1 ":" $2 " includes earshot/" dep "/" }'
)" || true

# One awk compares them with the table: the table's rows name real libraries, every library
# has a row, every edge to another library is allowed.
report="$(
  awk -v libs="${libs[*]}" '
    BEGIN { n = split(libs, l, " "); for (i = 1; i <= n; i++) is_lib[l[i]] = 1 }
    FNR == NR {
      documented[$1] = 1
      if (!($1 in is_lib)) print "docs/architecture.md documents library \047" $1 "\047, but there is no libs/" $1
      for (i = 2; i <= NF; i++) {
        allowed[$1 " " $i] = 1
        if (!($i in is_lib)) print "docs/architecture.md: \047" $1 "\047 may depend on \047" $i "\047, which is not a library"
      }
      next
    }
    {
      lib = $1; dep = $2; where = $0; sub(/^[^ ]+ [^ ]+ /, "", where)
      if (!(lib in documented)) { missing[lib] = 1; next }
      if (dep != lib && !((lib " " dep) in allowed)) print "forbidden edge " lib " -> " dep " (" where ")"
    }
    END {
      for (i = 1; i <= n; i++) if (!(l[i] in documented)) print "libs/" l[i] " has no row in the Libraries table of docs/architecture.md"
    }' <(printf '%s\n' "$allowed") <(printf '%s\n' "$edges")
)"

if [ -n "$report" ]; then
  printf '%s\n' "$report" | sed 's/^/check-deps: /'
  echo "check-deps: $(printf '%s\n' "$report" | wc -l) problem(s); allowed edges are the \"may depend on\" column of docs/architecture.md"
  exit 1
fi
echo "check-deps: ${#libs[@]} libraries, every edge allowed by docs/architecture.md"
