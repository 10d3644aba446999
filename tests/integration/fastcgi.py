#!/usr/bin/python3
"""pushpipe as a FastCGI responder, driven with our own FastCGI client
(fcgi_client.py), including a whole WebSocket session the way lighttpd
>= 1.4.74 runs it ("upgrade" => "enable"), which Debian's lighttpd 1.4.69
cannot: answer Status: 101 without waiting for the end of FCGI_STDIN,
frames in FCGI_STDIN / FCGI_STDOUT records, the client's FIN passed on as
shutdown(SHUT_WR), END_REQUEST ends the connection.

Also: ABORT_REQUEST and a vanished web server end the handler; requests that
are neither EventSource nor WebSocket get a 4xx at once; bytes libfcgi read
ahead (client frames right behind PARAMS) are not lost; spawn-fcgi's spawned
mode (examples/spawn-fcgi); unix sockets; --max-connections."""

import asyncio
import os
import struct
import time

import websockets

import fcgi_client as fc
from pplib import PUSHPIPE, Results, free_port
from servers import (run_scenarios, IS_ROOT, Proc, SseStream, pushpipe_fcgi, sse_checks, template,
                     wait_gone, ws_checks)

R = Results("fastcgi")

UPGRADE_HEADERS = {"Host": "127.0.0.1", "Upgrade": "websocket", "Connection": "Upgrade",
                   "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"}


def ws_frame(payload, opcode=1, mask=b"\x11\x22\x33\x44"):
    """One masked client frame."""
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def parse_frames(data):
    """Unmasked server frames -> [(opcode, payload)], rest."""
    out = []
    while len(data) >= 2:
        op, n = data[0] & 0x0F, data[1] & 0x7F
        off = 2
        if n == 126:
            if len(data) < 4:
                break
            n, off = struct.unpack(">H", data[2:4])[0], 4
        elif n == 127:
            if len(data) < 10:
                break
            n, off = struct.unpack(">Q", data[2:10])[0], 10
        if len(data) < off + n:
            break
        out.append((op, data[off:off + n]))
        data = data[off + n:]
    return out, data


def sse_env(query="", headers=None):
    h = {"Accept": "text/event-stream"}
    h.update(headers or {})
    return fc.base_env("/events", query, headers=h)


def upgrade_wire(work, port):
    """What lighttpd >= 1.4.74 sends, by hand: no empty FCGI_STDIN, and the
    client's first frame in the same write as PARAMS (so it lands in
    libfcgi's read-ahead buffer, which the worker must take over)."""
    c = fc.Conn(("127.0.0.1", port))
    try:
        env = fc.base_env("/chat", headers=UPGRADE_HEADERS)
        early = ws_frame(b"early bird")
        c.request(env, stdin=early, end_stdin=False)
        status, headers, body = c.head()
        assert status == 101, (status, headers)
        assert headers.get("upgrade", "").lower() == "websocket", headers
        assert headers.get("sec-websocket-accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", headers
        # framed handler: first its pid, then the echo of the early frame
        def frames():
            return parse_frames(c.stdout.partition(b"\r\n\r\n")[2])[0]
        c.read_until(lambda: len(frames()) >= 2, 5)
        f = frames()
        assert len(f) >= 2 and f[0][1].startswith(b"pid ") and f[1] == (1, b"early bird"), f
        pid = int(f[0][1][4:])
        # a binary frame split across two FCGI_STDIN records
        frame = ws_frame(bytes(range(256)), opcode=2)
        c.send(fc.record(fc.STDIN, 1, frame[:100]) + fc.record(fc.STDIN, 1, frame[100:]))
        c.read_until(lambda: len(frames()) >= 3, 5)
        assert frames()[2] == (2, bytes(range(256))), frames()[2:]
        # close frame -> close frame back, then END_REQUEST
        c.send(fc.record(fc.STDIN, 1, ws_frame(struct.pack(">H", 1000), opcode=8)))
        c.read_until(lambda: c.ended is not None, 5)
        assert any(op == 8 for op, _ in frames()), frames()
        assert c.ended == (0, 0), c.ended
        assert wait_gone(pid, 3), "handler %d still running" % pid
    finally:
        c.close()


def websocket_vanishes(port):
    """The client drops the TCP connection without a close frame: the front
    end shuts the FastCGI socket down and pushpipe ends the handler."""
    async def go():
        ws = await websockets.connect("ws://127.0.0.1:%d/chat" % port, compression=None)
        hello = await ws.recv()
        ws.transport.abort()
        return int(hello[4:])
    pid = asyncio.run(go())
    assert wait_gone(pid, 4), "handler %d still running" % pid


def abort_request(port):
    c = fc.Conn(("127.0.0.1", port))
    try:
        c.request(sse_env())
        c.read_until(lambda: b"data: pid " in c.stdout, 5)
        pid = int(c.stdout.split(b"data: pid ")[1].split(b"\n")[0])
        t0 = time.time()
        c.send(fc.record(fc.ABORT_REQUEST, 1))
        c.read_until(lambda: c.ended is not None, 5)
        assert c.ended is not None, "no END_REQUEST after ABORT_REQUEST"
        assert time.time() - t0 < 1.0, "END_REQUEST %.2f s after the abort" % (time.time() - t0)
        assert wait_gone(pid, 2.0), "handler %d still running 2 s after the abort" % pid
    finally:
        c.close()


def server_vanishes(port):
    c = fc.Conn(("127.0.0.1", port))
    c.request(sse_env())
    c.read_until(lambda: b"data: pid " in c.stdout, 5)
    pid = int(c.stdout.split(b"data: pid ")[1].split(b"\n")[0])
    c.close()
    assert wait_gone(pid, 2.0), "handler %d still running 2 s after the web server left" % pid


def plain_requests(port):
    # GET without Accept: text/event-stream or Upgrade -> 404 at once
    c = fc.Conn(("127.0.0.1", port))
    t0 = time.time()
    c.request(fc.base_env("/events"))
    status, _, _ = c.head(5)
    c.read_until(lambda: c.ended is not None, 5)
    c.close()
    assert status == 404 and c.ended == (0, 0), (status, c.ended)
    assert time.time() - t0 < 1.0
    # POST with a body pushpipe never reads: 405, complete, not reset
    c = fc.Conn(("127.0.0.1", port))
    env = fc.base_env("/events", method="POST")
    env["CONTENT_LENGTH"] = str(300000)
    c.request(env, stdin=b"x" * 300000)
    status, headers, body = c.head(5)
    c.read_until(lambda: c.ended is not None, 5)
    c.close()
    assert status == 405 and c.ended == (0, 0), (status, c.ended)
    assert headers.get("allow") == "GET, HEAD", headers


def upgrade_without_tunnel(port):
    """A server that ends FCGI_STDIN at once (nginx, Apache, lighttpd 1.4.69)
    cannot tunnel: 501 with an explanation, not a 101 into nowhere."""
    c = fc.Conn(("127.0.0.1", port))
    try:
        c.request(fc.base_env("/chat", headers=UPGRADE_HEADERS))
        status, _, body = c.head(5)
        c.read_until(lambda: c.ended is not None, 5)
        assert status == 501 and b"FastCGI" in c.stdout, (status, c.stdout)
    finally:
        c.close()


def split_params_keep_conn(port):
    """PARAMS in 7-byte records and FCGI_KEEP_CONN: served, and pushpipe
    closes the connection after END_REQUEST (one request per connection)."""
    c = fc.Conn(("127.0.0.1", port))
    try:
        c.request(sse_env(headers={"Last-Event-ID": "42"}), flags=fc.KEEP_CONN, split_params=7)
        assert c.read_until(lambda: b"data: lei 42\n\n" in c.stdout, 5), c.stdout
        c.send(fc.record(fc.ABORT_REQUEST, 1))
        c.read_until(lambda: c.closed, 5)
        assert c.ended == (0, 0) and c.closed, (c.ended, c.closed)
    finally:
        c.close()


def concurrent_streams(port, n=20):
    """Many streams at once through one pushpipe --fcgi, each its own worker
    and handler; all complete, all handlers gone when the clients leave."""
    streams = [SseStream(port, "/events?count=5") for _ in range(n)]
    try:
        pids = set()
        for st in streams:
            ev = st.wait_events(8)
            assert [e["data"] for e in ev[2:7]] == ["event %d" % i for i in range(5)], ev
            pids.add(int(ev[0]["data"][4:]))
        assert len(pids) == n, pids
    finally:
        for st in streams:
            st.close()
    gone = [wait_gone(pid, 5) for pid in pids]
    assert all(gone), "%d handlers still running" % gone.count(False)


def max_connections(work):
    p, port = pushpipe_fcgi(work, ["--max-connections", "1", "--", work.sse_handler], "pushpipe-max")
    a = fc.Conn(("127.0.0.1", port))
    b = fc.Conn(("127.0.0.1", port))
    try:
        a.request(sse_env())
        a.read_until(lambda: b"data: pid" in a.stdout, 5)
        b.request(sse_env())
        status, headers, _ = b.head(5)
        b.read_until(lambda: b.ended is not None, 5)
        assert status == 503 and headers.get("retry-after") == "1" and b.ended == (0, 0), (status, b.ended)
    finally:
        a.close()
        b.close()
        p.stop()


def unix_socket(work):
    path = os.path.join(work.path, "pp.sock")
    p = Proc(work, "pushpipe-unix", [PUSHPIPE, "--fcgi", "unix:" + path, "--", work.sse_handler])
    deadline = time.time() + 5
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.02)
    c = fc.Conn(path)
    try:
        c.request(sse_env(headers={"Last-Event-ID": "42"}))
        assert c.read_until(lambda: b"data: lei 42\n\n" in c.stdout, 5), c.stdout
    finally:
        c.close()
        p.stop()


def spawned(work):
    """examples/spawn-fcgi: spawn-fcgi puts the socket on fd 0 and runs
    pushpipe, which finds it there (no --fcgi, no --listen)."""
    fport = free_port()
    script = template("spawn-fcgi/pushpipe-fcgi.sh", work.values(FCGI_PORT=fport),
                      {"--heartbeat 15": "--heartbeat 1"})
    if not IS_ROOT:
        script = script.replace("-u www-data -g www-data ", "")
    path = work.write("spawn.sh", script, 0o755)
    p = Proc(work, "spawn-fcgi", ["/bin/sh", path], fport)
    gw = fc.Lighttpd174(("127.0.0.1", fport))
    try:
        sse_checks(R, "spawn-fcgi (socket on fd 0) SSE", gw.port, "/events")
    finally:
        gw.stop()
        p.stop()


def external(work):
    sp, sport = pushpipe_fcgi(work, ["--heartbeat", "1", "--", work.sse_handler], "pushpipe-sse")
    wp, wport = pushpipe_fcgi(work, ["--mode", "framed", "--", work.ws_handler], "pushpipe-ws")
    sgw = fc.Lighttpd174(("127.0.0.1", sport))
    wgw = fc.Lighttpd174(("127.0.0.1", wport))
    try:
        ws_checks(R, "FastCGI upgrade (lighttpd 1.4.74 wire) WS", "ws://127.0.0.1:%d/chat" % wgw.port)
        R.run("FastCGI upgrade: 101 at once, early frame kept, records both ways, END_REQUEST",
              upgrade_wire, work, wport)
        R.run("FastCGI upgrade: client vanishing ends the handler", websocket_vanishes, wgw.port)
        sse_checks(R, "FastCGI (lighttpd 1.4.74 wire) SSE", sgw.port, "/events")
        R.run("20 concurrent streams through one pushpipe --fcgi", concurrent_streams, sgw.port)
        R.run("FCGI_ABORT_REQUEST: END_REQUEST at once, handler ended", abort_request, sport)
        R.run("web server closing the connection ends the handler", server_vanishes, sport)
        R.run("neither EventSource nor WebSocket: 404/405 at once, never a hang", plain_requests, sport)
        R.run("WebSocket where the server cannot tunnel: 501", upgrade_without_tunnel, wport)
        R.run("PARAMS in many records, FCGI_KEEP_CONN", split_params_keep_conn, sport)
        for gw in (sgw, wgw):
            R.check("front end saw no errors", not [l for l in gw.log if l.startswith("error")], gw.log)
    finally:
        sgw.stop()
        wgw.stop()
        sp.stop()
        wp.stop()


run_scenarios(R, "fastcgi", (external, spawned, unix_socket, max_connections))
