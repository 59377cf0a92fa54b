#!/usr/bin/env bash
# Fails when a C++ file differs from .clang-format (CI runs this).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || bash scripts/install-deps.sh --build-only
mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
[[ ${#files[@]} -eq 0 ]] && exit 0
clang-format --dry-run -Werror "${files[@]}"
echo "format: ${#files[@]} files clean"
