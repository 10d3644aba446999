/* route.h - mapping a request path to a file inside a directory, never
 * outside it (--dir handlers and --static files share this rule). */
#ifndef PUSHPIPE_ROUTE_H
#define PUSHPIPE_ROUTE_H

#include <limits.h>
#include <stddef.h>

struct route {
    char file[PATH_MAX];        /* resolved absolute path of the file */
    char script_name[1024];     /* the URL path that named it */
    char path_info[1024];       /* the rest of the URL path after it */
};

enum { ROUTE_FILE = 0, ROUTE_DIRECTORY = 1, ROUTE_NOT_FOUND = -1 };

/* Resolve the decoded URL path (starting with '/') under dir.
 * want_exec: find the first path segment that is an executable regular file
 * (the rest becomes path_info), as CGI does; otherwise the whole path must
 * name a regular file or a directory.  Refuses "." and ".." segments,
 * hidden files (segments starting with '.'), and anything whose real path
 * (after symlinks) is not inside dir.  Returns ROUTE_FILE, ROUTE_DIRECTORY
 * (static only) or ROUTE_NOT_FOUND. */
int route_resolve(const char *dir, const char *url_path, int want_exec, struct route *rt);

#endif
