#!/bin/sh
# Entrypoint of the Earshot image: the first argument picks the program, the rest are its
# arguments. The role is an argument, not an environment variable, because every binary
# refuses EARSHOT_* variables it does not declare.
#
#   sync | stt | analyze | notify | gateway [ARGS]   earshot-<role> (a service)
#   migrate [ARGS]                                   earshot migrate (one-shot)
#   earshot [ARGS]                                   the admin CLI (dlq, business, admin, ...)
#   healthcheck                                      exit 0 when the service this container
#                                                    runs answers 200 on /readyz
#   help                                             this text
set -eu

usage() {
  cat <<'USAGE'
usage: <image> sync|stt|analyze|notify|gateway [ARGS]   run a service (ARGS: --help, --check-config, ...)
       <image> migrate [--status]                        apply the schema migrations
       <image> earshot COMMAND [ARGS]                    the admin CLI (earshot --help)
       <image> healthcheck                               probe /readyz of the running service
Configuration: EARSHOT_* environment variables (each program's --help lists its keys).
USAGE
}

default_admin_port() {
  case $1 in
    sync) echo 18091 ;;
    stt) echo 18092 ;;
    analyze) echo 18093 ;;
    notify) echo 18094 ;;
    gateway) echo 18095 ;;
    *) return 1 ;;
  esac
}

# The role of the service running in this container, from the process table (a health check
# runs as a separate process that did not see the entrypoint's arguments).
running_role() {
  for f in /proc/[0-9]*/cmdline; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
    case $cmd in
      /usr/local/bin/earshot-sync*) echo sync; return 0 ;;
      /usr/local/bin/earshot-stt*) echo stt; return 0 ;;
      /usr/local/bin/earshot-analyze*) echo analyze; return 0 ;;
      /usr/local/bin/earshot-notify*) echo notify; return 0 ;;
      /usr/local/bin/earshot-gateway*) echo gateway; return 0 ;;
    esac
  done
  return 1
}

healthcheck() {
  role=$(running_role) || { echo "healthcheck: no Earshot service runs in this container" >&2; exit 1; }
  port=${EARSHOT_ADMIN_PORT:-$(default_admin_port "$role")}
  exec curl -fsS -o /dev/null -m 4 "http://127.0.0.1:$port/readyz"
}

role=${1:-help}
[ $# -gt 0 ] && shift
case $role in
  sync | stt | analyze | notify | gateway) exec "/usr/local/bin/earshot-$role" "$@" ;;
  earshot-sync | earshot-stt | earshot-analyze | earshot-notify | earshot-gateway) exec "/usr/local/bin/$role" "$@" ;;
  migrate) exec /usr/local/bin/earshot migrate "$@" ;;
  earshot | cli) exec /usr/local/bin/earshot "$@" ;;
  healthcheck) healthcheck ;;
  help | -h | --help) usage ;;
  *)
    echo "earshot-entrypoint: unknown role '$role'" >&2
    usage >&2
    exit 2
    ;;
esac
