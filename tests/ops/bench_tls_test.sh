#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# hash_bench --tls against real TLS servers: every protocol's requests are
# answered and checked (the bench verifies each digest), a server whose
# certificate is not from --tls-ca is refused at the handshake, and a plain
# server fails every handshake: the errors are counted, not hidden.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
: "${HASH_SERVER:?}" "${HASH_BENCH:?}"

use_test_dir hash_bench_tls
# self_signed NAME: NAME.pem and NAME.key for localhost.
self_signed() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$tmp/$1.key" -out "$tmp/$1.pem" 2>/dev/null ||
    fail "openssl req failed"
}
self_signed server
self_signed other
tls=(--tls-cert "$tmp/server.pem" --tls-key "$tmp/server.key")

# bench NAME ARGS...: hash_bench's JSON in $tmp/NAME.json; its exit status in $status.
bench() {
  local name=$1; shift
  status=0
  timeout 60 "$HASH_BENCH" --json "$@" >"$tmp/$name.json" 2>"$tmp/$name.err" || status=$?
}
field() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, d))' "$tmp/$1.json" "$2"; }

for proto in oneshot stream lines; do
  extra=()
  [ "$proto" = stream ] && extra=(--tls-min-version 1.3)
  start_server "$tmp" "$proto" --protocol "$proto" "${extra[@]}" "${tls[@]}"
  pids+=("$server_pid")
  bench "$proto" --tls --tls-ca "$tmp/server.pem" --host localhost --port "$server_port" --protocol "$proto" \
    -c 4 --requests 200 --payload 3000
  [ "$status" -eq 0 ] || fail "$proto over TLS: hash_bench exit $status: $(cat "$tmp/$proto.err" "$tmp/$proto.json")"
  [ "$(field "$proto" "small['requests']")" = 200 ] || fail "$proto over TLS: $(cat "$tmp/$proto.json")"
  [ "$(field "$proto" "small['errors']")" = 0 ] || fail "$proto over TLS: errors: $(cat "$tmp/$proto.json")"
  note "$proto: 200 requests over TLS, every digest checked"
  [ "$proto" = oneshot ] && oneshot_port=$server_port
done

# Verification on: a certificate not from --tls-ca fails every handshake.
bench wrong_ca --tls --tls-ca "$tmp/other.pem" --host localhost --port "$oneshot_port" -c 2 --requests 20
[ "$status" -eq 2 ] || fail "a server outside --tls-ca: exit $status, want 2"
[ "$(field wrong_ca "small['requests']")" = 0 ] || fail "a server outside --tls-ca was served: $(cat "$tmp/wrong_ca.json")"
[ "$(field wrong_ca "small['errors_by_kind']['handshake']")" = 20 ] || fail "wrong CA: $(cat "$tmp/wrong_ca.json")"
# Verification off (no --tls-ca): the same server is served.
bench no_verify --tls --port "$oneshot_port" -c 2 --requests 20
[ "$status" -eq 0 ] && [ "$(field no_verify "small['requests']")" = 20 ] || fail "without --tls-ca: $(cat "$tmp/no_verify.json")"

# A plain server: the handshake fails, each one counted.
start_server "$tmp" plain
pids+=("$server_pid")
bench plain --tls --port "$server_port" -c 2 --requests 20
[ "$status" -eq 2 ] || fail "--tls against a plain server: exit $status, want 2"
[ "$(field plain "small['errors_by_kind']['handshake']")" = 20 ] || fail "plain server: $(cat "$tmp/plain.json")"
note "PASS: a certificate outside --tls-ca and a plain server fail the handshake, counted as such"
