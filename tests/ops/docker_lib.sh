# SPDX-License-Identifier: BSL-1.0
# Shared by the tests that run a dockerd of their own (docker_test.sh,
# tests/swarm/): sourced after lib.sh, not run. No engine runs by default here
# and no registry is reachable, so a test starts its own dockerd with all its
# state in a temporary folder, and the base image debian:bookworm-slim comes
# from `mmdebstrap --variant=apt bookworm` (tarball cached in $CACHE_DIR).

# docker_require_tools: exits 77 (skipped) only when docker cannot be
# installed on this machine at all; fails when it can but is missing.
docker_require_tools() {
  if ! command -v dockerd >/dev/null; then
    if apt-cache policy docker.io 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      fail "dockerd not found, but docker.io is installable: run scripts/install-deps.sh ops"
    fi
    echo "SKIP: docker cannot be installed on this machine (no docker.io package in apt's sources)"
    exit 77
  fi
  command -v mmdebstrap >/dev/null || fail "mmdebstrap not found: run scripts/install-deps.sh ops"
  [ "$(id -u)" -eq 0 ] || fail "dockerd needs root (run the test suite as root, or with sudo)"
  # Debian's client, matching its dockerd (another `docker` earlier in PATH may
  # expect a newer API or BuildKit).
  docker_bin=/usr/bin/docker
  [ -x "$docker_bin" ] || docker_bin=$(command -v docker) || fail "no docker client (docker.io)"
}

# docker_use_tmp NAME: $tmp, a fresh /tmp/NAME.XXXXXX holding the dockerd's
# socket, state and logs; the docker client talks to that dockerd only.
docker_use_tmp() {
  tmp=$(mktemp -d "/tmp/$1.XXXXXX")
  export DOCKER_HOST="unix://$tmp/docker.sock" DOCKER_CONFIG="$tmp/config" DOCKER_BUILDKIT=0
  dockerd_pid=""
}
docker() { timeout 900 "$docker_bin" "$@"; }

stop_dockerd() {
  [ -n "$dockerd_pid" ] || return 0
  kill "$dockerd_pid" 2>/dev/null || true
  local i
  for i in $(seq 200); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$dockerd_pid" 2>/dev/null || true
  wait "$dockerd_pid" 2>/dev/null || true
  dockerd_pid=""
  # dockerd leaves its network namespaces mounted; then anything else of ours.
  umount "$tmp/exec/netns/default" 2>/dev/null || true
  local m
  for m in $(awk -v t="$tmp/" 'index($2, t) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
}

# remove_docker_tmp: $tmp goes unless something is still mounted under it.
remove_docker_tmp() {
  if awk -v t="$tmp/" 'index($2, t) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
    echo "WARNING: mounts left under $tmp; not removing it" >&2
  else
    rm -rf "$tmp"
  fi
}

# The Debian mirror apt uses here: the image must use it too (it may be the only one reachable).
debian_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # deb822: the URIs of a stanza whose Suites include bookworm itself.
    uri=$(awk 'BEGIN { RS = ""; FS = "\n" }
      { u = ""; s = ""; for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, a, /[ \t]+/); u = a[1] }
          if ($i ~ /^Suites:/) s = " " $i " " }
        if (u != "" && s ~ / bookworm /) { print u; exit } }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return 0; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) while ($i !~ /\]$/) i++; if ($2 ~ /^\[/) i++;
                if ($(i + 1) == "bookworm") { print $i; exit } }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return 0; }
  done
  return 1
}

# ensure_base_tarball: sets $base_tar, made once and kept in $CACHE_DIR.
ensure_base_tarball() {
  mkdir -p "$CACHE_DIR"
  base_tar="$CACHE_DIR/bookworm-apt.tar"
  [ -s "$base_tar" ] && return 0
  rm -rf "$base_tar" "$base_tar.part"
  local mirror
  mirror=$(debian_mirror) || fail "no Debian bookworm mirror in /etc/apt/sources.list*"
  note "mmdebstrap --variant=apt bookworm from $mirror (cached in $base_tar)"
  # --format: mmdebstrap guesses the format from the name, and "*.part" would be a directory.
  mmdebstrap --quiet --format=tar --variant=apt bookworm "$base_tar.part" "$mirror" >"$tmp/mmdebstrap.log" 2>&1 ||
    { tail -20 "$tmp/mmdebstrap.log"; fail "mmdebstrap failed"; }
  mv "$base_tar.part" "$base_tar"
}

# start_dockerd_with DRIVER DOCKERD-ARGS...: true once the daemon answers.
start_dockerd_with() {
  local driver=$1; shift
  rm -rf "$tmp/data" "$tmp/exec"
  mkdir -p "$tmp/data" "$tmp/exec"
  dockerd --data-root "$tmp/data" --exec-root "$tmp/exec" -H "$DOCKER_HOST" --pidfile "$tmp/docker.pid" \
    --storage-driver="$driver" "$@" >"$tmp/dockerd.log" 2>&1 &
  dockerd_pid=$!
  dockerd_up_or_dead() { "$docker_bin" version >/dev/null 2>&1 || ! kill -0 "$dockerd_pid" 2>/dev/null; }
  wait_until 60 dockerd_up_or_dead && kill -0 "$dockerd_pid" 2>/dev/null && "$docker_bin" version >/dev/null 2>&1
}

# start_dockerd DOCKERD-ARGS...: overlay2, or vfs where overlay2 cannot run;
# sets $storage.
start_dockerd() {
  storage=overlay2
  if ! start_dockerd_with overlay2 "$@"; then
    note "dockerd with overlay2 failed ($(grep -m1 -i 'error' "$tmp/dockerd.log" || true)); trying vfs"
    stop_dockerd
    storage=vfs
    start_dockerd_with vfs "$@" || { tail -20 "$tmp/dockerd.log"; fail "dockerd did not start"; }
  fi
  note "dockerd $("$docker_bin" version -f '{{.Server.Version}}') up (pid $dockerd_pid, $storage)"
}

import_base_image() { docker import "$base_tar" debian:bookworm-slim >/dev/null; }

# build_image_cached TAG DOCKERFILE: `docker build --network host` from
# $SOURCE_DIR (DOCKERFILE relative to it), or `docker load` of the image saved
# by an earlier run from the same inputs (the Dockerfile, what its COPY lines
# take from the context, the base tarball): the hash_server image compiles the
# server, which is most of a run.
build_image_cached() {
  local tag=$1 dockerfile=$2 key saved name=${1//[:\/]/_}
  key=$(image_inputs_key "$dockerfile")
  saved="$CACHE_DIR/image-$name-$key.tar"
  if [ -s "$saved" ] && docker load -i "$saved" >/dev/null 2>&1; then
    note "image $tag loaded from $saved"
    return 0
  fi
  docker build --network host -t "$tag" -f "$SOURCE_DIR/$dockerfile" "$SOURCE_DIR" >"$tmp/build-$name.log" 2>&1 ||
    { tail -40 "$tmp/build-$name.log"; fail "docker build of $tag failed"; }
  rm -f "$CACHE_DIR/image-$name-"*.tar
  docker save -o "$saved.part" "$tag" && mv "$saved.part" "$saved"
}

# image_inputs_key DOCKERFILE: a hash of the Dockerfile, of the files its COPY
# lines take from the context (one line each; not those --from a stage) and
# of the base tarball's size and time.
image_inputs_key() {
  local copied
  copied=$(awk '$1 == "COPY" { for (i = 2; i < NF; i++) if ($i ~ /^--from/) next; else if ($i !~ /^--/) print $i }' \
    "$SOURCE_DIR/$1")
  # shellcheck disable=SC2086 # one path a word
  (cd "$SOURCE_DIR" && find "$1" $copied -type f -print0 | sort -z | xargs -0 sha256sum
   stat -c '%s %Y' "$base_tar") | sha256sum | cut -c1-16
}
