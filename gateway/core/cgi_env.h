/* cgi_env.h - a request_env from CGI variables handed over by a web server:
 * the environment of a CGI program, or the PARAMS of a FastCGI request.
 *
 * Web servers pass much more than the request (PATH, SERVER_ADMIN, their
 * own settings, whatever SetEnv/bin-environment adds).  Handlers get the
 * same clean set in every transport: the CGI/1.1 variables, the common
 * extensions, and HTTP_* request headers (never HTTP_PROXY: httpoxy).
 */
#ifndef PUSHPIPE_CGI_ENV_H
#define PUSHPIPE_CGI_ENV_H

#include <stddef.h>

#include "request_env.h"

/* 1 if NAME (name[0..n)) is a variable that describes the request. */
int cgi_env_is_request_var(const char *name, size_t n);

/* Copy the request variables among vars ("NAME=VALUE" strings, NULL-
 * terminated) into e.  GATEWAY_INTERFACE defaults to CGI/1.1, and
 * SCRIPT_NAME to the path of REQUEST_URI when the server sent none.
 * Returns 0, or -1 when e is full. */
int cgi_env_from_vars(struct request_env *e, char *const *vars);

#endif
