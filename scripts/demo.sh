#!/usr/bin/env bash
# The demo command: installs what is missing, builds, starts the local services (demo
# instance, data under .local/demo/) and the whole fleet in the background, waits until
# every binary answers /readyz 200, and prints where to look.
#   scripts/demo.sh          start (or restart the fleet with a fresh build)
#   scripts/demo.sh stop     stop the fleet and the demo services
#   scripts/demo.sh status   show what runs
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SERVICES="$ROOT/scripts/services.sh"
FLEET_DIR="$ROOT/.local/demo/fleet"
BIN="$ROOT/build/bin"
# name:admin_port
FLEET=(sync:18091 stt:18092 analyze:18093 notify:18094 gateway:18095)
API_PORT=18080

pid_alive() {  # pidfile expected-binary
  local pid
  [ -f "$1" ] || return 1
  pid="$(cat "$1")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$2"
}

stop_fleet() {
  local entry name pidfile pid deadline
  for entry in "${FLEET[@]}"; do
    name="${entry%%:*}"
    pidfile="$FLEET_DIR/$name.pid"
    if pid_alive "$pidfile" "earshot-$name"; then
      pid="$(cat "$pidfile")"
      kill -TERM "$pid" 2>/dev/null || true
      deadline=$((SECONDS + 10))
      while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
      echo "stopped earshot-$name (pid $pid)"
    fi
    rm -f "$pidfile"
  done
}

fleet_status() {
  local entry name port code
  for entry in "${FLEET[@]}"; do
    name="${entry%%:*}"; port="${entry##*:}"
    if pid_alive "$FLEET_DIR/$name.pid" "earshot-$name"; then
      code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)"
      printf '  %-16s pid %-8s /readyz %s\n' "earshot-$name" "$(cat "$FLEET_DIR/$name.pid")" "$code"
    else
      printf '  %-16s stopped\n' "earshot-$name"
    fi
  done
}

case "${1:-start}" in
  stop)
    stop_fleet
    bash "$SERVICES" --instance demo stop
    exit 0 ;;
  status)
    bash "$SERVICES" --instance demo status || true
    fleet_status
    exit 0 ;;
  start) ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac

bash scripts/install-deps.sh
bash scripts/fetch-assets.sh
bash scripts/build.sh earshot earshot-sync earshot-stt earshot-analyze earshot-notify earshot-gateway
bash "$SERVICES" --instance demo start
eval "$(bash "$SERVICES" --instance demo env)"

# The master key that seals secrets at rest: made once per demo instance, kept private.
KEYFILE="$ROOT/.local/demo/master_keys"
if [ ! -s "$KEYFILE" ]; then
  (umask 077 && echo "k1:$(head -c 32 /dev/urandom | base64)" >"$KEYFILE")
fi
EARSHOT_MASTER_KEYS="$(cat "$KEYFILE")"
export EARSHOT_MASTER_KEYS EARSHOT_MASTER_KEY_ID=k1
JWTFILE="$ROOT/.local/demo/jwt_secret"
if [ ! -s "$JWTFILE" ]; then (umask 077 && head -c 48 /dev/urandom | base64 -w0 >"$JWTFILE"); fi
JWT_SECRET="$(cat "$JWTFILE")"
OBJECTS="$ROOT/.local/demo/objects"
mkdir -p "$OBJECTS"

if "$BIN/earshot" --help 2>/dev/null | grep -q '^  migrate'; then
  "$BIN/earshot" migrate
fi

stop_fleet >/dev/null
mkdir -p "$FLEET_DIR"
targets="["
for entry in "${FLEET[@]}"; do
  name="${entry%%:*}"; port="${entry##*:}"
  extra=()
  if [ "$name" = gateway ]; then
    extra=(EARSHOT_HTTP_PORT="$API_PORT" EARSHOT_JWT_SECRET="$JWT_SECRET" EARSHOT_OBJECT_STORE_DIR="$OBJECTS")
  fi
  if [ "$name" = stt ]; then extra=(EARSHOT_OBJECT_STORE_DIR="$OBJECTS"); fi
  if [ "$name" = analyze ]; then
    extra=(EARSHOT_SENTIMENT_LEXICON="$ROOT/.local/assets/vader-1.1.3/vader_lexicon.txt")
  fi
  env EARSHOT_ADMIN_PORT="$port" "${extra[@]}" \
    setsid nohup "$BIN/earshot-$name" >>"$FLEET_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$FLEET_DIR/$name.pid"
  targets+="{\"targets\":[\"127.0.0.1:$port\"],\"labels\":{\"service\":\"$name\"}},"
done
targets="${targets%,}]"
if [ -n "${ES_PROMETHEUS_TARGETS_DIR:-}" ]; then
  mkdir -p "$ES_PROMETHEUS_TARGETS_DIR"
  echo "$targets" >"$ES_PROMETHEUS_TARGETS_DIR/fleet.json"
fi

deadline=$((SECONDS + 60))
for entry in "${FLEET[@]}"; do
  name="${entry%%:*}"; port="${entry##*:}"
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)" = 200 ]; do
    if ! pid_alive "$FLEET_DIR/$name.pid" "earshot-$name"; then
      echo "earshot-$name exited; last log lines:" >&2
      tail -n 20 "$FLEET_DIR/$name.log" >&2
      exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "earshot-$name not ready after 60 s; last log lines:" >&2
      tail -n 20 "$FLEET_DIR/$name.log" >&2
      exit 1
    fi
    sleep 0.2
  done
done

# Fill the demo: business "demo" (with an admin, password kept in .local/demo/), and
# synthetic stereo calls sent through the upload API of the running gateway with an API key
# of the business (kept in .local/demo/api_key); the fleet transcribes and analyzes them.
PASSFILE="$ROOT/.local/demo/admin_password"
if [ ! -s "$PASSFILE" ]; then (umask 077 && head -c 18 /dev/urandom | base64 >"$PASSFILE"); fi
if ! out="$(EARSHOT_BUSINESS_ADMIN_PASSWORD="$(cat "$PASSFILE")" "$BIN/earshot" business create --bid demo \
    --name "Demo call center" --admin-email admin@demo.local 2>&1)"; then
  if ! grep -qi "already" <<<"$out"; then echo "$out" >&2; exit 1; fi
fi
# Categories and the QA scorecard are set up through the admin API (as the business admin)
# before the uploads, so every demo call is categorized and scored; re-runs change nothing.
"$BIN/earshot" demo-data --bid demo --calls "${EARSHOT_DEMO_CALLS:-6}" --out "$ROOT/.local/demo/calls" \
  --upload "http://127.0.0.1:$API_PORT" --key-file "$ROOT/.local/demo/api_key" \
  --admin-email admin@demo.local --admin-password-file "$PASSFILE"
sql() { mariadb --no-defaults -h127.0.0.1 -P"$EARSHOT_MYSQL_PORT" -u"$EARSHOT_MYSQL_USER" \
  -p"$EARSHOT_MYSQL_PASSWORD" "$EARSHOT_MYSQL_DATABASE" -N -B -r -e "$1"; }
deadline=$((SECONDS + 180))
while [ "$(sql "SELECT COUNT(*) FROM call_records WHERE bid='demo' AND status IN ('pending','transcribing','transcribed','analyzing')")" != 0 ]; do
  if [ $SECONDS -ge $deadline ]; then echo "calls still in flight after 180 s (see .local/demo/fleet/stt.log)" >&2; break; fi
  sleep 0.5
done

cat <<MSG

Earshot demo fleet is running.
$(fleet_status)

  API           http://127.0.0.1:$API_PORT/api/v1/version
  metrics       http://127.0.0.1:18091/metrics ... :18095/metrics  (/healthz, /readyz alike)
  Prometheus    ${ES_PROMETHEUS_URL:-}
  RabbitMQ UI   ${ES_RABBITMQ_MGMT_URL:-}  (guest / guest)
  logs          .local/demo/fleet/<service>.log  (JSON lines)

Calls of business "demo" by status:
$(sql "SELECT CONCAT('  ', status, ': ', COUNT(*)) FROM call_records WHERE bid='demo' GROUP BY status")

Calls (agent talk ratio, customer sentiment, QA score):
$(sql "SELECT CONCAT('  ', external_id, '  ', status, '  talk ', IFNULL(ROUND(agent_talk_ratio, 2), '-'), '  sentiment ', IFNULL(ROUND(customer_sentiment, 2), '-'), '  QA ', IFNULL(ROUND(qa_score, 2), '-')) FROM call_records WHERE bid='demo' ORDER BY external_id")

A transcript:
$(sql "SELECT CONCAT('  ', REPLACE(t.full_text, '\n', '\n  ')) FROM transcripts t JOIN call_records c ON c.id = t.call_id AND c.bid = t.bid WHERE t.bid='demo' ORDER BY c.external_id LIMIT 1")

Categories matched:
$(sql "SELECT CONCAT('  ', c.external_id, ': ', GROUP_CONCAT(r.name ORDER BY r.name SEPARATOR ', ')) FROM call_category_matches m JOIN call_records c ON c.id = m.call_id AND c.bid = m.bid JOIN categories r ON r.id = m.category_id AND r.bid = m.bid WHERE m.bid='demo' GROUP BY c.external_id ORDER BY c.external_id")

Escalations:
$(sql "SELECT CONCAT('  ', c.external_id, ': ', e.reason) FROM escalations e JOIN call_records c ON c.id = e.call_id AND c.bid = e.bid WHERE e.bid='demo' ORDER BY c.external_id")

A question to the chat over the calls (no LLM configured: an extractive answer, each part cited):
  \$ earshot ask "Which customers wanted a refund?"
$("$BIN/earshot" ask --url "http://127.0.0.1:$API_PORT" --bid demo --email admin@demo.local \
    --password-file "$PASSFILE" "Which customers wanted a refund?" 2>&1 | sed 's/^/  /')

The dashboard: http://127.0.0.1:$API_PORT/ (sign in as admin@demo.local, business demo,
password in .local/demo/admin_password).

Calls demo-upload-* arrived through the upload API. List the finished calls yourself (a call
ends "notified" once its webhooks and alerts are sent):
  curl -s -H "X-Api-Key: \$(cat .local/demo/api_key)" "http://127.0.0.1:$API_PORT/api/v1/calls?status=notified"
Upload a recording of your own:
  curl -s -H "X-Api-Key: \$(cat .local/demo/api_key)" -F audio=@FILE.wav -F external_id=my-call-1 \\
    "http://127.0.0.1:$API_PORT/api/v1/ingest/calls"
Business admin login: admin@demo.local, password in .local/demo/admin_password

Analyse any recording without services: build/bin/earshot analyze-file FILE.wav
Stop everything: scripts/demo.sh stop
MSG
