#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Socket activation as systemd does it, through systemd-socket-activate: the
# tool binds, waits for the first client, then starts hash_server with the
# sockets at descriptors 3 and up. The tutorial's vectors must come back on
# the passed port (the port argument is ignored); with a second socket named
# `metrics`, /metrics and /healthz are served on it, without --metrics-port.
# A passed socket that is not a listening TCP socket is exit 1, named.
set -euo pipefail
here=$(cd "$(dirname "$0")/../ops" && pwd)
source "$here/lib.sh"
: "${HASH_SERVER:?}"
command -v systemd-socket-activate >/dev/null || fail "systemd-socket-activate not found (Debian package systemd)"
command -v curl >/dev/null || fail "curl not found"

use_test_dir socket_activation_test

ask() { printf '%s\n' "$2" | timeout 20 nc -q1 127.0.0.1 "$1"; }

for attempt in 1 2 3 4 5; do
  port=$(free_port); mport=$(free_port)
  systemd-socket-activate -l "127.0.0.1:$port" -l "127.0.0.1:$mport" --fdname=hash:metrics \
    "$HASH_SERVER" 9 >"$tmp/out" 2>"$tmp/log" &
  pids+=($!)
  wait_until 10 grep -q "Listening on 127.0.0.1:$mport" "$tmp/log" && break
  kill "${pids[-1]}" 2>/dev/null || true
done
# The first client starts the server: its request waits in the backlog meanwhile.
[ "$(ask "$port" 'hello world')" = 782e1488cd5a68b7 ] || fail "hello world on the passed port: $(cat "$tmp/log")"
[ "$(ask "$port" 'test data 123')" = daf63590896c6e23 ] || fail "test data 123 on the passed port"
grep -qx "Hash server listening on port $port" "$tmp/out" || fail "banner: $(cat "$tmp/out")"
grep -q 'socket activation: serving the passed sockets for the hash port and the metrics' "$tmp/log" ||
  fail "no socket activation line in the log: $(cat "$tmp/log")"
curl -fsS "http://127.0.0.1:$mport/metrics" | grep "^hash_server_requests_total" >/dev/null || fail "no metrics on the passed socket"
[ "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/healthz")" = 200 ] || fail "/healthz not 200"
kill -TERM "${pids[-1]}"
wait "${pids[-1]}" || fail "exit status $? after SIGTERM"
note "the tutorial vectors on the passed port $port, metrics on the passed socket $mport"

# Descriptor 3 that is not a listening TCP socket: a clear error, exit 1.
status=0
LISTEN_FDS=1 sh -c 'LISTEN_PID=$$ exec "$0" 0 3</dev/null' "$HASH_SERVER" 2>"$tmp/bad" || status=$?
[ "$status" -eq 1 ] || fail "a passed /dev/null: exit $status, want 1"
grep -q 'passed hash socket (descriptor 3) is not a listening socket' "$tmp/bad" || fail "message: $(cat "$tmp/bad")"
note "PASS: socket activation serves the passed sockets"
