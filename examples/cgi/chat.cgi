#!@PUSHPIPE@ --cgi-script
# A WebSocket endpoint as one CGI file.  Only a web server that hands the
# connection to the CGI program after "Status: 101" can serve it: lighttpd
# with cgi.upgrade = "enable" (see ../lighttpd/cgi.conf).  Elsewhere
# pushpipe answers 501 and explains.
#
# framed: every message reaches the handler as "TYPE LENGTH\nPAYLOAD\n",
# so `cat` is an exact echo; see the README for the record format.
--mode framed
-- @WS_HANDLER@
