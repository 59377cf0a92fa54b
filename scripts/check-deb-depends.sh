#!/usr/bin/env bash
# Fails when a Depends entry of a .deb names a package that the Debian distribution of
# this system (its apt lists) does not have for the .deb's architecture: absent, purely
# virtual (trixie's libssl3 is only provided by libssl3t64: a hand-written bookworm name
# resolves there by luck, not by design), or too old for the entry's version bound.
# Every alternative of an entry ("a | b") must exist. scripts/package.sh runs it inside
# the target distribution's root after each build; scripts/test-platforms.sh checks that
# it fails for a package with a made-up and a virtual dependency.
#   scripts/check-deb-depends.sh FILE.deb
set -euo pipefail
deb="$1"
arch="$(dpkg-deb -f "$deb" Architecture)"
depends="$(dpkg-deb -f "$deb" Depends)"
[[ -n "$depends" ]] || { echo "$deb: no Depends" >&2; exit 1; }
suite="$(. /etc/os-release && echo "$VERSION_CODENAME")"
bad=0
IFS=',' read -ra entries <<<"$depends"
for entry in "${entries[@]}"; do
  IFS='|' read -ra alternatives <<<"$entry"
  for alt in "${alternatives[@]}"; do
    alt="$(sed -E 's/^ +//; s/ +$//' <<<"$alt")"
    # "libssl3t64 (>= 3.0.0)" -> name, operator, version
    read -r name op version <<<"$(echo "$alt" | sed -E 's/^ *([^ (]+) *(\(([<>=]+) *([^)]+)\))?.*$/\1 \3 \4/')"
    name="${name%%:*}"
    # apt-cache show fails for absent and for purely virtual names.
    if ! fields="$(apt-cache show --no-all-versions "$name" 2>/dev/null)" || [[ -z "$fields" ]]; then
      echo "$suite/$arch: Depends names '$name', which is no real package in $suite (absent, or only virtual: provided by another)" >&2
      bad=1
      continue
    fi
    pkg_arch="$(sed -n 's/^Architecture: //p' <<<"$fields" | head -1)"
    if [[ "$pkg_arch" != all && "$pkg_arch" != "$arch" ]]; then
      # Listed for the native architecture only: ask for the .deb's one.
      if ! fields="$(apt-cache show --no-all-versions "$name:$arch" 2>/dev/null)" || [[ -z "$fields" ]]; then
        echo "$suite/$arch: Depends names '$name', which $suite has not for $arch" >&2
        bad=1
        continue
      fi
    fi
    candidate="$(sed -n 's/^Version: //p' <<<"$fields" | head -1)"
    if [[ -n "$op" ]]; then
      case "$op" in ">=") rel=ge ;; "<=") rel=le ;; ">>") rel=gt ;; "<<") rel=lt ;; "=") rel=eq ;; *) rel="" ;; esac
      if [[ -z "$rel" ]] || ! dpkg --compare-versions "$candidate" "$rel" "$version"; then
        echo "$suite/$arch: Depends '$alt': $suite has $name $candidate" >&2
        bad=1
        continue
      fi
    fi
    echo "  ok: $alt ($suite has $name $candidate)"
  done
done
exit "$bad"
