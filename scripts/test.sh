#!/usr/bin/env bash
# Installs what is missing, builds and runs the whole test suite: every stage
# below, or only those named (scripts/test.sh asan tsan). Exits non-zero on the
# first failure. The release stage runs last, so ctest's summary closes the log.
set -euo pipefail
cd "$(dirname "$0")/.."

all_stages=(release)
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=("${all_stages[@]}")

scripts/install-deps.sh build test

for stage in "${stages[@]}"; do
  echo "=== stage: $stage ($(date -u +%H:%M:%S))"
  case "$stage" in
    release|asan|tsan)
      cmake --preset "$stage" -DHASHSRV_BUILD_TESTS=ON >/dev/null
      cmake --build --preset "$stage"
      ctest --preset "$stage"
      ;;
    *) echo "test.sh: unknown stage '$stage' (stages: ${all_stages[*]})" >&2; exit 2 ;;
  esac
done
