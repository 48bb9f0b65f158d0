#!/usr/bin/env bash
# The alert rules: promtool validates infra/prometheus/alerts.yml and runs its unit tests
# (infra/prometheus/alerts_test.yml: each alert fires on its input series and stays quiet on
# the others). Registered in ctest as prometheus_rules (label infra).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
command -v promtool >/dev/null || { echo "promtool not found (apt-get install prometheus)" >&2; exit 1; }
promtool check rules "$root/infra/prometheus/alerts.yml"
promtool test rules "$root/infra/prometheus/alerts_test.yml"
