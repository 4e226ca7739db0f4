#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# docker/stack.yaml on a single-node Docker Swarm, and docker/compose.yaml
# with docker-compose, both started for real by a dockerd of the test's own
# (with a bridge of its own, so that containers have networks):
#  - through HAProxy (host-mode port, replicas found by DNS): the tutorial
#    vectors, and 2000 requests spread over every replica (each replica's
#    hash_server_requests_total, read inside its network namespace);
#  - scale to 5: every replica serves within 30 s; back to 2: no failed request;
#  - rolling update under load (small requests and multi-MB uploads): no failed
#    or wrong reply;
#  - one replica killed under load: replaced, back in rotation, failures counted;
#  - Prometheus (the real server) scrapes every replica and HAProxy: up == 1;
#  - compose: up, vectors, one replica stopped and still answered, down.
# Exits 77 (skipped) only when docker cannot be installed on this machine at all.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../ops/lib.sh"
source "$here/../ops/docker_lib.sh"
source "$here/swarm_lib.sh"
: "${HASH_CLIENT:?}" "${SOURCE_DIR:?}" "${CACHE_DIR:?}"
t_start=$SECONDS
declare -A took
step_start=$SECONDS
step() { took[$1]=$((SECONDS - step_start)); step_start=$SECONDS; }

docker_require_tools
for tool in nsenter curl jq python3 docker-compose ip; do
  command -v "$tool" >/dev/null || fail "$tool not found: run scripts/install-deps.sh ops"
done
docker_use_tmp hash_server_swarm
trap swarm_cleanup EXIT

ensure_base_tarball
start_swarm_dockerd
step dockerd
import_base_image
build_images
step images

deploy_stack
step deploy
check_vectors "stack" "$lb_port"
check_spread 2000
step vectors_and_spread
check_scale
step scale
check_rolling_update
step rolling_update
check_healing
step healing
check_prometheus
step prometheus
remove_stack
step stack_rm
check_compose
step compose
stop_swarm_dockerd
step teardown

summary=""
for s in dockerd images deploy vectors_and_spread scale rolling_update healing prometheus stack_rm compose teardown; do
  summary+="$s ${took[$s]}s, "
done
note "PASS in $((SECONDS - t_start)) s (${summary%, })"
