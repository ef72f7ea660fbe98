/*
 * log.c — one logfmt line per event on stderr.  The line is built in a
 * bounded stack buffer and written with one write(2), so lines from several
 * threads or processes never interleave; control characters are escaped so
 * a value can never start a forged line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "onecert/error.h"
#include "onecert/log.h"

static enum oc_log_level level = OC_LOG_INFO;

static const char *names[] = { "debug", "info", "warn", "error", "off" };

void
oc_log_set_level(enum oc_log_level lvl)
{
	level = lvl;
}

enum oc_log_level
oc_log_get_level(void)
{
	return level;
}

int
oc_log_parse_level(const char *s, enum oc_log_level *out)
{
	for (int i = 0; i <= OC_LOG_OFF; i++)
		if (s != NULL && strcasecmp(s, names[i]) == 0) {
			*out = (enum oc_log_level)i;
			return 0;
		}
	return OC_EINVAL;
}

const char *
oc_log_q(char *buf, size_t cap, const char *v)
{
	size_t o = 0;

	int need = (v == NULL || *v == '\0');

	if (cap == 0)
		return buf;
	if (v == NULL)
		v = "";
	for (const char *p = v; *p && !need; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '"' ||
		    *p == '=' || *p == '\\')
			need = 1;
	if (!need) {
		snprintf(buf, cap, "%s", v);
		return buf;
	}
	if (cap < 3) {             /* no room for a balanced "" */
		buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		char tmp[5];
		const char *s = tmp;

		if (*p == '"' || *p == '\\') {
			tmp[0] = '\\'; tmp[1] = (char)*p; tmp[2] = 0;
		} else if (*p == '\n') {
			s = "\\n";
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
		} else {
			tmp[0] = (char)*p; tmp[1] = 0;
		}
		size_t l = strlen(s);
		if (o + l + 2 > cap)
			break;
		memcpy(buf + o, s, l);
		o += l;
	}
	buf[o++] = '"';
	buf[o < cap ? o : cap - 1] = '\0';
	return buf;
}

void
oc_log(enum oc_log_level lvl, const char *event, const char *fmt, ...)
{
	char line[4096];
	struct timeval tv;
	struct tm tm;
	size_t n;
	int r;
	va_list ap;

	if (lvl < level || lvl >= OC_LOG_OFF)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	r = snprintf(line, sizeof(line),
	    "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s event=%s",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000), names[lvl], event);
	n = r < 0 ? 0 : (size_t)r;
	if (fmt != NULL && *fmt != '\0' && n < sizeof(line) - 2) {
		line[n++] = ' ';
		va_start(ap, fmt);
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		if (r > 0)
			n += (size_t)r;
	}
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	/* Whatever the caller passed, one event is one line. */
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}
