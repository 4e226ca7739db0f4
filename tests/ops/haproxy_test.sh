#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Scale out without Docker: three hash_server processes on loopback behind a
# real `haproxy` running docker/haproxy.cfg (only the addresses rewritten).
#  1. Requests through HAProxy are all answered correctly, and every replica
#     hashed some of them (each replica's own /metrics says how many).
#  2. One replica is killed (SIGKILL) while clients keep sending; once HAProxy's
#     health check (a real request) marks it DOWN, every request is answered
#     correctly by the other two.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
: "${HASH_SERVER:?}" "${HASH_CLIENT:?}" "${SOURCE_DIR:?}"
command -v haproxy >/dev/null || fail "haproxy not installed: scripts/install-deps.sh ops"
command -v nc >/dev/null || fail "nc not installed: scripts/install-deps.sh test"

use_test_dir hash_server_haproxy
# The client loops started below run until $tmp/stop exists.
before_cleanup() { touch "$tmp/stop" 2>/dev/null || true; }

declare -A port mport pid
for i in 1 2 3; do
  start_server "$tmp" "hash$i" --metrics-port 0
  pid[$i]=$server_pid port[$i]=$server_port mport[$i]=$metrics_port
  pids+=("$server_pid")
done
note "replicas: ${port[1]} ${port[2]} ${port[3]}"

# ---- HAProxy with the shipped config ---------------------------------------
sock="$tmp/haproxy.sock"
start_haproxy() {
  front=$(free_port) || fail "no free port"
  sed -e "s/^\(\s*server hash1\) hash1:8080/\1 127.0.0.1:${port[1]}/" \
      -e "s/^\(\s*server hash2\) hash2:8080/\1 127.0.0.1:${port[2]}/" \
      -e "s/^\(\s*server hash3\) hash3:8080/\1 127.0.0.1:${port[3]}/" \
      -e "s/^\(\s*bind\) :8080/\1 127.0.0.1:$front/" \
      -e "s|^global\$|global\n    stats socket $sock mode 600 level admin|" \
      "$SOURCE_DIR/docker/haproxy.cfg" >"$tmp/haproxy.cfg"
  for i in 1 2 3; do
    grep -q "server hash$i 127.0.0.1:${port[$i]}\$" "$tmp/haproxy.cfg" ||
      fail "docker/haproxy.cfg: no 'server hash$i hash$i:8080' line to point at the test's replica"
  done
  grep -q "bind 127.0.0.1:$front\$" "$tmp/haproxy.cfg" || fail "docker/haproxy.cfg: no 'bind :8080' line"
  haproxy -c -q -f "$tmp/haproxy.cfg" || fail "haproxy rejects the generated config"
  haproxy -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.log" 2>&1 &
  haproxy_pid=$!
  pids+=("$haproxy_pid")
}

# status NAME: UP, DOWN, ... of a replica, from the stats socket ("show stat" CSV).
status() {
  echo "show stat" | timeout 5 nc -U "$sock" 2>/dev/null |
    awk -F, -v s="$1" '$1 == "hash_servers" && $2 == s { print $18 }'
}
check_status() {
  echo "show stat" | timeout 5 nc -U "$sock" 2>/dev/null |
    awk -F, -v s="$1" '$1 == "hash_servers" && $2 == s { print $37 }'
}
all_up() { [ "$(status hash1)" = UP ] && [ "$(status hash2)" = UP ] && [ "$(status hash3)" = UP ]; }
is_down() { [[ "$(status "$1")" == DOWN* ]]; }

haproxy_ready_or_dead() { [ -S "$sock" ] || ! kill -0 "$haproxy_pid" 2>/dev/null; }
for attempt in 1 2 3; do
  start_haproxy
  wait_until 10 haproxy_ready_or_dead && kill -0 "$haproxy_pid" 2>/dev/null && break
  note "haproxy did not start (attempt $attempt): $(tail -3 "$tmp/haproxy.log")"
done
kill -0 "$haproxy_pid" 2>/dev/null || fail "haproxy is not running: $(cat "$tmp/haproxy.log")"
wait_until 30 all_up || fail "the health checks never brought all three replicas UP: $(status hash1) $(status hash2) $(status hash3)"
# L7OK: the check's expect matched the digest (a bare connect check says L4OK).
check_ok() { [ "$(check_status hash1)" = L7OK ] && [ "$(check_status hash2)" = L7OK ] && [ "$(check_status hash3)" = L7OK ]; }
wait_until 30 check_ok || fail "health checks: $(check_status hash1) $(check_status hash2) $(check_status hash3), want L7OK"
note "haproxy on $front; hash1..3 UP (health check: hello world -> 782e1488cd5a68b7)"

# ---- 1. requests spread over the three -------------------------------------
# How many of the test's requests replica i hashed. Its counters also include
# HAProxy's health checks (12 bytes each, "hello world\n"); the test sends
# only "test data 123\n" (14 bytes), so from ok = checks + ours and
# bytes = 12 checks + 14 ours: ours = (bytes - 12 ok) / 2. The two counters
# are read one after the other; a check in flight in between makes the
# difference odd or the snapshot inconsistent, so read again.
ours() {
  local i=$1 text ok bytes try
  for try in $(seq 50); do
    text=$(curl -sf --max-time 5 "http://127.0.0.1:${mport[$i]}/metrics") || { sleep 0.1; continue; }
    ok=$(awk '$1 == "hash_server_requests_total{protocol=\"oneshot\",outcome=\"ok\"}" { print $2 }' <<<"$text")
    bytes=$(awk '$1 == "hash_server_bytes_hashed_total{algorithm=\"fnv1a\"}" { print $2 }' <<<"$text")
    if [ -n "$ok" ] && [ -n "$bytes" ] && [ $(((bytes - 12 * ok) % 2)) -eq 0 ] && [ $((bytes - 12 * ok)) -ge 0 ] &&
       [ "$(awk '$1 == "hash_server_connections_active" { print $2 }' <<<"$text")" = 0 ]; then
      echo $(((bytes - 12 * ok) / 2))
      return 0
    fi
    sleep 0.1
  done
  fail "replica $i: no consistent metrics snapshot"
}

# client_loop ID COUNT: COUNT requests through HAProxy (or until $tmp/stop
# exists when COUNT is 0); appends "ok" or "bad <reply>" per request to $tmp/client.ID.
client_loop() {
  local id=$1 count=$2 n=0 reply
  while { [ "$count" -eq 0 ] && [ ! -e "$tmp/stop" ]; } || [ "$n" -lt "$count" ]; do
    reply=$(hash_request "$front" $'test data 123\n' 2>&1) || true
    if [ "$reply" = daf63590896c6e23 ]; then echo ok; else echo "bad $reply"; fi >>"$tmp/client.$id"
    n=$((n + 1))
    [ "$count" -ne 0 ] || [ "$n" -lt 100000 ] || break
  done
}

# run_clients LOOPS COUNT: LOOPS client loops at once, COUNT requests each; prints "ok bad".
run_clients() {
  local loops=$1 count=$2 j cpids=()
  rm -f "$tmp"/client.*
  for j in $(seq "$loops"); do client_loop "$j" "$count" & cpids+=($!); done
  for j in "${cpids[@]}"; do wait "$j"; done
  echo "$(cat "$tmp"/client.* | grep -c '^ok$' || true) $(cat "$tmp"/client.* | grep -vc '^ok$' || true)"
}

declare -A base
for i in 1 2 3; do base[$i]=$(ours "$i"); done
read -r good bad < <(run_clients 6 10)
[ "$bad" -eq 0 ] || fail "$bad of 60 requests through haproxy failed: $(grep -hv '^ok$' "$tmp"/client.* | head -3)"
[ "$good" -eq 60 ] || fail "$good requests answered, want 60"
total=0
for i in 1 2 3; do
  got[$i]=$(($(ours "$i") - base[$i]))
  total=$((total + got[$i]))
  [ "${got[$i]}" -ge 1 ] || fail "replica $i hashed none of the 60 requests (${got[1]:-?} ${got[2]:-?} ${got[3]:-?})"
done
[ "$total" -eq 60 ] || fail "the replicas hashed $total of the test's requests, want 60"
note "60/60 answered through haproxy; hashed by the replicas: ${got[1]} ${got[2]} ${got[3]}"

# ---- 2. a replica dies mid-run ---------------------------------------------
for i in 1 3; do base[$i]=$(ours "$i"); done
rm -f "$tmp"/client.* "$tmp/stop"
loops=()
for j in 1 2 3 4; do client_loop "$j" 0 & loops+=($!); done
sleep 1
kill -KILL "${pid[2]}"
wait "${pid[2]}" 2>/dev/null || true
note "killed replica 2 (pid ${pid[2]}) with clients running"
wait_until 30 is_down hash2 || fail "haproxy never marked hash2 DOWN (status: $(status hash2))"
note "haproxy reports hash2 $(status hash2)"
sleep 0.5
touch "$tmp/stop"
for j in "${loops[@]}"; do wait "$j"; done
window_ok=$(cat "$tmp"/client.* | grep -c '^ok$' || true)
window_bad=$(cat "$tmp"/client.* | grep -vc '^ok$' || true)
note "while hash2 died: $window_ok answered, $window_bad failed"
# A request already forwarded to hash2 when it died cannot be replayed by a
# TCP proxy: at most one per client loop may fail; new connections are
# retried and redispatched.
[ "$window_ok" -ge 1 ] || fail "no request was answered while hash2 was dying"
[ "$window_bad" -le 4 ] || fail "$window_bad requests failed while hash2 died (more than the 4 in flight): $(grep -hv '^ok$' "$tmp"/client.* | head -3)"

read -r good bad < <(run_clients 6 10)
[ "$bad" -eq 0 ] || fail "$bad of 60 requests failed after hash2 was marked DOWN: $(grep -hv '^ok$' "$tmp"/client.* | head -3)"
[ "$good" -eq 60 ] || fail "$good requests answered after hash2 went DOWN, want 60"
# Replicas 1 and 3 hashed the 60 and some of the answers in the window (the
# others came from hash2 before it died).
after=$(($(ours 1) - base[1] + $(ours 3) - base[3]))
[ "$after" -ge 60 ] && [ "$after" -le $((window_ok + 60)) ] ||
  fail "replicas 1 and 3 hashed $after requests since the kill; want 60 to $((window_ok + 60))"
kill -0 "$haproxy_pid" 2>/dev/null || fail "haproxy died"
note "PASS: after the kill, 60/60 answered by hash1 and hash3"
