#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Builds docker/Dockerfile and runs the image, for real, with a dockerd of the
# test's own (no engine runs by default here, and no registry is reachable):
#  - base image: `mmdebstrap --variant=apt bookworm` from the Debian mirror apt
#    uses, imported as debian:bookworm-slim (tarball cached in $CACHE_DIR);
#  - dockerd in the background, all its state in a temporary folder;
#  - docker build --network host; docker run --network host;
#  - both tutorial vectors against the container, `--protocol stream` too,
#    the health status (a real request by hash_client), a non-root user,
#    `docker stop` (SIGTERM to PID 1): exit code 0, long before the 10 s kill;
#  - TLS with a certificate and key mounted into the container (`docker run
#    -v`): the tutorial vector over TLS, and the container healthy;
#  - the HAProxy image of docker/compose.yaml builds and accepts its config;
#    compose.yaml passes docker-compose's schema check.
# Exits 77 (skipped) only when docker cannot be installed on this machine at all.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
source "$here/docker_lib.sh"
: "${HASH_SERVER:?}" "${HASH_CLIENT:?}" "${SOURCE_DIR:?}" "${CACHE_DIR:?}"
t_start=$SECONDS
declare -A took
step() { took[$1]=$((SECONDS - step_start)); step_start=$SECONDS; }
step_start=$SECONDS

# ---- tools -------------------------------------------------------------------
docker_require_tools
docker_use_tmp hash_server_docker
cleanup() {
  local rc=$?
  if [ -n "$dockerd_pid" ]; then
    [ $rc -eq 0 ] || { echo "--- dockerd log (tail)"; tail -20 "$tmp/dockerd.log" 2>/dev/null || true; }
    docker rm -f hs_main hs_stream hs_tls >/dev/null 2>&1 || true
  fi
  stop_dockerd
  remove_docker_tmp
}
trap cleanup EXIT

# ---- the base image tarball (cached) ----------------------------------------
ensure_base_tarball
step base_tarball

# ---- dockerd -----------------------------------------------------------------
# --ip-forward=false: dockerd would otherwise turn on the host's net.ipv4.ip_forward.
start_dockerd --iptables=false --ip-masq=false --ip-forward=false --bridge=none
step dockerd

docker import "$base_tar" debian:bookworm-slim >/dev/null
step import

# ---- build ---------------------------------------------------------------------
note "docker build (hash_server image)"
# Saved in $CACHE_DIR for the swarm test (and loaded from there while its inputs are unchanged).
build_image_cached hash_server:test docker/Dockerfile
step build
# The build context is small: .dockerignore keeps build directories out.
context=$(sed -n 's/^Sending build context to Docker daemon *//p' "$tmp/build-hash_server_test.log" 2>/dev/null | tail -1 || true)
note "image ready (build context: ${context:-none, loaded from the cache})"

[ "$(docker inspect -f '{{.Config.User}}' hash_server:test)" = hash ] || fail "the image does not run as user hash"
docker inspect -f '{{json .Config.ExposedPorts}}' hash_server:test | grep -q '"8080/tcp"' || fail "8080 not exposed"
[ "$(docker inspect -f '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' hash_server:test)" = '["hash_server","--metrics-bind","0.0.0.0","--state-file","/run/hash-server/state"] ["8080"]' ] ||
  fail "ENTRYPOINT/CMD: $(docker inspect -f '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' hash_server:test)"

# ---- run -----------------------------------------------------------------------
banner() { docker logs "$1" 2>/dev/null | grep -q "^Hash server listening on port $2\$"; }
healthy() { [ "$(docker inspect -f '{{.State.Health.Status}}' "$1")" = healthy ]; }

port=$(free_port) || fail "no free port"
docker run -d --name hs_main --network host --health-interval 1s --health-start-period 1s \
  hash_server:test "$port" >/dev/null
wait_until 30 banner hs_main "$port" || fail "no banner: $(docker logs hs_main 2>&1 | tail -5)"
[ "$(hash_request "$port" $'hello world\n')" = 782e1488cd5a68b7 ] || fail "hello world: wrong digest"
[ "$(hash_request "$port" $'test data 123\n')" = daf63590896c6e23 ] || fail "test data 123: wrong digest"
[ "$(printf 'hello world\n' | timeout 10 nc -q1 127.0.0.1 "$port")" = 782e1488cd5a68b7 ] || fail "nc: wrong digest"
note "both tutorial vectors from the container on $port"
[ "$(docker exec hs_main id -u)" != 0 ] || fail "the server runs as root"
docker exec hs_main cat /proc/1/cmdline | tr '\0' ' ' | grep -q "^hash_server --metrics-bind 0.0.0.0 --state-file /run/hash-server/state $port " ||
  fail "PID 1 is not hash_server: $(docker exec hs_main cat /proc/1/cmdline | tr '\0' ' ')"

# `docker run IMAGE PORT --protocol stream --hash=sha256`: options after the
# image name, the port before them; the health check must follow both.
port2=$(free_port) || fail "no free port"
docker run -d --name hs_stream --network host --health-interval 1s --health-start-period 1s \
  hash_server:test "$port2" --protocol stream --hash=sha256 >/dev/null
wait_until 30 banner hs_stream "$port2" || fail "stream: no banner: $(docker logs hs_stream 2>&1 | tail -5)"
start_server "$tmp" reference --protocol stream --hash sha256
ref_pid=$server_pid ref_port=$server_port
head -c 3000000 /dev/urandom >"$tmp/payload"
got=$(timeout 30 "$HASH_CLIENT" --timeout 20 --protocol stream "$port2" "$tmp/payload")
want=$(timeout 30 "$HASH_CLIENT" --timeout 20 --protocol stream "$ref_port" "$tmp/payload")
kill "$ref_pid"; wait "$ref_pid" || true
[ -n "$got" ] && [ "$got" = "$want" ] || fail "stream: 3 MB digest from the container '$got', from the host build '$want'"
note "--protocol stream --hash=sha256 in the container: 3 MB hashed like the host build does"

wait_until 60 healthy hs_main || fail "hs_main never healthy: $(docker inspect -f '{{json .State.Health}}' hs_main)"
wait_until 60 healthy hs_stream || fail "hs_stream never healthy: $(docker inspect -f '{{json .State.Health}}' hs_stream)"
docker inspect -f '{{range .State.Health.Log}}{{.ExitCode}} {{end}}' hs_main | grep -q '^0' ||
  fail "health log: $(docker inspect -f '{{json .State.Health.Log}}' hs_main)"
note "both containers healthy (hash_client --check, from each server's state file)"
step run_and_check

# ---- TLS: a certificate and key mounted into the container ----------------------
# The server runs as user hash (uid 10001): the mounted key must be readable by it.
mkdir -p "$tmp/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$tmp/tls/key.pem" -out "$tmp/tls/cert.pem" 2>/dev/null ||
  fail "openssl req failed"
chmod 755 "$tmp/tls" && chmod 644 "$tmp/tls/key.pem" "$tmp/tls/cert.pem"
port3=$(free_port) || fail "no free port"
docker run -d --name hs_tls --network host --health-interval 1s --health-start-period 1s \
  -v "$tmp/tls:/etc/hash-server/tls:ro" hash_server:test "$port3" \
  --tls-cert /etc/hash-server/tls/cert.pem --tls-key /etc/hash-server/tls/key.pem >/dev/null
wait_until 30 banner hs_tls "$port3" || fail "tls: no banner: $(docker logs hs_tls 2>&1 | tail -5)"
got=$(hash_request "$port3" $'hello world\n' --tls --tls-ca "$tmp/tls/cert.pem" --host localhost) || true
[ "$got" = 782e1488cd5a68b7 ] || fail "tls: hello world over TLS from the container: got '$got'"
got=$(hash_request "$port3" $'hello world\n' 2>/dev/null) || true # hash_client says why on stderr
[ "$got" != 782e1488cd5a68b7 ] || fail "tls: the container answered plaintext on its TLS port"
wait_until 60 healthy hs_tls || fail "hs_tls never healthy: $(docker inspect -f '{{json .State.Health}}' hs_tls)"
docker stop hs_tls >/dev/null
note "mounted certificate: hello world over TLS, plaintext refused, healthy (hash_client --check over TLS)"
step tls

# ---- docker stop: SIGTERM to PID 1 -------------------------------------------
# An idle client is connected: the drain closes it, it must not hold the stop.
(exec 3<>"/dev/tcp/127.0.0.1/$port"; sleep 15) &
idle_pid=$!
sleep 0.3
t0=$(date +%s%N)
docker stop hs_main >/dev/null
t1=$(date +%s%N)
stop_ms=$(((t1 - t0) / 1000000))
kill "$idle_pid" 2>/dev/null || true
wait "$idle_pid" 2>/dev/null || true
code=$(docker inspect -f '{{.State.ExitCode}}' hs_main)
note "docker stop took $stop_ms ms; exit code $code"
[ "$code" = 0 ] || fail "exit code $code after docker stop (137: SIGKILLed after the 10 s timeout)"
# docker's log copier may still hold the container's last stderr lines when
# `docker stop` returns: poll for the line instead of reading once.
logged_sigterm() { docker logs "$1" 2>&1 | grep -q 'received signal 15'; }
wait_until 10 logged_sigterm hs_main || fail "no 'received signal 15' in the log: $(docker logs hs_main 2>&1 | tail -5)"
# Generous: this only tells "stopped by our handler" from "killed after
# docker's 10 s timeout" (the exit code above says so too).
[ "$stop_ms" -lt 8000 ] || fail "docker stop took $stop_ms ms: SIGTERM was not handled at once"
docker stop hs_stream >/dev/null
[ "$(docker inspect -f '{{.State.ExitCode}}' hs_stream)" = 0 ] || fail "hs_stream: non-zero exit after docker stop"
step stop

# ---- the HAProxy image of docker/compose.yaml ----------------------------------
docker build --network host -t hash_haproxy:test -f "$SOURCE_DIR/docker/haproxy.Dockerfile" "$SOURCE_DIR" \
  >"$tmp/haproxy-build.log" 2>&1 || { tail -20 "$tmp/haproxy-build.log"; fail "haproxy image build failed"; }
docker run --rm --network host --add-host hash1:127.0.0.1 --add-host hash2:127.0.0.1 --add-host hash3:127.0.0.1 \
  hash_haproxy:test -c >"$tmp/haproxy-check.log" 2>&1 || { cat "$tmp/haproxy-check.log"; fail "haproxy -c in the image"; }
note "haproxy image built; docker/haproxy.cfg valid inside it"
# compose.yaml: checked against Compose's schema here (this dockerd has no
# bridge network); tests/swarm/ runs it.
command -v docker-compose >/dev/null || fail "docker-compose not found: run scripts/install-deps.sh ops"
(cd "$SOURCE_DIR/docker" && timeout 60 docker-compose -f compose.yaml config -q) || fail "docker-compose rejects docker/compose.yaml"
[ "$(cd "$SOURCE_DIR/docker" && timeout 60 docker-compose -f compose.yaml config --services | sort | tr '\n' ' ')" = "hash lb prometheus " ] ||
  fail "compose.yaml: want services hash lb prometheus"
step haproxy_image

docker rm hs_main hs_stream hs_tls >/dev/null
stop_dockerd
step teardown
summary=""
for s in base_tarball dockerd import build run_and_check tls stop haproxy_image teardown; do summary+="$s ${took[$s]}s, "; done
note "PASS in $((SECONDS - t_start)) s (${summary%, }); docker stop: $stop_ms ms"
