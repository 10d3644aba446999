#!/usr/bin/python3
"""conformance.py - WebSocket server conformance cases over raw sockets.

Modeled on the Autobahn|Testsuite server cases 1-7, 9 and 10 (same numbering
where a case has an Autobahn counterpart) plus opening-handshake cases (H.x).
The server under test must be an echo server:

  framed  every message comes back exactly (text as text, binary as binary)
  lines   websocketd-like with `cat` as handler: a text message comes back as
          one text message per line ("a\\nb" -> "a", "b"; "" -> ""); binary
          echo is undefined there, so those cases are skipped

Verdicts follow Autobahn: where Autobahn accepts a weaker behaviour as
NON-STRICT (no echo before a protocol failure, UTF-8 checked only at message
end, ...) the case passes with a note; --strict turns those notes into
failures.  A server that fails a connection may send a close frame with the
expected code and then close TCP, or just close TCP (Autobahn's "or drop").
A server that answers a violation by hanging fails the case.

usage: conformance.py --host 127.0.0.1 --port N --path / [--mode framed|lines]
                      [--quick] [--strict] [--case PATTERN] [-v]

Only the Python standard library; runs as /usr/bin/python3.
"""

import argparse
import base64
import fnmatch
import hashlib
import os
import select
import socket
import struct
import sys
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MIB = 1 << 20

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA

# Bounds on what we accept from the server before giving up on it.
MAX_RESPONSE_HEADER = 64 * 1024
RECV_CHUNK = 1 << 20
SEND_CHUNK = 256 * 1024


class Fail(Exception):
    pass


class Skip(Exception):
    pass


# ---------------------------------------------------------------- framing

def mask_bytes(key, data):
    """XOR data with the 4-byte key; big-int XOR keeps 16 MiB fast."""
    n = len(data)
    if n == 0:
        return b""
    stream = (key * (n // 4 + 1))[:n]
    x = int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")
    return x.to_bytes(n, "big")


def frame(opcode, payload=b"", fin=True, rsv=0, mask=True):
    """A client frame: masked, minimal length encoding."""
    n = len(payload)
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0xF)
    mbit = 0x80 if mask else 0
    if n < 126:
        hdr = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return hdr + payload
    key = os.urandom(4)
    return hdr + key + mask_bytes(key, payload)


def fragments(opcode, payload, size):
    """A message cut into frames of at most size bytes (at least one frame)."""
    if len(payload) <= size:
        return frame(opcode, payload)
    parts = []
    for off in range(0, len(payload), size):
        last = off + size >= len(payload)
        parts.append(frame(opcode if off == 0 else OP_CONT,
                           payload[off:off + size], fin=last))
    return b"".join(parts)


def close_payload(code=None, reason=b""):
    if code is None:
        return b""
    return struct.pack("!H", code) + reason


def valid_close_code(code):
    """Codes a close frame may carry (RFC 6455 7.4, IANA registry)."""
    if 1000 <= code <= 1014:
        return code not in (1004, 1005, 1006)
    return 3000 <= code <= 4999


def is_utf8(data):
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def repeat_to(pattern, n):
    return (pattern * (n // len(pattern) + 1))[:n]


def preview(data, limit=32):
    if len(data) <= limit:
        return repr(bytes(data))
    return repr(bytes(data[:limit])) + "..."


def accept_for(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


# ---------------------------------------------------------------- events

class Event:
    __slots__ = ("kind", "opcode", "data", "code", "reason")

    def __init__(self, kind, opcode=None, data=b"", code=None, reason=b""):
        self.kind = kind          # message pong close eof timeout
        self.opcode = opcode
        self.data = data
        self.code = code
        self.reason = reason

    def __str__(self):
        if self.kind == "message":
            name = "text" if self.opcode == OP_TEXT else "binary"
            return "%s message of %d bytes %s" % (name, len(self.data),
                                                  preview(self.data))
        if self.kind == "pong":
            return "pong %s" % preview(self.data)
        if self.kind == "close":
            if self.code is None:
                return "close frame without code"
            return "close frame %d %s" % (self.code, preview(self.reason))
        if self.kind == "eof":
            return "TCP %s" % self.data
        return "nothing"


# ---------------------------------------------------------------- connection

class Conn:
    """One TCP connection: handshake, frames out, events in, expectations."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.sock = None
        self.buf = bytearray()
        self.pos = 0                # parse position in buf
        self.eof = None             # None, "closed" or "reset"
        self.frag_op = None         # server message being reassembled
        self.frag_parts = []
        self.got_close = False
        self.sent_close = False
        self.send_broken = False
        self.notes = []             # non-strict deviations
        self.details = []           # for -v

    # ---- socket plumbing

    def connect(self):
        self.sock = socket.create_connection((self.cfg.host, self.cfg.port),
                                             timeout=self.cfg.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)

    def shutdown(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def note(self, text):
        self.notes.append(text)

    def detail(self, text):
        self.details.append(text)

    def _recv(self):
        try:
            data = self.sock.recv(RECV_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.eof = "reset"
            return
        if not data:
            self.eof = "closed"
            return
        self.buf += data

    def _wait_readable(self, deadline):
        """False when the deadline passed with nothing to read."""
        if self.eof:
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([self.sock], [], [], left)
        if not r:
            return False
        self._recv()
        return True

    def send(self, data, chop=None, delay=0.0):
        """Write data, chop bytes per write when given.  Reads whatever the
        server sends meanwhile, so a server that streams its echo while the
        message is still arriving cannot deadlock against us."""
        if chop is None:
            self._send_all(data)
            return
        for off in range(0, len(data), chop):
            self._send_all(data[off:off + chop])
            if delay:
                time.sleep(delay)

    def _send_all(self, data):
        view = memoryview(data)
        off = 0
        stall = max(5.0, self.cfg.timeout * 5)
        while off < len(view) and not self.send_broken:
            try:
                off += self.sock.send(view[off:off + SEND_CHUNK])
                continue
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                # The server gave up on us; what it said before is in buf.
                self.send_broken = True
                return
            r, w, _ = select.select([self.sock], [self.sock], [], stall)
            if r:
                self._recv()
                if self.eof:
                    self.send_broken = True
                    return
            if not r and not w:
                raise Fail("server stopped reading for %.0fs while we sent "
                           "(%d of %d bytes written)" % (stall, off, len(view)))

    def send_frame(self, opcode, payload=b"", fin=True, rsv=0, chop=None,
                   delay=0.0):
        self.send(frame(opcode, payload, fin, rsv), chop, delay)

    def send_close(self, code=None, reason=b""):
        self.sent_close = True
        self.send_frame(OP_CLOSE, close_payload(code, reason))

    # ---- opening handshake

    def request(self, method="GET", version="13", key=None, upgrade="websocket",
                connection="Upgrade", extra=()):
        lines = ["%s %s HTTP/1.1" % (method, self.cfg.path),
                 "Host: %s:%d" % (self.cfg.host, self.cfg.port)]
        if upgrade is not None:
            lines.append("Upgrade: %s" % upgrade)
        if connection is not None:
            lines.append("Connection: %s" % connection)
        if key is not None:
            lines.append("Sec-WebSocket-Key: %s" % key)
        if version is not None:
            lines.append("Sec-WebSocket-Version: %s" % version)
        lines.extend(extra)
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def read_response(self):
        """Status code and headers (lower-case name -> list of values)."""
        deadline = time.monotonic() + self.cfg.timeout
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(self.buf) > MAX_RESPONSE_HEADER:
                raise Fail("response header longer than %d bytes"
                           % MAX_RESPONSE_HEADER)
            if self.eof:
                raise Fail("connection %s before a complete HTTP response "
                           "(got %s)" % (self.eof, preview(self.buf, 80)))
            if not self._wait_readable(deadline):
                raise Fail("no HTTP response within %.1fs" % self.cfg.timeout)
        head = bytes(self.buf[:end]).decode("latin-1")
        self.pos = end + 4
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") \
                or not parts[1].isdigit():
            raise Fail("bad status line %r" % lines[0])
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise Fail("bad header line %r" % line)
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        self.detail("response: %s" % lines[0])
        return int(parts[1]), headers

    def check_upgrade(self, key, status, headers):
        if status != 101:
            raise Fail("expected 101, got %d" % status)
        upgrade = headers.get("upgrade", [])
        if [u.lower() for u in upgrade] != ["websocket"]:
            raise Fail("Upgrade header is %r, expected websocket" % upgrade)
        tokens = [t.strip().lower() for v in headers.get("connection", [])
                  for t in v.split(",")]
        if "upgrade" not in tokens:
            raise Fail("Connection header %r lacks upgrade"
                       % headers.get("connection"))
        got = headers.get("sec-websocket-accept", [])
        if got != [accept_for(key)]:
            raise Fail("Sec-WebSocket-Accept %r, expected %r"
                       % (got, accept_for(key)))
        for name in ("sec-websocket-extensions", "sec-websocket-protocol"):
            if name in headers:
                raise Fail("%s %r sent though none was offered"
                           % (name, headers[name]))

    def open(self, version="13", upgrade="websocket", connection="Upgrade"):
        key = base64.b64encode(os.urandom(16)).decode()
        self.request(version=version, key=key, upgrade=upgrade,
                     connection=connection)
        status, headers = self.read_response()
        self.check_upgrade(key, status, headers)

    # ---- frames in

    def _parse_frame(self):
        """(fin, rsv, opcode, payload) of the next complete frame, or None."""
        b, p = self.buf, self.pos
        avail = len(b) - p
        if avail < 2:
            return None
        b0, b1 = b[p], b[p + 1]
        if b1 & 0x80:
            raise Fail("server sent a masked frame")
        n, hl = b1 & 0x7F, 2
        if n == 126:
            if avail < 4:
                return None
            n, hl = struct.unpack_from("!H", b, p + 2)[0], 4
            if n < 126:
                raise Fail("server used a 16-bit length for %d bytes" % n)
        elif n == 127:
            if avail < 10:
                return None
            n, hl = struct.unpack_from("!Q", b, p + 2)[0], 10
            if n >> 63:
                raise Fail("server frame length has the top bit set")
            if n < 65536:
                raise Fail("server used a 64-bit length for %d bytes" % n)
        if avail < hl + n:
            return None
        payload = bytes(b[p + hl:p + hl + n])
        self.pos = p + hl + n
        if self.pos == len(b):
            del b[:]
            self.pos = 0
        elif self.pos > RECV_CHUNK:
            del b[:self.pos]
            self.pos = 0
        return b0 >> 7, (b0 >> 4) & 7, b0 & 0xF, payload

    def _on_frame(self, fin, rsv, opcode, payload):
        if self.got_close:
            raise Fail("server sent a frame (opcode %d) after its close frame"
                       % opcode)
        if rsv:
            raise Fail("server frame has RSV bits %d without an extension" % rsv)
        if opcode >= 8:
            if not fin:
                raise Fail("server sent a fragmented control frame")
            if len(payload) > 125:
                raise Fail("server control frame of %d bytes" % len(payload))
        if opcode == OP_PING:
            self.detail("server ping %s answered" % preview(payload))
            if not self.sent_close:
                self.send_frame(OP_PONG, payload)
            return None
        if opcode == OP_PONG:
            return Event("pong", data=payload)
        if opcode == OP_CLOSE:
            self.got_close = True
            if len(payload) == 1:
                raise Fail("server close frame with a 1-byte payload")
            if not payload:
                return Event("close")
            code = struct.unpack("!H", payload[:2])[0]
            if not valid_close_code(code):
                raise Fail("server sent close code %d, which is not allowed "
                           "on the wire" % code)
            if not is_utf8(payload[2:]):
                raise Fail("server close reason is not UTF-8")
            return Event("close", code=code, reason=payload[2:])
        if opcode == OP_CONT:
            if self.frag_op is None:
                raise Fail("server sent a continuation with nothing to continue")
            self.frag_parts.append(payload)
            if not fin:
                return None
            opcode, payload = self.frag_op, b"".join(self.frag_parts)
            self.frag_op, self.frag_parts = None, []
        elif opcode in (OP_TEXT, OP_BINARY):
            if self.frag_op is not None:
                raise Fail("server started a message inside a fragmented one")
            if not fin:
                self.frag_op, self.frag_parts = opcode, [payload]
                return None
        else:
            raise Fail("server sent reserved opcode %d" % opcode)
        if opcode == OP_TEXT and not is_utf8(payload):
            raise Fail("server sent a text message that is not UTF-8: %s"
                       % preview(payload))
        return Event("message", opcode=opcode, data=payload)

    def next_event(self, timeout=None):
        if timeout is None:
            timeout = self.cfg.timeout
        deadline = time.monotonic() + timeout
        while True:
            fr = self._parse_frame()
            if fr is not None:
                ev = self._on_frame(*fr)
                if ev is not None:
                    self.detail("got %s" % ev)
                    return ev
                continue
            if self.eof:
                left = len(self.buf) - self.pos
                if left:
                    self.detail("%d bytes of an incomplete frame before EOF"
                                % left)
                self.detail("got TCP %s" % self.eof)
                return Event("eof", data=self.eof)
            if not self._wait_readable(deadline):
                return Event("timeout")

    # ---- expectations

    def lines_mode(self):
        return self.cfg.mode == "lines"

    def echo_of(self, opcode, payload):
        """The messages the echo server answers one message with."""
        if not self.lines_mode():
            return [(opcode, payload)]
        if opcode != OP_TEXT:
            raise Skip("binary echo is undefined in lines mode")
        return [(OP_TEXT, line) for line in payload.split(b"\n")]

    def expect_message(self, opcode, payload, timeout=None, ev=None):
        if ev is None:
            ev = self.next_event(timeout)
        name = "text" if opcode == OP_TEXT else "binary"
        if ev.kind != "message":
            raise Fail("expected a %s message of %d bytes, got %s"
                       % (name, len(payload), ev))
        if ev.opcode != opcode:
            raise Fail("expected a %s message, got %s" % (name, ev))
        if ev.data != payload:
            at = next((i for i in range(min(len(ev.data), len(payload)))
                       if ev.data[i] != payload[i]),
                      min(len(ev.data), len(payload)))
            raise Fail("echo differs: expected %d bytes %s, got %d bytes %s "
                       "(first difference at byte %d)"
                       % (len(payload), preview(payload), len(ev.data),
                          preview(ev.data), at))

    def expect_echo(self, opcode, payload, timeout=None):
        for op, data in self.echo_of(opcode, payload):
            self.expect_message(op, data, timeout)

    def expect_pong(self, payload, timeout=None):
        ev = self.next_event(timeout)
        if ev.kind != "pong":
            raise Fail("expected pong %s, got %s" % (preview(payload), ev))
        if ev.data != payload:
            raise Fail("pong payload %s, expected %s"
                       % (preview(ev.data), preview(payload)))

    def expect_nothing(self, seconds):
        ev = self.next_event(seconds)
        if ev.kind != "timeout":
            raise Fail("expected nothing, got %s" % ev)

    def expect_eof(self):
        ev = self.next_event()
        if ev.kind == "timeout":
            raise Fail("server did not close TCP within %.1fs after the "
                       "closing handshake" % self.cfg.timeout)
        if ev.kind != "eof":
            raise Fail("expected TCP close, got %s" % ev)

    def close_handshake(self, code=1000, reason=b""):
        """We close; the reply should echo our code (RFC 6455 5.5.1), a reply
        with 1000 or without code is what Autobahn also accepts."""
        self.send_close(code, reason)
        ev = self.next_event()
        if ev.kind != "close":
            raise Fail("expected a close frame in reply to close %s, got %s"
                       % (code, ev))
        if code is None:
            if ev.code not in (None, 1000):
                raise Fail("reply to a close without code carries %d" % ev.code)
        elif ev.code != code:
            if ev.code not in (None, 1000):
                raise Fail("reply to close %d carries %d" % (code, ev.code))
            self.note("reply to close %d is %s, not the echoed code"
                      % (code, "empty" if ev.code is None else ev.code))
        self.expect_eof()

    def expect_fail(self, codes=(1002,), ev=None, timeout=None):
        """The server must fail the connection: close frame with one of codes
        then TCP close, or TCP close alone."""
        if ev is None:
            ev = self.next_event(timeout)
        want = "/".join(str(c) for c in codes)
        if ev.kind == "timeout":
            raise Fail("server did not fail the connection (expected close %s) "
                       "within %.1fs" % (want, timeout or self.cfg.timeout))
        if ev.kind == "eof":
            self.detail("dropped without a close frame")
            return
        if ev.kind != "close":
            raise Fail("expected the connection to fail with %s, got %s"
                       % (want, ev))
        if ev.code is None:
            raise Fail("close frame without code, expected %s" % want)
        if ev.code not in codes:
            raise Fail("close code %d, expected %s" % (ev.code, want))
        if not self.sent_close:
            self.send_close(ev.code)
        self.expect_eof()

    def expect_optional_echo_then_fail(self, opcode, payload, codes=(1002,)):
        """Autobahn's OK is the echo, then the failure; no echo is NON-STRICT
        (a server may see the violation before it answers the message)."""
        want = self.echo_of(opcode, payload)
        ev = self.next_event()
        if ev.kind == "message" and (ev.opcode, ev.data) == want[0]:
            for op, data in want[1:]:
                self.expect_message(op, data)
            ev = None
        else:
            self.note("message before the violation was not echoed")
        self.expect_fail(codes, ev)

    def size_timeout(self, n):
        """Waits for big messages grow with their size."""
        return self.cfg.timeout + 2.0 * n / MIB


# ---------------------------------------------------------------- cases

class Case:
    def __init__(self, cid, desc, fn, raw=False, binary=False):
        self.cid = cid
        self.desc = desc
        self.fn = fn
        self.raw = raw            # fn does its own connect and handshake
        self.binary = binary      # needs binary echo: skipped in lines mode


def build_cases(cfg):
    cases = []

    def add(cid, desc, fn, **kw):
        cases.append(Case(cid, desc, fn, **kw))

    add_handshake(add)
    add_echo(add)
    add_ping(add)
    add_reserved(add)
    add_fragmentation(add)
    add_utf8(add)
    add_close(add)
    add_limits(add, cfg)
    add_autofrag(add)
    return cases


# H: opening handshake

def add_handshake(add):
    def ok(version="13", upgrade="websocket", connection="Upgrade"):
        def run(c):
            c.connect()
            c.open(version, upgrade, connection)
            c.send_frame(OP_TEXT, b"Hello")
            c.expect_echo(OP_TEXT, b"Hello")
            c.close_handshake()
        return run

    def refused(want, version="13", key="auto", method="GET",
                want_version_header=False):
        def run(c):
            c.connect()
            k = base64.b64encode(os.urandom(16)).decode() if key == "auto" \
                else key
            extra = ("Content-Length: 0",) if method != "GET" else ()
            c.request(method=method, version=version, key=k, extra=extra)
            status, headers = c.read_response()
            if not 400 <= status <= 499:
                raise Fail("expected %s, got %d" % (want, status))
            if want_version_header:
                versions = [v.strip() for h in
                            headers.get("sec-websocket-version", [])
                            for v in h.split(",")]
                if "13" not in versions:
                    c.note("no Sec-WebSocket-Version header listing 13 "
                           "(RFC 6455 4.4)")
            if str(status) != want and want != "4xx":
                c.note("status %d, expected %s" % (status, want))
        return run

    def version7(c):
        c.connect()
        key = base64.b64encode(os.urandom(16)).decode()
        c.request(version="7", key=key)
        status, headers = c.read_response()
        if 400 <= status <= 499:
            c.note("hybi-07 refused with %d" % status)
            return
        c.check_upgrade(key, status, headers)
        c.send_frame(OP_TEXT, b"Hello")
        c.expect_echo(OP_TEXT, b"Hello")
        c.close_handshake()

    add("H.1", "plain RFC 6455 handshake: 101, Upgrade, Connection, "
        "Sec-WebSocket-Accept", ok(), raw=True)
    add("H.2", "Sec-WebSocket-Version 99 refused with 426 and "
        "Sec-WebSocket-Version: 13",
        refused("426", version="99", want_version_header=True), raw=True)
    add("H.3", "missing Sec-WebSocket-Key refused with 400",
        refused("400", key=None), raw=True)
    add("H.4", "Sec-WebSocket-Key of 10 bytes refused with 400",
        refused("400", key=base64.b64encode(b"0123456789").decode()),
        raw=True)
    add("H.5", "Sec-WebSocket-Key that is not base64 refused with 400",
        refused("400", key="!!!!not-base64-at-all!!!"), raw=True)
    add("H.6", "POST with Upgrade refused with a 4xx",
        refused("4xx", method="POST"), raw=True)
    add("H.7", "Connection: keep-alive, Upgrade is accepted",
        ok(connection="keep-alive, Upgrade"), raw=True)
    add("H.8", "Upgrade: WEBSOCKET (upper case) is accepted",
        ok(upgrade="WEBSOCKET"), raw=True)
    add("H.9", "Sec-WebSocket-Version 8 (hybi-08) is accepted",
        ok(version="8"), raw=True)
    add("H.10", "Sec-WebSocket-Version 7 (hybi-07) is accepted",
        version7, raw=True)


# 1: framing, echo of text and binary messages

def echo_case(opcode, payload, chop=None, frag=None):
    def run(c):
        data = fragments(opcode, payload, frag) if frag else \
            frame(opcode, payload)
        c.send(data, chop)
        c.expect_echo(opcode, payload, c.size_timeout(len(payload)))
        c.close_handshake()
    return run


def add_echo(add):
    sizes = [0, 125, 126, 127, 128, 65535, 65536]
    for i, n in enumerate(sizes, 1):
        add("1.1.%d" % i, "text message of %d bytes" % n,
            echo_case(OP_TEXT, b"*" * n))
    add("1.1.8", "text message of 65536 bytes sent in chops of 997 bytes",
        echo_case(OP_TEXT, b"*" * 65536, chop=997))
    for i, n in enumerate(sizes, 1):
        add("1.2.%d" % i, "binary message of %d bytes" % n,
            echo_case(OP_BINARY, b"\xfe" * n), binary=True)
    add("1.2.8", "binary message of 65536 bytes sent in chops of 997 bytes",
        echo_case(OP_BINARY, b"\xfe" * 65536, chop=997), binary=True)
    add("1.3.1", "text message with embedded and trailing LF, and an empty "
        "line (lines mode: one message per line)",
        echo_case(OP_TEXT, b"line one\nline two\n\nlast\n"))
    add("1.3.2", "binary message with every byte value (NUL, LF, CR, 0xff)",
        echo_case(OP_BINARY, bytes(range(256)) * 4 + b"\n"), binary=True)


# 2: pings and pongs

def add_ping(add):
    def ping(payload, chop=None, delay=0.0):
        def run(c):
            c.send_frame(OP_PING, payload, chop=chop, delay=delay)
            c.expect_pong(payload)
            c.close_handshake()
        return run

    def ping_too_big(c):
        c.send_frame(OP_PING, b"\xfe" * 126)
        c.expect_fail()

    def unsolicited(payload):
        def run(c):
            c.send_frame(OP_PONG, payload)
            c.close_handshake()
        return run

    def pong_then_ping(c):
        c.send_frame(OP_PONG, b"unsolicited pong payload")
        c.send_frame(OP_PING, b"ping payload")
        c.expect_pong(b"ping payload")
        c.close_handshake()

    def ten_pings(chop):
        def run(c):
            want = [b"payload-%d" % i for i in range(10)]
            for p in want:
                c.send_frame(OP_PING, p, chop=chop,
                             delay=0.001 if chop else 0.0)
            got = []
            while not got or got[-1] != want[-1]:
                ev = c.next_event()
                if ev.kind != "pong":
                    raise Fail("after %d pongs expected pong %s, got %s"
                               % (len(got), preview(want[len(got)]), ev))
                got.append(ev.data)
            if got != want:
                # RFC 6455 5.5.3 lets a busy endpoint answer only the
                # latest ping; Autobahn wants all of them.
                it = iter(want)
                if not all(p in it for p in got):
                    raise Fail("pongs out of order: %s" % got)
                c.note("answered %d of 10 pings" % len(got))
            c.close_handshake()
        return run

    add("2.1", "ping without payload", ping(b""))
    add("2.2", "ping with a small text payload", ping(b"Hello, world!"))
    add("2.3", "ping with a small binary payload",
        ping(b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"))
    add("2.4", "ping with 125 bytes of payload", ping(b"\xfe" * 125))
    add("2.5", "ping with 126 bytes of payload: fail 1002", ping_too_big)
    add("2.6", "ping with 125 bytes sent one byte per write",
        ping(b"\xfe" * 125, chop=1, delay=0.001))
    add("2.7", "unsolicited pong without payload is ignored",
        unsolicited(b""))
    add("2.8", "unsolicited pong with payload is ignored",
        unsolicited(b"unsolicited pong payload"))
    add("2.9", "unsolicited pong, then ping: only the ping is answered",
        pong_then_ping)
    add("2.10", "10 pings in a row: 10 pongs", ten_pings(None))
    add("2.11", "10 pings in a row sent one byte per write: 10 pongs",
        ten_pings(1))


# 3 and 4: reserved bits and reserved opcodes

def add_reserved(add):
    hello = b"Hello, world!"

    def bad_alone(data):
        def run(c):
            c.send(data)
            c.expect_fail()
        return run

    def bad_between(bad, how):
        """A good text, the bad frame, a ping: echo (optional), fail, no pong."""
        def run(c):
            send_frames(c, [frame(OP_TEXT, hello), bad, frame(OP_PING)], how)
            c.expect_optional_echo_then_fail(OP_TEXT, hello)
        return run

    add("3.1", "text with RSV=1: fail 1002",
        bad_alone(frame(OP_TEXT, hello, rsv=1)))
    add("3.2", "text, text with RSV=2, ping: echo, then fail 1002, no pong",
        bad_between(frame(OP_TEXT, hello, rsv=2), "one"))
    add("3.3", "as 3.2 with RSV=3, one write per frame",
        bad_between(frame(OP_TEXT, hello, rsv=3), "frames"))
    add("3.4", "as 3.2 with RSV=4, one write per byte",
        bad_between(frame(OP_TEXT, hello, rsv=4), "bytes"))
    add("3.5", "binary with RSV=5: fail 1002",
        bad_alone(frame(OP_BINARY, b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff",
                        rsv=5)))
    add("3.6", "ping with RSV=6: fail 1002",
        bad_alone(frame(OP_PING, hello, rsv=6)))
    add("3.7", "close with RSV=7: fail 1002",
        bad_alone(frame(OP_CLOSE, close_payload(1000), rsv=7)))

    payload = b"reserved opcode payload"
    for group, ops in (("4.1", (3, 4, 5, 6, 7)), ("4.2", (11, 12, 13, 14, 15))):
        kind = "non-control" if group == "4.1" else "control"
        add(group + ".1", "reserved %s opcode %d: fail 1002" % (kind, ops[0]),
            bad_alone(frame(ops[0])))
        add(group + ".2", "reserved %s opcode %d with payload: fail 1002"
            % (kind, ops[1]), bad_alone(frame(ops[1], payload)))
        add(group + ".3", "text, reserved opcode %d, ping: echo, fail 1002"
            % ops[2], bad_between(frame(ops[2]), "one"))
        add(group + ".4", "text, reserved opcode %d with payload, ping"
            % ops[3], bad_between(frame(ops[3], payload), "one"))
        add(group + ".5", "as .4 with opcode %d, one write per frame"
            % ops[4], bad_between(frame(ops[4], payload), "frames"))


# 5: fragmentation

def send_frames(c, frames, how):
    if how == "one":
        c.send(b"".join(frames))
    elif how == "frames":
        for f in frames:
            c.send(f)
            time.sleep(0.005)
    else:
        for f in frames:
            c.send(f, chop=1, delay=0.0005)


def add_fragmentation(add):
    ways = (("one", "in one write"), ("frames", "one write per frame"),
            ("bytes", "one write per byte"))

    def fragmented_control(opcode):
        def run(c):
            c.send(frame(opcode, b"fragment1", fin=False) +
                   frame(OP_CONT, b"fragment2"))
            c.expect_fail()
        return run

    def two_fragments(how, ping):
        def run(c):
            frames = [frame(OP_TEXT, b"fragment1", fin=False)]
            if ping:
                frames.append(frame(OP_PING, b"ping payload"))
            frames.append(frame(OP_CONT, b"fragment2"))
            send_frames(c, frames, how)
            if ping:
                c.expect_pong(b"ping payload")
            c.expect_echo(OP_TEXT, b"fragment1fragment2")
            c.close_handshake()
        return run

    def bad_sequence(frames, how="one"):
        def run(c):
            send_frames(c, frames, how)
            c.expect_fail()
        return run

    def interleaved_ping(how):
        def run(c):
            frags = [b"fragment%d" % i for i in range(1, 6)]
            send_frames(c, [frame(OP_TEXT, frags[0], fin=False),
                            frame(OP_CONT, frags[1], fin=False),
                            frame(OP_PING, b"pongme 1!")], how)
            # The pong must come before the message is complete.
            c.expect_pong(b"pongme 1!")
            send_frames(c, [frame(OP_CONT, frags[2], fin=False),
                            frame(OP_CONT, frags[3], fin=False),
                            frame(OP_PING, b"pongme 2!"),
                            frame(OP_CONT, frags[4])], how)
            c.expect_pong(b"pongme 2!")
            c.expect_echo(OP_TEXT, b"".join(frags))
            c.close_handshake()
        return run

    def echo_then_fail(frames, echo):
        def run(c):
            c.send(b"".join(frames))
            c.expect_optional_echo_then_fail(OP_TEXT, echo)
        return run

    add("5.1", "ping in 2 fragments: fail 1002", fragmented_control(OP_PING))
    add("5.2", "pong in 2 fragments: fail 1002", fragmented_control(OP_PONG))
    for i, (how, text) in enumerate(ways):
        add("5.%d" % (3 + i), "text in 2 fragments, %s" % text,
            two_fragments(how, False))
    for i, (how, text) in enumerate(ways):
        add("5.%d" % (6 + i), "text in 2 fragments with a ping between, %s"
            % text, two_fragments(how, True))
    for i, (how, text) in enumerate(ways):
        add("5.%d" % (9 + i), "continuation (FIN) with nothing to continue, "
            "then text, %s: fail 1002" % text,
            bad_sequence([frame(OP_CONT, b"non-continuation payload"),
                          frame(OP_TEXT, b"Hello, world!")], how))
    for i, (how, text) in enumerate(ways):
        add("5.%d" % (12 + i), "continuation (no FIN) with nothing to "
            "continue, then text, %s: fail 1002" % text,
            bad_sequence([frame(OP_CONT, b"non-continuation payload",
                                fin=False),
                          frame(OP_TEXT, b"Hello, world!")], how))
    add("5.15", "text in 2 fragments, then a continuation with nothing to "
        "continue, then text: echo, fail 1002",
        echo_then_fail([frame(OP_TEXT, b"fragment1", fin=False),
                        frame(OP_CONT, b"fragment2"),
                        frame(OP_CONT, b"fragment3", fin=False),
                        frame(OP_TEXT, b"fragment4")],
                       b"fragment1fragment2"))
    for cid, fin in (("5.16", False), ("5.17", True)):
        seq = [frame(OP_CONT, b"fragment1", fin=fin),
               frame(OP_TEXT, b"fragment2", fin=False),
               frame(OP_CONT, b"fragment3")] * 2
        add(cid, "2x: continuation (%s) with nothing to continue, then text "
            "in 2 fragments: fail 1002" % ("FIN" if fin else "no FIN"),
            bad_sequence(seq))
    add("5.18", "new text frame inside a fragmented text message: fail 1002",
        bad_sequence([frame(OP_TEXT, b"fragment1", fin=False),
                      frame(OP_TEXT, b"fragment2")]))
    add("5.19", "text in 5 fragments with 2 pings between; the first pong "
        "comes before the message is complete", interleaved_ping("one"))
    add("5.20", "as 5.19, one write per frame", interleaved_ping("frames"))


# 6: UTF-8 handling

# "κόσμε" as in Markus Kuhn's test file (ό is U+1F79, three bytes)
KOSME = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
HELLO_UTF8 = "Hello-µ@ßöäüàá-UTF-8!!".encode("utf-8")
INVALID_6_3 = KOSME + b"\xed\xa0\x80" + b"edited"   # a UTF-16 surrogate


def utf8_groups():
    """Payloads in the order of Markus Kuhn's UTF-8 decoder stress test
    (Autobahn 6.5 to 6.23); validity is decided by Python's strict codec."""
    incomplete = [b"\xc0", b"\xe0\x80", b"\xf0\x80\x80", b"\xf8\x80\x80\x80",
                  b"\xfc\x80\x80\x80\x80", b"\xdf", b"\xef\xbf",
                  b"\xf7\xbf\xbf", b"\xfb\xbf\xbf\xbf",
                  b"\xfd\xbf\xbf\xbf\xbf"]
    conts = [b"\x80", b"\xbf", b"\x80\xbf", b"\x80\xbf\x80",
             b"\x80\xbf\x80\xbf", b"\x80\xbf\x80\xbf\x80",
             b"\x80\xbf\x80\xbf\x80\xbf", bytes(range(0x80, 0xc0))]
    lonely = [b"".join(bytes([b, 0x20]) for b in range(lo, hi + 1))
              for lo, hi in ((0xc0, 0xdf), (0xe0, 0xef), (0xf0, 0xf7),
                             (0xf8, 0xfb), (0xfc, 0xfd))]
    highs = [b"\xed\xa0\x80", b"\xed\xad\xbf", b"\xed\xae\x80", b"\xed\xaf\xbf"]
    lows = [b"\xed\xb0\x80", b"\xed\xbf\xbf"]
    nonchars = [chr(0xFFFE).encode(), chr(0xFFFF).encode()]
    for plane in range(1, 17):
        nonchars += [chr(plane * 0x10000 + 0xFFFE).encode(),
                     chr(plane * 0x10000 + 0xFFFF).encode()]
    return [
        ("valid texts", [b"hello$world", "hello¢world".encode(),
                         "hello€world".encode(), "hello𤭢world".encode(),
                         KOSME]),
        ("prefixes of a multi-byte text",
         [KOSME[:i] for i in range(1, len(KOSME) + 1)]),
        ("first sequence of each length",
         [b"\x00", b"\xc2\x80", b"\xe0\xa0\x80", b"\xf0\x90\x80\x80"]),
        ("first 5 and 6 byte sequences",
         [b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80"]),
        ("last sequence of each length",
         [b"\x7f", b"\xdf\xbf", b"\xef\xbf\xbf", b"\xf4\x8f\xbf\xbf"]),
        ("last 4, 5 and 6 byte sequences",
         [b"\xf7\xbf\xbf\xbf", b"\xfb\xbf\xbf\xbf\xbf",
          b"\xfd\xbf\xbf\xbf\xbf\xbf"]),
        ("other boundaries",
         [b"\xed\x9f\xbf", b"\xee\x80\x80", b"\xef\xbf\xbd",
          b"\xf4\x8f\xbf\xbf", b"\xf4\x90\x80\x80"]),
        ("unexpected continuation bytes", conts),
        ("lonely start bytes", lonely),
        ("last continuation byte missing", incomplete),
        ("concatenated incomplete sequences", [b"".join(incomplete)]),
        ("impossible bytes", [b"\xfe", b"\xff", b"\xfe\xfe\xff\xff"]),
        ("overlong '/'",
         [b"\xc0\xaf", b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf",
          b"\xf8\x80\x80\x80\xaf", b"\xfc\x80\x80\x80\x80\xaf"]),
        ("maximum overlong sequences",
         [b"\xc1\xbf", b"\xe0\x9f\xbf", b"\xf0\x8f\xbf\xbf",
          b"\xf8\x87\xbf\xbf\xbf", b"\xfc\x83\xbf\xbf\xbf\xbf"]),
        ("overlong NUL",
         [b"\xc0\x80", b"\xe0\x80\x80", b"\xf0\x80\x80\x80",
          b"\xf8\x80\x80\x80\x80", b"\xfc\x80\x80\x80\x80\x80"]),
        ("single UTF-16 surrogates", highs + [b"\xed\xb0\x80",
                                              b"\xed\xbe\x80",
                                              b"\xed\xbf\xbf"]),
        ("paired UTF-16 surrogates", [h + l for h in highs for l in lows]),
        ("non-characters (valid)", nonchars),
        ("specials (valid)", [b"\xef\xbf" + bytes([b])
                              for b in range(0xb9, 0xc0)]),
    ]


def add_utf8(add):
    def text_echo(payload, frag=None):
        def run(c):
            c.send(fragments(OP_TEXT, payload, frag) if frag
                   else frame(OP_TEXT, payload))
            c.expect_echo(OP_TEXT, payload)
            c.close_handshake()
        return run

    def text_frames(frames, echo):
        def run(c):
            c.send(b"".join(frames))
            c.expect_echo(OP_TEXT, echo)
            c.close_handshake()
        return run

    def invalid(payload, frag=None):
        def run(c):
            c.send(fragments(OP_TEXT, payload, frag) if frag
                   else frame(OP_TEXT, payload))
            c.expect_fail((1007,))
        return run

    def fail_fast(parts, one_frame, bad=1):
        """Send the parts with pauses; parts[bad] makes the text invalid.
        Autobahn's OK is failing right after that part; failing only once
        the message is complete is NON-STRICT."""
        def run(c):
            if one_frame:
                chunks = _cut_frame(frame(OP_TEXT, b"".join(parts)),
                                    [len(p) for p in parts])
            else:
                chunks = [frame(OP_TEXT if i == 0 else OP_CONT, p,
                                fin=i == len(parts) - 1)
                          for i, p in enumerate(parts)]
            for i, chunk in enumerate(chunks):
                c.send(chunk)
                if i < bad:
                    c.expect_nothing(0.5)
                elif i == len(chunks) - 1:
                    c.expect_fail((1007,))
                    return
                else:
                    ev = c.next_event(1.0)
                    if ev.kind != "timeout":
                        c.expect_fail((1007,), ev)
                        return
                    if i == bad:
                        c.note("not fail-fast: still open 1s after the "
                               "invalid bytes arrived")
        return run

    add("6.1.1", "empty text message", text_echo(b""))
    add("6.1.2", "text in 3 empty fragments",
        text_frames([frame(OP_TEXT, b"", fin=False),
                     frame(OP_CONT, b"", fin=False), frame(OP_CONT, b"")], b""))
    add("6.1.3", "text in 3 fragments, first and last empty",
        text_frames([frame(OP_TEXT, b"", fin=False),
                     frame(OP_CONT, b"middle frame payload", fin=False),
                     frame(OP_CONT, b"")], b"middle frame payload"))
    add("6.2.1", "valid UTF-8 text in one frame", text_echo(HELLO_UTF8))
    cut = len("Hello-µ@ßöä".encode("utf-8"))
    add("6.2.2", "valid UTF-8 text in 2 fragments cut at a code point",
        text_frames([frame(OP_TEXT, HELLO_UTF8[:cut], fin=False),
                     frame(OP_CONT, HELLO_UTF8[cut:])], HELLO_UTF8))
    add("6.2.3", "valid UTF-8 text in 1-byte fragments (cut inside code "
        "points)", text_echo(HELLO_UTF8, frag=1))
    add("6.2.4", "κόσμε in 1-byte fragments", text_echo(KOSME, frag=1))
    add("6.3.1", "invalid UTF-8 (surrogate) in one frame: fail 1007",
        invalid(INVALID_6_3))
    add("6.3.2", "invalid UTF-8 in 1-byte fragments: fail 1007",
        invalid(INVALID_6_3, frag=1))
    # p2 would be U+110000, beyond Unicode; its 2nd byte is the first bad one
    p1, p2, p3 = KOSME, b"\xf4\x90\x80\x80", b"edited"
    add("6.4.1", "fail-fast: 3 fragments, the 2nd makes the text invalid",
        fail_fast([p1, p2, p3], False))
    add("6.4.2", "fail-fast: as 6.4.1, 2nd fragment is the one bad byte",
        fail_fast([p1 + p2[:1], p2[1:2], p2[2:] + p3], False))
    add("6.4.3", "fail-fast: one frame sent in 3 parts, the 2nd invalid",
        fail_fast([p1, p2, p3], True))
    add("6.4.4", "fail-fast: as 6.4.3, 2nd part is the one bad byte",
        fail_fast([p1 + p2[:1], p2[1:2], p2[2:] + p3], True))
    add("6.4.5", "fail-fast: first fragment (no FIN) already invalid, "
        "nothing more sent until the failure",
        fail_fast([b"\xc0\xaf", b"edited"], False, bad=0))

    for g, (name, payloads) in enumerate(utf8_groups(), 5):
        for i, p in enumerate(payloads, 1):
            if is_utf8(p):
                add("6.%d.%d" % (g, i), "%s: %s echoed" % (name, preview(p, 12)),
                    text_echo(p))
            else:
                add("6.%d.%d" % (g, i), "%s: %s fails 1007"
                    % (name, preview(p, 12)), invalid(p))


def _cut_frame(whole, sizes):
    """Split one frame's bytes so that the first chunk carries the header
    plus sizes[0] payload bytes and each next chunk the next sizes[i]."""
    head = len(whole) - sum(sizes)
    chunks, off = [], 0
    for i, n in enumerate(sizes):
        start = 0 if i == 0 else head + off
        chunks.append(whole[start:head + off + n])
        off += n
    return chunks


# 7: closing handshake

def add_close(add):
    def message_then_close(c):
        c.send_frame(OP_TEXT, b"Hello World!")
        c.expect_echo(OP_TEXT, b"Hello World!")
        c.close_handshake()

    def close_then(frames, before=()):
        """Close 1000 then more frames: the reply is a close, nothing else."""
        def run(c):
            c.send(b"".join(before))
            c.send_close(1000)
            c.send(b"".join(frames))
            ev = c.next_event()
            if ev.kind != "close":
                raise Fail("expected the close reply, got %s" % ev)
            if ev.code not in (None, 1000):
                raise Fail("close reply carries %d, expected 1000" % ev.code)
            c.expect_eof()
        return run

    def big_then_close(c):
        c.send(frame(OP_TEXT, repeat_to(b"BAsd7&jh23", 256 * 1024)) +
               frame(OP_TEXT, b"Hello World!") +
               frame(OP_CLOSE, close_payload(1000)) + frame(OP_PING))
        c.sent_close = True
        while True:
            ev = c.next_event(c.size_timeout(256 * 1024))
            if ev.kind != "message":
                break
            c.detail("echo of %d bytes before the close" % len(ev.data))
        if ev.kind != "close":
            raise Fail("expected the close reply, got %s" % ev)
        if ev.code not in (None, 1000):
            raise Fail("close reply carries %d, expected 1000" % ev.code)
        c.expect_eof()

    def close_with(code, reason=b"", codes=None, raw=None):
        """codes None: a normal close handshake; else the server must fail
        with one of codes (or drop)."""
        def run(c):
            if raw is not None:
                c.sent_close = True
                c.send_frame(OP_CLOSE, raw)
            else:
                c.send_close(code, reason)
            if codes is None:
                ev = c.next_event()
                if ev.kind != "close":
                    raise Fail("expected a close reply, got %s" % ev)
                if ev.code != code:
                    if ev.code not in (None, 1000):
                        raise Fail("reply to close %s carries %d"
                                   % (code, ev.code))
                    if code is not None:
                        c.note("reply to close %d is %s, not the echoed code"
                               % (code, "empty" if ev.code is None
                                  else ev.code))
                c.expect_eof()
            else:
                c.expect_fail(codes)
        return run

    def bad_reason(c):
        c.sent_close = True
        c.send_frame(OP_CLOSE, close_payload(1000, INVALID_6_3))
        ev = c.next_event()
        if ev.kind == "close" and ev.code == 1002:
            c.note("invalid UTF-8 reason answered with 1002, not 1007")
        c.expect_fail((1007, 1002), ev)

    add("7.1.1", "message, then close 1000 after its echo", message_then_close)
    add("7.1.2", "two close frames: one reply, second close ignored",
        close_then([frame(OP_CLOSE)]))
    add("7.1.3", "ping after close: no pong", close_then([frame(OP_PING)]))
    add("7.1.4", "text after close: ignored",
        close_then([frame(OP_TEXT, b"Hello World!")]))
    add("7.1.5", "fragment, close, last fragment: message not delivered",
        close_then([frame(OP_CONT, b"fragment2")],
                   before=[frame(OP_TEXT, b"fragment1", fin=False)]))
    add("7.1.6", "256K text, text, close, ping back to back: close reply "
        "(echoes before it are optional)", big_then_close)
    add("7.3.1", "close without payload: reply without code or 1000",
        close_with(None))
    add("7.3.2", "close with a 1-byte payload: fail 1002",
        close_with(None, codes=(1002,), raw=b"a"))
    add("7.3.3", "close 1000: reply 1000", close_with(1000))
    add("7.3.4", "close 1000 with a reason: reply 1000",
        close_with(1000, b"Hello World!"))
    add("7.3.5", "close 1000 with a 123-byte reason: reply 1000",
        close_with(1000, b"*" * 123))
    add("7.3.6", "close with a 124-byte reason (126-byte control frame): "
        "fail 1002", close_with(None, codes=(1002,),
                                raw=close_payload(1000, b"*" * 124)))
    add("7.5.1", "close reason that is not UTF-8: fail 1007", bad_reason)
    for i, code in enumerate([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                              1011, 3000, 3999, 4000, 4999], 1):
        add("7.7.%d" % i, "close with valid code %d: echoed" % code,
            close_with(code))
    for i, code in enumerate([0, 999, 1004, 1005, 1006, 1016, 1100, 2000,
                              2999, 1015], 1):
        add("7.9.%d" % i, "close with invalid code %d: fail 1002" % code,
            close_with(None, codes=(1002,), raw=close_payload(code)))
    for i, code in enumerate([5000, 65535], 1):
        add("7.13.%d" % i, "close with out-of-range code %d: fail 1002" % code,
            close_with(None, codes=(1002,), raw=close_payload(code)))


# 9: limits and performance

def add_limits(add, cfg):
    text_pat = b"BAsd7&jh23"
    bin_pat = bytes(range(256))
    quick_max = MIB

    def big(opcode, n, frag=None, chop=None):
        pat = text_pat if opcode == OP_TEXT else bin_pat

        def run(c):
            payload = repeat_to(pat, n)
            t0 = time.monotonic()
            c.send(fragments(opcode, payload, frag) if frag
                   else frame(opcode, payload), chop)
            c.expect_echo(opcode, payload, c.size_timeout(n))
            c.detail("round trip %.2fs" % (time.monotonic() - t0))
            c.close_handshake()
        return run

    def round_trips(opcode, n, count):
        pat = text_pat if opcode == OP_TEXT else bin_pat

        def run(c):
            payload = repeat_to(pat, n)
            t0 = time.monotonic()
            for _ in range(count):
                c.send_frame(opcode, payload)
                c.expect_echo(opcode, payload)
            c.detail("%d round trips in %.2fs"
                     % (count, time.monotonic() - t0))
            c.close_handshake()
        return run

    def size(n):
        return "%d MiB" % (n // MIB) if n >= MIB else "%d KiB" % (n // 1024)

    singles = [64 * 1024, 256 * 1024, MIB, 4 * MIB, 8 * MIB, 16 * MIB]
    for sub, op, name in ((1, OP_TEXT, "text"), (2, OP_BINARY, "binary")):
        for i, n in enumerate(singles, 1):
            if cfg.quick and n > quick_max:
                continue
            add("9.%d.%d" % (sub, i), "%s message of %s in one frame"
                % (name, size(n)), big(op, n), binary=op == OP_BINARY)

    total = quick_max if cfg.quick else 4 * MIB
    frags = [64, 256, 1024, 4096, 16384, 65536, 256 * 1024, MIB, 4 * MIB]
    for sub, op, name in ((3, OP_TEXT, "text"), (4, OP_BINARY, "binary")):
        for i, f in enumerate(frags, 1):
            if f > total:
                continue
            add("9.%d.%d" % (sub, i), "%s message of %s in fragments of %d"
                % (name, size(total), f),
                big(op, total, frag=f), binary=op == OP_BINARY)

    for sub, op, name in ((5, OP_TEXT, "text"), (6, OP_BINARY, "binary")):
        for i, chop in enumerate([64, 128, 256, 512, 1024, 2048], 1):
            add("9.%d.%d" % (sub, i), "%s message of 1 MiB sent in chops "
                "of %d bytes" % (name, chop), big(op, MIB, chop=chop),
                binary=op == OP_BINARY)

    count = 100 if cfg.quick else 1000
    for sub, op, name in ((7, OP_TEXT, "text"), (8, OP_BINARY, "binary")):
        for i, n in enumerate([0, 16, 64, 256, 1024, 4096], 1):
            add("9.%d.%d" % (sub, i), "%d round trips of %d-byte %s messages"
                % (count, n, name), round_trips(op, n, count),
                binary=op == OP_BINARY)


# 10: fragmentation of a bigger message

def add_autofrag(add):
    add("10.1.1", "text message of 65536 bytes in 64-byte fragments",
        echo_case(OP_TEXT, b"*" * 65536, frag=64))


# ---------------------------------------------------------------- runner

def selected(cid, patterns):
    if not patterns:
        return True
    cid = cid.lower()
    for pat in patterns:
        pat = pat.lower()
        if cid == pat or cid.startswith(pat + ".") \
                or fnmatch.fnmatchcase(cid, pat):
            return True
    return False


def run_case(cfg, case):
    c = Conn(cfg)
    status, reason = "PASS", ""
    try:
        if case.binary and cfg.mode == "lines":
            raise Skip("binary echo is undefined in lines mode")
        if case.raw:
            case.fn(c)
        else:
            c.connect()
            c.open()
            case.fn(c)
    except Skip as e:
        status, reason = "SKIP", str(e)
    except Fail as e:
        status, reason = "FAIL", str(e)
    except OSError as e:
        status, reason = "FAIL", "socket error: %s" % e
    finally:
        c.shutdown()
    if status == "PASS" and c.notes:
        reason = "non-strict: " + "; ".join(c.notes)
        if cfg.strict:
            status = "FAIL"
    return status, reason, c


def main():
    ap = argparse.ArgumentParser(
        description="WebSocket conformance cases against an echo server")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/")
    ap.add_argument("--mode", choices=("framed", "lines"), default="framed",
                    help="framed: exact echo; lines: websocketd-like, "
                         "one text message per line")
    ap.add_argument("--quick", action="store_true",
                    help="messages up to 1 MiB, 100 round trips in 9.7/9.8")
    ap.add_argument("--strict", action="store_true",
                    help="count Autobahn NON-STRICT outcomes as failures")
    ap.add_argument("--case", action="append", default=[], metavar="PATTERN",
                    help="case id, prefix (6.4) or glob (7.*.1); repeatable, "
                         "comma-separated")
    ap.add_argument("--timeout", type=float, default=2.0,
                    help="seconds per wait (default 2)")
    ap.add_argument("--list", action="store_true", help="list cases and exit")
    ap.add_argument("-v", "--verbose", action="store_true")
    cfg = ap.parse_args()
    patterns = [p for arg in cfg.case for p in arg.split(",") if p]

    cases = [k for k in build_cases(cfg) if selected(k.cid, patterns)]
    if cfg.list:
        for k in cases:
            print("%-8s %s" % (k.cid, k.desc))
        return 0
    if not cases:
        print("conformance: no case matches %s" % ",".join(patterns))
        return 2

    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    nonstrict = []
    t_start = time.monotonic()
    for k in cases:
        t0 = time.monotonic()
        status, reason, c = run_case(cfg, k)
        counts[status] += 1
        if status == "PASS" and reason:
            nonstrict.append(k.cid)
        line = "%s %-7s %s" % (status, k.cid, k.desc)
        if reason:
            line += ": " + reason
        if cfg.verbose:
            line += " [%.2fs]" % (time.monotonic() - t0)
        print(line, flush=True)
        if cfg.verbose:
            for d in c.details:
                print("         " + d)
    print("mode %s%s%s, %d cases in %.1fs" % (
        cfg.mode, ", quick" if cfg.quick else "",
        ", strict" if cfg.strict else "", len(cases),
        time.monotonic() - t_start))
    if cfg.mode == "lines" and counts["SKIP"]:
        print("lines mode: cases that need binary echo were skipped")
    if nonstrict:
        print("non-strict (passed as Autobahn does): %s" % " ".join(nonstrict))
    summary = "conformance: %d passed, %d failed" % (counts["PASS"],
                                                     counts["FAIL"])
    if counts["SKIP"]:
        summary += ", %d skipped" % counts["SKIP"]
    print(summary)
    return 0 if counts["FAIL"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
