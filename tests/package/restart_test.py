#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
# What a .socket unit promises across `systemctl restart`: this harness plays
# systemd's part. It binds the listening socket once and keeps it; it starts
# hash_server on it again and again (LISTEN_FDS=1, the socket at descriptor 3,
# LISTEN_PID set by `sh -c 'LISTEN_PID=$$ exec ...'` to the server's own pid),
# stopping each server with SIGTERM, while clients send the tutorial's request
# on fresh connections without pause. Connections made while no server runs
# wait in the kernel's backlog: not one request may be lost or answered wrong.
import os
import signal
import socket
import subprocess
import sys
import threading
import time

SERVER = os.environ["HASH_SERVER"]
RESTARTS = int(os.environ.get("RESTARTS", "8"))
CLIENTS = 4
REQUEST, REPLY = b"hello world\n", b"782e1488cd5a68b7\n"


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def start_server(listener):
    fd = listener.fileno()
    # The shell moves the socket to descriptor 3 (the first one sd_listen_fds
    # looks at) and closes the original, then becomes the server: $$ is the
    # server's pid.
    move = "" if fd == 3 else f" 3<&{fd} {fd}<&-"
    env = dict(os.environ, LISTEN_FDS="1")
    env.pop("LISTEN_PID", None)
    env.pop("LISTEN_FDNAMES", None)
    return subprocess.Popen(["sh", "-c", 'LISTEN_PID=$$ exec "$0" "$@"' + move, SERVER, "--shutdown-timeout", "5",
                             "--log-level", "warn", "0"],
                            env=env, pass_fds=(fd,), stdout=subprocess.PIPE, text=True)


class Client(threading.Thread):
    def __init__(self, port, stop):
        super().__init__(daemon=True)
        self.port, self.stop, self.sent, self.ok, self.errors = port, stop, 0, 0, []

    def run(self):
        while not self.stop.is_set():
            self.sent += 1
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=30) as c:
                    c.sendall(REQUEST)
                    c.shutdown(socket.SHUT_WR)
                    reply = b""
                    while chunk := c.recv(100):
                        reply += chunk
                if reply == REPLY:
                    self.ok += 1
                else:
                    self.errors.append(f"request {self.sent}: reply {reply!r}")
            except OSError as e:
                self.errors.append(f"request {self.sent}: {e}")


def main():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4096)
    listener.set_inheritable(True)
    port = listener.getsockname()[1]
    stop = threading.Event()
    clients = [Client(port, stop) for _ in range(CLIENTS)]
    server = start_server(listener)
    banner = server.stdout.readline()
    if banner != f"Hash server listening on port {port}\n":
        fail(f"banner {banner!r}, want port {port} (the passed socket's)")
    for c in clients:
        c.start()
    for i in range(RESTARTS):
        time.sleep(0.3)
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=30)
        if code != 0:
            fail(f"server {i} exited {code} after SIGTERM, want 0")
        time.sleep(0.1)  # no server at all: newcomers wait in the backlog
        server = start_server(listener)
        if not server.stdout.readline().startswith("Hash server listening"):
            fail(f"server {i + 1} printed no banner")
    time.sleep(0.3)
    stop.set()
    for c in clients:
        c.join(timeout=60)
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)
    sent = sum(c.sent for c in clients)
    ok = sum(c.ok for c in clients)
    errors = [e for c in clients for e in c.errors]
    print(f"{RESTARTS} restarts: {sent} requests sent, {ok} answered correctly, {len(errors)} lost")
    if errors or ok != sent or ok < RESTARTS:
        fail("requests lost across restarts: " + "; ".join(errors[:10]))
    print("PASS: no request lost across restarts on a kept listening socket")


main()
