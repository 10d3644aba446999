#!/usr/bin/python3
"""The event-loop workers (--workers): many connections in one process,
each with a handler of its own; a crashed loop is replaced and takes only
its own connections with it; EventSource and draft requests go to a child
of the loop while WebSockets go on; SIGHUP reopens the log in the loops
too; --workers 0 gives every connection its own process again."""
import asyncio
import os
import resource
import random
import signal
import socket
import subprocess
import tempfile
import time

import websockets

from handlerlib import http_get
from pplib import (Results, pushpipe, pids_of_children, loop_workers, all_descendants,
                   comm_of, wait_until, PUSHPIPE, free_port, wait_port)

R = Results("pool")


def loops_of(pp, n):
    """The n event-loop workers, once they have started (named themselves)."""
    assert wait_until(lambda: len(loop_workers(pp.proc.pid)) == n, 5), loop_workers(pp.proc.pid)
    return loop_workers(pp.proc.pid)


def handlers_of(pid):
    return [k for k in all_descendants(pid) if comm_of(k) == "cat"]


async def echo_many(url, n, rounds):
    """n connections at once, each echoing rounds messages; returns the
    open connections (the caller closes them)."""
    conns = [await websockets.connect(url, compression=None) for _ in range(n)]
    for r in range(rounds):
        await asyncio.gather(*(c.send("c%d r%d" % (i, r)) for i, c in enumerate(conns)))
        got = await asyncio.gather(*(asyncio.wait_for(c.recv(), 10) for c in conns))
        assert got == ["c%d r%d" % (i, r) for i in range(n)], got[:3]
    return conns


def test_one_loop_many_connections():
    with pushpipe("--workers", "1", "--", "cat") as p:
        loops = loops_of(p, 1)

        async def go():
            conns = await echo_many(p.url, 200, 3)
            # one handler per connection, and no process per connection
            # besides it: the loop holds all 200
            assert len(handlers_of(p.proc.pid)) == 200, len(handlers_of(p.proc.pid))
            assert sorted(pids_of_children(p.proc.pid)) == sorted(handlers_of(p.proc.pid))
            fds = len(os.listdir("/proc/%d/fd" % loops[0]))
            assert fds >= 200 * 4, fds    # socket, stdin, stdout, stderr (+ pidfd) each
            await asyncio.gather(*(c.close() for c in conns))
        asyncio.run(go())
        assert wait_until(lambda: pids_of_children(p.proc.pid) == [], 10), pids_of_children(p.proc.pid)
        # each line is written once the connection is fully closed
        assert wait_until(lambda: p.log_text().count("websocket/13") == 200, 10), \
            p.log_text().count("websocket/13")


def test_descriptor_limit():
    """A loop holds five descriptors per connection: with the usual soft
    limit of 1024 it raises its own to the hard limit, and handlers get
    1024 back."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    new_hard = hard if hard == resource.RLIM_INFINITY or hard >= 8192 else 8192
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, new_hard))
    try:
        with pushpipe("--workers", "1", "--", "sh", "-c", "ulimit -n; exec cat") as p:
            loops_of(p, 1)

            async def go():
                conns = [await websockets.connect(p.url, compression=None) for _ in range(300)]
                limits = await asyncio.gather(*(asyncio.wait_for(c.recv(), 10) for c in conns))
                assert set(limits) == {"1024"}, set(limits)
                await asyncio.gather(*(c.send("x%d" % i) for i, c in enumerate(conns)))
                got = await asyncio.gather(*(asyncio.wait_for(c.recv(), 10) for c in conns))
                assert got == ["x%d" % i for i in range(300)]
                await asyncio.gather(*(c.close() for c in conns))
            asyncio.run(go())
            assert "Too many open files" not in p.log_text()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_loop_crash_is_contained():
    with pushpipe("--workers", "2", "--loop-pack", "2", "--", "cat") as p:
        loops = loops_of(p, 2)

        async def go():
            # a loop takes two (--loop-pack 2), then the next one does: 4
            # connections land 2 and 2
            conns = await echo_many(p.url, 4, 1)
            owner = {}
            for k in loops:
                for h in all_descendants(k):
                    owner[h] = k
            assert sorted(owner.values()).count(loops[0]) == 2, owner
            victim = loops[0]
            os.kill(victim, signal.SIGKILL)
            # its connections drop (no close frame: 1006), the others go on
            survivors, dropped = 0, 0
            for i, c in enumerate(conns):
                try:
                    await c.send("after %d" % i)
                    assert await asyncio.wait_for(c.recv(), 3) == "after %d" % i
                    survivors += 1
                except (websockets.ConnectionClosed, asyncio.TimeoutError):
                    dropped += 1
            assert (survivors, dropped) == (2, 2), (survivors, dropped)
            # a new loop takes its place and serves new connections
            assert wait_until(lambda: len(loop_workers(p.proc.pid)) == 2
                              and victim not in loop_workers(p.proc.pid), 5), loop_workers(p.proc.pid)
            more = await echo_many(p.url, 4, 2)
            for c in conns + more:
                await c.close()
        asyncio.run(go())
        assert "event-loop worker %d ended (signal 9) with 2 connection(s)" % loops[0] in p.log_text(), \
            p.log_text()[-2000:]
        # the dead loop's handlers saw EOF on stdin and ended
        assert wait_until(lambda: pids_of_children(p.proc.pid) == [], 10), pids_of_children(p.proc.pid)


def test_eventsource_streams_in_the_loop():
    """EventSource streams are relayed by the loop itself, like WebSockets:
    a handler process per stream and no other; a WebSocket on the same
    loop keeps echoing meanwhile; other plain requests still get an
    answer (from a child of the loop)."""
    with pushpipe("--workers", "1", "--", "sh", "-c",
                  'if [ "$PUSHPIPE_PROTOCOL" = eventsource ]; then '
                  'i=0; while [ $i -lt 50 ]; do echo "e$i"; i=$((i+1)); sleep 0.02; done; else exec cat; fi') as p:
        loop = loops_of(p, 1)[0]

        async def go():
            ws = await websockets.connect(p.url, compression=None)
            streams = []
            for i in range(20):
                s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
                s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
                s.settimeout(0.01)
                streams.append([s, b""])
            deadline = time.time() + 15
            ticks = 0
            children = set()
            while any(b"data: e49\n" not in body for _, body in streams) and time.time() < deadline:
                for st in streams:
                    try:
                        chunk = st[0].recv(65536)
                        st[1] += chunk
                    except socket.timeout:
                        pass
                children |= {comm_of(k) for k in all_descendants(loop, direct=True)}
                # the WebSocket on the same loop is not held up meanwhile
                await ws.send("t%d" % ticks)
                assert await asyncio.wait_for(ws.recv(), 2) == "t%d" % ticks
                ticks += 1
            for _, body in streams:
                assert b"200 OK" in body and b"data: e0\n" in body and b"data: e49\n" in body, body[:300]
            # handlers (sh, and the sleeps they start) only: no pushpipe child
            assert "pushpipe" not in children and "sh" in children, children
            await ws.close()
            for st in streams:
                st[0].close()
            return ticks
        ticks = asyncio.run(go())
        assert ticks >= 5, ticks
        # each stream ended when its handler did, with its log line
        assert wait_until(lambda: p.log_text().count(" eventsource ") == 20, 10), p.log_text()[-2000:]
        assert "eventsource / (handler exited)" in p.log_text() or \
            "eventsource /events (handler exited)" in p.log_text(), p.log_text()[-1000:]
        assert wait_until(lambda: pids_of_children(p.proc.pid) == [], 10), pids_of_children(p.proc.pid)
        # a request neither WebSocket nor EventSource is still answered
        s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
        s.sendall(b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 404"), "no 404"
        s.close()
        assert loop_workers(p.proc.pid) == [loop]


def test_sighup_reopens_log_in_loops():
    d = tempfile.mkdtemp()
    log = os.path.join(d, "pp.log")
    # --loop-pack 2: four connections at once land two on each loop
    with pushpipe("--log", log, "--workers", "2", "--loop-pack", "2", "--", "cat") as p:
        loops = loops_of(p, 2)

        async def one(msg):
            async with websockets.connect(p.url, compression=None) as ws:
                await ws.send(msg)
                assert await asyncio.wait_for(ws.recv(), 5) == msg
        asyncio.run(one("before"))
        assert wait_until(lambda: os.path.exists(log) and "websocket/13" in open(log).read(), 5)
        os.rename(log, log + ".1")
        p.proc.send_signal(signal.SIGHUP)
        assert wait_until(lambda: os.path.exists(log), 5), "log not reopened"
        time.sleep(0.3)     # the loops reopen on their own signal
        async def both_loops():
            conns = await echo_many(p.url, 4, 1)
            owners = sorted(k for k in loops for h in handlers_of(k))
            assert owners == sorted(loops * 2), (owners, loops)
            for c in conns:
                await c.close()
        asyncio.run(both_loops())
        assert wait_until(lambda: open(log).read().count("websocket/13") == 4, 5), open(log).read()
        assert open(log + ".1").read().count("websocket/13") == 1


def test_workers_zero_is_a_process_per_connection():
    with pushpipe("--workers", "0", "--", "sh", "-c",
                  'if [ "$PUSHPIPE_PROTOCOL" = eventsource ]; then echo hi; else exec cat; fi') as p:
        assert loop_workers(p.proc.pid) == []
        # an EventSource stream through the blocking per-connection code
        status, _, body = http_get(p.port, "/e", headers={"Accept": "text/event-stream"})
        assert status == 200 and b"data: hi\n" in body, (status, body)

        async def go():
            conns = await echo_many(p.url, 5, 2)
            workers = [k for k in all_descendants(p.proc.pid, direct=True) if comm_of(k) == "pushpipe"]
            assert len(workers) == 5, workers
            for c in conns:
                await c.close()
        asyncio.run(go())
        assert wait_until(lambda: pids_of_children(p.proc.pid) == [], 10)


def handlers_per_loop(p, nloops, nconns, rounds):
    """Open nconns connections at once, echo rounds messages on each, and
    count the handlers under each loop (sorted)."""
    loops = loops_of(p, nloops)

    async def go():
        conns = await echo_many(p.url, nconns, rounds)
        counts = sorted(len(handlers_of(k)) for k in loops)
        for c in conns:
            await c.close()
        return counts
    return asyncio.run(go())


def test_connections_pack_onto_the_first_loop():
    """By default a loop takes new connections until it holds --loop-pack
    (256) or is busy half the time: a few connections share one loop, and
    the other loops sleep."""
    with pushpipe("--workers", "2", "--", "cat") as p:
        assert handlers_per_loop(p, 2, 6, 3) == [0, 6]
    # --loop-pack 1 spreads them evenly instead
    with pushpipe("--workers", "2", "--loop-pack", "1", "--", "cat") as p:
        assert handlers_per_loop(p, 2, 6, 1) == [3, 3]


def test_churn_spreads_connections():
    """While connections come and go quickly (20 or more ending per 100 ms),
    new ones are spread over the loops instead of packed: short connections
    are handshakes and handler starts, which do not batch."""
    with pushpipe("--workers", "2", "--log-level", "debug", "--", "cat") as p:
        loops = loops_of(p, 2)
        spreading = "spreading new ones over the loops"

        async def churn(stop):
            while not stop.is_set():
                async with websockets.connect(p.url, compression=None) as ws:
                    await ws.send("x")
                    assert await asyncio.wait_for(ws.recv(), 10) == "x"

        async def go():
            stop = asyncio.Event()
            tasks = [asyncio.create_task(churn(stop)) for _ in range(8)]
            deadline = time.monotonic() + 20
            while spreading not in p.log_text() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert spreading in p.log_text(), p.log_text()[-2000:]
            # six long connections opened while the churn goes on
            stay = []
            for _ in range(6):
                stay.append(await websockets.connect(p.url, compression=None))
            stop.set()
            await asyncio.gather(*tasks)
            for ws in stay:
                await ws.send("y")
                assert await asyncio.wait_for(ws.recv(), 10) == "y"
            # the churn's handlers are gone; the six stay where they landed
            assert wait_until(lambda: sum(len(handlers_of(k)) for k in loops) == 6, 10), \
                [len(handlers_of(k)) for k in loops]
            counts = sorted(len(handlers_of(k)) for k in loops)
            for ws in stay:
                await ws.close()
            return counts
        counts = asyncio.run(go())
        assert counts[0] >= 1, counts
        # quiet again: the next connections pack once more
        time.sleep(0.3)
        assert handlers_per_loop(p, 2, 4, 1) == [0, 4]
        assert "packing new ones again" in p.log_text()


def test_handler_gets_three_descriptors():
    """A handler started by a loop that holds many connections gets its
    stdin, stdout and stderr and nothing else (the loop's table is not
    copied into it, nor what pushpipe inherited), and the loop's own 0, 1
    and 2 are unchanged after."""
    # ls lists its own descriptors: what it inherited, and the directory
    # it reads (under /proc), which does not count.
    script = 'ls -l /proc/self/fd/ | tr "\\n" ";"; echo; exec cat'

    def inherited(listing):
        fds = set()
        for entry in listing.split(";"):
            name, sep, target = entry.partition(" -> ")
            if sep and not target.startswith("/proc/"):
                fds.add(name.split()[-1])
        return sorted(fds)

    # a descriptor pushpipe inherited open does not reach handlers either
    leaked = os.open("/dev/null", os.O_RDONLY)
    for workers in ("1", "0"):
        with pushpipe("--workers", workers, "--", "sh", "-c", script, pass_fds=(leaked,)) as p:
            assert os.path.exists("/proc/%d/fd/%d" % (p.proc.pid, leaked))
            before = [os.readlink("/proc/%d/fd/%d" % (p.proc.pid, fd)) for fd in range(3)]

            async def go():
                conns = []
                for _ in range(30):
                    ws = await websockets.connect(p.url, compression=None)
                    first = await asyncio.wait_for(ws.recv(), 10)
                    assert inherited(first) == ["0", "1", "2"], (workers, first)
                    conns.append(ws)
                await conns[-1].send("still echoing")
                assert await asyncio.wait_for(conns[-1].recv(), 10) == "still echoing"
                for ws in conns:
                    await ws.close()
            asyncio.run(go())
            if workers == "1":
                (loop,) = loops_of(p, 1)
                got = [os.readlink("/proc/%d/fd/%d" % (loop, fd)) for fd in range(3)]
                assert got == before, (got, before)
    os.close(leaked)


def test_loops_keep_standard_descriptors():
    """Each loop has the supervisor's 0, 1 and 2 (a loop started before
    the others once closed its descriptor 0 while closing their channels)."""
    with pushpipe("--workers", "3", "--", "cat") as p:
        loops = loops_of(p, 3)
        want = [os.readlink("/proc/%d/fd/%d" % (p.proc.pid, fd)) for fd in range(3)]
        for k in loops:
            got = [os.readlink("/proc/%d/fd/%d" % (k, fd)) for fd in range(3)]
            assert got == want, (k, got, want)


def test_sigterm_while_workers_start():
    """A SIGTERM that reaches a worker between its fork and its own signal
    setup was lost: an event loop that missed it never ended, and pushpipe
    stopped only when --shutdown-timeout (10 s) ran out.  Stop right after
    start (loops starting) and right after a connection (--workers 0 forks
    one), 40 times, with two busy processes beside to widen the window;
    each stop must take well under the timeout."""
    busy = [subprocess.Popen(["/bin/sh", "-c", "while :; do :; done"]) for _ in range(2)]
    try:
        for i in range(40):
            extra = ["--workers", "0"] if i % 2 else []
            port = free_port()
            with open(os.devnull, "wb") as null:
                proc = subprocess.Popen([PUSHPIPE, "--listen", "127.0.0.1:%d" % port] + extra
                                        + ["--", "cat"], stdout=null, stderr=null)
            try:
                wait_port(port, proc)
                with socket.create_connection(("127.0.0.1", port)) as s:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
                    time.sleep(random.random() * 0.003)
                    t0 = time.monotonic()
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(8)
                took = time.monotonic() - t0
                assert took < 3, "start %d %s: stopping took %.1f s" % (i, extra, took)
            except subprocess.TimeoutExpired:
                raise AssertionError("start %d %s: pushpipe did not stop on SIGTERM" % (i, extra))
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    finally:
        for b in busy:
            b.kill()
            b.wait()


R.run("one loop holds 200 connections, each with its own handler", test_one_loop_many_connections)
R.run("300 connections on one loop under a soft limit of 1024 descriptors", test_descriptor_limit)
R.run("a killed loop takes only its connections; a new one replaces it", test_loop_crash_is_contained)
R.run("20 EventSource streams in the loop; WebSockets go on meanwhile", test_eventsource_streams_in_the_loop)
R.run("SIGHUP reopens --log in the supervisor and the loops", test_sighup_reopens_log_in_loops)
R.run("--workers 0: a worker process per connection", test_workers_zero_is_a_process_per_connection)
R.run("every loop keeps descriptors 0, 1 and 2", test_loops_keep_standard_descriptors)
R.run("new connections pack onto the first loop; --loop-pack 1 spreads them",
      test_connections_pack_onto_the_first_loop)
R.run("a handler gets descriptors 0, 1 and 2 only, however many the loop holds",
      test_handler_gets_three_descriptors)
R.run("connections that come and go quickly are spread over the loops",
      test_churn_spreads_connections)
R.run("SIGTERM while workers start: pushpipe stops at once, 40 times",
      test_sigterm_while_workers_start)
R.finish()
