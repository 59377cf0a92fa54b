#!/usr/bin/env bash
# Installs Debian unstable's Pebble (one package, one exact version) into tools/pebble/
# of this checkout, without touching the system's packages or apt state: the newer
# Pebble has renewalInfo (ARI, RFC 9773), profiles, dns-account-01 and dns-persist-01,
# which bookworm's 2.4 lacks. Its only dependency is libc6 (>= 2.34), so the binary runs
# on bookworm.
#
# apt itself fetches and verifies the package (signed Release, hashed Packages) from a
# private sources list for unstable whose mirror is the one the machine already uses;
# the lists and the cache live in a temporary folder that is removed afterwards.
# Idempotent: returns at once when that version is already unpacked.
set -euo pipefail

PACKAGE=pebble
VERSION=2.10.0+ds1-2
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/tools/pebble"
STAMP="$DEST/VERSION"

if [[ -x "$DEST/usr/bin/pebble" && -f "$STAMP" && "$(cat "$STAMP")" == "$VERSION" ]]; then
  exit 0
fi

# The Debian mirror the machine is configured with (deb822 or one-line format); the
# security archive serves no unstable suite.
mirror_from_sources() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -e "$f" ]] || continue
    awk 'tolower($1)=="uris:" { for (i = 2; i <= NF; i++) print $i }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -e "$f" ]] || continue
    awk '$1=="deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z+]+:\/\//) { print $i; break } }' "$f"
  done
}
MIRROR="$(mirror_from_sources | grep -v -- '-security' | grep -E '/debian/?$' | head -n 1 || true)"
if [[ -z "$MIRROR" ]]; then
  echo "install-pebble-unstable: no Debian mirror found in /etc/apt/sources.list*" >&2
  exit 1
fi
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

WORK="$(mktemp -d /tmp/pebble-unstable.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/lists/partial" "$WORK/cache/archives/partial" "$WORK/parts"
echo "deb [signed-by=$KEYRING] ${MIRROR%/} unstable main" >"$WORK/unstable.list"
: >"$WORK/status"
APT_OPTS=(
  -o "Dir::Etc::sourcelist=$WORK/unstable.list"
  -o "Dir::Etc::sourceparts=$WORK/parts"
  -o "Dir::State::Lists=$WORK/lists"
  -o "Dir::State::status=$WORK/status"
  -o "Dir::Cache=$WORK/cache"
  -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
  -o "APT::Architectures::=$(dpkg --print-architecture)"
  -o "APT::Sandbox::User=root"
  -o "Acquire::Languages=none"
  # One exact version is pinned and its hash comes from the signed Release, so the
  # Release's freshness adds nothing here; archive snapshots (this workplace's, a
  # mirror that lags) serve Release files past their Valid-Until, which apt refuses.
  -o "Acquire::Check-Valid-Until=false"
  -o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
  -o "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false"
)
echo "install-pebble-unstable: fetching $PACKAGE $VERSION from unstable" >&2
apt-get "${APT_OPTS[@]}" -qq update
(cd "$WORK" && apt-get "${APT_OPTS[@]}" -qq download "$PACKAGE=$VERSION")
DEB="$(ls "$WORK"/${PACKAGE}_*.deb)"
rm -rf "$DEST.new"
mkdir -p "$DEST.new"
dpkg-deb -x "$DEB" "$DEST.new"
echo "$VERSION" >"$DEST.new/VERSION"
"$DEST.new/usr/bin/pebble" -version >/dev/null 2>&1 || true
rm -rf "$DEST"
mv "$DEST.new" "$DEST"
echo "install-pebble-unstable: $DEST/usr/bin/pebble" >&2
