/* transport_cgi.h - pushpipe as a CGI program: one request on stdin/stdout.
 *
 * The web server starts pushpipe per request with the CGI variables in the
 * environment (GATEWAY_INTERFACE set).  EventSource streams need a server
 * that passes CGI output on as it comes (lighttpd with
 * server.stream-response-body = 2, Apache mod_cgi/mod_cgid).  WebSocket
 * needs a server that hands the connection over after "Status: 101"
 * (lighttpd cgi.upgrade = "enable"): from then on stdin and stdout carry the
 * client's raw bytes both ways.  lighttpd sends SIGTERM when the client
 * goes away; pushpipe then closes the connection and ends the handler as it
 * would on any disconnect.
 *
 * For shared hosting, where the only thing one can deploy is a CGI file,
 * a script can name pushpipe as its interpreter and hold the options:
 *
 *     #!/usr/bin/pushpipe --cgi-script
 *     --sse lines
 *     -- ./clock.sh
 *
 * The kernel runs "/usr/bin/pushpipe --cgi-script /path/to/script"; each
 * line after the first is options (whitespace-separated, '...' and "..."
 * quote, # starts a comment line), and relative paths are relative to the
 * script's directory.
 */
#ifndef PUSHPIPE_TRANSPORT_CGI_H
#define PUSHPIPE_TRANSPORT_CGI_H

#include <stddef.h>

#include "pushpipe/options.h"

/* If argv[1] is "--cgi-script[ OPTIONS]" (a #! line passes everything
 * after the interpreter as one argument) or "--cgi-script=FILE", build the
 * real argument vector: argv[0], OPTIONS, then the options in the script
 * file (argv[2], or FILE); arguments after the script (a CGI server may add
 * words of the query string) are ignored.  Changes into the script's
 * directory.  Returns 1 with *nargc and *nargv set (allocated, for the life of
 * the process), 0 if argv does not start with --cgi-script, -1 on error
 * (message in err). */
int cgi_script_args(int argc, char **argv, int *nargc, char ***nargv, char *err, size_t errlen);

/* 1 if we run as a CGI program (GATEWAY_INTERFACE is set). */
int cgi_detected(void);

/* Report a startup error to the client as a CGI "500" response, so a site
 * owner sees why instead of a bare "premature end of script headers". */
void cgi_fail(const char *message);

/* Serve the one CGI request; returns the exit status. */
int cgi_run(const struct options *o);

#endif
