# Sans-I/O protocol code: no sockets, no globals, no logging.
noinst_LIBRARIES += libppcore.a
libppcore_a_SOURCES = \
	gateway/core/bytebuf.c gateway/core/bytebuf.h \
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
