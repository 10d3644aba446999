# Stock handlers, installed for site owners to use or copy.
handlersdir = $(pkgdatadir)/handlers
dist_handlers_SCRIPTS = handlers/echo handlers/clock
