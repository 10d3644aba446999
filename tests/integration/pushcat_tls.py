#!/usr/bin/python3
"""pushcat over wss:// (OpenSSL): verification of the certificate and the
host name on by default, --cacert, --insecure, client certificates, SNI,
TLS 1.2 and 1.3; and pushpipe reached over wss through a TLS terminator
the test runs (pushpipe has no TLS listener of its own yet).  The
certificates are made here with openssl req."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pclib import (Certs, NodeServer, Results, assert_eq, assert_exit, assert_in,  # noqa: E402
                   pushpipe, run)

R = Results("pushcat_tls")
C = Certs()


def ws_tls(*extra, cert=None, key=None):
    return NodeServer("ws", "--tls", cert or C.server, key or C.server_key, *extra)


def t_verified():
    with ws_tls() as s:
        p = run(["-v", "--cacert", C.server, "wss://localhost:%d/x" % s.port], b"secure\n")
        assert_exit(p, 0)
        assert_eq(p.stdout, b"secure\n")
        assert_in(b"* TLS: TLSv1.3", p.stderr)
        assert_in(b"(verified)", p.stderr)
        assert_eq(s.events.wait_for("open"), "open /x - - localhost", "SNI")


def t_ip_address():
    with ws_tls() as s:
        p = run(["--cacert", C.server, "wss://127.0.0.1:%d/" % s.port], b"by address\n")
        assert_exit(p, 0, "IP address in subjectAltName")
        assert_eq(p.stdout, b"by address\n")
        # No SNI for an address (RFC 6066).
        assert_eq(s.events.wait_for("open"), "open / - - -", "no SNI")


def t_unverified_fails():
    with ws_tls() as s:
        p = run(["wss://localhost:%d/" % s.port], b"x\n")
        assert_exit(p, 4, "self-signed without --cacert")
        assert_in(b"certificate verification failed", p.stderr)
        assert_eq(p.stdout, b"")


def t_wrong_name():
    with ws_tls(cert=C.wrong, key=C.wrong_key) as s:
        p = run(["--cacert", C.wrong, "wss://localhost:%d/" % s.port], b"x\n")
        assert_exit(p, 4, "name mismatch")
        assert_in(b"hostname mismatch", p.stderr)
        p = run(["--cacert", C.wrong, "wss://127.0.0.1:%d/" % s.port], b"x\n")
        assert_exit(p, 4, "address mismatch")
        # --insecure gets through, with a warning.
        p = run(["--insecure", "wss://localhost:%d/" % s.port], b"anyway\n")
        assert_exit(p, 0, "--insecure")
        assert_eq(p.stdout, b"anyway\n")
        assert_in(b"warning: --insecure", p.stderr)
        p = run(["-k", "-v", "wss://localhost:%d/" % s.port], b"")
        assert_in(b"NOT verified", p.stderr)


def t_client_certificate():
    with ws_tls("--client-ca", C.client) as s:
        p = run(["--cacert", C.server, "wss://localhost:%d/" % s.port], b"x\n")
        assert_exit(p, 4, "no client certificate")
        p = run(["--cacert", C.server, "--cert", C.client, "--key", C.client_key,
                 "wss://localhost:%d/" % s.port], b"with cert\n")
        assert_exit(p, 0, "client certificate")
        assert_eq(p.stdout, b"with cert\n")
        p = run(["--cacert", C.server, "--cert", C.client, "--key", C.server_key,
                 "wss://localhost:%d/" % s.port], b"x\n")
        assert_exit(p, 4, "key that does not match")


def t_tls12():
    with ws_tls("--max-tls", "TLSv1.2") as s:
        p = run(["-v", "--cacert", C.server, "wss://localhost:%d/" % s.port], b"old\n")
        assert_exit(p, 0)
        assert_eq(p.stdout, b"old\n")
        assert_in(b"* TLS: TLSv1.2", p.stderr)


def t_bad_files():
    p = run(["--cacert", "/nonexistent/ca.pem", "wss://localhost:1/"])
    assert_exit(p, 4, "missing CA file")
    p = run(["--cert", "/nonexistent/c.pem", "wss://localhost:1/"])
    assert_exit(p, 4, "missing client certificate")


def t_pushpipe_over_wss():
    with pushpipe("--mode", "framed", "--", "cat") as pp:
        with NodeServer("tlsfront", str(pp.port), C.server, C.server_key) as front:
            big = os.urandom(4 << 20)
            recs = b"t 5\nhello\nb %d\n" % len(big) + big + b"\n"
            p = run(["--framed", "--linger", "3000", "--cacert", C.server,
                     "wss://localhost:%d/" % front.port], recs, timeout=60)
            assert_exit(p, 0, "framed over TLS")
            assert_eq(p.stdout == recs, True, "4 MiB record back intact")
    with pushpipe("--", "cat") as pp:
        with NodeServer("tlsfront", str(pp.port), C.server, C.server_key) as front:
            lines = b"".join(b"line %d\n" % i for i in range(20000))
            p = run(["--linger", "3000", "--cacert", C.server, "wss://localhost:%d/" % front.port],
                    lines, timeout=60)
            assert_exit(p, 0, "lines over TLS")
            assert_eq(p.stdout, lines, "20000 lines")


try:
    R.run("verified server: TLS 1.3, SNI, echo", t_verified)
    R.run("IP address URL: subjectAltName IP, no SNI", t_ip_address)
    R.run("self-signed without --cacert: exit 4", t_unverified_fails)
    R.run("wrong host name: exit 4; --insecure passes with a warning", t_wrong_name)
    R.run("client certificate required: exit 4 without, works with --cert/--key", t_client_certificate)
    R.run("TLS 1.2 server", t_tls12)
    R.run("unreadable --cacert / --cert: exit 4", t_bad_files)
    R.run("pushpipe over wss (TLS terminator): framed 4 MiB, 20000 lines", t_pushpipe_over_wss)
finally:
    C.cleanup()
R.finish()
