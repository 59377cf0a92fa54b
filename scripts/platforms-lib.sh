# shellcheck shell=bash
# Sourced by scripts/package.sh and scripts/test-platforms.sh: the Debian build roots.
# Each distribution (bookworm, trixie) gets a debootstrap minbase root, cached under
# build-platforms/roots/SUITE (gitignored), in which its amd64 build and its arm64 cross
# build run (arm64 -dev libraries via `dpkg --add-architecture arm64`): the host only
# gets debootstrap, systemd-container and qemu-user-static. Commands run in a root with
# systemd-nspawn, the worktree bind-mounted at the same path, so build folders and
# paths in CTest files read the same inside and out.
# The Debian mirror is the one of the host's apt sources (no host name is written here).

SRC="$(pwd)"
PLAT="$SRC/build-platforms"
ROOTS="$PLAT/roots"

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo -n "$@"; fi; }

# The URI of the host's Debian archive: the deb source whose suite is the host's own
# codename (not -security/-updates); any Debian suite is then fetched from it.
apt_mirror() {
  local codename uri
  codename="$(. /etc/os-release && echo "$VERSION_CODENAME")"
  uri="$(python3 - "$codename" <<'PY'
import glob, re, sys
codename = sys.argv[1]
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for stanza in re.split(r"\n\s*\n", open(path).read()):
        f = {}
        for line in stanza.splitlines():
            if line and not line.startswith(("#", " ", "\t")) and ":" in line:
                k, v = line.split(":", 1)
                f[k.strip().lower()] = v.strip()
        if f.get("enabled", "yes").lower() != "no" and "deb" in f.get("types", "").split() \
                and codename in f.get("suites", "").split():
            print(f["uris"].split()[0]); sys.exit(0)
for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        w = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
        if len(w) >= 3 and w[0] == "deb" and w[2] == codename:
            print(w[1]); sys.exit(0)
sys.exit(1)
PY
)" || { echo "no Debian archive for suite $codename in the host's apt sources" >&2; return 2; }
  echo "${uri%/}"
}

# ensure_root SUITE-ARCH: the cached build root of one target: a copy of SUITE's
# debootstrap minbase root (itself cached as roots/base-SUITE). One root per target
# because some -dev packages cannot be installed for two architectures at once (trixie's
# libcatch2-dev is not Multi-Arch: same).
ensure_root() {
  local target="$1" suite="${1%-*}" root="$ROOTS/$1" base="$ROOTS/base-${1%-*}"
  [[ -e "$root/.acmednsd-root-ready" ]] && return 0
  mkdir -p "$ROOTS" "$PLAT/logs"
  if [[ ! -e "$base/.acmednsd-root-ready" ]]; then
    local mirror partial="$base.partial-$$" start=$SECONDS
    mirror="$(apt_mirror)"
    if [[ -e "$base" ]]; then as_root rm -rf --one-file-system "$base"; fi
    echo "== debootstrap $suite from $mirror into $base" >&2
    if ! as_root nice -n 10 debootstrap --variant=minbase "$suite" "$partial" "$mirror" \
        >"$PLAT/logs/debootstrap-$suite.log" 2>&1; then
      tail -20 "$PLAT/logs/debootstrap-$suite.log" >&2
      as_root rm -rf --one-file-system "$partial"
      return 1
    fi
    as_root touch "$partial/.acmednsd-root-ready"
    as_root mv -T "$partial" "$base"
    echo "== debootstrap $suite: $((SECONDS - start))s" >&2
  fi
  if [[ -e "$root" ]]; then as_root rm -rf --one-file-system "$root"; fi
  as_root cp -a --reflink=auto "$base" "$root.partial-$$"
  as_root mv -T "$root.partial-$$" "$root"
}

# in_root SUITE-ARCH CMD...: CMD in the target's root, in the worktree, with the host's
# network.
in_root() {
  local target="$1"
  shift
  as_root systemd-nspawn -q -D "$ROOTS/$target" --register=no --keep-unit --console=pipe \
    --bind="$SRC" --chdir="$SRC" --setenv=DEBIAN_FRONTEND=noninteractive \
    --setenv=LANG=C.UTF-8 --setenv=HOME=/root "$@" \
    2> >(grep --line-buffered -v '^Attempted to remove disk file system under "/run/systemd/nspawn/propagate/' >&2)
  # (systemd 252's nspawn prints that line on every exit when /run is not a tmpfs it
  # owns; it is noise, the command's own stderr passes.)
}

# The Debian revision of packages built for SUITE-ARCH: 1+deb12, 1+deb13.
# shellcheck disable=SC1090,SC1091
deb_release() { echo "1+deb$(. "$ROOTS/$1/usr/lib/os-release" && echo "$VERSION_ID")"; }

build_dir() { echo "$PLAT/build/$1-$2"; }

# configure SUITE ARCH: the build folder of SUITE-ARCH (tests included, -Werror).
configure() {
  local suite="$1" arch="$2" args=()
  [[ "$arch" == arm64 ]] && args+=(-DCMAKE_TOOLCHAIN_FILE="$SRC/cmake/toolchain-aarch64-linux-gnu.cmake")
  in_root "$suite-$arch" bash scripts/install-deps.sh --package "$arch"
  in_root "$suite-$arch" cmake -S . -B "$(build_dir "$suite" "$arch")" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DACMEDNSD_WERROR=ON \
    -DACMEDNSD_DEB_RELEASE="$(deb_release "$suite-$arch")" "${args[@]}" >/dev/null
}
