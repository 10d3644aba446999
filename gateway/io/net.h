/* net.h - listening sockets and peer addresses. */
#ifndef PUSHPIPE_NET_H
#define PUSHPIPE_NET_H

#include <stddef.h>

/* Listen on "HOST:PORT", "[V6]:PORT", ":PORT" (all addresses) or
 * "unix:PATH".  The socket is close-on-exec and non-blocking.  Returns the
 * descriptor, or -1 with a message in err. */
int net_listen(const char *spec, int backlog, char *err, size_t errlen);

/* Numeric address and port of the peer / of our end ("" for unix sockets,
 * where the address is "unix" and the port ""). */
void net_peer(int fd, char *addr, size_t addrlen, char *port, size_t portlen);
void net_local(int fd, char *addr, size_t addrlen, char *port, size_t portlen);

/* Set O_NONBLOCK (nonblock != 0) or clear it.  Returns 0 or -1. */
int net_set_nonblock(int fd, int nonblock);

#endif
