/*
 * log.h — one line per event to stderr, in logfmt:
 *   ts=2026-11-24T10:52:40.123Z level=info event=cert.issued serial=… 
 * The caller's fmt yields the key=value pairs after event.  Values that a
 * client controls must go through oc_log_q() so that spaces, quotes and
 * newlines cannot forge a second line or a key.
 */
#ifndef ONECERT_LOG_H
#define ONECERT_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum oc_log_level { OC_LOG_DEBUG = 0, OC_LOG_INFO, OC_LOG_WARN, OC_LOG_ERROR, OC_LOG_OFF };

void oc_log_set_level(enum oc_log_level lvl);
enum oc_log_level oc_log_get_level(void);
/* Parse "debug|info|warn|error|off"; returns 0 or OC_EINVAL. */
int oc_log_parse_level(const char *s, enum oc_log_level *out);

void oc_log(enum oc_log_level lvl, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Quote a value for logfmt into buf (always NUL-terminated, truncated if
 * needed); returns buf.  Control characters become \n, \x01 … */
const char *oc_log_q(char *buf, size_t cap, const char *value);

#define OC_LOG_QBUF 256

#endif
