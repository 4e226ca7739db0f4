# SPDX-License-Identifier: BSL-1.0
# Shared by the shell tests in tests/ops/ (sourced, not run). Every wait is bounded.

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "[$(date -u +%H:%M:%S)] $*"; }

# use_test_dir NAME: makes $tmp, a fresh folder /tmp/NAME.XXXXXX, and an empty
# $pids; on exit, every process in $pids is killed and waited for, then $tmp is
# removed. A test that must do something first (e.g. tell its own background
# loops to stop) defines before_cleanup.
use_test_dir() {
  tmp=$(mktemp -d "/tmp/$1.XXXXXX")
  pids=()
  trap cleanup_test_dir EXIT
}
cleanup_test_dir() {
  local p
  if declare -F before_cleanup >/dev/null; then before_cleanup; fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}

# A TCP port on 127.0.0.1 that nothing listens on right now (callers retry if
# someone takes it before they bind it).
free_port() {
  local p i
  for i in $(seq 200); do
    p=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768-60999)
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}

# wait_until SECONDS COMMAND...: polls COMMAND every 0.1 s; false on timeout.
wait_until() {
  local limit=$1; shift
  local deadline=$((SECONDS + limit))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# start_server DIR NAME ARGS...: starts $HASH_SERVER ARGS... 0 in the
# background (stdout DIR/NAME.out, stderr DIR/NAME.log); sets $server_pid and
# $server_port, and $metrics_port when --metrics-port was given.
start_server() {
  local dir=$1 name=$2; shift 2
  "$HASH_SERVER" "$@" 0 >"$dir/$name.out" 2>"$dir/$name.log" &
  server_pid=$!
  wait_until 10 grep -q '^Hash server listening on port ' "$dir/$name.out" ||
    fail "$name printed no banner: $(cat "$dir/$name.log")"
  server_port=$(sed -n 's/^Hash server listening on port \([0-9]*\)$/\1/p' "$dir/$name.out")
  metrics_port=""
  if [[ " $* " == *" --metrics-port "* ]]; then
    wait_until 10 grep -q 'metrics on port ' "$dir/$name.log" || fail "$name: no metrics port in its log"
    metrics_port=$(sed -n 's/.*metrics on port \([0-9]*\).*/\1/p' "$dir/$name.log" | head -1)
  fi
}

# hash_request PORT TEXT [CLIENT ARGS]: the reply of one request made with hash_client.
hash_request() {
  local port=$1 text=$2; shift 2
  printf '%s' "$text" | timeout 30 "$HASH_CLIENT" --timeout 20 "$@" "$port"
}

# metric PORT SERIES: one sample from /metrics, e.g.
# metric 8180 'hash_server_requests_total{protocol="oneshot",outcome="ok"}'
metric() {
  curl -sf --max-time 5 "http://127.0.0.1:$1/metrics" | awk -v s="$2" '$1 == s { print $2 }'
}
