/* pool.h - the event-loop worker (--workers N): one process holding many
 * listener connections; see pool.c. */
#ifndef PUSHPIPE_POOL_H
#define PUSHPIPE_POOL_H

#include "pushpipe/loop_load.h"
#include "pushpipe/options.h"

/* Serve connections that arrive on chan (a SOCK_SEQPACKET socket: each
 * message an unsigned long connection id with the socket as SCM_RIGHTS;
 * the id is sent back when the connection is over) until SIGTERM, SIGINT,
 * SIGUSR1 or the supervisor's end closes, and every connection has ended.
 * SIGHUP reopens the log.  How busy it is goes to *load (NULL: nowhere).
 * Returns the process exit status. */
int pool_run(int chan, const struct options *o, atomic_uint *load);

/* Its process name (comm, as ps shows it). */
#define POOL_PROCESS_NAME "pushpipe-loop"


#endif
