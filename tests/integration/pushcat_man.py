#!/usr/bin/python3
"""Runs every example of pushcat(1) (doc/pushcat.1, EXAMPLES: each "$ "
line is run with sh, the lines after it are its expected stdout) against
the servers the page describes, started here on ports of our own; and
checks that every option --help lists is documented in the page."""

import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pclib import (SRCDIR_PAGE, Certs, NodeServer, Results, Tinyproxy, assert_eq,  # noqa: E402
                   pushpipe, run, shell)

R = Results("pushcat_man")

ROFF = [("\\-", "-"), ("\\(aq", "'"), ("\\(dq", '"'), ("\\&", ""), ("\\e", "\\")]


def unroff(line):
    for a, b in ROFF:
        line = line.replace(a, b)
    return line


def examples(page):
    """[(command, expected stdout)] from the EXAMPLES section."""
    text = open(page, encoding="utf-8").read()
    section = text.split(".SH EXAMPLES", 1)[1].split("\n.SH ", 1)[0]
    out = []
    for block in re.findall(r"^\.EX\n(.*?)^\.EE$", section, re.S | re.M):
        cmd = None
        for line in block.splitlines():
            line = unroff(line)
            if line.startswith("$ "):
                cmd = [line[2:], ""]
                out.append(cmd)
            elif cmd is not None:
                cmd[1] += line + "\n"
    return [tuple(c) for c in out]


EVENTS = "#!/bin/sh\nprintf 'id: 1\\ndata: one\\n\\nid: 2\\ndata: two\\n\\n'\n"


def main():
    page = SRCDIR_PAGE
    cases = examples(page)
    R.check("the page has examples", len(cases) >= 10, "found %d" % len(cases))
    work = tempfile.mkdtemp(prefix="pushcat-man-")
    certs = Certs()
    try:
        shutil.copy(certs.server, os.path.join(work, "ca.pem"))
        events = os.path.join(work, "events")
        with open(events, "w") as f:
            f.write(EVENTS)
        os.chmod(events, 0o755)
        with pushpipe("--", "cat") as echo, \
                pushpipe("--mode", "framed", "--", "cat") as framed, \
                pushpipe("--mode", "binary", "--", "cat") as binary, \
                pushpipe("--sse", "raw", "--sse-retry", "100", "--", events) as sse, \
                NodeServer("ws", "--tls", certs.server, certs.server_key) as tls:
            proxy = Tinyproxy([tls.port], auth=True)
            try:
                ports = {"127.0.0.1:8080": "127.0.0.1:%d" % echo.port,
                         "127.0.0.1:8081": "127.0.0.1:%d" % framed.port,
                         "127.0.0.1:8082": "127.0.0.1:%d" % sse.port,
                         "127.0.0.1:8083": "127.0.0.1:%d" % binary.port,
                         "localhost:8443": "localhost:%d" % tls.port,
                         "127.0.0.1:8888": "127.0.0.1:%d" % proxy.port}
                for cmd, want in cases:
                    real = cmd
                    for a, b in ports.items():
                        real = real.replace(a, b)
                    p = shell(real, cwd=work, timeout=30)
                    got = p.stdout.decode(errors="replace")
                    R.check("example: %s" % cmd, got == want,
                            "\n  got %r\n  want %r\n  stderr %r" % (got, want, p.stderr[-500:]))
            finally:
                proxy.stop()
    finally:
        certs.cleanup()
        shutil.rmtree(work, ignore_errors=True)

    # Every option of --help is in the page.
    helptext = run(["--help"]).stdout.decode()
    source = open(page, encoding="utf-8").read()
    missing = [o for o in sorted(set(re.findall(r"--[a-z][a-z-]+", helptext)))
               if "\\-\\-" + o[2:].replace("-", "\\-") not in source]
    R.check("every --help option is documented in pushcat(1)", not missing, "missing: %r" % missing)


main()
R.finish()
