bin_PROGRAMS += pushpipe
pushpipe_SOURCES = \
	gateway/pushpipe/main.c \
	gateway/pushpipe/options.c gateway/pushpipe/options.h \
	gateway/pushpipe/log.c gateway/pushpipe/log.h \
	gateway/pushpipe/supervisor.c gateway/pushpipe/supervisor.h \
	gateway/pushpipe/worker.c gateway/pushpipe/worker.h \
	gateway/pushpipe/relay.c gateway/pushpipe/relay.h \
	gateway/pushpipe/handler.c gateway/pushpipe/handler.h \
	gateway/pushpipe/route.c gateway/pushpipe/route.h \
	gateway/pushpipe/static_files.c gateway/pushpipe/static_files.h \
	gateway/pushpipe/request.c gateway/pushpipe/request.h
pushpipe_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(FCGI_CFLAGS)
pushpipe_LDADD = $(IO_LIBS) $(CORE_LIBS)
