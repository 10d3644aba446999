#!/usr/bin/python3
"""pushcat through a real HTTP CONNECT proxy (Debian's tinyproxy, started
here on loopback with its own config): --proxy with Basic auth, the
https_proxy / http_proxy / all_proxy / no_proxy variables as curl reads
them, and the failures (wrong password, proxy down) with exit status 3."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pclib import (Certs, NodeServer, Results, Tinyproxy, assert_eq, assert_exit,  # noqa: E402
                   assert_in, free_port, pushpipe, run)

R = Results("pushcat_proxy")
C = Certs()
DEAD = "http://127.0.0.1:%d" % free_port()    # nothing listens there


def t_ws_auth(ws, proxy):
    url = "ws://127.0.0.1:%d/" % ws.port
    before = len(proxy.connects())
    p = run(["-v", "--proxy", "http://user:secret@127.0.0.1:%d" % proxy.port, url], b"via proxy\n")
    assert_exit(p, 0)
    assert_eq(p.stdout, b"via proxy\n")
    assert_in(b"> CONNECT 127.0.0.1:%d HTTP/1.1" % ws.port, p.stderr)
    assert_in(b"> Proxy-Authorization: <hidden>", p.stderr)
    assert_in(b"< HTTP/1.0 200", p.stderr)
    assert_eq(len(proxy.connects()), before + 1, "the proxy saw one CONNECT")
    p = run(["--proxy", "http://user:wrong@127.0.0.1:%d" % proxy.port, url], b"x\n")
    assert_exit(p, 3, "wrong password")
    assert_in(b"refused CONNECT", p.stderr)
    p = run(["--proxy", "http://127.0.0.1:%d" % proxy.port, url], b"x\n")
    assert_exit(p, 3, "no credentials")


def t_wss_env(wss, proxy):
    url = "wss://localhost:%d/" % wss.port
    auth = "http://user:secret@127.0.0.1:%d" % proxy.port
    for var in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        before = len(proxy.connects())
        p = run(["--cacert", C.server, url], b"tunnelled\n", env={var: auth})
        assert_exit(p, 0, var)
        assert_eq(p.stdout, b"tunnelled\n", var)
        assert_eq(len(proxy.connects()), before + 1, "%s used the proxy" % var)
    # http_proxy is for ws:// only.
    p = run(["--cacert", C.server, url], b"direct\n", env={"http_proxy": DEAD})
    assert_exit(p, 0, "http_proxy ignored for wss")
    # TLS is end to end: the proxy cannot vouch for the server.
    p = run([url], b"x\n", env={"https_proxy": auth})
    assert_exit(p, 4, "verification through the tunnel")


def t_ws_env(ws, proxy):
    url = "ws://127.0.0.1:%d/" % ws.port
    auth = "http://user:secret@127.0.0.1:%d" % proxy.port
    before = len(proxy.connects())
    p = run([url], b"plain\n", env={"http_proxy": auth})
    assert_exit(p, 0, "http_proxy")
    assert_eq(len(proxy.connects()), before + 1, "http_proxy used")
    # Upper-case HTTP_PROXY is ignored, as curl ignores it (httpoxy).
    p = run([url], b"plain\n", env={"HTTP_PROXY": DEAD})
    assert_exit(p, 0, "HTTP_PROXY ignored")
    # A bare host:port is an http proxy.
    p = run(["--proxy", "user:secret@127.0.0.1:%d" % proxy.port, url], b"bare\n")
    assert_exit(p, 0, "bare host:port")
    # --proxy '' switches the environment's proxy off.
    p = run(["--proxy", "", url], b"off\n", env={"http_proxy": DEAD})
    assert_exit(p, 0, "--proxy ''")


def t_no_proxy(ws, wss):
    # The proxy would fail; no_proxy must route around it.
    cases = [("localhost", "wss"), (".localhost", "wss"), ("*", "wss"), ("example.com, localhost", "wss"),
             ("127.0.0.0/8", "ws"), ("127.0.0.1", "ws")]
    for np, scheme in cases:
        if scheme == "wss":
            args, env = ["--cacert", C.server, "wss://localhost:%d/" % wss.port], {"https_proxy": DEAD}
        else:
            args, env = ["ws://127.0.0.1:%d/" % ws.port], {"http_proxy": DEAD}
        env["no_proxy"] = np
        p = run(args, b"direct\n", env=env)
        assert_exit(p, 0, "no_proxy=%s" % np)
        assert_eq(p.stdout, b"direct\n")
    # Not matching: the dead proxy is used, and fails with 3.
    p = run(["ws://127.0.0.1:%d/" % ws.port], b"x\n", env={"http_proxy": DEAD, "no_proxy": "example.com"})
    assert_exit(p, 3, "proxy down")
    p = run(["ws://127.0.0.1:%d/" % ws.port], b"x\n", env={"http_proxy": DEAD, "NO_PROXY": "127.0.0.1"})
    assert_exit(p, 0, "NO_PROXY")
    # --noproxy overrides no_proxy.
    p = run(["--noproxy", "127.0.0.1", "ws://127.0.0.1:%d/" % ws.port], b"x\n",
            env={"http_proxy": DEAD, "no_proxy": "example.com"})
    assert_exit(p, 0, "--noproxy")


BOTH = ('if [ "$PUSHPIPE_PROTOCOL" = eventsource ]; then echo event-one; echo event-two; '
        'else cat; fi')


def t_pushpipe_and_sse():
    with pushpipe("--", "sh", "-c", BOTH) as pp:
        proxy = Tinyproxy([pp.port], auth=True)
        try:
            auth = "http://user:secret@127.0.0.1:%d" % proxy.port
            p = run(["ws://127.0.0.1:%d/" % pp.port], b"to pushpipe\n", env={"http_proxy": auth})
            assert_exit(p, 0, "pushpipe via the proxy")
            assert_eq(p.stdout, b"to pushpipe\n")
            p = run(["--max-reconnects", "0", "http://127.0.0.1:%d/" % pp.port], env={"http_proxy": auth})
            assert_exit(p, 0, "event stream via the proxy")
            assert_eq(p.stdout, b"event-one\nevent-two\n")
            assert_eq(len(proxy.connects()), 2, "both through the proxy")
        finally:
            proxy.stop()


try:
    with NodeServer("ws") as ws, NodeServer("ws", "--tls", C.server, C.server_key) as wss:
        proxy = Tinyproxy([ws.port, wss.port], auth=True)
        try:
            R.run("--proxy with Basic auth; wrong or missing password: exit 3", t_ws_auth, ws, proxy)
            R.run("wss via https_proxy/HTTPS_PROXY/all_proxy/ALL_PROXY", t_wss_env, wss, proxy)
            R.run("ws via http_proxy; HTTP_PROXY ignored; bare host:port; --proxy ''",
                  t_ws_env, ws, proxy)
            R.run("no_proxy / NO_PROXY / --noproxy: names, suffixes, *, CIDR", t_no_proxy, ws, wss)
        finally:
            proxy.stop()
    R.run("pushpipe (ws and EventSource) through the proxy", t_pushpipe_and_sse)
finally:
    C.cleanup()
R.finish()
