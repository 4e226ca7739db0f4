#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# GET /healthz on the metrics port: 200 while serving; 503 from the moment a
# SIGTERM starts the drain until the server is gone, so that a load balancer
# stops sending clients before the listener closes; HEAD too; and a build_info
# metric naming the version and commit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
: "${HASH_SERVER:?}"
command -v curl >/dev/null || fail "curl not found"

use_test_dir healthz_test
code() { curl -sS -o "$tmp/body" -w '%{http_code}' "$@"; }

start_server "$tmp" server --protocol stream --metrics-port 0 --shutdown-timeout 20
pids+=("$server_pid")
url="http://127.0.0.1:$metrics_port/healthz"
[ "$(code "$url")" = 200 ] && grep -qx serving "$tmp/body" || fail "/healthz while serving: $(cat "$tmp/body")"
[ "$(code -I "$url")" = 200 ] || fail "HEAD /healthz while serving"
curl -fsS "http://127.0.0.1:$metrics_port/metrics" >"$tmp/metrics"
grep -Eq '^hash_server_build_info\{version="[0-9]+\.[0-9]+\.[0-9]+",commit="[^"]+"\} 1$' "$tmp/metrics" ||
  fail "no build_info metric: $(grep build_info "$tmp/metrics")"

# A stream upload in progress keeps the drain going while we ask.
mkfifo "$tmp/upload"
timeout 30 nc -N 127.0.0.1 "$server_port" <"$tmp/upload" >"$tmp/reply" &
pids+=($!)
exec 7>"$tmp/upload"
printf 'hello ' >&7
one_active() { curl -fsS "http://127.0.0.1:$metrics_port/metrics" | grep '^hash_server_connections_active 1$' >/dev/null; }
wait_until 10 one_active || fail "the upload never showed as active"
kill -TERM "$server_pid"
wait_until 10 grep -q 'shutting down' "$tmp/server.log" || fail "no drain in the log"
[ "$(code "$url")" = 503 ] && grep -qx draining "$tmp/body" || fail "/healthz while draining: $(cat "$tmp/body")"
printf 'world\n' >&7
exec 7>&-
wait "${pids[-1]}"
[ "$(cat "$tmp/reply")" = 782e1488cd5a68b7 ] || fail "the upload in progress got '$(cat "$tmp/reply")'"
status=0; wait "$server_pid" || status=$?
[ "$status" -eq 0 ] || fail "exit status $status after the drain"
note "PASS: /healthz 200 while serving, 503 while draining"
