#!/usr/bin/env bash
# The format gate: every C++ file in the repository must be as clang-format (.clang-format)
# writes it. Lists the files that are not and fails; `scripts/check-format.sh --fix`
# rewrites them in place.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
# In batches on two processes; clang-format names each file it would change.
if ! git ls-files -z '*.cpp' '*.hpp' '*.h' | xargs -0 -P 2 -n 40 clang-format --dry-run -Werror 2>/tmp/check-format.$$; then
  printf 'check-format: not formatted (scripts/check-format.sh --fix):\n' >&2
  grep -oE '^[^:]+:[0-9]+:[0-9]+: error' /tmp/check-format.$$ | cut -d: -f1 | sort -u | sed 's/^/  /' >&2
  rm -f /tmp/check-format.$$
  exit 1
fi
rm -f /tmp/check-format.$$
echo "check-format: ${#files[@]} files formatted"
