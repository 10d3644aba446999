"""A raw-socket WebSocket client for the integration tests: the bytes on the
wire are what the test wrote, so it can check what no library exposes
(RSV1 on a frame, the exact handshake response, a deflate bomb) and do what
no library does (draft-75/76, never answer a ping).  Nothing here is clever:
each test says exactly what it sends."""

import base64
import os
import socket
import struct
import time
import zlib

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
TAIL = b"\x00\x00\xff\xff"


def deflate_message(comp, data):
    """permessage-deflate payload for one message: a sync flush with the
    00 00 FF FF tail removed (RFC 7692 7.2.1)."""
    out = comp.compress(data) + comp.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(TAIL)
    return out[:-4]


def inflate_message(decomp, payload):
    return decomp.decompress(payload + TAIL)


class Conn:
    """One TCP connection to pushpipe, with a receive buffer."""

    def __init__(self, port, timeout=5.0):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.head = ""

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, timeout=None):
        if timeout is not None:
            self.sock.settimeout(timeout)
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def read_exact(self, n, timeout=None):
        while len(self.buf) < n:
            self._fill(timeout)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_head(self, timeout=5.0):
        """The response head up to and including the blank line, as text."""
        while b"\r\n\r\n" not in self.buf:
            self._fill(timeout)
        i = self.buf.index(b"\r\n\r\n") + 4
        head, self.buf = self.buf[:i], self.buf[i:]
        self.head = head.decode("latin-1")
        return self.head

    def read_available(self, wait):
        """Whatever arrives within wait seconds (b"" if nothing)."""
        self.sock.settimeout(wait)
        try:
            self._fill()
        except socket.timeout:
            pass
        out, self.buf = self.buf, b""
        return out

    def wait_eof(self, timeout):
        """Seconds until the server closed the connection (reads and drops
        everything before); raises socket.timeout if it did not."""
        start = time.time()
        self.sock.settimeout(timeout)
        while True:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                return time.time() - start
            self.buf += chunk

    # ---- RFC 6455 ----

    def handshake(self, path="/", version="13", headers=(), key=KEY):
        req = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % self.port,
               "Upgrade: websocket", "Connection: Upgrade",
               "Sec-WebSocket-Key: %s" % key, "Sec-WebSocket-Version: %s" % version]
        req += list(headers)
        self.send(("\r\n".join(req) + "\r\n\r\n").encode())
        return self.read_head()

    def header(self, name):
        """Value of a response header (first one), or None."""
        for line in self.head.split("\r\n")[1:]:
            k, _, v = line.partition(":")
            if k.strip().lower() == name.lower():
                return v.strip()
        return None

    def send_frame(self, opcode, payload, fin=True, rsv1=False, mask=True):
        b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
        n = len(payload)
        if n < 126:
            hdr = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
        elif n < 65536:
            hdr = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
        else:
            hdr = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
        if mask:
            key = os.urandom(4)
            hdr += key
            payload = bytes(b ^ key[i & 3] for i, b in enumerate(payload)) if n < 4096 \
                else _mask_fast(payload, key)
        self.send(hdr + payload)

    def recv_frame(self, timeout=5.0):
        """(fin, rsv1, opcode, payload) of the next frame from the server."""
        b0, b1 = self.read_exact(2, timeout)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.read_exact(2, timeout))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.read_exact(8, timeout))[0]
        assert not b1 & 0x80, "server frames must not be masked"
        return bool(b0 & 0x80), bool(b0 & 0x40), b0 & 0x0F, self.read_exact(n, timeout)

    def recv_data_frame(self, timeout=5.0):
        """The next frame that is not a ping (pings are answered)."""
        while True:
            f = self.recv_frame(timeout)
            if f[2] == 0x9:
                self.send_frame(0xA, f[3])
                continue
            return f

    def close_code(self, timeout=5.0):
        """Read until a close frame; return its code (None if none)."""
        while True:
            fin, rsv1, op, payload = self.recv_frame(timeout)
            if op == 0x8:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None


def _mask_fast(payload, key):
    n = len(payload)
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def b64key():
    return base64.b64encode(os.urandom(16)).decode()
