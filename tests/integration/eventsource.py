#!/usr/bin/python3
"""EventSource in pushpipe itself: the listener (HTTP/1.1, close-delimited
body), and the CGI transport run directly (environment, stdin/stdout pipes)
including --cgi-script files.  The wire format is compared byte for byte:
retry, heartbeats, lines and raw mode (a handler cannot break the framing),
the response head, refusals, and how streams end."""

import os
import select
import signal
import socket
import subprocess
import time

from pplib import PUSHPIPE, Results, pushpipe
from servers import SseStream, Workdir, sse_checks, wait_gone

R = Results("eventsource")


def raw_get(port, path="/", headers=None, method="GET", timeout=5, read_for=None):
    """The raw response bytes (until EOF, or for read_for seconds)."""
    s = socket.create_connection(("127.0.0.1", port), timeout)
    h = {"Accept": "text/event-stream"}
    h.update(headers or {})
    s.sendall(("%s %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (
        method, path, "".join("%s: %s\r\n" % kv for kv in h.items()))).encode())
    data = b""
    deadline = time.time() + (read_for or timeout)
    while time.time() < deadline:
        s.settimeout(max(0.01, deadline - time.time()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    s.close()
    return data


def body_of(resp):
    return resp.partition(b"\r\n\r\n")[2]


def script(work, name, text):
    return work.write(name, text, 0o755)


def listener_tests(work):
    with pushpipe("--heartbeat", "1", "--", work.sse_handler) as p:
        sse_checks(R, "listen SSE", p.port, "/events")

    # The head: what EventSource needs, close-delimited, no buffering hints lost.
    h = script(work, "two.sh", "#!/bin/sh\necho one\necho two\n")
    with pushpipe("--", h) as p:
        resp = raw_get(p.port, "/")
        head = resp.partition(b"\r\n\r\n")[0].decode().lower().split("\r\n")
        R.check("listen: 200 with text/event-stream, no-cache, X-Accel-Buffering: no",
                head[0] == "http/1.1 200 ok" and "content-type: text/event-stream" in head and
                "cache-control: no-cache" in head and "x-accel-buffering: no" in head, head)
        R.check("listen: close-delimited body (Connection: close, no length, not chunked)",
                "connection: close" in head and not any(l.startswith(("content-length", "transfer-encoding"))
                                                        for l in head), head)
        R.check("lines mode: each line one event; handler exit ends the stream",
                body_of(resp) == b"data: one\n\ndata: two\n\n", body_of(resp))
        resp = raw_get(p.port, "/", method="HEAD")
        R.check("HEAD: the head only", resp.startswith(b"HTTP/1.1 200") and body_of(resp) == b"", resp)
        resp = raw_get(p.port, "/", method="POST")
        R.check("POST with Accept: text/event-stream: 405", resp.startswith(b"HTTP/1.1 405"), resp[:40])
        resp = raw_get(p.port, "/", {"Accept": "text/html"})
        R.check("GET without Accept: text/event-stream: 404", resp.startswith(b"HTTP/1.1 404"), resp[:40])

    # --sse-retry first; heartbeats while idle, none with --heartbeat 0.
    slow = script(work, "slow.sh", "#!/bin/sh\nsleep 2.5\necho late\n")
    with pushpipe("--sse-retry", "1500", "--heartbeat", "1", "--", slow) as p:
        body = body_of(raw_get(p.port, "/"))
        R.check("--sse-retry first, heartbeat comments while idle, then the event",
                body.startswith(b"retry: 1500\n\n:\n:\n") and body.endswith(b"data: late\n\n"), body)
    with pushpipe("--heartbeat", "0", "--", slow) as p:
        body = body_of(raw_get(p.port, "/"))
        R.check("--heartbeat 0: no comments", body == b"data: late\n\n", body)

    # lines mode: CR inside a line and CRLF cannot break the framing.
    crs = script(work, "crs.sh", "#!/bin/sh\nprintf 'a\\rid: 7\\r\\rb\\r\\nlast'\n")
    with pushpipe("--", crs) as p:
        body = body_of(raw_get(p.port, "/"))
        R.check("lines mode: inner CR -> data lines, CRLF ok, last line without LF sent",
                body == b"data: a\ndata: id: 7\ndata: \ndata: b\n\ndata: last\n\n", body)

    # raw mode: fields checked and re-emitted canonically, event by event.
    raw = script(work, "raw.sh", r"""#!/bin/sh
printf 'event:tick\r\nid: 1\ndata:  two spaces\nbogus: x\nretry: soon\nretry: 700\n\n'
printf ': just a comment\n'
printf 'data: a\rdata: b\r\r'
printf 'data: never finished\n'
""")
    with pushpipe("--sse", "raw", "--", raw) as p:
        body = body_of(raw_get(p.port, "/"))
        want = (b"event: tick\nid: 1\ndata:  two spaces\nretry: 700\n\n"
                b": just a comment\n"
                b"data: a\ndata: b\n\n")
        R.check("raw mode: canonical fields, bad lines dropped, unfinished event dropped",
                body == want, body)
        log = p.log_text()
        R.check("raw mode: dropped lines are logged", "unknown field dropped" in log and
                "output ended inside an event" in log, log[-500:])

    # The handler's environment.
    env = script(work, "env.sh", "#!/bin/sh\necho \"$PUSHPIPE_PROTOCOL $PUSHPIPE_MODE "
                 "$PUSHPIPE_TRANSPORT ${PUSHPIPE_WS_VERSION-unset} ${LAST_EVENT_ID-unset}\"\n")
    with pushpipe("--sse", "raw", "--", env) as p:
        body = body_of(raw_get(p.port, "/"))
        R.check("raw handler output without blank line is not sent", body == b"", body)
    with pushpipe("--", env) as p:
        body = body_of(raw_get(p.port, "/x?lastEventId=a%20b"))
        R.check("handler environment: eventsource, mode, transport, LAST_EVENT_ID",
                body == b"data: eventsource lines listen unset a b\n\n", body)

    # Much output through a slow reader: nothing lost, nothing reordered.
    many = script(work, "many.sh", "#!/bin/sh\nseq 1 50000\n")
    with pushpipe("--", many) as p:
        s = SseStream(p.port, "/")
        time.sleep(1)       # let pushpipe and the handler hit backpressure
        ev = s.wait_events(50000, 20)
        s.close()
        R.check("50000 events through backpressure, in order",
                [e["data"] for e in ev] == [str(i) for i in range(1, 50001)], len(ev))

    # A handler that cannot start: 500, not an empty stream.
    with pushpipe("--", "/nonexistent/handler") as p:
        resp = raw_get(p.port, "/")
        R.check("handler that cannot start: 500", resp.startswith(b"HTTP/1.1 500"), resp[:40])

    # SIGTERM with a stream open: the stream ends, the handler goes.
    with pushpipe("--", work.sse_handler) as p:
        s = SseStream(p.port, "/")
        ev = s.wait_events(1)
        pid = int(ev[0]["data"][4:])
        p.proc.send_signal(signal.SIGTERM)
        s.wait_events(100, 5)
        R.check("SIGTERM: the stream ends", s.eof)
        R.check("SIGTERM: the handler is ended", wait_gone(pid, 3))
        R.check("SIGTERM: pushpipe exits", p.proc.wait(5) == 0)
        s.close()


CGI_ENV = {
    "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_METHOD": "GET",
    "SCRIPT_NAME": "/events.cgi", "QUERY_STRING": "", "REMOTE_ADDR": "127.0.0.1",
    "REMOTE_PORT": "5000", "SERVER_NAME": "localhost", "SERVER_PORT": "80",
    "HTTP_ACCEPT": "text/event-stream", "HTTP_LAST_EVENT_ID": "42",
    "PATH": "/usr/bin:/bin", "SERVER_ADMIN": "not-for-handlers",
}


def cgi_run(argv, extra_env=None, stdin=subprocess.PIPE):
    env = dict(CGI_ENV)
    env["PUSHPIPE_ALLOW_ROOT"] = os.environ.get("PUSHPIPE_ALLOW_ROOT", "")
    env.update(extra_env or {})
    return subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def read_until(f, marker, timeout=5):
    data = b""
    deadline = time.time() + timeout
    while marker not in data and time.time() < deadline:
        r, _, _ = select.select([f], [], [], max(0, deadline - time.time()))
        if not r:
            break
        chunk = os.read(f.fileno(), 65536)
        if not chunk:
            break
        data += chunk
    return data


def cgi_tests(work):
    p = cgi_run([PUSHPIPE, "--", work.sse_handler])
    out = read_until(p.stdout, b"data: t ")
    head = out.partition(b"\r\n\r\n")[0].decode().lower().split("\r\n")
    R.check("CGI: Status: 200, event-stream headers, no Connection header",
            head[0] == "status: 200 ok" and "content-type: text/event-stream" in head and
            "x-accel-buffering: no" in head and not any(l.startswith("connection") for l in head), head)
    R.check("CGI: events flow, Last-Event-ID reaches the handler",
            b"data: lei 42\n\n" in out and b"data: t " in out, out)
    pid = int(out.split(b"data: pid ")[1].split(b"\n")[0])
    # The web server closes its end of our stdout (client gone): noticed at once.
    p.stdout.close()
    R.check("CGI: web server closing stdout ends the handler", wait_gone(pid, 3))
    R.check("CGI: pushpipe exits", p.wait(5) == 0)
    p.stdin.close()
    p.stderr.close()

    # lighttpd's cgi.upgrade signals a gone client with SIGTERM.
    p = cgi_run([PUSHPIPE, "--", work.sse_handler])
    out = read_until(p.stdout, b"data: t ")
    pid = int(out.split(b"data: pid ")[1].split(b"\n")[0])
    t0 = time.time()
    p.send_signal(signal.SIGTERM)
    R.check("CGI: SIGTERM ends the handler and pushpipe", wait_gone(pid, 3) and p.wait(5) == 0)
    R.check("CGI: ... within about a second", time.time() - t0 < 2.0, time.time() - t0)
    for f in (p.stdin, p.stdout, p.stderr):
        f.close()

    # A --cgi-script file, run through its #! line as a web server would,
    # with an ISINDEX query word on the command line (ignored).
    script(work, "env.sh", "#!/bin/sh\necho \"$PUSHPIPE_TRANSPORT ${SERVER_ADMIN-none} "
                    "${PATH}\"\necho \"$0\"\n")
    os.makedirs(os.path.join(work.path, "site"), exist_ok=True)
    cgi = script(work, "site/events.cgi", "#!%s --cgi-script --heartbeat 0\n"
                 "# comment\n\n  --sse 'bogus'\n-- ../env.sh\n" % PUSHPIPE)
    p = cgi_run([cgi, "isindexword"], stdin=subprocess.DEVNULL)
    out, err = p.communicate(timeout=10)
    R.check("--cgi-script: a bad options file gives a CGI 500 with the reason",
            out.startswith(b"Status: 500") and b"pushpipe:" in out, out)
    script(work, "site/events.cgi", "#!%s --cgi-script --heartbeat 0\n# comment\n\n"
           "  --sse 'lines'\n-- \"../env.sh\"\n" % PUSHPIPE)
    p = cgi_run([cgi, "isindexword"], stdin=subprocess.DEVNULL)
    out, err = p.communicate(timeout=10)
    body = out.partition(b"\r\n\r\n")[2]
    R.check("--cgi-script: options from the file and the #! line; relative to the script",
            body == b"data: cgi none /usr/local/bin:/usr/bin:/bin\n\ndata: ../env.sh\n\n",
            (out, err))

    # WebSocket through a CGI server that closes stdin (cannot tunnel): 501.
    p = cgi_run([PUSHPIPE, "--", "cat"], {"HTTP_UPGRADE": "websocket", "HTTP_CONNECTION": "Upgrade",
                                         "HTTP_SEC_WEBSOCKET_KEY": "dGhlIHNhbXBsZSBub25jZQ==",
                                         "HTTP_SEC_WEBSOCKET_VERSION": "13"}, stdin=subprocess.DEVNULL)
    out, _ = p.communicate(timeout=10)
    R.check("CGI WebSocket without a tunnel: 501", out.startswith(b"Status: 501"), out[:60])

    # Neither --listen nor --fcgi nor CGI: a clear error.
    env = {k: v for k, v in os.environ.items() if k != "GATEWAY_INTERFACE"}
    r = subprocess.run([PUSHPIPE, "--", "cat"], env=env, capture_output=True, stdin=subprocess.DEVNULL)
    R.check("no transport: exit 2 with a message", r.returncode == 2 and b"nothing to serve" in r.stderr,
            r.stderr)


def main():
    work = Workdir("eventsource")
    try:
        R.run("listener (setup)", listener_tests, work)
        R.run("cgi (setup)", cgi_tests, work)
    finally:
        work.cleanup()
    R.finish()


main()
