#!/usr/bin/env bash
# Builds deploy/container/Dockerfile for a Debian suite (bookworm, the default, or trixie:
# --build-arg DEBIAN_SUITE) and runs the image's entrypoint as its USER, on a machine
# without a Docker engine and without registry access (only Debian's archive):
#   - the base image debian:SUITE-slim is stood in for by a debootstrap minbase root
#     imported under that name (same suite, same package archive);
#   - podman builds with --isolation chroot (no OCI runtime, no daemon);
#   - the runtime stage's filesystem is mounted and its entrypoint started in a chroot
#     as uid/gid 10053 with a test config and a volume folder, then /register, /update
#     and a DNS query are checked from the host;
#   - the image's size is printed.
# Not part of .ci/run (the image compiles the project again: ~8 min on 2 cores).
#   scripts/check-container.sh [bookworm|trixie]
set -euo pipefail
cd "$(dirname "$0")/.."
suite="${1:-bookworm}"
case "$suite" in bookworm | trixie) ;; *) echo "usage: scripts/check-container.sh [bookworm|trixie]" >&2; exit 2 ;; esac
image="localhost/acme-dnsd:check-$suite"
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo -n "$@"; fi; }
command -v podman >/dev/null && command -v debootstrap >/dev/null ||
  as_root apt-get install -y -q podman debootstrap >/dev/null
pm() { as_root podman --storage-driver vfs "$@"; }

mirror="$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | head -1)"
[[ -z "$mirror" ]] && mirror="$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -1)"
[[ -z "$mirror" ]] && { echo "no Debian mirror in the host's apt sources" >&2; exit 2; }

work="$(mktemp -d /tmp/acmednsd-container-XXXXXX)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then
    as_root kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do as_root kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  pm image unmount "$image" >/dev/null 2>&1 || true
  as_root rm -rf "$work"
}
trap cleanup EXIT

if ! pm image exists "docker.io/library/debian:$suite-slim"; then
  echo "== base image: debootstrap minbase $suite from $mirror"
  as_root debootstrap --variant=minbase "$suite" "$work/base" "$mirror" >"$work/debootstrap.log"
  as_root tar -C "$work/base" -c . | pm import - "docker.io/library/debian:$suite-slim" >/dev/null
fi
echo "== podman build (isolation chroot), DEBIAN_SUITE=$suite"
start=$SECONDS
pm build --isolation chroot --network host --pull=never -f deploy/container/Dockerfile \
  --build-arg DEBIAN_SUITE="$suite" -t "$image" . >"$work/build.log" 2>&1 ||
  { tail -40 "$work/build.log"; exit 1; }
echo "image built in $((SECONDS - start))s; runtime libraries: $(grep -xE 'lib[a-z0-9.+-]+' "$work/build.log" | sort -u | tr '\n' ' ')"
user="$(pm image inspect --format '{{.Config.User}}' "$image")"
entry="$(pm image inspect --format '{{join .Config.Entrypoint " "}}' "$image")"
echo "image user $user, entrypoint $entry"
[[ "$user" == "10053:10053" ]] || { echo "image does not run as 10053:10053" >&2; exit 1; }

root="$(pm image mount "$image")"
dns_port="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
api_port="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
mkdir -p "$work/volume"
as_root chown 10053:10053 "$work/volume"
chmod 0700 "$work/volume"
cat >"$work/config.toml" <<TOML
[general]
listen = ["127.0.0.1:$dns_port"]
domain = "auth.example.test"
nsname = "ns1.auth.example.test"
nsadmin = "admin.example.test"
records = ["auth.example.test. A 127.0.0.1"]
[database]
connection = "/var/lib/acme-dnsd/acme-dnsd.db"
[api]
ip = "127.0.0.1"
port = $api_port
tls = "none"
TOML
chmod 0644 "$work/config.toml"
echo "== run $entry as $user (chroot into the image)"
# The shell writes its PID and execs (chroot execs too): the PID is the server's.
as_root unshare -m --propagation private sh -c "
  echo \$\$ > '$work/server.pid' &&
  mount --bind '$work/config.toml' '$root/etc/acme-dnsd/config.toml' &&
  mount --bind '$work/volume' '$root/var/lib/acme-dnsd' &&
  cd / && exec chroot --userspec=$user '$root' $entry" >"$work/server.log" 2>&1 &
for _ in $(seq 1 50); do
  [[ -s "$work/server.pid" ]] && server_pid="$(cat "$work/server.pid")"
  curl -sf "http://127.0.0.1:$api_port/health" >/dev/null && break
  sleep 0.2
done
reg="$(curl -sf -X POST "http://127.0.0.1:$api_port/register")" || { cat "$work/server.log"; exit 1; }
field() { python3 -c "import json,sys;print(json.loads(sys.argv[1])[sys.argv[2]])" "$reg" "$1"; }
value="checkcontainerAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
curl -sf -X POST "http://127.0.0.1:$api_port/update" -H "X-Api-User: $(field username)" \
  -H "X-Api-Key: $(field password)" -d "{\"subdomain\": \"$(field subdomain)\", \"txt\": \"$value\"}" >/dev/null
answer="$(dig @127.0.0.1 -p "$dns_port" "$(field fulldomain)" TXT +short +tcp)"
[[ "$answer" == "\"$value\"" ]] || { echo "DNS answered '$answer'" >&2; cat "$work/server.log"; exit 1; }
owner="$(stat -c %u:%g "$work/volume/acme-dnsd.db")"
[[ "$owner" == "10053:10053" ]] || { echo "database owned by $owner" >&2; exit 1; }
size="$(pm image inspect --format '{{.Size}}' "$image")"
base_size="$(pm image inspect --format '{{.Size}}' "docker.io/library/debian:$suite-slim")"
echo "container image OK ($suite): built, runs as $user, state in the volume ($owner), API and DNS answer"
echo "image size: $size bytes ($((size / 1048576)) MiB; its base stand-in, a debootstrap minbase $suite: $((base_size / 1048576)) MiB)"
