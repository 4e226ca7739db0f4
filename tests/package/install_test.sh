#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# The .deb installed in a clean Debian 12 container, on the Docker test's
# engine (a dockerd of the test's own and its base image, made by mmdebstrap
# and cached in $CACHE_DIR: tests/ops/docker_lib.sh). apt installs the
# package and its Depends from the mirror; then the installed hash_server
# serves the tutorial vector to the installed hash_client, the conffile is
# registered, and a purge removes it all. (deb_test.sh renders the man pages.)
# Exits 77 (skipped) only when docker cannot be installed on this machine at all.
set -euo pipefail
ops=$(cd "$(dirname "$0")/../ops" && pwd)
source "$ops/lib.sh"
source "$ops/docker_lib.sh"
: "${BUILD_DIR:?}" "${PROJECT_VERSION:?}" "${CACHE_DIR:?}"

docker_require_tools
docker_use_tmp hash_server_install
cleanup() {
  local rc=$?
  if [ -n "$dockerd_pid" ]; then
    [ $rc -eq 0 ] || { echo "--- dockerd log (tail)"; tail -20 "$tmp/dockerd.log" 2>/dev/null || true; }
    docker rm -f hs_install >/dev/null 2>&1 || true
  fi
  stop_dockerd
  remove_docker_tmp
}
trap cleanup EXIT

cmake --build "$BUILD_DIR" --target package >"$tmp/build.log" 2>&1 || fail "package build: $(tail -20 "$tmp/build.log")"
deb=$BUILD_DIR/hash-server_${PROJECT_VERSION}_amd64.deb
[ -s "$deb" ] || fail "no $deb"
cp "$deb" "$tmp/hash-server.deb"

ensure_base_tarball
start_dockerd --iptables=false --ip-masq=false --bridge=none
import_base_image
# A clean container that stays up; every step below is a `docker exec` in it.
# Host networking: apt reaches the mirror, and the test reaches nothing else.
docker run -d --name hs_install --network host -v "$tmp/hash-server.deb:/tmp/hash-server.deb:ro" \
  debian:bookworm-slim sleep 600 >/dev/null || fail "docker run of the clean base image failed"
in_box() { docker exec hs_install "$@"; }
if in_box test -e /usr/bin/hash_server; then fail "the base image already has hash_server"; fi

in_box sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  /tmp/hash-server.deb" >"$tmp/apt.log" 2>&1 || fail "apt-get install: $(tail -20 "$tmp/apt.log")"
note "installed $(basename "$deb") and its Depends in a clean bookworm container"

in_box hash_server --version | grep -q "^hash_server $PROJECT_VERSION (commit " || fail "installed --version"
in_box dpkg-query -W -f='${Conffiles}\n' hash-server | grep -q '^ /etc/default/hash-server [0-9a-f]' ||
  fail "conffile not registered: $(in_box dpkg-query -W -f='${Conffiles}' hash-server)"
for f in /lib/systemd/system/hash-server.service /lib/systemd/system/hash-server.socket \
  /usr/share/doc/hash-server/copyright; do
  in_box test -f "$f" || fail "$f not installed"
done
for page in hash_server hash_client; do
  in_box test -f "/usr/share/man/man1/$page.1.gz" || fail "man page $page(1) not installed"
done
note "--version, the conffile, the units, the copyright and both man pages are in place"

port=$(free_port) || fail "no free port"
docker exec -d hs_install sh -c "echo \$\$ >/tmp/server.pid; exec hash_server $port >/tmp/server.out 2>/tmp/server.log"
listening() { in_box grep -q "^Hash server listening on port $port\$" /tmp/server.out; }
wait_until 10 listening || fail "no banner: $(in_box cat /tmp/server.log)"
reply=$(in_box sh -c "printf 'hello world\n' | hash_client --timeout 10 $port") || fail "hash_client: exit $?"
[ "$reply" = 782e1488cd5a68b7 ] || fail "installed server and client: '$reply'"
in_box sh -c 'kill -TERM "$(cat /tmp/server.pid)"' || fail "cannot signal the installed server"
gone() { ! in_box sh -c 'kill -0 "$(cat /tmp/server.pid)" 2>/dev/null'; }
wait_until 10 gone || fail "the installed server did not stop on SIGTERM"
note "the installed hash_server answered the installed hash_client: $reply"

in_box dpkg --purge hash-server >"$tmp/purge.log" 2>&1 || fail "purge: $(cat "$tmp/purge.log")"
for f in /usr/bin/hash_server /etc/default/hash-server /lib/systemd/system/hash-server.service; do
  if in_box test -e "$f"; then fail "$f left after purge"; fi
done
note "PASS: installed in a clean Debian 12 container, served, purged"
