#!/usr/bin/python3
"""Runs every example of pushpipe(1) (doc/pushpipe.1, section EXAMPLES).

Each example is an .EX/.EE block followed by '.\\" test: JSON' comment lines
saying what it must do.  The command is taken as printed, with the
installation paths, ports and /var/log files mapped to this build tree and
to temporary ones.  Also checks that the page renders without groff
warnings and that every option of `pushpipe --help` is documented."""

import asyncio
import json
import os
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

from handlerlib import HANDLERS, SITE, SSE, http_get, recv, recv_until, start_redis, ws_connect
from pplib import PUSHPIPE, SRCDIR, Results, free_port, wait_port

R = Results("manpage")
MAN = os.path.join(SRCDIR, "doc", "pushpipe.1")
tmp = tempfile.mkdtemp(prefix="pp-manpage-")


def unroff(line):
    return (line.replace("\\-", "-").replace("\\e", "\\").replace("\\(aq", "'")
            .replace("\\(dq", '"').replace("\\&", ""))


def examples():
    """[(text, [test, ...])] from the EXAMPLES section."""
    lines = open(MAN, encoding="utf-8").read().split("\n")
    start = lines.index(".SH EXAMPLES")
    out, block, i = [], None, start + 1
    while i < len(lines) and not (lines[i].startswith(".SH ") and i > start):
        line = lines[i]
        if line == ".EX":
            block = []
        elif line == ".EE":
            out.append(["\n".join(block), []])
            block = None
        elif block is not None:
            block.append(unroff(line))
        elif line.startswith('.\\" test:'):
            out[-1][1].append(json.loads(line.split("test:", 1)[1]))
        i += 1
    return out


def localize(text, ports):
    subs = [("/usr/local/libexec/pushpipe/handlers", HANDLERS),
            ("/usr/local/share/pushpipe/examples/site", SITE),
            ("/usr/local/bin/pushpipe", PUSHPIPE),
            ("/var/log/myapp", os.path.join(tmp, "myapp")),
            ("/var/log/pushpipe.log", os.path.join(tmp, "pushpipe.log")),
            ("127.0.0.1:8080", "127.0.0.1:%d" % ports["listen"]),
            ("127.0.0.1:9000", "127.0.0.1:%d" % ports["fcgi"]),
            ("127.0.0.1:6379", "127.0.0.1:%d" % ports["redis"])]
    for a, b in subs:
        text = text.replace(a, b)
    return text


# ---- the checks ----------------------------------------------------------------

async def check_ws(port, path, send, want):
    async with ws_connect("ws://127.0.0.1:%d%s" % (port, path)) as ws:
        if send is not None:
            await ws.send(send)
        got = await recv(ws)
        assert re.search(want, got), (got, want)


async def check_ws2(port, path, send, want):
    """Two clients of a room: what one sends, the other hears."""
    url = "ws://127.0.0.1:%d%s" % (port, path)
    a, b = await ws_connect(url), await ws_connect(url)
    for ws, hello in ((a, "hello a"), (b, "hello b")):
        await ws.send(hello)
        await recv_until(ws, hello)
    await a.send(send)
    got = await recv_until(b, send)
    assert re.search(want, got[-1])
    await a.close()
    await b.close()


async def check_sse(port, path, want, want_id=None):
    s = await SSE.open(port, path)
    try:
        e = await s.event(10)
        assert re.search(want, e["data"]), e
        if want_id:
            assert re.search(want_id, e["id"]), e
    finally:
        s.close()


def fcgi_record(rtype, content, req=1):
    return struct.pack(">BBHHBx", 1, rtype, req, len(content), 0) + content


def fcgi_params(pairs):
    out = b""
    for k, v in pairs.items():
        k, v = k.encode(), v.encode()
        for n in (len(k), len(v)):
            out += bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
        out += k + v
    return out


def check_fcgi_sse(port, path, want):
    """A FastCGI request as a web server sends it; the first event's data."""
    params = {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET", "SCRIPT_NAME": path,
              "PATH_INFO": "", "REQUEST_URI": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
              "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
              "REMOTE_PORT": "40000", "HTTP_HOST": "127.0.0.1", "HTTP_ACCEPT": "text/event-stream",
              "CONTENT_LENGTH": "0"}
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(fcgi_record(1, struct.pack(">HB5x", 1, 0)) + fcgi_record(4, fcgi_params(params)) +
                  fcgi_record(4, b"") + fcgi_record(5, b""))
        buf, out = b"", b""
        deadline = time.time() + 10
        while time.time() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 8:
                _, rtype, _, clen, plen = struct.unpack(">BBHHB", buf[:7])
                if len(buf) < 8 + clen + plen:
                    break
                if rtype == 6:
                    out += buf[8:8 + clen]
                buf = buf[8 + clen + plen:]
            m = re.search(rb"\r?\n\r?\n(?:.*\n)*?data: (.*)\n", out)
            if m:
                assert re.search(want, m.group(1).decode()), out
                assert out.startswith(b"Status: 200") or b"Content-Type: text/event-stream" in out, out
                return
    raise AssertionError("no event over FastCGI: %r" % out[:500])


def check_cgi_sse(script_text, want):
    path = os.path.join(tmp, "clock.cgi")
    with open(path, "w") as f:
        f.write(script_text + "\n")
    os.chmod(path, 0o755)
    env = {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET", "SCRIPT_NAME": "/cgi-bin/clock.cgi",
           "REQUEST_URI": "/cgi-bin/clock.cgi", "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
           "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
           "REMOTE_PORT": "40000", "HTTP_HOST": "127.0.0.1", "HTTP_ACCEPT": "text/event-stream",
           "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if "PUSHPIPE_ALLOW_ROOT" in os.environ:
        env["PUSHPIPE_ALLOW_ROOT"] = os.environ["PUSHPIPE_ALLOW_ROOT"]
    p = subprocess.Popen([path], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        out = b""
        deadline = time.time() + 10
        os.set_blocking(p.stdout.fileno(), False)
        while time.time() < deadline:
            try:
                chunk = p.stdout.read()
            except BlockingIOError:
                chunk = None
            if chunk:
                out += chunk
            m = re.search(rb"\r?\n\r?\n(?:.*\n)*?data: (.*)\n", out)
            if m:
                assert out.startswith(b"Status: 200") or b"Content-Type: text/event-stream" in out, out
                assert re.search(want, m.group(1).decode()), out
                return
            if p.poll() is not None and not chunk:
                break
            time.sleep(0.05)
        raise AssertionError("no event from the CGI script: %r %r" % (out[:300], p.stderr.read()))
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait()


def nobody_can_run_handlers():
    return subprocess.run(["runuser", "-u", "nobody", "--", "test", "-x", os.path.join(HANDLERS, "clock")],
                          capture_output=True).returncode == 0


def run_example(text, tests, ports):
    text = localize(text, ports)
    if text.startswith("#!"):
        for t in tests:
            assert t[0] == "cgi-sse", t
            check_cgi_sse(text, t[1])
        return "CGI script"
    if tests and tests[0] == ["root-only"]:
        if os.getuid() != 0 or not nobody_can_run_handlers():
            print("(skipped, needs root and a tree user nobody can read: %s)" % text.split("\n")[0])
            return None
        tests = tests[1:]
    words = shlex.split(text.replace("\\\n", " "))
    env = os.environ.copy()
    while "=" in words[0]:
        k, v = words.pop(0).split("=", 1)
        env[k] = v
    assert words[0] == "pushpipe", words
    words[0] = PUSHPIPE
    if "PUSHPIPE_TAIL_DIR" in env:
        os.makedirs(env["PUSHPIPE_TAIL_DIR"], exist_ok=True)
        with open(os.path.join(env["PUSHPIPE_TAIL_DIR"], "app.log"), "w") as f:
            f.write("started\n")
    env.setdefault("PUSHPIPE_BROADCAST_DIR", os.path.join(tmp, "bcast"))
    logf = open(os.path.join(tmp, "out.log"), "w")
    proc = subprocess.Popen(words, env=env, stdout=logf, stderr=logf)
    try:
        fcgi = "--fcgi" in words
        wait_port(ports["fcgi"] if fcgi else ports["listen"], proc)
        for t in tests:
            kind, args = t[0], t[1:]
            port = ports["listen"]
            if kind == "ws":
                asyncio.run(check_ws(port, *args))
            elif kind == "ws2":
                asyncio.run(check_ws2(port, *args))
            elif kind == "sse":
                asyncio.run(check_sse(port, *args))
            elif kind == "get":
                st, _, _ = http_get(port, args[0])
                assert st == args[1], (st, args)
            elif kind == "fcgi-sse":
                check_fcgi_sse(ports["fcgi"], *args)
            elif kind == "log":
                logname = os.path.join(tmp, "pushpipe.log")
                deadline = time.time() + 5
                while time.time() < deadline:
                    if os.path.exists(logname) and re.search(args[0], open(logname).read()):
                        break
                    time.sleep(0.05)
                else:
                    raise AssertionError("no log line %r" % args[0])
            else:
                raise AssertionError("unknown test kind %r" % kind)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError("did not stop on SIGTERM")
        logf.close()
        if sys.exc_info()[0] is not None:
            print(open(os.path.join(tmp, "out.log")).read()[-2000:])
    return words


def check_render():
    if not shutil.which("groff"):
        print("(groff not installed: render check skipped)")
        return
    r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", MAN], capture_output=True, text=True)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr


def check_options_documented():
    out = subprocess.run([PUSHPIPE, "--help"], capture_output=True, text=True).stdout
    opts = set(re.findall(r"(?m)^\s+(?:-h, )?(--[a-z][a-z0-9-]*)", out))
    page = unroff(open(MAN, encoding="utf-8").read()).replace("\\fB", "").replace("\\fR", "")
    missing = sorted(o for o in opts if not re.search(re.escape(o) + r"(?![a-z0-9-])", page))
    assert opts and not missing, "not in pushpipe.1: %s" % missing


def main():
    redis = None
    try:
        R.run("pushpipe.1 renders without groff warnings", check_render)
        R.run("every option of --help is in pushpipe.1", check_options_documented)
        exs = examples()
        R.check("the EXAMPLES section has examples, each with a test", exs and all(t for _, t in exs),
                [e for e, t in exs if not t])
        need_redis = any("REDIS_URL" in e for e, _ in exs)
        if need_redis and shutil.which("redis-server"):
            redis = start_redis(tmp)
        for text, tests in exs:
            first = text.split("\n")[0]
            if "REDIS_URL" in text and not redis:
                print("(skipped, no redis-server: %s)" % first)
                continue
            ports = {"listen": free_port(), "fcgi": free_port(), "redis": redis.port if redis else 6379}
            R.run("example: " + first, run_example, text, tests, ports)
    finally:
        if redis:
            redis.stop()
        subprocess.run(["rm", "-rf", tmp])
    R.finish()


if __name__ == "__main__":
    main()
