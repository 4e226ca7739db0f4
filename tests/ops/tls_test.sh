#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# TLS on the hash port, with clients nobody here wrote: openssl s_client,
# socat and Python's ssl module. Certificates are made by the test, in its
# temporary folder. Usage: tls_test.sh CASE (one ctest per case, Tls.*).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
: "${HASH_SERVER:?}"
case_name=${1:?usage: tls_test.sh CASE}

use_test_dir "tls_$case_name"

# new_ca NAME: a self-signed CA, NAME.pem and NAME.key.
new_ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$1" \
    -keyout "$tmp/$1.key" -out "$tmp/$1.pem" 2>/dev/null
}
# new_cert NAME CA CN: NAME.pem and NAME.key, signed by CA.
new_cert() {
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$3" \
    -keyout "$tmp/$1.key" -out "$tmp/$1.csr" 2>/dev/null
  openssl x509 -req -in "$tmp/$1.csr" -CA "$tmp/$2.pem" -CAkey "$tmp/$2.key" -set_serial "0x$(openssl rand -hex 8)" \
    -days 2 -out "$tmp/$1.pem" 2>/dev/null
}
new_ca ca
new_cert server ca localhost
tls=(--tls-cert "$tmp/server.pem" --tls-key "$tmp/server.key")

# sclient PORT VERSION INPUT [ARGS]: what s_client prints (the server's reply).
sclient() {
  local port=$1 version=$2 input=$3; shift 3
  printf '%s' "$input" | timeout 30 openssl s_client -connect "127.0.0.1:$port" -quiet "-$version" \
    -CAfile "$tmp/ca.pem" -verify_return_error "$@" 2>>"$tmp/sclient.err" || true
}
# served_serial PORT: the serial number of the certificate the server presents.
served_serial() {
  timeout 30 openssl s_client -connect "127.0.0.1:$1" </dev/null 2>/dev/null | openssl x509 -noout -serial
}
# py CODE ARGS: a small Python client.
py() { timeout 60 python3 -c "$@"; }

tutorial_vectors() {
  start_server "$tmp" oneshot "${tls[@]}"
  pids+=("$server_pid"); local oneshot=$server_port
  start_server "$tmp" lines --protocol lines --idle-timeout 1 "${tls[@]}"
  pids+=("$server_pid"); local lines=$server_port
  for v in tls1_2 tls1_3; do
    got=$(sclient "$oneshot" "$v" $'hello world\n')
    [ "$got" = 782e1488cd5a68b7 ] || fail "oneshot over $v: got '$got'; $(cat "$tmp/sclient.err")"
    got=$(sclient "$oneshot" "$v" $'test data 123\n')
    [ "$got" = daf63590896c6e23 ] || fail "oneshot over $v: got '$got'"
    # lines: the server's idle timeout ends the connection after the replies.
    got=$(sclient "$lines" "$v" $'hello world\ntest data 123\n' | head -2)
    [ "$got" = $'782e1488cd5a68b7\ndaf63590896c6e23' ] || fail "lines over $v: got '$got'"
  done
  command -v socat >/dev/null || fail "socat is not installed (scripts/deps/test.txt)"
  got=$(printf 'hello world\n' | timeout 30 socat - "OPENSSL:127.0.0.1:$oneshot,cafile=$tmp/ca.pem,commonname=localhost")
  [ "$got" = 782e1488cd5a68b7 ] || fail "oneshot over socat: got '$got'"
  got=$(printf 'hello world\ntest data 123\n' |
    timeout 30 socat -t 5 - "OPENSSL:127.0.0.1:$lines,cafile=$tmp/ca.pem,commonname=localhost" | head -2)
  [ "$got" = $'782e1488cd5a68b7\ndaf63590896c6e23' ] || fail "lines over socat: got '$got'"
}

stream_python() {
  # TLS 1.2 cannot carry a reply after the client's close_notify: refused at start.
  local status=0
  "$HASH_SERVER" --protocol stream "${tls[@]}" 0 >"$tmp/refused.out" 2>"$tmp/refused.err" || status=$?
  [ "$status" -eq 1 ] || fail "stream over TLS 1.2 started (exit $status)"
  grep -q -- '--tls-min-version 1.3' "$tmp/refused.err" || fail "no clear message: $(cat "$tmp/refused.err")"
  [ ! -s "$tmp/refused.out" ] || fail "a banner for a refused configuration"

  start_server "$tmp" stream --protocol stream --tls-min-version 1.3 "${tls[@]}"
  pids+=("$server_pid"); local port=$server_port
  got=$(printf 'hello world\n' | timeout 60 python3 "$here/tls_stream_client.py" "$port" "$tmp/ca.pem")
  [ "$got" = 782e1488cd5a68b7 ] || fail "stream over TLS 1.3: got '$got'"
  got=$(timeout 60 python3 "$here/tls_stream_client.py" "$port" "$tmp/ca.pem" </dev/null)
  [ "$got" = cbf29ce484222325 ] || fail "empty stream upload over TLS 1.3: got '$got'"
  # Bigger than a TLS record, a read and a chunk: the same digest as over TCP.
  head -c 3000000 /dev/urandom >"$tmp/file"
  start_server "$tmp" plain --protocol stream
  pids+=("$server_pid")
  want=$(timeout 60 nc -N 127.0.0.1 "$server_port" <"$tmp/file")
  got=$(timeout 60 python3 "$here/tls_stream_client.py" "$port" "$tmp/ca.pem" <"$tmp/file")
  [ -n "$want" ] && [ "$got" = "$want" ] || fail "3 MB stream over TLS 1.3: got '$got', want '$want'"
}

mutual() {
  new_cert client ca client
  new_ca other
  new_cert stranger other client
  start_server "$tmp" mtls "${tls[@]}" --tls-client-ca "$tmp/ca.pem" --log-level debug
  pids+=("$server_pid"); local port=$server_port
  for v in tls1_2 tls1_3; do
    got=$(sclient "$port" "$v" $'hello world\n' -cert "$tmp/client.pem" -key "$tmp/client.key")
    [ "$got" = 782e1488cd5a68b7 ] || fail "client certificate from the CA over $v: got '$got'"
    got=$(sclient "$port" "$v" $'hello world\n')
    [ -z "$got" ] || fail "no client certificate over $v, yet served: '$got'"
    got=$(sclient "$port" "$v" $'hello world\n' -cert "$tmp/stranger.pem" -key "$tmp/stranger.key")
    [ -z "$got" ] || fail "a certificate from another CA over $v, yet served: '$got'"
  done
  wait_until 10 grep -q 'TLS handshake failed: .*certificate' "$tmp/mtls.log" ||
    fail "no debug line with OpenSSL's reason: $(cat "$tmp/mtls.log")"
}

bad_input() {
  start_server "$tmp" srv "${tls[@]}" --idle-timeout 1 --log-level debug --metrics-port 0
  pids+=("$server_pid"); local port=$server_port
  # Plaintext: closed without a reply.
  got=$(printf 'hello world\n' | timeout 30 nc -q5 127.0.0.1 "$port" | od -An -c | head -c 200 || true)
  [[ "$got" != *782e1488cd5a68b7* ]] || fail "plaintext served on the TLS port"
  # Random bytes, and a reset in the middle of a handshake.
  head -c 5000 /dev/urandom | timeout 30 nc -q5 127.0.0.1 "$port" >/dev/null || true
  py 'import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()' "$port"
  # A client that stalls after the start of its ClientHello is closed at the
  # idle timeout, like a slowloris (the bound here is generous: no timing).
  py 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
try:
    assert s.recv(100) == b"", "data from the server"
except ConnectionResetError:
    pass' "$port" || fail "a client stalled mid-handshake was not closed"
  # The server is up and serves others all the while.
  got=$(sclient "$port" tls1_3 $'hello world\n')
  [ "$got" = 782e1488cd5a68b7 ] || fail "not served after the bad clients: got '$got'"
  kill -0 "$server_pid" || fail "the server died"
  [ "$(metric "$metrics_port" 'hash_server_tls_handshakes_total{result="ok"}')" -ge 1 ] || fail "ok not counted"
  [ "$(metric "$metrics_port" 'hash_server_tls_handshakes_total{result="failed"}')" -ge 2 ] || fail "failures not counted"
  [ "$(metric "$metrics_port" 'hash_server_tls_handshakes_total{result="timeout"}')" -ge 1 ] || fail "stall not counted"
  [ "$(metric "$metrics_port" 'hash_server_tls_handshake_duration_seconds_count')" -ge 1 ] || fail "no duration"
  grep -q 'TLS handshake failed: ' "$tmp/srv.log" || fail "no debug line for a failed handshake"
  ! grep -q 'hello world' "$tmp/srv.log" || fail "the client's bytes in the log"
}

hash_client_tls() {
  : "${HASH_CLIENT:?}"
  local c=(timeout 60 "$HASH_CLIENT" --timeout 30 --tls --tls-ca "$tmp/ca.pem" --host localhost)
  start_server "$tmp" oneshot "${tls[@]}"
  pids+=("$server_pid"); local oneshot=$server_port
  start_server "$tmp" lines --protocol lines "${tls[@]}"
  pids+=("$server_pid"); local lines=$server_port
  start_server "$tmp" stream --protocol stream --tls-min-version 1.3 "${tls[@]}"
  pids+=("$server_pid"); local stream=$server_port
  got=$(printf 'hello world\n' | "${c[@]}" "$oneshot")
  [ "$got" = 782e1488cd5a68b7 ] || fail "hash_client --tls, oneshot: got '$got'"
  got=$(printf 'hello world\ntest data 123\n' | "${c[@]}" --protocol lines "$lines")
  [ "$got" = $'782e1488cd5a68b7\ndaf63590896c6e23' ] || fail "hash_client --tls, lines: got '$got'"
  got=$(printf 'hello world\n' | "${c[@]}" --protocol stream "$stream")
  [ "$got" = 782e1488cd5a68b7 ] || fail "hash_client --tls, stream: got '$got'"
  head -c 2000000 /dev/urandom >"$tmp/file"
  want=$(timeout 60 python3 "$here/tls_stream_client.py" "$stream" "$tmp/ca.pem" <"$tmp/file")
  got=$("${c[@]}" --protocol stream "$stream" "$tmp/file")
  [ -n "$want" ] && [ "$got" = "$want" ] || fail "hash_client --tls, 2 MB stream: got '$got', want '$want'"
  # A server the CA did not sign is refused by the client (exit 1).
  new_ca other
  local status=0
  printf 'x' | timeout 60 "$HASH_CLIENT" --timeout 30 --tls --tls-ca "$tmp/other.pem" --host localhost "$oneshot" \
    >/dev/null 2>"$tmp/client.err" || status=$?
  [ "$status" -eq 1 ] && grep -q 'certificate verify failed' "$tmp/client.err" ||
    fail "an unknown server was accepted (exit $status): $(cat "$tmp/client.err")"
  # Mutual TLS with the client's own certificate.
  new_cert client ca client
  start_server "$tmp" mtls "${tls[@]}" --tls-client-ca "$tmp/ca.pem"
  pids+=("$server_pid")
  got=$(printf 'hello world\n' | "${c[@]}" --tls-cert "$tmp/client.pem" --tls-key "$tmp/client.key" "$server_port")
  [ "$got" = 782e1488cd5a68b7 ] || fail "hash_client --tls with a client certificate: got '$got'"
}

# expect_refused NAME WANT ARGS...: exit 1 before any banner, stderr has WANT.
expect_refused() {
  local name=$1 want=$2 status=0; shift 2
  "$HASH_SERVER" "$@" 0 >"$tmp/$name.out" 2>"$tmp/$name.err" || status=$?
  [ "$status" -eq 1 ] || fail "$name: exit $status, want 1"
  grep -qF -- "$want" "$tmp/$name.err" || fail "$name: stderr lacks '$want': $(cat "$tmp/$name.err")"
  [ ! -s "$tmp/$name.out" ] || fail "$name: printed a banner"
}

bad_files() {
  new_cert other ca localhost
  printf 'not a certificate\n' >"$tmp/junk.pem"
  expect_refused missing_cert "--tls-cert $tmp/nope.pem: No such file" --tls-cert "$tmp/nope.pem" --tls-key "$tmp/server.key"
  expect_refused missing_key "--tls-key $tmp/nope.key: No such file" --tls-cert "$tmp/server.pem" --tls-key "$tmp/nope.key"
  expect_refused junk_cert "--tls-cert $tmp/junk.pem: not a PEM certificate" --tls-cert "$tmp/junk.pem" --tls-key "$tmp/server.key"
  expect_refused junk_key "--tls-key $tmp/junk.pem: not a PEM private key" --tls-cert "$tmp/server.pem" --tls-key "$tmp/junk.pem"
  expect_refused mismatch "--tls-key $tmp/other.key does not match" --tls-cert "$tmp/server.pem" --tls-key "$tmp/other.key"
  expect_refused junk_ca "--tls-client-ca $tmp/junk.pem" "${tls[@]}" --tls-client-ca "$tmp/junk.pem"
  expect_refused key_alone "--tls-key needs --tls-cert" --tls-key "$tmp/server.key"
  expect_refused bad_version "--tls-min-version: expected 1.2|1.3" "${tls[@]}" --tls-min-version 1.1
}

reload() {
  start_server "$tmp" srv "${tls[@]}"
  pids+=("$server_pid"); local port=$server_port
  old=$(served_serial "$port")
  [ "$old" = "$(openssl x509 -noout -serial -in "$tmp/server.pem")" ] || fail "served serial '$old'"
  # A new valid pair, written over the old files: the next handshake uses it.
  new_cert next ca localhost
  cp "$tmp/next.pem" "$tmp/server.pem"; cp "$tmp/next.key" "$tmp/server.key"
  new=$(openssl x509 -noout -serial -in "$tmp/next.pem")
  kill -HUP "$server_pid"
  wait_until 10 grep -q 'reloaded the TLS certificate' "$tmp/srv.log" || fail "no reload logged: $(cat "$tmp/srv.log")"
  [ "$(served_serial "$port")" = "$new" ] || fail "still serving the old certificate after SIGHUP"
  # A broken pair: logged, the pair in use kept.
  printf 'broken\n' >"$tmp/server.key"
  kill -HUP "$server_pid"
  wait_until 10 grep -q 'cannot reload TLS: --tls-key' "$tmp/srv.log" || fail "no error logged: $(cat "$tmp/srv.log")"
  [ "$(served_serial "$port")" = "$new" ] || fail "the certificate in use was dropped"
  got=$(sclient "$port" tls1_3 $'hello world\n')
  [ "$got" = 782e1488cd5a68b7 ] || fail "not served after a bad reload: got '$got'"
  kill -0 "$server_pid" || fail "the server died"
}

# Every server of the case stopped with SIGTERM; none may have logged a
# sanitizer report (ASan, UBSan, TSan builds) or an error.
stop_servers() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
  if grep -l -E 'Sanitizer|runtime error' "$tmp"/*.log 2>/dev/null; then
    cat "$tmp"/*.log >&2
    fail "a sanitizer report in a server's log"
  fi
}

case "$case_name" in
  vectors) tutorial_vectors ;;
  stream) stream_python ;;
  mutual) mutual ;;
  bad_input) bad_input ;;
  bad_files) bad_files ;;
  reload) reload ;;
  hash_client) hash_client_tls ;;
  *) fail "unknown case $case_name" ;;
esac
stop_servers
note "Tls.$case_name passed"
