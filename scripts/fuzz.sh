#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Builds the libFuzzer targets (CMake preset `fuzz`: clang-14 with
# -fsanitize=fuzzer,address,undefined, in build/fuzz) and runs each one for a
# bounded time, failing on any crash, leak, sanitizer report or timeout.
#
#   scripts/fuzz.sh                      # every target, 60 s each (CI)
#   FUZZ_SECONDS=3600 scripts/fuzz.sh lines   # one target, an hour
#
# New inputs are kept in build/fuzz/corpus/<target> (the seeds in
# tests/fuzz/corpus/<target> are only read); a crashing input is written to
# tests/fuzz/artifacts/ (git-ignored) and can be replayed with
#   build/fuzz/tests/fuzz/fuzz_<target> tests/fuzz/artifacts/<file>
set -euo pipefail
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(lines stream options proxy)

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

declare -A max_len=([lines]=8192 [stream]=1024 [options]=1024 [proxy]=2048)
mkdir -p tests/fuzz/artifacts
failed=()
for t in "${targets[@]}"; do
  bin=build/fuzz/tests/fuzz/fuzz_$t
  [ -x "$bin" ] || { echo "fuzz.sh: no target '$t' (targets: lines stream options proxy)" >&2; exit 2; }
  corpus=build/fuzz/corpus/$t
  mkdir -p "$corpus"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="${max_len[$t]:-4096}"
        -print_final_stats=1 -artifact_prefix="tests/fuzz/artifacts/$t-")
  [ -f "tests/fuzz/$t.dict" ] && args+=(-dict="tests/fuzz/$t.dict")
  echo "=== fuzz $t for ${seconds}s ($(date -u +%H:%M:%S))"
  log=build/fuzz/fuzz_$t.log
  if "$bin" "${args[@]}" "$corpus" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    { grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || true; } | sed "s/^/  $t /"
    { grep -E '^#[0-9]+ +DONE' "$log" || true; } | tail -1 | sed "s/^/  $t /"
  else
    echo "fuzz.sh: fuzz_$t FAILED; its log:" >&2
    tail -60 "$log" >&2
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: crashes in: ${failed[*]} (inputs in tests/fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz.sh: no crash in ${targets[*]} (${seconds}s each)"
