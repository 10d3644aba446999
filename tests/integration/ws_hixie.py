#!/usr/bin/python3
"""draft-75 and draft-76 (hixie) clients written here on raw sockets, since
no maintained library speaks them any more: the handshake bytes exactly as
the drafts (and faye-websocket's websocket-driver) send them, the draft-76
MD5 answer from the draft's own example, Location with ws:// and wss://,
key3 arriving late while the handler already prints (its output follows the
answer, in order; also 400 KB of it), text echo in lines mode, the 0xFF 0x00
close, subprotocols, pings that never happen, and the 400 refusal of
--mode binary (framed mode echoes them exactly)."""

import os
import socket
import time

import pplib
from pplib import Results, wait_until
from rawws import Conn

R = Results("ws_hixie")
ROOT = ["--allow-root"] if os.geteuid() == 0 else []

# draft-hixie-thewebsocketprotocol-76, section 1.3 and 5.2.
KEY1 = "4 @1  46546xW%0l 1 5"
KEY2 = "12998 5 Y3 1  .P00"
KEY3 = b"^n:ds[4U"
ANSWER = b"8jKS'y:G*Co,Wxa-"


def pushpipe(*args):
    return pplib.pushpipe(*(ROOT + list(args)))


def req75(path="/demo", host="example.com", extra=()):
    lines = ["GET %s HTTP/1.1" % path, "Upgrade: WebSocket", "Connection: Upgrade",
             "Host: %s" % host, "Origin: http://example.com"] + list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def req76(path="/demo", host="example.com", extra=(), key3=KEY3):
    # The order of the draft's example request.
    lines = ["GET %s HTTP/1.1" % path, "Host: %s" % host, "Connection: Upgrade",
             "Sec-WebSocket-Key2: %s" % KEY2] + list(extra) + \
            ["Upgrade: WebSocket", "Sec-WebSocket-Key1: %s" % KEY1, "Origin: http://example.com"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + key3


def frame(text):
    return b"\x00" + text.encode() + b"\xff"


def test_draft75_exact():
    with pushpipe("--", "cat") as p:
        c = Conn(p.port)
        c.send(req75(path="/demo?x=1", host="127.0.0.1:%d" % p.port))
        head = c.read_head()
        assert head == ("HTTP/1.1 101 Web Socket Protocol Handshake\r\n"
                        "Upgrade: WebSocket\r\nConnection: Upgrade\r\n"
                        "WebSocket-Origin: http://example.com\r\n"
                        "WebSocket-Location: ws://127.0.0.1:%d/demo?x=1\r\n\r\n" % p.port), head
        # draft-75 clients compare the first 85 bytes literally.
        assert len("HTTP/1.1 101 Web Socket Protocol Handshake\r\n"
                   "Upgrade: WebSocket\r\nConnection: Upgrade\r\n") == 85
        c.send(frame("hello"))
        assert c.read_exact(7) == frame("hello")
        # Two frames in one write, one frame split over three writes, UTF-8.
        c.send(frame("a") + frame("ü ✓ 𝄞"))
        want = frame("a") + frame("ü ✓ 𝄞")
        assert c.read_exact(len(want)) == want
        raw = frame("split ü")
        c.send(raw[:1])
        time.sleep(0.05)
        c.send(raw[1:8])
        time.sleep(0.05)
        c.send(raw[8:])
        assert c.read_exact(len(raw)) == raw
        # A length-prefixed (binary) frame is skipped, as the draft says.
        c.send(b"\x80\x03abc" + frame("after"))
        assert c.read_exact(len(frame("after"))) == frame("after")
        c.close()
    # The handler ends: draft-75 has no closing frame, the socket just closes.
    with pushpipe("--", "sh", "-c", "echo bye") as p:
        c = Conn(p.port)
        c.send(req75())
        c.read_head()
        c.wait_eof(5)
        assert c.buf == frame("bye"), c.buf
        c.close()


def test_draft76_exact():
    with pushpipe("--protocol", "sample", "--", "cat") as p:
        c = Conn(p.port)
        c.send(req76(extra=["Sec-WebSocket-Protocol: sample"]))
        head = c.read_head()
        # The response of the draft's example, byte for byte.
        assert head == ("HTTP/1.1 101 WebSocket Protocol Handshake\r\n"
                        "Upgrade: WebSocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Origin: http://example.com\r\n"
                        "Sec-WebSocket-Location: ws://example.com/demo\r\n"
                        "Sec-WebSocket-Protocol: sample\r\n\r\n"), head
        assert c.read_exact(16) == ANSWER
        c.send(frame("hello ü"))
        assert c.read_exact(len(frame("hello ü"))) == frame("hello ü")
        # The client closes: 0xFF 0x00 back, then the socket closes.
        c.send(b"\xff\x00")
        c.wait_eof(5)
        assert c.buf == b"\xff\x00", c.buf
        c.close()
        assert wait_until(lambda: "websocket/76" in p.log_text() and "peer closed" in p.log_text())
    # The handler ends: 0xFF 0x00 from us.
    with pushpipe("--", "sh", "-c", "echo bye") as p:
        c = Conn(p.port)
        c.send(req76())
        c.read_head()
        assert c.read_exact(16) == ANSWER
        assert c.read_exact(len(frame("bye")) + 2) == frame("bye") + b"\xff\x00"
        c.send(b"\xff\x00")
        c.wait_eof(5)
        c.close()


def test_location_scheme():
    with pushpipe("--", "cat") as p:
        for extra, want in [((), "ws"), (("X-Forwarded-Proto: https",), "wss"),
                            (("X-Forwarded-Proto: https, http",), "wss"),
                            (("X-Forwarded-Proto: http",), "ws")]:
            c = Conn(p.port)
            c.send(req76(extra=extra))
            c.read_head()
            assert c.header("Sec-WebSocket-Location") == want + "://example.com/demo", \
                (extra, c.head)
            assert c.read_exact(16) == ANSWER
            c.close()
            c = Conn(p.port)
            c.send(req75(extra=extra))
            c.read_head()
            assert c.header("WebSocket-Location") == want + "://example.com/demo", (extra, c.head)
            c.close()


def test_key3_late():
    with pushpipe("--", "sh", "-c", "echo first; echo second; cat") as p:
        c = Conn(p.port)
        c.send(req76(key3=b""))
        head = c.read_head()
        assert head.startswith("HTTP/1.1 101 WebSocket Protocol Handshake\r\n"), head
        # The handler has printed, but nothing may precede the answer.
        assert c.read_available(0.3) == b""
        c.send(KEY3[:3])
        assert c.read_available(0.1) == b""
        c.send(KEY3[3:] + frame("echo me"))
        want = ANSWER + frame("first") + frame("second") + frame("echo me")
        assert c.read_exact(len(want)) == want
        c.close()
    # More output than the relay queues before it stops reading the handler:
    # the client must still be read, or key3 is never seen.
    with pushpipe("--", "sh", "-c", "yes 0123456789abcdef0123456789abcdef | head -n 12000; cat") as p:
        c = Conn(p.port)
        c.send(req76(key3=b""))
        c.read_head()
        time.sleep(0.3)
        c.send(KEY3)
        assert c.read_exact(16, timeout=5) == ANSWER
        line = frame("0123456789abcdef0123456789abcdef")
        got = c.read_exact(len(line) * 12000, timeout=10)
        assert got == line * 12000
        c.send(frame("then echo"))
        assert c.read_exact(len(frame("then echo"))) == frame("then echo")
        c.close()


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


def test_key3_never():
    # The handler is done, key3 never comes: the connection ends after the
    # close timeout, without spinning meanwhile.
    with pushpipe("--", "sh", "-c", "echo bye") as p:
        c = Conn(p.port)
        c.send(req76(key3=b""))
        c.read_head()
        time.sleep(0.5)
        before = worker_cpu_ticks(p)
        time.sleep(1)
        spent = worker_cpu_ticks(p) - before
        took = c.wait_eof(5)
        c.close()
        assert spent < 20, spent
        assert took < 3, took
        assert c.buf == b"", c.buf


def test_lines_echo():
    with pushpipe("--", "cat") as p:
        c = Conn(p.port)
        c.send(req76())
        c.read_head()
        assert c.read_exact(16) == ANSWER
        msgs = ["", "plain", "ünïcödé ✓ 𝄞", "x" * 70000]
        for m in msgs:
            c.send(frame(m))
            assert c.read_exact(len(frame(m)), timeout=5) == frame(m)
        # A newline in a message makes two lines: two messages back.
        c.send(frame("one\ntwo"))
        assert c.read_exact(10) == frame("one") + frame("two")
        c.close()
    # A line that is not UTF-8 cannot be a draft text frame: dropped, logged.
    with pushpipe("--", "sh", "-c", r"printf 'ok\n\377\376\nafter\n'; cat") as p:
        c = Conn(p.port)
        c.send(req76())
        c.read_head()
        assert c.read_exact(16) == ANSWER
        want = frame("ok") + frame("after")
        assert c.read_exact(len(want)) == want
        c.close()
        assert wait_until(lambda: "dropping a binary message" in p.log_text())
    # Invalid UTF-8 from the client, and a message over --max-message: closed.
    with pushpipe("--max-message", "100", "--", "cat") as p:
        for bad, why in [(b"\x00\xc3\x28\xff", "invalid UTF-8"), (frame("y" * 200), "too big")]:
            c = Conn(p.port)
            c.send(req76())
            c.read_head()
            assert c.read_exact(16) == ANSWER
            c.send(frame("fine") + bad)
            assert c.read_exact(len(frame("fine"))) == frame("fine")
            c.wait_eof(5)
            assert c.buf in (b"", b"\xff\x00"), c.buf
            c.close()
            assert wait_until(lambda: why in p.log_text()), p.log_text()


def test_refused_modes():
    with pushpipe("--mode", "binary", "--", "cat") as p:
        for req in [req75(), req76()]:
            c = Conn(p.port)
            c.send(req)
            head = c.read_head()
            assert head.startswith("HTTP/1.1 400 Bad Request\r\n"), head
            n = int(c.header("Content-Length"))
            body = c.read_exact(n).decode()
            assert "draft-75/76 clients cannot use --mode binary" in body, body
            c.close()
        # RFC 6455 clients are of course served.
        c = Conn(p.port)
        assert c.handshake().startswith("HTTP/1.1 101"), c.head
        c.close()
    # framed mode serves the drafts: text records both ways, so cat echoes
    # every message exactly, empty ones and newlines included.
    with pushpipe("--mode", "framed", "--", "cat") as p:
        c = Conn(p.port)
        c.send(req76())
        c.read_head()
        assert c.read_exact(16) == ANSWER
        for msg in ["hello", "", "two\nlines", "ünï"]:
            c.send(frame(msg))
            assert c.read_exact(len(frame(msg))) == frame(msg), c.buf
        c.close()
    with pushpipe("--", "cat") as p:
        for extra in [["Sec-WebSocket-Key1: 12345"],                 # no spaces
                      ["Sec-WebSocket-Key1: 1 2 3"]]:                # not divisible
            c = Conn(p.port)
            c.send(("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key2: %s\r\n%s\r\n\r\n" % (KEY2, "\r\n".join(extra))).encode())
            assert c.read_head().startswith("HTTP/1.1 400"), c.head
            c.close()
        c = Conn(p.port)
        c.send(("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key1: %s\r\n\r\n" % KEY1).encode())
        assert c.read_head().startswith("HTTP/1.1 400"), c.head
        c.close()


def test_subprotocols():
    with pushpipe("--protocol", "a", "--protocol", "b", "--",
                  "sh", "-c", 'echo "[$PUSHPIPE_WS_PROTOCOL] $PUSHPIPE_WS_VERSION"; cat') as p:
        for offer, want in [("b, a", "b"), ("a", "a"), ("c, b", "b"), ("c", None), (None, None)]:
            extra = ["Sec-WebSocket-Protocol: %s" % offer] if offer else []
            c = Conn(p.port)
            c.send(req76(extra=extra))
            c.read_head()
            assert c.header("Sec-WebSocket-Protocol") == want, (offer, c.head)
            assert c.read_exact(16) == ANSWER
            f = frame("[%s] 76" % (want or ""))
            assert c.read_exact(len(f)) == f, offer
            c.close()
            extra = ["WebSocket-Protocol: %s" % offer] if offer else []
            c = Conn(p.port)
            c.send(req75(extra=extra))
            c.read_head()
            assert c.header("WebSocket-Protocol") == want, (offer, c.head)
            f = frame("[%s] 75" % (want or ""))
            assert c.read_exact(len(f)) == f, offer
            c.close()


def test_no_pings():
    with pushpipe("--ping-interval", "1", "--ping-timeout", "1", "--log-level", "debug",
                  "--", "cat") as p:
        c = Conn(p.port)
        c.send(req76())
        c.read_head()
        assert c.read_exact(16) == ANSWER
        # No ping frame exists in the drafts: nothing is sent, nobody is
        # dropped, and the worker sleeps meanwhile (no timer left armed).
        before = worker_cpu_ticks(p)
        assert c.read_available(2.6) == b""
        spent = worker_cpu_ticks(p) - before
        assert spent < 30, spent
        c.send(frame("still here"))
        assert c.read_exact(len(frame("still here"))) == frame("still here")
        c.close()
        c = Conn(p.port)
        c.send(req75())
        c.read_head()
        assert c.read_available(2.6) == b""
        c.send(frame("75 too"))
        assert c.read_exact(len(frame("75 too"))) == frame("75 too")
        c.close()
        assert "ping timeout" not in p.log_text()
        assert "draft-76 has no ping frame: --ping-interval does not apply" in p.log_text()


R.run("draft-75: exact handshake, echo, split and binary frames, close by EOF", test_draft75_exact)
R.run("draft-76: the draft's example response and MD5 answer, 0xFF 0x00 both ways",
      test_draft76_exact)
R.run("Location: ws:// or wss:// (X-Forwarded-Proto: https)", test_location_scheme)
R.run("draft-76: key3 late and in pieces, handler output held and in order (also 400 KB)",
      test_key3_late)
R.run("draft-76: key3 never comes, handler done: closed after the timeout, no spinning",
      test_key3_never)
R.run("drafts in lines mode: echo, UTF-8, newline split, non-UTF-8 dropped, 1007/1009",
      test_lines_echo)
R.run("--mode binary refuses the drafts with 400, framed echoes exactly; bad keys 400", test_refused_modes)
R.run("drafts: subprotocol by the client's order, PUSHPIPE_WS_PROTOCOL", test_subprotocols)
R.run("drafts: --ping-interval sends nothing and drops nobody", test_no_pings)
R.finish()
