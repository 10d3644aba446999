#!/usr/bin/python3
"""pushpipe behind Debian's lighttpd (1.4.69), with the configurations in
examples/lighttpd and examples/cgi:

  mod_cgi      EventSource (server.stream-response-body = 2) and WebSocket
               (cgi.upgrade = "enable": lighttpd hands over the connection
               after Status: 101, and SIGTERMs the CGI when the client goes)
  mod_fastcgi  EventSource with bin-path (lighttpd spawns pushpipe with the
               socket on fd 0) and with an external pushpipe --fcgi;
               a WebSocket upgrade through 1.4.69's FastCGI gets 501 (only
               >= 1.4.74 tunnels; see fastcgi.py for that path)
  mod_proxy    WebSocket and EventSource to pushpipe --listen
"""

from pplib import Results, free_port, pids_of_children
from servers import (run_scenarios, lighttpd, pushpipe_fcgi, pushpipe_listen, sse_checks,
                     template, ws_checks, ws_refused)

R = Results("lighttpd")


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(") ", 1)[1].split()[1])
    except OSError:
        return -1
FAST = {"--heartbeat 15": "--heartbeat 1"}


def cgi_paths(work):
    port = free_port()
    v = work.values(PORT=port)
    work.write("htdocs/events.cgi", template("cgi/events.cgi", v, FAST), 0o755)
    work.write("htdocs/chat.cgi", template("cgi/chat.cgi", v), 0o755)
    srv = lighttpd(work, template("lighttpd/cgi.conf", v), port, "lighttpd-cgi")
    try:
        sse_checks(R, "lighttpd mod_cgi SSE", port, "/events.cgi")
        ws_checks(R, "lighttpd cgi.upgrade WS", "ws://127.0.0.1:%d/chat.cgi" % port)
    finally:
        srv.stop()


def fastcgi_spawned(work):
    port = free_port()
    v = work.values(PORT=port)
    srv = lighttpd(work, template("lighttpd/fastcgi-spawned.conf", v, FAST), port, "lighttpd-spawned")
    try:
        sse_checks(R, "lighttpd mod_fastcgi bin-path SSE", port, "/events")
        # lighttpd started one pushpipe, which forked a worker per request.
        kids = [p for p in pids_of_children(srv.proc.pid) if "pushpipe" in cmdline(p)]
        direct = [p for p in kids if ppid(p) == srv.proc.pid]
        R.check("lighttpd bin-path: one spawned pushpipe serves every request",
                len(direct) == 1, "pushpipe children of lighttpd: %s" % direct)
    finally:
        srv.stop()


def fastcgi_external(work):
    pp, fport = pushpipe_fcgi(work, ["--sse", "lines", "--heartbeat", "1", "--", work.sse_handler])
    wsp, wport = pushpipe_fcgi(work, ["--mode", "framed", "--", work.ws_handler], "pushpipe-fcgi-ws")
    port, port2 = free_port(), free_port()
    srv = lighttpd(work, template("lighttpd/fastcgi-external.conf", work.values(PORT=port, FCGI_PORT=fport)),
                   port, "lighttpd-external")
    srv2 = lighttpd(work, template("lighttpd/fastcgi-external.conf", work.values(PORT=port2, FCGI_PORT=wport)),
                    port2, "lighttpd-external-ws")
    try:
        sse_checks(R, "lighttpd mod_fastcgi external --fcgi SSE", port, "/events")
        status = ws_refused("ws://127.0.0.1:%d/ws" % port2)
        R.check("lighttpd 1.4.69 FastCGI cannot tunnel: WebSocket gets 501, not a hang",
                status == 501, "status %s" % status)
    finally:
        srv.stop()
        srv2.stop()
        pp.stop()
        wsp.stop()


def proxy(work):
    pp, lport = pushpipe_listen(work, ["--mode", "framed", "--heartbeat", "1", "--", work.ws_handler])
    sp, sport = pushpipe_listen(work, ["--heartbeat", "1", "--", work.sse_handler], "pushpipe-listen-sse")
    port, port2 = free_port(), free_port()
    srv = lighttpd(work, template("lighttpd/proxy.conf", work.values(PORT=port, LISTEN_PORT=lport)),
                   port, "lighttpd-proxy")
    srv2 = lighttpd(work, template("lighttpd/proxy.conf", work.values(PORT=port2, LISTEN_PORT=sport)),
                    port2, "lighttpd-proxy-sse")
    try:
        ws_checks(R, "lighttpd mod_proxy WS", "ws://127.0.0.1:%d/ws" % port)
        sse_checks(R, "lighttpd mod_proxy SSE", port2, "/events")
    finally:
        srv.stop()
        srv2.stop()
        pp.stop()
        sp.stop()


run_scenarios(R, "lighttpd", (cgi_paths, fastcgi_spawned, fastcgi_external, proxy))
