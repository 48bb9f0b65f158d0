#!/usr/bin/env bash
# Self-test of scripts/check-deps.sh: on a temporary copy of libs/ and docs/architecture.md
# it passes as is, and fails, naming the edge and the file, once a forbidden edge is
# injected (an include, a link), an undocumented library appears, or the table names a
# library that does not exist.
set -euo pipefail
SRC="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
CHECK="$SRC/scripts/check-deps.sh"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

fresh() {
  rm -rf "$WORK/tree"
  mkdir -p "$WORK/tree/docs"
  cp -R "$SRC/libs" "$WORK/tree/libs"
  cp "$SRC/docs/architecture.md" "$WORK/tree/docs/"
}
failed=0
# expect_failure <what> <text the output must contain>...
expect_failure() {
  local what="$1"; shift
  local out rc=0
  out="$(bash "$CHECK" --root "$WORK/tree" 2>&1)" || rc=$?
  if [ "$rc" -ne 1 ]; then
    echo "FAIL: $what: exit $rc, expected 1"; echo "$out"; failed=1; return
  fi
  local text
  for text in "$@"; do
    if ! grep -qF -- "$text" <<<"$out"; then
      echo "FAIL: $what: output lacks '$text'"; echo "$out"; failed=1; return
    fi
  done
  echo "ok: $what"
}

fresh
if out="$(bash "$CHECK" --root "$WORK/tree" 2>&1)"; then
  echo "ok: the unchanged copy passes"
else
  echo "FAIL: the unchanged copy fails"; echo "$out"; failed=1
fi

# core may depend on no library: an include of the gateway's headers is refused.
fresh
sed -i '1i #include "earshot/api/gateway.hpp"' "$WORK/tree/libs/core/src/error.cpp"
expect_failure "injected include" "forbidden edge core -> api" "libs/core/src/error.cpp:1"

# The angle-bracket spelling in a public header counts too.
fresh
printf '#include <earshot/pipeline/transcribe_stage.hpp>\n' >>"$WORK/tree/libs/llm/include/earshot/llm/chat.hpp"
expect_failure "injected angle-bracket include" "forbidden edge llm -> pipeline" "libs/llm/include/earshot/llm/chat.hpp:"

# A link in CMake without any include.
fresh
sed -i 's/earshot::core earshot::http/earshot::core earshot::http earshot::stt/' "$WORK/tree/libs/llm/CMakeLists.txt"
expect_failure "injected link" "forbidden edge llm -> stt" "libs/llm/CMakeLists.txt:"

# A library without a row in the table.
fresh
mkdir -p "$WORK/tree/libs/newlib"
echo 'earshot_library(newlib SOURCES src/a.cpp PUBLIC_DEPS earshot::core)' >"$WORK/tree/libs/newlib/CMakeLists.txt"
expect_failure "undocumented library" "libs/newlib has no row"

# A row naming a library that does not exist.
fresh
rm -rf "$WORK/tree/libs/sync"
expect_failure "documented library without a directory" "documents library 'sync'"

exit "$failed"
