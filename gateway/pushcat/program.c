#include "pushcat/program.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* fd 0 and 1 flags as we found them; -1 when not (yet) changed. */
static int saved_flags[2] = { -1, -1 };

static int dup_nonblock(int fd)
{
    int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (d < 0) {
        if (errno != EBADF)
            return -1;
        /* No stdin (or stdout) at all: behave as for /dev/null. */
        return open("/dev/null", (fd == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC | O_NONBLOCK);
    }
    int fl = fcntl(d, F_GETFL);
    if (fl < 0) {
        close(d);
        return -1;
    }
    if (saved_flags[fd] < 0)
        saved_flags[fd] = fl;
    if (!(fl & O_NONBLOCK) && fcntl(d, F_SETFL, fl | O_NONBLOCK) < 0) {
        close(d);
        return -1;
    }
    return d;
}

int pc_stdio_handler(struct handler *h)
{
    memset(h, 0, sizeof *h);
    h->pid = -1;
    h->err_fd = h->pidfd = -1;
    h->in_fd = dup_nonblock(1);
    h->out_fd = dup_nonblock(0);
    if (h->in_fd < 0 || h->out_fd < 0) {
        int saved = errno;
        if (h->in_fd >= 0)
            close(h->in_fd);
        if (h->out_fd >= 0)
            close(h->out_fd);
        pc_stdio_restore();
        errno = saved;
        return -1;
    }
    return 0;
}

void pc_stdio_restore(void)
{
    for (int fd = 0; fd < 2; fd++)
        if (saved_flags[fd] >= 0)
            fcntl(fd, F_SETFL, saved_flags[fd]);
}

const char *pc_program_name(const struct pc_options *o)
{
    return o->exec_shell ? o->exec_shell : o->exec_argv ? o->exec_argv[0] : "?";
}

int pc_spawn(const struct pc_options *o, struct handler *h, const char *const *vars)
{
    size_t n = 0, nv = 0;
    while (environ && environ[n])
        n++;
    while (vars[nv])
        nv++;
    char **envp = calloc(n + nv + 1, sizeof *envp);
    if (!envp)
        return ENOMEM;
    size_t k = 0;
    /* Ours replace inherited ones: a pushcat run from a handler must not
     * hand its own handler the outer connection's variables. */
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "PUSHPIPE_", 9) != 0)
            envp[k++] = environ[i];
    for (size_t i = 0; i < nv; i++)
        envp[k++] = (char *)vars[i];
    envp[k] = NULL;

    char *shell_argv[] = { "/bin/sh", "-c", (char *)o->exec_shell, NULL };
    char *const *argv = o->exec_shell ? shell_argv : o->exec_argv;
    int rc = handler_spawn(h, argv, envp);
    free(envp);
    return rc;
}

int pc_program_failed(const struct handler *h)
{
    if (h->pid <= 0 || !h->exited)
        return 0;
    return !(WIFEXITED(h->status) && WEXITSTATUS(h->status) == 0);
}
