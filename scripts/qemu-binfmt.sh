#!/usr/bin/env bash
# Lets this amd64 machine run arm64 binaries: registers Debian's qemu-user-static
# interpreter for aarch64 with binfmt_misc, which systemd-binfmt does at boot on a
# machine that runs systemd (here it may not). The registration has the F flag (the
# kernel keeps the interpreter open), so arm64 programs run inside chroots and
# systemd-nspawn roots too. Idempotent.
set -euo pipefail
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo -n "$@"; fi; }
dir=/proc/sys/fs/binfmt_misc
conf=/usr/lib/binfmt.d/qemu-aarch64.conf
[[ -f "$conf" ]] || { echo "$conf missing: install qemu-user-static" >&2; exit 2; }
if [[ ! -e "$dir/register" ]]; then
  as_root mount -t binfmt_misc binfmt_misc "$dir"
fi
if [[ ! -e "$dir/qemu-aarch64" ]]; then
  grep -v '^#' "$conf" | as_root tee "$dir/register" >/dev/null
fi
grep -qx enabled "$dir/qemu-aarch64" && grep -q '^flags: .*F' "$dir/qemu-aarch64" ||
  { echo "qemu-aarch64 binfmt entry not enabled with the F flag:" >&2; cat "$dir/qemu-aarch64" >&2; exit 1; }
