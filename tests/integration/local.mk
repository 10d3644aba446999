# Integration tests drive the real binary with real clients on 127.0.0.1.
INTEGRATION_TESTS = \
	tests/integration/ws_python.py \
	tests/integration/ws_node.js \
	tests/integration/conformance_pushpipe.py
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/pplib.py \
	tests/integration/conformance.py tests/integration/ref_echo_server.js
TEST_EXTENSIONS = .sh .py .js
SH_LOG_COMPILER = /bin/bash
PY_LOG_COMPILER = /usr/bin/python3
JS_LOG_COMPILER = /usr/bin/node
