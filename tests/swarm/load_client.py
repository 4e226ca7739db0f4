#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""Steady client load on a --protocol stream hash_server (through a load
balancer): small requests at a fixed rate plus a few uploads of several MB,
every reply checked against its FNV-1a digest. Runs until SIGTERM, a stop
file, --count requests or --duration seconds, then writes a JSON summary.

Each request is one connection: connect, send, half-close, read to EOF, so a
replica drained or killed mid-run shows up as a failed or wrong reply."""

import argparse
import json
import os
import signal
import socket
import threading
import time

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
MASK = 0xFFFFFFFFFFFFFFFF


def fnv1a(data: bytes) -> str:
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & MASK
    return f"{h:016x}"


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {"ok_small": 0, "ok_big": 0, "failed": 0, "wrong": 0}
        self.errors = []
        self.started = 0

    def add(self, kind, detail=None):
        with self.lock:
            self.counts[kind] += 1
            if detail is not None and len(self.errors) < 20:
                self.errors.append({"t": round(time.time(), 3), "kind": kind, "detail": detail})

    def take_ticket(self, limit):
        """False once `limit` requests (0: no limit) have been started."""
        with self.lock:
            if limit and self.started >= limit:
                return False
            self.started += 1
            return True


def request(port, payload, timeout):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace").strip()


def one(args, stats, payload, want, kind):
    try:
        got = request(args.port, payload, args.timeout)
    except OSError as e:
        stats.add("failed", f"{kind}: {type(e).__name__}: {e}")
        return
    if got == want:
        stats.add("ok_" + kind)
    elif not got:
        # The proxy closed the client's side: the replica died mid-request.
        stats.add("failed", f"{kind}: closed without a reply")
    else:
        stats.add("wrong", f"{kind}: got {got[:60]!r}, want {want}")


def small_worker(args, stats, stop, messages, share):
    period = share / args.rate if args.rate > 0 else 0
    next_at = time.monotonic()
    i = 0
    while not stop.is_set() and stats.take_ticket(args.count):
        payload, want = messages[i % len(messages)]
        i += 1
        one(args, stats, payload, want, "small")
        next_at += period
        delay = next_at - time.monotonic()
        if delay > 0:
            stop.wait(delay)
        else:
            next_at = time.monotonic()


def big_worker(args, stats, stop, payload, want):
    while not stop.is_set():
        one(args, stats, payload, want, "big")
        stop.wait(args.big_pause)


def parse():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rate", type=float, default=300, help="small requests per second, all threads (0: no pause)")
    p.add_argument("--threads", type=int, default=8, help="threads sending small requests")
    p.add_argument("--big", type=int, default=0, help="threads sending large uploads")
    p.add_argument("--big-size", type=int, default=3_000_000)
    p.add_argument("--big-pause", type=float, default=0.5)
    p.add_argument("--count", type=int, default=0, help="stop after this many small requests (0: no limit)")
    p.add_argument("--duration", type=float, default=300, help="stop after this many seconds at most")
    p.add_argument("--timeout", type=float, default=20)
    p.add_argument("--stop-file", default="")
    p.add_argument("--ready-file", default="", help="written once the load runs")
    p.add_argument("--out", required=True)
    return p.parse_args()


def main():
    args = parse()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # Twelve-byte requests, as the tutorial's `hello world\n`.
    messages = [(m, fnv1a(m)) for m in (f"request {i:03d}\n".encode() for i in range(32))]
    big = os.urandom(args.big_size) if args.big else b""
    big_want = fnv1a(big) if args.big else ""
    stats = Stats()
    threads = [threading.Thread(target=small_worker, args=(args, stats, stop, messages, args.threads))
               for _ in range(args.threads)]
    threads += [threading.Thread(target=big_worker, args=(args, stats, stop, big, big_want)) for _ in range(args.big)]
    begin = time.monotonic()
    for t in threads:
        t.start()
    if args.ready_file:
        open(args.ready_file, "w").close()
    while not stop.is_set() and any(t.is_alive() for t in threads[: args.threads]):
        if time.monotonic() - begin > args.duration or (args.stop_file and os.path.exists(args.stop_file)):
            stop.set()
        stop.wait(0.1)
    stop.set()
    for t in threads:
        t.join(args.timeout + 5)
    summary = dict(stats.counts, seconds=round(time.monotonic() - begin, 2), errors=stats.errors)
    with open(args.out, "w") as f:
        json.dump(summary, f)


if __name__ == "__main__":
    main()
