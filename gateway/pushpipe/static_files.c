#include "pushpipe/static_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pushpipe/request.h"
#include "pushpipe/route.h"

#define WRITE_TIMEOUT_MS 30000

static const struct { const char *ext, *type; } types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".htm", "text/html; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".json", "application/json" },
    { ".txt", "text/plain; charset=utf-8" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".jpg", "image/jpeg" },
    { ".ico", "image/x-icon" },
    { ".wasm", "application/wasm" },
};

static const char *content_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcmp(dot, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

int static_serve(struct request *r, const char *dir, const char *url_path, int head_only)
{
    struct route rt;
    char index[PATH_MAX + 16];
    int kind = route_resolve(dir, url_path, 0, &rt);
    if (kind == ROUTE_NOT_FOUND)
        return request_reply(r, 404, NULL, "Not Found\n");
    const char *file = rt.file;
    if (kind == ROUTE_DIRECTORY) {
        size_t ul = strlen(url_path);
        if (ul == 0 || url_path[ul - 1] != '/') {
            /* Relative links in the index need the trailing slash. */
            char loc[1100];
            snprintf(loc, sizeof loc, "Location: %.1024s/\r\n", url_path);
            return request_reply(r, 301, loc, "Moved\n");
        }
        snprintf(index, sizeof index, "%s/index.html", rt.file);
        file = index;
    }
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return request_reply(r, 404, NULL, "Not Found\n");
    }
    char head[512];
    snprintf(head, sizeof head, "Content-Type: %s\r\nContent-Length: %lld\r\nCache-Control: no-cache\r\n",
             content_type(file), (long long)st.st_size);
    if (request_write_head(r, 200, head) < 0) {
        close(fd);
        return 200;
    }
    if (!head_only) {
        char buf[65536];
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0) {
            if (stream_write_all(r->s, buf, (size_t)n, WRITE_TIMEOUT_MS) < 0)
                break;
            r->bytes_out += (uint64_t)n;
        }
    }
    close(fd);
    return 200;
}
