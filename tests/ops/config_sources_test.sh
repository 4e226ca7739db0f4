#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# One configuration given three ways (command line, environment only, config
# file only) serves the same; the command line wins over the environment,
# which wins over the file; a Kubernetes Service's HASH_SERVER_PORT is not the
# port; a bad value names its source.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
use_test_dir hs_config

# launch NAME COMMAND...: starts a hash_server whose port comes from wherever
# COMMAND says; sets $port from its banner.
launch() {
  local name=$1; shift
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.log" &
  pids+=($!)
  wait_until 10 grep -q '^Hash server listening on port ' "$tmp/$name.out" ||
    fail "$name: no banner: $(cat "$tmp/$name.log")"
  port=$(sed -n 's/^Hash server listening on port \([0-9]*\)$/\1/p' "$tmp/$name.out")
}
ask() { printf 'hello world\nsecond\n' | timeout 30 "$HASH_CLIENT" --timeout 20 --protocol lines "$1"; }
clean_env=(env -u HASH_SERVER_CONFIG)

launch argv "${clean_env[@]}" "$HASH_SERVER" --protocol lines --hash xxh3 0
by_argv=$(ask "$port")
[ "$(echo "$by_argv" | wc -l)" = 2 ] || fail "two lines, two digests expected, got: $by_argv"

launch env "${clean_env[@]}" HASH_SERVER_PROTOCOL=lines HASH_SERVER_HASH=xxh3 HASH_SERVER_LISTEN_PORT=0 \
  HASH_SERVER_PORT=tcp://10.0.0.1:8080 HASH_SERVER_NOT_AN_OPTION=1 HASH_SERVER_IDLE_TIMEOUT= "$HASH_SERVER"
[ "$(ask "$port")" = "$by_argv" ] || fail "configured by the environment, it answers differently"
note "environment only: same answers (HASH_SERVER_PORT, an unknown and an empty variable ignored)"

cat >"$tmp/hash-server.conf" <<'CONF'
# hash_server --config
port = 0
protocol = lines
hash = "xxh3"
CONF
launch file "${clean_env[@]}" "$HASH_SERVER" --config "$tmp/hash-server.conf"
[ "$(ask "$port")" = "$by_argv" ] || fail "configured by --config, it answers differently"
launch file_from_env "${clean_env[@]}" HASH_SERVER_CONFIG="$tmp/hash-server.conf" "$HASH_SERVER"
[ "$(ask "$port")" = "$by_argv" ] || fail "configured by HASH_SERVER_CONFIG, it answers differently"
note "config file only: same answers"

# Precedence: the file says sha256, the environment xxh3, the command line fnv1a.
sed -i 's/^hash = .*/hash = sha256/' "$tmp/hash-server.conf"
launch p_file "${clean_env[@]}" "$HASH_SERVER" --config "$tmp/hash-server.conf"
by_file=$(ask "$port")
launch p_env "${clean_env[@]}" HASH_SERVER_HASH=xxh3 "$HASH_SERVER" --config "$tmp/hash-server.conf"
[ "$(ask "$port")" = "$by_argv" ] || fail "the environment (xxh3) did not win over the file (sha256)"
[ "$by_file" != "$by_argv" ] || fail "the file's sha256 was not used"
launch p_cli "${clean_env[@]}" HASH_SERVER_HASH=xxh3 "$HASH_SERVER" --config "$tmp/hash-server.conf" --hash fnv1a
first=$(ask "$port" | head -1)
[ "$first" = 782e1488cd5a68b7 ] || fail "the command line (fnv1a) did not win: $first"
note "precedence: command line > environment > file"

# A bad value names where it came from; exit status 1 before anything listens.
set +e
out=$("${clean_env[@]}" HASH_SERVER_LISTEN_PORT=0 HASH_SERVER_HASH=md5 "$HASH_SERVER" 2>&1); code=$?
set -e
[ "$code" = 1 ] || fail "bad HASH_SERVER_HASH: exit $code"
[[ "$out" == *"HASH_SERVER_HASH"*"md5"* ]] || fail "bad HASH_SERVER_HASH: message does not name it: $out"
note "bad values name their source: $(echo "$out" | head -1)"
