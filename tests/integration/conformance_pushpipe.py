#!/usr/bin/python3
"""Runs the conformance suite (conformance.py, modeled on Autobahn|Testsuite
cases 1-7, 9 and 10 plus handshake cases) in strict mode against
`pushpipe --mode framed -- cat` and against lines mode with `cat`."""

import os
import subprocess
import sys

from pplib import Results, pushpipe

R = Results("conformance_pushpipe")
SUITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conformance.py")
# Full size cases (up to 16 MiB) unless the caller asks for the quick set.
EXTRA = ["--quick"] if os.environ.get("PUSHPIPE_QUICK") else []


def suite(port, mode):
    out = subprocess.run([sys.executable, SUITE, "--port", str(port), "--mode", mode, "--strict"] + EXTRA,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    lines = out.stdout.splitlines()
    for line in lines:
        if not line.startswith("PASS"):
            print(line)
    assert out.returncode == 0, "conformance failures in %s mode" % mode


def framed():
    with pushpipe("--mode", "framed", "--", "cat") as p:
        suite(p.port, "framed")


def lines():
    with pushpipe("--", "cat") as p:
        suite(p.port, "lines")


R.run("conformance, framed mode, strict", framed)
R.run("conformance, lines mode, strict", lines)
R.finish()
