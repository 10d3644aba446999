#!/usr/bin/python3
"""A FastCGI client for pushpipe's tests, and a tiny web server front end
that talks FastCGI the way lighttpd >= 1.4.74 does with
"upgrade" => "enable" (Debian 12's lighttpd 1.4.69 predates it).

What lighttpd 1.4.74+ does on the wire (src/mod_fastcgi.c, gw_backend.c,
http-header-glue.c), and what Lighttpd174 below reproduces:

- one connection per request, request id 1, BEGIN_REQUEST role RESPONDER
  with flags 0 (no FCGI_KEEP_CONN); BEGIN_REQUEST, all PARAMS in one record,
  the empty PARAMS record, and the request body, written together;
- PARAMS: the CGI variables, CONTENT_LENGTH=0 for a bodyless request, and
  HTTP_* for the headers (HTTP_UPGRADE, HTTP_CONNECTION,
  HTTP_SEC_WEBSOCKET_KEY ...);
- when the request carries Upgrade (HTTP/1.1, upgrade enabled) the empty
  FCGI_STDIN record is *not* sent: the body may go on after an upgrade.  If
  the response turns out not to be 101, the empty FCGI_STDIN follows the
  response head;
- "Status: 101" with an "Upgrade:" header switches the connection to a
  tunnel: the client's bytes (still masked WebSocket frames) go to the
  backend wrapped in FCGI_STDIN records, FCGI_STDOUT content goes to the
  client as it is;
- the client's FIN is passed on as shutdown(SHUT_WR) on the FastCGI socket
  (tcp_fin_propagate); a client that goes away makes lighttpd close the
  FastCGI socket: no ABORT_REQUEST, no empty FCGI_STDIN;
- FCGI_END_REQUEST from the backend ends the client's connection.

Run standalone to put a real browser or client in front of pushpipe --fcgi:
    fcgi_client.py --listen 8080 --backend 127.0.0.1:9000
"""

import argparse
import select
import socket
import struct
import threading

BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 2, 3, 4, 5, 6, 7
GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE = 9, 10, 11
RESPONDER = 1
KEEP_CONN = 1
MAX_CONTENT = 0xFFFF


def record(rtype, rid, content=b"", padding=0):
    assert len(content) <= MAX_CONTENT
    return struct.pack(">BBHHBB", 1, rtype, rid, len(content), padding, 0) + content + b"\0" * padding


def stream_records(rtype, rid, data):
    """data as as many records as it needs (none for empty data)."""
    return b"".join(record(rtype, rid, data[i:i + MAX_CONTENT])
                    for i in range(0, len(data), MAX_CONTENT))


def name_value(name, value):
    def length(n):
        return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    if isinstance(name, str):
        name = name.encode()
    if isinstance(value, str):
        value = value.encode()
    return length(len(name)) + length(len(value)) + name + value


def params_content(env):
    return b"".join(name_value(k, v) for k, v in env.items())


def begin_request(rid=1, role=RESPONDER, flags=0):
    return record(BEGIN_REQUEST, rid, struct.pack(">HB5x", role, flags))


class RecordReader:
    """Bytes in, (type, request_id, content) records out."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data
        out = []
        while len(self.buf) >= 8:
            ver, rtype, rid, clen, plen, _ = struct.unpack(">BBHHBB", self.buf[:8])
            if ver != 1:
                raise ValueError("bad FastCGI version %d" % ver)
            if len(self.buf) < 8 + clen + plen:
                break
            out.append((rtype, rid, self.buf[8:8 + clen]))
            self.buf = self.buf[8 + clen + plen:]
        return out


class Conn:
    """One FastCGI connection driven by hand."""

    def __init__(self, addr, timeout=10):
        if isinstance(addr, str):
            self.sock = socket.socket(socket.AF_UNIX)
        else:
            self.sock = socket.socket()
        self.sock.settimeout(timeout)
        self.sock.connect(addr)
        self.reader = RecordReader()
        self.pending = []
        self.stdout = b""
        self.stderr = b""
        self.ended = None       # (app_status, protocol_status)
        self.closed = False

    def send(self, data):
        self.sock.sendall(data)

    def request(self, env, rid=1, flags=0, stdin=b"", end_stdin=True, split_params=0):
        data = begin_request(rid, flags=flags)
        pc = params_content(env)
        if split_params:
            for i in range(0, len(pc), split_params):
                data += record(PARAMS, rid, pc[i:i + split_params])
        else:
            data += stream_records(PARAMS, rid, pc)
        data += record(PARAMS, rid)
        data += stream_records(STDIN, rid, stdin)
        if end_stdin:
            data += record(STDIN, rid)
        self.send(data)

    def read_some(self, timeout=None):
        """Read what arrives within timeout; returns the new records."""
        if self.closed:
            return []
        if timeout is not None:
            self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return []
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
            return []
        recs = self.reader.feed(data)
        for rtype, rid, content in recs:
            if rtype == STDOUT:
                self.stdout += content
            elif rtype == STDERR:
                self.stderr += content
            elif rtype == END_REQUEST:
                self.ended = struct.unpack(">IB3x", content)
        self.pending += recs
        return recs

    def read_until(self, cond, timeout=10):
        import time
        deadline = time.time() + timeout
        while not cond() and not self.closed:
            left = deadline - time.time()
            if left <= 0:
                break
            self.read_some(min(left, 0.5))
        return cond()

    def head(self, timeout=10):
        """(status, {lower-name: value}, body so far) of the response."""
        self.read_until(lambda: b"\r\n\r\n" in self.stdout or self.ended, timeout)
        head, _, body = self.stdout.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        status = int(headers.get("status", "200").split()[0])
        return status, headers, body

    def close(self):
        self.sock.close()


def base_env(path="/", query="", method="GET", headers=None, port=80):
    env = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_SOFTWARE": "lighttpd/1.4.74 (pushpipe test front end)",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_ADDR": "127.0.0.1",
        "SERVER_PORT": str(port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REQUEST_SCHEME": "http",
        "REQUEST_METHOD": method,
        "REDIRECT_STATUS": "200",
        "SCRIPT_NAME": path,
        "SCRIPT_FILENAME": "/nonexistent" + path,
        "DOCUMENT_ROOT": "/nonexistent",
        "REQUEST_URI": path + ("?" + query if query else ""),
        "QUERY_STRING": query,
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "40000",
        "CONTENT_LENGTH": "0",
    }
    for k, v in (headers or {}).items():
        env["HTTP_" + k.upper().replace("-", "_")] = v
    return env


# ---- a lighttpd >= 1.4.74 front end ----------------------------------------

REASONS = {101: "Switching Protocols", 200: "OK", 400: "Bad Request", 404: "Not Found",
           405: "Method Not Allowed", 426: "Upgrade Required", 500: "Internal Server Error",
           501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable"}


class Lighttpd174:
    """HTTP/1.1 on 127.0.0.1:port in front of a FastCGI backend, with
    lighttpd's "upgrade" => "enable" behaviour (see the module docstring).
    Runs in threads; stop() closes everything."""

    def __init__(self, backend, port=0):
        self.backend = backend
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", port))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.stopping = False
        self.threads = []
        self.log = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()

    def stop(self):
        self.stopping = True
        try:
            self.lsock.close()
        except OSError:
            pass

    def _accept(self):
        while not self.stopping:
            try:
                c, addr = self.lsock.accept()
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(c, addr), daemon=True)
            t.start()

    def _connect_backend(self):
        if isinstance(self.backend, str):
            b = socket.socket(socket.AF_UNIX)
        else:
            b = socket.socket()
        b.connect(self.backend)
        return b

    def _serve(self, c, addr):
        try:
            self._serve1(c, addr)
        except Exception as e:  # a test front end: report, do not crash
            self.log.append("error: %r" % e)
        finally:
            c.close()

    def _serve1(self, c, addr):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = c.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
        headers = []
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers.append((k.strip(), v.strip()))
        path, _, query = target.partition("?")
        env = base_env(path, query, method, port=self.port)
        env["REMOTE_PORT"] = str(addr[1])
        env["SERVER_PROTOCOL"] = version
        for k, v in headers:
            name = "HTTP_" + k.upper().replace("-", "_")
            if k.lower() == "content-type":
                env["CONTENT_TYPE"] = v
            elif k.lower() == "content-length":
                env["CONTENT_LENGTH"] = v
            elif name in env:
                env[name] += ", " + v
            else:
                env[name] = v
        upgrade = version == "HTTP/1.1" and any(k.lower() == "upgrade" for k, _ in headers)

        b = self._connect_backend()
        out = begin_request(1) + stream_records(PARAMS, 1, params_content(env)) + record(PARAMS, 1)
        if not upgrade:
            out += record(STDIN, 1)     # no body: end of FCGI_STDIN at once
        b.sendall(out)
        # Client bytes that came behind the head are the tunnel's first bytes.
        pending_client = rest

        reader = RecordReader()
        resp_head = b""
        head_done = False
        tunnel = False
        client_eof = False
        try:
            while True:
                rl = [b] + ([c] if not client_eof else [])
                r, _, _ = select.select(rl, [], [], 30)
                if not r:
                    continue
                if c in r:
                    try:
                        chunk = c.recv(65536)
                    except ConnectionResetError:
                        return  # client reset: lighttpd closes the backend
                    if not chunk:
                        client_eof = True
                        if tunnel:
                            b.shutdown(socket.SHUT_WR)   # tcp_fin_propagate
                        else:
                            return  # client gone: lighttpd closes the backend
                    elif tunnel:
                        b.sendall(stream_records(STDIN, 1, chunk))
                    else:
                        pending_client += chunk
                if b in r:
                    chunk = b.recv(65536)
                    if not chunk:
                        return  # backend closed without END_REQUEST
                    for rtype, rid, content in reader.feed(chunk):
                        if rtype == END_REQUEST:
                            return
                        if rtype == STDERR:
                            self.log.append("stderr: %r" % content)
                            continue
                        if rtype != STDOUT or not content:
                            continue
                        if head_done:
                            c.sendall(content)
                            continue
                        resp_head += content
                        if b"\r\n\r\n" not in resp_head:
                            continue
                        h, _, body = resp_head.partition(b"\r\n\r\n")
                        head_done = True
                        status, lines_out = 200, []
                        has_upgrade = False
                        for line in h.decode("latin-1").split("\r\n"):
                            k, v = line.split(":", 1)
                            if k.lower() == "status":
                                status = int(v.split()[0])
                                continue
                            if k.lower() == "upgrade":
                                has_upgrade = True
                            lines_out.append("%s: %s" % (k, v.strip()))
                        if status == 101 and has_upgrade and upgrade:
                            tunnel = True
                            c.sendall(("HTTP/1.1 101 Switching Protocols\r\n" +
                                       "".join(l + "\r\n" for l in lines_out) + "\r\n").encode("latin-1"))
                            if pending_client:
                                b.sendall(stream_records(STDIN, 1, pending_client))
                                pending_client = b""
                        else:
                            if upgrade:
                                b.sendall(record(STDIN, 1))  # body ends after all
                            lines_out = [l for l in lines_out if not l.lower().startswith("upgrade:")]
                            c.sendall(("HTTP/1.1 %d %s\r\n" % (status, REASONS.get(status, "Unknown")) +
                                       "".join(l + "\r\n" for l in lines_out) +
                                       "Connection: close\r\n\r\n").encode("latin-1"))
                        if body:
                            c.sendall(body)
        finally:
            b.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", type=int, required=True, help="port on 127.0.0.1")
    ap.add_argument("--backend", required=True, help="HOST:PORT or a unix socket path")
    a = ap.parse_args()
    if ":" in a.backend and not a.backend.startswith("/"):
        host, port = a.backend.rsplit(":", 1)
        backend = (host, int(port))
    else:
        backend = a.backend
    Lighttpd174(backend, a.listen)
    threading.Event().wait()


if __name__ == "__main__":
    main()
