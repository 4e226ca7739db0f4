#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# The systemd units as systemd reads them: `systemd-analyze verify` finds no
# error in either (ExecStart pointed at the built binary, since the package is
# not installed here), and the service's exposure by `systemd-analyze
# security --offline=true` is at most 2.0 (printed).
set -euo pipefail
source "$(cd "$(dirname "$0")/../ops" && pwd)/lib.sh"
: "${HASH_SERVER:?}" "${SOURCE_DIR:?}"
command -v systemd-analyze >/dev/null || fail "systemd-analyze not found (Debian package systemd)"

use_test_dir units_test
units=$SOURCE_DIR/packaging/systemd
sed "s|/usr/bin/hash_server|$HASH_SERVER|" "$units/hash-server.service" >"$tmp/hash-server.service"
cp "$units/hash-server.socket" "$tmp/"
# --man=no: the man page is in the package, not installed on this machine.
systemd-analyze verify --man=no "$tmp/hash-server.socket" "$tmp/hash-server.service" >"$tmp/verify" 2>&1 ||
  fail "systemd-analyze verify: $(cat "$tmp/verify")"
[ ! -s "$tmp/verify" ] || fail "systemd-analyze verify printed: $(cat "$tmp/verify")"
note "systemd-analyze verify: both units clean"

systemd-analyze security --offline=true --no-pager "$tmp/hash-server.service" >"$tmp/security" 2>&1 ||
  fail "systemd-analyze security: $(tail -5 "$tmp/security")"
exposure=$(sed -n 's/.*Overall exposure level for hash-server.service: \([0-9.]*\).*/\1/p' "$tmp/security")
[ -n "$exposure" ] || fail "no exposure level in: $(tail -3 "$tmp/security")"
note "systemd-analyze security: exposure $exposure (at most 2.0)"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || fail "exposure $exposure above 2.0: $(grep '✗' "$tmp/security")"

# What the units must keep, whatever the score: the promises of the README.
for line in Type=notify DynamicUser=yes 'EnvironmentFile=-/etc/default/hash-server' LimitNOFILE=1048576 \
  'ExecReload=/bin/kill -HUP $MAINPID' SuccessExitStatus=3 ProtectSystem=strict PrivateTmp=yes PrivateDevices=yes \
  NoNewPrivileges=yes CapabilityBoundingSet= 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
  SystemCallFilter=@system-service MemoryDenyWriteExecute=yes; do
  grep -qxF "$line" "$units/hash-server.service" || fail "hash-server.service lacks '$line'"
done
# The drain (--shutdown-timeout, 10 s by default) must end before systemd's SIGKILL.
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)$/\1/p' "$units/hash-server.service")
[ -n "$stop" ] && [ "$stop" -gt 10 ] || fail "TimeoutStopSec '$stop' not above the 10 s drain"
note "PASS: units verified, exposure $exposure"
