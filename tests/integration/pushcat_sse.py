#!/usr/bin/python3
"""pushcat as an EventSource client: against pushpipe's event streams and a
small server of the test's own (chunked and unchunked streams, retry:,
Last-Event-ID on reconnection, 204, refusals, redirects, odd bytes), over
http and https."""

import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pclib import (PUSHCAT, Certs, NodeServer, Results, assert_eq, assert_exit,  # noqa: E402
                   assert_in, free_port, pushpipe, run)

R = Results("pushcat_sse")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen = []           # (path, Last-Event-ID, Accept, X-Test) per request

    def log_message(self, *a):
        pass

    def stream_head(self, chunked=False, length=None):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif length is not None:
            self.send_header("Content-Length", str(length))
        else:
            self.send_header("Connection", "close")
        self.end_headers()

    def events(self, n=3):
        last = int(self.headers.get("Last-Event-ID") or 0)
        out = b"retry: 100\n\n"
        for k in range(last + 1, last + 1 + n):
            out += b"id: %d\nevent: tick\ndata: line %d\ndata: second\n\n" % (k, k)
        return out

    def do_GET(self):
        Handler.seen.append((self.path, self.headers.get("Last-Event-ID"),
                             self.headers.get("Accept"), self.headers.get("X-Test")))
        path = self.path
        if path == "/events":
            self.stream_head()
            self.wfile.write(self.events())
            self.close_connection = True
        elif path == "/chunked":
            self.stream_head(chunked=True)
            body = self.events(2)
            # Chunks cut through the fields, the CRLFs and one byte at a time.
            cuts = [1, 2, 3, 5, 8, 13, 21, 34]
            pos = 0
            for c in cuts + [len(body)]:
                piece = body[pos:pos + c]
                if not piece:
                    break
                self.wfile.write(b"%x;ext=1\r\n" % len(piece) + piece + b"\r\n")
                self.wfile.flush()
                pos += len(piece)
            self.wfile.write(b"0\r\nX-Trailer: 1\r\n\r\n")
            self.close_connection = True
        elif path == "/length":
            body = b"data: counted\n\n"
            self.stream_head(length=len(body))
            self.wfile.write(body)
        elif path == "/odd":
            self.stream_head()
            self.wfile.write(b"\xef\xbb\xbf: comment\r\ndata: quote \" back\\slash\ttab\r\n"
                             b"data: bad \xff byte \xc3\xa9\r\rdata:no space\n\n"
                             b"event: custom\nid: a b\ndata\n\n")
            self.close_connection = True
        elif path == "/slow":
            self.stream_head()
            self.wfile.write(b"data: first\n\n")
            self.wfile.flush()
            time.sleep(20)
        elif path == "/204":
            self.send_response(204)
            self.end_headers()
        elif path == "/404":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/html":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/events")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/loop":
            self.send_response(307)
            self.send_header("Location", "http://127.0.0.1:%d/loop" % self.server.server_port)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()


SRV = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
SRV.daemon_threads = True
threading.Thread(target=SRV.serve_forever, daemon=True).start()
BASE = "http://127.0.0.1:%d" % SRV.server_port


def requests(path):
    return [s for s in Handler.seen if s[0] == path]


def t_data():
    p = run(["--max-reconnects", "0", BASE + "/events"])
    assert_exit(p, 0)
    assert_eq(p.stdout, b"line 1\nsecond\nline 2\nsecond\nline 3\nsecond\n")
    path, last, accept, _ = requests("/events")[-1]
    assert_eq((last, accept), (None, "text/event-stream"), "first request")


def t_reconnect():
    Handler.seen.clear()
    t0 = time.time()
    p = run(["-v", "--max-reconnects", "2", "--sse-format", "json", BASE + "/events"])
    assert_exit(p, 0)
    ids = [line.split(b'"lastEventId":"')[1].split(b'"')[0] for line in p.stdout.splitlines()]
    assert_eq(ids, [b"%d" % i for i in range(1, 10)], "ids continue over reconnections")
    assert_eq([r[1] for r in requests("/events")], [None, "3", "6"], "Last-Event-ID sent")
    # retry: 100 replaced the default 3000 ms (two waits: 6 s at least).
    assert_eq(time.time() - t0 < 5, True, "retry honoured")
    assert_in(b"reconnecting in 100 ms with Last-Event-ID 3", p.stderr)


def t_formats():
    p = run(["--max-reconnects", "0", "--sse-format", "raw", BASE + "/events"])
    assert_exit(p, 0)
    want = b"retry: 100\n\n" + b"".join(
        b"event: tick\nid: %d\ndata: line %d\ndata: second\n\n" % (k, k) for k in (1, 2, 3))
    assert_eq(p.stdout, want, "raw")
    p = run(["--max-reconnects", "0", "--sse-format", "json", BASE + "/odd"])
    assert_exit(p, 0)
    assert_eq(p.stdout.decode(),
              '{"type":"message","data":"quote \\" back\\\\slash\\ttab\\nbad \ufffd byte \u00e9","lastEventId":""}\n'
              '{"type":"message","data":"no space","lastEventId":""}\n'
              '{"type":"custom","data":"","lastEventId":"a b"}\n', "json")


def t_chunked_and_length():
    p = run(["--max-reconnects", "0", BASE + "/chunked"])
    assert_exit(p, 0)
    assert_eq(p.stdout, b"line 1\nsecond\nline 2\nsecond\n", "chunked")
    p = run(["--max-reconnects", "0", BASE + "/length"])
    assert_exit(p, 0)
    assert_eq(p.stdout, b"counted\n", "Content-Length")


def t_stop_and_refuse():
    Handler.seen.clear()
    p = run(["--max-reconnects", "5", BASE + "/204"])
    assert_exit(p, 0, "204")
    assert_eq(len(requests("/204")), 1, "no reconnection after 204")
    p = run(["--max-reconnects", "5", BASE + "/404"])
    assert_exit(p, 5, "404")
    assert_in(b"HTTP 404", p.stderr)
    assert_eq(len(requests("/404")), 1, "no reconnection after 404")
    p = run(["--max-reconnects", "5", BASE + "/html"])
    assert_exit(p, 5, "text/html")
    assert_in(b"not an event stream", p.stderr)


def t_redirects():
    p = run(["--max-reconnects", "0", BASE + "/redirect"])
    assert_exit(p, 0)
    assert_eq(p.stdout.count(b"\n"), 6, "followed to /events")
    p = run(["--max-reconnects", "0", BASE + "/loop"])
    assert_exit(p, 5, "redirect loop")


def t_headers_and_last_id():
    Handler.seen.clear()
    p = run(["--sse", "--last-event-id", "41", "-H", "X-Test: yes", "--max-reconnects", "0",
             BASE + "/events"])
    assert_exit(p, 0)
    assert_eq(requests("/events")[0][1:], ("41", "text/event-stream", "yes"), "request")
    assert_in(b"line 42", p.stdout)


def t_connect_fails():
    port = free_port()
    t0 = time.time()
    p = run(["--max-reconnects", "2", "--retry", "50", "http://127.0.0.1:%d/" % port])
    assert_exit(p, 3, "nobody there")
    assert_eq(p.stderr.count(b"Connection refused"), 3, "tried three times")
    assert_eq(time.time() - t0 < 5, True, "with --retry between (not the default 3 s)")


def t_signal():
    proc = subprocess.Popen([PUSHCAT, BASE + "/slow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert_eq(proc.stdout.readline(), b"first\n", "streamed before the end")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=10)
    assert_eq(proc.returncode, 128 + signal.SIGTERM, "exit")


def t_program():
    script = 'echo "$PUSHPIPE_PROTOCOL $PUSHPIPE_SSE_FORMAT" >&2; while read -r l; do printf "got %s\\n" "$l" >&2; done'
    p = run(["--max-reconnects", "0", "--sse-format", "json", BASE + "/events", "--", "sh", "-c", script])
    assert_exit(p, 0)
    assert_in(b"eventsource json\n", p.stderr)
    assert_in(b'got {"type":"tick","data":"line 3\\nsecond","lastEventId":"3"}', p.stderr)
    p = run(["--max-reconnects", "0", BASE + "/events", "--exec", "exit 4"])
    assert_exit(p, 9, "program failed")


def t_pushpipe():
    # lines: each handler line is an event; raw: the handler's own fields,
    # and the Last-Event-ID of the reconnection reaches it.
    with pushpipe("--sse-retry", "100", "--", "sh", "-c", "echo one; echo two") as pp:
        p = run(["--max-reconnects", "1", "http://127.0.0.1:%d/" % pp.port])
        assert_exit(p, 0)
        assert_eq(p.stdout, b"one\ntwo\none\ntwo\n")
    raw = r'n=${LAST_EVENT_ID:-0}; n=$((n+1)); printf "id: %s\ndata: event %s\n\n" $n $n'
    with pushpipe("--sse", "raw", "--sse-retry", "100", "--", "sh", "-c", raw) as pp:
        p = run(["--max-reconnects", "2", "--sse-format", "raw", "http://127.0.0.1:%d/" % pp.port])
        assert_exit(p, 0)
        assert_eq(p.stdout, b"retry: 100\n\nid: 1\ndata: event 1\n\n" * 1 +
                  b"retry: 100\n\nid: 2\ndata: event 2\n\n" + b"retry: 100\n\nid: 3\ndata: event 3\n\n")


def t_https():
    c = Certs()
    try:
        with NodeServer("tlsfront", str(SRV.server_port), c.server, c.server_key) as front:
            p = run(["--cacert", c.server, "--max-reconnects", "0", "https://localhost:%d/events" % front.port])
            assert_exit(p, 0)
            assert_eq(p.stdout.count(b"second"), 3)
            p = run(["--max-reconnects", "3", "https://localhost:%d/events" % front.port])
            assert_exit(p, 4, "unverified: no reconnecting")
    finally:
        c.cleanup()


R.run("data format, Accept header", t_data)
R.run("reconnects with Last-Event-ID, honours retry:", t_reconnect)
R.run("raw and json formats (U+FFFD, escapes, CR/CRLF, BOM, comments)", t_formats)
R.run("chunked stream cut anywhere; Content-Length stream", t_chunked_and_length)
R.run("204 stops; 404 and text/html fail without reconnecting", t_stop_and_refuse)
R.run("redirect followed; redirect loop fails", t_redirects)
R.run("--last-event-id, -H", t_headers_and_last_id)
R.run("refused connection: retries, then exit 3", t_connect_fails)
R.run("SIGTERM while streaming: exit 143", t_signal)
R.run("-- COMMAND gets the events on stdin", t_program)
R.run("pushpipe EventSource: lines and raw with Last-Event-ID", t_pushpipe)
R.run("https with --cacert; unverified fails with 4", t_https)
SRV.shutdown()
R.finish()
