#!/usr/bin/env bash
# Installs build and test dependencies from Debian's archive, by the package names of
# this machine's distribution (/etc/os-release: bookworm or trixie).
#   scripts/install-deps.sh                  build + test packages
#   scripts/install-deps.sh --build-only     what building the project (and its tests) needs
#   scripts/install-deps.sh --package ARCH   what scripts/package.sh needs to build the .deb
#                                            for ARCH (amd64, or arm64 cross-built with
#                                            Debian's cross toolchain and multiarch -dev
#                                            libraries; ARCH's unit tests included)
#   scripts/install-deps.sh --platforms      host tools of `scripts/test.sh --platforms`
#   scripts/install-deps.sh --smoke          tests/ops/test_binary_smoke.py's tools
# Idempotent: when every package is already present it returns in well under a second.
set -euo pipefail

# shellcheck disable=SC1091
. /etc/os-release
case "${VERSION_CODENAME:-}" in
  # bookworm's libboost-dev is 1.74; 1.81 is the versioned package. Catch2 2.
  bookworm) BOOST_DEV=libboost1.81-dev CATCH2_DEV=catch2 ;;
  # trixie's default Boost is 1.83; Catch2 3 is libcatch2-dev (catch2 is a transitional
  # package), a compiled library: for arm64 tests its arm64 build, which replaces the
  # amd64 one (not Multi-Arch: same).
  trixie) BOOST_DEV=libboost-dev CATCH2_DEV=libcatch2-dev ;;
  *)
    echo "install-deps: Debian bookworm or trixie expected, /etc/os-release says '${VERSION_CODENAME:-?}'" >&2
    exit 2
    ;;
esac

# Libraries the binary links or compiles against: per architecture when cross-building.
LIB_DEV=(libldns-dev "$BOOST_DEV" libsqlite3-dev libpq-dev libtomlplusplus-dev libssl-dev libcrypt-dev)
# dpkg-dev (dpkg-shlibdeps) and file: CPack computes the .deb's Depends with them.
BUILD_PKGS=(
  cmake ninja-build g++ pkg-config dpkg-dev file
  "${LIB_DEV[@]}" nlohmann-json3-dev "$CATCH2_DEV" clang-format clang-tidy
)
TEST_PKGS=(
  sqlite3 curl openssl python3 procps iproute2
  bind9-dnsutils knot-dnsutils dnsperf
  unbound nsd knot bind9 pebble lego certbot
  # DNSSEC tests: dnssec-keygen/-signzone/-dsfromkey sign the e2e parent zone; keymgr
  # (in knot) gives a signing Knot's DS; delv is in bind9-dnsutils.
  bind9-utils
  systemd python3-yaml
  postgresql
  debootstrap systemd-container
)

SUDO=""
if [[ "$(id -u)" != 0 ]]; then SUDO="sudo"; fi
mode="${1:-}"
case "$mode" in
  "") want=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}") ;;
  --build-only) want=("${BUILD_PKGS[@]}") ;;
  --package)
    arch="${2:?--package needs an architecture: amd64 or arm64}"
    want=(cmake ninja-build pkg-config dpkg-dev file nlohmann-json3-dev python3)
    if [[ "$arch" == "$(dpkg --print-architecture)" ]]; then
      want+=(g++ "${LIB_DEV[@]}" "$CATCH2_DEV")
    elif [[ "$arch" == arm64 ]]; then
      if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        $SUDO dpkg --add-architecture arm64
        $SUDO apt-get update -qq
      fi
      want+=(crossbuild-essential-arm64 "${LIB_DEV[@]/%/:arm64}")
      # bookworm's catch2 (v2, headers only) is Multi-Arch: foreign.
      if [[ "$CATCH2_DEV" == catch2 ]]; then want+=(catch2); else want+=("$CATCH2_DEV:arm64"); fi
    else
      echo "install-deps: --package $arch: only amd64 and arm64 are built" >&2
      exit 2
    fi
    ;;
  # qemu-user-static registers aarch64 with binfmt_misc (scripts/qemu-binfmt.sh when no
  # systemd-binfmt runs), so arm64 test binaries run on an amd64 host.
  --platforms) want=(debootstrap systemd-container qemu-user-static dpkg-dev python3) ;;
  # tests/ops/test_binary_smoke.py in a build root (scripts/test-platforms.sh).
  --smoke) want=(python3 bind9-dnsutils dnsperf) ;;
  *)
    echo "install-deps: unknown option $mode" >&2
    exit 2
    ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Pebble 2.10 (ARI, profiles, dns-account-01, dns-persist-01) from Debian unstable into
# tools/pebble/, beside bookworm's 2.4; see that script. Only for the tests.
# Only in the default (full test) mode: the other modes run where the script is alone
# (the container build copies just this file) and need no test CA.
install_pebble_unstable() {
  if [[ -z "${1:-}" ]]; then
    bash "$(dirname "$0")/install-pebble-unstable.sh"
  fi
}
if [[ ${#missing[@]} -eq 0 ]]; then
  install_pebble_unstable "${1:-}"
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Daemons from the test peers (unbound, nsd, knot, bind9) must not start system-wide
# instances on port 53: tests start their own on free loopback ports.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_pebble_unstable "${1:-}"
