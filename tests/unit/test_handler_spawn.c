/* test_handler_spawn.c - handler.c starts real programs: what they get on
 * 0, 1 and 2, which other descriptors they see, and exec errors.
 *
 * Not sans-I/O like the other unit tests: it runs /bin/sh.  The spawn has
 * two ways to start a child (handler.c): a clone with a fresh descriptor
 * table, and vfork when this process cannot make three more descriptors.
 * Both must give a handler 0, 1 and 2 only; the second is reached here by
 * using up the descriptor limit.  The programs run under valgrind with
 * CK_FORK=no too, so every test leaves the process as it found it, and
 * the one that changes process-wide state (keep_inherited) runs last. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/under_valgrind.h"
#include "pushpipe/handler.h"

/* A descriptor this process "inherited": open, not close-on-exec, as a
 * shell's `3>file` leaves one. */
#define INHERITED_FD 40

/* Prints for each of 0..2 and INHERITED_FD whether it is open, then
 * echoes one line of stdin (0 and 1 are the pipes, not anything else). */
static char *const probe_argv[] = {
    "/bin/sh", "-c",
    "for f in 0 1 2 40; do if [ -e /proc/self/fd/$f ]; then printf '%s+ ' $f; "
    "else printf '%s- ' $f; fi; done; read line; echo \"$line\"",
    NULL
};
static char *const empty_env[] = { "PATH=/usr/bin:/bin", NULL };

/* Feed one line, read everything the child prints until EOF, reap it. */
static void run_probe(char *out, size_t outlen)
{
    struct handler h;
    int rc = handler_spawn(&h, probe_argv, empty_env);
    ck_assert_msg(rc == 0, "handler_spawn: %s", strerror(rc));
    ck_assert_int_eq(write(h.in_fd, "hello\n", 6), 6);
    handler_close_stdin(&h);
    size_t n = 0;
    for (;;) {
        struct pollfd p = { .fd = h.out_fd, .events = POLLIN };
        ck_assert_int_eq(poll(&p, 1, 10000), 1);
        ck_assert_uint_lt(n, outlen - 1);
        ssize_t r = read(h.out_fd, out + n, outlen - 1 - n);
        if (r == 0)
            break;
        ck_assert_int_gt(r, 0);
        n += (size_t)r;
    }
    out[n] = '\0';
    handler_finish(&h, 10000, 1000);
    ck_assert(h.exited);
    ck_assert(WIFEXITED(h.status) && WEXITSTATUS(h.status) == 0);
}

static void open_inherited(void)
{
    int fd = open("/dev/null", O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(dup2(fd, INHERITED_FD), INHERITED_FD);   /* no O_CLOEXEC */
    close(fd);
}

START_TEST(handler_gets_three_descriptors)
{
    char out[256];
    open_inherited();
    run_probe(out, sizeof out);
    ck_assert_str_eq(out, "0+ 1+ 2+ 40- hello\n");
    close(INHERITED_FD);
}
END_TEST

/* At the descriptor limit but for the six the pipes need: no room to
 * set 0-2 aside for the fresh table, so the spawn takes the vfork path,
 * and the handler must see the same three descriptors. */
START_TEST(at_the_descriptor_limit_too)
{
    struct rlimit old, low;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = 64;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    open_inherited();
    int filler[64], nfill = 0;
    for (;;) {
        int fd = fcntl(0, F_DUPFD_CLOEXEC, 0);
        if (fd < 0) {
            ck_assert_int_eq(errno, EMFILE);
            break;
        }
        ck_assert_int_lt(nfill, 64);
        filler[nfill++] = fd;
    }
    ck_assert_int_ge(nfill, 6);
    for (int k = 0; k < 6; k++)
        close(filler[--nfill]);
    char out[256];
    run_probe(out, sizeof out);
    ck_assert_str_eq(out, "0+ 1+ 2+ 40- hello\n");
    /* nothing was left open by the spawn: the six places are free again */
    int again[6];
    for (int k = 0; k < 6; k++)
        ck_assert_int_ge(again[k] = fcntl(0, F_DUPFD_CLOEXEC, 0), 0);
    ck_assert_int_lt(fcntl(0, F_DUPFD_CLOEXEC, 0), 0);
    for (int k = 0; k < 6; k++)
        close(again[k]);
    while (nfill > 0)
        close(filler[--nfill]);
    close(INHERITED_FD);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
}
END_TEST

/* The child reports a failed exec in memory it shares with us until
 * exec.  Valgrind runs a vfork as a fork (nothing shared): there the
 * failure shows as the child's exit status 127 instead. */
static void spawn_fails(char *path, int err)
{
    struct handler h;
    char *argv[] = { path, NULL };
    int rc = handler_spawn(&h, argv, empty_env);
    if (RUNNING_ON_VALGRIND && rc == 0) {
        handler_finish(&h, 10000, 1000);
        ck_assert(WIFEXITED(h.status) && WEXITSTATUS(h.status) == 127);
        return;
    }
    ck_assert_int_eq(rc, err);
}

START_TEST(exec_errors_come_back)
{
    spawn_fails("/nonexistent/handler", ENOENT);
    spawn_fails("/", EACCES);
}
END_TEST

/* Last: process-wide from here on (pushcat's --exec). */
START_TEST(keep_inherited_passes_them_on)
{
    char out[256];
    open_inherited();
    handler_keep_inherited();
    run_probe(out, sizeof out);
    ck_assert_str_eq(out, "0+ 1+ 2+ 40+ hello\n");
    close(INHERITED_FD);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("handler_spawn");
    TCase *tc = tcase_create("spawn");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, handler_gets_three_descriptors);
    tcase_add_test(tc, at_the_descriptor_limit_too);
    tcase_add_test(tc, exec_errors_come_back);
    tcase_add_test(tc, keep_inherited_passes_them_on);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN
