#include "pushpipe/privileges.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int privileges_drop(const struct options *o, char *err, size_t errlen)
{
    if (geteuid() != 0) {
        if (o->user) {
            struct passwd *pw = getpwnam(o->user);
            if (!pw || pw->pw_uid != geteuid()) {
                snprintf(err, errlen, "--user %s needs pushpipe to be started as root", o->user);
                return -1;
            }
        }
        return 0;
    }
    if (!o->user) {
        if (o->allow_root)
            return 0;
        snprintf(err, errlen,
                 "refusing to run handlers as root: give --user USER (for example www-data), "
                 "or --allow-root if you really mean it");
        return -1;
    }
    struct passwd *pw = getpwnam(o->user);
    if (!pw) {
        snprintf(err, errlen, "--user %s: no such user", o->user);
        return -1;
    }
    gid_t gid = pw->pw_gid;
    if (o->group) {
        struct group *gr = getgrnam(o->group);
        if (!gr) {
            snprintf(err, errlen, "--group %s: no such group", o->group);
            return -1;
        }
        gid = gr->gr_gid;
    }
    /* Groups first: after setuid we could no longer change them. */
    if (initgroups(pw->pw_name, gid) < 0 || setgid(gid) < 0 || setuid(pw->pw_uid) < 0) {
        snprintf(err, errlen, "cannot switch to user %s: %s", o->user, strerror(errno));
        return -1;
    }
    if (pw->pw_uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
        snprintf(err, errlen, "could not drop root privileges");
        return -1;
    }
    if (pw->pw_uid == 0 && !o->allow_root) {
        snprintf(err, errlen, "--user %s is root: add --allow-root if you really mean it", o->user);
        return -1;
    }
    return 0;
}
