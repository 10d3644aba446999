#!/usr/bin/python3
"""Issue 4 with real clients: permessage-deflate with python3-websockets (on
by default, and off) in framed and lines mode, and byte-exact checks of the
compressed frames with a raw client (RSV1, context takeover, negotiation of
every parameter, declined offers, a deflate bomb against --max-message with
the worker's memory watched); subprotocol selection (client's order) and
its environment variable, also declared per handler with --dir sidecars;
keepalive pings; --header/--header-ws; hybi-07/08."""

import asyncio
import os
import random
import shutil
import struct
import tempfile
import time
import zlib

import websockets

import pplib
from pplib import Results, wait_until
from rawws import Conn, b64key, deflate_message, inflate_message

R = Results("ws_protocols")
# Handlers refuse to run as root unless told; the tests run as whoever runs them.
ROOT = ["--allow-root"] if os.geteuid() == 0 else []


def pushpipe(*args):
    return pplib.pushpipe(*(ROOT + list(args)))


def run(coro):
    return asyncio.run(coro)


def text_of(n, seed):
    """Compressible but not trivial text: words from a small vocabulary."""
    rnd = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "ünï", "✓", "𝄞", "x", "push", "pipe"]
    out, size = [], 0
    while size < n:
        w = rnd.choice(words)
        out.append(w)
        size += len(w.encode()) + 1
    return " ".join(out)


# ---- python3-websockets -----------------------------------------------------

async def ws_echo(url, msgs, **kw):
    async with websockets.connect(url, max_size=None, ping_interval=None, **kw) as ws:
        for m in msgs:
            await ws.send(m)
            got = await ws.recv()
            assert got == m and type(got) is type(m), "%r != %r" % (got[:40], m[:40])
        return ws.response_headers.get("Sec-WebSocket-Extensions"), ws.extensions


def test_websockets_deflate_framed():
    big_text = text_of(1 << 20, 1)
    msgs = ["hi", "", text_of(5000, 2), big_text, big_text, b"", b"\x00\xff" * 40,
            os.urandom(1 << 20), bytes(16 << 20), "ü" * 100000]
    with pushpipe("--mode", "framed", "--", "cat") as p:
        ext, negotiated = run(ws_echo(p.url, msgs))
        assert ext == "permessage-deflate", ext
        assert len(negotiated) == 1 and negotiated[0].name == "permessage-deflate", negotiated

        async def fragmented():
            async with websockets.connect(p.url, max_size=None) as ws:
                await ws.send(["frag", "men", "ted " * 100, "ü"])
                assert await ws.recv() == "fragmented " * 1 + "ted " * 99 + "ü"
        run(fragmented())
    # The same client with compression off: no extension, same echo.
    with pushpipe("--mode", "framed", "--", "cat") as p:
        ext, negotiated = run(ws_echo(p.url, msgs[:6], compression=None))
        assert ext is None and negotiated == [], (ext, negotiated)


def test_websockets_deflate_lines():
    line = text_of(300000, 3)
    with pushpipe("--", "cat") as p:
        async def go():
            async with websockets.connect(p.url, max_size=None, ping_interval=None) as ws:
                assert ws.response_headers.get("Sec-WebSocket-Extensions") == "permessage-deflate"
                for m in ["hello", "ünïcödé", line, line, ""]:
                    await ws.send(m)
                    assert await ws.recv() == m
                await ws.send("two\n" + line)
                assert await ws.recv() == "two"
                assert await ws.recv() == line
                await ws.close()
                assert ws.close_code == 1000
        run(go())


def test_no_deflate():
    with pushpipe("--no-deflate", "--mode", "framed", "--", "cat") as p:
        ext, negotiated = run(ws_echo(p.url, ["x" * 1000, b"y" * 1000]))
        assert ext is None and negotiated == [], (ext, negotiated)
        c = Conn(p.port)
        c.handshake(headers=["Sec-WebSocket-Extensions: permessage-deflate"])
        assert c.header("Sec-WebSocket-Extensions") is None, c.head
        # RSV1 without the extension is a protocol error.
        c.send_frame(0x1, deflate_message(zlib.compressobj(wbits=-15), b"a" * 100), rsv1=True)
        assert c.close_code() == 1002
        c.close()


def test_websockets_bomb():
    # The client compresses 50 MB of zeros to about 50 KB; pushpipe must stop
    # inflating at --max-message.
    with pushpipe("--max-message", "1M", "--", "cat") as p:
        async def go():
            async with websockets.connect(p.url, max_size=None, ping_interval=None) as ws:
                await ws.send(bytes(50 << 20))
                try:
                    await asyncio.wait_for(ws.recv(), 10)
                except websockets.ConnectionClosed:
                    pass
                return ws.close_code
        code = run(go())
        assert code == 1009, code


# ---- raw client: what the frames look like -----------------------------------

def deflate_conn(port, offer="permessage-deflate; client_max_window_bits", path="/"):
    c = Conn(port)
    c.handshake(path=path, headers=["Sec-WebSocket-Extensions: " + offer] if offer else [])
    assert c.head.startswith("HTTP/1.1 101"), c.head
    return c


def test_raw_deflate_frames():
    rnd = random.Random(7)
    unit = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(3000)).encode()
    with pushpipe("--mode", "framed", "--", "cat") as p:
        c = deflate_conn(p.port)
        assert c.header("Sec-WebSocket-Extensions") == "permessage-deflate", c.head
        comp, decomp = zlib.compressobj(wbits=-15), zlib.decompressobj(wbits=-15)
        sizes = []
        for _ in range(3):
            c.send_frame(0x1, deflate_message(comp, unit), rsv1=True)
            fin, rsv1, op, payload = c.recv_data_frame()
            assert fin and rsv1 and op == 0x1, (fin, rsv1, op)
            assert not payload.endswith(b"\x00\x00\xff\xff")
            assert inflate_message(decomp, payload) == unit
            sizes.append(len(payload))
        # Context takeover both ways: a repeat compresses to a back-reference.
        assert sizes[1] < sizes[0] // 10 and sizes[2] < sizes[0] // 10, sizes
        # Below the threshold (64 bytes): sent as is.
        c.send_frame(0x1, deflate_message(comp, b"short"), rsv1=True)
        assert c.recv_data_frame() == (True, False, 0x1, b"short")
        # Uncompressed messages are fine too (RSV1 is per message), also binary.
        c.send_frame(0x2, unit)
        fin, rsv1, op, payload = c.recv_data_frame()
        assert rsv1 and op == 0x2 and inflate_message(decomp, payload) == unit
        # Incompressible data goes out uncompressed.
        noise = os.urandom(5000)
        c.send_frame(0x2, noise)
        assert c.recv_data_frame() == (True, False, 0x2, noise)
        # A compressed message in three frames: RSV1 on the first only.
        z = deflate_message(comp, unit + b"tail")
        c.send_frame(0x1, z[:5], fin=False, rsv1=True)
        c.send_frame(0x0, z[5:9], fin=False)
        c.send_frame(0x0, z[9:])
        fin, rsv1, op, payload = c.recv_data_frame()
        assert rsv1 and inflate_message(decomp, payload) == unit + b"tail"
        # An empty compressed message: the single 0x00 byte of RFC 7692 7.2.3.6.
        c.send_frame(0x1, b"\x00", rsv1=True)
        fin, rsv1, op, payload = c.recv_data_frame()
        assert op == 0x1 and (payload == b"" or inflate_message(decomp, payload) == b""), payload
        # RSV1 on a continuation frame is a protocol error.
        c.send_frame(0x1, z[:5], fin=False, rsv1=True)
        c.send_frame(0x0, z[5:], rsv1=True)
        assert c.close_code() == 1002
        c.close()

        # Corrupt compressed data: 1007.
        c = deflate_conn(p.port)
        c.send_frame(0x1, b"\xff\xff\xff\xff\xff", rsv1=True)
        assert c.close_code() == 1007
        c.close()
        # Inflated text that is not UTF-8: 1007.
        c = deflate_conn(p.port)
        c.send_frame(0x1, deflate_message(zlib.compressobj(wbits=-15), b"\xc3" + b"a" * 100),
                     rsv1=True)
        assert c.close_code() == 1007
        c.close()


def negotiated(port, offer):
    c = deflate_conn(port, offer)
    v = c.header("Sec-WebSocket-Extensions")
    c.close()
    return v


def test_raw_deflate_negotiation():
    with pushpipe("--mode", "framed", "--", "cat") as p:
        cases = [
            ("permessage-deflate", "permessage-deflate"),
            ("permessage-deflate; server_no_context_takeover",
             "permessage-deflate; server_no_context_takeover"),
            ("permessage-deflate; client_no_context_takeover",
             "permessage-deflate; client_no_context_takeover"),
            ("permessage-deflate; server_max_window_bits=10",
             "permessage-deflate; server_max_window_bits=10"),
            ("permessage-deflate; client_max_window_bits=9",
             "permessage-deflate; client_max_window_bits=9"),
            ('permessage-deflate; server_max_window_bits="12"; client_max_window_bits',
             "permessage-deflate; server_max_window_bits=12"),
            # zlib cannot compress with an 8-bit window: declined, next offer taken.
            ("permessage-deflate; server_max_window_bits=8", None),
            ("permessage-deflate; server_max_window_bits=8, permessage-deflate; "
             "client_no_context_takeover", "permessage-deflate; client_no_context_takeover"),
            # Offers we cannot honour are declined, never a failed handshake.
            ("permessage-deflate; server_max_window_bits", None),
            ("permessage-deflate; server_max_window_bits=16", None),
            ("permessage-deflate; unknown_param", None),
            ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", None),
            ("x-webkit-deflate-frame", None),
            ("x-webkit-deflate-frame, permessage-deflate", "permessage-deflate"),
        ]
        for offer, want in cases:
            got = negotiated(p.port, offer)
            assert got == want, (offer, got, want)

        # server_no_context_takeover: every message compresses alone.
        unit = text_of(3000, 9).encode()
        c = deflate_conn(p.port, "permessage-deflate; server_no_context_takeover; "
                                 "client_no_context_takeover")
        sizes = []
        for _ in range(2):
            comp = zlib.compressobj(wbits=-15)   # our side resets too
            c.send_frame(0x1, deflate_message(comp, unit), rsv1=True)
            fin, rsv1, op, payload = c.recv_data_frame()
            assert rsv1 and inflate_message(zlib.decompressobj(wbits=-15), payload) == unit
            sizes.append(len(payload))
        assert sizes[0] == sizes[1], sizes
        c.close()

        # server_max_window_bits=9: every back-reference stays within 512 bytes,
        # so a 9-bit inflater reads the whole stream.
        c = deflate_conn(p.port, "permessage-deflate; server_max_window_bits=9")
        assert c.header("Sec-WebSocket-Extensions") == "permessage-deflate; server_max_window_bits=9"
        decomp = zlib.decompressobj(wbits=-9)
        for _ in range(2):
            c.send_frame(0x1, unit)
            fin, rsv1, op, payload = c.recv_data_frame()
            assert rsv1 and inflate_message(decomp, payload) == unit
        c.close()


def worker_pid(pp):
    """The process that holds the connection: with --workers 1 the one
    event-loop worker (its peak memory spans its connections)."""
    kids = pplib.loop_workers(pp.proc.pid)
    assert len(kids) == 1, kids
    return kids[0]


def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_raw_deflate_bomb():
    bomb = deflate_message(zlib.compressobj(9, wbits=-15), bytes(50 << 20))
    assert len(bomb) < 100000
    with pushpipe("--max-message", "1M", "--workers", "1", "--", "cat") as p:
        # A worker that inflated a small message, for comparison.
        c = deflate_conn(p.port)
        small = text_of(20000, 4).encode()
        c.send_frame(0x1, deflate_message(zlib.compressobj(wbits=-15), small), rsv1=True)
        fin, rsv1, op, payload = c.recv_data_frame()
        assert inflate_message(zlib.decompressobj(wbits=-15), payload) == small
        base = vm_hwm_kib(worker_pid(p))
        c.close()
        assert wait_until(lambda: pplib.pids_of_children(p.proc.pid) == [])

        c = deflate_conn(p.port)
        start = time.time()
        c.send_frame(0x2, bomb, rsv1=True)
        code = c.close_code(timeout=10)
        took = time.time() - start
        hwm = vm_hwm_kib(worker_pid(p))    # still waiting for our close reply
        c.close()
        assert code == 1009, code
        assert took < 3, took
        # 50 MB never materialised: the peak grew by at most a few MiB.
        assert hwm - base < 12 * 1024, (base, hwm)
        assert "inflated message too big" in p.log_text()


# ---- subprotocols -------------------------------------------------------------

async def subprotocol_of(url, offer):
    async with websockets.connect(url, subprotocols=offer, compression=None) as ws:
        told = await ws.recv()
        return ws.subprotocol, ws.response_headers.get("Sec-WebSocket-Protocol"), told


def test_subprotocols():
    with pushpipe("--protocol", "a", "--protocol", "b", "--",
                  "sh", "-c", 'echo "[$PUSHPIPE_WS_PROTOCOL]"') as p:
        # The client's order decides among what we support.
        assert run(subprotocol_of(p.url, ["b", "a"])) == ("b", "b", "[b]")
        assert run(subprotocol_of(p.url, ["a", "b"])) == ("a", "a", "[a]")
        assert run(subprotocol_of(p.url, ["c", "b"])) == ("b", "b", "[b]")
        # No match: no header, empty variable.
        assert run(subprotocol_of(p.url, ["c"])) == (None, None, "[]")
        assert run(subprotocol_of(p.url, None)) == (None, None, "[]")
        # Case matters; whitespace around list elements does not.
        c = Conn(p.port)
        c.handshake(headers=["Sec-WebSocket-Protocol: B ,  a ,b"])
        assert c.header("Sec-WebSocket-Protocol") == "a", c.head
        c.close()
    with pushpipe("--", "sh", "-c", 'echo "[$PUSHPIPE_WS_PROTOCOL]"') as p:
        assert run(subprotocol_of(p.url, ["a"])) == (None, None, "[]")


def test_dir_declared_protocols():
    d = tempfile.mkdtemp()
    script = '#!/bin/sh\necho "[$PUSHPIPE_WS_PROTOCOL]"\n'
    for name in ["chat", "plain", "mute", "sneaky", "big"]:
        with open(os.path.join(d, name), "w") as f:
            f.write(script)
        os.chmod(os.path.join(d, name), 0o755)
    os.mkdir(os.path.join(d, "sub"))
    os.symlink(os.path.join(d, "chat"), os.path.join(d, "sub", "chat2"))
    with open(os.path.join(d, "chat.protocols"), "w") as f:
        f.write("# what chat speaks, preferred first\n\nsuperchat\r\n  chat.v1  \n"
                "bad name\nbad,name\n")
    with open(os.path.join(d, "sub", "chat2.protocols"), "w") as f:
        f.write("chat.v2\n")
    open(os.path.join(d, "mute.protocols"), "w").close()
    outside = tempfile.NamedTemporaryFile("w", delete=False, suffix=".protocols")
    outside.write("g\n")
    outside.close()
    os.symlink(outside.name, os.path.join(d, "sneaky.protocols"))
    with open(os.path.join(d, "big.protocols"), "w") as f:
        f.write("g\n" * 3000)
    with pushpipe("--dir", d, "--protocol", "g", "--protocol", "chat.v1") as p:
        url = p.url
        assert run(subprotocol_of(url + "/chat", ["chat.v1", "superchat"])) == \
            ("chat.v1", "chat.v1", "[chat.v1]")
        assert run(subprotocol_of(url + "/chat/x?y", ["superchat"])) == \
            ("superchat", "superchat", "[superchat]")
        # The declaration replaces --protocol for that handler.
        assert run(subprotocol_of(url + "/chat", ["g"])) == (None, None, "[]")
        # Invalid names are skipped, not half-used.
        assert run(subprotocol_of(url + "/chat", ["name"])) == (None, None, "[]")
        # No sidecar: --protocol applies.
        assert run(subprotocol_of(url + "/plain", ["x", "g"])) == ("g", "g", "[g]")
        # Named after the path, so a symlink can declare its own list.
        assert run(subprotocol_of(url + "/sub/chat2", ["chat.v1", "chat.v2"])) == \
            ("chat.v2", "chat.v2", "[chat.v2]")
        # An empty declaration accepts nothing; unusable ones neither.
        for path in ["/mute", "/sneaky", "/big"]:
            assert run(subprotocol_of(url + path, ["g"])) == (None, None, "[]"), path
        # The sidecar itself is never served.
        c = Conn(p.port)
        head = c.handshake(path="/chat.protocols")
        assert head.startswith("HTTP/1.1 404"), head
        c.close()
        # The drafts read the same declaration.
        c = Conn(p.port)
        c.send(("GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: WebSocket\r\n"
                "Connection: Upgrade\r\nWebSocket-Protocol: superchat\r\n\r\n").encode())
        head = c.read_head()
        assert "\r\nWebSocket-Protocol: superchat\r\n" in head, head
        assert c.read_exact(len("\x00[superchat]\xff")) == b"\x00[superchat]\xff"
        c.close()
        log = p.log_text()
        assert "'bad name' is not a subprotocol name" in log, log
        assert "sneaky.protocols: not a file inside" in log, log
        assert "big.protocols: too long" in log, log
    os.unlink(outside.name)
    shutil.rmtree(d)


# ---- keepalive -------------------------------------------------------------------

def test_keepalive_answered():
    with pushpipe("--ping-interval", "1", "--ping-timeout", "1", "--", "cat") as p:
        async def go():
            async with websockets.connect(p.url, ping_interval=None, compression=None) as ws:
                await asyncio.sleep(2.7)
                await ws.send("still here")
                assert await ws.recv() == "still here"
        run(go())
        # A raw client that answers each ping with its payload.
        c = Conn(p.port)
        c.handshake()
        start, pings = time.time(), []
        while time.time() - start < 2.6:
            fin, rsv1, op, payload = c.recv_frame(timeout=3)
            assert op == 0x9, op
            pings.append(payload)
            c.send_frame(0xA, payload)
        assert len(pings) >= 2 and len(set(pings)) == len(pings), pings
        c.send_frame(0x1, b"alive")
        assert c.recv_data_frame()[3] == b"alive"
        c.close()


def test_keepalive_timeout():
    with pushpipe("--ping-interval", "1", "--ping-timeout", "1", "--", "cat") as p:
        c = Conn(p.port)
        c.handshake()
        start = time.time()
        took = c.wait_eof(timeout=6)
        c.close()
        assert 1.5 <= took <= 4, took
        assert c.buf[:1] == b"\x89", c.buf[:10]     # it was pinged, then dropped
        assert wait_until(lambda: "ping timeout" in p.log_text()), p.log_text()
        assert "close=1006" in p.log_text()
        assert time.time() - start < 6


def worker_cpu_ticks(pp):
    total = 0
    for pid in pplib.all_descendants(pp.proc.pid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except FileNotFoundError:
            pass
    return total


def test_close_wait_idle():
    # The handler closes stdout and lingers; after --close-grace our close
    # goes out and the client never answers it: the worker must sleep until
    # the close timeout, not spin.
    with pushpipe("--close-grace", "300", "--", "sh", "-c", "exec >&-; sleep 10") as p:
        c = Conn(p.port)
        c.handshake()
        fin, rsv1, op, payload = c.recv_frame(timeout=5)
        assert op == 0x8 and payload[:2] == b"\x03\xe8", (op, payload)
        before = worker_cpu_ticks(p)
        time.sleep(1)
        spent = worker_cpu_ticks(p) - before
        c.wait_eof(5)
        c.close()
        assert spent < 20, spent


def test_close_after_answers():
    # An echo handler that has answered everything: the client's close is
    # answered at once, not when the handler's output ends (here never:
    # its `sleep` keeps stdout open; the old wait was 500 ms).
    with pushpipe("--close-grace", "200", "--", "sh", "-c",
                  'while read -r l; do echo "$l"; done; exec sleep 30') as p:
        c = Conn(p.port)
        c.handshake()
        c.send_frame(0x1, b"one")
        assert c.recv_data_frame() == (True, False, 0x1, b"one")
        t0 = time.monotonic()
        c.send_frame(0x8, struct.pack("!H", 1000))
        fin, rsv1, op, payload = c.recv_frame(timeout=5)
        waited = time.monotonic() - t0
        assert op == 0x8 and payload == struct.pack("!H", 1000), (op, payload)
        c.wait_eof(5)
        c.close()
        assert waited < 0.25, waited
        # the lingering handler is still stopped and reaped
        assert wait_until(lambda: pplib.pids_of_children(p.proc.pid) == [], timeout=5), \
            pplib.pids_of_children(p.proc.pid)
    # Messages the handler has not answered yet when the close comes are
    # answered first, however long its output stays open afterwards.
    with pushpipe("--", "sh", "-c",
                  'while read -r l; do sleep 0.05; echo "$l"; done; exec sleep 30') as p:
        c = Conn(p.port)
        c.handshake()
        c.send_frame(0x1, b"a")
        c.send_frame(0x1, b"b")
        c.send_frame(0x8, struct.pack("!H", 4000))
        got = [c.recv_data_frame()[3], c.recv_data_frame()[3]]
        fin, rsv1, op, payload = c.recv_frame(timeout=5)
        assert got == [b"a", b"b"], got
        assert op == 0x8 and payload == struct.pack("!H", 4000), (op, payload)
        c.close()
    # A banner printed before the input is not its answer.
    with pushpipe("--", "sh", "-c",
                  'echo welcome; while read -r l; do sleep 0.05; echo "$l"; done; exec sleep 30') as p:
        c = Conn(p.port)
        c.handshake()
        assert c.recv_data_frame()[3] == b"welcome"
        c.send_frame(0x1, b"x")
        c.send_frame(0x8, struct.pack("!H", 1000))
        assert c.recv_data_frame()[3] == b"x"
        assert c.close_code() == 1000
        c.close()
    # A long binary echo arrives in many reads: all of it comes before the
    # close that followed it at once.
    with pushpipe("--mode", "binary", "--", "cat") as p:
        c = Conn(p.port)
        c.handshake()
        data = os.urandom(4 << 20)
        c.send_frame(0x2, data)
        c.send_frame(0x8, struct.pack("!H", 1000))
        echoed = b""
        while True:
            fin, rsv1, op, payload = c.recv_frame(timeout=10)
            if op == 0x8:
                break
            assert op in (0x0, 0x2), op
            echoed += payload
        assert echoed == data, (len(echoed), len(data))
        c.close()


def test_pipelined_frames():
    # A client may send frames right behind its request head; with a large
    # --max-head they can be read together with it, beyond one read chunk.
    with pushpipe("--max-head", "1M", "--mode", "framed", "--", "cat") as p:
        c = Conn(p.port)
        req = ("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % b64key()).encode()
        frames = b"".join(struct.pack("!BBH4s", 0x82, 0x80 | 126, 20000, b"\0\0\0\0") +
                          bytes([65 + i]) * 20000 for i in range(10))
        c.send(req + frames)
        assert c.read_head().startswith("HTTP/1.1 101"), c.head
        for i in range(10):
            assert c.recv_data_frame() == (True, False, 0x2, bytes([65 + i]) * 20000), i
        c.close()


# ---- headers and versions ----------------------------------------------------------

def test_custom_headers():
    with pushpipe("--header", "X-A: 1", "--header", "X-C: three",
                  "--header-ws", "X-B: 2", "--", "cat") as p:
        c = Conn(p.port)
        c.handshake()
        assert c.head.startswith("HTTP/1.1 101"), c.head
        assert (c.header("X-A"), c.header("X-B"), c.header("X-C")) == ("1", "2", "three"), c.head
        c.close()
        # A plain GET: 404 with --header, without --header-ws.
        c = Conn(p.port)
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        c.read_head()
        assert c.head.startswith("HTTP/1.1 404"), c.head
        assert c.header("X-A") == "1" and c.header("X-B") is None, c.head
        c.close()
        # Refusals are responses too.
        c = Conn(p.port)
        c.handshake(version="99")
        assert c.head.startswith("HTTP/1.1 426") and c.header("X-A") == "1", c.head
        c.close()
        # And the drafts' 101.
        c = Conn(p.port)
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\r\n")
        c.read_head()
        assert c.head.startswith("HTTP/1.1 101 Web Socket Protocol Handshake\r\n"
                                 "Upgrade: WebSocket\r\nConnection: Upgrade\r\n"), c.head
        assert c.header("X-A") == "1" and c.header("X-B") == "2", c.head
        c.close()


def test_hybi_07_08():
    with pushpipe("--", "sh", "-c", 'echo "$PUSHPIPE_WS_VERSION $HTTP_SEC_WEBSOCKET_ORIGIN"; cat') as p:
        for v in ["7", "8", "13"]:
            c = Conn(p.port)
            c.handshake(version=v, key=b64key(),
                        headers=["Sec-WebSocket-Origin: http://example.com",
                                 "Sec-WebSocket-Extensions: permessage-deflate"])
            assert c.head.startswith("HTTP/1.1 101 Switching Protocols"), c.head
            assert c.header("Sec-WebSocket-Extensions") == "permessage-deflate"
            assert c.recv_data_frame()[3] == ("%s http://example.com" % v).encode()
            c.send_frame(0x1, b"over hybi-" + v.encode())
            assert c.recv_data_frame()[3] == b"over hybi-" + v.encode()
            c.send_frame(0x8, b"\x03\xe8")
            assert c.close_code() == 1000
            c.close()
        for v in ["6", "9", "12", "14"]:
            c = Conn(p.port)
            c.handshake(version=v)
            assert c.head.startswith("HTTP/1.1 426"), c.head
            assert c.header("Sec-WebSocket-Version") == "13", c.head
            c.close()


R.run("websockets, deflate on (default): framed echo of text/binary/empty/1-16 MiB; off: no header",
      test_websockets_deflate_framed)
R.run("websockets, deflate on: lines echo", test_websockets_deflate_lines)
R.run("--no-deflate: no extension header; RSV1 then is 1002", test_no_deflate)
R.run("websockets sends 50 MB of zeros compressed: 1009 at --max-message 1M", test_websockets_bomb)
R.run("raw: RSV1, stripped tail, context takeover, threshold, fragments, 1002/1007",
      test_raw_deflate_frames)
R.run("raw: negotiation of every parameter, declined offers, no_context_takeover, window 9",
      test_raw_deflate_negotiation)
R.run("raw deflate bomb: 1009 fast, worker memory stays small", test_raw_deflate_bomb)
R.run("subprotocols: client's order, no match no header, PUSHPIPE_WS_PROTOCOL", test_subprotocols)
R.run("--dir: handlers declare subprotocols in NAME.protocols", test_dir_declared_protocols)
R.run("--ping-interval 1: a client that answers stays up", test_keepalive_answered)
R.run("--ping-timeout: a client that never answers is dropped, log says ping timeout",
      test_keepalive_timeout)
R.run("awaiting the client's close reply does not busy-loop", test_close_wait_idle)
R.run("a client's close is answered once the handler has answered, not at its exit",
      test_close_after_answers)
R.run("200 KB of frames sent with the head (--max-head 1M) all arrive", test_pipelined_frames)
R.run("--header on every response, --header-ws only on the 101", test_custom_headers)
R.run("hybi-07/08 with Sec-WebSocket-Origin, 426 for others", test_hybi_07_08)
R.finish()
