# Streams and transports: the only code that touches descriptors for the
# protocol layer.
noinst_LIBRARIES += libppio.a
libppio_a_SOURCES = \
	gateway/io/stream.c gateway/io/stream.h gateway/io/mono_clock.h gateway/io/under_valgrind.h \
	gateway/io/fd_stream.c gateway/io/fd_stream.h \
	gateway/io/net.c gateway/io/net.h
libppio_a_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(FCGI_CFLAGS)
IO_LIBS = libppio.a $(FCGI_LIBS) $(OPENSSL_LIBS)
# FastCGI requests as non-blocking streams (issue 3).
libppio_a_SOURCES += gateway/io/fcgi_stream.c gateway/io/fcgi_stream.h
# Outgoing TCP and TLS (OpenSSL) streams (issue 5, pushcat).
libppio_a_SOURCES += gateway/io/net_connect.c gateway/io/net_connect.h \
	gateway/io/tls_stream.c gateway/io/tls_stream.h
