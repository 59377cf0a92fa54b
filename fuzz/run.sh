#!/usr/bin/env bash
# Runs every libFuzzer target for a fixed time (default 60 s each) under ASan+UBSan,
# starting from the seed corpus, and prints per target: executions, executions/s, final
# corpus size, coverage (cov/ft of libFuzzer's last status line) and findings.
#   fuzz/run.sh [SECONDS] [TARGET...]
#   JOBS=1 fuzz/run.sh 120      build with one ninja job (shared machines)
# New inputs go to build-fuzz/corpus-<target>/ (the repo's corpus is not modified);
# findings are written as build-fuzz/findings-<target>/{crash,timeout,oom,leak}-*,
# the full libFuzzer output to build-fuzz/<target>.log. A finding in one target does
# not stop the others; the exit status is 1 if any target found something or failed.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true

cc="" cxx=""
for v in "" -14 -15 -16 -17 -18 -19; do
  if command -v "clang++$v" >/dev/null && command -v "clang$v" >/dev/null; then cc="clang$v" cxx="clang++$v"; break; fi
done
[[ -n "$cxx" ]] || { echo "fuzz/run.sh needs clang and its libFuzzer runtime (apt-get install clang libclang-rt-dev)"; exit 2; }

# The sanitizer flags are set here rather than with ACMEDNSD_SANITIZE=ON because:
# - every translation unit needs -fsanitize=fuzzer-no-link, otherwise only the target's own
#   .cpp is coverage-instrumented and libFuzzer is blind to the libraries it tests;
# - clang <= 14 cannot compile C++20 coroutines (tcp_listener.cpp, http_server.cpp) with
#   UBSan's -fsanitize=function ("error: Cannot represent a difference across sections",
#   LLVM issues 49689/54153), and a -fno-sanitize=function placed in CMAKE_CXX_FLAGS would
#   be undone by the later -fsanitize=undefined that ACMEDNSD_SANITIZE adds.
san="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize=function -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CC="$cc" CXX="$cxx" cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS="$san" -DCMAKE_CXX_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DACMEDNSD_FUZZ=ON -DACMEDNSD_SANITIZE=OFF -DACMEDNSD_TESTS=OFF >/dev/null || exit 2
all_targets=(dns_packet_fuzzer tsig_fuzzer config_fuzzer import_fuzzer acme_response_fuzzer http_body_fuzzer http_request_fuzzer)
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")
ninja -C build-fuzz -j "${JOBS:-$(nproc)}" "${targets[@]}" || exit 2
declare -A corpus=([dns_packet_fuzzer]=fuzz/corpus/dns [tsig_fuzzer]=fuzz/corpus/tsig [config_fuzzer]=fuzz/corpus/config
  [import_fuzzer]=fuzz/corpus/import [acme_response_fuzzer]=fuzz/corpus/acme [http_body_fuzzer]=fuzz/http_corpus
  [http_request_fuzzer]=fuzz/corpus/http_request)

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
printf '%-22s %-7s %10s %8s %7s %6s %6s %s\n' target result execs exec/s corpus cov ft findings
for t in "${targets[@]}"; do
  work="build-fuzz/corpus-$t"
  findings="build-fuzz/findings-$t"
  mkdir -p "$work" "$findings"
  cp -n "${corpus[$t]}"/* "$work"/ 2>/dev/null
  log="build-fuzz/$t.log"
  if build-fuzz/fuzz/"$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 -artifact_prefix="$findings/" "$work" >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
  fi
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')"
  rate="$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')"
  [[ -n "$execs" ]] || execs="$(grep -Eo '^#[0-9]+' "$log" | tail -1 | tr -d '#')"
  last="$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1)"
  cov="$(grep -Eo 'cov: [0-9]+' <<<"$last" | grep -Eo '[0-9]+')"
  ft="$(grep -Eo 'ft: [0-9]+' <<<"$last" | grep -Eo '[0-9]+')"
  found="$(ls "$findings" | sed -E 's/-.*//' | sort | uniq -c | awk '{printf "%s%s=%s", sep, $2, $1; sep=","}')"
  [[ -n "$found" ]] && status=1
  printf '%-22s %-7s %10s %8s %7s %6s %6s %s\n' "$t" "$result" "${execs:-?}" "${rate:-?}" \
    "$(ls "$work" | wc -l)" "${cov:-?}" "${ft:-?}" "${found:-none}"
done
exit $status
