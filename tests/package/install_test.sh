#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# The .deb installed on a clean Debian 12: the Docker test's base image (the
# same mmdebstrap tarball, cached in $CACHE_DIR) unpacked as a chroot, where
# apt installs the package and its Depends from the mirror; then the
# installed hash_server serves the tutorial vector to the installed
# hash_client, the conffile is registered, and a purge removes it all.
# A chroot, not a container: the root file system is what is being tested,
# and it needs no dockerd. Exits 77 (skipped) when not root.
set -euo pipefail
source "$(cd "$(dirname "$0")/../ops" && pwd)/lib.sh"
: "${BUILD_DIR:?}" "${PROJECT_VERSION:?}" "${CACHE_DIR:?}"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: chroot needs root"; exit 77; }

use_test_dir install_test
before_cleanup() { [ -z "${server_pid:-}" ] || kill "$server_pid" 2>/dev/null || true; }
cmake --build "$BUILD_DIR" --target package >"$tmp/build.log" 2>&1 || fail "package build: $(tail -20 "$tmp/build.log")"
deb=$BUILD_DIR/hash-server_${PROJECT_VERSION}_amd64.deb

base_tar=$CACHE_DIR/bookworm-apt.tar
if [ ! -s "$base_tar" ]; then
  command -v mmdebstrap >/dev/null || fail "no $base_tar and no mmdebstrap (scripts/deps/ops.txt)"
  mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
  mkdir -p "$CACHE_DIR"
  note "mmdebstrap --variant=apt bookworm ${mirror:-(default mirror)} (cached in $base_tar)"
  mmdebstrap --quiet --format=tar --variant=apt bookworm "$base_tar.part" ${mirror:+"$mirror"} >"$tmp/mm.log" 2>&1 ||
    { tail -20 "$tmp/mm.log"; fail "mmdebstrap failed"; }
  mv "$base_tar.part" "$base_tar"
fi
root=$tmp/root
mkdir "$root"
tar -xf "$base_tar" -C "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
cp "$deb" "$root/tmp/"
in_root() { timeout 300 chroot "$root" "$@"; }
[ ! -e "$root/usr/bin/hash_server" ] || fail "the base image already has hash_server"

in_root sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  /tmp/$(basename "$deb")" >"$tmp/apt.log" 2>&1 || fail "apt-get install: $(tail -20 "$tmp/apt.log")"
note "installed $(basename "$deb") and its Depends on a clean bookworm"

in_root hash_server --version | grep -q "^hash_server $PROJECT_VERSION (commit " || fail "installed --version"
in_root dpkg-query -W -f='${Conffiles}\n' hash-server | grep -q '^ /etc/default/hash-server [0-9a-f]' ||
  fail "conffile not registered: $(in_root dpkg-query -W -f='${Conffiles}' hash-server)"
for f in /lib/systemd/system/hash-server.service /lib/systemd/system/hash-server.socket \
  /usr/share/man/man1/hash_server.1.gz /usr/share/doc/hash-server/copyright; do
  [ -f "$root$f" ] || fail "$f not installed"
done

chroot "$root" hash_server 0 >"$tmp/server.out" 2>"$tmp/server.log" &
server_pid=$!
wait_until 10 grep -q '^Hash server listening on port ' "$tmp/server.out" || fail "no banner: $(cat "$tmp/server.log")"
port=$(sed -n 's/^Hash server listening on port \([0-9]*\)$/\1/p' "$tmp/server.out")
reply=$(in_root sh -c "printf 'hello world\n' | hash_client --timeout 10 $port") || fail "hash_client: exit $?"
[ "$reply" = 782e1488cd5a68b7 ] || fail "installed server and client: '$reply'"
kill -TERM "$server_pid"
wait "$server_pid" || fail "installed server: exit $? after SIGTERM"
server_pid=""
note "the installed hash_server answered the installed hash_client: $reply"

in_root dpkg --purge hash-server >"$tmp/purge.log" 2>&1 || fail "purge: $(cat "$tmp/purge.log")"
for f in /usr/bin/hash_server /etc/default/hash-server /lib/systemd/system/hash-server.service; do
  [ ! -e "$root$f" ] || fail "$f left after purge"
done
note "PASS: installed on a clean Debian 12, served, purged"
