/* privileges.h - giving up root after the listening socket is bound. */
#ifndef PUSHPIPE_PRIVILEGES_H
#define PUSHPIPE_PRIVILEGES_H

#include <stddef.h>

#include "pushpipe/options.h"

/* Started as root: switch to --user/--group, or refuse (handlers would run
 * as root) unless --allow-root.  Not root: --user is an error unless it
 * names the current user.  Returns 0, or -1 with a message in err. */
int privileges_drop(const struct options *o, char *err, size_t errlen);

#endif
