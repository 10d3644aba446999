"""Helpers for the stock-handler, scale-out and man page tests: an
EventSource client (asyncio, plain or chunked bodies, as haproxy may send),
a WebSocket client that queues what it receives, and where things are."""

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import websockets

from pplib import SRCDIR, free_port, wait_port

BUILDDIR = os.environ.get("TOP_BUILDDIR") or os.path.join(os.path.dirname(__file__), "..", "..")
HANDLERS = os.path.join(BUILDDIR, "handlers")
SITE = os.path.join(SRCDIR, "examples", "site")


class SSE:
    """One text/event-stream response, read event by event."""

    def __init__(self):
        self.reader = self.writer = None
        self.status = 0
        self.headers = {}
        self.chunked = False
        self.body = b""         # decoded body bytes not yet parsed
        self.raw = b""          # bytes read but not yet de-chunked
        self.last_id = ""
        self.eof = False

    @classmethod
    async def open(cls, port, path, headers=None, host="127.0.0.1", timeout=10):
        s = cls()
        s.reader, s.writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        h = {"Host": "%s:%d" % (host, port), "Accept": "text/event-stream", "Cache-Control": "no-cache"}
        h.update(headers or {})
        req = "GET %s HTTP/1.1\r\n%s\r\n" % (path, "".join("%s: %s\r\n" % kv for kv in h.items()))
        s.writer.write(req.encode())
        await s.writer.drain()
        head = await asyncio.wait_for(s.reader.readuntil(b"\r\n\r\n"), timeout)
        lines = head.decode("latin-1").split("\r\n")
        s.status = int(lines[0].split()[1])
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                s.headers[k.strip().lower()] = v.strip()
        s.chunked = "chunked" in s.headers.get("transfer-encoding", "").lower()
        return s

    def _dechunk(self):
        while self.raw:
            if not self.chunked:
                self.body += self.raw
                self.raw = b""
                return
            nl = self.raw.find(b"\r\n")
            if nl < 0:
                return
            size = int(self.raw[:nl].split(b";")[0], 16)
            if size == 0:
                self.eof = True
                self.raw = b""
                return
            if len(self.raw) < nl + 2 + size + 2:
                return
            self.body += self.raw[nl + 2:nl + 2 + size]
            self.raw = self.raw[nl + 2 + size + 2:]

    def _take_event(self):
        """Parse one complete event from body, or None."""
        while True:
            body = self.body.replace(b"\r\n", b"\n")
            end = body.find(b"\n\n")
            if end < 0:
                return None
            block, self.body = body[:end], body[end + 2:]
            data, name, got_data = [], "message", False
            for line in block.decode("utf-8", "replace").split("\n"):
                if line.startswith(":") or not line:
                    continue
                field, _, value = line.partition(":")
                if value.startswith(" "):
                    value = value[1:]
                if field == "data":
                    data.append(value)
                    got_data = True
                elif field == "id":
                    self.last_id = value
                elif field == "event":
                    name = value
            if got_data:
                return {"data": "\n".join(data), "id": self.last_id, "event": name}

    async def event(self, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            ev = self._take_event()
            if ev is not None:
                return ev
            if self.eof:
                raise EOFError("stream ended")
            left = deadline - time.monotonic()
            if left <= 0:
                raise asyncio.TimeoutError("no event within %ss" % timeout)
            chunk = await asyncio.wait_for(self.reader.read(65536), left)
            if not chunk:
                self.eof = True
                continue
            self.raw += chunk
            self._dechunk()

    async def no_event(self, seconds):
        """True if nothing arrives for `seconds`."""
        try:
            ev = await self.event(seconds)
        except asyncio.TimeoutError:
            return True
        except EOFError:
            return True
        raise AssertionError("unexpected event %r" % (ev,))

    def close(self):
        if self.writer:
            self.writer.close()


def ws_connect(url, **kw):
    """websockets.connect: await it, or use it with `async with`."""
    kw.setdefault("compression", None)
    kw.setdefault("open_timeout", 10)
    return websockets.connect(url, **kw)


async def recv(ws, timeout=10):
    return await asyncio.wait_for(ws.recv(), timeout)


async def recv_until(ws, want, timeout=10):
    """Messages up to and including `want`."""
    got = []
    deadline = time.monotonic() + timeout
    while True:
        m = await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic()))
        got.append(m)
        if m == want:
            return got


async def quiet(ws, seconds):
    """True if nothing arrives for `seconds`."""
    try:
        m = await asyncio.wait_for(ws.recv(), seconds)
    except asyncio.TimeoutError:
        return True
    raise AssertionError("unexpected message %r" % (m,))


def http_get(port, path, method="GET", headers=None):
    """(status, headers, body) of one plain request."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        h = "".join("%s: %s\r\n" % kv for kv in (headers or {}).items())
        s.sendall(("%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n" % (method, path, h)).encode())
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), hdrs, body


class Daemon:
    """A helper server (redis-server, haproxy) run in the foreground, its
    output in a temp file, stopped with SIGTERM."""

    def __init__(self, argv, port, cwd=None):
        self.out = tempfile.NamedTemporaryFile(prefix="daemon-", delete=False)
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=self.out, cwd=cwd,
                                     start_new_session=True)
        self.port = port
        wait_port(port, self.proc)

    def text(self):
        with open(self.out.name, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.out is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.unlink(self.out.name)
        self.out = None


def start_redis(workdir, extra=""):
    """redis-server on a free loopback port: no persistence, own config."""
    port = free_port()
    conf = os.path.join(workdir, "redis.conf")
    with open(conf, "w") as f:
        f.write("bind 127.0.0.1\nport %d\nprotected-mode yes\ndaemonize no\nsave \"\"\n"
                "appendonly no\ndir %s\nlogfile \"\"\ndatabases 1\n%s" % (port, workdir, extra))
    return Daemon([shutil.which("redis-server"), conf], port, cwd=workdir)


def redis_cli(port, *args):
    return subprocess.run([shutil.which("redis-cli"), "-h", "127.0.0.1", "-p", str(port)] + list(args),
                          capture_output=True, text=True, timeout=10).stdout.strip()


def procs_with_cwd(path):
    """pids whose working directory is path (the local broadcast brokers)."""
    real = os.path.realpath(path)
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.readlink("/proc/%s/cwd" % pid) == real:
                    out.append(int(pid))
            except OSError:
                pass
    return out


def brokers(path):
    """The local broadcast brokers working in path (process name bcast-broker)."""
    out = []
    for pid in procs_with_cwd(path):
        try:
            with open("/proc/%d/comm" % pid) as f:
                if f.read().strip() == "bcast-broker":
                    out.append(pid)
        except OSError:
            pass
    return out
