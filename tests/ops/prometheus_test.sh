#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# A real Prometheus server (Debian's `prometheus`), on loopback with a
# temporary config and data folder, scrapes hash_server's /metrics every
# second; the test asks Prometheus's HTTP API for `up` and for the request
# counter, which must equal the number of requests the test made.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
: "${HASH_SERVER:?}" "${HASH_CLIENT:?}"
command -v prometheus >/dev/null || fail "prometheus not installed: scripts/install-deps.sh ops"
command -v jq >/dev/null || fail "jq not installed: scripts/install-deps.sh ops"

use_test_dir hash_server_prometheus

start_server "$tmp" hash --metrics-port 0
pids+=("$server_pid")
note "hash_server on $server_port, metrics on $metrics_port"

cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: hash_server
    static_configs:
      - targets: ['127.0.0.1:$metrics_port']
EOF
promtool check config "$tmp/prometheus.yml" >/dev/null || fail "promtool rejects the test's config"

# The port is picked free, but another process may take it first: retry.
prom_ready() { curl -sf --max-time 2 "http://127.0.0.1:$prom_port/-/ready" >/dev/null; }
prom_alive() { kill -0 "$prom_pid" 2>/dev/null; }
prom_ready_or_dead() { prom_ready || ! prom_alive; }
for attempt in 1 2 3; do
  prom_port=$(free_port) || fail "no free port"
  rm -rf "$tmp/data"
  prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
    --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$tmp/prometheus.log" 2>&1 &
  prom_pid=$!
  pids+=("$prom_pid")
  if wait_until 60 prom_ready_or_dead && prom_alive && prom_ready; then
    break
  fi
  note "prometheus did not start on $prom_port (attempt $attempt): $(tail -3 "$tmp/prometheus.log")"
  kill "$prom_pid" 2>/dev/null || true
  prom_pid=""
done
[ -n "${prom_pid:-}" ] || fail "prometheus never became ready"
note "prometheus on $prom_port"

requests=7
for i in $(seq $requests); do
  [ "$(hash_request "$server_port" $'hello world\n')" = 782e1488cd5a68b7 ] || fail "request $i: wrong digest"
done

# query EXPR: the value of the first series of an instant query ("" if none).
query() {
  curl -sf --max-time 5 -G "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" |
    jq -r '.data.result[0].value[1] // empty'
}
is() { [ "$(query "$1")" = "$2" ]; }

wait_until 60 is 'up{job="hash_server"}' 1 ||
  fail "Prometheus never saw the target up: $(query 'up'); targets: $(curl -s "http://127.0.0.1:$prom_port/api/v1/targets")"
note "up{job=\"hash_server\"} = 1"
wait_until 60 is 'hash_server_requests_total{job="hash_server",outcome="ok"}' $requests ||
  fail "requests counter in Prometheus: '$(query 'hash_server_requests_total{outcome="ok"}')', want $requests"
wait_until 30 is 'hash_server_bytes_hashed_total{algorithm="fnv1a"}' $((requests * 12)) ||
  fail "bytes counter in Prometheus: '$(query 'hash_server_bytes_hashed_total')', want $((requests * 12))"
note "Prometheus: requests_total{outcome=ok} = $requests, bytes_hashed_total = $((requests * 12))"

# The counter keeps following: three more requests.
for i in 1 2 3; do hash_request "$server_port" $'test data 123\n' >/dev/null; done
wait_until 30 is 'hash_server_requests_total{job="hash_server",outcome="ok"}' $((requests + 3)) ||
  fail "requests counter did not move to $((requests + 3))"
note "PASS: Prometheus scraped the endpoint and saw the counters move"
