#!/usr/bin/env bash
# Runs every libFuzzer target for a fixed time (default 60 s each) under ASan+UBSan,
# starting from the seed corpus, and prints executions and findings per target.
#   fuzz/run.sh [SECONDS]
# New inputs go to build-fuzz/corpus-<target>/ (the repo's corpus is not modified);
# crashes are written as build-fuzz/crash-<target>-*.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
command -v clang++ >/dev/null || { echo "fuzz/run.sh needs clang (apt-get install clang)"; exit 2; }
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DACMEDNSD_FUZZ=ON -DACMEDNSD_SANITIZE=ON -DACMEDNSD_TESTS=OFF >/dev/null
targets=(dns_packet_fuzzer config_fuzzer import_fuzzer acme_response_fuzzer http_body_fuzzer)
ninja -C build-fuzz "${targets[@]}"
declare -A corpus=([dns_packet_fuzzer]=fuzz/corpus/dns [config_fuzzer]=fuzz/corpus/config
  [import_fuzzer]=fuzz/corpus/import [acme_response_fuzzer]=fuzz/corpus/acme [http_body_fuzzer]=fuzz/http_corpus)
status=0
for t in "${targets[@]}"; do
  work="build-fuzz/corpus-$t"
  mkdir -p "$work"
  cp -n "${corpus[$t]}"/* "$work"/ 2>/dev/null || true
  log="build-fuzz/$t.log"
  if build-fuzz/fuzz/"$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
      -artifact_prefix="build-fuzz/crash-$t-" "$work" >"$log" 2>&1; then result=ok; else result=FAILED; status=1; fi
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
  [[ -z "$execs" ]] && execs="$(grep -Eo '#[0-9]+' "$log" | tail -1 | tr -d '#')"
  echo "$t: $result, ${execs:-?} executions in ${seconds}s, corpus $(ls "$work" | wc -l) inputs"
done
exit $status
