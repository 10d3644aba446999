# One WebSocket session, shared with pushcat (gateway/pushcat): the relay
# loop, handler spawning and the log.
noinst_LIBRARIES += libppsession.a
libppsession_a_SOURCES = \
	gateway/pushpipe/log.c gateway/pushpipe/log.h \
	gateway/pushpipe/relay.c gateway/pushpipe/relay.h \
	gateway/pushpipe/handler.c gateway/pushpipe/handler.h
libppsession_a_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(ZLIB_CFLAGS)
SESSION_LIBS = libppsession.a

bin_PROGRAMS += pushpipe
pushpipe_SOURCES = \
	gateway/pushpipe/main.c \
	gateway/pushpipe/options.c gateway/pushpipe/options.h \
	gateway/pushpipe/supervisor.c gateway/pushpipe/supervisor.h \
	gateway/pushpipe/pool.c gateway/pushpipe/pool.h \
	gateway/pushpipe/loop_load.c gateway/pushpipe/loop_load.h \
	gateway/pushpipe/worker.c gateway/pushpipe/worker.h \
	gateway/pushpipe/handler_protocols.c gateway/pushpipe/handler_protocols.h \
	gateway/pushpipe/route.c gateway/pushpipe/route.h \
	gateway/pushpipe/privileges.c gateway/pushpipe/privileges.h \
	gateway/pushpipe/static_files.c gateway/pushpipe/static_files.h \
	gateway/pushpipe/request.c gateway/pushpipe/request.h
pushpipe_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(FCGI_CFLAGS)
pushpipe_LDADD = $(SESSION_LIBS) $(IO_LIBS) $(CORE_LIBS)
# EventSource streams; FastCGI and CGI transports (issue 3).
pushpipe_SOURCES += gateway/pushpipe/sse_relay.c gateway/pushpipe/sse_relay.h
pushpipe_SOURCES += gateway/pushpipe/transport_fcgi.c gateway/pushpipe/transport_fcgi.h \
	gateway/pushpipe/transport_cgi.c gateway/pushpipe/transport_cgi.h
# --console: the page is compiled in, generated from console.html (issue 8).
pushpipe_SOURCES += gateway/pushpipe/console.c gateway/pushpipe/console.h
nodist_pushpipe_SOURCES = gateway/pushpipe/console_page.c
EXTRA_DIST += gateway/pushpipe/console.html
CLEANFILES += gateway/pushpipe/console_page.c
gateway/pushpipe/console_page.c: $(srcdir)/gateway/pushpipe/console.html
	$(AM_V_GEN)$(MKDIR_P) gateway/pushpipe && { \
	  echo '/* Generated from console.html by make: do not edit. */'; \
	  echo '#include "pushpipe/console.h"'; \
	  echo 'const unsigned char console_page[] = {'; \
	  od -An -v -tx1 $(srcdir)/gateway/pushpipe/console.html | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; \
	  echo 'const size_t console_page_len = sizeof console_page;'; \
	} > $@-t && mv $@-t $@
