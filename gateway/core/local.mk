# Sans-I/O protocol code: no sockets, no globals, no logging.
noinst_LIBRARIES += libppcore.a
libppcore_a_SOURCES = \
	gateway/core/bytebuf.c gateway/core/bytebuf.h \
	gateway/core/percent.c gateway/core/percent.h \
	gateway/core/cli_number.c gateway/core/cli_number.h \
	gateway/core/http_grammar.c gateway/core/http_grammar.h \
	gateway/core/http_request.c gateway/core/http_request.h \
	gateway/core/request_env.c gateway/core/request_env.h \
	gateway/core/ws_handshake.c gateway/core/ws_handshake.h \
	gateway/core/ws_frame.c gateway/core/ws_frame.h \
	gateway/core/ws_close.c gateway/core/ws_close.h \
	gateway/core/utf8.c gateway/core/utf8.h \
	gateway/core/handler_codec.c gateway/core/handler_codec.h
libppcore_a_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(ZLIB_CFLAGS)
CORE_LIBS = libppcore.a $(OPENSSL_LIBS) $(ZLIB_LIBS)
libppcore_a_SOURCES += gateway/core/ws_hixie.c gateway/core/ws_hixie.h gateway/core/ws_deflate.c gateway/core/ws_deflate.h
# EventSource framing, FastCGI records, CGI variables from a web server (issue 3).
libppcore_a_SOURCES += gateway/core/sse.c gateway/core/sse.h \
	gateway/core/fcgi_record.c gateway/core/fcgi_record.h \
	gateway/core/cgi_env.c gateway/core/cgi_env.h
# The client side: URLs and no_proxy, HTTP responses, the WebSocket client
# handshake, the EventSource stream parser (issue 5, pushcat).
libppcore_a_SOURCES += gateway/core/url.c gateway/core/url.h \
	gateway/core/http_response.c gateway/core/http_response.h \
	gateway/core/ws_client.c gateway/core/ws_client.h \
	gateway/core/sse_parse.c gateway/core/sse_parse.h
# The earliest of many deadlines, for the event-loop worker (issue 7).
libppcore_a_SOURCES += gateway/core/deadline_heap.c gateway/core/deadline_heap.h
# Where a connection sits in the supervisor's table, by id or pid (issue 7).
libppcore_a_SOURCES += gateway/core/id_index.c gateway/core/id_index.h
