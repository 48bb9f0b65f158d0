#!/usr/bin/env bash
# Self-test of tests/infra/compose_image_check.py: on a temporary copy it passes as is, and
# fails, naming the problem, when the image runs as root, has no HEALTHCHECK, bakes a secret
# into a layer, sets an EARSHOT_* ENV, stops building a binary the compose file runs, or when
# a worker gets a container_name or a host port, or Grafana's provisioning points elsewhere.
#   compose_image_self_test.sh REPO
set -euo pipefail
SRC="${1:?repository root}"
CHECK="$SRC/tests/infra/compose_image_check.py"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
failed=0
DF="$WORK/tree/infra/docker/Dockerfile"
DC="$WORK/tree/infra/compose/docker-compose.yml"

fresh() {
  rm -rf "$WORK/tree"
  mkdir -p "$WORK/tree/infra"
  cp -R "$SRC/infra/compose" "$SRC/infra/docker" "$WORK/tree/infra/"
  cp "$SRC/.dockerignore" "$SRC/.gitignore" "$WORK/tree/"
  mkdir -p "$WORK/tree/infra/grafana"
  cp -R "$SRC/infra/grafana/provisioning" "$WORK/tree/infra/grafana/"
}
expect() {
  local what="$1" want="$2" out rc=0 text
  shift 2
  out="$(python3 "$CHECK" --root "$WORK/tree" 2>&1)" || rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL: $what: exit $rc, expected $want"; echo "$out"; failed=1; return
  fi
  for text in "$@"; do
    if ! grep -qF -- "$text" <<<"$out"; then
      echo "FAIL: $what: output lacks '$text'"; echo "$out"; failed=1; return
    fi
  done
  echo "ok: $what"
}

fresh
expect "the committed files pass" 0 "image and compose file hold"

fresh
sed -i '/^USER /d' "$DF"
expect "no USER" 1 "the final stage has no USER"

fresh
sed -i 's/^USER .*/USER root/' "$DF"
expect "USER root" 1 "the final stage runs as USER root"

fresh
sed -i '/^HEALTHCHECK/,/^  CMD/d' "$DF"
expect "no HEALTHCHECK" 1 "the final stage has no HEALTHCHECK"

fresh
sed -i 's/^ARG BUILD_JOBS=2/ARG BUILD_JOBS=2\nARG JWT_SECRET=abc/' "$DF"
expect "a secret build argument" 1 "ARG JWT_SECRET=abc"

fresh
sed -i 's/^WORKDIR \/opt\/earshot/WORKDIR \/opt\/earshot\nENV EARSHOT_LOG_LEVEL=debug/' "$DF"
expect "an EARSHOT_* ENV" 1 "ENV EARSHOT_LOG_LEVEL"

fresh
sed -i 's/ earshot-notify earshot-gateway \\$/ earshot-gateway \\/' "$DF"
expect "a binary the compose file runs is not built" 1 "earshot-notify (role notify) is not built"

fresh
sed -i 's/^FROM debian:12-slim AS runtime/FROM ubuntu:24.04 AS runtime/' "$DF"
expect "a base other than Debian 12" 1 "is FROM ubuntu:24.04"

fresh
sed -i 's/^  earshot-stt:$/  earshot-stt:\n    container_name: stt\n    ports: ["18092:18092"]/' "$DC"
expect "a worker that cannot scale" 1 "earshot-stt: container_name prevents scaling" \
  "earshot-stt: publishes host ports"

fresh
sed -i 's#path: /var/lib/grafana/dashboards#path: /var/lib/grafana/boards#' \
  "$WORK/tree/infra/grafana/provisioning/dashboards/earshot.yml"
expect "Grafana provisioning pointing elsewhere" 1 "dashboards path /var/lib/grafana/boards is not where"

fresh
sed -i '/infra\/compose\/.env/d' "$WORK/tree/.gitignore" "$WORK/tree/.dockerignore"
expect "the env file not ignored" 1 "infra/compose/.env is not git-ignored" \
  ".dockerignore does not exclude infra/compose/.env"

[ "$failed" -eq 0 ] && echo "compose_image_self_test: all cases behave" || exit 1
