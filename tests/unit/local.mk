# Check unit tests of the sans-I/O core, one program per module.
UNIT_TESTS = \
	tests/unit/test_bytebuf \
	tests/unit/test_cli_number \
	tests/unit/test_http_request \
	tests/unit/test_request_env \
	tests/unit/test_ws_handshake \
	tests/unit/test_ws_frame \
	tests/unit/test_ws_close \
	tests/unit/test_utf8 \
	tests/unit/test_handler_codec
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(OPENSSL_CFLAGS)
UNIT_LDADD = $(CORE_LIBS) $(CHECK_LIBS)
tests_unit_test_bytebuf_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cli_number_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cli_number_LDADD = $(UNIT_LDADD)
tests_unit_test_bytebuf_LDADD = $(UNIT_LDADD)
tests_unit_test_http_request_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_http_request_LDADD = $(UNIT_LDADD)
tests_unit_test_request_env_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_request_env_LDADD = $(UNIT_LDADD)
tests_unit_test_ws_handshake_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ws_handshake_LDADD = $(UNIT_LDADD)
tests_unit_test_ws_frame_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ws_frame_LDADD = $(UNIT_LDADD)
tests_unit_test_ws_close_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ws_close_LDADD = $(UNIT_LDADD)
tests_unit_test_utf8_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_utf8_LDADD = $(UNIT_LDADD)
tests_unit_test_handler_codec_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_handler_codec_LDADD = $(UNIT_LDADD)
EXTRA_DIST += tests/unit/unit.h
check_PROGRAMS += tests/unit/test_ws_hixie tests/unit/test_ws_deflate
TESTS += tests/unit/test_ws_hixie tests/unit/test_ws_deflate
tests_unit_test_ws_hixie_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ws_hixie_LDADD = $(UNIT_LDADD)
tests_unit_test_ws_deflate_CFLAGS = $(UNIT_CFLAGS) $(ZLIB_CFLAGS)
tests_unit_test_ws_deflate_LDADD = $(UNIT_LDADD)
check_PROGRAMS += tests/unit/test_sse tests/unit/test_fcgi_record tests/unit/test_cgi_env
TESTS += tests/unit/test_sse tests/unit/test_fcgi_record tests/unit/test_cgi_env
tests_unit_test_sse_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_sse_LDADD = $(UNIT_LDADD)
tests_unit_test_fcgi_record_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_fcgi_record_LDADD = $(UNIT_LDADD)
tests_unit_test_cgi_env_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cgi_env_LDADD = $(UNIT_LDADD)
# The client side of the core (issue 5, pushcat).
check_PROGRAMS += tests/unit/test_url tests/unit/test_http_response \
	tests/unit/test_ws_client tests/unit/test_sse_parse
TESTS += tests/unit/test_url tests/unit/test_http_response \
	tests/unit/test_ws_client tests/unit/test_sse_parse
tests_unit_test_url_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_url_LDADD = $(UNIT_LDADD)
tests_unit_test_http_response_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_http_response_LDADD = $(UNIT_LDADD)
tests_unit_test_ws_client_CFLAGS = $(UNIT_CFLAGS) $(ZLIB_CFLAGS)
tests_unit_test_ws_client_LDADD = $(UNIT_LDADD)
tests_unit_test_sse_parse_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_sse_parse_LDADD = $(UNIT_LDADD)
# The FastCGI stream (gateway/io) over a socketpair.
check_PROGRAMS += tests/unit/test_fcgi_stream
TESTS += tests/unit/test_fcgi_stream
tests_unit_test_fcgi_stream_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_fcgi_stream_LDADD = libppio.a $(UNIT_LDADD)
check_PROGRAMS += tests/unit/test_deadline_heap
TESTS += tests/unit/test_deadline_heap
tests_unit_test_deadline_heap_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_deadline_heap_LDADD = $(UNIT_LDADD)
check_PROGRAMS += tests/unit/test_id_index
TESTS += tests/unit/test_id_index
tests_unit_test_id_index_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_id_index_LDADD = $(UNIT_LDADD)
check_PROGRAMS += tests/unit/test_percent
TESTS += tests/unit/test_percent
tests_unit_test_percent_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_percent_LDADD = $(UNIT_LDADD)
# The event loops' load figures and the supervisor's choice of loop.
check_PROGRAMS += tests/unit/test_loop_load
TESTS += tests/unit/test_loop_load
tests_unit_test_loop_load_SOURCES = tests/unit/test_loop_load.c gateway/pushpipe/loop_load.c
tests_unit_test_loop_load_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_loop_load_LDADD = $(UNIT_LDADD)
# handler.c's spawn, with real programs (not sans-I/O: it runs /bin/sh).
check_PROGRAMS += tests/unit/test_handler_spawn
TESTS += tests/unit/test_handler_spawn
tests_unit_test_handler_spawn_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_handler_spawn_LDADD = $(SESSION_LIBS) $(IO_LIBS) $(UNIT_LDADD)
