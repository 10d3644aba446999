#include "pushpipe/route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 1 if real (a realpath) is root itself or lies below it. */
static int inside(const char *root, const char *real)
{
    size_t n = strlen(root);
    if (strncmp(real, root, n) != 0)
        return 0;
    return real[n] == '\0' || real[n] == '/' || (n == 1 && root[0] == '/');
}

int route_resolve(const char *dir, const char *url_path, int want_exec, struct route *rt)
{
    char root[PATH_MAX], cand[PATH_MAX], real[PATH_MAX];
    memset(rt, 0, sizeof *rt);
    if (url_path[0] != '/' || !realpath(dir, root))
        return ROUTE_NOT_FOUND;

    size_t clen = (size_t)snprintf(cand, sizeof cand, "%s", root);
    const char *p = url_path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *seg = p;
        while (*p && *p != '/')
            p++;
        size_t slen = (size_t)(p - seg);
        /* "." and ".." could climb out; other dot-files are private. */
        if (seg[0] == '.')
            return ROUTE_NOT_FOUND;
        if (clen + 1 + slen >= sizeof cand)
            return ROUTE_NOT_FOUND;
        cand[clen++] = '/';
        memcpy(cand + clen, seg, slen);
        cand[clen += slen] = '\0';

        struct stat st;
        if (!realpath(cand, real) || !inside(root, real) || stat(real, &st) < 0)
            return ROUTE_NOT_FOUND;
        if (S_ISREG(st.st_mode)) {
            if (want_exec && access(real, X_OK) < 0)
                return ROUTE_NOT_FOUND;
            if (!want_exec && *p)
                return ROUTE_NOT_FOUND;     /* a file is not a directory */
            snprintf(rt->file, sizeof rt->file, "%s", real);
            size_t sn = (size_t)(p - url_path);
            if (sn >= sizeof rt->script_name || strlen(p) >= sizeof rt->path_info)
                return ROUTE_NOT_FOUND;
            memcpy(rt->script_name, url_path, sn);
            rt->script_name[sn] = '\0';
            strcpy(rt->path_info, p);
            return ROUTE_FILE;
        }
        if (!S_ISDIR(st.st_mode))
            return ROUTE_NOT_FOUND;
    }
    if (want_exec)
        return ROUTE_NOT_FOUND;
    /* The path names a directory (possibly the root itself). */
    if (!realpath(cand, real) || !inside(root, real))
        return ROUTE_NOT_FOUND;
    snprintf(rt->file, sizeof rt->file, "%s", real);
    snprintf(rt->script_name, sizeof rt->script_name, "%s", url_path);
    return ROUTE_DIRECTORY;
}
