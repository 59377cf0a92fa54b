#!/usr/bin/env bash
# Installs every build and test dependency from Debian's archive (bookworm).
# Idempotent: when every package is already present it returns in well under a second.
set -euo pipefail

BUILD_PKGS=(
  cmake ninja-build g++ pkg-config
  libldns-dev libboost1.81-dev libsqlite3-dev nlohmann-json3-dev
  libtomlplusplus-dev libssl-dev libcrypt-dev catch2 clang-format clang-tidy
)
TEST_PKGS=(
  sqlite3 curl openssl python3 procps iproute2
  bind9-dnsutils knot-dnsutils dnsperf
  unbound nsd knot pebble lego certbot
  systemd python3-yaml
  debootstrap systemd-container
)

want=("${BUILD_PKGS[@]}")
if [[ "${1:-}" != "--build-only" ]]; then
  want+=("${TEST_PKGS[@]}")
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Pebble 2.10 (ARI, profiles, dns-account-01, dns-persist-01) from Debian unstable into
# tools/pebble/, beside bookworm's 2.4; see that script. Only for the tests.
install_pebble_unstable() {
  if [[ "${1:-}" != "--build-only" ]]; then
    bash "$(dirname "$0")/install-pebble-unstable.sh"
  fi
}
if [[ ${#missing[@]} -eq 0 ]]; then
  install_pebble_unstable "${1:-}"
  exit 0
fi

SUDO=""
if [[ "$(id -u)" != 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Daemons from the test peers (unbound, nsd, knot) must not start system-wide
# instances on port 53: tests start their own on free loopback ports.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_pebble_unstable "${1:-}"
