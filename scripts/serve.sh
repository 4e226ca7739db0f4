#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Installs what is missing, builds hash_server and serves on PORT (default 8080).
# Extra arguments go to hash_server: scripts/serve.sh --protocol lines
set -euo pipefail
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
cmake --preset release -DHASHSRV_BUILD_TESTS=OFF -DHASHSRV_BUILD_BENCH=OFF >/dev/null
cmake --build --preset release --target hash_server
exec build/release/hash_server "$@" "${PORT:-8080}"
