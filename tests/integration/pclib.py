"""Helpers for pushcat's integration tests: run pushcat, start the node
servers of pushcat_servers.js, a raw WebSocket server in Python that can
misbehave on purpose, test certificates made with openssl, and tinyproxy.
Everything listens on 127.0.0.1 only."""

import base64
import hashlib
import os
import queue
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pplib import Results, free_port, wait_port, pushpipe  # noqa: E402,F401

PUSHCAT = os.environ.get("PUSHCAT") or os.path.join(
    os.environ.get("TOP_BUILDDIR", "."), "pushcat")
HERE = os.path.dirname(os.path.abspath(__file__))
SERVERS_JS = os.path.join(HERE, "pushcat_servers.js")
SRCDIR_PAGE = os.path.join(os.environ.get("TOP_SRCDIR", os.path.join(HERE, "..", "..")),
                           "doc", "pushcat.1")
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

# Handlers spawned by pushpipe must be allowed to run as root in CI.
os.environ.setdefault("PUSHPIPE_ALLOW_ROOT", "1")
# No proxy from the environment of whoever runs the suite may interfere.
for _v in ("http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
           "no_proxy", "NO_PROXY"):
    os.environ.pop(_v, None)


def run(args, stdin=b"", env=None, timeout=20, cwd=None):
    """Run pushcat; returns CompletedProcess (stdout/stderr bytes)."""
    e = os.environ.copy()
    if env:
        e.update(env)
    return subprocess.run([PUSHCAT] + list(args), input=stdin, capture_output=True,
                          env=e, timeout=timeout, cwd=cwd)


class Held:
    """Result of run_held: returncode, stdout, stderr."""

    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run_held(args, stdin=b"", env=None, timeout=20):
    """Run pushcat with stdin written but held open (no EOF) until it exits
    on its own: for what the server does, not what our close causes."""
    e = os.environ.copy()
    if env:
        e.update(env)
    proc = subprocess.Popen([PUSHCAT] + list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=e)
    out, err = [], []
    readers = [threading.Thread(target=lambda s, acc: acc.append(s.read()), args=(proc.stdout, out)),
               threading.Thread(target=lambda s, acc: acc.append(s.read()), args=(proc.stderr, err))]
    for t in readers:
        t.start()
    if stdin:
        proc.stdin.write(stdin)
        proc.stdin.flush()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("pushcat %r did not exit within %ss" % (args, timeout))
    finally:
        proc.stdin.close()
        for t in readers:
            t.join(10)
    return Held(proc.returncode, out[0] if out else b"", err[0] if err else b"")


def shell(cmd, timeout=20, cwd=None, env=None):
    e = os.environ.copy()
    e["PATH"] = os.path.dirname(os.path.abspath(PUSHCAT)) + ":" + e.get("PATH", "")
    if env:
        e.update(env)
    return subprocess.run(["/bin/sh", "-c", cmd], capture_output=True, timeout=timeout,
                          cwd=cwd, env=e)


class Lines:
    """Collects a process's stdout lines in a thread."""

    def __init__(self, stream):
        self.q = queue.Queue()
        self.all = []
        t = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        t.start()

    def _pump(self, stream):
        for line in iter(stream.readline, b""):
            self.q.put(line.decode(errors="replace").rstrip("\n"))

    def next(self, timeout=10):
        line = self.q.get(timeout=timeout)
        self.all.append(line)
        return line

    def wait_for(self, prefix, timeout=10):
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("no line starting with %r (saw %r)" % (prefix, self.all))
            try:
                line = self.next(left)
            except queue.Empty:
                continue
            if line.startswith(prefix):
                return line


class NodeServer:
    """node pushcat_servers.js KIND 0 ARGS...; .port, .url, .events."""

    def __init__(self, kind, *args):
        # Debian's node modules (faye-websocket needs websocket-driver).
        env = dict(os.environ, NODE_PATH="/usr/share/nodejs")
        self.proc = subprocess.Popen(["/usr/bin/node", SERVERS_JS, kind, "0"] + list(args),
                                     stdout=subprocess.PIPE, stderr=sys.stderr, env=env)
        self.events = Lines(self.proc.stdout)
        line = self.events.next(timeout=20)
        if not line.startswith("ready "):
            raise RuntimeError("server did not start: %r" % line)
        self.port = int(line.split()[1])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()


# ---- a raw WebSocket server that does exactly what a test asks ----------

def frame(opcode, payload=b"", fin=True, mask=None, rsv1=False):
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if mask:
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        return head + mask + payload
    return head + payload


def read_frame(sock):
    """One client frame (unmasked for the caller): (opcode, payload), or None
    at EOF."""
    def exact(n):
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf
    h = exact(2)
    if h is None:
        return None
    n = h[1] & 0x7f
    if n == 126:
        n = struct.unpack("!H", exact(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", exact(8))[0]
    key = exact(4) if h[1] & 0x80 else b"\0\0\0\0"
    data = exact(n) if n else b""
    return h[0] & 0x0f, bytes(c ^ key[i % 4] for i, c in enumerate(data)), bool(h[1] & 0x80)


class RawServer:
    """Accepts connections and runs script(conn, request_head) for each in a
    thread.  helpers: accept_handshake(conn, head, extra_headers)."""

    def __init__(self, script):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.script = script
        self.heads = []
        self.notes = queue.Queue()
        self.errors = []
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn):
        try:
            conn.settimeout(15)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            self.heads.append(head.decode(errors="replace"))
            self.script(self, conn, head.decode(errors="replace"))
        except Exception as e:  # the test looks at errors
            self.errors.append(repr(e))
        finally:
            try:
                conn.close()
            except OSError:
                pass

    @staticmethod
    def header(head, name):
        for line in head.split("\r\n")[1:]:
            if ":" in line and line.split(":", 1)[0].strip().lower() == name.lower():
                return line.split(":", 1)[1].strip()
        return None

    @staticmethod
    def accept_handshake(conn, head, extra=b"", accept=None):
        key = RawServer.header(head, "Sec-WebSocket-Key").encode()
        if accept is None:
            accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n" +
                     extra + b"\r\n")

    def close(self):
        self.sock.close()


# ---- certificates ---------------------------------------------------------

def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True)


def make_cert(directory, name, cn, san):
    """Self-signed certificate (it is its own CA for --cacert): NAME.pem,
    NAME.key."""
    cert = os.path.join(directory, name + ".pem")
    key = os.path.join(directory, name + ".key")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
            "-days", "2", "-subj", "/CN=" + cn, "-addext", "subjectAltName=" + san)
    return cert, key


class Certs:
    """server: localhost and 127.0.0.1; wrong: only wrong.example; client: a
    client certificate."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pushcat-certs-")
        self.server, self.server_key = make_cert(self.dir, "server", "localhost",
                                                 "DNS:localhost,IP:127.0.0.1")
        self.wrong, self.wrong_key = make_cert(self.dir, "wrong", "wrong.example",
                                               "DNS:wrong.example")
        self.client, self.client_key = make_cert(self.dir, "client", "pushcat client",
                                                 "DNS:client.example")

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- tinyproxy -------------------------------------------------------------

class Tinyproxy:
    """tinyproxy on a loopback port with its own config; user:secret when
    auth is true.  CONNECT is allowed to the given ports only."""

    def __init__(self, ports, auth=False):
        self.dir = tempfile.mkdtemp(prefix="pushcat-proxy-")
        self.port = free_port()
        self.log = os.path.join(self.dir, "tinyproxy.log")
        conf = os.path.join(self.dir, "tinyproxy.conf")
        lines = ["Port %d" % self.port, "Listen 127.0.0.1", "Timeout 60", "MaxClients 50",
                 "Allow 127.0.0.1", "LogLevel Connect", 'LogFile "%s"' % self.log,
                 'PidFile "%s"' % os.path.join(self.dir, "tinyproxy.pid")]
        if auth:
            lines.append("BasicAuth user secret")
        lines += ["ConnectPort %d" % p for p in ports]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = subprocess.Popen(["tinyproxy", "-d", "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc)

    def connects(self):
        try:
            with open(self.log, errors="replace") as f:
                return [line for line in f if "CONNECT " in line and "Request" in line]
        except FileNotFoundError:
            return []

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def assert_eq(got, want, what=""):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def assert_exit(p, code, what=""):
    if p.returncode != code:
        raise AssertionError("%s: exit %d, want %d; stderr: %s" % (
            what, p.returncode, code, p.stderr.decode(errors="replace")[-2000:]))


def assert_in(needle, hay, what=""):
    if needle not in hay:
        raise AssertionError("%s: %r not in %r" % (what, needle, hay[-3000:]))
