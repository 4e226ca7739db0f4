#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# TLS terminated by a real `haproxy` running docker/haproxy-tls.cfg (only its
# addresses and certificate path rewritten) in front of two plain hash_server
# replicas on loopback, for each of oneshot and lines:
#  - openssl s_client (TLS 1.2 and 1.3) and hash_client --tls, verifying
#    HAProxy's certificate, get the tutorial vectors through it;
#  - the replicas speak plain TCP (a request straight to one is answered) and
#    the front speaks TLS only (the same plaintext request to it is not).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
: "${HASH_SERVER:?}" "${HASH_CLIENT:?}" "${SOURCE_DIR:?}"
command -v haproxy >/dev/null || fail "haproxy not installed: scripts/install-deps.sh ops"
command -v openssl >/dev/null || fail "openssl not installed: scripts/install-deps.sh test"
command -v nc >/dev/null || fail "nc not installed: scripts/install-deps.sh test"

use_test_dir hash_server_haproxy_tls

# A self-signed certificate for the names the clients use; HAProxy wants it
# and its key in one file.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null ||
  fail "openssl req failed"
cat "$tmp/cert.pem" "$tmp/key.pem" >"$tmp/hash.pem"

# start_front PROTOCOL: two replicas of PROTOCOL and HAProxy in front of them;
# sets $front (HAProxy's TLS port) and $replica (the first replica's port).
start_front() {
  local proto=$1 i sock="$tmp/$1.sock" ports=() attempt
  for i in 1 2; do
    # lines: the replicas' idle timeout ends each s_client session after its replies.
    start_server "$tmp" "${proto}$i" --protocol "$proto" --idle-timeout 1
    pids+=("$server_pid") ports+=("$server_port")
  done
  replica=${ports[0]}
  up_or_dead() { [ "$(stats "$sock" | awk -F, '$1 == "hash_servers" && $18 == "UP"' | wc -l)" = 2 ] || ! kill -0 "$haproxy_pid" 2>/dev/null; }
  # A front port taken between free_port and haproxy's bind: another port.
  for attempt in 1 2 3; do
    configure_front "$proto" "$sock" "${ports[@]}"
    haproxy -db -f "$tmp/$proto.cfg" >"$tmp/$proto.haproxy.log" 2>&1 &
    haproxy_pid=$!
    pids+=("$haproxy_pid")
    wait_until 30 up_or_dead && kill -0 "$haproxy_pid" 2>/dev/null && return 0
    note "$proto: haproxy attempt $attempt: $(tail -3 "$tmp/$proto.haproxy.log"); $(stats "$sock" | cut -d, -f1,2,18,37 | tr '\n' ' ')"
    kill "$haproxy_pid" 2>/dev/null || true
    wait "$haproxy_pid" 2>/dev/null || true
  done
  fail "$proto: the replicas never came UP behind haproxy"
}
stats() { echo "show stat" | timeout 5 nc -U "$1" 2>/dev/null || true; }

# configure_front PROTOCOL SOCKET PORT1 PORT2: $tmp/PROTOCOL.cfg, the shipped
# file with the test's addresses, certificate and a stats socket; sets $front.
configure_front() {
  local proto=$1 sock=$2 i
  shift 2
  front=$(free_port) || fail "no free port"
  sed -e "s|^\(\s*bind\) :8443 ssl crt /etc/haproxy/tls/hash.pem\$|\1 127.0.0.1:$front ssl crt $tmp/hash.pem|" \
      -e "s/^\(\s*server hash1\) hash1:8080/\1 127.0.0.1:$1/" \
      -e "s/^\(\s*server hash2\) hash2:8080/\1 127.0.0.1:$2/" \
      -e "s|^global\$|global\n    stats socket $sock mode 600 level admin|" \
      "$SOURCE_DIR/docker/haproxy-tls.cfg" >"$tmp/$proto.cfg"
  grep -q "bind 127.0.0.1:$front ssl crt $tmp/hash.pem\$" "$tmp/$proto.cfg" ||
    fail "docker/haproxy-tls.cfg: no 'bind :8443 ssl crt /etc/haproxy/tls/hash.pem' line"
  for i in 1 2; do
    grep -q "server hash$i 127.0.0.1:${!i}\$" "$tmp/$proto.cfg" || fail "docker/haproxy-tls.cfg: no 'server hash$i hash$i:8080' line"
  done
  haproxy -c -q -f "$tmp/$proto.cfg" || fail "haproxy rejects the generated config"
}

# sclient VERSION INPUT: what s_client prints, HAProxy's certificate verified.
sclient() {
  printf '%s' "$2" | timeout 30 openssl s_client -connect "127.0.0.1:$front" -quiet "-$1" \
    -CAfile "$tmp/cert.pem" -verify_return_error -verify_hostname localhost 2>>"$tmp/sclient.err" || true
}
tls_client() { hash_request "$front" "$1" --tls --tls-ca "$tmp/cert.pem" --host localhost "${@:2}"; }

start_front oneshot
for v in tls1_2 tls1_3; do
  got=$(sclient "$v" $'hello world\n')
  [ "$got" = 782e1488cd5a68b7 ] || fail "oneshot, s_client $v through haproxy: got '$got'; $(tail -3 "$tmp/sclient.err")"
  got=$(sclient "$v" $'test data 123\n')
  [ "$got" = daf63590896c6e23 ] || fail "oneshot, s_client $v through haproxy: got '$got'"
done
[ "$(tls_client $'hello world\n')" = 782e1488cd5a68b7 ] || fail "oneshot, hash_client --tls through haproxy"
[ "$(tls_client $'test data 123\n')" = daf63590896c6e23 ] || fail "oneshot, hash_client --tls through haproxy"
[ "$(hash_request "$replica" $'hello world\n')" = 782e1488cd5a68b7 ] || fail "a replica does not answer plain TCP"
got=$(printf 'hello world\n' | timeout 10 nc -q1 127.0.0.1 "$front" 2>/dev/null || true)
[ "$got" != 782e1488cd5a68b7 ] || fail "haproxy's front answered plaintext: TLS is not terminated there"
note "oneshot: both vectors through haproxy's TLS (s_client 1.2 and 1.3, hash_client --tls); plaintext refused"

start_front lines
for v in tls1_2 tls1_3; do
  got=$(sclient "$v" $'hello world\ntest data 123\n' | head -2)
  [ "$got" = $'782e1488cd5a68b7\ndaf63590896c6e23' ] || fail "lines, s_client $v through haproxy: got '$got'"
done
got=$(tls_client $'hello world\ntest data 123\n' --protocol lines)
[ "$got" = $'782e1488cd5a68b7\ndaf63590896c6e23' ] || fail "lines, hash_client --tls through haproxy: got '$got'"
note "PASS: lines: both vectors on one connection through haproxy's TLS (s_client 1.2 and 1.3, hash_client --tls)"
