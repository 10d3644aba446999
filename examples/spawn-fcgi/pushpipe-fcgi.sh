#!/bin/sh
# pushpipe as a FastCGI server started by spawn-fcgi (for daemontools, runit,
# or any supervisor): spawn-fcgi creates the socket and runs pushpipe with it
# on fd 0 (-n: in the foreground, no fork).  Point the web server's FastCGI
# at 127.0.0.1:@FCGI_PORT@ (nginx fastcgi_pass, Apache mod_proxy_fcgi,
# lighttpd "host"/"port").  -u/-g take effect when started as root.
# Fill in the @...@ placeholders (the test suite does).
exec spawn-fcgi -n -a 127.0.0.1 -p @FCGI_PORT@ -u www-data -g www-data -- \
    @PUSHPIPE@ --sse lines --heartbeat 15 -- @HANDLER@
