#!/usr/bin/env bash
# Installs the Debian 12 packages Earshot needs to build, test and run locally.
# Idempotent: when every package is already installed it does nothing (no apt-get update),
# so a second run takes well under a second.
set -euo pipefail

PACKAGES=(
  # build (ccache: a rebuild of an unchanged file, in any clone, is a cache hit)
  build-essential cmake pkg-config ccache
  # libraries
  librabbitmq-dev libmariadb-dev libcurl4-openssl-dev nlohmann-json3-dev libspdlog-dev
  libfmt-dev prometheus-cpp-dev libhiredis-dev libsndfile1-dev libkissfft-dev libcpp-httplib-dev libssl-dev
  libsodium-dev libjwt-dev libhnswlib-dev libpoppler-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev
  zlib1g-dev libbrotli-dev libboost1.81-dev
  # offline speech engine
  libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us
  # test audio
  espeak-ng flite sox lame
  # servers
  mariadb-server mariadb-client rabbitmq-server redis-server redis-tools prometheus
  # tools
  amqp-tools curl ca-certificates shellcheck wrk clang-format clang-tidy-19
  # the libFuzzer targets (scripts/fuzz.sh): Debian's clang 19 and its runtimes (libFuzzer,
  # ASan, UBSan)
  clang-19 libclang-rt-19-dev
  # bench/pipeline's plot of queue depths and throughput (bench/pipeline/plot.gp)
  gnuplot-nox
  # deployment checks without a Docker daemon (scripts/check-infra.sh); the Kubernetes
  # manifests' test reads the rendered objects with python3-yaml
  docker-compose python3-yaml
  # the dashboard's browser tests (web/e2e, playwright-core drives it)
  chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# npm fetches pinned data assets (scripts/fetch-assets.sh) and the dashboard's packages
# (web/, below); any installed npm with a Node.js of 18 or later will do.
if ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi

# The dashboard's npm packages, exactly as web/package-lock.json pins them (npm ci), again
# only when the lockfile changed since the last install.
web_packages() {
  local root stamp want
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/web"
  [ -f "$root/package-lock.json" ] || return 0
  stamp="$root/node_modules/.earshot-lock-sha256"
  want="$(sha256sum "$root/package-lock.json" | cut -c1-64)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  echo "install-deps: npm ci in web/"
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" >"$stamp"
}

# kubectl renders the Kubernetes manifests (`kubectl kustomize`, tests/infra/
# k8s_manifests_test.py): Debian's kubernetes-client, only when no kubectl is installed, since
# a kubectl from another package conflicts with it.
if ! command -v kubectl >/dev/null 2>&1; then
  missing+=(kubernetes-client)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  web_packages
  exit 0
fi

echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# Keep package scripts from starting system services: we run our own instances.
if [ ! -x /usr/sbin/policy-rc.d ] || ! grep -q "exit 101" /usr/sbin/policy-rc.d 2>/dev/null; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confdef \
  -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
web_packages
echo "install-deps: done"
