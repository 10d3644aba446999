# Integration tests drive the real binary with real clients on 127.0.0.1.
INTEGRATION_TESTS = \
	tests/integration/ws_python.py \
	tests/integration/ws_node.js \
	tests/integration/conformance_pushpipe.py \
	tests/integration/ws_protocols.py \
	tests/integration/ws_hixie.py \
	tests/integration/ws_protocols_node.js \
	tests/integration/hardening.py \
	tests/integration/pool.py \
	tests/integration/soak_ci.sh \
	tests/integration/bench_smoke.sh
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/pplib.py \
	tests/integration/conformance.py tests/integration/ref_echo_server.js \
	tests/soak/soak.py
TEST_EXTENSIONS = .sh .py .js
SH_LOG_COMPILER = /bin/bash
PY_LOG_COMPILER = /usr/bin/python3
JS_LOG_COMPILER = /usr/bin/node
# The raw-socket client of ws_protocols.py and ws_hixie.py (issue 4).
EXTRA_DIST += tests/integration/rawws.py
# FastCGI, CGI and EventSource behind real lighttpd, Apache, nginx and
# haproxy, with the configurations in examples/ (issue 3).
INTEGRATION_TESTS += \
	tests/integration/eventsource.py \
	tests/integration/sse_node.js \
	tests/integration/fastcgi.py \
	tests/integration/lighttpd.py \
	tests/integration/apache.py \
	tests/integration/nginx.py \
	tests/integration/haproxy.py
EXTRA_DIST += tests/integration/servers.py tests/integration/fcgi_client.py
# Stock handlers, scale-out over Redis behind haproxy, the man page's examples (issue 8).
INTEGRATION_TESTS += tests/integration/handlers.py tests/integration/scaleout.py \
	tests/integration/manpage.py
EXTRA_DIST += tests/integration/handlerlib.py
# pushcat, the client: ws/wss against foreign servers and pushpipe, a real
# CONNECT proxy, EventSource, and the man page's examples (issue 5).
INTEGRATION_TESTS += tests/integration/pushcat_ws.py tests/integration/pushcat_tls.py \
	tests/integration/pushcat_proxy.py tests/integration/pushcat_sse.py \
	tests/integration/pushcat_man.py
EXTRA_DIST += tests/integration/pclib.py tests/integration/pushcat_servers.js
