#!/usr/bin/python3
"""pushcat over ws:// against servers nobody here wrote (node ws with and
without permessage-deflate, faye-websocket, websocketd, python websockets),
against pushpipe in every mode, and against a raw server that breaks the
protocol on purpose: messages round-trip, close codes are reported, exit
codes are the documented ones."""

import fcntl
import os
import signal
import subprocess
import tempfile
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pclib import (PUSHCAT, NodeServer, RawServer, Results, assert_eq, assert_exit,  # noqa: E402
                   assert_in, free_port, frame, pushpipe, read_frame, run, run_held, wait_port)

R = Results("pushcat_ws")


# ---- pushpipe ---------------------------------------------------------------

def t_pushpipe_lines():
    with pushpipe("--", "cat") as pp:
        lines = ["hello", "", "\u00e9t\u00e9 \U0001f600", "x" * (1 << 20)]
        data = ("\n".join(lines) + "\n").encode()
        p = run([pp.url + "/"], data)
        assert_exit(p, 0, "lines")
        assert_eq(p.stdout, data, "echo")


def t_pushpipe_binary():
    with pushpipe("--mode", "binary", "--", "cat") as pp:
        blob = os.urandom(3 << 20)
        p = run(["--binary", "--linger", "3000", pp.url + "/"], blob, timeout=60)
        assert_exit(p, 0, "binary")
        assert_eq(len(p.stdout), len(blob), "length")
        assert_eq(p.stdout == blob, True, "bytes")


def t_pushpipe_framed():
    with pushpipe("--mode", "framed", "--", "cat") as pp:
        recs = b"t 5\nhello\nt 0\n\nb 4\n\x00\xff\n\r\nt 5\na\nb\nc\n"
        big = os.urandom(5 << 20)
        recs += b"b %d\n" % len(big) + big + b"\n"
        # A quiet period long enough for pushpipe to collect and send back
        # the 5 MiB record even under sanitizers.
        p = run(["--framed", "--linger", "3000", pp.url + "/"], recs, timeout=60)
        assert_exit(p, 0, "framed")
        assert_eq(p.stdout == recs, True, "records echoed exactly")


def t_pushpipe_close_record():
    # The handler closes with 4001: pushcat prints the close record and
    # exits 8 (closed by the server with a code that is not normal).
    with pushpipe("--mode", "framed", "--", "sh", "-c",
                  r'printf "t 2\nhi\nc 11\n4001 kicked\n"; sleep 2') as pp:
        p = run(["--framed", pp.url + "/"], b"", timeout=10)
        assert_exit(p, 8, "peer close")
        assert_eq(p.stdout, b"t 2\nhi\nc 11\n4001 kicked\n", "records")
        assert_in(b"4001: kicked", p.stderr)


def t_pushpipe_verbose():
    with pushpipe("--protocol", "chat", "--", "cat") as pp:
        p = run(["-v", "--protocol", "other", "--protocol", "chat", pp.url + "/v"], b"hi\n")
        assert_exit(p, 0, "verbose")
        err = p.stderr.decode()
        for want in ("> GET /v HTTP/1.1", "> Sec-WebSocket-Protocol: other, chat",
                     "< HTTP/1.1 101", "* subprotocol: chat", "* extensions: permessage-deflate",
                     "* server answered our close: 1000"):
            assert_in(want, err, "-v")


def t_pushpipe_exec():
    # The program gets pushpipe's contract from the client side: it sends
    # a line, the echo arrives on its stdin, and its stderr is ours.
    with pushpipe("--", "cat") as pp:
        script = ('echo "$PUSHPIPE_PROTOCOL $PUSHPIPE_TRANSPORT $PUSHPIPE_MODE $PUSHPIPE_WS_VERSION"; '
                  'read x; echo "got: $x" >&2; echo "url=$PUSHPIPE_URL inherited=$PUSHPIPE_STALE" >&2')
        p = run([pp.url + "/e", "--", "sh", "-c", script], env={"PUSHPIPE_STALE": "yes"})
        assert_exit(p, 0, "exec")
        assert_in(b"got: websocket client lines 13\n", p.stderr)
        assert_in(("url=%s/e inherited=\n" % pp.url).encode(), p.stderr)
        # No descriptor of pushcat's (socket, pipes, TLS) leaks into it.
        # (the same redirection as below: dash keeps a copy of fd 1 for it)
        base = subprocess.run(["/bin/sh", "-c", "ls /proc/$$/fd >&2"], capture_output=True).stderr
        p = run(["--exec", "ls /proc/$$/fd >&2; echo x; read x", pp.url + "/"])
        assert_exit(p, 0, "descriptors")
        assert_eq(sorted(p.stderr.split()), sorted(base.split()), "the program's descriptors")
        # What pushcat inherited is the user's, as with a shell: 3>file
        # reaches the program.
        out = os.path.join(tempfile.mkdtemp(), "three")
        p = subprocess.run(["/bin/sh", "-c", 'exec "$0" "$@" 3>"$OUT"', PUSHCAT, "--exec",
                            "echo via-three >&3; echo x; read x", pp.url + "/"],
                           env=dict(os.environ, OUT=out), capture_output=True, timeout=20)
        assert_exit(p, 0, "inherited descriptor")
        assert_eq(open(out).read(), "via-three\n", "what the program wrote to fd 3")
        p = run(["--exec", "echo one; read x; exit 3", pp.url + "/"])
        assert_exit(p, 9, "failing program")
        p = run([pp.url + "/", "--", "/nonexistent/program"])
        assert_exit(p, 9, "program that cannot start")


# ---- node ws -------------------------------------------------------------------

def t_node_deflate():
    with NodeServer("ws", "--deflate") as s:
        big = ("compress me " * 20000).encode()
        data = b"short\n" + big + b"\n" + "\u00fcnic\u00f6de".encode() + b"\n"
        p = run(["-v", "ws://127.0.0.1:%d/d" % s.port], data)
        assert_exit(p, 0, "deflate")
        assert_eq(p.stdout, data, "echo")
        assert_in(b"* extensions: permessage-deflate", p.stderr)
        ev = s.events.wait_for("open ")
        assert_in("permessage-deflate", ev, "server saw the extension")
        assert_eq(s.events.wait_for("close "), "close 1000 ", "close")
        # Offered but declined: --no-deflate sends no offer at all.
        p = run(["--no-deflate", "ws://127.0.0.1:%d/" % s.port], b"plain\n")
        assert_exit(p, 0)
        assert_eq(s.events.wait_for("open "), "open / - - -", "no extension")


def t_node_plain():
    with NodeServer("ws") as s:
        p = run(["-v", "ws://127.0.0.1:%d/" % s.port], b"a\nb\n")
        assert_exit(p, 0)
        assert_eq(p.stdout, b"a\nb\n")
        assert_in(b"* extensions: (none)", p.stderr)
        # Binary both ways.
        blob = os.urandom(200000)
        p = run(["-b", "ws://127.0.0.1:%d/" % s.port], blob)
        assert_exit(p, 0)
        assert_eq(p.stdout == blob, True, "binary echo")


def t_node_subprotocol():
    with NodeServer("ws") as s:
        p = run(["-v", "--protocol", "chat", "--protocol", "superchat",
                 "ws://127.0.0.1:%d/protocol" % s.port], b"")
        assert_exit(p, 0)
        assert_eq(p.stdout, b"chat\n")
        assert_in(b"* subprotocol: chat", p.stderr)


def t_node_close_codes():
    with NodeServer("ws") as s:
        # The server closes: its code and reason are reported, exit 8.
        p = run(["ws://127.0.0.1:%d/" % s.port], b"before\nclose 4000 see you\n", timeout=10)
        # Our own close may cross the server's; either way we must not
        # lose "before".
        assert_eq(p.stdout, b"before\n")
        # With stdin kept open the server's close comes first.
        p = run_held(["-v", "ws://127.0.0.1:%d/" % s.port], b"close 4000 see you\n")
        assert_exit(p, 8, "exit")
        assert_in(b"server closed: 4000 see you", p.stderr)
        p = run_held(["ws://127.0.0.1:%d/" % s.port], b"close 1001 going\n")
        assert_exit(p, 0, "1001 is normal")
        p = run_held(["ws://127.0.0.1:%d/" % s.port], b"close 1000\n")
        assert_exit(p, 0, "1000")
        # Our close code and reason reach the server.
        p = run(["--close-code", "4001", "--close-reason", "bye now",
                 "ws://127.0.0.1:%d/" % s.port], b"x\n")
        assert_exit(p, 0)
        assert_eq(s.events.wait_for("close 4001"), "close 4001 bye now")


def t_node_headers():
    with NodeServer("ws") as s:
        p = run(["-H", "X-Test-One: 1", "--header", "X-Test-Two: two words",
                 "--origin", "http://example.org", "ws://alice:s%40cret@127.0.0.1:" + str(s.port) + "/h"], b"")
        assert_exit(p, 0)
        seen = [s.events.wait_for("header") for _ in range(4)]
        for want in ("header x-test-one 1", "header x-test-two two words",
                     "header origin http://example.org",
                     "header authorization Basic YWxpY2U6c0BjcmV0"):
            assert_in(want, seen, "headers")


def t_node_big_and_limit():
    with NodeServer("ws") as s:
        proc = subprocess.Popen([PUSHCAT, "ws://127.0.0.1:%d/" % s.port], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc.communicate(b"send 300000\n", timeout=10)
        assert_eq(proc.returncode, 0)
        assert_eq(out, b"a" * 300000 + b"\n", "big message as one line")
        p = run_held(["--max-message", "1000", "ws://127.0.0.1:%d/" % s.port], b"send 5000\n")
        assert_exit(p, 6, "too big")
        assert_eq(s.events.wait_for("close 1009"), "close 1009 ", "server got 1009")


def t_signal():
    with NodeServer("ws") as s:
        r, w = os.pipe()
        proc = subprocess.Popen([PUSHCAT, "ws://127.0.0.1:%d/" % s.port], stdin=r,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.close(r)
        os.write(w, b"hi\n")
        s.events.wait_for("open")
        assert_eq(proc.stdout.readline(), b"hi\n", "echo before the signal")
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
        os.close(w)
        assert_eq(proc.returncode, 128 + signal.SIGINT, "exit")
        assert_eq(s.events.wait_for("close "), "close 1001 ", "going away")


def t_stdin_flags_restored():
    # O_NONBLOCK belongs to the open file, which pushcat shares with whoever
    # gave it stdin (a shell's terminal): it must be put back.
    with NodeServer("ws") as s:
        r, w = os.pipe()
        os.write(w, b"x\n")
        os.close(w)
        p = subprocess.run([PUSHCAT, "ws://127.0.0.1:%d/" % s.port], stdin=r, capture_output=True,
                           timeout=10)
        assert_exit(p, 0)
        flags = fcntl.fcntl(r, fcntl.F_GETFL)
        os.close(r)
        assert_eq(bool(flags & os.O_NONBLOCK), False, "O_NONBLOCK left on stdin")


# ---- faye-websocket, websocketd, python websockets --------------------------------

def t_faye():
    with NodeServer("faye") as s:
        url = "ws://127.0.0.1:%d/" % s.port
        p = run(["-v", "--protocol", "superchat", url], "text\n\u00e9\n".encode())
        assert_exit(p, 0)
        assert_eq(p.stdout, "text\n\u00e9\n".encode())
        assert_in(b"* subprotocol: superchat", p.stderr)
        blob = os.urandom(100000)
        p = run(["--binary", url], blob)
        assert_exit(p, 0)
        assert_eq(p.stdout == blob, True, "binary")
        recs = b"t 3\na\nb\nb 2\n\x01\x02\n"
        p = run(["--framed", url], recs)
        assert_exit(p, 0)
        assert_eq(p.stdout, recs, "framed")
        p = run_held([url], b"close 4003 faye says no\n")
        assert_exit(p, 8)
        assert_in(b"4003: faye says no", p.stderr)


def t_websocketd():
    port = free_port()
    proc = subprocess.Popen(["websocketd", "--port=%d" % port, "--address=127.0.0.1", "cat"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc)
        p = run(["ws://127.0.0.1:%d/" % port], b"one\ntwo\n")
        assert_exit(p, 0)
        assert_eq(p.stdout, b"one\ntwo\n")
    finally:
        proc.terminate()
        proc.wait(10)


PY_SERVER = r'''
import asyncio, sys, websockets
async def handler(ws, path=None):
    async for m in ws:
        if m == "close":
            await ws.close(4002, "python says bye")
            return
        await ws.send(m)
async def main():
    async with websockets.serve(handler, "127.0.0.1", 0, subprotocols=["json", "chat"]) as srv:
        print("ready", srv.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
'''


def t_python_websockets():
    proc = subprocess.Popen(["/usr/bin/python3", "-c", PY_SERVER], stdout=subprocess.PIPE)
    try:
        port = int(proc.stdout.readline().split()[1])
        url = "ws://127.0.0.1:%d/" % port
        p = run(["-v", "--protocol", "chat", url], b"hello\n" + b"z" * 100000 + b"\n")
        assert_exit(p, 0)
        assert_eq(p.stdout, b"hello\n" + b"z" * 100000 + b"\n")
        assert_in(b"* subprotocol: chat", p.stderr)
        assert_in(b"* extensions: permessage-deflate", p.stderr)
        p = run_held([url], b"close\n")
        assert_exit(p, 8)
        assert_in(b"4002: python says bye", p.stderr)
    finally:
        proc.terminate()
        proc.wait(10)


# ---- a server that misbehaves ------------------------------------------------------

def handshake_refused(srv, conn, head):
    conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")


def wrong_accept(srv, conn, head):
    RawServer.accept_handshake(conn, head, accept=b"AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    srv.notes.put(read_frame(conn))


def unoffered_protocol(srv, conn, head):
    RawServer.accept_handshake(conn, head, extra=b"Sec-WebSocket-Protocol: mqtt\r\n")


def not_http(srv, conn, head):
    conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")


def masked_frame(srv, conn, head):
    RawServer.accept_handshake(conn, head)
    conn.sendall(frame(1, b"hi", mask=b"\1\2\3\4"))
    srv.notes.put(read_frame(conn))


def bad_utf8(srv, conn, head):
    RawServer.accept_handshake(conn, head)
    conn.sendall(frame(1, b"ok") + frame(1, b"\xc3\x28"))
    srv.notes.put(read_frame(conn))


def drop(srv, conn, head):
    RawServer.accept_handshake(conn, head)
    conn.sendall(frame(1, b"last words"))


def no_close_answer(srv, conn, head):
    RawServer.accept_handshake(conn, head)
    srv.notes.put(read_frame(conn))
    time.sleep(5)


def early_fragments_ping(srv, conn, head):
    # Frames glued to the 101, a fragmented message with a ping inside it,
    # and a close without a code: all by the book.
    RawServer.accept_handshake(conn, head)
    conn.sendall(frame(1, b"glued"))
    conn.sendall(frame(1, b"frag", fin=False) + frame(9, b"p1") + frame(0, b"men", fin=False) +
                 frame(0, b"ted"))
    srv.notes.put(read_frame(conn))    # the pong
    conn.sendall(frame(8))
    srv.notes.put(read_frame(conn))    # our close answer


def ping_server(answer):
    def script(srv, conn, head):
        RawServer.accept_handshake(conn, head)
        while True:
            f = read_frame(conn)
            if f is None:
                return
            srv.notes.put(f[0])
            if f[0] == 9 and answer:
                conn.sendall(frame(10, f[1]))
            if f[0] == 8:
                conn.sendall(frame(8, f[1]))
                return
    return script


def raw(script, args, stdin=b"", **kw):
    srv = RawServer(script)
    try:
        return srv, run(list(args) + ["ws://127.0.0.1:%d/" % srv.port], stdin, **kw)
    finally:
        srv.close()


def t_raw_handshakes():
    srv, p = raw(handshake_refused, [])
    assert_exit(p, 5, "403")
    assert_in(b"HTTP 403 Forbidden", p.stderr)
    srv, p = raw(wrong_accept, [])
    assert_exit(p, 5, "wrong accept")
    assert_in(b"Sec-WebSocket-Accept", p.stderr)
    op, payload, masked = srv.notes.get(timeout=5)
    assert_eq((op, payload[:2], masked), (8, b"\x03\xea", True), "1002 sent, masked")
    srv, p = raw(unoffered_protocol, ["--protocol", "chat"])
    assert_exit(p, 5, "unoffered subprotocol")
    srv, p = raw(unoffered_protocol, [])
    assert_exit(p, 5, "subprotocol when none was offered")
    srv, p = raw(not_http, [])
    assert_exit(p, 5, "not HTTP")


def t_raw_protocol_errors():
    srv = RawServer(masked_frame)
    p = run_held(["ws://127.0.0.1:%d/" % srv.port])
    assert_exit(p, 6, "masked server frame")
    op, payload, _ = srv.notes.get(timeout=5)
    assert_eq((op, payload[:2]), (8, b"\x03\xea"), "1002")
    srv.close()
    srv = RawServer(bad_utf8)
    p = run_held(["ws://127.0.0.1:%d/" % srv.port])
    assert_exit(p, 6, "invalid UTF-8")
    assert_eq(p.stdout, b"ok\n", "the message before it is delivered")
    op, payload, _ = srv.notes.get(timeout=5)
    assert_eq((op, payload[:2]), (8, b"\x03\xef"), "1007")
    srv.close()


def t_raw_abnormal():
    srv = RawServer(drop)
    p = run_held(["ws://127.0.0.1:%d/" % srv.port])
    srv.close()
    assert_exit(p, 7, "dropped")
    assert_eq(p.stdout, b"last words\n")
    assert_in(b"without a close handshake", p.stderr)
    t0 = time.time()
    srv, p = raw(no_close_answer, ["--close-timeout", "1"], b"x\n")
    assert_exit(p, 7, "close never answered")
    assert_eq(time.time() - t0 < 4, True, "bounded by --close-timeout")


def t_raw_early_fragments_ping():
    srv = RawServer(early_fragments_ping)
    p = run_held(["ws://127.0.0.1:%d/" % srv.port])
    assert_exit(p, 0, "close without a code is normal")
    assert_eq(p.stdout, b"glued\nfragmented\n")
    op, payload, masked = srv.notes.get(timeout=5)
    assert_eq((op, payload, masked), (10, b"p1", True), "pong")
    op, payload, _ = srv.notes.get(timeout=5)
    assert_eq((op, payload), (8, b""), "close echoed without a code")
    srv.close()


def t_ping_interval():
    srv = RawServer(ping_server(True))
    proc = subprocess.Popen([PUSHCAT, "--ping-interval", "1", "ws://127.0.0.1:%d/" % srv.port],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(2.5)
    out, err = proc.communicate(b"", timeout=10)
    assert_eq(proc.returncode, 0, "pings answered (%s)" % err)
    ops = []
    while not srv.notes.empty():
        ops.append(srv.notes.get())
    assert_eq(ops.count(9) >= 2, True, "pings sent: %r" % ops)
    srv.close()
    srv = RawServer(ping_server(False))
    t0 = time.time()
    p = run_held(["--ping-interval", "1", "--ping-timeout", "1", "ws://127.0.0.1:%d/" % srv.port])
    assert_exit(p, 7, "unanswered ping")
    assert_eq(time.time() - t0 < 5, True, "dropped after the timeout")
    srv.close()


# ---- usage and connection errors --------------------------------------------------------

def t_usage_and_connect():
    for args in (["ftp://x/"], [], ["ws://h/", "extra"], ["--close-code", "1005", "ws://h/"],
                 ["--close-code", "999", "ws://h/"], ["-H", "Upgrade: h2c", "ws://h/"],
                 ["-H", "no colon", "ws://h/"], ["--protocol", "a b", "ws://h/"],
                 ["--key", "k.pem", "wss://h/"], ["--bogus", "ws://h/"], ["--sse", "ws://h/"],
                 ["--close-reason", "x" * 124, "ws://h/"], ["--exec", "cat", "ws://h/", "--", "cat"],
                 ["--proxy", "socks5://127.0.0.1:1", "ws://127.0.0.1:1/"]):
        p = run(args)
        if p.returncode != 2:
            raise AssertionError("%r: exit %d, want 2" % (args, p.returncode))
        assert_in(b"pushcat: ", p.stderr, "message")
    port = free_port()
    p = run(["ws://127.0.0.1:%d/" % port])
    assert_exit(p, 3, "refused")
    assert_in(b"Connection refused", p.stderr)
    p = run(["--help"])
    assert_exit(p, 0)
    assert_in(b"Usage: pushcat", p.stdout)


R.run("pushpipe: lines echo (UTF-8, empty, 1 MiB line)", t_pushpipe_lines)
R.run("pushpipe: binary echo (3 MiB)", t_pushpipe_binary)
R.run("pushpipe: framed records echoed exactly (5 MiB binary)", t_pushpipe_framed)
R.run("pushpipe: handler's close record 4001 -> printed, exit 8", t_pushpipe_close_record)
R.run("pushpipe: -v shows handshake, subprotocol, extensions, close", t_pushpipe_verbose)
R.run("pushpipe: -- COMMAND with the handler contract; exit 9 on failure", t_pushpipe_exec)
R.run("node ws: permessage-deflate both ways; --no-deflate", t_node_deflate)
R.run("node ws: no extension, text and binary", t_node_plain)
R.run("node ws: subprotocol negotiation", t_node_subprotocol)
R.run("node ws: close codes both ways (exit 8, 1001 normal, --close-code)", t_node_close_codes)
R.run("node ws: -H, --origin, Basic credentials from the URL", t_node_headers)
R.run("node ws: 300 KB message; --max-message -> 1009, exit 6", t_node_big_and_limit)
R.run("SIGINT: close 1001, exit 130", t_signal)
R.run("stdin's O_NONBLOCK restored", t_stdin_flags_restored)
R.run("faye-websocket: text, binary, framed, subprotocol, close code", t_faye)
R.run("websocketd: lines echo", t_websocketd)
R.run("python websockets: echo, deflate, subprotocol, close 4002", t_python_websockets)
R.run("raw: 403, bad accept, unoffered subprotocol, not HTTP -> exit 5", t_raw_handshakes)
R.run("raw: masked frame -> 1002, bad UTF-8 -> 1007, exit 6", t_raw_protocol_errors)
R.run("raw: dropped connection, unanswered close -> exit 7", t_raw_abnormal)
R.run("raw: frames glued to the 101, fragments, ping, close without code", t_raw_early_fragments_ping)
R.run("--ping-interval: pings sent; no pong -> exit 7", t_ping_interval)
R.run("usage errors exit 2, refused connection exit 3", t_usage_and_connect)
R.finish()
