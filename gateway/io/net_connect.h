/* net_connect.h - outgoing TCP connections (pushcat). */
#ifndef PUSHPIPE_NET_CONNECT_H
#define PUSHPIPE_NET_CONNECT_H

#include <stddef.h>

/* Connect to host (a name, an IPv4 or an IPv6 literal without brackets) and
 * port, trying each address getaddrinfo gives in turn, within timeout_ms in
 * all (name resolution itself is not bounded: getaddrinfo has no timeout).
 * The socket is close-on-exec, non-blocking, with TCP_NODELAY (WebSocket
 * frames are small and latency matters more than packet count).  Returns the
 * descriptor, or -1 with a message in err; errno is EINTR when a signal cut
 * the wait short. */
int net_connect(const char *host, unsigned port, int timeout_ms, char *err, size_t errlen);

#endif
