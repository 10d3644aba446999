#!/usr/bin/python3
"""pushpipe --listen behind haproxy 2.6 (examples/haproxy/haproxy.cfg):
WebSocket (haproxy tunnels after the upgrade) and EventSource."""

import os
import shutil

from pplib import Results, free_port
from servers import run_scenarios, Proc, pushpipe_listen, sse_checks, template, ws_checks

R = Results("haproxy")


def paths(work):
    bindir = work.mkdir("bin")
    shutil.copy(work.ws_handler, os.path.join(bindir, "ws"))
    shutil.copy(work.sse_handler, os.path.join(bindir, "events"))
    lp, lport = pushpipe_listen(work, ["--mode", "framed", "--heartbeat", "1", "--dir", bindir])
    port = free_port()
    conf = work.write("haproxy.cfg", template("haproxy/haproxy.cfg", work.values(PORT=port, LISTEN_PORT=lport)))
    srv = Proc(work, "haproxy", ["haproxy", "-f", conf, "-db"], port)
    try:
        ws_checks(R, "haproxy WS", "ws://127.0.0.1:%d/ws" % port)
        sse_checks(R, "haproxy SSE", port, "/events")
    finally:
        srv.stop()
        lp.stop()


run_scenarios(R, "haproxy", (paths,))
