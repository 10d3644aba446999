# The demo site and ready configurations for web servers.
examplesdir = $(pkgdatadir)/examples
sitedir = $(examplesdir)/site
dist_site_DATA = examples/site/index.html examples/site/style.css examples/site/demo.js \
	examples/site/chat.html examples/site/chat.js examples/site/live.html examples/site/live.js examples/site/favicon.svg
# Ready web server configurations (issue 3); the integration tests run them.
# nobase: installed as $(pkgdatadir)/examples/lighttpd/cgi.conf and so on.
webconfdir = $(pkgdatadir)
nobase_dist_webconf_DATA = \
	examples/lighttpd/cgi.conf examples/lighttpd/fastcgi-spawned.conf \
	examples/lighttpd/fastcgi-external.conf examples/lighttpd/proxy.conf \
	examples/apache/proxy_fcgi.conf examples/apache/fcgid.conf examples/apache/cgi.conf \
	examples/apache/htaccess examples/apache/proxy_ws.conf \
	examples/nginx/pushpipe.conf examples/haproxy/haproxy.cfg
nobase_dist_webconf_SCRIPTS = \
	examples/cgi/events.cgi examples/cgi/chat.cgi examples/spawn-fcgi/pushpipe-fcgi.sh
# A systemd unit for the stock handlers (issue 8).
systemdexampledir = $(examplesdir)/systemd
dist_systemdexample_DATA = examples/systemd/pushpipe.service
