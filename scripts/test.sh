#!/usr/bin/env bash
# The test command: installs what is missing, checks the format and the library graph,
# builds, starts the isolated test services (own ports and data under .local/test/, never
# the demo's), runs every test with ctest, prints ctest's summary, and stops the services it
# started.
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
# both kinds can run side by side.
ctest --test-dir build --output-on-failure -j2 --timeout 600 "$@"
