#!/usr/bin/python3
"""pushpipe behind Apache 2.4, with the configurations in examples/apache
and examples/cgi:

  mod_proxy_fcgi   EventSource to an external pushpipe --fcgi (flushpackets=on)
  mod_fcgid        EventSource, Apache spawning pushpipe (FcgidOutputBufferSize 0)
  mod_cgi          EventSource through plain CGI, enabled by the shared-hosting
                   .htaccess; a WebSocket request there gets 501, not a hang
  mod_proxy_http   WebSocket with upgrade=websocket, EventSource
  mod_proxy_wstunnel  WebSocket on a ws:// URL
"""

import os
import pwd
import shutil

from pplib import Results, free_port
from servers import (run_scenarios, IS_ROOT, apache, pushpipe_fcgi, pushpipe_listen, sse_checks,
                     template, ws_checks, ws_refused)

R = Results("apache")
FAST = {"--heartbeat 15": "--heartbeat 1"}


def proxy_fcgi(work):
    pp, fport = pushpipe_fcgi(work, ["--sse", "lines", "--heartbeat", "1", "--", work.sse_handler])
    port = free_port()
    site = template("apache/proxy_fcgi.conf", work.values(FCGI_PORT=fport))
    srv = apache(work, site, port, ["proxy", "proxy_fcgi"], name="apache-proxy-fcgi")
    try:
        sse_checks(R, "apache mod_proxy_fcgi SSE", port, "/events")
    finally:
        srv.stop()
        pp.stop()


def fcgid(work):
    v = work.values()
    work.mkdir("htdocs", "fcgid")
    work.write("htdocs/fcgid/events.fcgi", template("cgi/events.cgi", v, FAST), 0o755)
    ipc = work.mkdir("fcgid-ipc")
    if IS_ROOT:
        pw = pwd.getpwnam("www-data")
        os.chown(ipc, pw.pw_uid, pw.pw_gid)
    port = free_port()
    extra = 'FcgidIPCDir "%s"\nFcgidProcessTableFile "%s/fcgid-shm"\n' % (ipc, work.path)
    srv = apache(work, template("apache/fcgid.conf", v), port, ["fcgid"], extra=extra,
                 name="apache-fcgid")
    try:
        sse_checks(R, "apache mod_fcgid SSE", port, "/fcgid/events.fcgi")
    finally:
        srv.stop()


def cgi(work):
    v = work.values()
    work.mkdir("htdocs", "cgi")
    work.write("htdocs/cgi/events.cgi", template("cgi/events.cgi", v, FAST), 0o755)
    work.write("htdocs/cgi/chat.cgi", template("cgi/chat.cgi", v), 0o755)
    work.write("htdocs/cgi/.htaccess", template("apache/htaccess", v))
    port = free_port()
    srv = apache(work, template("apache/cgi.conf", v), port, ["cgi"], mpm="prefork",
                 name="apache-cgi")
    try:
        sse_checks(R, "apache mod_cgi SSE (.htaccess)", port, "/cgi/events.cgi")
        status = ws_refused("ws://127.0.0.1:%d/cgi/chat.cgi" % port)
        R.check("apache mod_cgi cannot hand over a WebSocket: 501, not a hang", status == 501,
                "status %s" % status)
    finally:
        srv.stop()


def proxy_ws(work):
    pp, lport = pushpipe_listen(work, ["--mode", "framed", "--heartbeat", "1", "--dir", work.mkdir("bin")])
    # --dir maps /ws and /events to these (symlinks out of DIR would be refused)
    shutil.copy(work.ws_handler, os.path.join(work.path, "bin", "ws"))
    shutil.copy(work.sse_handler, os.path.join(work.path, "bin", "events"))
    port = free_port()
    site = template("apache/proxy_ws.conf", work.values(LISTEN_PORT=lport))
    srv = apache(work, site, port, ["proxy", "proxy_http", "proxy_wstunnel"], name="apache-proxy")
    try:
        ws_checks(R, "apache mod_proxy_http upgrade=websocket WS", "ws://127.0.0.1:%d/ws" % port)
        ws_checks(R, "apache mod_proxy_wstunnel WS", "ws://127.0.0.1:%d/ws-tunnel" % port)
        sse_checks(R, "apache mod_proxy_http SSE", port, "/events")
    finally:
        srv.stop()
        pp.stop()


run_scenarios(R, "apache", (proxy_fcgi, fcgid, cgi, proxy_ws))
