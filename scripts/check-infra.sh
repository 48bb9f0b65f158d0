#!/usr/bin/env bash
# Checks the deployment files without a Docker daemon (ctest runs each part, label `infra`):
#
#   compose     the compose file is valid for Debian's docker-compose (and `docker compose`
#               when that plugin is installed) with the committed env.example, and its
#               Prometheus configuration passes `promtool check config`
#   image       static checks of infra/docker/Dockerfile against the compose file
#               (tests/infra/compose_image_check.py)
#   keys        every EARSHOT_* key of compose and infra/k8s is accepted by the binary that
#               gets it, by its --help and --check-config (tests/infra/config_keys_check.py;
#               needs the built binaries)
#   all         the three above (default)
#
#   scripts/check-infra.sh [--root DIR] [--bin-dir DIR] [compose|image|keys|all]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR=""
what=all
while [ $# -gt 0 ]; do
  case $1 in
    --root) ROOT="$(cd "$2" && pwd)"; shift 2 ;;
    --bin-dir) BIN_DIR="$2"; shift 2 ;;
    compose | image | keys | all) what=$1; shift ;;
    *) echo "check-infra: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
BIN_DIR="${BIN_DIR:-$ROOT/build/bin}"
COMPOSE_DIR="$ROOT/infra/compose"

check_compose() {
  local ran=0 tmp
  if command -v docker-compose >/dev/null 2>&1; then
    docker-compose -f "$COMPOSE_DIR/docker-compose.yml" --env-file "$COMPOSE_DIR/env.example" config -q
    echo "check-infra: docker-compose $(docker-compose version --short 2>/dev/null) accepts the compose file"
    ran=1
  fi
  if docker compose version >/dev/null 2>&1; then
    docker compose -f "$COMPOSE_DIR/docker-compose.yml" --env-file "$COMPOSE_DIR/env.example" config -q
    echo "check-infra: docker compose $(docker compose version --short 2>/dev/null) accepts the compose file"
    ran=1
  fi
  if [ "$ran" -eq 0 ]; then
    echo "check-infra: docker-compose is not installed (scripts/install-deps.sh)" >&2
    return 1
  fi
  # The container's rule path points at the repository's rules for promtool.
  tmp="$(mktemp -d)"
  sed "s#/etc/prometheus/rules/#$ROOT/infra/prometheus/#" "$COMPOSE_DIR/prometheus.yml" >"$tmp/prometheus.yml"
  if ! promtool check config "$tmp/prometheus.yml" >"$tmp/out" 2>&1; then
    cat "$tmp/out" >&2
    rm -rf "$tmp"
    echo "check-infra: infra/compose/prometheus.yml fails promtool check config" >&2
    return 1
  fi
  rm -rf "$tmp"
  echo "check-infra: promtool accepts infra/compose/prometheus.yml and its rules"
}

case $what in
  compose) check_compose ;;
  image) python3 "$ROOT/tests/infra/compose_image_check.py" --root "$ROOT" ;;
  keys) python3 "$ROOT/tests/infra/config_keys_check.py" --root "$ROOT" --bin-dir "$BIN_DIR" ;;
  all)
    check_compose
    python3 "$ROOT/tests/infra/compose_image_check.py" --root "$ROOT"
    python3 "$ROOT/tests/infra/config_keys_check.py" --root "$ROOT" --bin-dir "$BIN_DIR"
    ;;
esac
