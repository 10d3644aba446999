/* log.h - the one place pushpipe writes diagnostics.
 *
 * Library code returns error codes; the supervisor, the workers and the
 * relay call log_msg.  Each line goes out in a single write(2) so lines from
 * concurrent workers sharing the log descriptor never interleave.
 */
#ifndef PUSHPIPE_LOG_H
#define PUSHPIPE_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Open the log: path NULL means stderr.  Returns 0 or -1 (errno set). */
int log_open(const char *path, int level);
/* Reopen the same path (SIGHUP, after log rotation). */
int log_reopen(void);
/* The program name in every line ("pushpipe" unless set; pushcat shares
 * this log).  name must outlive the process's logging. */
void log_set_program(const char *name);
/* Tag every later line of this process, e.g. with the connection id. */
void log_set_tag(const char *tag);
/* The same as log_set_tag("#id"), for a process that switches between
 * connections all the time; 0 clears it. */
void log_set_conn(unsigned long id);
int log_level_from_name(const char *name);
int log_enabled(int level);

__attribute__((format(printf, 2, 3)))
void log_msg(int level, const char *fmt, ...);

/* Log a handler's stderr bytes: each complete line becomes one log line
 * tagged with the connection id. */
void log_handler_line(const char *line, unsigned long len);
/* raw != 0: handler lines go out as they are, without time, tag or level
 * (pushcat: the program is the user's own, its stderr is theirs). */
void log_set_handler_raw(int raw);

#endif
