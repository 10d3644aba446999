/* fd_stream.h - a stream over plain descriptors: one socket (listener) or a
 * read/write pair (CGI's stdin and stdout). */
#ifndef PUSHPIPE_FD_STREAM_H
#define PUSHPIPE_FD_STREAM_H

#include "io/stream.h"

/* Both descriptors are made non-blocking.  With rfd == wfd the stream is a
 * socket and shutdown_write half-closes it; otherwise it closes wfd. */
int fd_stream_init(struct stream *s, int rfd, int wfd);

#endif
