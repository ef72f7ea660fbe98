/*
 * notify_int.h — what sms.c (the notifier, the outbox, the local-mobile
 * rule, segment import) and kannel.c (the HTTP client to Kannel's smsbox)
 * share.
 */
#ifndef ONECERT_NOTIFY_INT_H
#define ONECERT_NOTIFY_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "onecert/error.h"

/* A parsed http:// URL: host (IPv6 literals without brackets), port
 * (digits) and path (starts with '/'). */
struct oc_kannel_url {
	char host[256];
	char port[8];
	char path[512];
};

struct oc_notify {
	char backend[16];               /* "outbox" or "kannel" */
	struct oc_kannel_url url;
	char user[128];
	char password[128];             /* wiped by oc_notify_free */
	char from[64];
	long timeout;                   /* seconds, the whole Kannel exchange */
	char local_city[128];
	bool unknown_flag;              /* unknown_segment = flag */
};

/* Parse "http://host[:port][/path]"; the port defaults to 80, an empty
 * path to /cgi-bin/sendsms.  OC_ECONFIG for anything else (https, user
 * info, a query or fragment, a bad port). */
int oc__kannel_parse_url(const char *url, struct oc_kannel_url *out, struct oc_err *err);

/* One sendsms request to Kannel, bounded by n->timeout in all.  answer
 * (always NUL-terminated) gets "STATUS first-line-of-body" when the
 * gateway answered, else what went wrong.  0 for HTTP 2xx; OC_EIO
 * otherwise, the message naming the answer. */
int oc__kannel_send(const struct oc_notify *n, const char *to, const char *text,
	char *answer, size_t cap, struct oc_err *err);

#endif
