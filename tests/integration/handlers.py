#!/usr/bin/python3
"""The stock handlers (handlers/: echo, clock, tail, broadcast) behind a real
pushpipe, with python3-websockets and a plain EventSource client, and the
--console page.  broadcast here uses its local broker (no Redis); the
scale-out test covers Redis."""

import asyncio
import json
import os
import socket
import stat
import subprocess
import tempfile
import time

import websockets

from handlerlib import (HANDLERS, SSE, brokers, http_get, procs_with_cwd, quiet, recv,
                        recv_until, ws_connect)
from pplib import Results, pushpipe, wait_until

R = Results("handlers")
run = asyncio.run

tmp = tempfile.mkdtemp(prefix="pp-handlers-")
TAIL_DIR = os.path.join(tmp, "logs")
BCAST_DIR = os.path.join(tmp, "bcast")
os.mkdir(TAIL_DIR)
OUTSIDE = os.path.join(tmp, "secret.txt")
with open(OUTSIDE, "w") as f:
    f.write("do not show\n")
os.symlink(OUTSIDE, os.path.join(TAIL_DIR, "escape.log"))
with open(os.path.join(TAIL_DIR, ".hidden"), "w") as f:
    f.write("hidden\n")


def env(**extra):
    e = os.environ.copy()
    e.update(PUSHPIPE_TAIL_DIR=TAIL_DIR, PUSHPIPE_BROADCAST_DIR=BCAST_DIR)
    for k in ("REDIS_URL", "REDIS_HOST", "REDIS_PORT"):
        e.pop(k, None)
    e.update(extra)
    return e


PASS = "PUSHPIPE_TAIL_DIR,PUSHPIPE_BROADCAST_DIR,PUSHPIPE_TAIL_FILE"


def log_file(name, lines):
    path = os.path.join(TAIL_DIR, name)
    with open(path, "w") as f:
        for line in lines:
            f.write(line + "\n")
    return path


def append(path, *lines):
    with open(path, "a") as f:
        for line in lines:
            f.write(line + "\n")


# ---- echo and clock -------------------------------------------------------

async def t_echo(p):
    async with ws_connect(p.url + "/echo") as ws:
        for m in ["hello", "ünïcödé ✓", ""]:
            await ws.send(m)
            assert await recv(ws) == m


async def t_clock_ws(p):
    async with ws_connect(p.url + "/clock") as ws:
        a = await recv(ws, 5)
        b = await recv(ws, 5)
    assert len(a) == 20 and a.endswith("Z") and a[10] == "T", a
    assert b > a, (a, b)


async def t_clock_sse(p, raw):
    s = await SSE.open(p.port, "/clock")
    try:
        assert s.status == 200 and s.headers["content-type"].startswith("text/event-stream")
        a = await s.event(5)
        b = await s.event(5)
        assert len(a["data"]) == 20 and a["data"].endswith("Z"), a
        assert b["data"] > a["data"]
        if raw:   # fields written by the handler: nothing else in the body
            assert "data: data:" not in (s.body + s.raw).decode(errors="replace")
    finally:
        s.close()


# ---- tail -------------------------------------------------------------------

async def t_tail_ws(p):
    path = log_file("app.log", ["line %d" % i for i in range(1, 16)])
    async with ws_connect(p.url + "/tail/app.log") as ws:
        got = [await recv(ws) for _ in range(10)]
        assert got == ["line %d" % i for i in range(6, 16)], got
        append(path, "new 1", "new 2")
        assert await recv(ws) == "new 1"
        assert await recv(ws) == "new 2"
    async with ws_connect(p.url + "/tail?file=app.log&lines=2") as ws:
        assert [await recv(ws), await recv(ws)] == ["new 1", "new 2"]
        assert await quiet(ws, 0.5)


async def t_tail_sse_resume(p):
    lines = ["one", "zwei ü", "three\r"]       # bytes, not characters; CR dropped
    path = log_file("ids.log", lines)
    s = await SSE.open(p.port, "/tail/ids.log")
    evs = [await s.event() for _ in range(3)]
    s.close()
    assert [e["data"] for e in evs] == ["one", "zwei ü", "three"], evs
    offsets = [4, 4 + len("zwei ü".encode()) + 1, os.path.getsize(path)]
    assert [int(e["id"]) for e in evs] == offsets, (evs, offsets)
    # Lines written while the client was away come after its Last-Event-ID,
    # exactly once.
    append(path, "four", "five")
    s = await SSE.open(p.port, "/tail/ids.log", {"Last-Event-ID": evs[1]["id"]})
    got = [await s.event() for _ in range(3)]
    assert [e["data"] for e in got] == ["three", "four", "five"], got
    assert await s.no_event(0.5)
    s.close()
    # A refusal is an event of type "failure" that says why.
    s = await SSE.open(p.port, "/tail/missing.log")
    e = await s.event()
    assert e["event"] == "failure" and "no file" in e["data"], e
    s.close()
    # The polyfill form: ?lastEventId=
    s = await SSE.open(p.port, "/tail/ids.log?lastEventId=%s" % got[1]["id"])
    e = await s.event()
    assert e["data"] == "five" and int(e["id"]) == os.path.getsize(path), e
    s.close()
    # A file shorter than the id was replaced: start from its beginning.
    log_file("ids.log", ["fresh"])
    s = await SSE.open(p.port, "/tail/ids.log", {"Last-Event-ID": "999999"})
    e = await s.event()
    assert e["data"] == "fresh" and e["id"] == "6", e
    s.close()


async def refused(p, path):
    """Refused: by pushpipe with an HTTP status (a path it will not route), or
    by the handler, whose exit closes the socket with 1011 before any message."""
    try:
        ws = await ws_connect(p.url + path)
    except websockets.InvalidStatusCode as e:
        assert e.status_code in (400, 404), e
        return
    try:
        m = await recv(ws, 5)
        raise AssertionError("got %r" % m)
    except websockets.ConnectionClosed:
        pass
    finally:
        await ws.close()
    assert ws.close_code == 1011, ws.close_code


async def t_tail_safety(p):
    log_file("ok.log", ["fine"])
    for path in ["/tail/escape.log", "/tail/.hidden", "/tail/..%2Fsecret.txt", "/tail?file=../secret.txt",
                 "/tail?file=%2Fetc%2Fpasswd", "/tail/missing.log", "/tail", "/tail/ok.log?lines=x"]:
        await refused(p, path)
    text = p.log_text()
    assert "leads outside" in text and "refusing file name" in text, text[-2000:]
    assert "do not show" not in text


# ---- broadcast (local broker) --------------------------------------------

async def join(url):
    """A chat client whose subscription is live: its own hello came back."""
    ws = await ws_connect(url)
    hello = "hello from %x" % id(ws)
    await ws.send(hello)
    await recv_until(ws, hello)
    return ws


async def t_broadcast_fanout(p):
    a = [await join(p.url + "/broadcast/room1") for _ in range(3)]
    b = await join(p.url + "/broadcast?channel=room2")
    q = await join(p.url + "/broadcast?room1")       # bare query string: same room
    everyone = a + [q]
    for i, sender in enumerate(everyone):
        msg = json.dumps({"from": i, "text": "hi ü"})
        await sender.send(msg)
        for ws in everyone:
            assert await recv_until(ws, msg, 5)
    assert await quiet(b, 0.3), "room2 heard room1"
    await b.send("only room2")
    assert await recv(b) == "only room2"
    for ws in everyone:
        assert await quiet(ws, 0.2)
    for ws in everyone + [b]:
        await ws.close()


async def t_broadcast_concurrent(p):
    n, k = 6, 100
    clients = [await join(p.url + "/broadcast/storm") for _ in range(n)]

    async def send_all(i, ws):
        for j in range(k):
            await ws.send("c%d m%d" % (i, j))

    async def receive_all(ws):
        got = []
        while len(got) < n * k:
            m = await recv(ws, 20)
            if m.startswith("c"):
                got.append(m)
        return got

    receivers = [asyncio.ensure_future(receive_all(ws)) for ws in clients]
    await asyncio.gather(*(send_all(i, ws) for i, ws in enumerate(clients)))
    results = await asyncio.gather(*receivers)
    for got in results:
        assert sorted(got) == sorted("c%d m%d" % (i, j) for i in range(n) for j in range(k)), "lost or extra"
        assert got == results[0], "different order"
        for i in range(n):
            mine = [m for m in got if m.startswith("c%d " % i)]
            assert mine == ["c%d m%d" % (i, j) for j in range(k)], "sender order broken"
    for ws in clients:
        await ws.close()


DROPPED = "the broker dropped this client"


async def t_broadcast_slow_reader(p):
    """A client that stops reading falls behind, is dropped (1011), and
    holds nobody else up."""
    url = p.url + "/broadcast/slow"
    fast, sender = await join(url), await join(url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", p.port))
    slow = await ws_connect(url, sock=sock, max_queue=1, read_limit=4096)
    await slow.send("hello slow")
    await recv_until(slow, "hello slow")
    pad = "x" * 65536
    sent = 0
    got = {fast: 0, sender: 0}

    async def send():
        # Until the broker gives up on the slow client (its handler says so
        # and exits), at most 64 MiB; paced by the readers, which
        # share this one Python thread and must not fall behind themselves.
        nonlocal sent
        while sent < 1024 and DROPPED not in p.log_text():
            for _ in range(16):
                await sender.send("%05d %s" % (sent, pad))
                sent += 1
            while min(got.values()) < sent - 32:
                await asyncio.sleep(0.002)
        await sender.send("the end")

    async def drain(ws):
        while True:
            m = await recv(ws, 30)
            if m == "the end":
                assert got[ws] == sent, (got[ws], sent)
                return
            if m[:5].isdigit():
                assert int(m[:5]) == got[ws], (m[:5], got[ws])
                got[ws] += 1
    await asyncio.gather(send(), drain(fast), drain(sender))
    assert DROPPED in p.log_text(), "the slow client was never dropped (%d MiB sent): %s" % (
        sent // 16, p.log_text()[-1500:])
    try:
        while True:
            await recv(slow, 30)
    except websockets.ConnectionClosed:
        pass
    assert slow.close_code == 1011, slow.close_code
    for ws in (fast, sender):
        await ws.close()


async def t_broadcast_sse(p):
    ws = await join(p.url + "/broadcast/news")
    s = await SSE.open(p.port, "/broadcast/news")
    # No message says when its subscription is in place: say it again
    # until it hears.
    for i in range(50):
        await ws.send("extra extra %d" % i)
        try:
            e = await s.event(0.2)
            break
        except asyncio.TimeoutError:
            pass
    assert e["data"].startswith("extra extra "), e
    await ws.send("the end")
    while e["data"] != "the end":
        e = await s.event(2)
    s.close()
    await ws.close()


async def t_broadcast_cli(p):
    ws = await join(p.url + "/broadcast/ops")
    r = subprocess.run([os.path.join(HANDLERS, "broadcast"), "ops"], input=b"deploy done\n",
                       env=env(), capture_output=True, timeout=10)
    assert r.returncode == 0, r
    assert b"deploy done" in r.stdout       # the shell sender hears the room too
    assert await recv(ws) == "deploy done"
    await ws.close()


def no_leftovers():
    return not os.listdir(BCAST_DIR) and not procs_with_cwd(BCAST_DIR)


async def t_broadcast_cleanup(p):
    assert wait_until(no_leftovers, 8), (os.listdir(BCAST_DIR), procs_with_cwd(BCAST_DIR))


async def t_broadcast_broker_killed(p):
    a = await join(p.url + "/broadcast/phoenix")
    pids = brokers(BCAST_DIR)
    assert len(pids) == 1, pids
    os.kill(pids[0], 9)
    try:
        await recv(a, 5)
    except Exception:
        pass
    assert a.close_code == 1011, a.close_code       # its handler noticed
    assert os.path.exists(os.path.join(BCAST_DIR, "phoenix.sock"))   # left by the SIGKILL
    b = await join(p.url + "/broadcast/phoenix")     # a new broker takes over
    c = await join(p.url + "/broadcast/phoenix")
    await b.send("after")
    assert await recv(c) == "after"
    await b.close()
    await c.close()
    assert wait_until(no_leftovers, 8), os.listdir(BCAST_DIR)


async def t_broadcast_refusals(p):
    await refused(p, "/broadcast/bad%20name")
    await refused(p, "/broadcast/.dot")
    await refused(p, "/broadcast/" + "x" * 65)


def t_broadcast_unsafe_dir():
    d = os.path.join(tmp, "open")
    os.mkdir(d)
    os.chmod(d, 0o777)
    r = subprocess.run([os.path.join(HANDLERS, "broadcast"), "x"], input=b"", capture_output=True,
                       env=env(PUSHPIPE_BROADCAST_DIR=d), timeout=10)
    assert r.returncode == 1 and b"mode 0700" in r.stderr, r
    assert not os.listdir(d)


# ---- --console ----------------------------------------------------------------

def t_console(with_console, without):
    st, h, body = http_get(with_console.port, "/console")
    assert st == 200 and h["content-type"].startswith("text/html"), (st, h)
    assert b"pushpipe console" in body and int(h["content-length"]) == len(body)
    st, h, body = http_get(with_console.port, "/console", method="HEAD")
    assert st == 200 and body == b"" and int(h["content-length"]) > 1000
    st, _, _ = http_get(with_console.port, "/console/x")
    assert st == 404
    st, _, _ = http_get(without.port, "/console")
    assert st == 404


def main():
    try:
        with pushpipe("--dir", HANDLERS, "--passenv", PASS, "--close-grace", "300", env=env()) as p:
            R.run("echo: messages come back", run, t_echo(p))
            R.run("clock over WebSocket: a time a second", run, t_clock_ws(p))
            R.run("clock over EventSource (--sse lines)", run, t_clock_sse(p, False))
            R.run("tail: last 10 lines, then new ones; ?file= and ?lines=", run, t_tail_ws(p))
            R.run("tail: only files inside PUSHPIPE_TAIL_DIR (no .., dot-files, symlink escape)",
                  run, t_tail_safety(p))
            R.run("broadcast: every client of a room hears every message, other rooms nothing",
                  run, t_broadcast_fanout(p))
            R.run("broadcast: 6 clients x 100 concurrent messages, none lost, one order",
                  run, t_broadcast_concurrent(p))
            R.run("broadcast: a client that stops reading is dropped, the others get everything",
                  run, t_broadcast_slow_reader(p))
            R.run("broadcast: a shell pipe publishes to a room", run, t_broadcast_cli(p))
            R.run("broadcast: bad channel names refused", run, t_broadcast_refusals(p))
            R.run("broadcast: no socket and no broker left after the last client", run,
                  t_broadcast_cleanup(p))
            R.run("broadcast: a killed broker is replaced, its stale socket too", run,
                  t_broadcast_broker_killed(p))
        with pushpipe("--dir", HANDLERS, "--sse", "raw", "--passenv", PASS, "--console",
                      "--close-grace", "300", env=env()) as p, \
                pushpipe("--dir", HANDLERS, env=env()) as plain:
            R.run("clock over EventSource (--sse raw)", run, t_clock_sse(p, True))
            R.run("tail: --sse raw ids are byte offsets; Last-Event-ID resumes exactly", run,
                  t_tail_sse_resume(p))
            R.run("broadcast: an EventSource hears the room", run, t_broadcast_sse(p))
            R.run("--console serves the console page at /console only", t_console, p, plain)
        with pushpipe("--dir", HANDLERS, "--passenv", "PUSHPIPE_BROADCAST_DIR",
                      env=env(PUSHPIPE_TAIL_FILE=os.path.join(TAIL_DIR, "ok.log"))) as p:
            R.run("tail: without PUSHPIPE_TAIL_DIR nothing is served by name", run, refused(p, "/tail/ok.log"))

        async def tail_file(p):
            async with ws_connect(p.url + "/tail") as ws:
                assert await recv(ws) == "fine"
        with pushpipe("--dir", HANDLERS, "--passenv", "PUSHPIPE_TAIL_FILE",
                      env=env(PUSHPIPE_TAIL_FILE=os.path.join(TAIL_DIR, "ok.log"))) as p:
            R.run("tail: PUSHPIPE_TAIL_FILE is followed when no name is given", run, tail_file(p))
        R.run("broadcast: a socket directory others can write to is refused", t_broadcast_unsafe_dir)
        R.run("broadcast: nothing left behind at the end", lambda: (
            wait_until(no_leftovers, 8) or (_ for _ in ()).throw(AssertionError(os.listdir(BCAST_DIR)))))
    finally:
        subprocess.run(["rm", "-rf", tmp])
    R.finish()


if __name__ == "__main__":
    main()
