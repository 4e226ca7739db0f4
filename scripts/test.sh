#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Installs what is missing, builds and runs the whole test suite: every stage
# below, or only those named (scripts/test.sh asan tsan). Exits non-zero on the
# first failure. The release stage runs last, so ctest's summary closes the log.
set -euo pipefail
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
cd "$(dirname "$0")/.."

all_stages=(lint fuzz asan tsan release)
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=("${all_stages[@]}")

# Every group in scripts/deps/: the tests need all of it (docker, haproxy, ...).
scripts/install-deps.sh $(cd scripts/deps && ls *.txt | sed "s/\.txt$//")

for stage in "${stages[@]}"; do
  echo "=== stage: $stage ($(date -u +%H:%M:%S))"
  case "$stage" in
    lint) scripts/lint.sh ;;
    fuzz) scripts/fuzz.sh ;; # FUZZ_SECONDS per target (default 60)
    release|asan|tsan)
      cmake --preset "$stage" -DHASHSRV_BUILD_TESTS=ON >/dev/null
      cmake --build --preset "$stage"
      ctest --preset "$stage"
      ;;
    *) echo "test.sh: unknown stage '$stage' (stages: ${all_stages[*]})" >&2; exit 2 ;;
  esac
done
