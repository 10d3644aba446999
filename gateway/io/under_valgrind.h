/* under_valgrind.h - RUNNING_ON_VALGRIND, or 0 where valgrind's header is
 * not installed (a build nobody runs under valgrind).
 *
 * Valgrind runs fork and vfork (as a fork: the child shares no memory)
 * but stops the whole process at any other clone with CLONE_VM, so the
 * handler spawn must know (pushpipe/handler.c).  The check costs a few
 * instructions and is 0 outside valgrind. */
#ifndef PUSHPIPE_UNDER_VALGRIND_H
#define PUSHPIPE_UNDER_VALGRIND_H

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#endif
