#!/usr/bin/env bash
# Builds the acme-dnsd .deb for each Debian distribution and architecture into one folder
# and prints their names, sizes and Depends:
#   scripts/package.sh [--out DIR] [SUITE-ARCH ...]
#     SUITE-ARCH: bookworm-amd64 bookworm-arm64 trixie-amd64 trixie-arm64 (default: all)
#     DIR: build-platforms/packages (default)
# Each distribution builds in its own debootstrap root (cached under build-platforms/roots,
# scripts/platforms-lib.sh), so the compiler, the libraries and the Depends computed by
# dpkg-shlibdeps are that distribution's. arm64 is cross-built there with Debian's cross
# toolchain (crossbuild-essential-arm64), arm64 multiarch -dev libraries and
# cmake/toolchain-aarch64-linux-gnu.cmake. After each build, scripts/check-deb-depends.sh
# checks in the same root that every Depends entry exists in that distribution.
# Needs root (or sudo -n) for debootstrap and systemd-nspawn; the first run downloads the
# roots and their packages (~25 min), later runs only build.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/platforms-lib.sh
. scripts/platforms-lib.sh

out="$PLAT/packages"
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out="$(realpath -m "$2")"; shift 2 ;;
    bookworm-amd64 | bookworm-arm64 | trixie-amd64 | trixie-arm64) targets+=("$1"); shift ;;
    *) echo "usage: scripts/package.sh [--out DIR] [bookworm-amd64|bookworm-arm64|trixie-amd64|trixie-arm64 ...]" >&2; exit 2 ;;
  esac
done
[[ ${#targets[@]} -eq 0 ]] && targets=(bookworm-amd64 bookworm-arm64 trixie-amd64 trixie-arm64)
case "$out" in "$SRC"/*) ;; *) echo "--out must be inside $SRC (bind-mounted into the roots)" >&2; exit 2 ;; esac

bash scripts/install-deps.sh --platforms
mkdir -p "$out" "$PLAT/logs"
times="$out/build-times.txt"
: >"$times"  # this run's times (an up-to-date build takes seconds)

for target in "${targets[@]}"; do
  suite="${target%-*}" arch="${target#*-}"
  dir="$(build_dir "$suite" "$arch")"
  ensure_root "$target"
  echo "== $target: configure in the $suite root"
  configure "$suite" "$arch"
  echo "== $target: build acme-dnsd (log $PLAT/logs/build-$target.log)"
  start=$SECONDS
  if ! in_root "$target" nice -n 10 ninja -C "$dir" -j2 acme-dnsd >"$PLAT/logs/build-$target.log" 2>&1; then
    tail -40 "$PLAT/logs/build-$target.log"
    exit 1
  fi
  took=$((SECONDS - start))
  echo "$target: acme-dnsd built in ${took}s" | tee -a "$times"
  in_root "$target" file -b "$dir/src/app/acme-dnsd"
  rm -rf "$dir/cpack"
  # dpkg-shlibdeps looks the libraries up for the package's architecture.
  in_root "$target" env DEB_HOST_ARCH="$arch" cpack -G DEB -B "$dir/cpack" \
    --config "$dir/CPackConfig.cmake" >"$PLAT/logs/cpack-$target.log" 2>&1 ||
    { cat "$PLAT/logs/cpack-$target.log"; exit 1; }
  debs=("$dir"/cpack/*.deb)
  [[ ${#debs[@]} -eq 1 && -f "${debs[0]}" ]] || { echo "cpack made ${debs[*]}" >&2; exit 1; }
  deb="$out/$(basename "${debs[0]}")"
  cp "${debs[0]}" "$deb"
  [[ "$(dpkg-deb -f "$deb" Architecture)" == "$arch" ]] || { echo "$deb is not $arch" >&2; exit 1; }
  # CPack leaves out the library Depends (with a warning only) when dpkg-shlibdeps fails.
  dpkg-deb -f "$deb" Depends | grep -q 'libc6 (>=' ||
    { echo "$deb: no libc6 in Depends: dpkg-shlibdeps did not run" >&2; cat "$PLAT/logs/cpack-$target.log"; exit 1; }
  echo "== $target: every Depends entry exists in $suite for $arch"
  in_root "$target" bash scripts/check-deb-depends.sh "$deb"
done

echo
echo "== packages in $out"
for target in "${targets[@]}"; do
  suite="${target%-*}" arch="${target#*-}"
  for deb in "$out"/acme-dnsd_*"$(deb_release "$target")"_"$arch".deb; do
    printf '%s  %s bytes (installed %s KiB)\n  Depends: %s\n' "$(basename "$deb")" \
      "$(stat -c %s "$deb")" "$(dpkg-deb -f "$deb" Installed-Size)" "$(dpkg-deb -f "$deb" Depends)"
  done
done
