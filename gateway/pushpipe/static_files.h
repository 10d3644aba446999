/* static_files.h - plain files for ordinary GET requests (--static): the
 * demo pages and a console, not a general web server. */
#ifndef PUSHPIPE_STATIC_FILES_H
#define PUSHPIPE_STATIC_FILES_H

#include <stdint.h>

#include "io/stream.h"

/* Answer GET (or HEAD when head_only) for url_path from dir.  Directories
 * are served through their index.html.  Returns the HTTP status sent (200,
 * 301, 404, 500); *bytes counts what was written. */
int static_serve(struct stream *s, const char *dir, const char *url_path,
                 int head_only, uint64_t *bytes);

#endif
