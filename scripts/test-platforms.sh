#!/usr/bin/env bash
# `scripts/test.sh --platforms`: the distributions and architectures beyond CI's bookworm
# amd64, each in its debootstrap root (scripts/platforms-lib.sh):
#   1. scripts/package.sh: the four .debs (bookworm, trixie x amd64, arm64), each with its
#      Depends checked against its distribution (scripts/check-deb-depends.sh);
#   2. that check fails for a .deb naming a made-up package, a purely virtual one (trixie's
#      libssl3) and a version the distribution does not have;
#   3. trixie amd64: the whole build (tests, -Werror, GCC 14) and the unit, integration
#      and e2e suites in the trixie root (the package install test runs in step 6);
#   4. bookworm and trixie arm64 (cross-built): the unit tests, run under qemu-user through
#      binfmt_misc;
#   5. both arm64 binaries under qemu: tests/ops/test_binary_smoke.py (/register, /update,
#      DNS over UDP and TCP), and dnsperf against the trixie one for the record;
#   6. tests/ops/test_package_install.py with the trixie amd64 .deb: a clean trixie
#      root booted with systemd-nspawn, the unit started, /register, /update, dig, reload,
#      stop.
# Prints a summary with the times; logs under build-platforms/logs.
# Runs for about an hour on 2 cores the first time (roots, packages, four builds).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/platforms-lib.sh
. scripts/platforms-lib.sh

summary=()
note() {
  summary+=("$*")
  echo "== $*"
}
logs="$PLAT/logs"
mkdir -p "$logs"
bash scripts/install-deps.sh --platforms
bash scripts/qemu-binfmt.sh

# ---- 1. packages ----
start=$SECONDS
bash scripts/package.sh | tee "$logs/package.log"
note "package.sh: 4 packages in $((SECONDS - start))s"
pkgs="$PLAT/packages"
trixie_deb="$(ls "$pkgs"/acme-dnsd_*+deb13_amd64.deb)"

# ---- 2. the Depends check rejects what a distribution lacks ----
bad="$PLAT/depends-check"
rm -rf "$bad"
mkdir -p "$bad"
for extra in "libacmednsd-does-not-exist0" "libssl3 (>= 3.0.0)" "libc6 (>= 99)"; do
  as_root rm -rf "$bad/pkg"
  dpkg-deb -R "$trixie_deb" "$bad/pkg"
  sed -i "s/^Depends: .*/&, $extra/" "$bad/pkg/DEBIAN/control"
  dpkg-deb -b "$bad/pkg" "$bad/doctored.deb" >/dev/null
  if in_root trixie-amd64 bash scripts/check-deb-depends.sh "$bad/doctored.deb" >"$logs/depends-neg.log" 2>&1; then
    cat "$logs/depends-neg.log"
    echo "FAIL: check-deb-depends.sh accepted Depends '..., $extra' on trixie" >&2
    exit 1
  fi
  note "check-deb-depends.sh rejects '$extra' on trixie: $(grep -v '^  ok' "$logs/depends-neg.log" | tail -1)"
done

# ---- 3. trixie amd64: the suite ----
dir="$(build_dir trixie amd64)"
in_root trixie-amd64 bash scripts/install-deps.sh
start=$SECONDS
in_root trixie-amd64 nice -n 10 ninja -C "$dir" -j2 >"$logs/build-trixie-amd64-all.log" 2>&1 ||
  { tail -60 "$logs/build-trixie-amd64-all.log"; exit 1; }
note "trixie amd64: whole build with tests (-Werror) in $((SECONDS - start))s"
for labels in unit integration e2e; do
  start=$SECONDS
  # The install test boots a root with systemd-nspawn: from the host (step 6), not nested.
  # The root's cgroup file system is read-only: the tests that make a CPU cgroup of
  # their own run on the host (scripts/test.sh), not here.
  if in_root trixie-amd64 env ACMEDNSD_CGROUPS_READ_ONLY=1 ctest --test-dir "$dir" --output-on-failure -L "^$labels\$" \
      -E 'ops_package_install' -j 1 --timeout 900 >"$logs/ctest-trixie-amd64-$labels.log" 2>&1; then
    result=passed
  else
    result=FAILED
  fi
  note "trixie amd64 $labels: $result in $((SECONDS - start))s: $(grep -E 'tests passed' "$logs/ctest-trixie-amd64-$labels.log" || tail -1 "$logs/ctest-trixie-amd64-$labels.log")"
  [[ $result == passed ]] || { grep -E '^\s+[0-9]+ - ' "$logs/ctest-trixie-amd64-$labels.log" || true; failed=1; }
done

# ---- 4. arm64 (both distributions): unit tests under qemu ----
for suite in trixie bookworm; do
  dir="$(build_dir "$suite" arm64)"
  start=$SECONDS
  in_root "$suite-arm64" nice -n 10 ninja -C "$dir" -j2 >"$logs/build-$suite-arm64-all.log" 2>&1 ||
    { tail -60 "$logs/build-$suite-arm64-all.log"; exit 1; }
  note "$suite arm64: whole cross build with tests (-Werror) in $((SECONDS - start))s"
  start=$SECONDS
  if in_root "$suite-arm64" ctest --test-dir "$dir" --output-on-failure -L '^unit$' -j 1 --timeout 900 \
      >"$logs/ctest-$suite-arm64-unit.log" 2>&1; then result=passed; else result=FAILED; failed=1; fi
  note "$suite arm64 unit tests under qemu: $result in $((SECONDS - start))s: $(grep -E 'tests passed' "$logs/ctest-$suite-arm64-unit.log" || tail -1 "$logs/ctest-$suite-arm64-unit.log")"
done

# ---- 5. arm64 binaries serve under qemu ----
for suite in bookworm trixie; do
  in_root "$suite-arm64" bash scripts/install-deps.sh --smoke
  perf=()
  [[ $suite == trixie ]] && perf=(ACMEDNSD_DNSPERF_SECONDS=10)
  if in_root "$suite-arm64" env ACMEDNSD_BIN="$(build_dir "$suite" arm64)/src/app/acme-dnsd" \
      ACMEDNSD_EXPECT_MACHINE=aarch64 ACMEDNSD_SOURCE_DIR="$SRC" PYTHONPATH="$SRC/tests/lib" \
      PYTHONDONTWRITEBYTECODE=1 "${perf[@]}" python3 -u tests/ops/test_binary_smoke.py \
      >"$logs/smoke-$suite-arm64.log" 2>&1; then result=passed; else result=FAILED; failed=1; fi
  note "$suite arm64 binary under qemu: $result: $(grep -E '^(dnsperf|[0-9]+ passed)' "$logs/smoke-$suite-arm64.log" | tr '\n' ' ')"
done

# ---- 6. the trixie .deb installed and run by systemd ----
start=$SECONDS
if ACMEDNSD_PACKAGE_SUITE=trixie ACMEDNSD_DEB="$trixie_deb" ACMEDNSD_BUILD_DIR="$PLAT" \
    ACMEDNSD_SOURCE_DIR="$SRC" PYTHONPATH="$SRC/tests/lib" PYTHONDONTWRITEBYTECODE=1 \
    python3 -u tests/ops/test_package_install.py >"$logs/package-install-trixie.log" 2>&1; then
  result=passed
else
  result=FAILED
  failed=1
fi
note "trixie .deb install test: $result in $((SECONDS - start))s: $(tail -1 "$logs/package-install-trixie.log")"

echo
echo "==== platforms summary"
printf '%s\n' "${summary[@]}"
grep -E '^(acme-dnsd_| +Depends)' "$logs/package.log" || true
exit "${failed:-0}"
