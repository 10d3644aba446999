/* report.h - everything pushcat says on stderr goes through here: errors
 * ("pushcat: ..."), and with -v progress lines ("* ...") and the HTTP heads
 * ("> " sent, "< " received), in curl's manner. */
#ifndef PUSHCAT_REPORT_H
#define PUSHCAT_REPORT_H

#include <stddef.h>

void pc_report_init(int verbose);
int pc_verbose(void);

__attribute__((format(printf, 1, 2)))
void pc_error(const char *fmt, ...);

/* Only with -v. */
__attribute__((format(printf, 1, 2)))
void pc_info(const char *fmt, ...);

/* An HTTP head, line by line, prefixed with "> " (dir '>') or "< "; the
 * values of Authorization and Proxy-Authorization are hidden. */
void pc_head(char dir, const char *head, size_t len);

#endif
