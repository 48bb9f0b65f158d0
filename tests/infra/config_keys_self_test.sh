#!/usr/bin/env bash
# Self-test of tests/infra/config_keys_check.py: on a temporary copy of infra/ it passes as
# is, and fails, naming the key and the place, once a key no binary accepts, a key of another
# binary, an invalid value, or a bad key in a Kubernetes manifest is injected.
#   config_keys_self_test.sh REPO BIN_DIR
set -euo pipefail
SRC="${1:?repository root}"
BIN="${2:?directory of the built binaries}"
CHECK="$SRC/tests/infra/config_keys_check.py"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
failed=0

fresh() {
  rm -rf "$WORK/tree"
  mkdir -p "$WORK/tree/infra"
  cp -R "$SRC/infra/compose" "$SRC/infra/docker" "$WORK/tree/infra/"
}
# expect <what> <exit code> <text the output must contain>...
expect() {
  local what="$1" want="$2" out rc=0 text
  shift 2
  out="$(python3 "$CHECK" --root "$WORK/tree" --bin-dir "$BIN" 2>&1)" || rc=$?
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
# Adds "KEY: VALUE" to the environment of compose service SERVICE.
add_compose_env() {
  python3 - "$WORK/tree/infra/compose/docker-compose.yml" "$1" "$2" "$3" <<'PY'
import sys
path, service, key, value = sys.argv[1:]
lines = open(path).read().split("\n")
start = lines.index(f"  {service}:")
for i in range(start + 1, len(lines)):
    if lines[i] == "    environment:":
        lines.insert(i + 1, f"      {key}: \"{value}\"")
        break
else:
    sys.exit(f"no environment block in service {service}")
open(path, "w").write("\n".join(lines))
PY
}

fresh
expect "the committed files pass" 0 "every EARSHOT_* key is accepted"

fresh
add_compose_env earshot-stt EARSHOT_NOT_A_REAL_KEY 1
expect "an unknown key" 1 "compose service earshot-stt: gives EARSHOT_NOT_A_REAL_KEY to \`earshot-stt\`" \
  "mentions EARSHOT_NOT_A_REAL_KEY, which no Earshot binary accepts"

fresh
add_compose_env earshot-sync EARSHOT_JWT_SECRET 0123456789abcdef0123456789abcdef
expect "a key of another binary" 1 "compose service earshot-sync: gives EARSHOT_JWT_SECRET to \`earshot-sync\`"

fresh
add_compose_env earshot-analyze EARSHOT_LLM_DEADLINE banana
expect "an invalid value" 1 "compose service earshot-analyze: \`earshot-analyze --check-config\`" "EARSHOT_LLM_DEADLINE"

fresh
add_compose_env migrate EARSHOT_REDIS_URL redis://x:6379/0
expect "a key the migration does not take" 1 "compose service migrate: gives EARSHOT_REDIS_URL to \`earshot migrate\`"

fresh
mkdir -p "$WORK/tree/infra/k8s"
cat >"$WORK/tree/infra/k8s/stt.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: earshot-common}
data:
  EARSHOT_MYSQL_HOST: mariadb
  EARSHOT_ADMIN_HOST: 0.0.0.0
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: earshot-stt}
spec:
  template:
    spec:
      containers:
        - name: stt
          image: earshot:latest
          args: [stt]
          envFrom: [{configMapRef: {name: earshot-common}}]
          env:
            - {name: EARSHOT_WORKER_PREFETCH, value: "32"}
            - name: EARSHOT_MYSQL_PASSWORD
              valueFrom: {secretKeyRef: {name: earshot-secrets, key: mysql-password}}
YAML
expect "a valid Kubernetes manifest" 0 "Deployment/earshot-stt=earshot-stt"
sed -i 's/EARSHOT_ADMIN_HOST: 0.0.0.0/EARSHOT_ADMIN_HOST: 0.0.0.0\n  EARSHOT_WORKER_PREFECTH: "8"/' \
  "$WORK/tree/infra/k8s/stt.yaml"
expect "a typo in a Kubernetes ConfigMap" 1 \
  "Deployment/earshot-stt container stt: gives EARSHOT_WORKER_PREFECTH to \`earshot-stt\`"

[ "$failed" -eq 0 ] && echo "config_keys_self_test: all cases behave" || exit 1
