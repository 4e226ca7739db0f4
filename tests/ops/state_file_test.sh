#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# --state-file and `hash_client --check`: the check finds the server wherever
# its configuration came from and expects the digest in its algorithm; it
# fails once the server is gone (the file is removed at exit), and for a
# state file that points at the wrong algorithm.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
use_test_dir hs_state

check() { timeout 30 "$HASH_CLIENT" --check --state-file "$1" >/dev/null 2>"$tmp/check.err"; }

for hash in fnv1a xxh3 sha256; do
  for proto in oneshot stream lines; do
    state="$tmp/$hash-$proto.state"
    start_server "$tmp" "$hash-$proto" --protocol "$proto" --hash "$hash" --state-file "$state"
    grep -q "^port=$server_port\$" "$state" || fail "$state: no port=$server_port: $(cat "$state")"
    check "$state" || fail "--check failed for $proto/$hash: $(cat "$tmp/check.err")"
    kill "$server_pid"
    wait "$server_pid" || fail "$proto/$hash: exit status $? after SIGTERM"
    [ ! -e "$state" ] || fail "$state still there after a clean exit"
  done
done
note "--check healthy for every protocol and algorithm; the file is gone after exit"

# Configured by the environment only, bound to IPv6 loopback.
HASH_SERVER_PROTOCOL=lines HASH_SERVER_HASH=xxh3 HASH_SERVER_BIND=::1 \
  start_server "$tmp" env --state-file "$tmp/env.state"
grep -q '^host=::1$' "$tmp/env.state" || fail "host: $(cat "$tmp/env.state")"
check "$tmp/env.state" || fail "--check of a server configured by the environment: $(cat "$tmp/check.err")"
# The same file, lying about the algorithm: the digest does not match.
sed 's/^hash=.*/hash=sha256/' "$tmp/env.state" >"$tmp/lie.state"
if check "$tmp/lie.state"; then fail "--check passed with the wrong algorithm"; fi
grep -q "expected digest" "$tmp/check.err" || fail "wrong algorithm: $(cat "$tmp/check.err")"
kill "$server_pid"; wait "$server_pid" || true
if check "$tmp/lie.state"; then fail "--check passed with no server"; fi
if check "$tmp/env.state"; then fail "--check passed with the state file gone"; fi
note "--check follows the environment's configuration; fails for a wrong digest, no server, no file"

# Over TLS: the state file says so, and the check talks TLS (verifying the
# chain against --tls-ca when given; the address need not be the cert's name).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1 || fail "openssl req failed"
start_server "$tmp" tls --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem" --hash sha256 --state-file "$tmp/tls.state"
grep -q '^tls=on$' "$tmp/tls.state" || fail "tls: $(cat "$tmp/tls.state")"
check "$tmp/tls.state" || fail "--check over TLS: $(cat "$tmp/check.err")"
timeout 30 "$HASH_CLIENT" --check --state-file "$tmp/tls.state" --tls-ca "$tmp/cert.pem" >/dev/null ||
  fail "--check over TLS with --tls-ca failed"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=other \
  -keyout "$tmp/other-key.pem" -out "$tmp/other.pem" >/dev/null 2>&1 || fail "openssl req failed"
if timeout 30 "$HASH_CLIENT" --check --state-file "$tmp/tls.state" --tls-ca "$tmp/other.pem" >/dev/null 2>&1; then
  fail "--check over TLS trusted a certificate that --tls-ca does not sign"
fi
kill "$server_pid"; wait "$server_pid" || true
note "--check over TLS: served; a --tls-ca that did not sign the server's certificate fails it"

# Behind a balancer (--proxy-protocol): the check sends a LOCAL header first,
# over TCP and ahead of the TLS handshake; a client without one is not served.
for mode in plain tls; do
  tls_args=()
  [ "$mode" = plain ] || tls_args=(--tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem" --tls-min-version 1.3)
  start_server "$tmp" "proxy-$mode" --proxy-protocol "${tls_args[@]}" --protocol stream --state-file "$tmp/proxy.state"
  grep -q '^proxy_protocol=on$' "$tmp/proxy.state" || fail "proxy_protocol: $(cat "$tmp/proxy.state")"
  check "$tmp/proxy.state" || fail "--check with --proxy-protocol ($mode): $(cat "$tmp/check.err")"
  sed 's/^proxy_protocol=.*/proxy_protocol=off/' "$tmp/proxy.state" >"$tmp/noproxy.state"
  if check "$tmp/noproxy.state"; then fail "served without a PROXY header ($mode)"; fi
  kill "$server_pid"; wait "$server_pid" || true
done
note "--check with --proxy-protocol sends a LOCAL header (plain and TLS); without one it fails"

# A state file that cannot be written: exit 1 before serving, a clear message.
set +e
out=$("$HASH_SERVER" --state-file /nonexistent/dir/state 0 2>&1); code=$?
set -e
[ "$code" = 1 ] || fail "unwritable --state-file: exit $code"
[[ "$out" == *"--state-file"*"/nonexistent/dir/state"* ]] || fail "unwritable --state-file: $out"
[[ "$out" != *"Hash server listening"* ]] || fail "unwritable --state-file: it served anyway"
note "an unwritable --state-file: exit 1, no banner"
