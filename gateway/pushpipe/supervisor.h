/* supervisor.h - the accept loop: accepts, checks limits, forks one worker
 * per connection, reaps workers, and handles signals.  It never parses a
 * byte of a request, so a crash in one connection cannot touch another. */
#ifndef PUSHPIPE_SUPERVISOR_H
#define PUSHPIPE_SUPERVISOR_H

#include "pushpipe/options.h"

/* Run until SIGTERM/SIGINT; returns the process exit status. */
int supervisor_run(int listen_fd, const struct options *o);

#endif
