/* handler.h - spawning a handler program and seeing it to its end.
 *
 * The handler gets three pipes (stdin, stdout, stderr), runs in its own
 * process group (so signals reach whatever it starts too) with default signal
 * dispositions, and the environment the caller built.  Every handler is
 * reaped by handler_finish, which escalates from stdin EOF to SIGTERM to
 * SIGKILL.
 */
#ifndef PUSHPIPE_HANDLER_H
#define PUSHPIPE_HANDLER_H

#include <sys/types.h>

struct handler {
    pid_t pid;      /* <= 0: no process, just descriptors (pushcat's stdio) */
    int in_fd;      /* write end of the handler's stdin, -1 once closed */
    int out_fd;     /* read end of its stdout, -1 once closed */
    int err_fd;     /* read end of its stderr, -1 once closed */
    int pidfd;      /* readable when the handler exits; -1 if unsupported */
    int exited;     /* set once reaped */
    int status;     /* wait status once exited */
    char errbuf[1024];  /* partial stderr line */
    size_t errlen;
    /* handler_finish_start/step: where the escalation stands */
    int ending;             /* 0 not begun; 1 grace; 2 after SIGTERM; 3 after SIGKILL */
    long long end_deadline; /* CLOCK_MONOTONIC ms: when to escalate */
    unsigned end_kill_ms;
};

/* Resource limits for every handler this process spawns (--handler-rlimit);
 * 0 leaves a limit as inherited.  Process-wide, like the log: set once at
 * startup. */
struct handler_limits {
    unsigned long long as;      /* RLIMIT_AS, bytes */
    unsigned long long nofile;  /* RLIMIT_NOFILE */
    unsigned long long cpu;     /* RLIMIT_CPU, seconds */
};
void handler_set_limits(const struct handler_limits *lim);

/* This process raised its own RLIMIT_NOFILE (an event-loop worker holds
 * five descriptors per connection); handlers get rl instead. */
struct rlimit;
void handler_set_nofile(const struct rlimit *rl);

/* Spawn argv[0] (a path, or a name looked up in PATH) with envp.  The
 * parent's ends are non-blocking and close-on-exec.  Returns 0, or an errno
 * value (ENOENT, EACCES, EAGAIN ...) when it could not be started: exec
 * failures are reported here, not later, because we are suspended until
 * the child has exec'd or failed (vfork semantics).  Under valgrind, which
 * runs a vfork as a fork, they show as the handler's exit status 127. */
int handler_spawn(struct handler *h, char *const argv[], char *const envp[]);

/* Programs started from now on also get the descriptors this process
 * inherited open, as a shell's children do (pushcat's --exec, where
 * `3>file` may be meant for the program).  Otherwise a handler gets 0, 1
 * and 2 only, where the kernel allows (handler.c, lean_spawn). */
void handler_keep_inherited(void);

/* Replace a bare command name in argv[0] by its path, searched once in
 * PATH at startup rather than by every spawn.  Returns 0, or ENOENT /
 * EACCES when no executable of that name is found (argv[0] unchanged). */
int handler_resolve_command(char **argv);

/* Reap without blocking: 1 if the handler has exited (status set), 0 if not. */
int handler_check_exit(struct handler *h);

/* Read the handler's stderr without blocking and log complete lines.
 * Returns 0 while it stays open, 1 at EOF (err_fd is then closed). */
int handler_drain_stderr(struct handler *h);

void handler_close_stdin(struct handler *h);
void handler_close_stdout(struct handler *h);

/* Send sig to the handler's process group. */
void handler_signal(struct handler *h, int sig);

/* End the handler: close its stdin, wait up to grace_ms for it to exit,
 * SIGTERM, wait up to kill_ms, SIGKILL, reap.  Logs its stderr meanwhile.
 * Always returns with the handler reaped and every descriptor closed. */
void handler_finish(struct handler *h, unsigned grace_ms, unsigned kill_ms);

/* The same without blocking, for an event loop that runs many handlers:
 * start closes stdin and stdout; step does what is due at now_ms (reap,
 * log stderr, escalate) and returns 1 once the handler is reaped and every
 * descriptor closed, else 0 with *deadline_ms set to when it must be called
 * again at the latest (sooner when pidfd or err_fd becomes readable). */
void handler_finish_start(struct handler *h, long long now_ms, unsigned grace_ms, unsigned kill_ms);
int handler_finish_step(struct handler *h, long long now_ms, long long *deadline_ms);

/* A pidfd for any child (readable once it exits), close-on-exec; -1 where
 * the kernel has none. */
int handler_open_pidfd(pid_t pid);

/* "exit 0", "exit 3", "signal 9 (Killed)" */
void handler_describe_status(int status, char *out, size_t outlen);

#endif
