# SPDX-License-Identifier: BSL-1.0
# The steps of swarm_test.sh (sourced after tests/ops/lib.sh and docker_lib.sh).
# Every wait is bounded; everything made here is undone by swarm_cleanup.

stack=hs_swarm_test
compose_project=hs_compose_test
load_pid=""
made_gwbridge=""
bridge=""

# ---- network and dockerd -----------------------------------------------------
# The bridge of the default network, with an address of its own (10.211/16);
# swarm adds docker_gwbridge (a fixed name: one swarm per host) and compose one
# br-* per network, from 10.213/16; the overlays come from 10.212/16.
start_swarm_dockerd() {
  ip link show docker_gwbridge >/dev/null 2>&1 &&
    fail "docker_gwbridge exists already: another swarm-mode Docker engine runs on this host"
  bridge=hsw$((RANDOM % 90000 + 10000))
  ip link add "$bridge" type bridge
  ip addr add "10.211.$((RANDOM % 200 + 10)).1/24" dev "$bridge"
  ip link set "$bridge" up
  made_gwbridge=1
  # Swarm's tasks pull their image first, from Docker Hub for these names;
  # the images are local, and no registry is to be asked.
  export DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1
  # No iptables rules and no forwarding: the host's firewall and sysctls stay
  # as they are. The host reaches containers on its own bridges, published
  # ports go through docker-proxy, and containers reach each other on their
  # networks; nothing needs to leave the machine.
  start_dockerd --bridge="$bridge" --iptables=false --ip-masq=false --ip-forward=false \
    --default-address-pool base=10.213.0.0/16,size=24
  local swarm_port
  swarm_port=$(free_port) || fail "no free port"
  docker swarm init --advertise-addr "127.0.0.1:$swarm_port" --listen-addr "127.0.0.1:$swarm_port" \
    --default-addr-pool 10.212.0.0/16 >"$tmp/swarm-init.log" 2>&1 ||
    { cat "$tmp/swarm-init.log"; fail "docker swarm init failed"; }
  note "single-node swarm up (bridge $bridge, manager on 127.0.0.1:$swarm_port)"
}

# stop_swarm_dockerd: also after a failed start (the bridges go in any case).
stop_swarm_dockerd() {
  local nets="" id
  if [ -n "$dockerd_pid" ]; then
    nets=$(docker network ls -q --no-trunc --filter driver=bridge 2>/dev/null || true)
    docker swarm leave --force >/dev/null 2>&1 || true
    docker network rm docker_gwbridge >/dev/null 2>&1 || true
    stop_dockerd
  fi
  for id in $nets; do ip link del "br-${id:0:12}" 2>/dev/null || true; done
  [ -z "$made_gwbridge" ] || ip link del docker_gwbridge 2>/dev/null || true
  [ -z "$bridge" ] || ip link del "$bridge" 2>/dev/null || true
  made_gwbridge="" bridge=""
}

swarm_cleanup() {
  local rc=$?
  stop_load >/dev/null 2>&1 || true
  if [ -n "$dockerd_pid" ]; then
    [ $rc -eq 0 ] || show_diagnostics
    compose down --volumes --remove-orphans --timeout 5 >/dev/null 2>&1 || true
    docker stack rm "$stack" >/dev/null 2>&1 || true
  fi
  stop_swarm_dockerd
  remove_docker_tmp
}

show_diagnostics() {
  echo "--- services"; docker service ls 2>&1 || true
  echo "--- tasks"; docker service ps --no-trunc "${stack}_hash" 2>&1 | tail -15 || true
  echo "--- lb log (tail)"; docker service logs --raw "${stack}_lb" 2>&1 | tail -25 || true
  echo "--- dockerd log (tail)"; tail -20 "$tmp/dockerd.log" 2>/dev/null || true
}

# hash_server:test is the image docker_test.sh builds and saves in $CACHE_DIR.
build_images() {
  build_image_cached hash_server:test docker/Dockerfile
  build_image_cached hash_haproxy:swarm docker/haproxy.Dockerfile
  build_image_cached hash_prometheus:swarm docker/prometheus.Dockerfile
  docker tag hash_server:test hash_server
  docker tag hash_haproxy:swarm hash_haproxy
  docker tag hash_prometheus:swarm hash_prometheus
}

# ---- replicas ----------------------------------------------------------------
replicas() {
  docker ps -q --filter "label=com.docker.swarm.service.name=${stack}_hash" --filter status=running "$@"
}
replica_count() { replicas "$@" | wc -l; }

# replica_metrics CONTAINER: the replica's /metrics, read inside its own
# network namespace (the overlay is not routed to the host).
replica_metrics() {
  local pid
  pid=$(docker inspect -f '{{.State.Pid}}' "$1" 2>/dev/null) || return 0
  nsenter -t "$pid" -n curl -sf --max-time 3 http://127.0.0.1:8180/metrics 2>/dev/null || true
}
# replica_requests CONTAINER: the replica's successful requests.
replica_requests() {
  replica_metrics "$1" |
    awk '$1 ~ /^hash_server_requests_total\{/ && $1 ~ /outcome="ok"/ { s += $2 } END { printf "%d\n", s }'
}
# proxy_header_errors CONTAINER: connections the replica closed for a missing
# or bad PROXY header.
proxy_header_errors() {
  replica_metrics "$1" | awk '$1 == "hash_server_proxy_header_errors_total" { print $2 }'
}

# lb_servers_up: how many servers HAProxy's backend has UP, from its stats page,
# read inside the LB's network namespace. Docker calls a replica healthy before
# HAProxy has resolved it and seen its first check pass; until then HAProxy
# sends everything to the other one.
lb_servers_up() {
  local lb pid
  lb=$(docker ps -q --filter "label=com.docker.swarm.service.name=${stack}_lb" --filter status=running | head -1)
  pid=$(docker inspect -f '{{.State.Pid}}' "$lb" 2>/dev/null) || { echo 0; return 0; }
  nsenter -t "$pid" -n curl -sf --max-time 3 'http://127.0.0.1:8404/stats;csv' 2>/dev/null |
    awk -F, '$1 == "hash_servers" && $2 ~ /^hash/ && $18 ~ /^UP/ { n++ } END { print n + 0 }'
}

# counts [CONTAINERS...]: "container requests" lines, the running replicas by default.
counts() {
  local c
  [ $# -gt 0 ] || set -- $(replicas)
  for c in "$@"; do echo "$c $(replica_requests "$c")"; done
}

# all_serving N: N replicas run and each served at least 5 requests in the
# last second (its health check sends one every 2 s, so this is the LB's traffic).
all_serving() {
  local before after
  before=$(counts $(replicas))
  [ "$(wc -l <<<"$before")" -eq "$1" ] || return 1
  sleep 1
  after=$(counts $(awk '{ print $1 }' <<<"$before"))
  join <(sort <<<"$before") <(sort <<<"$after") | awk -v n="$1" '$3 - $2 >= 5 { k++ } END { exit k != n }'
}

# ---- the stack -----------------------------------------------------------------
deploy_stack() {
  lb_port=$(free_port) && prom_port=$(free_port) || fail "no free port"
  HASH_PORT=$lb_port HASH_PROMETHEUS_PORT=$prom_port \
    docker stack deploy --resolve-image never -c "$SOURCE_DIR/docker/stack.yaml" "$stack" >"$tmp/deploy.log" 2>&1 ||
    { cat "$tmp/deploy.log"; fail "docker stack deploy failed"; }
  wait_until 120 stack_ready || fail "the stack did not come up within 120 s"
  note "stack deployed: 2 healthy replicas, HAProxy on $lb_port, Prometheus on $prom_port"
}
stack_ready() {
  [ "$(replica_count --filter health=healthy)" -eq 2 ] && [ "$(lb_servers_up)" -eq 2 ] &&
    [ "$(printf 'hello world\n' | timeout 5 "$HASH_CLIENT" --timeout 3 --protocol stream "$lb_port" 2>/dev/null)" = 782e1488cd5a68b7 ]
}

# check_vectors WHAT PORT: the tutorial's two vectors through the load balancer.
check_vectors() {
  local got
  got=$(printf 'hello world\n' | timeout 10 nc -N 127.0.0.1 "$2") || true
  [ "$got" = 782e1488cd5a68b7 ] || fail "$1: nc 'hello world': got '$got'"
  got=$(hash_request "$2" $'test data 123\n' --protocol stream) || true
  [ "$got" = daf63590896c6e23 ] || fail "$1: hash_client 'test data 123': got '$got'"
  note "$1: both tutorial vectors through HAProxy on $2"
}

# ---- the load client -----------------------------------------------------------
# start_load NAME LOAD-CLIENT-ARGS...: in the background until stop_load.
start_load() {
  load_name=$1; shift
  rm -f "$tmp/$load_name.json" "$tmp/$load_name.stop" "$tmp/$load_name.ready"
  python3 "$here/load_client.py" --port "$lb_port" --out "$tmp/$load_name.json" \
    --stop-file "$tmp/$load_name.stop" --ready-file "$tmp/$load_name.ready" "$@" &
  load_pid=$!
  wait_until 30 test -e "$tmp/$load_name.ready" || fail "$load_name: the load client did not start"
}
stop_load() {
  [ -n "$load_pid" ] || return 0
  touch "$tmp/$load_name.stop"
  local i
  for i in $(seq 300); do kill -0 "$load_pid" 2>/dev/null || break; sleep 0.1; done
  kill "$load_pid" 2>/dev/null || true
  wait "$load_pid" 2>/dev/null || true
  load_pid=""
  [ -s "$tmp/$load_name.json" ] || fail "$load_name: no summary from the load client"
}
# load_field NAME FIELD
load_field() { jq -r ".$2" "$tmp/$1.json"; }
load_summary() {
  jq -r '"\(.ok_small) small + \(.ok_big) large replies right, \(.failed) failed, \(.wrong) wrong in \(.seconds) s"' "$tmp/$1.json"
}
# expect_no_failure NAME: every reply of that load came and was right.
expect_no_failure() {
  if [ "$(load_field "$1" failed)" != 0 ] || [ "$(load_field "$1" wrong)" != 0 ]; then
    jq -c '.errors[]' "$tmp/$1.json" | head -10
    fail "$1: $(load_summary "$1")"
  fi
}

# ---- the checks ----------------------------------------------------------------
check_spread() {
  local n=$1 before after spread
  before=$(counts)
  [ "$(wc -l <<<"$before")" -eq 2 ] || fail "spread: want 2 replicas, found: $before"
  start_load spread --count "$n" --rate 0 --threads 8
  wait "$load_pid" 2>/dev/null || true
  load_pid=""
  expect_no_failure spread
  [ "$(load_field spread ok_small)" = "$n" ] || fail "spread: $(load_summary spread)"
  after=$(counts $(awk '{ print $1 }' <<<"$before"))
  spread=$(join <(sort <<<"$before") <(sort <<<"$after") | awk '{ printf "%s+%d ", substr($1, 1, 6), $3 - $2 }')
  join <(sort <<<"$before") <(sort <<<"$after") |
    awk -v min=$((n / 4)) '$3 - $2 < min { bad = 1 } END { exit bad }' ||
    fail "spread: $n requests did not reach every replica (each should see about half): $spread"
  note "$n requests through HAProxy ($(load_field spread seconds) s), per replica: $spread"
  local c
  for c in $(replicas); do
    [ "$(proxy_header_errors "$c")" = 0 ] || fail "replica ${c:0:12}: PROXY header errors: $(proxy_header_errors "$c")"
  done
  note "every connection from HAProxy began with a valid PROXY header (no replica counted an error)"
}

check_scale() {
  start_load scale --rate 200 --threads 4
  local t0=$SECONDS
  docker service scale --detach "${stack}_hash=5" >/dev/null
  wait_until 30 all_serving 5 || fail "scale: 5 replicas not all serving within 30 s: $(counts | tr '\n' ' ')"
  note "scaled to 5: every replica served within $((SECONDS - t0)) s"
  t0=$SECONDS
  timeout 120 "$docker_bin" service scale "${stack}_hash=2" >/dev/null 2>&1 || fail "scale back to 2 did not converge"
  wait_until 30 test "$(replica_count)" -eq 2 || fail "scale: still $(replica_count) replicas"
  sleep 1
  stop_load
  expect_no_failure scale
  note "scaled back to 2 in $((SECONDS - t0)) s; under load all along: $(load_summary scale)"
}

check_rolling_update() {
  local old t0
  old=$(replicas | sort)
  start_load rolling --rate 300 --threads 8 --big 2
  sleep 1
  t0=$SECONDS
  timeout 240 "$docker_bin" service update --force --no-resolve-image --detach=false "${stack}_hash" >"$tmp/update.log" 2>&1 ||
    { tail -5 "$tmp/update.log"; fail "docker service update --force failed"; }
  sleep 1
  stop_load
  [ -z "$(comm -12 <(echo "$old") <(replicas | sort))" ] || fail "rolling update: old replicas still run"
  expect_no_failure rolling
  [ "$(load_field rolling ok_big)" -gt 0 ] || fail "rolling update: no large upload finished"
  note "rolling update in $((SECONDS - t0)) s under load: $(load_summary rolling)"
}

check_healing() {
  local victim t0 killed_at late
  start_load healing --rate 300 --threads 8 --big 1
  sleep 1
  victim=$(replicas | head -1)
  t0=$SECONDS
  killed_at=$(date +%s.%N)
  docker kill "$victim" >/dev/null
  replaced() { ! replicas | grep -q "^$victim" && all_serving 2; }
  wait_until 60 replaced || fail "healing: the killed replica was not replaced within 60 s"
  note "killed replica ${victim:0:12}: replaced and serving after $((SECONDS - t0)) s"
  stop_load
  note "healing under load: $(load_summary healing)"
  jq -c '.errors[]' "$tmp/healing.json" | head -5
  [ "$(load_field healing wrong)" = 0 ] || fail "healing: wrong replies"
  # Only requests in flight on the killed replica may fail, and they fail at
  # once; one that fails later was sent after the kill, which HAProxy's
  # retries should have saved. The bound: one request per client thread.
  late=$(jq --argjson k "$killed_at" '[.errors[] | select(.kind == "failed" and .t > $k + 1)] | length' "$tmp/healing.json")
  [ "$late" = 0 ] || fail "healing: $late requests failed more than 1 s after the kill"
  [ "$(load_field healing failed)" -le 9 ] ||
    fail "healing: $(load_field healing failed) failed requests, more than were in flight"
}

prom_query() {
  curl -sf --max-time 5 -G "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1"
}
prometheus_sees_all() {
  local n
  n=$(replica_count)
  [ "$(prom_query 'count(up{job="hash_server"} == 1)' | jq -r '.data.result[0].value[1]')" = "$n" ] &&
    [ "$(prom_query 'count(up{job="hash_server"})' | jq -r '.data.result[0].value[1]')" = "$n" ] &&
    [ "$(prom_query 'up{job="haproxy"}' | jq -r '.data.result[0].value[1]')" = 1 ]
}
check_prometheus() {
  wait_until 40 prometheus_sees_all ||
    fail "prometheus: not every replica up: $(prom_query up | jq -c '[.data.result[] | [.metric.instance, .value[1]]]')"
  local per
  per=$(prom_query 'sum by (instance) (hash_server_requests_total)' |
    jq -r '[.data.result[] | "\(.metric.instance)=\(.value[1])"] | join(" ")')
  note "prometheus: every replica and HAProxy up == 1; requests by replica: $per"
}

remove_stack() {
  docker stack rm "$stack" >/dev/null
  stack_gone() {
    [ -z "$(docker ps -aq --filter "label=com.docker.stack.namespace=$stack")" ] &&
      [ -z "$(docker network ls -q --filter "label=com.docker.stack.namespace=$stack")" ]
  }
  wait_until 60 stack_gone || fail "docker stack rm: containers or networks left"
  docker swarm leave --force >/dev/null
  note "stack removed, swarm left"
}

# ---- compose -------------------------------------------------------------------
compose() {
  timeout 300 docker-compose --ansi never -p "$compose_project" -f "$SOURCE_DIR/docker/compose.yaml" "$@"
}
compose_replicas() {
  docker ps -q --filter "label=com.docker.compose.project=$compose_project" \
    --filter label=com.docker.compose.service=hash --filter status=running "$@"
}
compose_ready() {
  [ "$(compose_replicas --filter health=healthy | wc -l)" -eq 3 ] &&
    [ "$(printf 'hello world\n' | timeout 5 "$HASH_CLIENT" --timeout 3 --protocol stream "$lb_port" 2>/dev/null)" = 782e1488cd5a68b7 ]
}
check_compose() {
  lb_port=$(free_port) && prom_port=$(free_port) || fail "no free port"
  export HASH_PORT=$lb_port HASH_PROMETHEUS_PORT=$prom_port
  # Debian's docker.io has no Compose plugin; where one is installed, it must read the file too.
  if "$docker_bin" compose version >/dev/null 2>&1; then
    "$docker_bin" compose -f "$SOURCE_DIR/docker/compose.yaml" config -q || fail "docker compose (the plugin) rejects compose.yaml"
  fi
  compose up -d --no-build >"$tmp/compose-up.log" 2>&1 || { cat "$tmp/compose-up.log"; fail "docker-compose up failed"; }
  wait_until 90 compose_ready || fail "compose: 3 healthy replicas behind HAProxy not within 90 s"
  check_vectors compose "$lb_port"
  local victim
  victim=$(compose_replicas | head -1)
  docker stop "$victim" >/dev/null
  start_load compose --count 300 --rate 0 --threads 4
  wait "$load_pid" 2>/dev/null || true
  load_pid=""
  expect_no_failure compose
  note "compose: one replica stopped, the other two answered: $(load_summary compose)"
  compose down --volumes --remove-orphans --timeout 15 >"$tmp/compose-down.log" 2>&1 ||
    { cat "$tmp/compose-down.log"; fail "docker-compose down failed"; }
  [ -z "$(docker ps -aq --filter "label=com.docker.compose.project=$compose_project")" ] || fail "compose down left containers"
  note "compose: up, answered, down"
}
