/* program.h - the two things a session talks to on our side: pushcat's own
 * stdin/stdout, or a program (--exec / -- COMMAND) run with pushpipe's
 * handler contract.  Both are a struct handler for the relay. */
#ifndef PUSHCAT_PROGRAM_H
#define PUSHCAT_PROGRAM_H

#include "pushcat/options.h"
#include "pushpipe/handler.h"

/* Our stdin (what to send) and stdout (what arrived) as a handler without a
 * process.  The relay gets duplicates it may close, made non-blocking;
 * since O_NONBLOCK belongs to the open file, which a terminal shares with
 * the shell, pc_stdio_restore must put the flags back before exit (it is
 * async-signal-safe).  Returns 0, or -1 (errno). */
int pc_stdio_handler(struct handler *h);
void pc_stdio_restore(void);

/* Spawn the program with our environment (minus inherited PUSHPIPE_*
 * variables) plus vars ("NAME=VALUE" strings, NULL-terminated).  Returns 0
 * or an errno value. */
int pc_spawn(const struct pc_options *o, struct handler *h, const char *const *vars);

/* "COMMAND" for messages. */
const char *pc_program_name(const struct pc_options *o);

/* 1 if the program ended badly: a non-zero exit or a signal. */
int pc_program_failed(const struct handler *h);

#endif
