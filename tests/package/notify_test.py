#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
# Readiness as systemd's Type=notify sees it, without systemd: a unix datagram
# socket of ours is NOTIFY_SOCKET. READY=1 must come once the banner is out,
# STATUS= must count connections, STOPPING=1 must come when SIGTERM starts
# the drain, and the server must then exit 0. Without NOTIFY_SOCKET the server
# runs as before (sd_notify is a no-op).
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile

SERVER = os.environ["HASH_SERVER"]


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def receive(sock, want, seconds=10):
    """Datagrams until one holds the line `want`; all of them, in order."""
    got = []
    sock.settimeout(seconds)
    while True:
        try:
            msg = sock.recv(4096).decode()
        except socket.timeout:
            fail(f"no {want} within {seconds} s; received {got}")
        got.append(msg)
        if want in msg.split("\n"):
            return got


def banner_is_out(proc):
    ready, _, _ = select.select([proc.stdout], [], [], 0)
    if not ready:
        return None
    return proc.stdout.readline()


def main():
    with tempfile.TemporaryDirectory(prefix="notify_test.") as tmp:
        path = os.path.join(tmp, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        env = dict(os.environ, NOTIFY_SOCKET=path)
        proc = subprocess.Popen([SERVER, "--shutdown-timeout", "5", "0"], env=env,
                                stdout=subprocess.PIPE, text=True)
        try:
            first = receive(sock, "READY=1")
            # READY=1 is sent after the banner: it must be there already.
            line = banner_is_out(proc)
            if not line or not line.startswith("Hash server listening on port "):
                fail(f"READY=1 before the banner (stdout so far: {line!r})")
            port = int(line.split()[-1])
            if not any("STATUS=serving on port %d, connections: 0" % port in m for m in first):
                fail(f"no STATUS line with the port and 0 connections: {first}")
            print(f"READY=1 after the banner on port {port}: {first}")
            # An open connection shows up in the next STATUS refresh.
            client = socket.create_connection(("127.0.0.1", port))
            status = receive(sock, "STATUS=serving on port %d, connections: 1" % port, seconds=10)
            print(f"status with one connection: {status[-1]!r}")
            client.close()
            proc.send_signal(signal.SIGTERM)
            stop = receive(sock, "STOPPING=1")
            print(f"STOPPING=1 on SIGTERM: {stop[-1]!r}")
            code = proc.wait(timeout=20)
            if code != 0:
                fail(f"exit status {code} after SIGTERM, want 0")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        # Without NOTIFY_SOCKET: nothing changes (banner, tutorial vector, exit 0).
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        proc = subprocess.Popen([SERVER, "0"], env=env, stdout=subprocess.PIPE, text=True)
        port = int(proc.stdout.readline().split()[-1])
        with socket.create_connection(("127.0.0.1", port)) as c:
            c.sendall(b"hello world\n")
            c.shutdown(socket.SHUT_WR)
            reply = c.recv(100)
        proc.send_signal(signal.SIGTERM)
        if reply != b"782e1488cd5a68b7\n" or proc.wait(timeout=20) != 0:
            fail(f"without NOTIFY_SOCKET: reply {reply!r}, exit {proc.returncode}")
    print("PASS: READY=1 after the banner, STATUS= with the connections, STOPPING=1 on SIGTERM")


main()
