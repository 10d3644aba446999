#!/usr/bin/python3
"""Soak: hold N concurrent WebSocket connections to `pushpipe -- cat`,
exchange messages on all of them for a bounded time, close them, and check
that the supervisor's memory, its number of child processes and its open
descriptors return to where they started.

    soak.py [--connections 1000] [--duration 300] [--pushpipe PATH]

Everything stays on 127.0.0.1; the run stops by itself after --duration.
Exit status 0 when every message came back and nothing leaked."""

import argparse
import asyncio
import base64
import os
import random
import resource
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import pplib  # noqa: E402
from pplib import Pushpipe, pids_of_children, loop_workers, wait_until  # noqa: E402


def frame(payload):
    key = os.urandom(4)
    masked = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
    n = len(payload)
    hdr = struct.pack("!BB", 0x81, 0x80 | n) if n < 126 else struct.pack("!BBH", 0x81, 0x80 | 126, n)
    return hdr + key + masked


async def read_frame(reader):
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", await reader.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", await reader.readexactly(8))[0]
    return b0 & 0x0F, await reader.readexactly(n)


class Stats:
    def __init__(self):
        self.sent = self.received = self.errors = 0


async def client(i, port, stop_at, stats, ready):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key).encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError("handshake: %r" % head[:40])
        ready.append(i)
        n = 0
        while time.time() < stop_at:
            msg = ("conn %d msg %d" % (i, n)).encode()
            writer.write(frame(msg))
            stats.sent += 1
            op, got = await asyncio.wait_for(read_frame(reader), 30)
            if op != 1 or got != msg:
                raise RuntimeError("conn %d: got %r" % (i, got[:40]))
            stats.received += 1
            n += 1
            await asyncio.sleep(random.uniform(0.2, 1.0))
        writer.write(b"\x88\x82" + b"\x00\x00\x00\x00" + b"\x03\xe8")   # close 1000, zero mask
        op, _ = await asyncio.wait_for(read_frame(reader), 10)
        writer.close()
    except Exception as e:  # counted and reported; the run goes on
        stats.errors += 1
        if stats.errors <= 5:
            print("client %d: %s: %s" % (i, type(e).__name__, e), file=sys.stderr)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def snapshot(pid):
    loops = loop_workers(pid)
    return {"rss_kb": rss_kb(pid), "fds": len(os.listdir("/proc/%d/fd" % pid)),
            "children": len(pids_of_children(pid)),
            # the event-loop workers that held the connections
            "loops": len(loops),
            "loop_fds": sum(len(os.listdir("/proc/%d/fd" % k)) for k in loops),
            "loop_rss_kb": sum(rss_kb(k) for k in loops)}


async def main_async(args, port):
    stats = Stats()
    ready = []
    stop_at = time.time() + args.duration
    tasks = []
    for i in range(args.connections):
        tasks.append(asyncio.create_task(client(i, port, stop_at, stats, ready)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)   # ramp up: no SYN flood on the backlog
    peak = 0
    while any(not t.done() for t in tasks):
        await asyncio.sleep(1)
        peak = max(peak, len(ready))
    return stats, peak


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=300)
    ap.add_argument("--pushpipe")
    args = ap.parse_args()
    if args.pushpipe:
        pplib.PUSHPIPE = args.pushpipe
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))

    p = Pushpipe(["--max-connections", str(args.connections + 100), "--", "cat"])
    try:
        pid = p.proc.pid
        wait_until(lambda: pids_of_children(pid) == [], 5)
        time.sleep(0.5)
        before = snapshot(pid)
        t0 = time.time()
        stats, peak = asyncio.run(main_async(args, p.port))
        took = time.time() - t0
        settled = wait_until(lambda: pids_of_children(pid) == [], 30)
        time.sleep(0.5)
        after = snapshot(pid)
        ok = (stats.errors == 0 and stats.sent == stats.received and peak == args.connections
              and settled and after["children"] == 0 and after["fds"] == before["fds"]
              and after["rss_kb"] <= before["rss_kb"] + 512
              and after["loops"] == before["loops"] and after["loop_fds"] == before["loop_fds"]
              # what a loop allocated for its peak of connections may stay
              # in its heap, bounded: well under 64 KiB per connection
              and after["loop_rss_kb"] <= before["loop_rss_kb"] + args.connections * 64)
        print("soak: %d connections (peak %d concurrent) for %.0f s: %d messages sent, %d echoed, %d errors"
              % (args.connections, peak, took, stats.sent, stats.received, stats.errors))
        print("supervisor and event-loop workers before: %s" % before)
        print("supervisor and event-loop workers after:  %s" % after)
        print("soak: %d passed, %d failed" % (1 if ok else 0, 0 if ok else 1))
        return 0 if ok else 1
    finally:
        p.stop()


if __name__ == "__main__":
    sys.exit(main())
