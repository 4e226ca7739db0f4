#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# hash_client on its own, against real servers: what it prints and its exit
# status (0 a good reply, 1 no or a malformed reply, 2 an ERR reply or not the
# --expect'ed digest), for each protocol, from stdin and from a file.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
: "${HASH_SERVER:?}" "${HASH_CLIENT:?}"

use_test_dir hash_client_test

client() { timeout 60 "$HASH_CLIENT" --timeout 30 "$@"; }
# expect_status WANT COMMAND...: runs COMMAND, fails unless it exits WANT.
expect_status() {
  local want=$1 got=0; shift
  "$@" >"$tmp/out" 2>"$tmp/err" || got=$?
  [ "$got" -eq "$want" ] || fail "'$*' exited $got, want $want; stdout: $(cat "$tmp/out"); stderr: $(cat "$tmp/err")"
}

start_server "$tmp" oneshot
pids+=("$server_pid"); oneshot=$server_port
start_server "$tmp" stream --protocol stream --max-stream-bytes 1M
pids+=("$server_pid"); stream=$server_port
start_server "$tmp" lines --protocol lines --max-line 16
pids+=("$server_pid"); lines=$server_port

# The tutorial's vectors, from stdin.
[ "$(printf 'hello world\n' | client "$oneshot")" = 782e1488cd5a68b7 ] || fail "oneshot: hello world"
[ "$(printf 'test data 123\n' | client "$oneshot")" = daf63590896c6e23 ] || fail "oneshot: test data 123"
[ "$(printf 'hello world\n' | client --protocol stream "$stream")" = 782e1488cd5a68b7 ] || fail "stream: hello world"
expect_status 0 client --expect 782e1488cd5a68b7 "$oneshot" < <(printf 'hello world\n')
expect_status 2 client --expect 0000000000000000 "$oneshot" < <(printf 'hello world\n')

# A file bigger than any socket buffer, stream: the same digest as stdin
# (a pipe), and the same as when the file arrives in one piece through nc.
head -c 700000 /dev/urandom >"$tmp/file"
from_file=$(client --protocol stream "$stream" "$tmp/file")
from_pipe=$(cat "$tmp/file" | client --protocol stream "$stream")
from_nc=$(timeout 30 nc -N 127.0.0.1 "$stream" <"$tmp/file")
[[ "$from_file" =~ ^[0-9a-f]{16}$ ]] || fail "stream file: '$from_file'"
[ "$from_file" = "$from_pipe" ] && [ "$from_file" = "$from_nc" ] ||
  fail "stream: file $from_file, pipe $from_pipe, nc $from_nc"
# Over --max-stream-bytes: the server's ERR line, exit 2.
head -c 2000000 /dev/zero >"$tmp/big"
expect_status 2 client --protocol stream "$stream" "$tmp/big"
grep -q '^ERR ' "$tmp/out" || fail "stream: no ERR line printed for an upload over the limit"

# Lines: one digest per line, the last one without "\n" too; 5000 pipelined
# lines while the replies come back; a line over --max-line: exit 2.
[ "$(printf 'a\nb\nc' | client --protocol lines "$lines" | wc -l)" -eq 3 ] || fail "lines: 3 digests"
[ "$(seq 1 5000 | client --protocol lines "$lines" | wc -l)" -eq 5000 ] || fail "lines: 5000 digests"
[ "$(printf 'hello world\n' | client --protocol lines "$lines")" = 782e1488cd5a68b7 ] || fail "lines: hello world"
expect_status 2 client --protocol lines "$lines" < <(printf 'short\nthis line is longer than sixteen\n')

# Nobody listening, a bad port, a missing file: exit 1 with a message.
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
expect_status 1 client "$lines" </dev/null
grep -q 'Connection refused' "$tmp/err" || fail "no 'Connection refused' message: $(cat "$tmp/err")"
expect_status 1 client 70000 </dev/null
expect_status 1 client "$oneshot" "$tmp/no such file"
expect_status 0 client --help
note "PASS: hash_client prints digests and reports ERR, mismatches and failures by its exit status"
