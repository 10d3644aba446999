#!/usr/bin/python3
"""pushpipe behind nginx 1.22, with examples/nginx/pushpipe.conf:
EventSource through fastcgi_pass (fastcgi_buffering off) to pushpipe
--fcgi; WebSocket and EventSource through proxy_pass to pushpipe --listen.
nginx cannot pass a WebSocket upgrade over FastCGI: pushpipe answers 501."""

import os
import shutil

from pplib import Results, free_port
from servers import (run_scenarios, nginx, pushpipe_fcgi, pushpipe_listen, sse_checks, template,
                     ws_checks, ws_refused)

R = Results("nginx")


def paths(work):
    pp, fport = pushpipe_fcgi(work, ["--sse", "lines", "--heartbeat", "1", "--", work.sse_handler])
    bindir = work.mkdir("bin")
    shutil.copy(work.ws_handler, os.path.join(bindir, "ws"))
    shutil.copy(work.sse_handler, os.path.join(bindir, "sse"))
    lp, lport = pushpipe_listen(work, ["--mode", "framed", "--heartbeat", "1", "--dir", bindir])
    port = free_port()
    srv = nginx(work, template("nginx/pushpipe.conf", work.values(PORT=port, FCGI_PORT=fport,
                                                                   LISTEN_PORT=lport)), port)
    try:
        sse_checks(R, "nginx fastcgi_pass SSE", port, "/events")
        ws_checks(R, "nginx proxy_pass WS", "ws://127.0.0.1:%d/ws" % port)
        sse_checks(R, "nginx proxy_pass SSE", port, "/sse")
        status = ws_refused("ws://127.0.0.1:%d/events" % port)
        R.check("nginx FastCGI cannot tunnel: WebSocket gets 501, not a hang", status == 501,
                "status %s" % status)
    finally:
        srv.stop()
        pp.stop()
        lp.stop()


run_scenarios(R, "nginx", (paths,))
