#!/usr/bin/env bash
# Size figures of the C++ tree (libs/, services/), as issue reports quote them: the longest
# functions (from universal-ctags' function extents), the longest files, the lines per
# binary main. Reads the tree; changes nothing.
#   scripts/code-stats.sh [N]   (N rows each, default 5)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
N="${1:-5}"
command -v ctags >/dev/null || { echo "code-stats: needs universal-ctags (apt-get install universal-ctags)" >&2; exit 2; }
mapfile -t files < <(git ls-files 'libs/*.cpp' 'libs/*.hpp' 'services/*.cpp' 'services/*.hpp')
echo "longest functions (lines, file:line, name):"
ctags --languages=C++ --c++-kinds=f --fields=+ne -o - "${files[@]}" 2>/dev/null |
  awk -F'\t' '{ line = ""; end = ""; for (i = 4; i <= NF; i++) { if ($i ~ /^line:/) line = substr($i, 6);
                 if ($i ~ /^end:/) end = substr($i, 5) }
               if (line != "" && end != "") printf "%6d  %s:%s  %s\n", end - line + 1, $2, line, $1 }' |
  sort -rn | head -n "$N" || true
echo "longest files (lines):"
wc -l "${files[@]}" | grep -v ' total$' | sort -rn | head -n "$N" || true
echo "lines per main:"
wc -l services/*/main.cpp
