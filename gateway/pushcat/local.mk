# pushcat: the client, on the same core, io and relay as pushpipe.
bin_PROGRAMS += pushcat
pushcat_SOURCES = \
	gateway/pushcat/main.c \
	gateway/pushcat/options.c gateway/pushcat/options.h \
	gateway/pushcat/report.c gateway/pushcat/report.h \
	gateway/pushcat/dial.c gateway/pushcat/dial.h \
	gateway/pushcat/program.c gateway/pushcat/program.h \
	gateway/pushcat/ws_session.c gateway/pushcat/ws_session.h \
	gateway/pushcat/sse_session.c gateway/pushcat/sse_session.h
pushcat_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(ZLIB_CFLAGS)
pushcat_LDADD = $(SESSION_LIBS) $(IO_LIBS) $(CORE_LIBS)
dist_man_MANS += doc/pushcat.1

