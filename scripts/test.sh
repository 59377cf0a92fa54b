#!/usr/bin/env bash
# Sets up, builds and runs every test: a release build with the whole suite (unit,
# integration, e2e with Pebble/certbot/lego/unbound/NSD), then an ASan+UBSan build with
# the unit and integration tests, and the format check. `.ci/run` calls this script.
#   scripts/test.sh            everything above
#   scripts/test.sh --tsan     additionally a ThreadSanitizer build (unit + integration)
#   scripts/test.sh --quick    release build only, unit + integration
#   scripts/test.sh --platforms  not CI: Debian trixie and arm64 (scripts/test-platforms.sh:
#                              four .debs, trixie's suite, arm64 under qemu, trixie install)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--platforms" ]]; then
  exec bash scripts/test-platforms.sh
fi
bash scripts/install-deps.sh

mode="${1:-}"
jobs="$(nproc)"
werror=OFF
[[ -n "${CI:-}" ]] && werror=ON

build_and_test() {  # dir, ctest label regex, extra cmake args...
  local dir="$1" labels="$2"
  shift 2
  echo "== build $dir ($*)"
  cmake -S . -B "$dir" -G Ninja -DACMEDNSD_WERROR="$werror" "$@" >/dev/null
  ninja -C "$dir" -j "$jobs"
  echo "== test $dir (labels: $labels)"
  (cd "$dir" && ctest --output-on-failure -L "$labels" -j 1 --timeout 900)
}

if [[ "$mode" != "--quick" ]]; then
  bash scripts/check-format.sh
fi

if [[ "$mode" == "--quick" ]]; then
  build_and_test build-release 'unit|integration' -DCMAKE_BUILD_TYPE=RelWithDebInfo
  exit 0
fi

# Sanitizers first, so a memory error is reported even when a later step fails.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  build_and_test build-asan 'unit|integration' -DCMAKE_BUILD_TYPE=Debug -DACMEDNSD_SANITIZE=ON
if [[ "$mode" == "--tsan" ]]; then
  TSAN_OPTIONS=halt_on_error=1 build_and_test build-tsan 'unit|integration' -DCMAKE_BUILD_TYPE=RelWithDebInfo -DACMEDNSD_TSAN=ON
fi
# The release build runs the whole suite last, so CI's log ends with its summary.
build_and_test build-release 'unit|integration|e2e' -DCMAKE_BUILD_TYPE=RelWithDebInfo
