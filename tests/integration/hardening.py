#!/usr/bin/python3
"""Limits, refusals and faults: each a documented behaviour of pushpipe,
checked against the real binary.  Run by the suite as root (CI) or not."""

import asyncio
import os
import pwd
import signal
import socket
import subprocess
import time

import websockets

from pplib import Results, pushpipe, pids_of_children, wait_until, PUSHPIPE, all_descendants, comm_of, loop_workers

R = Results("hardening")
KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def head(port, extra="", path="/", version="13"):
    return ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: %s\r\n%s\r\n" % (path, port, KEY, version, extra)).encode()


def exchange(port, data, timeout=5):
    """Send data, return everything until the server closes or timeout."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out and not out.startswith(b"HTTP/1.1 101"):
                break
    except socket.timeout:
        pass
    s.close()
    return out


def status_of(resp):
    return int(resp.split(b" ")[1]) if resp.startswith(b"HTTP/1.1 ") else None


def open_ws(port, extra="", source="127.0.0.1"):
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    s.sendall(head(port, extra))
    resp = b""
    while b"\r\n\r\n" not in resp:
        chunk = s.recv(4096)
        if not chunk:
            break
        resp += chunk
    return s, resp


def first_ws(port):
    """Open a WebSocket, retrying while the limit still counts pplib's
    start-up probe (its worker may not have been accepted yet)."""
    deadline = time.time() + 5
    while True:
        s, r = open_ws(port)
        if status_of(r) == 101 or time.time() > deadline:
            return s, r
        s.close()
        time.sleep(0.05)


def lowest_free_fd(pid):
    used = set(int(x) for x in os.listdir("/proc/%d/fd" % pid))
    n = 0
    while n in used:
        n += 1
    return n


def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_slow_and_big_heads():
    with pushpipe("--head-timeout", "1", "--", "cat") as p:
        t = time.time()
        resp = exchange(p.port, b"GET / HTTP/1.1\r\nHost: x\r\n", timeout=5)
        took = time.time() - t
        assert status_of(resp) == 408 and took < 3, (resp, took)
        resp = exchange(p.port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
        assert status_of(resp) == 431, resp
        resp = exchange(p.port, b"NOT HTTP AT ALL\r\n\r\n")
        assert status_of(resp) == 400, resp


def test_connection_limits():
    with pushpipe("--max-connections", "2", "--", "cat") as p:
        a, ra = first_ws(p.port)
        b, rb = first_ws(p.port)
        assert status_of(ra) == 101 and status_of(rb) == 101
        resp = exchange(p.port, head(p.port))
        assert status_of(resp) == 503 and b"Retry-After:" in resp, resp
        a.close()
        # a slot frees up once the worker has ended
        assert wait_until(lambda: status_of(exchange(p.port, head(p.port), timeout=1)) == 101, 5)
        b.close()
    with pushpipe("--max-per-ip", "2", "--", "cat") as p:
        a, ra = first_ws(p.port)
        b, rb = first_ws(p.port)
        assert status_of(ra) == 101 and status_of(rb) == 101
        resp = exchange(p.port, head(p.port))
        assert status_of(resp) == 503, resp
        # other addresses have their own count (any 127/8 source reaches
        # a listener on 127.0.0.1)
        others = [open_ws(p.port, source=src) for src in ("127.0.0.2", "127.0.0.2", "127.0.0.3")]
        assert [status_of(r) for _, r in others] == [101, 101, 101], others
        _, r = open_ws(p.port, source="127.0.0.2")
        assert status_of(r) == 503, r
        # a connection that ends frees its address's place, and only that
        a.close()
        assert wait_until(lambda: status_of(exchange(p.port, head(p.port), timeout=1)) == 101, 5)
        _, r = open_ws(p.port, source="127.0.0.2")
        assert status_of(r) == 503, r
        b.close()
        for s_, _ in others:
            s_.close()


def test_origin():
    with pushpipe("--origin", "https://good.example,https://also.example", "--", "cat") as p:
        assert status_of(exchange(p.port, head(p.port, "Origin: https://evil.example\r\n"))) == 403
        _, r = open_ws(p.port, "Origin: https://good.example\r\n")
        assert status_of(r) == 101, r
        _, r = open_ws(p.port, "Origin: https://also.example\r\n")
        assert status_of(r) == 101, r
        _, r = open_ws(p.port)  # no Origin: not a browser
        assert status_of(r) == 101, r
    with pushpipe("--same-origin", "--", "cat") as p:
        _, r = open_ws(p.port, "Origin: http://127.0.0.1:%d\r\n" % p.port)
        assert status_of(r) == 101, r
        assert status_of(exchange(p.port, head(p.port, "Origin: http://evil.example\r\n"))) == 403


def test_backpressure_and_send_timeout():
    # `yes` prints as fast as it can; a client that never reads must not make
    # pushpipe buffer without bound, and is dropped after --send-timeout.
    with pushpipe("--send-timeout", "2", "--", "yes") as p:
        s, r = open_ws(p.port)
        assert status_of(r) == 101
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        time.sleep(1.0)
        # whichever process holds the connection: an event-loop worker
        # (the default) or a worker of its own (--workers 0)
        kids = all_descendants(p.proc.pid)
        workers = [k for k in kids if comm_of(k) in ("pushpipe", "pushpipe-loop")]
        assert workers, kids
        rss = max(vm_rss_kb(k) for k in workers)
        assert rss < 40 * 1024, "worker RSS %d kB" % rss
        assert wait_until(lambda: pids_of_children(p.proc.pid) == [], timeout=8), \
            "not dropped after --send-timeout"
        assert "send timeout" in p.log_text()
        s.close()


def test_eventsource_send_timeout():
    # the same for an EventSource stream that nobody reads
    with pushpipe("--send-timeout", "2", "--", "yes") as p:
        s = socket.create_connection(("127.0.0.1", p.port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"GET /e HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        time.sleep(1.0)
        kids = all_descendants(p.proc.pid)
        loops = [k for k in kids if comm_of(k) == "pushpipe-loop"]
        assert loops and pids_of_children(p.proc.pid), kids
        rss = max(vm_rss_kb(k) for k in loops)
        assert rss < 40 * 1024, "loop RSS %d kB" % rss
        assert wait_until(lambda: pids_of_children(p.proc.pid) == [], timeout=8), \
            "not dropped after --send-timeout"
        assert wait_until(lambda: "eventsource /e (send timeout)" in p.log_text(), 5), p.log_text()[-1500:]
        s.close()


def test_handler_rlimit():
    async def go(url):
        async with websockets.connect(url, compression=None) as ws:
            return await asyncio.wait_for(ws.recv(), 5)
    with pushpipe("--handler-rlimit", "nofile=37,cpu=5", "--", "sh", "-c", "echo $(ulimit -n) $(ulimit -t)") as p:
        got = asyncio.run(go(p.url))
        assert got == "37 5", got


def test_root_policy():
    env = dict(os.environ)
    env.pop("PUSHPIPE_ALLOW_ROOT", None)
    if os.geteuid() == 0:
        out = subprocess.run([PUSHPIPE, "--listen", "127.0.0.1:0", "--", "cat"], env=env,
                             capture_output=True, text=True, timeout=5)
        assert out.returncode == 2 and "refusing to run handlers as root" in out.stderr, out
        nobody = pwd.getpwnam("nobody").pw_uid
        with pushpipe("--user", "nobody", "--", "sh", "-c", "id -u", env=env) as p:
            async def go(url):
                async with websockets.connect(url, compression=None) as ws:
                    return await asyncio.wait_for(ws.recv(), 5)
            assert asyncio.run(go(p.url)) == str(nobody)
            # the supervisor itself gave up root too
            assert os.stat("/proc/%d" % p.proc.pid).st_uid == nobody
    else:
        out = subprocess.run([PUSHPIPE, "--listen", "127.0.0.1:0", "--user", "root", "--", "cat"],
                             env=env, capture_output=True, text=True, timeout=5)
        assert out.returncode == 2 and "needs pushpipe to be started as root" in out.stderr, out


def test_faults_and_leaks():
    with pushpipe("--close-grace", "300", "--", "sh", "-c", "exec 1>&-; sleep 30") as p:
        # a handler that closes stdout but keeps running: the connection
        # closes normally and the handler is signalled and reaped
        async def go(url):
            async with websockets.connect(url, compression=None) as ws:
                try:
                    await asyncio.wait_for(ws.recv(), 5)
                except websockets.ConnectionClosed:
                    return ws.close_code
        assert asyncio.run(go(p.url)) == 1000
        assert wait_until(lambda: pids_of_children(p.proc.pid) == [], timeout=5)
    with pushpipe("--", "cat") as p:
        time.sleep(0.2)
        before = fd_count(p.proc.pid)
        assert wait_until(lambda: loop_workers(p.proc.pid), 5), "no event-loop worker"
        loops = loop_workers(p.proc.pid)
        loops_before = [fd_count(k) for k in loops]
        # clients that reset in the middle of a frame
        for _ in range(20):
            s, r = open_ws(p.port)
            s.sendall(b"\x81\xfe\x01\x00abcd" + b"x" * 10)   # 256-byte frame, cut short
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        async def many(url):
            for i in range(30):
                async with websockets.connect(url, compression=None) as ws:
                    await ws.send("m%d" % i)
                    assert await ws.recv() == "m%d" % i
        asyncio.run(many(p.url))
        assert wait_until(lambda: pids_of_children(p.proc.pid) == [], timeout=8), pids_of_children(p.proc.pid)
        assert fd_count(p.proc.pid) == before, (before, fd_count(p.proc.pid))
        # the event-loop workers hold nothing of the connections they served
        assert wait_until(lambda: [fd_count(k) for k in loops] == loops_before, timeout=3), \
            (loops_before, [fd_count(k) for k in loops])


def test_emfile_backoff():
    # With no descriptor left, accept fails with EMFILE: pushpipe must log,
    # back off instead of spinning, and serve the waiting client once
    # descriptors free up.
    with pushpipe("--", "cat") as p:
        time.sleep(0.3)
        assert wait_until(lambda: pids_of_children(p.proc.pid) == [], timeout=5)
        n = lowest_free_fd(p.proc.pid)
        subprocess.run(["prlimit", "--pid", str(p.proc.pid), "--nofile=%d:" % n], check=True)
        s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
        s.sendall(head(p.port))
        assert wait_until(lambda: "accept: Too many open files" in p.log_text(), 3), p.log_text()
        t0 = cpu_ticks(p.proc.pid)
        time.sleep(1.5)
        spent = cpu_ticks(p.proc.pid) - t0
        assert spent < 50, "supervisor used %d ticks in 1.5 s while out of descriptors" % spent
        subprocess.run(["prlimit", "--pid", str(p.proc.pid), "--nofile=1024:"], check=True)
        resp = s.recv(4096)
        assert status_of(resp) == 101, resp
        s.close()


def test_graceful_shutdown():
    with pushpipe("--shutdown-timeout", "3", "--", "sh", "-c", "trap '' TERM; cat") as p:
        async def go(url):
            async with websockets.connect(url, compression=None) as ws:
                await ws.send("x")
                assert await ws.recv() == "x"
                t = time.time()
                p.proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(ws.recv(), 6)
                except websockets.ConnectionClosed:
                    return ws.close_code, time.time() - t
        code, took = asyncio.run(go(p.url))
        assert code == 1001, code
        p.proc.wait(8)
        assert p.proc.returncode == 0


def test_tls_listener():
    import ssl
    import tempfile
    d = tempfile.mkdtemp()
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    out = subprocess.run([PUSHPIPE, "--listen", "127.0.0.1:0", "--tls-cert", "/nonexistent.pem",
                          "--", "cat"], capture_output=True, text=True, timeout=5)
    assert out.returncode == 2 and "cannot load the certificate" in out.stderr, out
    with pushpipe("--tls-cert", cert, "--tls-key", key, "--", "sh", "-c", "echo $HTTPS; cat") as p:
        ctx = ssl.create_default_context(cafile=cert)

        async def go():
            async with websockets.connect("wss://localhost:%d/" % p.port, ssl=ctx) as ws:
                assert await ws.recv() == "on"
                await ws.send("over tls")
                assert await ws.recv() == "over tls"
        asyncio.run(go())
        # TLS 1.1 and older are refused
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.load_verify_locations(cert)
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            old.minimum_version = ssl.TLSVersion.TLSv1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
        try:
            with socket.create_connection(("127.0.0.1", p.port), timeout=5) as raw:
                with old.wrap_socket(raw, server_hostname="localhost"):
                    raise AssertionError("TLS 1.1 handshake succeeded")
        except ssl.SSLError:
            pass
        # plain HTTP on the TLS port: refused, logged, nothing else breaks
        try:
            resp = exchange(p.port, head(p.port), timeout=5)
        except ConnectionResetError:
            resp = b""
        assert not resp.startswith(b"HTTP/1.1 101"), resp
        assert wait_until(lambda: "TLS handshake failed" in p.log_text(), 5), p.log_text()


R.run("slow head -> 408, big head -> 431, garbage -> 400", test_slow_and_big_heads)
R.run("--max-connections and --max-per-ip answer 503 with Retry-After", test_connection_limits)
R.run("--origin and --same-origin refuse other origins with 403", test_origin)
R.run("backpressure keeps memory flat; --send-timeout drops a stuck client", test_backpressure_and_send_timeout)
R.run("--send-timeout drops an EventSource client that reads nothing", test_eventsource_send_timeout)
R.run("--handler-rlimit applies to handlers", test_handler_rlimit)
R.run("root: refuse without --user/--allow-root; --user drops privileges", test_root_policy)
R.run("stdout closed early, resets mid-frame: no zombies, no descriptor leaks", test_faults_and_leaks)
R.run("EMFILE at accept: logged, no busy loop, recovers", test_emfile_backoff)
R.run("SIGTERM closes connections with 1001 and exits", test_graceful_shutdown)
R.run("--tls-cert/--tls-key: wss echo, HTTPS=on, TLS < 1.2 refused", test_tls_listener)
R.finish()
