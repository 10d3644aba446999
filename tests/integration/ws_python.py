#!/usr/bin/python3
"""pushpipe against python3-websockets (a client nobody here wrote):
framed and lines echo with `cat`, large and fragmented messages, ping, the
close codes a handler's exit produces, refusals, --dir routing, and that no
handler process outlives its connection."""

import asyncio
import os
import socket
import stat
import tempfile

import websockets

from pplib import Results, pushpipe, pids_of_children, wait_until

R = Results("ws_python")


def run(coro):
    return asyncio.run(coro)


async def echo_framed(url):
    async with websockets.connect(url, max_size=None, compression=None) as ws:
        for msg in ["hello", "", "line1\nline2\n", "ünïcödé ✓ 𝄞", b"", b"\x00\xff\n\r binary",
                    bytes(range(256)) * 4]:
            await ws.send(msg)
            got = await ws.recv()
            assert got == msg and type(got) is type(msg), "%r != %r" % (got[:40], msg[:40])
        # 1 MiB and 16 MiB, text and binary
        big = os.urandom(16 * 1024 * 1024)
        await ws.send(big[:1 << 20])
        assert await ws.recv() == big[:1 << 20]
        await ws.send(big)
        assert await ws.recv() == big
        text = ("x" * 1023 + "\n") * 1024
        await ws.send(text)
        assert await ws.recv() == text
        # fragmented: websockets sends an iterable as fragments
        await ws.send(["frag", "men", "ted ", "ü"])
        assert await ws.recv() == "fragmented ü"
        await ws.send([b"a", b"", b"bc"])
        assert await ws.recv() == b"abc"
        # ping with payload gets a pong
        waiter = await ws.ping(b"are you there")
        await asyncio.wait_for(waiter, 5)
        await ws.close()
        assert ws.close_code == 1000, ws.close_code


async def echo_lines(url):
    async with websockets.connect(url, compression=None) as ws:
        await ws.send("hello")
        assert await ws.recv() == "hello"
        await ws.send("two\nlines")
        assert await ws.recv() == "two"
        assert await ws.recv() == "lines"
        await ws.send("")
        assert await ws.recv() == ""
        await ws.send("ünïcödé")
        assert await ws.recv() == "ünïcödé"
        for i in range(200):
            await ws.send("msg %d" % i)
        for i in range(200):
            assert await ws.recv() == "msg %d" % i


async def close_code_of(url, send=None):
    async with websockets.connect(url, compression=None) as ws:
        got = []
        if send is not None:
            await ws.send(send)
        try:
            while True:
                got.append(await asyncio.wait_for(ws.recv(), 10))
        except websockets.ConnectionClosed:
            pass
        return ws.close_code, got


def raw_handshake(port, version="13", key="dGhlIHNhbXBsZSBub25jZQ==", path="/"):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: %s\r\n\r\n" % (path, key, version)).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.decode("latin-1")


def test_framed():
    with pushpipe("--mode", "framed", "--", "cat") as p:
        run(echo_framed(p.url))


def test_lines():
    with pushpipe("--", "cat") as p:
        run(echo_lines(p.url))


def test_exit_codes():
    with pushpipe("--", "sh", "-c", "echo bye; exit 0") as p:
        code, got = run(close_code_of(p.url))
        assert code == 1000 and got == ["bye"], (code, got)
    with pushpipe("--", "sh", "-c", "read x; echo got $x; exit 3") as p:
        code, got = run(close_code_of(p.url, "it"))
        assert code == 1011 and got == ["got it"], (code, got)
    with pushpipe("--", "sh", "-c", "kill -SEGV $$") as p:
        code, got = run(close_code_of(p.url))
        assert code == 1011, code


def test_framed_close_record():
    # A handler closes with a code of its choice; the client's close reaches it.
    with pushpipe("--mode", "framed", "--", "sh", "-c",
                  "printf 't 2\\nhi\\nc 11\\n4001 kicked\\n'; sleep 5") as p:
        code, got = run(close_code_of(p.url))
        assert code == 4001 and got == ["hi"], (code, got)
    d = tempfile.mkdtemp()
    out = os.path.join(d, "seen")
    with pushpipe("--mode", "framed", "--", "sh", "-c", "cat > " + out) as p:
        async def go():
            async with websockets.connect(p.url, compression=None) as ws:
                await ws.send("x")
                await ws.close(4002, "bye now")
        run(go())
        assert wait_until(lambda: os.path.exists(out) and open(out, "rb").read().endswith(b"\n"))
        data = open(out, "rb").read()
        assert data == b"t 1\nx\nc 12\n4002 bye now\n", data


def test_refusals():
    with pushpipe("--", "cat") as p:
        head = raw_handshake(p.port, version="99")
        assert head.startswith("HTTP/1.1 426"), head
        assert "Sec-WebSocket-Version: 13" in head, head
        head = raw_handshake(p.port, key="short")
        assert head.startswith("HTTP/1.1 400"), head
        head = raw_handshake(p.port, version="8")
        assert head.startswith("HTTP/1.1 101"), head
        head = raw_handshake(p.port, version="7")
        assert head.startswith("HTTP/1.1 101"), head
    with pushpipe("--", "/nonexistent/handler") as p:
        head = raw_handshake(p.port)
        assert head.startswith("HTTP/1.1 500"), head
        assert wait_until(lambda: "No such file or directory" in p.log_text()), p.log_text()


def test_dir_routing():
    d = tempfile.mkdtemp()
    hdir = os.path.join(d, "handlers")
    os.mkdir(hdir)
    with open(os.path.join(hdir, "hello"), "w") as f:
        f.write("#!/bin/sh\necho \"hello $SCRIPT_NAME $PATH_INFO $QUERY_STRING\"\n")
    os.chmod(os.path.join(hdir, "hello"), 0o755)
    with open(os.path.join(d, "secret"), "w") as f:
        f.write("#!/bin/sh\necho secret\n")
    os.chmod(os.path.join(d, "secret"), 0o755)
    os.symlink(os.path.join(d, "secret"), os.path.join(hdir, "escape"))
    with open(os.path.join(hdir, "noexec"), "w") as f:
        f.write("#!/bin/sh\necho no\n")
    with pushpipe("--dir", hdir) as p:
        code, got = run(close_code_of(p.url + "/hello/extra?q=1"))
        assert got == ["hello /hello /extra q=1"] and code == 1000, (code, got)
        for bad in ["/../secret", "/%2e%2e/secret", "/%2E%2E/secret", "/escape", "/noexec",
                    "/missing", "/", "/.hidden", "/hello%00x"]:
            head = raw_handshake(p.port, path=bad)
            assert head.split(" ")[1] in ("404", "400"), (bad, head)


def test_handlers_reaped():
    # A handler that ignores stdin EOF and SIGTERM is still killed and reaped.
    with pushpipe("--close-grace", "200", "--", "sh", "-c",
                  "trap '' TERM; echo up; while :; do sleep 0.1; done") as p:
        async def go():
            async with websockets.connect(p.url, compression=None) as ws:
                assert await ws.recv() == "up"
                # the shell and (most of the time) its sleep
                assert wait_until(lambda: len(pids_of_children(p.proc.pid)) >= 2, 2), \
                    pids_of_children(p.proc.pid)
        run(go())
        assert wait_until(lambda: pids_of_children(p.proc.pid) == [], timeout=5), \
            pids_of_children(p.proc.pid)
        # no zombies either: children list is empty only after waitpid


R.run("framed echo: text, binary, empty, 1 MiB, 16 MiB, fragmented, ping", test_framed)
R.run("lines echo like websocketd", test_lines)
R.run("handler exit 0 -> 1000, exit 3 -> 1011, crash -> 1011", test_exit_codes)
R.run("framed close records both ways", test_framed_close_record)
R.run("426 for version 99, 400 for bad key, 500 for exec failure", test_refusals)
R.run("--dir maps paths and refuses escapes", test_dir_routing)
R.run("handlers are signalled and reaped after close", test_handlers_reaped)
R.finish()
