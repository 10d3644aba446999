# Streams and transports: the only code that touches descriptors for the
# protocol layer.
noinst_LIBRARIES += libppio.a
libppio_a_SOURCES = \
	gateway/io/stream.c gateway/io/stream.h \
	gateway/io/fd_stream.c gateway/io/fd_stream.h \
	gateway/io/net.c gateway/io/net.h
libppio_a_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(FCGI_CFLAGS)
IO_LIBS = libppio.a $(FCGI_LIBS) $(OPENSSL_LIBS)
