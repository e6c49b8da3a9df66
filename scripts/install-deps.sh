#!/usr/bin/env bash
# Installs the Debian packages (and npm packages for JavaScript test clients) that
# Fjord needs to build, run and test. Idempotent: installs only what is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config clang libclang-rt-14-dev
  libboost1.81-dev libfmt-dev libcli11-dev libssl-dev
  zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev
  libgtest-dev libgmock-dev libbenchmark-dev librdkafka-dev
  python3 python3-pytest kcat python3-confluent-kafka python3-kafka
  python3-lz4 python3-snappy python3-zstandard
  nodejs iperf3 fio
)

missing=()
command -v npm >/dev/null || missing+=(npm)
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# KafkaJS for the JavaScript client tests (pinned in tests/integration/package.json).
if [ -f tests/integration/package.json ] && [ ! -d tests/integration/node_modules/kafkajs ]; then
  echo "install-deps: npm install (tests/integration)"
  (cd tests/integration && npm install --no-audit --no-fund --silent)
fi
