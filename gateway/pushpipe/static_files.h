/* static_files.h - plain files for ordinary GET requests (--static): the
 * demo pages and a console, not a general web server. */
#ifndef PUSHPIPE_STATIC_FILES_H
#define PUSHPIPE_STATIC_FILES_H

#include <stdint.h>

#include "pushpipe/request.h"

/* Answer GET (or HEAD when head_only) for url_path from dir.  Directories
 * are served through their index.html.  Returns the HTTP status sent (200,
 * 301, 404, 500);  */
int static_serve(struct request *r, const char *dir, const char *url_path, int head_only);

#endif
