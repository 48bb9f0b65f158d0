#!/usr/bin/env bash
# Starts, stops and reports Earshot's local backing services (MariaDB, Redis, RabbitMQ with
# the management plugin, Prometheus) as plain background processes on 127.0.0.1: no Docker,
# no systemd. Fully isolated instances, each on its own ports: "demo" (default), "test" (what
# scripts/test.sh runs against), "chaos" (the chaos suite, which restarts its servers), and
# "dev1"/"dev2" (for working on two branches while a test run holds "test").
#
#   scripts/services.sh [--instance demo|test|chaos|dev1|dev2] start|stop|status|env
#   scripts/services.sh [--instance NAME] start-one|stop-one mariadb|redis|rabbitmq|prometheus
#
# The instance can also be chosen with ES_SERVICES_INSTANCE. Data, logs and PID files
# live in <repo>/.local/<instance>/<server>/ (git-ignored). `eval "$(scripts/services.sh env)"`
# gives clients the connection settings; `start` also writes them to <data>/env.sh.
# Packages come from scripts/install-deps.sh.
#
# Exit codes: 0 ok; 1 a server failed to start or stop; 2 usage; 3 `status` found a server
# not running.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd -P)
SERVERS=(mariadb redis rabbitmq prometheus)

usage() {
  cat <<'EOF'
usage: scripts/services.sh [--instance demo|test|chaos|dev1|dev2] start|stop|status|env
       scripts/services.sh [--instance NAME] start-one|stop-one mariadb|redis|rabbitmq|prometheus
The instance defaults to $ES_SERVICES_INSTANCE, else demo.
EOF
}

die_usage() {
  echo "services.sh: $*" >&2
  usage >&2
  exit 2
}

# ---------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------
INSTANCE=${ES_SERVICES_INSTANCE:-demo}
POSITIONAL=()
while [ $# -gt 0 ]; do
  case $1 in
    --instance) [ $# -ge 2 ] || die_usage "--instance needs a value"; INSTANCE=$2; shift 2 ;;
    --instance=*) INSTANCE=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) die_usage "unknown option: $1" ;;
    *) POSITIONAL+=("$1"); shift ;;
  esac
done
[ ${#POSITIONAL[@]} -ge 1 ] || die_usage "missing command"
COMMAND=${POSITIONAL[0]}

case $INSTANCE in
  demo)
    MYSQL_PORT=13306 AMQP_PORT=25672 DIST_PORT=25673 MGMT_PORT=25674 EPMD_PORT=14369
    REDIS_PORT=16379 PROM_PORT=19090 ;;
  test)
    MYSQL_PORT=23306 AMQP_PORT=26672 DIST_PORT=26673 MGMT_PORT=26674 EPMD_PORT=24369
    REDIS_PORT=26379 PROM_PORT=29090 ;;
  chaos)
    MYSQL_PORT=27306 AMQP_PORT=27672 DIST_PORT=27673 MGMT_PORT=27674 EPMD_PORT=27369
    REDIS_PORT=27379 PROM_PORT=27090 ;;
  dev1)
    MYSQL_PORT=28306 AMQP_PORT=28672 DIST_PORT=28673 MGMT_PORT=28674 EPMD_PORT=28369
    REDIS_PORT=28379 PROM_PORT=28090 ;;
  dev2)
    MYSQL_PORT=30306 AMQP_PORT=30672 DIST_PORT=30673 MGMT_PORT=30674 EPMD_PORT=30369
    REDIS_PORT=30379 PROM_PORT=30090 ;;
  *) die_usage "unknown instance '$INSTANCE' (expected demo, test, chaos, dev1 or dev2)" ;;
esac

DATA=$REPO_ROOT/.local/$INSTANCE
M=$DATA/mariadb
R=$DATA/rabbitmq
RD=$DATA/redis
P=$DATA/prometheus
ALERTS_FILE=$REPO_ROOT/infra/prometheus/alerts.yml
NODENAME=earshot-$INSTANCE@localhost
MYSQL_SOCKET=$M/mysqld.sock

# Per process: PID file, log, the program name its /proc/PID/cmdline must contain, and an
# instance-specific string that must also be there (so a PID reused by another program, or a
# server of the other instance or of another checkout, is never taken for ours). A marker may
# list alternatives separated by "|": Redis starts as "redis-server --port PORT ..." and a
# moment later rewrites its title to "redis-server 127.0.0.1:PORT"; both must count as ours,
# or a check in between takes a starting server for a dead one.
declare -A PIDFILE=(
  [mariadb]=$M/mariadb.pid [redis]=$RD/redis.pid [rabbitmq]=$R/rabbit.pid
  [epmd]=$R/epmd.pid [prometheus]=$P/prometheus.pid [launcher]=$R/launcher.pid
)
declare -A LOGFILE=(
  [mariadb]=$M/mariadb.log [redis]=$RD/redis.log [rabbitmq]=$R/rabbitmq.log
  [epmd]=$R/epmd.log [prometheus]=$P/prometheus.log
)
declare -A PROG=(
  [mariadb]=mariadbd [redis]=redis-server [rabbitmq]=beam.smp [epmd]=epmd
  [prometheus]=prometheus [launcher]=rabbitmq-server
)
declare -A MARKER=(
  [mariadb]="--datadir=$M/data" [redis]="127.0.0.1:$REDIS_PORT|--port $REDIS_PORT " [rabbitmq]="-es_data_dir $R"
  [epmd]="-port $EPMD_PORT" [prometheus]="--storage.tsdb.path=$P/data"
  [launcher]=/usr/lib/rabbitmq/bin/rabbitmq-server
)
declare -A PORT=(
  [mariadb]=$MYSQL_PORT [redis]=$REDIS_PORT [rabbitmq]=$AMQP_PORT [epmd]=$EPMD_PORT
  [prometheus]=$PROM_PORT
)

# Environment for rabbitmq-server and for every RabbitMQ CLI call. HOME holds the Erlang
# cookie, so the CLI must see the same HOME as the server. "-es_data_dir" is an inert Erlang
# user flag that only serves as this instance's marker in the beam's command line.
RABBIT_ENV=(
  "HOME=$R/home"
  "RABBITMQ_NODENAME=$NODENAME"
  "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1"
  "RABBITMQ_NODE_PORT=$AMQP_PORT"
  "RABBITMQ_DIST_PORT=$DIST_PORT"
  "RABBITMQ_MNESIA_BASE=$R/mnesia"
  "RABBITMQ_LOG_BASE=$R/log"
  "RABBITMQ_PID_FILE=$R/rabbit.pid"
  "RABBITMQ_CONFIG_FILE=$R/etc/rabbitmq"
  "RABBITMQ_ADVANCED_CONFIG_FILE=$R/etc/advanced.config"
  "RABBITMQ_ENABLED_PLUGINS_FILE=$R/etc/enabled_plugins"
  "RABBITMQ_CONF_ENV_FILE=$R/etc/rabbitmq-env.conf"
  "ERL_EPMD_ADDRESS=127.0.0.1"
  "ERL_EPMD_PORT=$EPMD_PORT"
  "ERL_CRASH_DUMP=$R/log/erl_crash.dump"
  "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1} -es_data_dir $R"
)
RABBIT_BIN=/usr/lib/rabbitmq/bin

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
say() { echo "services[$INSTANCE]: $*"; }
err() { echo "services[$INSTANCE]: $*" >&2; }

# Milliseconds since the epoch, without forking (EPOCHREALTIME may use a locale's comma).
now_ms() {
  local t=${EPOCHREALTIME//[!0-9]/}
  echo $((t / 1000))
}

# "1.23" seconds since the given now_ms value.
elapsed() {
  local d=$(($(now_ms) - $1))
  printf '%d.%02d' $((d / 1000)) $((d % 1000 / 10))
}

# True when PID is alive and its command line contains NAME's program and instance marker.
# A zombie has an empty command line, so it counts as gone.
proc_is() {
  local name=$1 pid=$2 cmdline
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
  [[ $cmdline == *"${PROG[$name]}"* ]] || return 1
  local marker alternatives
  IFS='|' read -r -a alternatives <<<"${MARKER[$name]}"
  for marker in "${alternatives[@]}"; do
    [[ $cmdline == *"$marker"* ]] && return 0
  done
  return 1
}

# Sets STATE (running|stopped|stale) and STATE_PID for NAME from its PID file.
read_state() {
  local name=$1 pidfile=${PIDFILE[$1]} pid=""
  STATE=stopped STATE_PID=""
  [ -e "$pidfile" ] || return 0
  read -r pid 2>/dev/null <"$pidfile" || true
  if proc_is "$name" "$pid"; then
    STATE=running STATE_PID=$pid
  else
    STATE=stale
  fi
}

# True when something listens on TCP PORT (any address, IPv4 or IPv6). Reads /proc/net so it
# opens no connection: a bare connect/close counts against MariaDB's max_connect_errors and
# makes RabbitMQ log handshake errors.
port_listening() {
  local hex f files=()
  hex=$(printf '%04X' "$1")
  for f in /proc/net/tcp /proc/net/tcp6; do
    if [ -r "$f" ]; then files+=("$f"); fi # tcp6 is absent when IPv6 is disabled
  done
  awk -v p="$hex" '$4 == "0A" && substr($2, index($2, ":") + 1) == p { found = 1 }
    END { exit !found }' "${files[@]}"
}

# Fails with a helpful message when PORT is taken by a process that is not ours.
require_port_free() {
  local name=$1 port=$2 owner=""
  port_listening "$port" || return 0
  if command -v ss >/dev/null 2>&1; then
    owner=$(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'users:.*' | head -n 1 || true)
  fi
  err "$name: port $port is already in use${owner:+ by $owner} (not by a process this script started)"
  return 1
}

http_code() {
  curl -s -o /dev/null -m 2 -w '%{http_code}' "$@" 2>/dev/null || true
}

show_log_tail() {
  local f
  for f in "$@"; do
    [ -s "$f" ] || continue
    err "---- last lines of $f ----"
    tail -n 25 "$f" >&2 || true
  done
}

# Starts a command detached (own session, stdin from /dev/null, output appended to LOG, working
# directory LOG's folder so stray files such as crash dumps land there), so it outlives this
# script. The wrapper shell writes its own PID to PIDFILE and then execs the
# command, so PIDFILE holds the server's PID from the first instant. fd 9 (our lock) is closed.
launch() {
  local pidfile=$1 log=$2 i
  shift 2
  rm -f "$pidfile"
  printf '==== %s: %s\n' "$(date '+%F %T')" "$*" >>"$log"
  # shellcheck disable=SC2016 # $$, $0 and $@ are expanded by the inner shell
  (cd "${log%/*}" && exec setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@") \
    </dev/null >>"$log" 2>&1 9>&- &
  # Sets LAUNCHED_PID. Retries because a server may rewrite the same file (MariaDB does).
  LAUNCHED_PID=""
  for ((i = 0; i < 300; i++)); do
    read -r LAUNCHED_PID 2>/dev/null <"$pidfile" || true
    [[ $LAUNCHED_PID =~ ^[0-9]+$ ]] && return 0
    sleep 0.01
  done
  err "could not launch $1"
  return 1
}

# Polls CHECK (a function name) until it succeeds; fails early if NAME's process dies, or at
# the deadline (ms since the epoch). On failure prints the log tail(s).
wait_ready() {
  local name=$1 pid=$2 deadline=$3 check=$4
  shift 4
  while ! "$check"; do
    if ! proc_is "$name" "$pid"; then
      err "$name: process $pid exited during startup"
      rm -f "${PIDFILE[$name]}"
      show_log_tail "$@"
      return 1
    fi
    if [ "$(now_ms)" -ge "$deadline" ]; then
      err "$name: not ready in time; pid $pid left running (\`services.sh stop\` ends it)"
      show_log_tail "$@"
      return 1
    fi
    sleep 0.05
  done
}

require_bins() {
  local b missing=()
  for b in "$@"; do
    [ -x "$b" ] || command -v "$b" >/dev/null 2>&1 || missing+=("$b")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    err "missing programs: ${missing[*]} (run scripts/install-deps.sh)"
    return 1
  fi
}

mariadbd_bin() { command -v mariadbd 2>/dev/null || echo /usr/sbin/mariadbd; }

# Serialises start/stop of one instance (two concurrent `start`s would race on PID files).
take_lock() {
  mkdir -p "$DATA"
  exec 9>"$DATA/.lock"
  if ! flock -w 120 9; then
    err "another services.sh holds $DATA/.lock"
    exit 1
  fi
}

# ---------------------------------------------------------------------------------------------
# Stopping
# ---------------------------------------------------------------------------------------------

# SIGTERM every running process among NAMEs at once, wait up to 20 s for all, then SIGKILL the
# rest. Only processes from our PID files that match their expected program are signalled.
terminate() {
  local name pids=() names=() i deadline remaining
  for name in "$@"; do
    read_state "$name"
    case $STATE in
      running)
        kill -TERM "$STATE_PID" 2>/dev/null || true
        pids+=("$STATE_PID") names+=("$name") ;;
      stale)
        say "$name: removed stale pid file"
        rm -f "${PIDFILE[$name]}" ;;
    esac
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  deadline=$(($(now_ms) + 20000))
  while :; do
    remaining=0
    for i in "${!pids[@]}"; do
      proc_is "${names[$i]}" "${pids[$i]}" && remaining=$((remaining + 1))
    done
    [ "$remaining" -eq 0 ] && break
    if [ "$(now_ms)" -ge "$deadline" ]; then
      for i in "${!pids[@]}"; do
        if proc_is "${names[$i]}" "${pids[$i]}"; then
          err "${names[$i]}: still running 20 s after SIGTERM, sending SIGKILL to ${pids[$i]}"
          kill -KILL "${pids[$i]}" 2>/dev/null || true
        fi
      done
      sleep 0.5
      break
    fi
    sleep 0.1
  done
  local rc=0
  for i in "${!pids[@]}"; do
    if proc_is "${names[$i]}" "${pids[$i]}"; then
      err "${names[$i]}: could not stop pid ${pids[$i]}"
      rc=1
    else
      rm -f "${PIDFILE[${names[$i]}]}"
      say "${names[$i]}: stopped (pid ${pids[$i]})"
    fi
  done
  return $rc
}

# Stops the given servers; RabbitMQ's epmd goes after RabbitMQ itself.
stop_servers() {
  local name first=() with_rabbit=0
  for name in "$@"; do
    first+=("$name")
    if [ "$name" = rabbitmq ]; then with_rabbit=1; fi
  done
  local rc=0
  terminate "${first[@]}" || rc=1
  if [ "$with_rabbit" -eq 1 ]; then
    terminate epmd || rc=1
    rm -f "${PIDFILE[launcher]}"
  fi
  return $rc
}

# ---------------------------------------------------------------------------------------------
# MariaDB
# ---------------------------------------------------------------------------------------------
mariadb_ping() {
  mariadb-admin --no-defaults --connect-timeout=2 -S "$MYSQL_SOCKET" -uroot ping >/dev/null 2>&1
}

start_mariadb() {
  local t0 pid launched=0
  t0=$(now_ms)
  read_state mariadb
  if [ "$STATE" = running ]; then
    pid=$STATE_PID
  else
    [ "$STATE" = stale ] && { say "mariadb: removing stale pid file"; rm -f "${PIDFILE[mariadb]}"; }
    require_bins "$(mariadbd_bin)" mariadb-install-db mariadb-admin mariadb
    require_port_free mariadb "$MYSQL_PORT"
    if [ ${#MYSQL_SOCKET} -ge 100 ]; then
      err "mariadb: socket path too long for a Unix socket (${#MYSQL_SOCKET} chars): $MYSQL_SOCKET"
      return 1
    fi
    mkdir -p "$M"
    if [ ! -e "$M/.initialized" ]; then
      say "mariadb: initialising data directory"
      rm -rf "${M:?}/data"
      if ! mariadb-install-db --no-defaults --datadir="$M/data" --user="$(id -un)" \
        --auth-root-authentication-method=normal --skip-test-db >>"${LOGFILE[mariadb]}" 2>&1; then
        err "mariadb: mariadb-install-db failed"
        show_log_tail "${LOGFILE[mariadb]}"
        return 1
      fi
      touch "$M/.initialized"
    fi
    local as_root=()
    [ "$(id -u)" -eq 0 ] && as_root=(--user=root)
    launch "${PIDFILE[mariadb]}" "${LOGFILE[mariadb]}" "$(mariadbd_bin)" --no-defaults \
      --datadir="$M/data" --socket="$MYSQL_SOCKET" --pid-file="${PIDFILE[mariadb]}" \
      --port="$MYSQL_PORT" --bind-address=127.0.0.1 "${as_root[@]}" --skip-name-resolve \
      --innodb-flush-log-at-trx-commit=2 --innodb-buffer-pool-size=256M --max-connections=500 \
      --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci
    pid=$LAUNCHED_PID launched=1
  fi
  wait_ready mariadb "$pid" $((t0 + 30000)) mariadb_ping "${LOGFILE[mariadb]}" || return 1
  # Idempotent bootstrap, as root over the socket; the password is reset to the documented one.
  if ! mariadb --no-defaults -S "$MYSQL_SOCKET" -uroot >>"${LOGFILE[mariadb]}" 2>&1 <<'SQL'; then
CREATE DATABASE IF NOT EXISTS earshot CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'earshot'@'127.0.0.1' IDENTIFIED BY 'earshot';
ALTER USER 'earshot'@'127.0.0.1' IDENTIFIED BY 'earshot';
GRANT ALL PRIVILEGES ON *.* TO 'earshot'@'127.0.0.1';
SQL
    err "mariadb: creating the earshot database and user failed"
    show_log_tail "${LOGFILE[mariadb]}"
    return 1
  fi
  # The path clients use: TCP with the application's credentials.
  if ! mariadb --no-defaults -h127.0.0.1 -P"$MYSQL_PORT" -uearshot -pearshot earshot \
    -e 'SELECT 1' >/dev/null 2>>"${LOGFILE[mariadb]}"; then
    err "mariadb: cannot log in as earshot over TCP port $MYSQL_PORT"
    show_log_tail "${LOGFILE[mariadb]}"
    return 1
  fi
  report_started mariadb "$pid" "$t0" "$launched"
}

# ---------------------------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------------------------
redis_ping() {
  [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]
}

start_redis() {
  local t0 pid launched=0
  t0=$(now_ms)
  read_state redis
  if [ "$STATE" = running ]; then
    pid=$STATE_PID
  else
    [ "$STATE" = stale ] && { say "redis: removing stale pid file"; rm -f "${PIDFILE[redis]}"; }
    require_bins redis-server redis-cli
    require_port_free redis "$REDIS_PORT"
    mkdir -p "$RD"
    launch "${PIDFILE[redis]}" "${LOGFILE[redis]}" redis-server --port "$REDIS_PORT" \
      --bind 127.0.0.1 --save "" --appendonly no --daemonize no --dir "$RD" \
      --maxmemory 1gb --maxmemory-policy allkeys-lru
    pid=$LAUNCHED_PID launched=1
  fi
  wait_ready redis "$pid" $((t0 + 10000)) redis_ping "${LOGFILE[redis]}" || return 1
  report_started redis "$pid" "$t0" "$launched"
}

# ---------------------------------------------------------------------------------------------
# RabbitMQ (and its own epmd)
# ---------------------------------------------------------------------------------------------
epmd_ready() { port_listening "$EPMD_PORT"; }

start_epmd() {
  local pid
  read_state epmd
  if [ "$STATE" = running ]; then
    pid=$STATE_PID
  else
    [ "$STATE" = stale ] && { say "epmd: removing stale pid file"; rm -f "${PIDFILE[epmd]}"; }
    require_port_free epmd "$EPMD_PORT"
    launch "${PIDFILE[epmd]}" "${LOGFILE[epmd]}" epmd -address 127.0.0.1 -port "$EPMD_PORT"
    pid=$LAUNCHED_PID
  fi
  wait_ready epmd "$pid" $(($(now_ms) + 5000)) epmd_ready "${LOGFILE[epmd]}"
}

rabbit_prepare() {
  mkdir -p "$R/home" "$R/etc" "$R/mnesia" "$R/log"
  local conf
  conf="# Generated by scripts/services.sh; rewritten on every start.
# No listeners.tcp.* here: the AMQP listener comes from RABBITMQ_NODE_IP_ADDRESS/NODE_PORT,
# and a second listener declaration breaks boot.
loopback_users = none
# The node log is in \$RABBITMQ_LOG_BASE; do not copy it to rabbitmq.log (launcher output).
log.console = false
management.tcp.port = $MGMT_PORT
management.tcp.ip = 127.0.0.1
"
  [ "$(cat "$R/etc/rabbitmq.conf" 2>/dev/null || true)" = "${conf%$'\n'}" ] ||
    printf '%s' "$conf" >"$R/etc/rabbitmq.conf"
  if [ ! -s "$R/home/.erlang.cookie" ]; then
    (umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' | tr 'a-f' 'A-F' >"$R/home/.erlang.cookie")
    chmod 400 "$R/home/.erlang.cookie"
  fi
  # Offline plugin enabling is exactly this file (what `rabbitmq-plugins enable --offline
  # rabbitmq_management` writes); writing it directly saves that CLI's ~1.7 s Erlang start.
  grep -qs rabbitmq_management "$R/etc/enabled_plugins" ||
    echo '[rabbitmq_management].' >"$R/etc/enabled_plugins"
}

# Launches RabbitMQ without waiting for it (it is the slow one); rabbit_wait finishes the job.
# Sets RABBIT_T0, and RABBIT_LAUNCHED=1 when a new node was started.
rabbit_launch() {
  RABBIT_T0=$(now_ms) RABBIT_LAUNCHED=0
  require_bins "$RABBIT_BIN/rabbitmq-server" "$RABBIT_BIN/rabbitmqctl" epmd curl
  start_epmd
  read_state rabbitmq
  if [ "$STATE" = running ]; then
    # A node outlives a killed epmd but never registers with a new one, which leaves it
    # unreachable for rabbitmqctl: restart such a node.
    local names
    names=$(epmd -port "$EPMD_PORT" -names 2>/dev/null || true)
    [[ $'\n'$names$'\n' == *$'\n'"name earshot-$INSTANCE at port $DIST_PORT"$'\n'* ]] && return 0
    say "rabbitmq: node is not registered with epmd (epmd was restarted); restarting it"
    terminate rabbitmq
    read_state rabbitmq
  fi
  [ "$STATE" = stale ] && { say "rabbitmq: removing stale pid file"; rm -f "${PIDFILE[rabbitmq]}"; }
  local p
  for p in "$AMQP_PORT" "$DIST_PORT" "$MGMT_PORT"; do
    require_port_free rabbitmq "$p"
  done
  rabbit_prepare
  # The launcher is the rabbitmq-server shell script; the node (beam.smp) writes rabbit.pid.
  launch "${PIDFILE[launcher]}" "${LOGFILE[rabbitmq]}" env "${RABBIT_ENV[@]}" "$RABBIT_BIN/rabbitmq-server"
  RABBIT_LAUNCHED=1 RABBIT_LAUNCHER_PID=$LAUNCHED_PID
}

rabbit_ports_ready() {
  port_listening "$AMQP_PORT" &&
    [ "$(http_code -u guest:guest "http://127.0.0.1:$MGMT_PORT/api/overview")" = 200 ]
}

# The launcher log, plus the node's own log when this run has written to it.
rabbit_logs() {
  echo "${LOGFILE[rabbitmq]}"
  if [ "$R/log/$NODENAME.log" -nt "${PIDFILE[launcher]}" ]; then echo "$R/log/$NODENAME.log"; fi
}

rabbit_fail() {
  err "rabbitmq: $1"
  read_state rabbitmq
  if [ "$STATE" = stale ]; then rm -f "${PIDFILE[rabbitmq]}"; fi
  read_state launcher
  if [ "$STATE" = stale ]; then rm -f "${PIDFILE[launcher]}"; fi
  local logs
  mapfile -t logs < <(rabbit_logs)
  show_log_tail "${logs[@]}"
  return 1
}

rabbit_wait() {
  local deadline=$((RABBIT_T0 + 90000)) logs
  if [ "$RABBIT_LAUNCHED" -eq 1 ]; then
    # `rabbitmqctl wait` would wait its whole timeout for a pid file that a node dying early
    # never writes, so first wait for the file here while watching the launcher.
    while [ ! -s "${PIDFILE[rabbitmq]}" ]; do
      proc_is launcher "$RABBIT_LAUNCHER_PID" || { rabbit_fail "node exited during startup"; return 1; }
      [ "$(now_ms)" -lt "$deadline" ] || { rabbit_fail "no pid file before the deadline"; return 1; }
      sleep 0.05
    done
    local remaining=$(((deadline - $(now_ms)) / 1000)) rc=0
    [ "$remaining" -gt 60 ] && remaining=60
    [ "$remaining" -lt 1 ] && remaining=1
    env "${RABBIT_ENV[@]}" "$RABBIT_BIN/rabbitmqctl" wait --timeout "$remaining" \
      "${PIDFILE[rabbitmq]}" >>"${LOGFILE[rabbitmq]}" 2>&1 || rc=$?
    [ "$rc" -eq 0 ] || { rabbit_fail "'rabbitmqctl wait' failed (exit $rc)"; return 1; }
  fi
  read_state rabbitmq
  [ "$STATE" = running ] || { rabbit_fail "node is not running (pid file: $STATE)"; return 1; }
  mapfile -t logs < <(rabbit_logs)
  wait_ready rabbitmq "$STATE_PID" "$deadline" rabbit_ports_ready "${logs[@]}" || return 1
  report_started rabbitmq "$STATE_PID" "$RABBIT_T0" "$RABBIT_LAUNCHED"
}

# ---------------------------------------------------------------------------------------------
# Prometheus
# ---------------------------------------------------------------------------------------------
prometheus_ready() {
  [ "$(http_code "http://127.0.0.1:$PROM_PORT/-/ready")" = 200 ]
}

# Writes prometheus.yml; returns 0 when its content changed.
prometheus_config() {
  local rules="" conf
  [ -f "$ALERTS_FILE" ] && rules="rule_files:
  - \"$ALERTS_FILE\""
  conf="# Generated by scripts/services.sh; rewritten on every start.
global:
  scrape_interval: 5s
  evaluation_interval: 5s
$rules
scrape_configs:
  # Earshot processes: drop <name>.json files (file_sd format) into the targets folder.
  - job_name: earshot
    file_sd_configs:
      - files:
          - \"$P/targets/*.json\"
        refresh_interval: 5s"
  [ "$(cat "$P/prometheus.yml" 2>/dev/null || true)" = "$conf" ] && return 1
  printf '%s\n' "$conf" >"$P/prometheus.yml"
}

start_prometheus() {
  local t0 pid launched=0 changed=0
  t0=$(now_ms)
  mkdir -p "$P/targets" "$P/data"
  prometheus_config && changed=1
  read_state prometheus
  if [ "$STATE" = running ]; then
    pid=$STATE_PID
    if [ "$changed" -eq 1 ]; then
      say "prometheus: configuration changed, reloading"
      curl -s -m 5 -X POST "http://127.0.0.1:$PROM_PORT/-/reload" >/dev/null || true
    fi
  else
    [ "$STATE" = stale ] && { say "prometheus: removing stale pid file"; rm -f "${PIDFILE[prometheus]}"; }
    require_bins prometheus curl
    require_port_free prometheus "$PROM_PORT"
    launch "${PIDFILE[prometheus]}" "${LOGFILE[prometheus]}" prometheus \
      --config.file="$P/prometheus.yml" --storage.tsdb.path="$P/data" \
      --web.listen-address="127.0.0.1:$PROM_PORT" --web.enable-lifecycle
    pid=$LAUNCHED_PID launched=1
  fi
  wait_ready prometheus "$pid" $((t0 + 20000)) prometheus_ready "${LOGFILE[prometheus]}" || return 1
  report_started prometheus "$pid" "$t0" "$launched"
}

# ---------------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------------
report_started() {
  local name=$1 pid=$2 t0=$3 launched=$4
  if [ "$launched" -eq 1 ]; then
    say "$name: started (pid $pid, 127.0.0.1:${PORT[$name]}) in $(elapsed "$t0") s"
  else
    say "$name: already running (pid $pid, 127.0.0.1:${PORT[$name]})"
  fi
}

env_lines() {
  local k v
  local -a vars=(
    EARSHOT_MYSQL_HOST 127.0.0.1
    EARSHOT_MYSQL_PORT "$MYSQL_PORT"
    EARSHOT_MYSQL_USER earshot
    EARSHOT_MYSQL_PASSWORD earshot
    EARSHOT_MYSQL_DATABASE earshot
    # "/%2f" is the default vhost "/". A bare trailing "/" means the empty vhost (AMQP URI
    # spec; rabbitmq-c's amqp_parse_url agrees) and the broker refuses it.
    EARSHOT_AMQP_URL "amqp://guest:guest@127.0.0.1:$AMQP_PORT/%2f"
    EARSHOT_REDIS_URL "redis://127.0.0.1:$REDIS_PORT/0"
    ES_SERVICES_DIR "$DATA"
    ES_PROMETHEUS_URL "http://127.0.0.1:$PROM_PORT"
    ES_RABBITMQ_MGMT_URL "http://127.0.0.1:$MGMT_PORT"
    ES_PROMETHEUS_TARGETS_DIR "$P/targets"
  )
  set -- "${vars[@]}"
  while [ $# -gt 0 ]; do
    k=$1 v=$2
    shift 2
    printf 'export %s=%q\n' "$k" "$v"
  done
}

cmd_status() {
  local name rc=0 line
  for name in mariadb redis rabbitmq epmd prometheus; do
    read_state "$name"
    case $STATE in
      running)
        line="running (pid $STATE_PID)"
        if ! port_listening "${PORT[$name]}"; then
          line+=", not listening yet"
          rc=3
        fi ;;
      stale) line="stale pid file"; rc=3 ;;
      *) line="stopped"; rc=3 ;;
    esac
    printf '%-10s %-5s %s\n' "$name" "${PORT[$name]}" "$line"
  done
  return $rc
}

# Starts NAMEs; RabbitMQ is launched first and awaited last so its ~6 s boot overlaps the rest.
start_servers() {
  local t0 name want_rabbit=0
  t0=$(now_ms)
  take_lock
  for name in "$@"; do
    if [ "$name" = rabbitmq ]; then want_rabbit=1; fi
  done
  env_lines >"$DATA/env.sh"
  if [ "$want_rabbit" -eq 1 ]; then
    mkdir -p "$R"
    rabbit_launch
  fi
  # Called outside any condition so that errexit applies inside them too.
  for name in "$@"; do
    case $name in
      mariadb) start_mariadb ;;
      redis) start_redis ;;
      prometheus) start_prometheus ;;
    esac
  done
  if [ "$want_rabbit" -eq 1 ]; then
    rabbit_wait
  fi
  say "ready in $(elapsed "$t0") s; settings: eval \"\$(scripts/services.sh --instance $INSTANCE env)\""
}

case $COMMAND in
  start | stop | status | env)
    [ ${#POSITIONAL[@]} -eq 1 ] || die_usage "$COMMAND takes no arguments" ;;
  start-one | stop-one)
    [ ${#POSITIONAL[@]} -eq 2 ] || die_usage "$COMMAND needs one server name"
    case ${POSITIONAL[1]} in
      mariadb | redis | rabbitmq | prometheus) ;;
      *) die_usage "unknown server '${POSITIONAL[1]}'" ;;
    esac ;;
esac

case $COMMAND in
  start) start_servers "${SERVERS[@]}" ;;
  start-one) start_servers "${POSITIONAL[1]}" ;;
  stop)
    [ -d "$DATA" ] || { say "nothing to stop"; exit 0; }
    take_lock
    stop_servers prometheus rabbitmq redis mariadb || exit 1 ;;
  stop-one)
    [ -d "$DATA" ] || exit 0
    take_lock
    stop_servers "${POSITIONAL[1]}" || exit 1 ;;
  status) cmd_status || exit $? ;;
  env) env_lines ;;
  *) die_usage "unknown command '$COMMAND'" ;;
esac
