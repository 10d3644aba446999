# Stock handlers, installed for site owners to use or copy: shell scripts and
# broadcast, a small C program.  Installed into $(pkglibexecdir)/handlers
# (pushpipe --dir /usr/local/libexec/pushpipe/handlers); before install the
# build tree's handlers/ holds all of them (scripts are copied there in
# out-of-tree builds), which is what demo.sh and the tests run.
handlersdir = $(pkglibexecdir)/handlers
dist_handlers_SCRIPTS = handlers/echo handlers/clock handlers/tail
handlers_PROGRAMS = handlers/broadcast
handlers_broadcast_SOURCES = handlers/broadcast.c

all-local: handlers/.scripts-stamp
handlers/.scripts-stamp: $(dist_handlers_SCRIPTS:%=$(srcdir)/%)
	$(AM_V_GEN)if test "$(srcdir)" != .; then \
	  $(MKDIR_P) handlers && \
	  for f in $(dist_handlers_SCRIPTS); do cp -p "$(srcdir)/$$f" "$$f" || exit 1; done; \
	fi; touch $@
clean-local: clean-handler-copies
clean-handler-copies:
	-rm -f handlers/.scripts-stamp
	-if test "$(srcdir)" != .; then rm -f $(dist_handlers_SCRIPTS); fi
.PHONY: clean-handler-copies
