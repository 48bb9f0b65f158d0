#!/usr/bin/env bash
# Fetches the data files Earshot uses at run time, version-pinned and checksum-verified,
# into .local/assets/ (git-ignored). Idempotent: does nothing when they are present and
# intact.
#
#   VADER sentiment lexicon 1.1.3 (MIT; license and notice kept beside it), from the npm
#   package vader-sentiment, fetched with the ordinary npm client.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.local/assets/vader-1.1.3"
LEXICON_SHA256=ffb6117bfccf798a34e91d72f50604329946e6fd763668092618d5c5b340a298
PACKAGE_SHA256=de3c50aee6ffe2bc7929f50a69b0a3905d7b63f6fb103c2397517aff799851d2

if [ -f "$DEST/vader_lexicon.txt" ] &&
  echo "$LEXICON_SHA256  $DEST/vader_lexicon.txt" | sha256sum --check --status; then
  echo "fetch-assets: VADER lexicon present"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent vader-sentiment@1.1.3 >/dev/null)
if ! echo "$PACKAGE_SHA256  $tmp/vader-sentiment-1.1.3.tgz" | sha256sum --check --status; then
  echo "fetch-assets: vader-sentiment-1.1.3.tgz does not match its pinned checksum" >&2
  exit 1
fi
tar -xzf "$tmp/vader-sentiment-1.1.3.tgz" -C "$tmp"
if ! echo "$LEXICON_SHA256  $tmp/package/vader_lexicon.txt" | sha256sum --check --status; then
  echo "fetch-assets: vader_lexicon.txt does not match its pinned checksum" >&2
  exit 1
fi
mkdir -p "$DEST"
cp "$tmp/package/vader_lexicon.txt" "$tmp/package/LICENSE" "$tmp/package/NOTICE" "$DEST/"
echo "fetch-assets: VADER lexicon 1.1.3 installed in .local/assets/"
