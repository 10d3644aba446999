#!/usr/bin/env python3
"""make-seeds.py - write the seed corpus (tests/fuzz/corpus/NAME/) and the
libFuzzer dictionaries (tests/fuzz/dict/NAME.dict) of the fuzz targets.

    python3 tests/fuzz/make-seeds.py          (from anywhere)

Each seed is a small, meaningful input: the valid forms a peer or handler
sends (so the fuzzer starts from deep inside each parser) and the classic
invalid ones.  Every input starts with the three configuration bytes the
target reads (see the comment at the top of each fuzz_NAME.c).  The files
are committed; rerun this after changing it, and commit what it writes.
Output is deterministic.
"""
import os
import shutil
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def write_corpus(name, seeds):
    d = os.path.join(HERE, "corpus", name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    seen = set()
    for fname, data in seeds:
        assert fname not in seen, fname
        seen.add(fname)
        with open(os.path.join(d, fname), "wb") as f:
            f.write(data)
    print("%-14s %3d seeds" % (name, len(seeds)))


def write_dict(name, tokens):
    os.makedirs(os.path.join(HERE, "dict"), exist_ok=True)
    with open(os.path.join(HERE, "dict", name + ".dict"), "w") as f:
        f.write("# libFuzzer dictionary for fuzz_%s (written by make-seeds.py)\n" % name)
        for t in tokens:
            if isinstance(t, str):
                t = t.encode()
            esc = "".join(chr(b) if 0x20 <= b < 0x7f and b not in (0x22, 0x5c)
                          else "\\x%02x" % b for b in t)
            f.write('"%s"\n' % esc)


def cfg(b0=0, b1=0, b2=0):
    return bytes([b0, b1, b2])


# ---- RFC 6455 frames ------------------------------------------------------

MASK = bytes([0x37, 0xFA, 0x21, 0x3D])


def frame(opcode, payload=b"", fin=True, rsv1=False, mask=MASK, length=None):
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    n = len(payload) if length is None else length
    if n < 126:
        hdr = bytes([b0, (0x80 if mask else 0) | n])
    elif n <= 0xFFFF:
        hdr = bytes([b0, (0x80 if mask else 0) | 126]) + struct.pack(">H", n)
    else:
        hdr = bytes([b0, (0x80 if mask else 0) | 127]) + struct.pack(">Q", n)
    if mask:
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        return hdr + mask + payload
    return hdr + payload


def deflate_message(data, wbits=15, stream=None):
    """Raw deflate with a sync flush, the 00 00 FF FF tail removed."""
    c = stream or zlib.compressobj(9, zlib.DEFLATED, -wbits)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def ws_frame_seeds():
    S = 0      # server role: masked client frames
    C = 1      # client role: unmasked server frames
    RSV1 = 2
    def lim(mode, b1=0):
        return (mode << 2), b1
    s = []
    s.append(("text-hello", cfg(S) + frame(1, b"Hello")))
    s.append(("text-fragmented", cfg(S) + frame(1, b"Hel", fin=False) + frame(0, b"lo")))
    s.append(("ping-pong-close", cfg(S) + frame(9, b"Hello") + frame(10, b"Hello")
              + frame(8, struct.pack(">H", 1000) + b"bye")))
    s.append(("ping-inside-fragments", cfg(S, 0, 7) + frame(1, b"one ", fin=False)
              + frame(9, b"p") + frame(0, b"two ", fin=False) + frame(0, b"three")))
    s.append(("binary-256", cfg(S, 0, 3) + frame(2, bytes(range(256)))))
    s.append(("binary-16bit-len", cfg(S, 0, 9) + frame(2, b"x" * 300)))
    s.append(("binary-64bit-len-header", cfg(S) + frame(2, b"abc", length=0x10000)))
    s.append(("utf8-text", cfg(S) + frame(1, "κόσμε €𝄞".encode())))
    s.append(("utf8-split-across-fragments", cfg(S, 0, 5)
              + frame(1, "€".encode()[:2], fin=False) + frame(0, "€".encode()[2:])))
    s.append(("empty-messages", cfg(S) + frame(1, b"") + frame(2, b"", fin=False)
              + frame(0, b"")))
    s.append(("close-empty", cfg(S) + frame(8, b"") + frame(1, b"after close")))
    s.append(("close-4001-reason", cfg(S) + frame(8, struct.pack(">H", 4001) + b"kicked")))
    s.append(("unmasked-server-frames", cfg(C) + frame(1, b"Hello", mask=None)
              + frame(9, b"", mask=None) + frame(8, struct.pack(">H", 1001), mask=None)))
    rfc_hello = bytes([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])
    s.append(("deflate-rsv1-client", cfg(C | RSV1) + frame(1, rfc_hello, rsv1=True, mask=None)
              + frame(1, bytes([0xf2, 0x00, 0x11, 0x00, 0x00]), rsv1=True, mask=None)))
    s.append(("deflate-rsv1-server", cfg(S | RSV1) + frame(1, rfc_hello, rsv1=True)))
    b0, b1 = lim(1, 10)
    s.append(("max-message-10-exceeded", cfg(S | b0, b1) + frame(1, b"12345", fin=False)
              + frame(0, b"678901")))
    b0, b1 = lim(3, 0)
    s.append(("max-message-125", cfg(S | b0, b1) + frame(2, b"y" * 126)))
    # invalid
    s.append(("bad-rsv2", cfg(S) + bytes([0xA1, 0x80]) + MASK))
    s.append(("bad-reserved-opcode", cfg(S) + frame(3, b"x")))
    s.append(("bad-unmasked-from-client", cfg(S) + frame(1, b"Hello", mask=None)))
    s.append(("bad-masked-from-server", cfg(C) + frame(1, b"Hello")))
    s.append(("bad-fragmented-ping", cfg(S) + frame(9, b"p", fin=False)))
    s.append(("bad-long-ping", cfg(S) + frame(9, b"p" * 126)))
    s.append(("bad-continuation-first", cfg(S) + frame(0, b"x")))
    s.append(("bad-text-inside-fragments", cfg(S) + frame(1, b"a", fin=False) + frame(1, b"b")))
    s.append(("bad-16bit-not-minimal", cfg(S) + bytes([0x82, 0xFE, 0x00, 0x05]) + MASK + b"abcde"))
    s.append(("bad-64bit-top-bit", cfg(S) + bytes([0x82, 0xFF, 0x80]) + bytes(7) + MASK))
    s.append(("bad-utf8", cfg(S) + frame(1, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80")))
    s.append(("bad-utf8-truncated-end", cfg(S) + frame(1, b"ok\xe2\x82")))
    s.append(("bad-close-1-byte", cfg(S) + frame(8, b"\x03")))
    s.append(("bad-close-code-1005", cfg(S) + frame(8, struct.pack(">H", 1005))))
    s.append(("bad-close-reason-utf8", cfg(S) + frame(8, struct.pack(">H", 1000) + b"\xff")))
    s.append(("bad-rsv1-not-negotiated", cfg(S) + frame(1, rfc_hello, rsv1=True)))
    s.append(("bad-rsv1-on-continuation", cfg(S | RSV1) + frame(1, b"a", fin=False)
              + frame(0, b"b", rsv1=True)))
    return s


# ---- hixie ----------------------------------------------------------------

HIXIE76_HEAD = (b"GET /demo HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\nSec-WebSocket-Protocol: sample\r\n"
                b"Upgrade: WebSocket\r\nSec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\n"
                b"Origin: http://example.com\r\n\r\n")
HIXIE75_HEAD = (b"GET /demo?x=1 HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n"
                b"Host: example.com\r\nOrigin: http://example.com\r\nWebSocket-Protocol: chat\r\n\r\n")


def hixie_seeds():
    V76, HS, HTTPS = 1, 2, 0x20
    s = []
    s.append(("text-76", cfg(V76) + b"\x00Hello\xff\x00world\xff"))
    s.append(("text-75", cfg(0) + b"\x00Hello\xff"))
    s.append(("close-76", cfg(V76) + b"\x00bye\xff\xff\x00\x00ignored\xff"))
    s.append(("close-75-skipped", cfg(0) + b"\xff\x00\x00after\xff"))
    s.append(("utf8", cfg(V76) + b"\x00" + "κόσμε €𝄞".encode() + b"\xff"))
    s.append(("length-prefixed-skipped", cfg(V76) + b"\x80\x03abc\x81\x81\x01x\x00ok\xff"))
    s.append(("other-delimited-skipped", cfg(V76) + b"\x01binary?\xff\x00ok\xff"))
    s.append(("empty-message", cfg(V76) + b"\x00\xff"))
    s.append(("unterminated", cfg(V76) + b"\x00no end yet"))
    s.append(("max-message-16", cfg(V76 | (6 << 2), 0) + b"\x00" + b"x" * 20 + b"\xff"))
    s.append(("max-message-1-bad-utf8", cfg(V76 | (5 << 2)) + b"\x00\xf5-"))
    s.append(("bad-utf8", cfg(V76) + b"\x00\xc0\xaf\xff"))
    s.append(("bad-utf8-unfinished", cfg(V76) + b"\x00\xe2\x82\xff"))
    s.append(("bad-close-with-length", cfg(V76) + b"\xff\x01x"))
    s.append(("bad-endless-length", cfg(V76) + b"\x80" + b"\xff" * 12))
    s.append(("handshake-76", cfg(HS) + HIXIE76_HEAD + b"^n:ds[4U" + b"\x00Hello\xff\xff\x00"))
    s.append(("handshake-76-https", cfg(HS | HTTPS) + HIXIE76_HEAD + b"^n:ds[4U" + b"\x00hi\xff"))
    s.append(("handshake-76-no-key3", cfg(HS) + HIXIE76_HEAD + b"^n:"))
    s.append(("handshake-75", cfg(HS) + HIXIE75_HEAD + b"\x00Hello\xff"))
    s.append(("handshake-bad-keys", cfg(HS) + HIXIE76_HEAD.replace(b"12998 5", b"12998x5")
              + b"12345678"))
    s.append(("handshake-one-key", cfg(HS) + HIXIE76_HEAD.replace(b"Sec-WebSocket-Key2", b"X-Key2")))
    s.append(("handshake-post", cfg(HS) + HIXIE75_HEAD.replace(b"GET", b"POST")))
    s.append(("handshake-forwarded-https", cfg(HS) + HIXIE75_HEAD.replace(
        b"\r\n\r\n", b"\r\nX-Forwarded-Proto: https, http\r\n\r\n") + b"\x00x\xff"))
    s.append(("handshake-with-version", cfg(HS) + HIXIE75_HEAD.replace(
        b"\r\n\r\n", b"\r\nSec-WebSocket-Version: 13\r\n\r\n")))
    return s


# ---- HTTP requests ----------------------------------------------------------

def http_seeds():
    ws = (b"GET /chat?room=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
          b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          b"Origin: http://example.com\r\nSec-WebSocket-Protocol: superchat, chat\r\n"
          b"Sec-WebSocket-Version: 13\r\n\r\n")
    s = []
    s.append(("websocket-rfc6455", cfg() + ws))
    s.append(("websocket-deflate", cfg() + ws.replace(
        b"\r\n\r\n", b"\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")))
    s.append(("websocket-hybi08", cfg() + ws.replace(b"Version: 13", b"Version: 8")))
    s.append(("websocket-version-9", cfg() + ws.replace(b"Version: 13", b"Version: 9")))
    s.append(("websocket-bad-key", cfg() + ws.replace(b"dGhlIHNhbXBsZSBub25jZQ==", b"dGhlIHNhbXBsZSBub25jZR==")))
    s.append(("websocket-post", cfg() + ws.replace(b"GET", b"POST")))
    s.append(("websocket-http10", cfg() + ws.replace(b"HTTP/1.1", b"HTTP/1.0")))
    s.append(("websocket-bare-lf", cfg() + ws.replace(b"\r\n", b"\n")))
    s.append(("websocket-with-body", cfg() + ws + b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"))
    s.append(("websocket-small-max-head", cfg(1, 100) + ws))
    s.append(("websocket-small-arena", cfg(0, 0, 4) + ws))
    s.append(("hixie76", cfg() + HIXIE76_HEAD + b"^n:ds[4U"))
    s.append(("hixie75-https", cfg(4) + HIXIE75_HEAD))
    s.append(("eventsource", cfg() + b"GET /events HTTP/1.1\r\nHost: a\r\n"
              b"Accept: text/event-stream\r\nLast-Event-ID: 42\r\nCache-Control: no-cache\r\n\r\n"))
    s.append(("eventsource-query-id", cfg(8) + b"GET /events?x=1&lastEventId=a%20b+c HTTP/1.1\r\n"
              b"Host: a\r\nAccept: text/html, text/event-stream;q=0.9\r\n\r\n"))
    s.append(("percent-path", cfg() + b"GET /a%2Fb/%7euser/%00x HTTP/1.1\r\nHost: h\r\n\r\n"))
    s.append(("repeated-headers", cfg() + b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\n"
              b"X_A: 3\r\nProxy: evil\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n"))
    s.append(("leading-crlf", cfg() + b"\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"))
    s.append(("incomplete", cfg() + b"GET /chat HTTP/1.1\r\nHost: exa"))
    s.append(("absolute-form", cfg() + b"GET http://h/x HTTP/1.1\r\nHost: h\r\n\r\n"))
    s.append(("asterisk-form", cfg() + b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"))
    s.append(("many-headers", cfg() + b"GET / HTTP/1.1\r\n"
              + b"".join(b"H%d: v\r\n" % i for i in range(101)) + b"\r\n"))
    s.append(("bad-obs-fold", cfg() + b"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n"))
    s.append(("bad-space-before-colon", cfg() + b"GET / HTTP/1.1\r\nHost : h\r\n\r\n"))
    s.append(("bad-bare-cr", cfg() + b"GET / HTTP/1.1\rHost: h\r\n\r\n"))
    s.append(("bad-control-in-value", cfg() + b"GET / HTTP/1.1\r\nHost: h\x01\r\n\r\n"))
    s.append(("bad-http2", cfg() + b"GET / HTTP/2.0\r\n\r\n"))
    s.append(("bad-tls-hello", cfg() + bytes.fromhex("16030100a5010000a10303") + bytes(32)))
    return s


# ---- permessage-deflate -----------------------------------------------------

def msgs(*parts):
    return b"".join(struct.pack(">H", len(p)) + p for p in parts)


def deflate_seeds():
    hello = bytes([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])
    hello_again = bytes([0xf2, 0x00, 0x11, 0x00, 0x00])
    ctx = zlib.compressobj(9, zlib.DEFLATED, -15)
    text = b"The quick brown fox jumps over the lazy dog. " * 4
    m1 = deflate_message(text, stream=ctx)
    m2 = deflate_message(text, stream=ctx)           # refers to m1
    bomb = deflate_message(bytes(100000))
    stored = b"\x00\x05\x00\xfa\xffHello"               # non-final stored block
    final = zlib.compressobj(9, zlib.DEFLATED, -15)
    bfinal = final.compress(b"final block") + final.flush(zlib.Z_FINISH)
    P = "permessage-deflate"
    s = []
    s.append(("rfc7692-hello", cfg(6 << 1) + P.encode() + b"\0" + msgs(hello)))
    s.append(("rfc7692-hello-again", cfg(3 << 1) + b"\0" + msgs(hello, hello_again)))
    s.append(("context-takeover", cfg(2 << 1) + P.encode() + b"\0" + msgs(m1, m2)))
    s.append(("no-context-takeover-violated", cfg(1 | (2 << 1)) + b"\0" + msgs(hello, hello_again)))
    s.append(("bomb-small-limit", cfg(2 << 1 | (1 << 3), 200) + b"\0" + msgs(bomb)))
    s.append(("bomb-limit-1", cfg(3 << 3) + b"\0" + msgs(bomb)))
    s.append(("stored-block", cfg() + b"\0" + msgs(stored)))
    s.append(("bfinal-block", cfg(2 << 1) + b"\0" + msgs(bfinal, hello)))
    s.append(("empty-message", cfg() + b"\0" + msgs(b"\x00", b"")))
    s.append(("window-9", cfg(2 << 1) + P.encode() + b"; server_max_window_bits=9\0"
              + msgs(deflate_message(text * 3, wbits=9))))
    s.append(("corrupt-block-type", cfg() + b"\0" + msgs(b"\xff\xff\xff")))
    s.append(("corrupt-far-back", cfg() + b"\0" + msgs(hello_again)))
    s.append(("limit-then-corrupt", cfg(3 << 3) + b"\0"
              + msgs(hello + b"\x00\x00\xff\xff\xff")))
    # negotiation only (no NUL: no messages)
    for i, h in enumerate([
            P,
            P + "; client_max_window_bits",
            P + "; client_max_window_bits=10; server_max_window_bits=12",
            P + "; server_no_context_takeover; client_no_context_takeover",
            "x-webkit-deflate-frame, " + P + "; client_max_window_bits=8",
            P + "; server_max_window_bits=8, " + P,
            P + '; server_max_window_bits="10"',
            P + "; server_max_window_bits=16",
            P + "; client_max_window_bits; client_max_window_bits",
            P + "; unknown=1, " + P + "; server_no_context_takeover",
            P + "; server_max_window_bits=010",
            ",, " + P + " ;  client_max_window_bits = 15 ,",
            P + '; server_max_window_bits="1\\5"',
            P + ";",
            P + ' ; x="unterminated',
            "foo bar",
    ]):
        s.append(("header-%02d" % i, cfg(0x80 if i % 3 == 0 else 0) + h.encode()))
    return s


# ---- framed-mode records ----------------------------------------------------

def codec_seeds():
    s = []
    s.append(("text", cfg() + b"t 5\nhello\n"))
    s.append(("binary-with-newlines", cfg() + b"b 7\n\x00\n\xff\n\r\n\n\n"))
    s.append(("empty-records", cfg() + b"t 0\n\nb 0\n\n"))
    s.append(("close-code", cfg() + b"c 4\n1000\n"))
    s.append(("close-reason", cfg() + b"c 11\n4001 kicked\n"))
    s.append(("close-trailing-space", cfg() + b"c 5\n1000 \n"))
    s.append(("close-bad", cfg() + b"c 3\n999\nc 4\n0999\nc 6\n1000x!\n"))
    s.append(("mixed", cfg(0, 0, 9) + b"t 2\nhi\nb 3\nabc\nc 4\n1001\n"))
    s.append(("unfinished", cfg() + b"t 10\nhello"))
    s.append(("max-len-4", cfg(1, 4) + b"t 4\nfour\nt 5\nfive!\n"))
    s.append(("max-len-0", cfg(5) + b"t 0\n\nt 1\nx\n"))
    s.append(("twenty-digits", cfg() + b"b 18446744073709551615\n"))
    s.append(("bad-overflow", cfg() + b"b 18446744073709551616\n"))
    s.append(("bad-21-digits", cfg() + b"b 100000000000000000000\n"))
    s.append(("bad-type", cfg() + b"x 1\na\n"))
    s.append(("bad-no-space", cfg() + b"t5\nhello\n"))
    s.append(("bad-leading-zero", cfg() + b"t 05\nhello\n"))
    s.append(("bad-no-digits", cfg() + b"t \n"))
    s.append(("bad-sign", cfg() + b"t +5\nhello\n"))
    s.append(("bad-no-lf-after-payload", cfg() + b"t 5\nhelloX"))
    s.append(("bad-crlf", cfg() + b"t 5\r\nhello\r\n"))
    return s


# ---- EventSource handler output -----------------------------------------------

def sse_seeds():
    RAW, LINES = 1, 0
    s = []
    s.append(("raw-simple", cfg(RAW) + b"data: hello\n\n"))
    s.append(("raw-all-fields", cfg(RAW) + b"event: tick\nid: 7\nretry: 3000\ndata: a\ndata: b\n\n"))
    s.append(("raw-crlf-and-cr", cfg(RAW) + b"data: one\r\ndata: two\rdata:three\r\n\r\n"))
    s.append(("raw-comments", cfg(RAW) + b": keepalive\n\ndata: x\n: inside\n\n:\n"))
    s.append(("raw-no-colon-and-spaces", cfg(RAW) + b"data\ndata:  two spaces\ndata:\n\n"))
    s.append(("raw-dropped-fields", cfg(RAW) + b"foo: bar\nretry: 1s\nid: a\x00b\nDATA: x\ndata: kept\n\n"))
    s.append(("raw-event-only-dropped", cfg(RAW) + b"unknown: 1\n\n\n\ndata: y\n\n"))
    s.append(("raw-too-big", cfg(RAW | (4 << 1), 0) + b"data: 0123456789abcdef\ndata: x\n\ndata: ok\n\n"))
    s.append(("raw-many-lines-over-limit", cfg(RAW | (4 << 1), 0) + b"data:\n" * 20 + b"\n"
              + b"data: ok\n\n"))
    s.append(("raw-long-line-small-max", cfg(RAW | (1 << 1), 20) + b"data: " + b"z" * 40 + b"\n\ndata: after\n\n"))
    s.append(("raw-unterminated", cfg(RAW) + b"data: never dispatched\n"))
    s.append(("raw-partial-line", cfg(RAW) + b"data: half"))
    s.append(("raw-utf8-and-nul", cfg(RAW) + "data: κόσμε\x00€\n\n".encode()))
    s.append(("lines-simple", cfg(LINES) + b"hello\nworld\n"))
    s.append(("lines-cr", cfg(LINES) + b"a\rb\r\nc\r\r\n"))
    s.append(("lines-empty", cfg(LINES) + b"\n\n\n"))
    s.append(("lines-long-small-max", cfg(LINES | (4 << 1), 1) + b"0123456789abcdef\nxy"))
    s.append(("lines-unterminated", cfg(LINES) + b"last line without newline"))
    s.append(("lines-fields-as-data", cfg(LINES) + b"data: x\n\nevent: y\n:\n"))
    return s


# ---- FastCGI ------------------------------------------------------------------

def fcgi_rec(rtype, content=b"", rid=1, pad=0, version=1):
    return struct.pack(">BBHHBB", version, rtype, rid, len(content), pad, 0) + content + bytes(pad)


def nv(name, value):
    def ln(n):
        return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    return ln(len(name)) + ln(len(value)) + name + value


def fcgi_seeds():
    begin = fcgi_rec(1, struct.pack(">HB5x", 1, 0))
    params = b"".join(nv(k, v) for k, v in [
        (b"GATEWAY_INTERFACE", b"CGI/1.1"), (b"REQUEST_METHOD", b"GET"),
        (b"REQUEST_URI", b"/chat?x=1"), (b"SERVER_PROTOCOL", b"HTTP/1.1"),
        (b"HTTP_HOST", b"example.com"), (b"HTTP_UPGRADE", b"websocket"),
        (b"HTTP_CONNECTION", b"Upgrade"), (b"HTTP_SEC_WEBSOCKET_KEY", b"dGhlIHNhbXBsZSBub25jZQ=="),
        (b"HTTP_SEC_WEBSOCKET_VERSION", b"13"), (b"HTTP_SEC_WEBSOCKET_PROTOCOL", b"chat"),
        (b"CONTENT_LENGTH", b"0"), (b"HTTP_PROXY", b"evil"), (b"PATH", b"/usr/bin"),
    ])
    sse_params = b"".join(nv(k, v) for k, v in [
        (b"REQUEST_METHOD", b"GET"), (b"REQUEST_URI", b"/events?lastEventId=9"),
        (b"HTTP_ACCEPT", b"text/event-stream"), (b"QUERY_STRING", b"lastEventId=9"),
    ])
    P = 4   # check the PARAMS and handshake them
    s = []
    s.append(("websocket-request", cfg(P | 2) + begin + fcgi_rec(4, params) + fcgi_rec(4)
              + fcgi_rec(5, b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58") + fcgi_rec(5)))
    s.append(("params-split-records", cfg(P | 3) + begin + fcgi_rec(4, params[:50], pad=3)
              + fcgi_rec(4, params[50:], pad=7) + fcgi_rec(4)))
    s.append(("eventsource-request", cfg(P | 3) + begin + fcgi_rec(4, sse_params) + fcgi_rec(4)
              + fcgi_rec(5)))
    s.append(("long-name-value", cfg(P | 2) + begin + fcgi_rec(4, nv(b"HTTP_X_LONG", b"v" * 300))
              + fcgi_rec(4)))
    s.append(("four-byte-small-length", cfg(P | 2) + fcgi_rec(4, b"\x80\x00\x00\x01\x01ab")))
    s.append(("max-data-1", cfg(0) + begin + fcgi_rec(5, b"hello", pad=2)))
    s.append(("max-data-3", cfg(1, 3) + fcgi_rec(6, b"Status: 101\r\n\r\n") + fcgi_rec(3, bytes(8))))
    s.append(("abort-and-others", cfg(3) + fcgi_rec(2) + fcgi_rec(9, nv(b"FCGI_MAX_CONNS", b""))
              + fcgi_rec(11, bytes(8), rid=0) + fcgi_rec(200, b"x")))
    s.append(("content-and-max-padding", cfg(3) + fcgi_rec(5, b"\xaa" * 1000, pad=255)))
    s.append(("truncated-header", cfg(3) + begin + b"\x01\x05\x00"))
    s.append(("truncated-params", cfg(P | 3) + fcgi_rec(4, params)[:40]))
    s.append(("bad-version", cfg(3) + begin + fcgi_rec(5, b"x", version=2) + fcgi_rec(5)))
    return s


# ---- dictionaries -----------------------------------------------------------

HTTP_DICT = ["GET ", "POST ", " HTTP/1.1\r\n", " HTTP/1.0\r\n", "\r\n", "\r\n\r\n", ": ",
             "Host: ", "Upgrade: websocket", "Upgrade: WebSocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: ", "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
             "Sec-WebSocket-Version: 8", "Sec-WebSocket-Protocol: ", "chat", "superchat",
             "Sec-WebSocket-Extensions: ", "permessage-deflate", "client_max_window_bits",
             "Origin: ", "Sec-WebSocket-Key1: ", "Sec-WebSocket-Key2: ", "WebSocket-Protocol: ",
             "Accept: text/event-stream", "Last-Event-ID: ", "lastEventId=", "X-Forwarded-Proto: https",
             "Proxy: ", "Content-Length: ", "Content-Type: ", "%2F", "%00", "?", "/", ", ", ";"]
SSE_DICT = ["data:", "data: ", "event:", "id:", "retry:", ":", "\r\n", "\n\n", "\r", "\x00"]
DEFLATE_DICT = ["permessage-deflate", "server_no_context_takeover", "client_no_context_takeover",
                "server_max_window_bits", "client_max_window_bits", "=15", "=8", "=9", '"', ", ", "; ",
                "\x00\x00\xff\xff", "\x00"]
CODEC_DICT = ["t ", "b ", "c ", "\n", "1000", "18446744073709551615", "0\n\n"]
WS_DICT = ["\x81\x85", "\x82\xfe", "\x82\xff", "\x88\x80", "\x89\x80", "\x8a\x80", "\x00\x00\x00\x00",
           "\x37\xfa\x21\x3d", "\x03\xe8", "\x80", "\xc1"]
HIXIE_DICT = HTTP_DICT + ["\x00", "\xff", "\xff\x00", "\x80"]
HTTP_RESPONSE_DICT = ["HTTP/1.1 ", "HTTP/1.0 ", "101", "200", "204", "304", "\r\n", "\r\n\r\n",
                      "Content-Length: ", "Transfer-Encoding: ", "chunked", "gzip, chunked",
                      "Content-Type: ", "text/event-stream", ";", ", ", "0\r\n\r\n", "ffffffff"]
WS_CLIENT_DICT = ["HTTP/1.1 101 ", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: ",
                  "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "Sec-WebSocket-Protocol: ", "chat", "superchat",
                  "Sec-WebSocket-Extensions: ", "permessage-deflate", "server_no_context_takeover",
                  "client_no_context_takeover", "server_max_window_bits", "client_max_window_bits",
                  "=15", "=8", "\r\n", ", ", "; "]
FCGI_DICT = ["\x01\x01\x00\x01\x00\x08\x00\x00", "\x01\x04\x00\x01", "\x01\x05\x00\x01",
             "\x01\x04\x00\x01\x00\x00\x00\x00", "HTTP_UPGRADE", "websocket", "REQUEST_METHOD",
             "GET", "HTTP_SEC_WEBSOCKET_KEY", "HTTP_ACCEPT", "text/event-stream", "\x80\x00\x00"]

# ---- client side: HTTP responses, event streams, the WebSocket 101 ----------

def http_response_seeds():
    def head(status, *hdrs, lf=b"\r\n"):
        return status + lf + b"".join(h + lf for h in hdrs) + lf
    s = []
    s.append(("chunked-event-stream", cfg() + head(
        b"HTTP/1.1 200 OK", b"Content-Type: text/event-stream; charset=utf-8",
        b"Transfer-Encoding: chunked") + b"d\r\ndata: hello\n\n\r\n5;ext=1\r\nid: 1\r\n0\r\nX-T: 1\r\n\r\nafter"))
    s.append(("content-length", cfg() + head(
        b"HTTP/1.1 200 OK", b"Content-Length: 5, 5", b"Content-Type: text/plain") + b"hello, and more"))
    s.append(("until-close-http10", cfg(2, 100) + head(b"HTTP/1.0 200 OK", b"Server: x", lf=b"\n")
              + b"data: all of it\n\n"))
    s.append(("websocket-101", cfg() + head(
        b"HTTP/1.1 101 Switching Protocols", b"Upgrade: websocket", b"Connection: Upgrade",
        b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") + b"\x81\x05Hello"))
    s.append(("proxy-connect-200", cfg() + head(b"HTTP/1.1 200 Connection established")))
    s.append(("no-body-204-304", cfg() + head(b"HTTP/1.1 204 No Content", b"Content-Length: 10")
              + b"HTTP/1.1 304 x\r\n\r\n"))
    s.append(("te-gzip-chunked-lf", cfg() + head(b"HTTP/1.1 200 OK", b"Transfer-Encoding: gzip, chunked",
                                                   lf=b"\n") + b"3\nabc\n0\n\n"))
    s.append(("max-head-small", cfg(1, 8) + head(b"HTTP/1.1 200 OK", b"X-Long: " + b"y" * 60)))
    # invalid
    s.append(("bad-chunk-size", cfg() + head(b"HTTP/1.1 200 OK", b"Transfer-Encoding: chunked")
              + b"zz\r\n"))
    s.append(("bad-chunk-huge", cfg() + head(b"HTTP/1.1 200 OK", b"Transfer-Encoding: chunked")
              + b"1000000000000000\r\n"))
    s.append(("bad-chunk-no-crlf", cfg() + head(b"HTTP/1.1 200 OK", b"Transfer-Encoding: chunked")
              + b"2\r\nabX\r\n"))
    s.append(("bad-two-content-lengths", cfg() + head(b"HTTP/1.1 200 OK", b"Content-Length: 1",
                                                      b"Content-Length: 2") + b"ab"))
    s.append(("bad-obs-fold", cfg() + b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"))
    s.append(("bad-version-2", cfg() + b"HTTP/2.0 200 OK\r\n\r\n"))
    s.append(("bad-status-099", cfg() + b"HTTP/1.1 099 Low\r\n\r\n"))
    return s


def sse_parse_seeds():
    s = []
    s.append(("spec-example", cfg() + b"data: YHOO\ndata: +2\ndata: 10\n\n"
              b": comment\nevent: add\ndata: 73857293\nid: 7\n\nretry: 1500\ndata\ndata\n\ndata:\n\n"))
    s.append(("bom-crlf-cr", cfg() + b"\xef\xbb\xbfdata: a\r\n\r\ndata: b\r\rid\r\r"))
    s.append(("id-with-nul-ignored", cfg() + b"id: 1\ndata: x\n\nid: 2\x003\ndata: y\n\n"))
    s.append(("retry-bad-and-huge", cfg() + b"retry: 12a\nretry: 99999999999999\nretry:\n"))
    s.append(("unterminated-event", cfg() + b"data: first\n\ndata: never dispatched"))
    s.append(("event-no-space", cfg() + b"event:ping\ndata:{}\n\nevent: \ndata: x\n\n"))
    s.append(("too-big-16", cfg(4, 2) + b"data: 0123456789abcdef\n\ndata: ok\n\n"))
    s.append(("too-big-line-1", cfg(3) + b"data: x\n\n\n\n"))
    s.append(("partial-bom", cfg() + b"\xef\xbbdata: x\n\n"))
    return s


WS_ACCEPT_SAMPLE = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def ws_client_seeds():
    SAMPLE, CHAT, BOTH, SUPER, DEFLATE, NOCTX = 1, 1 << 1, 2 << 1, 3 << 1, 8, 16

    def resp(*extra, accept=WS_ACCEPT_SAMPLE, status=b"101 Switching Protocols"):
        return (b"HTTP/1.1 " + status + b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + accept + b"\r\n" + b"".join(e + b"\r\n" for e in extra)
                + b"\r\n")
    s = []
    s.append(("rfc6455-ok", cfg(SAMPLE) + resp()))
    s.append(("protocol-chat", cfg(SAMPLE | BOTH) + resp(b"Sec-WebSocket-Protocol: chat")))
    s.append(("deflate-ok", cfg(SAMPLE | DEFLATE | NOCTX) + resp(
        b"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
        b"client_max_window_bits=15")))
    s.append(("upgrade-lists", cfg(SAMPLE) + b"HTTP/1.1 101 x\r\nupgrade: foo, WebSocket\r\n"
              b"connection: keep-alive, upgrade\r\nsec-websocket-accept: " + WS_ACCEPT_SAMPLE + b"\r\n\r\n"))
    s.append(("refused-403", cfg(SAMPLE) + resp(status=b"403 Forbidden")))
    s.append(("bad-accept", cfg(SAMPLE) + resp(accept=b"dGhlIHNhbXBsZSBub25jZQ==")))
    s.append(("bad-two-accepts", cfg(SAMPLE) + resp(b"Sec-WebSocket-Accept: " + WS_ACCEPT_SAMPLE)))
    s.append(("bad-protocol-not-offered", cfg(SAMPLE | CHAT) + resp(b"Sec-WebSocket-Protocol: superchat")))
    s.append(("bad-extension-not-offered", cfg(SAMPLE) + resp(b"Sec-WebSocket-Extensions: permessage-deflate")))
    s.append(("bad-no-upgrade", cfg(SAMPLE | SUPER) + b"HTTP/1.1 101 x\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Accept: " + WS_ACCEPT_SAMPLE + b"\r\n\r\n"))
    return s


def main():
    write_corpus("ws_frame", ws_frame_seeds())
    write_corpus("ws_hixie", hixie_seeds())
    write_corpus("http_request", http_seeds())
    write_corpus("ws_deflate", deflate_seeds())
    write_corpus("handler_codec", codec_seeds())
    write_corpus("sse", sse_seeds())
    write_corpus("fcgi_record", fcgi_seeds())
    write_corpus("http_response", http_response_seeds())
    write_corpus("sse_parse", sse_parse_seeds())
    write_corpus("ws_client", ws_client_seeds())
    def latin(tokens):
        return [t.encode("latin-1") for t in tokens]
    write_dict("http_request", latin(HTTP_DICT))
    write_dict("ws_hixie", latin(HIXIE_DICT))
    write_dict("sse", latin(SSE_DICT))
    write_dict("ws_deflate", latin(DEFLATE_DICT))
    write_dict("handler_codec", latin(CODEC_DICT))
    write_dict("ws_frame", latin(WS_DICT))
    write_dict("fcgi_record", latin(FCGI_DICT))
    write_dict("http_response", latin(HTTP_RESPONSE_DICT))
    write_dict("sse_parse", latin(SSE_DICT + ["\xef\xbb\xbf", "event: ", "id: ", "retry: 1000"]))
    write_dict("ws_client", latin(WS_CLIENT_DICT))


if __name__ == "__main__":
    main()
