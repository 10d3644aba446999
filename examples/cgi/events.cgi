#!@PUSHPIPE@ --cgi-script
# An EventSource endpoint as one CGI file: all a shared-hosting account
# needs.  The first line makes pushpipe the interpreter: the kernel runs
#   @PUSHPIPE@ --cgi-script /path/to/events.cgi
# and pushpipe reads its options from the lines below (whitespace-separated,
# '...' or "..." quote, # starts a comment).  Relative paths are relative to
# this file's directory.  Make it executable (chmod 755).
#
# Each line the handler prints becomes one event (--sse raw: the handler
# writes event:/id:/retry:/data: fields itself).
--sse lines
# A comment line after 15 s of silence keeps proxies from closing the
# stream and shows pushpipe a client that has gone away.
--heartbeat 15
# Where the handler program is; everything after -- is its command line.
-- @HANDLER@
