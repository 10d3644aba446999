/* console.h - the test console page (--console): GET /console answers a
 * page, compiled into the binary from console.html, that connects to any
 * handler path over WebSocket or EventSource and lets a person send and
 * watch messages. */
#ifndef PUSHPIPE_CONSOLE_H
#define PUSHPIPE_CONSOLE_H

#include <stddef.h>

#include "pushpipe/request.h"

/* The page (generated console_page.c). */
extern const unsigned char console_page[];
extern const size_t console_page_len;

/* Is this request path (SCRIPT_NAME) the console's?  "/console" or "/console/". */
int console_is_path(const char *path);

/* Answer GET (or HEAD) with the page; returns the status sent. */
int console_serve(struct request *r, int head_only);

#endif
