#!/usr/bin/env bash
# Sets up, builds and starts acme-dnsd with config.toml.example: DNS on 127.0.0.1:5353
# and [::1]:5353, the API on http://127.0.0.1:8053, data under ./data. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --build-only
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DACMEDNSD_TESTS=OFF >/dev/null
ninja -C build-release acme-dnsd
exec ./build-release/src/app/acme-dnsd -c config.toml.example
