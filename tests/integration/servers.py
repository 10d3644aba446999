"""Real web servers in front of pushpipe, an EventSource client, and the
checks every path gets (issue 3).

Each test starts its servers on free loopback ports with configurations made
from the files in examples/ (placeholders @NAME@ filled in), so the examples
are exactly what is tested.  Servers started as root run their workers as
www-data, as in production; everything they need is made readable for it.

The checks, the same for every path:
  EventSource  the first event arrives within 1 s of the handler printing it
               (the handler prints its own clock, then sleeps, so any
               buffering on the way shows as lateness); 100 events arrive
               complete and in order; Last-Event-ID (header and query
               parameter) reaches the handler; closing the client ends the
               handler (its pid is gone within a few seconds).
  WebSocket    a text and a binary message round-trip exactly; closing the
               client ends the handler.
"""

import asyncio
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from pplib import PUSHPIPE, SRCDIR, free_port, wait_port

# The suite runs as root in CI; pushpipe refuses root handlers unless told.
os.environ.setdefault("PUSHPIPE_ALLOW_ROOT", "1")
IS_ROOT = os.geteuid() == 0
EXAMPLES = os.path.join(SRCDIR, "examples")
APACHE_MODULES = "/usr/lib/apache2/modules"

# Prints its pid, the Last-Event-ID it got, COUNT numbered events (from the
# query string), and its clock; then sleeps, holding the stream open.
SSE_HANDLER = r"""#!/bin/sh
echo "pid $$"
echo "lei ${LAST_EVENT_ID:--}"
n=0
case "$QUERY_STRING" in *count=*) n=${QUERY_STRING#*count=}; n=${n%%&*};; esac
i=0
while [ "$i" -lt "$n" ]; do echo "event $i"; i=$((i+1)); done
echo "t $(date +%s.%N)"
exec sleep 30
"""

# Framed mode: says its pid in a text record, then echoes every message.
WS_HANDLER = r"""#!/bin/sh
msg="pid $$"
printf 't %d\n%s\n' "${#msg}" "$msg"
exec cat
"""


def run_scenarios(R, name, scenarios):
    """Run each scenario function in a fresh Workdir, stop whatever it
    started, print its servers' logs when it failed, then finish R."""
    for fn in scenarios:
        work = Workdir(name)
        failed = R.failed
        try:
            R.run(fn.__name__ + " (setup)", fn, work)
        finally:
            for p in work.procs:
                p.stop()
            if R.failed != failed:
                print(work.logs())
            work.cleanup()
    R.finish()


def pid_gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1].startswith("Z")
    except (FileNotFoundError, ProcessLookupError):
        return True


def wait_gone(pid, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pid_gone(pid):
            return True
        time.sleep(0.05)
    return pid_gone(pid)


class Workdir:
    """A temporary directory the web server's user can use, with the test
    handlers in it."""

    def __init__(self, prefix):
        self.path = tempfile.mkdtemp(prefix="pushpipe-%s-" % prefix)
        os.chmod(self.path, 0o755)
        self.docroot = self.mkdir("htdocs")
        self.sse_handler = self.write("sse-handler.sh", SSE_HANDLER, 0o755)
        self.ws_handler = self.write("ws-handler.sh", WS_HANDLER, 0o755)
        if IS_ROOT:
            pw = pwd.getpwnam("www-data")
            os.chown(self.path, pw.pw_uid, pw.pw_gid)
        self.procs = []

    def mkdir(self, *parts):
        p = os.path.join(self.path, *parts)
        os.makedirs(p, exist_ok=True)
        os.chmod(p, 0o755)
        return p

    def write(self, rel, text, mode=0o644):
        p = os.path.join(self.path, rel)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def values(self, **extra):
        v = {"DOCROOT": self.docroot, "LOGDIR": self.path, "PUSHPIPE": PUSHPIPE,
             "HANDLER": self.sse_handler, "WS_HANDLER": self.ws_handler,
             "MODULES": APACHE_MODULES}
        v.update({k: str(x) for k, x in extra.items()})
        return v

    def logs(self):
        out = []
        for name in sorted(os.listdir(self.path)):
            if name.endswith(".log"):
                with open(os.path.join(self.path, name), errors="replace") as f:
                    out.append("== %s\n%s" % (name, f.read()[-6000:]))
        return "\n".join(out)

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


def template(rel, values, replace=None):
    """An example file with its @NAME@ placeholders filled in."""
    with open(os.path.join(EXAMPLES, rel)) as f:
        text = f.read()
    for old, new in (replace or {}).items():
        assert old in text, "%s does not contain %r" % (rel, old)
        text = text.replace(old, new)
    for k, v in values.items():
        text = text.replace("@%s@" % k, v)
    left = re.findall(r"@[A-Z_]+@", text)
    assert not left, "%s: unfilled placeholders %s" % (rel, left)
    return text


def not_root_lines(text):
    """Drop user switching when the suite does not run as root (a server
    cannot switch users then)."""
    if IS_ROOT:
        return text
    return "\n".join(l for l in text.split("\n")
                     if not re.match(r"\s*(server\.username|server\.groupname|User |Group )", l))


class Proc:
    """A server process with its output in LOGDIR/NAME.log."""

    def __init__(self, work, name, argv, port=None, env=None, stop_signal=signal.SIGTERM):
        self.name = name
        self.stop_signal = stop_signal
        self.logf = open(os.path.join(work.path, name + ".log"), "ab")
        self.proc = subprocess.Popen(argv, stdout=self.logf, stderr=self.logf,
                                     env=env if env is not None else os.environ.copy(),
                                     start_new_session=True)
        work.procs.append(self)
        if port:
            wait_port(port, self.proc)

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, self.stop_signal)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.logf.close()


def pushpipe_fcgi(work, args, name="pushpipe-fcgi"):
    port = free_port()
    p = Proc(work, name, [PUSHPIPE, "--fcgi", "127.0.0.1:%d" % port] + list(args), port)
    return p, port


def pushpipe_listen(work, args, name="pushpipe-listen"):
    port = free_port()
    p = Proc(work, name, [PUSHPIPE, "--listen", "127.0.0.1:%d" % port] + list(args), port)
    return p, port


def lighttpd(work, conf_text, port, name="lighttpd"):
    conf = work.write(name + ".conf", not_root_lines(conf_text))
    return Proc(work, name, ["lighttpd", "-D", "-f", conf], port)


APACHE_SKELETON = """ServerRoot "{dir}"
DefaultRuntimeDir "{dir}"
PidFile "{dir}/apache.pid"
Listen 127.0.0.1:{port}
ServerName 127.0.0.1
ErrorLog "{dir}/apache-error.log"
LogLevel warn
LoadModule mpm_{mpm}_module {mods}/mod_mpm_{mpm}.so
LoadModule authz_core_module {mods}/mod_authz_core.so
LoadModule mime_module {mods}/mod_mime.so
{loads}
{user}
TypesConfig /etc/mime.types
DocumentRoot "{docroot}"
<Directory "{docroot}">
    Require all granted
</Directory>
{extra}
Include "{site}"
"""


def apache(work, site_text, port, modules, mpm="event", extra="", name="apache"):
    site = work.write(name + "-site.conf", site_text)
    loads = "\n".join("LoadModule %s_module %s/mod_%s.so" % (m, APACHE_MODULES, m) for m in modules)
    user = "User www-data\nGroup www-data" if IS_ROOT else ""
    conf = work.write(name + ".conf", APACHE_SKELETON.format(
        dir=work.path, port=port, mpm=mpm, mods=APACHE_MODULES, loads=loads, user=user,
        docroot=work.docroot, extra=extra, site=site))
    # Apache's parent exits on SIGTERM after its children (graceful-stop is
    # SIGWINCH); the process group is signalled so CGI programs go too.
    return Proc(work, name, ["apache2", "-f", conf, "-DFOREGROUND"], port)


NGINX_SKELETON = """daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
{user}
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {dir}/nginx-tmp;
    proxy_temp_path {dir}/nginx-tmp;
    fastcgi_temp_path {dir}/nginx-tmp;
    uwsgi_temp_path {dir}/nginx-tmp;
    scgi_temp_path {dir}/nginx-tmp;
    include {site};
}}
"""


def nginx(work, site_text, port, name="nginx"):
    site = work.write(name + "-site.conf", site_text)
    shutil.copy("/etc/nginx/fastcgi_params", os.path.join(work.path, "fastcgi_params"))
    work.mkdir("nginx-tmp")
    user = "user www-data;" if IS_ROOT else ""
    conf = work.write(name + ".conf", NGINX_SKELETON.format(dir=work.path, site=site, user=user))
    return Proc(work, name, ["nginx", "-p", work.path, "-c", conf], port,
                stop_signal=signal.SIGQUIT)


# ---- an EventSource client ------------------------------------------------


class SseStream:
    """GET with Accept: text/event-stream over a raw socket, parsed as the
    HTML standard says; chunked or close-delimited bodies.  Events carry
    their arrival time."""

    def __init__(self, port, path, headers=None, host="127.0.0.1", timeout=10):
        self.sock = socket.create_connection((host, port), timeout)
        extra = "".join("%s: %s\r\n" % kv for kv in (headers or {}).items())
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\n"
                           "Cache-Control: no-cache\r\n%s\r\n" % (path, host, port, extra)).encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed before the response head: %r" % buf)
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            self.headers.setdefault(k.strip().lower(), []).append(v.strip())
        self.chunked = "chunked" in ",".join(self.headers.get("transfer-encoding", [])).lower()
        self.raw = rest          # undecoded body bytes
        self.chunk_left = 0      # chunked: bytes left in the current chunk
        self.text = ""           # decoded, unparsed body text
        self.eof = False
        self.events = []
        self.comments = 0
        self.retry = None
        self.data, self.etype, self.last_id = [], "", ""

    def header(self, name):
        v = self.headers.get(name.lower())
        return v[0] if v else None

    def _dechunk(self):
        out = b""
        while self.raw:
            if self.chunk_left > 0:
                take = min(self.chunk_left, len(self.raw))
                out += self.raw[:take]
                self.raw = self.raw[take:]
                self.chunk_left -= take
                if self.chunk_left == 0:
                    self.chunk_left = -2      # the CRLF after the data
                continue
            if self.chunk_left < 0:
                if len(self.raw) < -self.chunk_left:
                    break
                self.raw = self.raw[-self.chunk_left:]
                self.chunk_left = 0
                continue
            if b"\r\n" not in self.raw:
                break
            line, _, self.raw = self.raw.partition(b"\r\n")
            size = int(line.split(b";")[0], 16)
            if size == 0:
                self.eof = True
                self.raw = b""
                break
            self.chunk_left = size
        return out

    def _feed(self, data):
        self.text += data.decode("utf-8", "replace")
        while True:
            m = re.search(r"\r\n|\r|\n", self.text)
            if not m:
                return
            if m.group() == "\r" and m.end() == len(self.text):
                return      # may be the first half of \r\n
            line, self.text = self.text[:m.start()], self.text[m.end():]
            self._line(line)

    def _line(self, line):
        if line == "":
            if self.data:
                self.events.append({"data": "\n".join(self.data), "event": self.etype or "message",
                                    "id": self.last_id, "t": time.time()})
            self.data, self.etype = [], ""
            return
        if line.startswith(":"):
            self.comments += 1
            return
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self.data.append(value)
        elif name == "event":
            self.etype = value
        elif name == "id" and "\0" not in value:
            self.last_id = value
        elif name == "retry" and value.isdigit():
            self.retry = int(value)

    def pump(self, timeout):
        """Read what arrives within timeout; False at EOF."""
        if self.eof:
            return False
        if self.raw and not self.chunked:
            self._feed(self.raw)
            self.raw = b""
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return True
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        if self.chunked:
            self.raw += chunk
            self._feed(self._dechunk())
        else:
            self._feed(chunk)
        return not self.eof

    def wait_events(self, n, timeout=10):
        """Until n events have arrived (or timeout, or EOF); returns them."""
        deadline = time.time() + timeout
        if self.chunked and self.raw:
            self._feed(self._dechunk())
        elif self.raw:
            self._feed(self.raw)
            self.raw = b""
        while len(self.events) < n:
            left = deadline - time.time()
            if left <= 0 or not self.pump(min(left, 0.5)):
                break
        return self.events

    def close(self):
        self.sock.close()


def sse_checks(R, label, port, path, lei=True, gone_timeout=6):
    """The EventSource checks for one path (see the module docstring)."""
    sep = "&" if "?" in path else "?"

    def first_event():
        s = SseStream(port, path + sep + "count=0")
        try:
            assert s.status == 200, "status %d" % s.status
            ctype = s.header("content-type") or ""
            assert ctype.startswith("text/event-stream"), ctype
            ev = s.wait_events(3)
            assert len(ev) >= 3, "got %r" % ev
            assert ev[0]["data"].startswith("pid "), ev
            assert ev[2]["data"].startswith("t "), ev
            late = ev[2]["t"] - float(ev[2]["data"][2:])
            assert late < 1.0, "event arrived %.3f s after the handler printed it" % late
            return int(ev[0]["data"][4:])
        finally:
            s.close()

    def hundred():
        s = SseStream(port, path + sep + "count=100")
        try:
            ev = s.wait_events(103)
            datas = [e["data"] for e in ev]
            assert datas[2:102] == ["event %d" % i for i in range(100)], datas[:5]
            late = ev[102]["t"] - float(ev[102]["data"][2:])
            assert late < 1.0, "last event %.3f s late" % late
        finally:
            s.close()

    def last_event_id(headers, query):
        s = SseStream(port, path + sep + "count=0" + query, headers)
        try:
            ev = s.wait_events(2)
            assert len(ev) >= 2 and ev[1]["data"] == "lei 42", ev
        finally:
            s.close()

    pid = []
    R.run("%s: first event within 1 s of the handler printing it" % label,
          lambda: pid.append(first_event()))
    if pid:
        R.check("%s: closing the client ends the handler" % label, wait_gone(pid[0], gone_timeout),
                "handler %d still running" % pid[0])
    R.run("%s: 100 events complete and in order" % label, hundred)
    if lei:
        R.run("%s: Last-Event-ID header reaches the handler" % label,
              last_event_id, {"Last-Event-ID": "42"}, "")
        R.run("%s: lastEventId query parameter reaches the handler" % label,
              last_event_id, {}, "&lastEventId=42")


def ws_checks(R, label, url, gone_timeout=6):
    """The WebSocket checks for one path: needs a framed-mode WS_HANDLER."""
    import websockets

    async def session():
        async with websockets.connect(url, compression=None, open_timeout=10) as ws:
            hello = await asyncio.wait_for(ws.recv(), 10)
            assert isinstance(hello, str) and hello.startswith("pid "), hello
            for msg in ["hello ü", b"\x00\x01\xfe\xff binary\n", "", "x" * 70000,
                        bytes(range(256)) * 300]:
                await ws.send(msg)
                got = await asyncio.wait_for(ws.recv(), 10)
                assert got == msg and type(got) is type(msg), "%r != %r" % (got[:40], msg[:40])
            return int(hello[4:])

    async def vanish():
        ws = await websockets.connect(url, compression=None, open_timeout=10)
        hello = await asyncio.wait_for(ws.recv(), 10)
        ws.transport.abort()    # no close frame: the TCP connection just goes
        return int(hello[4:])

    pid = []
    R.run("%s: WebSocket text and binary echo round trip" % label,
          lambda: pid.append(asyncio.run(session())))
    if pid:
        R.check("%s: closing the WebSocket client ends the handler" % label,
                wait_gone(pid[0], gone_timeout), "handler %d still running" % pid[0])
    pid = []
    R.run("%s: (client vanishing)" % label, lambda: pid.append(asyncio.run(vanish())))
    if pid:
        R.check("%s: a client vanishing without a close frame ends the handler" % label,
                wait_gone(pid[0], gone_timeout), "handler %d still running" % pid[0])


def ws_refused(url):
    """The HTTP status a WebSocket handshake to url gets (101 if accepted)."""
    import websockets

    async def go():
        try:
            async with websockets.connect(url, compression=None, open_timeout=10):
                return 101
        except websockets.exceptions.InvalidStatusCode as e:
            return e.status_code
    return asyncio.run(go())
