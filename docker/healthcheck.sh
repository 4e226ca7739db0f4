#!/bin/sh
# SPDX-License-Identifier: BSL-1.0
# Docker HEALTHCHECK: one real request to the server that is PID 1 (or that
# docker-init runs), on the port and address of its own command line, so
# `docker run IMAGE --protocol stream 9000` is checked on 9000.
set -eu
port=8080 host=127.0.0.1 hash=fnv1a prev=
for arg in $(tr '\0' '\n' </proc/1/cmdline); do
  case "$prev" in
    --bind) case "$arg" in 0.0.0.0|::) ;; *) host=$arg ;; esac ;;
    --hash) hash=$arg ;;
  esac
  prev=$arg
  port=$arg # the port is the last argument
done
case "$port" in '' | *[!0-9]*) port=8080 ;; esac
expect=
[ "$hash" = fnv1a ] && expect="--expect 782e1488cd5a68b7"
# Every protocol answers "hello world\n" followed by a half-close with one digest.
printf 'hello world\n' | exec hash_client --timeout 4 --host "$host" $expect "$port" >/dev/null
