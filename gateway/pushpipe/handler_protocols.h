/* handler_protocols.h - the subprotocols one handler accepts.
 *
 * With -- COMMAND every request gets the --protocol list.  With --dir each
 * handler may declare its own in a sidecar file named after the path that
 * routes to it (/chat runs DIR/chat and reads DIR/chat.protocols; two
 * symlinks to one program may declare different lists): one name a line;
 * blank lines and lines starting with '#' are ignored.  The router never
 * runs it: it is not executable, and --dir only runs executables.  When
 * the file exists it replaces --protocol for that handler (an empty file
 * accepts none), so a handler is never handed a protocol it did not claim.
 * Names that are not RFC 7230 tokens are skipped with a warning.  As
 * always, the client's order of preference picks among the accepted ones.
 */
#ifndef PUSHPIPE_HANDLER_PROTOCOLS_H
#define PUSHPIPE_HANDLER_PROTOCOLS_H

#include "core/ws_handshake.h"
#include "pushpipe/options.h"

/* A declaration longer than this is refused: a list of subprotocols is a
 * few short names, and the bound keeps the storage on the stack. */
#define HANDLER_PROTOCOLS_FILE_MAX 4096

struct handler_protocols {
    char text[HANDLER_PROTOCOLS_FILE_MAX + 1];  /* the file, names cut in place */
    const char *names[OPT_LIST_MAX];
    struct ws_server_config cfg;    /* what the handshake takes; points into this */
};

/* Fill hp->cfg for the handler --dir routed to (rt; NULL for -- COMMAND):
 * its sidecar when there is one, else o->protocols.  The sidecar obeys the
 * router's rules (a symlink may point to another file inside DIR, never
 * out).  One that exists but cannot be used (outside DIR, unreadable, over
 * HANDLER_PROTOCOLS_FILE_MAX) is logged and accepts no subprotocol rather
 * than falling back to --protocol, which the handler may not speak. */
struct route;
void handler_protocols_load(struct handler_protocols *hp, const struct options *o,
                            const struct route *rt);

#endif
