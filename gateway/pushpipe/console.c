#include "pushpipe/console.h"

#include <stdio.h>
#include <string.h>

#define WRITE_TIMEOUT_MS 30000

int console_is_path(const char *path)
{
    return path && (strcmp(path, "/console") == 0 || strcmp(path, "/console/") == 0);
}

int console_serve(struct request *r, int head_only)
{
    char head[256];
    snprintf(head, sizeof head,
             "Content-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n"
             "Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n",
             console_page_len);
    if (request_write_head(r, 200, head) < 0 || head_only)
        return 200;
    if (stream_write_all(r->s, console_page, console_page_len, WRITE_TIMEOUT_MS) == 0)
        r->bytes_out += console_page_len;
    return 200;
}
