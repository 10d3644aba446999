#include "pushpipe/handler.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <limits.h>
#include <stdlib.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/mono_clock.h"
#include "io/under_valgrind.h"
#include "pushpipe/log.h"

static struct handler_limits limits;     /* all zero: none */
/* The descriptor limit handlers get when this process raised its own. */
static struct rlimit nofile_for_handlers;
static int nofile_raised;

void handler_set_nofile(const struct rlimit *rl)
{
    nofile_for_handlers = *rl;
    nofile_raised = 1;
}

void handler_set_limits(const struct handler_limits *lim)
{
    limits = *lim;
}

/* The signals whose disposition is not the default here: ignored ones
 * (SIGPIPE...) survive exec, so the child resets them, and caught ones
 * must not run their handler in a child that shares our memory.
 * Dispositions are set once per process (at start, or in a new worker),
 * so the set is computed once per process id. */
static const sigset_t *changed_signals(void)
{
    static sigset_t set;
    static pid_t computed_for;
    pid_t me = getpid();
    if (computed_for != me) {
        sigemptyset(&set);
        for (int sig = 1; sig < NSIG; sig++) {
            struct sigaction sa;
            if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL)
                sigaddset(&set, sig);
        }
        computed_for = me;
    }
    return &set;
}

/* In the child: fd onto target, without close-on-exec. */
static int move_fd(int fd, int target)
{
    if (fd == target)
        return fcntl(fd, F_SETFD, 0);
    return dup2(fd, target) < 0 ? -1 : 0;
}

/* Start argv with stdin, stdout and stderr on in0, out1 and err2, in a
 * process group of its own, with default signal dispositions, an empty
 * signal mask and the handler resource limits.
 *
 * Until execve the child borrows our memory (CLONE_VM, as vfork and
 * posix_spawn do, but posix_spawn cannot set resource limits), so starting
 * a handler copies no page tables however many connections this process
 * holds; nor does it copy our descriptors (lean_spawn below).  The child
 * only makes system calls and reports an exec failure through
 * child_errno, which the parent reads once the child has exec'd or
 * exited.  All signals stay blocked around it so that no handler of ours
 * runs in the child. */
struct spawn_args {
    int in0, out1, err2;
    char *const *argv;
    char *const *envp;
    const sigset_t *changed;
    struct rlimit as, cpu, nofile;
    int set_as, set_cpu, set_nofile, search;
    int close_inherited;    /* vfork child: close 3 and up (see below) */
    volatile int child_errno;
};

/* AddressSanitizer's bookkeeping before a call that does not return
 * (unpoisoning "the" stack) fails on a clone child's own stack; the child
 * code only makes system calls, so it goes without. */
#if defined(__SANITIZE_ADDRESS__)
#define CHILD_CODE __attribute__((no_sanitize_address))
#else
#define CHILD_CODE
#endif

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif

/* close_range(first, ~0, flags): everything from first up; ENOSYS before
 * Linux 5.9. */
CHILD_CODE
static int close_from(unsigned first, unsigned flags)
{
#ifdef SYS_close_range
    return (int)syscall(SYS_close_range, first, ~0U, flags);
#else
    (void)first;
    (void)flags;
    errno = ENOSYS;
    return -1;
#endif
}

/* A vfork child has a copy of our whole table: what exec would not
 * close is what this process inherited open, which a handler should not
 * see any more than it does from the lean spawn.  Kernels without
 * close_range leave them, as documented. */
CHILD_CODE
static int close_from_3(void)
{
    return close_from(3, 0) == 0 || errno == ENOSYS ? 0 : -1;
}

/* The child: system calls only, then exec; never returns. */
__attribute__((noreturn, noinline)) CHILD_CODE
static void spawn_exec(struct spawn_args *a)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(a->changed, sig) == 1)
            sigaction(sig, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    if (setpgid(0, 0) == 0 && move_fd(a->in0, 0) == 0 && move_fd(a->out1, 1) == 0 &&
        move_fd(a->err2, 2) == 0 &&
        (!a->close_inherited || close_from_3() == 0) &&
        (!a->set_as || setrlimit(RLIMIT_AS, &a->as) == 0) &&
        (!a->set_cpu || setrlimit(RLIMIT_CPU, &a->cpu) == 0) &&
        (!a->set_nofile || setrlimit(RLIMIT_NOFILE, &a->nofile) == 0) &&
        sigprocmask(SIG_SETMASK, &none, NULL) == 0) {
        if (a->search)
            execvpe(a->argv[0], a->argv, a->envp);
        else
            execve(a->argv[0], a->argv, a->envp);
    }
    a->child_errno = errno;
    _exit(127);
}

/* ---- a child with a descriptor table of three ------------------------------
 *
 * A vfork child copies our whole descriptor table, and its exec then
 * closes every close-on-exec descriptor one by one.  An event loop holds
 * five per connection: with 1,000 connections held, that made each new
 * handler cost about 1 ms of CPU in the child and halved the connection
 * rate.  Instead the child shares our table (CLONE_FILES) and replaces it
 * with a fresh one holding only descriptors 0, 1 and 2
 * (close_range(CLOSE_RANGE_UNSHARE) copies just those), which we point at
 * its pipes for the moment it takes: we are suspended until it has
 * exec'd (CLONE_VFORK), signals are blocked, and nothing else runs here.
 * Kernels before 5.9 lack the flag: then plain vfork. */
#define SPAWN_STACK (256 * 1024)

static int keep_inherited;

void handler_keep_inherited(void)
{
    keep_inherited = 1;
}

/* 1: the fresh-table spawn works here; 0: use vfork.  Probed once per
 * process: the range above every descriptor closes nothing, and our
 * table is not shared, so the call changes nothing. */
static int lean_spawn_ok(void)
{
    static int ok = -1;
    if (ok < 0)
        ok = !RUNNING_ON_VALGRIND && close_from(~0U, CLOSE_RANGE_UNSHARE) == 0;
    return ok && !keep_inherited;
}

/* The child's stack (a vfork child borrows ours; a clone child needs its
 * own): one per process, reused, as one spawn runs at a time; a child of
 * this process inherits a copy.  It needs a few KiB (execvpe bounds its
 * path buffer by PATH_MAX); a page below it that nothing may touch makes
 * an overflow kill the child rather than write into our memory. */
static void *spawn_stack(void)
{
    static void *stack;
    if (!stack) {
        long page = sysconf(_SC_PAGESIZE);
        size_t guard = page > 0 ? (size_t)page : 4096;
        char *p = mmap(NULL, guard + SPAWN_STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        if (mprotect(p, guard, PROT_NONE) < 0) {
            munmap(p, guard + SPAWN_STACK);
            return NULL;
        }
        stack = p + guard;
    }
    return stack;
}

CHILD_CODE
static int lean_child(void *arg)
{
    struct spawn_args *a = arg;
    /* Our 0, 1 and 2 are the pipes now (lean_spawn); everything else
     * stays with the parent's table. */
    if (close_from(3, CLOSE_RANGE_UNSHARE) < 0) {
        a->child_errno = errno;
        _exit(127);
    }
    a->in0 = 0;
    a->out1 = 1;
    a->err2 = 2;
    spawn_exec(a);
}

/* Returns the pid, or -1 with errno set; *cloned says whether it got as
 * far as clone (else nothing happened, and vfork may still do: the swap
 * needs three descriptors more, which a process at its limit lacks).
 * Called with signals blocked. */
static pid_t lean_spawn(struct spawn_args *a, void *stack, int *cloned)
{
    /* saved: a copy of our k.  0, 1 and 2 are open: had one been closed,
     * a pipe end would sit on it now.  A pipe end sits on one of them only
     * when that was free as the pipes were made (in, out, err, lowest
     * numbers first), so no end is on a number below its own target, and
     * the dup2s in order never overwrite an end still to be moved. */
    int saved[3] = { -1, -1, -1 };
    int pipes[3] = { a->in0, a->out1, a->err2 };
    pid_t pid = -1;
    int k;
    for (k = 0; k < 3; k++)
        if ((saved[k] = fcntl(k, F_DUPFD_CLOEXEC, 3)) < 0)
            goto restore;
    for (k = 0; k < 3; k++)
        if (dup2(pipes[k], k) < 0)
            goto restore;
    *cloned = 1;
    pid = clone(lean_child, (char *)stack + SPAWN_STACK,
                CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, a);
restore:;
    int e = errno;
    for (k = 0; k < 3; k++)
        if (saved[k] >= 0) {
            dup2(saved[k], k);
            close(saved[k]);
        }
    errno = e;
    return pid;
}

static int spawn_child(pid_t *out, int in0, int out1, int err2, char *const argv[],
                       char *const envp[])
{
    struct spawn_args a = {
        .in0 = in0, .out1 = out1, .err2 = err2, .argv = argv, .envp = envp,
        .changed = changed_signals(),
        .as = { limits.as, limits.as },
        .cpu = { limits.cpu, limits.cpu + 1 },     /* SIGXCPU first, then SIGKILL */
        /* --handler-rlimit nofile=, or the limit this process raised its
         * own from */
        .nofile = limits.nofile ? (struct rlimit){ limits.nofile, limits.nofile } : nofile_for_handlers,
        .set_as = limits.as != 0,
        .set_cpu = limits.cpu != 0,
        .set_nofile = limits.nofile != 0 || nofile_raised,
        .search = strchr(argv[0], '/') == NULL,
        .child_errno = 0,
    };
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    void *stack = lean_spawn_ok() ? spawn_stack() : NULL;
    pid_t pid = -1;
    int cloned = 0;
    if (stack)
        pid = lean_spawn(&a, stack, &cloned);
    if (!cloned) {
        a.close_inherited = !keep_inherited;
        pid = vfork();
        if (pid == 0)
            spawn_exec(&a);
    }
    int e = pid < 0 ? errno : a.child_errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (pid < 0)
        return e;
    if (e) {
        waitpid(pid, NULL, 0);
        return e;
    }
    *out = pid;
    return 0;
}

static int pipe_cloexec(int fds[2])
{
    return pipe2(fds, O_CLOEXEC);
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
    /* pidfd_open always sets close-on-exec */
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    return -1;
#endif
}

int handler_spawn(struct handler *h, char *const argv[], char *const envp[])
{
    int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 };
    int rc;

    memset(h, 0, sizeof *h);
    h->in_fd = h->out_fd = h->err_fd = h->pidfd = -1;
    h->pid = -1;

    if (pipe_cloexec(in) < 0 || pipe_cloexec(out) < 0 || pipe_cloexec(errp) < 0) {
        rc = errno;
        goto fail_pipes;
    }
    /* The child's ends are 0, 1 and 2 only in a process that started
     * with them closed (main opens /dev/null on them first). */
    pid_t pid;
    rc = spawn_child(&pid, in[0], out[1], errp[1], argv, envp);
    if (rc != 0)
        goto fail_pipes;

    close(in[0]);
    close(out[1]);
    close(errp[1]);
    h->pid = pid;
    h->in_fd = in[1];
    h->out_fd = out[0];
    h->err_fd = errp[0];
    fcntl(h->in_fd, F_SETFL, O_NONBLOCK);
    fcntl(h->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(h->err_fd, F_SETFL, O_NONBLOCK);
    h->pidfd = open_pidfd(pid);
    return 0;

fail_pipes:
    for (int i = 0; i < 2; i++) {
        close_fd(&in[i]);
        close_fd(&out[i]);
        close_fd(&errp[i]);
    }
    return rc ? rc : EIO;
}

int handler_resolve_command(char **argv)
{
    static char resolved[PATH_MAX];
    if (!argv || !argv[0] || strchr(argv[0], '/'))
        return 0;
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    int err = ENOENT;
    while (*path) {
        const char *end = strchr(path, ':');
        size_t n = end ? (size_t)(end - path) : strlen(path);
        int k = snprintf(resolved, sizeof resolved, "%.*s%s%s", (int)n, path, n ? "/" : "", argv[0]);
        if (k > 0 && (size_t)k < sizeof resolved) {
            if (access(resolved, X_OK) == 0) {
                struct stat st;
                if (stat(resolved, &st) == 0 && S_ISREG(st.st_mode)) {
                    argv[0] = resolved;
                    return 0;
                }
            } else if (errno == EACCES) {
                err = EACCES;
            }
        }
        path += n;
        if (*path == ':')
            path++;
    }
    return err;
}

int handler_check_exit(struct handler *h)
{
    if (h->exited)
        return 1;
    if (h->pid <= 0)
        return 0;   /* no process (pushcat's own stdio): nothing to exit */
    int st;
    pid_t r = waitpid(h->pid, &st, WNOHANG);
    if (r == h->pid) {
        h->exited = 1;
        h->status = st;
        close_fd(&h->pidfd);
        return 1;
    }
    if (r < 0 && errno == ECHILD) {
        /* Someone else reaped it (should not happen); treat as gone. */
        h->exited = 1;
        h->status = 0;
        close_fd(&h->pidfd);
        return 1;
    }
    return 0;
}

static void flush_err_line(struct handler *h)
{
    if (h->errlen) {
        log_handler_line(h->errbuf, h->errlen);
        h->errlen = 0;
    }
}

int handler_drain_stderr(struct handler *h)
{
    if (h->err_fd < 0)
        return 1;
    char buf[4096];
    for (;;) {
        ssize_t n = read(h->err_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n <= 0) {
            flush_err_line(h);
            close_fd(&h->err_fd);
            return 1;
        }
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n') {
                flush_err_line(h);
                continue;
            }
            /* Overlong lines are logged in pieces rather than dropped. */
            if (h->errlen == sizeof h->errbuf)
                flush_err_line(h);
            h->errbuf[h->errlen++] = buf[i];
        }
    }
}

void handler_close_stdin(struct handler *h)
{
    close_fd(&h->in_fd);
}

void handler_close_stdout(struct handler *h)
{
    close_fd(&h->out_fd);
}

void handler_signal(struct handler *h, int sig)
{
    if (h->pid > 0 && !h->exited) {
        if (kill(-h->pid, sig) < 0)
            kill(h->pid, sig);
    }
}

void handler_finish_start(struct handler *h, long long now, unsigned grace_ms, unsigned kill_ms)
{
    handler_close_stdin(h);
    /* Closing our end of stdout makes further writes fail with EPIPE, the
     * usual sign to a pipeline member that nobody listens any more. */
    handler_close_stdout(h);
    h->ending = 1;
    h->end_deadline = now + grace_ms;
    h->end_kill_ms = kill_ms;
}

int handler_finish_step(struct handler *h, long long now, long long *deadline)
{
    if (h->pid <= 0) {
        close_fd(&h->err_fd);
        return 1;
    }
    handler_drain_stderr(h);
    while (!handler_check_exit(h)) {
        if (now < h->end_deadline) {
            *deadline = h->end_deadline;
            /* Without a pidfd nothing wakes us when the child exits:
             * look again in short steps. */
            if (h->pidfd < 0 && *deadline > now + 20)
                *deadline = now + 20;
            return 0;
        }
        if (h->ending == 1) {
            handler_signal(h, SIGTERM);
            h->ending = 2;
            h->end_deadline = now + h->end_kill_ms;
        } else if (h->ending == 2) {
            handler_signal(h, SIGKILL);
            h->ending = 3;
            h->end_deadline = now + 60000;
        } else {
            /* SIGKILL a minute ago and still there (stuck in the kernel):
             * keep waiting, but without spinning. */
            h->end_deadline = now + 60000;
        }
    }
    /* The group may outlive its leader (a handler's own children); they
     * hold no pipe of ours that matters, but do not leave them running. */
    kill(-h->pid, SIGTERM);
    handler_drain_stderr(h);
    close_fd(&h->err_fd);
    close_fd(&h->pidfd);
    return 1;
}

void handler_finish(struct handler *h, unsigned grace_ms, unsigned kill_ms)
{
    handler_finish_start(h, now_ms(), grace_ms, kill_ms);
    long long deadline = 0;
    while (!handler_finish_step(h, now_ms(), &deadline)) {
        struct pollfd p[2];
        int n = 0;
        if (h->pidfd >= 0)
            p[n++] = (struct pollfd){ .fd = h->pidfd, .events = POLLIN };
        if (h->err_fd >= 0)
            p[n++] = (struct pollfd){ .fd = h->err_fd, .events = POLLIN };
        long long left = deadline - now_ms();
        poll(p, (nfds_t)n, left < 0 ? 0 : (int)left);
    }
}

int handler_open_pidfd(pid_t pid)
{
    return open_pidfd(pid);
}

void handler_describe_status(int status, char *out, size_t outlen)
{
    if (WIFEXITED(status))
        snprintf(out, outlen, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, outlen, "signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(out, outlen, "status %d", status);
}
