#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# --version and -V on every tool: one line, `name version (commit C)`, the
# version CMake's project() declares, exit 0, nothing on stderr.
set -euo pipefail
source "$(cd "$(dirname "$0")/../ops" && pwd)/lib.sh"
: "${HASH_SERVER:?}" "${HASH_CLIENT:?}" "${PROJECT_VERSION:?}"

tools=("hash_server:$HASH_SERVER" "hash_client:$HASH_CLIENT")
[ -n "${HASH_BENCH:-}" ] && tools+=("hash_bench:$HASH_BENCH")
for entry in "${tools[@]}"; do
  name=${entry%%:*} path=${entry#*:}
  for flag in --version -V; do
    out=$("$path" "$flag" 2>"/tmp/version_test.err.$$") || fail "$name $flag: exit status $?"
    [ ! -s "/tmp/version_test.err.$$" ] || fail "$name $flag wrote to stderr: $(cat "/tmp/version_test.err.$$")"
    [[ "$out" =~ ^$name\ ${PROJECT_VERSION//./\\.}\ \(commit\ [0-9a-zA-Z._-]+\)$ ]] ||
      fail "$name $flag printed '$out'"
  done
  note "$out"
done
rm -f "/tmp/version_test.err.$$"
note "PASS: --version and -V on ${#tools[@]} tools"
